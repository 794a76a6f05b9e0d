"""Gazetteer source readers on real-format files, and the gazetteer levels they feed
(street rows per borough with a radius covering the street, landmarks, localities, boroughs)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geocrime.errors import FileFormatError, GazetteerError, MissingColumnsError
from geocrime.gazetteer import (
    LEVELS,
    Gazetteer,
    localities_from_places,
    read_addressbase_csv,
    read_codepoint,
    read_landmarks,
    read_localities,
    read_open_names,
    read_osm_streets,
    read_streets_ppd,
)

DATA = Path(__file__).parent / "data"
SOUTHWARK, LAMBETH, RICHMOND, WALTHAM_FOREST = "E09000028", "E09000022", "E09000027", "E09000031"


@pytest.fixture(scope="module")
def units(shared_data):
    return read_codepoint(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")


@pytest.fixture(scope="module")
def ppd(shared_data, units):
    return read_streets_ppd(shared_data / "streets_london_ppd" / "london_postcode_streets.csv.gz", units)


@pytest.fixture(scope="module")
def gaz(shared_data, units, ppd):
    lm = read_landmarks(shared_data / "landmarks_london_stations" / "tfl_stations_2022.csv")
    loc = read_localities(shared_data / "localities_london" / "london_localities.csv")
    return Gazetteer.from_sources([units, ppd, lm, loc])


def test_codepoint_units_carry_their_borough(units):
    assert (units["borough"].str.match(r"E09\d{6}")).mean() > 0.999
    assert units.loc[units["postcode"] == "SE15 4ST", "borough"].iloc[0] == SOUTHWARK


def test_streets_ppd_one_point_per_street_and_unit(ppd, shared_data, units):
    raw = pd.read_csv(shared_data / "streets_london_ppd" / "london_postcode_streets.csv.gz")
    assert len(ppd) > 0.95 * len(raw)  # only postcodes missing from Code-Point are lost
    assert (ppd["level"] == "street_point").all() and not ppd.duplicated(["street", "postcode"]).any()
    rye = ppd[(ppd["street"] == "Rye Lane") & ppd["postcode"].str.startswith("SE15")]
    assert len(rye) >= 10 and (rye["borough"] == SOUTHWARK).all()
    # each point is its unit's Code-Point point
    u = units.set_index("postcode")
    assert np.allclose(rye["x"], u.loc[rye["postcode"], "x"]) and np.allclose(rye["y"], u.loc[rye["postcode"], "y"])
    assert (~ppd["street"].str.isupper()).mean() > 0.999  # title case for display ("RYE LANE" -> "Rye Lane")


def test_open_names_named_roads_only():
    on = read_open_names(DATA / "os_open_names_sample.csv")
    assert len(on) == 7 and (on["level"] == "street_point").all()
    assert "Peckham" not in set(on["street"]) and "SE15 4ST" not in set(on["street"])
    rye = on[on["street"] == "Rye Lane"].iloc[0]
    assert rye["borough"] == SOUTHWARK and rye["locality"] == "Peckham" and rye["postcode"] == "SE15"
    # the radius covers the road's bounding box (half its diagonal)
    assert rye["radius"] == pytest.approx(0.5 * np.hypot(534462 - 534134, 176678 - 175875))
    assert set(on.loc[on["street"] == "Church Road", "borough"]) == {RICHMOND, WALTHAM_FOREST}


def test_open_names_with_header_row_and_wrong_layout(tmp_path):
    from geocrime.gazetteer import OPEN_NAMES_COLUMNS

    body = (DATA / "os_open_names_sample.csv").read_text()
    p = tmp_path / "with_header.csv"
    p.write_text(",".join(OPEN_NAMES_COLUMNS) + "\n" + body)
    assert len(read_open_names(p)) == 7
    bad = tmp_path / "bad.csv"
    bad.write_text("NAME1,X,Y\nRye Lane,1,2\n")
    with pytest.raises(FileFormatError, match="OS Open Names"):
        read_open_names(bad)


def test_addressbase_style_csv():
    ab = read_addressbase_csv(DATA / "addressbase_sample.csv")
    assert len(ab) == 4  # the row without coordinates is dropped
    assert ab["source_id"].tolist()[:2] == ["200000000001", "200000000002"]
    assert ab["sub_building"].tolist()[:2] == ["FLAT 1", "FLAT 2"] and ab["house_number"].iloc[0] == "14"
    assert ab["building_name"].iloc[2] == "THE BUSSEY BUILDING" and ab["street"].iloc[2] == "RYE LANE"
    assert ab["postcode"].iloc[3] == "E10 7BQ" and (ab["level"] == "premises").all()


def test_osm_named_ways_become_points_along_the_way():
    osm = read_osm_streets(DATA / "osm_named_ways_sample.geojson", spacing_m=50)
    assert set(osm["street"]) == {"Rye Lane", "Church Road"}  # no unnamed way, river or point
    rye = osm[osm["street"] == "Rye Lane"]
    # 1,065 m long: a point every <= 50 m, both ends
    assert len(rye) >= 1065 / 50 and rye["radius"].eq(25).all()
    xy = rye[["x", "y"]].to_numpy()
    assert np.hypot(*(xy[1:] - xy[:-1]).T).max() <= 50.5
    assert rye["x"].between(534100, 534500).all()  # EPSG:27700 metres


def test_landmarks_tfl_file_and_any_csv(shared_data, tmp_path):
    path = shared_data / "landmarks_london_stations" / "tfl_stations_2022.csv"
    lm = read_landmarks(path)
    n_file = len(pd.read_csv(path))
    # plus alias rows: "Kings Cross", "Bank" ... at the listed station's point
    assert n_file < len(lm) <= n_file + 20 and (lm["level"] == "landmark").all() and (lm["landmark_kind"] == "station").all()
    kx = lm[lm["name"] == "Kings Cross"].iloc[0]
    assert kx["building_name"] == "King's Cross St. Pancras" and (kx["x"], kx["y"]) == (530175, 182875)
    vic = lm[lm["name"] == "Victoria LU"].iloc[0]
    assert (vic["x"], vic["y"]) == (528999, 179130)  # EASTING/NORTHING preferred over lon/lat
    p = tmp_path / "pubs.csv"
    p.write_text("title,lon,lat\nThe Old Bell,-0.0714,51.4730\n")
    pubs = read_landmarks(p, name="title", kind="pub")
    assert pubs["x"].iloc[0] == pytest.approx(534100, abs=300) and pubs["landmark_kind"].iloc[0] == "pub"
    with pytest.raises(MissingColumnsError):
        read_landmarks(p)


def test_localities_from_file_and_from_the_package(shared_data):
    loc = read_localities(shared_data / "localities_london" / "london_localities.csv")
    assert len(loc) >= 580 and (loc["level"] == "locality").all()
    assert set(loc.loc[loc["name"] == "Hayes", "borough"]) == {"E09000006", "E09000017"}
    pk = localities_from_places()
    assert len(pk) >= 580 and pk.loc[pk["name"] == "Peckham", "borough"].iloc[0] == SOUTHWARK


def test_gazetteer_levels_and_street_rows_per_borough(gaz):
    t = gaz.table
    for lv in LEVELS:
        if not lv.startswith("premises"):
            assert (t["level"] == lv).any(), lv
    assert (t["level"] == "borough").sum() == 33
    st = t[t["level"] == "street"]
    # Church Road: many rows, each in one borough, none spanning boroughs
    church = st[st["street"] == "Church Road"]
    assert church["borough"].nunique() >= 20
    # every street point is linked to a street row of the same name and borough
    sp = t[t["level"] == "street_point"]
    assert (sp["street_id"] >= 0).all()
    parent = t.set_index("id").loc[sp["street_id"]]
    assert (parent["k_street"].to_numpy() == sp["k_street"].to_numpy()).all()
    assert (parent["borough"].to_numpy() == sp["borough"].to_numpy()).all()
    # the radius covers every member point of the street
    pts = gaz.street_points(np.flatnonzero((gaz.level == "street")))
    d = np.hypot(pts["x"] - gaz.x[pts["street_row"]], pts["y"] - gaz.y[pts["street_row"]])
    assert (d.to_numpy() <= gaz.radius[pts["street_row"].to_numpy()] + 1e-3).all()
    # Brixton Road (SW9, ~2 km) is not a 50 m point
    bx = st[(st["street"] == "Brixton Road") & (st["borough"] == LAMBETH)]
    assert len(bx) == 1 and bx["radius"].iloc[0] > 800


def test_public_lookups(gaz):
    r = gaz.lookup("landmark", ["victoria", "brixton", "clapham common", "no such station", "kings cross", "bank"])
    assert (r[[0, 1, 2, 4, 5]] >= 0).all() and r[3] == -1
    assert gaz.table["name"].iloc[r[1]].startswith("Brixton")
    qi, rows = gaz.lookup_all("locality", ["hayes", "peckham"])
    assert sorted(gaz.borough[rows[qi == 0]]) == ["E09000006", "E09000017"]
    qi, rows = gaz.lookup_all("street_name", ["church road"])
    assert len(rows) == (gaz.table["k_street"].iloc[gaz.rows_of_level("street")] == "church road").sum()
    lm = gaz.landmarks()
    assert len(lm) == (gaz.table["level"] == "landmark").sum() > 400 and set(lm.columns) >= {"row", "k_landmark", "borough", "x", "y", "radius"}
    assert gaz.lookup("borough", [SOUTHWARK])[0] >= 0
    calls = []
    assert gaz.memo("x", lambda: calls.append(1) or 41) == 41 and gaz.memo("x", lambda: 0) == 41 and calls == [1]


def test_boroughs_by_point_in_polygon(units, shared_data):
    from geocrime.areas import Boundaries

    on = read_open_names(DATA / "os_open_names_sample.csv").assign(borough="")
    b = Boundaries.from_registry(["borough"])
    g = Gazetteer.from_sources([on, units.iloc[:2000]], boundaries=b)
    st = g.table[g.table["level"] == "street_point"]
    assert st.loc[st["street"] == "Rye Lane", "borough"].iloc[0] == SOUTHWARK
    assert set(st.loc[st["street"] == "Church Road", "borough"]) == {RICHMOND, WALTHAM_FOREST}


def test_save_load_round_trips_new_columns(gaz, tmp_path):
    out = gaz.save(tmp_path / "g")
    g2 = Gazetteer.load(out)
    for c in ("borough", "street_id", "k_landmark", "k_area", "landmark_kind"):
        assert (g2.table[c].to_numpy() == gaz.table[c].to_numpy()).all(), c
    assert (g2.lookup("landmark", ["victoria"]) == gaz.lookup("landmark", ["victoria"])).all()
    meta = (out / "meta.json").read_text()
    (out / "meta.json").write_text(meta.replace('"format_version": 2', '"format_version": 1'))
    with pytest.raises(GazetteerError, match="rebuild"):
        Gazetteer.load(out)
