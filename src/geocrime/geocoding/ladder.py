"""The precision ladder below premises: street, postcode unit/sector/district, locality, borough,
postcode area, none — each with a declared uncertainty (metres, EPSG:27700).

* **street**: every street row of that name, narrowed to the record's postcode district, to the
  boroughs its place words allow, to a named locality's postcode districts (with the measured
  border tolerance) and to ``within=``.
  Rows whose areas touch form one street (connected components, computed once per gazetteer): the
  point is the row nearest their middle and the uncertainty covers all of them plus a pad (the
  street's extent, not a fixed number). Rows of separate components are different streets of one name: ``ambiguous_street`` — no street point; the coarsest level all of
  them share (their postcode district, their borough) or none.
* **postcode unit** when it is more precise than the street; then sector, district.
* **locality** / **borough**: the place the text names, at its point with its radius (so borough
  counts still work when the street is unknown).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..gazetteer.keys import ROAD_NUMBER_RX
from .inputs import _LEVEL_OUT
from .params import ROAD_NUMBER_MIN_M, CORE_PREFER_GAP_M, OWN_PREFER_GAP_M, JUNCTION_MAX_M, NUMBER_ANCHOR_BASE_M, NUMBER_ANCHOR_MAX, NUMBER_BETWEEN_MAX_M, NUMBER_ANCHOR_PER_M, NUMBER_ANCHOR_SPREAD_M, JUNCTION_PAD_M, JUNCTION_SEPARATE_M, STREET_BOROUGH_TOL_M, STREET_LINK_M, STREET_MAX_EXTENT_M, STREET_PAD_M
from .places import _memo, entry_bits, near_bits, outside_districts


def _lut(gaz: Any, name: str, keys: np.ndarray) -> np.ndarray:
    """Row positions of ``keys`` in the gazetteer's lookup table ``name`` (-1 where absent)."""
    lut = getattr(gaz, "lookup", None)
    if callable(lut):  # public Gazetteer.lookup (issue 17a) when present
        try:
            return np.asarray(lut(name, keys), dtype=np.int64)
        except Exception:  # noqa: BLE001  (a table this gazetteer does not have: nothing found)
            return np.full(len(keys), -1, np.int64)
    if name not in gaz._lut:
        return np.full(len(keys), -1, np.int64)
    r = gaz._lut[name].reindex(keys).to_numpy()
    return np.where(pd.isna(r), -1, r).astype(np.int64)


def _join_cached(left: pd.DataFrame, gaz: Any, name: str) -> pd.DataFrame:
    """``left.merge(table, on=keys)`` for the table ``name`` of :func:`_fixed_tables` (inner: left's
    rows in order, each with its matching table rows in their order; left's columns, then the
    table's others; a default index). The table's keys are hashed once per gazetteer, not on every
    call: a street or premises table of ~20,000 rows against a few hundred query rows, the merge's
    time was almost all that hashing."""
    table, cols = _fixed_tables(gaz)[name]
    index, order, starts, counts = _join_index(gaz, name)
    keys = left[cols[0]] if len(cols) == 1 else pd.MultiIndex.from_frame(left[cols])
    j = index.get_indexer(keys) if len(left) else np.zeros(0, np.int64)
    hit = np.flatnonzero(j >= 0)
    cnt = counts[j[hit]]
    at = order[np.repeat(starts[j[hit]] - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))]
    out = left.iloc[np.repeat(hit, cnt)].reset_index(drop=True)
    for c in table.columns:
        if c not in cols:
            v = table[c]
            out[c] = v.to_numpy()[at] if v.dtype.kind in "biuf" else v.iloc[at].reset_index(drop=True)
    return out


def _fixed_tables(gaz: Any) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """The tables fixed per gazetteer that query rows are joined with (:func:`_join_cached`):
    name -> (table, key columns); cached."""
    memo = _memo(gaz)
    if "fixed_tables" not in memo:
        st, names = _street_table(gaz), _street_names(gaz)
        memo["fixed_tables"] = {
            "street_rows": (st, ["key"]), "street_rows_key_row_comp": (st[["key", "row", "comp"]], ["key"]),
            "street_names_spaceless": (names[names["sq"] != ""], ["sq"]),
            "street_names_first_last_n": (names, ["first", "last", "n"]), "numbered": (_numbered_premises(gaz), ["key"])}
    return memo["fixed_tables"]


def _join_index(gaz: Any, name: str) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """For the table ``name`` of :func:`_fixed_tables`: its distinct keys (an Index, hashed when
    built), its rows grouped by key (stable), each key's first position in that order and its row
    count; cached per gazetteer (built before workers fork: :func:`warm_joins`)."""
    memo = _memo(gaz)
    if ("join", name) not in memo:
        table, cols = _fixed_tables(gaz)[name]
        codes, uniq = pd.factorize(table[cols[0]] if len(cols) == 1 else pd.MultiIndex.from_frame(table[cols]))
        index = uniq if isinstance(uniq, pd.Index) else pd.Index(uniq)
        index.get_indexer(index[:1])  # build the hash table now
        counts = np.bincount(codes[codes >= 0], minlength=len(index)).astype(np.int64)
        order = np.argsort(codes, kind="stable")[int((codes < 0).sum()):]  # a missing key joins nothing
        memo[("join", name)] = (index, order, np.cumsum(counts) - counts, counts)
    return memo[("join", name)]


def warm_joins(gaz: Any) -> None:
    """Build every join index of :func:`_fixed_tables` (before workers fork: they share them)."""
    for name in _fixed_tables(gaz):
        _join_index(gaz, name)


def _street_table(gaz: Any) -> pd.DataFrame:
    """Street rows of the gazetteer (position, key, district, point, radius, borough bits); cached."""
    memo = _memo(gaz)
    if "street_rows" not in memo:
        pos = np.flatnonzero(gaz.level == "street")
        t = pd.DataFrame({
            "row": pos, "key": gaz.k["street"][pos], "district": gaz.k["pc_district"][pos],
            "x": gaz.x[pos], "y": gaz.y[pos], "radius": gaz.radius[pos], "bits": entry_bits(gaz)[pos]})
        t["bits"] = t["bits"].to_numpy() | near_bits(t["x"].to_numpy(), t["y"].to_numpy(),
                                                     np.minimum(t["radius"].to_numpy(), 1000.0) + STREET_BOROUGH_TOL_M)
        t["comp"] = _components(t)
        memo["street_rows"] = t
    return memo["street_rows"]


def _components(t: pd.DataFrame) -> np.ndarray:
    """One id per physical street: rows of one name whose areas touch (centre distance <= the two
    radii + STREET_LINK_M) are linked, and so are rows of one name filed under one postcode district
    (Royal Mail gives a street name once per district: two stretches of one name in a district are
    one road with a gap in its points, "St Marys Lane, Upminster" RM14); linked rows form one street
    (connected components)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    key = pd.factorize(t["key"].to_numpy(dtype=object))[0]
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    sizes = np.diff(np.r_[starts, len(k)])
    x, y, r = t["x"].to_numpy()[order], t["y"].to_numpy()[order], t["radius"].to_numpy()[order]
    ii, jj = [], []
    for s0, m in zip(starts[sizes > 1], sizes[sizes > 1]):
        a, b = np.triu_indices(m, 1)
        a, b = a + s0, b + s0
        link = np.hypot(x[a] - x[b], y[a] - y[b]) <= r[a] + r[b] + STREET_LINK_M
        ii.append(a[link])
        jj.append(b[link])
    n = len(t)
    district = t["district"].to_numpy(dtype=object)[order]
    filed = np.flatnonzero(district != "")
    if len(filed):
        grp = pd.factorize(pd.MultiIndex.from_arrays([k[filed], district[filed]]))[0]
        first = pd.Series(filed).groupby(grp).transform("first").to_numpy()
        ii.append(first)
        jj.append(filed)
    if ii:
        ii, jj = np.concatenate(ii), np.concatenate(jj)
    else:
        ii = jj = np.zeros(0, np.int64)
    g = coo_matrix((np.ones(len(ii)), (ii, jj)), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    comp = np.empty(n, np.int64)
    comp[order] = lab
    return comp


def streets(street: np.ndarray, district: np.ndarray, todo: np.ndarray, places: dict[str, np.ndarray],
            inside: np.ndarray | None, gaz: Any) -> dict[str, np.ndarray]:
    """The street rung for queries ``todo`` (see the module docstring). Returns per query ``row``
    (the representative street row, -1), ``x``/``y``/``unc`` (the point and the extent, metres),
    ``ambiguous`` (several separate streets), ``conflict`` (street rows exist only outside the named
    places), ``common_district`` (their shared district, '' none) and ``common_bits``."""
    n = len(street)
    out = {"key": np.asarray(street, dtype=object).copy(), "row": np.full(n, -1, np.int64), "x": np.full(n, np.nan), "y": np.full(n, np.nan),
           "unc": np.full(n, np.nan), "ambiguous": np.zeros(n, bool), "conflict": np.zeros(n, bool),
           "common_district": np.full(n, "", dtype=object), "common_bits": np.zeros(n, np.int64)}
    idx = np.flatnonzero(todo & (street != ""))
    st = _street_table(gaz)
    if not len(idx) or not len(st):
        return out
    p = _rows_of_names(idx, street, places["mask"], gaz)
    if not len(p):
        return out
    q = p["q"].to_numpy()
    p, q = _in_district(p, q, district, gaz)
    m = places["mask"][q]
    bad = (m != 0) & ((m & p["bits"].to_numpy()) == 0)
    od = outside_districts(places, q, p["district"].to_numpy(dtype=object), gaz)
    if od.any():  # a street row is filed under one district; its points may reach the place's
        od[od] = ~_reaches_districts(p["row"].to_numpy()[od], places["districts"][q[od]], gaz)
    bad |= od
    bad &= district[q] == ""  # a postcode district in the text already chose the rows
    if inside is not None:
        bad |= ~inside[p["row"].to_numpy()]
    out["conflict"][np.unique(q[bad])] = True
    p, q = p[~bad], q[~bad]
    out["conflict"][np.unique(q)] = False
    p, q = _prefer_core(p, q, places, district, gaz)
    p = p.reset_index(drop=True)
    if not len(p):
        return out
    out = _group(p, out, gaz)
    _core_point(p, out, gaz)
    _road_numbers(out, district, places, inside)
    return out


def _road_numbers(out: dict[str, np.ndarray], district: np.ndarray, places: dict[str, np.ndarray],
                  inside: np.ndarray | None) -> None:
    """Road numbers ("A217", "B507"; in place on ``out``): the sources hold a few points of a road
    that runs for kilometres, so a street point on one declares at least ROAD_NUMBER_MIN_M, and a
    bare road number (no place, postcode district or ``within=`` to say which stretch: "A10" runs
    through four boroughs) is ambiguous: no street point."""
    road = (out["row"] >= 0) & pd.Series(out["key"], dtype=object).astype(str).str.fullmatch(ROAD_NUMBER_RX).to_numpy()
    if not road.any():
        return
    bare = road & (places["mask"] == 0) & (district == "") & (inside is None)
    out["row"][bare] = -1
    out["x"][bare], out["y"][bare], out["unc"][bare] = np.nan, np.nan, np.nan
    out["ambiguous"][bare] = True
    keep = road & ~bare
    out["unc"][keep] = np.maximum(out["unc"][keep], ROAD_NUMBER_MIN_M)


def _rows_of_names(idx: np.ndarray, street: np.ndarray, mask: np.ndarray, gaz: Any) -> pd.DataFrame:
    """The (query, street row) pairs of queries ``idx`` by street name. A name no row has is also
    looked up without its spaces ("Ash Flower Drive" / Ashflower Drive: the same letters, written
    apart or together by different sources), then, when the text names a place (borough bits
    ``mask``), as the one name of that place with one letter dropped or added ("Tillet Way" /
    Tillett Way; see :func:`_one_letter_off`)."""
    q = pd.DataFrame({"q": idx, "key": street[idx]})
    p = _join_cached(q, gaz, "street_rows")
    for alt in (_spaceless, _one_letter_off):
        rest = q[~q["q"].isin(p["q"])]
        if not len(rest):
            break
        got = alt(rest, mask, gaz)
        if len(got):
            p = pd.concat([p, _join_cached(got, gaz, "street_rows")], ignore_index=True)
    return p


def _spaceless(rest: pd.DataFrame, mask: np.ndarray, gaz: Any) -> pd.DataFrame:
    """(q, key): the one street name (of :func:`_street_names`) whose spaceless form is the query's."""
    alt = _join_cached(rest.assign(sq=rest["key"].str.replace(" ", "", regex=False)), gaz, "street_names_spaceless")
    return alt[["q", "name"]].rename(columns={"name": "key"})


def _one_letter_off(rest: pd.DataFrame, mask: np.ndarray, gaz: Any) -> pd.DataFrame:
    """(q, key): for a query naming a place, the one street name among those of the place's boroughs
    that is one letter dropped or added from the query's name ("Tillet Way" / Tillett Way, "Clevely
    Close" / Cleveley Close), with the same first letter and the same last word (the street type),
    for names of at least 8 letters; none when two names are that near. A changed letter is not
    read as a typo: it is as often another street (Stanford / Stafford Street, Sale / Sage Street:
    measured, all five such police-style corrections on the evaluation rows were wrong)."""
    from rapidfuzz import process
    from rapidfuzz.distance import Indel

    r = rest[(mask[rest["q"].to_numpy()] != 0) & (rest["key"].str.len() >= 8)]
    if not len(r):
        return pd.DataFrame({"q": [], "key": []})
    k = r["key"].astype(str)
    q = pd.DataFrame({"q": r["q"].to_numpy(), "key": k.to_numpy(dtype=object), "mask": mask[r["q"].to_numpy()],
                      "first": k.str[0].to_numpy(dtype=object), "last": k.str.rsplit(" ", n=1).str[-1].to_numpy(dtype=object),
                      "n": k.str.len().to_numpy()})
    m = _join_cached(pd.concat([q.assign(n=q["n"] + d) for d in (-1, 1)]), gaz, "street_names_first_last_n")
    m = m[(m["bits"].to_numpy() & m["mask"].to_numpy()) != 0]
    if not len(m):
        return pd.DataFrame({"q": [], "key": []})
    one = process.cpdist(m["key"].tolist(), m["name"].tolist(), scorer=Indel.distance, workers=1) == 1
    m = m[one]
    m = m[m.groupby("q")["name"].transform("nunique") == 1].drop_duplicates("q")
    return m[["q", "name"]].rename(columns={"name": "key"})


def _street_names(gaz: Any) -> pd.DataFrame:
    """One row per street name of the gazetteer's street rows (cached): ``name``, ``sq`` (spaceless,
    only where one name has that form, else ''), ``first`` letter, ``last`` word, length ``n``,
    ``bits`` (the boroughs of all its rows)."""
    memo = _memo(gaz)
    if "street_names" not in memo:
        st = _street_table(gaz)
        g = st.groupby("key", sort=False)["bits"].agg(np.bitwise_or.reduce)
        name = pd.Series(g.index.to_numpy(dtype=object), dtype=object).astype(str)
        sq = name.str.replace(" ", "", regex=False)
        memo["street_names"] = pd.DataFrame({
            "name": name.to_numpy(dtype=object), "sq": np.where(sq.duplicated(keep=False), "", sq).astype(object),
            "first": name.str[0].to_numpy(dtype=object), "last": name.str.rsplit(" ", n=1).str[-1].to_numpy(dtype=object),
            "n": name.str.len().to_numpy(), "bits": g.to_numpy(np.int64)})
    return memo["street_names"]


def _prefer_core(p: pd.DataFrame, q: np.ndarray, places: dict[str, np.ndarray], district: np.ndarray,
                 gaz: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """Where some of a query's streets (physical streets: components) reach the core of the place it
    names, drop the streets only the border tolerance admits; a street that crosses the border stays
    whole. Three tiers, narrowest first: the district of the locality a post-town or borough name
    also means, in a postal address ("12 High Street, Uxbridge": UB8, see places._own_points); the
    place's core districts (a post town's own districts, the district of a locality's point); its
    core borough (the borough a borough name means, a locality's own borough)."""
    if not len(q):
        return p.assign(core=np.zeros(0, dtype=object), own=np.zeros(0, dtype=object)), q
    p = p.assign(core=np.where(district[q] == "", _core_districts_of(q, places, gaz), ""),
                 own=np.where(district[q] == "", _own_district_of(q, places, gaz), ""))
    for tier, gap_m in (("own", OWN_PREFER_GAP_M), ("districts", CORE_PREFER_GAP_M), ("borough", CORE_PREFER_GAP_M)):
        pref = _core_pairs(p, q, places, gaz, tier) & (district[q] == "")
        if not pref.any():
            continue
        qc = pd.MultiIndex.from_arrays([q, p["comp"].to_numpy()])
        core_comp = qc.isin(qc[pref])
        has = np.bincount(q[pref], minlength=len(district))[q] > 0
        drop = has & ~core_comp
        near = _near_core(p, q, core_comp, drop, len(district), gap_m)
        keep = ~drop | near[q]
        p, q = p[keep], q[keep]
    return p, q


def _core_pairs(p: pd.DataFrame, q: np.ndarray, places: dict[str, np.ndarray], gaz: Any, tier: str) -> np.ndarray:
    """Per (query, street row) pair: the row lies in the core of the query's place (see _prefer_core)."""
    if tier == "borough":
        core = places["strict"][q]
        return (core != 0) & ((entry_bits(gaz)[p["row"].to_numpy()] & core) != 0)
    cd = p["own" if tier == "own" else "core"].to_numpy(dtype=object)
    out = np.zeros(len(q), dtype=bool)
    hd = cd != ""
    if hd.any():
        out[hd] = _reaches_districts(p["row"].to_numpy()[hd], cd[hd], gaz)
    return out


def _core_districts_of(q: np.ndarray, places: dict[str, np.ndarray], gaz: Any) -> np.ndarray:
    """Per query in ``q``: '|'-joined core districts of the place it names (a post town's own
    districts; the district of a locality's point), '' for none."""
    cd = places["core_districts"][q].copy()
    loc = (cd == "") & (places["kind"][q] == "locality") & np.isfinite(places["x"][q])
    if loc.any():
        cd[loc] = _district_at(places["x"][q][loc], places["y"][q][loc], gaz)
    return cd


def _own_district_of(q: np.ndarray, places: dict[str, np.ndarray], gaz: Any) -> np.ndarray:
    """Per query in ``q``: the district of the locality point its post-town or borough name also
    means (``places["own_x"]``), '' for none."""
    out = np.full(len(q), "", dtype=object)
    if "own_x" not in places:
        return out
    x, y = places["own_x"][q], places["own_y"][q]
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any():
        out[ok] = _district_at(x[ok], y[ok], gaz)
    return out


def _district_at(x: np.ndarray, y: np.ndarray, gaz: Any) -> np.ndarray:
    """Postcode district of the gazetteer's postcode unit nearest each point ('' without units)."""
    memo = _memo(gaz)
    if "unit_tree" not in memo:
        from scipy.spatial import cKDTree

        pos = np.flatnonzero(gaz.level == "postcode_unit")
        memo["unit_tree"] = (cKDTree(np.c_[gaz.x[pos], gaz.y[pos]]) if len(pos) else None, pos)
    tree, pos = memo["unit_tree"]
    if tree is None:
        return np.full(len(x), "", dtype=object)
    _, i = tree.query(np.c_[x, y])
    return np.asarray(gaz.k["pc_district"], dtype=object)[pos[i]]


def _near_core(p: pd.DataFrame, q: np.ndarray, core: np.ndarray, drop: np.ndarray, n: int, gap_m: float) -> np.ndarray:
    """Per query: a street to be dropped lies within ``gap_m`` metres of a core street (nearest
    rows, less both radii), so the two may be one road: keep both."""
    out = np.zeros(n, bool)
    if not drop.any():
        return out
    cols = ["x", "y", "radius"]
    a = pd.DataFrame({"q": q[core & np.isin(q, q[drop])], **{c: p[c].to_numpy()[core & np.isin(q, q[drop])] for c in cols}})
    b = pd.DataFrame({"q": q[drop], **{c: p[c].to_numpy()[drop] for c in cols}})
    m = a.merge(b, on="q", suffixes=("_a", "_b"))
    gap = np.hypot(m["x_a"] - m["x_b"], m["y_a"] - m["y_b"]) - m["radius_a"] - m["radius_b"]
    out[m["q"].to_numpy()[gap.to_numpy() < gap_m]] = True
    return out


def _reaches_districts(rows: np.ndarray, allowed: np.ndarray, gaz: Any) -> np.ndarray:
    """Per (street row, '|'-joined districts) pair: one of the street's points (its postcode units
    and premises) lies in one of those districts ("Roman Road, Bow": the E2 row runs into E3)."""
    out = np.zeros(len(rows), dtype=bool)
    if not len(rows):
        return out
    dvoc, keys = _street_district_keys(gaz)
    codes, uniq = pd.factorize(np.asarray(allowed).astype(str))
    parts = [u.split("|") for u in uniq]
    lens = np.array([len(p) for p in parts], dtype=np.int64)
    dcode = dvoc.get_indexer([d for p in parts for d in p]).astype(np.int64)
    cnt = lens[codes]
    pair = np.repeat(np.arange(len(rows)), cnt)
    at = np.repeat((np.cumsum(lens) - lens)[codes] - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))
    d = dcode[at]
    sid = gaz.ids[np.asarray(rows, dtype=np.int64)][pair].astype(np.int64)
    hit = (d >= 0) & (keys.get_indexer(sid * np.int64(len(dvoc) + 1) + d) >= 0)
    out[pair[hit]] = True
    return out


def _street_district_keys(gaz: Any) -> tuple[pd.Index, pd.Index]:
    """Once per gazetteer: the postcode districts of the street points (premises and units on a
    street: the text before the space of their postcode) as a vocabulary, and every (street id,
    district) pair as a hashed key ``id * (len(vocabulary) + 1) + code``."""
    memo = _memo(gaz)
    if "street_districts" not in memo:
        sid = np.asarray(gaz.street_id)
        mem = np.flatnonzero((sid >= 0) & (gaz.level != "street"))
        pc = pd.Series(gaz.table["postcode"].to_numpy(dtype=object)[mem], dtype=object)
        dcode, dvoc = pd.factorize(pc.astype(str).str.split(" ").str[0].to_numpy(dtype=object))
        key = sid[mem].astype(np.int64) * np.int64(len(dvoc) + 1) + dcode.astype(np.int64)
        memo["street_districts"] = (pd.Index(np.asarray(dvoc, dtype=object)), pd.Index(np.unique(key)))
    return memo["street_districts"]


def _in_district(p: pd.DataFrame, q: np.ndarray, district: np.ndarray, gaz: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """Street rows of a query's postcode district: the rows filed under it, else (a street row per
    street cluster is filed under one district) the rows whose extent reaches the district's area."""
    qd = district[q]
    exact = (qd == "") | (p["district"].to_numpy(dtype=object) == qd)
    has_exact = np.bincount(q[exact], minlength=len(district))[q] > 0
    loose = ~has_exact & (qd != "")
    if loose.any():
        dr = _lut(gaz, "postcode_district", qd[loose].astype(object))
        ok = dr >= 0
        d = np.hypot(p["x"].to_numpy()[loose] - gaz.x[np.maximum(dr, 0)], p["y"].to_numpy()[loose] - gaz.y[np.maximum(dr, 0)])
        reach = ok & (d <= p["radius"].to_numpy()[loose] + gaz.radius[np.maximum(dr, 0)])
        exact[np.flatnonzero(loose)[reach]] = True
    keep = exact & (has_exact | loose | (qd == ""))
    return p[keep], q[keep]


def _group(p: pd.DataFrame, out: dict[str, np.ndarray], gaz: Any) -> dict[str, np.ndarray]:
    """One street or several per query, from its remaining street rows ``p``."""
    rep, ext = _representative(p)
    agg = p.groupby("q").agg(nd=("district", "nunique"), d0=("district", "first"),
                             bmin=("bits", "min"), bmax=("bits", "max"), nc=("comp", "nunique"))
    qs = agg.index.to_numpy()
    agg["ext"] = ext.reindex(qs).to_numpy() + STREET_PAD_M
    one = (agg["nc"].to_numpy() == 1) & (agg["ext"].to_numpy() <= STREET_MAX_EXTENT_M)
    rq = rep.reindex(qs)
    out["row"][qs[one]] = rq["row"].to_numpy()[one]
    out["x"][qs[one]] = rq["x"].to_numpy()[one]
    out["y"][qs[one]] = rq["y"].to_numpy()[one]
    out["unc"][qs[one]] = agg["ext"].to_numpy()[one]
    amb = qs[~one]
    out["ambiguous"][amb] = True
    same_d = (agg["nd"].to_numpy() == 1)[~one]
    out["common_district"][amb[same_d]] = agg["d0"].to_numpy(dtype=object)[~one][same_d]
    same_b = (agg["bmin"].to_numpy() == agg["bmax"].to_numpy())[~one]
    out["common_bits"][amb[same_b]] = agg["bmin"].to_numpy()[~one][same_b]
    return out


#: a physical street with more rows than this keeps the row nearest their mean (every pair of rows is
#: compared; one street rarely has more than a few rows, one per postcode district it crosses)
_MAX_ROWS_PAIRED = 32


def _representative(p: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Per query: the street row whose point is the street's point, and the extent from it (metres, to
    the farthest edge of the query's rows). For a query whose rows are one physical street (one
    component) the row whose farthest reach is least, so the declared extent is the least that
    covers the street: a long row filed under one district is not outvoted by short rows of the same
    street at its ends ("High Road, Whetstone": the N12 row of the A1000, 3.4 km, and a 200 m N11
    row linked to it; from the row nearest their mean the extent was 5.9 km, too vague for a point;
    from the N12 row it is 3.5 km). Otherwise (several streets: ambiguous) the row nearest the rows'
    mean. Returns (``rep`` rows indexed by query, ``ext`` per query)."""
    g = p.groupby("q", sort=True)
    mx, my = g["x"].transform("mean").to_numpy(), g["y"].transform("mean").to_numpy()
    x, y, r = p["x"].to_numpy(), p["y"].to_numpy(), p["radius"].to_numpy()
    p = p.assign(_d=np.hypot(x - mx, y - my))
    n, nc = g["row"].transform("size").to_numpy(), g["comp"].transform("nunique").to_numpy()
    one = (nc == 1) & (n > 1) & (n <= _MAX_ROWS_PAIRED)
    if one.any():
        # every row of such a query as the candidate point: its reach to the farthest row's edge
        c = p.loc[one, ["q", "x", "y", "radius"]].reset_index()
        pair = c.merge(c, on="q", suffixes=("", "_o"))
        reach = np.hypot(pair["x"] - pair["x_o"], pair["y"] - pair["y_o"]) + pair["radius_o"]
        worst = reach.groupby(pair["index"].to_numpy()).max()
        p.loc[worst.index, "_d"] = worst.to_numpy()
    rep = p.sort_values(["q", "_d", "row"]).drop_duplicates("q").set_index("q")
    rx = rep["x"].reindex(p["q"]).to_numpy()
    ry = rep["y"].reindex(p["q"]).to_numpy()
    ext = pd.Series(np.hypot(x - rx, y - ry) + r).groupby(p["q"].to_numpy()).max()
    return rep, ext


def _core_point(p: pd.DataFrame, out: dict[str, np.ndarray], gaz: Any) -> None:
    """Move a street's point (in place in ``out``) into the core districts of the place the text
    names (a post town's own districts, the district of a locality's point) when only part of the
    street lies there ("439 Lordship Lane, Wood Green": the N22 part of a street that runs on into
    N17; "1215 High Road, Chadwell Heath": RM6, not IG3): the street's point there nearest their
    median. The uncertainty is recomputed from it so that it still covers every row of the street
    (its extent + STREET_PAD_M). (The same step for the core borough was measured and gained
    nothing on the police-style tune rows: a borough is too wide to say where along a street.)"""
    q = p["q"].to_numpy()
    sel = (out["row"][q] >= 0) & (p["core"].to_numpy(dtype=object) != "")
    if not sel.any():
        return
    pr = p[sel]
    pts = gaz.street_points(np.unique(pr["row"].to_numpy()))
    pts = pts.merge(pd.DataFrame({"street_row": pr["row"].to_numpy(), "q": pr["q"].to_numpy(),
                                  "cd": pr["core"].to_numpy(dtype=object)}), on="street_row")
    if not len(pts):
        return
    qq = pts["q"].to_numpy()
    in_d = _in_joined(pts["postcode"].astype(str).str.split(" ").str[0], pts["cd"])
    c = pts[in_d & _partly(in_d, qq)[qq]]
    if not len(c):
        return
    med = c.groupby("q")[["x", "y"]].transform("median")
    c = c.assign(_d=np.hypot(c["x"] - med["x"], c["y"] - med["y"])).sort_values(["q", "_d"]).drop_duplicates("q")
    qi, nx, ny = c["q"].to_numpy(), c["x"].to_numpy(), c["y"].to_numpy()
    rows = p[p["q"].isin(qi)]
    k = pd.Series(np.arange(len(qi)), index=qi).reindex(rows["q"]).to_numpy()
    reach = np.hypot(rows["x"].to_numpy() - nx[k], rows["y"].to_numpy() - ny[k]) + rows["radius"].to_numpy()
    ext = pd.Series(reach).groupby(rows["q"].to_numpy()).max().reindex(qi).to_numpy() + STREET_PAD_M
    out["x"][qi], out["y"][qi] = nx, ny
    out["unc"][qi] = np.maximum(out["unc"][qi], ext)


def _partly(flag: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per query id (indexable by ``q``): some but not all of its points have ``flag``."""
    n = int(q.max()) + 1 if len(q) else 0
    k = np.bincount(q, weights=flag.astype(float), minlength=n)
    t = np.bincount(q, minlength=n)
    return (k > 0) & (k < t)


def _in_joined(value: pd.Series, joined: pd.Series) -> np.ndarray:
    """Per row: ``value`` is one of the '|'-joined items of ``joined`` (vectorised over distinct pairs)."""
    pair, uniq = pd.factorize(pd.MultiIndex.from_arrays([value.astype(str).to_numpy(), joined.astype(str).to_numpy()]))
    hit = np.array([v in j.split("|") for v, j in uniq], dtype=bool)
    return hit[pair]


def street_members(rows: np.ndarray, gaz: Any) -> pd.DataFrame:
    """The member points (postcode-unit street points and premises) of the whole physical street of
    each street row in ``rows`` (every row of its component): ``i`` (position in ``rows``) and
    ``point_row`` (gazetteer row of the member)."""
    st = _street_table(gaz)
    comp = pd.Series(st["comp"].to_numpy(), index=st["row"].to_numpy())
    q = pd.DataFrame({"i": np.arange(len(rows)), "comp": comp.reindex(rows).to_numpy()})
    all_rows = q.merge(pd.DataFrame({"comp": st["comp"].to_numpy(), "row": st["row"].to_numpy()}), on="comp")
    pts = gaz.street_points(np.unique(all_rows["row"].to_numpy()))
    return all_rows.merge(pts[["street_row", "point_row"]], left_on="row", right_on="street_row")[["i", "point_row"]]


def _numbered_premises(gaz: Any) -> pd.DataFrame:
    """Premises rows with a house number (key, number, point); cached per gazetteer."""
    memo = _memo(gaz)
    if "numbered" not in memo:
        num = np.asarray(gaz.k["hn_num"])
        pos = np.flatnonzero((gaz.level == "premises") & (num >= 0) & (gaz.k["street"] != ""))
        memo["numbered"] = pd.DataFrame({"key": gaz.k["street"][pos], "num": num[pos].astype(np.int64),
                                         "px": gaz.x[pos], "py": gaz.y[pos], "prow": pos,
                                         "comp": _comp_of_street_ids(gaz, gaz.street_id[pos])})
    return memo["numbered"]


def _comp_of_street_ids(gaz: Any, sid: np.ndarray) -> np.ndarray:
    """The physical street (component of :func:`_street_table`) of each street row id, -1 for none
    (-1 ids included); the id -> component map is built once per gazetteer."""
    memo = _memo(gaz)
    if "comp_of_street_id" not in memo:
        st = _street_table(gaz)
        memo["comp_of_street_id"] = pd.Series(st["comp"].to_numpy(), index=np.asarray(gaz.ids)[st["row"].to_numpy()])
    return memo["comp_of_street_id"].reindex(np.asarray(sid)).fillna(-1).to_numpy(np.int64)


def number_on_street(street: np.ndarray, number: np.ndarray, x: np.ndarray, y: np.ndarray, unc: np.ndarray,
                     todo: np.ndarray, gaz: Any, row: np.ndarray | None = None) -> np.ndarray:
    """Move street matches ``todo`` with a house ``number`` (in place on ``x``/``y``/``unc``, metres)
    to the premises of that street (within its extent; with ``row``, the street rows found per query,
    only premises of the same physical street: a namesake inside a long street's extent is another
    street) with the nearest number of the same parity,
    at most NUMBER_ANCHOR_MAX apart; uncertainty NUMBER_ANCHOR_BASE_M + NUMBER_ANCHOR_PER_M per
    number of difference, capped at the street's extent; only when the premises numbered within
    NUMBER_ANCHOR_MAX of it lie within NUMBER_ANCHOR_SPREAD_M of each other. Returns per query the
    premises row it was moved to (-1: not moved)."""
    moved = np.full(len(street), -1, np.int64)
    i = np.flatnonzero(todo & (number >= 0) & (street != ""))
    prem = _numbered_premises(gaz)
    if not len(i) or not len(prem):
        return moved
    q = pd.DataFrame({"q": i, "key": street[i], "n": number[i].astype(np.int64), "x": x[i], "y": y[i], "u": unc[i]})
    m = _join_cached(q, gaz, "numbered")
    m = m[np.hypot(m["px"] - m["x"], m["py"] - m["y"]) <= m["u"]]
    if row is not None:
        r = np.asarray(row)[m["q"].to_numpy()]
        qcomp = np.where(r >= 0, _comp_of_street_ids(gaz, np.asarray(gaz.ids)[np.maximum(r, 0)]), -2)
        m = m[(m["comp"].to_numpy() < 0) | (m["comp"].to_numpy() == qcomp)]
    between = _between_numbers(m)
    m = m[m["num"] % 2 == m["n"] % 2]
    m = m.assign(d=(m["num"] - m["n"]).abs())
    m = m[m["d"] <= NUMBER_ANCHOR_MAX].sort_values(["q", "d", "num"])
    between = between[~between["q"].isin(m["q"])]
    bq = between["q"].to_numpy()
    # still covers the whole street: numbering restarts along long roads, so the bracketing premises
    # can lie on the wrong stretch (measured: 1 in 10 two kilometres off when they are < 300 m apart)
    unc[bq] += np.hypot(between["x"].to_numpy() - x[bq], between["y"].to_numpy() - y[bq])
    x[bq], y[bq] = between["x"].to_numpy(), between["y"].to_numpy()
    if not len(m):
        return moved
    # numbering restarts along long roads (a 162 in W7 and another in W12): the numbers near the
    # record's must lie together, else no anchor
    best = m.drop_duplicates("q").set_index("q")
    spread = np.hypot(m["px"].to_numpy() - best["px"].reindex(m["q"]).to_numpy(),
                      m["py"].to_numpy() - best["py"].reindex(m["q"]).to_numpy())
    far = pd.Series(spread, index=m["q"].to_numpy()).groupby(level=0).max()
    m = best[far.reindex(best.index).to_numpy() <= NUMBER_ANCHOR_SPREAD_M].reset_index()
    qi = m["q"].to_numpy()
    x[qi], y[qi] = m["px"].to_numpy(), m["py"].to_numpy()
    unc[qi] = np.minimum(unc[qi], NUMBER_ANCHOR_BASE_M + NUMBER_ANCHOR_PER_M * m["d"].to_numpy())
    moved[qi] = m["prow"].to_numpy()
    return moved


def _between_numbers(m: pd.DataFrame) -> pd.DataFrame:
    """Per query of the (query, numbered premises on its street) pairs ``m``: the point between the
    nearest lower and higher numbered premises, at the record's number's share of the way
    (address-range interpolation: "300 Fencepiece Road" between 240 and 356), when the two lie at
    most NUMBER_BETWEEN_MAX_M apart (numbering restarts along long roads). Columns ``q``, ``x``,
    ``y`` (EPSG:27700 metres)."""
    lo = m[m["num"] < m["n"]].sort_values(["q", "num"]).drop_duplicates("q", keep="last").set_index("q")
    hi = m[m["num"] > m["n"]].sort_values(["q", "num"]).drop_duplicates("q", keep="first").set_index("q")
    both = lo.index.intersection(hi.index)
    lo, hi = lo.loc[both], hi.loc[both]
    gap = np.hypot(hi["px"] - lo["px"], hi["py"] - lo["py"]).to_numpy()
    f = ((lo["n"] - lo["num"]) / (hi["num"] - lo["num"])).to_numpy()
    ok = gap <= NUMBER_BETWEEN_MAX_M
    return pd.DataFrame({"q": both.to_numpy()[ok], "x": (lo["px"] + f * (hi["px"] - lo["px"])).to_numpy()[ok],
                         "y": (lo["py"] + f * (hi["py"] - lo["py"])).to_numpy()[ok]})


def borough_points() -> dict[int, tuple[float, float, float, str]]:
    """Borough bit -> (x, y, radius_m, name) from the place lexicon's borough rows."""
    memo = _memo(borough_points)
    if "pts" not in memo:
        from ..address.places import default_places
        from .places import borough_codes

        t = default_places().table
        t = t[(t["kind"] == "borough") & ~t["boroughs"].str.contains("|", regex=False)].drop_duplicates("boroughs")
        pos = {c: i for i, c in enumerate(borough_codes())}
        memo["pts"] = {int(np.int64(1) << np.int64(pos[c])): (float(xx), float(yy), float(rr), str(nm))
                       for c, xx, yy, rr, nm in zip(t["boroughs"], t["x"], t["y"], t["radius_m"], t["name"])
                       if c in pos}
    return memo["pts"]


def postcode_levels(qc: pd.DataFrame, todo: np.ndarray, gaz: Any, level: np.ndarray, row: np.ndarray,
                    inside: np.ndarray | None) -> None:
    """Sector, district, area rungs (in place) for the queries ``todo`` without a level yet."""
    for lvl, col in (("postcode_sector", "pc_sector"), ("postcode_district", "pc_district")):
        t = todo & (row < 0) & (qc[col].to_numpy(dtype=object) != "")
        if t.any():
            _put(gaz, lvl, qc[col].to_numpy(dtype=object), t, level, row, inside)


def _put(gaz: Any, lvl: str, keys: np.ndarray, t: np.ndarray, level: np.ndarray, row: np.ndarray,
         inside: np.ndarray | None) -> None:
    r = _lut(gaz, lvl, keys[t])
    if inside is not None:
        r = np.where((r >= 0) & inside[np.maximum(r, 0)], r, -1)
    i = np.flatnonzero(t)
    level[i[r >= 0]] = _LEVEL_OUT.get(lvl, lvl)
    row[i[r >= 0]] = r[r >= 0]


def place_levels(places: dict[str, np.ndarray], todo: np.ndarray, fixed: dict[str, np.ndarray]) -> None:
    """Locality / borough rungs (in place on ``fixed``: level, x, y, unc, label) for ``todo``:
    the place's own point when it has one, else the one borough all its meanings share."""
    kind = places["kind"]
    pt = todo & np.isfinite(places["x"]) & np.isin(kind, ["locality", "post_town", "borough"])
    fixed["level"][pt] = np.where(kind[pt] == "borough", "borough", "locality")
    fixed["x"][pt], fixed["y"][pt], fixed["unc"][pt] = places["x"][pt], places["y"][pt], places["radius"][pt]
    fixed["label"][pt] = places["name"][pt]
    bpts = borough_points()
    rest = todo & ~pt & (places["mask"] != 0)
    put_borough(places["mask"], rest, bpts, fixed)


def put_borough(bits: np.ndarray, todo: np.ndarray, bpts: dict, fixed: dict[str, np.ndarray]) -> None:
    """Borough rung for ``todo`` rows whose ``bits`` name exactly one borough."""
    for i in np.flatnonzero(todo & (bits != 0) & ((bits & (bits - 1)) == 0)):
        b = bpts.get(int(bits[i]))
        if b is not None:
            fixed["level"][i] = "borough"
            fixed["x"][i], fixed["y"][i], fixed["unc"][i], fixed["label"][i] = b


# ------------------------------------------------------------------------------- landmark, junction
def landmarks(landmark: np.ndarray, todo: np.ndarray, places: dict[str, np.ndarray], inside: np.ndarray | None,
              gaz: Any) -> tuple[np.ndarray, np.ndarray]:
    """Landmark rung ("Victoria Station", "o/s Brixton tube"): the gazetteer's landmark row of the
    parsed landmark key, unless it lies outside the places the text names or outside ``within``.
    Returns (row or -1, conflict)."""
    n = len(landmark)
    row = np.full(n, -1, np.int64)
    conflict = np.zeros(n, bool)
    t = todo & (landmark != "")
    if not t.any():
        return row, conflict
    r = _lut(gaz, "landmark", landmark[t].astype(object))
    i = np.flatnonzero(t)
    ok = r >= 0
    bits = np.zeros(len(r), np.int64)
    if ok.any():
        rr = r[ok]
        bits[ok] = near_bits(gaz.x[rr], gaz.y[rr], np.full(len(rr), STREET_BOROUGH_TOL_M + 200.0))
    m = places["mask"][i]
    bad = ok & (m != 0) & ((m & bits) == 0)
    if inside is not None:
        bad |= ok & ~inside[np.maximum(r, 0)]
    conflict[i[bad]] = True
    good = ok & ~bad
    row[i[good]] = r[good]
    return row, conflict


def _street_points(gaz: Any) -> pd.DataFrame:
    """Every point of a named street (street_point and street rows): key, x, y, borough bits; cached."""
    memo = _memo(gaz)
    if "street_points" not in memo:
        pos = np.flatnonzero(np.isin(gaz.level, ["street_point", "street"]) & (gaz.k["street"] != ""))
        memo["street_points"] = pd.DataFrame({"row": pos, "key": gaz.k["street"][pos], "x": gaz.x[pos],
                                              "y": gaz.y[pos], "bits": entry_bits(gaz)[pos]})
    return memo["street_points"]


def junctions(street: np.ndarray, second: np.ndarray, todo: np.ndarray, places: dict[str, np.ndarray],
              inside: np.ndarray | None, gaz: Any) -> dict[str, np.ndarray]:
    """Junction rung ("j/o A and B"): the nearest pair of the two streets' points within the named
    places (and ``within``); the point halfway between them, uncertainty half their distance + a
    pad. Two such crossings far apart (> 1 km) are ambiguous. Returns x, y, unc, ambiguous."""
    n = len(street)
    out = {"x": np.full(n, np.nan), "y": np.full(n, np.nan), "unc": np.full(n, np.nan), "ambiguous": np.zeros(n, bool)}
    idx = np.flatnonzero(todo & (street != "") & (second != ""))
    if not len(idx):
        return out
    pts = _street_points(gaz)
    keep = lambda p: p[((places["mask"][p["q"].to_numpy()] == 0) |  # noqa: E731
                        ((places["mask"][p["q"].to_numpy()] & p["bits"].to_numpy()) != 0))
                       & (True if inside is None else inside[p["row"].to_numpy()])]
    a = keep(pd.DataFrame({"q": idx, "key": street[idx]}).merge(pts, on="key"))
    b = keep(pd.DataFrame({"q": idx, "key": second[idx]}).merge(pts, on="key"))
    from scipy.spatial import cKDTree

    ga, gb = dict(tuple(a.groupby("q"))), dict(tuple(b.groupby("q")))
    for q in set(ga) & set(gb):
        pa, pb = ga[q][["x", "y"]].to_numpy(), gb[q][["x", "y"]].to_numpy()
        d, j = cKDTree(pb).query(pa)
        close = d <= JUNCTION_MAX_M
        if not close.any():
            continue
        k = int(np.argmin(d))
        mx, my = (pa[k, 0] + pb[j[k], 0]) / 2, (pa[k, 1] + pb[j[k], 1]) / 2
        others = np.hypot((pa[close, 0] + pb[j[close], 0]) / 2 - mx, (pa[close, 1] + pb[j[close], 1]) / 2 - my)
        if (others > JUNCTION_SEPARATE_M).any():
            out["ambiguous"][q] = True
            continue
        out["x"][q], out["y"][q] = mx, my
        out["unc"][q] = d[k] / 2 + JUNCTION_PAD_M
    return out
