"""Rolling-origin backtest of hotspot predictors: hit rate, PAI, PEI, RRI and harm-weighted PAI.

For each fold the predictor is fitted on the events before the test period (an expanding window, or
the last ``train_periods`` periods) and predicts a risk per grid cell; the ``coverage`` share of the
study area with the highest risk is the "hotspot" and is scored against the test period's events:

- hit rate  = n / N: share of test events in the hotspot cells;
- PAI       = (n / N) / (a / A) (Chainey, Tompson & Uhlig 2008), a/A the share of the study area;
- PEI       = n / n_max, n_max the most events any a/A of cells held (Hunt 2016): 1 = perfect;
- RRI       = (n / n_prev) / (N / N_prev), recapture rate index (Levine 2008), "prev" being the last
  training period scored with the same hotspot cells: > 1 means the hotspot gained share;
- harm PAI  = PAI computed with harm weights of the test events instead of counts.

The study area is the grid's ``inside`` cells (cell centre in the boundary); cells are treated as
equal areas. Ties in risk (e.g. the many zero cells of a naive predictor) are broken at random with a
seeded generator, so a predictor gains nothing from ties. Sensitivity to the grid origin is measured by
re-running every fold on shifted grids (``origin_shifts``, metres).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError
from ._common import month_periods, resolve_column, warn
from .grids import _xy, grid_of
from .harm import HarmTable, harm_weights

__all__ = ["backtest", "BacktestResult", "score_hotspots", "plot_backtest", "summarise_backtest", "DEFAULT_COVERAGES"]

DEFAULT_COVERAGES = (0.01, 0.05, 0.10)


def _period_labels(events: pd.DataFrame, freq: str, date_column: str | None) -> pd.PeriodIndex:
    if freq == "M" and date_column is None and "date" not in events.columns:
        return month_periods(events[resolve_column(events, "month", "events")])
    col = date_column or "date"
    if col not in events.columns:
        raise InputError(f"freq={freq!r} needs a {col!r} column of dates (police.uk data has months only: use freq='M')")
    return pd.PeriodIndex(pd.to_datetime(events[col], errors="coerce"), freq=freq)


def score_hotspots(
    risk: np.ndarray,
    test_counts: np.ndarray,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    *,
    prev_counts: np.ndarray | None = None,
    test_harm: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Score one risk surface against observed counts, all arrays over the study-area cells only.

    Returns one row per coverage: ``coverage``, ``n_cells`` (a), ``area_cells`` (A), ``events`` (N),
    ``hits`` (n), ``hit_rate``, ``pai``, ``pei``, ``rri``, ``harm_pai``. Undefined ratios are NaN
    (e.g. no test events)."""
    risk = np.asarray(risk, dtype="float64")
    counts = np.asarray(test_counts, dtype="float64")
    if risk.shape != counts.shape:
        raise InputError("risk and test_counts must have one value per study-area cell")
    A = len(risk)
    if A == 0:
        raise AnalysisError("the study area has no cells")
    rng = rng or np.random.default_rng(0)
    risk = np.nan_to_num(risk, nan=-np.inf)
    perm = rng.permutation(A)
    order = perm[np.argsort(-risk[perm], kind="stable")]  # random tie-break
    best = np.sort(counts)[::-1]
    N = counts.sum()
    Np = None if prev_counts is None else float(np.sum(prev_counts))
    H = None if test_harm is None else float(np.sum(test_harm))
    rows = []
    for cov in coverages:
        if not (0 < cov <= 1):
            raise InputError(f"coverage must be in (0, 1]; got {cov}")
        k = max(1, int(round(cov * A)))
        top = order[:k]
        n = counts[top].sum()
        share = k / A
        hit = n / N if N > 0 else np.nan
        nmax = best[:k].sum()
        rri = np.nan
        if prev_counts is not None and N > 0 and Np:
            npv = float(np.asarray(prev_counts)[top].sum())
            rri = (n / npv) / (N / Np) if npv > 0 else np.nan
        hp = np.nan
        if test_harm is not None and H:
            hp = (float(np.asarray(test_harm)[top].sum()) / H) / share
        rows.append({"coverage": cov, "n_cells": k, "area_cells": A, "events": int(N), "hits": int(n),
                     "hit_rate": hit, "pai": hit / share if N > 0 else np.nan,
                     "pei": n / nmax if nmax > 0 else np.nan, "rri": rri, "harm_pai": hp})
    return pd.DataFrame(rows)


@dataclass
class BacktestResult:
    """``table``: tidy scores, one row per method x fold x coverage x grid origin. ``summary()``:
    mean over folds; ``origin_sensitivity()``: spread of PAI across grid origins; ``plot(path)``."""

    table: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        return summarise_backtest(self.table)

    def origin_sensitivity(self) -> pd.DataFrame:
        """Per method and coverage: PAI mean over folds for each origin, then min/max/std across origins."""
        t = self.table
        per = t.groupby(["method", "coverage", "origin_dx", "origin_dy"], observed=True)["pai"].mean()
        g = per.groupby(["method", "coverage"], observed=True)
        return pd.DataFrame({"pai_mean": g.mean(), "pai_min": g.min(), "pai_max": g.max(), "pai_std": g.std(ddof=0),
                             "n_origins": g.size()}).reset_index()

    def plot(self, path: str | Path) -> Path:
        return plot_backtest(self.table, path)


def summarise_backtest(table: pd.DataFrame) -> pd.DataFrame:
    """Mean hit rate, PAI, PEI, RRI and harm PAI per method and coverage (over folds and origins)."""
    cols = [c for c in ("hit_rate", "pai", "pei", "rri", "harm_pai") if c in table.columns]
    g = table.groupby(["method", "coverage"], observed=True, sort=False)
    out = g[cols].mean()
    out["folds"] = g["fold"].nunique()
    return out.reset_index()


def backtest(
    events: pd.DataFrame,
    predictors: Mapping[str, Any],
    grid: Any,
    *,
    folds: int | None = None,
    train_periods: int | None = None,
    min_train_periods: int = 1,
    freq: str = "M",
    date_column: str | None = None,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    origin_shifts: Sequence[tuple[float, float]] | None = None,
    harm: HarmTable | bool | None = None,
    harm_missing: str = "zero",
    seed: int = 0,
    progress: bool = False,
) -> BacktestResult:
    """Rolling-origin backtest of ``predictors`` (name -> object with ``fit(events, t_end)`` and
    ``predict(grid)``) on ``grid`` (square or hex; its ``inside`` cells are the study area).

    Folds: every period (``freq`` "M" months from police.uk ``month``; "W" weeks etc. need a
    ``date`` column) that has at least ``min_train_periods`` periods before it, the last ``folds`` of
    them if given. Training data: all earlier periods (expanding), or the last ``train_periods``.
    Each fold fits a fresh clone of each predictor with ``t_end`` = start of the test period.
    ``origin_shifts``: extra (dx, dy) grid shifts in metres, e.g. ``[(0, 0), (size/2, size/2)]``.
    ``harm``: True / a HarmTable adds a harm-weighted PAI (types missing from the table weigh 0 by
    default, ``harm_missing``).
    """
    if not isinstance(events, pd.DataFrame):
        raise InputError("events must be a (Geo)DataFrame of points (EPSG:27700) with a month or date")
    if not predictors:
        raise InputError("give at least one predictor, e.g. {'prospective': ProspectiveHotspot()}")
    for name, p in predictors.items():
        if not (hasattr(p, "fit") and hasattr(p, "predict")):
            raise InputError(f"predictor {name!r} has no fit/predict methods")
    base = grid_of(grid)
    per = _period_labels(events, freq, date_column)
    x, y = _xy(events)
    ok = np.isfinite(x) & np.isfinite(y) & ~pd.isna(per)
    if (~ok).any():
        warn(f"backtest: {int((~ok).sum())} event(s) without location or period are left out")
    ev = events.loc[ok]
    per = per[ok]
    x, y = x[ok], y[ok]
    if len(ev) == 0:
        raise AnalysisError("backtest: no events with a location and a period")
    all_periods = pd.period_range(per.min(), per.max(), freq=per.freq)
    test_periods = list(all_periods[min_train_periods:])
    if folds is not None:
        test_periods = test_periods[-int(folds):]
    if not test_periods:
        raise AnalysisError(f"backtest: {len(all_periods)} period(s) of data; need more than "
                            f"min_train_periods={min_train_periods} to form a fold")
    w_harm = None
    if harm is not None and harm is not False:
        table = HarmTable.default() if harm is True else harm
        w_harm = harm_weights(ev, table, missing=harm_missing).to_numpy(dtype="float64")
    shifts = [(0.0, 0.0)] + [tuple(map(float, s)) for s in (origin_shifts or []) if tuple(s) != (0, 0)]
    per_codes = np.asarray(per.asi8)
    rows = []
    iterator = test_periods
    if progress:
        from tqdm import tqdm

        iterator = tqdm(test_periods, desc="backtest folds", unit="fold")
    grids = {s: (base if s == (0.0, 0.0) else base.shifted(*s)) for s in shifts}
    inside = {s: np.flatnonzero(g.inside()) for s, g in grids.items()}
    cells = {s: g.cell_of(x, y) for s, g in grids.items()}
    names = list(predictors)
    for fold, tp in enumerate(iterator):
        t_code = tp.ordinal
        train = per_codes < t_code
        if train_periods is not None:
            train &= per_codes >= t_code - int(train_periods)
        test = per_codes == t_code
        prev = per_codes == t_code - 1
        t_end = tp.start_time
        if not train.any():
            warn(f"backtest: no training events before {tp}; fold skipped")
            continue
        train_ev = ev.loc[train]
        fitted = {}
        for name, p in predictors.items():
            est = p.clone() if hasattr(p, "clone") else p
            fitted[name] = est.fit(train_ev, t_end=t_end)
        for s_idx, (s, g) in enumerate(grids.items()):
            cid = cells[s]
            ins = inside[s]
            n_cells = g.n_cells
            tc = np.bincount(cid[test & (cid >= 0)], minlength=n_cells)[ins]
            pc = np.bincount(cid[prev & (cid >= 0)], minlength=n_cells)[ins]
            th = None
            if w_harm is not None:
                m = test & (cid >= 0)
                th = np.bincount(cid[m], weights=w_harm[m], minlength=n_cells)[ins]
            for name, est in fitted.items():
                risk = np.asarray(est.predict(g), dtype="float64")
                if risk.shape[0] != n_cells:
                    raise AnalysisError(f"predictor {name!r} returned {risk.shape[0]} values for {n_cells} cells")
                # tie-break stream fixed per (seed, fold, origin, method): adding a method or an
                # origin shift does not change the others' scores
                rng = np.random.default_rng([seed, fold, s_idx, names.index(name)])
                sc = score_hotspots(risk[ins], tc, coverages, prev_counts=pc, test_harm=th, rng=rng)
                sc.insert(0, "method", name)
                sc.insert(1, "fold", fold)
                sc.insert(2, "test_period", str(tp))
                sc.insert(3, "train_events", int(train.sum()))
                sc["origin_dx"], sc["origin_dy"] = s
                rows.append(sc)
    if not rows:
        raise AnalysisError("backtest: no fold could be scored")
    return BacktestResult(pd.concat(rows, ignore_index=True))


def plot_backtest(table: pd.DataFrame, path: str | Path, *, title: str | None = None) -> Path:
    """Save a two-panel PNG/SVG/PDF (by suffix): mean PAI and hit rate against coverage per method,
    with the fold-to-fold range as error bars. Uses matplotlib's Agg canvas directly (no pyplot, no
    global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(10, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for ax, metric, label in ((axes[0], "pai", "PAI"), (axes[1], "hit_rate", "hit rate")):
        for method, sub in table.groupby("method", sort=False):
            per_fold = sub.groupby(["coverage", "fold"])[metric].mean().unstack("fold")
            mean = per_fold.mean(axis=1)
            lo = mean - per_fold.min(axis=1)
            hi = per_fold.max(axis=1) - mean
            ax.errorbar(mean.index * 100, mean.values, yerr=[lo.values, hi.values], marker="o", capsize=3,
                        label=str(method))
        ax.set_xlabel("share of study area flagged (%)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    n_folds = table["fold"].nunique()
    fig.suptitle(title or f"Backtest: {n_folds} fold(s), mean and fold range")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
