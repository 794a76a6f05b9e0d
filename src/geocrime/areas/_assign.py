"""Boundaries (a set of named layers) and :func:`assign_areas` (points to area codes, EPSG:27700).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from .. import registry
from .._geo import BNG, LOC_MISSING, LOC_OK, as_points, require_columns
from ..errors import BoundaryError, DataNotFoundError, InputError, MissingColumnsError
from . import _cache
from ._index import _build_grid, _exact_strtree, _Grid, _lookup, _Points, plan
from .layers import (
    DEFAULT_CELL_SIZE,
    GRID_THRESHOLD,
    BoundaryLayer,
    detect_crs,
    load_layer,
)


# -------------------------------------------------------------------------------------- Boundaries
class Boundaries:
    """A set of named boundary layers in EPSG:27700, each validated on load and indexed lazily.

    Build with :meth:`from_registry` (``["ward_2022", "ward_2024", "lsoa_2021", "borough"]``),
    :meth:`from_files`, :meth:`from_frames`, or :meth:`add`.

    Parameters
    ----------
    layers : iterable of BoundaryLayer
        Layers already loaded with :func:`load_layer`.
    cell_size : float
        The finest lookup grid cell, in metres (:meth:`prepare` builds grids of this size).
    grid_threshold : int
        Lookups of fewer points use the exact test unless a grid is already in memory.
    cache : bool or path
        Persistent cache of lookup grids keyed by each layer's content hash: ``True`` (default) the
        user cache directory (``$GEOCRIME_CACHE_DIR`` overrides it), a path, or ``False``.

    Notes
    -----
    Every lookup gives the same answer however it is computed (the edge rule of
    :meth:`lookup`). How it is computed is decided per call (:func:`geocrime.areas._index.plan`): the
    exact test for few points; for many, a lookup grid whose cell size is chosen so that building it
    costs well under the exact test of the call's points (so a first call is never slower than the
    exact test, and so than ``geopandas.sjoin``), reused by later calls and, through the persistent
    cache, by later processes.
    """

    def __init__(
        self,
        layers: Iterable[BoundaryLayer] = (),
        *,
        cell_size: float = DEFAULT_CELL_SIZE,
        grid_threshold: int = GRID_THRESHOLD,
        cache: bool | str | Path = True,
    ):
        self._layers: dict[str, BoundaryLayer] = {}
        self.cell_size = float(cell_size)
        self.grid_threshold = int(grid_threshold)
        self.cache = cache
        for lay in layers:
            self._put(lay)

    def _put(self, lay: BoundaryLayer) -> None:
        if lay.name in self._layers:
            raise BoundaryError(f"a layer named {lay.name!r} is already loaded")
        self._layers[lay.name] = lay

    def add(self, source: Any, name: str, **kw: Any) -> "Boundaries":
        """Load one layer and add it.

        Parameters
        ----------
        source : path or GeoDataFrame
            As :func:`load_layer`.
        name : str
            The layer's name (the output column of :func:`assign_areas`).
        **kw
            The keywords of :func:`load_layer` (``code``, ``label``, ``vintage``, ``crs`` ...).

        Returns
        -------
        Boundaries
            ``self``.
        """
        self._put(load_layer(source, name, **kw))
        return self

    @classmethod
    def from_files(cls, specs: Iterable[Mapping[str, Any]], *, cell_size: float = DEFAULT_CELL_SIZE) -> "Boundaries":
        """Layers from files.

        Parameters
        ----------
        specs : iterable of dict
            One dict per layer, e.g. ``{"source": path, "name": "ward_2022", "code": "WD22CD",
            "label": "WD22NM"}`` (the other keys are :func:`load_layer` keywords).
        cell_size : float
            The finest lookup grid cell, in metres.

        Returns
        -------
        Boundaries
        """
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
        cache: bool | str | Path = True,
    ) -> "Boundaries":
        """Layers from the data registry (``geocrime.registry``): local mirror or verified download.

        Parameters
        ----------
        names : list of str or str
            Registry names of boundary layers (or one comma-separated string).
        cell_size, grid_threshold, cache
            As :class:`Boundaries`.
        overlaps : {"warn", "raise", "ignore"}
            As :func:`load_layer`.

        Returns
        -------
        Boundaries

        Raises
        ------
        DataNotFoundError
            A layer is neither in the local data directory nor downloadable (the message names it
            and how to fetch it).
        BoundaryError
            A name is not a boundary layer.
        """
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        b = cls(cell_size=cell_size, grid_threshold=grid_threshold, cache=cache)
        for n in names:
            entry = registry.entry(n)
            if entry.get("kind") != "boundary":
                raise BoundaryError(f"registry entry {n!r} is not a boundary layer (kind={entry.get('kind')!r})")
            try:
                path = registry.fetch(n)
            except DataNotFoundError as exc:
                raise DataNotFoundError(
                    f"boundary layer {n!r} is not available: {exc}. Fetch it with geocrime.fetch({n!r}) "
                    "(a verified download), or point GEOCRIME_DATA_DIR at a folder holding it"
                ) from exc
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
                             "mixed_fraction": v._grid.mixed_fraction, "build_seconds": v._grid.build_seconds,
                             "origin": v._grid.origin}
            out[k] = r
        return out

    def grid(self, name: str) -> _Grid:
        """The finest lookup grid of a layer (``cell_size``): from memory, the persistent cache, or built."""
        lay = self.get(name)
        if lay._grid is None or lay._grid.requested > self.cell_size:
            self._grid_at(lay, self.cell_size)
        return lay._grid

    def prepare(self, layers: Sequence[str] | None = None) -> "Boundaries":
        """Get the finest lookup grids now (from the persistent cache, or built and cached)."""
        for n in layers or self.names:
            self.grid(n)
        return self

    def _grid_at(self, lay: BoundaryLayer, size: float) -> _Grid:
        """The grid of ``lay`` at ``size`` from the persistent cache, else built (and cached); it replaces
        the layer's grid in memory when it is finer."""
        root = _cache.cache_root(self.cache)
        grid = _cache.load(root, lay.content_hash, size, len(lay.geoms)) if root is not None else None
        if grid is None:
            grid = _build_grid(lay, size)
            if root is not None:
                _cache.save(root, lay.content_hash, grid)
        if lay._grid is None or grid.requested < lay._grid.requested:
            lay._grid = grid
        return grid

    def _plan(self, lay: BoundaryLayer, n: int) -> tuple[str, float | None]:
        if n < self.grid_threshold:
            return ("memory", None) if lay._grid is not None else ("exact", None)
        root = _cache.cache_root(self.cache)
        cached = _cache.cached_sizes(root, lay.content_hash) if root is not None and _cache.has_entries(root) else []
        return plan(lay, n, self.cell_size, cached)

    def lookup(self, name: str, x: np.ndarray, y: np.ndarray, points: Any = None) -> np.ndarray:
        """Row (in :meth:`layer` order) of the polygon covering each point, -1 if none.

        Parameters
        ----------
        name : str
            The layer.
        x, y : array-like of float
            EPSG:27700 eastings and northings in metres (NaN: no point, row -1).
        points : optional
            The same points as a ``geocrime.areas._index._Points`` (geometries and STRtree shared
            between the layers of one :func:`assign_areas` call).

        Returns
        -------
        numpy.ndarray of int64
            Edge rule: among the polygons covering a point (interior or boundary), the smallest code.
            Exact: the same as a brute-force ``covers`` test against every polygon.
        """
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        lay = self.get(name)
        how, size = self._plan(lay, len(x))
        if how == "exact":
            ok = np.isfinite(x) & np.isfinite(y)
            rows = np.full(len(x), -1, dtype=np.int64)
            rows[ok] = _exact_strtree(lay, x[ok], y[ok], None if points is None else points.subset(ok) if not ok.all() else points)
            return rows
        grid = lay._grid if how == "memory" else self._grid_at(lay, size)
        rows, _ = _lookup(lay, grid, x, y, points=points)
        return rows

    def codes(self, name: str, x: np.ndarray, y: np.ndarray) -> pd.Series:
        """Codes (pandas ``str`` dtype, NaN where outside) for points in EPSG:27700 metres."""
        return _codes_series(self.get(name), self.lookup(name, x, y))

    @classmethod
    def from_frames(
        cls,
        frames: Mapping[str, gpd.GeoDataFrame],
        *,
        code: str = "code",
        label: str | None = "name",
        overlaps: str = "warn",
    ) -> "Boundaries":
        """Layers from GeoDataFrames already in memory, e.g. ``{"ward": wards, "lsoa": lsoas}``.

        Parameters
        ----------
        frames : mapping of layer name to a GeoDataFrame of polygons (any CRS; reprojected to EPSG:27700).
        code : the code column of every frame.
        label : the name column (used when present in a frame).
        overlaps : as in :func:`load_layer`.

        Returns
        -------
        Boundaries
            One validated layer per entry, named by its key.
        """
        b = cls()
        for name, gdf in frames.items():
            b.add(gdf, str(name), code=code, label=label if label in gdf.columns else None, overlaps=overlaps)
        return b


def as_boundaries(boundaries: "Boundaries | Mapping[str, gpd.GeoDataFrame]") -> Boundaries:
    """A :class:`Boundaries` as given, or built from a mapping of GeoDataFrames (``code`` column).

    Raises :class:`~geocrime.errors.InputError` for anything else.
    """
    if isinstance(boundaries, Boundaries):
        return boundaries
    if isinstance(boundaries, Mapping):
        return Boundaries.from_frames(boundaries)
    raise InputError(
        f"boundaries must be a geocrime.areas.Boundaries (e.g. Boundaries.from_registry(['ward_2022', 'lsoa_2021'])) "
        f"or a mapping of layer name to GeoDataFrame, not {type(boundaries).__name__}"
    )


def _default_kinds(b: Boundaries) -> dict[str, str]:
    """``{"ward": first ward_* layer, "lsoa": first lsoa_* layer}`` (sorted names; kinds absent are left out)."""
    out = {}
    for kind in ("ward", "lsoa"):
        cand = sorted(n for n in b.names if n.startswith(kind))
        if cand:
            out[kind] = cand[0]
    return out


def point_codes(
    x: np.ndarray,
    y: np.ndarray,
    boundaries: "Boundaries | Mapping[str, gpd.GeoDataFrame]",
    layers: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Area code of each point per layer, by the one point-in-polygon rule of :meth:`Boundaries.lookup`.

    Parameters
    ----------
    x, y : array-like of float
        EPSG:27700 eastings and northings in metres (NaN: no point, code None).
    boundaries : Boundaries or mapping of name to GeoDataFrame
        A mapping is loaded with :meth:`Boundaries.from_frames` (``code`` column).
    layers : mapping of output key to layer name, optional
        Default for a :class:`Boundaries`: ``{"ward": <first ward_* layer>, "lsoa": <first lsoa_* layer>}``
        (kinds without a layer are left out); for a mapping: every entry under its own key.

    Returns
    -------
    dict of str to numpy.ndarray
        Object arrays of codes, ``None`` for points in no polygon. Edge rule: among the polygons
        covering a point, the smallest code.
    """
    b = as_boundaries(boundaries)
    if layers is None:
        layers = {k: k for k in boundaries} if isinstance(boundaries, Mapping) else _default_kinds(b)
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    out: dict[str, np.ndarray] = {}
    for key, name in layers.items():
        rows = b.lookup(name, x, y)
        codes = np.append(b.get(name).codes, None)  # row -1 -> None
        out[key] = codes[np.where(rows < 0, len(codes) - 1, rows)]
    return out


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

    Parameters
    ----------
    points : DataFrame or GeoDataFrame
        A GeoDataFrame of points (with a CRS), or a DataFrame with lon/lat (EPSG:4326) or
        easting/northing (EPSG:27700) columns, or columns named by ``x``/``y`` in ``crs`` (see
        :func:`geocrime._geo.as_points`).
    boundaries : Boundaries
        The layers to assign from.
    layers : list of str or str, optional
        Layer names (or one comma-separated string); default every layer of ``boundaries``.
    names : bool
        Also add ``<layer>_name`` columns.
    x, y, crs : optional
        Coordinate columns and their CRS, when they cannot be found by name.
    status_column : str
        Name of the status column.

    Returns
    -------
    GeoDataFrame
        EPSG:27700, the same rows, order and index, plus a column per layer named after it
        (``ward_2022``: the code, NaN where the point is in no polygon), ``<layer>_name`` when
        ``names=True``, and ``area_status``:

        * ``ok`` — located and inside a polygon of every requested layer;
        * ``outside:<layer>[,<layer>...]`` — located, but in no polygon of the listed layers;
        * ``no_location`` / ``invalid_coordinates`` / ``outside_gb`` — no usable point (all codes null).

    Notes
    -----
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
    pts = _Points(xs[loc], ys[loc], np.asarray(out.geometry.array, dtype=object)[loc])  # shared by the layers
    outside_bits = np.zeros(len(out), dtype=np.int64)
    new_cols: dict[str, pd.Series] = {}
    for k, lay in enumerate(layers):
        rows = np.full(len(out), -1, dtype=np.int64)
        if len(loc):
            rows[loc] = boundaries.lookup(lay, xs[loc], ys[loc], points=pts)
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

    Parameters
    ----------
    assigned : DataFrame
        Output of :func:`assign_areas` (or any frame holding ``column``).
    column : str
        The assigned code column.
    expected : str or Series
        The independent codes: a column of ``assigned`` or a Series aligned on its index.
    lookup, lookup_from, lookup_to : optional
        A lookup table (frame or CSV path) mapping ``expected`` codes (``lookup_from``) to codes
        comparable with ``column`` (``lookup_to``).

    Returns
    -------
    dict
        ``{"compared", "agree", "rate", "missing_assigned", "missing_expected"}``; only rows where
        both sides are known are compared (``rate`` in 0-1; NaN when nothing is comparable).
    """
    for c in [column] + ([expected] if isinstance(expected, str) else []):
        if c not in assigned.columns:
            raise MissingColumnsError([c], list(map(str, assigned.columns)), "agreement input")
    exp = assigned[expected] if isinstance(expected, str) else expected.reindex(assigned.index)
    exp = exp.astype("str").where(exp.notna())
    exp = exp.where(exp.str.strip() != "")
    if lookup is not None:
        if lookup_from is None or lookup_to is None:
            raise InputError("give lookup_from= and lookup_to= column names with lookup=")
        lk = lookup if isinstance(lookup, pd.DataFrame) else pd.read_csv(lookup, dtype=str, encoding="utf-8-sig", keep_default_na=False)
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
