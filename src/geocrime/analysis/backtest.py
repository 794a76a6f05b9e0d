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

The study area is the grid's ``inside`` cells (cell centre in the boundary; ``study_area="touches"``:
every cell whose square touches the boundary); cells are treated as equal areas. Ties in risk (e.g. the
many zero cells of a naive predictor) are broken at random with a seeded generator by default, so a
predictor gains nothing from ties; ``ties="cell_id"`` breaks them by ascending cell id instead (the
fixed protocol published comparisons use). Sensitivity to the grid origin is measured by re-running
every fold on shifted grids (``origin_shifts``, metres).

**Uncertainty.** :meth:`BacktestResult.intervals` gives bootstrap confidence intervals for the mean PAI
and hit rate: folds are resampled with replacement and, within each fold, the study-area cells
(Poisson bootstrap weights), with every cell's flagged/not-flagged status fixed as predicted.
:meth:`BacktestResult.compare` resamples two methods together (same folds, same cell weights) and gives
an interval for the DIFFERENCE in PAI: when it contains 0, the data do not show that one method is
better than the other; the observed difference may be luck of these months and cells.
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

__all__ = ["backtest", "BacktestResult", "score_hotspots", "rank_cells", "study_cells", "plot_backtest",
           "summarise_backtest", "DEFAULT_COVERAGES"]

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
    ties: str = "random",
    cell_ids: np.ndarray | None = None,
) -> pd.DataFrame:
    """Score one risk surface against observed counts, all arrays over the study-area cells only.

    ``ties``: "random" (seeded ``rng``) or "cell_id" (ascending ``cell_ids``, default the array order).
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
    order = rank_cells(risk, ties=ties, rng=rng, cell_ids=cell_ids)
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


def rank_cells(risk: np.ndarray, *, ties: str = "random", rng: np.random.Generator | None = None,
               cell_ids: np.ndarray | None = None) -> np.ndarray:
    """Positions of the cells from highest to lowest risk (NaN = lowest). ``ties``: "random" (seeded
    ``rng``, default seed 0) or "cell_id" (ascending ``cell_ids``; default the array order)."""
    risk = np.nan_to_num(np.asarray(risk, dtype="float64"), nan=-np.inf)
    if ties == "cell_id":
        ids = np.arange(len(risk)) if cell_ids is None else np.asarray(cell_ids)
        return np.lexsort((ids, -risk))
    if ties != "random":
        raise InputError(f"ties must be 'random' or 'cell_id'; got {ties!r}")
    rng = rng or np.random.default_rng(0)
    perm = rng.permutation(len(risk))
    return perm[np.argsort(-risk[perm], kind="stable")]


def study_cells(grid: Any, study_area: Any = "inside") -> np.ndarray:
    """Boolean per cell of ``grid``: the study area. ``"inside"``: cell centre in the grid's boundary
    (:meth:`SquareGrid.inside`); ``"touches"``: the cell's polygon intersects the boundary; or a
    boolean array with one value per cell."""
    import shapely

    g = grid_of(grid)
    if isinstance(study_area, str):
        if study_area == "inside":
            return g.inside()
        if study_area == "touches":
            if g.boundary is None:
                raise InputError("study_area='touches' needs a grid built from a boundary "
                                 "(SquareGrid.from_extent(boroughs, 250))")
            shapely.prepare(g.boundary)
            return shapely.intersects(g.boundary, g.polygons())
        raise InputError(f"study_area must be 'inside', 'touches' or a boolean mask; got {study_area!r}")
    m = np.asarray(study_area, dtype=bool)
    if m.shape != (g.n_cells,):
        raise InputError(f"study_area mask has {m.size} values for {g.n_cells} cells")
    return m


@dataclass
class BacktestResult:
    """``table``: tidy scores, one row per method x fold x coverage x grid origin. ``summary()``:
    mean over folds; ``intervals()``: bootstrap confidence intervals; ``compare(a, b)``: interval of a
    PAI difference; ``origin_sensitivity()``: spread of PAI across grid origins; ``plot(path)``.

    ``test_counts`` (fold -> test events per study-area cell) and ``top_cells`` ((method, fold) ->
    study-area cell positions from highest risk, as many as the largest coverage flags) hold what the
    bootstrap needs, for the unshifted grid."""

    table: pd.DataFrame
    test_counts: dict[int, np.ndarray] | None = None
    top_cells: dict[tuple[str, int], np.ndarray] | None = None

    def summary(self) -> pd.DataFrame:
        return summarise_backtest(self.table)

    def intervals(self, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
        """Mean PAI and hit rate per method and coverage (unshifted grid) with bootstrap percentile
        intervals (``*_low``, ``*_high``): folds resampled with replacement, cells within each fold by
        Poisson weights. Point values are the observed means (as in :meth:`summary`)."""
        boot = self._bootstrap(n_boot, seed)
        a = (1 - level) / 2
        rows = []
        for (method, cov), d in boot["stats"].items():
            obs = boot["observed"][(method, cov)]
            row = {"method": method, "coverage": cov}
            for m in ("pai", "hit_rate"):
                lo, hi = np.nanquantile(d[m], [a, 1 - a])
                row.update({m: obs[m], f"{m}_low": lo, f"{m}_high": hi})
            row["folds"] = boot["n_folds"]
            rows.append(row)
        out = pd.DataFrame(rows)
        out.attrs.update(n_boot=n_boot, level=level, seed=seed)
        return out

    def compare(self, a: str, b: str, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
        """PAI and hit-rate difference ``a - b`` per coverage with a paired bootstrap interval (both
        methods see the same resampled folds and cells). ``p_not_better``: share of resamples where
        ``a`` does not beat ``b``. An interval that contains 0 means these data cannot tell the two apart."""
        boot = self._bootstrap(n_boot, seed)
        lo_q = (1 - level) / 2
        rows = []
        for cov in sorted({c for _, c in boot["stats"]}):
            if (a, cov) not in boot["stats"] or (b, cov) not in boot["stats"]:
                raise InputError(f"compare: methods must be among {sorted({m for m, _ in boot['stats']})}")
            row = {"coverage": cov, "a": a, "b": b}
            for m in ("pai", "hit_rate"):
                d = boot["stats"][(a, cov)][m] - boot["stats"][(b, cov)][m]
                row[f"{m}_diff"] = boot["observed"][(a, cov)][m] - boot["observed"][(b, cov)][m]
                row[f"{m}_diff_low"], row[f"{m}_diff_high"] = np.nanquantile(d, [lo_q, 1 - lo_q])
                if m == "pai":
                    row["p_not_better"] = float(np.mean(d <= 0))
            rows.append(row)
        return pd.DataFrame(rows)

    def _bootstrap(self, n_boot: int, seed: int) -> dict[str, Any]:
        if not self.test_counts or not self.top_cells:
            raise AnalysisError("this result holds no per-cell data for a bootstrap (made by an older backtest?)")
        cache = self.__dict__.setdefault("_boot_cache", {})  # intervals() and compare() share draws
        key = (int(n_boot), int(seed))
        if key not in cache:
            cache[key] = _bootstrap_scores(self.table, self.test_counts, self.top_cells, int(n_boot), int(seed))
        return cache[key]

    def origin_sensitivity(self) -> pd.DataFrame:
        """Per method and coverage: PAI mean over folds for each origin, then min/max/std across origins."""
        t = self.table
        per = t.groupby(["method", "coverage", "origin_dx", "origin_dy"], observed=True)["pai"].mean()
        g = per.groupby(["method", "coverage"], observed=True)
        return pd.DataFrame({"pai_mean": g.mean(), "pai_min": g.min(), "pai_max": g.max(), "pai_std": g.std(ddof=0),
                             "n_origins": g.size()}).reset_index()

    def plot(self, path: str | Path, *, n_boot: int = 1000, seed: int = 0) -> Path:
        """Save the PAI / hit-rate plot with 95 % bootstrap intervals (see :func:`plot_backtest`)."""
        ci = self.intervals(n_boot=n_boot, seed=seed) if self.test_counts and self.top_cells else None
        return plot_backtest(self.table, path, intervals=ci)


def _bootstrap_scores(table: pd.DataFrame, test_counts: dict[int, np.ndarray],
                      top_cells: dict[tuple[str, int], np.ndarray], n_boot: int, seed: int) -> dict[str, Any]:
    """Resampled mean PAI and hit rate per (method, coverage): folds with replacement, cells within a
    fold by Poisson(1) weights (only cells that hold a test event or are flagged by some method are
    drawn one by one; the rest enter as one Poisson total). Same draws for every method (paired)."""
    base = table[(table["origin_dx"] == 0) & (table["origin_dy"] == 0)]
    covs = sorted(base["coverage"].unique())
    methods = list(dict.fromkeys(base["method"]))
    folds = sorted(test_counts)
    F, R = len(folds), n_boot
    rng = np.random.default_rng([seed, 20])
    per_fold: dict[tuple[str, float], dict[str, np.ndarray]] = {
        (m, c): {"pai": np.full((F, R), np.nan), "hit_rate": np.full((F, R), np.nan)} for m in methods for c in covs}
    for fi, f in enumerate(folds):
        y = np.asarray(test_counts[f], dtype="float64")
        A = len(y)
        ks = {c: max(1, int(round(c * A))) for c in covs}
        used = [np.flatnonzero(y)] + [top_cells[(m, f)] for m in methods if (m, f) in top_cells]
        cells = np.unique(np.concatenate(used))
        W = rng.poisson(1.0, size=(R, len(cells))).astype("float64")
        Atot = W.sum(1) + rng.poisson(float(A - len(cells)), size=R)
        yy = y[cells]
        N = W @ yy
        pos = np.full(A, -1, dtype=np.int64)
        pos[cells] = np.arange(len(cells))
        for m in methods:
            if (m, f) not in top_cells:
                continue
            top = pos[top_cells[(m, f)]]
            for c in covs:
                flag = np.zeros(len(cells))
                flag[top[: ks[c]]] = 1.0
                hits = W @ (flag * yy)
                a = W @ flag
                with np.errstate(divide="ignore", invalid="ignore"):
                    hr = hits / N
                    per_fold[(m, c)]["hit_rate"][fi] = hr
                    per_fold[(m, c)]["pai"][fi] = hr / (a / Atot)
    pick = rng.integers(0, F, size=(R, F))
    col = (np.arange(R)[:, None] + 7919 * np.arange(F)[None, :]) % R  # a fold drawn twice gets fresh cell weights
    stats, observed = {}, {}
    for (m, c), d in per_fold.items():
        stats[(m, c)] = {k: np.nanmean(v[pick, col], axis=1) for k, v in d.items()}
        sub = base[(base["method"] == m) & (base["coverage"] == c)]
        observed[(m, c)] = {"pai": float(sub["pai"].mean()), "hit_rate": float(sub["hit_rate"].mean())}
    return {"stats": stats, "observed": observed, "n_folds": F}


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
    ties: str = "random",
    study_area: Any = "inside",
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
    ``ties``: "random" (seeded, default) or "cell_id" (ascending cell id: the fixed protocol).
    ``study_area``: "inside" (cell centre in the boundary, default), "touches" (cell square touches
    the boundary) or a boolean mask per cell of ``grid`` (unshifted grid only).
    Fitting sees only the training events and ``t_end``: nothing from the test period.
    """
    if not isinstance(events, pd.DataFrame):
        raise InputError("events must be a (Geo)DataFrame of points (EPSG:27700) with a month or date")
    if not predictors:
        raise InputError("give at least one predictor, e.g. {'prospective': ProspectiveHotspot()}")
    for name, p in predictors.items():
        if not (hasattr(p, "fit") and hasattr(p, "predict")):
            raise InputError(f"predictor {name!r} has no fit/predict methods")
    base = grid_of(grid)
    ev, per, x, y = _located_events(events, freq, date_column)
    test_periods = _test_periods(per, min_train_periods, folds)
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
    if ties not in ("random", "cell_id"):
        raise InputError(f"ties must be 'random' or 'cell_id'; got {ties!r}")
    if not isinstance(study_area, str) and len(shifts) > 1:
        raise InputError("a study_area mask fits the unshifted grid only: use 'inside'/'touches' with origin_shifts")
    inside = {s: np.flatnonzero(study_cells(g, study_area)) for s, g in grids.items()}
    k_max = {s: max(1, int(round(max(coverages) * len(ins)))) for s, ins in inside.items()}
    test_counts: dict[int, np.ndarray] = {}
    top_cells: dict[tuple[str, int], np.ndarray] = {}
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
            fitted[name] = _fit(est, train_ev, t_end, base)
        rows += _score_fold(fold, tp, train, test, prev, fitted, grids, cells, inside, k_max, w_harm, coverages,
                            seed=seed, ties=ties, names=names, top_cells=top_cells, test_counts=test_counts)
    if not rows:
        raise AnalysisError("backtest: no fold could be scored")
    return BacktestResult(pd.concat(rows, ignore_index=True), test_counts, top_cells)


def _located_events(events: pd.DataFrame, freq: str, date_column: str | None,
                    ) -> tuple[pd.DataFrame, pd.PeriodIndex, np.ndarray, np.ndarray]:
    """The events with a location and a period (the others left out with a warning), their periods and x/y
    (metres, EPSG:27700)."""
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
    return ev, per, x, y


def _test_periods(per: pd.PeriodIndex, min_train_periods: int, folds: int | None) -> list[pd.Period]:
    """The periods tested: each with at least ``min_train_periods`` periods before it, the last ``folds``."""
    all_periods = pd.period_range(per.min(), per.max(), freq=per.freq)
    test_periods = list(all_periods[min_train_periods:])
    if folds is not None:
        test_periods = test_periods[-int(folds):]
    if not test_periods:
        raise AnalysisError(f"backtest: {len(all_periods)} period(s) of data; need more than "
                            f"min_train_periods={min_train_periods} to form a fold")
    return test_periods


def _score_fold(fold: int, tp: pd.Period, train: np.ndarray, test: np.ndarray, prev: np.ndarray,
                fitted: dict[str, Any], grids: dict[tuple[float, float], Any],
                cells: dict[tuple[float, float], np.ndarray], inside: dict[tuple[float, float], np.ndarray],
                k_max: dict[tuple[float, float], int], w_harm: np.ndarray | None, coverages: Sequence[float], *,
                seed: int, ties: str, names: list[str], top_cells: dict[tuple[str, int], np.ndarray],
                test_counts: dict[int, np.ndarray]) -> list[pd.DataFrame]:
    """Score every fitted predictor of one fold on every grid origin; one score table per (origin, method).

    Records the fold's top cells and test counts (unshifted grid) in ``top_cells`` and ``test_counts``.
    """
    rows = []
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
            sc = score_hotspots(risk[ins], tc, coverages, prev_counts=pc, test_harm=th, rng=rng, ties=ties,
                                cell_ids=ins)
            if s_idx == 0:
                order = rank_cells(risk[ins], ties=ties, rng=np.random.default_rng([seed, fold, s_idx,
                                                                                     names.index(name)]),
                                   cell_ids=ins)
                top_cells[(name, fold)] = order[: k_max[s]].astype(np.int32)
                test_counts[fold] = tc
            sc.insert(0, "method", name)
            sc.insert(1, "fold", fold)
            sc.insert(2, "test_period", str(tp))
            sc.insert(3, "train_events", int(train.sum()))
            sc["origin_dx"], sc["origin_dy"] = s
            rows.append(sc)
    return rows


def _fit(est: Any, train: pd.DataFrame, t_end: pd.Timestamp, grid: Any) -> Any:
    """``est.fit(train, t_end=...)``, passing the (unshifted) grid too when ``fit`` takes one (the
    learned predictors learn their weights on the grid they will be scored on)."""
    import inspect

    try:
        takes_grid = "grid" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        takes_grid = False
    return est.fit(train, t_end=t_end, grid=grid) if takes_grid else est.fit(train, t_end=t_end)


def plot_backtest(table: pd.DataFrame, path: str | Path, *, title: str | None = None,
                  intervals: pd.DataFrame | None = None) -> Path:
    """Save a two-panel PNG/SVG/PDF (by suffix): mean PAI and hit rate against coverage per method.
    Error bars: the bootstrap confidence intervals in ``intervals`` (from
    :meth:`BacktestResult.intervals`) when given, else the fold-to-fold range. Uses matplotlib's Agg
    canvas directly (no pyplot, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(10, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    n_methods = table["method"].nunique()
    for ax, metric, label in ((axes[0], "pai", "PAI"), (axes[1], "hit_rate", "hit rate")):
        for i, (method, sub) in enumerate(table.groupby("method", sort=False)):
            if intervals is not None and method in set(intervals["method"]):
                ci = intervals[intervals["method"] == method].sort_values("coverage")
                x = ci["coverage"].to_numpy() * 100
                mean = ci[metric].to_numpy()
                lo = mean - ci[f"{metric}_low"].to_numpy()
                hi = ci[f"{metric}_high"].to_numpy() - mean
            else:
                per_fold = sub.groupby(["coverage", "fold"])[metric].mean().unstack("fold")
                m = per_fold.mean(axis=1)
                x, mean = m.index.to_numpy() * 100, m.to_numpy()
                lo = mean - per_fold.min(axis=1).to_numpy()
                hi = per_fold.max(axis=1).to_numpy() - mean
            # a small horizontal offset per method keeps overlapping intervals readable
            dx = (i - (n_methods - 1) / 2) * 0.06 * np.maximum(x, 1) ** 0.5
            ax.errorbar(x + dx, mean, yerr=[np.maximum(lo, 0), np.maximum(hi, 0)], marker="o", capsize=3,
                        label=str(method))
        ax.set_xlabel("share of study area flagged (%)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    n_folds = table["fold"].nunique()
    what = (f"{int(intervals.attrs.get('level', 0.95) * 100)} % bootstrap intervals (folds and cells)"
            if intervals is not None else "fold range")
    fig.suptitle(title or f"Backtest: {n_folds} fold(s), mean and {what}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
