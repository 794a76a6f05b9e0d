"""The issue-20 protocol on the Met dev folds (test months 2024-07..10, six months of training each, 250 m
cells touching London, ties by cell id): what the docs claim about the learned predictors holds."""
from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from _analysis_data import london_grid_250, read_police_uk_csvs

from geocrime.analysis import (
    AnalysisWarning,
    BlendedHotspot,
    NaiveLastPeriod,
    RetrospectiveKDE,
    SquareGrid,
    backtest,
    score_hotspots,
    study_cells,
)


@pytest.fixture(scope="module")
def ten_months(shared_data):
    files = sorted((shared_data / "policeuk_met_burglary_street").glob("*.csv"))
    files += sorted((shared_data / "policeuk_met_burglary_street_2024h2").glob("*.csv"))
    pts = read_police_uk_csvs(files)
    return pts[pts.geometry.notna()].copy()


@pytest.fixture(scope="module")
def london(shared_data):
    return london_grid_250(shared_data)


@pytest.fixture(scope="module")
def dev(ten_months, london):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        return backtest(ten_months, {"counts": NaiveLastPeriod(period_days=400), "kde": RetrospectiveKDE(),
                                     "blend": BlendedHotspot()}, london, folds=4, train_periods=6,
                        min_train_periods=6, coverages=(0.01, 0.02, 0.05, 0.10), ties="cell_id",
                        study_area="touches")


def test_dev_folds_are_the_protocol(dev, ten_months, london):
    t = dev.table
    assert sorted(t["test_period"].unique()) == ["2024-07", "2024-08", "2024-09", "2024-10"]
    assert (t["area_cells"] == 26_030).all() and study_cells(london, "touches").sum() == 26_030
    # six months of training each: 2024-10 is predicted from 2024-04..09 only
    oct_train = t[(t["test_period"] == "2024-10")]["train_events"].iloc[0]
    assert oct_train == ten_months["month"].between("2024-04", "2024-09").sum()


def test_blend_beats_the_best_baseline_at_one_percent(dev):
    """The documented gain (docs/stages/analysis.md: blend 10.33 vs RetrospectiveKDE 9.68 at 1 %):
    the blend's paired interval over the best baseline lies above 0 at 1 %, and the blend is not
    below the baselines at 2, 5 and 10 %."""
    pai = dev.summary().pivot(index="method", columns="coverage", values="pai")
    assert (pai.loc["blend"] >= pai.loc[["kde", "counts"]].max()).all()
    d = dev.compare("blend", "kde", n_boot=1000, seed=0).set_index("coverage")
    assert d.loc[0.01, "pai_diff_low"] > 0


def test_future_inclusive_counts_are_no_better_than_the_target(dev, ten_months, london):
    """The yardstick behind 'event history alone does not reach +10 %': ranking each dev month by the
    counts of the other nine months (future included) scores below 1.1 x the best baseline's PAI at
    1 % on the same folds (10.40 vs 1.1 x 9.68 when measured)."""
    cells = london.cell_of(ten_months.geometry.x.to_numpy(), ten_months.geometry.y.to_numpy())
    ins = np.flatnonzero(study_cells(london, "touches"))
    month = ten_months["month"].to_numpy()
    pais = []
    for m in ("2024-07", "2024-08", "2024-09", "2024-10"):
        y = np.bincount(cells[(month == m) & (cells >= 0)], minlength=london.n_cells)[ins]
        other = np.bincount(cells[(month != m) & (cells >= 0)], minlength=london.n_cells)[ins]
        pais.append(score_hotspots(other, y, (0.01,), ties="cell_id")["pai"].iloc[0])
    pai = dev.summary().pivot(index="method", columns="coverage", values="pai")
    best = pai.loc[["kde", "counts"], 0.01].max()
    assert best < np.mean(pais) < 1.1 * best
