"""Pairwise comparison of a query with its candidate entries, Splink style (private).

Every comparison family (house number, flat, street, building name, postcode, place) puts each
candidate pair in one named level; each level has a weight (a log2 Bayes factor, hand-set and
inspectable in :data:`WEIGHTS`). The score of a pair is the sum of its levels' weights; the named
levels that are not exact agreements are the pair's *faults* (``FLAT.mismatch``,
``POSTCODE.sector_only``, ``STREET.fuzzy`` ...). All comparisons are numpy/rapidfuzz batch calls over
the candidate-pair arrays.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

#: The comparison levels, declared once (Splink's comparison-library way): family, level name,
#: the condition that puts a candidate pair in it, and its weight (a log2 Bayes factor, hand-set and
#: measured on the evaluation sets). Within a family the order is the level code; level 0 is always
#: "none" (nothing to compare). :data:`LEVELS` and :data:`WEIGHTS` are derived from this table.
COMPARISON_LEVELS: tuple[tuple[str, str, str, float], ...] = (
    ("HOUSE_NUMBER", "none", "no house number on the query", 0.0),
    ("HOUSE_NUMBER", "exact", "same number and suffix", 6.0),
    ("HOUSE_NUMBER", "in_range", "the number lies in the entry's range (12 in 10-14)", 2.5),
    ("HOUSE_NUMBER", "suffix_missing", "same number, one side has a suffix (14 / 14A)", -5.0),
    ("HOUSE_NUMBER", "suffix_mismatch", "same number, different suffixes (14A / 14C): veto", -14.0),
    ("HOUSE_NUMBER", "mismatch", "different numbers: veto", -14.0),
    ("HOUSE_NUMBER", "missing", "the entry has a number, the query none", -4.0),
    ("HOUSE_NUMBER", "extra", "the query has a number, the entry none", -3.0),
    ("HOUSE_NUMBER", "range_overlap", "two ranges that overlap", 0.0),
    ("HOUSE_NUMBER", "range_other_side", "in the range's span but of the other parity", -6.0),
    ("FLAT", "none", "no flat on the query", 0.0),
    ("FLAT", "exact", "same flat", 4.0),
    ("FLAT", "mismatch", "different flats: veto", -14.0),
    ("FLAT", "missing", "the entry has a flat, the query none", -5.0),
    ("FLAT", "extra", "the query has a flat, the entry none", -3.0),
    ("FLAT", "differs", "flats written differently (Flat 2 / Unit 2)", -3.0),
    ("STREET", "none", "no street on the query", 0.0),
    ("STREET", "exact", "same street key", 5.0),
    ("STREET", "close", "near-identical spelling", 4.0),
    ("STREET", "fuzzy", "a typo", 3.0),
    ("STREET", "weak", "loosely similar", 0.0),
    ("STREET", "mismatch", "different streets", -8.0),
    ("STREET", "missing", "the entry has a street, the query none", -2.0),
    ("STREET", "extra", "the query has a street, the entry none", -1.0),
    ("STREET", "in_text", "the street is inside the other side's building + street text", 5.0),
    ("STREET", "in_text_fuzzy", "... with a typo", 3.0),
    ("BUILDING", "none", "no building name on the query", 0.0),
    ("BUILDING", "exact", "same building name", 5.0),
    ("BUILDING", "fuzzy", "similar building names", 3.5),
    ("BUILDING", "mismatch", "different building names", -2.0),
    ("BUILDING", "missing", "the entry has a building name, the query none", -1.0),
    ("BUILDING", "extra", "the query has a building name, the entry none", -0.5),
    ("BUILDING", "partial", "some words in common", 1.5),
    ("BUILDING", "in_text", "the name is inside the other side's building + street text", 5.0),
    ("BUILDING", "in_text_fuzzy", "... with a typo", 2.0),
    ("BUILDING", "contains", "one name inside the other (The New Den / Millwall FC The New Den)", 2.5),
    ("POSTCODE", "none", "no postcode on the query", 0.0),
    ("POSTCODE", "exact", "same unit", 6.0),
    ("POSTCODE", "sector_only", "same sector, other unit", 2.5),
    ("POSTCODE", "district_only", "same district, other sector", 1.0),
    ("POSTCODE", "mismatch", "different districts", -4.0),
    ("POSTCODE", "missing", "the entry has a postcode, the query none", 0.0),
    ("PLACE", "none", "no place words to compare", 0.0),
    ("PLACE", "exact", "a place word of the query is the entry's locality/town", 3.0),
    ("PLACE", "mismatch", "both name places and they differ (soft: a locality is not a boundary)", -1.5),
    ("PLACE", "conflict", "the entry lies outside every borough the text names, or outside within=: veto", -40.0),
)

#: family -> level names (index = code), derived from :data:`COMPARISON_LEVELS`
LEVELS: dict[str, tuple[str, ...]] = {}
#: family -> weight of each level (log2 Bayes factors), derived from :data:`COMPARISON_LEVELS`
WEIGHTS: dict[str, np.ndarray] = {}
#: family -> level -> the condition it stands for
CONDITIONS: dict[str, dict[str, str]] = {}
for _fam, _lv, _cond, _w in COMPARISON_LEVELS:
    LEVELS[_fam] = LEVELS.get(_fam, ()) + (_lv,)
    CONDITIONS.setdefault(_fam, {})[_lv] = _cond
for _fam in LEVELS:
    WEIGHTS[_fam] = np.array([w for f, _, _, w in COMPARISON_LEVELS if f == _fam])
del _fam, _lv, _cond, _w

#: levels that are agreements, not faults
_NOT_FAULTS = {"none", "exact"}


class _Col:
    """``src[idx]`` without gathering it: indexing with a mask or positions gathers only those
    pairs (most text comparisons concern a small share of the candidate pairs)."""

    __slots__ = ("src", "idx")

    def __init__(self, src: np.ndarray, idx: np.ndarray) -> None:
        self.src, self.idx = src, idx

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, sel: np.ndarray) -> np.ndarray:
        return self.src[self.idx[sel]]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:  # noqa: ANN001
        a = self.src[self.idx]
        return a if dtype is None else a.astype(dtype)

    def tolist(self) -> list:
        return self.src[self.idx].tolist()


def gathered(src: "dict[str, np.ndarray]", idx: np.ndarray, cols: "tuple[str, ...]") -> "dict[str, _Col]":
    """Per-pair views of text fields ``cols`` of ``src`` (rows ``idx``), gathered on use."""
    return {c: _Col(src[c], idx) for c in cols}


def _code(conds: list[tuple[np.ndarray, int]], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int8)
    for cond, code in reversed(conds):  # first condition listed wins
        out[cond] = code
    return out


def _sim(a: np.ndarray, b: np.ndarray, mask: np.ndarray, scorer=fuzz.ratio, cutoff: float | None = None) -> np.ndarray:
    """Similarity 0-100 of the masked pairs (0 elsewhere, and below ``cutoff`` when given)."""
    out = np.zeros(len(a), dtype=np.float32)
    if mask.any():
        out[mask] = process.cpdist(a[mask].tolist(), b[mask].tolist(), scorer=scorer, workers=1, score_cutoff=cutoff)
    return out


def _sim_keyed(a: np.ndarray, b: np.ndarray, mask: np.ndarray, scorer, ka: np.ndarray, kb: np.ndarray,
               cutoff: float | None = None, lengths: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """:func:`_sim`, computed once per distinct (``ka``, ``kb``) pair of text keys (a query's
    candidates share streets: 2.5x fewer comparisons on the benchmark queries). ``lengths``: the
    text lengths per pair, for a plain ``fuzz.ratio`` with ``cutoff``: pairs whose lengths cannot
    reach the cutoff are not compared (their similarity is 0, as below the cutoff)."""
    if lengths is not None and cutoff is not None:
        mask = mask & _len_ok(lengths[0], lengths[1], cutoff)
    out = np.zeros(len(a), dtype=np.float32)
    if not mask.any():
        return out
    idx = np.flatnonzero(mask)
    key = ka[idx].astype(np.int64) * np.int64(1 << 24) + kb[idx].astype(np.int64)
    inv, uniq = pd.factorize(key)  # hashed: no sort
    first = np.empty(len(uniq), dtype=np.int64)
    first[inv[::-1]] = np.arange(len(inv) - 1, -1, -1)  # the first pair of each key
    rep = idx[first]
    r = process.cpdist(a[rep].tolist(), b[rep].tolist(), scorer=scorer, workers=1, score_cutoff=cutoff)
    out[idx] = r[inv]
    return out


def _text_key(code: np.ndarray, qi: np.ndarray, vocab_size: int = 1 << 24) -> np.ndarray:
    """A key per pair for the query-side text: its vocabulary code, or (for a text the gazetteer
    never holds, code -1) one key per query row."""
    return np.where(code >= 0, code.astype(np.int64), np.int64(vocab_size) + qi.astype(np.int64))


#: the entry texts a long query street is also compared with: street + place(s), building + street (+ place)
ALT_TEXTS = {"st_p": ("street", "place"), "st_p2": ("street", "place2"), "st_p2_p": ("street", "place2", "place"),
             "b_st": ("bname", "street"), "b_st_p": ("bname", "street", "place"), "b_st_p2": ("bname", "street", "place2")}


def join_fields(f: dict[str, np.ndarray], cols: "tuple[str, ...] | list[str]", rows: np.ndarray | None = None) -> np.ndarray:
    """The non-empty values of text fields ``cols`` joined with spaces, per record (or per ``rows``)."""
    parts = [(f[c] if rows is None else f[c][rows]).tolist() for c in cols]
    return np.array([" ".join(filter(None, t)) for t in zip(*parts)], dtype=object)


def _lengths(texts: np.ndarray) -> np.ndarray:
    return np.fromiter(map(len, texts.tolist()), dtype=np.int32, count=len(texts))


def entry_texts(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per gazetteer entry: the :data:`ALT_TEXTS` and their lengths, the street length (computed once)."""
    out: dict[str, np.ndarray] = {"street_len": _lengths(f["street"])}
    for name, cols in ALT_TEXTS.items():
        out[name] = join_fields(f, cols)
        out[name + "_len"] = _lengths(out[name])
    return out


def compare(q: dict[str, np.ndarray], g: dict[str, np.ndarray],
            qs: dict[str, np.ndarray], gs: dict[str, np.ndarray],
            gtext: dict[str, np.ndarray], gi: np.ndarray, qi: np.ndarray,
            q_street_len: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Level codes (int8 arrays) per family for candidate pairs.

    ``q``/``g``: the matching fields gathered per pair (same length), text fields as integer codes
    of one shared vocabulary (0 = empty, -1 = a query value the gazetteer never holds), so equality
    is an integer comparison; ``qs``/``gs``: the texts of ``street``, ``bname``, ``place``,
    ``place2`` per pair, for the fuzzy comparisons; ``gtext``: :func:`entry_texts` of the
    gazetteer (built once, not per pair); ``gi``/``qi``: each pair's entry row and query row (fuzzy
    similarities are computed once per distinct text pair); ``q_street_len``: the length of each
    query row's street (indexed by ``qi``; computed here when not given)."""
    street, b_in_street = _street_levels(q, g, qs, gs, gtext, gi, qi, q_street_len)
    return {"HOUSE_NUMBER": _house_number_levels(q, g), "FLAT": _flat_levels(q, g, qs, gs), "STREET": street,
            "BUILDING": _building_levels(q, g, qs, gs, qi, b_in_street), "POSTCODE": _postcode_levels(q, g),
            "PLACE": _place_levels(q, g)}


def _house_number_levels(q: dict[str, np.ndarray], g: dict[str, np.ndarray]) -> np.ndarray:
    """HOUSE_NUMBER level per pair: numbers, suffixes and ranges (a UK range runs down one side)."""
    qn, gn = q["hn_num"], g["hn_num"]
    qsf, gsf = q["hn_suf"], g["hn_suf"]
    ge = np.where(g["hn_end"] > gn, g["hn_end"], gn)
    qe = np.where(q["hn_end"] > qn, q["hn_end"], qn)
    q_has, g_has = qn >= 0, gn >= 0
    both = q_has & g_has
    same_num = both & (qn == gn) & (qe == ge)
    suf_eq = qsf == gsf
    q_suf, g_suf = qsf != 0, gsf != 0
    overlap = both & (qn <= ge) & (gn <= qe)
    contained = both & (((qn >= gn) & (qe <= ge)) | ((gn >= qn) & (ge <= qe)))
    # UK ranges run down one side of the street: 101-103 holds 101 and 103, not 102 (a range whose
    # ends differ in parity, 12-15, holds every number)
    g_rng, q_rng = ge > gn, qe > qn
    other_side = contained & (
        (g_rng & ~q_rng & ((gn % 2) == (ge % 2)) & ((qn % 2) != (gn % 2)))
        | (q_rng & ~g_rng & ((qn % 2) == (qe % 2)) & ((gn % 2) != (qn % 2))))
    contained &= ~other_side
    return _code([
        (same_num & suf_eq, 1),
        (same_num & q_suf & g_suf, 4),
        (same_num, 3),
        (contained & ~(q_suf & g_suf & ~suf_eq), 2),
        (overlap & ~(q_suf & g_suf & ~suf_eq) & ~other_side, 8),
        (other_side, 9),
        (both, 5),
        (~q_has & g_has, 6),
        (q_has & ~g_has, 7),
    ], len(qn))


def _flat_levels(q: dict[str, np.ndarray], g: dict[str, np.ndarray], qs: dict[str, np.ndarray],
                 gs: dict[str, np.ndarray]) -> np.ndarray:
    """FLAT level per pair: a flat/unit identifier (2 vs B, 14 vs 3A) that differs contradicts; two
    longer floor descriptions ("basement and ground floors" vs "basement") merely differ."""
    qf, gf = q["flat"], g["flat"]
    n = len(qf)
    qf_has, gf_has = qf != 0, gf != 0
    fdiff = qf_has & gf_has & (qf != gf)
    longdesc = np.zeros(n, dtype=bool)
    if fdiff.any():
        qfs = pd.Series(qs["flat"][fdiff], dtype="str")
        gfs = pd.Series(gs["flat"][fdiff], dtype="str")
        ql, gl = qfs.str.len().to_numpy(), gfs.str.len().to_numpy()
        # ... and so does a floor written in part ("LG" vs "LG and GF": one starts with the other)
        part = np.fromiter((a.startswith(b) or b.startswith(a) for a, b in zip(qfs.tolist(), gfs.tolist())),
                           dtype=bool, count=len(qfs)) & (np.maximum(ql, gl) > 4)
        longdesc[fdiff] = ((ql > 4) & (gl > 4)) | part
    return _code([
        (qf_has & gf_has & (qf == gf), 1),
        (fdiff & longdesc, 5),
        (qf_has & gf_has, 2),
        (~qf_has & gf_has, 3),
        (qf_has & ~gf_has, 4),
    ], n)


def _street_levels(q: dict[str, np.ndarray], g: dict[str, np.ndarray], qs: dict[str, np.ndarray],
                   gs: dict[str, np.ndarray], gtext: dict[str, np.ndarray], gi: np.ndarray, qi: np.ndarray,
                   q_street_len: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(STREET level per pair, where the entry's building + street text is the query's street): the
    street keys, their spelling similarity, and the entry's street with its place or building name
    for a query street that holds more words."""
    qst, gst = q["street"], g["street"]
    qst_has, gst_has = qst != 0, gst != 0
    st_both = qst_has & gst_has
    st_eq = st_both & (qst == gst)
    fz = st_both & ~st_eq
    # (levels start at 70: below that the exact value does not matter)
    qst_len = q_street_len[qi] if q_street_len is not None else _lengths(qs["street"])
    sim = _sim_keyed(qs["street"], gs["street"], fz, fuzz.ratio, _text_key(qst, qi), gst, cutoff=70,
                     lengths=(qst_len, gtext["street_len"][gi]))
    b_in_street = _street_alt_texts(sim, fz, q, g, qs, gtext, gi, qst_len)
    street = _code([
        (st_eq, 1),
        (st_both & (sim >= 90), 2),
        (st_both & (sim >= 85), 3),
        (st_both & (sim >= 70), 4),
        (st_both, 5),
        (~qst_has & gst_has, 6),
        (qst_has & ~gst_has, 7),
    ], len(qst))
    return street, b_in_street


def _street_alt_texts(sim: np.ndarray, fz: np.ndarray, q: dict[str, np.ndarray], g: dict[str, np.ndarray],
                      qs: dict[str, np.ndarray], gtext: dict[str, np.ndarray], gi: np.ndarray,
                      qst_len: np.ndarray) -> np.ndarray:
    """Raise (in place) the street similarity ``sim`` of a query street written with its locality
    glued on ("High Rd Chadwell Heath") or with the building name in front ("FOREST TRADING ESTATE
    PRIESTLEY WAY") to its similarity with the entry's street + place(s) / building + street
    (:data:`ALT_TEXTS`); returns where the building + street text matched (ratio >= 88). Only a query
    street longer than the entry's can hold more, and only lengths that allow a ratio of 70 are compared."""
    long_q = fz & (sim < 85)
    b_in_street = np.zeros(len(sim), dtype=bool)
    if not long_q.any():
        return b_in_street
    qst_s = qs["street"]
    lq = np.flatnonzero(long_q)
    qlen = qst_len[lq]
    longer = qlen > gtext["street_len"][gi[lq]]
    # the entry's fields present, for these pairs only
    gbn, gp, gp2 = g["bname"][lq] != 0, g["place"][lq] != 0, g["place2"][lq] != 0
    for kind, name, cond in (
        ("place", "st_p", gp), ("place", "st_p2", gp2), ("place", "st_p2_p", gp2 & gp),
        ("bname", "b_st", gbn), ("bname", "b_st_p", gbn & gp), ("bname", "b_st_p2", gbn & gp2),
    ):
        sel = longer & cond
        if not sel.any():
            continue
        rows = lq[sel]
        ok = _len_ok(qlen[sel], gtext[name + "_len"][gi[rows]], 70)
        if not ok.any():
            continue
        rows = rows[ok]
        alt_s = gtext[name][gi[rows]]  # the texts only of the pairs compared
        alt = process.cpdist(qst_s[rows].tolist(), alt_s.tolist(), scorer=fuzz.ratio, workers=1, score_cutoff=70)
        if kind == "bname":
            b_in_street[rows] |= alt >= 88
        sim[rows] = np.maximum(sim[rows], alt)
    return b_in_street


def _building_levels(q: dict[str, np.ndarray], g: dict[str, np.ndarray], qs: dict[str, np.ndarray],
                     gs: dict[str, np.ndarray], qi: np.ndarray, b_in_street: np.ndarray) -> np.ndarray:
    """BUILDING level per pair: the names' keys and word similarity, and a name written after the
    street (parsed as locality/town) or inside the query's street text."""
    qb, gb = q["bname"], g["bname"]
    n = len(qb)
    qb_has, gb_has = qb != 0, gb != 0
    b_both = qb_has & gb_has
    b_eq = b_both & (qb == gb)
    bsim = _sim_keyed(qs["bname"], gs["bname"], b_both & ~b_eq, fuzz.token_set_ratio, _text_key(qb, qi), gb, cutoff=85)
    # a typo or the same words reordered is "fuzzy"; one name inside the other ("Granville Works" /
    # "Building 1 Granville Works", a hospital and its ward) only "partial"
    # ... and the entry's whole name inside a longer one ("The River Cafe, Thames Wharf" /
    # "Thames Wharf": a business name in front) "contains"
    bfz = b_both & ~b_eq & (bsim >= 85)
    if bfz.any():  # ... unless an identifier differs: "Unit CL20" / "Unit CL8", "Terminal 5a" / "5b"
        bfz[bfz] = _digits(qs["bname"][bfz]) == _digits(gs["bname"][bfz])
    bclose = np.zeros(n, dtype=bool)
    bcont = np.zeros(n, dtype=bool)
    if bfz.any():
        bclose[bfz] = _sim(qs["bname"], gs["bname"], bfz, fuzz.token_sort_ratio)[bfz] >= 85
        sub = bfz & ~bclose & (bsim >= 100)
        if sub.any():
            bcont[sub] = _lengths(qs["bname"][sub]) > _lengths(gs["bname"][sub])
    via = _building_as_place(q, qs, gs, ~qb_has & gb_has) | (b_in_street & ~qb_has)
    return _code([
        (b_eq | via, 1),
        (bclose, 2),
        (bcont, 9),
        (bfz, 6),
        (b_both, 3),
        (~qb_has & gb_has, 4),
        (qb_has & ~gb_has, 5),
    ], n)


def _building_as_place(q: dict[str, np.ndarray], qs: dict[str, np.ndarray], gs: dict[str, np.ndarray],
                       cand: np.ndarray) -> np.ndarray:
    """Pairs ``cand`` (no building name on the query, one on the entry) whose query locality or town
    is the entry's building name (ratio >= 90, same identifiers with digits: "Gate 10" is not "Gate 1")."""
    via = np.zeros(len(cand), dtype=bool)
    if not cand.any():
        return via
    for pl, pls in ((q["place2"], qs["place2"]), (q["place"], qs["place"])):
        m = cand & (pl != 0) & ~via
        if m.any():
            hit = m & (_sim(pls, gs["bname"], m, fuzz.ratio) >= 90)
            if hit.any():
                hit[hit] = _digits(pls[hit]) == _digits(gs["bname"][hit])
            via |= hit
    return via


def _postcode_levels(q: dict[str, np.ndarray], g: dict[str, np.ndarray]) -> np.ndarray:
    """POSTCODE level per pair: same unit, sector, district, or different."""
    qu, gu = q["pc_unit"], g["pc_unit"]
    q_pc = (q["pc_district"] != 0)
    g_pc = (g["pc_district"] != 0)
    pcb = q_pc & g_pc
    return _code([
        (pcb & (qu != 0) & (qu == gu), 1),
        (pcb & (q["pc_sector"] != 0) & (q["pc_sector"] == g["pc_sector"]), 2),
        (pcb & (q["pc_district"] == g["pc_district"]), 3),
        (pcb, 4),
        (~q_pc & g_pc, 5),
    ], len(qu))


def _place_levels(q: dict[str, np.ndarray], g: dict[str, np.ndarray]) -> np.ndarray:
    """PLACE level per pair: a place word of the query is the entry's locality/town, or both name
    other places (``conflict`` is set later, from the boroughs the places mean)."""
    qp, qp2, gp, gp2 = q["place"], q["place2"], g["place"], g["place2"]
    q_place = (qp != 0) | (qp2 != 0)
    g_place = (gp != 0) | (gp2 != 0)
    hit = ((qp != 0) & ((qp == gp) | (qp == gp2))) | ((qp2 != 0) & ((qp2 == gp) | (qp2 == gp2)))
    return _code([(hit, 1), (q_place & g_place, 2)], len(qp))


#: whole-text similarity (token sort ratio, 0-100) from which a building name and street split
#: differently on the two sides still agree
TEXT_AGREE = 90


def _digits(texts: np.ndarray) -> np.ndarray:
    """The words with a digit in them ("unit 3a", "terminal 2", "gate 10"), sorted and joined: an
    identifier that must agree however similar the rest of the text is."""

    if not len(texts):
        return np.empty(0, dtype=object)
    codes, uniq = pd.factorize(pd.Series(texts, dtype=object).fillna(""))  # once per distinct text
    u = pd.Series(np.asarray(uniq, dtype=object), dtype="str")
    out = np.full(len(u), "", dtype=object)
    # screen in C: only a text with an ASCII digit or any non-ASCII character can hold a \d
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(u.to_numpy(dtype=object), type=pa.string())
    may = np.asarray(pc.match_substring_regex(arr, r"[0-9]|[^\x00-\x7f]").to_numpy(zero_copy_only=False), dtype=bool)
    if may.any():
        found = u[may].str.findall(r"\b\w*\d\w*\b")
        out[may] = found.map(lambda t: " ".join(sorted(t))).to_numpy(dtype=object)
    return out[codes]


def record_texts(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per record (query or gazetteer entry, not per pair): building + street text ``bs``, with the
    places ``all``, their lengths, and the identifiers with digits ``digits`` (for :func:`in_text`)."""
    bs = join_fields(f, ("bname", "street"))
    al = join_fields(f, ("bname", "street", "place2", "place"))
    return {"bs": bs, "all": al, "bs_len": _lengths(bs), "all_len": _lengths(al),
            "digits": _digits(al), "has_b": np.asarray(f["bname"] != "", dtype=bool)}


def _len_ok(a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Whether two texts of these lengths can reach ratio ``r`` (0-100) at all: 2*min/(sum) >= r."""
    return 200.0 * np.minimum(a, b) >= r * (a + b)


def _lv(fam: str, *names: str) -> tuple[int, ...]:
    return tuple(LEVELS[fam].index(x) for x in names)


#: the street / building levels :func:`in_text` may overrule, and the levels it gives
_BAD_ST = _lv("STREET", "weak", "mismatch", "missing", "extra")
_BAD_B = _lv("BUILDING", "mismatch", "missing", "partial", "contains")
(_ST_TEXT, _ST_TEXT_FZ), (_B_TEXT, _B_TEXT_FZ) = _lv("STREET", "in_text", "in_text_fuzzy"), _lv("BUILDING", "in_text", "in_text_fuzzy")


def in_text_gain(codes: dict[str, np.ndarray]) -> np.ndarray:
    """The most :func:`in_text` can add to each pair's score (0 where it does not apply)."""
    st, b = codes["STREET"], codes["BUILDING"]
    # per level first (a small table), then one lookup per pair
    w_st, w_b = np.asarray(WEIGHTS["STREET"], dtype=np.float64), np.asarray(WEIGHTS["BUILDING"], dtype=np.float64)
    g_st = np.where(np.isin(np.arange(len(w_st)), _BAD_ST), w_st[_ST_TEXT] - w_st, 0.0)
    g_b = np.where(np.isin(np.arange(len(w_b)), _BAD_B), w_b[_B_TEXT] - w_b, 0.0)
    return g_st[st] + g_b[b]


#: ... to this ratio the words are the same (only split differently): an agreement, not a fuzzy one
TEXT_SAME = 97


def in_text(codes: dict[str, np.ndarray], qt: dict[str, np.ndarray], gt: dict[str, np.ndarray], qi: np.ndarray,
            gi: np.ndarray, m: np.ndarray) -> dict[str, np.ndarray]:
    """Building name and street compared as one text, for pairs whose component levels disagree:
    the same address split differently by the two writers ("Sylvia Avenue, Grimsdyke Primary
    School" / building "Grimsdyke Primary School", street "Sylvia Avenue"; "Terminal 5 Departures
    Level Wellington Road" / "Wellington Road" with the rest in the building name). When the
    words of building + street (with or without the places) agree to :data:`TEXT_AGREE` and the
    identifiers with digits in them are the same on both sides ("Unit AG4", "Terminal 2"), a
    disagreeing street becomes ``STREET.in_text`` and a disagreeing building ``BUILDING.in_text``
    (the same words, ratio >= :data:`TEXT_SAME`: weighted as an exact agreement) or ``.in_text_fuzzy``.
    ``qt``/``gt``: :func:`record_texts` of the queries and of the gazetteer entries, ``qi``/``gi``
    the pairs. Only the pairs in mask ``m`` are compared (the caller picks those the change could
    decide), and of those only the ones whose text lengths allow the ratio."""
    street, bname = codes["STREET"], codes["BUILDING"]
    bad_st = np.isin(street, _BAD_ST)
    bad_b = np.isin(bname, _BAD_B)
    m = m & (bad_st | bad_b)
    if not m.any():
        return codes
    idx = np.flatnonzero(m)
    a, b = qi[idx], gi[idx]
    ok_bs = _len_ok(qt["bs_len"][a], gt["bs_len"][b], TEXT_AGREE)
    ok_all = _len_ok(qt["all_len"][a], gt["all_len"][b], TEXT_AGREE)
    keep = (ok_bs | ok_all) & (qt["digits"][a] == gt["digits"][b])
    idx, a, b, ok_bs, ok_all = idx[keep], a[keep], b[keep], ok_bs[keep], ok_all[keep]
    r = np.zeros(len(idx), dtype=np.float32)
    if ok_bs.any():
        r[ok_bs] = process.cpdist(qt["bs"][a[ok_bs]].tolist(), gt["bs"][b[ok_bs]].tolist(), scorer=fuzz.token_sort_ratio, workers=1)
    two = ok_all & (r < TEXT_SAME)
    if two.any():
        r[two] = np.maximum(r[two], process.cpdist(qt["all"][a[two]].tolist(), gt["all"][b[two]].tolist(),
                                                   scorer=fuzz.token_sort_ratio, workers=1))
    ok = r >= TEXT_AGREE
    hit = idx[ok]
    street = street.copy()
    bname = bname.copy()
    st_fix = hit[bad_st[hit]]
    b_fix = hit[bad_b[hit] & gt["has_b"][gi[hit]]]
    same = r[ok] >= TEXT_SAME
    street[st_fix] = np.where(same[bad_st[hit]], _ST_TEXT, _ST_TEXT_FZ)
    bname[b_fix] = np.where(same[bad_b[hit] & gt["has_b"][gi[hit]]], _B_TEXT, _B_TEXT_FZ)
    return {**codes, "STREET": street, "BUILDING": bname}


def score(codes: dict[str, np.ndarray], rows: np.ndarray | None = None, s: np.ndarray | None = None) -> np.ndarray:
    """Sum of the level weights of each pair (float32). With ``rows`` (a mask or positions) and the
    previous scores ``s``: a copy of ``s`` with only those pairs summed again (the same sum, term by
    term, as for all pairs)."""
    if rows is not None and s is not None:
        out = s.copy()
        out[rows] = score({fam: c[rows] for fam, c in codes.items()})
        return out
    total = None
    for fam, c in codes.items():
        w = WEIGHTS[fam][c]
        total = w if total is None else total + w
    return total.astype(np.float32)


def fault_strings(codes: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Comma-joined fault names (``FAMILY.level``) of the selected pairs (object array); built once
    per distinct combination of levels."""
    if not len(rows):
        return np.empty(0, dtype=object)
    fams = list(codes)
    key = np.zeros(len(rows), dtype=np.int64)
    for fam in fams:
        key = key * 16 + codes[fam][rows].astype(np.int64)  # every family has < 16 levels
    uniq, inv = np.unique(key, return_inverse=True)
    names = []
    for k in uniq.tolist():
        lv = []
        for fam in reversed(fams):
            lv.append(LEVELS[fam][k % 16])
            k //= 16
        lv.reverse()
        names.append(",".join(f"{fam}.{level}" for fam, level in zip(fams, lv) if level not in _NOT_FAULTS))
    return np.array(names, dtype=object)[inv.ravel()]


def weight_table() -> "list[dict[str, object]]":
    """Every comparison level and its weight (for documentation and inspection)."""
    return [{"family": f, "level": lv, "condition": cond, "weight": float(w)} for f, lv, cond, w in COMPARISON_LEVELS]
