"""The point-in-polygon index of a boundary layer: a lookup grid with an exact fallback (EPSG:27700).

**Edge rule.** A point belongs to every polygon that *covers* it (interior or boundary). When more
than one polygon covers it, the polygon with the **smallest code** (plain string order) wins.

A regular grid (default 10 m cells) is laid over the layer's extent. Every cell the boundary of any
polygon passes through is marked *mixed*; every other connected group of cells lies inside exactly one
face of the polygon arrangement, so one exact test per group answers all of them. A point is then
answered by an integer floor division and an array lookup; only points in mixed cells, points within
1e-7 cell of a grid line and points outside the grid go to the exact vectorised test (shapely STRtree
``covered_by``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .layers import _EPS, MAX_GRID_CELLS, BoundaryLayer


@dataclass
class _Grid:
    x0: float
    y0: float
    size: float
    nx: int
    ny: int
    lut: np.ndarray  # (ny, nx) int16/int32: polygon row, -1 none, -2 mixed
    build_seconds: float
    mixed_fraction: float
    mixed_cells: np.ndarray  # sorted flat indices of mixed cells
    cand_start: np.ndarray  # CSR offsets into cand, len(mixed_cells) + 1
    cand: np.ndarray  # polygon rows whose boundary passes through each mixed cell


def _exact_strtree(layer: BoundaryLayer, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row of the smallest-code polygon covering each point, -1 if none (brute-force-equivalent)."""
    n = len(x)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    if layer._tree is None:
        shapely.prepare(layer.geoms)
        layer._tree = shapely.STRtree(layer.geoms)
    pts = shapely.points(x, y)
    inp, tre = layer._tree.query(pts, predicate="covered_by")
    if len(inp):
        big = np.iinfo(np.int64).max
        res = np.full(n, big, dtype=np.int64)
        np.minimum.at(res, inp, tre)
        out = np.where(res == big, -1, res)
    return out


def _exact_rtree(layer: BoundaryLayer, x: np.ndarray, y: np.ndarray, index: Any = None) -> np.ndarray:
    """Same answer as :func:`_exact_strtree`, candidates from an rtree bulk query (for comparison)."""
    n = len(x)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    if index is None:
        index = _rtree_index(layer)
    geoms = layer.geoms
    shapely.prepare(geoms)
    pts = np.column_stack([x, y])
    ids, counts = index.intersection_v(pts, pts)
    ids = ids.astype(np.int64)
    inp = np.repeat(np.arange(n), counts.astype(np.int64))
    hit = shapely.intersects_xy(geoms[ids], x[inp], y[inp])
    if hit.any():
        big = np.iinfo(np.int64).max
        res = np.full(n, big, dtype=np.int64)
        np.minimum.at(res, inp[hit], ids[hit])
        out = np.where(res == big, -1, res)
    return out


def _rtree_index(layer: BoundaryLayer) -> Any:
    from rtree import index as rindex

    b = shapely.bounds(layer.geoms)
    p = rindex.Property()
    p.interleaved = True
    return rindex.Index(((i, tuple(bb), None) for i, bb in enumerate(b)), properties=p)


def _build_grid(layer: BoundaryLayer, cell_size: float) -> _Grid:
    from scipy import ndimage  # lazy: scipy costs import time and only the grid build needs it

    t0 = time.perf_counter()
    geoms = layer.geoms
    npoly = len(geoms)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    s = float(cell_size)
    while ((maxx - minx) / s + 3) * ((maxy - miny) / s + 3) > MAX_GRID_CELLS:
        s *= 1.5
    x0, y0 = math.floor(minx / s) * s - s, math.floor(miny / s) * s - s
    nx = int(math.ceil((maxx - x0) / s)) + 2
    ny = int(math.ceil((maxy - y0) / s)) + 2
    # every polygon boundary, densified to pieces shorter than half a cell
    parts, pidx = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    parts = shapely.segmentize(parts, 0.45 * s)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    fx, fy = (xy[:, 0] - x0) / s, (xy[:, 1] - y0) / s
    same = np.flatnonzero(idx[1:] == idx[:-1])
    poly = pidx[idx[same]]
    ax, bx, ay, by = fx[same], fx[same + 1], fy[same], fy[same + 1]
    # cells within _EPS (cell units) of each piece: its bounding box cells (at most 2 x 2 cells) ...
    i0 = np.floor(np.minimum(ax, bx) - _EPS).astype(np.int64)
    i1 = np.floor(np.maximum(ax, bx) + _EPS).astype(np.int64)
    j0 = np.floor(np.minimum(ay, by) - _EPS).astype(np.int64)
    j1 = np.floor(np.maximum(ay, by) + _EPS).astype(np.int64)
    dx, dy = i1 != i0, j1 != j0
    one = ~(dx & dy)
    k1, p1 = j0[one] * nx + i0[one], poly[one]
    first = np.concatenate([[True], (k1[1:] != k1[:-1]) | (p1[1:] != p1[:-1])])  # runs in one cell
    keys = [k1[first], j0[dx & ~dy] * nx + i1[dx & ~dy], j1[dy & ~dx] * nx + i0[dy & ~dx]]
    polys = [p1[first], poly[dx & ~dy], poly[dy & ~dx]]
    # ... but when the box spans 2 x 2 cells, only the cells the piece really comes within _EPS of
    # (exact supercover: a cell is marked only if a boundary is in or on it)
    both = np.flatnonzero(dx & dy)
    if len(both):
        # split the piece where it crosses the grid lines x = i1 and y = j1; each sub-piece lies in
        # one cell (its midpoint's); the crossing points mark the cells within _EPS of them
        pax, pay, pbx, pby = ax[both], ay[both], bx[both], by[both]
        gx, gy = i1[both].astype(float), j1[both].astype(float)
        ddx, ddy = pbx - pax, pby - pay
        with np.errstate(divide="ignore", invalid="ignore"):
            tx = np.clip(np.where(ddx != 0, (gx - pax) / ddx, 0.0), 0.0, 1.0)
            ty = np.clip(np.where(ddy != 0, (gy - pay) / ddy, 0.0), 0.0, 1.0)
        ta, tb = np.minimum(tx, ty), np.maximum(tx, ty)
        pb = poly[both]
        for t in ((0.0 + ta) / 2, (ta + tb) / 2, (tb + 1.0) / 2):
            mx, my = np.floor(pax + t * ddx).astype(np.int64), np.floor(pay + t * ddy).astype(np.int64)
            keys.append(my * nx + mx)
            polys.append(pb)
        for t in (tx, ty):
            px, py = pax + t * ddx, pay + t * ddy
            for ex in (-_EPS, _EPS):
                for ey in (-_EPS, _EPS):
                    keys.append(np.floor(py + ey).astype(np.int64) * nx + np.floor(px + ex).astype(np.int64))
                    polys.append(pb)
    key = np.concatenate(keys) * npoly + np.concatenate(polys)
    key.sort()
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    mcell, cand = key // npoly, key % npoly
    cells, start = np.unique(mcell, return_index=True)
    mask = np.zeros(ny * nx, dtype=bool)
    mask[cells] = True
    mask = mask.reshape(ny, nx)
    # connected groups of boundary-free cells lie in one face: one exact test per group
    labels, nlab = ndimage.label(~mask)
    ci = np.zeros(nlab, dtype=np.int64)
    cj = np.zeros(nlab, dtype=np.int64)
    for k, sl in enumerate(ndimage.find_objects(labels)):  # one small slice per group
        row = labels[sl[0].start, sl[1]]
        cj[k] = sl[0].start
        ci[k] = sl[1].start + int(np.argmax(row == k + 1))
    ans = _exact_strtree(layer, x0 + (ci + 0.5) * s, y0 + (cj + 0.5) * s)
    dtype = np.int16 if npoly < 32_000 else np.int32
    table = np.concatenate([[-2], ans]).astype(dtype)
    lut = table[labels]
    del labels
    return _Grid(x0=x0, y0=y0, size=s, nx=nx, ny=ny, lut=lut, build_seconds=time.perf_counter() - t0,
                 mixed_fraction=float(len(cells) / (nx * ny)), mixed_cells=cells,
                 cand_start=np.append(start, len(cand)), cand=cand.astype(np.int32))


def _exact_candidates(layer: BoundaryLayer, grid: _Grid, flat: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact answer for points in mixed cells, testing only the polygons whose boundary is in the cell.

    Complete only when no two polygons of the layer share interior points (checked on load); the
    polygons covering a point of a mixed cell are then exactly those whose boundary passes through it.
    """
    n = len(x)
    pos = np.searchsorted(grid.mixed_cells, flat)
    st = grid.cand_start[pos]
    cnt = grid.cand_start[pos + 1] - st
    inp = np.repeat(np.arange(n), cnt)
    off = np.arange(len(inp)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    cid = grid.cand[np.repeat(st, cnt) + off].astype(np.int64)
    geoms = layer.geoms
    if layer._tree is None:
        shapely.prepare(geoms)
        layer._tree = shapely.STRtree(geoms)
    hit = shapely.intersects_xy(geoms[cid], x[inp], y[inp])
    big = np.iinfo(np.int64).max
    res = np.full(n, big, dtype=np.int64)
    np.minimum.at(res, inp[hit], cid[hit])
    return np.where(res == big, -1, res)


def _lookup(layer: BoundaryLayer, grid: _Grid, x: np.ndarray, y: np.ndarray, exact: Any = None) -> tuple[np.ndarray, int]:
    """Polygon row per point (-1 none). Returns (rows, number of points given an exact test).

    ``exact``: force one exact method for every residual point (``_exact_strtree`` or
    ``_exact_rtree``; used by the benchmark); default: per-cell candidates when the layer has no
    interior overlaps, else the STRtree.
    """
    fx = (x - grid.x0) / grid.size
    fy = (y - grid.y0) / grid.size
    inside = (fx >= 0) & (fx < grid.nx) & (fy >= 0) & (fy < grid.ny)  # NaN compares False
    allin = bool(inside.all())
    if not allin:
        fx = np.where(inside, fx, 0.0)
        fy = np.where(inside, fy, 0.0)
    ix = fx.astype(np.int64)  # truncation == floor for the non-negative values kept
    iy = fy.astype(np.int64)
    flat = iy * grid.nx + ix
    res = grid.lut.ravel().take(flat).astype(np.int64)
    if not allin:
        res[~inside] = -1
    fx -= ix
    fy -= iy
    near = (np.abs(fx - 0.5) > 0.5 - _EPS) | (np.abs(fy - 0.5) > 0.5 - _EPS)
    if not allin:
        near &= inside
    mixed = inside & (res == -2)
    if exact is None and not layer.report.get("interior_overlap", True):
        k = np.flatnonzero(mixed & ~near)
        if len(k):
            res[k] = _exact_candidates(layer, grid, flat[k], x[k], y[k])
        k2 = np.flatnonzero(near)
        if len(k2):
            res[k2] = _exact_strtree(layer, x[k2], y[k2])
        return res, len(k) + len(k2)
    k = np.flatnonzero(mixed | near)
    if len(k):
        res[k] = (exact or _exact_strtree)(layer, x[k], y[k])
    return res, len(k)


