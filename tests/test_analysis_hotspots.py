"""Gi* / local Moran (against esda itself) and KDE, on real London LSOAs and Met burglary points."""
from __future__ import annotations

import warnings

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import shapely

from _analysis_data import lsoas_2021, read_police_uk_csvs, with_areas
from geocrime.analysis import (
    AnalysisWarning,
    SquareGrid,
    aggregate,
    getis_ord,
    kde,
    kde_cells,
    local_moran,
    spatial_weights,
    square_grid,
)
from geocrime.errors import AnalysisError, InputError


@pytest.fixture(scope="module")
def lsoa_counts(met_burglary_files, shared_data):
    lsoas = lsoas_2021(shared_data)
    pts = with_areas(read_police_uk_csvs(met_burglary_files), shared_data, ["lsoa_2021"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        agg = aggregate(pts, by=["lsoa_2021"], areas=lsoas)
    y = agg.set_index("lsoa_2021")["count"].reindex(lsoas["code"]).to_numpy()
    return lsoas, y, pts


@pytest.fixture(scope="module")
def lsoa_w(lsoa_counts):
    return spatial_weights(lsoa_counts[0], "queen")


def test_gi_star_equals_esda_on_same_weights_and_seed(lsoa_counts, lsoa_w):
    lsoas, y, _ = lsoa_counts
    with pytest.warns(AnalysisWarning, match="raw counts"):
        res = getis_ord(y, lsoas, w=lsoa_w, permutations=999, seed=2024)
    w2 = libpysal.weights.Queen.from_dataframe(lsoas, use_index=False, silence_warnings=True)
    ref = esda.G_Local(y.astype(float), w2, transform="B", permutations=999, star=True, seed=2024, n_jobs=1)
    np.testing.assert_array_equal(res.z, ref.Zs)
    np.testing.assert_array_equal(res.p_sim, ref.p_sim)
    np.testing.assert_array_equal(res.p_norm, ref.p_norm)
    # FDR: q-values never below p, and classes follow q and the sign of z
    assert (res.q >= res.p_sim - 1e-15).all()
    assert set(res.classes) <= {"hot", "cold", "not significant"}
    assert (res.z[res.classes == "hot"] > 0).all() and (res.z[res.classes == "cold"] < 0).all()
    raw = getis_ord(y, lsoas, w=lsoa_w, permutations=999, seed=2024, fdr=False)
    assert raw.significant.sum() > res.significant.sum()  # FDR is stricter than raw p < 0.05
    # a Series keyed by LSOA code is aligned by code, whatever its order
    shuffled = pd.Series(y, index=lsoas["code"].to_numpy()).sample(frac=1.0, random_state=0)
    by_code = getis_ord(shuffled, lsoas, w=lsoa_w, permutations=999, seed=2024)
    np.testing.assert_array_equal(by_code.z, res.z)
    assert list(by_code.ids[:3]) == list(lsoas["code"][:3])
    frame = res.to_frame()
    assert list(frame.columns) == ["y", "z", "p_sim", "p_norm", "q", "significant", "class"] and len(frame) == 4994
    # reproducible with the seed
    again = getis_ord(y, lsoas, w=lsoa_w, permutations=999, seed=2024)
    np.testing.assert_array_equal(again.p_sim, res.p_sim)


def test_gi_star_with_denominator_finds_hotspots(lsoa_counts, lsoa_w):
    lsoas, y, _ = lsoa_counts
    area_km2 = shapely.area(lsoas.geometry.values) / 1e6
    res = getis_ord(y, lsoas, w=lsoa_w, denominator=area_km2, permutations=9999, seed=1)
    assert (res.classes == "hot").sum() > 0
    np.testing.assert_allclose(res.y, y / area_km2)


def test_local_moran_equals_esda(lsoa_counts, lsoa_w):
    lsoas, y, _ = lsoa_counts
    with pytest.warns(AnalysisWarning):
        res = local_moran(y, lsoas, w=lsoa_w, permutations=199, seed=7)
    w2 = libpysal.weights.Queen.from_dataframe(lsoas, use_index=False, silence_warnings=True)
    ref = esda.Moran_Local(y.astype(float), w2, transformation="r", permutations=199, seed=7, n_jobs=1)
    np.testing.assert_array_equal(res.p_sim, ref.p_sim)
    np.testing.assert_array_equal(res.z, ref.z_sim)
    assert set(res.classes) <= {"HH", "LL", "HL", "LH", "not significant"}


def test_hotspot_warnings_and_errors(lsoa_counts):
    lsoas, y, _ = lsoa_counts
    small = lsoas.iloc[:60].reset_index(drop=True)
    ys = y[:60].copy()
    # an island: a square far from everything
    island = gpd.GeoDataFrame({"code": ["ISLAND"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=27700)
    with_island = pd.concat([small, island], ignore_index=True)
    with pytest.warns(AnalysisWarning, match="island"):
        res = getis_ord(np.append(ys, 3), with_island, permutations=99, seed=0)
    assert res.classes[-1] == "not significant"
    few = np.zeros(60)
    few[:3] = 1
    with pytest.warns(AnalysisWarning, match="only 3 events"):
        getis_ord(few, small, permutations=99, seed=0)
    with pytest.raises(AnalysisError, match="zero"):
        getis_ord(np.zeros(60), small, permutations=99)
    with pytest.raises(InputError, match="align"):
        getis_ord(ys[:10], small, permutations=99)
    with pytest.raises(AnalysisError, match="NaN"):
        getis_ord(np.r_[ys[:-1], np.nan], small, permutations=99)
    with pytest.raises(AnalysisError, match="same value"):
        local_moran(np.ones(60), small, permutations=99, denominator=np.ones(60))


def test_gi_star_on_grid_cells(lsoa_counts):
    _, _, pts = lsoa_counts
    cells = square_grid((525000, 175000, 535000, 185000), 500, only_inside=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        agg = aggregate(pts, by=["cell_id"], areas=cells, unknown_areas="drop")
    w = spatial_weights(cells)
    # interior cells have 8 neighbours (queen), corners 3
    assert max(w.cardinalities.values()) == 8 and min(w.cardinalities.values()) == 3
    res = getis_ord(agg["count"].to_numpy(), cells, w=w, permutations=99, seed=0, denominator=np.ones(len(cells)))
    assert len(res.z) == len(cells) == 400


def test_kde_conserves_mass_and_matches_exact(lsoa_counts):
    _, _, pts = lsoa_counts
    located = pts[pts["area_status"] == "ok"]  # in a London LSOA (a few police.uk points are far away)
    x, y = located.geometry.x.to_numpy(), located.geometry.y.to_numpy()
    for kernel in ("quartic", "gaussian"):
        r = kde((x, y), bandwidth=300, kernel=kernel, cell_size=50)
        assert r.units == "events per km²" and not r.edge_corrected
        # density x cell area sums back to the number of events (grid padded by the kernel support)
        assert np.nansum(r.density) * (0.05 * 0.05) == pytest.approx(len(located), rel=1e-9)
        cx, cy = r.grid.centres()
        sel = np.flatnonzero(r.values() > np.quantile(r.values(), 0.99))[::40]
        exact = kde_cells((x, y), cx[sel], cy[sel], bandwidth=300, kernel=kernel)
        # binning to 50 m cells moves points by <= 35 m: the surfaces agree closely where it matters
        rel = np.abs(r.values()[sel] - exact) / exact
        # snapped police.uk points make steep spikes: binning error is largest exactly there
        assert np.median(rel) < 0.08, np.median(rel)
        assert np.corrcoef(r.values()[sel], exact)[0, 1] > 0.99
    # on smooth (uniform) data the binned surface is within a few per cent of the exact one
    rng = np.random.default_rng(0)
    ux, uy = rng.uniform(1000, 2000, 2000), rng.uniform(1000, 2000, 2000)
    g = SquareGrid.from_extent((0, 0, 3000, 3000), 50)
    cx, cy = g.centres()
    for kernel in ("quartic", "gaussian"):
        binned = kde((ux, uy), g, bandwidth=300, kernel=kernel).values()
        exact = kde_cells((ux, uy), cx, cy, bandwidth=300, kernel=kernel)
        m = exact > np.median(exact)
        assert np.median(np.abs(binned[m] - exact[m]) / exact[m]) < 0.02


def test_kde_edge_correction_and_transform():
    rng = np.random.default_rng(3)
    boundary = shapely.box(0, 0, 4000, 4000)
    x, y = rng.uniform(0, 4000, 200_000), rng.uniform(0, 4000, 200_000)
    grid = SquareGrid.from_extent(gpd.GeoSeries([boundary], crs=27700), 100)
    corr = kde((x, y), grid, bandwidth=400, edge_correction=True)
    raw = kde((x, y), grid, bandwidth=400, edge_correction=False)
    truth = 200_000 / 16.0  # events per km²
    edge = corr.density[:, 0]
    assert np.nanmean(edge) == pytest.approx(truth, rel=0.03)  # corrected: flat up to the edge
    assert np.nanmean(raw.density[:, 0]) < 0.75 * truth  # uncorrected: edge bias
    a, b, c, d, e, f = corr.transform
    assert (a, e, c, f) == (100.0, -100.0, grid.x0, grid.y0 + grid.ny * 100)
    gdf = corr.to_geodataframe()
    assert len(gdf) == grid.inside().sum() and gdf["density"].notna().all()
    # north_up row 0 is the northern row
    assert np.array_equal(corr.north_up()[0], corr.density[-1])


def test_kde_degenerate_inputs():
    grid = SquareGrid.from_extent((0, 0, 1000, 1000), 50)
    one = kde((np.array([525.0]), np.array([525.0])), grid, bandwidth=200)
    assert np.unravel_index(np.argmax(one.density), one.density.shape) == (10, 10)
    assert one.density.sum() * 0.05**2 == pytest.approx(1.0)
    same = kde((np.full(100, 525.0), np.full(100, 525.0)), grid, bandwidth=200)
    np.testing.assert_allclose(same.density, 100 * one.density, rtol=1e-9)
    # quartic support is a 200 m disc: exactly the cells whose centres are closer than 4 cells
    off = np.arange(-4, 5)
    assert (one.density > 0).sum() == (np.hypot(*np.meshgrid(off, off)) < 4).sum()
    with pytest.warns(AnalysisWarning, match="no events"):
        empty = kde((np.array([]), np.array([])), grid, bandwidth=200)
    assert (empty.density == 0).all()
    with pytest.raises(InputError, match="kernel"):
        kde((np.array([1.0]), np.array([1.0])), grid, kernel="epanechnikov")
    with pytest.raises(InputError, match="bandwidth"):
        kde((np.array([1.0]), np.array([1.0])), grid, bandwidth=-5)
