"""The :class:`Gazetteer`: one columnar table of addressable points plus its blocking index (EPSG:27700).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._geo import BNG
from ..errors import DataNotFoundError, GazetteerError, InputError, MissingColumnsError
from .keys import BlockIndex, block_keys, canonical_components
from .sources import (
    COMPONENTS,
    FORMAT_VERSION,
    LEVELS,
    PREMISES_RADIUS_M,
    STREET_MIN_RADIUS_M,
    _medoid_groups,
)


def parser_fingerprint() -> str:
    """Short hash of the address parser, the place lexicon and the canonicalisation source: a
    gazetteer is matched with the parser that built it (both sides of a match must be read the same way)."""
    import hashlib
    import inspect

    from ..address import normalise, places, police, rules
    from . import keys as _blocking

    h = hashlib.sha256()
    for m in (rules, normalise, police, places, _blocking):
        try:
            h.update(inspect.getsource(m).encode())
        except (OSError, TypeError):
            h.update(m.__name__.encode())
    # the place lexicon decides which trailing words are places, not street
    h.update(places.default_places().table[["name", "kind", "boroughs", "districts"]].to_csv().encode())
    return h.hexdigest()[:16]


#: a premises farther than this from its own postcode unit (or, without one, from every unit) is misplaced
MISPLACED_M = 2000.0


def _drop_misplaced(prem: pd.DataFrame, units: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop premises whose point contradicts their postcode (real FHRS rows are geocoded to the
    wrong Richmond, to 0,0 ...): farther than :data:`MISPLACED_M` from their postcode unit, or, when
    the unit is unknown, from every unit. Without postcode units nothing can be checked."""
    if not len(units) or not len(prem):
        return prem, 0
    from scipy.spatial import cKDTree

    u = units.drop_duplicates("k_pc_unit").set_index("k_pc_unit")
    ux = u["x"].reindex(prem["k_pc_unit"]).to_numpy(float)
    uy = u["y"].reindex(prem["k_pc_unit"]).to_numpy(float)
    px, py = prem["x"].to_numpy(float), prem["y"].to_numpy(float)
    d_own = np.hypot(px - ux, py - uy)
    d_any, _ = cKDTree(np.c_[units["x"].to_numpy(float), units["y"].to_numpy(float)]).query(np.c_[px, py])
    bad = np.where(np.isfinite(d_own), d_own > MISPLACED_M, d_any > MISPLACED_M)
    return prem[~bad], int(bad.sum())


#: premises sharing these fields and a point (to the metre) are the same premises
SAME_POINT_KEY = ["k_flat", "k_hn_num", "k_hn_suf", "k_hn_end", "k_street", "k_pc_unit", "_rx", "_ry"]


def _merge_same_point(prem: pd.DataFrame) -> pd.DataFrame:
    p = prem.assign(_rx=prem["x"].round(0), _ry=prem["y"].round(0), _bl=prem["k_bname"].str.len())
    eligible = ((p["k_hn_num"] >= 0) | (p["k_flat"] != "")) & (p["k_street"] != "")
    e = p[eligible].sort_values(["_bl"], kind="stable")
    e = e.drop_duplicates(SAME_POINT_KEY, keep="first")
    return pd.concat([e, p[~eligible]]).sort_index().drop(columns=["_rx", "_ry", "_bl"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------- build steps
#: street points of one name in one borough closer than this (metres, chained) are one physical street
STREET_LINK_M = 600.0
#: columns every table row has besides the components (filled by :func:`_stack_sources`)
_EXTRA_COLUMNS = {"borough": "", "landmark_kind": "", "name": "", "source_id": ""}


def _stack_sources(sources: Sequence[pd.DataFrame], priorities: Sequence[int] | None) -> pd.DataFrame:
    """Check the source tables, tag each with its priority and stack them (rows with finite x/y)."""
    if not sources:
        raise GazetteerError("a gazetteer needs at least one source table")
    pri = list(priorities) if priorities is not None else list(range(len(sources), 0, -1))
    if len(pri) != len(sources):
        raise InputError("priorities must have one value per source")
    frames = []
    for s, p in zip(sources, pri):
        need = {"x", "y", "level", "source", *COMPONENTS}
        if not need <= set(s.columns):
            raise MissingColumnsError(f"source table lacks {sorted(need - set(s.columns))}; build it with a read_* function")
        s = s.assign(**{c: v for c, v in _EXTRA_COLUMNS.items() if c not in s.columns})
        frames.append(s.assign(priority=int(p)))
    t = pd.concat(frames, ignore_index=True)
    t = t[np.isfinite(t["x"].to_numpy(float)) & np.isfinite(t["y"].to_numpy(float))].reset_index(drop=True)
    if len(t) == 0:
        raise GazetteerError("the source tables hold no row with finite coordinates (x/y in EPSG:27700 metres): "
                             "a gazetteer needs at least one addressable point")
    for c in _EXTRA_COLUMNS:
        t[c] = t[c].fillna("").astype("str")
    return t


def _with_keys(t: pd.DataFrame) -> pd.DataFrame:
    """The canonical matching components (``k_*``), plus ``k_landmark`` (landmark rows) and ``k_area``
    (locality and borough rows: :func:`geocrime.address.places.place_key` of the name)."""
    from ..address.places import landmark_key, place_key
    from ..address.rules import split_trailing_place

    comp = t[list(COMPONENTS)].copy()
    # street names that end with a place ("High Road Leytonstone") are keyed as the parser reads them
    st, loc = split_trailing_place(comp["street"].where(comp["street"] != "", None),
                                   comp["locality"].where(comp["locality"] != "", None))
    comp["street"], comp["locality"] = st.fillna("").astype("str"), loc.fillna("").astype("str")
    k = canonical_components(comp)
    t = pd.concat([t, k.add_prefix("k_")], axis=1)
    lv = t["level"].to_numpy(dtype=object)
    t["k_landmark"] = ""
    t["k_area"] = ""
    lm = lv == "landmark"
    if lm.any():
        t.loc[lm, "k_landmark"] = landmark_key(t.loc[lm, "name"]).to_numpy(dtype=object)
    ar = np.isin(lv, ["locality", "borough"])
    if ar.any():
        t.loc[ar, "k_area"] = place_key(t.loc[ar, "name"]).to_numpy(dtype=object)
    return t


def _with_boroughs(t: pd.DataFrame, boundaries: Any) -> pd.DataFrame:
    """Fill ``borough`` where the source left it empty: point in polygon against ``boundaries``'
    borough layer when given, else the borough of the nearest Code-Point unit that has one."""
    todo = (t["borough"] == "").to_numpy()
    if not todo.any():
        return t
    x, y = t["x"].to_numpy(float)[todo], t["y"].to_numpy(float)[todo]
    if boundaries is not None:
        t.loc[todo, "borough"] = _pip_boroughs(x, y, boundaries)
        return t
    known = t[(t["level"] == "postcode_unit") & (t["borough"] != "")]
    if len(known):
        from scipy.spatial import cKDTree

        _, j = cKDTree(np.c_[known["x"].to_numpy(float), known["y"].to_numpy(float)]).query(np.c_[x, y])
        t.loc[todo, "borough"] = known["borough"].to_numpy(dtype=object)[j]
    return t


def _pip_boroughs(x: np.ndarray, y: np.ndarray, boundaries: Any) -> np.ndarray:
    """Borough code of each point (EPSG:27700) by :func:`geocrime.areas.assign_areas` ('' outside)."""
    from ..areas import assign_areas

    names = [n for n in getattr(boundaries, "names", []) if n.startswith("borough")]
    if not names:
        raise InputError("boundaries= needs a borough layer (e.g. Boundaries.from_registry(['borough']))")
    pts = pd.DataFrame({"x": x, "y": y})
    codes = assign_areas(pts, boundaries, layers=[names[0]], x="x", y="y", crs=BNG)[names[0]]
    return codes.astype(object).where(codes.notna(), "").astype("str").to_numpy(dtype=object)


def _premises(prem: pd.DataFrame, units: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Premises de-duplicated by their canonical address: misplaced points dropped, the highest
    priority source wins, the members of that source merged to their medoid."""
    prem, n_bad = _drop_misplaced(prem, units)
    dkey = ["k_flat", "k_hn_num", "k_hn_suf", "k_hn_end", "k_bname", "k_street", "k_pc_unit"]
    prem = prem[(prem["k_street"] != "") | (prem["k_bname"] != "")]
    if len(prem):
        top = prem.groupby(dkey, sort=False)["priority"].transform("max")
        prem = prem[prem["priority"] == top]
        prem = _medoid_groups(prem, dkey)
        prem["radius"] = np.maximum(prem["radius"], PREMISES_RADIUS_M)
        # entries at the same point with the same number/flat, street and postcode are one premises
        # written with and without a building or business name: keep the shortest building name
        prem = _merge_same_point(prem)
    return prem, n_bad


def _street_clusters(pts: pd.DataFrame) -> np.ndarray:
    """Cluster id per street point: same street key, same borough, and chained within
    :data:`STREET_LINK_M` (two same-named streets in one borough are two clusters)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    gid = pts.groupby(["k_street", "borough"], sort=False).ngroup().to_numpy()
    if not len(gid):
        return gid
    # a third coordinate far apart per group: pairs are only found within a group
    xyz = np.c_[pts["x"].to_numpy(float), pts["y"].to_numpy(float), gid.astype(float) * (10 * STREET_LINK_M)]
    pairs = cKDTree(xyz).query_pairs(STREET_LINK_M, output_type="ndarray")
    n = len(pts)
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else coo_matrix((n, n))
    _, lab = connected_components(g, directed=False)
    return lab


def _streets(sp: pd.DataFrame, prem: pd.DataFrame, units: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Street rows (one per street cluster: see :func:`_street_clusters`) at the medoid of their points,
    radius the farthest member's distance plus that member's own radius (so it covers the street's
    extent in that borough), and the source ``street_point`` rows with ``_cluster`` set."""
    prem_pts = prem.assign(level="street_point", source="premises")[sp.columns.intersection(prem.columns)] if len(prem) else sp.iloc[:0]
    # a premises point counts with the premises radius (its own may be the spread of merged duplicates)
    prem_pts = prem_pts.assign(radius=PREMISES_RADIUS_M)
    allp = pd.concat([sp.assign(_own=True), prem_pts.assign(_own=False)], ignore_index=True)
    allp = allp[allp["k_street"] != ""].reset_index(drop=True)
    allp["radius"] = allp["radius"].fillna(PREMISES_RADIUS_M).astype(float)
    nodist = (allp["k_pc_district"] == "").to_numpy()
    if nodist.any() and len(units):
        from scipy.spatial import cKDTree  # a point without a postcode takes its nearest unit's district

        _, j = cKDTree(np.c_[units["x"].to_numpy(), units["y"].to_numpy()]).query(
            np.c_[allp["x"].to_numpy()[nodist], allp["y"].to_numpy()[nodist]])
        allp.loc[nodist, "k_pc_district"] = units["k_pc_district"].to_numpy(dtype=object)[j]
    if not len(allp):
        return allp.assign(level="street"), sp.assign(members=1, _cluster=-1)
    allp["_cluster"] = _street_clusters(allp)
    streets = _medoid_groups(allp, ["_cluster"])
    # radius: farthest member + its own radius (Open Names points carry their road's half-extent)
    cx = pd.Series(streets["x"].to_numpy(), index=streets["_cluster"].to_numpy())
    cy = pd.Series(streets["y"].to_numpy(), index=streets["_cluster"].to_numpy())
    d = np.hypot(allp["x"].to_numpy() - cx.reindex(allp["_cluster"]).to_numpy(),
                 allp["y"].to_numpy() - cy.reindex(allp["_cluster"]).to_numpy()) + allp["radius"].to_numpy()
    far = pd.Series(d).groupby(allp["_cluster"].to_numpy()).max()
    streets["radius"] = np.maximum(far.reindex(streets["_cluster"]).to_numpy(), STREET_MIN_RADIUS_M)
    streets["level"] = "street"
    for c in ("sub_building", "building_name", "house_number", "k_flat", "k_bname", "k_hn_suf", "source_id", "name",
              "landmark_kind", "k_pc_unit", "k_pc_sector"):
        streets[c] = ""
    streets["k_hn_num"] = -1
    streets["k_hn_end"] = -1
    streets["postcode"] = streets["k_pc_district"]
    # street points without a street key (road numbers "A402") stay, unlinked
    unkeyed = sp[sp["k_street"] == ""].assign(_cluster=-1)
    members = pd.concat([allp[allp["_own"]].drop(columns=["_own"]), unkeyed], ignore_index=True).assign(members=1)
    streets = streets.drop(columns=["_own"])
    # premises link to their street cluster too (by canonical street + point, merged in _assemble)
    prem_link = allp.loc[~allp["_own"], ["k_street", "x", "y", "_cluster"]]
    streets.attrs["premises_clusters"] = prem_link
    return streets, members


def _postcode_aggregates(units: pd.DataFrame) -> list[pd.DataFrame]:
    """Postcode sector / district / area rows: the medoid unit of each, radius to the farthest unit."""
    aggs = []
    if not len(units):
        return aggs
    for lvl, col in (("postcode_sector", "k_pc_sector"), ("postcode_district", "k_pc_district"), ("postcode_area", "k_pc_area")):
        a = _medoid_groups(units, [col])
        a["level"] = lvl
        a["postcode"] = a[col]
        for c in ("k_pc_unit", "k_pc_sector", "k_pc_district", "k_pc_area"):
            if c != col and not (lvl == "postcode_sector" and c in ("k_pc_district", "k_pc_area")) \
                    and not (lvl == "postcode_district" and c == "k_pc_area"):
                a[c] = ""
        a["source_id"] = a[col]
        aggs.append(a)
    return aggs


def _borough_rows(units: pd.DataFrame) -> pd.DataFrame:
    """One ``borough`` row per borough code of the postcode units: the medoid unit, radius to the
    farthest unit; ``name`` the borough's name from the place lexicon (else its code)."""
    u = units[units["borough"] != ""]
    if not len(u):
        return u.iloc[:0]
    from ..address.places import default_places, place_key

    b = _medoid_groups(u, ["borough"])
    lex = default_places().table
    names = lex[(lex["kind"] == "borough") & ~lex["boroughs"].str.contains("|", regex=False)].drop_duplicates("boroughs")
    nm = pd.Series(names["name"].to_numpy(), index=names["boroughs"].to_numpy())
    b["name"] = nm.reindex(b["borough"]).fillna(pd.Series(b["borough"].to_numpy(), index=b["borough"])).to_numpy()
    b["level"] = "borough"
    b["source"] = "codepoint"
    b["source_id"] = b["borough"]
    for c in ("postcode", "k_pc_unit", "k_pc_sector", "k_pc_district", "k_pc_area"):
        b[c] = ""
    b["k_area"] = place_key(b["name"]).to_numpy(dtype=object)
    return b


def _pass_through(t: pd.DataFrame, level: str) -> pd.DataFrame:
    """Rows of ``level`` kept as they are (one per name, borough and point)."""
    r = t[t["level"] == level]
    return r.drop_duplicates(["name", "borough", "x", "y"]).assign(members=1)


def _assemble(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One table: ids, ``street_id`` (a street row's own id; its members' and premises' street row;
    -1 elsewhere), canonical one-line text and column dtypes."""
    from ..address import normalise_many

    streets = next((p for p in parts if len(p) and (p["level"] == "street").all()), None)
    prem_link = streets.attrs.get("premises_clusters") if streets is not None else None
    parts = [p for p in parts if len(p)]
    table = pd.concat(parts, ignore_index=True)
    table.attrs = {}
    table["members"] = table["members"].fillna(1).astype("int32")
    table["radius"] = table["radius"].fillna(PREMISES_RADIUS_M).astype("float32")
    table.insert(0, "id", np.arange(len(table), dtype=np.int64))
    table["street_id"] = _street_ids(table, prem_link)
    canon = table[list(COMPONENTS)].astype("str")
    line = canon["sub_building"]
    for c in COMPONENTS[1:]:
        line = line + " " + canon[c]
    table["canonical"] = normalise_many(line)
    for c in table.columns:
        if c.startswith("k_hn"):
            table[c] = table[c].astype("int32") if c in ("k_hn_num", "k_hn_end") else table[c].astype("str")
    for c in ("borough", "landmark_kind", "k_landmark", "k_area", "name", "source_id"):
        table[c] = table[c].fillna("").astype("str")
    return table.drop(columns=[c for c in ("_cluster",) if c in table.columns])


def _street_ids(table: pd.DataFrame, prem_link: pd.DataFrame | None) -> np.ndarray:
    cl = table["_cluster"].to_numpy() if "_cluster" in table else np.full(len(table), np.nan)
    cl = np.where(pd.isna(cl), -1, cl).astype(np.int64)
    lv = table["level"].to_numpy(dtype=object)
    is_st = lv == "street"
    sid_of = pd.Series(table["id"].to_numpy()[is_st], index=cl[is_st])
    out = np.full(len(table), -1, dtype=np.int64)
    own = (lv == "street_point") | is_st
    hit = own & (cl >= 0)
    out[hit] = sid_of.reindex(cl[hit]).fillna(-1).to_numpy(np.int64)
    if prem_link is not None and len(prem_link):
        pr = table[lv == "premises"]
        key = pd.MultiIndex.from_arrays([prem_link["k_street"].to_numpy(), prem_link["x"].to_numpy(), prem_link["y"].to_numpy()])
        link = pd.Series(prem_link["_cluster"].to_numpy(), index=key)
        link = link[~link.index.duplicated()]
        pk = pd.MultiIndex.from_arrays([pr["k_street"].to_numpy(), pr["x"].to_numpy(), pr["y"].to_numpy()])
        c = link.reindex(pk).to_numpy()
        ok = ~pd.isna(c)
        out[pr.index.to_numpy()[ok]] = sid_of.reindex(c[ok].astype(np.int64)).fillna(-1).to_numpy(np.int64)
    return out



class Gazetteer:
    """One columnar table of addressable points plus a blocking index over its premises.

    Build with :meth:`from_sources`; :meth:`save` / :meth:`load` round-trip it without rebuilding.
    ``table`` (DataFrame, x/y in EPSG:27700 metres), ``build_seconds``, ``meta`` (counts, sources).
    """

    def __init__(self, table: pd.DataFrame, index: BlockIndex, meta: dict[str, Any] | None = None) -> None:
        self.table = table
        self.index = index
        self.meta = dict(meta or {})
        self._prepare()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_sources(cls, sources: Sequence[pd.DataFrame], priorities: Sequence[int] | None = None,
                     progress: bool = False, boundaries: Any = None) -> "Gazetteer":
        """Combine source tables (from the ``read_*`` functions) into one gazetteer.

        ``priorities``: higher wins when two sources hold the same canonical premises (default: the
        order given, first highest). ``boundaries``: a :class:`geocrime.areas.Boundaries` with a
        ``borough`` layer (e.g. ``Boundaries.from_registry(["borough"])``): rows without a borough
        from their source get one by point-in-polygon (:func:`geocrime.areas.assign_areas`); without
        it they take the borough of their nearest Code-Point unit.

        Steps: stack the sources; canonical keys; boroughs; premises (de-duplicated); streets (one row
        per street per borough and physical street, from ``street_point`` rows and premises; radius
        covers the street's extent); postcode sector/district/area rows from units; borough rows;
        localities and landmarks; assemble (ids, ``street_id`` links, canonical text, index).
        """
        t0 = time.perf_counter()
        t = _stack_sources(sources, priorities)
        t = _with_keys(t)
        t = _with_boroughs(t, boundaries)
        units = t[t["level"] == "postcode_unit"].drop_duplicates("k_pc_unit")
        prem, n_bad = _premises(t[t["level"] == "premises"], units)
        streets, members = _streets(t[t["level"] == "street_point"], prem, units)
        parts = [prem, streets, members, units.assign(members=1), *_postcode_aggregates(units),
                 _borough_rows(units), _pass_through(t, "locality"), _pass_through(t, "landmark")]
        table = _assemble(parts)
        index = cls._build_index(table)
        meta = {
            "format_version": FORMAT_VERSION,
            "build_seconds": round(time.perf_counter() - t0, 3),
            "counts": table["level"].value_counts().to_dict(),
            "sources": sorted(table["source"].unique().tolist()),
            "premises_dropped_misplaced": int(n_bad),
            "parser_fingerprint": parser_fingerprint(),
            "crs": BNG,
        }
        return cls(table, index, meta)

    @staticmethod
    def _build_index(table: pd.DataFrame) -> BlockIndex:
        prem_pos = np.flatnonzero((table["level"] == "premises").to_numpy())
        kc = table.iloc[prem_pos][[c for c in table.columns if c.startswith("k_")]]
        kc.columns = [c[2:] for c in kc.columns]
        pos, keys = block_keys(kc, gazetteer_side=True)
        return BlockIndex(keys, prem_pos[pos])

    # ------------------------------------------------------------------ derived arrays
    def _prepare(self) -> None:
        t = self.table
        self.x = t["x"].to_numpy(float)
        self.y = t["y"].to_numpy(float)
        self.level = t["level"].to_numpy(dtype=object)
        self.ids = t["id"].to_numpy(np.int64)
        self.radius = t["radius"].to_numpy(np.float64)
        self.canonical = t["canonical"].to_numpy(dtype=object)
        self.k = {c[2:]: (t[c].to_numpy() if c.startswith("k_hn_num") or c.startswith("k_hn_end") else t[c].to_numpy(dtype=object))
                  for c in t.columns if c.startswith("k_")}
        # text fields as integer codes of one vocabulary per field (0 = ""), so that comparing a
        # query with its candidates is an integer comparison
        self.vocab: dict[str, pd.Index] = {}
        self.kcode: dict[str, np.ndarray] = {}
        for f, fields in (("flat", ["flat"]), ("hn_suf", ["hn_suf"]), ("street", ["street"]), ("bname", ["bname"]),
                          ("place", ["place", "place2"]), ("pc_unit", ["pc_unit"]), ("pc_sector", ["pc_sector"]),
                          ("pc_district", ["pc_district"])):
            vals = pd.unique(np.concatenate([self.k[x] for x in fields]).astype(object))
            voc = pd.Index([""] + sorted(v for v in vals if v != ""), dtype=object)
            for x in fields:
                self.vocab[x] = voc
                self.kcode[x] = voc.get_indexer(self.k[x]).astype(np.int32)
        # fallback lookups: key -> row position
        def lut(level: str, cols: list[str]) -> pd.Series:
            sub = t[t["level"] == level]
            key = sub[cols[0]].astype("str")
            for c in cols[1:]:
                key = key + "|" + sub[c].astype("str")
            s = pd.Series(sub.index.to_numpy(), index=key.to_numpy())
            return s[~s.index.duplicated(keep="first")]

        self._lut = {
            "street": lut("street", ["k_street", "k_pc_district"]),
            "postcode_unit": lut("postcode_unit", ["k_pc_unit"]),
            "postcode_sector": lut("postcode_sector", ["k_pc_sector"]),
            "postcode_district": lut("postcode_district", ["k_pc_district"]),
            "postcode_area": lut("postcode_area", ["k_pc_area"]),
        }
        st = t[t["level"] == "street"]
        cnt = st.groupby("k_street").size()
        uniq = cnt[cnt == 1].index
        s1 = st[st["k_street"].isin(uniq)]
        self._lut["street_unique"] = pd.Series(s1.index.to_numpy(), index=s1["k_street"].to_numpy())
        self._lut["landmark"] = lut("landmark", ["k_landmark"]) if "k_landmark" in t else pd.Series(dtype=np.int64)
        self._lut["locality"] = lut("locality", ["k_area"]) if "k_area" in t else pd.Series(dtype=np.int64)
        self._lut["borough"] = lut("borough", ["borough"]) if "borough" in t else pd.Series(dtype=np.int64)
        self.borough = t["borough"].to_numpy(dtype=object) if "borough" in t else np.full(len(t), "", dtype=object)
        self.street_id = t["street_id"].to_numpy(np.int64) if "street_id" in t else np.full(len(t), -1, np.int64)
        self._areas_cache: dict[Any, Any] = {}
        self._tree: Any = None

    # ------------------------------------------------------------------ public lookups
    #: names accepted by :meth:`lookup`
    LOOKUPS = ("street", "street_unique", "postcode_unit", "postcode_sector", "postcode_district", "postcode_area",
               "landmark", "locality", "borough")

    def lookup(self, name: str, keys: Sequence[str] | np.ndarray) -> np.ndarray:
        """Row positions (-1 where absent) of ``keys`` in the named key -> row table:
        ``street`` (``"k_street|k_pc_district"``), ``street_unique`` (a street name held by one street
        row only), ``postcode_unit`` / ``postcode_sector`` / ``postcode_district`` / ``postcode_area``
        (canonical postcode parts), ``landmark`` (:func:`geocrime.address.places.landmark_key`),
        ``locality`` (:func:`geocrime.address.places.place_key`), ``borough`` (LAD code)."""
        if name not in self._lut:
            raise InputError(f"unknown lookup {name!r}; use one of {list(self.LOOKUPS)}")
        r = self._lut[name].reindex(np.asarray(keys, dtype=object)).to_numpy()
        return np.where(pd.isna(r), -1, r).astype(np.int64)

    def lookup_all(self, name: str, keys: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every row holding each key (``lookup`` gives the first only): ``(query_index, row_position)``
        pairs, query-ordered. Names as :meth:`lookup` except ``street_unique``; ``street`` keys are
        ``"k_street|k_pc_district"``; ``street_name`` takes a bare ``k_street`` (every street row of
        that name, all boroughs)."""
        cols = {"street": ["k_street", "k_pc_district"], "street_name": ["k_street"], "postcode_unit": ["k_pc_unit"],
                "postcode_sector": ["k_pc_sector"], "postcode_district": ["k_pc_district"], "postcode_area": ["k_pc_area"],
                "landmark": ["k_landmark"], "locality": ["k_area"], "borough": ["borough"]}
        if name not in cols:
            raise InputError(f"unknown lookup {name!r}; use one of {sorted(cols)}")
        level = "street" if name.startswith("street") else name

        def build() -> tuple[np.ndarray, np.ndarray]:
            pos = self.rows_of_level(level)
            key = self.table[cols[name][0]].to_numpy(dtype=object)[pos].astype(str)
            for c in cols[name][1:]:
                key = np.char.add(np.char.add(key, "|"), self.table[c].to_numpy(dtype=object)[pos].astype(str))
            order = np.argsort(key, kind="stable")
            return key[order], pos[order]

        skeys, spos = self.memo(("lookup_all", name), build)
        q = np.asarray(keys, dtype=object).astype(str)
        lo = np.searchsorted(skeys, q, side="left")
        hi = np.searchsorted(skeys, q, side="right")
        n = hi - lo
        qi = np.repeat(np.arange(len(q)), n)
        take = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())
        return qi, spos[take] if len(take) else np.zeros(0, np.int64)

    def memo(self, key: Any, build: Any) -> Any:
        """A per-gazetteer cache of derived arrays: the value stored under ``key``, built by calling
        ``build()`` the first time (e.g. area codes per boundaries object, text arrays for scoring)."""
        if key not in self._areas_cache:
            self._areas_cache[key] = build()
        return self._areas_cache[key]

    def rows_of_level(self, level: str) -> np.ndarray:
        """Row positions of one level (``premises``, ``street``, ``street_point``, ``landmark``,
        ``locality``, ``borough``, ``postcode_unit`` ...), ascending; cached."""
        return self.memo(("rows_of_level", level), lambda: np.flatnonzero(self.level == level))

    def street_points(self, street_rows: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """The points of given street rows (row positions): a DataFrame with ``street_row`` and
        ``point_row`` (row positions of their ``street_point`` members and premises on that street),
        ``x``/``y`` (EPSG:27700), ``postcode`` and ``radius`` of each point. Vectorised."""
        def build() -> tuple[np.ndarray, np.ndarray]:
            mem = np.flatnonzero((self.street_id >= 0) & (self.level != "street"))
            order = np.argsort(self.street_id[mem], kind="stable")
            return self.street_id[mem][order], mem[order]

        sid_sorted, pos_sorted = self.memo("street_points", build)
        rows = np.asarray(street_rows, dtype=np.int64)
        ids = self.ids[rows]
        lo = np.searchsorted(sid_sorted, ids, side="left")
        hi = np.searchsorted(sid_sorted, ids, side="right")
        n = hi - lo
        srow = np.repeat(rows, n)
        take = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())
        prow = pos_sorted[take] if len(take) else np.zeros(0, np.int64)
        return pd.DataFrame({"street_row": srow, "point_row": prow, "x": self.x[prow], "y": self.y[prow],
                             "postcode": self.memo("postcode_values", lambda: self.table["postcode"].to_numpy(dtype=object))[prow],
                             "radius": self.radius[prow]})

    def landmarks(self) -> pd.DataFrame:
        """Landmark rows: ``row`` (position), ``id``, ``name``, ``k_landmark``, ``landmark_kind``,
        ``borough``, ``x``/``y`` (EPSG:27700), ``radius`` (metres)."""
        pos = self.rows_of_level("landmark")
        t = self.table.iloc[pos]
        return pd.DataFrame({"row": pos, "id": self.ids[pos], "name": t["name"].to_numpy(dtype=object),
                             "k_landmark": t["k_landmark"].to_numpy(dtype=object),
                             "landmark_kind": t["landmark_kind"].to_numpy(dtype=object),
                             "borough": self.borough[pos], "x": self.x[pos], "y": self.y[pos], "radius": self.radius[pos]})

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        c = self.table["level"].value_counts().to_dict()
        return f"Gazetteer({len(self)} entries: " + ", ".join(f"{k}={v}" for k, v in sorted(c.items())) + ")"

    @property
    def n_addresses(self) -> int:
        """Entries that can be matched as an address (premises + streets + postcode units)."""
        return int(self.table["level"].isin(["premises", "street", "postcode_unit"]).sum())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the gazetteer to a directory: ``table.parquet`` (GeoParquet, points in EPSG:27700),
        ``index.npz`` (the blocking index) and ``meta.json``. Returns the directory."""
        import geopandas as gpd

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        gdf = gpd.GeoDataFrame(self.table, geometry=gpd.points_from_xy(self.x, self.y), crs=BNG)
        gdf.to_parquet(path / "table.parquet", index=False)
        np.savez(path / "index.npz", keys=self.index.keys, rows=self.index.rows, max_block=self.index.max_block)
        meta = dict(self.meta, n_rows=len(self.table))
        (path / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Gazetteer":
        """Load a gazetteer written by :meth:`save` (no rebuild: the index is read as saved)."""
        path = Path(path)
        if not (path / "meta.json").exists() or not (path / "table.parquet").exists():
            raise DataNotFoundError(f"no saved gazetteer at {path} (expected meta.json, table.parquet, index.npz); "
                                    "build one with `geocrime gazetteer build`")
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise GazetteerError(f"gazetteer at {path} has format {meta.get('format_version')}, this geocrime reads "
                                 f"{FORMAT_VERSION} (boroughs, landmarks, localities, street rows per borough); rebuild it "
                                 "from its sources with `geocrime gazetteer build` or Gazetteer.from_sources(...).save()")
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path / "table.parquet")
        cols = [c for c in pf.schema_arrow.names if c != "geometry"]
        table = pd.read_parquet(path / "table.parquet", columns=cols)
        if len(table) != meta.get("n_rows"):
            raise GazetteerError(f"gazetteer at {path} is damaged: {len(table)} rows, meta says {meta.get('n_rows')}")
        if meta.get("parser_fingerprint") not in (None, parser_fingerprint()):
            import warnings

            warnings.warn(f"the address parser changed since the gazetteer at {path} was built: queries and entries "
                          "may be read differently; rebuild it (`geocrime gazetteer build`)", stacklevel=2)
        z = np.load(path / "index.npz")
        index = BlockIndex.__new__(BlockIndex)
        index.keys, index.rows, index.max_block = z["keys"], z["rows"], int(z["max_block"])
        return cls(table, index, meta)

    # ------------------------------------------------------------------ areas
    def area_codes(self, boundaries: Any) -> dict[str, np.ndarray]:
        """Ward and LSOA code of every entry (object arrays, None outside), cached per boundaries object.

        ``boundaries``: a :class:`geocrime.areas.Boundaries` (its ``ward_*`` and ``lsoa_*`` layers are
        used) or a mapping ``{"ward": GeoDataFrame, "lsoa": GeoDataFrame}`` with a ``code`` column.
        """
        from ..areas import point_codes

        return self.memo(id(boundaries), lambda: point_codes(self.x, self.y, boundaries))

    # ------------------------------------------------------------------ reverse
    def nearest(self, x: np.ndarray, y: np.ndarray, levels: Sequence[str] = ("premises",)) -> tuple[np.ndarray, np.ndarray]:
        """Row position and distance (metres) of the nearest entry of ``levels`` to each point (EPSG:27700)."""
        from scipy.spatial import cKDTree

        levels = tuple(levels)
        if self._tree is None:
            self._tree = {}
        if levels not in self._tree:
            pos = np.flatnonzero(np.isin(self.level, list(levels)))
            if not len(pos):
                raise GazetteerError(f"the gazetteer has no {levels} entries")
            self._tree[levels] = (cKDTree(np.c_[self.x[pos], self.y[pos]]), pos)
        tree, pos = self._tree[levels]
        d, j = tree.query(np.c_[x, y])
        return pos[j], d
