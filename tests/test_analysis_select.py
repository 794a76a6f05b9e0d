"""The learned hotspot predictors (blend, SEPP, boosted), select_predictor, the fixed protocol options
of backtest (ties by cell id, cells touching the boundary) and the bootstrap intervals."""
from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _analysis_data import london_grid_250, read_police_uk_csvs

from geocrime.analysis import (
    AnalysisWarning,
    BlendedHotspot,
    BoostedHotspot,
    NaiveLastPeriod,
    RetrospectiveKDE,
    SelectionResult,
    SEPPHotspot,
    SquareGrid,
    backtest,
    rank_cells,
    select_predictor,
    study_cells,
)
from geocrime.analysis._cellseries import lagged_counts
from geocrime.analysis.blend import DEFAULT_COMPONENTS, fit_poisson_mix
from geocrime.errors import AnalysisError, InputError


@pytest.fixture(scope="module")
def met(met_burglary_files):
    pts = read_police_uk_csvs(met_burglary_files)
    return pts[pts.geometry.notna()].copy()


@pytest.fixture(scope="module")
def london(shared_data):
    return london_grid_250(shared_data)


def _cells(grid, ev):
    return grid.cell_of(ev.geometry.x.to_numpy(), ev.geometry.y.to_numpy())


def _pai_top(risk, grid, ev, share=0.01):
    """PAI of the top ``share`` of inside cells (ties by cell id) for the events ``ev``."""
    ins = np.flatnonzero(grid.inside())
    order = rank_cells(risk.to_numpy()[ins], ties="cell_id")
    top = ins[order[: int(round(share * len(ins)))]]
    return np.isin(_cells(grid, ev), top).mean() / share


def test_poisson_mix_recovers_known_weights():
    rng = np.random.default_rng(3)
    X = rng.gamma(0.5, 2.0, size=(20_000, 3))
    y = rng.poisson(X @ np.array([0.5, 2.0, 0.0]))
    w, ll = fit_poisson_mix(X, y)
    np.testing.assert_allclose(w, [0.5, 2.0, 0.0], atol=0.06)
    assert (w >= 0).all() and np.isfinite(ll)
    with pytest.raises(AnalysisError, match="zero"):
        fit_poisson_mix(np.zeros((5, 2)), np.ones(5))


def test_sepp_recovers_planted_near_repeats():
    """Uniform background 0.2 events per cell and month; every event triggers Poisson(0.3) events in
    its own cell one month later. EM should find a[lag 1, same cell] ~ 0.3 and nothing elsewhere."""
    rng = np.random.default_rng(7)
    grid = SquareGrid.from_extent((0, 0, 10_000, 10_000), 250)
    months = pd.period_range("2023-01", "2024-06", freq="M")
    per_month = []
    prev = np.zeros(grid.n_cells, dtype=int)
    for _ in months:
        now = rng.poisson(0.2, grid.n_cells) + rng.poisson(0.3 * prev)
        per_month.append(now)
        prev = now
    cx, cy = grid.centres()
    rows = [(str(m), c) for m, counts in zip(months, per_month) for c in np.repeat(np.arange(grid.n_cells), counts)]
    month, cell = zip(*rows)
    cell = np.asarray(cell)
    ev = gpd.GeoDataFrame({"month": month}, geometry=gpd.points_from_xy(cx[cell], cy[cell]), crs=27700)
    model = SEPPHotspot(memory=18, max_lag=3, n_iter=300).fit(ev, grid=grid)
    a = model.trigger_
    assert a.loc[1, 0.0] == pytest.approx(0.3, abs=0.05)
    assert a.loc[2:, :].to_numpy().max() < 0.05 and a.loc[1].iloc[1:].max() < 0.02
    assert model.background_share_ == pytest.approx(1 - 0.3, abs=0.06)
    risk = model.predict(grid)
    # expected next month: background 0.2 + 0.3 x last month's count in the cell
    expect = 0.2 + 0.3 * per_month[-1]
    assert np.corrcoef(risk.to_numpy(), expect)[0, 1] > 0.95
    with pytest.raises(InputError, match="same cell size"):
        model.predict(SquareGrid.from_extent((0, 0, 10_000, 10_000), 100))


@pytest.mark.parametrize("cls", [BlendedHotspot, SEPPHotspot, BoostedHotspot])
def test_learned_predictors_use_only_the_past(cls, met, london):
    """Events after t_end change nothing; the top 1 % of cells holds many times its share of June."""
    t_end = pd.Timestamp("2024-06-01")
    before = met[met["month"] < "2024-06"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        a = cls().fit(before, t_end=t_end, grid=london).predict(london)
        b = cls().fit(met, t_end=t_end, grid=london).predict(london)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, atol=1e-12)
    assert a.index.name == "cell_id" and len(a) == london.n_cells and (a >= 0).all()
    june = met[met["month"] == "2024-06"]
    # expected events per cell: the total is the size of a month of burglary (3,870 in June 2024)
    assert 2500 < a[london.inside()].sum() < 5500
    assert _pai_top(a, london, june) > 7


def test_blend_weights_and_parameters(met, london):
    train = met[met["month"] < "2024-06"]
    m = BlendedHotspot().fit(train, grid=london)
    assert m.weights_.index[0] == "intercept" and (m.weights_ >= 0).all()
    assert m.n_periods_ == 5 and m.fold_periods_ == [0, 1, 2]
    # the surfaces are per-period rates: the weights of a calibrated blend sum to about one
    assert 0.7 < m.weights_.iloc[1:].sum() < 1.3
    own = BlendedHotspot(components=[("counts_all", None, 0.0)]).fit(train, grid=london)
    counts = NaiveLastPeriod(period_days=400).fit(train).predict(london)
    # one component: the ranking is the six-month counts'
    assert np.array_equal(np.argsort(-own.predict(london).to_numpy(), kind="stable"),
                          np.argsort(-counts.to_numpy(), kind="stable"))
    with pytest.raises(InputError, match="component"):
        BlendedHotspot(components=[("x", 0, 10.0)]).fit(train, grid=london)
    # one month of history: nothing to learn from, an even mix with a warning (not an error)
    with pytest.warns(AnalysisWarning, match="even mix"):
        short = BlendedHotspot().fit(met[met["month"] == "2024-01"], grid=london)
    assert not short.learned_ and np.allclose(short.weights_.iloc[1:], 1 / len(DEFAULT_COMPONENTS))
    with pytest.warns(AnalysisWarning, match="smoothed at 300 m"):
        assert BoostedHotspot().fit(met[met["month"] <= "2024-02"], grid=london).model_ is None
    assert BlendedHotspot().set_params(n_folds=2).clone().n_folds == 2


def test_blend_active_share_is_persistence_not_volume(met, london):
    """The "active" statistic: the share of the window's months in which the cell had an event, so a
    burst counts once; on the six Met months it is months-with-events / 6 for every cell."""
    train = met[met["month"] <= "2024-06"]
    t_end = "2024-07-01"
    comps = [("rate", None, 0.0), ("active", None, 0.0, "active")]
    m = BlendedHotspot(components=comps).fit(train, t_end=t_end, grid=london)
    cells = london.cell_of(train.geometry.x.to_numpy(), train.geometry.y.to_numpy())
    per_month = pd.crosstab(cells[cells >= 0], train["month"].to_numpy()[cells >= 0])
    S = m._surfaces(lagged_counts(london, m.x_, m.y_, m._k, m.n_periods_), london)
    np.testing.assert_allclose(S[0][per_month.index], per_month.sum(axis=1) / 6)
    np.testing.assert_allclose(S[1][per_month.index], (per_month > 0).sum(axis=1) / 6)
    burst = (per_month.max(axis=1) >= 3) & ((per_month > 0).sum(axis=1) == 1)
    assert burst.any() and (S[1][per_month.index[burst]] < S[0][per_month.index[burst]]).all()
    assert m.weights_.index.tolist() == ["intercept", "rate", "active"]
    with pytest.raises(InputError, match="statistic"):
        BlendedHotspot(components=[("x", None, 0.0, "max")]).fit(train, grid=london)


def test_boosted_is_reproducible(met, london):
    train = met[met["month"] < "2024-05"]
    a = BoostedHotspot(max_iter=30).fit(train, grid=london)
    b = BoostedHotspot(max_iter=30).fit(train, grid=london)
    np.testing.assert_array_equal(a.predict(london).to_numpy(), b.predict(london).to_numpy())
    assert a.feature_names_[-1] == "periods_since_last" and a.n_train_rows_ > 1000


def test_protocol_options_ties_and_touching_cells(london):
    ins = london.inside()
    touch = study_cells(london, "touches")
    assert touch.sum() > ins.sum() and not (ins & ~touch).any()  # touching includes every centre-inside cell
    # ties by cell id: all-equal risk flags the lowest cell ids
    assert list(rank_cells(np.zeros(5), ties="cell_id", cell_ids=np.array([9, 3, 7, 1, 5]))) == [3, 1, 4, 2, 0]
    assert list(rank_cells(np.array([1.0, 2.0, 2.0, np.nan]), ties="cell_id")) == [1, 2, 0, 3]
    with pytest.raises(InputError, match="ties"):
        rank_cells(np.zeros(3), ties="first")
    with pytest.raises(InputError, match="study_area"):
        study_cells(london, "centre")
    with pytest.raises(InputError, match="boundary"):
        study_cells(SquareGrid.from_extent((0, 0, 1000, 1000), 250), "touches")


def test_backtest_protocol_and_bootstrap_intervals(met, london, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        res = backtest(met, {"naive": NaiveLastPeriod(), "kde": RetrospectiveKDE(), "blend": BlendedHotspot()},
                       london, folds=3, coverages=(0.01, 0.05), ties="cell_id", study_area="touches")
    t = res.table
    assert (t["area_cells"] == study_cells(london, "touches").sum()).all()
    assert sorted(t["test_period"].unique()) == ["2024-04", "2024-05", "2024-06"]
    ci = res.intervals(n_boot=400, seed=1)
    assert ((ci["pai_low"] <= ci["pai"]) & (ci["pai"] <= ci["pai_high"])).all()
    assert (ci["hit_rate_low"] < ci["hit_rate_high"]).all() and ci.attrs["n_boot"] == 400
    s = res.summary().set_index(["method", "coverage"])
    np.testing.assert_allclose(ci.set_index(["method", "coverage"])["pai"], s.loc[ci.set_index(["method", "coverage"]).index, "pai"])
    # same seed, same intervals; a method against itself differs by exactly 0
    pd.testing.assert_frame_equal(ci, res.intervals(n_boot=400, seed=1))
    same = res.compare("kde", "kde", n_boot=200)
    assert (same["pai_diff_low"] == 0).all() and (same["pai_diff_high"] == 0).all()
    # last month alone is clearly worse than the blend at 5 % on these folds: the interval excludes 0
    d = res.compare("naive", "blend", n_boot=400).set_index("coverage")
    assert d.loc[0.05, "pai_diff_high"] < 0 and d.loc[0.05, "p_not_better"] > 0.95
    png = res.plot(tmp_path / "ci.png", n_boot=200)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="mask"):
        backtest(met, {"n": NaiveLastPeriod()}, london, study_area=np.ones(london.n_cells, bool),
                 origin_shifts=[(125, 125)])


def test_select_predictor_on_training_months_only(met, london):
    train = met[met["month"] <= "2024-05"]  # June is not seen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        sel = select_predictor(train, {"last month": NaiveLastPeriod(), "blend": BlendedHotspot()}, london,
                               folds=2, min_train_periods=3, n_boot=300)
    assert isinstance(sel, SelectionResult)
    assert sel.test_periods == ["2024-04", "2024-05"]
    assert sel.best_name == "blend" and isinstance(sel.best, BlendedHotspot) and not hasattr(sel.best, "weights_")
    assert list(sel.scores["candidate"]) == ["blend", "last month"]
    assert sel.scores["pai"].iloc[0] > sel.scores["pai"].iloc[1]
    assert "blend had the highest mean PAI at 1% of cells" in sel.reason and "last month" in sel.reason
    assert sel.runner_up == "last month" and set(sel.difference["coverage"]) == {0.01, 0.02, 0.05, 0.10}
    # a list of candidates is named by repr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        one = select_predictor(train, [NaiveLastPeriod()], london, folds=1, n_boot=50)
    assert one.best_name == "NaiveLastPeriod(period_days=None, date_column=None, weight_column=None)"
    assert one.runner_up is None and one.difference is None


def test_boosted_on_a_small_area_falls_back_to_the_cells_own_history(city_files, shared_data):
    """The City of London: 66 cells touching it give ~250 training rows, too few for a leaf of 200: no
    tree is fitted to noise, and the cells are ordered by their own history (as counts), not by id."""
    city = read_police_uk_csvs(city_files)
    city = city[city.geometry.notna() & (city["Crime type"] == "Burglary")]
    b = gpd.read_file(shared_data / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp").to_crs(27700)
    grid = SquareGrid.from_extent(b[b["LAD22CD"] == "E09000001"], 250)
    train = city[(city["month"] >= "2023-07") & (city["month"] < "2024-01")]
    m = BoostedHotspot().fit(train, t_end="2024-01-01", grid=grid)
    assert m.n_train_rows_ < 400 and m.model_.n_iter_ > 0
    risk = m.predict(grid).to_numpy()
    counts = NaiveLastPeriod(period_days=400).fit(train, t_end="2024-01-01").predict(grid).to_numpy()
    busy = counts > 0
    # every cell with burglaries ranks above every cell without, busier cells first
    assert risk[busy].min() > risk[~busy].max()
    more = counts[:, None] > counts[None, :]
    assert (risk[:, None] > risk[None, :])[more].all()
