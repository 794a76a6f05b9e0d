"""UK postcode recognition on real data (FHRS, OS Code-Point Open) and on the tricky cases."""
from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geocrime.address import postcode

FHRS = "fhrs_london_dev/fhrs_london_16la_2020-11-15.csv"
LINES = ["AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4"]


@pytest.fixture(scope="module")
def fhrs(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / FHRS, dtype=str, keep_default_na=False)


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("W1 1AA", "W1 1AA"),  # A9 9AA
        ("B33 8TH", "B33 8TH"),  # A99 9AA
        ("W1A 0AX", "W1A 0AX"),  # A9A 9AA
        ("CR2 6XH", "CR2 6XH"),  # AA9 9AA
        ("DN55 1PT", "DN55 1PT"),  # AA99 9AA
        ("EC1A 1BB", "EC1A 1BB"),  # AA9A 9AA
        ("GIR 0AA", "GIR 0AA"),
        ("sw1a1aa", "SW1A 1AA"),  # lower case, no space
        ("SE1   7PB", "SE1 7PB"),  # extra spaces
        (" se1 7pb ", "SE1 7PB"),
        ("SE28 OGU", "SE28 0GU"),  # O for 0 in the inward digit (real FHRS value)
        ("1G11 8PE", "IG11 8PE"),  # 1 for I in the area
        ("S017 1BJ", "SO17 1BJ"),  # 0 for O in the area
        ("SE1O 1AB", "SE10 1AB"),  # O for 0 in the district (O is never a district letter)
        ("IG118PE", "IG11 8PE"),  # real FHRS value
    ],
)
def test_normalise_formats(raw: str, canonical: str) -> None:
    assert postcode.normalise(raw) == canonical
    assert postcode.is_valid(raw)


@pytest.mark.parametrize(
    "raw", ["D1 2ND", "Q1 1AA", "SE1 7CB", "SE1 7PI", "W5 ???", "KT2 6£L", "", "12345", "SE1 7PBX", "X" * 50]
)
def test_invalid_postcodes(raw: str) -> None:
    # D and Q are not postcode areas; C and I never appear in an inward code
    assert postcode.normalise(raw, partial=False) is None
    assert not postcode.is_valid(raw)


@pytest.mark.parametrize("bad", [None, 12, 3.5, float("nan"), b"SE1 7PB", ["SE1 7PB"]])
def test_normalise_non_text(bad: object) -> None:
    assert postcode.normalise(bad) is None
    assert postcode.split(bad) == {"area": None, "district": None, "sector": None, "unit": None}


def test_partial_and_kinds() -> None:
    assert postcode.normalise("se1") == "SE1" and postcode.kind("SE1") == "district"
    assert postcode.normalise("SE1 7") == "SE1 7" and postcode.kind("SE1 7") == "sector"
    assert postcode.kind("ME12") == "district"  # not sector ME1 2: a sector needs the space
    assert postcode.normalise("SE1", partial=False) is None
    assert postcode.kind("SE1 7PB") == "unit"
    assert postcode.kind("BX1 1LT") == "non_geographic"
    assert postcode.kind("GIR 0AA") == "non_geographic"
    assert postcode.kind("XM4 5HQ") == "non_geographic"
    assert postcode.kind("BFPO 123") == "bfpo" and postcode.normalise("bfpo 0123") == "BFPO 123"


def test_split() -> None:
    assert postcode.split("sw1a1aa") == {"area": "SW", "district": "SW1A", "sector": "SW1A 1", "unit": "SW1A 1AA"}
    assert postcode.split("W5") == {"area": "W", "district": "W5", "sector": None, "unit": None}
    assert postcode.split("SE1 7") == {"area": "SE", "district": "SE1", "sector": "SE1 7", "unit": None}


@pytest.mark.parametrize(
    "text, pc, rest",
    [
        ("Flat D1 2nd Floor, 12 Foo Road", None, "Flat D1 2nd Floor, 12 Foo Road"),  # known failure: D1 2ND
        ("Flat B1 2nd Floor 14 Sherwood Park Road Sutton", None, None),  # B1 2ND is a valid format
        ("Unit E1 2nd floor, 12-20 Wood Street", None, None),
        ("Flat B1 2nd Floor, 14 Sherwood Park Road, SM1 2SQ", "SM1 2SQ", "Flat B1 2nd Floor, 14 Sherwood Park Road"),
        ("12 Priory Road, Hampton", None, "12 Priory Road, Hampton"),  # PRIORY is not PR1 0RY
        ("Flat 47, Moore Close, East Sheen", None, None),  # MOORE is not M0 0RE
        ("Caffe Mobile, York Arcade, 80 Islington High Street", None, None),
        ("1 Lombard Street, London, EC3V 9AA", "EC3V 9AA", "1 Lombard Street, London"),
        ("SE1 7PB 12 High St, London W1A 0AX", "W1A 0AX", "SE1 7PB 12 High St, London"),  # last one wins
        ("113 Robin Hood Way, London Sw15", "SW15", "113 Robin Hood Way, London"),  # district at the end
        ("Westfield, Montfichet Road, London, E20", "E20", "Westfield, Montfichet Road, London"),
        ("5 Old Dover Road, London SE3 7", "SE3 7", "5 Old Dover Road, London"),
        ("Flat E1", None, "Flat E1"),  # a flat number is not a district
        ("HQ, BFPO 123", "BFPO 123", "HQ"),
        ("256 High Road, Harrow, HA3 7BB.", "HA3 7BB", "256 High Road, Harrow"),
        ("Street Trading Site 048, New Broadway, Ealing, W5 ???", "W5", None),
    ],
)
def test_extract(text: str, pc: str | None, rest: str | None) -> None:
    got, remainder = postcode.extract(text)
    assert got == pc
    if rest is not None:
        assert remainder == rest


def test_extract_many_keeps_rows_and_index() -> None:
    s = pd.Series(["SE1 7PB", None, "", "no postcode", "n1 9gu islington", 5], index=[10, 11, 12, 13, 14, 15],
                  dtype=object)
    r = postcode.extract_many(s)
    assert list(r.index) == [10, 11, 12, 13, 14, 15]
    assert list(r.columns) == ["postcode", "remainder", "postcode_kind"]
    assert r["postcode"].tolist() == ["SE1 7PB", None, None, None, "N1 9GU", None]
    assert r.loc[14, "remainder"] == "islington"
    assert r.loc[11, "remainder"] == "" and r.loc[15, "remainder"] == ""
    assert postcode.extract_many(pd.Series([], dtype="str")).shape == (0, 3)


def test_every_codepoint_london_postcode_is_valid(shared_data: Path) -> None:
    """All 180,754 OS Code-Point Open London units (incl. WD/EN/CM... units at the edges) validate."""
    with gzip.open(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz", "rt") as f:
        cp = pd.read_csv(f, usecols=["Postcode"], dtype=str)["Postcode"]
    cp = cp[cp.str.len() > 0]
    assert len(cp) > 150_000
    r = postcode.extract_many(cp)
    assert r["postcode"].notna().all()
    assert (r["postcode"] == cp.str.replace(r"\s+", " ", regex=True)).all()
    assert set(r["postcode_kind"]) == {"unit"}


def test_fhrs_recall_and_precision(fhrs: pd.DataFrame) -> None:
    """PostCode column is the truth; extract it back from the joined address text (target >= 99.5%)."""
    joined = fhrs[LINES + ["PostCode"]].apply(lambda r: ", ".join(x for x in r if x), axis=1)
    truth = fhrs["PostCode"].map(postcode.normalise)
    got = postcode.extract_many(joined)["postcode"]
    has_truth = truth.notna()
    assert has_truth.sum() > 24_000
    correct = (got[has_truth] == truth[has_truth]).sum()
    recall = correct / has_truth.sum()
    extracted = got[has_truth].notna().sum()
    precision = correct / extracted
    print(f"FHRS postcode recall {recall:.4%} precision {precision:.4%} on {has_truth.sum()} rows")
    assert recall >= 0.995 and precision >= 0.995


def test_fhrs_address_lines_alone_give_no_false_postcodes(fhrs: pd.DataFrame) -> None:
    """Without the PostCode column, flats, units, ranges and street tokens must not come out as postcodes."""
    lines = fhrs[LINES].apply(lambda r: ", ".join(x for x in r if x), axis=1)
    truth = fhrs["PostCode"].map(postcode.normalise)
    got = postcode.extract_many(lines)["postcode"]
    hits = got.notna()
    assert hits.sum() < 0.001 * len(lines)  # the lines rarely contain a postcode at all
    for i in got.index[hits]:
        # each hit is written in the text and agrees with the truth where there is one
        assert got[i].replace(" ", "") in lines[i].upper().replace(" ", "")
        if isinstance(truth[i], str):
            assert truth[i].startswith(got[i])


@settings(max_examples=200, deadline=None)
@given(
    area=st.sampled_from(sorted(a for a in postcode.AREAS if a not in ("BF", "BX"))),
    district=st.integers(1, 29),
    sector=st.integers(0, 9),
    unit=st.text(alphabet="ABDEFGHJLNPQRSTUWXYZ", min_size=2, max_size=2),
    space=st.sampled_from(["", " ", "  "]),
    lower=st.booleans(),
)
def test_roundtrip_property(area: str, district: int, sector: int, unit: str, space: str, lower: bool) -> None:
    canonical = f"{area}{district} {sector}{unit}"
    raw = f"{area}{district}{space}{sector}{unit}"
    raw = raw.lower() if lower else raw
    assert postcode.normalise(raw) == canonical
    assert postcode.normalise(canonical) == canonical  # idempotent
    got, rest = postcode.extract(f"12 High Street, London {raw}")
    assert got == canonical and rest == "12 High Street, London"
