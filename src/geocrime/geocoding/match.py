"""The matcher: block, compare, decide and climb the precision ladder for a parsed batch.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from .._geo import bng_to_lonlat
from ..gazetteer.keys import block_keys, canonical_components
from . import compare as _scoring
from .area_confidence import _area_tables, _candidate_area, _gaz_texts, _segmax
from .inputs import _LEVEL_OUT
from .params import MIN_AREA_CONFIDENCE, SAME_ADDRESS_M, SAME_PREMISES_M


# ---------------------------------------------------------------------------------------- core
def _match(parsed: pd.DataFrame, gaz: Any, threshold: float, margin: float, boundaries: Any = None,
           keep_pairs: bool = False) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    n = len(parsed)
    status = parsed["parse_status"].astype("str").to_numpy(dtype=object) if n else np.zeros(0, object)
    qc = canonical_components(parsed).reset_index(drop=True)
    ok = np.isin(status, ["ok", "truncated"])
    q = {c: (qc[c].to_numpy() if c in ("hn_num", "hn_end") else qc[c].to_numpy(dtype=object)) for c in qc.columns}

    # ---- candidate retrieval
    sel = np.flatnonzero(ok)
    pos, keys = block_keys(qc.iloc[sel], gazetteer_side=False)
    qi, gi = gaz.index.lookup(sel[pos], keys)
    # ---- comparison
    qv, gv = {}, {}
    for c, v in q.items():
        if c in gaz.kcode:
            qcode = gaz.vocab[c].get_indexer(v).astype(np.int32)
            qcode[(qcode < 0) & (v == "")] = 0
            qv[c], gv[c] = qcode[qi], gaz.kcode[c][gi]
        elif c in ("hn_num", "hn_end"):
            qv[c], gv[c] = v[qi], gaz.k[c][gi]
    txt = ("street", "bname", "place", "place2", "flat")
    qs = _scoring.gathered(q, qi, txt)  # gathered per pair only where a comparison needs the text
    gs = _scoring.gathered(gaz.k, gi, txt)
    codes = _scoring.compare(qv, gv, qs, gs, _gaz_texts(gaz), gi, qi, _scoring._lengths(q["street"]))
    s = _scoring.score(codes)
    npair = len(qi)
    if npair:
        # building + street compared as one text where the split differs, for the pairs that
        # could then reach the threshold and the best candidate's neighbourhood
        gain = _scoring.in_text_gain(codes)
        top0 = _segmax(qi, s, n)
        want = (gain > 0) & (s + gain >= np.maximum(threshold, top0[qi] - margin))
        if want.any():
            # the query texts only for the queries concerned
            uq = np.unique(qi[want])
            qt = _scoring.record_texts({c: q[c][uq] for c in ("bname", "street", "place", "place2")})
            qmap = np.full(n, -1, dtype=np.int64)
            qmap[uq] = np.arange(len(uq))
            codes = _scoring.in_text(codes, qt, _gaz_texts(gaz), np.where(want, qmap[qi], 0), gi, want)
            s = _scoring.score(codes)
    best = np.full(n, -np.inf, dtype=np.float64)
    bpair = np.full(n, -1, dtype=np.int64)
    runner = np.full(n, -np.inf, dtype=np.float64)
    ncand = np.bincount(qi, minlength=n) if npair else np.zeros(n, np.int64)
    if npair:
        # best first per query; a tie is broken by the closer building name + street text (then
        # by entry id: stable, and reported as ambiguous when the entries are different places)
        top = _segmax(qi, s, n)
        tie_txt = np.zeros(npair, dtype=np.float32)
        tied = s == top[qi]
        tied &= np.bincount(qi[tied], minlength=n)[qi] > 1
        if tied.any():
            qt = _scoring.join_fields(qs, ("bname", "street"), tied)
            tie_txt[tied] = process.cpdist(qt.tolist(), _gaz_texts(gaz)["bs"][gi[tied]].tolist(),
                                           scorer=fuzz.token_sort_ratio, workers=1)
        # one int64 sort key (query, score, tie text, entry): scores are multiples of 0.5 in
        # [-128, 128), the tie text a ratio 0-100, entry rows < 2**27
        s2 = np.clip(np.round(s.astype(np.float64) * 2), -255, 255).astype(np.int64) + 256
        key = (qi.astype(np.int64) << 44) | ((511 - s2) << 35) | ((127 - np.round(tie_txt).astype(np.int64)) << 28) | gi.astype(np.int64)
        fits = len(gaz) < (1 << 28) and n < (1 << 19) and bool(np.all(s2 == s.astype(np.float64) * 2 + 256))
        order = np.argsort(key) if fits else np.lexsort((gi, -tie_txt, -s, qi))
        first = order[np.r_[True, qi[order][1:] != qi[order][:-1]]]
        best[qi[first]] = s[first]
        bpair[qi[first]] = first
        bp = bpair[qi]
        # the runner-up is the best *other* premises: a candidate within SAME_PREMISES_M of the
        # best with the same flat and number suffix is the same place written another way
        dist = np.hypot(gaz.x[gi] - gaz.x[gi[bp]], gaz.y[gi] - gaz.y[gi[bp]])
        same_addr = (gv["hn_num"] == gv["hn_num"][bp]) & (gv["hn_end"] == gv["hn_end"][bp]) & \
                    (gv["street"] == gv["street"][bp]) & \
                    ((gv["bname"] == gv["bname"][bp]) |
                     # a numbered address written with and without its building / business name
                     ((gv["hn_num"] >= 0) & ((gv["bname"] == 0) | (gv["bname"][bp] == 0))))
        same = (gv["hn_suf"] == gv["hn_suf"][bp]) & (gv["flat"] == gv["flat"][bp]) & \
               ((dist <= SAME_PREMISES_M) | (same_addr & (dist <= SAME_ADDRESS_M)))
        # without a house number the building name is the address: "Gate 1" and "Gate 10" on one
        # street are two places however close; "The New Den" / "Millwall Football Club The New
        # Den" (one name inside the other) one place
        nb = same & (gv["hn_num"] < 0) & (gv["bname"] != gv["bname"][bp])
        if nb.any():
            a, b = gaz.k["bname"][gi[nb]], gaz.k["bname"][gi[bp[nb]]]
            inside = (a != "") & (b != "")
            if inside.any():
                inside[inside] = process.cpdist(a[inside].tolist(), b[inside].tolist(), scorer=fuzz.token_set_ratio,
                                                workers=1) >= 100
            same[np.flatnonzero(nb)[~inside]] = False
        other = ~same
        if other.any():
            runner = np.maximum(runner, _segmax(qi[other], s[other], n).astype(np.float64))
    has = bpair >= 0
    with np.errstate(invalid="ignore"):
        lead = best - runner
    # a candidate with a contradicting flat or house-number suffix is never accepted, whatever else
    # agrees: a wrong flat must not win over an abstention (14A vs 14C, Flat 2 vs Flat B)
    veto = np.zeros(n, dtype=bool)
    if npair:
        bp_ = np.maximum(bpair, 0)
        fl = codes["FLAT"][bp_] == _scoring.LEVELS["FLAT"].index("mismatch")
        hs = np.isin(codes["HOUSE_NUMBER"][bp_], [_scoring.LEVELS["HOUSE_NUMBER"].index("suffix_mismatch"),
                                                   _scoring.LEVELS["HOUSE_NUMBER"].index("mismatch")])
        veto = has & (fl | hs)
    accept = has & (best >= threshold) & (lead >= margin) & ~veto
    ambiguous = has & (best >= threshold) & (lead < margin)
    bgi = np.where(has, gi[np.maximum(bpair, 0)] if npair else -1, -1)

    # ---- ladder
    level = np.full(n, "none", dtype=object)
    row = np.full(n, -1, dtype=np.int64)
    level[accept] = "premises"
    row[accept] = bgi[accept]
    rest = ~accept & ok
    lut = gaz._lut

    def look(name: str, keys_: np.ndarray) -> np.ndarray:
        r = lut[name].reindex(keys_).to_numpy()
        return np.where(pd.isna(r), -1, r).astype(np.int64)

    st_key = qc["street"].to_numpy(dtype=object)
    has_st = (st_key != "") & rest
    street_row = np.full(n, -1, np.int64)
    if has_st.any():
        k1 = (qc["street"] + "|" + qc["pc_district"]).to_numpy(dtype=object)
        r1 = look("street", k1[has_st])
        r2 = look("street_unique", st_key[has_st])
        street_row[has_st] = np.where(r1 >= 0, r1, np.where(qc["pc_district"].to_numpy(dtype=object)[has_st] == "", r2, -1))
    unit_row = np.full(n, -1, np.int64)
    hu = rest & (qc["pc_unit"].to_numpy(dtype=object) != "")
    if hu.any():
        unit_row[hu] = look("postcode_unit", qc["pc_unit"].to_numpy(dtype=object)[hu])
    rad = gaz.radius
    srad = np.where(street_row >= 0, rad[np.maximum(street_row, 0)], np.inf)
    urad = np.where(unit_row >= 0, rad[np.maximum(unit_row, 0)], np.inf)
    use_st = (street_row >= 0) & (srad <= urad)
    use_u = (unit_row >= 0) & ~use_st
    level[use_st] = "street"
    row[use_st] = street_row[use_st]
    level[use_u] = "postcode_unit"
    row[use_u] = unit_row[use_u]
    for lvl, col in (("postcode_sector", "pc_sector"), ("postcode_district", "pc_district"), ("postcode_area", "pc_area")):
        todo = rest & (row < 0) & (qc[col].to_numpy(dtype=object) != "")
        if todo.any():
            r = look(lvl, qc[col].to_numpy(dtype=object)[todo])
            idx = np.flatnonzero(todo)
            level[idx[r >= 0]] = _LEVEL_OUT.get(lvl, lvl)
            row[idx[r >= 0]] = r[r >= 0]

    # ---- reasons
    reason = np.full(n, None, dtype=object)
    ph = parsed["placeholder"].to_numpy(dtype=object) if "placeholder" in parsed else np.full(n, None, object)
    reason[status == "placeholder"] = np.array(["placeholder:" + str(p) for p in ph[status == "placeholder"]], dtype=object) \
        if (status == "placeholder").any() else reason[status == "placeholder"]
    reason[status == "empty"] = "empty"
    reason[status == "invalid_input"] = "invalid_input"
    fell = ok & ~accept
    reason[fell & ambiguous] = "ambiguous"
    reason[fell & ~has] = "no_candidates"
    reason[fell & has & ~ambiguous] = "below_threshold"
    reason[fell & has & ~ambiguous & (best >= threshold)] = "ambiguous"
    reason[fell & veto & ~ambiguous] = "contradicting_flat_or_number"
    nothing = ok & (row < 0)
    reason[nothing & ~has & (qc["street"].to_numpy(dtype=object) == "") & (qc["pc_district"].to_numpy(dtype=object) == "")
           & (qc["bname"].to_numpy(dtype=object) == "")] = "no_address_components"

    # ---- output
    found = row >= 0
    rr = np.maximum(row, 0)
    x = np.where(found, gaz.x[rr], np.nan)
    y = np.where(found, gaz.y[rr], np.nan)
    out = pd.DataFrame(index=parsed.index)
    out["match_level"] = level
    out["x"] = x
    out["y"] = y
    lon, lat = bng_to_lonlat(np.where(found, x, 0.0), np.where(found, y, 0.0))
    out["lon"] = np.where(found, lon, np.nan)
    out["lat"] = np.where(found, lat, np.nan)
    out["uncertainty_m"] = np.where(found, rad[rr], np.nan)
    out["score"] = np.where(has, best, np.nan)
    out["runner_up_score"] = np.where(has & np.isfinite(runner), runner, np.nan)
    out["margin"] = np.where(has & np.isfinite(runner), lead, np.where(has, np.inf, np.nan))
    out["ambiguous"] = ambiguous & ~accept
    faults = np.full(n, None, dtype=object)
    if has.any():
        faults[has] = _scoring.fault_strings(codes, bpair[has])
    out["faults"] = faults
    out["n_candidates"] = ncand.astype(np.int32)
    out["candidate_id"] = np.where(has, gaz.ids[np.maximum(bgi, 0)], -1)
    out["gazetteer_id"] = np.where(found, gaz.ids[rr], -1)
    canon = gaz.canonical
    out["matched_address"] = np.where(found, canon[rr], None)
    out["reason"] = reason

    if boundaries is not None:
        tabs = _area_tables(gaz, boundaries)
        for kind, colname in (("ward", "ward"), ("lsoa", "lsoa")):
            if kind not in tabs:
                continue
            cats, inv, share = tabs[kind]
            code = np.where(found, inv[rr], -1)
            conf = np.where(found, share[rr].astype(np.float64), np.nan)
            conf[level == "premises"] = np.nan
            plaus = has & (best >= threshold)
            if npair and plaus.any():
                cat, prob = _candidate_area(qi, gi, s, best, inv, n)
                # premises and near-ties: the distribution over plausible candidates
                code = np.where(plaus, cat, code)
                conf = np.where(plaus, prob, conf)
            label = np.where(code >= 0, cats[np.maximum(code, 0)], "")
            label = np.where(label == "", None, label).astype(object)
            # a modal area at 30% is a guess, not an assignment: no code below MIN_AREA_CONFIDENCE
            label[np.isfinite(conf) & (conf < MIN_AREA_CONFIDENCE)] = None
            out[f"{colname}_code"] = label
            out[f"{colname}_confidence"] = np.where(label == None, np.nan, conf)  # noqa: E711
    extra = None
    if keep_pairs:
        extra = {"qi": qi, "gi": gi, "score": s, "codes": codes}
    return out, extra


