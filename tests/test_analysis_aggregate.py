"""aggregate(), harm tables and grids on the real police.uk Met burglary and City of London data."""
from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from _analysis_data import boundaries, read_police_uk_csvs, wards_2024, with_areas
from geocrime.analysis import (
    MISSING_TYPE,
    AnalysisWarning,
    HarmTable,
    HexGrid,
    SquareGrid,
    aggregate,
    assign_cells,
    hex_grid,
    period_change,
    square_grid,
)
from geocrime.analysis.aggregate import Coverage, area_totals
from geocrime.errors import AnalysisError, InputError, MissingColumnsError


@pytest.fixture(scope="module")
def met(met_burglary_files, shared_data) -> gpd.GeoDataFrame:
    return with_areas(read_police_uk_csvs(met_burglary_files), shared_data)


@pytest.fixture(scope="module")
def wards(shared_data) -> gpd.GeoDataFrame:
    return wards_2024(shared_data)


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        return fn(*a, **k)


def test_ward_month_counts_match_pandas_groupby(met, wards):
    agg = _quiet(aggregate, met, by=["ward_2024", "month"], areas=wards)
    plain = met.dropna(subset=["ward_2024"]).groupby(["ward_2024", "Month"]).size()
    got = agg.set_index(["ward_2024", "month"])["count"]
    nonzero = got[got > 0]
    # identical on every ward-month that has incidents...
    assert len(nonzero) == len(plain)
    pd.testing.assert_series_equal(
        nonzero.sort_index(), plain.rename("count").rename_axis(["ward_2024", "month"]).sort_index(),
        check_dtype=False, check_index_type=False,
    )
    # ...and every other ward-month of the universe is present with 0
    assert len(agg) == len(wards) * 6
    assert set(agg["month"]) == {f"2024-0{m}" for m in range(1, 7)}
    assert (got.drop(plain.index, errors="ignore") == 0).all()
    assert agg["count"].sum() == met["ward_2024"].notna().sum()
    assert agg.attrs["n_no_area"] == met["ward_2024"].isna().sum() > 0
    assert agg.attrs["n_input"] == len(met)


def test_area_universe_from_boundaries_object(met, shared_data):
    bounds = boundaries(shared_data)
    agg = _quiet(aggregate, met, by=["ward_2024", "month"], areas=bounds)
    assert len(agg) == len(bounds.layer("ward_2024")) * 6
    with pytest.raises(InputError, match="no layer 'ward_2030'"):
        _quiet(aggregate, met.assign(ward_2030=met["ward_2024"]), by=["ward_2030"], areas=bounds)


def test_rows_not_counted_are_reported_with_a_warning(met, wards):
    with pytest.warns(AnalysisWarning, match="not counted"):
        agg = aggregate(met, by=["ward_2024", "month"], areas=wards)
    assert agg.attrs["n_counted"] + agg.attrs["n_no_area"] == len(met)


def test_rates_per_1000_with_population_table(met, wards, shared_data):
    # denominator: LSOAs per ward from the ONS lookup x 1,500 residents (an LSOA's design size)
    lk = pd.read_csv(shared_data / "lookups_london" / "LSOA21_to_WD24_LAD24_london.csv", dtype="string")
    pop = lk.groupby("WD24CD").size() * 1500.0
    pop = pop.drop(pop.index[:3])  # three wards without population -> NaN rate + warning
    with pytest.warns(AnalysisWarning, match="no \\(or zero\\) population"):
        agg = aggregate(met, by=["ward_2024"], areas=wards, population=pop)
    row = agg.set_index("ward_2024")
    known = row["population"].notna()
    np.testing.assert_allclose(row.loc[known, "rate_per_1000"], row.loc[known, "count"] / row.loc[known, "population"] * 1000)
    assert row.loc[~known, "rate_per_1000"].isna().all() and (~known).sum() >= 1


def test_default_harm_table_covers_all_police_uk_categories(city_files):
    city = read_police_uk_csvs(city_files)
    table = HarmTable.default()
    assert table.version == "policeuk-css-approx-v1" and "ONS" in table.source
    assert set(city["Crime type"].dropna().unique()) <= set(table.weights)
    agg = _quiet(aggregate, city, by=["month", "crime_type"], harm=True)
    expected = city["Crime type"].map(table.weights).groupby(city["Crime type"]).sum()
    got = agg.groupby("crime_type")["harm"].sum()
    np.testing.assert_allclose(got.reindex(expected.index), expected)
    assert agg.attrs["harm_version"] == "policeuk-css-approx-v1"
    # months x types complete; change columns consistent
    assert len(agg) == 38 * city["Crime type"].nunique()
    burg = agg[agg["crime_type"] == "Burglary"]
    np.testing.assert_array_equal(burg["count_change"].iloc[1:].to_numpy(dtype=float), np.diff(burg["count"]))


def test_harm_table_keyed_by_offence_code(tmp_path: Path):
    p = tmp_path / "css.csv"
    p.write_text("offence_code,weight\n028A,438.1\n030A,21.5\n105A,16.0\n")
    table = HarmTable.from_csv(p, key="offence_code", version="test-1")
    inc = pd.DataFrame({"area": ["a", "a", "b", "b"], "month": ["2024-01"] * 4,
                        "offence_code": ["028A", "030A", "105A", "028a "]})
    agg = aggregate(inc, by=["area", "month"], areas=["a", "b", "c"], harm=table)
    assert agg.set_index("area")["harm"].to_dict() == pytest.approx({"a": 459.6, "b": 454.1, "c": 0.0})
    inc.loc[3, "offence_code"] = "999Z"
    with pytest.raises(AnalysisError, match="999Z"):
        aggregate(inc, by=["area", "month"], areas=["a", "b", "c"], harm=table)
    agg = aggregate(inc, by=["area", "month"], areas=["a", "b", "c"], harm=table, harm_missing="zero")
    assert agg.set_index("area").loc["b", "harm"] == pytest.approx(16.0)
    with pytest.raises(InputError, match="duplicate"):
        HarmTable.from_frame(pd.DataFrame({"offence_code": ["1", "1"], "weight": [1, 2]}), key="offence_code")


def test_period_change_between_quarters(met, wards):
    agg = _quiet(aggregate, met, by=["ward_2024", "month"], areas=wards)
    ch = period_change(agg, ["2024-01", "2024-02", "2024-03"], ["2024-04", "2024-05", "2024-06"])
    assert len(ch) == len(wards)
    q1 = met[met["Month"] <= "2024-03"].groupby("ward_2024").size()
    got = ch.set_index("ward_2024")["before"]
    pd.testing.assert_series_equal(got[got > 0].sort_index(), q1.sort_index(), check_names=False, check_dtype=False,
                                   check_index_type=False)
    assert (ch["change"] == ch["after"] - ch["before"]).all()
    with pytest.raises(AnalysisError, match="2023-12"):
        period_change(agg, "2023-12", "2024-01")


def test_bad_input_defined_results():
    areas = ["E1", "E2", "E3"]
    empty = pd.DataFrame({"ward": pd.Series([], dtype="string"), "month": pd.Series([], dtype="string"),
                          "crime_type": pd.Series([], dtype="string")})
    # empty period(s): every area x month is present with 0
    agg = aggregate(empty, by=["ward", "month"], areas=areas, periods=["2024-01", "2024-02"])
    assert len(agg) == 6 and (agg["count"] == 0).all()
    # a single event
    one = pd.DataFrame({"ward": ["E2"], "month": ["2024-02"], "crime_type": ["Burglary"]})
    agg = aggregate(one, by=["ward", "month"], areas=areas, periods=["2024-01", "2024-02"])
    assert agg["count"].tolist() == [0, 0, 0, 1, 0, 0]
    # gaps in months are filled
    two = pd.DataFrame({"ward": ["E1", "E1"], "month": ["2024-01", "2024-04"], "crime_type": ["Burglary"] * 2})
    assert aggregate(two, by=["month"])["month"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    # missing crime types are counted under their own label, not dropped
    mixed = pd.DataFrame({"ward": ["E1", "E1", "E2"], "month": ["2024-01"] * 3, "crime_type": ["Robbery", None, " "]})
    agg = aggregate(mixed, by=["ward", "crime_type"], areas=areas)
    assert agg.set_index(["ward", "crime_type"]).loc[("E1", MISSING_TYPE), "count"] == 1
    assert agg["count"].sum() == 3
    # a missing crime type column is a clear error
    with pytest.raises(MissingColumnsError, match="crime_type"):
        aggregate(mixed.drop(columns="crime_type"), by=["ward", "crime_type"], areas=areas)
    # unknown area codes: error by default, drop/keep on request
    bad = pd.DataFrame({"ward": ["E1", "X9"], "month": ["2024-01"] * 2, "crime_type": ["Robbery"] * 2})
    with pytest.raises(AnalysisError, match="X9"):
        aggregate(bad, by=["ward"], areas=areas)
    with pytest.warns(AnalysisWarning):
        dropped = aggregate(bad, by=["ward"], areas=areas, unknown_areas="drop")
    assert dropped["count"].sum() == 1 and dropped.attrs["n_unknown_area"] == 1
    kept = aggregate(bad, by=["ward"], areas=areas, unknown_areas="keep")
    assert kept.set_index("ward").loc["X9", "count"] == 1 and len(kept) == 4
    # month outside a given universe
    with pytest.raises(AnalysisError, match="2024-01"):
        aggregate(bad, by=["month"], periods=["2024-02"])


def test_square_grid_assignment_equals_spatial_join(met, wards):
    gdf = square_grid(wards, 500, origin=(0, 0))
    assert ((gdf.geometry.bounds["minx"] % 500) == 0).all()
    pts = met[met.geometry.notna()]
    ids = assign_cells(pts, gdf)
    j = gpd.sjoin(pts[["geometry"]], gdf[["cell_id", "geometry"]], how="left", predicate="within")
    j = j[~j.index.duplicated()]
    agree = ids.to_numpy() == j["cell_id"].reindex(pts.index).to_numpy()
    # only points exactly on a cell edge may differ (sjoin 'within' excludes boundaries)
    assert agree.mean() > 0.999
    # -1 exactly for the points beyond the grid (a few Met points lie outside London)
    xmin, ymin, xmax, ymax = gdf.total_bounds
    off = ~((pts.geometry.x >= xmin) & (pts.geometry.x < xmax) & (pts.geometry.y >= ymin) & (pts.geometry.y < ymax))
    assert ((ids < 0) == off).all() and off.sum() > 0


def test_hex_grid_assignment_equals_spatial_join(met, wards):
    gdf = hex_grid(wards, 300, origin=(530000, 180000))
    g = HexGrid.from_extent(wards, 300, origin=(530000, 180000))
    cx, cy = g.centres()
    assert np.hypot(cx - 530000, cy - 180000).min() < 1e-6  # the origin is a hexagon centre
    areas = shapely.area(gdf.geometry.values)
    np.testing.assert_allclose(areas, 1.5 * np.sqrt(3) * 300**2)
    pts = met[met.geometry.notna()]
    ids = assign_cells(pts, gdf)
    j = gpd.sjoin(pts[["geometry"]], gdf[["cell_id", "geometry"]], how="left", predicate="intersects")
    j = j[~j.index.duplicated()]
    on = ids.to_numpy() >= 0
    assert (ids.to_numpy() == j["cell_id"].reindex(pts.index).to_numpy())[on].mean() > 0.999
    assert on.mean() > 0.99


def test_aggregate_on_grid_cells_and_all_events_in_one_cell(met, wards):
    grid = SquareGrid.from_extent(wards, 1000)
    agg = _quiet(aggregate, met, by=["cell_id", "month"], areas=grid, unknown_areas="drop")
    assert len(agg) == grid.inside().sum() * 6
    inside_ids = set(np.flatnonzero(grid.inside()))
    cells = grid.cell_of(*[np.asarray(v) for v in (met.geometry.x, met.geometry.y)])
    expected = np.isin(cells, list(inside_ids)).sum()
    assert agg["count"].sum() == expected
    # every event in one cell
    x0, y0 = grid.centres()[0][np.flatnonzero(grid.inside())[0]], grid.centres()[1][np.flatnonzero(grid.inside())[0]]
    one = gpd.GeoDataFrame({"month": ["2024-01"] * 50}, geometry=gpd.points_from_xy(np.full(50, x0), np.full(50, y0)),
                           crs=27700)
    agg = aggregate(one, by=["cell_id"], areas=grid)
    assert (agg["count"] > 0).sum() == 1 and agg["count"].max() == 50


def test_grid_rejects_bad_sizes(wards):
    with pytest.raises(InputError):
        square_grid(wards, 0)
    with pytest.raises(InputError):
        hex_grid((0, 0, -1, 5), 100)


# ------------------------------------------------------------------------------------ coverage
@pytest.fixture(scope="module")
def city_met(met_burglary_files, city_files, shared_data):
    """City of London all crime types (2022-04..2025-05) + Met burglary (2024-01..06), ward_2024."""
    city = with_areas(read_police_uk_csvs(city_files), shared_data)
    met_ = with_areas(read_police_uk_csvs(met_burglary_files), shared_data)
    return pd.concat([met_, city], ignore_index=True), boundaries(shared_data)


def test_two_extracts_zero_fill_only_inside_each_sources_coverage(city_met):
    both, bounds = city_met
    agg = _quiet(aggregate, both, by=["ward_2024", "month", "crime_type"], areas=bounds, unknown_areas="drop")
    wards = bounds.layer("ward_2024")
    bor = bounds.layer("borough")
    city_wards = set(gpd.sjoin(wards.assign(geometry=wards.representative_point()),
                               bor[bor["code"] == "E09000001"], predicate="within")["code_left"])
    assert len(city_wards) == 25
    x = agg.set_index(["ward_2024", "month", "crime_type"])
    met_ward = "E05013807"  # a Camden ward: Met burglary only
    assert met_ward not in city_wards
    # Met wards: burglary covered in the Met months, everything else no data (never 0)
    camden = x.loc[met_ward]
    assert camden.loc[("2024-03", "Burglary"), "covered"] and camden.loc[("2024-03", "Burglary"), "count"] >= 0
    asb = camden.loc[("2024-03", "Anti-social behaviour")]
    assert not asb["covered"] and pd.isna(asb["count"])
    assert pd.isna(camden.loc[("2023-03", "Burglary"), "count"])  # before the Met extract starts
    # City wards: every type in every City month is covered, with true zeros where nothing was recorded
    cw = agg[agg["ward_2024"].isin(city_wards)]
    assert cw["covered"].all() and cw["count"].notna().all()
    assert (cw["count"] == 0).sum() > 1000
    asb_city = cw[(cw["month"] == "2024-03") & (cw["crime_type"] == "Anti-social behaviour")]
    raw = both[(both["Reported by"] == "City of London Police") & both["ward_2024"].isin(city_wards)
               & (both["Month"] == "2024-03") & (both["Crime type"] == "Anti-social behaviour")]
    assert asb_city["count"].sum() == len(raw) > 0
    # no covered Met ward reads a type the Met extract does not record
    met_rows = agg[~agg["ward_2024"].isin(city_wards)]
    assert met_rows.loc[met_rows["covered"], "crime_type"].unique().tolist() == ["Burglary"]
    assert set(met_rows.loc[met_rows["covered"], "month"]) == {f"2024-0{i}" for i in range(1, 7)}
    # every incident is counted or reported: the City's records over its border are "outside coverage"
    a = agg.attrs
    assert int(agg["count"].sum()) + a["n_no_area"] + a["n_unknown_area"] + a["n_outside_coverage"] == len(both)
    assert 0 < a["n_outside_coverage"] < 0.05 * len(both)
    assert {c["source"] for c in a["coverage"]} == {"City of London Police", "Metropolitan Police Service"}
    # rows no source covers carry NaN change columns, the covered ones are consistent
    assert agg.loc[~agg["covered"], "pct_change"].isna().all()
    # per-area totals: no data stays no data
    tot = area_totals(agg, "ward_2024", where={"crime_type": "Anti-social behaviour"})
    assert tot.notna().sum() == 25 and pd.isna(tot[met_ward])
    burg = area_totals(agg, "ward_2024", where={"crime_type": "Burglary", "month": [f"2024-0{i}" for i in range(1, 7)]})
    assert burg.notna().all() and len(burg) == len(wards)


def test_single_city_extract_marks_the_rest_of_london_no_data(city_met):
    both, bounds = city_met
    city = both[both["Reported by"] == "City of London Police"]
    agg = _quiet(aggregate, city, by=["ward_2024"], areas=bounds, unknown_areas="drop")
    assert agg["covered"].sum() == 25 and agg["count"].isna().sum() == len(agg) - 25
    # the old behaviour on request: every ward covered, zeros everywhere
    old = _quiet(aggregate, city, by=["ward_2024"], areas=bounds, unknown_areas="drop", coverage=False)
    assert old["covered"].all() and old["count"].dtype == np.int64 and (old["count"] == 0).sum() > 500


def test_explicit_coverage_and_units(city_met):
    both, bounds = city_met
    met_ = both[both["Reported by"] == "Metropolitan Police Service"]
    wards = bounds.layer("ward_2024")
    # declared: the Met extract covers every ward, burglary, 2024-01..2024-12
    cov = Coverage("Met", areas=wards["code"], months=[f"2024-{m:02d}" for m in range(1, 13)],
                   crime_types=["Burglary"])
    agg = _quiet(aggregate, met_, by=["ward_2024", "month"], areas=bounds, periods=[f"2024-{m:02d}" for m in range(1, 13)],
                 coverage=[cov])
    assert agg["covered"].all() and agg["count"].notna().all() and agg.attrs["n_outside_coverage"] == 0
    # inferred with the default rule: months after the extract ends are no data, not 0
    inf = _quiet(aggregate, met_, by=["ward_2024", "month"], areas=bounds,
                 periods=[f"2024-{m:02d}" for m in range(1, 13)])
    late = inf[inf["month"] > "2024-06"]
    assert late["count"].isna().all() and not late["covered"].any()
    # a plain GeoDataFrame universe with a unit column: coverage_units names it
    w = wards.assign(borough=_nest_borough(wards, bounds))
    by_col = _quiet(aggregate, met_, by=["ward_2024"], areas=w, coverage_units="borough")
    assert by_col["covered"].sum() == len(wards) - 25
    no_units = _quiet(aggregate, met_, by=["ward_2024"], areas=w)  # no units: everything covered
    assert no_units["covered"].all()
    with pytest.raises(InputError, match="coverage_units"):
        aggregate(met_, by=["ward_2024"], areas=w, coverage_units="nope")
    with pytest.raises(InputError, match="one string"):
        Coverage("x", areas="E05000001")


def _nest_borough(wards, bounds):
    bor = bounds.layer("borough")
    j = gpd.sjoin(wards.assign(geometry=wards.representative_point()), bor[["code", "geometry"]], predicate="within")
    return j["code_right"].reindex(wards.index).to_numpy()
