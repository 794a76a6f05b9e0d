"""Predictors of where crime will happen next, in the scikit-learn estimator style.

``fit(events, t_end=None)`` stores what the predictor needs (attributes ending in ``_``);
``predict(grid)`` returns a risk per grid cell (a Series indexed by ``cell_id``, every cell of the
grid). Higher risk = should be patrolled first. Any object with these two methods can be scored by
:func:`geocrime.analysis.backtest`.

- :class:`ProspectiveHotspot` — Bowers, Johnson & Pease (2004), "Prospective hot-spotting: the future
  of crime mapping?", Brit. J. Criminology 44(5): each recent event raises the risk of the cells
  around it by ``1/(1 + d/distance_unit) * 1/(1 + t/time_unit)``, for events within ``bandwidth``
  metres (default 400 m) and ``time_window`` days (default 56 = 8 weeks) of the prediction time;
  d is the cell-centre to event-cell-centre distance, ``distance_unit`` defaults to the cell size and
  ``time_unit`` to one week, as in the paper.
- :class:`RetrospectiveKDE` — a quartic KDE of all (or the last ``lookback_days`` of) training events.
- :class:`NaiveLastPeriod` — last period's counts per cell (the "same as last month" forecast).

These are the classic methods and the baselines. The learned predictors, which beat them on the
fixed Met burglary protocol (``benchmarks/bench_hotspot_protocol.py``), are
:class:`geocrime.analysis.BlendedHotspot` (the default), :class:`geocrime.analysis.BoostedHotspot`
and :class:`geocrime.analysis.SEPPHotspot`.

**Time resolution.** police.uk publishes month only. Unless events have a ``date`` column, each event
is placed at the middle of its month (``month`` "YYYY-MM"), and ``t_end`` defaults to the first day
after the last training month. With the defaults the prospective method then uses the last two
months (ages ~15 and ~45 days; the month before is ~76 days old, beyond 8 weeks).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import signal
from scipy.spatial import cKDTree

from ..errors import AnalysisError, InputError
from ._common import as_days, event_days, month_periods, resolve_column, warn
from .grids import SquareGrid, _xy, grid_of
from .kde import kde, kde_cells

__all__ = ["ProspectiveHotspot", "RetrospectiveKDE", "NaiveLastPeriod"]


class _Predictor:
    _params: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self._params}

    def set_params(self, **params: Any) -> "_Predictor":
        for k, v in params.items():
            if k not in self._params:
                raise InputError(f"{type(self).__name__} has no parameter {k!r}")
            setattr(self, k, v)
        return self

    def clone(self) -> "_Predictor":
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _store_events(self, events: Any, t_end: Any) -> None:
        if not isinstance(events, pd.DataFrame):
            raise InputError(f"events must be a (Geo)DataFrame; got {type(events).__name__}")
        x, y = _xy(events)
        t = event_days(events, date_column=getattr(self, "date_column", None)) if len(events) else np.zeros(0)
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(t)
        if (~ok).any():
            warn(f"{type(self).__name__}.fit: {int((~ok).sum())} event(s) without location or time ignored")
        self.x_, self.y_, self.t_ = x[ok], y[ok], t[ok]
        self.weights_ = None
        if getattr(self, "weight_column", None):
            col = self.weight_column
            if col not in events.columns:
                raise InputError(f"weight_column {col!r} is not a column of events")
            self.weights_ = pd.to_numeric(events[col], errors="coerce").to_numpy(dtype="float64")[ok]
        if t_end is None:
            if len(self.t_) == 0:
                raise AnalysisError(f"{type(self).__name__}.fit: no located events and no t_end: cannot "
                                    "tell when the prediction is for")
            if "date" in events.columns or getattr(self, "date_column", None):
                t_end = float(np.floor(self.t_.max())) + 1.0
            else:
                last = month_periods(events[resolve_column(events, "month")]).max()
                t_end = as_days((last + 1).to_timestamp())
        self.t_end_ = as_days(t_end)
        self.n_events_ = int(ok.sum())

    def _check_fitted(self) -> None:
        if not hasattr(self, "t_end_"):
            raise AnalysisError(f"{type(self).__name__} is not fitted: call fit(events) first")


def _rings_kernel(radius: float, size: float, fn) -> np.ndarray:
    r = int(np.floor(radius / size))
    off = np.arange(-r, r + 1) * size
    dx, dy = np.meshgrid(off, off)
    d = np.hypot(dx, dy)
    return np.where(d <= radius + 1e-9, fn(d), 0.0)


class ProspectiveHotspot(_Predictor):
    """Prospective hotspotting (Bowers, Johnson & Pease 2004).

    Parameters: ``bandwidth`` (metres, default 400), ``time_window`` (days, default 56 = 8 weeks),
    ``time_unit`` (days, default 7: one week), ``distance_unit`` (metres; default the grid cell size),
    ``date_column`` (use exact dates instead of mid-month), ``weight_column`` (e.g. harm per event).
    Fitted attributes: ``x_``, ``y_``, ``t_`` (days since 1970), ``t_end_``, ``n_events_``.
    """

    _params = ("bandwidth", "time_window", "time_unit", "distance_unit", "date_column", "weight_column")

    def __init__(self, bandwidth: float = 400.0, time_window: float = 56.0, time_unit: float = 7.0,
                 distance_unit: float | None = None, date_column: str | None = None,
                 weight_column: str | None = None) -> None:
        self.bandwidth = bandwidth
        self.time_window = time_window
        self.time_unit = time_unit
        self.distance_unit = distance_unit
        self.date_column = date_column
        self.weight_column = weight_column

    def fit(self, events: Any, t_end: Any = None) -> "ProspectiveHotspot":
        """Store events (EPSG:27700 points with ``month`` or ``date``); ``t_end``: prediction time."""
        if not (self.bandwidth > 0 and self.time_window > 0 and self.time_unit > 0):
            raise InputError("bandwidth, time_window and time_unit must be positive")
        self._store_events(events, t_end)
        return self

    def _time_weights(self) -> tuple[np.ndarray, np.ndarray]:
        age = self.t_end_ - self.t_
        use = (age >= 0) & (age <= self.time_window)
        tw = 1.0 / (1.0 + age[use] / self.time_unit)
        if self.weights_ is not None:
            tw = tw * np.nan_to_num(self.weights_[use])
        return use, tw

    def predict(self, grid: Any) -> pd.Series:
        """Risk per cell (Series indexed by ``cell_id``, all cells of the grid)."""
        self._check_fitted()
        g = grid_of(grid)
        use, tw = self._time_weights()
        unit = float(self.distance_unit or g.size)
        fn = lambda d: 1.0 / (1.0 + d / unit)  # noqa: E731
        if isinstance(g, SquareGrid):
            ids = g.cell_of(self.x_[use], self.y_[use])
            ok = ids >= 0
            raster = np.bincount(ids[ok], weights=tw[ok], minlength=g.n_cells).reshape(g.shape)
            k = _rings_kernel(float(self.bandwidth), g.size, fn)
            risk = signal.fftconvolve(raster, k, mode="same") if ok.any() else np.zeros(g.shape)
            risk = np.where(risk < max(raster.sum(), 1.0) * k.max() * 1e-11, 0.0, risk).ravel()
        else:
            cx, cy = g.centres()
            risk = np.zeros(g.n_cells)
            if use.any():
                ct = cKDTree(np.c_[cx, cy])
                et = cKDTree(np.c_[self.x_[use], self.y_[use]])
                pairs = ct.sparse_distance_matrix(et, float(self.bandwidth), output_type="ndarray")
                risk += np.bincount(pairs["i"], weights=fn(pairs["v"]) * tw[pairs["j"]], minlength=g.n_cells)
        return pd.Series(risk, index=pd.RangeIndex(g.n_cells, name="cell_id"), name="risk")


class RetrospectiveKDE(_Predictor):
    """Retrospective hotspot map: KDE (``kernel``, ``bandwidth`` metres) of the training events within
    ``lookback_days`` of ``t_end`` (None = all). No edge correction by default (it would rank border
    cells up without evidence). Fitted attributes as :class:`ProspectiveHotspot`."""

    _params = ("bandwidth", "kernel", "lookback_days", "edge_correction", "date_column", "weight_column")

    def __init__(self, bandwidth: float = 250.0, kernel: str = "quartic", lookback_days: float | None = None,
                 edge_correction: bool = False, date_column: str | None = None,
                 weight_column: str | None = None) -> None:
        self.bandwidth = bandwidth
        self.kernel = kernel
        self.lookback_days = lookback_days
        self.edge_correction = edge_correction
        self.date_column = date_column
        self.weight_column = weight_column

    def fit(self, events: Any, t_end: Any = None) -> "RetrospectiveKDE":
        self._store_events(events, t_end)
        return self

    def predict(self, grid: Any) -> pd.Series:
        self._check_fitted()
        g = grid_of(grid)
        age = self.t_end_ - self.t_
        use = age >= 0
        if self.lookback_days is not None:
            use &= age <= self.lookback_days
        w = None if self.weights_ is None else np.nan_to_num(self.weights_[use])
        if isinstance(g, SquareGrid):
            import warnings

            from ._common import AnalysisWarning

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AnalysisWarning)  # off-grid/empty handled by the caller
                r = kde((self.x_[use], self.y_[use]), g, bandwidth=self.bandwidth, kernel=self.kernel,
                        weights=w, edge_correction=self.edge_correction)
            risk = np.nan_to_num(r.values(), nan=0.0)
        else:
            cx, cy = g.centres()
            risk = kde_cells((self.x_[use], self.y_[use]), cx, cy, bandwidth=self.bandwidth, kernel=self.kernel,
                             weights=w)
        return pd.Series(risk, index=pd.RangeIndex(g.n_cells, name="cell_id"), name="risk")


class NaiveLastPeriod(_Predictor):
    """"Same as last period": risk = count of events per cell in the last ``period_days`` before
    ``t_end`` (default None = the last calendar month of the training data, for police.uk months)."""

    _params = ("period_days", "date_column", "weight_column")

    def __init__(self, period_days: float | None = None, date_column: str | None = None,
                 weight_column: str | None = None) -> None:
        self.period_days = period_days
        self.date_column = date_column
        self.weight_column = weight_column

    def fit(self, events: Any, t_end: Any = None) -> "NaiveLastPeriod":
        self._store_events(events, t_end)
        return self

    def predict(self, grid: Any) -> pd.Series:
        self._check_fitted()
        g = grid_of(grid)
        age = self.t_end_ - self.t_
        if self.period_days is not None:
            use = (age >= 0) & (age <= self.period_days)
        else:
            # the last calendar month before t_end (events are mid-month when only months are known)
            end = pd.Timestamp("1970-01-01") + pd.Timedelta(days=self.t_end_)
            start = as_days((end - pd.Timedelta(days=1)).to_period("M").to_timestamp())
            use = (self.t_ >= start) & (self.t_ < self.t_end_)
        ids = g.cell_of(self.x_[use], self.y_[use])
        ok = ids >= 0
        w = None if self.weights_ is None else np.nan_to_num(self.weights_[use][ok])
        risk = np.bincount(ids[ok], weights=w, minlength=g.n_cells).astype("float64")
        return pd.Series(risk, index=pd.RangeIndex(g.n_cells, name="cell_id"), name="risk")
