"""A learned blend of long-memory and short-term hotspot surfaces (:class:`BlendedHotspot`).

The risk of a cell next period is modelled as a non-negative mix of simple surfaces computed from the
events before ``t_end``:

    risk(cell) = w_0 + sum_k w_k * surface_k(cell)

where each surface is a statistic of the cell's events over a window of recent periods (the whole
training history for the long-memory terms, the last one to three periods for the short-term,
near-repeat terms), Gaussian-smoothed at a bandwidth (0 = the cell's own value). Two statistics:
``"rate"``, events per period, and ``"active"``, the share of the window's periods with at least one
event in the cell -- persistence, which a burst does not inflate (six burglaries in one month give
1/6 over six months, one a month gives 1). The surfaces are declared as data
(:data:`DEFAULT_COMPONENTS`: name, window in periods, bandwidth in metres, statistic).

The persistent-neighbourhood term ``active_all_300m`` was added for issue 20 after it won on the
training months (rolling origin, folds 2024-04..06 of Met burglary: PAI at 1 % of 250 m cells 10.50
-> 10.78; 300 m chosen there over 200 and 450 m) and then on the protocol's dev folds (2024-07..10,
six training months: 10.21 -> 10.33, and at 2/5/10 % 8.36/6.24/4.70 -> 8.38/6.30/4.72).

The weights are learned inside ``fit`` by rolling origin on the training events only: each of the
last ``n_folds`` training periods is predicted from the periods before it, and the weights maximise
the Poisson likelihood of those periods' counts (identity link, weights >= 0, fitted by EM). Nothing
after ``t_end`` is used. Rates are per period, so weights learned with a shorter history apply to the
full history at prediction time.

**Time.** police.uk gives a month only: each event sits at the middle of its month (or its ``date``);
periods are 30.44-day steps back from ``t_end``, i.e. calendar months for police.uk data.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError
from ._cellseries import MONTH_DAYS, internal_grid, lagged_counts, one_thread, period_of, smooth
from ._common import warn
from .grids import grid_of
from .prospective import _Predictor

__all__ = ["BlendedHotspot", "DEFAULT_COMPONENTS", "fit_poisson_mix"]

#: the statistics a component can take per cell over its window: events per period, share of periods
#: with at least one event
STATISTICS = ("rate", "active")

#: (name, window in periods or None for the whole history, Gaussian bandwidth in metres (0 = none),
#: statistic; a 3-tuple means "rate")
DEFAULT_COMPONENTS: tuple[tuple[Any, ...], ...] = (
    ("counts_all", None, 0.0),
    ("kde_all_150m", None, 150.0),
    ("kde_all_300m", None, 300.0),
    ("kde_all_600m", None, 600.0),
    ("kde_all_1200m", None, 1200.0),
    ("counts_last_3", 3, 0.0),
    ("counts_last_1", 1, 0.0),
    ("kde_last_2_300m", 2, 300.0),
    ("active_all_300m", None, 300.0, "active"),
)


def fit_poisson_mix(X: np.ndarray, y: np.ndarray, *, max_iter: int = 500) -> tuple[np.ndarray, float]:
    """Non-negative weights ``w`` maximising the Poisson log-likelihood of counts ``y`` with mean
    ``X @ w`` (identity link). ``X``: (rows, k) non-negative. Rows with ``y = 0`` enter only through
    the column sums, so the work is over the rows with events. Solved by L-BFGS-B with the bounds
    ``w >= 0`` on column-scaled weights. Returns (w, log-likelihood without the log(y!) term)."""
    from scipy.optimize import minimize

    X = np.asarray(X, dtype="float64")
    y = np.asarray(y, dtype="float64")
    colsum = X.sum(0)
    if (colsum <= 0).all():
        raise AnalysisError("no training signal: every surface is zero")
    used = colsum > 0
    pos = y > 0
    # scaled weights v = w * colsum: each v_k is the share of the total expected count from surface k
    Xp = np.asfortranarray(X[pos][:, used] / colsum[used])
    yp = y[pos]
    total = y.sum()

    def nll(v: np.ndarray) -> tuple[float, np.ndarray]:
        lam = np.maximum(Xp @ v, 1e-300)
        return float(v.sum() - yp @ np.log(lam)), 1.0 - Xp.T @ (yp / lam)

    v0 = np.full(used.sum(), total / used.sum())
    opt = minimize(nll, v0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * len(v0),
                   options={"maxiter": int(max_iter), "ftol": 1e-12, "gtol": 1e-8})
    w = np.zeros(X.shape[1])
    w[used] = np.maximum(opt.x, 0.0) / colsum[used]
    return w, -float(opt.fun)


class BlendedHotspot(_Predictor):
    """Learned non-negative blend of long-memory counts/KDE surfaces and short-term near-repeat terms.

    Parameters: ``components`` (sequence of (name, window periods or None, bandwidth metres[, statistic
    "rate" or "active"]); default :data:`DEFAULT_COMPONENTS`), ``n_folds`` (training periods used as internal targets, default 3),
    ``min_history`` (periods of history an internal target needs, default 2), ``memory`` (periods of
    history used at all, default 12), ``cell_size`` (metres of the grid the weights are learned on when
    ``fit`` gets no ``grid``; default 250), ``period_days`` (default a mean month), ``date_column``.

    Fitted attributes: ``weights_`` (Series: ``intercept`` and one weight per component; a weight is a
    multiplier of its surface: a per-period rate or a share of periods), ``learned_`` (False when the
    history was too short to learn from: then an even mix, with an :class:`AnalysisWarning`), ``loglik_``, ``n_periods_``, ``n_events_``, ``t_end_``,
    ``x_``, ``y_``, ``t_``. ``predict(grid)`` returns the blended rate (expected events per cell in the
    next period) as a Series indexed by ``cell_id``.
    """

    _params = ("components", "n_folds", "min_history", "memory", "cell_size", "period_days", "date_column")

    def __init__(self, components: Sequence[tuple[Any, ...]] | None = None, n_folds: int = 3,
                 min_history: int = 2, memory: int = 12, cell_size: float = 250.0, period_days: float = MONTH_DAYS,
                 date_column: str | None = None) -> None:
        self.components = components
        self.n_folds = n_folds
        self.min_history = min_history
        self.memory = memory
        self.cell_size = cell_size
        self.period_days = period_days
        self.date_column = date_column

    # -- steps ------------------------------------------------------------------------------------
    def _components(self) -> tuple[tuple[str, int | None, float, str], ...]:
        """The components as (name, window, bandwidth, statistic), checked."""
        comps = tuple(DEFAULT_COMPONENTS if self.components is None else self.components)
        if not comps:
            raise InputError("components is empty: give at least one (name, window, bandwidth)")
        out = []
        for c in comps:
            if (len(c) not in (3, 4) or (c[1] is not None and int(c[1]) < 1) or float(c[2]) < 0
                    or (len(c) == 4 and c[3] not in STATISTICS)):
                raise InputError("a component is (name, window periods >= 1 or None, bandwidth metres >= 0"
                                 f"[, statistic in {STATISTICS}]); got {c!r}")
            out.append((c[0], c[1], float(c[2]), c[3] if len(c) == 4 else "rate"))
        return tuple(out)

    def _surfaces(self, H: np.ndarray, grid: Any) -> np.ndarray:
        """(k, n_cells) surfaces from lagged counts ``H`` (row 0 = most recent period)."""
        comps = self._components()
        P = H.shape[0]
        out = np.empty((len(comps), H.shape[1]))
        cache: dict[tuple[int, str], np.ndarray] = {}
        for i, (_, window, bw, stat) in enumerate(comps):
            w = P if window is None else min(int(window), P)
            if (w, stat) not in cache:
                part = H[:w] if stat == "rate" else (H[:w] > 0)
                cache[(w, stat)] = part.sum(0) / max(w, 1)
            out[i] = smooth(cache[(w, stat)], grid, bw)
        return out

    def fit(self, events: Any, t_end: Any = None, grid: Any = None) -> "BlendedHotspot":
        """Learn the weights from ``events`` (EPSG:27700 points with ``month`` or ``date``) before
        ``t_end``, on ``grid`` (the grid you will predict on; default an internal grid of
        ``cell_size`` metres over the events)."""
        if int(self.n_folds) < 1 or int(self.min_history) < 1 or int(self.memory) < 2:
            raise InputError("n_folds and min_history must be >= 1 and memory >= 2")
        self._store_events(events, t_end)
        k = period_of(self.t_, self.t_end_, self.period_days)
        used = (k >= 0) & (k < int(self.memory))
        if not used.any():
            raise AnalysisError(f"{type(self).__name__}.fit: no events in the {self.memory} periods before t_end")
        P = int(k[used].max()) + 1
        g = grid_of(grid) if grid is not None else internal_grid(self.x_, self.y_, self.cell_size, 3 * 1200.0)
        H = lagged_counts(g, self.x_, self.y_, k, P)
        targets = [j for j in range(min(int(self.n_folds), P)) if P - j - 1 >= int(self.min_history)]
        if targets:
            X, y = self._design(H, g, targets)
            with one_thread():
                w, ll = fit_poisson_mix(X, y)
        else:  # too little history to learn from: an even mix of the surfaces, said out loud
            warn(f"{type(self).__name__}.fit: {P} period(s) of events, fewer than the {int(self.min_history) + 1} "
                 "needed to learn weights; using an even mix of the surfaces")
            k_ = len(self._components())
            w, ll = np.r_[0.0, np.full(k_, 1.0 / k_)], float("nan")
        self.learned_ = bool(targets)
        names = ["intercept"] + [c[0] for c in self._components()]
        self.weights_ = pd.Series(w, index=names, name="weight")
        self.loglik_ = ll
        self.n_periods_ = P
        self.fold_periods_ = targets
        self._k = k
        return self

    def _design(self, H: np.ndarray, g: Any, targets: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Stacked (rows, 1 + k) design and targets: one block per internal fold, rows = cells where
        anything happened (all-zero rows only inform the intercept, added as their count)."""
        Xs, ys = [], []
        n_zero = 0.0
        for j in targets:
            S = self._surfaces(H[j + 1:], g)
            active = (S.sum(0) > 0) | (H[j] > 0)
            Xs.append(S[:, active].T)
            ys.append(H[j, active])
            n_zero += float((~active).sum())
        X = np.vstack(Xs)
        y = np.concatenate(ys)
        # the all-zero rows: one summary row (intercept column only) carrying their number as a weight
        X = np.c_[np.ones(len(X)), X]
        X = np.vstack([X, np.r_[n_zero, np.zeros(X.shape[1] - 1)]])
        y = np.r_[y, 0.0]
        return X, y

    def predict(self, grid: Any) -> pd.Series:
        """Expected events per cell in the period after ``t_end`` (Series indexed by ``cell_id``)."""
        self._check_fitted()
        if not hasattr(self, "weights_"):
            raise AnalysisError(f"{type(self).__name__} is not fitted: call fit(events) first")
        g = grid_of(grid)
        H = lagged_counts(g, self.x_, self.y_, self._k, self.n_periods_)
        S = self._surfaces(H, g)
        w = self.weights_.to_numpy()
        risk = w[0] + w[1:] @ S
        return pd.Series(risk, index=pd.RangeIndex(g.n_cells, name="cell_id"), name="risk")
