"""Coverage-aware zeros in the publish gate, on real data.

The release: police.uk City of London (all crime types, 2023-12 and 2024-01) + Met burglary (2024-01
only), default layers (borough, ward 2024) with London and all-crime totals, map points from the test
gazetteer. The Met extract says nothing about anti-social behaviour or robbery, nor about December:
those cells must be absent from every released table (no data), never 0. The control gates the same
incidents with ``coverage=False`` and finds the false zeros, so the tests can fail.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import _publish_data as P
from _maps_testdata import read_police

from geocrime.errors import PublishError
from geocrime.publish import GatedData, gate, write_disclosure_report, write_tables
from geocrime.publish._coverage import covered_rows
from geocrime.publish.attack import area_parents, published_cells, table_attack

THRESHOLD = 5
CITY = "E09000001"
KEY = ["layer", "area_code", "month", "crime_type"]


@pytest.fixture(scope="module")
def incidents(shared_data: Path) -> pd.DataFrame:
    met = read_police([shared_data / "policeuk_met_burglary_street" / "2024-01-metropolitan-street.csv"])
    city = read_police([shared_data / "policeuk_city_of_london_street" / f"{m}-city-of-london-street.csv"
                        for m in ("2023-12", "2024-01")])
    return pd.concat([met, city], ignore_index=True)


def _gate(incidents: pd.DataFrame, shared_data: Path, **kw) -> GatedData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gate(incidents, P.map_points(shared_data), threshold=THRESHOLD, **kw)


@pytest.fixture(scope="module")
def gated(incidents: pd.DataFrame, shared_data: Path) -> GatedData:
    return _gate(incidents, shared_data)


@pytest.fixture(scope="module")
def gated_off(incidents: pd.DataFrame, shared_data: Path) -> GatedData:
    """Control: the same incidents with coverage switched off (the behaviour before coverage)."""
    return _gate(incidents, shared_data, coverage=False)


@pytest.fixture(scope="module")
def ward_borough(gated: GatedData) -> pd.Series:
    return area_parents(gated.area_geometries, "ward_2024", "borough")


def _released(g: GatedData) -> pd.DataFrame:
    return published_cells(g)  # every table and total the release writes


def test_no_false_zero_for_met_wards(gated: GatedData, gated_off: GatedData, ward_borough: pd.Series) -> None:
    wards = gated.area_counts["ward_2024"]
    met_ward = wards["area_code"].map(ward_borough).ne(CITY)
    # a Met ward holds Burglary rows for January only: no ASB, no Robbery, nothing in December
    assert set(wards.loc[met_ward, "crime_type"]) == {"Burglary"}
    assert set(wards.loc[met_ward, "month"]) == {"2024-01"}
    n_met_wards = int(ward_borough.ne(CITY).sum())
    assert met_ward.sum() == n_met_wards > 600  # every Met ward has its (covered) burglary cell
    # City wards: every crime type the City recorded, both months
    city_w = wards[~met_ward]
    assert {"Anti-social behaviour", "Robbery", "Burglary"} <= set(city_w["crime_type"])
    assert set(city_w["month"]) == {"2023-12", "2024-01"}
    # totals: no London ASB or Robbery total, no all-crime cell of a Met ward or borough, London burglary for Jan
    tot = gated.totals
    lon = tot[tot["layer"] == "all"]
    assert set(lon["crime_type"]) == {"Burglary"} and set(lon["month"]) == {"2024-01"}
    star = tot[tot["crime_type"] == "*"]
    star_b = np.where(star["layer"] == "borough", star["area_code"], star["area_code"].map(ward_borough))
    assert len(star) > 0 and set(star_b) == {CITY}
    # control: without coverage the same release says ASB = 0 and Robbery = 0 in Met wards
    off = gated_off.area_counts["ward_2024"]
    off_met = off[off["area_code"].map(ward_borough).ne(CITY)]
    false_zero = off_met[off_met["crime_type"].isin(["Anti-social behaviour", "Robbery"]) & (off_met["count"] == 0)]
    assert len(false_zero) > 1000


def test_released_tables_hold_only_covered_cells(gated: GatedData, tmp_path: Path) -> None:
    cov = gated.coverage
    assert list(cov.columns) == KEY + ["covered"] and cov["covered"].any() and not cov["covered"].all()
    rel = _released(gated)
    covered = cov[cov["covered"]]
    # the released cells are exactly the covered cells: none outside, none missing
    assert len(rel) == len(covered)
    assert pd.MultiIndex.from_frame(rel[KEY]).equals(pd.MultiIndex.from_frame(rel[KEY]).unique())
    assert pd.MultiIndex.from_frame(rel[KEY]).isin(pd.MultiIndex.from_frame(covered[KEY])).all()
    assert pd.MultiIndex.from_frame(gated.cells[KEY]).isin(pd.MultiIndex.from_frame(covered[KEY])).all()
    # the CSV tables hold no row outside the coverage, and a count or the suppressed flag in every row
    paths = write_tables(gated, tmp_path / "tables")
    ward_csv = pd.read_csv(paths["ward_2024"], dtype={"count": "Int64"})
    ward_cells = covered[(covered["layer"] == "ward_2024") & (covered["crime_type"] != "*")]  # "*" is in totals.csv
    assert len(ward_csv) == len(ward_cells) < (cov["layer"] == "ward_2024").sum() / 5
    assert (ward_csv["count"].notna() | ward_csv["suppressed"]).all()


def test_a_covered_cell_without_incidents_is_a_true_zero(gated: GatedData, gated_off: GatedData,
                                                         ward_borough: pd.Series) -> None:
    wards = gated.area_counts["ward_2024"]
    zero = wards[(wards["count"] == 0)]
    assert not zero["suppressed"].any()  # zeros are published, never suppressed
    met_zero = zero[zero["area_code"].map(ward_borough).ne(CITY)]
    city_zero = zero[zero["area_code"].map(ward_borough).eq(CITY)]
    assert len(met_zero) >= 3 and set(met_zero["crime_type"]) == {"Burglary"}  # wards with no burglary in January
    assert len(city_zero) > 10 and city_zero["crime_type"].nunique() > 3
    # coverage changes which cells are released, never a covered cell's count
    both = wards.merge(gated_off.area_counts["ward_2024"], on=["area_code", "month", "crime_type"],
                       suffixes=("", "_off"))
    assert len(both) == len(wards)
    pub = ~both["suppressed"] & ~both["suppressed_off"]
    assert pub.sum() > 500
    assert (both.loc[pub, "count"] == both.loc[pub, "count_off"]).all()


def test_attack_and_audit_hold_on_the_covered_cells(gated: GatedData, incidents: pd.DataFrame,
                                                    shared_data: Path, ward_borough: pd.Series) -> None:
    att = table_attack(gated)
    s = att.summary()
    assert s["suppressed"] > 100 and s["exposed_any"] == 0, att.exposed.head(10)
    assert not gated.params["unsafe_for_release"]
    # the attacker's targets are released (covered) cells only
    tw = att.cells[att.cells["layer"] == "ward_2024"]
    assert set(tw.loc[tw["area_code"].map(ward_borough).ne(CITY), "crime_type"]) <= {"Burglary", "*"}
    # points: none publishes an incident outside the coverage (a Met-borough point is January burglary)
    mpb = P.map_points(shared_data).points.set_index("map_point_id")["borough"]
    pts = gated.points
    met_pts = pts[pts["map_point_id"].map(mpb).ne(CITY)]
    assert len(met_pts) > 1000
    assert set(met_pts["crime_type"]) == {"Burglary"} and set(met_pts["month"]) == {"2024-01"}
    pa = P.point_attack(gated, P.map_points(shared_data), shared_data, incidents).summary()
    assert pa["fewer_than_8_places"] == 0 and pa["within_10m_of_a_real_coordinate"] == 0, pa


def test_rows_in_equal_rows_out(gated: GatedData, gated_off: GatedData, incidents: pd.DataFrame) -> None:
    inc = gated.report["incidents"]
    assert inc["rows_in"] == len(incidents) == sum(inc["by_status"].values())
    out = inc["by_status"].get("outside_coverage", 0)
    assert out == inc["outside_coverage"] == gated.params["coverage"]["incidents_outside"] > 0
    # the incidents outside the coverage are exactly the located ones the control counted and this release did not
    off = gated_off.report["incidents"]["by_status"]
    assert inc["by_status"]["ok"] + out == off["ok"]
    assert {k: v for k, v in inc["by_status"].items() if k not in ("ok", "outside_coverage")} == \
        {k: v for k, v in off.items() if k != "ok"}


def test_disclosure_report_states_the_coverage(gated: GatedData, tmp_path: Path) -> None:
    rep = gated.report
    cov = rep["coverage"]
    assert cov["rule"].startswith("inferred per source")
    src = {c["source"]: c for c in cov["sources"]}
    assert src["Metropolitan Police Service"]["crime_types"] == ["Burglary"]
    assert src["Metropolitan Police Service"]["months"].startswith("2024-01..2024-01")
    assert src["City of London Police"]["areas"] == [CITY]
    assert "Anti-social behaviour" in src["City of London Police"]["crime_types"]
    assert rep["suppression"]["by_layer"]["ward_2024"]["outside_coverage"] > 5000
    assert "absent" in cov["released_as"]
    assert any("no data" in t for t in rep["attacker_can_infer"])
    _, md = write_disclosure_report(rep, tmp_path / "disclosure")
    text = md.read_text()
    assert "## Coverage" in text and "source Metropolitan Police Service" in text and "outside coverage" in text


def test_public_page_draws_the_gate_coverage_as_no_data(gated: GatedData, ward_borough: pd.Series,
                                                        tmp_path: Path) -> None:
    import json

    from geocrime.publish import write_public_page

    write_public_page(gated, tmp_path / "site", tiles=False, basemap=None)
    d = json.loads((tmp_path / "site" / "page-data.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    codes = [f["properties"]["code"] for f in d["areas"]["features"]]
    is_city = np.array([ward_borough.get(c) == CITY for c in codes])
    asb = np.array(d["values"]["2024-01|Anti-social behaviour"], dtype=object)
    assert all(v is None for v in asb[~is_city])  # no data, never 0
    assert all(v is not None for v in asb[is_city])
    burg = np.array(d["values"]["2024-01|Burglary"], dtype=object)
    assert sum(v is not None for v in burg) == len(codes)
    assert d["any_no_data"]


def test_given_coverage_forms_release_the_same_cells(gated: GatedData, incidents: pd.DataFrame,
                                                     shared_data: Path) -> None:
    from geocrime.analysis.aggregate import Coverage

    # the gate's own record, passed back as a table, and the same coverage as Coverage objects
    again = _gate(incidents, shared_data, coverage=gated.coverage)
    assert again.params["coverage"]["rule"].startswith("given")
    met_b = [c for c in gated.params["coverage"]["sources"] if c["source"].startswith("Metropolitan")][0]
    assert met_b["areas"] == "32 values"
    boroughs = set(gated.area_geometries["borough"]["area_code"]) - {CITY}
    objs = [Coverage("City of London Police", areas={CITY}),
            Coverage("Metropolitan Police Service", areas=boroughs, months={"2024-01"}, crime_types={"Burglary"})]
    by_obj = _gate(incidents, shared_data, coverage=objs)
    ref = pd.MultiIndex.from_frame(_released(gated)[KEY]).sort_values()
    for g in (again, by_obj):
        assert pd.MultiIndex.from_frame(_released(g)[KEY]).sort_values().equals(ref)
    with pytest.raises(PublishError, match="coverage must be"):
        gate(incidents.iloc[:10], P.map_points(shared_data), coverage="Burglary")


def test_areas_without_map_points_are_no_data_and_no_total_spans_them(incidents: pd.DataFrame,
                                                                        shared_data: Path) -> None:
    """Map points in Lewisham and the City only: the Met's incidents elsewhere cannot be placed, so the other
    boroughs' cells (which hold no atom) are no data, and the London totals, which would sum them, are left out."""
    from geocrime.publish import build_map_points
    from geocrime.publish.mappoints import load_boroughs

    lewisham = "E09000023"
    bor = load_boroughs()
    addr = P.gazetteer(shared_data)
    addr = addr[addr.within(bor[bor["code"].isin([lewisham, CITY])].geometry.union_all())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = gate(incidents, build_map_points(addr, k=8, id_col="address_id"), threshold=THRESHOLD)
    assert g.report["incidents"]["by_status"]["no_map_point"] > 3000
    assert set(g.area_counts["borough"]["area_code"]) == {lewisham, CITY}
    assert not (g.totals["layer"] == "all").any()  # London = 33 boroughs, 31 of them without data
    parents = area_parents(g.area_geometries, "ward_2024", "borough")
    assert set(g.area_counts["ward_2024"]["area_code"].map(parents)) == {lewisham, CITY}
    assert table_attack(g).summary()["exposed_any"] == 0


def test_covered_rows_rule() -> None:
    """The one covered-cell test: a Coverage may name codes of any layer (a borough covers its wards)."""
    from geocrime.analysis.aggregate import Coverage

    keys = pd.DataFrame({"borough": ["B1", "B1", "B2", "B2"], "ward": ["W1", "W1", "W3", "W4"],
                         "month": ["2024-01", "2024-02", "2024-01", "2024-01"],
                         "crime_type": ["Burglary", "Burglary", "Robbery", "Burglary"]})
    cov = [Coverage("a", areas={"B1"}, months={"2024-01"}), Coverage("b", areas={"W4"}, crime_types={"Burglary"})]
    assert covered_rows(keys, cov, ["borough", "ward"]).tolist() == [True, False, False, True]
    assert covered_rows(keys, None, ["borough", "ward"]).all()
    table = pd.DataFrame({"ward": ["W1", "W3"], "month": ["2024-01", "2024-01"], "covered": [True, True]})
    assert covered_rows(keys, table, ["borough", "ward"]).tolist() == [True, False, True, False]
    with pytest.raises(PublishError, match="do not match"):
        covered_rows(keys, table.assign(ward="X"), ["borough", "ward"])
