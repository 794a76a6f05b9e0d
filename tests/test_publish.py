"""Attack tests on the publish gate, on real data (Met burglary and City of London police.uk months).

Each test plays an attacker (``geocrime.publish.attack``) against what the gate publishes and checks the
attack fails; the controls switch the protections off and check the same attack then succeeds, so the
tests can fail.

(a) map points: every published point's catchment holds >= k distinct address places, reaches >= 100 m
    from the point, and the point is >= 10 m from every address, premises and incident coordinate.
(b) nothing but the point columns leaves; no published coordinate is an input coordinate.
(c) no suppressed cell can be pinned, confined to 1..threshold-1 or narrowed below the threshold from
    every table and total of the release (LP, with "suppressed >= 1" because zeros are published).
(d) a two-month sequence (month M, then M and M+1 with the first as ``previous``) is audited jointly.
(e) the release is the boundary: nothing it does not list can be written through the public path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

import _publish_data as P
from _maps_testdata import read_police, wards_2022

from geocrime.errors import PublishError
from geocrime.publish import GatedData, Release, gate, snap_incidents
from geocrime.publish.attack import published_cells, table_attack

THRESHOLD = 5


def _gate(incidents: pd.DataFrame, shared_data: Path, **kw) -> GatedData:
    w = wards_2022(shared_data)
    return gate(incidents, P.map_points(shared_data), boundaries={"ward_2022": w[["code", "name", "geometry"]]},
                threshold=THRESHOLD, layers=("ward_2022",), **kw)


@pytest.fixture(scope="module")
def city(shared_data: Path) -> pd.DataFrame:
    df = read_police(sorted((shared_data / "policeuk_city_of_london_street").glob("*-city-of-london-street.csv")))
    return df[df["Month"].isin(sorted(df["Month"].unique())[-3:])].reset_index(drop=True)


@pytest.fixture(scope="module")
def met_one(met_burglary_files: list[Path]) -> pd.DataFrame:
    return read_police(met_burglary_files[:1])


@pytest.fixture(scope="module")
def met_two(met_burglary_files: list[Path]) -> pd.DataFrame:
    return read_police(met_burglary_files[:2])


@pytest.fixture(scope="module")
def gated_city(city: pd.DataFrame, shared_data: Path) -> GatedData:
    # coverage=False: every London ward with the City force's records over its border (the larger system these
    # attacks were written for; with the inferred City-only coverage nearly every City cell is suppressed and no
    # point is published). Attacks on covered cells: tests/test_publish_coverage.py
    return _gate(city, shared_data, coverage=False)


@pytest.fixture(scope="module")
def gated_met(met_one: pd.DataFrame, shared_data: Path) -> GatedData:
    return _gate(met_one, shared_data)


# ---------------------------------------------------------------------------------------------- (a)
@pytest.mark.parametrize("which", ["met", "city"])
def test_a_every_published_point_hides_among_k_distinct_places_wide_and_clear(
        which: str, gated_met: GatedData, gated_city: GatedData, met_one: pd.DataFrame, city: pd.DataFrame,
        shared_data: Path) -> None:
    g, inc = (gated_met, met_one) if which == "met" else (gated_city, city)
    mp = P.map_points(shared_data)
    assert mp.params["k"] == 8 and mp.params["min_radius_m"] == 100 and mp.params["clear_m"] == 10
    pa = P.point_attack(g, mp, shared_data, inc)
    # the City's sparse ward cells are nearly all suppressed, so few of its points are published
    assert len(pa.points) > (1000 if which == "met" else 0)
    s = pa.summary()
    assert s["fewer_than_8_places"] == 0, pa.points.nsmallest(5, "places")
    assert s["catchment_within_100m"] == 0, pa.points.nsmallest(5, "radius_m")
    assert s["within_10m_of_a_real_coordinate"] == 0, pa.points.nsmallest(5, "nearest_real_m")
    # the report states the smallest published catchment the attacker finds
    assert g.report["map_points"]["published_min_catchment"] == pa.points["places"].min()


def test_a_catchments_follow_the_voronoi_rule(shared_data: Path) -> None:
    """The catchments the attack uses are the nearest-seed cells, re-derived here from the raw gazetteer."""
    mp = P.map_points(shared_data)
    addr = P.gazetteer(shared_data)
    ap = mp.address_point
    pts = mp.points
    sx, sy = pts["seed"].x.to_numpy(), pts["seed"].y.to_numpy()
    agree = 0
    n = 0
    for code, grp in pts.groupby("borough"):
        rows = ap[ap.isin(set(grp["map_point_id"]))].index
        a = addr.loc[rows]
        _, j = cKDTree(np.c_[sx[grp.index], sy[grp.index]]).query(np.c_[a.geometry.x, a.geometry.y])
        agree += int((grp["map_point_id"].to_numpy()[j] == ap.loc[rows].to_numpy()).sum())
        n += len(rows)
    assert n > 200_000 and agree / n > 0.999  # ties at exactly equal distance are the only difference


def test_a_control_unprotected_points_are_exposed(shared_data: Path, city: pd.DataFrame) -> None:
    """Control: k over rows, no radius, no clearance (the old map points) -> the point attack finds them."""
    from geocrime.publish import build_map_points
    from geocrime.publish.attack import point_attack

    addr = P.gazetteer(shared_data)
    sample = addr[addr.geometry.x.between(531000, 534000) & addr.geometry.y.between(180500, 182500)]
    weak = build_map_points(sample.assign(rows=1), k=8, id_col="address_id", min_radius_m=0, clear_m=0,
                            dwellings="rows")  # every ROW counted, as the old map points did
    pub = pd.DataFrame({"map_point_id": weak.points["map_point_id"], "x": weak.points.geometry.x,
                        "y": weak.points.geometry.y})
    pa = point_attack(pub, np.c_[sample.geometry.x, sample.geometry.y], weak.address_point.to_numpy(),
                      P.real_coordinates(shared_data, city), k=8)
    s = pa.summary()
    assert s["fewer_than_8_places"] > 0 and s["catchment_within_50m"] > 0 and s["within_1m_of_a_real_coordinate"] > 0
    strong = build_map_points(sample, k=8, id_col="address_id", avoid=P.real_coordinates(shared_data, city))
    pub = pd.DataFrame({"map_point_id": strong.points["map_point_id"], "x": strong.points.geometry.x,
                        "y": strong.points.geometry.y})
    s2 = point_attack(pub, np.c_[sample.geometry.x, sample.geometry.y], strong.address_point.to_numpy(),
                      P.real_coordinates(shared_data, city), k=8).summary()
    assert s2["fewer_than_8_places"] == 0 and s2["catchment_within_100m"] == 0
    assert s2["within_10m_of_a_real_coordinate"] == 0


# ---------------------------------------------------------------------------------------------- (b)
@pytest.mark.parametrize("which", ["met", "city"])
def test_b_only_point_columns_leave(which: str, gated_met: GatedData, gated_city: GatedData,
                                    met_one: pd.DataFrame, city: pd.DataFrame) -> None:
    g, inc = (gated_met, met_one) if which == "met" else (gated_city, city)
    assert list(g.points.columns) == ["map_point_id", "lon", "lat", "month", "crime_type", "count"]
    flat = set(g.points.astype(str).to_numpy().ravel())
    assert not flat & set(inc["Crime ID"].dropna()), "a crime id was published"
    assert not flat & set(inc["Location"].dropna()), "a street text was published"
    assert g.points["month"].str.fullmatch(r"\d{4}-\d{2}").all()


def test_b_every_incident_is_snapped_or_flagged(met_one: pd.DataFrame, shared_data: Path) -> None:
    s = snap_incidents(met_one, P.map_points(shared_data))
    assert len(s) == len(met_one) and s["status"].notna().all()
    assert (s["status"] == "ok").mean() > 0.95


# ---------------------------------------------------------------------------------------------- (c)
@pytest.mark.parametrize("which", ["met", "city"])
def test_c_no_suppressed_cell_is_exposed(which: str, gated_met: GatedData, gated_city: GatedData) -> None:
    g = gated_met if which == "met" else gated_city
    assert not g.params["unsafe_for_release"]
    cells = published_cells(g)
    assert cells["suppressed"].sum() > 0, "nothing suppressed: the attack would test nothing"
    assert (cells.loc[cells["suppressed"], "count"].isna()).all()
    att = table_attack(g)
    assert len(att.cells) == int(cells["suppressed"].sum())
    assert att.exposed.empty, att.exposed.head(10)
    assert (att.cells["hi"] - att.cells["lo"] >= THRESHOLD - 1e-6).all()


def test_c_control_without_complementary_suppression_the_attack_succeeds(city: pd.DataFrame, shared_data: Path) -> None:
    g = _gate(city, shared_data, complementary=False, audit=False)
    assert g.params["unsafe_for_release"]
    s = table_attack(g).summary()
    assert s["exact"] > 0 and s["narrower_than_threshold"] > 0, s


def test_c_control_old_audit_strength_is_not_enough(city: pd.DataFrame, shared_data: Path) -> None:
    """Control: with complementary suppression but no audit, the attacker with "suppressed >= 1" still narrows cells."""
    g = _gate(city, shared_data, audit=False)
    s = table_attack(g).summary()
    assert s["narrower_than_threshold"] > 0, s
    weak = table_attack(g, suppressed_ge1=False).summary()
    assert weak["narrower_than_threshold"] <= s["narrower_than_threshold"]


# ---------------------------------------------------------------------------------------------- (d)
def test_d_two_month_sequence_is_audited_jointly(met_one: pd.DataFrame, met_two: pd.DataFrame,
                                                shared_data: Path) -> None:
    r1 = _gate(met_one, shared_data)
    rel = Release(tables=("ward_2022",), cross_month=True, previous=(r1,))
    r2 = _gate(met_two, shared_data, release=rel)
    first = met_one["Month"].iloc[0]
    assert r2.params["months"] == sorted(met_two["Month"].unique()) and len(r2.params["months"]) == 2
    assert r2.params["cross_month_totals"], "the second release publishes cross-month totals"
    # every figure of month M published in the first release is published again, unchanged
    m = r1.cells.merge(r2.cells, on=["layer", "area_code", "month", "crime_type"], suffixes=("_1", "_2"))
    assert len(m) == len(r1.cells)
    pub1 = ~m["suppressed_1"]
    assert (m.loc[pub1, "count_1"] == m.loc[pub1, "count_2"]).all()
    # the reader holds both releases: the attack on their union finds nothing
    both = pd.concat([published_cells(r1), published_cells(r2)], ignore_index=True)
    both = both.sort_values("suppressed").drop_duplicates(["layer", "area_code", "month", "crime_type"])
    att = table_attack(r2, cells=both)
    assert set(att.cells["month"]) >= {first}
    assert att.exposed.empty, att.exposed.head(10)


def test_d_control_sequence_without_previous_is_exposed(met_one: pd.DataFrame, met_two: pd.DataFrame,
                                                       shared_data: Path) -> None:
    """Control: the same two releases, the second audited WITHOUT the first (no ``previous``): the reader
    of both can difference month M's two suppression patterns and the cross-month totals."""
    r1 = _gate(met_one, shared_data)
    r2 = _gate(met_two, shared_data, release=Release(tables=("ward_2022",), cross_month=True))
    both = pd.concat([published_cells(r1), published_cells(r2)], ignore_index=True)
    both = both.sort_values("suppressed").drop_duplicates(["layer", "area_code", "month", "crime_type"])
    assert table_attack(r2, cells=both).summary()["narrower_than_threshold"] > 0


def test_d_a_changed_month_cannot_be_republished(met_one: pd.DataFrame, met_two: pd.DataFrame,
                                                shared_data: Path) -> None:
    r1 = _gate(met_one, shared_data)
    changed = pd.concat([met_two, met_one.iloc[:40]], ignore_index=True)  # 40 late records for month M
    with pytest.raises(PublishError, match="published before"):
        _gate(changed, shared_data, release=Release(tables=("ward_2022",), previous=(r1,)))


# ---------------------------------------------------------------------------------------------- (e)
def test_e_nothing_outside_the_release_can_be_written(met_one: pd.DataFrame, shared_data: Path, tmp_path: Path) -> None:
    from geocrime.publish import write_tables, write_tiles

    with pytest.raises(PublishError, match="gate"):
        write_tiles(met_one, "unused")
    with pytest.raises(PublishError):
        GatedData(points=met_one.head(1), area_counts={}, area_geometries={}, params={})
    g = _gate(met_one.iloc[:4000], shared_data, release=Release(tables=("ward_2022",), totals=False, points=False))
    assert g.points.empty and g.totals.empty and set(g.area_counts) == {"borough", "ward_2022"}
    with pytest.raises(PublishError, match="does not publish map points"):
        write_tiles(g, tmp_path / "t")
    paths = write_tables(g, tmp_path / "tables")
    assert set(paths) == {"borough", "ward_2022"}
    got = pd.read_csv(paths["ward_2022"])
    assert got["count"].isna().sum() == g.area_counts["ward_2022"]["suppressed"].sum()


def test_c_mixed_sources_default_layers_are_protected(met_burglary_files: list[Path], shared_data: Path) -> None:
    """The demo's case for one month: Met burglary plus City of London (all crime types), default layers
    (borough, ward 2024 from the registry), every table and total published."""
    from geocrime.publish import DEFAULT_LAYERS

    met = read_police(met_burglary_files[:1])
    month = met["Month"].iloc[0]
    city = read_police(sorted((shared_data / "policeuk_city_of_london_street").glob(f"{month}-city-of-london-street.csv")))
    inc = pd.concat([met, city], ignore_index=True)
    g = gate(inc, P.map_points(shared_data), threshold=THRESHOLD)
    assert g.params["layers"] == list(DEFAULT_LAYERS) and not g.params["unsafe_for_release"]
    assert len(g.params["crime_types"]) > 5
    att = table_attack(g)
    assert len(att.cells) > 100
    assert att.exposed.empty, att.exposed.head(10)
    assert "zeros are published" in " ".join(g.report["attacker_knowledge_assumed"])


def test_missing_boundary_layer_is_a_clear_error(met_one: pd.DataFrame, shared_data: Path) -> None:
    from geocrime.errors import GeocrimeError

    with pytest.raises(GeocrimeError, match="no_such_layer"):
        gate(met_one.iloc[:100], P.map_points(shared_data), layers=("no_such_layer",))


def test_incidents_in_a_borough_without_map_points_are_flagged_and_warned(met_one: pd.DataFrame,
                                                                         shared_data: Path) -> None:
    """Map points built from one borough's addresses only: incidents elsewhere are 'no_map_point'
    (not silently 'outside'), and the gate warns that those boroughs' cells read 0."""
    from geocrime.publish import build_map_points
    from geocrime.publish.gate import PublishWarning
    from geocrime.publish.mappoints import load_boroughs

    bor = load_boroughs()
    lew = bor[bor["code"] == "E09000023"]
    addr = P.gazetteer(shared_data)
    addr = addr[addr.within(lew.geometry.iloc[0])]
    mp = build_map_points(addr, k=8, id_col="address_id")
    s = snap_incidents(met_one, mp)
    assert len(s) == len(met_one) and s["status"].notna().all()
    lewisham = met_one["LSOA name"].astype(str).str.startswith("Lewisham").to_numpy()
    assert (s.loc[~lewisham, "status"] == "no_map_point").mean() > 0.95
    assert (s.loc[lewisham, "status"] == "ok").mean() > 0.95
    with pytest.warns(PublishWarning, match="no map point"):
        gate(met_one.iloc[:3000], mp, boundaries={"ward_2022": wards_2022(shared_data)[["code", "name", "geometry"]]},
             threshold=THRESHOLD, layers=("ward_2022",))
