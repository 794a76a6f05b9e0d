"""libpostal as the structure parser of ``backend="libpostal"``, followed by the UK rules.

The UK rules run first where libpostal is known to go wrong (police qualifiers, placeholders,
postcodes, which libpostal glues to the town, leading sub-buildings such as "FLAT 6-20, 220 ...",
which it reads as a house number, and floor words such as GFF/2F/L); libpostal then labels what
is left. Its labels map to ours: house -> building_name, house_number, road -> street,
unit/level/staircase/entrance -> sub_building, suburb/city_district -> locality, city -> town (a
city_district stands in for a missing city). Values are given back in the input's own spelling
(libpostal lower-cases and strips punctuation).
"""
from __future__ import annotations

import re

import pandas as pd

from . import _rx, police, rules
from . import libpostal as _lp

_MAP = {
    "house": "building_name",
    "house_number": "house_number",
    "road": "street",
    "unit": "sub_building",
    "level": "sub_building",
    "staircase": "sub_building",
    "entrance": "sub_building",
    "suburb": "locality",
    "city_district": "_district",
    "city": "town",
    "island": "locality",
}
_COLS = ("sub_building", "building_name", "house_number", "street", "locality", "town")


def _original(value: str, text: str) -> str:
    """``value`` (libpostal's lower-cased tokens) as spelled in ``text``, when it can be found."""
    i = text.lower().find(value)
    if i >= 0:
        return text[i:i + len(value)]
    toks = _WORD.findall(value)
    if not toks:
        return value
    low = text.lower()
    if len(low) == len(text) and not any("_" in t for t in toks):
        # the tokens in order, separated only by non-alphanumerics (what the regex below finds,
        # without compiling a pattern per value: that was half the libpostal backend's time)
        first, n = toks[0], len(low)
        start = low.find(first)
        while start >= 0:
            pos = start + len(first)
            for t in toks[1:]:
                while pos < n and not low[pos].isalnum():
                    pos += 1
                if not low.startswith(t, pos):
                    break
                pos += len(t)
            else:
                return text[start:pos]
            start = low.find(first, start + 1)
        return value
    rx = r"[\W_]*".join(re.escape(t) for t in toks)
    m = re.search(rx, text, re.IGNORECASE)
    return m.group(0) if m else value


_WORD = re.compile(r"\w+")


_STRONG_END = re.compile(
    rf"\b{rules._ALT(set(rules.STREET_TYPES) - rules.WEAK_TYPES)}\.?$", re.IGNORECASE)
_ANY_END = re.compile(rf"\b{rules._ALT(rules.STREET_TYPES)}\.?$", re.IGNORECASE)


def _pick_street(parts: list[str]) -> int:
    """Index of the part that is the street: the first ending in a strong street type, else in any
    street type, else the last."""
    if len(parts) == 1:
        return 0
    for rx in (_STRONG_END, _ANY_END):
        for i, p in enumerate(parts):
            if rx.search(p):
                return i
    return len(parts) - 1


def _uk_fix(rec: dict[str, str | None], roads: list[str]) -> None:
    """UK rules on libpostal's labels: of several "road" spans, or a road span holding commas
    ("Hornbeam, Oak Glade"), the street is the part that looks like one; parts before it are the
    building name, parts after it the locality. A building name whose last comma part ends in a
    street type gives that part as the street when libpostal found none."""
    parts = [p.strip() for r in roads for p in r.split(",") if p.strip()]
    if parts:
        k = _pick_street(parts)
        rec["street"] = parts[k]
        before, after = parts[:k], parts[k + 1:]
        if before:
            rec["building_name"] = ", ".join(([rec["building_name"]] if rec["building_name"] else []) + before)
        if after and rec["locality"] is None:
            rec["locality"] = ", ".join(after)
    elif rec["building_name"] and "," in rec["building_name"]:
        bparts = [p.strip() for p in rec["building_name"].split(",") if p.strip()]
        if len(bparts) > 1 and _ANY_END.search(bparts[-1]):
            rec["street"] = bparts[-1]
            rec["building_name"] = ", ".join(bparts[:-1])


def structure_libpostal(rest: pd.Series) -> pd.DataFrame:
    """libpostal labels for each remaining text (one C call per distinct string), then UK fixes."""
    _lp.load()
    # distinct full texts can leave the same remainder (another postcode, town or qualifier):
    # 6.5% of the remainders of 40,000 distinct benchmark queries repeat
    return _rx.per_distinct(rest, _structure_distinct)


def _structure_distinct(texts: pd.Series) -> pd.DataFrame:
    parse = _lp._STATE["parser"].parse_address
    rows = []
    for text in texts.to_numpy(dtype=object):
        s, _ = _lp.safe_text(text)
        rec: dict[str, str | None] = dict.fromkeys(_COLS)
        district = None
        roads: list[str] = []
        if s.strip():
            for value, label in parse(s, language="en", country="gb"):
                f = _MAP.get(label)
                if f is None:
                    continue
                v = _original(value, s)
                if f == "_district":
                    district = v
                elif f == "street":
                    roads.append(v)
                elif rec[f] is None:
                    rec[f] = v
                else:
                    rec[f] = f"{rec[f]} {v}"
        if district is not None:
            if rec["town"] is None:
                rec["town"] = district
            elif rec["locality"] is None:
                rec["locality"] = district
        _uk_fix(rec, roads)
        rows.append(rec)
    return pd.DataFrame(rows, columns=list(_COLS), dtype=object)


def parse_series_libpostal(texts: pd.Series, placeholders: police.Placeholders) -> pd.DataFrame:
    """Parse with libpostal + UK rules (same output as :func:`rules.parse_series`)."""
    _lp.load()
    return rules.parse_series(texts, placeholders, structure=structure_libpostal)
