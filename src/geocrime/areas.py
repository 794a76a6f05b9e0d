"""Boundary layers and point-in-polygon area assignment (wards, LSOAs, boroughs, any vintage).

Everything here works in EPSG:27700 (British National Grid, metres).

Loading (:func:`load_layer`, :class:`Boundaries`)
    Each layer is read from GeoJSON, a shapefile, a GeoPackage, GeoParquet or a GeoDataFrame and gets
    a name (``ward_2022``), a vintage, a code column and a name column. On load the CRS is detected
    (including old ESRI ``British_National_Grid`` projection texts that PROJ only matches to
    EPSG:27700 at reduced confidence: the confidence is reported), the layer is reprojected to
    EPSG:27700, invalid polygons are repaired with :func:`shapely.make_valid` (polygonal parts kept,
    every repair reported), a file without a CRS is refused unless ``crs=`` is given, overlapping
    polygons are detected (warning or error), and non-polygon layers are rejected.

Assignment (:func:`assign_areas`)
    One code column per layer, named after the layer, plus ``area_status``. Every input row comes
    out, in order, with its index.

**Edge rule.** A point belongs to every polygon that *covers* it (interior or boundary). When more
than one polygon covers it (a point exactly on a shared edge or vertex, or in an overlap), the
polygon with the **smallest code** (plain string order) wins. A point covered by no polygon of a
layer gets a null code and the status ``outside:<layer>``.

**How it is fast and still exact.** For each layer a regular grid (default 10 m cells) is laid over
the layer's extent once (lazily, cached on the :class:`Boundaries`). Every cell the boundary of any
polygon passes through (conservatively: the cells of each boundary piece's bounding box, boundaries
densified to half a cell) is marked *mixed*. All other cells contain no boundary, so each connected
group of them lies inside exactly one face of the polygon arrangement; one exact test at one cell
centre per group gives the answer for all of them. A point is then answered by an integer floor
division and an array lookup; only points in mixed cells, points within 1e-7 cell of a grid line and
points outside the grid's guarantee go to an exact vectorised test (shapely STRtree ``covered_by``,
which measured faster than rtree's bulk query: see ``benchmarks/bench_areas.py``). The answer is the
same as a brute-force ``covers`` test against every polygon with the edge rule above
(``tests/test_areas.py`` checks this on every located row of six months of Met burglaries).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from ._geo import BNG, LOC_MISSING, LOC_OK, as_points
from .errors import BoundaryError, CRSError, DataNotFoundError, FileFormatError, GeometryError, InputError

__all__ = [
    "BoundaryLayer",
    "Boundaries",
    "BoundaryWarning",
    "load_layer",
    "detect_crs",
    "assign_areas",
    "agreement",
    "policeuk_agreement",
    "DEFAULT_CELL_SIZE",
]

#: Grid cell size in metres used for the lookup grid (chosen by ``benchmarks/bench_areas.py``).
DEFAULT_CELL_SIZE = 10.0
#: Lookups of fewer points than this use the exact STRtree test directly unless the grid exists
#: (building the LSOA grid costs about as much as 500,000 exact tests).
GRID_THRESHOLD = 100_000
#: Upper bound on grid cells per layer (memory: 2 bytes per cell); the cell size grows to respect it.
MAX_GRID_CELLS = 60_000_000
#: Points this close to a grid line (in cell units) always get the exact test.
_EPS = 1e-7
#: Minimum PROJ confidence (0-100) at which a CRS is identified with an EPSG code at all.
MIN_CRS_CONFIDENCE = 20

_POLY_TYPES = {3, 6}  # Polygon, MultiPolygon
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


class BoundaryWarning(UserWarning):
    """A boundary layer was loaded but something about it deserves attention (overlaps, repairs)."""


# --------------------------------------------------------------------------------------------- CRS
def detect_crs(crs: Any) -> dict[str, Any]:
    """Identify a CRS: ``{"epsg": int | None, "confidence": int, "name": str, "is_bng": bool}``.

    ``confidence`` is PROJ's match confidence (0-100) for the EPSG code. Old ESRI projection texts
    such as ``PROJCS["British_National_Grid", ... PARAMETER["Scale_Factor",0.999601272] ...]`` only
    match EPSG:27700 at confidence 25; such a match is accepted as British National Grid only when
    the CRS also transforms test points in and around London to within 1 mm of EPSG:27700.
    """
    c = pyproj.CRS.from_user_input(crs)
    matches = c.list_authority(auth_name="EPSG", min_confidence=MIN_CRS_CONFIDENCE)
    epsg, conf = (int(matches[0].code), int(matches[0].confidence)) if matches else (None, 0)
    is_bng = epsg == 27700 and (conf == 100 or _same_as_bng(c))
    return {"epsg": epsg, "confidence": conf, "name": c.name, "is_bng": bool(is_bng)}


def _same_as_bng(c: pyproj.CRS) -> bool:
    """True when coordinates in ``c`` are EPSG:27700 coordinates to within 1 mm (test points in GB)."""
    if not c.is_projected:
        return False
    xs = np.array([500_000.0, 530_000.0, 560_000.0, 200_000.0, 650_000.0])
    ys = np.array([150_000.0, 180_000.0, 200_000.0, 500_000.0, 1_000_000.0])
    try:
        x2, y2 = pyproj.Transformer.from_crs(c, BNG, always_xy=True).transform(xs, ys)
    except pyproj.exceptions.ProjError:
        return False
    return bool(np.all(np.hypot(x2 - xs, y2 - ys) < 1e-3))


# ------------------------------------------------------------------------------------------ layers
@dataclass
class BoundaryLayer:
    """One loaded, validated boundary layer in EPSG:27700.

    Attributes: ``name`` (e.g. ``ward_2022``), ``vintage``, ``gdf`` (columns ``code``, ``name``,
    ``geometry``; sorted by ``code``, so a lower row number means a smaller code), ``source``, and
    ``report``: a dict with ``crs`` (input CRS name, EPSG, confidence, reprojected?), ``repaired``
    (list of {code, reason}), ``dropped`` (features without geometry), ``overlaps`` (list of
    {code_a, code_b, area_m2}), ``features``.
    """

    name: str
    vintage: str | None
    gdf: gpd.GeoDataFrame
    source: str
    report: dict[str, Any] = field(default_factory=dict)
    _grid: Any = field(default=None, repr=False)
    _tree: Any = field(default=None, repr=False)
    _geoms: Any = field(default=None, repr=False)

    @property
    def geoms(self) -> np.ndarray:
        """The polygons as a shapely array (row order of :attr:`gdf`)."""
        if self._geoms is None:
            self._geoms = np.asarray(self.gdf.geometry.array, dtype=object)
        return self._geoms

    @property
    def codes(self) -> np.ndarray:
        return self.gdf["code"].to_numpy(dtype=object)


def _read_source(source: Any, layer: str | None) -> gpd.GeoDataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        return source.copy()
    if isinstance(source, pd.DataFrame):
        raise InputError("a boundary layer needs a GeoDataFrame (with polygons), not a plain DataFrame")
    path = Path(source)
    if not path.exists():
        raise DataNotFoundError(f"boundary file not found: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            return gpd.read_parquet(path)
        kw = {"layer": layer} if layer else {}
        return gpd.read_file(path, **kw)
    except (DataNotFoundError, InputError):
        raise
    except Exception as exc:  # pyogrio / pyarrow errors: say which file
        raise FileFormatError(f"cannot read boundary file {path} (layer={layer!r}): {exc}") from exc


def load_layer(
    source: Any,
    name: str,
    *,
    code: str,
    label: str | None = None,
    vintage: str | None = None,
    layer: str | None = None,
    crs: Any = None,
    filter: Mapping[str, Any] | None = None,
    overlaps: str = "warn",
    overlap_tolerance: float = 1.0,
) -> BoundaryLayer:
    """Read, validate and normalise one boundary layer to EPSG:27700.

    Parameters
    ----------
    source : path (GeoJSON, shapefile, GeoPackage, GeoParquet) or GeoDataFrame.
    name : the layer's name, used as the output column of :func:`assign_areas` (e.g. ``ward_2022``).
    code, label : the code column (e.g. ``WD22CD``) and optional name column (``WD22NM``).
    vintage : free text, e.g. ``"2022-12"``.
    layer : layer name inside a GeoPackage.
    crs : the CRS to assume when the file has none (a file without a CRS raises :class:`CRSError`
        otherwise). When the file has a CRS, ``crs`` must agree with it.
    filter : keep only rows where ``{"column": C, "startswith": S}`` (or ``"equals"`` / ``"in"``).
    overlaps : ``"warn"`` (default: :class:`BoundaryWarning`), ``"raise"`` (:class:`BoundaryError`)
        or ``"ignore"`` when polygons of the layer overlap by more than ``overlap_tolerance`` m².
    """
    if overlaps not in ("warn", "raise", "ignore"):
        raise InputError("overlaps= must be 'warn', 'raise' or 'ignore'")
    gdf = _read_source(source, layer)
    src_name = source if not isinstance(source, gpd.GeoDataFrame) else "<GeoDataFrame>"
    if len(gdf) == 0 and code not in gdf.columns:  # an empty FeatureCollection has no columns at all
        raise BoundaryError(f"boundary layer {name!r} ({src_name}) has no features")
    for col in [code] + ([label] if label else []):
        if col not in gdf.columns:
            from .errors import MissingColumnsError

            raise MissingColumnsError([col], [c for c in gdf.columns if c != gdf.geometry.name], f"boundary layer {name!r} ({src_name})")
    if filter:
        col = filter["column"]
        if col not in gdf.columns:
            from .errors import MissingColumnsError

            raise MissingColumnsError([col], list(map(str, gdf.columns)), f"filter of boundary layer {name!r}")
        s = gdf[col].astype("str")
        if "startswith" in filter:
            keep = s.str.startswith(str(filter["startswith"]))
        elif "equals" in filter:
            keep = s == str(filter["equals"])
        elif "in" in filter:
            keep = s.isin([str(v) for v in filter["in"]])
        else:
            raise InputError(f"unknown filter {dict(filter)!r}: use startswith, equals or in")
        gdf = gdf[keep.to_numpy(dtype=bool)]

    report: dict[str, Any] = {"source": str(src_name), "features_in": int(len(gdf))}

    # --- CRS
    if gdf.crs is None:
        if crs is None:
            prj = Path(str(src_name)).with_suffix(".prj") if not isinstance(source, gpd.GeoDataFrame) else None
            why = (f"its projection file {prj.name} could not be read as a CRS" if prj is not None and prj.exists()
                   else "no .prj file or CRS metadata")
            raise CRSError(
                f"boundary layer {name!r} ({src_name}) has no CRS ({why}): state it, "
                "e.g. crs='EPSG:27700' for British National Grid metres or crs='EPSG:4326' for lon/lat"
            )
        gdf = gdf.set_crs(crs)
        stated = True
    else:
        stated = False
        if crs is not None:
            want = detect_crs(crs)
            have = detect_crs(gdf.crs)
            if not (pyproj.CRS.from_user_input(crs).equals(gdf.crs) or (want["is_bng"] and have["is_bng"])):
                raise CRSError(
                    f"boundary layer {name!r}: crs={crs!r} given but the file says {gdf.crs.name!r}; "
                    "drop crs= to use the file's CRS"
                )
    info = detect_crs(gdf.crs)
    info.update({"stated_by_caller": stated, "input": gdf.crs.name})
    _check_coordinates(gdf, name, src_name, info)
    if info["is_bng"]:
        gdf = gdf.set_crs(BNG, allow_override=True)
        info["reprojected"] = False
    else:
        try:
            gdf = gdf.to_crs(BNG)
        except Exception as exc:
            raise CRSError(f"boundary layer {name!r}: cannot reproject from {gdf.crs.name!r} to EPSG:27700: {exc}") from exc
        info["reprojected"] = True
    report["crs"] = info
    if info["is_bng"] and info["confidence"] < 100:
        report["crs"]["note"] = (
            f"projection text {info['input']!r} matches EPSG:27700 only at PROJ confidence {info['confidence']}; "
            "accepted because it transforms test points to within 1 mm of EPSG:27700"
        )

    # --- geometry types, repair
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    nocode = (gdf[code].isna() | (gdf[code].astype("str").str.strip() == "")).to_numpy(dtype=bool)
    if nocode.any():
        raise BoundaryError(
            f"boundary layer {name!r} ({src_name}): {int(nocode.sum())} feature(s) have no code in column {code!r} "
            f"(rows {np.flatnonzero(nocode)[:5].tolist()}); every polygon needs a code: fill them, or drop them "
            "with filter= or before loading"
        )
    codes = gdf[code].astype("str").to_numpy(dtype=object)
    report["dropped"] = [{"code": c, "reason": "no geometry"} for c in codes[missing]]
    tid = shapely.get_type_id(geoms)
    bad = ~missing & ~np.isin(tid, list(_POLY_TYPES))
    if bad.any():
        kinds = sorted({_TYPE_NAMES.get(int(t), str(t)) for t in tid[bad]})
        raise BoundaryError(
            f"boundary layer {name!r} ({src_name}) has {int(bad.sum())} non-polygon feature(s) ({', '.join(kinds)}); "
            "a boundary layer must hold only Polygon/MultiPolygon geometries"
        )
    keep = ~missing
    geoms, codes = geoms[keep], codes[keep]
    labels = gdf[label].astype("str").to_numpy(dtype=object)[keep] if label else codes.copy()
    invalid = ~shapely.is_valid(geoms)
    repaired = []
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        fixed = np.array([_polygonal(g) for g in shapely.make_valid(geoms[invalid])], dtype=object)
        for c, r, g0, g1 in zip(codes[invalid], reasons, geoms[invalid], fixed):
            repaired.append({"code": c, "reason": r, "area_before_m2": float(shapely.area(g0)), "area_after_m2": float(shapely.area(g1))})
        geoms = geoms.copy()
        geoms[invalid] = fixed
        still_empty = shapely.is_empty(geoms)
        if still_empty.any():
            raise GeometryError(
                f"boundary layer {name!r}: feature(s) {list(codes[still_empty])[:5]} have no area after repair"
            )
    report["repaired"] = repaired
    if repaired:
        warnings.warn(f"boundary layer {name!r}: repaired {len(repaired)} invalid polygon(s): "
                      + "; ".join(f"{r['code']}: {r['reason']}" for r in repaired[:5]), BoundaryWarning, stacklevel=2)
    if len(geoms) == 0:
        raise BoundaryError(f"boundary layer {name!r} ({src_name}) has no polygons (after filter {filter!r})")

    order = np.argsort(codes.astype(str), kind="stable")
    out = gpd.GeoDataFrame(
        {"code": pd.array(codes[order], dtype="str"), "name": pd.array(labels[order], dtype="str")},
        geometry=gpd.GeoSeries(geoms[order], crs=BNG),
        crs=BNG,
    )
    dup = out["code"].duplicated(keep=False)
    report["duplicate_codes"] = sorted(set(out.loc[dup, "code"]))
    report["features"] = int(len(out))

    # --- overlaps
    ov, anyov = _overlaps(np.asarray(out.geometry.array, dtype=object), out["code"].to_numpy(dtype=object), overlap_tolerance)
    report["overlaps"] = ov
    report["interior_overlap"] = anyov
    if ov:
        msg = (f"boundary layer {name!r}: {len(ov)} pair(s) of polygons overlap by more than {overlap_tolerance} m², "
               "e.g. " + ", ".join(f"{o['code_a']}/{o['code_b']} ({o['area_m2']:.1f} m²)" for o in ov[:3])
               + "; points in an overlap get the smallest code")
        if overlaps == "raise":
            raise BoundaryError(msg)
        if overlaps == "warn":
            warnings.warn(msg, BoundaryWarning, stacklevel=2)
    return BoundaryLayer(name=name, vintage=vintage, gdf=out, source=str(src_name), report=report)


def _check_coordinates(gdf: gpd.GeoDataFrame, name: str, src_name: Any, info: Mapping[str, Any]) -> None:
    """Refuse coordinates that cannot be right: NaN/inf (GEOS would fail deep inside validation), or
    metres in a layer that says lon/lat degrees (reprojection would give infinities). Degrees in a layer
    that says BNG cannot be told from real BNG coordinates off the Scilly Isles, so they are accepted
    (every point then comes out ``outside:<layer>``)."""
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    if len(xy) == 0:
        return
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        rows = np.unique(idx[bad])
        raise GeometryError(
            f"boundary layer {name!r} ({src_name}): {len(rows)} feature(s) have NaN or infinite coordinates "
            f"(rows {rows[:5].tolist()}); fix or remove them before loading"
        )
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    crs = pyproj.CRS.from_user_input(gdf.crs)
    if crs.is_geographic and (max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90):
        raise CRSError(
            f"boundary layer {name!r} ({src_name}) says it is in {crs.name!r} (degrees) but its coordinates reach "
            f"({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}): they look like metres; if they are British National Grid "
            "eastings/northings, set the layer's CRS to EPSG:27700"
        )


def _polygonal(g: Any) -> Any:
    """The polygonal parts of a geometry (make_valid can return collections with lines/points)."""
    parts = shapely.get_parts(g)
    polys = [p for p in parts if shapely.get_type_id(p) in _POLY_TYPES]
    if not polys:
        return shapely.Polygon()
    u = shapely.union_all(polys)
    return u


def _overlaps(geoms: np.ndarray, codes: np.ndarray, tol: float) -> tuple[list[dict[str, Any]], bool]:
    """Pairs of polygons whose interiors intersect: (pairs with overlap area > tol m², any at all?)."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    sel = a < b
    a, b = a[sel], b[sel]
    if len(a) == 0:
        return [], False
    inter = shapely.relate_pattern(geoms[a], geoms[b], "T********")
    a, b = a[inter], b[inter]
    if len(a) == 0:
        return [], False
    areas = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    big = areas > tol
    return [{"code_a": codes[i], "code_b": codes[j], "area_m2": float(ar)} for i, j, ar in zip(a[big], b[big], areas[big])], True


# ---------------------------------------------------------------------------------- lookup grid
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
    import time

    from scipy import ndimage

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


# -------------------------------------------------------------------------------------- Boundaries
class Boundaries:
    """A set of named boundary layers in EPSG:27700, each validated on load and indexed lazily.

    Build with :meth:`from_registry` (``["ward_2022", "ward_2024", "lsoa_2021", "borough"]``),
    :meth:`from_files`, or :meth:`add`. ``cell_size`` (metres) sets the lookup grid resolution; the
    grid of a layer is built on the first lookup of at least ``grid_threshold`` points (or by
    :meth:`prepare`) and cached; smaller lookups before that use the exact STRtree test (same answer).
    """

    def __init__(
        self,
        layers: Iterable[BoundaryLayer] = (),
        *,
        cell_size: float = DEFAULT_CELL_SIZE,
        grid_threshold: int = GRID_THRESHOLD,
    ):
        self._layers: dict[str, BoundaryLayer] = {}
        self.cell_size = float(cell_size)
        self.grid_threshold = int(grid_threshold)
        for lay in layers:
            self._put(lay)

    def _put(self, lay: BoundaryLayer) -> None:
        if lay.name in self._layers:
            raise BoundaryError(f"a layer named {lay.name!r} is already loaded")
        self._layers[lay.name] = lay

    def add(self, source: Any, name: str, **kw: Any) -> "Boundaries":
        """Load one layer (see :func:`load_layer` for the keywords) and add it; returns ``self``."""
        self._put(load_layer(source, name, **kw))
        return self

    @classmethod
    def from_files(cls, specs: Iterable[Mapping[str, Any]], *, cell_size: float = DEFAULT_CELL_SIZE) -> "Boundaries":
        """From dicts like ``{"source": path, "name": "ward_2022", "code": "WD22CD", "label": "WD22NM"}``."""
        b = cls(cell_size=cell_size)
        for spec in specs:
            spec = dict(spec)
            b.add(spec.pop("source"), spec.pop("name"), **spec)
        return b

    @classmethod
    def from_registry(
        cls,
        names: Sequence[str] = ("ward_2022", "ward_2024", "lsoa_2021", "borough"),
        *,
        cell_size: float = DEFAULT_CELL_SIZE,
        grid_threshold: int = GRID_THRESHOLD,
        overlaps: str = "warn",
    ) -> "Boundaries":
        """Layers from the data registry (``geocrime.registry``): local mirror or verified download."""
        from . import registry

        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        b = cls(cell_size=cell_size, grid_threshold=grid_threshold)
        for n in names:
            entry = registry.entry(n)
            if entry.get("kind") != "boundary":
                raise BoundaryError(f"registry entry {n!r} is not a boundary layer (kind={entry.get('kind')!r})")
            path = registry.fetch(n)
            b.add(path, n, code=entry["code_column"], label=entry.get("name_column"), vintage=entry.get("vintage"),
                  layer=entry.get("layer"), filter=entry.get("filter"), overlaps=overlaps)
        return b

    @property
    def names(self) -> list[str]:
        return list(self._layers)

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def __len__(self) -> int:
        return len(self._layers)

    def __repr__(self) -> str:
        return "Boundaries(" + ", ".join(f"{k}: {len(v.gdf)}" for k, v in self._layers.items()) + ")"

    def get(self, name: str) -> BoundaryLayer:
        try:
            return self._layers[name]
        except KeyError:
            raise BoundaryError(f"no boundary layer named {name!r}; loaded: {', '.join(self._layers) or 'none'}") from None

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame (``code``, ``name``, geometry; EPSG:27700; sorted by code)."""
        return self.get(name).gdf

    @property
    def reports(self) -> dict[str, dict[str, Any]]:
        """Per layer: CRS detection, repairs, dropped features, overlaps, grid statistics."""
        out = {}
        for k, v in self._layers.items():
            r = dict(v.report)
            if v._grid is not None:
                r["grid"] = {"cell_size_m": v._grid.size, "cells": int(v._grid.nx * v._grid.ny),
                             "mixed_fraction": v._grid.mixed_fraction, "build_seconds": v._grid.build_seconds}
            out[k] = r
        return out

    def grid(self, name: str) -> _Grid:
        """The lookup grid of a layer, built on first use and cached."""
        lay = self.get(name)
        if lay._grid is None or lay._grid.size < self.cell_size:
            lay._grid = _build_grid(lay, self.cell_size)
        return lay._grid

    def prepare(self, layers: Sequence[str] | None = None) -> "Boundaries":
        """Build the lookup grids now (they are otherwise built on first use)."""
        for n in layers or self.names:
            self.grid(n)
        return self

    def lookup(self, name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Row (in :meth:`layer` order) of the polygon covering each point (EPSG:27700 metres), -1 if none.

        Edge rule: among covering polygons, the smallest code. Exact (see the module docstring).
        """
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        lay = self.get(name)
        if lay._grid is None and len(x) < self.grid_threshold:
            # a few points: the exact test is cheaper than building the grid (same answer)
            ok = np.isfinite(x) & np.isfinite(y)
            rows = np.full(len(x), -1, dtype=np.int64)
            rows[ok] = _exact_strtree(lay, x[ok], y[ok])
            return rows
        rows, _ = _lookup(lay, self.grid(name), x, y)
        return rows

    def codes(self, name: str, x: np.ndarray, y: np.ndarray) -> pd.Series:
        """Codes (pandas ``str`` dtype, NaN where outside) for points in EPSG:27700 metres."""
        return _codes_series(self.get(name), self.lookup(name, x, y))


def _codes_series(lay: BoundaryLayer, rows: np.ndarray, column: str = "code", index: Any = None) -> pd.Series:
    return _str_series(rows, lay.gdf[column].to_numpy(dtype=object).astype(str).tolist(), index)


# ----------------------------------------------------------------------------------- assign_areas
def _str_series(codes: np.ndarray, cats: Sequence[str], index: Any) -> pd.Series:
    """A pandas ``str`` Series from integer codes into ``cats`` (-1: NaN), built in Arrow (no per-row Python)."""
    m = codes < 0
    arr = pa.DictionaryArray.from_arrays(
        pa.array(np.where(m, 0, codes).astype(np.int32), mask=m), pa.array(list(cats) or [""], type=pa.large_string())
    ).cast(pa.large_string())
    return pd.Series(pd.array(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan)), index=index)


def _xy_of(points: pd.DataFrame, x: str | None, y: str | None, crs: Any) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(output frame, x, y, status codes, status names) with coordinates in EPSG:27700; code 0 = ok."""
    if (
        isinstance(points, gpd.GeoDataFrame)
        and x is None
        and points._geometry_column_name in points
        and points.crs is not None
        and detect_crs(points.crs)["is_bng"]
    ):
        ga = np.asarray(points.geometry.array, dtype=object)
        xy, idx = shapely.get_coordinates(ga, return_index=True)
        if len(idx) == len(ga) and (len(idx) == 0 or (idx[0] == 0 and np.all(np.diff(idx) == 1))):
            # one coordinate per row: every row is a non-empty point (one pass, the common case)
            xs, ys = xy[:, 0].copy(), xy[:, 1].copy()
            miss = np.isnan(xs) | np.isnan(ys)
            xs[miss] = np.nan
            ys[miss] = np.nan
            return points.copy(), xs, ys, miss.astype(np.int8), [LOC_OK, LOC_MISSING]
        tid = shapely.get_type_id(ga)
        if np.all((tid == 0) | (tid == -1)):
            xs = shapely.get_x(ga)
            ys = shapely.get_y(ga)
            miss = (tid == -1) | np.isnan(xs) | np.isnan(ys)
            xs[miss] = np.nan
            ys[miss] = np.nan
            return points.copy(), xs, ys, miss.astype(np.int8), [LOC_OK, LOC_MISSING]
    gdf, st = as_points(points, x=x, y=y, crs=crs)
    ga = np.asarray(gdf.geometry.array, dtype=object)
    xs, ys = shapely.get_x(ga), shapely.get_y(ga)
    codes, uniq = pd.factorize(st.to_numpy(dtype=object))
    names = [LOC_OK] + [str(u) for u in uniq if u != LOC_OK]
    remap = np.array([names.index(str(u)) for u in uniq], dtype=np.int64)
    return gdf, xs, ys, remap[codes] if len(codes) else codes, names


def assign_areas(
    points: pd.DataFrame,
    boundaries: Boundaries,
    layers: Sequence[str] | str | None = None,
    *,
    names: bool = False,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    status_column: str = "area_status",
) -> gpd.GeoDataFrame:
    """Add one area-code column per boundary layer to every row of ``points``.

    ``points``: a GeoDataFrame of points (with a CRS), or a DataFrame with lon/lat (EPSG:4326) or
    easting/northing (EPSG:27700) columns, or columns named by ``x``/``y`` in ``crs`` (see
    :func:`geocrime._geo.as_points`). Returns a GeoDataFrame in EPSG:27700 with the same rows, order
    and index, plus a column per layer named after it (``ward_2022``: the code, NaN where the point
    is in no polygon), ``<layer>_name`` when ``names=True``, and ``area_status``:

    * ``ok`` — located and inside a polygon of every requested layer;
    * ``outside:<layer>[,<layer>...]`` — located, but in no polygon of the listed layers;
    * ``no_location`` / ``invalid_coordinates`` / ``outside_gb`` — no usable point (all codes null).

    Edge rule: among polygons that cover the point, the one with the smallest code.
    """
    if not isinstance(points, pd.DataFrame):
        raise InputError(f"assign_areas expects a DataFrame or GeoDataFrame, got {type(points).__name__}")
    if layers is None:
        layers = boundaries.names
    elif isinstance(layers, str):
        layers = [s.strip() for s in layers.split(",") if s.strip()]
    layers = list(layers)
    if not layers:
        raise InputError("no boundary layers to assign: load some into Boundaries or pass layers=")
    for lay in layers:
        boundaries.get(lay)
    if len(points) == 0:
        out = gpd.GeoDataFrame(pd.DataFrame(points).copy(), geometry=gpd.GeoSeries([], crs=BNG, index=points.index), crs=BNG) \
            if not isinstance(points, gpd.GeoDataFrame) else points.copy()
        for lay in layers:
            out[lay] = pd.Series([], dtype="str", index=out.index)
            if names:
                out[f"{lay}_name"] = pd.Series([], dtype="str", index=out.index)
        out[status_column] = pd.Series([], dtype="str", index=out.index)
        return out
    out, xs, ys, scode, snames = _xy_of(points, x, y, crs)
    scode = scode.astype(np.int64)
    located = scode == 0
    loc = np.flatnonzero(located)
    outside_bits = np.zeros(len(out), dtype=np.int64)
    new_cols: dict[str, pd.Series] = {}
    for k, lay in enumerate(layers):
        rows = np.full(len(out), -1, dtype=np.int64)
        if len(loc):
            rows[loc] = boundaries.lookup(lay, xs[loc], ys[loc])
        outside_bits |= (located & (rows < 0)).astype(np.int64) << k
        blay = boundaries.get(lay)
        new_cols[lay] = _codes_series(blay, rows, "code", out.index)
        if names:
            new_cols[f"{lay}_name"] = _codes_series(blay, rows, "name", out.index)
    # status: location problems keep their name; located rows are ok or outside:<layers missed>
    names_all = list(snames)
    for bits in np.unique(outside_bits[outside_bits > 0]):
        sel = outside_bits == bits
        names_all.append("outside:" + ",".join(layers[i] for i in range(len(layers)) if (int(bits) >> i) & 1))
        scode = np.where(sel, len(names_all) - 1, scode)
    for c in list(new_cols) + [status_column]:
        if c in out.columns:
            out = out.drop(columns=[c])
    new_cols[status_column] = _str_series(scode, names_all, out.index)
    return out.assign(**new_cols)


# -------------------------------------------------------------------------------------- agreement
def agreement(
    assigned: pd.DataFrame,
    column: str,
    expected: pd.Series | str,
    *,
    lookup: pd.DataFrame | str | Path | None = None,
    lookup_from: str | None = None,
    lookup_to: str | None = None,
) -> dict[str, Any]:
    """Data-quality figure: how often an assigned area code agrees with an independent one.

    * Direct: ``agreement(df, "lsoa_2021", "LSOA code")`` compares the point-in-polygon LSOA with
      police.uk's own LSOA code column.
    * Through a lookup: ``agreement(df, "ward_2024", "LSOA code", lookup=".../LSOA21_to_WD24_LAD24_london.csv",
      lookup_from="LSOA21CD", lookup_to="WD24CD")`` maps each row's LSOA code to the ward the lookup
      implies and compares that with the point-in-polygon ward.

    Only rows where both sides are known are compared. Returns ``{"compared", "agree", "rate",
    "missing_assigned", "missing_expected"}`` (``rate`` in 0-1; NaN when nothing is comparable).
    """
    for c in [column] + ([expected] if isinstance(expected, str) else []):
        if c not in assigned.columns:
            from .errors import MissingColumnsError

            raise MissingColumnsError([c], list(map(str, assigned.columns)), "agreement input")
    exp = assigned[expected] if isinstance(expected, str) else expected.reindex(assigned.index)
    exp = exp.astype("str").where(exp.notna())
    exp = exp.where(exp.str.strip() != "")
    if lookup is not None:
        if lookup_from is None or lookup_to is None:
            raise InputError("give lookup_from= and lookup_to= column names with lookup=")
        lk = lookup if isinstance(lookup, pd.DataFrame) else pd.read_csv(lookup, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        from ._geo import require_columns

        require_columns(lk, [lookup_from, lookup_to], "lookup table")
        m = lk.drop_duplicates(lookup_from).set_index(lookup_from)[lookup_to]
        exp = exp.map(m)
    got = assigned[column]
    both = got.notna() & exp.notna()
    n = int(both.sum())
    agree = int((got[both].astype(str) == exp[both].astype(str)).sum())
    return {
        "compared": n,
        "agree": agree,
        "rate": agree / n if n else float("nan"),
        "missing_assigned": int(got.isna().sum()),
        "missing_expected": int(exp.isna().sum()),
    }


def policeuk_agreement(
    assigned: pd.DataFrame,
    *,
    ward_column: str = "ward_2024",
    lsoa_column: str = "lsoa_2021",
    policeuk_lsoa: str = "LSOA code",
) -> dict[str, dict[str, Any]]:
    """The two data-quality figures for police.uk rows after :func:`assign_areas`.

    * ``ward_via_lsoa_lookup``: point-in-polygon ward (``ward_column``, wards December 2024) vs the
      ward implied by police.uk's ``LSOA code`` through the ONS LSOA 2021 -> ward 2024 lookup
      (registry ``lookups_london``). About 89 % on the Met burglary months 2024-01..06: police.uk
      points are snapped to anonymous map points, so the two disagree near ward boundaries.
    * ``lsoa_vs_policeuk``: point-in-polygon LSOA 2021 vs police.uk's own ``LSOA code`` (about 93 %).

    Each value is the dict returned by :func:`agreement`. Columns that are absent are skipped.
    """
    from . import registry

    out: dict[str, dict[str, Any]] = {}
    if ward_column in assigned.columns and policeuk_lsoa in assigned.columns:
        folder = registry.fetch("lookups_london")
        out["ward_via_lsoa_lookup"] = agreement(
            assigned, ward_column, policeuk_lsoa, lookup=folder / "LSOA21_to_WD24_LAD24_london.csv",
            lookup_from="LSOA21CD", lookup_to="WD24CD",
        )
    if lsoa_column in assigned.columns and policeuk_lsoa in assigned.columns:
        out["lsoa_vs_policeuk"] = agreement(assigned, lsoa_column, policeuk_lsoa)
    return out
