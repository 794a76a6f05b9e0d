"""Regular square and hexagonal grids in EPSG:27700 metres, with point-to-cell assignment by arithmetic.

A grid is described by a small spec object (:class:`SquareGrid`, :class:`HexGrid`): origin (lower-left
corner for squares, centre of hexagon (0, 0) for hexagons), cell size in metres, and the number of
columns/rows. The spec is what the analysis code works with; :meth:`cells` turns it into a
GeoDataFrame of polygons (``cell_id``, ``row``, ``col``, ``inside`` and geometry) for mapping and
joins. Point-to-cell assignment is pure numpy (floor division for squares, cube rounding for
hexagons): no spatial join, so millions of points take well under a second.

``square_grid`` / ``hex_grid`` return the GeoDataFrame directly and keep the spec in
``gdf.attrs["geocrime_grid"]`` so :func:`assign_cells` can use it again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._geo import BNG
from ..errors import InputError

__all__ = ["SquareGrid", "HexGrid", "square_grid", "hex_grid", "assign_cells", "grid_of"]

_SQRT3 = math.sqrt(3.0)


def _extent_and_boundary(extent_or_boundary: Any) -> tuple[tuple[float, float, float, float], Any]:
    """(xmin, ymin, xmax, ymax) in metres and a single boundary geometry (or None)."""
    if isinstance(extent_or_boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        obj = extent_or_boundary
        if obj.crs is None:
            raise InputError("boundary has no CRS: set it (EPSG:27700 metres expected), e.g. gdf.set_crs(27700)")
        if obj.crs.to_epsg() != 27700:
            obj = obj.to_crs(BNG)
        geoms = obj.geometry.values if isinstance(obj, gpd.GeoDataFrame) else obj.values
        geoms = np.asarray(geoms)
        geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
        if len(geoms) == 0:
            raise InputError("boundary has no non-empty geometry")
        bounds = tuple(float(v) for v in shapely.total_bounds(geoms))
        if not (shapely.get_type_id(geoms) >= 3).all():  # points/lines: an extent, not a study area
            return bounds, None  # type: ignore[return-value]
        union = shapely.union_all(shapely.make_valid(geoms))
        return bounds, union  # type: ignore[return-value]
    if isinstance(extent_or_boundary, shapely.Geometry):
        if extent_or_boundary.is_empty:
            raise InputError("boundary geometry is empty")
        b = extent_or_boundary if shapely.get_type_id(extent_or_boundary) >= 3 else None
        return tuple(float(v) for v in extent_or_boundary.bounds), b  # type: ignore[return-value]
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in extent_or_boundary)
    except (TypeError, ValueError):
        raise InputError(
            "extent_or_boundary must be (xmin, ymin, xmax, ymax) in EPSG:27700 metres, a shapely geometry, "
            f"or a GeoDataFrame/GeoSeries; got {type(extent_or_boundary).__name__}"
        ) from None
    if not (np.isfinite([xmin, ymin, xmax, ymax]).all() and xmax > xmin and ymax > ymin):
        raise InputError(f"extent must be finite with xmax > xmin and ymax > ymin; got {(xmin, ymin, xmax, ymax)}")
    return (xmin, ymin, xmax, ymax), None


def _check_size(size: float) -> float:
    size = float(size)
    if not (np.isfinite(size) and size > 0):
        raise InputError(f"cell size must be a positive number of metres; got {size!r}")
    return size


@dataclass(frozen=True)
class SquareGrid:
    """A square grid: ``nx`` columns by ``ny`` rows of ``size``-metre cells, lower-left corner ``(x0, y0)``.

    Cell ``(row, col)`` covers ``x0 + col*size <= x < x0 + (col+1)*size`` (same for y with ``row``;
    the grid's own east and north edges belong to the last column/row);
    ``cell_id = row * nx + col``. Row 0 is the SOUTHERN row (array index order, y increasing).
    ``boundary`` (optional shapely geometry, EPSG:27700) defines which cells are ``inside`` the study
    area: cells whose centre falls in the boundary.
    """

    x0: float
    y0: float
    size: float
    nx: int
    ny: int
    boundary: Any = field(default=None, compare=False, repr=False)
    crs: str = BNG

    kind = "square"

    @classmethod
    def from_extent(
        cls,
        extent_or_boundary: Any,
        size: float,
        origin: tuple[float, float] | None = None,
    ) -> "SquareGrid":
        """Grid covering an extent or boundary. ``origin`` (metres) is a point the grid lines pass through
        (default: the extent's lower-left corner); cells are added so the whole extent is covered."""
        size = _check_size(size)
        (xmin, ymin, xmax, ymax), boundary = _extent_and_boundary(extent_or_boundary)
        ox, oy = (xmin, ymin) if origin is None else (float(origin[0]), float(origin[1]))
        x0 = ox + math.floor((xmin - ox) / size) * size
        y0 = oy + math.floor((ymin - oy) / size) * size
        nx = max(1, int(math.ceil((xmax - x0) / size - 1e-9)))
        ny = max(1, int(math.ceil((ymax - y0) / size - 1e-9)))
        return cls(x0, y0, size, nx, ny, boundary)

    # --- geometry of the grid -------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return self.nx * self.ny

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) — the shape of arrays on this grid (row 0 = south)."""
        return (self.ny, self.nx)

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine transform (GDAL/rasterio ``Affine`` order a, b, c, d, e, f) of the NORTH-UP array
        (``np.flipud(array)``): x = c + a*col, y = f + e*row, with a = size, e = -size."""
        return (self.size, 0.0, self.x0, 0.0, -self.size, self.y0 + self.ny * self.size)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre x and y (metres), flat arrays in ``cell_id`` order."""
        cols = np.arange(self.nx)
        rows = np.arange(self.ny)
        xs = self.x0 + (cols + 0.5) * self.size
        ys = self.y0 + (rows + 0.5) * self.size
        xx, yy = np.meshgrid(xs, ys)
        return xx.ravel(), yy.ravel()

    def inside(self) -> np.ndarray:
        """Boolean per cell (``cell_id`` order): centre inside the boundary (all True if none)."""
        if self.__dict__.get("_inside") is not None:
            return self.__dict__["_inside"]
        if self.boundary is None:
            return np.ones(self.n_cells, dtype=bool)
        cached = self.__dict__.get("_inside")
        if cached is not None:
            return cached
        x, y = self.centres()
        shapely.prepare(self.boundary)
        m = shapely.contains_xy(self.boundary, x, y)
        object.__setattr__(self, "_inside", m)  # cache on the frozen spec
        return m

    def mask(self) -> np.ndarray:
        """:meth:`inside` as a (rows, cols) array."""
        return self.inside().reshape(self.shape)

    def cell_of(self, x: Any, y: Any) -> np.ndarray:
        """Cell id of each point (metres, EPSG:27700); -1 for points off the grid or not finite."""
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.size)
            row = np.floor((y - self.y0) / self.size)
            # the grid's outer east/north edge belongs to the last column/row
            col = np.where((col == self.nx) & (x == self.x0 + self.nx * self.size), self.nx - 1, col)
            row = np.where((row == self.ny) & (y == self.y0 + self.ny * self.size), self.ny - 1, row)
        ok = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        out = np.full(x.shape, -1, dtype=np.int64)
        out[ok] = row[ok].astype(np.int64) * self.nx + col[ok].astype(np.int64)
        return out

    def shifted(self, dx: float, dy: float) -> "SquareGrid":
        """The same grid with its lines moved by (dx, dy) metres (modulo the cell size) and one extra
        row/column so the original extent stays covered. The boundary is kept (``inside`` recomputed)."""
        return SquareGrid(self.x0 - self.size + dx % self.size, self.y0 - self.size + dy % self.size,
                          self.size, self.nx + 1, self.ny + 1, self.boundary)

    def polygons(self) -> np.ndarray:
        x, y = self.centres()
        h = self.size / 2
        return shapely.box(x - h, y - h, x + h, y + h)

    def cells(self, only_inside: bool = False) -> gpd.GeoDataFrame:
        """GeoDataFrame of cells: ``cell_id``, ``row``, ``col``, ``inside``, polygon geometry (EPSG:27700)."""
        return _cells_frame(self, only_inside)

    def spec(self) -> dict[str, Any]:
        return {"kind": "square", "x0": self.x0, "y0": self.y0, "size": self.size, "nx": self.nx, "ny": self.ny}


@dataclass(frozen=True)
class HexGrid:
    """A grid of pointy-top hexagons with circumradius (= side length) ``size`` metres.

    Hexagon (q, r) in axial coordinates has centre ``x = x0 + size*sqrt(3)*(q + r/2)``,
    ``y = y0 + 1.5*size*r``. The grid is stored as an offset rectangle of ``ny`` rows by ``nx``
    columns (``col = q + (r - (r & 1)) / 2``, "odd-r" layout) with ``cell_id = row * nx + col``;
    row 0 is the southern row. Each hexagon's area is ``1.5*sqrt(3)*size**2`` m².
    """

    x0: float
    y0: float
    size: float
    nx: int
    ny: int
    boundary: Any = field(default=None, compare=False, repr=False)
    crs: str = BNG

    kind = "hex"

    @classmethod
    def from_extent(
        cls,
        extent_or_boundary: Any,
        size: float,
        origin: tuple[float, float] | None = None,
    ) -> "HexGrid":
        """Hex grid covering an extent or boundary; ``origin`` (metres) is the centre of one hexagon
        (default: the extent's lower-left corner)."""
        size = _check_size(size)
        (xmin, ymin, xmax, ymax), boundary = _extent_and_boundary(extent_or_boundary)
        ox, oy = (xmin, ymin) if origin is None else (float(origin[0]), float(origin[1]))
        w = _SQRT3 * size
        dy = 1.5 * size
        # first row/col at or below the extent, keeping (ox, oy) a hexagon centre (rows in pairs)
        r0 = math.floor((ymin - oy) / dy) - 1
        r0 -= r0 % 2
        c0 = math.floor((xmin - ox) / w) - 1
        x0 = ox + c0 * w
        y0 = oy + r0 * dy
        nx = int(math.ceil((xmax - x0) / w)) + 2
        ny = int(math.ceil((ymax - y0) / dy)) + 2
        return cls(x0, y0, size, nx, ny, boundary)

    @property
    def n_cells(self) -> int:
        return self.nx * self.ny

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        row, col = np.divmod(np.arange(self.n_cells), self.nx)
        x = self.x0 + _SQRT3 * self.size * (col + 0.5 * (row & 1))
        y = self.y0 + 1.5 * self.size * row
        return x.astype("float64"), y.astype("float64")

    inside = SquareGrid.inside
    mask = SquareGrid.mask

    def cell_of(self, x: Any, y: Any) -> np.ndarray:
        """Cell id of each point (metres); -1 for points off the grid or not finite. Cube rounding."""
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        px = (x - self.x0) / self.size
        py = (y - self.y0) / self.size
        qf = (_SQRT3 / 3.0) * px - py / 3.0
        rf = (2.0 / 3.0) * py
        sf = -qf - rf
        with np.errstate(invalid="ignore"):
            q = np.round(qf)
            r = np.round(rf)
            s = np.round(sf)
            dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
            fix_q = (dq > dr) & (dq > ds)
            fix_r = ~fix_q & (dr > ds)
            q = np.where(fix_q, -r - s, q)
            r = np.where(fix_r, -q - s, r)
        ok = np.isfinite(q) & np.isfinite(r)
        qi = np.where(ok, q, 0).astype(np.int64)
        ri = np.where(ok, r, 0).astype(np.int64)
        col = qi + (ri - (ri & 1)) // 2
        ok &= (col >= 0) & (col < self.nx) & (ri >= 0) & (ri < self.ny)
        return np.where(ok, ri * self.nx + col, -1)

    def shifted(self, dx: float, dy: float) -> "HexGrid":
        """The same grid moved by (dx, dy) metres, padded so the original extent stays covered."""
        return HexGrid(self.x0 - _SQRT3 * self.size + dx, self.y0 - 3 * self.size + dy,
                       self.size, self.nx + 3, self.ny + 5, self.boundary)

    def polygons(self) -> np.ndarray:
        x, y = self.centres()
        ang = np.deg2rad(30 + 60 * np.arange(6))
        vx = x[:, None] + self.size * np.cos(ang)[None, :]
        vy = y[:, None] + self.size * np.sin(ang)[None, :]
        coords = np.stack([vx, vy], axis=-1)
        coords = np.concatenate([coords, coords[:, :1]], axis=1)
        return shapely.polygons(coords)

    cells = SquareGrid.cells

    def spec(self) -> dict[str, Any]:
        return {"kind": "hex", "x0": self.x0, "y0": self.y0, "size": self.size, "nx": self.nx, "ny": self.ny}


def _cells_frame(grid: "SquareGrid | HexGrid", only_inside: bool) -> gpd.GeoDataFrame:
    ids = np.arange(grid.n_cells)
    row, col = np.divmod(ids, grid.nx)
    inside = grid.inside()
    keep = inside if only_inside else np.ones(grid.n_cells, dtype=bool)
    gdf = gpd.GeoDataFrame(
        {"cell_id": ids[keep], "row": row[keep], "col": col[keep], "inside": inside[keep]},
        geometry=grid.polygons()[keep],
        crs=grid.crs,
    )
    gdf.attrs["geocrime_grid"] = grid.spec()
    return gdf


def square_grid(
    extent_or_boundary: Any,
    size: float,
    origin: tuple[float, float] | None = None,
    *,
    only_inside: bool = False,
) -> gpd.GeoDataFrame:
    """Square cells of ``size`` metres covering an extent ``(xmin, ymin, xmax, ymax)`` (EPSG:27700) or a
    boundary (GeoDataFrame/GeoSeries/shapely geometry; polygons define the study area, points or lines
    only the extent). ``origin`` is a point grid lines pass through.

    Returns a GeoDataFrame with ``cell_id``, ``row``, ``col``, ``inside`` (cell centre in the boundary)
    and the polygon; ``only_inside=True`` keeps just the cells inside. The grid spec is kept in
    ``attrs["geocrime_grid"]`` for :func:`assign_cells`.
    """
    return SquareGrid.from_extent(extent_or_boundary, size, origin).cells(only_inside)


def hex_grid(
    extent_or_boundary: Any,
    size: float,
    origin: tuple[float, float] | None = None,
    *,
    only_inside: bool = False,
) -> gpd.GeoDataFrame:
    """Pointy-top hexagons of circumradius ``size`` metres covering an extent or boundary; ``origin`` is
    one hexagon's centre. Same columns and attrs as :func:`square_grid`."""
    return HexGrid.from_extent(extent_or_boundary, size, origin).cells(only_inside)


def grid_of(grid: Any) -> "SquareGrid | HexGrid":
    """The grid spec of a :class:`SquareGrid`/:class:`HexGrid` or of a GeoDataFrame made by
    :func:`square_grid`/:func:`hex_grid` (read from ``attrs["geocrime_grid"]``)."""
    if isinstance(grid, (SquareGrid, HexGrid)):
        return grid
    if isinstance(grid, pd.DataFrame):
        spec = grid.attrs.get("geocrime_grid")
        if spec:
            cls = SquareGrid if spec["kind"] == "square" else HexGrid
            g = cls(spec["x0"], spec["y0"], spec["size"], spec["nx"], spec["ny"])
            if "cell_id" in grid.columns:
                # the study area is the cells of this frame (marked inside, if that column is there)
                ids = grid["cell_id"].to_numpy(dtype=np.int64)
                keep = grid["inside"].to_numpy(dtype=bool) if "inside" in grid.columns else np.ones(len(ids), bool)
                m = np.zeros(g.n_cells, dtype=bool)
                m[ids[keep]] = True
                object.__setattr__(g, "_inside", m)
            return g
    raise InputError(
        "not a geocrime grid: pass a SquareGrid/HexGrid or a GeoDataFrame returned by square_grid()/hex_grid()"
    )


def _xy(points: Any) -> tuple[np.ndarray, np.ndarray]:
    """x, y arrays (EPSG:27700 metres) from points: GeoDataFrame/GeoSeries, (x, y) tuple, or DataFrame
    with lon/lat or easting/northing (via :func:`geocrime._geo.as_points`). Missing -> NaN."""
    if isinstance(points, tuple) and len(points) == 2:
        return np.asarray(points[0], dtype="float64"), np.asarray(points[1], dtype="float64")
    if isinstance(points, np.ndarray) and points.ndim == 2 and points.shape[1] == 2:
        return points[:, 0].astype("float64"), points[:, 1].astype("float64")
    if isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        gs = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if gs.crs is None:
            raise InputError("points have no CRS: set it (EPSG:27700 or EPSG:4326), e.g. gdf.set_crs(27700)")
        if gs.crs.to_epsg() != 27700:
            gs = gs.to_crs(BNG)
        geoms = np.asarray(gs.values)
        ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        x = np.full(len(geoms), np.nan)
        y = np.full(len(geoms), np.nan)
        if ok.any():
            if not (shapely.get_type_id(geoms[ok]) == 0).all():
                raise InputError("points must be Point geometries (found lines/polygons); use centroids first")
            x[ok] = shapely.get_x(geoms[ok])
            y[ok] = shapely.get_y(geoms[ok])
        return x, y
    if isinstance(points, pd.DataFrame):
        from .._geo import as_points

        gdf, _status = as_points(points)
        return _xy(gdf)
    raise InputError(f"cannot read points from {type(points).__name__}: pass a GeoDataFrame in EPSG:27700")


def assign_cells(points: Any, grid: Any) -> pd.Series:
    """Cell id of each point (vectorised arithmetic, no spatial join); -1 where the point is missing
    or off the grid. Same length, order and index as ``points``."""
    g = grid_of(grid)
    x, y = _xy(points)
    idx = points.index if isinstance(points, (pd.DataFrame, pd.Series)) else None
    return pd.Series(g.cell_of(x, y), index=idx, name="cell_id")
