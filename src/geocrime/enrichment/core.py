"""In-memory enrichment: settings, context, and the per-chunk step (geocode, areas, placeholders) that every runner shares.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .._geo import BNG
from ..errors import GeocrimeError, InputError, MissingColumnsError

PREFIX = "gc_"
DEFAULT_CHUNKSIZE = 100_000

# added columns and their arrow types (fixed, so every part file has the same schema)
_GEOCODE_TYPES: dict[str, pa.DataType] = {
    "match_level": pa.string(), "x": pa.float64(), "y": pa.float64(), "lon": pa.float64(), "lat": pa.float64(),
    "uncertainty_m": pa.float64(), "score": pa.float64(), "runner_up_score": pa.float64(), "margin": pa.float64(),
    "ambiguous": pa.bool_(), "faults": pa.string(), "n_candidates": pa.int32(), "candidate_id": pa.int64(),
    "gazetteer_id": pa.int64(), "matched_address": pa.string(), "reason": pa.string(),
    "match_probability": pa.float64(),
}
# the geocoder's own area estimate (geocrime.geocoding: the likeliest area over the candidates, with its
# probability), renamed to the scheme "<layer>_geocoder" / "<layer>_confidence" (e.g. gc_ward_2024_geocoder),
# so it is never confused with the point-in-polygon code "<layer>" (gc_ward_2024) of the chosen point
_GEOCODER_AREAS = {"ward": ("ward_code", "ward_confidence"), "lsoa": ("lsoa_code", "lsoa_confidence")}


def geocoder_area_layers(layers: Sequence[str]) -> dict[str, str]:
    """Which boundary layer the geocoder's ``ward_code``/``lsoa_code`` refer to: ``{"ward": "ward_2024",
    "lsoa": "lsoa_2021"}`` (per kind, the first name in sorted order, as :func:`geocrime.areas.point_codes`
    picks it). These become ``<layer>_geocoder`` (the code) and ``<layer>_confidence`` (its probability)."""
    out = {}
    for kind in _GEOCODER_AREAS:
        cand = sorted(str(n) for n in layers if str(n).startswith(kind))
        if cand:
            out[kind] = cand[0]
    return out


def geocoder_area_columns(layers: Sequence[str]) -> dict[str, str]:
    """Rename map from the geocoder's ``ward_code``/``ward_confidence``/``lsoa_code``/``lsoa_confidence``
    to the layer + vintage scheme (``ward_2024_geocoder``/``ward_2024_confidence``...)."""
    out = {}
    for kind, lay in geocoder_area_layers(layers).items():
        code, conf = _GEOCODER_AREAS[kind]
        out[code] = f"{lay}_geocoder"
        out[conf] = f"{lay}_confidence"
    return out


class EnrichError(GeocrimeError, RuntimeError):
    """An enrichment run cannot proceed (work directory unusable, worker failure...)."""


@dataclass(frozen=True)
class EnrichSettings:
    """What an enrichment does (JSON-able; part of every resume key and of the manifest).

    ``columns``: address column(s) (free text: one column, or several joined in order);
    ``layers``: boundary layer names; ``coords``: ``(x, y)`` coordinate columns used when there is no
    gazetteer (``None``: detected by :func:`geocrime._geo.as_points`); ``crs``: their CRS (``None``:
    lon/lat unless the values look like BNG metres); ``backend``/``threshold``/``margin``: passed to
    :func:`geocrime.geocoding.geocode`; ``within``: borough (LAD) codes the force covers (a match
    outside them is never accepted; see ``geocode(within=)``); ``prefix``: of every added column.
    """

    columns: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    coords: tuple[str, str] | None = None
    crs: str | None = None
    backend: str = "rules"
    threshold: float | None = None
    margin: float | None = None
    prefix: str = PREFIX
    geocode: bool = True
    within: tuple[str, ...] = ()


@dataclass
class EnrichContext:
    """What a worker needs: the settings plus the loaded :class:`~geocrime.gazetteer.Gazetteer` and
    :class:`~geocrime.areas.Boundaries` (either may be ``None``)."""

    settings: EnrichSettings
    gazetteer: Any = None
    boundaries: Any = None
    gazetteer_hash: str | None = None
    boundaries_hash: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ settings
def _as_tuple(v: str | Sequence[str] | None) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return tuple(s.strip() for s in v.split(",") if s.strip())
    return tuple(str(s) for s in v)


def _load_gazetteer(gazetteer: Any, hashes: bool = True) -> tuple[Any, str | None, str | None]:
    """(Gazetteer or None, content hash, path)."""
    if gazetteer is None:
        return None, None, None
    from ..gazetteer import Gazetteer

    if isinstance(gazetteer, (str, os.PathLike)):
        path = Path(gazetteer)
        g = Gazetteer.load(path)
        return g, _dir_hash(path) if hashes else None, str(path.resolve())
    if not isinstance(gazetteer, Gazetteer):
        from ..errors import GazetteerError

        raise GazetteerError(f"gazetteer must be a Gazetteer or the path of a saved one, not {type(gazetteer).__name__}")
    return gazetteer, _gazetteer_hash(gazetteer) if hashes else None, None


def _dir_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for b in iter(lambda: fh.read(1 << 20), b""):
                h.update(b)
    return h.hexdigest()


def _gazetteer_hash(g: Any) -> str:
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(g.table, index=True).to_numpy().tobytes())
    h.update(np.ascontiguousarray(g.index.keys).tobytes())
    h.update(np.ascontiguousarray(g.index.rows).tobytes())
    return h.hexdigest()


def _boundaries_hash(b: Any, layers: Sequence[str]) -> dict[str, str]:
    import shapely

    out = {}
    for name in layers:
        gdf = b.layer(name)
        h = hashlib.sha256()
        h.update("\x1f".join(map(str, gdf["code"].tolist())).encode())
        for w in shapely.to_wkb(np.asarray(gdf.geometry.array, dtype=object)):
            h.update(w)
        out[name] = h.hexdigest()
    return out


def make_context(
    gazetteer: Any = None,
    boundaries: Any = None,
    layers: str | Sequence[str] | None = None,
    columns: str | Sequence[str] | None = None,
    coords: Sequence[str] | None = None,
    crs: Any = None,
    backend: str = "rules",
    threshold: float | None = None,
    margin: float | None = None,
    prefix: str = PREFIX,
    hashes: bool = True,
    within: str | Sequence[str] | None = None,
) -> EnrichContext:
    """Resolve the arguments of :func:`enrich` / :func:`enrich_file` into an :class:`EnrichContext`.

    ``boundaries``: a :class:`~geocrime.areas.Boundaries`; when ``None`` and ``layers`` are given, the
    layers are loaded with :meth:`Boundaries.from_registry`.
    """
    gaz, ghash, _ = _load_gazetteer(gazetteer, hashes)
    layer_t = _as_tuple(layers)
    if boundaries is None and layer_t:
        from ..areas import Boundaries

        boundaries = Boundaries.from_registry(list(layer_t))
    if boundaries is not None and not layer_t:
        layer_t = tuple(boundaries.names)
    cols = _as_tuple(columns)
    if gaz is not None and not cols:
        raise InputError("a gazetteer was given but no address column: pass columns='address' (or a list of columns)")
    if gaz is None and boundaries is None and not cols:
        raise InputError("nothing to do: give a gazetteer (with columns=) and/or boundary layers")
    if coords is not None and len(tuple(coords)) != 2:
        raise InputError(f"coords must be two column names (x, y), got {coords!r}")
    if not prefix:
        raise InputError("prefix must not be empty: added columns must never overwrite input columns")
    crs_s = None if crs is None else str(crs)
    if gaz is not None:  # record the geocoder's actual defaults, so a change of default changes the run key
        from .. import geocoding as _gc

        threshold = float(_gc.DEFAULT_THRESHOLD if threshold is None else threshold)
        margin = float(_gc.DEFAULT_MARGIN if margin is None else margin)
    s = EnrichSettings(columns=cols, layers=layer_t, coords=tuple(coords) if coords else None, crs=crs_s,
                       backend=backend, threshold=threshold, margin=margin, prefix=prefix, geocode=gaz is not None,
                       within=_as_tuple(within))
    bh = _boundaries_hash(boundaries, layer_t) if boundaries is not None and hashes else {}
    if boundaries is not None and layer_t:
        boundaries.prepare(list(layer_t))
    return EnrichContext(s, gaz, boundaries, ghash, bh)


def added_columns(settings: EnrichSettings) -> dict[str, pa.DataType]:
    """Names (with prefix) and arrow types of the columns :func:`enrich` adds, in output order."""
    p = settings.prefix
    out: dict[str, pa.DataType] = {}
    if settings.geocode:
        out.update({p + k: v for k, v in _GEOCODE_TYPES.items()})
    elif settings.layers:
        out[p + "x"] = pa.float64()
        out[p + "y"] = pa.float64()
    for lay in settings.layers:
        out[p + lay] = pa.string()
    if settings.geocode:
        for kind, lay in geocoder_area_layers(settings.layers).items():
            out[p + lay + "_geocoder"] = pa.string()
            out[p + lay + "_confidence"] = pa.float64()
    if settings.layers:
        out[p + "area_status"] = pa.string()
    if settings.columns:
        out[p + "placeholder"] = pa.string()
    out[p + "input_status"] = pa.string()
    return out


def _check_input(columns: Iterable[str], s: EnrichSettings, what: str) -> None:
    cols = list(map(str, columns))
    miss = [c for c in s.columns if c not in cols]
    if s.coords:
        miss += [c for c in s.coords if c not in cols]
    if miss:
        raise MissingColumnsError(miss, cols, what)
    clash = [c for c in added_columns(s) if c in cols]
    if clash:
        raise InputError(f"{what} already has column(s) {clash} that enrichment would add; rename them or pass "
                         f"another prefix= (CLI: --prefix) — input columns are never overwritten")


# ------------------------------------------------------------------------------- the chunk function
def _enrich_frame(df: pd.DataFrame, ctx: EnrichContext, added_only: bool = False) -> pd.DataFrame:
    """Enrich one chunk: the input rows (same index and order) plus the added ``gc_*`` columns
    (only the added columns when ``added_only``). Calls the library stages; never raises for a bad row.
    """
    s = ctx.settings
    n = len(df)
    p = s.prefix
    new: dict[str, Any] = {}
    status = np.full(n, "ok", dtype=object)
    xs = ys = None
    if s.columns:
        blank = np.ones(n, dtype=bool)
        for c in s.columns:
            v = df[c]
            if v.dtype == object:  # may hold bytes or numbers (in-memory input): never decode to test blankness
                blank &= np.fromiter((_blank(x) for x in v.to_numpy(dtype=object)), dtype=bool, count=n)
            else:
                blank &= (v.isna() | (v.astype("str").str.strip() == "")).to_numpy(dtype=bool)
        status[blank] = "empty_address"
    if s.geocode:
        from ..geocoding import geocode

        kw: dict[str, Any] = {}
        if s.threshold is not None:
            kw["threshold"] = s.threshold
        if s.margin is not None:
            kw["margin"] = s.margin
        if s.within:
            kw["within"] = list(s.within)
        cols = list(s.columns)
        g = geocode(pd.DataFrame({c: df[c] for c in cols}, index=df.index), ctx.gazetteer,
                    columns=cols[0] if len(cols) == 1 else cols, boundaries=ctx.boundaries, backend=s.backend,
                    chunk_size=max(n, 1), **kw)
        for k in _GEOCODE_TYPES:
            new[p + k] = g[k].to_numpy() if k in g else np.full(n, None, dtype=object)
        for k, name in geocoder_area_columns(s.layers).items():
            new[p + name] = g[k].to_numpy() if k in g else np.full(n, None, dtype=object)
        xs, ys = g["x"].to_numpy(float), g["y"].to_numpy(float)
        reason = g["reason"].astype("str").to_numpy(dtype=object)
        ph = np.array([r[12:] if isinstance(r, str) and r.startswith("placeholder:") else None for r in reason], dtype=object) \
            if n else np.zeros(0, dtype=object)
    elif s.columns:
        from ..address import parse_many

        text = df[s.columns[0]] if len(s.columns) == 1 else \
            df[list(s.columns)].fillna("").astype("str").agg(", ".join, axis=1)
        ph = parse_many(text, backend=s.backend)["placeholder"].to_numpy(dtype=object)
    if s.layers:
        from ..areas import assign_areas

        if s.geocode:
            pts = pd.DataFrame({"x": xs, "y": ys}, index=df.index)
            a = assign_areas(pts, ctx.boundaries, list(s.layers), x="x", y="y", crs=BNG)
        else:
            src = df[list(s.coords)] if s.coords else df
            a = assign_areas(src, ctx.boundaries, list(s.layers),
                             x=s.coords[0] if s.coords else None, y=s.coords[1] if s.coords else None, crs=s.crs)
            import shapely

            ga = np.asarray(a.geometry.array, dtype=object)
            new[p + "x"] = np.where(shapely.is_missing(ga), np.nan, shapely.get_x(ga))
            new[p + "y"] = np.where(shapely.is_missing(ga), np.nan, shapely.get_y(ga))
        for lay in s.layers:
            new[p + lay] = a[lay].to_numpy(dtype=object)
        new[p + "area_status"] = a["area_status"].to_numpy(dtype=object)
    if s.columns:
        new[p + "placeholder"] = np.asarray(ph, dtype=object)
    new[p + "input_status"] = status
    types = added_columns(s)
    out = pd.DataFrame({k: _typed(new[k], types[k]) for k in types}, index=df.index)
    if added_only:
        return out
    return pd.concat([df, out], axis=1)


def _blank(x: Any) -> bool:
    if isinstance(x, (str, bytes, bytearray)):
        return not x.strip()
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x))


def _typed(v: Any, t: pa.DataType) -> Any:
    if t == pa.string():
        a = np.asarray(v, dtype=object)
        a = np.where(pd.isna(a), None, a)
        return pd.array(a, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    if t == pa.bool_():
        return np.asarray(v, dtype=bool)
    if t == pa.int32():
        return np.asarray(v, dtype=np.int32)
    if t == pa.int64():
        return np.asarray(v, dtype=np.int64)
    return np.asarray(v, dtype=np.float64)


def _to_arrow(added: pd.DataFrame, s: EnrichSettings) -> pa.Table:
    types = added_columns(s)
    return pa.Table.from_pandas(added, schema=pa.schema([pa.field(k, v) for k, v in types.items()]), preserve_index=False)


def _chunk_stats(added: pd.DataFrame, s: EnrichSettings) -> dict[str, Any]:
    p = s.prefix
    st: dict[str, Any] = {"rows": int(len(added))}
    for k in ("match_level", "area_status", "input_status"):
        if p + k in added:
            st[k] = {str(a): int(b) for a, b in added[p + k].astype("str").value_counts(dropna=False).items()}
    if p + "placeholder" in added:
        st["placeholder"] = int(added[p + "placeholder"].notna().sum())
    if p + "ambiguous" in added:
        st["ambiguous"] = int(added[p + "ambiguous"].sum())
    return st


# ---------------------------------------------------------------------------------- in memory
def enrich(
    df: pd.DataFrame,
    gazetteer: Any = None,
    boundaries: Any = None,
    layers: str | Sequence[str] | None = None,
    columns: str | Sequence[str] | None = None,
    *,
    coords: Sequence[str] | None = None,
    crs: Any = None,
    backend: str = "rules",
    threshold: float | None = None,
    margin: float | None = None,
    prefix: str = PREFIX,
    within: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Geocode, assign areas and flag placeholders for every row of ``df`` (in memory).

    ``gazetteer``: a :class:`~geocrime.gazetteer.Gazetteer` or the path of a saved one (``None``:
    coordinates already present — areas only, from ``coords`` or detected lon/lat / easting/northing
    columns). ``boundaries``: :class:`~geocrime.areas.Boundaries` (``None``: ``layers`` loaded from the
    registry). ``columns``: the address column(s). ``within``: borough (LAD) codes the force covers;
    a match outside them is never accepted (``reason`` ``place_conflict``). Returns a DataFrame: the input columns untouched,
    same index and order, then the ``gc_*`` columns described in the module docstring (coordinates in
    EPSG:27700 metres and EPSG:4326 degrees). Raises :class:`MissingColumnsError` for an absent column
    and :class:`InputError` when an added column would overwrite an input column.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"enrich expects a pandas DataFrame, got {type(df).__name__}")
    ctx = make_context(gazetteer, boundaries, layers, columns, coords, crs, backend, threshold, margin, prefix,
                       hashes=False, within=within)
    _check_input(df.columns, ctx.settings, "input DataFrame")
    return _enrich_frame(pd.DataFrame(df), ctx)


