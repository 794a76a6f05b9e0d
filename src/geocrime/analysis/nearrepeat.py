"""Near-repeat analysis: the Knox test with Monte Carlo significance (as in the Near Repeat Calculator,
Ratcliffe 2009; Johnson et al. 2007 for burglary).

Every pair of events closer than the largest distance band is found once with a KD-tree
(``cKDTree.query_pairs``), then binned by distance and time apart. The expected counts come from
permutations of the event times over the fixed locations (seeded): only the time differences of the
same pairs are recomputed, so each permutation is one vectorised pass over the pairs.

police.uk data has month resolution only (and locations snapped to anonymous map points, so many
events share a point): with ``time_unit="month"`` (the default without a ``date`` column) time bands
are in whole months, band [0, 1) meaning "same month".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import AnalysisError, InputError
from ._common import event_days, month_periods, resolve_column, warn
from .grids import _xy

__all__ = ["knox_test", "KnoxResult"]


@dataclass
class KnoxResult:
    """Knox table. ``observed``/``expected`` have shape (distance bands, time bands); bands are
    half-open ``[edge_i, edge_i+1)`` in metres and ``time_unit``. ``ratio`` = observed / expected
    (Knox ratio); ``p_value`` = (number of permutations with a count >= observed + 1) / (permutations + 1)."""

    distance_edges: np.ndarray
    time_edges: np.ndarray
    time_unit: str
    observed: np.ndarray
    expected: np.ndarray
    p_value: np.ndarray
    permutations: int
    seed: int | None
    n_events: int
    n_pairs: int

    @property
    def ratio(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, self.observed / self.expected, np.nan)

    def table(self) -> pd.DataFrame:
        """Tidy table: one row per (distance band, time band)."""
        rows = []
        de, te = self.distance_edges, self.time_edges
        for i in range(len(de) - 1):
            for j in range(len(te) - 1):
                rows.append({"distance_from_m": de[i], "distance_to_m": de[i + 1],
                             f"time_from_{self.time_unit}": te[j], f"time_to_{self.time_unit}": te[j + 1],
                             "observed": int(self.observed[i, j]), "expected": self.expected[i, j],
                             "knox_ratio": self.ratio[i, j], "p_value": self.p_value[i, j]})
        return pd.DataFrame(rows)


def _edges(v: Sequence[float], what: str) -> np.ndarray:
    e = np.asarray(v, dtype="float64")
    if e.ndim != 1 or len(e) < 2 or not np.all(np.diff(e) > 0) or e[0] < 0:
        raise InputError(f"{what} must be at least two increasing non-negative edges; got {list(v)}")
    return e


def knox_test(
    events: pd.DataFrame,
    distance_bands: Sequence[float] = (0, 100, 200, 300, 400),
    time_bands: Sequence[float] | None = None,
    *,
    time_unit: str | None = None,
    date_column: str | None = None,
    permutations: int = 99,
    seed: int | None = 0,
) -> KnoxResult:
    """Knox test of space-time clustering of ``events`` (EPSG:27700 points with ``month`` or ``date``).

    ``distance_bands``: edges in metres. ``time_bands``: edges in ``time_unit`` ("day" with a date
    column; "month" for police.uk months, the default then), default (0, 7, 14, 21, 28) days or
    (0, 1, 2, 3) months. ``permutations`` (seeded by ``seed``) of the event times give the expected
    counts and p-values.
    """
    if not isinstance(events, pd.DataFrame):
        raise InputError("events must be a (Geo)DataFrame of points")
    de = _edges(distance_bands, "distance_bands")
    has_date = date_column is not None or "date" in events.columns
    unit = time_unit or ("day" if has_date else "month")
    if unit == "day":
        if not has_date:
            raise InputError("time_unit='day' needs a date column (police.uk has months only: use time_unit='month')")
        t = event_days(events, date_column=date_column)
    elif unit == "month":
        if has_date:
            t = pd.to_datetime(events[date_column or "date"], errors="coerce").dt.to_period("M")
            t = pd.PeriodIndex(t).asi8.astype("float64")
        else:
            per = month_periods(events[resolve_column(events, "month", "events")])
            t = np.where(per.isna(), np.nan, per.asi8.astype("float64"))
    else:
        raise InputError(f"time_unit must be 'day' or 'month'; got {unit!r}")
    te = _edges(time_bands if time_bands is not None else ((0, 7, 14, 21, 28) if unit == "day" else (0, 1, 2, 3)),
                "time_bands")
    if permutations < 1:
        raise InputError("permutations must be >= 1")
    x, y = _xy(events)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(t)
    if (~ok).any():
        warn(f"knox_test: {int((~ok).sum())} event(s) without location or time left out")
    x, y, t = x[ok], y[ok], np.asarray(t)[ok]
    n = len(x)
    if n < 2:
        raise AnalysisError(f"knox_test needs at least 2 located events; got {n}")
    if np.unique(t).size < 2:
        raise AnalysisError("knox_test: every event has the same time; permuting times cannot test anything")
    pairs = cKDTree(np.c_[x, y]).query_pairs(np.nextafter(de[-1], 0), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    d = np.hypot(x[i] - x[j], y[i] - y[j])
    dbin = np.searchsorted(de, d, side="right") - 1
    keep = (dbin >= 0) & (dbin < len(de) - 1)
    i, j, dbin = i[keep], j[keep], dbin[keep]
    nd, nt = len(de) - 1, len(te) - 1
    if len(i) < 30:
        warn(f"knox_test: only {len(i)} event pairs within {de[-1]:g} m: the test has little power")

    def table(times: np.ndarray) -> np.ndarray:
        dt = np.abs(times[i] - times[j])
        tbin = np.searchsorted(te, dt, side="right") - 1
        v = (tbin >= 0) & (tbin < nt)
        return np.bincount(dbin[v] * nt + tbin[v], minlength=nd * nt).reshape(nd, nt)

    obs = table(t)
    rng = np.random.default_rng(seed)
    total = np.zeros((nd, nt))
    ge = np.zeros((nd, nt))
    for _ in range(permutations):
        sim = table(rng.permutation(t))
        total += sim
        ge += sim >= obs
    return KnoxResult(de, te, unit, obs, total / permutations, (ge + 1) / (permutations + 1), permutations, seed,
                      n, int(len(i)))
