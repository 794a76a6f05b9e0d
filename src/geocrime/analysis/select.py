"""Pick a hotspot method and its parameters by rolling-origin backtest on the training period only.

:func:`select_predictor` backtests every candidate on the LAST ``folds`` periods of the events it is
given (each predicted from the periods before it), ranks them by mean PAI at one coverage, and says
what it chose and why, with bootstrap intervals and the paired difference to the runner-up. Give it
the training events only: the months you will later evaluate on must not take part in the choice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .backtest import BacktestResult, backtest

__all__ = ["select_predictor", "SelectionResult"]


@dataclass
class SelectionResult:
    """What :func:`select_predictor` chose and why.

    ``best_name`` / ``best`` (an unfitted copy of the chosen predictor), ``criterion`` (e.g. "mean PAI
    at 1 % of cells"), ``scores`` (one row per candidate: mean PAI and hit rate at the criterion
    coverage with 95 % bootstrap intervals, best first), ``runner_up`` and ``difference`` (paired
    bootstrap of best minus runner-up at every coverage), ``test_periods``, ``reason`` (a sentence),
    and ``backtest`` (the full :class:`BacktestResult`)."""

    best_name: str
    best: Any
    criterion: str
    scores: pd.DataFrame
    runner_up: str | None
    difference: pd.DataFrame | None
    test_periods: list[str]
    reason: str
    backtest: BacktestResult

    def __repr__(self) -> str:
        return f"SelectionResult(best={self.best_name!r}: {self.reason})"


def _named(candidates: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    if isinstance(candidates, Mapping):
        out = dict(candidates)
    else:
        out = {repr(c): c for c in candidates}
    if len(out) < 1:
        raise InputError("give at least one candidate predictor")
    return out


def select_predictor(
    events: pd.DataFrame,
    candidates: Mapping[str, Any] | Sequence[Any],
    grid: Any,
    *,
    coverage: float = 0.01,
    folds: int = 3,
    train_periods: int | None = None,
    min_train_periods: int = 2,
    coverages: Sequence[float] = (0.01, 0.02, 0.05, 0.10),
    ties: str = "cell_id",
    study_area: Any = "inside",
    n_boot: int = 1000,
    seed: int = 0,
) -> SelectionResult:
    """Backtest ``candidates`` (name -> predictor, or a list named by their repr) on the last ``folds``
    periods of ``events`` (training data only) and pick the highest mean PAI at ``coverage``.

    Each fold is predicted from the periods before it (all of them, or the last ``train_periods``),
    with ties broken by cell id. The result says which candidate won, by how much, and whether the
    margin over the runner-up is larger than its 95 % paired bootstrap interval (if not, the data do
    not separate the two, and the simpler one is as good a choice)."""
    named = _named(candidates)
    covs = tuple(sorted(set(coverages) | {coverage}))
    res = backtest(events, named, grid, folds=folds, train_periods=train_periods,
                   min_train_periods=min_train_periods, coverages=covs, ties=ties, study_area=study_area, seed=seed)
    ci = res.intervals(n_boot=n_boot, seed=seed)
    at = ci[np.isclose(ci["coverage"], coverage)].sort_values("pai", ascending=False, kind="stable")
    scores = at[["method", "pai", "pai_low", "pai_high", "hit_rate", "hit_rate_low", "hit_rate_high"]]
    scores = scores.rename(columns={"method": "candidate"}).reset_index(drop=True)
    best_name = str(scores["candidate"].iloc[0])
    best = named[best_name]
    best = best.clone() if hasattr(best, "clone") else best
    tests = sorted(res.table["test_period"].unique())
    criterion = f"mean PAI at {coverage:.0%} of cells"
    runner_up = str(scores["candidate"].iloc[1]) if len(scores) > 1 else None
    diff = None
    first = scores.iloc[0]
    reason = (f"{best_name} had the highest {criterion} over {len(tests)} rolling-origin fold(s) "
              f"{tests[0]}..{tests[-1]}: {first['pai']:.2f} [{first['pai_low']:.2f}, {first['pai_high']:.2f}]")
    if runner_up is not None:
        diff = res.compare(best_name, runner_up, n_boot=n_boot, seed=seed)
        d = diff[np.isclose(diff["coverage"], coverage)].iloc[0]
        clear = d["pai_diff_low"] > 0
        reason += (f"; runner-up {runner_up} by {d['pai_diff']:+.2f} [{d['pai_diff_low']:+.2f}, "
                   f"{d['pai_diff_high']:+.2f}]: " + ("a clear margin" if clear else
                                                       "within the interval, so not shown to be better"))
    return SelectionResult(best_name, best, criterion, scores, runner_up, diff, tests, reason, res)
