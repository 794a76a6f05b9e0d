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
from rapidfuzz import fuzz, process

#: family -> level names (index = code); level 0 is always "none" (nothing to compare)
LEVELS: dict[str, tuple[str, ...]] = {
    "HOUSE_NUMBER": ("none", "exact", "in_range", "suffix_missing", "suffix_mismatch", "mismatch", "missing", "extra",
                     "range_overlap"),
    "FLAT": ("none", "exact", "mismatch", "missing", "extra", "differs"),
    "STREET": ("none", "exact", "close", "fuzzy", "weak", "mismatch", "missing", "extra"),
    "BUILDING": ("none", "exact", "fuzzy", "mismatch", "missing", "extra"),
    "POSTCODE": ("none", "exact", "sector_only", "district_only", "mismatch", "missing"),
    "PLACE": ("none", "exact", "mismatch"),
}

#: family -> weight of each level (log2 Bayes factors)
WEIGHTS: dict[str, np.ndarray] = {
    "HOUSE_NUMBER": np.array([0.0, 6.0, 4.0, -5.0, -14.0, -14.0, -4.0, -3.0, 0.0]),
    "FLAT": np.array([0.0, 4.0, -14.0, -5.0, -3.0, -3.0]),
    "STREET": np.array([0.0, 5.0, 4.0, 3.0, 0.0, -8.0, -2.0, -1.0]),
    "BUILDING": np.array([0.0, 5.0, 3.5, -2.0, -1.0, -0.5]),
    "POSTCODE": np.array([0.0, 6.0, 2.5, 1.0, -4.0, 0.0]),
    "PLACE": np.array([0.0, 3.0, -1.5]),
}

#: levels that are agreements, not faults
_NOT_FAULTS = {"none", "exact"}


def _code(conds: list[tuple[np.ndarray, int]], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int8)
    for cond, code in reversed(conds):  # first condition listed wins
        out[cond] = code
    return out


def _sim(a: np.ndarray, b: np.ndarray, mask: np.ndarray, scorer=fuzz.ratio) -> np.ndarray:
    out = np.zeros(len(a), dtype=np.float32)
    if mask.any():
        out[mask] = process.cpdist(a[mask].tolist(), b[mask].tolist(), scorer=scorer, workers=1)
    return out


def compare(q: dict[str, np.ndarray], g: dict[str, np.ndarray],
            qs: dict[str, np.ndarray], gs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Level codes (int8 arrays) per family for candidate pairs.

    ``q``/``g``: the matching fields gathered per pair (same length), text fields as integer codes
    of one shared vocabulary (0 = empty, -1 = a query value the gazetteer never holds), so equality
    is an integer comparison; ``qs``/``gs``: the texts of ``street``, ``bname``, ``place``,
    ``place2`` per pair, for the fuzzy comparisons."""
    n = len(q["hn_num"])
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
    hn = _code([
        (same_num & suf_eq, 1),
        (same_num & q_suf & g_suf, 4),
        (same_num, 3),
        (contained & ~(q_suf & g_suf & ~suf_eq), 2),
        (overlap & ~(q_suf & g_suf & ~suf_eq), 8),
        (both, 5),
        (~q_has & g_has, 6),
        (q_has & ~g_has, 7),
    ], n)

    qf, gf = q["flat"], g["flat"]
    qf_has, gf_has = qf != 0, gf != 0
    # a flat/unit identifier (2 vs B, 14 vs 3A) that differs contradicts; two longer floor descriptions
    # ("basement and ground floors" vs "basement") merely differ
    fdiff = qf_has & gf_has & (qf != gf)
    longdesc = np.zeros(n, dtype=bool)
    if fdiff.any():
        import pandas as pd

        qfs = pd.Series(qs["flat"][fdiff], dtype="str")
        gfs = pd.Series(gs["flat"][fdiff], dtype="str")
        ql, gl = qfs.str.len().to_numpy(), gfs.str.len().to_numpy()
        # ... and so does a floor written in part ("LG" vs "LG and GF": one starts with the other)
        part = np.fromiter((a.startswith(b) or b.startswith(a) for a, b in zip(qfs.tolist(), gfs.tolist())),
                           dtype=bool, count=len(qfs)) & (np.maximum(ql, gl) > 4)
        longdesc[fdiff] = ((ql > 4) & (gl > 4)) | part
    flat = _code([
        (qf_has & gf_has & (qf == gf), 1),
        (fdiff & longdesc, 5),
        (qf_has & gf_has, 2),
        (~qf_has & gf_has, 3),
        (qf_has & ~gf_has, 4),
    ], n)

    qst, gst = q["street"], g["street"]
    qst_has, gst_has = qst != 0, gst != 0
    st_both = qst_has & gst_has
    st_eq = st_both & (qst == gst)
    fz = st_both & ~st_eq
    qst_s, gst_s = qs["street"], gs["street"]
    sim = _sim(qst_s, gst_s, fz, fuzz.ratio)
    # a street written with its locality glued on ("High Rd Chadwell Heath"): compare with the
    # entry's street + place as well
    long_q = fz & (sim < 85)
    b_in_street = np.zeros(n, dtype=bool)
    if long_q.any():
        # ... or with the building name in front ("FOREST TRADING ESTATE PRIESTLEY WAY")
        gbn, gp, gp2 = g["bname"], g["place"], g["place2"]
        sb, sp, sp2 = gs["bname"], gs["place"], gs["place2"]
        for kind, m, build in (
            ("place", long_q & (gp != 0), lambda m: gst_s[m] + " " + sp[m]),
            ("place", long_q & (gp2 != 0), lambda m: gst_s[m] + " " + sp2[m]),
            ("place", long_q & (gp2 != 0) & (gp != 0), lambda m: gst_s[m] + " " + sp2[m] + " " + sp[m]),
            ("bname", long_q & (gbn != 0), lambda m: sb[m] + " " + gst_s[m]),
            ("bname", long_q & (gbn != 0) & (gp != 0), lambda m: sb[m] + " " + gst_s[m] + " " + sp[m]),
            ("bname", long_q & (gbn != 0) & (gp2 != 0), lambda m: sb[m] + " " + gst_s[m] + " " + sp2[m]),
        ):
            if m.any():
                alt = np.zeros(n, dtype=np.float32)
                alt[m] = process.cpdist(qst_s[m].tolist(), build(m).tolist(), scorer=fuzz.ratio, workers=1)
                if kind == "bname":
                    b_in_street |= alt >= 88
                sim = np.maximum(sim, alt)
    street = _code([
        (st_eq, 1),
        (st_both & (sim >= 90), 2),
        (st_both & (sim >= 85), 3),
        (st_both & (sim >= 70), 4),
        (st_both, 5),
        (~qst_has & gst_has, 6),
        (qst_has & ~gst_has, 7),
    ], n)

    qb, gb = q["bname"], g["bname"]
    qb_has, gb_has = qb != 0, gb != 0
    b_both = qb_has & gb_has
    b_eq = b_both & (qb == gb)
    bsim = _sim(qs["bname"], gs["bname"], b_both & ~b_eq, fuzz.token_set_ratio)
    # a building name written after the street lands in locality/town: compare those with it
    via = np.zeros(n, dtype=bool)
    cand = ~qb_has & gb_has
    if cand.any():
        for pl, pls in ((q["place2"], qs["place2"]), (q["place"], qs["place"])):
            m = cand & (pl != 0) & ~via
            if m.any():
                via |= m & (_sim(pls, gs["bname"], m, fuzz.ratio) >= 90)
    via |= b_in_street & ~qb_has
    bname = _code([
        (b_eq | via, 1),
        (b_both & (bsim >= 85), 2),
        (b_both, 3),
        (~qb_has & gb_has, 4),
        (qb_has & ~gb_has, 5),
    ], n)

    qu, gu = q["pc_unit"], g["pc_unit"]
    q_pc = (q["pc_district"] != 0)
    g_pc = (g["pc_district"] != 0)
    pcb = q_pc & g_pc
    pc = _code([
        (pcb & (qu != 0) & (qu == gu), 1),
        (pcb & (q["pc_sector"] != 0) & (q["pc_sector"] == g["pc_sector"]), 2),
        (pcb & (q["pc_district"] == g["pc_district"]), 3),
        (pcb, 4),
        (~q_pc & g_pc, 5),
    ], n)

    qp, qp2, gp, gp2 = q["place"], q["place2"], g["place"], g["place2"]
    q_place = (qp != 0) | (qp2 != 0)
    g_place = (gp != 0) | (gp2 != 0)
    hit = ((qp != 0) & ((qp == gp) | (qp == gp2))) | ((qp2 != 0) & ((qp2 == gp) | (qp2 == gp2)))
    place = _code([(hit, 1), (q_place & g_place, 2)], n)
    return {"HOUSE_NUMBER": hn, "FLAT": flat, "STREET": street, "BUILDING": bname, "POSTCODE": pc, "PLACE": place}


def score(codes: dict[str, np.ndarray]) -> np.ndarray:
    """Sum of the level weights of each pair (float32)."""
    total = None
    for fam, c in codes.items():
        w = WEIGHTS[fam][c]
        total = w if total is None else total + w
    return total.astype(np.float32)


def fault_strings(codes: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Comma-joined fault names (``FAMILY.level``) of the selected pairs (object array)."""
    parts = []
    for fam, c in codes.items():
        names = np.array([("" if lv in _NOT_FAULTS else f"{fam}.{lv}") for lv in LEVELS[fam]], dtype=object)
        parts.append(names[c[rows]])
    if not len(rows):
        return np.empty(0, dtype=object)
    import pandas as pd

    joined = pd.Series(parts[0], dtype="str")
    for p in parts[1:]:
        joined = joined + "," + pd.Series(p, dtype="str")
    joined = joined.str.replace(r",+", ",", regex=True).str.strip(",")
    return joined.to_numpy(dtype=object)


def weight_table() -> "list[dict[str, object]]":
    """Every comparison level and its weight (for documentation and inspection)."""
    return [{"family": f, "level": lv, "weight": float(WEIGHTS[f][i])} for f, lvs in LEVELS.items() for i, lv in enumerate(lvs)]
