"""Attack tests on the publish gate, on real data (Met burglary and City of London police.uk months).

Each test plays an attacker against what the gate publishes and checks the attack fails; the
controls switch the gate's protections off and check the same attack then succeeds, so the tests
can fail.

(a) k-anonymity of map points: for every published point, the addresses closer to it than to any
    other map point of its borough (re-derived here from the raw gazetteer, not from the gate's own
    bookkeeping) number at least k.
(b) no published coordinate equals an input coordinate (incident or gazetteer address).
(c) no suppressed cell can be recovered from the published cells, totals and point counts: solved
    by linear programming (``_publish_data.attack_lp``).
(d) releasing month M, then months M and M+1, and differencing reveals nothing about M beyond the
    first release, and nothing below the threshold.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

import _publish_data as P
from _maps_testdata import read_police, wards_2022

from geocrime._geo import lonlat_to_bng
from geocrime.errors import PublishError
from geocrime.publish import GatedData, gate, snap_incidents

THRESHOLD = 5


def _gate(incidents: pd.DataFrame, shared_data: Path, **kw) -> GatedData:
    w = wards_2022(shared_data)
    return gate(incidents, P.map_points(shared_data), boundaries={"ward_2022": w[["code", "name", "geometry"]]},
                threshold=THRESHOLD, layers=("ward_2022",), **kw)


def _codes(g: GatedData, shared_data: Path) -> pd.DataFrame:
    """What the attacker is given: every map point and the area codes it counts toward (recovered
    here from the public area geometries, as an attacker would)."""
    from geocrime.publish.gate import _assign_areas

    mp = P.map_points(shared_data)
    w = wards_2022(shared_data)
    codes, _, _ = _assign_areas(mp, g.params["layers"], {"ward_2022": w[["code", "name", "geometry"]]})
    codes.index = mp.points["map_point_id"].to_numpy()
    return codes


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
    return _gate(city, shared_data)


@pytest.fixture(scope="module")
def gated_met(met_one: pd.DataFrame, shared_data: Path) -> GatedData:
    return _gate(met_one, shared_data)


# ---------------------------------------------------------------------------------------------- (a)
def test_a_every_published_point_hides_among_k_addresses(gated_met: GatedData, gated_city: GatedData,
                                                         shared_data: Path) -> None:
    mp = P.map_points(shared_data)
    k = mp.params["k"]
    assert k == 8
    addr = P.gazetteer(shared_data)
    # the attacker's own catchments: every address to its nearest map point of the same borough
    from geocrime.publish.mappoints import load_boroughs

    bor = load_boroughs()
    inside = addr.sjoin(bor[["code", "geometry"]], how="inner", predicate="within")
    inside = inside[~inside.index.duplicated()]
    pts = mp.points
    n_per_point = pd.Series(0, index=pts["map_point_id"].to_numpy())
    for code, a in inside.groupby("code"):
        cand = pts[pts["borough"] == code]
        assert len(cand), f"borough {code} has addresses but no map point"
        tree = cKDTree(np.c_[cand.geometry.x, cand.geometry.y])
        _, j = tree.query(np.c_[a.geometry.x, a.geometry.y])
        n_per_point = n_per_point.add(pd.Series(cand["map_point_id"].to_numpy()[j]).value_counts(), fill_value=0)
    for g in (gated_met, gated_city):
        published = g.points["map_point_id"].unique()
        assert len(published) > 0
        sizes = n_per_point.loc[published]
        assert sizes.min() >= k, sizes.sort_values().head()
        # the gate's own catchment polygons agree: each contains >= k of those addresses
        assert (mp.points.set_index("map_point_id").loc[published, "n_addresses"] >= k).all()
    # the smallest published catchment the report claims is what the attacker finds
    assert gated_met.report["map_points"]["published_min_catchment"] >= k


def test_a_control_k1_points_sit_on_addresses(shared_data: Path) -> None:
    """Control: with k=1 the attack above would narrow points to single addresses."""
    from geocrime.publish import build_map_points

    addr = P.gazetteer(shared_data)
    sample = addr[addr.geometry.x.between(530000, 531500) & addr.geometry.y.between(180000, 181500)]
    mp1 = build_map_points(sample, k=1, id_col="address_id")
    assert (mp1.catchment_sizes < 8).mean() > 0.5


# ---------------------------------------------------------------------------------------------- (b)
def _xy_set(x: np.ndarray, y: np.ndarray, nd: int = 1) -> set[tuple[float, float]]:
    return set(zip(np.round(x, nd), np.round(y, nd)))


@pytest.mark.parametrize("which", ["met", "city"])
def test_b_no_published_coordinate_is_an_input_coordinate(which: str, gated_met: GatedData, gated_city: GatedData,
                                                          met_one: pd.DataFrame, city: pd.DataFrame,
                                                          shared_data: Path) -> None:
    g, inc = (gated_met, met_one) if which == "met" else (gated_city, city)
    assert list(g.points.columns) == ["map_point_id", "lon", "lat", "month", "crime_type", "count"]
    px, py = lonlat_to_bng(g.points["lon"].to_numpy(float), g.points["lat"].to_numpy(float))
    published = _xy_set(px, py)
    ix, iy = lonlat_to_bng(inc["Longitude"].astype(float).to_numpy(), inc["Latitude"].astype(float).to_numpy())
    incidents = _xy_set(ix, iy)
    addr = P.gazetteer(shared_data)
    addresses = _xy_set(addr.geometry.x.to_numpy(), addr.geometry.y.to_numpy())
    assert len(published) > 10
    # to 0.1 m: police.uk positions are themselves snapped, gazetteer rows are premises/postcodes
    assert not (published & incidents)
    # a map point may sit on an address position only when that position holds >= k addresses
    mp = P.map_points(shared_data)
    on_addr = published & addresses
    if on_addr:
        cnt = pd.Series(list(zip(np.round(addr.geometry.x, 1), np.round(addr.geometry.y, 1)))).value_counts()
        assert all(cnt[p] >= mp.params["k"] for p in on_addr)
    # no other field leaves: no text, id, date or coordinate of an incident in any published column
    flat = set(g.points.astype(str).to_numpy().ravel())
    assert not flat & set(inc["Crime ID"].dropna()), "a crime id was published"
    assert not flat & set(inc["Location"].dropna()), "a street text was published"
    assert g.points["month"].str.fullmatch(r"\d{4}-\d{2}").all()


def test_b_control_snapping_moves_every_incident(met_one: pd.DataFrame, shared_data: Path) -> None:
    """Every located incident is snapped (status ok) or has a status; none keeps its own position."""
    s = snap_incidents(met_one, P.map_points(shared_data))
    assert len(s) == len(met_one) and s["status"].notna().all()
    assert (s["status"] == "ok").mean() > 0.95


# ---------------------------------------------------------------------------------------------- (c)
def _pinned_small(att: pd.DataFrame) -> pd.DataFrame:
    """Suppressed cells the attacker pins to a single value, or to a range inside 1..threshold-1."""
    exact = (att["hi"] - att["lo"]) < 0.5
    inside_small = (att["lo"] >= 0.5) & (att["hi"] <= THRESHOLD - 1 + 1e-6)
    return att[exact | inside_small]


@pytest.mark.parametrize("which", ["met", "city"])
def test_c_no_suppressed_cell_can_be_solved(which: str, gated_met: GatedData, gated_city: GatedData,
                                           shared_data: Path) -> None:
    g = gated_met if which == "met" else gated_city
    assert not g.params["unsafe_for_release"]
    supp = sum(int(df["suppressed"].sum()) for df in g.area_counts.values()) + int(g.totals["suppressed"].sum())
    assert supp > 0, "nothing suppressed: the attack would test nothing"
    att = P.attack_lp(g, None, _codes(g, shared_data))
    assert len(att) == supp
    bad = _pinned_small(att)
    assert bad.empty, bad.head(10)


def test_c_control_without_complementary_suppression_the_attack_succeeds(city: pd.DataFrame, shared_data: Path) -> None:
    g = _gate(city, shared_data, complementary=False, audit=False)
    assert g.params["unsafe_for_release"]
    att = P.attack_lp(g, None, _codes(g, shared_data))
    assert len(_pinned_small(att)) > 0, "the LP attacker recovered nothing from an unprotected release"


# ---------------------------------------------------------------------------------------------- (d)
def test_d_differencing_two_releases_reveals_nothing(met_one: pd.DataFrame, met_two: pd.DataFrame,
                                                    shared_data: Path) -> None:
    m1 = _gate(met_one, shared_data)
    m12 = _gate(met_two, shared_data)
    first = met_one["Month"].iloc[0]
    assert m12.params["months"] == sorted(met_two["Month"].unique()) and len(m12.params["months"]) == 2
    # month M in the second release is exactly the first release: differencing gives nothing new
    for layer, df in m1.area_counts.items():
        again = m12.area_counts[layer]
        again = again[again["month"] == first].reset_index(drop=True)
        pd.testing.assert_frame_equal(df.reset_index(drop=True), again)
    pd.testing.assert_frame_equal(m1.points.reset_index(drop=True),
                                  m12.points[m12.points["month"] == first].reset_index(drop=True))
    # no figure spans months, so (M + M+1) - M never isolates a small number
    assert set(m12.totals["month"]) == set(m12.params["months"])
    # and the joint release withstands the LP attacker for both months (unknowns per month)
    att = P.attack_lp(m12, None, _codes(m12, shared_data))
    assert set(att["month"]) == set(m12.params["months"])
    assert _pinned_small(att).empty


def test_public_writers_refuse_raw_data(met_one: pd.DataFrame) -> None:
    from geocrime.publish import write_tiles

    with pytest.raises(PublishError, match="gate"):
        write_tiles(met_one, "unused")
    with pytest.raises(PublishError):
        GatedData(points=met_one.head(1), area_counts={}, area_geometries={}, params={})


def test_c_mixed_sources_default_layers_are_protected(met_burglary_files: list[Path], shared_data: Path) -> None:
    """The demo's case: Met burglary plus City of London (all crime types) in one release, default
    layers (borough, ward 2024). Boroughs next to the City hold a handful of non-burglary incidents,
    so small cells sit in groups whose other members are zero: the audit must still protect them
    (it used to stop with 'cannot be protected', or loop)."""
    from geocrime.publish import DEFAULT_LAYERS

    met = read_police(met_burglary_files[:1])
    month = met["Month"].iloc[0]
    city = read_police(sorted((shared_data / "policeuk_city_of_london_street").glob(f"{month}-city-of-london-street.csv")))
    inc = pd.concat([met, city], ignore_index=True)
    g = gate(inc, P.map_points(shared_data), threshold=THRESHOLD)
    assert g.params["layers"] == list(DEFAULT_LAYERS) and not g.params["unsafe_for_release"]
    assert len(g.params["crime_types"]) > 5
    supp = sum(int(df["suppressed"].sum()) for df in g.area_counts.values()) + int(g.totals["suppressed"].sum())
    assert supp > 0
    from geocrime.publish.gate import _assign_areas

    mp = P.map_points(shared_data)
    codes, _, _ = _assign_areas(mp, g.params["layers"], None)
    codes.index = mp.points["map_point_id"].to_numpy()
    att = P.attack_lp(g, None, codes)
    assert len(att) == supp
    assert _pinned_small(att).empty, _pinned_small(att).head(10)


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
