"""The point-in-polygon index of a boundary layer: a lookup grid with an exact fallback (EPSG:27700).

**Edge rule.** A point belongs to every polygon that *covers* it (interior or boundary). When more
than one polygon covers it, the polygon with the **smallest code** (plain string order) wins.

**Exact test** (:func:`_exact_strtree`): an STRtree over the points is queried with every prepared
polygon, predicate ``intersects`` (a point intersects a polygon exactly when the polygon covers it),
and the smallest row wins.

**Lookup grid** (:func:`_build_grid`): a regular grid is laid over the layer's extent. Every cell the
boundary of any polygon passes through is marked *mixed*; every other connected group of cells lies
inside exactly one face of the polygon arrangement, so one exact test per group answers all of them. A
point is then answered by an integer floor division and an array lookup; only points in mixed cells,
points within 1e-7 cell of a grid line and points outside the grid get an exact test (mixed cells
keep the list of polygons whose boundary passes through them, so only those are tested).

**When a grid pays** (:func:`plan`): building a grid costs time in proportion to its cells and
boundary pieces, so a grid is built for a call only when the estimated build plus lookup costs less
than :data:`PAYS` of the exact test of every point; its cell size is chosen for the call (a coarse grid
for 100,000 points, finer for millions; never finer than the requested cell size). Grids are kept in
memory and in a persistent cache keyed by the layer's content hash (:mod:`geocrime.areas._cache`).
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .layers import _EPS, MAX_GRID_CELLS, BoundaryLayer

#: Points per batch of the exact test (bounds the memory of the candidate pairs).
_EXACT_BATCH = 500_000


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
    requested: float = 0.0  # the cell size asked for (``size`` is larger when MAX_GRID_CELLS forced it)
    origin: str = "built"  # "built" in this process, or "cache" (read from the persistent cache)


# ------------------------------------------------------------------------------------ exact test
class _Points:
    """The points of one lookup (EPSG:27700 metres), with their geometries and STRtree made once, on
    first use, and shared by every layer looked up (as ``geopandas.sjoin`` reuses ``sindex``)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, geoms: np.ndarray | None = None) -> None:
        self.x, self.y, self._geoms, self._tree = x, y, geoms, None

    def __len__(self) -> int:
        return len(self.x)

    @property
    def geoms(self) -> np.ndarray:
        if self._geoms is None:
            self._geoms = shapely.points(self.x, self.y)
        return self._geoms

    @property
    def tree(self) -> Any:
        if self._tree is None:
            self._tree = shapely.STRtree(self.geoms)
        return self._tree

    def subset(self, k: np.ndarray) -> "_Points":
        return _Points(self.x[k], self.y[k], None if self._geoms is None else self._geoms[k])


def _prepare(layer: BoundaryLayer) -> None:
    """Prepare the layer's polygons for fast point tests (once; again after unpickling, e.g. on a dask
    worker, since the prepared state does not travel with the geometries)."""
    if not layer._prepared or not shapely.is_prepared(layer.geoms[0]):
        shapely.prepare(layer.geoms)
        layer._prepared = True


def _min_row(n: int, inp: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per point (0..n-1), the smallest of its hit ``rows`` (-1 when it has none)."""
    big = np.iinfo(np.int64).max
    res = np.full(n, big, dtype=np.int64)
    np.minimum.at(res, inp, rows.astype(np.int64))
    return np.where(res == big, -1, res)


def _exact_strtree(layer: BoundaryLayer, x: np.ndarray, y: np.ndarray, points: _Points | None = None) -> np.ndarray:
    """Row of the smallest-code polygon covering each point, -1 if none (brute-force-equivalent).

    An STRtree over the points is queried with every (prepared) polygon, predicate ``intersects`` (a
    point intersects a polygon exactly when the polygon covers it): the way ``geopandas.sjoin`` is
    fastest. ``points``: the same points as a :class:`_Points` (its geometries and tree are reused).
    Points must be finite.
    """
    n = len(x)
    if n == 0:
        return np.full(0, -1, dtype=np.int64)
    _prepare(layer)
    pts = points if points is not None and len(points) == n else _Points(x, y)
    if n <= _EXACT_BATCH:
        poly, inp = pts.tree.query(layer.geoms, predicate="intersects")
        return _min_row(n, inp, poly)
    out = np.empty(n, dtype=np.int64)
    for a in range(0, n, _EXACT_BATCH):  # bounded memory for very large calls
        b = min(n, a + _EXACT_BATCH)
        poly, inp = shapely.STRtree(pts.geoms[a:b]).query(layer.geoms, predicate="intersects")
        out[a:b] = _min_row(b - a, inp, poly)
    return out


def _exact_rtree(layer: BoundaryLayer, x: np.ndarray, y: np.ndarray, index: Any = None) -> np.ndarray:
    """Same answer as :func:`_exact_strtree`, candidates from an rtree bulk query (for comparison)."""
    n = len(x)
    if n == 0:
        return np.full(0, -1, dtype=np.int64)
    if index is None:
        index = _rtree_index(layer)
    geoms = layer.geoms
    _prepare(layer)
    pts = np.column_stack([x, y])
    ids, counts = index.intersection_v(pts, pts)
    ids = ids.astype(np.int64)
    inp = np.repeat(np.arange(n), counts.astype(np.int64))
    hit = shapely.intersects_xy(geoms[ids], x[inp], y[inp])
    return _min_row(n, inp[hit], ids[hit])


def _rtree_index(layer: BoundaryLayer) -> Any:
    from rtree import index as rindex  # lazy: only the benchmark's comparison uses rtree

    b = shapely.bounds(layer.geoms)
    p = rindex.Property()
    p.interleaved = True
    return rindex.Index(((i, tuple(bb), None) for i, bb in enumerate(b)), properties=p)


# ---------------------------------------------------------------------------------- when a grid pays
@dataclass(frozen=True)
class Costs:
    """Estimated costs, in units of one exact point test (:func:`_exact_strtree`, per point).

    Fitted to ``benchmarks/bench_areas.py --calibrate`` (CPU time) on the London ward 2022 and LSOA
    2021 layers at cell sizes 10-160 m, rounded up; the 10 m LSOA build costs about 1.4x the model
    (memory-bound), which :data:`BUDGET` absorbs.
    """

    fixed: float = 2_000.0  # grid build, fixed (labelling setup, one exact test per face)
    cell: float = 0.015  # grid build, per cell (labelling the faces, filling the lookup table)
    piece: float = 0.06  # grid build, per boundary piece (half a cell long at most) and per vertex
    query: float = 0.02  # lookup, per point (floor division and table lookup)
    residual: float = 1.5  # lookup, per point in a mixed cell (tests the cell's candidate polygons)
    load: float = 0.004  # persistent cache, per cell read and checksummed (or written)
    scipy: float = 150_000.0  # first grid build in a process: importing scipy.ndimage (about 0.2 s CPU)
    mixed: float = 0.66  # mixed-cell fraction ~= mixed * boundary length * cell size / extent area


COSTS = Costs()
#: A grid is built or loaded for a call only when its estimated cost, lookup included, is at most this
#: share of the exact test of every point; the finest such grid is taken (faster later calls). The
#: margin keeps a cold call well under the exact test, and so under ``geopandas.sjoin``.
BUDGET = 0.5


@dataclass(frozen=True)
class _Shape:
    """What the cost model needs to know of a layer (computed once)."""

    minx: float
    miny: float
    width: float
    height: float
    boundary_length: float
    vertices: int
    overlaps: bool


def _shape(layer: BoundaryLayer) -> _Shape:
    if layer._shape is None:
        g = layer.geoms
        minx, miny, maxx, maxy = shapely.total_bounds(g)
        layer._shape = _Shape(float(minx), float(miny), float(maxx - minx), float(maxy - miny),
                              float(shapely.length(g).sum()), int(shapely.get_num_coordinates(g).sum()),
                              bool(layer.report.get("interior_overlap", True)))
    return layer._shape


def _effective_size(sh: _Shape, cell_size: float) -> float:
    """The cell size :func:`_build_grid` really uses (grown until the grid fits MAX_GRID_CELLS)."""
    s = float(cell_size)
    while (sh.width / s + 3) * (sh.height / s + 3) > MAX_GRID_CELLS:
        s *= 1.5
    return s


def _cells(sh: _Shape, s: float) -> float:
    return (sh.width / s + 3) * (sh.height / s + 3)


def _lookup_cost(sh: _Shape, s: float, n: int, c: Costs = COSTS) -> float:
    mixed = min(1.0, c.mixed * sh.boundary_length * s / max(sh.width * sh.height, 1e-9))
    return n * (c.query + mixed * c.residual)


def _build_cost(sh: _Shape, s: float, c: Costs = COSTS) -> float:
    first = 0.0 if "scipy.ndimage" in sys.modules else c.scipy
    return first + c.fixed + _cells(sh, s) * (c.cell + c.load) + (sh.boundary_length / (0.45 * s) + sh.vertices) * c.piece


def plan(layer: BoundaryLayer, n: int, finest: float, cached: list[float] | tuple[float, ...] = (),
         c: Costs = COSTS) -> tuple[str, float | None]:
    """How to answer ``n`` points of ``layer``: ``("exact", None)``, ``("memory", size)``,
    ``("cache", size)`` or ``("build", size)``.

    A grid not yet in memory (read from the persistent cache, or built) is taken only when its
    estimated cost plus the lookup is at most :data:`BUDGET` of the exact test, and then the finest
    such grid; the grid in memory is kept when that is cheaper for this call. ``finest``: the smallest
    cell size allowed (metres); ``cached``: the cell sizes in the persistent cache.
    """
    sh = _shape(layer)
    grid = layer._grid
    options = [(_cells(sh, _effective_size(sh, s)) * c.load, "cache", s) for s in cached if s >= finest]
    s = finest
    while _cells(sh, s) > 64:  # candidate sizes: finest, x1.5, x1.5^2 ... down to a few cells
        options.append((_build_cost(sh, _effective_size(sh, s), c), "build", s))
        s *= 1.5
    fits = [(size, fixed + _lookup_cost(sh, _effective_size(sh, size), n, c), how) for fixed, how, size in options
            if grid is None or size < grid.requested]
    fits = [f for f in fits if f[1] <= BUDGET * n]
    new = min(fits, key=lambda f: (f[0], f[1])) if fits else None  # the finest within budget
    if grid is not None and grid.requested >= finest:
        if new is None or _lookup_cost(sh, grid.size, n, c) <= new[1]:
            return "memory", grid.requested
    if new is None:
        return "exact", None
    return new[2], new[0]


# ---------------------------------------------------------------------------------- grid build
def _build_grid(layer: BoundaryLayer, cell_size: float) -> _Grid:
    """The lookup grid of ``layer`` at ``cell_size`` metres (grown to fit MAX_GRID_CELLS)."""
    t0 = time.perf_counter()
    sh = _shape(layer)
    s = _effective_size(sh, cell_size)
    x0, y0 = math.floor(sh.minx / s) * s - s, math.floor(sh.miny / s) * s - s
    nx = int(math.ceil((sh.minx + sh.width - x0) / s)) + 2
    ny = int(math.ceil((sh.miny + sh.height - y0) / s)) + 2
    cells, start, cand = _boundary_cells(layer, x0, y0, s, nx)
    lut = _face_table(layer, cells, x0, y0, s, nx, ny)
    return _Grid(x0=x0, y0=y0, size=s, nx=nx, ny=ny, lut=lut, build_seconds=time.perf_counter() - t0,
                 mixed_fraction=float(len(cells) / (nx * ny)), mixed_cells=cells,
                 cand_start=np.append(start, len(cand)).astype(np.int64), cand=cand.astype(np.int32),
                 requested=float(cell_size))


def _boundary_cells(layer: BoundaryLayer, x0: float, y0: float, s: float, nx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mixed cells (sorted flat indices), the CSR start of each one's candidate list, and the
    candidates: the polygons whose boundary comes within _EPS (cell units) of the cell."""
    npoly = len(layer.geoms)
    ax, ay, bx, by, poly = _pieces(layer, x0, y0, s)
    # cells within _EPS of each piece: its bounding box cells (at most 2 x 2 cells) ...
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
    both = np.flatnonzero(dx & dy)
    if len(both):
        k2, p2 = _diagonal_cells(ax[both], ay[both], bx[both], by[both], i1[both], j1[both], poly[both], nx)
        keys += k2
        polys += p2
    key = np.concatenate(keys) * npoly + np.concatenate(polys)
    key.sort()
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    mcell, cand = key // npoly, key % npoly
    cells, start = np.unique(mcell, return_index=True)
    return cells, start, cand


def _rings(layer: BoundaryLayer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ring segment of the layer as (start x/y, end x/y, polygon row), from one ragged-array
    export of the coordinates (no geometry per ring is made); computed once per layer."""
    if layer._rings is None:
        _, xy, offsets = layer.ragged
        ring_off, part_off = offsets[0], offsets[1]
        geom_of_part = np.repeat(np.arange(len(offsets[2]) - 1), np.diff(offsets[2])) if len(offsets) > 2 \
            else np.arange(len(part_off) - 1)
        geom_of_ring = geom_of_part[np.repeat(np.arange(len(part_off) - 1), np.diff(part_off))]
        geom_of_coord = np.repeat(geom_of_ring, np.diff(ring_off))
        start = np.ones(len(xy), dtype=bool)
        start[ring_off[1:] - 1] = False  # a ring's last coordinate starts no segment
        i = np.flatnonzero(start)
        layer._rings = (xy[i], xy[i + 1], geom_of_coord[i])
    return layer._rings


def _pieces(layer: BoundaryLayer, x0: float, y0: float, s: float) -> tuple[np.ndarray, ...]:
    """The ring segments split into pieces no longer than 0.45 cell, in cell units: (ax, ay, bx, by,
    polygon row). Each piece's bounding box then spans at most 2 x 2 cells."""
    a, b, poly = _rings(layer)
    ax, ay = (a[:, 0] - x0) / s, (a[:, 1] - y0) / s
    dx, dy = (b[:, 0] - a[:, 0]) / s, (b[:, 1] - a[:, 1]) / s
    k = np.maximum(1, np.ceil(np.hypot(dx, dy) / 0.45)).astype(np.int64)
    if (k == 1).all():
        return ax, ay, ax + dx, ay + dy, poly
    seg = np.repeat(np.arange(len(k)), k)
    j = np.arange(len(seg)) - np.repeat(np.cumsum(k) - k, k)
    t0, t1 = j / k[seg], (j + 1) / k[seg]
    return ax[seg] + t0 * dx[seg], ay[seg] + t0 * dy[seg], ax[seg] + t1 * dx[seg], ay[seg] + t1 * dy[seg], poly[seg]


def _diagonal_cells(pax: np.ndarray, pay: np.ndarray, pbx: np.ndarray, pby: np.ndarray, i1: np.ndarray,
                    j1: np.ndarray, pb: np.ndarray, nx: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Exact supercover of pieces whose bounding box spans 2 x 2 cells: split each piece where it
    crosses the grid lines x = i1 and y = j1 (each sub-piece lies in its midpoint's cell); the crossing
    points mark the cells within _EPS of them."""
    keys, polys = [], []
    gx, gy = i1.astype(float), j1.astype(float)
    ddx, ddy = pbx - pax, pby - pay
    with np.errstate(divide="ignore", invalid="ignore"):
        tx = np.clip(np.where(ddx != 0, (gx - pax) / ddx, 0.0), 0.0, 1.0)
        ty = np.clip(np.where(ddy != 0, (gy - pay) / ddy, 0.0), 0.0, 1.0)
    ta, tb = np.minimum(tx, ty), np.maximum(tx, ty)
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
    return keys, polys


def _face_table(layer: BoundaryLayer, cells: np.ndarray, x0: float, y0: float, s: float, nx: int, ny: int) -> np.ndarray:
    """The (ny, nx) lookup table: -2 for mixed cells; for every connected group of other cells (one
    face of the polygon arrangement) the row found by one exact test at one of its cell centres."""
    from scipy import ndimage  # lazy: scipy costs import time and only the grid build needs it

    mask = np.zeros(ny * nx, dtype=bool)
    mask[cells] = True
    labels, nlab = ndimage.label(~mask.reshape(ny, nx))
    # groups are numbered in raster order, so each group's first cell is where the running maximum
    # of the labels steps up
    first = np.flatnonzero(np.diff(np.maximum.accumulate(labels.ravel()), prepend=0) > 0)
    cj, ci = np.divmod(first, nx)
    ans = _exact_strtree(layer, x0 + (ci + 0.5) * s, y0 + (cj + 0.5) * s)
    dtype = np.int16 if len(layer.geoms) < 32_000 else np.int32
    return np.concatenate([[-2], ans]).astype(dtype)[labels]


# ---------------------------------------------------------------------------------- lookup
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
    _prepare(layer)
    hit = shapely.intersects_xy(layer.geoms[cid], x[inp], y[inp])
    return _min_row(n, inp[hit], cid[hit])


def _lookup(layer: BoundaryLayer, grid: _Grid, x: np.ndarray, y: np.ndarray, exact: Any = None,
            points: _Points | None = None) -> tuple[np.ndarray, int]:
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
            res[k2] = _exact_strtree(layer, x[k2], y[k2], None if points is None else points.subset(k2))
        return res, len(k) + len(k2)
    k = np.flatnonzero(mixed | near)
    if len(k):
        if exact is None:
            res[k] = _exact_strtree(layer, x[k], y[k], None if points is None else points.subset(k))
        else:
            res[k] = exact(layer, x[k], y[k])
    return res, len(k)
