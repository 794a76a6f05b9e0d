"""Canonical matching strings for UK addresses (vectorised).

``normalise("Flat 3, 12-14 St. John's Rd., London  se1 7pb")`` ->
``"flat 3 12-14 saint johns road london se1 7pb"``.

Rules: Unicode folded to ASCII, lower case, apostrophes dropped ("John's" -> "johns"), ``&`` ->
``and``, punctuation to spaces (a hyphen or slash between digits is kept: ``12-14``, ``2/3``), spaced
ranges closed up (``12 - 14`` -> ``12-14``), ``No. 5`` -> ``5``, postcodes in canonical form, street
and building abbreviations expanded (Rd, Ave, Gdns, Ct, Cres, Pl, Sq, Terr, Hse, Bldgs ...), and
``St`` read as *street* or *saint* by its position: at the end of a street (before a comma, the end,
a number or a postcode) it is *street*; at the start of a name (after a number, a comma, the start,
or before another name word) it is *saint*.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd

__all__ = ["ABBREVIATIONS", "normalise", "normalise_many"]

#: abbreviation -> expansion (whole tokens, lower case); "st" and "dr" are decided by position
ABBREVIATIONS: dict[str, str] = {
    "rd": "road", "ave": "avenue", "av": "avenue", "avn": "avenue", "gdns": "gardens", "gdn": "gardens",
    "gds": "gardens", "ct": "court", "crt": "court", "cres": "crescent", "cresc": "crescent",
    "cr": "crescent", "pl": "place", "plc": "place", "sq": "square", "terr": "terrace", "ter": "terrace",
    "tce": "terrace", "hse": "house", "bldgs": "buildings", "bldg": "building",
    "blds": "buildings", "ln": "lane", "cl": "close", "gr": "grove", "grv": "grove",
    "pde": "parade", "pk": "park", "wk": "walk", "hts": "heights", "hgts": "heights", "est": "estate",
    "ind": "industrial", "mkt": "market", "apt": "apartment", "apts": "apartments", "flt": "flat",
    "blk": "block", "nth": "north", "sth": "south", "mt": "mount", "cnr": "corner", "upr": "upper",
    "lwr": "lower", "gt": "great", "stn": "station", "cswy": "causeway", "hwy": "highway",
    "app": "approach", "appr": "approach", "bdwy": "broadway", "mws": "mews", "yd": "yard",
    "grn": "green", "psge": "passage", "ctr": "centre", "cntr": "centre",
    "center": "centre", "wy": "way", "rdwy": "roadway", "clo": "close", "prde": "parade",
}

_CTRL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_APOS = re.compile(r"['\u2019\u2018`]")
_PUNCT = re.compile(r"(?<![0-9])[/\-](?![0-9])|(?<=[0-9])[/\-](?![0-9])|(?<![0-9])[/\-](?=[0-9])|[^a-z0-9/\-,\s]")
_RANGE = re.compile(r"(?<=[0-9])\s*([\-/])\s*(?=[0-9])")
_NUMBER_WORD = re.compile(r"\b(?:no|number|num)\s+(?=[0-9])")
_ABBR = re.compile(r"\b(" + "|".join(sorted(map(re.escape, ABBREVIATIONS), key=len, reverse=True)) + r")\b")
def _towns() -> str:
    from .lexicon import POST_TOWNS

    return "|".join(re.escape(t) for t in sorted(POST_TOWNS, key=len, reverse=True))


# St -> street: after a name word and before the end, a comma, a digit, a postcode, a compass word
# ("High St North") or a post town
_END = rf"(?=\s*(?:$|,|[0-9]|[a-z]{{1,2}}[0-9]|(?:north|south|east|west)\b|(?:{_towns()})\b))"
_ST_STREET = re.compile(r"(?<=[a-z] )st\b" + _END)
_DR_DRIVE = re.compile(r"(?<=[a-z] )dr\b" + _END)
_ST_SAINT = re.compile(r"\bst\b")
# RE2 forms (no look-around): the word before and what follows are captured and written back
_END_RE2 = rf"(\s*(?:$|,|[0-9]|[a-z]{{1,2}}[0-9]|(?:north|south|east|west)\b|(?:{_towns()})\b))"
_ST_STREET_RE2 = r"([a-z] )st\b" + _END_RE2
_DR_DRIVE_RE2 = r"([a-z] )dr\b" + _END_RE2
_WS = re.compile(r"\s+")
_PC = re.compile(
    r"\b([a-z]{1,2}[0-9][a-z0-9]?)\s*([0-9][abd-hjlnp-uw-z]{2})\b"
)


def _fold(x: Any) -> str:
    if not isinstance(x, str):
        return ""
    if x.isascii():
        return x
    # strip accents (combining marks); keep letters of other scripts as they are
    d = unicodedata.normalize("NFKD", x)
    return "".join(c for c in d if not unicodedata.combining(c))


def normalise_many(texts: pd.Series | Any) -> pd.Series:
    """:func:`normalise` over a Series (vectorised RE2 regex passes). Missing values give ``""``."""
    from . import _rx

    s = texts if isinstance(texts, pd.Series) else pd.Series(texts, dtype=object)
    s = _rx.to_str(s)
    non_ascii = _rx.contains(s, r"[^\x00-\x7f]")
    if non_ascii.any():
        s = s.copy()
        s[non_ascii] = s[non_ascii].map(_fold).astype("str")
    s = s.str.lower()
    s = _rx.replace(s, r"[\x00-\x1f\x7f]", " ")
    s = _rx.replace(s, r"['`]", "")
    s = s.str.replace("&", " and ", regex=False)
    s = _rx.replace(s, r"([0-9])\s*([\-/])\s*([0-9])", r"\1\2\3")
    s = _rx.replace(s, r"[^\pL\pN/\-,\s]", " ")
    # a hyphen or slash not between two digits is punctuation
    s = _rx.replace(s, r"(^|[^0-9])[/\-]", r"\1 ")
    s = _rx.replace(s, r"[/\-]($|[^0-9])", r" \1")
    s = _rx.replace(s, r"\b(?:no|number|num)\s+([0-9])", r"\1")
    s = _rx.replace(s, r"\s+", " ", screen=_rx.WS_CHANGE)
    s = s.str.replace(" ,", ",", regex=False)
    s = _rx.replace(s, r"\b([a-z]{1,2}[0-9][a-z0-9]?)\s*([0-9][abd-hjlnp-uw-z]{2})\b", r"\1 \2")
    s = _rx.replace(s, _ST_STREET_RE2, r"\1street\2")
    s = _rx.replace(s, _DR_DRIVE_RE2, r"\1drive\2")
    s = _rx.replace(s, r"\bst\b", "saint")
    has_abbr = _rx.contains(s, _ABBR.pattern)
    if has_abbr.any():
        s = s.copy()
        s[has_abbr] = s[has_abbr].str.replace(_ABBR, lambda m: ABBREVIATIONS[m.group(1)], regex=True)
    s = s.str.replace(",", " ", regex=False)
    return _rx.replace(s, r"\s+", " ", screen=_rx.WS_CHANGE).str.strip()


def normalise(text: Any) -> str:
    """The canonical matching string of one address (see the module docstring). None -> ``""``."""
    if text is None or not isinstance(text, str):
        return ""
    return normalise_many(pd.Series([text], dtype=object)).iloc[0]
