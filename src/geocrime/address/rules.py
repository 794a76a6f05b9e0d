"""The pure-Python UK rule parser (``backend="rules"``), vectorised over a pandas Series.

Pipeline, each step one or two regex passes over the whole Series, run by RE2 in C++ through
pyarrow.compute (:mod:`._rx`; look-around patterns only on the few rows a cheap RE2 screen selects;
batches under ``_rx.SMALL`` rows use Python's ``re``, which gives the same answers):

1. clean: control characters and NULs to spaces, whitespace collapsed, line breaks and ``;`` to
   commas, over-long strings truncated (flagged);
2. placeholders (:mod:`.police`): NFA, unknown, various, police.uk "No Location", custody suites...;
3. police qualifier (:mod:`.police`): "On or near", "o/s", "r/o", "j/o", "opp", "nr", "adj",
   "car park of", "bus stop"; a junction's text is split into two streets;
4. postcode (:mod:`.postcode`): the last valid postcode, removed from the text;
5. trailing county (Kent, Middlesex ...) dropped, a trailing post town / borough taken as ``town``;
6. leading sub-building: "Flat 3", "Unit B", "FLAT 6-20", "Ground Floor", "GFF/FFF/TFF", "2F/L",
   a bare "B"/"M"/"LG" floor letter, "Rear";
7. the street part: the first comma part that starts with a house number (``12``, ``12a``, ``12-14``,
   ``116 - 126``) -> number + street, parts before it are the building name; failing that the first
   part ending in a street-type word; failing that the last part (a bare street name such as
   "Bishopsgate"); a police.uk category ("Supermarket") is a building name, not a street;
8. parts after the street: the first is ``locality``; a second one (if the town was not found by
   name in step 5) is the ``town``.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from . import _rx, places, police, postcode
from .lexicon import COUNTIES, PARSE_FIELDS, POST_TOWNS, STREET_TYPES
from .normalise import normalise_many

__all__ = ["MAX_LEN", "STREET_TYPES", "POST_TOWNS", "COUNTIES", "parse_series", "split_trailing_place",
           "ends_in_street_type"]

#: longest address text parsed; longer text is truncated and flagged (``parse_status="truncated"``)
MAX_LEN = 500

_POST_TOWN_SET = frozenset(POST_TOWNS) | {t.replace("-", " ") for t in POST_TOWNS}

_ALT = lambda words: "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(set(words), key=len, reverse=True)) + ")"  # noqa: E731

_CTRL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x{9f}\x{200b}-\x{200f}\x{2028}\x{2029}\x{202a}-\x{202e}\x{2060}-\x{2069}\x{feff}]"
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")
#: HTML tags (by name, so "<N1 0PQ>" is not one) that web forms and exports leave in address text
_HTML_TAG_RE2 = (r"</?(?:a|abbr|b|big|blink|body|center|code|div|em|font|h[1-6]|head|hr|html|i|iframe|img|li|marquee|"
                 r"object|ol|p|pre|s|script|small|span|strike|strong|style|sub|sup|svg|table|tbody|td|th|title|tr|u|ul)"
                 r"\b[^<>]{0,200}>")
_BREAKS = re.compile(r"\s*(?:[\r\n]+|;|\|)\s*")
_COMMAS = re.compile(r"\s*,(?:\s*,)*\s*")
_WS = re.compile(r"[ \t\xa0]+")
#: the strings _COMMAS changes: a comma not written as ", " before a word (RE2's \s is [\t\n\f\r ])
_COMMAS_CHANGE = r"\s,|,[^ ]|,$|, \s"

_COUNTY_TAIL = re.compile(rf"(?:^|,\s*|\s+){_ALT(COUNTIES)}\.?\s*$", re.IGNORECASE)
_TOWN_TAIL = re.compile(rf"^(?P<pre>(?:.*?)(?:,\s*|\s+))?(?P<town>{_ALT(POST_TOWNS)})\s*$", re.IGNORECASE)

_SUB_ID = (
    r"(?:[0-9]+[a-z]?\s*(?:[-/&]|and)\s*[0-9]+[a-z]?|[a-z]\s*(?:[-/&]|and)\s*[a-z]|[a-z]\s?[0-9]+[a-z]?"
    r"|[0-9]+[a-z]?|[a-z][0-9]*)(?![a-z0-9'])"
)
_SUB_WORD = (
    r"(?:(?:retail|office|industrial|business|ground\s+floor|first\s+floor)\s+)?"
    r"(?:apartments|apartment|flats|flat|units|unit|suites|suite|rooms|room|studio|block|stall|kiosk|shops|shop|"
    r"offices|office|plots|plot|bay|arches|arch|workshop|maisonette|garage|pitch|berth|store|floor|level|apt)\b\.?"
)
_SUB_ONE = (
    rf"(?:{_SUB_WORD}(?:\s*no\.?)?\s*{_SUB_ID}(?:\s+(?:and|&)\s+{_SUB_WORD}\s*{_SUB_ID})?"
    r"|(?:ground|first|second|third|fourth|fifth|sixth|top|basement|lower\s+ground|upper\s+ground|"
    r"mezzanine|1st|2nd|3rd|4th|5th|6th)\s+(?:floor|flr|fl)\b\.?"
    r"(?:\s+(?:flat|front|rear|back|left|right|shop|unit|premises|office|suite))?"
    r"|(?:basement|lower\s+ground|upper\s+ground)(?:\s+flat)?(?![a-z])"
    r"|(?:gff|fff|sff|tff|bff|lgf|ugf|gfr|ffr|gfl|ffl|sfl|tfl|gf|ff|sf|tf)(?![a-z0-9])"
    r"|[0-9]{1,2}(?:st|nd|rd|th)?\s*f\s*/\s*l(?![a-z])|[0-9]{1,2}\s*f[0-9]?(?![a-z0-9])"
    r"|(?:rear|front)(?:\s+of)?(?=\s*[,0-9])|r/o(?=\s*[,0-9])|flat\s+above"
    r"|(?:b|m|g|lg|ug)(?=\s*,)"
    r")"
)
_SUB_RX = re.compile(
    rf"^(?P<sub>{_SUB_ONE}(?:\s*,?\s*{_SUB_ONE})?)(?:\s*,\s*|\s+)(?P<rest>\S.*)$", re.IGNORECASE | re.DOTALL
)
# a whole comma part that is a sub-building ("Charcoal King, Ground Floor, 75 Stroud Green Road")
_FLOORS_PART = (
    r"(?:(?:basement|lower\s+ground|ground|first|1st|upper\s+ground|mezzanine)(?:\s+floors?)?\s+(?:and|&)\s+"
    r"(?:ground|first|1st|upper|basement|mezzanine|second|2nd)(?:\s+floors?)?)"
)
_SUB_PART_RX = re.compile(
    rf"(?:^|,\s*)(?P<sub>(?:{_SUB_ONE}|{_FLOORS_PART}(?:\s+flat)?|{_SUB_WORD}|[a-z ]*\s+rear\s+of|rear\s+of|r/o)"
    rf"(?:\s*,?\s*{_SUB_ONE})?)\s*(?=,|$)",
    re.IGNORECASE,
)
# cheap RE2 screens: only texts passing them go through the look-around regexes above
_SUB_START_SCREEN = (
    r"^\s*(?:flat|apartment|apt|unit|suite|room|studio|block|stall|kiosk|shop|office|plot|bay|arch|workshop|"
    r"maisonette|garage|pitch|berth|store|floor|level|retail|industrial|business|ground|first|second|third|"
    r"fourth|fifth|sixth|top|basement|lower|upper|mezzanine|[0-9]{1,2}(?:st|nd|rd|th)?\s*f|gff|fff|sff|tff|bff|"
    r"lgf|ugf|gfr|ffr|gfl|ffl|sfl|tfl|gf|ff|sf|tf|rear|front|r/o|b\s*,|m\s*,|g\s*,|lg\s*,|ug\s*,)"
)
_SUB_SCREEN = (
    r"\b(?:flat|apartments?|apt|units?|suites?|rooms?|studio|block|stall|kiosk|shops?|offices?|plots?|bay|arch|"
    r"arches|workshop|maisonette|garage|pitch|berth|store|floors?|level|basement|mezzanine|ground|rear|r/o|gff|"
    r"fff|sff|tff|bff|lgf|ugf|gf|ff|sf|tf|[0-9]{1,2}\s*f)\b"
)
_NUM = r"[0-9]+[a-z]?(?:\s*[-/&]\s*[0-9]+[a-z]?)?"
# street part led by a house number: parts before it (if any) are the building name
_NUMBERED_RX = re.compile(
    rf"^(?:(?P<bname>.*?)\s*,\s*)??(?P<num>{_NUM})(?:\s*,\s*|\s+)(?P<street>[a-z][^,]*?)(?:\s*,\s*(?P<tail>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
#: street types that also end premises names ("Tower Retail Park", "Deptford Market"): a part ending
#: in one of these is the street only when no part ends in a strong type
WEAK_TYPES: frozenset[str] = frozenset({
    "park", "market", "green", "hill", "court", "gate", "yard", "wharf", "view", "vale", "wood", "woods",
    "fields", "field", "common", "bridge", "circus", "broadway", "arcade", "precinct", "concourse",
    "estate", "quay", "reach", "orchard", "meadow", "meadows", "grange", "mount", "wall", "churchyard",
})
#: a compass word that ends a street name ("Breakspear Road South", "Whalebone Lane North")
_COMPASS = r"(?:\s+(?:north|south|east|west))?"
_TYPED_RX = re.compile(
    rf"^(?:(?P<bname>.*?)\s*,\s*)??(?P<street>[^,]*?\b{_ALT(set(STREET_TYPES) - WEAK_TYPES)}\b\.?{_COMPASS})"
    r"(?:\s*,\s*(?P<tail>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
_WEAK_TYPED_RX = re.compile(
    rf"^(?:(?P<bname>.*?)\s*,\s*)??(?P<street>[^,]*?\b{_ALT(WEAK_TYPES)}\b\.?{_COMPASS})(?:\s*,\s*(?P<tail>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
#: words that end a premises name written in front of its street in one part
#: ("St Mary Magdalene Primary School Kingsman Street")
PREMISES_WORDS: tuple[str, ...] = (
    "school", "academy", "college", "market", "centre", "center", "house", "church", "hall", "hotel",
    "hospital", "library", "station", "surgery", "club", "pub", "inn", "tavern", "nursery", "cafe",
    "restaurant", "store", "stores", "supermarket", "garage", "office", "offices", "depot", "works",
    "factory", "warehouse", "studios", "mosque", "temple", "synagogue", "chapel", "pavilion", "lodge",
)
_PREMISES_SPLIT_RX = re.compile(
    rf"^(?P<bname>.+?\b{_ALT(PREMISES_WORDS)})\s+(?P<street>(?!{_ALT(STREET_TYPES)}\b)\S.*)$", re.IGNORECASE
)
_PREMISES_SCREEN = rf"\b{_ALT(PREMISES_WORDS)}\b"
_LAST_RX = re.compile(r"^(?:(?P<bname>.*)\s*,\s*)?(?P<street>[^,]+)$", re.DOTALL)
_TAIL_RX = re.compile(r"^(?P<locality>[^,]+?)(?:\s*,\s*(?P<town>.+))?$", re.DOTALL)
_CATEGORY_RX = re.compile(rf"^\s*{_ALT(police.POLICE_UK_CATEGORIES)}\s*$", re.IGNORECASE)

FIELDS = PARSE_FIELDS


def _none(n: int, index: pd.Index) -> pd.Series:
    return pd.Series([None] * n, index=index, dtype=object)


def _strip(s: pd.Series) -> pd.Series:
    """Trim separators; empty strings to None."""
    s = s.astype(object)
    ok = s.notna()
    t = _rx.squash_spaces(s[ok].astype("str")).str.strip(" ,;-:.")
    out = _none(len(s), s.index)
    out[ok] = t.astype(object).where(t.str.len() > 0, None)
    return out


_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Co", "Cn", "Cs"})


def _drop_symbols(text: str) -> str:
    return "".join(" " if ord(c) > 127 and (unicodedata.category(c) in _SYMBOL_CATEGORIES or c == "\ufe0f") else c
                   for c in text)


def clean_series(texts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(cleaned text, truncated flag) for a Series of str (missing -> "")."""
    s = texts.astype("str")
    truncated = s.str.len() > MAX_LEN
    if truncated.any():
        s = s.where(~truncated, s.str.slice(0, MAX_LEN))
    # symbols (emoji, pictographs, U+FFFD from undecodable text) and private-use/unassigned code
    # points carry no address information and would hide a house number ("🏠 12 High St")
    odd = _rx.contains(s, r"[^\x00-\x7f]")
    if odd.any():
        s = s.copy()
        s[odd] = s[odd].map(_drop_symbols).astype("str")
    # Excel's text-forcing formula ="SE1 7PB" (CSV exports that protect leading zeros / postcodes)
    s = _rx.replace(s, r'^\s*="(.*)"\s*$', r"\1")
    # HTML from web forms / exports: <br> is a line break, other tags are noise around the address
    s = _rx.replace(s, r"<\s*br\s*/?\s*>", ", ")
    s = _rx.replace(s, _HTML_TAG_RE2, " ")
    s = _rx.replace(s, _CTRL_RE2, " ")
    s = _rx.replace(s, _BREAKS.pattern, ", ")
    s = _rx.squash_spaces(s)
    s = _rx.replace(s, _COMMAS.pattern, ", ", screen=_COMMAS_CHANGE)
    s = s.str.strip(" ,.")
    # police "at 12 High St", "at Flat 3 ...": a leading "at" adds nothing
    s = _rx.replace(s, r"^at\s+([0-9]|(?:flat|unit|apartment|no\.?)\s)", r"\1")
    # no letter or digit at all ("!!!...---", "???", emoji only): nothing to parse, i.e. empty
    s = s.where(_rx.contains(s, r"[\pL\pN]"), "")
    return s, truncated


def parse_series(
    texts: pd.Series,
    placeholders: police.Placeholders = police.DEFAULT_PLACEHOLDERS,
    structure: Any = None,
    places_lexicon: "places.PlaceLexicon | None" = None,
) -> pd.DataFrame:
    """Parse cleaned address strings (pandas ``str`` Series, no missing values) into components.

    Returns a DataFrame with the same index and the columns of :data:`FIELDS` (object dtype,
    None where absent). ``structure``: None for the rule parser; or a callable taking the remaining
    text (qualifier, postcode and leading sub-building removed) and returning a DataFrame with
    columns ``sub_building, building_name, house_number, street, locality, town`` (libpostal).
    ``places_lexicon``: the place names a street may end with ("Rye Lane Peckham": street "Rye Lane",
    locality "Peckham"); default the packaged London lexicon.
    """
    idx = texts.index
    n = len(texts)
    out = {f: _none(n, idx) for f in FIELDS}

    # 2. placeholders
    out["placeholder"] = police.find_placeholders(texts, placeholders)
    live = out["placeholder"].isna() & (texts.str.len() > 0)

    # 3. qualifier
    rest = _qualifier_step(texts, live, out)
    # 4. postcode, landmarks, junctions
    rest = _postcode_step(rest, out)
    rest = _landmark_step(rest, out)
    rest = _junction_step(rest, out)
    # 5. county / town at the end
    rest, town_found = _town_step(rest, out)

    if structure is not None:
        return _finish_external(out, rest, structure, idx, placeholders, places_lexicon)

    # 6. leading sub-building
    rest = _sub_building_step(rest, out)
    # 7. street part
    parts = _street_parts(rest)
    _sub_building_parts(parts, out, rest.index)
    # 8. tail -> locality (+ town when not found by name)
    _tail_step(parts["tail"], town_found, out)

    return _tidy(out, idx, placeholders, places_lexicon)


def _qualifier_step(texts: pd.Series, live: pd.Series, out: dict[str, pd.Series]) -> pd.Series:
    """Location qualifier ("On or near", "R/O", ...) and police.uk map-point categories; returns the rest."""
    q = police.split_qualifier(texts[live])
    out["location_qualifier"][live] = q["location_qualifier"]
    # "R/O 12 High St", "Rear of ...": the qualifier is also the sub-building (the rear premises)
    ro = q["location_qualifier"] == "rear_of"
    if ro.any():
        out["sub_building"][ro.index[ro.to_numpy(dtype=bool)]] = q.loc[ro, "phrase"]
    rest = q["rest"].astype("str")
    # police.uk's map-point categories ("On or near Supermarket") are a kind of place, not a name
    cat = _rx.contains(rest, _CATEGORY_RX.pattern)
    if cat.any():
        ci = cat.index[cat.to_numpy(dtype=bool)]
        out["building_name"][ci] = rest[ci].str.strip().astype(object)
        rest = rest[~cat]
    return rest


def _postcode_step(rest: pd.Series, out: dict[str, pd.Series]) -> pd.Series:
    """The postcode; returns the rest."""
    pc = postcode.extract_many(rest)
    out["postcode"][pc.index] = pc["postcode"]
    rest = pc["remainder"].astype("str")
    return rest


def _landmark_step(rest: pd.Series, out: dict[str, pd.Series]) -> pd.Series:
    """Landmarks named by the first part; returns the rest."""
    # landmarks: a first part naming a station ("Victoria Station", "Brixton tube") is the building
    # name, and its key the landmark; the parse goes on with the other parts
    lm = places.find_landmarks(rest)
    li = lm.index[lm["landmark"].notna().to_numpy()]
    if len(li):
        out["landmark"][li] = lm.loc[li, "landmark"]
        out["landmark_kind"][li] = lm.loc[li, "landmark_kind"]
        first = _rx.extract(rest[li], r"^(?P<first>[^,]*)(?:,\s*(?P<others>.*))?$")
        out["building_name"][li] = first["first"].astype(object)
        rest.loc[li] = first["others"].fillna("").astype("str")
    return rest


def _junction_step(rest: pd.Series, out: dict[str, pd.Series]) -> pd.Series:
    """Junctions: the second street; returns the rest."""
    # junctions: qualifier "junction" or an infix "A Rd j/w B Rd"
    junc = (out["location_qualifier"].reindex(rest.index) == "junction") | police.has_junction_infix(rest)
    if junc.any():
        jr = rest[junc]
        # "j/w" infix anywhere wins over other separators
        jr_inf = _rx.replace(jr, police._JUNCTION_INFIX, " / ")
        js = police.split_junction(jr_inf.str.strip())
        got = js["second_street"].notna()
        gi = got.index[got.to_numpy(dtype=bool)]
        out["location_qualifier"][gi] = "junction"
        # "A Road and B Street, Stratford": the second street ends at a comma; the rest goes on
        s2 = _rx.extract(js.loc[gi, "second_street"].astype("str"), r"^(?P<s2>[^,]*)(?:,\s*(?P<tail>.*))?$")
        out["second_street"][gi] = _strip(s2["s2"])
        tail = s2["tail"].fillna("").astype("str")
        s1 = js.loc[gi, "street"].astype("str")
        rest.loc[gi] = s1.where(tail.str.len() == 0, s1 + ", " + tail)
    return rest


def _town_step(rest: pd.Series, out: dict[str, pd.Series]) -> tuple[pd.Series, pd.Series]:
    """County and town at the end; returns the rest and where a town was found by name."""
    rest = _rx.replace(rest, _COUNTY_TAIL.pattern, "").str.strip(" ,")
    tm = pd.DataFrame({"pre": _none(len(rest), rest.index), "town": _none(len(rest), rest.index)})
    spaced = pd.Series(False, index=rest.index)
    tscreen = _rx.contains(rest, rf"{_ALT(POST_TOWNS)}\s*$")  # DFA screen before any sub-match pass
    if tscreen.any():
        r2 = rest[tscreen]
        # the usual case: the last comma part is a town (a set lookup, no big alternation to match)
        lm = _rx.extract(r2, r"^(?:(?P<pre>.*),\s*)?(?P<last>[^,]*)$")
        last = lm["last"].astype(object).where(lm["last"].notna(), "").astype("str").str.strip()
        is_town = _rx.replace(last.str.lower(), r"\s+", " ", screen=_rx.WS_CHANGE).isin(_POST_TOWN_SET)
        ti = is_town.index[is_town.to_numpy(dtype=bool)]
        tm.loc[ti, "pre"] = lm.loc[ti, "pre"].to_numpy(dtype=object)
        tm.loc[ti, "town"] = last[ti].to_numpy(dtype=object)
        # comma-free text: a town after a space ("Flat 3 14 Foo Road Sutton")
        other = r2[~is_town.to_numpy(dtype=bool)]
        other = other[~other.str.contains(",", regex=False)]
        if len(other):
            om = _rx.extract(other, _TOWN_TAIL.pattern)
            tm.loc[other.index, "pre"] = om["pre"].to_numpy(dtype=object)
            tm.loc[other.index, "town"] = om["town"].to_numpy(dtype=object)
            spaced[other.index] = om["pre"].notna().to_numpy()
    pre_text = _rx.contains(tm["pre"].fillna("").astype("str"), r"[^ ,]")  # something before the town
    has_town = tm["town"].notna() & tm["pre"].notna() & pre_text
    # never after a word that makes it another place ("West Ealing", "South Croydon"; "New Malden" is
    # listed whole)
    sp = spaced & has_town
    if sp.any():
        bad = _rx.contains(tm.loc[sp, "pre"].astype("str"),
                           r"(?:^|\s)(?:west|east|north|south|upper|lower|new|old|great|little|central|greater|st|saint)\s+$")
        has_town[bad.index[bad.to_numpy(dtype=bool)]] = False
    # a bare town with nothing before it ("London") is the town too
    only_town = tm["town"].notna() & (tm["pre"].isna() | ~pre_text)
    hi = has_town.index[(has_town | only_town).to_numpy(dtype=bool)]
    out["town"][hi] = tm.loc[hi, "town"].astype(object)
    rest.loc[hi] = tm.loc[hi, "pre"].fillna("").astype("str").str.strip(" ,")
    town_found = pd.Series(False, index=rest.index)
    town_found[hi] = True
    return rest, town_found


def _sub_building_step(rest: pd.Series, out: dict[str, pd.Series]) -> pd.Series:
    """A leading sub-building ("Flat 3", "Unit 2"); returns the rest."""
    sm = _rx.extract(rest[_rx.contains(rest, _SUB_START_SCREEN)], _SUB_RX.pattern).reindex(rest.index)
    si = sm.index[sm["sub"].notna().to_numpy()]
    out["sub_building"][si] = sm.loc[si, "sub"].astype(object)
    rest.loc[si] = sm.loc[si, "rest"].astype("str")
    return rest


def _street_parts(rest: pd.Series) -> dict[str, pd.Series]:
    """Split the street part into building name, house number, street and tail (ordered rules, first match wins)."""
    nonempty = rest.str.len() > 0
    parts = {k: _none(len(rest), rest.index) for k in ("bname", "num", "street", "tail")}
    done = ~nonempty
    m = _rx.extract(rest[~done], _NUMBERED_RX.pattern)
    ok = m["num"].notna()
    oi = ok.index[ok.to_numpy()]
    for k in ("bname", "num", "street", "tail"):
        parts[k][oi] = m.loc[oi, k].astype(object)
    done[oi] = True
    for rx in (_TYPED_RX, _WEAK_TYPED_RX):
        if (~done).any():
            m = _rx.extract(rest[~done], rx.pattern)
            ok = m["street"].notna()
            oi = ok.index[ok.to_numpy()]
            for k in ("bname", "street", "tail"):
                parts[k][oi] = m.loc[oi, k].astype(object)
            done[oi] = True
            # "X Primary School Kingsman Street": premises name and street in one part
            if len(oi):
                st = m.loc[oi, "street"].astype("str")
                st = st[_rx.contains(st, _PREMISES_SCREEN)]
                ps = _rx.extract(st, _PREMISES_SPLIT_RX.pattern)
                pok = ps["street"].notna() & _rx.contains(
                    ps["street"].astype(object).where(ps["street"].notna(), "").astype("str"),
                    rf"\b{_ALT(STREET_TYPES)}\.?$")
                pi = pok.index[pok.to_numpy(dtype=bool)]
                if len(pi):
                    prev = parts["bname"][pi]
                    parts["bname"][pi] = ps.loc[pi, "bname"].where(
                        prev.isna(), prev.astype("str") + ", " + ps.loc[pi, "bname"].astype("str")).astype(object)
                    parts["street"][pi] = ps.loc[pi, "street"].astype(object)
    if (~done).any():
        m = _rx.extract(rest[~done], _LAST_RX.pattern)
        ok = m["street"].notna()
        oi = ok.index[ok.to_numpy()]
        for k in ("bname", "street"):
            parts[k][oi] = m.loc[oi, k].astype(object)
        done[oi] = True
    return parts


def _sub_building_parts(parts: dict[str, pd.Series], out: dict[str, pd.Series], rest_index: pd.Index) -> None:
    """Sub-buildings written as their own part among the names; building name, number and street into ``out``."""
    # a sub-building written as its own part among the names ("Caffe X, Ground Floor, 12 ...")
    bn = parts["bname"]
    hb = bn.notna()
    if hb.any():
        bns = bn[hb].astype("str")
        bm = _rx.extract(bns[_rx.contains(bns, _SUB_SCREEN)], _SUB_PART_RX.pattern).reindex(bns.index)
        got = bm["sub"].notna()
        gi = got.index[got.to_numpy(dtype=bool)]
        if len(gi):
            cur = out["sub_building"][gi]
            subs = bm.loc[gi, "sub"].astype(object)
            out["sub_building"][gi] = cur.where(cur.isna(), cur.astype("str") + ", " + subs.astype("str")).where(
                cur.notna(), subs)
            bn.loc[gi] = _rx.replace(bn[gi].astype("str"), _SUB_PART_RX.pattern, "").str.strip(" ,").astype(object)
    out["building_name"][rest_index] = out["building_name"][rest_index].where(
        out["building_name"][rest_index].notna(), bn
    )
    out["house_number"][rest_index] = parts["num"]
    out["street"][rest_index] = parts["street"]


def _tail_step(tail: pd.Series, town_found: pd.Series, out: dict[str, pd.Series]) -> None:
    """The tail: locality, and the town when none was found by name."""
    has_tail = tail.notna()
    if has_tail.any():
        tt = _rx.extract(tail[has_tail].astype("str"), _TAIL_RX.pattern)
        ti = tt.index
        out["locality"][ti] = tt["locality"].astype(object)
        tf = town_found[ti]
        two = tt["town"].notna() & ~tf
        wi = two.index[two.to_numpy(dtype=bool)]
        out["town"][wi] = tt.loc[wi, "town"].astype(object)
        # a town already found by name: middle parts join the locality
        extra = tt["town"].notna() & tf
        ei = extra.index[extra.to_numpy(dtype=bool)]
        out["locality"][ei] = (tt.loc[ei, "locality"].astype("str") + ", " + tt.loc[ei, "town"].astype("str")).astype(object)


def _finish_external(out: dict[str, pd.Series], rest: pd.Series, structure: Any, idx: pd.Index,
                     placeholders: police.Placeholders, places_lexicon: Any = None) -> pd.DataFrame:
    """Steps 6-8 by an external parser (libpostal), with the UK rules that fix what it gets wrong.

    Before: leading and mid-text sub-building parts are taken out ("Basement And Ground Floor",
    "Rear Of"), spaced ranges are closed ("12 - 14" -> "12-14"), and a police.uk "On or near X"
    with a single part is a street (police.uk names streets; libpostal often calls them suburbs).
    After: a libpostal "city" that is not a known post town or borough is a locality.
    """
    sm = _rx.extract(rest[_rx.contains(rest, _SUB_START_SCREEN)], _SUB_RX.pattern).reindex(rest.index)
    si = sm.index[sm["sub"].notna().to_numpy()]
    out["sub_building"][si] = sm.loc[si, "sub"].astype(object)
    rest.loc[si] = sm.loc[si, "rest"].astype("str")
    # sub-building parts in the middle ("Caffe X, Basement And Ground Floor, 12 ...")
    mid = _rx.extract(rest[_rx.contains(rest, _SUB_SCREEN)], _SUB_PART_RX.pattern).reindex(rest.index)
    mi = mid.index[mid["sub"].notna().to_numpy()]
    if len(mi):
        cur = out["sub_building"][mi]
        subs = mid.loc[mi, "sub"].astype(object)
        out["sub_building"][mi] = subs.where(cur.isna(), cur.astype("str") + ", " + subs.astype("str"))
        rest.loc[mi] = _rx.replace(rest[mi], _SUB_PART_RX.pattern, "", max_replacements=1).str.strip(" ,")
    rest = _rx.replace(rest, r"([0-9])\s*-\s*([0-9])", r"\1-\2")
    # police.uk "On or near X": X is the street
    oon = (out["location_qualifier"].reindex(rest.index) == "on_or_near") & ~rest.str.contains(",", regex=False)
    oi = oon.index[oon.to_numpy(dtype=bool) & (rest.str.len() > 0).to_numpy()]
    out["street"][oi] = rest[oi].astype(object)
    live = (rest.str.len() > 0) & ~oon
    if live.any():
        ext = structure(rest[live])
        li = ext.index
        for f in ("building_name", "house_number", "street", "locality", "town"):
            cur = out[f][li]
            out[f][li] = cur.where(cur.notna(), ext[f].astype(object))
        # libpostal's city that is not a post town (Walthamstow, Stratford) is a locality
        town = ext["town"].astype(object)
        not_post = town.notna() & ~town.fillna("").astype("str").str.fullmatch(_ALT(POST_TOWNS), case=False)
        ni = not_post.index[not_post.to_numpy(dtype=bool)]
        if len(ni):
            took = out["town"][ni].astype(object).eq(town[ni]) & out["locality"][ni].isna()
            ti = took.index[took.to_numpy(dtype=bool)]
            out["locality"][ti] = town[ti]
            out["town"][ti] = None
        # the town was already read from the text by the UK rules: libpostal's "city" is the locality
        extra = town.notna() & out["town"][li].astype(object).ne(town) & out["locality"][li].isna()
        ei = extra.index[extra.to_numpy(dtype=bool)]
        out["locality"][ei] = town[ei]
        sub = ext["sub_building"].astype(object)
        cur = out["sub_building"][li]
        both = cur.notna() & sub.notna()
        merged = cur.where(cur.notna(), sub)
        bi = both.index[both.to_numpy(dtype=bool)]
        merged[bi] = cur[bi].astype("str") + " " + sub[bi].astype("str")
        out["sub_building"][li] = merged
    return _tidy(out, idx, placeholders, places_lexicon)


#: a street followed by more words ("Rye Lane Peckham"): ``st`` ends at the first (``_LAZY``) or the
#: last street-type word, ``pl`` is what follows; split only when ``pl`` is a place name
_TRAIL_TYPES = _ALT(STREET_TYPES)
_TRAILING_LAZY = rf"^(?P<st>.*?\b{_TRAIL_TYPES}\.?)\s+(?P<pl>[a-z][a-z '&.\-]*)$"
_TRAILING_GREEDY = rf"^(?P<st>.*\b{_TRAIL_TYPES}\.?)\s+(?P<pl>[a-z][a-z '&.\-]*)$"
#: ... a compass word after the street type belongs to the street when the words before the place
#: are not a place with it ("Forest Drive East Waltham Forest": "East Waltham Forest" is no place;
#: "High Street South Croydon" keeps the locality South Croydon: tried after the two above)
_TRAILING_COMPASS = rf"^(?P<st>.*?\b{_TRAIL_TYPES}\.?\s+(?:north|south|east|west))\s+(?P<pl>[a-z][a-z '&.\-]*)$"


def ends_in_street_type(texts: pd.Series) -> pd.Series:
    """True where a text ends in a street-type word (:data:`STREET_TYPES`, abbreviations included,
    an optional full stop): "Selsdon Park Road", "Motor Way", "High St." (vectorised, same index)."""
    return _rx.contains(texts.astype(str).str.lower(), rf"\b{_ALT(STREET_TYPES)}\.?$")


def split_trailing_place(street: pd.Series, locality: pd.Series, lexicon: Any = None) -> tuple[pd.Series, pd.Series]:
    """(street, locality) with place words written after a street moved to the locality ("Rye Lane
    Peckham" -> "Rye Lane", "Peckham"; a locality already given follows: "Peckham, London"). Only
    when the words after a street-type word are a place name of ``lexicon`` (default the packaged
    London lexicon). The gazetteer applies the same split to its street names ("High Road
    Leytonstone"), so both sides of a match read a street the same way. Each distinct street is
    split once."""
    lex = lexicon if lexicon is not None else places.default_places()
    street = street.astype(object).copy()
    locality = locality.astype(object).copy()
    has = street.notna().to_numpy()
    if not has.any():
        return street, locality
    rows = np.flatnonzero(has)
    codes, uniq = pd.factorize(street.to_numpy(dtype=object)[rows])
    st_u, pl_u = _trailing_place_split(pd.Series(np.asarray(uniq, dtype=object), dtype=object), lex)
    hit_u = pd.notna(pl_u)
    take = hit_u[codes]
    if not take.any():
        return street, locality
    hit, hc = rows[take], codes[take]
    street.iloc[hit] = st_u[hc]
    pl = pd.Series(pl_u[hc], dtype="str")
    cur = pd.Series(locality.to_numpy(dtype=object)[hit], dtype=object)
    curs = cur.fillna("").astype("str")
    locality.iloc[hit] = pl.where(cur.isna() | (curs == ""), pl + ", " + curs).astype(object).to_numpy(dtype=object)
    return street, locality


def _trailing_place_split(u: pd.Series, lex: Any) -> tuple[np.ndarray, np.ndarray]:
    """For distinct street texts ``u`` (default index): the street without its trailing place words
    and those words (object arrays; the place is None where there is nothing to split)."""
    st_out = np.full(len(u), None, dtype=object)
    pl_out = np.full(len(u), None, dtype=object)
    # screen: the last word ends some place name (a set lookup in C), a street-type word comes before it
    cand = u[lex.ends_with_place_word(u)].astype("str")
    if len(cand):
        cand = cand[_rx.contains(cand, rf"\b{_TRAIL_TYPES}\.?\s+[a-z]")].str.strip(" ,.")
    for pat in (_TRAILING_LAZY, _TRAILING_GREEDY, _TRAILING_COMPASS):
        if not len(cand):
            break
        m = _rx.extract(cand, pat)
        m = m[m["pl"].notna().to_numpy()]
        if not len(m):
            continue
        isp = lex.is_place(m["pl"].astype("str").str.strip(" .,"))
        hit = isp.index[isp.to_numpy(dtype=bool)]
        if not len(hit):
            continue
        st_out[hit.to_numpy()] = m.loc[hit, "st"].to_numpy(dtype=object)
        pl_out[hit.to_numpy()] = m.loc[hit, "pl"].astype("str").str.strip(" .,").to_numpy(dtype=object)
        cand = cand.drop(hit)
    return st_out, pl_out


def _split_trailing_place(out: dict[str, pd.Series], lexicon: Any) -> None:
    """:func:`split_trailing_place` on the street and the second street of a junction."""
    for col in ("street", "second_street"):
        if out[col].notna().any():
            out[col], out["locality"] = split_trailing_place(out[col], out["locality"], lexicon)


def _tidy(out: dict[str, pd.Series], idx: pd.Index, placeholders: police.Placeholders,
          places_lexicon: Any = None) -> pd.DataFrame:
    _split_trailing_place(out, places_lexicon)
    sb = out["sub_building"]
    rear = sb.notna() & out["location_qualifier"].isna()
    if rear.any():
        is_rear = _rx.contains(sb[rear].astype("str"), r"\brear\b|\br/o\b")
        out["location_qualifier"][is_rear.index[is_rear.to_numpy(dtype=bool)]] = "rear_of"
    # trim every text component in one vectorised pass (the columns stacked end to end)
    text_fields = [f for f in FIELDS if f not in ("placeholder", "location_qualifier")]
    n = len(idx)
    stacked = np.concatenate([out[f].to_numpy(dtype=object) for f in text_fields]) if n else np.array([], dtype=object)
    present = pd.notna(stacked)
    cleaned = np.full(len(stacked), None, dtype=object)
    if present.any():
        t = _rx.squash_spaces(pd.Series(stacked[present], dtype=object).astype("str")).str.strip(" ,;-:.")
        tv = t.to_numpy(dtype=object)
        tv[t.str.len().to_numpy() == 0] = None
        cleaned[present] = tv
    cols = {f: cleaned[i * n:(i + 1) * n] for i, f in enumerate(text_fields)}
    for f in ("placeholder", "location_qualifier"):
        v = out[f].to_numpy(dtype=object, copy=True)
        v[pd.isna(v)] = None
        cols[f] = v
    res = pd.DataFrame({f: cols[f] for f in FIELDS}, index=idx, dtype=object)
    # a configured police station / custody address is a placeholder, whatever its spelling
    if placeholders.addresses:
        listed = listed_addresses(res["building_name"], res["house_number"], res["street"],
                                         res["postcode"], placeholders)
        if listed.any():
            li = listed.index[listed.to_numpy(dtype=bool)]
            res.loc[li, [f for f in FIELDS if f not in ("placeholder", "location_qualifier")]] = None
            res.loc[li, "placeholder"] = "listed_address"
    # house numbers: close up spaced ranges "116 - 126" -> "116-126"
    hn = res["house_number"]
    hok = hn.notna()
    if hok.any():
        res.loc[hok, "house_number"] = _rx.replace(hn[hok].astype("str"), r"\s*([-/&])\s*", r"\1").astype(object)
    return res


# ------------------------------------------------------- addresses listed as placeholders
def listed_keys(placeholders: police.Placeholders) -> dict[str, str | None]:
    """``{normalised "building|number street": postcode or None}`` of the configured addresses."""
    if not placeholders.addresses:
        return {}
    return _listed_keys(tuple(placeholders.addresses))


@lru_cache(maxsize=64)
def _listed_keys(addresses: tuple[str, ...]) -> dict[str, str | None]:
    p = parse_series(pd.Series(list(addresses), dtype="str"), police.Placeholders())
    keys = _component_keys(p["building_name"], p["house_number"], p["street"])
    return {k: pcd for k, pcd in zip(keys, p["postcode"]) if k}


def _component_keys(building: pd.Series, number: pd.Series, street: pd.Series) -> list[str]:
    m = len(street)
    both = pd.concat([x.astype(object).where(x.notna(), "") for x in (building, number, street)], ignore_index=True)
    norm = normalise_many(both.astype("str"))  # one vectorised call for the three columns
    b, n, st = norm.iloc[:m], norm.iloc[m:2 * m], norm.iloc[2 * m:]
    # with a house number the building name is not needed; without one it is
    keys = np.where(n.to_numpy(dtype=object) != "", "|" + n.to_numpy(dtype=object) + " " + st.to_numpy(dtype=object),
                    b.to_numpy(dtype=object) + "|" + st.to_numpy(dtype=object))
    return [k if st_ != "" else "" for k, st_ in zip(keys, st.to_numpy(dtype=object))]


def listed_addresses(building: pd.Series, number: pd.Series, street: pd.Series, postcode: pd.Series,
                     placeholders: police.Placeholders) -> pd.Series:
    """True where a parsed address is one of ``placeholders.addresses`` (same number and street, and the
    same postcode when both have one)."""
    keys = listed_keys(placeholders)
    out = pd.Series(False, index=street.index)
    if not keys:
        return out
    cand = street.notna()
    if not cand.any():
        return out
    # screen: only streets starting like a listed street are compared in full
    firsts = sorted({(k.split("|")[1].split(" ", 1) + [""])[1 if k.startswith("|") else 0].split(" ")[0]
                     for k in keys} - {""})
    if firsts:
        cand &= _rx.contains(street.astype(object).where(cand, "").astype("str"),
                             r"^\s*(?:" + "|".join(map(re.escape, firsts)) + r")\b")
    if not cand.any():
        return out
    k = pd.Series(_component_keys(building[cand], number[cand], street[cand]), index=street.index[cand.to_numpy()])
    pcs = postcode[cand]
    hit = [kk in keys and (keys[kk] is None or p is None or p == keys[kk])
           for kk, p in zip(k.to_numpy(dtype=object), pcs.to_numpy(dtype=object))]
    out[k.index] = hit
    return out
