"""normalise(): the canonical matching string (case, punctuation, abbreviations, St/Saint by position)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import geocrime.address as A


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("Flat 3, 12-14 St. John's Rd., London  se17pb", "flat 3 12-14 saint johns road london se1 7pb"),
        ("12 High St", "12 high street"),  # St at the end: street
        ("12 High St, London", "12 high street london"),  # before a comma
        ("12 High St London", "12 high street london"),  # before a post town
        ("St Stephens St, Ealing", "saint stephens street ealing"),  # both in one
        ("99 High St North", "99 high street north"),  # before a compass word
        ("St North Road", "saint north road"),
        ("Great St Helen'S", "great saint helens"),  # St before a name: saint
        ("12 St Mary Axe", "12 saint mary axe"),
        ("4 Kensington Gdns", "4 kensington gardens"),
        ("Acacia Ave", "acacia avenue"), ("Park Ct", "park court"), ("Moor Cres", "moor crescent"),
        ("Market Pl", "market place"), ("Soho Sq", "soho square"), ("Lansdowne Terr", "lansdowne terrace"),
        ("Mitre Hse", "mitre house"), ("Peabody Bldgs", "peabody buildings"),
        ("2/3 Dr Johnson Dr", "2/3 dr johnson drive"),  # Dr as a title stays, at the end it is Drive
        ("116 - 126 Borough High St", "116-126 borough high street"),
        ("No. 5 Mill Lane", "5 mill lane"),
        ("Fish & Chips, 3 Market Parade", "fish and chips 3 market parade"),
        ("Café Rouge", "cafe rouge"),
        ("Улица Ленина 5", "улица ленина 5"),  # other scripts kept, not dropped
        ("  \t\n ", ""), ("", ""),
    ],
)
def test_normalise(raw: str, canonical: str) -> None:
    assert A.normalise(raw) == canonical
    assert A.normalise(canonical) == canonical  # idempotent


def test_normalise_many_same_index_and_missing() -> None:
    s = pd.Series(["12 High St", None, 5, "St John's Rd"], index=[3, 1, 2, 0], dtype=object)
    out = A.normalise_many(s)
    assert list(out.index) == [3, 1, 2, 0]
    assert out.tolist() == ["12 high street", "", "", "saint johns road"]
    assert A.normalise(None) == ""  # type: ignore[arg-type]


def test_normalise_makes_borough_spellings_meet(shared_data: Path) -> None:
    """Real FHRS premises written with and without abbreviations normalise to the same string."""
    df = pd.read_csv(shared_data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv", dtype=str,
                     keep_default_na=False)
    line = df["AddressLine1"]
    abbr = line[line.str.contains(r"\b(?:Rd|St|Ave|Gdns)\b", regex=True)]
    assert len(abbr) > 0
    for text in abbr.head(20):
        expanded = (text.replace(" Rd", " Road").replace(" Ave", " Avenue").replace(" Gdns", " Gardens"))
        if expanded.endswith(" St"):
            expanded = expanded[:-3] + " Street"
        assert A.normalise(text) == A.normalise(expanded), text


def test_cli_libpostal_status_json() -> None:
    r = subprocess.run([sys.executable, "-m", "geocrime", "libpostal", "status", "--json"],
                       capture_output=True, text=True)
    st = json.loads(r.stdout)
    assert set(st) >= {"dir", "installed", "files", "missing", "total_bytes"}
    assert r.returncode == (0 if st["installed"] else 1)
