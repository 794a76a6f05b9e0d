"""Property-based tests (hypothesis) on the public API of every stage.

For any input: rows in = rows out, output order (and index) = input order, the status column is never
null, nothing but a :class:`~geocrime.errors.GeocrimeError` is ever raised, and the answer is the same
when the call is repeated (deterministic). Where a stage has a stronger invariant it is checked too
(postcode canonical forms are fixed points; area codes equal a brute-force ``covers`` test with the
smallest-code edge rule; aggregate counts plus reported drops equal the input rows).

Profiles (``tests/conftest.py``): ``ci`` (default; derandomized, so a run is reproducible) runs the
example counts below (>= 10,000 in total, cheap functions many, geocoding few); ``nightly``
(``HYPOTHESIS_PROFILE=nightly``) runs 10x as many, freshly random. The number of examples run is
printed at the end of the session. The publish gate is not here: it needs map points, whose
construction costs seconds per call (its argument checks are in the bad-input corpus).
"""
from __future__ import annotations

import csv
import io
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import _enrich_data as ed
from _hypothesis_count import tick
from geocrime.errors import GeocrimeError

SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else 1


def n(k: int) -> int:
    return k * SCALE


# -------------------------------------------------------------------------------- strategies
STREETS = ["High Street", "Upper Street", "Green Lanes", "Essex Road", "St John Street", "Holloway Rd",
           "Church Lane", "The Broadway", "Liverpool Road", "Caledonian Road", "Seven Sisters Road"]
TOWNS = ["London", "Islington", "Barking", "Richmond", "LONDON", "Twickenham"]
POSTCODES = ["N1 0PQ", "N1 1QN", "N7 6PA", "SW1A 1AA", "EC2A 4JU", "E1 6AN", "N16 9BS", "TW9 1DN", "IG11 8PL",
             "n10pq", "N1O 1QN", "SW1A1AA", " n7 6pa ", "=\"N1 0PQ\"", "N1", "N1 0", "BFPO 123", "GIR 0AA", "XX1 1XX"]
JUNK = ["", " ", ",", ";", "\n", "\t", "<br>", "<b>", "</b>", "<script>alert(1)</script>", "&amp;", "\x00", "\u202e",
        "\u200b", "\ufeff", "😀", "🏠", "شارع", "רחוב", "Улица", "北京", "???", "N/K", "NFA", "o/s", "j/o", "R/O", "On or near",
        "Flat 3", "Unit 2", "Basement", "1st Floor", "junction of", "near", "&", "-", "/", "'", "\"", "\ud800"]


@st.composite
def address_like(draw: Any) -> str:
    """Text built like a (messy) police address from real-shaped pieces and junk."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 7))):
        kind = draw(st.integers(0, 6))
        if kind == 0:
            parts.append(str(draw(st.integers(0, 2000))) + draw(st.sampled_from(["", "a", "B", "-14", "/2"])))
        elif kind == 1:
            parts.append(draw(st.sampled_from(STREETS)))
        elif kind == 2:
            parts.append(draw(st.sampled_from(TOWNS)))
        elif kind == 3:
            parts.append(draw(st.sampled_from(POSTCODES)))
        elif kind == 4:
            parts.append(draw(st.sampled_from(JUNK)))
        else:
            parts.append(draw(st.text(max_size=12)))
    sep = draw(st.sampled_from([" ", ", ", ",", "  ", "\n", "; "]))
    return sep.join(parts)


ANY_CHAR_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=60)  # surrogates too
TEXT = st.one_of(address_like(), st.text(max_size=60), ANY_CHAR_TEXT)
#: any value a spreadsheet column or a user might hand over
VALUE = st.one_of(
    TEXT, TEXT, TEXT, st.none(), st.just(float("nan")), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
    st.booleans(), st.binary(max_size=30), st.just(pd.NA),
)


def index_for(draw: Any, size: int) -> pd.Index:
    """A default, shuffled, duplicated or string index."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return pd.RangeIndex(size)
    if kind == 1:
        return pd.Index(draw(st.permutations(list(range(size)))) if size else [], dtype="int64")
    if kind == 2:
        return pd.Index(draw(st.lists(st.integers(0, 3), min_size=size, max_size=size)), dtype="int64")
    return pd.Index([f"r{draw(st.integers(0, 5))}" for _ in range(size)], dtype=object)


@st.composite
def series_of(draw: Any, values: Any, max_size: int = 12) -> pd.Series:
    vals = draw(st.lists(values, max_size=max_size))
    return pd.Series(vals, index=index_for(draw, len(vals)), dtype=object)


def allowed(call: Any, *args: Any, **kw: Any) -> Any:
    """Run a public function: returns its result, or None when it raised a GeocrimeError (allowed);
    any other exception fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call(*args, **kw)
    except GeocrimeError:
        return None


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Deterministic: the repeated call gives an identical frame."""
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b), check_dtype=True)


def keeps_rows(inp: pd.Index, out: pd.DataFrame, status: str, allowed_status: Any = None) -> None:
    assert len(out) == len(inp)
    assert list(out.index) == list(inp)
    st_ = out[status]
    assert st_.notna().all(), st_[st_.isna()]
    if allowed_status is not None:
        bad = [s for s in st_ if not allowed_status(s)]
        assert not bad, bad


# -------------------------------------------------------------------------------- postcode
@settings(max_examples=n(6000))
@given(VALUE)
def test_postcode_scalar_functions(v: Any) -> None:
    from geocrime.address import postcode

    tick("postcode.normalise/kind/is_valid/split")
    code = postcode.normalise(v)
    assert code is None or (isinstance(code, str) and postcode.normalise(code) == code)  # canonical is a fixed point
    full = postcode.normalise(v, partial=False)
    assert full is None or full == code
    assert postcode.is_valid(v) == (full is not None)
    k = postcode.kind(v)
    assert (k is None) == (code is None) or k in ("bfpo",)
    parts = postcode.split(v)
    assert set(parts) == {"area", "district", "sector", "unit"}
    if parts["unit"] is not None:
        assert parts["unit"] == code and parts["unit"].startswith(parts["district"] + " ")
    if parts["district"] is not None:
        assert parts["district"].startswith(parts["area"])


@settings(max_examples=n(1500))
@given(VALUE)
def test_postcode_extract(v: Any) -> None:
    from geocrime.address import postcode

    tick("postcode.extract")
    pc, rest = postcode.extract(v)
    assert isinstance(rest, str)
    assert pc is None or postcode.normalise(pc) == pc
    assert postcode.extract(v) == (pc, rest) if not (isinstance(v, float) and math.isnan(v)) else True


@settings(max_examples=n(400))
@given(series_of(VALUE, max_size=60))
def test_postcode_extract_many(s: pd.Series) -> None:
    from geocrime.address import postcode

    tick("postcode.extract_many")
    out = postcode.extract_many(s)
    assert list(out.columns) == ["postcode", "remainder", "postcode_kind"]
    keeps_rows(s.index, out, "remainder")
    # row by row it agrees with the single-string form (for text)
    for v, pc, rest in zip(s, out["postcode"], out["remainder"]):
        if isinstance(v, str):
            assert (pc, rest) == postcode.extract(v)
    same(out, postcode.extract_many(s))


# -------------------------------------------------------------------------------- normalise / parse
@settings(max_examples=n(1500))
@given(VALUE)
def test_normalise(v: Any) -> None:
    from geocrime.address import normalise

    tick("address.normalise")
    out = normalise(v)
    assert isinstance(out, str)
    assert out == out.strip() and "  " not in out
    assert not any(ord(c) < 32 for c in out)
    assert normalise(v) == out


@settings(max_examples=n(400))
@given(series_of(VALUE, max_size=60))
def test_normalise_many(s: pd.Series) -> None:
    from geocrime.address import normalise, normalise_many

    tick("address.normalise_many")
    out = normalise_many(s)
    assert len(out) == len(s) and list(out.index) == list(s.index)
    assert out.notna().all()
    for v, o in zip(s, out):
        if isinstance(v, str):
            assert o == normalise(v)


PARSE_STATUS = {"ok", "truncated", "placeholder", "empty", "invalid_input"}


@settings(max_examples=n(400))
@given(VALUE)
def test_parse_one(v: Any) -> None:
    from geocrime.address import Address, parse

    tick("address.parse")
    a = allowed(parse, v, backend="rules")
    if a is None:  # AddressError: only for values that are not text
        assert not isinstance(v, (str, bytes)) and v is not None
        return
    assert isinstance(a, Address) and a.parse_status in PARSE_STATUS
    for f in ("sub_building", "building_name", "house_number", "street", "locality", "town", "postcode"):
        val = getattr(a, f)
        assert val is None or (isinstance(val, str) and val.strip() == val and val != "")
    assert parse(v, backend="rules") == a


@settings(max_examples=n(350))
@given(series_of(VALUE, max_size=30))
def test_parse_many(s: pd.Series) -> None:
    from geocrime.address import FIELDS, parse_many

    tick("address.parse_many")
    out = parse_many(s, backend="rules")
    assert list(out.columns) == list(FIELDS) + ["backend", "parse_status"]
    keeps_rows(s.index, out, "parse_status", lambda x: x in PARSE_STATUS)
    for v, raw, status in zip(s, out["raw"], out["parse_status"]):
        if isinstance(v, str) and not any("\ud800" <= c <= "\udfff" for c in v):
            assert raw == v  # the input text is kept verbatim (lone surrogates are replaced)
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            assert status == "empty"
    same(out, parse_many(s, backend="rules"))


# -------------------------------------------------------------------------------- geocode
@pytest.fixture(scope="module")
def gaz(shared_data: Path):
    return ed.gazetteer(shared_data)


@pytest.fixture(scope="module")
def real_lines(shared_data: Path) -> list[str]:
    f = ed.fhrs_source(shared_data)
    f = f[f["street"] != ""].head(400)
    return [", ".join(p for p in (r.sub_building, r.building_name, f"{r.house_number} {r.street}".strip(), r.town, r.postcode) if p)
            for r in f.itertuples()]


@st.composite
def mutated(draw: Any, lines: list[str]) -> Any:
    """A real gazetteer address, possibly damaged (cut, case, junk inserted), or any value."""
    if draw(st.integers(0, 3)) == 0:
        return draw(VALUE)
    t = draw(st.sampled_from(lines))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.integers(0, 4))
        i = draw(st.integers(0, len(t)))
        if op == 0:
            t = t[:i]
        elif op == 1:
            t = t.upper() if draw(st.booleans()) else t.lower()
        elif op == 2:
            t = t[:i] + draw(st.sampled_from(JUNK)) + t[i:]
        elif op == 3:
            t = t.replace(",", draw(st.sampled_from(["", " ", ";", "<br>"])))
        else:
            t = draw(st.sampled_from(["o/s ", "R/O ", "On or near ", "at "])) + t
    return t


MATCH_LEVELS = {"premises", "landmark", "junction", "street", "postcode_unit", "postcode_sector", "locality",
                "postcode_district", "borough", "area", "none"}


@settings(max_examples=n(100), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_geocode(gaz, real_lines, data) -> None:
    from geocrime.geocoding import OUTPUT_COLUMNS, geocode

    tick("geocode")
    vals = data.draw(st.lists(mutated(real_lines), max_size=12))
    s = pd.Series(vals, index=index_for(data.draw, len(vals)), dtype=object)
    out = geocode(s, gaz)
    keeps_rows(s.index, out, "match_level", lambda x: x in MATCH_LEVELS)
    assert [c for c in OUTPUT_COLUMNS if c not in out.columns] == []
    located = out["match_level"].to_numpy() != "none"
    x = out["x"].to_numpy(float)
    assert np.isfinite(x[located]).all() and np.isnan(x[~located]).all()
    assert out.crs.to_epsg() == 27700
    same(out.drop(columns="geometry"), geocode(s, gaz).drop(columns="geometry"))


# -------------------------------------------------------------------------------- areas
LAYER_CODES = ["E05A", "E05B", "E05C", "E05D"]


@st.composite
def layer_gdf(draw: Any) -> gpd.GeoDataFrame:
    """2-4 axis-aligned rectangles near Islington on a 10 m lattice (shared edges and overlaps happen)."""
    k = draw(st.integers(1, 4))
    geoms = []
    for _ in range(k):
        x0 = 530_000 + 10 * draw(st.integers(0, 20))
        y0 = 180_000 + 10 * draw(st.integers(0, 20))
        geoms.append(shapely.box(x0, y0, x0 + 10 * draw(st.integers(1, 15)), y0 + 10 * draw(st.integers(1, 15))))
    codes = draw(st.permutations(LAYER_CODES))[:k]
    return gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs=27700)


COORD = st.one_of(
    st.integers(529_990, 530_360).map(float),                    # on the lattice: edges and vertices
    st.floats(529_990, 530_360),                                 # anywhere around the layer
    st.just(float("nan")), st.just(float("inf")), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "abc", "530100", "-0,5", None]),
)


@settings(max_examples=n(500))
@given(layer=layer_gdf(), data=st.data())
def test_assign_areas(layer: gpd.GeoDataFrame, data: Any) -> None:
    from geocrime.areas import Boundaries, assign_areas, load_layer

    tick("areas.assign_areas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = Boundaries([load_layer(layer, "lay", code="code")])
    m = data.draw(st.integers(0, 25))
    xs = data.draw(st.lists(COORD, min_size=m, max_size=m))
    ys = data.draw(st.lists(COORD, min_size=m, max_size=m))
    pts = pd.DataFrame({"e": pd.Series(xs, dtype=object), "n": pd.Series(ys, dtype=object)})
    pts.index = index_for(data.draw, m)
    out = allowed(assign_areas, pts, b, x="e", y="n", crs="EPSG:27700")
    assert out is not None
    keeps_rows(pts.index, out, "area_status",
               lambda s: s in {"ok", "outside:lay", "no_location", "invalid_coordinates", "outside_gb"})
    # every located row: the smallest code among the polygons that cover it (brute force)
    lay = b.layer("lay")
    ga = np.asarray(out.geometry.array, dtype=object)
    for g, code, status in zip(ga, out["lay"], out["area_status"]):
        if status in ("ok", "outside:lay"):
            cover = sorted(c for c, poly in zip(lay["code"], lay.geometry) if poly.covers(g))
            assert (code if isinstance(code, str) else None) == (cover[0] if cover else None)
            assert (status == "ok") == bool(cover)
        else:
            assert g is None and not isinstance(code, str)
    same(out.drop(columns="geometry"), assign_areas(pts, b, x="e", y="n", crs="EPSG:27700").drop(columns="geometry"))


# -------------------------------------------------------------------------------- io
FIELD = st.one_of(st.text(max_size=20), st.sampled_from(["", "a,b", "x\ny", 'say "hi"', "<script>", "😀", "\r\n"]))
LONLAT = st.one_of(st.floats(-1, 1).map(lambda v: f"{v:.6f}"), st.floats(50, 53).map(lambda v: f"{v:.6f}"),
                   st.sampled_from(["", "0", "NaN", "-0,1", "530000", "abc"]))


@settings(max_examples=n(300))
@given(data=st.data())
def test_read_police_uk(data: Any) -> None:
    from geocrime.io import POLICE_UK_COLUMNS, read_police_uk

    tick("io.read_police_uk")
    m = data.draw(st.integers(0, 15))
    rows = []
    for i in range(m):
        r = {c: data.draw(FIELD) for c in POLICE_UK_COLUMNS}
        r["Crime ID"] = f"id{data.draw(st.integers(0, m))}" if data.draw(st.booleans()) else ""
        r["Longitude"], r["Latitude"] = data.draw(LONLAT), data.draw(LONLAT)
        r["Month"] = data.draw(st.sampled_from(["2024-01", "2024-13", "Jan-24", "", "2023-12"]))
        rows.append(r)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(POLICE_UK_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    enc = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "2024-01-test-street.csv"
        p.write_bytes(buf.getvalue().encode(enc))
        out = allowed(read_police_uk, p)
        if out is None:  # only a file pandas cannot tokenise may be refused
            return
        keeps_rows(pd.RangeIndex(m), out, "status",
                   lambda s: s in {"ok", "no_location", "invalid_coordinates", "outside_gb"})
        # every value read back as written (in order), quoted commas, quotes and line breaks included
        got = [g.replace("\r", "") for g in out["Location"].fillna("")]
        assert got == [r["Location"].replace("\r", "") for r in rows]
        assert out["Crime ID"].fillna("").tolist() == [r["Crime ID"] for r in rows]
        dup = pd.Series([r["Crime ID"] for r in rows])
        assert out["duplicate_crime_id"].tolist() == ((dup != "") & dup.duplicated(keep=False)).tolist()
        same(out.drop(columns="geometry"), read_police_uk(p).drop(columns="geometry"))


# -------------------------------------------------------------------------------- aggregate
@settings(max_examples=n(250))
@given(data=st.data())
def test_aggregate(data: Any) -> None:
    from geocrime.analysis import aggregate

    tick("analysis.aggregate")
    m = data.draw(st.integers(0, 30))
    area = st.one_of(st.sampled_from(["E05A", "E05B", "E05C", " E05A ", "", None]), st.text(max_size=5))
    month = st.one_of(st.sampled_from(["2024-01", "2024-02", "2024-06", "2023-12", "2024-13", "", None, "01/2024"]),
                      st.text(max_size=8))
    ctype = st.one_of(st.sampled_from(["Burglary", "Robbery", "", None, "  "]), st.text(max_size=6))
    df = pd.DataFrame({
        "ward_2024": data.draw(st.lists(area, min_size=m, max_size=m)),
        "month": data.draw(st.lists(month, min_size=m, max_size=m)),
        "crime_type": data.draw(st.lists(ctype, min_size=m, max_size=m)),
    }, index=index_for(data.draw, m), dtype=object)
    kw = data.draw(st.sampled_from([{}, {"areas": ["E05A", "E05B", "E05C"], "unknown_areas": "drop"},
                                    {"areas": ["E05A", "E05B"], "unknown_areas": "keep"}, {"change": False}]))
    out = allowed(aggregate, df, **kw)
    if out is None:
        return
    a = out.attrs
    lost = a["n_no_area"] + a["n_no_period"] + a["n_unknown_area"] + a.get("n_missing_key", 0)
    assert int(out["count"].sum()) + lost == len(df) == a["n_input"]
    assert (out["count"] >= 0).all() and out["count"].notna().all()
    assert not out.duplicated(subset=["ward_2024", "month", "crime_type"]).any()
    same(out, allowed(aggregate, df, **kw))


# -------------------------------------------------------------------------------- enrich
@pytest.fixture(scope="module")
def wards(shared_data: Path):
    return ed.boundaries(shared_data, with_lsoa=False)


@settings(max_examples=n(40), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_enrich(gaz, wards, real_lines, data) -> None:
    from geocrime.enrichment import enrich

    tick("enrich")
    vals = data.draw(st.lists(mutated(real_lines), max_size=10))
    df = pd.DataFrame({"address": pd.Series(vals, dtype=object), "keep": np.arange(len(vals))})
    df.index = index_for(data.draw, len(vals))
    out = enrich(df, gazetteer=gaz, boundaries=wards, columns="address")
    keeps_rows(df.index, out, "gc_input_status", lambda s: s in {"ok", "empty_address"})
    assert out["gc_area_status"].notna().all() and out["gc_match_level"].notna().all()
    assert out["keep"].tolist() == list(range(len(vals)))
    same(out, enrich(df, gazetteer=gaz, boundaries=wards, columns="address"))
