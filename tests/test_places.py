"""The place lexicon (geocrime.address.places) and the parser's place, junction and landmark columns."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geocrime.address as A
from geocrime.address.places import PLACE_FIELDS, PlaceLexicon, landmark_key, place_key

LEX = PlaceLexicon.default()
CAMDEN, HACKNEY, CITY, BARKING_DAG, HF = "E09000007", "E09000012", "E09000001", "E09000002", "E09000013"
KINGSTON, RICHMOND, TOWER_HAMLETS, WALTHAM_FOREST = "E09000021", "E09000027", "E09000030", "E09000031"
BROMLEY, HILLINGDON, SOUTHWARK, LAMBETH = "E09000006", "E09000017", "E09000028", "E09000022"


def boroughs(text: str) -> set[str]:
    b = LEX.find(pd.Series([text]))["place_boroughs"].iloc[0]
    return set(b.split("|")) - {""}


def test_the_33_boroughs_are_in_the_default_lexicon():
    t = LEX.table
    codes = set(t.loc[t["kind"] == "borough", "boroughs"].str.split("|").explode())
    assert codes == {f"E090000{i:02d}" for i in range(1, 34)}


@pytest.mark.parametrize("text,expected", [
    ("Barking and Dagenham", {BARKING_DAG}), ("B&D", {BARKING_DAG}), ("LBBD", {BARKING_DAG}),
    ("Kingston", {KINGSTON}), ("Richmond", {RICHMOND}),
    ("City and Hackney", {HACKNEY, CITY}), ("City & Hackney", {HACKNEY, CITY}), ("Tower Hamlets", {TOWER_HAMLETS}),
    ("Hammersmith & Fulham", {HF}), ("H&F", {HF}), ("LB Camden", {CAMDEN}), ("London Borough of Camden", {CAMDEN}),
    ("WALTHAM FOREST", {WALTHAM_FOREST}),
])
def test_borough_forms(text, expected):
    got = LEX.find(pd.Series([text])).iloc[0]
    assert got["place_kind"] == "borough"
    assert boroughs(text) == expected


def test_post_town_of_a_borough_name_keeps_its_other_borough():
    # the KINGSTON UPON THAMES post town also covers Hampton Wick (Richmond upon Thames)
    assert boroughs("Kingston-upon-Thames") == {KINGSTON, RICHMOND}


@pytest.mark.parametrize("word", ["Middlesex", "Kent", "Essex", "Surrey", "Greater London"])
def test_county_words_mean_no_borough(word):
    r = LEX.find(pd.Series([word])).iloc[0]
    assert r["place_kind"] == "county" and r["place_boroughs"] == "" and np.isnan(r["place_x"])


def test_london_is_the_post_town_of_the_inner_postcode_areas():
    """"London" is the LONDON post town: the E, EC, N, NW, SE, SW, W, WC districts (not RM, HA, CR ...),
    no point; with an outer post town the outer one leads ("High St, Romford, London")."""
    r = LEX.find(pd.Series(["London"])).iloc[0]
    assert r["place_kind"] == "post_town" and np.isnan(r["place_x"])
    ds = set(r["place_districts"].split("|"))
    assert {"E8", "EC1A", "N1", "NW10", "SE1", "SW19", "W12", "WC2H"} <= ds
    assert not any(d[:2] in ("RM", "HA", "CR", "BR", "IG", "EN", "KT", "TW", "UB", "SM", "DA") for d in ds)
    assert "E09000016" not in r["place_boroughs"]  # Havering: no LONDON post town address
    r2 = LEX.find(pd.Series(["Romford, London"])).iloc[0]
    assert r2["place"] == "romford" and "RM1" in r2["place_districts"].split("|")


def test_locality_with_two_meanings_is_narrowed_by_another_part():
    assert boroughs("Hayes") == {BROMLEY, HILLINGDON}
    assert np.isnan(LEX.find(pd.Series(["Hayes"]))["place_x"].iloc[0])  # two places far apart: no point
    r = LEX.find(pd.Series(["Hayes, Hillingdon"])).iloc[0]
    assert r["place_boroughs"] == HILLINGDON and np.isfinite(r["place_x"])
    assert boroughs("Upper Clapton, City and Hackney") == {HACKNEY}


def test_county_word_chooses_between_meanings_but_never_narrows_alone():
    r = LEX.find(pd.Series(["Hayes, Middlesex", "Hayes, Kent", "Hayes, London", "Middlesex"]))  # "London" narrows nothing
    assert r["place_boroughs"].tolist() == [HILLINGDON, BROMLEY, f"{BROMLEY}|{HILLINGDON}", ""]
    assert np.isfinite(r["place_x"].iloc[0]) and np.isnan(r["place_x"].iloc[2])


def test_a_county_word_the_parser_drops_still_chooses_the_place():
    """The parser drops a trailing county ("..., Hayes, Kent") from the town, but the place columns
    still read it: "5 Station Approach, Hayes, Kent" is Bromley's Hayes (it was placed on Station
    Approach UB3, 33 km off, at a declared 170 m); with Middlesex, Hillingdon's; with neither, both."""
    from geocrime.address import parse_many

    p = parse_many(["5 Station Approach, Hayes, Kent", "Station Approach, Hayes, Middlesex", "Station Approach, Hayes",
                    "19 Station Road, Belmont, Surrey"], backend="rules")
    assert p["town"].tolist()[:3] == ["Hayes"] * 3  # the county is not the town
    assert p["place_boroughs"].tolist()[:3] == [BROMLEY, HILLINGDON, f"{BROMLEY}|{HILLINGDON}"]
    assert LEX.county_word(pd.Series(["Station Approach, Hayes, Kent", "Kentish Town Road", None])).tolist() == ["Kent", "", ""]
    assert "E09000029" in p["place_boroughs"].iloc[3].split("|")  # Belmont, Surrey: Sutton's, not Harrow's
    assert "E09000015" not in p["place_boroughs"].iloc[3].split("|")


def test_find_is_rowwise_and_keeps_index():
    s = pd.Series(["Peckham", None, "nowhere at all", "Peckham"], index=[10, 11, 12, 13])
    r = LEX.find(s)
    assert list(r.index) == [10, 11, 12, 13] and list(r.columns) == list(PLACE_FIELDS)
    assert r.loc[10, "place"] == "peckham" and r.loc[13, "place"] == "peckham"
    assert r.loc[11, "place"] is None and r.loc[12, "place_boroughs"] == ""
    assert SOUTHWARK in r.loc[10, "place_boroughs"] and "SE15" in r.loc[10, "place_districts"].split("|")
    # the point is Peckham's (EPSG:27700) and the radius the measured locality radius
    assert abs(r.loc[10, "place_x"] - 534159) < 500 and abs(r.loc[10, "place_y"] - 176774) < 500
    assert r.loc[10, "place_radius_m"] == 3000


def test_keys():
    assert place_key(pd.Series(["St John's Wood", "Hammersmith & Fulham", "LB Camden"])).tolist() == [
        "saint johns wood", "hammersmith and fulham", "camden"]
    assert landmark_key(pd.Series(["Edgware Road (Bakerloo)", "Victoria Station", "Brixton tube",
                                   "Clapham Common Underground Station"])).tolist() == [
        "edgware road", "victoria", "brixton", "clapham common"]


def test_user_csv_extends_or_replaces(tmp_path):
    p = tmp_path / "kent.csv"
    p.write_text("# a force's own places\nname,kind,boroughs,districts,x,y,radius_m\n"
                 "Bluewater,locality,E07000107,DA9,557000,173000,1500\nMedway Towns,post_town,E06000035,ME1|ME2,,,\n")
    own = PlaceLexicon.from_csv(p)
    assert len(own.keys) == 2 and "Peckham" not in own and "Bluewater" in own
    r = own.find(pd.Series(["Bluewater", "Medway Towns"]))
    assert r["place_boroughs"].tolist() == ["E07000107", "E06000035"]
    both = PlaceLexicon.from_csv(p, extend=True)
    assert "Peckham" in both and "Bluewater" in both
    parsed = A.parse_many(pd.Series(["12 High Street, Bluewater"]), backend="rules", places=own)
    assert parsed["place_boroughs"].iloc[0] == "E07000107"


def test_bad_lexicon_file_says_what_is_wrong(tmp_path):
    from geocrime.errors import FileFormatError, MissingColumnsError

    p = tmp_path / "bad.csv"
    p.write_text("name,kind\nX,locality\n")
    with pytest.raises(MissingColumnsError, match="boroughs"):
        PlaceLexicon.from_csv(p)
    p.write_text("name,kind,boroughs,districts,x,y,radius_m\nX,village,,,,,\n")
    with pytest.raises(FileFormatError, match="village"):
        PlaceLexicon.from_csv(p)


# ------------------------------------------------------------------------------- the parser
def parse(texts):
    return A.parse_many(pd.Series(texts), backend="rules")


def test_place_words_after_a_street_move_to_the_place():
    r = parse(["o/s 14 Rye Lane Peckham", "High Street, Walthamstow", "Church Road, Barnes", "3 Church Road, Leyton",
               "High Street Colliers Wood", "Church Road North", "Green Street Green"])
    assert r["street"].tolist() == ["Rye Lane", "High Street", "Church Road", "Church Road", "High Street",
                                    "Church Road North", "Green Street Green"]
    assert r["house_number"].tolist()[:4] == ["14", None, None, "3"]
    assert r["location_qualifier"].iloc[0] == "outside"
    assert r["place"].tolist()[:5] == ["peckham", "walthamstow", "barnes", "leyton", "colliers wood"]
    assert r["place_boroughs"].iloc[1] == WALTHAM_FOREST
    assert RICHMOND in r["place_boroughs"].iloc[2].split("|")
    assert WALTHAM_FOREST in r["place_boroughs"].iloc[3].split("|")
    assert r["place"].iloc[5] is None and r["place"].iloc[6] is None


def test_a_compass_word_after_the_street_type_stays_with_the_street():
    """police.uk names such as "Forest Drive East" written with the borough after them: the compass
    word is the street's when "East Waltham Forest" is no place; "South Croydon" stays a place."""
    r = parse(["o/s Forest Drive East Waltham Forest", "o/s Dunheved Road North Croydon", "Lionel Road North Ealing",
               "High Street South Croydon", "High Road East Finchley"])
    assert r["street"].tolist() == ["Forest Drive East", "Dunheved Road North", "Lionel Road North", "High Street",
                                    "High Road"]
    assert r["place"].tolist() == ["waltham forest", "croydon", "ealing", "south croydon", "east finchley"]


@pytest.mark.parametrize("text", [
    "j/o Brixton Rd and Coldharbour Lane", "junction of Brixton Road with Coldharbour Lane",
    "Brixton Rd / Coldharbour Lane", "Brixton Rd j/w Coldharbour Lane", "corner of Brixton Road and Coldharbour Lane",
    "Brixton Road jct Coldharbour Lane", "on the corner of Brixton Road and Coldharbour Lane",
])
def test_junction_forms(text):
    r = parse([text]).iloc[0]
    assert r["location_qualifier"] == "junction"
    assert r["street"].startswith("Brixton R") and r["second_street"] == "Coldharbour Lane"


def test_slash_between_numbers_is_no_junction():
    r = parse(["12/14 High Road", "Flat 1/2, 12 High St"])
    assert r["location_qualifier"].isna().all() and r["second_street"].isna().all()
    assert r["house_number"].tolist() == ["12/14", "12"]


def test_landmarks():
    r = parse(["Victoria Station", "o/s Brixton tube", "nr Clapham Common station", "Brixton Underground Station",
               "Victoria Station, Terminus Place, London SW1V 1JU", "Brixton Station Road", "Brixton Police Station",
               "Victoria Coach Station"])
    assert r["landmark"].tolist()[:5] == ["victoria", "brixton", "clapham common", "brixton", "victoria"]
    assert r["landmark_kind"].tolist()[:5] == ["station"] * 5
    assert r["location_qualifier"].tolist()[:3] == [None, "outside", "near"]
    assert r["street"].iloc[4] == "Terminus Place" and r["postcode"].iloc[4] == "SW1V 1JU"
    assert r["street"].iloc[5] == "Brixton Station Road" and r["landmark"].iloc[5] is None
    assert r["landmark"].iloc[6] is None and r["landmark"].iloc[7] is None


def test_parse_one_has_the_new_fields():
    a = A.parse("o/s 14 Rye Lane Peckham", backend="rules")
    assert a.street == "Rye Lane" and a.place == "peckham" and a.place_kind == "locality"
    assert a.to_dict()["place_boroughs"].split("|")[-1] == SOUTHWARK


def test_locality_tolerance_on_real_addresses(shared_data):
    """The measured tolerance: a locality named in a real address means the truth's borough in >= 98%
    of cases (GOV.UK lists, truth = the borough of the published postcode)."""
    g = pd.read_csv(shared_data / "gds_messy_addresses_london_dev" / "london_messy_addresses_dev.csv", dtype=str)
    r = parse(g["text"].tolist())
    loc = (r["place_kind"] == "locality").to_numpy()
    assert loc.sum() > 1000
    inside = [t in b.split("|") for t, b in zip(g["lad_code"][loc], r["place_boroughs"][loc])]
    assert np.mean(inside) >= 0.98
    # every named place (any kind but county words) holds the truth borough in >= 97% of rows
    named = (r["place_boroughs"] != "").to_numpy()
    inside = [t in b.split("|") for t, b in zip(g["lad_code"][named], r["place_boroughs"][named])]
    assert named.sum() > 3000 and np.mean(inside) >= 0.97


@pytest.mark.parametrize("text, expected", [
    ("Woodgreen", "wood green"), ("Bexley Heath", "bexleyheath"), ("Abbeywood", "abbey wood"),
    ("Thorntonheath", "thornton heath"), ("Croyden", "croydon"), ("Edgeware", "edgware"),
    ("Thamemead", "thamesmead"),
    # one letter off two names (Crayford, Cranford), another first letter (Wanstead), several
    # words, a short word: no place
    ("Kinsbury", "kingsbury"), ("Craford", None), ("Banstead", None), ("West Actom", None), ("Camdem", None),
    # a held name after a compass word or upper/lower (GOV.UK and FSA lists): the held place
    ("North Cheam", "cheam"), ("West Croydon", "croydon"), ("UPPER BELVEDERE", "belvedere"), ("North Actom", None),
])
def test_place_names_written_loosely(text, expected):
    """Real spellings from the GOV.UK lists: spaces dropped or added, one letter off a one-word name
    (same first letter, one name that near), a compass word before a held name; nothing looser."""
    got = PlaceLexicon.default().find(pd.Series([text]))["place"].iloc[0]
    assert got == expected
