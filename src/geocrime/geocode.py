"""Geocoding: messy address records to points, with a precision ladder, named faults and area confidence.

::

    from geocrime.gazetteer import Gazetteer
    from geocrime.geocode import geocode, geocode_one, reverse
    gaz = Gazetteer.load("london.gaz")
    out = geocode(df, gaz, columns="address")              # one free-text column
    out = geocode(df, gaz, columns=["line1", "line2", "pc"])  # several columns, joined
    geocode_one("o/s 14 High St, Barking", gaz)["match_level"]

How a record is matched (every step a batch operation over the whole chunk):

1. parse (:func:`geocrime.address.parse_many`) and reduce to matching fields (:mod:`geocrime._blocking`);
2. retrieve candidates by blocking keys (postcode unit/sector, street, street tokens and their
   prefixes/suffixes, each with the house number or a building-name token) — never the whole gazetteer;
3. compare each candidate pair per component; the pair's score is the sum of named level weights
   (:data:`geocrime._scoring.WEIGHTS`), its faults the names of the levels that are not agreements;
4. accept the best candidate as ``premises`` when it has no contradicting flat or house-number
   suffix (``FLAT.mismatch``, ``HOUSE_NUMBER.suffix_mismatch`` / ``.mismatch`` veto a match: a wrong
   flat never wins over an abstention), its score >= ``threshold``, and it leads the
   runner-up (the best *different* premises: another number/flat, or > 30 m away) by >= ``margin``;
   otherwise (no candidate, a low score, or a near-tie — reported as ``ambiguous``) fall down the
   ladder: ``street`` or ``postcode_unit`` (the one with the smaller uncertainty), ``postcode_sector``,
   ``postcode_district``, ``area`` (postcode area), ``none``.

Output columns (added to every input row, same index and order; a GeoDataFrame in EPSG:27700):
``match_level``, ``x``/``y`` (EPSG:27700 metres), ``lon``/``lat`` (EPSG:4326), ``uncertainty_m``
(radius of the point for its level, metres), ``score`` (best premises candidate's score, NaN when
there is none), ``runner_up_score``, ``margin``, ``ambiguous``, ``faults`` (of the best candidate),
``n_candidates``, ``candidate_id`` (best premises candidate, accepted or not), ``gazetteer_id``, ``matched_address``, ``reason`` (why the level is not premises,
or why none), ``ward_code``/``ward_confidence``, ``lsoa_code``/``lsoa_confidence`` (when boundaries
are given; a code only when its probability is at least :data:`MIN_AREA_CONFIDENCE`).
"""
from __future__ import annotations

import functools
import os
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from . import _scoring
from ._blocking import block_keys, canonical_components
from ._geo import BNG, bng_to_lonlat
from .errors import GazetteerError, InputError, MissingColumnsError

__all__ = ["geocode", "geocode_one", "reverse", "OUTPUT_COLUMNS", "DEFAULT_THRESHOLD", "DEFAULT_MARGIN", "weight_table"]

#: minimum score for a premises match (see :data:`geocrime._scoring.WEIGHTS`)
DEFAULT_THRESHOLD = 7.0
#: minimum lead of the best candidate over the runner-up for a premises match
DEFAULT_MARGIN = 3.0
#: candidates this far (metres) from the best with the same number and flat are the same premises
SAME_PREMISES_M = 30.0
#: ... and this far when the whole address but the postcode is the same (sources disagree on postcodes)
SAME_ADDRESS_M = 150.0
#: candidates within this many points of the best count for the ward/LSOA distribution
AREA_WINDOW = 6.0
#: postcode-unit points are assigned to their ward with this confidence
UNIT_AREA_CONFIDENCE = 0.95
#: a ward/LSOA is reported only when it is more likely than not (its probability at least this)
MIN_AREA_CONFIDENCE = 0.5

OUTPUT_COLUMNS = (
    "match_level", "x", "y", "lon", "lat", "uncertainty_m", "score", "runner_up_score", "margin", "ambiguous",
    "faults", "n_candidates", "candidate_id", "gazetteer_id", "matched_address", "reason",
    "ward_code", "ward_confidence", "lsoa_code", "lsoa_confidence",
)

#: the free-text column used when ``columns`` is not given (the first one present)
DEFAULT_TEXT_COLUMNS = ("address", "Address", "location", "Location", "text")

_LEVEL_OUT = {"postcode_area": "area"}
_PARSE_FIELDS = ("sub_building", "building_name", "house_number", "street", "locality", "town", "postcode")


def weight_table() -> pd.DataFrame:
    """Every comparison level with its weight (log2 Bayes factor), for inspection."""
    return pd.DataFrame(_scoring.weight_table())


# ---------------------------------------------------------------------------------------- input
def address_columns(df: pd.DataFrame, columns: Any, flag: str = "columns=") -> Any:
    """The address columns of ``df`` to geocode: ``columns`` as given (a column name, a list joined in
    order, or a mapping component -> column), or the first of :data:`DEFAULT_TEXT_COLUMNS` when it is
    None. Raises :class:`~geocrime.errors.MissingColumnsError` naming what is absent; ``flag`` is how
    the caller names the argument (``columns=`` in Python, ``--column`` on the command line)."""
    present = [str(c) for c in df.columns]
    if columns is None:
        for cand in DEFAULT_TEXT_COLUMNS:
            if cand in df.columns:
                return cand
        hint = f"{flag}NAME" if flag.endswith("=") else f"{flag} NAME"
        raise MissingColumnsError(f"no address column: none of {', '.join(DEFAULT_TEXT_COLUMNS)} is present; name "
                                  f"it with {hint} (several columns are joined in order); columns present: "
                                  f"{', '.join(map(repr, present[:30]))}")
    if isinstance(columns, Mapping):
        bad = [k for k in columns if k not in _PARSE_FIELDS]
        if bad:
            raise InputError(f"unknown component(s) {bad}; use {list(_PARSE_FIELDS)}")
        wanted = list(columns.values())
    else:
        wanted = [columns] if isinstance(columns, str) else list(columns)
    miss = [c for c in wanted if c not in df.columns]
    if miss:
        raise MissingColumnsError(miss, present, f"the input ({flag})")
    return columns


def _texts(df: Any, columns: Any) -> tuple[pd.Series | None, pd.DataFrame | None, pd.Index]:
    """(free text Series, or a structured components frame), index."""
    if isinstance(df, pd.Series):
        return df, None, df.index
    if not isinstance(df, pd.DataFrame):
        if isinstance(df, (list, tuple, np.ndarray)):
            s = pd.Series(list(df), dtype=object)
            return s, None, s.index
        raise InputError(f"geocode expects a DataFrame, a Series or a list of strings, got {type(df).__name__}")
    columns = address_columns(df, columns)
    if isinstance(columns, str):
        return df[columns], None, df.index
    if isinstance(columns, Mapping):
        comp = pd.DataFrame({k: df[v].astype("str").fillna("") for k, v in columns.items()}, index=df.index)
        return None, comp, df.index
    cols = list(columns)
    parts = [df[c].astype("str").fillna("").str.strip() for c in cols]
    s = parts[0]
    for p in parts[1:]:
        s = s + ", " + p
    s = s.str.replace(r"(?:,\s*)+", ", ", regex=True).str.strip(", ")
    allna = df[cols].isna().all(axis=1)
    s = s.astype(object).where(~allna, None)
    return s, None, df.index


def _parse(texts: pd.Series | None, comp: pd.DataFrame | None, backend: str) -> pd.DataFrame:
    from .address import parse_many

    if comp is not None:
        p = comp.copy()
        for f in _PARSE_FIELDS:
            if f not in p:
                p[f] = ""
        if "postcode" in p:
            from .address import postcode as pcmod

            p["postcode"] = pcmod.extract_many(p["postcode"])["postcode"].fillna("")
        empty = (p[list(_PARSE_FIELDS)].astype("str").apply(lambda c: c.str.strip() == "")).all(axis=1)
        p["parse_status"] = np.where(empty, "empty", "ok")
        p["placeholder"] = None
        p["location_qualifier"] = None
        return p
    # police "at 12 High St": the parser has no rule for a leading "at" (reported to its owner)
    if texts is not None and len(texts):
        from .address import _rx

        # by position (a duplicated index must not align), as object values (lone surrogates replaced)
        vals = texts.astype(object).to_numpy(dtype=object).copy()
        isstr = np.fromiter((isinstance(v, str) for v in vals), dtype=bool, count=len(vals))
        if isstr.any():
            fixed = _rx.replace(_rx.to_str(pd.Series(vals[isstr], dtype=object)), r"^[\s\x{a0}]*at[\s\x{a0}]+([^\s\x{a0}])", r"\1")
            vals[isstr] = fixed.to_numpy(dtype=object)
        texts = pd.Series(vals, index=texts.index, dtype=object)
    return parse_many(texts, backend=backend)


# ---------------------------------------------------------------------------------------- areas
def _joined(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    out = df[cols[0]].astype("str")
    for c in cols[1:]:
        out = out + "|" + df[c].astype("str")
    return out


def _area_tables(gaz: Any, boundaries: Any) -> dict[str, Any]:
    """Per gazetteer row: ward/LSOA code (int category codes) and, for aggregate rows, the share of
    their members in that area; cached on the gazetteer per boundaries object."""
    key = ("tables", id(boundaries))
    cache = gaz._areas_cache
    if key in cache:
        return cache[key]
    codes = gaz.area_codes(boundaries)
    t = gaz.table
    out: dict[str, Any] = {}
    for kind, arr in codes.items():
        cats, inv = np.unique(np.where(pd.isna(arr), "", arr).astype(str), return_inverse=True)
        share = np.ones(len(t), dtype=np.float32)
        lv = gaz.level
        # street rows: share of their snap points / premises in the street point's area
        grp = {"street": ["k_street", "k_pc_district"], "postcode_sector": ["k_pc_sector"],
               "postcode_district": ["k_pc_district"], "postcode_area": ["k_pc_area"]}
        for level, cols in grp.items():
            members_level = "street_point" if level == "street" else "postcode_unit"
            mem = t[(lv == members_level) | ((lv == "premises") if level == "street" else False)]
            if not len(mem):
                continue
            mk = _joined(mem, cols)
            cnt = pd.DataFrame({"k": mk.to_numpy(), "a": inv[mem.index.to_numpy()]}).value_counts()
            tot = cnt.groupby(level=0).sum()
            rows = t[lv == level]
            rk = _joined(rows, cols)
            idx = pd.MultiIndex.from_arrays([rk.to_numpy(), inv[rows.index.to_numpy()]])
            num = cnt.reindex(idx).to_numpy(dtype=float)
            den = tot.reindex(rk.to_numpy()).to_numpy(dtype=float)
            sh = np.where(np.isfinite(num) & (den > 0), num / np.where(den > 0, den, 1), np.nan)
            share[rows.index.to_numpy()] = np.where(np.isfinite(sh), sh, 0.5)
        share[lv == "postcode_unit"] = UNIT_AREA_CONFIDENCE
        out[kind] = (cats, inv.astype(np.int32), share)
    cache[key] = out
    return out


def _segmax(qi: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Per query, the maximum of ``v`` over its pairs (``qi`` sorted ascending; -inf without pairs)."""
    out = np.full(n, -np.inf, dtype=np.float32)
    if len(qi):
        starts = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        out[qi[starts]] = np.maximum.reduceat(v, starts)
    return out


def _gaz_texts(gaz: Any) -> dict[str, np.ndarray]:
    """:func:`geocrime._scoring.record_texts` of every gazetteer entry, computed once (cached on the
    gazetteer; built before workers fork)."""
    cache = gaz._areas_cache
    if "texts" not in cache:
        f = {c: gaz.k[c] for c in ("bname", "street", "place", "place2")}
        cache["texts"] = {**_scoring.record_texts(f), **_scoring.entry_texts(f)}
    return cache["texts"]


def _candidate_area(qi: np.ndarray, gi: np.ndarray, s: np.ndarray, best: np.ndarray, inv: np.ndarray, nq: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Modal area category and its probability from the candidate scores (2**(score - best),
    normalised over candidates within :data:`AREA_WINDOW` of the best)."""
    use = s >= best[qi] - AREA_WINDOW
    qi, gi, s = qi[use], gi[use], s[use]
    w = np.exp2((s - best[qi]).astype(np.float64))
    tot = np.bincount(qi, weights=w, minlength=nq)
    a = inv[gi]
    df = pd.DataFrame({"q": qi, "a": a, "w": w}).groupby(["q", "a"], sort=False)["w"].sum().reset_index()
    df = df.sort_values(["q", "w"], ascending=[True, False]).drop_duplicates("q")
    cat = np.full(nq, -1, dtype=np.int64)
    prob = np.full(nq, np.nan)
    cat[df["q"].to_numpy()] = df["a"].to_numpy()
    prob[df["q"].to_numpy()] = df["w"].to_numpy() / tot[df["q"].to_numpy()]
    return cat, prob


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


# ---------------------------------------------------------------------------------------- workers
_WORKER: dict[str, Any] = {}
#: free the allocators' unused pages before forking workers (switched off only by the A/B benchmark)
_RELEASE_BEFORE_FORK = True


def _release_before_fork() -> None:
    """Hand the allocators' free pages back to the OS just before forking the workers.

    A forked worker that reuses a free page the parent still maps pays a copy-on-write fault (a 4 KiB
    copy) instead of a cheap zero-page fault. After heavy work in the parent (a geocode run, a
    gazetteer build) its glibc heap and pyarrow's memory pool hold many such pages: measured with
    ``/proc/self/smaps``, a worker's first chunk copied ~30 MB of pyarrow's arena and ~20 MB of heap.
    Measured by ``benchmarks/bench_fork_release.py`` (2 processes after a 1-process run): median
    3-8% faster in two runs of 8 and 12 trials; noisy on a shared machine.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` through ctypes (looked up once), or None without glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:  # no C library to load: nothing to trim
        return None
    return getattr(libc, "malloc_trim", None)


def _work(args: tuple[Any, Any, str, float, float, bool]) -> pd.DataFrame:
    texts, comp, backend, threshold, margin, use_b = args
    gaz = _WORKER["gaz"]
    bounds = _WORKER["boundaries"] if use_b else None
    if texts is not None and len(texts) > 1:
        # identical records are geocoded once (police data repeats a lot)
        try:
            codes, uniq = pd.factorize(texts.astype(object), use_na_sentinel=False)
        except TypeError:  # unhashable values
            codes, uniq = None, None
        if codes is not None and len(uniq) < len(texts):
            u = pd.Series(np.asarray(uniq, dtype=object), dtype=object)
            res = _match(_parse(u, None, backend), gaz, threshold, margin, bounds)[0]
            return res.iloc[codes].set_axis(texts.index)
    parsed = _parse(texts, comp, backend)
    return _match(parsed, gaz, threshold, margin, bounds)[0]


def _advance(bar: Any, results: list[pd.DataFrame], n_work: int, n: int) -> None:
    """Move the progress bar to the input rows covered by ``results`` (whole records: the work may be
    the distinct texts only, broadcast to ``n`` rows at the end)."""
    if bar is not None:
        done = sum(len(r) for r in results)
        bar.update(round(done * n / max(n_work, 1)) - bar.n)


def geocode(
    df: pd.DataFrame | pd.Series | Sequence[Any],
    gazetteer: Any,
    columns: str | Sequence[str] | Mapping[str, str] | None = None,
    boundaries: Any = None,
    backend: str = "rules",
    threshold: float = DEFAULT_THRESHOLD,
    margin: float = DEFAULT_MARGIN,
    n_jobs: int = 1,
    chunk_size: int = 50_000,
    progress: bool = False,
) -> "Any":
    """Geocode every row of ``df`` against ``gazetteer``.

    ``columns``: the free-text address column (str), several columns joined in order (list), or a
    mapping component -> column (``{"house_number": "num", "street": "road", "postcode": "pc"}``,
    used without parsing). ``boundaries``: a :class:`geocrime.areas.Boundaries` (or mapping
    ``{"ward": gdf, "lsoa": gdf}``) to add ``ward_code``/``ward_confidence``/``lsoa_code``/
    ``lsoa_confidence``. ``backend``: address parser (``rules``, ``libpostal``, ``auto``).
    ``n_jobs``: worker processes (fork; 1 = in process; -1 = all cores).

    Returns a GeoDataFrame (EPSG:27700, point geometry, empty where ``match_level`` is ``none``):
    the input columns (a Series/list input becomes column ``address``) followed by
    :data:`OUTPUT_COLUMNS`. Rows in = rows out, same index, same order; nothing raises for a bad row.
    """
    import geopandas as gpd

    from .gazetteer import Gazetteer

    if not isinstance(gazetteer, Gazetteer):
        raise GazetteerError(f"gazetteer must be a geocrime Gazetteer (got {type(gazetteer).__name__}); "
                             "load one with Gazetteer.load(path)")
    if backend not in ("rules", "libpostal", "auto"):
        raise InputError(f"backend must be 'rules', 'libpostal' or 'auto', not {backend!r}")
    texts, comp, index = _texts(df, columns)
    n = len(index)
    base = df.copy() if isinstance(df, pd.DataFrame) else \
        pd.DataFrame({"address": pd.Series(pd.Series(texts).to_numpy(dtype=object), index=index, dtype=object)})
    if boundaries is not None:
        _area_tables(gazetteer, boundaries)  # before any fork
    _gaz_texts(gazetteer)
    gazetteer.index.distinct()  # the lookup table, before any fork
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    # identical free-text records are geocoded once (police data repeats a lot), then broadcast
    codes = None
    if texts is not None and n > 1:
        try:
            codes, uniq = pd.factorize(texts.astype(object), use_na_sentinel=False)
        except TypeError:  # unhashable values: geocode every row
            codes = None
        if codes is not None and len(uniq) < n:
            texts = pd.Series(np.asarray(uniq, dtype=object), dtype=object)
        else:
            codes = None
    n_work = len(texts) if texts is not None else n
    if n_jobs > 1 and n_work > 2 * 2_000:
        chunk_size = min(chunk_size, -(-n_work // (2 * n_jobs)))  # at least two chunks per worker
    bounds = list(range(0, n_work, chunk_size)) or [0]
    chunks = []
    for b in bounds:
        t = texts.iloc[b:b + chunk_size] if texts is not None else None
        c = comp.iloc[b:b + chunk_size] if comp is not None else None
        chunks.append((t, c, backend, float(threshold), float(margin), boundaries is not None))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, unit="rec", desc="geocode", file=__import__("sys").stderr)
    _WORKER["gaz"], _WORKER["boundaries"] = gazetteer, boundaries
    results: list[pd.DataFrame] = []
    try:
        if n_jobs > 1 and len(chunks) > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            if backend in ("libpostal", "auto"):
                from .address import backend_available
                from .address import libpostal as _lp

                if backend == "libpostal" or backend_available():
                    _lp.load()  # once, before the fork: workers share the model
            if _RELEASE_BEFORE_FORK:
                _release_before_fork()
            with ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("fork")) as ex:
                for r in ex.map(_work, chunks):
                    results.append(r)
                    _advance(bar, results, n_work, n)
        else:
            for ch in chunks:
                r = _work(ch)
                results.append(r)
                _advance(bar, results, n_work, n)
    finally:
        if bar is not None:
            bar.close()
    res = pd.concat(results) if results else pd.DataFrame(columns=list(OUTPUT_COLUMNS))
    if codes is not None:
        res = res.iloc[codes]
    res.index = index
    for c in OUTPUT_COLUMNS:
        if c not in res:
            res[c] = None
    base = base.drop(columns=[c for c in OUTPUT_COLUMNS if c in base.columns] + (["geometry"] if "geometry" in base.columns else []))
    out = pd.concat([base, res[list(OUTPUT_COLUMNS)]], axis=1)
    geom = gpd.points_from_xy(out["x"].to_numpy(float), out["y"].to_numpy(float), crs=BNG)
    geom[~np.isfinite(out["x"].to_numpy(float))] = None
    return gpd.GeoDataFrame(out, geometry=geom, crs=BNG)


def geocode_one(text: Any, gazetteer: Any, boundaries: Any = None, backend: str = "rules",
                threshold: float = DEFAULT_THRESHOLD, margin: float = DEFAULT_MARGIN, top: int = 5) -> dict[str, Any]:
    """Geocode one address string, for interactive use: a dict of :data:`OUTPUT_COLUMNS` plus
    ``parsed`` (the address components) and ``candidates`` (the ``top`` best entries with their
    score, faults and per-family weights — the explanation of the decision)."""
    from .gazetteer import Gazetteer

    if not isinstance(gazetteer, Gazetteer):
        raise GazetteerError("gazetteer must be a geocrime Gazetteer; load one with Gazetteer.load(path)")
    if text is not None and not isinstance(text, (str, bytes)):
        text = None if isinstance(text, float) and np.isnan(text) else text
    parsed = _parse(pd.Series([text], dtype=object), None, backend)
    out, extra = _match(parsed, gazetteer, threshold, margin, boundaries, keep_pairs=True)
    res = {k: (None if (isinstance(v, float) and np.isnan(v)) else (v.item() if hasattr(v, "item") else v))
           for k, v in out.iloc[0].items()}
    res["parsed"] = {k: (None if pd.isna(v) else v) for k, v in parsed.iloc[0].items()}
    cands = []
    if extra is not None and len(extra["qi"]):
        order = np.argsort(-extra["score"], kind="stable")[:top]
        faults = _scoring.fault_strings(extra["codes"], order)
        t = gazetteer.table
        for j, p in enumerate(order):
            g = int(extra["gi"][p])
            cands.append({
                "gazetteer_id": int(gazetteer.ids[g]), "address": gazetteer.canonical[g], "score": float(extra["score"][p]),
                "faults": faults[j], "x": float(gazetteer.x[g]), "y": float(gazetteer.y[g]),
                "weights": {fam: float(_scoring.WEIGHTS[fam][c[p]]) for fam, c in extra["codes"].items()},
                "levels": {fam: _scoring.LEVELS[fam][c[p]] for fam, c in extra["codes"].items()},
            })
    res["candidates"] = cands
    return res


def reverse(points: Any, gazetteer: Any, max_distance: float | None = None) -> "Any":
    """Nearest premises and nearest street to each point.

    ``points``: a GeoDataFrame, or a DataFrame with lon/lat or easting/northing columns (see
    :func:`geocrime._geo.as_points`). Adds ``address``, ``address_id``, ``address_distance_m``,
    ``street``, ``street_distance_m`` (metres, EPSG:27700) and ``reverse_status`` (``ok``,
    ``too_far`` when beyond ``max_distance`` metres, or the point's location status); every row is kept.
    """
    from ._geo import as_points

    gdf, pstatus = as_points(points)
    x = gdf.geometry.x.to_numpy(float) if len(gdf) else np.zeros(0)
    y = gdf.geometry.y.to_numpy(float) if len(gdf) else np.zeros(0)
    okp = np.isfinite(x) & np.isfinite(y) & (pstatus.astype("str").to_numpy() == "ok")
    n = len(gdf)
    out = gdf.copy()
    addr = np.full(n, None, dtype=object)
    aid = np.full(n, -1, dtype=np.int64)
    ad = np.full(n, np.nan)
    street = np.full(n, None, dtype=object)
    sd = np.full(n, np.nan)
    t = gazetteer.table
    if okp.any():
        r, d = gazetteer.nearest(x[okp], y[okp], ("premises",))
        addr[okp] = gazetteer.canonical[r]
        aid[okp] = gazetteer.ids[r]
        ad[okp] = d
        lv = [lv for lv in ("street_point", "street") if (gazetteer.level == lv).any()]
        if lv:
            r2, d2 = gazetteer.nearest(x[okp], y[okp], tuple(lv))
            street[okp] = t["street"].to_numpy(dtype=object)[r2]
            sd[okp] = d2
    status = np.where(okp, "ok", pstatus.astype("str").to_numpy())
    if max_distance is not None:
        far = okp & (ad > max_distance)
        status = np.where(far, "too_far", status)
        addr[far] = None
        aid[far] = -1
    out["address"] = addr
    out["address_id"] = aid
    out["address_distance_m"] = ad
    out["street"] = street
    out["street_distance_m"] = sd
    out["reverse_status"] = status
    return out


class _CallableModule(__import__("types").ModuleType):
    """``geocrime.geocode`` is both this module and, called, :func:`geocode` (the package exports
    the name lazily and the submodule shares it)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return geocode(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
