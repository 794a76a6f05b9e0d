"""Gazetteer: readers, combination with priorities, de-duplication, blocking index, save/load."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _geocode_data import build
from geocrime.errors import DataNotFoundError, GazetteerError, MissingColumnsError
from geocrime.gazetteer.sources import FORMAT_VERSION
from geocrime.gazetteer import (
    Gazetteer,
    read_address_csv,
    read_codepoint,
    streets_from_police_uk,
)


@pytest.fixture(scope="module")
def small(shared_data):
    return build(str(shared_data))


def test_levels_and_points(small):
    gaz, fhrs, *_ = small
    t = gaz.table
    counts = t["level"].value_counts()
    for lv in ("premises", "street", "street_point", "postcode_unit", "postcode_sector", "postcode_district", "postcode_area"):
        assert counts.get(lv, 0) > 0, lv
    assert counts["postcode_unit"] == 180_754  # every London Code-Point unit
    assert t["id"].is_unique and (t["id"].to_numpy() == np.arange(len(t))).all()
    # every point is in London, in metres (EPSG:27700)
    assert t["x"].between(500_000, 565_000).all() and t["y"].between(150_000, 205_000).all()
    prem = t[t["level"] == "premises"]
    assert (prem["canonical"].str.len() > 0).all()
    assert (prem["source"] == "fhrs").all()
    # fewer premises than FHRS rows: identical addresses were merged
    assert len(prem) < len(fhrs)
    # no two premises share the canonical de-duplication key
    key = ["k_flat", "k_hn_num", "k_hn_suf", "k_hn_end", "k_bname", "k_street", "k_pc_unit"]
    assert not prem.duplicated(key).any()


def test_sector_district_points_are_unit_medoids(small):
    gaz, *_ = small
    t = gaz.table
    units = t[t["level"] == "postcode_unit"]
    sec = t[(t["level"] == "postcode_sector") & (t["postcode"] == "N1 1")].iloc[0]
    members = units[units["k_pc_sector"] == "N1 1"]
    # the sector point is one of its units, and its radius reaches the farthest unit
    d = np.hypot(members["x"] - sec["x"], members["y"] - sec["y"])
    assert d.min() == 0
    assert sec["radius"] == pytest.approx(d.max(), rel=1e-4)


def test_police_uk_streets_skip_place_categories(shared_data):
    units = read_codepoint(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    files = sorted((shared_data / "policeuk_city_of_london_street").glob("*.csv"))[:3]
    s = streets_from_police_uk(files, units)
    raw = pd.concat([pd.read_csv(f) for f in files])
    assert (raw["Location"] == "On or near Supermarket").any()
    assert not s["street"].str.lower().isin(["supermarket", "parking area", "petrol station"]).any()
    assert (s["level"] == "street_point").all()
    # the postcode is that of the nearest unit: check a few against brute force
    for _, r in s.sample(5, random_state=0).iterrows():
        d = np.hypot(units["x"] - r["x"], units["y"] - r["y"])
        assert units["postcode"].iloc[int(d.argmin())] == r["postcode"]


def test_llpg_csv_with_priority_over_fhrs(small, tmp_path):
    gaz, fhrs, *_ = small
    # an LLPG-shaped extract holding five FHRS premises at moved coordinates
    rows = fhrs[(fhrs["house_number"].str.fullmatch(r"\d+")) & (fhrs["sub_building"] == "") & (fhrs["building_name"] == "")
                & (fhrs["locality"] == "") & (fhrs["postcode"] != "")].drop_duplicates(["house_number", "street"]).head(5)
    llpg = pd.DataFrame({
        "UPRN": np.arange(100001, 100006), "SAO": "", "PAO": rows["house_number"].to_numpy(),
        "STREET": rows["street"].to_numpy(), "LOCALITY": "", "TOWN": rows["town"].to_numpy(),
        "POSTCODE": rows["postcode"].to_numpy(), "EASTING": rows["x"].to_numpy() + 5.0, "NORTHING": rows["y"].to_numpy(),
    })
    p = tmp_path / "llpg.csv"
    llpg.to_csv(p, index=False)
    src = read_address_csv(p)
    assert len(src) == 5 and (src["source_id"] == llpg["UPRN"].astype(str).to_numpy()).all()
    g2 = Gazetteer.from_sources([src, rows.reset_index(drop=True)])  # LLPG first = higher priority
    prem = g2.table[g2.table["level"] == "premises"]
    assert len(prem) == 5
    assert (prem["source"] == "llpg").all()
    with pytest.raises(MissingColumnsError):
        read_address_csv(p, columns={"x": "E", "y": "N"})
    with pytest.raises(DataNotFoundError):
        read_address_csv(tmp_path / "nope.csv")


def test_save_load_round_trip(small, tmp_path):
    gaz, *_ = small
    out = gaz.save(tmp_path / "g")
    g2 = Gazetteer.load(out)
    pd.testing.assert_frame_equal(gaz.table.reset_index(drop=True), g2.table.reset_index(drop=True), check_dtype=False)
    assert np.array_equal(gaz.index.keys, g2.index.keys) and np.array_equal(gaz.index.rows, g2.index.rows)
    with pytest.raises(DataNotFoundError):
        Gazetteer.load(tmp_path / "missing")
    (out / "meta.json").write_text((out / "meta.json").read_text().replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 99'))
    with pytest.raises(GazetteerError):
        Gazetteer.load(out)


def test_blocking_index_never_returns_whole_gazetteer(small):
    gaz, *_ = small
    # no key holds more than max_block entries, so a record meets at most a few hundred candidates
    _, cnt = np.unique(gaz.index.keys, return_counts=True)
    assert cnt.max() <= gaz.index.max_block
    assert np.all(np.diff(gaz.index.keys.astype(np.float64)) >= 0)
