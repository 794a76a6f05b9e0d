"""Boundary layers: load, detect the CRS, validate and repair (EPSG:27700, metres).

Each layer is read from GeoJSON, a shapefile, a GeoPackage, GeoParquet or a GeoDataFrame and gets
a name (``ward_2022``), a vintage, a code column and a name column. On load the CRS is detected
(including old ESRI ``British_National_Grid`` projection texts that PROJ only matches to
EPSG:27700 at reduced confidence: the confidence is reported), the layer is reprojected to
EPSG:27700, invalid polygons are repaired with :func:`shapely.make_valid` (polygonal parts kept,
every repair reported), a file without a CRS is refused unless ``crs=`` is given, overlapping
polygons are detected (warning or error), and non-polygon layers are rejected.
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .._geo import BNG
from ..errors import (
    BoundaryError,
    BoundaryWarning,
    CRSError,
    DataNotFoundError,
    FileFormatError,
    GeometryError,
    InputError,
    MissingColumnsError,
)

#: Grid cell size in metres used for the lookup grid (chosen by ``benchmarks/bench_areas.py``).
DEFAULT_CELL_SIZE = 10.0
#: Lookups of fewer points than this use the exact test unless a grid is in memory; larger ones are
#: planned by cost (``geocrime.areas._index.plan``): no grid of a London layer pays below about 50,000.
GRID_THRESHOLD = 50_000
#: Upper bound on grid cells per layer (memory: 2 bytes per cell); the cell size grows to respect it.
MAX_GRID_CELLS = 60_000_000
#: Points this close to a grid line (in cell units) always get the exact test.
_EPS = 1e-7
#: Minimum PROJ confidence (0-100) at which a CRS is identified with an EPSG code at all.
MIN_CRS_CONFIDENCE = 20

_POLY_TYPES = {3, 6}  # Polygon, MultiPolygon
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


# --------------------------------------------------------------------------------------------- CRS
def detect_crs(crs: Any) -> dict[str, Any]:
    """Identify a CRS.

    Parameters
    ----------
    crs : any
        Anything :meth:`pyproj.CRS.from_user_input` accepts.

    Returns
    -------
    dict
        ``{"epsg": int | None, "confidence": int, "name": str, "is_bng": bool}``. ``confidence`` is
        PROJ's match confidence (0-100) for the EPSG code. Old ESRI projection texts such as
        ``PROJCS["British_National_Grid", ... PARAMETER["Scale_Factor",0.999601272] ...]`` only match
        EPSG:27700 at confidence 25; such a match is accepted as British National Grid only when the
        CRS also transforms test points in and around London to within 1 mm of EPSG:27700.
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
    """One loaded, validated boundary layer in EPSG:27700 (made by :func:`load_layer`).

    Attributes
    ----------
    name : str
        E.g. ``ward_2022``.
    vintage : str or None
        Free text, e.g. ``"2022-12"``.
    gdf : GeoDataFrame
        Columns ``code``, ``name``, ``geometry``; sorted by ``code``, so a lower row number means a
        smaller code.
    source : str
        Where the layer was read from.
    report : dict
        ``crs`` (input CRS name, EPSG, confidence, reprojected?), ``repaired`` (list of {code,
        reason}), ``dropped`` (features without geometry), ``overlaps`` (list of {code_a, code_b,
        area_m2}), ``features``.
    """

    name: str
    vintage: str | None
    gdf: gpd.GeoDataFrame
    source: str
    report: dict[str, Any] = field(default_factory=dict)
    _grid: Any = field(default=None, repr=False)
    _tree: Any = field(default=None, repr=False)
    _geoms: Any = field(default=None, repr=False)
    _shape: Any = field(default=None, repr=False)
    _prepared: bool = field(default=False, repr=False)
    _rings: Any = field(default=None, repr=False)
    _ragged: Any = field(default=None, repr=False)
    _hash: Any = field(default=None, repr=False)

    @property
    def geoms(self) -> np.ndarray:
        """The polygons as a shapely array (row order of :attr:`gdf`)."""
        if self._geoms is None:
            self._geoms = np.asarray(self.gdf.geometry.array, dtype=object)
        return self._geoms

    @property
    def codes(self) -> np.ndarray:
        """The polygon codes (object array, row order of :attr:`gdf`)."""
        return self.gdf["code"].to_numpy(dtype=object)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the layer's codes and polygons (every coordinate and the ring/part/polygon
        structure): the key of its cached lookup grids."""
        if self._hash is None:
            kind, xy, offsets = self.ragged
            h = hashlib.sha256()
            h.update("\x1f".join(map(str, self.gdf["code"].tolist())).encode())
            h.update(str(int(kind)).encode())
            h.update(np.ascontiguousarray(xy, dtype="<f8").tobytes())
            for o in offsets:
                h.update(b"|" + np.ascontiguousarray(o, dtype="<i8").tobytes())
            self._hash = h.hexdigest()
        return self._hash

    @property
    def ragged(self) -> tuple[Any, np.ndarray, tuple[np.ndarray, ...]]:
        """The polygons as :func:`shapely.to_ragged_array` gives them (computed once)."""
        if self._ragged is None:
            self._ragged = shapely.to_ragged_array(self.geoms)
        return self._ragged


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
    source : path or GeoDataFrame
        GeoJSON, shapefile, GeoPackage or GeoParquet file, or a GeoDataFrame.
    name : str
        The layer's name, used as the output column of :func:`assign_areas` (e.g. ``ward_2022``).
    code, label : str
        The code column (e.g. ``WD22CD``) and optional name column (``WD22NM``).
    vintage : str, optional
        Free text, e.g. ``"2022-12"``.
    layer : str, optional
        Layer name inside a GeoPackage.
    crs : optional
        The CRS to assume when the file has none (a file without a CRS raises :class:`CRSError`
        otherwise). When the file has a CRS, ``crs`` must agree with it.
    filter : mapping, optional
        Keep only rows where ``{"column": C, "startswith": S}`` (or ``"equals"`` / ``"in"``).
    overlaps : {"warn", "raise", "ignore"}
        What to do when polygons of the layer overlap by more than ``overlap_tolerance`` m²:
        :class:`BoundaryWarning`, :class:`BoundaryError`, or nothing (always reported).

    Returns
    -------
    BoundaryLayer
        Columns ``code``, ``name``, ``geometry`` in EPSG:27700, sorted by code, with a ``report`` of
        the CRS detection, repairs, dropped features and overlaps.
    """
    if overlaps not in ("warn", "raise", "ignore"):
        raise InputError("overlaps= must be 'warn', 'raise' or 'ignore'")
    gdf = _read_source(source, layer)
    src_name = source if not isinstance(source, gpd.GeoDataFrame) else "<GeoDataFrame>"
    gdf = _select_rows(gdf, name, src_name, code, label, filter)
    report: dict[str, Any] = {"source": str(src_name), "features_in": int(len(gdf))}
    gdf, report["crs"] = _to_bng(gdf, name, src_name, crs, from_file=not isinstance(source, gpd.GeoDataFrame))
    geoms, codes, labels, report["dropped"] = _polygons(gdf, name, src_name, code, label)
    geoms, report["repaired"] = _repair(geoms, codes, name)
    if len(geoms) == 0:
        raise BoundaryError(f"boundary layer {name!r} ({src_name}) has no polygons (after filter {filter!r})")
    out = _sorted_layer(geoms, codes, labels)
    dup = out["code"].duplicated(keep=False)
    report["duplicate_codes"] = sorted(set(out.loc[dup, "code"]))
    report["features"] = int(len(out))
    report["overlaps"], report["interior_overlap"] = _check_overlaps(out, name, overlaps, overlap_tolerance)
    return BoundaryLayer(name=name, vintage=vintage, gdf=out, source=str(src_name), report=report)


def _select_rows(gdf: gpd.GeoDataFrame, name: str, src_name: Any, code: str, label: str | None,
                 filter: Mapping[str, Any] | None) -> gpd.GeoDataFrame:
    """Check the code/name columns exist and apply ``filter``."""
    if len(gdf) == 0 and code not in gdf.columns:  # an empty FeatureCollection has no columns at all
        raise BoundaryError(f"boundary layer {name!r} ({src_name}) has no features")
    for col in [code] + ([label] if label else []):
        if col not in gdf.columns:
            raise MissingColumnsError([col], [c for c in gdf.columns if c != gdf.geometry.name], f"boundary layer {name!r} ({src_name})")
    if not filter:
        return gdf
    col = filter["column"]
    if col not in gdf.columns:
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
    return gdf[keep.to_numpy(dtype=bool)]


def _to_bng(gdf: gpd.GeoDataFrame, name: str, src_name: Any, crs: Any, *, from_file: bool) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The layer in EPSG:27700 and the CRS report (input CRS, EPSG match and confidence, reprojected?)."""
    stated = gdf.crs is None
    if stated:
        if crs is None:
            prj = Path(str(src_name)).with_suffix(".prj") if from_file else None
            why = (f"its projection file {prj.name} could not be read as a CRS" if prj is not None and prj.exists()
                   else "no .prj file or CRS metadata")
            raise CRSError(
                f"boundary layer {name!r} ({src_name}) has no CRS ({why}): state it, "
                "e.g. crs='EPSG:27700' for British National Grid metres or crs='EPSG:4326' for lon/lat"
            )
        gdf = gdf.set_crs(crs)
    elif crs is not None:
        want, have = detect_crs(crs), detect_crs(gdf.crs)
        if not (pyproj.CRS.from_user_input(crs).equals(gdf.crs) or (want["is_bng"] and have["is_bng"])):
            raise CRSError(
                f"boundary layer {name!r}: crs={crs!r} given but the file says {gdf.crs.name!r}; "
                "drop crs= to use the file's CRS"
            )
    info = detect_crs(gdf.crs)
    info.update({"stated_by_caller": stated, "input": gdf.crs.name})
    _check_coordinates(gdf, name, src_name, info)
    info["reprojected"] = not info["is_bng"]
    if info["is_bng"]:
        gdf = gdf.set_crs(BNG, allow_override=True)
    else:
        try:
            gdf = gdf.to_crs(BNG)
        except Exception as exc:  # PROJ errors of any kind: say which layer and CRS
            raise CRSError(f"boundary layer {name!r}: cannot reproject from {gdf.crs.name!r} to EPSG:27700: {exc}") from exc
    if info["is_bng"] and info["confidence"] < 100:
        info["note"] = (
            f"projection text {info['input']!r} matches EPSG:27700 only at PROJ confidence {info['confidence']}; "
            "accepted because it transforms test points to within 1 mm of EPSG:27700"
        )
    return gdf, info


def _polygons(gdf: gpd.GeoDataFrame, name: str, src_name: Any, code: str,
              label: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """(geometries, codes, labels, dropped) of the features that have a geometry; refuses features
    without a code and non-polygon geometries."""
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
    dropped = [{"code": c, "reason": "no geometry"} for c in codes[missing]]
    tid = shapely.get_type_id(geoms)
    bad = ~missing & ~np.isin(tid, list(_POLY_TYPES))
    if bad.any():
        kinds = sorted({_TYPE_NAMES.get(int(t), str(t)) for t in tid[bad]})
        raise BoundaryError(
            f"boundary layer {name!r} ({src_name}) has {int(bad.sum())} non-polygon feature(s) ({', '.join(kinds)}); "
            "a boundary layer must hold only Polygon/MultiPolygon geometries"
        )
    keep = ~missing
    labels = gdf[label].astype("str").to_numpy(dtype=object)[keep] if label else codes[keep].copy()
    return geoms[keep], codes[keep], labels, dropped


def _repair(geoms: np.ndarray, codes: np.ndarray, name: str) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Invalid polygons repaired with :func:`shapely.make_valid` (polygonal parts kept), each repair
    reported (and warned about with :class:`BoundaryWarning`)."""
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms, []
    reasons = shapely.is_valid_reason(geoms[invalid])
    fixed = np.array([_polygonal(g) for g in shapely.make_valid(geoms[invalid])], dtype=object)
    repaired = [{"code": c, "reason": r, "area_before_m2": float(shapely.area(g0)), "area_after_m2": float(shapely.area(g1))}
                for c, r, g0, g1 in zip(codes[invalid], reasons, geoms[invalid], fixed)]
    geoms = geoms.copy()
    geoms[invalid] = fixed
    still_empty = shapely.is_empty(geoms)
    if still_empty.any():
        raise GeometryError(f"boundary layer {name!r}: feature(s) {list(codes[still_empty])[:5]} have no area after repair")
    warnings.warn(f"boundary layer {name!r}: repaired {len(repaired)} invalid polygon(s): "
                  + "; ".join(f"{r['code']}: {r['reason']}" for r in repaired[:5]), BoundaryWarning, stacklevel=3)
    return geoms, repaired


def _sorted_layer(geoms: np.ndarray, codes: np.ndarray, labels: np.ndarray) -> gpd.GeoDataFrame:
    """The layer's GeoDataFrame (``code``, ``name``, geometry; EPSG:27700) sorted by code."""
    order = np.argsort(codes.astype(str), kind="stable")
    return gpd.GeoDataFrame(
        {"code": pd.array(codes[order], dtype="str"), "name": pd.array(labels[order], dtype="str")},
        geometry=gpd.GeoSeries(geoms[order], crs=BNG),
        crs=BNG,
    )


def _check_overlaps(out: gpd.GeoDataFrame, name: str, overlaps: str, tol: float) -> tuple[list[dict[str, Any]], bool]:
    """Overlapping pairs (> ``tol`` m²) and whether any interiors meet; warns or raises as ``overlaps`` says."""
    ov, anyov = _overlaps(np.asarray(out.geometry.array, dtype=object), out["code"].to_numpy(dtype=object), tol)
    if ov and overlaps != "ignore":
        msg = (f"boundary layer {name!r}: {len(ov)} pair(s) of polygons overlap by more than {tol} m², "
               "e.g. " + ", ".join(f"{o['code_a']}/{o['code_b']} ({o['area_m2']:.1f} m²)" for o in ov[:3])
               + "; points in an overlap get the smallest code")
        if overlaps == "raise":
            raise BoundaryError(msg)
        warnings.warn(msg, BoundaryWarning, stacklevel=3)
    return ov, anyov


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
