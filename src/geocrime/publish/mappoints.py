"""Anonymous map points (police.uk style): the only positions the public ever sees.

Model
-----
Every map point has an internal *seed* inside one borough and a published *position*. Its
**catchment** is the Voronoi cell of its seed among the seeds of the same borough, clipped to the
borough (no catchment crosses a borough boundary); an address or incident belongs to the catchment
of the nearest seed in its own borough. Three guarantees hold for every map point (checked on the
final catchments, not on the clustering):

* **k distinct places** (default ``k=8``, as police.uk): the catchment holds at least ``k``
  distinct address *places* — positions closer than ``place_m`` (1 m) are one place, so 30 food
  premises at one station coordinate count once. Several addresses at one place count separately
  only when ``dwellings=`` names a column of separate dwellings from a real address source
  (e.g. flats of an AddressBase/LLPG record);
* **a wide catchment**: the farthest place of the catchment is at least ``min_radius_m`` (100 m)
  from the published position, so the incidents published there cannot be placed within that
  radius of it;
* **a position that is not a place**: the published position is at least ``clear_m`` (10 m) from
  every input address/premises coordinate and every coordinate in ``avoid`` (e.g. incident
  positions), inside the catchment; it is the seed when that is clear, else the nearest clear
  street point (``street_points``) or interior point found on rings around the seed.

Construction (deterministic, independent of row order):

1. addresses are assigned to boroughs through :class:`geocrime.areas.Boundaries` (the library's
   one point-in-polygon rule: smallest code wins on shared edges) and reduced to distinct places;
2. per borough, places are agglomerated Boruvka-style: every cluster with fewer than ``k`` places
   or a spread below ``min_radius_m`` joins its nearest neighbouring cluster, all at once, until every
   cluster holds both;
3. a cluster's seed is the mean of its places (inside the borough, or the point on surface of
   members' hull ∩ borough); its published position is placed as above;
4. places are re-assigned to their nearest seed (the Voronoi rule). Seeds whose catchment fails any
   guarantee are dropped and their places go to the nearest remaining seed ("merged into
   neighbours"); dropping a seed only enlarges the other catchments, so the loop reaches a fixed
   point where every catchment meets all three;
5. the id of a map point is a hash of its borough and the sorted ids of the addresses in its final
   catchment, so the same inputs give the same ids whatever the row order.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .._geo import BNG
from ..errors import InputError, PublishError

__all__ = ["MapPoints", "build_map_points", "load_boroughs", "place_clear"]

#: Extra metres on every distance guarantee: published positions are rounded to 6 decimal degrees
#: (~0.1 m) and go through the EPSG:27700 -> 4326 transform, so a guarantee met to the millimetre
#: in metres could be missed by a hair in what the reader measures.
MARGIN_M = 0.5


@dataclass
class MapPoints:
    """Anonymous map points and their catchments.

    Attributes
    ----------
    points:
        GeoDataFrame (EPSG:27700, metres) with ``map_point_id``, ``borough`` (code), ``n_places``
        (distinct places in the catchment, >= k), ``n_addresses`` (address rows in it),
        ``radius_m`` (farthest catchment place from the published position, >= min_radius_m),
        ``clearance_m`` (distance from the published position to the nearest input coordinate),
        ``geometry`` (the PUBLISHED position, a Point), ``seed`` (the internal Voronoi generator,
        never published) and ``catchment`` (the seed's Voronoi cell clipped to the borough).
    boroughs:
        GeoDataFrame of the boroughs used (``code``, ``name``, geometry in EPSG:27700).
    params:
        ``k``, ``min_radius_m``, ``clear_m``, ``place_m`` and the other settings.
    report:
        Counts for the disclosure report (addresses in/out, seeds merged, catchment sizes).
    address_point:
        For each input address row (same index as the input), the ``map_point_id`` whose catchment
        holds it (NA for addresses outside every borough). Internal only: never published.
    """

    points: gpd.GeoDataFrame
    boroughs: gpd.GeoDataFrame
    params: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)
    address_point: pd.Series | None = field(default=None, repr=False)
    _avoid_xy: np.ndarray | None = field(default=None, repr=False)
    _place_xy: np.ndarray | None = field(default=None, repr=False)
    _place_mp: np.ndarray | None = field(default=None, repr=False)
    _boundaries: Any = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def catchment_sizes(self) -> np.ndarray:
        """Distinct places per catchment (the k guarantee)."""
        return self.points["n_places"].to_numpy()


def _borough_boundaries(boroughs: Any) -> Any:
    """A :class:`geocrime.areas.Boundaries` holding the layer ``borough``."""
    from ..areas import Boundaries

    if boroughs is None:
        return Boundaries.from_registry(["borough"])  # raises a clear error when the layer is missing
    if isinstance(boroughs, Boundaries):
        boroughs.get("borough")
        return boroughs
    if not isinstance(boroughs, gpd.GeoDataFrame):
        raise InputError("boroughs must be a geocrime.areas.Boundaries with a 'borough' layer, a GeoDataFrame "
                         "(code, name, geometry) or None (the registry's 'borough' layer)")
    if boroughs.crs is None:
        raise InputError("borough polygons have no CRS: set one (e.g. .set_crs('EPSG:27700'))")
    lower = {str(c).lower(): c for c in boroughs.columns}
    code = next((lower[c] for c in ("code", "lad22cd", "lad24cd", "lad23cd", "lad21cd", "area_code") if c in lower), None)
    name = next((lower[c] for c in ("name", "lad22nm", "lad24nm", "lad23nm", "lad21nm", "area_name") if c in lower), None)
    if code is None:
        raise InputError(f"borough polygons need a code column (code or LAD22CD); got {list(boroughs.columns)}")
    return Boundaries().add(boroughs.dissolve(code, aggfunc="first").reset_index(), "borough", code=code, label=name,
                            overlaps="ignore")


def load_boroughs(boroughs: Any = None) -> gpd.GeoDataFrame:
    """Borough polygons as a GeoDataFrame ``code, name, geometry`` in EPSG:27700.

    ``boroughs``: a :class:`geocrime.areas.Boundaries` with a ``borough`` layer, a GeoDataFrame, or
    None for the data registry's ``borough`` layer (a missing layer raises the registry's error).
    """
    g = _borough_boundaries(boroughs).layer("borough")
    return gpd.GeoDataFrame({"code": g["code"].astype(str).to_numpy(), "name": g["name"].astype(str).to_numpy()},
                            geometry=shapely.make_valid(g.geometry.to_numpy()), crs=BNG)


def _address_ids(addr: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, id_col: str | None) -> np.ndarray:
    if id_col is not None:
        return addr[id_col].astype(str).to_numpy()
    return np.char.add(np.char.add(np.round(x, 1).astype(str), ","), np.round(y, 1).astype(str))


def _spread(xy: np.ndarray, lab: np.ndarray, cent: np.ndarray) -> np.ndarray:
    d = np.hypot(xy[:, 0] - cent[lab, 0], xy[:, 1] - cent[lab, 1])
    out = np.zeros(len(cent))
    np.maximum.at(out, lab, d)
    return out


def _cluster(xy: np.ndarray, w: np.ndarray, k: float, min_radius: float) -> np.ndarray:
    """Boruvka-style agglomeration: every cluster's weight >= k and spread >= min_radius (if possible)."""
    n = len(xy)
    labels = np.arange(n)
    if n == 0 or w.sum() < k:
        return np.zeros(n, dtype=int)
    while True:
        uniq, lab = np.unique(labels, return_inverse=True)
        m = len(uniq)
        cw = np.bincount(lab, weights=w, minlength=m)
        nn_ = np.bincount(lab, minlength=m)
        cent = np.column_stack([np.bincount(lab, weights=xy[:, 0], minlength=m) / nn_,
                                np.bincount(lab, weights=xy[:, 1], minlength=m) / nn_])
        fail = (cw < k) | (_spread(xy, lab, cent) < min_radius)
        if m == 1 or not fail.any():
            return lab
        fail = np.flatnonzero(fail)
        _, nn = cKDTree(cent).query(cent[fail], k=2)
        other = np.where(nn[:, 0] == fail, nn[:, 1], nn[:, 0])
        g = coo_matrix((np.ones(len(fail)), (fail, other)), shape=(m, m))
        _, comp = connected_components(g, directed=True, connection="weak")
        labels = comp[lab]


def _hash_ids(borough: str, ids: np.ndarray) -> str:
    h = hashlib.sha1(borough.encode())
    for s in np.sort(ids):
        h.update(b"\x00" + str(s).encode())
    return "mp_" + h.hexdigest()[:16]


def _rings(clear_m: float, max_m: float) -> list[np.ndarray]:
    """Candidate offsets on rings around a seed, nearest ring first (spacing ~ clear_m / 2)."""
    step = max(clear_m / 2.0, 1.0)
    out = []
    for r in np.arange(step, max_m + step, step):
        n = max(8, int(np.ceil(2 * np.pi * r / step)))
        a = np.arange(n) * 2 * np.pi / n
        out.append(np.c_[r * np.cos(a), r * np.sin(a)])
    return out


def place_clear(seeds: np.ndarray, cells: np.ndarray, avoid: cKDTree, clear_m: float, *,
                street_xy: np.ndarray | None = None, max_m: float = 400.0) -> np.ndarray:
    """A published position per seed: inside its cell and >= ``clear_m`` from every avoided point.

    Order of preference: the seed itself; the nearest street point in the cell that is clear; the
    nearest clear point on rings around the seed (spacing ``clear_m / 2``, out to ``max_m``).
    Returns an (n, 2) array in EPSG:27700 metres; NaN where no clear point was found.
    """
    out = np.full(seeds.shape, np.nan)
    if len(seeds) == 0:
        return out

    def ok(idx: np.ndarray, xy: np.ndarray) -> np.ndarray:
        d, _ = avoid.query(xy, distance_upper_bound=clear_m)
        return (d >= clear_m) & shapely.contains_xy(cells[idx], xy[:, 0], xy[:, 1])

    todo = np.arange(len(seeds))
    good = ok(todo, seeds)
    out[good] = seeds[good]
    todo = todo[~good]
    if street_xy is not None and len(street_xy) and len(todo):
        st = cKDTree(street_xy)
        kk = min(16, len(street_xy))
        d, j = st.query(seeds[todo], k=kk, distance_upper_bound=max_m)
        d, j = np.atleast_2d(d), np.atleast_2d(j)
        for c in range(kk):  # the c-th nearest street point of every unresolved seed, all at once
            hit = np.isfinite(d[:, c]) & np.isnan(out[todo, 0])
            if not hit.any():
                continue
            idx = todo[hit]
            xy = street_xy[j[hit, c]]
            g = ok(idx, xy)
            out[idx[g]] = xy[g]
        todo = todo[np.isnan(out[todo, 0])]
    for ring in _rings(clear_m, max_m):
        if len(todo) == 0:
            break
        n = len(ring)
        idx = np.repeat(todo, n)
        xy = seeds[idx] + np.tile(ring, (len(todo), 1))
        g = ok(idx, xy).reshape(len(todo), n)
        d0 = np.hypot(*(xy - seeds[idx]).T).reshape(len(todo), n)  # all equal on a ring: first clear wins
        hit = g.any(axis=1)
        first = np.argmax(g, axis=1)
        sel = todo[hit]
        out[sel] = xy.reshape(len(todo), n, 2)[np.flatnonzero(hit), first[hit]]
        del d0
        todo = todo[~hit]
    return out


def _voronoi_cells(seeds: np.ndarray, bgeom: Any) -> np.ndarray:
    if len(seeds) == 1:
        return np.array([bgeom], dtype=object)
    vor = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=bgeom, ordered=True)
    cells = shapely.get_parts(vor)
    if len(cells) != len(seeds):  # unordered fallback: match cells to seeds by containment
        tree = shapely.STRtree(cells)
        si, ci = tree.query(shapely.points(seeds), predicate="intersects")
        cc = np.empty(len(seeds), dtype=object)
        cc[si] = cells[ci]
        cells = cc
    return shapely.intersection(cells, bgeom)


def build_map_points(
    addresses: gpd.GeoDataFrame,
    boroughs: Any = None,
    k: int = 8,
    *,
    min_radius_m: float = 100.0,
    clear_m: float = 10.0,
    place_m: float = 1.0,
    avoid: Any = None,
    dwellings: str | None = None,
    weight: str | None = None,
    id_col: str | None = None,
    street_points: gpd.GeoDataFrame | None = None,
    street_snap_m: float = 100.0,
) -> MapPoints:
    """Build anonymous map points: >= ``k`` distinct places per catchment, wide catchments, clear positions.

    Parameters
    ----------
    addresses:
        GeoDataFrame of address points (any CRS; worked in EPSG:27700 metres): gazetteer premises,
        Code-Point Open postcode units, FHRS premises... Non-point / empty geometries are ignored and
        counted in ``report``.
    boroughs:
        A :class:`geocrime.areas.Boundaries` with a ``borough`` layer, a GeoDataFrame, or None (the
        data registry's ``borough`` layer). Catchments never cross boroughs.
    k:
        Minimum number of distinct address places per catchment (police.uk uses 8).
    min_radius_m:
        The farthest place of every catchment is at least this far (metres) from the published
        position: a published incident cannot be placed closer than this.
    clear_m:
        No published position lies within this distance (metres) of any input address or any
        ``avoid`` coordinate.
    place_m:
        Address positions closer than this (metres, a grid) are one place.
    avoid:
        More coordinates a published position must keep ``clear_m`` from (e.g. incident positions):
        a GeoDataFrame of points or an (n, 2) array in EPSG:27700 metres.
    dwellings:
        Column with the number of SEPARATE dwellings a row stands for in a real address source
        (e.g. flats of one AddressBase building). Only then do several addresses at one place count
        separately. Postcode units and premises lists must not use it.
    weight:
        Deprecated alias of ``dwellings``.
    id_col:
        Column with a stable address identifier (UPRN, FHRSID, postcode...). Default: the rounded
        coordinates. Map point ids hash the sorted member ids, so they do not depend on row order.
    street_points:
        Optional street points (e.g. street centres): a position that must move prefers the nearest
        clear street point in its catchment within ``street_snap_m`` metres.
    """
    _check_map_point_args(addresses, k, min_radius_m, clear_m, place_m)
    dwellings = dwellings or weight
    bnd = _borough_boundaries(boroughs)
    bor = load_boroughs(bnd)
    addr = addresses.to_crs(BNG)
    x, y, ok = _address_xy(addr)
    w = _dwelling_weights(addr, dwellings)
    ids = _address_ids(addr, x, y, id_col)

    # borough of each address: the library's point-in-polygon (smallest code on shared edges)
    b_of = np.full(len(addr), -1)
    if ok.any():
        b_of[ok] = bnd.lookup("borough", x[ok], y[ok])
    inside = b_of >= 0
    avoid_xy, avoid_tree = _avoid_tree(x, y, ok, avoid)
    street_xy = None
    if street_points is not None:
        sg = street_points.to_crs(BNG).geometry.to_numpy()
        street_xy = shapely.get_coordinates(sg[(shapely.get_type_id(sg) == 0) & ~shapely.is_empty(sg)])

    rows = []
    addr_mp = np.full(len(addr), None, dtype=object)
    n_seeds_initial = n_dropped = n_moved = 0
    codes = bor["code"].to_numpy()
    bgeoms = bor.geometry.to_numpy()
    for b in range(len(bor)):
        idx = np.flatnonzero(inside & (b_of == b))
        if len(idx) == 0:
            continue
        df_b, n_s, n_d, n_m = _borough_points(
            idx, bgeoms[b], codes[b], ids, x, y, w, addr_mp, k=k, min_radius_m=min_radius_m, clear_m=clear_m,
            place_m=place_m, dwellings=dwellings, avoid_tree=avoid_tree, street_xy=street_xy,
            street_snap_m=street_snap_m)
        n_seeds_initial += n_s
        n_dropped += n_d
        n_moved += n_m
        if df_b is not None:
            rows.append(df_b)
    if not rows:
        raise PublishError(f"no borough holds {k} distinct address places: cannot build any map point")
    pts = _points_frame(rows, dwellings)
    report = _map_points_report(pts, k, min_radius_m, clear_m, place_m, dwellings, n_rows=len(addr), ok=ok,
                                inside=inside, n_seeds_initial=n_seeds_initial, n_dropped=n_dropped, n_moved=n_moved)
    return MapPoints(
        points=pts, boroughs=bor,
        params={"k": k, "min_radius_m": float(min_radius_m), "clear_m": float(clear_m), "place_m": float(place_m),
                "dwellings": dwellings, "id_col": id_col,
                "street_snap_m": street_snap_m if street_points is not None else None},
        report=report,
        address_point=pd.Series(addr_mp, index=addresses.index, name="map_point_id", dtype=object),
        _avoid_xy=avoid_xy,
        _place_xy=np.c_[x[inside], y[inside]],
        _place_mp=addr_mp[inside],
        _boundaries=bnd,
    )


def _check_map_point_args(addresses: Any, k: int, min_radius_m: float, clear_m: float, place_m: float) -> None:
    """Validate :func:`build_map_points`' addresses and distances."""
    if not isinstance(addresses, gpd.GeoDataFrame):
        raise InputError("addresses must be a GeoDataFrame of points (e.g. from geocrime._geo.as_points)")
    if addresses.crs is None:
        raise InputError("addresses have no CRS: set one (EPSG:27700 for easting/northing)")
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if min_radius_m < 0 or clear_m < 0 or place_m <= 0:
        raise InputError("min_radius_m and clear_m must be >= 0 and place_m > 0 (metres)")


def _address_xy(addr: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Easting/northing (metres, EPSG:27700) of each address, NaN for non-point or empty geometries, and
    which rows are usable points."""
    geom = addr.geometry.to_numpy()
    is_pt = (shapely.get_type_id(geom) == 0) & ~shapely.is_empty(geom) & ~pd.isna(geom)
    safe = np.where(is_pt, geom, shapely.Point(0, 0))
    x = np.where(is_pt, shapely.get_x(safe), np.nan)
    y = np.where(is_pt, shapely.get_y(safe), np.nan)
    ok = is_pt & np.isfinite(x) & np.isfinite(y)
    return x, y, ok


def _dwelling_weights(addr: gpd.GeoDataFrame, dwellings: str | None) -> np.ndarray:
    """Separate dwellings each address row stands for (1 without a ``dwellings`` column; missing values 1)."""
    if dwellings is None:
        return np.ones(len(addr))
    w = pd.to_numeric(addr[dwellings], errors="coerce").fillna(1).to_numpy(float)
    if (w < 0).any():
        raise InputError(f"dwellings column {dwellings!r} has negative values")
    return w


def _avoid_tree(x: np.ndarray, y: np.ndarray, ok: np.ndarray, avoid: Any) -> tuple[np.ndarray, cKDTree]:
    """Positions a published point keeps clear of: every input address plus ``avoid`` (metres, EPSG:27700)."""
    avoid_xy = np.c_[x[ok], y[ok]]
    if avoid is not None:
        axy = shapely.get_coordinates(avoid.to_crs(BNG).geometry.to_numpy()) if isinstance(avoid, gpd.GeoDataFrame) \
            else np.asarray(avoid, float).reshape(-1, 2)
        avoid_xy = np.r_[avoid_xy, axy[np.isfinite(axy).all(axis=1)]]
    avoid_tree = cKDTree(avoid_xy) if len(avoid_xy) else cKDTree(np.zeros((1, 2)) + 1e12)
    return avoid_xy, avoid_tree


def _borough_points(idx: np.ndarray, bgeom: Any, code: str, ids: np.ndarray, x: np.ndarray, y: np.ndarray,
                    w: np.ndarray, addr_mp: np.ndarray, *, k: int, min_radius_m: float, clear_m: float,
                    place_m: float, dwellings: str | None, avoid_tree: cKDTree, street_xy: np.ndarray | None,
                    street_snap_m: float) -> tuple[pd.DataFrame | None, int, int, int]:
    """The map points of one borough (address rows ``idx``); sets each row's map point id in ``addr_mp``.

    Returns the map point rows (None if the borough gets none), the seeds clustered, the seeds dropped and
    the positions moved off inputs.
    """
    n_dropped = 0
    idx, upos, pos_of, pw = _places(idx, ids, x, y, w, place_m, dwellings)
    if pw.sum() < k:
        return None, 0, 1, 0
    lab = _cluster(upos, pw, k, min_radius_m + MARGIN_M if min_radius_m > 0 else 0.0)
    m = lab.max() + 1
    seeds = _initial_seeds(upos, lab, m, bgeom)
    shown = place_clear(seeds, _voronoi_cells(seeds, bgeom), avoid_tree, clear_m + MARGIN_M, street_xy=street_xy,
                        max_m=max(street_snap_m, 4 * min_radius_m, 200.0))
    n_moved = int((np.hypot(*(shown - seeds).T) > 1e-6).sum())
    seeds, shown, near, sw, rad, bad, n_d = _drop_failing_seeds(seeds, shown, upos, pw, k, min_radius_m)
    n_dropped += n_d
    if bad.any():  # every seed fails: one map point for the whole borough, if it can be placed
        seeds, shown, near, sw, rad = _whole_borough_point(upos, pw, bgeom, avoid_tree, clear_m, street_xy)
        if np.isnan(shown[0, 0]) or sw[0] < k or rad[0] < min_radius_m + MARGIN_M:
            return None, int(m), n_dropped + 1, n_moved
    cells = _voronoi_cells(seeds, bgeom)
    member_seed = near[pos_of]  # per address row in idx
    mp_ids = np.empty(len(seeds), dtype=object)
    order_s = np.argsort(member_seed, kind="stable")
    bounds = np.searchsorted(member_seed[order_s], np.arange(len(seeds) + 1))
    for s in range(len(seeds)):
        mp_ids[s] = _hash_ids(code, ids[idx[order_s[bounds[s]:bounds[s + 1]]]])
    addr_mp[idx] = mp_ids[member_seed]
    clearance, _ = avoid_tree.query(shown)
    return pd.DataFrame({
        "map_point_id": mp_ids, "borough": code, "n_places": sw,
        "n_addresses": np.bincount(member_seed, minlength=len(seeds)), "radius_m": rad,
        "clearance_m": clearance, "x": shown[:, 0], "y": shown[:, 1],
        "seed": shapely.points(seeds), "catchment": cells,
    }), int(m), n_dropped, n_moved


def _places(idx: np.ndarray, ids: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray, place_m: float,
            dwellings: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct places of a borough's address rows (positions on a ``place_m`` grid).

    Returns the rows in a deterministic order (by position then id), one real position per place, each
    row's place and each place's weight (separate dwellings summed; a place counts at least once).
    """
    o = np.lexsort((ids[idx], y[idx], x[idx]))  # deterministic order: by position then id
    idx = idx[o]
    key = np.c_[np.round(x[idx] / place_m), np.round(y[idx] / place_m)]
    _, first, pos_of = np.unique(key, axis=0, return_index=True, return_inverse=True)
    pos_of = pos_of.ravel()
    upos = np.c_[x[idx][first], y[idx][first]]  # one real position per place
    if dwellings is None:
        pw = np.ones(len(upos))
    else:  # separate dwellings at one place: summed; a place counts at least once
        pw = np.maximum(np.bincount(pos_of, weights=w[idx], minlength=len(upos)), 1.0)
    return idx, upos, pos_of, pw


def _initial_seeds(upos: np.ndarray, lab: np.ndarray, m: int, bgeom: Any) -> np.ndarray:
    """One seed per cluster: its centroid, moved into the borough when a concave edge puts it outside."""
    cnt = np.bincount(lab, minlength=m)
    seeds = np.c_[np.bincount(lab, weights=upos[:, 0], minlength=m) / cnt,
                  np.bincount(lab, weights=upos[:, 1], minlength=m) / cnt]
    outside = ~shapely.contains_xy(bgeom, seeds[:, 0], seeds[:, 1])
    for c in np.flatnonzero(outside):  # few: a concave borough edge
        inter = shapely.intersection(shapely.convex_hull(shapely.multipoints(upos[lab == c])), bgeom)
        p = shapely.point_on_surface(inter if not inter.is_empty else bgeom)
        seeds[c] = [p.x, p.y]
    return np.unique(np.round(seeds, 3), axis=0)


def _drop_failing_seeds(seeds: np.ndarray, shown: np.ndarray, upos: np.ndarray, pw: np.ndarray, k: int,
                        min_radius_m: float) -> tuple[np.ndarray, ...]:
    """Voronoi rule: every place to its nearest seed; drop seeds that fail a guarantee (to a fixed point).

    Returns seeds, shown positions, each place's seed, places and radius per seed, the seeds failing (all
    of them, or none) and the number dropped.
    """
    n_dropped = 0
    while True:
        _, near = cKDTree(seeds).query(upos)
        sw = np.bincount(near, weights=pw, minlength=len(seeds))
        rad = np.zeros(len(seeds))
        d = np.hypot(upos[:, 0] - shown[near, 0], upos[:, 1] - shown[near, 1])
        np.maximum.at(rad, near, np.nan_to_num(d, nan=-1.0))
        bad = (sw < k) | (rad < min_radius_m + MARGIN_M) | np.isnan(shown[:, 0])
        if not bad.any() or bad.all():
            break
        n_dropped += int(bad.sum())
        seeds, shown = seeds[~bad], shown[~bad]
    return seeds, shown, near, sw, rad, bad, n_dropped


def _whole_borough_point(upos: np.ndarray, pw: np.ndarray, bgeom: Any, avoid_tree: cKDTree, clear_m: float,
                         street_xy: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """One map point for the whole borough: seeds, shown position, each place's seed, places and radius."""
    seeds = np.round(upos.mean(axis=0, keepdims=True), 3)
    if not bgeom.contains(shapely.Point(seeds[0])):
        p = shapely.point_on_surface(bgeom)
        seeds = np.array([[p.x, p.y]])
    shown = place_clear(seeds, np.array([bgeom], dtype=object), avoid_tree, clear_m + MARGIN_M, street_xy=street_xy,
                        max_m=5000.0)
    near = np.zeros(len(upos), dtype=int)
    sw = np.array([pw.sum()])
    rad = np.array([np.hypot(upos[:, 0] - shown[0, 0], upos[:, 1] - shown[0, 1]).max()])
    return seeds, shown, near, sw, rad


def _points_frame(rows: list[pd.DataFrame], dwellings: str | None) -> gpd.GeoDataFrame:
    """All boroughs' map points as one GeoDataFrame (EPSG:27700), sorted by map point id."""
    df = pd.concat(rows, ignore_index=True)
    if dwellings is None:
        df["n_places"] = df["n_places"].round().astype("int64")
    pts = gpd.GeoDataFrame(df.drop(columns=["x", "y", "seed", "catchment"]),
                           geometry=shapely.points(df["x"].to_numpy(), df["y"].to_numpy()), crs=BNG)
    pts["seed"] = gpd.GeoSeries(df["seed"].to_numpy(), crs=BNG)
    pts["catchment"] = gpd.GeoSeries(df["catchment"].to_numpy(), crs=BNG)
    return pts.sort_values("map_point_id", kind="stable").reset_index(drop=True)


def _map_points_report(pts: gpd.GeoDataFrame, k: int, min_radius_m: float, clear_m: float, place_m: float,
                       dwellings: str | None, *, n_rows: int, ok: np.ndarray, inside: np.ndarray,
                       n_seeds_initial: int, n_dropped: int, n_moved: int) -> dict[str, Any]:
    """The build's report: what k counts, address rows used, seeds, catchment sizes, radii and clearances."""
    sizes = pts["n_places"].to_numpy(float)
    return {
        "k": k,
        "k_counts": "distinct address places (positions within %g m are one place)%s" % (
            place_m, f"; separate dwellings from column {dwellings!r}" if dwellings else ""),
        "min_radius_m": float(min_radius_m),
        "clear_m": float(clear_m),
        "n_address_rows": int(n_rows),
        "n_address_rows_unusable": int((~ok).sum()),
        "n_address_rows_outside_boroughs": int((ok & ~inside).sum()),
        "n_addresses_in_catchments": int(inside.sum()),
        "n_map_points": int(len(pts)),
        "n_seeds_before_merge": int(n_seeds_initial),
        "n_seeds_merged_into_neighbours": int(n_dropped),
        "n_positions_moved_off_inputs": int(n_moved),
        "catchment_min": float(sizes.min()),
        "catchment_median": float(np.median(sizes)),
        "catchment_p90": float(np.percentile(sizes, 90)),
        "catchment_max": float(sizes.max()),
        "radius_min_m": float(pts["radius_m"].min()),
        "clearance_min_m": float(pts["clearance_m"].min()),
    }
