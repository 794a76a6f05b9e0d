"""Prospective / retrospective / naive predictors, the backtest and the Knox test."""
from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from _analysis_data import read_police_uk_csvs, wards_2024
from geocrime.analysis import (
    AnalysisWarning,
    HexGrid,
    NaiveLastPeriod,
    ProspectiveHotspot,
    RetrospectiveKDE,
    SquareGrid,
    backtest,
    knox_test,
    score_hotspots,
)
from geocrime.errors import AnalysisError, InputError


@pytest.fixture(scope="module")
def met(met_burglary_files):
    pts = read_police_uk_csvs(met_burglary_files)
    return pts[pts.geometry.notna()].copy()


@pytest.fixture(scope="module")
def london_grid(shared_data):
    return SquareGrid.from_extent(wards_2024(shared_data), 250)


def _events(xy, dates):
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame({"date": pd.to_datetime(dates)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                            crs=27700)


def _bowers_reference(grid, ev_x, ev_y, ages, bandwidth=400.0, window=56.0):
    """Direct per-cell, per-event sum of 1/(1+d/cell) * 1/(1+t/7) (the paper's formula)."""
    cx, cy = grid.centres()
    risk = np.zeros(grid.n_cells)
    for x, y, a in zip(ev_x, ev_y, ages):
        if not (0 <= a <= window):
            continue
        d = np.hypot(cx - x, cy - y)
        risk += np.where(d <= bandwidth, 1.0 / (1.0 + d / grid.size) * 1.0 / (1.0 + a / 7.0), 0.0)
    return risk


@pytest.mark.parametrize("kind", ["square", "hex"])
def test_prospective_equals_direct_formula(kind):
    rng = np.random.default_rng(5)
    if kind == "square":
        grid = SquareGrid.from_extent((0, 0, 5000, 5000), 100)
    else:
        grid = HexGrid.from_extent((0, 0, 5000, 5000), 60)
    cx, cy = grid.centres()
    pick = rng.choice(np.flatnonzero((cx > 500) & (cx < 4500) & (cy > 500) & (cy < 4500)), 60)
    # events on cell centres so binning is exact; ages 0..80 days (some beyond the 8-week window)
    ages = rng.uniform(0, 80, 60)
    t_end = pd.Timestamp("2024-06-01")
    ev = _events(np.c_[cx[pick], cy[pick]], t_end - pd.to_timedelta(ages, unit="D"))
    model = ProspectiveHotspot().fit(ev, t_end=t_end)
    assert model.n_events_ == 60 and model.t_end_ == pytest.approx((t_end - pd.Timestamp("1970-01-01")).days)
    got = model.predict(grid)
    ref = _bowers_reference(grid, cx[pick], cy[pick], (t_end - ev["date"]).dt.total_seconds() / 86400)
    assert got.index.name == "cell_id" and len(got) == grid.n_cells
    np.testing.assert_allclose(got.to_numpy(), ref, rtol=1e-9, atol=1e-9)
    assert (ref > 0).sum() > 100  # the reference is not trivially zero


def test_predictors_on_police_uk_months(met, london_grid):
    train = met[met["Month"] < "2024-06"]
    p = ProspectiveHotspot().fit(train)
    # police.uk months: t_end is the first day after the last training month; events sit mid-month
    assert p.t_end_ == (pd.Timestamp("2024-06-01") - pd.Timestamp("1970-01-01")).days
    assert set(np.round(p.t_end_ - p.t_, 1)) == {15.5, 46.0, 76.5, 106.5, 136.5}
    r = p.predict(london_grid)
    assert (r >= 0).all() and r.max() > 0
    naive = NaiveLastPeriod().fit(train).predict(london_grid)
    may = met[met["Month"] == "2024-05"]
    assert naive.sum() == (london_grid.cell_of(may.geometry.x, may.geometry.y) >= 0).sum()
    kde_r = RetrospectiveKDE(bandwidth=300).fit(train).predict(london_grid)
    assert kde_r.sum() > 0 and np.isfinite(kde_r).all()
    # the May hotspot cells hold more June events than chance for every predictor
    june = met[met["Month"] == "2024-06"]
    cells = london_grid.cell_of(june.geometry.x, june.geometry.y)
    for risk in (r, naive, kde_r):
        top = np.argsort(-risk.to_numpy())[: london_grid.n_cells // 100]
        assert np.isin(cells, top).mean() > 0.05
    with pytest.raises(AnalysisError, match="not fitted"):
        ProspectiveHotspot().predict(london_grid)
    assert "bandwidth=400.0" in repr(ProspectiveHotspot()) and ProspectiveHotspot().get_params()["time_window"] == 56.0


def test_score_hotspots_by_hand():
    risk = np.array([3.0, 2.0, 1.0, 0.0])
    counts = np.array([1, 0, 2, 1])
    s = score_hotspots(risk, counts, [0.5], prev_counts=np.array([2, 2, 0, 0]), test_harm=np.array([10.0, 0, 5, 5]))
    row = s.iloc[0]
    assert (row.n_cells, row.hits, row.events) == (2, 1, 4)
    assert row.hit_rate == 0.25 and row.pai == 0.5
    assert row.pei == pytest.approx(1 / 3)  # best 2 cells held 3
    assert row.rri == pytest.approx((1 / 4) / (4 / 4))
    assert row.harm_pai == pytest.approx((10 / 20) / 0.5)
    empty = score_hotspots(risk, np.zeros(4), [0.25]).iloc[0]
    assert np.isnan(empty.pai) and np.isnan(empty.hit_rate)


def test_backtest_on_met_burglary(met, london_grid, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        res = backtest(
            met,
            {"prospective": ProspectiveHotspot(), "retrospective_kde": RetrospectiveKDE(),
             "naive_last_month": NaiveLastPeriod()},
            london_grid, coverages=(0.01, 0.05, 0.10), origin_shifts=[(125, 125)], harm=True,
        )
    t = res.table
    assert set(t["test_period"]) == {"2024-02", "2024-03", "2024-04", "2024-05", "2024-06"}
    assert len(t) == 3 * 5 * 3 * 2
    np.testing.assert_allclose(t["pai"], t["hit_rate"] / (t["n_cells"] / t["area_cells"]))
    assert t["pei"].between(0, 1).all()
    # every method beats chance clearly at 5% of the area (PAI 1 = random)
    s = res.summary()
    at5 = s[s["coverage"] == 0.05].set_index("method")
    assert (at5["pai"] > 2).all()
    # all burglary: harm PAI equals PAI
    np.testing.assert_allclose(t["harm_pai"], t["pai"])
    sens = res.origin_sensitivity()
    assert (sens["n_origins"] == 2).all() and (sens["pai_std"] >= 0).all()
    png = res.plot(tmp_path / "bt.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_backtest_bad_input(met, london_grid):
    one_month = met[met["Month"] == "2024-01"]
    with pytest.raises(AnalysisError, match="need more than"):
        backtest(one_month, {"p": ProspectiveHotspot()}, london_grid)
    with pytest.raises(InputError, match="fit/predict"):
        backtest(met, {"p": object()}, london_grid)
    with pytest.raises(InputError, match="date"):
        backtest(met, {"p": ProspectiveHotspot()}, london_grid, freq="W")
    # all events in one cell: defined scores (hit rate 1 when that cell is flagged)
    x, y = london_grid.centres()
    c = np.flatnonzero(london_grid.inside())[500]
    ev = gpd.GeoDataFrame({"month": ["2024-01"] * 5 + ["2024-02"] * 5},
                          geometry=gpd.points_from_xy(np.full(10, x[c]), np.full(10, y[c])), crs=27700)
    res = backtest(ev, {"naive": NaiveLastPeriod()}, london_grid, coverages=(0.01,))
    row = res.table.iloc[0]
    assert row.hit_rate == 1.0 and row.pei == 1.0


def test_knox_detects_planted_near_repeats_and_is_seeded(met):
    rng = np.random.default_rng(11)
    n = 400
    base = rng.uniform(0, 20000, (n, 2))
    days = rng.uniform(0, 365, n)
    # plant repeats: 150 events within 50 m and 5 days of an earlier one
    src = rng.integers(0, n, 150)
    rep = base[src] + rng.normal(0, 20, (150, 2))
    rdays = days[src] + rng.uniform(0, 5, 150)
    ev = _events(np.r_[base, rep], pd.Timestamp("2023-01-01") + pd.to_timedelta(np.r_[days, rdays], unit="D"))
    r = knox_test(ev, (0, 100, 200, 400), (0, 7, 14, 28), permutations=99, seed=1)
    assert r.time_unit == "day"
    assert r.ratio[0, 0] > 5 and r.p_value[0, 0] == pytest.approx(0.01)
    assert r.ratio[2, 2] < 2
    tab = r.table()
    assert len(tab) == 9 and {"observed", "expected", "knox_ratio", "p_value"} <= set(tab.columns)
    # real police.uk months: seeded -> reproducible; month bands
    a = knox_test(met, (0, 1, 200, 400), permutations=19, seed=3)
    b = knox_test(met, (0, 1, 200, 400), permutations=19, seed=3)
    assert a.time_unit == "month" and np.array_equal(a.expected, b.expected)
    assert a.observed.sum() > 1000
    with pytest.raises(AnalysisError, match="at least 2"):
        knox_test(met.iloc[:1], permutations=9)
    with pytest.raises(AnalysisError, match="same time"):
        knox_test(met[met["Month"] == "2024-01"], permutations=9)


def test_predictor_weights_and_lookback(met, london_grid):
    train = met[met["Month"] < "2024-06"].copy()
    train["w2"] = 2.0
    plain = ProspectiveHotspot().fit(train).predict(london_grid)
    doubled = ProspectiveHotspot(weight_column="w2").fit(train).predict(london_grid)
    np.testing.assert_allclose(doubled, 2 * plain, rtol=1e-9, atol=1e-9)
    # a 31-day lookback KDE sees only May (events mid-month, t_end 1 June) and equals a KDE of May alone
    recent = RetrospectiveKDE(lookback_days=31).fit(train).predict(london_grid)
    may_only = RetrospectiveKDE().fit(train[train["Month"] == "2024-05"], t_end="2024-06-01").predict(london_grid)
    np.testing.assert_allclose(recent, may_only, rtol=1e-9, atol=1e-12)
    # a longer time window can only add risk
    longer = ProspectiveHotspot(time_window=120).fit(train).predict(london_grid)
    assert (longer.to_numpy() >= plain.to_numpy() - 1e-12).all() and longer.sum() > plain.sum()
