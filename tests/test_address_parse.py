"""Address parsing: the hand-checked parse set, police grammar, placeholders, the API contract."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geocrime
import geocrime.address as A
from geocrime.errors import AddressError, InputError

PARSES = Path(__file__).parent / "data" / "address_parses.csv"
COMPONENTS = ["sub_building", "building_name", "house_number", "street", "locality", "town", "postcode",
              "location_qualifier", "second_street", "placeholder"]
#: per-component accuracy floors on tests/data/address_parses.csv
RULES_FLOOR = dict.fromkeys(COMPONENTS, 0.97)


def _key(v: object) -> str:
    """Compare components case- and punctuation-insensitively; None == ""."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return re.sub(r"[^a-z0-9]+", " ", str(v).lower()).strip()


def load_parse_set() -> pd.DataFrame:
    t = pd.read_csv(PARSES, dtype=str, keep_default_na=False)
    t["raw"] = t["raw"].str.replace("\\n", "\n", regex=False)
    return t


def accuracy(t: pd.DataFrame, parsed: pd.DataFrame) -> dict[str, float]:
    """Share of rows where each component equals the hand-checked value."""
    return {f: float(np.mean([_key(a) == _key(b) for a, b in zip(parsed[f], t[f])])) for f in COMPONENTS}


def test_parse_set_is_big_real_and_covers_every_rule() -> None:
    t = load_parse_set()
    assert len(t) >= 300
    assert t["id"].is_unique
    assert {"fhrs", "policeuk"} <= set(t["source"])
    rules = set(t["rule"])
    for needed in ["police_outside", "police_rear", "police_junction", "police_opposite", "police_near",
                   "police_adjacent", "police_car_park", "police_bus_stop", "on_or_near", "placeholder", "floor",
                   "flat_range", "range", "suffix", "postcode_not_flat", "saint_street", "abbrev", "rear_of",
                   "unit", "flat", "postcode_messy", "line_breaks", "lower_case", "category_or_placeholder"]:
        assert needed in rules, needed
    # every qualifier and placeholder reason is present in the truth
    assert {"on_or_near", "outside", "rear_of", "junction", "opposite", "near", "adjacent", "car_park",
            "bus_stop"} <= set(t["location_qualifier"])
    assert {"no_fixed_abode", "unknown", "various", "no_location", "police_station", "custody_suite",
            "listed_address"} <= set(t["placeholder"])


def test_rules_backend_accuracy_on_parse_set() -> None:
    t = load_parse_set()
    p = A.parse_many(t["raw"], backend="rules")
    acc = accuracy(t, p)
    print("rules per-component accuracy:", {k: round(v, 3) for k, v in acc.items()})
    for f, floor in RULES_FLOOR.items():
        assert acc[f] >= floor, (f, acc[f])
    # the rows written independently of the parser's output (police phrasing, floors, postcodes)
    c = t["source"] == "constructed_real_street"
    acc_c = accuracy(t[c].reset_index(drop=True), p[c.to_numpy()].reset_index(drop=True))
    assert min(acc_c.values()) >= 0.97, acc_c


def test_parse_many_contract() -> None:
    texts = pd.Series(["12 High St, London SE1 7PB", None, "", "NFA", 42, b"5 Caf\xe9 Road", np.nan, "12 High Street, " * 200],
                      index=list("abcdefgh"), dtype=object)
    df = A.parse_many(texts, backend="rules")
    assert list(df.index) == list("abcdefgh")
    assert list(df.columns) == list(A.FIELDS) + ["backend", "parse_status"]
    assert df["parse_status"].tolist() == ["ok", "empty", "empty", "placeholder", "invalid_input", "ok", "empty",
                                          "truncated"]
    assert df.loc["a", "postcode"] == "SE1 7PB" and df.loc["a", "house_number"] == "12"
    assert df.loc["f", "street"] == "Café Road"  # cp1252 bytes decoded
    assert df.loc["b", "raw"] is None and df.loc["e", "raw"] is None
    assert (df["backend"] == "rules").all()
    assert A.parse_many([], backend="rules").shape == (0, len(A.FIELDS) + 2)
    with pytest.raises(InputError):
        A.parse_many("a single string", backend="rules")
    with pytest.raises(InputError):
        A.parse_many(["x"], backend="nope")  # type: ignore[arg-type]


def test_parse_many_repeated_strings_parse_identically() -> None:
    s = pd.Series(["On or near Bishopsgate"] * 3 + ["Flat 2, 20 Canning Road, Stratford, E15 3FA"] * 2)
    df = A.parse_many(s, backend="rules")
    assert df["street"].tolist() == ["Bishopsgate"] * 3 + ["Canning Road"] * 2
    assert df["sub_building"].tolist()[3:] == ["Flat 2", "Flat 2"]


def test_address_dataclass() -> None:
    a = A.parse("Flat 3, 12-14 St John's Road, Ealing, London W5 2DZ", backend="rules")
    assert isinstance(a, A.Address)
    assert (a.sub_building, a.house_number, a.street, a.locality, a.town, a.postcode) == (
        "Flat 3", "12-14", "St John's Road", "Ealing", "London", "W5 2DZ")
    d = a.to_dict()
    assert d["raw"].startswith("Flat 3") and d["backend"] == "rules" and d["parse_status"] == "ok"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.street = "x"  # type: ignore[misc]
    assert not hasattr(a, "__dict__")  # slots
    assert A.parse(None, backend="rules").parse_status == "empty"
    with pytest.raises(AddressError):
        A.parse(3.5, backend="rules")  # type: ignore[arg-type]
    assert geocrime.parse is A.parse and geocrime.Address is A.Address


@pytest.mark.parametrize(
    "text, q, street, second, number, building",
    [
        ("o/s 23 High St", "outside", "High St", None, "23", None),
        ("O/S Tesco Express, 16 Entertainment Avenue", "outside", "Entertainment Avenue", None, "16", "Tesco Express"),
        ("outside 135F The Broadway, Southall", "outside", "The Broadway", None, "135F", None),
        ("j/o A Road and B Street", "junction", "A Road", "B Street", None, None),
        ("junction of Romford Road and Vicarage Lane", "junction", "Romford Road", "Vicarage Lane", None, None),
        ("jct Cheam Road with High Street", "junction", "Cheam Road", "High Street", None, None),
        ("Cheam Road j/w Mulgrave Road", "junction", "Cheam Road", "Mulgrave Road", None, None),
        ("J/O Lee High Rd/Burnt Ash Rd", "junction", "Lee High Rd", "Burnt Ash Rd", None, None),
        ("opp 27 High Street", "opposite", "High Street", None, "27", None),
        ("nr 316 Lee High Road", "near", "Lee High Road", None, "316", None),
        ("adj 7 High Street", "adjacent", "High Street", None, "7", None),
        ("r/o 20 Mandeville Road", "rear_of", "Mandeville Road", None, "20", None),
        ("rear of 14 Sherwood Park Road", "rear_of", "Sherwood Park Road", None, "14", None),
        ("car park of Tesco, 65 Avery Hill Road", "car_park", "Avery Hill Road", None, "65", "Tesco"),
        ("bus stop o/s 3A Medway Parade", "bus_stop", "Medway Parade", None, "3A", None),
        ("On or near Nash Road", "on_or_near", "Nash Road", None, None, None),
        ("On or near Supermarket", "on_or_near", None, None, None, "Supermarket"),
        # a qualifier word that is part of a street name is not a qualifier
        ("Near Lane, Hillingdon", None, "Near Lane", None, None, None),
        ("near Tower Park Road", "near", "Tower Park Road", None, None, None),
        ("at 12 High Street", None, "High Street", None, "12", None),
        ("At Home Cafe, 3 Mill Lane", None, "Mill Lane", None, "3", "At Home Cafe"),
    ],
)
def test_police_grammar(text: str, q: str | None, street: str | None, second: str | None, number: str | None,
                        building: str | None) -> None:
    a = A.parse(text, backend="rules")
    assert (a.location_qualifier, a.street, a.second_street, a.house_number, a.building_name) == (
        q, street, second, number, building)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("NFA", "no_fixed_abode"), ("n.f.a.", "no_fixed_abode"), ("No Fixed Abode", "no_fixed_abode"),
        ("of no fixed abode, London", "no_fixed_abode"), ("Unknown", "unknown"), ("NOT KNOWN", "unknown"),
        ("various", "various"), ("Various locations", "various"), ("No Location", "no_location"),
        ("On or near", "no_location"), ("Custody Suite, Wood Street", "custody_suite"),
        ("Brixton Police Station, 367 Brixton Road", "police_station"),
        ("367 Brixton Road, London SW9 7DD", "listed_address"), ("5 Snow Hill", "listed_address"),
    ],
)
def test_placeholders(text: str, reason: str) -> None:
    a = A.parse(text, backend="rules")
    assert a.placeholder == reason and a.parse_status == "placeholder"
    assert a.street is None and a.house_number is None  # never geocodable


def test_not_placeholders() -> None:
    for text in ["Police Station Road, Hersham", "Unknown Street Cafe, 12 High Street", "5 Snow Hill Court, Bromley"]:
        assert A.parse(text, backend="rules").placeholder is None, text


def test_configurable_placeholder_addresses() -> None:
    mine = A.DEFAULT_PLACEHOLDERS.with_addresses("2 Lambeth Road, London SE1 6HP")
    df = A.parse_many(["2 Lambeth Road, London", "4 Lambeth Road, London"], backend="rules", placeholders=mine)
    assert df["placeholder"].tolist() == ["listed_address", None]
    assert A.parse("2 Lambeth Road, London", backend="rules").placeholder is None  # default list unchanged


@pytest.mark.parametrize(
    "text, sub, number, street",
    [
        ("FLAT 6-20, 220 High Street", "FLAT 6-20", "220", "High Street"),
        ("GFF 12 Foo Road", "GFF", "12", "Foo Road"),
        ("TFF, 316 Lee High Road", "TFF", "316", "Lee High Road"),
        ("2F/L 85 Vicarage Lane", "2F/L", "85", "Vicarage Lane"),
        ("B, 20 Mandeville Road", "B", "20", "Mandeville Road"),
        ("M, 7 Cheam Road", "M", "7", "Cheam Road"),
        ("Flat D1 2nd Floor, 12 Foo Road", "Flat D1 2nd Floor", "12", "Foo Road"),
        ("Unit 2, 116 - 126 Borough High Street", "Unit 2", "116-126", "Borough High Street"),
        ("12a Station Road", None, "12a", "Station Road"),
        ("Units 1 & 3, 96 The Green", "Units 1 & 3", "96", "The Green"),
    ],
)
def test_sub_buildings_and_numbers(text: str, sub: str | None, number: str, street: str) -> None:
    a = A.parse(text, backend="rules")
    assert (a.sub_building, a.house_number, a.street) == (sub, number, street)


@pytest.mark.parametrize(
    "bad",
    ["\x00\x00", "12 High\x00 Street\x07", "Улица Ленина 5, Москва", "北京市朝阳区", "\ud800 lone surrogate",
     "a" * 10_000_000, " , , ; ", "\n\n\t", "🏠 12 Emoji Road", "SE1 7PB" * 1000],
)
def test_rules_bad_input_never_crashes(bad: str) -> None:
    a = A.parse(bad, backend="rules")
    assert a.parse_status in {"ok", "truncated", "empty", "placeholder"}
    if len(bad) > 10_000:
        assert a.parse_status == "truncated"


def test_small_and_large_batches_agree(shared_data: Path) -> None:
    """Small inputs run Python's re, large ones RE2 in pyarrow: same answers on real strings."""
    from geocrime.address import _rx

    fh = pd.read_csv(shared_data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv", dtype=str,
                     keep_default_na=False, nrows=1500)
    joined = fh[["AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4", "PostCode"]].apply(
        lambda r: ", ".join(x for x in r if x), axis=1)
    s = pd.concat([load_parse_set()["raw"], joined], ignore_index=True)
    old = _rx.SMALL
    try:
        _rx.SMALL = 0
        big = (A.parse_many(s, backend="rules"), A.normalise_many(s))
        _rx.SMALL = 10**9
        small = (A.parse_many(s, backend="rules"), A.normalise_many(s))
    finally:
        _rx.SMALL = old
    pd.testing.assert_frame_equal(big[0], small[0])
    pd.testing.assert_series_equal(big[1], small[1])


def test_police_uk_streets_read_whole_and_place_splits_only_name_places(shared_data: Path) -> None:
    """police.uk "On or near <street>": the street comes out as written, except where the words after a
    street type are a place name ("High Road Leytonstone" -> "High Road" + place leytonstone)."""
    files = sorted((shared_data / "policeuk_met_burglary_street").glob("*.csv"))[:2]
    loc = pd.concat([pd.read_csv(f, usecols=["Location"]) for f in files])["Location"].dropna()
    loc = loc[loc.str.startswith("On or near ")].drop_duplicates().reset_index(drop=True)
    r = A.parse_many(loc, backend="rules")
    name = loc.str.slice(len("On or near "))
    street = r["street"].fillna("")
    assert (street == name).mean() > 0.99
    split = (street != name) & (street != "") & r["locality"].notna()
    assert split.any()
    for full, st, lc, pl in zip(name[split], street[split], r["locality"][split], r["place"][split]):
        assert full.startswith(st) and full.endswith(lc) and pl is not None, (full, st, lc)
    # no landmark is read from a street name; police.uk's category "Bus/Coach Station" is no landmark
    assert r["landmark"].isna().all()


def test_a_compass_word_ends_the_street_not_the_place_after_it(shared_data: Path) -> None:
    """The FSA register writes "Breakspear Arms, Breakspear Road South, Ickenham": the street ends in
    a compass word and the place after it stays a place (it was read as the street "Ickenham")."""
    f = pd.read_csv(shared_data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv", dtype=str,
                    keep_default_na=False, encoding_errors="replace")
    want = {"Breakspear Road South", "Whalebone Lane North", "Caxton Street North", "Horsenden Lane South"}
    cases = []
    for row in f[["AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4"]].itertuples(index=False):
        lines = [v.strip() for v in row if v.strip() and v.strip() != "Middlesex"]
        at = [i for i, v in enumerate(lines) if v in want]
        if at and 0 < at[0] < len(lines) - 1 and not re.match(r"\d", lines[at[0] - 1]):
            cases.append((", ".join(lines), lines[at[0]], lines[at[0] + 1]))
    assert len({c[1] for c in cases}) >= 3 and len(cases) >= 10
    p = A.parse_many([c[0] for c in cases], backend="rules")
    assert p["street"].tolist() == [c[1] for c in cases]
    assert p["locality"].fillna(p["town"]).str.lower().tolist() == [c[2].lower() for c in cases]
    # a compass word that begins a place after the street is still the place's
    q = A.parse("12 High Street South Croydon", backend="rules")
    assert (q.street, q.town) == ("High Street", "South Croydon")


def test_premises_names_written_after_the_street_are_the_buildings(shared_data: Path) -> None:
    """The FSA register writes "Whalebone Lane South, B&M Stores Ltd, Eldonwall Trading Estate" and a
    GOV.UK list "5 - 6 The Broadway, Concord Shopping Centre, Shepherds Bush, London": comma parts
    after the street that name premises and no place are the building's; place parts stay places."""
    gds = pd.read_csv(shared_data / "gds_messy_addresses_london_dev" / "london_messy_addresses_dev.csv", dtype=str,
                      keep_default_na=False)
    concord = gds.loc[gds["text"].str.startswith("5 - 6 The Broadway, Concord"), "text"].iloc[0]
    p = A.parse_many(["Whalebone Lane South, B&M Stores Ltd, Eldonwall Trading Estate, RM8 1AT", concord,
                      "12 Station Road, Harrow Weald", "Rye Lane, Peckham"], backend="rules")
    assert p["building_name"].tolist()[:2] == ["B&M Stores Ltd, Eldonwall Trading Estate", "Concord Shopping Centre"]
    assert p["street"].tolist() == ["Whalebone Lane South", "The Broadway", "Station Road", "Rye Lane"]
    assert p["locality"].tolist()[1:] == ["Shepherds Bush", "Harrow Weald", "Peckham"]
    assert p["building_name"].iloc[2:].isna().all()


def test_a_place_written_last_is_not_the_bare_street(shared_data: Path) -> None:
    """The FSA register writes "Unit A1, The Oxygen, Western Gateway, Canning Town": with no number
    and no street type the last part was read as a bare street ("Canning Town", which police.uk
    also names); a place written last after other parts is the place, and the part before it the
    street. A bare name alone ("Bishopsgate", police "Canning Town, Newham") is still the street."""
    f = pd.read_csv(shared_data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv", dtype=str,
                    keep_default_na=False, encoding_errors="replace")
    row = f[(f["AddressLine2"] == "The Oxygen") & (f["AddressLine3"] == "Western Gateway")].iloc[0]
    text = ", ".join(v for v in row[["AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4"]] if v)
    p = A.parse_many([text, "Bishopsgate", "Canning Town, Newham"], backend="rules")
    assert (p["street"].iloc[0], p["locality"].iloc[0]) == ("Western Gateway", row["AddressLine4"])
    assert p["street"].tolist()[1:] == ["Bishopsgate", "Canning Town"]
