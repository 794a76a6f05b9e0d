"""The matcher for a parsed batch: inputs -> block -> compare -> decide -> ladder -> reasons ->
output -> area confidence, each step a named function over the whole batch.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._geo import bng_to_lonlat
from ..gazetteer.keys import canonical_components, street_keys
from . import compare as _scoring
from .area_confidence import _area_tables, _candidate_area
from .block import compare_pairs, query_fields, retrieve
from .calibrate import default_calibrator
from .decide import Decision, decide
from ..address.places import default_places
from ..address.rules import ends_in_street_type
from .ladder import _comp_of_street_ids, _join_cached, _lut, _put, _street_table, borough_points, junctions, landmarks, number_on_street, place_levels, postcode_levels, put_borough, streets
from .params import MIN_AREA_CONFIDENCE, NO_AREA_LEVELS, PREMISES_OFF_UNIT_M
from .places import _bits_of_codes, pair_conflict, query_places


def _match(parsed: pd.DataFrame, gaz: Any, threshold: float, margin: float, boundaries: Any = None,
           keep_pairs: bool = False, inside: np.ndarray | None = None,
           within_test: Any = None) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Geocode a parsed batch against ``gaz``. ``inside``: per gazetteer entry, inside the caller's
    ``within=`` area (None: everywhere); ``within_test``: the same area as a point test, for points
    that are not entries (junction, locality, borough). Returns (output columns, the candidate pairs when ``keep_pairs``)."""
    n = len(parsed)
    status = parsed["parse_status"].astype("str").to_numpy(dtype=object) if n else np.zeros(0, object)
    ok = np.isin(status, ["ok", "truncated"])
    qc = canonical_components(parsed).reset_index(drop=True)
    q = query_fields(qc)
    places = query_places(parsed)
    qi, gi = retrieve(qc, ok, gaz)
    conflict = pair_conflict(places, qi, gi, gaz, None)  # the text's own place words
    outside = None if inside is None else ~inside[gi]  # the caller's within=: never overridden
    pairs = compare_pairs(q, qi, gi, gaz, n, threshold, margin, conflict, outside)
    dec = decide(qi, gi, pairs, gaz, n, threshold, margin)
    _street_only(dec, pairs["codes"])
    _named_street_exists(dec, pairs["codes"], qc, places, gaz, inside)
    _street_elsewhere(dec, pairs["codes"], qc, places, gaz, inside)
    _far_from_postcode(dec, pairs["codes"], qc, gaz, places)
    lad = _climb(qc, places, dec, gaz, ok, inside, parsed)
    if within_test is not None:
        _outside_within(lad, within_test)
    reason = _reasons(parsed, status, ok, qc, dec, lad)
    out = _output(parsed.index, lad, dec, pairs, gaz, reason)
    if boundaries is not None:
        _areas(out, lad, dec, qi, gi, pairs["s"], gaz, boundaries, threshold)
    extra = {"qi": qi, "gi": gi, "score": pairs["s"], "codes": pairs["codes"]} if keep_pairs else None
    return out, extra


#: levels that tell two same-numbered premises on same-named streets apart
_SEPARATING = {"BUILDING": ("exact", "fuzzy", "in_text", "in_text_fuzzy", "contains"), "PLACE": ("exact",),
               "POSTCODE": ("exact", "sector_only")}


def _street_elsewhere(dec: Decision, codes: dict[str, np.ndarray], qc: pd.DataFrame, places: dict[str, np.ndarray],
                      gaz: Any, inside: np.ndarray | None) -> None:
    """Withdraw (in place) a premises match that only a house number and a street name support when
    the street layer holds that street name as several separate streets in the area the record
    allows ("12 High Road, London": the premises gazetteer holding one 12 High Road does not make
    it the one meant). Such rows become ``ambiguous_street``."""
    from . import params

    acc = np.flatnonzero(dec.accept)
    if not len(acc) or not params.NUMBER_STREET_NEEDS_UNIQUE_STREET:
        return
    bp = dec.bpair[acc]
    sep = np.zeros(len(acc), dtype=bool)
    for fam, lvls in _SEPARATING.items():
        sep |= np.isin(codes[fam][bp], [_scoring.LEVELS[fam].index(lv) for lv in lvls])
    cand = acc[~sep]
    if not len(cand):
        return
    todo = np.zeros(len(qc), dtype=bool)
    todo[cand] = True
    key = np.where(todo, gaz.k["street"][np.maximum(dec.bgi, 0)], "")
    sr = streets(key.astype(object), qc["pc_district"].to_numpy(dtype=object), todo, places, inside, gaz)
    # the premises must lie on the one street of that name, when the layer knows it
    far = (sr["row"] >= 0) & (np.hypot(gaz.x[np.maximum(dec.bgi, 0)] - sr["x"], gaz.y[np.maximum(dec.bgi, 0)] - sr["y"])
                              > sr["unc"] + 300.0)
    bad = todo & (sr["ambiguous"] | far)
    dec.accept &= ~bad
    dec.street_elsewhere = bad


def _street_only(dec: Decision, codes: dict[str, np.ndarray]) -> None:
    """Withdraw (in place) a premises match that nothing but the street (and place words) supports:
    no number, building name or flat of the record agrees with the entry ("Holloway Road,
    Islington" is a street, not the church on it whose name holds the place word), and no postcode
    unit either. Such rows go down the ladder to the street."""
    acc = np.flatnonzero(dec.accept)
    if not len(acc):
        return
    bp = dec.bpair[acc]
    unsupported = np.ones(len(acc), dtype=bool)
    for fam, lvls in (("HOUSE_NUMBER", ("none", "missing")), ("FLAT", ("none", "missing")),
                      ("BUILDING", ("none", "missing", "mismatch"))):
        # "none": no value on the record; "missing": the entry has one, the record none; a building
        # name that differs ("RUISLIP HONDA, VICTORIA ROAD" / Victoria Road Service Station) supports nothing
        unsupported &= np.isin(codes[fam][bp], [_scoring.LEVELS[fam].index(lv) for lv in lvls])
    # ... unless the record's postcode unit is the entry's (generated FSA records "Kenton Road, Harrow,
    # HA1 2BW" keep their premises: within a unit the premises and the unit point are metres apart)
    unsupported &= codes["POSTCODE"][bp] != _scoring.LEVELS["POSTCODE"].index("exact")
    dec.accept[acc[unsupported]] = False


#: street levels that say the entry's street is not the record's
_OTHER_STREET = ("fuzzy", "weak", "mismatch")


def _named_street_exists(dec: Decision, codes: dict[str, np.ndarray], qc: pd.DataFrame, places: dict[str, np.ndarray],
                         gaz: Any, inside: np.ndarray | None) -> None:
    """Withdraw (in place) a premises match on a street spelt differently from the record's ("97 North
    Road, Southall" -> 97 South Road; "34 Fulham High Street" -> Eltham High Street) when the street
    layer holds the record's street as written in the area the record allows: the record names a
    real street, the entry is on another one. Such rows go down the ladder to that street."""
    acc = np.flatnonzero(dec.accept & (qc["street"].to_numpy(dtype=object) != ""))
    if not len(acc):
        return
    other = np.isin(codes["STREET"][dec.bpair[acc]], [_scoring.LEVELS["STREET"].index(lv) for lv in _OTHER_STREET])
    cand = acc[other]
    if not len(cand):
        return
    todo = np.zeros(len(qc), dtype=bool)
    todo[cand] = True
    sr = streets(qc["street"].to_numpy(dtype=object), qc["pc_district"].to_numpy(dtype=object), todo, places, inside, gaz)
    dec.accept &= ~(todo & ((sr["row"] >= 0) | sr["ambiguous"]))


def _far_from_postcode(dec: Decision, codes: dict[str, np.ndarray], qc: pd.DataFrame, gaz: Any,
                       places: dict[str, np.ndarray]) -> None:
    """Withdraw (in place) a premises match in another postcode unit than the one the record gives,
    on a street written differently ("97 North Road" for "97 South Road"), when it lies more than
    ``params.PREMISES_OFF_UNIT_M`` from that unit: the postcode locates the record better than a
    look-alike address elsewhere. Such rows fall to the postcode unit."""
    acc = dec.accept & (qc["pc_unit"].to_numpy(dtype=object) != "")
    if not acc.any():
        return
    i = np.flatnonzero(acc)
    exact = codes["POSTCODE"][dec.bpair[i]] == _scoring.LEVELS["POSTCODE"].index("exact")
    same_street = np.isin(codes["STREET"][dec.bpair[i]], [_scoring.LEVELS["STREET"].index(v) for v in ("exact", "close", "in_text")])
    i, same_street = i[~exact], same_street[~exact]
    if not len(i):
        return
    u = _lut(gaz, "postcode_unit", qc["pc_unit"].to_numpy(dtype=object)[i])
    b = dec.bgi[i]
    far = (u >= 0) & (np.hypot(gaz.x[b] - gaz.x[np.maximum(u, 0)], gaz.y[b] - gaz.y[np.maximum(u, 0)]) > PREMISES_OFF_UNIT_M)
    # the same street written the same way: the record's postcode may be the typo, unless that
    # unit lies on a street of the record's name ("51 Uxbridge Road, W7 3PX" is on the W7 Uxbridge
    # Road, not the premises numbered 51 on the Uxbridge Road in Hampton)
    doubt = far & same_street
    if doubt.any():
        # ... or when the text names a local place (a borough, post town or locality: not city-wide
        # "London", not a county) and the premises lies in another locality: the postcode and the
        # place agree against it ("5 High Street, Barnes, SW13 9LB" is not 5 High
        # Street, Hampton Wick)
        j = i[doubt]
        other_place = (codes["PLACE"][dec.bpair[j]] == _scoring.LEVELS["PLACE"].index("mismatch")) \
            & np.isin(np.bitwise_count(places["mask"][j].astype(np.uint64)), np.arange(1, 9))
        far[doubt] = other_place | _unit_on_other_street(qc["street"].to_numpy(dtype=object)[i[doubt]], u[doubt], b[doubt], gaz)
    dec.accept[i[far]] = False
    dec.off_postcode[i[far]] = True


def _unit_on_other_street(street: np.ndarray, unit_row: np.ndarray, premises_row: np.ndarray, gaz: Any) -> np.ndarray:
    """Per (street key, postcode-unit row, premises row): the unit lies on a street of that name
    (one of its points within ``params.PREMISES_OFF_UNIT_M`` / 2 of the unit's point, metres) and on
    none that the premises is on (another physical street: street-layer component)."""
    own = _comp_of_street_ids(gaz, gaz.street_id[premises_row])
    q = pd.DataFrame({"i": np.arange(len(street)), "key": street})
    m = _join_cached(q, gaz, "street_rows_key_row_comp")
    if not len(m):
        return np.zeros(len(street), dtype=bool)
    pts = gaz.street_points(np.unique(m["row"].to_numpy()))
    m = m.merge(pts[["street_row", "x", "y"]], left_on="row", right_on="street_row")
    qi = m["i"].to_numpy()
    near = np.hypot(m["x"].to_numpy() - gaz.x[unit_row[qi]], m["y"].to_numpy() - gaz.y[unit_row[qi]]) <= PREMISES_OFF_UNIT_M / 2
    on_any = np.bincount(qi[near], minlength=len(street)) > 0
    on_own = np.bincount(qi[near & (m["comp"].to_numpy() == own[qi])], minlength=len(street)) > 0
    return on_any & ~on_own


def _climb(qc: pd.DataFrame, places: dict[str, np.ndarray], dec: Decision, gaz: Any, ok: np.ndarray,
           inside: np.ndarray | None, parsed: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """The precision ladder (:mod:`geocrime.geocoding.ladder`): level, gazetteer row (-1 for a point
    that is not one entry), x/y/uncertainty (metres) and label of every query."""
    n = len(qc)
    level = np.full(n, "none", dtype=object)
    row = np.full(n, -1, dtype=np.int64)
    fixed = {"level": level, "x": np.full(n, np.nan), "y": np.full(n, np.nan), "unc": np.full(n, np.nan),
             "label": np.full(n, None, dtype=object)}
    level[dec.accept], row[dec.accept] = "premises", dec.bgi[dec.accept]
    rest = ok & ~dec.accept
    objs: dict[str, np.ndarray] = {}

    def col(c: str) -> np.ndarray:  # each column as object values once (read, never written)
        if c not in objs:
            objs[c] = qc[c].to_numpy(dtype=object)
        return objs[c]
    lm, jn = _landmark_junction(parsed, qc, rest, places, inside, gaz, fixed, row)
    free = rest & (row < 0) & (level == "none")
    sr = streets(col("street"), col("pc_district"), free, places, inside, gaz)
    number = _thoroughfare(parsed, sr, free, col("pc_district"), places, inside, gaz, qc["hn_num"].to_numpy())
    unit_row = np.full(n, -1, np.int64)
    hu = free & (col("pc_unit") != "")
    if hu.any():
        unit_row[hu] = _lut(gaz, "postcode_unit", col("pc_unit")[hu])
        if inside is not None:
            unit_row = np.where((unit_row >= 0) & inside[np.maximum(unit_row, 0)], unit_row, -1)
    urad = np.where(unit_row >= 0, gaz.radius[np.maximum(unit_row, 0)], np.inf)
    # the street point when it is more precise than the unit (a unit is on its street: it wins ties)
    use_st = (sr["row"] >= 0) & (sr["unc"] < urad)
    use_u = (unit_row >= 0) & ~use_st
    level[use_st], row[use_st] = "street", sr["row"][use_st]
    level[use_u], row[use_u] = "postcode_unit", unit_row[use_u]
    postcode_levels(qc, free, gaz, level, row, inside)
    # an ambiguous street: the coarsest level all its candidates share
    amb = free & (row < 0) & sr["ambiguous"]
    _put(gaz, "postcode_district", sr["common_district"], amb & (sr["common_district"] != ""), level, row, inside)
    m = places["mask"]
    single = (m != 0) & ((m & (m - 1)) == 0)  # the text names one borough: the streets all lie in it
    put_borough(np.where(single, m, sr["common_bits"]), amb & (row < 0), borough_points(), fixed)
    todo = free & (row < 0) & (level == "none")
    places = _street_named_as_locality(col("street"), todo & ~sr["ambiguous"] & ~sr["conflict"], places)
    place_levels(places, todo & ~sr["ambiguous"], fixed)
    _put(gaz, "postcode_area", col("pc_area"), free & (row < 0) & (level == "none") & (col("pc_area") != ""),
         level, row, inside)
    found = row >= 0
    rr = np.maximum(row, 0)
    x = np.where(found, gaz.x[rr], fixed["x"])
    y = np.where(found, gaz.y[rr], fixed["y"])
    unc = np.where(found, gaz.radius[rr], fixed["unc"])
    x[use_st], y[use_st] = sr["x"][use_st], sr["y"][use_st]
    unc[use_st] = np.maximum(sr["unc"][use_st], gaz.radius[rr][use_st])
    anchor = number_on_street(sr["key"], number, x, y, unc, use_st, gaz, row=sr["row"])
    label = np.where(found, gaz.canonical[rr], fixed["label"])
    return {"level": level, "row": row, "x": x, "y": y, "unc": unc, "label": label, "street": sr,
            "landmark_conflict": lm, "junction_ambiguous": jn, "anchor": anchor}


def _street_named_as_locality(street: np.ndarray, todo: np.ndarray, places: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Where no street of the record's street name was found and that name is, whole, a locality of
    the place lexicon lying in the borough the text names ("Custom House, Newham", "Peckham,
    Southwark": a locality written where the street goes), the place is that locality, not the
    borough: its point and radius. Returns ``places`` with those rows replaced (a copy when any)."""
    t = todo & (street != "") & (places["kind"] == "borough") & (places["mask"] != 0)
    if not t.any():
        return places
    lex = default_places()
    texts = pd.Series(street[t], dtype=object)
    whole = lex.is_place(texts).to_numpy()
    if not whole.any():
        return places
    f = lex.find(texts[whole])
    bits = _bits_of_codes(np.where(pd.isna(f["place_boroughs"]), "", f["place_boroughs"]).astype(object))
    i = np.flatnonzero(t)[whole]
    ok = ((f["place_kind"] == "locality").to_numpy() & np.isfinite(f["place_x"].to_numpy(float))
          & ((bits & places["mask"][i]) != 0))
    if not ok.any():
        return places
    i, f = i[ok], f[ok]
    out = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in places.items()}
    out["x"][i], out["y"][i] = f["place_x"].to_numpy(float), f["place_y"].to_numpy(float)
    out["radius"][i] = f["place_radius_m"].to_numpy(float)
    out["kind"][i], out["name"][i] = "locality", f["place"].to_numpy(dtype=object)
    return out


#: street names that are dependent thoroughfares (named off a road: "Queens Parade, Brownlow Road")
_DEPENDENT = r"(?:parade|court|place|buildings|mews|terrace|row|arcade|precinct|yard|square)$"
#: ... and the roads they are named off
_THOROUGHFARE = r"(?:road|street|lane|avenue|way|hill|drive|grove|crescent|broadway|high road|high street)$"


def _thoroughfare(parsed: pd.DataFrame | None, sr: dict[str, np.ndarray], free: np.ndarray, district: np.ndarray,
                  places: dict[str, np.ndarray], inside: np.ndarray | None, gaz: Any,
                  number: np.ndarray) -> np.ndarray:
    """The street a record's first street name leads off ("3 Crossways Parade, Selsdon Park Road";
    "1 Motor Way, Margaret Road, New Barnet"): where the first street is not held at all (no street
    row, not ambiguous, no place conflict) and the next part of the text (the first comma part of
    the parser's locality: "Soho Mills, London Road, Hackbridge") ends in a street type and is no
    place name, that part is looked up as the street with the same place rules and postcode
    ``district`` (updates ``sr`` in place; ``sr["key"]``: the street key each street point is of).
    Returns the house numbers to anchor on the street found (-1 where the number belongs to the
    first street, not the thoroughfare)."""
    n = len(free)
    number = np.asarray(number).copy()
    if parsed is None or "locality" not in parsed.columns or not n:
        return number
    loc = parsed["locality"].to_numpy(dtype=object)
    # a first street found is looked past only when it is a dependent thoroughfare (a parade, court,
    # place ... named off a road) lying apart from the road the text names after it
    found = sr["row"] >= 0
    dep = np.zeros(n, bool)
    cand = free & found & pd.notna(loc)
    if cand.any():
        dep[cand] = pd.Series(sr["key"][cand], dtype=object).astype(str).str.contains(_DEPENDENT, regex=True).to_numpy()
    todo = free & pd.notna(loc) & ((~found & ~sr["ambiguous"] & ~sr["conflict"]) | dep)
    if not todo.any():
        return number
    text = pd.Series(loc[todo], dtype=object).astype(str).str.split(",").str[0].str.strip()
    typed = (ends_in_street_type(text) & ~default_places().is_place(text)).to_numpy()
    if not typed.any():
        return number
    rows = np.flatnonzero(todo)[typed]
    alt = np.full(n, "", dtype=object)
    alt[rows] = street_keys(text[typed].reset_index(drop=True)).to_numpy(dtype=object)
    if dep.any():  # ... and only for a road ("Alton Estate", "Willesden Green" are not)
        alt[dep & ~pd.Series(alt, dtype=object).astype(str).str.contains(_THOROUGHFARE, regex=True).to_numpy()] = ""
    got = streets(alt, district, todo, places, inside, gaz)
    hit = got["row"] >= 0
    apart = np.hypot(sr["x"] - got["x"], sr["y"] - got["y"]) > np.nan_to_num(sr["unc"]) + np.nan_to_num(got["unc"])
    hit &= ~found | apart
    for k in ("row", "x", "y", "unc"):
        sr[k][hit] = got[k][hit]
    sr["key"][hit] = alt[hit]
    number[hit] = -1
    return number


def _landmark_junction(parsed: pd.DataFrame | None, qc: pd.DataFrame, rest: np.ndarray, places: dict[str, np.ndarray],
                       inside: np.ndarray | None, gaz: Any, fixed: dict[str, np.ndarray], row: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Landmark and junction rungs (in place on ``fixed`` / ``row``); returns (landmark place
    conflict, ambiguous junction) per query."""
    n = len(qc)
    lm_conf, j_amb = np.zeros(n, bool), np.zeros(n, bool)
    if parsed is None:
        return lm_conf, j_amb
    if "landmark" in parsed.columns:
        key = parsed["landmark"].to_numpy(dtype=object)
        key = np.where(pd.isna(key), "", key).astype(object)
        r, lm_conf = landmarks(key, rest, places, inside, gaz)
        fixed["level"][r >= 0], row[r >= 0] = "landmark", r[r >= 0]
    if "second_street" in parsed.columns:
        sec = parsed["second_street"].to_numpy(dtype=object)
        has = rest & (row < 0) & pd.notna(sec) & (sec != "")
        if has.any():
            second = np.full(n, "", dtype=object)
            second[has] = street_keys(pd.Series(sec[has].astype(str), dtype=object)).to_numpy(dtype=object)
            jn = junctions(qc["street"].to_numpy(dtype=object), second, has, places, inside, gaz)
            ok = np.isfinite(jn["x"])
            fixed["level"][ok] = "junction"
            fixed["x"][ok], fixed["y"][ok], fixed["unc"][ok] = jn["x"][ok], jn["y"][ok], jn["unc"][ok]
            fixed["label"][ok] = (parsed["street"].astype(str).to_numpy(dtype=object)[ok] + " / "
                                  + sec[ok].astype(str))
            j_amb = jn["ambiguous"]
    return lm_conf, j_amb


def _outside_within(lad: dict[str, Any], test: Any) -> None:
    """Drop (in place) points that are not gazetteer entries and lie outside ``within=``."""
    pt = (lad["row"] < 0) & np.isfinite(lad["x"])
    if not pt.any():
        return
    bad = np.zeros(len(pt), bool)
    bad[pt] = ~np.asarray(test(lad["x"][pt], lad["y"][pt]), dtype=bool)
    lad["level"][bad] = "none"
    for k in ("x", "y", "unc"):
        lad[k][bad] = np.nan
    lad["label"][bad] = None
    lad["outside_within"] = bad


def _reasons(parsed: pd.DataFrame, status: np.ndarray, ok: np.ndarray, qc: pd.DataFrame, dec: Decision,
             lad: dict[str, Any]) -> np.ndarray:
    """Why a row is not a premises match (or why it is placed nowhere)."""
    n = len(status)
    reason = np.full(n, None, dtype=object)
    ph = parsed["placeholder"].to_numpy(dtype=object) if "placeholder" in parsed else np.full(n, None, object)
    isph = status == "placeholder"
    if isph.any():
        reason[isph] = np.array(["placeholder:" + str(p) for p in ph[isph]], dtype=object)
    reason[status == "empty"] = "empty"
    reason[status == "invalid_input"] = "invalid_input"
    fell = ok & ~dec.accept
    level, sr = lad["level"], lad["street"]
    reason[fell & dec.ambiguous] = "ambiguous"
    reason[fell & ~dec.has] = "not_in_gazetteer"
    reason[fell & dec.has & ~dec.ambiguous] = "below_threshold"
    reason[fell & dec.fn_veto & ~dec.conflict & ~dec.ambiguous] = "contradicting_flat_or_number"
    off_street = fell & ~np.isin(level, ["street", "postcode_unit"])
    reason[off_street & sr["ambiguous"]] = "ambiguous_street"
    reason[dec.street_elsewhere & (level != "street")] = "ambiguous_street"
    reason[dec.off_postcode] = "postcode_disagrees"
    reason[fell & lad["junction_ambiguous"] & (level != "junction")] = "ambiguous"
    reason[fell & lad["landmark_conflict"] & (level != "landmark")] = "place_conflict"
    if "outside_within" in lad:
        reason[lad["outside_within"]] = "place_conflict"
    reason[fell & (dec.conflict | (off_street & sr["conflict"] & ~sr["ambiguous"]))] = "place_conflict"
    blank = lambda c: (qc[c] == "").to_numpy(dtype=bool)  # noqa: E731
    reason[ok & (level == "none") & ~dec.has & blank("street") & blank("pc_district") & blank("bname")
           & ~np.isin(reason, ["place_conflict", "ambiguous_street"])] = "no_address_components"
    return reason


def _output(index: pd.Index, lad: dict[str, Any], dec: Decision, pairs: dict[str, Any], gaz: Any,
            reason: np.ndarray) -> pd.DataFrame:
    """The output columns (x/y EPSG:27700 metres, lon/lat EPSG:4326)."""
    n = len(index)
    x, y, row = lad["x"], lad["y"], lad["row"]
    found = np.isfinite(x) & np.isfinite(y)
    has = dec.has
    out = pd.DataFrame(index=index)
    out["match_level"] = lad["level"]
    out["x"], out["y"] = x, y
    lon, lat = bng_to_lonlat(np.where(found, x, 0.0), np.where(found, y, 0.0))
    out["lon"] = np.where(found, lon, np.nan)
    out["lat"] = np.where(found, lat, np.nan)
    out["uncertainty_m"] = np.where(found, lad["unc"], np.nan)
    out["score"] = np.where(has, dec.best, np.nan)
    out["runner_up_score"] = np.where(has & np.isfinite(dec.runner), dec.runner, np.nan)
    out["margin"] = np.where(has & np.isfinite(dec.runner), dec.lead, np.where(has, np.inf, np.nan))
    out["ambiguous"] = (dec.ambiguous & ~dec.accept) | (lad["street"]["ambiguous"] & (lad["level"] != "street"))
    faults = np.full(n, None, dtype=object)
    if has.any():
        faults[has] = _scoring.fault_strings(pairs["codes"], dec.bpair[has])
    out["faults"] = faults
    out["n_candidates"] = dec.ncand.astype(np.int32)
    out["candidate_id"] = np.where(has, gaz.ids[np.maximum(dec.bgi, 0)], -1)
    out["gazetteer_id"] = np.where(row >= 0, gaz.ids[np.maximum(row, 0)], -1)
    out["matched_address"] = np.where(found, lad["label"], None)
    out["reason"] = reason
    cal = default_calibrator()
    out["match_probability"] = cal.predict(out) if cal is not None else np.nan
    return out


def _areas(out: pd.DataFrame, lad: dict[str, Any], dec: Decision, qi: np.ndarray, gi: np.ndarray, s: np.ndarray,
           gaz: Any, boundaries: Any, threshold: float) -> None:
    """Ward / LSOA code and confidence (in place): a premises or near-tie from its candidates' area
    distribution, a ladder point from its entry's member share; never for an area spanning many wards."""
    n = len(out)
    row, level = lad["row"], lad["level"]
    found = row >= 0
    rr = np.maximum(row, 0)
    tabs = _area_tables(gaz, boundaries)
    # premises and near-ties: the area distribution over their candidates; a premises withdrawn by a
    # rule (street only, another street, far from the postcode) says nothing of the record's area
    plaus = dec.has & (dec.best >= threshold) & (dec.accept | dec.ambiguous)
    # ... and a near-tie of premises on a street name held as several separate streets in the area
    # the record allows ("9-11 The Broadway, London") says nothing of the record's area either
    plaus &= dec.accept | ~lad["street"]["ambiguous"]
    anc = lad.get("anchor", np.full(n, -1))
    # a premises' area is as sure as the match itself (the candidates' spread times the match's
    # calibrated probability: a lower bound, a wrong premises may still lie in the right area)
    mp = pd.to_numeric(out["match_probability"], errors="coerce").to_numpy(float) if "match_probability" in out \
        else np.full(n, np.nan)
    prem = (level == "premises") & np.isfinite(mp)
    for kind in ("ward", "lsoa"):
        if kind not in tabs:
            continue
        cats, inv, share = tabs[kind]
        code = np.where(found, inv[rr], -1)
        conf = np.where(found, share[rr].astype(np.float64), np.nan)
        conf[level == "premises"] = np.nan
        if len(qi) and plaus.any():
            cat, prob = _candidate_area(qi, gi, s, dec.best, inv, n)
            code = np.where(plaus, cat, code)  # premises and near-ties: the distribution over candidates
            conf = np.where(plaus, prob, conf)
        # a street point moved to a numbered premises keeps the street's area only when it holds that premises
        code = np.where((anc >= 0) & (code >= 0) & (inv[np.maximum(anc, 0)] != code), -1, code)
        conf = np.where(prem, conf * mp, conf)
        label = np.where(code >= 0, cats[np.maximum(code, 0)], "")
        label = np.where(label == "", None, label).astype(object)
        # a modal area at 30% is a guess, not an assignment: no code below MIN_AREA_CONFIDENCE
        label[np.isfinite(conf) & (conf < MIN_AREA_CONFIDENCE)] = None
        label[np.isin(level, NO_AREA_LEVELS) & ~plaus] = None
        out[f"{kind}_code"] = label
        out[f"{kind}_confidence"] = np.where(label == None, np.nan, conf)  # noqa: E711
