"""Anonymous map points (police.uk style): the only positions the public ever sees.

Model
-----
Every map point is a *seed* position inside one borough. Its **catchment** is its Voronoi cell among
the seeds of the same borough, clipped to the borough (so no catchment crosses a borough boundary).
An address belongs to the catchment of the nearest seed in its own borough, which is exactly "the
Voronoi cell contains it". Every published map point has a catchment of at least ``k`` addresses
(default 8, as police.uk): an attacker who knows only the map point cannot tell which of >= k
addresses an incident happened at.

Construction (deterministic, independent of row order):

1. addresses are sorted by (borough, x, y, id), deduplicated by position (an address count per
   position is kept) and assigned to the borough that contains them;
2. per borough, positions are agglomerated Boruvka-style: every cluster holding fewer than ``k``
   addresses joins the cluster of its nearest neighbouring cluster (centroid to centroid, KD-tree),
   all at once, until every cluster holds >= ``k``;
3. each cluster's seed is the mean of its member positions (a location that is *not* an address, so
   that a map point never sits on somebody's home); if the mean falls outside the borough, the
   point on surface of (the members' convex hull ∩ borough) is used instead. When ``street_points``
   are given, a seed moves to the nearest street point within ``street_snap_m`` metres instead;
4. addresses are re-assigned to their nearest seed (the Voronoi rule). Seeds whose catchment now
   holds fewer than ``k`` addresses are dropped and their addresses go to the nearest remaining seed
   ("merged into neighbours"). Dropping a seed only ever *adds* addresses to the others, so one
   round reaches a fixed point where every catchment holds >= ``k``.
5. the id of a map point is a hash of its borough and the sorted ids of the addresses in its final
   catchment, so the same inputs give the same ids whatever the row order.

Code-Point Open postcode units are not addresses: one unit covers ~15 delivery points on average.
By default each input row counts as ONE address (a conservative lower bound); pass ``weight=`` (a
column of address counts per row) to count them otherwise, and say so when you publish.
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

__all__ = ["MapPoints", "build_map_points", "load_boroughs"]


@dataclass
class MapPoints:
    """Anonymous map points and their catchments.

    Attributes
    ----------
    points:
        GeoDataFrame (EPSG:27700, metres) with ``map_point_id``, ``borough`` (code), ``n_addresses``
        (addresses in the catchment, >= k), ``geometry`` (the map point, a Point) and ``catchment``
        (its Voronoi cell clipped to the borough, a second geometry column).
    boroughs:
        GeoDataFrame of the boroughs used (``code``, ``name``, geometry in EPSG:27700).
    params:
        ``k``, ``weight`` and the other settings.
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

    def __len__(self) -> int:
        return len(self.points)

    @property
    def catchment_sizes(self) -> np.ndarray:
        return self.points["n_addresses"].to_numpy()


def load_boroughs(boroughs: Any = None) -> gpd.GeoDataFrame:
    """Borough polygons as a GeoDataFrame ``code, name, geometry`` in EPSG:27700.

    ``boroughs`` may be a GeoDataFrame (columns ``code``/``name`` or ``LAD22CD``/``LAD22NM`` or
    similar), a path to a vector file, or None (the ONS LAD22 London boroughs in the shared data).
    """
    if boroughs is None:
        try:
            from ..areas import Boundaries  # helper A's registry, when present

            layer = Boundaries.from_registry(["borough"]).layer("borough")
            boroughs = layer
        except Exception:  # noqa: BLE001 - fall back to the shared data file
            from ..config import data_dir

            boroughs = data_dir(required=True) / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp"
    if not isinstance(boroughs, gpd.GeoDataFrame):
        boroughs = gpd.read_file(boroughs)
    if boroughs.crs is None:
        raise InputError("borough polygons have no CRS: set one (e.g. .set_crs('EPSG:27700'))")
    g = boroughs.to_crs(BNG)
    lower = {str(c).lower(): c for c in g.columns}
    code = next((lower[c] for c in ("code", "lad22cd", "lad24cd", "lad23cd", "lad21cd", "area_code") if c in lower), None)
    name = next((lower[c] for c in ("name", "lad22nm", "lad24nm", "lad23nm", "lad21nm", "area_name") if c in lower), None)
    if code is None:
        raise InputError(f"borough polygons need a code column (code or LAD22CD); got {list(g.columns)}")
    out = gpd.GeoDataFrame(
        {"code": g[code].astype(str).to_numpy(), "name": (g[name] if name else g[code]).astype(str).to_numpy()},
        geometry=shapely.make_valid(g.geometry.to_numpy()),
        crs=BNG,
    )
    return out.dissolve("code", aggfunc="first").reset_index()[["code", "name", "geometry"]]


def _address_ids(addr: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, id_col: str | None) -> np.ndarray:
    if id_col is not None:
        return addr[id_col].astype(str).to_numpy()
    return np.char.add(np.char.add(np.round(x, 1).astype(str), ","), np.round(y, 1).astype(str))


def _cluster(xy: np.ndarray, w: np.ndarray, k: float) -> np.ndarray:
    """Boruvka-style agglomeration: label per position so every cluster's weight >= k (if possible)."""
    n = len(xy)
    labels = np.arange(n)
    if n == 0 or w.sum() < k:
        return np.zeros(n, dtype=int)
    while True:
        uniq, lab = np.unique(labels, return_inverse=True)
        m = len(uniq)
        cw = np.bincount(lab, weights=w, minlength=m)
        if m == 1 or (cw >= k).all():
            return lab
        cx = np.bincount(lab, weights=xy[:, 0], minlength=m) / np.bincount(lab, minlength=m)
        cy = np.bincount(lab, weights=xy[:, 1], minlength=m) / np.bincount(lab, minlength=m)
        cent = np.column_stack([cx, cy])
        fail = np.flatnonzero(cw < k)
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


def build_map_points(
    addresses: gpd.GeoDataFrame,
    boroughs: Any = None,
    k: int = 8,
    *,
    weight: str | None = None,
    id_col: str | None = None,
    street_points: gpd.GeoDataFrame | None = None,
    street_snap_m: float = 100.0,
) -> MapPoints:
    """Build anonymous map points whose catchments each hold >= ``k`` addresses.

    Parameters
    ----------
    addresses:
        GeoDataFrame of address points (any CRS; worked in EPSG:27700 metres): gazetteer premises,
        Code-Point Open postcode units, FHRS premises... Non-point / empty geometries are ignored and
        counted in ``report``.
    boroughs:
        Borough polygons (see :func:`load_boroughs`); catchments never cross them.
    k:
        Minimum number of addresses per catchment (police.uk uses 8).
    weight:
        Optional column giving how many addresses each row stands for (e.g. delivery points per
        postcode unit). Default: every row is one address (conservative for postcode units).
    id_col:
        Column with a stable address identifier (UPRN, FHRSID, postcode...). Default: the rounded
        coordinates. Map point ids hash the sorted member ids, so they do not depend on row order.
    street_points:
        Optional street points (e.g. street centres); a seed moves to the nearest one within
        ``street_snap_m`` metres in the same borough (a street position never names a house).

    Returns
    -------
    MapPoints
    """
    if not isinstance(addresses, gpd.GeoDataFrame):
        raise InputError("addresses must be a GeoDataFrame of points (e.g. from geocrime._geo.as_points)")
    if addresses.crs is None:
        raise InputError("addresses have no CRS: set one (EPSG:27700 for easting/northing)")
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    bor = load_boroughs(boroughs)
    addr = addresses.to_crs(BNG)
    geom = addr.geometry.to_numpy()
    is_pt = (shapely.get_type_id(geom) == 0) & ~shapely.is_empty(geom)
    is_pt &= ~pd.isna(geom)
    x = np.where(is_pt, shapely.get_x(np.where(is_pt, geom, shapely.Point(0, 0))), np.nan)
    y = np.where(is_pt, shapely.get_y(np.where(is_pt, geom, shapely.Point(0, 0))), np.nan)
    ok = is_pt & np.isfinite(x) & np.isfinite(y)
    w = np.ones(len(addr)) if weight is None else pd.to_numeric(addr[weight], errors="coerce").fillna(0).to_numpy(float)
    if (w < 0).any():
        raise InputError(f"weight column {weight!r} has negative values")
    ids = _address_ids(addr, x, y, id_col)

    # borough of each address (point in polygon, spatial index)
    b_of = np.full(len(addr), -1)
    pts_ok = np.flatnonzero(ok)
    tree_b = shapely.STRtree(bor.geometry.to_numpy())
    ai, bi = tree_b.query(shapely.points(x[pts_ok], y[pts_ok]), predicate="intersects")
    # a point on a shared edge: the lowest borough code wins (deterministic)
    order = np.lexsort((bor["code"].to_numpy()[bi], ai))
    ai, bi = ai[order], bi[order]
    first = np.r_[True, ai[1:] != ai[:-1]] if len(ai) else np.zeros(0, bool)
    b_of[pts_ok[ai[first]]] = bi[first]
    inside = b_of >= 0

    rows = []
    addr_mp = np.full(len(addr), None, dtype=object)
    n_seeds_initial = 0
    n_dropped = 0
    codes = bor["code"].to_numpy()
    street_xy = None
    if street_points is not None:
        sp = street_points.to_crs(BNG)
        sg = sp.geometry.to_numpy()
        sg = sg[(shapely.get_type_id(sg) == 0) & ~shapely.is_empty(sg)]
        street_xy = shapely.get_coordinates(sg)
    for b in range(len(bor)):
        idx = np.flatnonzero(inside & (b_of == b))
        if len(idx) == 0:
            continue
        bgeom = bor.geometry.iloc[b]
        # deterministic order: by position then id
        o = np.lexsort((ids[idx], y[idx], x[idx]))
        idx = idx[o]
        xy = np.column_stack([x[idx], y[idx]])
        upos, pos_of = np.unique(xy, axis=0, return_inverse=True)
        pos_of = pos_of.ravel()
        pw = np.bincount(pos_of, weights=w[idx], minlength=len(upos))
        if pw.sum() < k:
            n_dropped += 1
            continue
        lab = _cluster(upos, pw, k)
        m = lab.max() + 1
        n_seeds_initial += m
        cnt = np.bincount(lab, minlength=m)
        seeds = np.column_stack([
            np.bincount(lab, weights=upos[:, 0], minlength=m) / cnt,
            np.bincount(lab, weights=upos[:, 1], minlength=m) / cnt,
        ])
        # seeds outside the borough: point on surface of (members' hull ∩ borough)
        outside = ~shapely.contains_xy(bgeom, seeds[:, 0], seeds[:, 1])
        for c in np.flatnonzero(outside):
            hull = shapely.convex_hull(shapely.multipoints(upos[lab == c]))
            inter = shapely.intersection(hull, bgeom)
            p = shapely.point_on_surface(inter if not inter.is_empty else bgeom)
            seeds[c] = [p.x, p.y]
        if street_xy is not None and len(street_xy):
            in_b = shapely.contains_xy(bgeom, street_xy[:, 0], street_xy[:, 1])
            sxy = street_xy[in_b]
            if len(sxy):
                d, j = cKDTree(sxy).query(seeds)
                near = d <= street_snap_m
                cand = np.where(near[:, None], sxy[np.minimum(j, len(sxy) - 1)], seeds)
                # two seeds on one street point: only the nearest keeps it
                _, first_use = np.unique(np.where(near, j, -1 - np.arange(len(j))), return_index=True)
                keep = np.zeros(len(j), bool)
                keep[first_use] = True
                seeds = np.where((near & keep)[:, None], cand, seeds)
        seeds = np.unique(np.round(seeds, 3), axis=0)
        # Voronoi rule: every position to its nearest seed; drop seeds under k (one round suffices)
        while True:
            _, near = cKDTree(seeds).query(upos)
            sw = np.bincount(near, weights=pw, minlength=len(seeds))
            bad = sw < k
            if not bad.any() or bad.all():
                break
            n_dropped += int(bad.sum())
            seeds = seeds[~bad]
        if bad.all():  # cannot happen when pw.sum() >= k, but stay safe: one seed for the borough
            seeds = np.array([[upos[:, 0].mean(), upos[:, 1].mean()]])
            p = shapely.Point(seeds[0])
            if not bgeom.contains(p):
                p = shapely.point_on_surface(bgeom)
                seeds = np.array([[p.x, p.y]])
            near = np.zeros(len(upos), dtype=int)
            sw = np.array([pw.sum()])
        # catchments: Voronoi cells clipped to the borough
        if len(seeds) == 1:
            cells = np.array([bgeom], dtype=object)
        else:
            vor = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=bgeom, ordered=True)
            cells = shapely.get_parts(vor)
            if len(cells) != len(seeds):  # unordered fallback: match cells to seeds by containment
                tree = shapely.STRtree(cells)
                si, ci = tree.query(shapely.points(seeds), predicate="intersects")
                cc = np.empty(len(seeds), dtype=object)
                cc[si] = cells[ci]
                cells = cc
        cells = shapely.intersection(cells, bgeom)
        member_seed = near[pos_of]  # per address row in idx
        mp_ids = np.empty(len(seeds), dtype=object)
        order_s = np.argsort(member_seed, kind="stable")
        bounds = np.searchsorted(member_seed[order_s], np.arange(len(seeds) + 1))
        for s in range(len(seeds)):
            mp_ids[s] = _hash_ids(codes[b], ids[idx[order_s[bounds[s]:bounds[s + 1]]]])
        addr_mp[idx] = mp_ids[member_seed]
        rows.append(pd.DataFrame({
            "map_point_id": mp_ids,
            "borough": codes[b],
            "n_addresses": sw,
            "x": seeds[:, 0],
            "y": seeds[:, 1],
            "catchment": cells,
        }))
    if not rows:
        raise PublishError(f"no borough holds {k} addresses: cannot build any map point")
    df = pd.concat(rows, ignore_index=True)
    if weight is None:
        df["n_addresses"] = df["n_addresses"].round().astype("int64")
    pts = gpd.GeoDataFrame(
        df.drop(columns=["x", "y"]),
        geometry=shapely.points(df["x"].to_numpy(), df["y"].to_numpy()),
        crs=BNG,
    )
    pts["catchment"] = gpd.GeoSeries(df["catchment"].to_numpy(), crs=BNG)
    pts = pts.sort_values("map_point_id", kind="stable").reset_index(drop=True)
    sizes = pts["n_addresses"].to_numpy(float)
    report = {
        "k": k,
        "address_weight": weight or "each input row counts as one address",
        "n_address_rows": int(len(addr)),
        "n_address_rows_unusable": int((~ok).sum()),
        "n_address_rows_outside_boroughs": int((ok & ~inside).sum()),
        "n_addresses_in_catchments": float(w[inside].sum()),
        "n_map_points": int(len(pts)),
        "n_seeds_before_merge": int(n_seeds_initial),
        "n_seeds_merged_into_neighbours": int(n_dropped),
        "catchment_min": float(sizes.min()),
        "catchment_median": float(np.median(sizes)),
        "catchment_p90": float(np.percentile(sizes, 90)),
        "catchment_max": float(sizes.max()),
    }
    return MapPoints(
        points=pts,
        boroughs=bor,
        params={"k": k, "weight": weight, "id_col": id_col, "street_snap_m": street_snap_m if street_points is not None else None},
        report=report,
        address_point=pd.Series(addr_mp, index=addresses.index, name="map_point_id", dtype=object),
    )
