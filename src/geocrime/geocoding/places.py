"""Place rules of the geocoder: which boroughs a record's text allows, which borough each gazetteer
entry lies in, and the caller's ``within=`` area (private; EPSG:27700 metres).

A record that names a place ("Church Road, Barnes", "o/s 3 High St Walthamstow") allows only the
boroughs that place can mean (:class:`geocrime.address.places.PlaceLexicon`, localities with their
measured border tolerance). A candidate outside every allowed borough is a ``PLACE.conflict``: never
accepted, whatever else agrees. ``within=`` (borough codes or a polygon) is the same rule from the
caller instead of the text. Boroughs are held as bits of one int64 per record (at most 63 areas in
the borough layer), so the rule is one vectorised AND over the candidate pairs.

Entry boroughs use the one point-in-polygon rule of :meth:`geocrime.areas.Boundaries.lookup`
(among covering polygons, the smallest code).
"""
from __future__ import annotations

import re
import weakref
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

#: per-gazetteer cache (entry borough bits), computed in the parent before workers fork
_MEMO: "weakref.WeakKeyDictionary[Any, dict[str, Any]]" = weakref.WeakKeyDictionary()


def _memo(gaz: Any) -> dict[str, Any]:
    m = getattr(gaz, "memo", None)  # the public Gazetteer.memo(key, build) when present
    if callable(m):
        return m("geocoding", dict)
    return _MEMO.setdefault(gaz, {})


def borough_layer() -> Any:
    """The London borough layer (:class:`geocrime.areas.Boundaries` with one layer ``borough``), loaded once."""
    memo = _memo(borough_layer)  # functions are weak-referenceable
    if "b" not in memo:
        from ..areas import Boundaries

        memo["b"] = Boundaries.from_registry(["borough"], overlaps="ignore")
    return memo["b"]


def borough_codes() -> np.ndarray:
    """Codes of the borough layer in bit order (object array)."""
    return borough_layer().layer("borough")["code"].to_numpy(dtype=object)


def _bits_of_codes(joined: np.ndarray) -> np.ndarray:
    """int64 bit masks of '|'-joined borough code strings ('' -> 0: no constraint); each distinct
    string is read once (and remembered: the borough layer is fixed)."""
    if not len(joined):
        return np.zeros(0, np.int64)
    memo = _memo(borough_codes)
    if "bit" not in memo:
        memo["bit"] = {c: np.int64(1) << np.int64(i) for i, c in enumerate(borough_codes())}
        memo["seen"] = {}
    bit, seen = memo["bit"], memo["seen"]
    codes, uniq = pd.factorize(pd.Series(joined, dtype=object).fillna(""), use_na_sentinel=False)
    um = np.empty(len(uniq), dtype=np.int64)
    for j, s in enumerate(uniq):
        v = seen.get(s)
        if v is None:
            v = seen[s] = np.bitwise_or.reduce([bit.get(c, np.int64(0)) for c in str(s).split("|") if c] or [np.int64(0)])
        um[j] = v
    return um[codes]


def entry_bits(gaz: Any) -> np.ndarray:
    """Borough bit (int64, one bit set; 0 outside every borough) of every gazetteer entry; cached."""
    memo = _memo(gaz)
    if "borough_bits" not in memo:
        rows = borough_layer().lookup("borough", gaz.x, gaz.y)
        memo["borough_bits"] = np.where(rows >= 0, np.left_shift(np.int64(1), np.maximum(rows, 0).astype(np.int64)),
                                        np.int64(0)).astype(np.int64)
    return memo["borough_bits"]


def near_bits(x: np.ndarray, y: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Bits of every borough within ``distance`` metres of each point (a street near a border belongs
    to both boroughs: its point is one postcode's centroid, the street runs on)."""
    import shapely

    geoms = borough_layer().layer("borough").geometry.values
    tree = shapely.STRtree(geoms)
    pi, bi = tree.query(shapely.points(x, y), predicate="dwithin", distance=distance)
    out = np.zeros(len(x), dtype=np.int64)
    np.bitwise_or.at(out, pi, np.left_shift(np.int64(1), bi.astype(np.int64)))
    return out


def query_places(parsed: pd.DataFrame) -> dict[str, np.ndarray]:
    """What each parsed record's place words allow: ``mask`` (int64 borough bits, 0 = no place
    named), ``x``/``y``/``radius`` (the place's point and radius, NaN when unknown or its meanings
    are far apart), ``kind`` (``borough``/``locality``/``post_town``/``county`` or None),
    ``name``, ``districts`` ('|'-joined postcode districts), ``own_x``/``own_y`` (the point of the
    locality a post-town or borough name also means, see :func:`_own_points`; NaN for none)."""
    n = len(parsed)
    if "place_boroughs" in parsed.columns:  # the parser already looked the place words up
        f = parsed
    else:
        from ..address.places import default_places

        parts = [parsed[c] for c in ("locality", "town") if c in parsed.columns]
        txt = pd.Series([""] * n, index=parsed.index, dtype=object)
        for p in parts:
            p = p.astype(object).where(p.notna(), "").astype(str)
            txt = np.where((txt != "") & (p != ""), txt + ", " + p, txt + p)
            txt = pd.Series(txt, index=parsed.index, dtype=object)
        f = default_places().find(txt)
    get = lambda c, d: (f[c].to_numpy() if c in f.columns else np.full(n, d))  # noqa: E731
    bor = np.where(pd.isna(get("place_boroughs", "")), "", get("place_boroughs", "")).astype(object)
    mask = _bits_of_codes(bor)
    postal = _postal(parsed)
    own_x, own_y = _own_points(get("place", None).astype(object), get("place_kind", None).astype(object), postal)
    return {
        "mask": mask,
        "strict": _strict_bits(get("place", None).astype(object), get("place_kind", None).astype(object), mask),
        "core_districts": _core_districts(get("place", None).astype(object), get("place_kind", None).astype(object),
                                          postal),
        "own_x": own_x, "own_y": own_y,
        "x": pd.to_numeric(pd.Series(get("place_x", np.nan)), errors="coerce").to_numpy(float),
        "y": pd.to_numeric(pd.Series(get("place_y", np.nan)), errors="coerce").to_numpy(float),
        "radius": pd.to_numeric(pd.Series(get("place_radius_m", np.nan)), errors="coerce").to_numpy(float),
        "kind": get("place_kind", None).astype(object),
        "name": get("place", None).astype(object),
        "districts": np.where(pd.isna(get("place_districts", "")), "", get("place_districts", "")).astype(object),
    }


def _core_tables() -> tuple[dict[tuple[str, str], int], dict[str, str]]:
    """From the place lexicon, once: (key, kind) -> bits of its core borough(s) (a borough name its
    borough; a locality its own borough, the first of its row), and key -> its post town's districts."""
    from ..address.places import default_places

    memo = _memo(default_places)
    if "core" not in memo:
        t = default_places().table
        core = t[t["kind"].isin(["borough", "locality"])]
        own = core["boroughs"].str.split("|").str[0].fillna("").to_numpy(dtype=object)
        bits = _bits_of_codes(own)
        by: dict[tuple[str, str], int] = {}
        for k, kd, b in zip(core["key"].to_numpy(dtype=object), core["kind"].to_numpy(dtype=object), bits):
            by[(k, kd)] = by.get((k, kd), 0) | int(b)
        pt = t[t["kind"] == "post_town"].groupby("key")["districts"].agg("|".join).to_dict()
        memo["core"] = (by, pt)
    return memo["core"]


def _own_locality_points() -> dict[str, tuple[float, float]]:
    """From the place lexicon, once: key -> the point of its one locality meaning, for names that
    are also a post town or a borough ("Uxbridge", "Orpington", "Ealing", "Harrow")."""
    from ..address.places import default_places

    memo = _memo(default_places)
    if "own" not in memo:
        t = default_places().table
        loc = t[(t["kind"] == "locality") & np.isfinite(pd.to_numeric(t["x"], errors="coerce"))]
        loc = loc[~loc["key"].duplicated(keep=False) & loc["key"].isin(t.loc[t["kind"].isin(["post_town", "borough"]), "key"])]
        memo["own"] = {k: (float(x), float(y)) for k, x, y in zip(loc["key"], loc["x"], loc["y"])}
    return memo["own"]


def _own_points(name: np.ndarray, kind: np.ndarray, postal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per record (x, y; NaN for none): the point of the locality a post-town or borough name also
    means, where the text is a postal address or the name no borough's. Royal Mail adds a dependent
    locality to an address whenever a post town holds two streets of one name, so "12 High Street,
    Uxbridge" is the town's own High Street (UB8), not Harefield's (UB9, same post town); police
    text ("Station Road, Harrow", no number) names the borough and stays whole."""
    x, y = np.full(len(name), np.nan), np.full(len(name), np.nan)
    use = pd.notna(name) & np.isin(kind, ["post_town", "borough"]) & (postal | (kind != "borough"))
    if not use.any():
        return x, y
    own = _own_locality_points()
    codes, uniq = pd.factorize(name[use].astype(str))
    pts = np.array([own.get(u, (np.nan, np.nan)) for u in uniq], dtype=float).reshape(-1, 2)
    x[use], y[use] = pts[codes, 0], pts[codes, 1]
    return x, y


def _strict_bits(name: np.ndarray, kind: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The boroughs a place name means before any border tolerance (int64 bits, within ``mask``):
    a borough name its borough; a locality its own borough (the first of its lexicon row; the others
    are neighbours within the measured tolerance). 0 where the place has no such core (post towns,
    county words) or the core falls outside ``mask``. Candidates in the core are preferred to those
    the tolerance alone admits ("Grove Road, Kingston upon Thames": KT6, not the Grove Roads of
    Richmond that the post town reaches)."""
    out = np.zeros(len(mask), np.int64)
    use = (mask != 0) & np.isin(kind, ["borough", "locality"]) & pd.notna(name)
    if not use.any():
        return out
    by, _ = _core_tables()
    # (name, kind) pairs by their two codes: each distinct pair looked up once
    nc, nu = pd.factorize(name[use].astype(str))
    kc, ku = pd.factorize(kind[use].astype(str))
    codes, uniq = pd.factorize(nc.astype(np.int64) * len(ku) + kc)
    bits = np.array([by.get((nu[u // len(ku)], ku[u % len(ku)]), 0) for u in uniq], dtype=np.int64)
    out[use] = bits[codes] & mask[use]
    return out


def _postal(parsed: pd.DataFrame) -> np.ndarray:
    """Per record: its text is written as a postal address, with a house number or a county word
    ("743 London Road, Sutton, Surrey"), so a name that is a borough and a post town means the post
    town (SM1-SM3), as addresses are written; police locations ("London Road, Sutton") mean the borough."""
    n = len(parsed)
    out = np.zeros(n, dtype=bool)
    if "house_number" in parsed.columns:
        hn = parsed["house_number"]
        out |= (hn.notna() & (hn.astype(str).str.strip() != "")).to_numpy()
    if "raw" in parsed.columns and n:
        from ..address.places import default_places

        out |= default_places().names_county(parsed["raw"]).to_numpy(dtype=bool)
    return out


def _core_districts(name: np.ndarray, kind: np.ndarray, postal: np.ndarray | None = None) -> np.ndarray:
    """'|'-joined postcode districts of the post town a place name means ('' when it means none, or
    when the name is a borough's: the borough is the core): the core of "Brentford" is TW8, not the
    W4/W5 the locality's border tolerance also admits. In a postal address (``postal``) a borough
    name that is also a post town means the post town ("20 Manor Road, Sutton, Surrey": SM2)."""
    out = np.full(len(name), "", dtype=object)
    postal = np.zeros(len(name), dtype=bool) if postal is None else postal
    use = pd.notna(name) & ((kind != "borough") | postal)
    if not use.any():
        return out
    _, pt = _core_tables()
    codes, uniq = pd.factorize(name[use].astype(str))
    out[use] = np.array([pt.get(u, "") for u in uniq], dtype=object)[codes]
    return out


class WithinTest:
    """``within`` as a point test (EPSG:27700): borough bits or a prepared polygon."""

    def __init__(self, bits: int | None = None, geom: Any = None) -> None:
        self.bits, self.geom = bits, geom

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.geom is not None:
            import shapely

            return shapely.contains_xy(self.geom, x, y)
        rows = borough_layer().lookup("borough", x, y)
        b = np.where(rows >= 0, np.left_shift(np.int64(1), np.maximum(rows, 0).astype(np.int64)), 0)
        return (b & np.int64(self.bits)) != 0

    def entries(self, gaz: Any) -> np.ndarray:
        """The test on every gazetteer entry (borough bits from the entries' cached boroughs)."""
        if self.geom is not None:
            return self(gaz.x, gaz.y)
        return (entry_bits(gaz) & np.int64(self.bits)) != 0


def within_test(within: Any) -> "WithinTest | None":
    """``within`` (borough codes — a str or a sequence of E09 codes — or a shapely polygon /
    GeoSeries / GeoDataFrame, reprojected to EPSG:27700) as a point test, or None; a clear
    :class:`InputError` for unknown codes or a geometry that is not a polygon."""
    if within is None:
        return None
    if isinstance(within, str) or (isinstance(within, Sequence) and all(isinstance(w, str) for w in within)):
        codes = [within] if isinstance(within, str) else list(within)
        known = set(borough_codes())
        bad = [c for c in codes if c not in known]
        if bad:
            raise InputError(f"within= names unknown borough code(s) {bad}; use ONS LAD codes such as 'E09000022'")
        return WithinTest(bits=int(_bits_of_codes(np.array(["|".join(codes)], dtype=object))[0]))
    import shapely

    geom = within
    if hasattr(within, "geometry") or hasattr(within, "union_all"):
        crs = getattr(within, "crs", None)
        if crs is not None and crs.to_epsg() != 27700:
            within = within.to_crs(27700)
        geom = within.union_all() if hasattr(within, "union_all") else within.geometry.union_all()
    if not isinstance(geom, shapely.Geometry) or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError("within= takes borough codes (['E09000022', ...]) or a polygon in EPSG:27700 metres "
                         "(shapely Polygon/MultiPolygon, GeoSeries or GeoDataFrame)")
    shapely.prepare(geom)
    return WithinTest(geom=geom)


#: place kinds whose postcode districts (with the measured border tolerance) bound a match; a post
#: town's districts held the truth's district for 1,312 of 1,313 GDS list addresses naming one
DISTRICT_KINDS = ("locality", "post_town")


def outside_districts(places: dict[str, np.ndarray], q: np.ndarray, district: np.ndarray, gaz: Any) -> np.ndarray:
    """True where an entry's postcode ``district`` (per pair: strings, or integer codes of
    ``gaz.vocab['pc_district']``) lies outside the districts of the locality named by query ``q``
    (False without such a place or without a district)."""
    voc = gaz.vocab["pc_district"]
    qset, allowed_key = _district_sets(places, voc)
    a = qset[q]
    use = a >= 0
    out = np.zeros(len(q), dtype=bool)
    if not use.any():
        return out
    d = np.asarray(district)[use]
    dcode = d.astype(np.int64) if d.dtype.kind in "iu" else voc.get_indexer(d.astype(object)).astype(np.int64)
    key = a[use] * (len(voc) + 2) + (dcode + 1)
    out[use] = (dcode > 0) & (allowed_key.get_indexer(key) < 0)
    return out


def _district_sets(places: dict[str, np.ndarray], voc: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Per query of ``places``: the number of its set of allowed postcode districts (-1 where its
    place bounds no district), and every allowed (set, district) pair as a key ``set * (len(voc) + 2)
    + code + 1`` (a hashed index); computed once per batch (kept in ``places``)."""
    memo = places.get("_district_sets")
    if memo is not None and memo[0] is voc:
        return memo[1], memo[2]
    allowed = places["districts"]
    use = (allowed != "") & np.isin(places["kind"], DISTRICT_KINDS)
    qset = np.full(len(allowed), -1, np.int64)
    acode, auniq = pd.factorize(allowed[use])
    qset[use] = acode
    parts = [a.split("|") for a in auniq]
    owner = np.repeat(np.arange(len(parts), dtype=np.int64), [len(p) for p in parts])
    codes = voc.get_indexer([d for p in parts for d in p]).astype(np.int64)
    keys = pd.Index(np.unique(owner * (len(voc) + 2) + (codes + 1)))
    places["_district_sets"] = (voc, qset, keys)
    return qset, keys


def pair_conflict(places: dict[str, np.ndarray], qi: np.ndarray, gi: np.ndarray, gaz: Any,
                  inside: np.ndarray | None) -> np.ndarray:
    """True for candidate pairs outside every borough the record names, outside the postcode
    districts of the locality it names, or outside ``within``."""
    m = places["mask"][qi]
    bad = (m != 0) & ((m & entry_bits(gaz)[gi]) == 0)
    bad |= outside_districts(places, qi, gaz.kcode["pc_district"][gi], gaz)
    if inside is not None:
        bad |= ~inside[gi]
    return bad


def point_conflict(qmask: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """True where a point's borough bits (``bits``, per record) lie outside the boroughs the record names."""
    return (qmask != 0) & ((qmask & bits) == 0)
