"""Shared coordinate handling: any points input to a GeoDataFrame in EPSG:27700.

Used by every stage, so that lon/lat columns, easting/northing columns and geometry columns are read,
checked and flagged the same way everywhere.
"""
from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .errors import CRSError, GeometryError, InputError, MissingColumnsError

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: Rough extent of Great Britain in BNG metres (with margin), used to catch mis-projected input.
GB_BNG_BOUNDS = (-100_000.0, -100_000.0, 800_000.0, 1_300_000.0)
#: Rough extent of the UK in lon/lat degrees.
UK_LONLAT_BOUNDS = (-9.5, 49.0, 2.5, 61.5)

LON_NAMES = ("longitude", "lon", "lng", "long", "x_lon")
LAT_NAMES = ("latitude", "lat", "y_lat")
EAST_NAMES = ("easting", "eastings", "x", "bng_e", "east")
NORTH_NAMES = ("northing", "northings", "y", "bng_n", "north")

_TO_BNG = pyproj.Transformer.from_crs(WGS84, BNG, always_xy=True)
_TO_WGS = pyproj.Transformer.from_crs(BNG, WGS84, always_xy=True)

#: Location status values written by :func:`as_points`.
LOC_OK = "ok"
LOC_MISSING = "no_location"
LOC_INVALID = "invalid_coordinates"
LOC_OUTSIDE_GB = "outside_gb"


def _find(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): c for c in df.columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def lonlat_to_bng(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised lon/lat (EPSG:4326 degrees) to easting/northing (EPSG:27700 metres)."""
    return _TO_BNG.transform(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"))


def bng_to_lonlat(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised easting/northing (EPSG:27700 metres) to lon/lat (EPSG:4326 degrees)."""
    return _TO_WGS.transform(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))


_MISSING_TOKENS = frozenset({"", "nan", "null", "none", "n/a", "na", "-", "<na>"})


def _numeric(s: pd.Series) -> np.ndarray:
    """Coordinates as float64: missing (null, blank, "NaN", "NULL", "N/A"...) is NaN; text that is present
    but is not a number ("-0,1", "51.5N") is +inf, so it is flagged ``invalid_coordinates``, not ``no_location``."""
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if s.dtype.kind in "fiub" or not np.isnan(v).any():
        return v
    txt = s.astype(object).where(s.notna(), "").astype("str").str.strip().str.lower()
    present = ~txt.isin(_MISSING_TOKENS).to_numpy(dtype=bool)
    return np.where(np.isnan(v) & present, np.inf, v)


def as_points(
    data: pd.DataFrame,
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Return ``(points, status)``: ``data`` as a GeoDataFrame of points in EPSG:27700, plus a status.

    Coordinates come from, in order: the columns named by ``x``/``y`` (in ``crs``, default lon/lat
    EPSG:4326 unless the values look like BNG metres and ``crs`` is not given); a geometry column (a
    GeoDataFrame with a CRS, or ``crs`` stating it); lon/lat columns (``Longitude``/``Latitude``,
    ``lon``/``lat``...); easting/northing columns (``Easting``/``Northing``, ``x``/``y``...).

    Every input row is kept, in order, with the original index. Rows without usable coordinates get
    an empty geometry (None) and a status: ``no_location`` (missing), ``invalid_coordinates`` (text
    that is not a number, not finite, out of range, non-point geometry) or ``outside_gb`` (finite but nowhere near Great
    Britain, e.g. (0, 0) or swapped lon/lat). Located rows have status ``ok``.

    Raises :class:`CRSError` for a geometry column without a CRS when ``crs`` is not given, and
    :class:`InputError` when no coordinate columns can be found.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame or GeoDataFrame, got {type(data).__name__}")
    if x is not None or y is not None:
        return _from_named_columns(data, x, y, crs)
    if isinstance(data, gpd.GeoDataFrame) and data._geometry_column_name in data:
        return _from_geometry(data, crs)
    lon, lat = _find(data, LON_NAMES), _find(data, LAT_NAMES)
    if lon is not None and lat is not None:
        return _from_xy(data, _numeric(data[lon]), _numeric(data[lat]), crs or WGS84)
    e, nn = _find(data, EAST_NAMES), _find(data, NORTH_NAMES)
    if e is not None and nn is not None:
        return _from_xy(data, _numeric(data[e]), _numeric(data[nn]), crs or BNG)
    raise InputError(
        "cannot find coordinates: give a geometry column, Longitude/Latitude (EPSG:4326) or "
        "Easting/Northing (EPSG:27700) columns, or name them with x=..., y=... "
        f"(columns present: {', '.join(map(str, list(data.columns)[:30]))})"
    )


def _from_named_columns(data: pd.DataFrame, x: str | None, y: str | None, crs: Any) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Points from the columns named by ``x``/``y`` (lon/lat unless ``crs`` says otherwise or the values
    look like BNG metres)."""
    if x is None or y is None:
        raise InputError("give both x= and y= column names, or neither")
    for c in (x, y):
        if c not in data.columns:
            raise MissingColumnsError([c], list(map(str, data.columns)), "points input")
    xs, ys = _numeric(data[x]), _numeric(data[y])
    src_crs = crs
    if src_crs is None:
        finite = np.isfinite(xs) & np.isfinite(ys)
        big = finite & ((np.abs(xs) > 180) | (np.abs(ys) > 90))
        src_crs = BNG if finite.any() and big.sum() > 0.5 * finite.sum() else WGS84
    return _from_xy(data, xs, ys, src_crs)


_GEOM_NAMES = {1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection"}


def _from_geometry(data: gpd.GeoDataFrame, crs: Any) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Points from the geometry column (its CRS, or ``crs`` when it has none); empty geometries are
    ``no_location``, non-points ``invalid_coordinates`` (all non-points: :class:`GeometryError`)."""
    gdf = data
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                "the GeoDataFrame has no CRS: state it, e.g. crs='EPSG:27700' (British National "
                "Grid metres) or crs='EPSG:4326' (lon/lat degrees), or call .set_crs() first"
            )
        gdf = gdf.set_crs(crs, allow_override=True)
    n = len(data)
    ga = np.asarray(gdf.geometry.array, dtype=object)
    status = np.full(n, LOC_OK, dtype=object)
    isnone = shapely.is_missing(ga)
    isempty = ~isnone & shapely.is_empty(np.where(isnone, None, ga))
    notpoint = ~isnone & ~isempty & (shapely.get_type_id(ga) != 0)
    if notpoint.all() and n:
        # polygons or lines: a representative point would be a silently wrong answer
        kinds = ", ".join(sorted(_GEOM_NAMES.get(int(b), str(b)) for b in np.unique(shapely.get_type_id(ga[notpoint]))))
        raise GeometryError(
            f"expected point geometries, got {kinds}; use .representative_point() or .centroid "
            "first if that is what you mean"
        )
    status[isnone | isempty] = LOC_MISSING
    status[notpoint] = LOC_INVALID
    ok = status == LOC_OK
    xs = np.full(n, np.nan)
    ys = np.full(n, np.nan)
    if ok.any():
        xs[ok] = shapely.get_x(ga[ok])
        ys[ok] = shapely.get_y(ga[ok])
    base = pd.DataFrame(data.drop(columns=[data.geometry.name]))
    pts, st = _from_xy(base, xs, ys, pyproj.CRS.from_user_input(gdf.crs))
    return pts, st.where(status == LOC_OK, pd.Series(status, index=st.index))


def _from_xy(data: pd.DataFrame, xs: np.ndarray, ys: np.ndarray, src_crs: Any) -> tuple[gpd.GeoDataFrame, pd.Series]:
    n = len(data)
    status = np.full(n, LOC_OK, dtype=object)
    missing = np.isnan(xs) | np.isnan(ys)
    status[missing] = LOC_MISSING
    inf = ~missing & ~(np.isfinite(xs) & np.isfinite(ys))
    status[inf] = LOC_INVALID
    src = pyproj.CRS.from_user_input(src_crs)
    if src.is_geographic:
        ok = status == LOC_OK
        out_range = ok & ((np.abs(xs) > 180) | (np.abs(ys) > 90))
        status[out_range] = LOC_INVALID
        ok = status == LOC_OK
        ex, ey = np.full(n, np.nan), np.full(n, np.nan)
        if ok.any():
            if src.equals(pyproj.CRS(WGS84)):
                ex[ok], ey[ok] = lonlat_to_bng(xs[ok], ys[ok])
            else:
                t = pyproj.Transformer.from_crs(src, BNG, always_xy=True)
                ex[ok], ey[ok] = t.transform(xs[ok], ys[ok])
    elif src.equals(pyproj.CRS(BNG)):
        ex, ey = xs.copy(), ys.copy()
    else:
        t = pyproj.Transformer.from_crs(src, BNG, always_xy=True)
        ex, ey = t.transform(xs, ys)
    ok = status == LOC_OK
    x0, y0, x1, y1 = GB_BNG_BOUNDS
    far = ok & ~((ex >= x0) & (ex <= x1) & (ey >= y0) & (ey <= y1) & np.isfinite(ex) & np.isfinite(ey))
    status[far] = LOC_OUTSIDE_GB
    ok = status == LOC_OK
    geoms = np.full(n, None, dtype=object)
    if ok.any():
        geoms[ok] = shapely.points(ex[ok], ey[ok])
    gdf = gpd.GeoDataFrame(pd.DataFrame(data).copy(), geometry=gpd.GeoSeries(geoms, index=data.index, crs=BNG), crs=BNG)
    return gdf, pd.Series(status, index=data.index, name="location_status")


def require_columns(df: pd.DataFrame, columns: list[str] | tuple[str, ...], what: str = "input") -> None:
    """Raise :class:`~geocrime.errors.MissingColumnsError` naming every absent column."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(missing, list(map(str, df.columns)), what)
