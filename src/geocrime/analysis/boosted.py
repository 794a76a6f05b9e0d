"""Gradient-boosted hotspot prediction on lagged cell features (:class:`BoostedHotspot`).

Each cell is described by features computed from the events before ``t_end`` only (declared in
:data:`FEATURES`): per-period counts over the last 1 and 3 periods and the whole history, the same
Gaussian-smoothed at several bandwidths (neighbourhoods), and the periods since the cell's last event.
scikit-learn's ``HistGradientBoostingRegressor`` with a Poisson loss learns next period's count from
them by rolling origin inside the training window (each of the last ``n_folds`` training periods
predicted from the periods before it), then predicts the period after ``t_end`` from the full history.

**Time.** As for the other predictors: police.uk events sit at the middle of their month; periods are
30.44-day steps back from ``t_end`` (calendar months for police.uk data).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError
from ._cellseries import MONTH_DAYS, internal_grid, lagged_counts, one_thread, period_of, smooth
from ._common import warn
from .grids import grid_of
from .prospective import _Predictor

__all__ = ["BoostedHotspot", "FEATURES"]

#: (name, window in periods or None = whole history, Gaussian bandwidth metres); plus "periods_since_last"
FEATURES: tuple[tuple[str, int | None, float], ...] = (
    ("rate_last_1", 1, 0.0),
    ("rate_last_3", 3, 0.0),
    ("rate_all", None, 0.0),
    ("rate_last_1_300m", 1, 300.0),
    ("rate_last_3_300m", 3, 300.0),
    ("rate_all_150m", None, 150.0),
    ("rate_all_300m", None, 300.0),
    ("rate_all_600m", None, 600.0),
    ("rate_all_1200m", None, 1200.0),
)


class BoostedHotspot(_Predictor):
    """HistGradientBoosting (Poisson loss) on lagged cell features, learned by rolling origin inside
    the training window.

    Parameters: ``max_iter`` (boosting rounds, default 60), ``learning_rate`` (0.125; 60 rounds at
    0.125 matched 100 at 0.075 on the rolling-origin folds 2024-04..06 of Met burglary, in half the
    time), ``max_leaf_nodes`` (15), ``min_samples_leaf`` (200), ``n_folds`` (internal target
    periods, 3), ``min_history`` (2), ``memory`` (12 periods), ``cell_size`` (metres of the internal
    grid when ``fit`` gets no ``grid``), ``period_days``, ``random_state`` (0), ``date_column``.

    Cells the trees give exactly the same value (all of them when a small study area leaves too few
    rows for a split) are ordered by their own whole-history rate, then by the rate smoothed at
    300 m (a relative nudge of at most 2e-6).

    Fitted attributes: ``model_`` (the scikit-learn regressor; None when the history was too short
    to learn from: then the whole-history rate smoothed at 300 m, with an :class:`AnalysisWarning`),
    ``feature_names_``, ``n_periods_``, ``n_train_rows_`` and the stored events.
    """

    _params = ("max_iter", "learning_rate", "max_leaf_nodes", "min_samples_leaf", "n_folds", "min_history",
               "memory", "cell_size", "period_days", "random_state", "date_column")

    def __init__(self, max_iter: int = 60, learning_rate: float = 0.125, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 200, n_folds: int = 3, min_history: int = 2, memory: int = 12,
                 cell_size: float = 250.0, period_days: float = MONTH_DAYS, random_state: int = 0,
                 date_column: str | None = None) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.n_folds = n_folds
        self.min_history = min_history
        self.memory = memory
        self.cell_size = cell_size
        self.period_days = period_days
        self.random_state = random_state
        self.date_column = date_column

    @staticmethod
    def _features(H: np.ndarray, grid: Any) -> np.ndarray:
        """(n_cells, n_features) from lagged counts ``H`` (row 0 = most recent period)."""
        P = H.shape[0]
        cols = []
        for _, window, bw in FEATURES:
            w = P if window is None else min(int(window), P)
            cols.append(smooth(H[:w].sum(0) / w, grid, bw))
        seen = H > 0
        since = np.where(seen.any(0), seen.argmax(0), P).astype("float64")  # 0 = last period
        cols.append(since)
        return np.column_stack(cols)

    def fit(self, events: Any, t_end: Any = None, grid: Any = None) -> "BoostedHotspot":
        """Learn from ``events`` before ``t_end`` on ``grid`` (default an internal grid)."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        if int(self.n_folds) < 1 or int(self.min_history) < 1:
            raise InputError("n_folds and min_history must be >= 1")
        self._store_events(events, t_end)
        k = period_of(self.t_, self.t_end_, self.period_days)
        used = (k >= 0) & (k < int(self.memory))
        if not used.any():
            raise AnalysisError(f"{type(self).__name__}.fit: no events in the {self.memory} periods before t_end")
        P = int(k[used].max()) + 1
        g = grid_of(grid) if grid is not None else internal_grid(self.x_, self.y_, self.cell_size, 3600.0)
        H = lagged_counts(g, self.x_, self.y_, k, P)
        targets = [j for j in range(min(int(self.n_folds), P)) if P - j - 1 >= int(self.min_history)]
        self.feature_names_ = [f[0] for f in FEATURES] + ["periods_since_last"]
        self.n_periods_ = P
        self._k = k
        if not targets:  # too little history to learn from: the smoothed rate, said out loud
            warn(f"{type(self).__name__}.fit: {P} period(s) of events, fewer than the {int(self.min_history) + 1} "
                 "needed to learn from; predicting the whole-history rate smoothed at 300 m")
            self.model_, self.n_train_rows_ = None, 0
            return self
        Xs, ys = [], []
        for j in targets:
            F = self._features(H[j + 1:], g)
            active = (F[:, :-1].max(1) > 1e-3) | (H[j] > 0)  # cells with no nearby history predict ~0
            Xs.append(F[active])
            ys.append(H[j, active])
        X, y = np.vstack(Xs), np.concatenate(ys)
        # no leaf smaller than min_samples_leaf rows: a small study area (the City of London's 66 cells
        # give ~250 rows) gets few or no splits and falls back on the tie order below, instead of
        # trees fitted to noise (a leaf minimum of 5 % of the rows scored PAI 3.1 against 5.1 for
        # plain counts on City burglary)
        leaf = int(self.min_samples_leaf)
        model = HistGradientBoostingRegressor(
            loss="poisson", max_iter=int(self.max_iter), learning_rate=float(self.learning_rate),
            max_leaf_nodes=int(self.max_leaf_nodes), min_samples_leaf=leaf,
            early_stopping=False, random_state=self.random_state)
        with one_thread():
            self.model_ = model.fit(X, y)
        self.n_train_rows_ = len(y)
        return self

    def predict(self, grid: Any) -> pd.Series:
        """Expected events per cell in the period after ``t_end`` (Series indexed by ``cell_id``)."""
        self._check_fitted()
        if not hasattr(self, "model_"):
            raise AnalysisError(f"{type(self).__name__} is not fitted: call fit(events) first")
        g = grid_of(grid)
        H = lagged_counts(g, self.x_, self.y_, self._k, self.n_periods_)
        F = self._features(H, g)
        active = F[:, :-1].max(1) > 1e-3
        own = F[:, self.feature_names_.index("rate_all")]
        near = F[:, self.feature_names_.index("rate_all_300m")]
        # the order of cells the trees cannot tell apart: the cell's own rate, then its neighbourhood's
        tie = own / (float(own.max()) or 1.0) + 1e-3 * near / (float(near.max()) or 1.0)
        if self.model_ is None:
            return pd.Series(near, index=pd.RangeIndex(g.n_cells, name="cell_id"), name="risk")
        risk = np.zeros(g.n_cells)
        if active.any():
            with one_thread():
                risk[active] = self.model_.predict(F[active])
        # trees give many cells exactly the same value: order those by ``tie`` (a nudge of < 2e-6)
        risk = risk * (1.0 + 1e-6 * tie)
        return pd.Series(risk, index=pd.RangeIndex(g.n_cells, name="cell_id"), name="risk")
