"""Canonical matching components and blocking keys (private; shared by gazetteer and geocode).

Both sides of a match (gazetteer entries and query records) go through the same functions:
:func:`canonical_components` turns parsed address components (the columns of
:func:`geocrime.address.parse_many`) into compact matching fields, and :func:`block_keys` turns those
into 64-bit blocking keys. A key is a *locator* (postcode unit or sector, the whole street, one
distinctive street token, or a 4-letter prefix/suffix of one for typos) combined with an *anchor*
(the house number, or a building-name token when there is no number). A record is only ever
compared with gazetteer entries that share at least one key; keys shared by more than
``MAX_BLOCK`` entries are dropped at build time (they do not discriminate).

Everything is vectorised over pandas string columns and numpy arrays.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..address import _rx, normalise_many
from ..address.lexicon import GENERIC_PLACES, STREET_WORDS

#: keys with more entries than this are not used for retrieval
MAX_BLOCK = 48



_FLAT_WORDS = (
    r"\b(?:FLAT|FLT|APARTMENT|APT|APPT|UNIT|UNITS|SUITE|STUDIO|ROOM|RM|SHOP|STALL|KIOSK|NO|NUMBER|"
    r"MAISONETTE|PREMISES|OFFICE|OFFICES|PITCH|ARCH|ARCHES|BAY|BLOCK|BLK)\b\.?"
)
_FLOORS = [
    (r"\b(?:GROUND\s*(?:FLOOR|FLR|FL)?|GRD\s*(?:FLOOR|FLR)?|GFF|GFL|G/F|GF)\b", " GF "),
    (r"\b(?:BASEMENT|BSMT|LOWER\s+GROUND(?:\s+FLOOR)?|LGF)\b", " LG "),
    (r"\b(?:FIRST|1ST)\s*(?:FLOOR|FLR|FL)\b|\bFFF?\b|\b1F\b", " 1F "),
    (r"\b(?:SECOND|2ND)\s*(?:FLOOR|FLR|FL)\b|\bSFF?\b|\b2F\b", " 2F "),
    (r"\b(?:THIRD|3RD)\s*(?:FLOOR|FLR|FL)\b|\bTFF?\b|\b3F\b", " 3F "),
    (r"\b(?:TOP)\s*(?:FLOOR|FLR|FL)\b", " TF "),
]
_QUALIFIER_WORDS = r"\b(?:R/O|O/S|REAR\s+OF|REAR|OUTSIDE|OPP|OPPOSITE|ADJ|NR|NEAR|J/O|LAND\s+AT|PART|THE)\b"

_HN = r"^\s*(?P<num>\d{1,5})\s*(?P<suf>[A-Z]?)(?:\s*[-/]\s*(?P<end>\d{1,5})\s*[A-Z]?)?\s*$"


def _extract(s: pd.Series, pattern: str) -> pd.DataFrame:
    """``s.str.extract(pattern)`` in C++ (RE2 via pyarrow; the pattern has named groups and no
    look-around): one column per group, None where the row does not match or the group is empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = re.findall(r"\(\?P<(\w+)>", pattern)
    if not len(s):
        return pd.DataFrame({k: pd.Series([], dtype=object) for k in names}, index=s.index)
    arr = pa.array(s.astype("str").fillna("").to_numpy(dtype=object), type=pa.string())
    res = pc.extract_regex(arr, pattern)
    out = {}
    for k in names:
        col = pc.struct_field(res, k) if res.null_count < len(res) else pa.nulls(len(res), pa.string())
        v = pd.Series(col.to_numpy(zero_copy_only=False), index=s.index, dtype=object)
        out[k] = v.where(v.notna() & (v != ""), None)
    return pd.DataFrame(out, index=s.index)


def _empty(n: int, index: pd.Index) -> pd.Series:
    return pd.Series([""] * n, index=index, dtype="str")


def _s(col: pd.Series | None, index: pd.Index) -> pd.Series:
    if col is None:
        return _empty(len(index), index)
    return col.astype("str").fillna("").str.strip()


def flat_key(sub: pd.Series) -> pd.Series:
    """'Flat 2' -> '2', 'FLAT B' -> 'B', 'Ground Floor Flat' -> 'GF', 'Unit 3a' -> '3A', '' when absent."""
    sub = sub.astype("str").fillna("")
    ne = sub != ""
    if not ne.all():
        out = pd.Series([""] * len(sub), index=sub.index, dtype="str")
        if ne.any():
            out[ne] = flat_key(sub[ne])
        return out
    s = sub.str.upper()
    s = s.str.replace(_QUALIFIER_WORDS, " ", regex=True)
    for pat, rep in _FLOORS:
        s = s.str.replace(pat, rep, regex=True)
    s = s.str.replace(r"\b(?:FLOOR|FLR)\b", " ", regex=True)
    s = s.str.replace(_FLAT_WORDS, " ", regex=True)
    s = s.str.replace(r"[^A-Z0-9]+", "", regex=True)
    return s


def _normalise_columns(cols: list[pd.Series]) -> list[pd.Series]:
    """:func:`geocrime.address.normalise_many` over the distinct non-empty values of several columns."""
    import pyarrow as pa

    allv = pd.concat(cols, ignore_index=True).astype("str").fillna("")
    codes, uniq = pd.factorize(allv)
    un = pd.Series(np.asarray(uniq, dtype=object), dtype="str")
    nz = (un != "").to_numpy(dtype=bool)
    normed = np.full(len(un), "", dtype=object)
    if nz.any():
        normed[nz] = normalise_many(un[nz]).astype("str").fillna("").to_numpy(dtype=object)
    # broadcast back and cut into the columns in Arrow (no Python string per row)
    vals = pa.array(normed, type=pa.large_string()).take(pa.array(codes))
    out, k = [], 0
    for c in cols:
        out.append(_rx._to_str_series(vals.slice(k, len(c)), c.index))
        k += len(c)
    return out


#: address fields repeat a lot (numbers, flats, postcodes): each rule runs once per distinct value
_per_distinct = _rx.per_distinct


def _moved_number(u: pd.Series) -> pd.DataFrame:
    # the parser sometimes leaves the number in the sub-building ("FLAT B 14", "Ground floor flat 14")
    moved = _extract(u, r"^(?P<sub>.*\S)\s+(?P<num>\d{1,5}[A-Za-z]?)$")
    take = moved["num"].notna() & u.str.contains(_FLAT_WORDS + r"|FLOOR|GFF|FFF", case=False, regex=True)
    # ... but "Unit 15A" / "Flat 3" is the flat's own id, not a house number: something must be left
    if take.any():
        take &= flat_key(moved["sub"].fillna("").astype("str")) != ""
    return pd.DataFrame({"take": take.to_numpy(dtype=bool),
                         "num": moved["num"].fillna("").astype("str").str.upper().to_numpy(dtype=object),
                         "sub": moved["sub"].fillna("").to_numpy(dtype=object)})


def _number_parts(u: pd.Series) -> pd.DataFrame:
    m = _extract(u, _HN)
    num = pd.to_numeric(m["num"], errors="coerce").fillna(-1).astype("int32")
    end = pd.to_numeric(m["end"], errors="coerce").fillna(-1).astype("int32")
    end = end.where(end > num, -1)
    # a number the pattern cannot read (e.g. "12 & 14") keeps its first number
    first = pd.to_numeric(_extract(u, r"(?P<d>\d{1,5})")["d"], errors="coerce").fillna(-1).astype("int32")
    num = num.where(num >= 0, first)
    return pd.DataFrame({"num": num.to_numpy(dtype="int32"), "suf": m["suf"].fillna("").to_numpy(dtype=object),
                         "end": end.to_numpy(dtype="int32")})


def _postcode_parts(pc: pd.Series) -> pd.DataFrame:
    full = pc.str.fullmatch(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}")
    sect = pc.str.fullmatch(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9]([A-Z]{2})?")
    dist = pc.str.fullmatch(r"[A-Z]{1,2}[0-9][0-9A-Z]?( [0-9]([A-Z]{2})?)?")
    out = pd.DataFrame(index=pc.index)
    out["pc_unit"] = pc.where(full, "")
    out["pc_sector"] = pc.str.slice(0, -2).where(full, pc.where(sect & ~full, "")).str.strip()
    out["pc_district"] = _extract(pc, r"^(?P<d>[^ ]+)")["d"].fillna("").astype("str").where(dist, "").fillna("")
    out["pc_area"] = _extract(out["pc_district"], r"^(?P<a>[A-Z]{1,2})")["a"].fillna("")
    return out


def canonical_components(parsed: pd.DataFrame) -> pd.DataFrame:
    """Matching fields from parsed components (index preserved).

    Columns: ``flat`` (canonical sub-building id, '' when none), ``hn_num`` / ``hn_end`` (int32,
    -1 when none; a range 12-14 has both), ``hn_suf`` (letter suffix, ''), ``bname`` and
    ``street`` (normalised text, ''), ``place`` (normalised town or locality, ''), ``place2``,
    ``pc_unit``, ``pc_sector``, ``pc_district``, ``pc_area`` ('' when absent).

    Each rule runs once per distinct value of the field it reads (vectorised over those values).
    """
    orig_index = parsed.index
    parsed = parsed.reset_index(drop=True)  # positions from here: a duplicated index must not align
    idx = parsed.index
    sub = _s(parsed.get("sub_building"), idx)
    hn = _s(parsed.get("house_number"), idx).str.upper()
    bname = _s(parsed.get("building_name"), idx)
    street = _s(parsed.get("street"), idx)

    # a number left in the sub-building ("FLAT B 14") when there is no house number
    cand = ((hn == "") & (sub != "")).to_numpy()
    if cand.any():
        mv = _per_distinct(sub[cand], _moved_number)
        t = mv["take"].to_numpy(dtype=bool)
        if t.any():
            rows = np.flatnonzero(cand)[t]
            hn.iloc[rows] = mv["num"].to_numpy(dtype=object)[t]
            sub.iloc[rows] = mv["sub"].to_numpy(dtype=object)[t]
    # "2/14" (flat 2 of number 14) when there is no other flat
    cand = ((sub == "") & hn.str.contains("/", regex=False)).to_numpy()
    if cand.any():
        slash = _per_distinct(hn[cand], lambda u: _extract(
            u, r"^(?P<f>\d{1,4}[A-Z]?)\s*/\s*(?P<n>\d{1,5}[A-Z]?)$").reset_index(drop=True))
        t = slash["n"].notna().to_numpy()
        if t.any():
            rows = np.flatnonzero(cand)[t]
            sub.iloc[rows] = slash["f"].to_numpy(dtype=object)[t]
            hn.iloc[rows] = slash["n"].to_numpy(dtype=object)[t]

    # ... or in the street ("SHOP WINE CONNECTION 79 HAZELLVILLE ROAD", "342 BARING ROAD")
    cand = ((hn == "") & street.str.contains(r"[0-9]", regex=True)).to_numpy()
    if cand.any():
        ins = _per_distinct(street[cand], lambda u: _extract(
            u, r"^(?:(?P<b>.*?[A-Za-z].*?),?\s+)?(?P<n>\d{1,5}[A-Za-z]?(?:\s*-\s*\d{1,5}[A-Za-z]?)?)\s+(?P<s>[A-Za-z].*)$"
        ).reset_index(drop=True))
        t = ins["n"].notna().to_numpy()
        if t.any():
            rows = np.flatnonzero(cand)[t]
            got = ins[t]
            hn.iloc[rows] = got["n"].astype("str").str.upper().str.replace(" ", "", regex=False).to_numpy(dtype=object)
            street.iloc[rows] = got["s"].fillna("").to_numpy(dtype=object)
            addb = (bname.iloc[rows] == "").to_numpy() & got["b"].notna().to_numpy()
            bname.iloc[rows[addb]] = got["b"].to_numpy(dtype=object)[addb]

    parts = _per_distinct(hn, _number_parts)
    out = pd.DataFrame(index=idx)
    out["flat"] = _per_distinct(sub, lambda u: pd.DataFrame({"f": flat_key(u).astype("str").to_numpy(dtype=object)}))["f"].astype("str")
    out["hn_num"] = parts["num"].to_numpy(dtype="int32")
    out["hn_suf"] = parts["suf"].astype("str")
    out["hn_end"] = parts["end"].to_numpy(dtype="int32")
    town = _s(parsed.get("town"), idx)
    loc = _s(parsed.get("locality"), idx)
    # a building or business name written after the street is parsed into the locality
    # ("33 Junction Road, Greggs, Islington"): its first comma part becomes the building name
    split = (bname == "") & loc.str.contains(",", regex=False)
    if split.any():
        parts_ = loc[split].str.split(",", n=1)
        bname = bname.where(~split, parts_.str[0].fillna("").str.strip())
        loc = loc.where(~split, parts_.str[1].fillna("").str.strip())
    norm = _normalise_columns([bname, street, town, loc])
    out["bname"] = norm[0]
    out["street"] = _street_tidy(norm[1])
    for col, v in (("place", norm[2]), ("place2", norm[3])):
        out[col] = v.where(~v.isin(GENERIC_PLACES), "")
    pc = _s(parsed.get("postcode"), idx).str.upper()
    pcp = _per_distinct(pc, lambda u: _postcode_parts(u).reset_index(drop=True))
    for c in ("pc_unit", "pc_sector", "pc_district", "pc_area"):
        out[c] = pcp[c].astype("str")
    out.index = orig_index
    return out


#: a road known by its number ("A217", "B507", "M25"): a street key although it has no two letters in a row
ROAD_NUMBER_RX = r"[abm]\d{1,4}"


def _street_tidy(st: pd.Series) -> pd.Series:
    """Normalised street texts -> street keys: a street that is only a number or junk is no street,
    but a road number is ("A217", "B507", "M25": police.uk writes "On or near A217"); a trailing
    "london" is no part of it."""
    ldn = st.str.endswith(" london")
    if ldn.any():
        st = st.where(~ldn, st[ldn].str.replace(r"^(.+\S) (?:london|greater london)$", r"\1", regex=True))
    return st.where(st.str.contains(rf"[a-z]{{2}}|^{ROAD_NUMBER_RX}$", regex=True), "")


def street_keys(texts: pd.Series) -> pd.Series:
    """The street key of street names written alone (a second street of a junction, a
    thoroughfare): the ``street`` column :func:`canonical_components` gives for a record with only
    that street, a leading house number dropped ("1A Freshford Street"), without its fixed cost."""
    s = _s(texts, texts.index).str.replace(
        r"^\d{1,5}[A-Za-z]?(?:\s*-\s*\d{1,5}[A-Za-z]?)?\s+(?=[A-Za-z])", "", regex=True)
    return _street_tidy(_normalise_columns([s])[0])


_MULT = np.uint64(0x9E3779B97F4A7C15)


def _hash_values(values: np.ndarray | pd.Series) -> np.ndarray:
    """Deterministic uint64 hash of each value (strings hashed once per distinct value). A pandas
    ``str`` Series (Arrow-backed) is factorised in C++ and only its distinct values become Python
    strings; the hashes are the same as for the equal object array."""
    if not len(values):
        return np.zeros(0, np.uint64)
    codes, uniq = pd.factorize(values)
    u = np.asarray(uniq, dtype=object)
    if not (isinstance(values, pd.Series) and values.dtype == "str"):
        u = u.astype(str).astype(object)  # any non-text value hashed as its text, as always
    h = pd.util.hash_array(u, categorize=False)
    return h[codes]


#: street-type words never used as query tokens (too common to block on)
_QUERY_SKIP = frozenset("the of and road street lane avenue close way drive place court london house".split())


def _tokens(text: pd.Series, min_len: int = 3, keep_generic: bool = False) -> pd.DataFrame:
    """(row position, token) for distinctive tokens of a text column; a text made only of
    street-type words ("The Broadway", "Green Lane") uses those words (except "the"/"of"/"and").
    Split and filtered in C++ (pyarrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _str_array(text)
    lists = pc.split_pattern(arr, " ")
    flat = pc.list_flatten(lists)
    parent = pc.list_parent_indices(lists).to_numpy()
    keep = pc.and_(pc.greater_equal(pc.utf8_length(flat), min_len), pc.invert(pc.utf8_is_digit(flat))).to_numpy(zero_copy_only=False)
    generic = pc.is_in(flat, value_set=_STREET_WORDS_PA()).to_numpy(zero_copy_only=False)
    filler = pc.is_in(flat, value_set=pa.array(["the", "of", "and"])).to_numpy(zero_copy_only=False)
    has_distinct = np.zeros(len(text) + 1, dtype=bool)
    has_distinct[parent[keep & ~generic]] = True
    if keep_generic:
        # a query street may carry its town ("The Broadway Cheam"): keep the generic words too
        skip = pc.is_in(flat, value_set=pa.array(sorted(_QUERY_SKIP))).to_numpy(zero_copy_only=False)
        keep &= ~generic | ~skip | (~has_distinct[parent] & ~filler)
    else:
        keep &= ~generic | (~has_distinct[parent] & ~filler)
    tok = flat.filter(pa.array(keep))
    return pd.DataFrame({"pos": parent[keep].astype(np.int64), "tok": _rx.arrow_to_str(tok)})


def _str_array(text: pd.Series) -> object:
    """A text column as one pyarrow ``string`` array ('' for missing), straight from the Arrow
    buffers of a pandas ``str`` column (no Python string per value)."""
    import pyarrow as pa

    s = text.astype("str").fillna("")
    arr = pa.array(s.array) if hasattr(s.array, "__arrow_array__") else pa.array(s.to_numpy(dtype=object), type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.string())


_SW: list = []


def _STREET_WORDS_PA():  # noqa: N802
    import pyarrow as pa

    if not _SW:
        _SW.append(pa.array(sorted(STREET_WORDS)))
    return _SW[0]


def _anchors(c: pd.DataFrame, gazetteer_side: bool) -> tuple[np.ndarray, np.ndarray]:
    """(pos, anchor hash) — house numbers (every number of a short range on the gazetteer side,
    the range end on the query side; the start is the number itself) and building-name tokens
    (on the query side also locality/town/street tokens of records with neither)."""
    n = len(c)
    pos = np.arange(n)
    num = c["hn_num"].to_numpy()
    end = c["hn_end"].to_numpy()
    ps, vs = [pos[num >= 0]], [num[num >= 0]]
    has_rng = (end > num) & (num >= 0)
    if has_rng.any():
        span = np.minimum(end[has_rng] - num[has_rng], 24)
        rp = np.repeat(pos[has_rng], span)
        start = np.repeat(num[has_rng], span)
        off = np.arange(len(rp)) - np.repeat(np.cumsum(span) - span, span) + 1
        if not gazetteer_side:
            keep = off == np.repeat(span, span)
            rp, start, off = rp[keep], start[keep], off[keep]
        ps.append(rp)
        vs.append(start + off)
    npos = np.concatenate(ps)
    nval = np.concatenate(vs).astype(np.uint64) * _MULT + np.uint64(1)  # numbers never collide with token hashes in practice
    fl = c["flat"].reset_index(drop=True).astype("str")
    fok = (fl != "").to_numpy()
    tparts = [_tokens(c["bname"].reset_index(drop=True), min_len=3),
              # the flat / unit id: tells apart the units of a building too big for one block
              pd.DataFrame({"pos": np.flatnonzero(fok).astype(np.int64), "tok": ("%" + fl[fok]).reset_index(drop=True)})]
    if not gazetteer_side:
        # a record without a number: its building name and street may be swapped or split
        # differently from the gazetteer's ("Sylvia Avenue, Grimsdyke Primary School"), so its street
        # tokens are anchors too; without a building name its place tokens as well
        non = (c["hn_num"] < 0).to_numpy()
        nob = (c["bname"] == "").to_numpy() & non
        for col, m in (("place2", nob), ("place", nob), ("street", non)):
            tparts.append(_tokens(c[col].reset_index(drop=True).where(m, ""), min_len=3))
    t = pd.concat(tparts, ignore_index=True)
    th = _hash_values("@" + t["tok"].astype("str"))
    return np.concatenate([npos, t["pos"].to_numpy(np.int64)]), np.concatenate([nval, th])


def block_keys(c: pd.DataFrame, gazetteer_side: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Blocking keys of canonical components: (row positions int64, keys uint64), unsorted.

    Locators: postcode unit ``U``, sector ``S``, whole street ``W``, distinctive street token ``T``,
    its 3-letter prefix ``P`` and suffix ``X`` (typos). Each is combined with every anchor of the
    row (key = hash(locator) * K + hash(anchor), uint64); a row without anchors uses ``U`` and ``W``
    alone.
    """
    c = c.reset_index(drop=True)
    n = len(c)
    pos = np.arange(n)
    lp, lv = [], []
    for kind, col in (("U", "pc_unit"), ("S", "pc_sector"), ("W", "street")):
        v = c[col]
        ok = (v != "").to_numpy()
        lp.append(pos[ok])
        lv.append(kind + v[ok].astype("str"))
    tk = _tokens(c["street"], min_len=3, keep_generic=not gazetteer_side)
    if not gazetteer_side:
        # ... and its building-name tokens locate like street tokens
        swap = ((c["hn_num"] < 0) & (c["bname"] != "")).reset_index(drop=True)
        if swap.any():
            tk = pd.concat([tk, _tokens(c["bname"].reset_index(drop=True).where(swap, ""), min_len=3)], ignore_index=True)
    tok = tk["tok"].astype("str")
    lp.append(tk["pos"].to_numpy())
    lv.append("T" + tok)
    lg = (tok.str.len() >= 4).to_numpy()
    lp += [tk["pos"].to_numpy()[lg]] * 3
    tl = tok[lg]
    lv += ["P" + tl.str.slice(0, 3), "X" + tl.str.slice(-3),
           # a substitution in a short word ("Upoon" for "Upton"): first two letters and the length
           "L" + tl.str.slice(0, 2) + tl.str.len().astype("str")]
    lpos = np.concatenate(lp)
    # the locator texts stay Arrow strings (no Python string per key)
    lval = pd.concat(lv, ignore_index=True).astype("str")
    is_uw = np.concatenate([np.full(len(x), k != "S") for x, k in zip(lp, ["U", "S", "W", "T", "P", "X", "L"])])
    lh = _hash_values(lval)
    apos, ah = _anchors(c, gazetteer_side)
    # join locators and anchors of the same row (both sorted by row)
    lo_ = np.argsort(lpos, kind="stable")
    lpos, lh, is_uw = lpos[lo_], lh[lo_], is_uw[lo_]
    ao = np.argsort(apos, kind="stable")
    apos, ah = apos[ao], ah[ao]
    a_start = np.searchsorted(apos, lpos, "left")
    a_cnt = np.searchsorted(apos, lpos, "right") - a_start
    tot = int(a_cnt.sum())
    rp = np.repeat(lpos, a_cnt)
    rl = np.repeat(lh, a_cnt)
    ai = np.repeat(a_start - (np.cumsum(a_cnt) - a_cnt), a_cnt) + np.arange(tot)
    keys = rl * _MULT + ah[ai]
    # a row with neither number nor building token is found by its postcode unit / street alone
    bare = (a_cnt == 0) & is_uw
    if not gazetteer_side:
        # a query with neither number nor building name may be a street-only entry: its place /
        # street tokens were tried as anchors above, the bare keys are tried too
        # (or a business name in front of a street-only entry: "ASDA, Merrielands Crescent")
        non = (c["hn_num"] < 0).to_numpy()
        bare |= non[lpos] & is_uw
    keys = np.concatenate([keys, lh[bare] * _MULT + np.uint64(7)])
    rows = np.concatenate([rp, lpos[bare]]).astype(np.int64)
    return rows, keys


class BlockIndex:
    """Sorted key array -> gazetteer row positions; lookups by ``np.searchsorted``."""

    def __init__(self, keys: np.ndarray, rows: np.ndarray, max_block: int = MAX_BLOCK) -> None:
        order = np.lexsort((rows, keys))
        keys, rows = keys[order], rows[order]
        # drop duplicate (key,row) and over-full keys
        if len(keys):
            dup = np.r_[False, (keys[1:] == keys[:-1]) & (rows[1:] == rows[:-1])]
            keys, rows = keys[~dup], rows[~dup]
            uk, start, cnt = np.unique(keys, return_index=True, return_counts=True)
            keep = np.repeat(cnt <= max_block, cnt)
            keys, rows = keys[keep], rows[keep]
        self.keys = keys
        self.rows = rows.astype(np.int32)
        self.max_block = max_block

    def distinct(self) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        """The distinct keys as a hashed pandas Index, the position of each one's first row and its
        row count: built once (before workers fork), rebuilt only if ``keys`` is replaced."""
        c = getattr(self, "_distinct", None)
        if c is None or c[0] is not self.keys:
            u, start, cnt = np.unique(self.keys, return_index=True, return_counts=True)
            h = pd.Index(np.asarray(u, dtype=np.uint64).view(np.int64))
            h.get_indexer(h[:1])  # build the hash table now
            c = (self.keys, h, start.astype(np.int64), cnt.astype(np.int64))
            self._distinct = c
        return c[1], c[2], c[3]

    def lookup(self, qpos: np.ndarray, qkeys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs (query position, gazetteer row), deduplicated, sorted by query."""
        ukeys, ustart, ucnt = self.distinct()
        if not len(ukeys) or not len(qkeys):
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        # one hash-table probe per needle into the distinct keys (8x faster than binary searches)
        j = ukeys.get_indexer(np.asarray(qkeys, dtype=np.uint64).view(np.int64))
        hit = j >= 0
        qpos, j = qpos[hit], j[hit]
        lo = ustart[j]
        cnt = ucnt[j]
        tot = int(cnt.sum())
        if tot == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        qp = np.repeat(qpos, cnt)
        starts = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt)
        gi = self.rows[starts + np.arange(tot)]
        comb = qp.astype(np.int64) * np.int64(1 << 31) + gi.astype(np.int64)
        comb.sort()
        comb = comb[np.r_[True, comb[1:] != comb[:-1]]]
        return comb >> 31, (comb & ((1 << 31) - 1)).astype(np.int32)
