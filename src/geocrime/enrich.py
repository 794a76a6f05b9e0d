"""Enrichment: geocode + areas + placeholder flags in one pass, in memory or streaming over a file.

::

    import geocrime
    from geocrime.areas import Boundaries
    gaz = geocrime.Gazetteer.load("london.gaz")
    b = Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    out = geocrime.enrich(df, gazetteer=gaz, boundaries=b, columns="address")   # a DataFrame
    manifest = enrich_file("incidents.csv", "incidents_enriched.parquet", gazetteer="london.gaz",
                           layers=["ward_2022", "lsoa_2021"], columns="address")
    # coordinates already present (police.uk rows): areas only, no gazetteer
    enrich_file("2024-01-street.csv", "out.csv", layers=["lsoa_2021"], coords=("Longitude", "Latitude"))

Every chunk goes through one function, :func:`_enrich_frame`, which calls the library stages
(:func:`geocrime.geocode.geocode`, :func:`geocrime.areas.assign_areas`,
:func:`geocrime.address.parse_many`) — the single-process, streaming and dask paths all run it.

Output: the input columns, untouched and in order, then the added columns, all prefixed ``gc_``
(an input that already has a ``gc_*`` column of the same name is refused, never overwritten):

* with a gazetteer: ``gc_match_level``, ``gc_x``/``gc_y`` (EPSG:27700 metres), ``gc_lon``/``gc_lat``
  (EPSG:4326), ``gc_uncertainty_m`` (metres), ``gc_score``, ``gc_runner_up_score``, ``gc_margin``,
  ``gc_ambiguous``, ``gc_faults``, ``gc_n_candidates``, ``gc_candidate_id``, ``gc_gazetteer_id``,
  ``gc_matched_address``, ``gc_reason``, ``gc_ward_code``/``gc_ward_confidence``,
  ``gc_lsoa_code``/``gc_lsoa_confidence`` (see :mod:`geocrime.geocode`);
* without one (coordinates present): ``gc_x``/``gc_y`` (EPSG:27700 metres);
* with boundaries: one ``gc_<layer>`` code column per layer and ``gc_area_status``
  (see :func:`geocrime.areas.assign_areas`);
* with address columns: ``gc_placeholder`` (the reason the text is not an address, else null);
* always: ``gc_input_status`` (``ok``; ``empty_address`` when every address column is blank).

Files (:func:`enrich_file`): CSV or Parquet in, CSV or Parquet out (by suffix). The input is read
in chunks (memory stays flat), each finished chunk is written atomically as a part file in a work
directory beside the output (``.<output name>.gcwork/``); a re-run skips the parts whose key (a
SHA-256 of the settings, the input file, the gazetteer, the boundaries and the chunk's rows)
matches, so an interrupted run resumes and the result is byte-identical. The output appears (by
``os.replace``) only when complete; a manifest ``<output>.manifest.json`` is written beside it.

Encodings: CSV input must be UTF-8 (a byte-order mark is fine) unless ``encoding=`` says otherwise;
a file that does not decode fails *before any work* with a :class:`FileFormatError` naming the byte
and line and suggesting ``encoding="cp1252"``. geocrime never guesses an encoding: a wrong guess
would silently corrupt addresses.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ._geo import BNG
from .errors import GeocrimeError, InputError, MissingColumnsError

__all__ = ["enrich", "enrich_file", "EnrichSettings", "EnrichContext", "added_columns", "PREFIX"]

PREFIX = "gc_"
DEFAULT_CHUNKSIZE = 100_000

# added columns and their arrow types (fixed, so every part file has the same schema)
_GEOCODE_TYPES: dict[str, pa.DataType] = {
    "match_level": pa.string(), "x": pa.float64(), "y": pa.float64(), "lon": pa.float64(), "lat": pa.float64(),
    "uncertainty_m": pa.float64(), "score": pa.float64(), "runner_up_score": pa.float64(), "margin": pa.float64(),
    "ambiguous": pa.bool_(), "faults": pa.string(), "n_candidates": pa.int32(), "candidate_id": pa.int64(),
    "gazetteer_id": pa.int64(), "matched_address": pa.string(), "reason": pa.string(),
    "ward_code": pa.string(), "ward_confidence": pa.float64(), "lsoa_code": pa.string(), "lsoa_confidence": pa.float64(),
}


class EnrichError(GeocrimeError, RuntimeError):
    """An enrichment run cannot proceed (work directory unusable, worker failure...)."""


@dataclass(frozen=True)
class EnrichSettings:
    """What an enrichment does (JSON-able; part of every resume key and of the manifest).

    ``columns``: address column(s) (free text: one column, or several joined in order);
    ``layers``: boundary layer names; ``coords``: ``(x, y)`` coordinate columns used when there is no
    gazetteer (``None``: detected by :func:`geocrime._geo.as_points`); ``crs``: their CRS (``None``:
    lon/lat unless the values look like BNG metres); ``backend``/``threshold``/``margin``: passed to
    :func:`geocrime.geocode.geocode`; ``prefix``: of every added column.
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
    from .gazetteer import Gazetteer

    if isinstance(gazetteer, (str, os.PathLike)):
        path = Path(gazetteer)
        g = Gazetteer.load(path)
        return g, _dir_hash(path) if hashes else None, str(path.resolve())
    if not isinstance(gazetteer, Gazetteer):
        from .errors import GazetteerError

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
) -> EnrichContext:
    """Resolve the arguments of :func:`enrich` / :func:`enrich_file` into an :class:`EnrichContext`.

    ``boundaries``: a :class:`~geocrime.areas.Boundaries`; when ``None`` and ``layers`` are given, the
    layers are loaded with :meth:`Boundaries.from_registry`.
    """
    gaz, ghash, _ = _load_gazetteer(gazetteer, hashes)
    layer_t = _as_tuple(layers)
    if boundaries is None and layer_t:
        from .areas import Boundaries

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
        from . import geocode as _gc

        threshold = float(_gc.DEFAULT_THRESHOLD if threshold is None else threshold)
        margin = float(_gc.DEFAULT_MARGIN if margin is None else margin)
    s = EnrichSettings(columns=cols, layers=layer_t, coords=tuple(coords) if coords else None, crs=crs_s,
                       backend=backend, threshold=threshold, margin=margin, prefix=prefix, geocode=gaz is not None)
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
        from .geocode import geocode

        kw: dict[str, Any] = {}
        if s.threshold is not None:
            kw["threshold"] = s.threshold
        if s.margin is not None:
            kw["margin"] = s.margin
        cols = list(s.columns)
        g = geocode(pd.DataFrame({c: df[c] for c in cols}, index=df.index), ctx.gazetteer,
                    columns=cols[0] if len(cols) == 1 else cols, boundaries=ctx.boundaries, backend=s.backend,
                    chunk_size=max(n, 1), **kw)
        for k in _GEOCODE_TYPES:
            new[p + k] = g[k].to_numpy() if k in g else np.full(n, None, dtype=object)
        xs, ys = g["x"].to_numpy(float), g["y"].to_numpy(float)
        reason = g["reason"].astype("str").to_numpy(dtype=object)
        ph = np.array([r[12:] if isinstance(r, str) and r.startswith("placeholder:") else None for r in reason], dtype=object) \
            if n else np.zeros(0, dtype=object)
    elif s.columns:
        from .address import parse_many

        text = df[s.columns[0]] if len(s.columns) == 1 else \
            df[list(s.columns)].fillna("").astype("str").agg(", ".join, axis=1)
        ph = parse_many(text, backend=s.backend)["placeholder"].to_numpy(dtype=object)
    if s.layers:
        from .areas import assign_areas

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
) -> pd.DataFrame:
    """Geocode, assign areas and flag placeholders for every row of ``df`` (in memory).

    ``gazetteer``: a :class:`~geocrime.gazetteer.Gazetteer` or the path of a saved one (``None``:
    coordinates already present — areas only, from ``coords`` or detected lon/lat / easting/northing
    columns). ``boundaries``: :class:`~geocrime.areas.Boundaries` (``None``: ``layers`` loaded from the
    registry). ``columns``: the address column(s). Returns a DataFrame: the input columns untouched,
    same index and order, then the ``gc_*`` columns described in the module docstring (coordinates in
    EPSG:27700 metres and EPSG:4326 degrees). Raises :class:`MissingColumnsError` for an absent column
    and :class:`InputError` when an added column would overwrite an input column.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"enrich expects a pandas DataFrame, got {type(df).__name__}")
    ctx = make_context(gazetteer, boundaries, layers, columns, coords, crs, backend, threshold, margin, prefix,
                       hashes=False)
    _check_input(df.columns, ctx.settings, "input DataFrame")
    return _enrich_frame(pd.DataFrame(df), ctx)


# ---------------------------------------------------------------------------------- files
def _settings_key(ctx: EnrichContext, input_sha: str, chunksize: int, fmt: str, sep: str, encoding: str | None) -> tuple[str, dict[str, Any]]:
    from . import __version__

    d = {"settings": asdict(ctx.settings), "input_sha256": input_sha, "chunksize": chunksize, "format": fmt,
         "sep": sep, "encoding": encoding, "gazetteer_sha256": ctx.gazetteer_hash,
         "boundaries_sha256": ctx.boundaries_hash, "geocrime": __version__, "code_sha256": code_hash()}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest(), d


_CODE_HASH: list[str] = []


def code_hash() -> str:
    """SHA-256 of geocrime's own source files: part of every run key, so parts made by other code
    (an upgrade, a development checkout that changed) are never reused."""
    if not _CODE_HASH:
        root = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for f in sorted(root.rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
        _CODE_HASH.append(h.hexdigest())
    return _CODE_HASH[0]


def _chunk_key(skey: str, i: int, df: pd.DataFrame) -> str:
    h = hashlib.sha256(skey.encode())
    h.update(i.to_bytes(8, "little"))
    try:
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists in Parquet): hash their text
        h.update(pd.util.hash_pandas_object(df.astype("str"), index=True).to_numpy().tobytes())
    return h.hexdigest()


def work_dir(output: str | Path) -> Path:
    """The work directory of an :func:`enrich_file` run (part files, removed when the run completes)."""
    output = Path(output)
    return output.parent / f".{output.name}.gcwork"


def manifest_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".manifest.json")


def enrich_file(
    input: str | Path,
    output: str | Path,
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
    chunksize: int = DEFAULT_CHUNKSIZE,
    sep: str = ",",
    encoding: str | None = None,
    format: str | None = None,
    output_format: str | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    progress: bool = True,
    resume: bool = True,
    keep_work: bool = False,
) -> dict[str, Any]:
    """Enrich a CSV or Parquet file in chunks, resumably; returns the run manifest (also written to
    ``<output>.manifest.json``).

    Arguments as :func:`enrich`, plus: ``chunksize`` (rows per chunk; memory grows with it, not with
    the file), ``sep``/``encoding`` (CSV; ``encoding=None`` is strict UTF-8), ``format`` /
    ``output_format`` (``csv``/``parquet``; default from the suffix), ``engine`` (``local`` or ``dask``:
    chunks run on a dask cluster — ``scheduler`` address, else a :class:`distributed.LocalCluster` of
    ``workers`` processes — or on the given ``client``), ``resume`` (``False`` recomputes every
    chunk), ``keep_work`` (keep the part files after success, for inspection).

    Errors (:class:`FileFormatError`, :class:`MissingColumnsError`, :class:`InputError`) are raised
    before any work when the header or encoding is wrong; a ragged row found mid-file raises
    :class:`FileFormatError` and leaves no output file (finished parts stay for the re-run).
    """
    from . import __version__
    from ._chunks import file_format, open_input, scan_input, write_parquet_atomic

    t0 = time.perf_counter()
    input, output = Path(input), Path(output)
    if engine not in ("local", "dask"):
        raise InputError(f"engine must be 'local' or 'dask', not {engine!r}")
    fmt = file_format(input, format)
    ofmt = file_format(output, output_format)
    if input.resolve() == output.resolve():
        raise InputError("output must not be the input file")
    scan = scan_input(input, fmt, encoding)
    t_scan = time.perf_counter()
    ctx = make_context(gazetteer, boundaries, layers, columns, coords, crs, backend, threshold, margin, prefix)
    gaz_path = str(Path(gazetteer).resolve()) if isinstance(gazetteer, (str, os.PathLike)) else None
    t_load = time.perf_counter()
    s = ctx.settings
    reader = open_input(input, fmt, chunksize, list(s.columns) + list(s.coords or ()), sep=sep, encoding=encoding,
                        text_columns=list(s.columns))
    _check_input(reader.columns, s, f"{fmt.upper()} file {input}")
    skey, sdict = _settings_key(ctx, scan["sha256"], chunksize, fmt, sep, encoding)
    added_types = added_columns(s)
    schema = pa.schema(list(reader.schema) + [pa.field(k, v) for k, v in added_types.items()])
    wd = work_dir(output)
    wd.mkdir(parents=True, exist_ok=True)
    runner = _LocalRunner(ctx) if engine == "local" else _dask_runner(ctx, gaz_path, scheduler, workers, client)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=reader.n_rows, unit="rec", desc=f"enrich ({engine})", file=sys.stderr, dynamic_ncols=True)
    parts: list[Path] = []
    stats: list[dict[str, Any]] = []
    skipped = 0
    t_enrich0 = time.perf_counter()

    def finish(i: int, part: Path, in_table: pa.Table, added: pd.DataFrame) -> None:
        tbl = in_table
        for name, col in zip(added_types, _to_arrow(added, s).columns):
            tbl = tbl.append_column(pa.field(name, added_types[name]), col)
        write_parquet_atomic(tbl.replace_schema_metadata(None), part)
        st = _chunk_stats(added, s)
        from ._chunks import atomic_write_bytes

        atomic_write_bytes(part.with_suffix(".json"), json.dumps(st, sort_keys=True).encode())
        stats[i] = st
        if bar is not None:
            bar.update(st["rows"])

    try:
        for i, (df, tbl) in enumerate(reader):
            key = _chunk_key(skey, i, df)
            part = wd / f"part-{i:06d}-{key[:20]}.parquet"
            parts.append(part)
            stats.append({})
            sj = part.with_suffix(".json")
            if resume and part.exists() and sj.exists():
                stats[i] = json.loads(sj.read_text())
                skipped += 1
                if bar is not None:
                    bar.update(stats[i]["rows"])
                continue
            runner.submit(i, df, tbl, part, finish)
        runner.drain(finish)
    finally:
        runner.close()
        if bar is not None:
            bar.close()
    t_enrich = time.perf_counter()

    # assemble in input order into <output>.tmp, then rename into place
    tmp = output.with_name(output.name + ".tmp")
    rows_out = _assemble(parts, tmp, ofmt, schema, sep=sep)
    rows_in = sum(st["rows"] for st in stats)
    if rows_out != rows_in:
        tmp.unlink(missing_ok=True)
        raise EnrichError(f"assembled {rows_out} rows but read {rows_in}: work directory {wd} is inconsistent; "
                          "delete it and re-run")
    os.replace(tmp, output)
    t_done = time.perf_counter()
    counts: dict[str, Any] = {}
    for st in stats:
        for k, v in st.items():
            if k == "rows":
                continue
            if isinstance(v, dict):
                c = counts.setdefault(k, Counter())
                c.update(v)
            else:
                counts[k] = counts.get(k, 0) + v
    counts = {k: (dict(sorted(v.items())) if isinstance(v, Counter) else v) for k, v in counts.items()}
    gmeta = dict(getattr(ctx.gazetteer, "meta", {}) or {}) if ctx.gazetteer is not None else None
    manifest = {
        "geocrime_version": __version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "complete": True,
        "input": {"path": str(input.resolve()), "format": fmt, "sha256": scan["sha256"], "bytes": scan["bytes"],
                  "columns": reader.columns},
        "output": {"path": str(output.resolve()), "format": ofmt, "added_columns": list(added_types)},
        "gazetteer": None if ctx.gazetteer is None else {
            "path": gaz_path, "sha256": ctx.gazetteer_hash, "entries": len(ctx.gazetteer),
            **{k: (gmeta or {}).get(k) for k in ("format_version", "sources", "counts", "build_seconds")},
        },
        "boundaries": {name: {"vintage": getattr(ctx.boundaries.get(name), "vintage", None),
                              "source": str(getattr(ctx.boundaries.get(name), "source", "")),
                              "features": int(len(ctx.boundaries.layer(name))), "sha256": h}
                       for name, h in ctx.boundaries_hash.items()},
        "settings": dict(sdict["settings"], chunksize=chunksize, sep=sep, encoding=encoding, engine=engine,
                         scheduler=scheduler, workers=workers),
        "run_key": skey,
        "code_sha256": sdict["code_sha256"],
        "rows_in": rows_in,
        "rows_out": rows_out,
        "chunks": len(parts),
        "chunks_resumed": skipped,
        "counts": counts,
        "timings_s": {"scan_hash": round(t_scan - t0, 3), "load": round(t_load - t_scan, 3),
                      "enrich": round(t_enrich - t_enrich0, 3), "assemble": round(t_done - t_enrich, 3),
                      "total": round(t_done - t0, 3)},
        "python": platform.python_version(),
    }
    from ._chunks import atomic_write_bytes

    atomic_write_bytes(manifest_path(output), (json.dumps(manifest, indent=1, sort_keys=False, default=str) + "\n").encode())
    if not keep_work:
        shutil.rmtree(wd, ignore_errors=True)
    return manifest


def _assemble(parts: list[Path], tmp: Path, ofmt: str, schema: pa.Schema, sep: str = ",") -> int:
    import pyarrow.parquet as pq

    n = 0
    if ofmt == "parquet":
        with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
            for part in parts:
                t = pq.read_table(part)
                n += t.num_rows
                w.write_table(t.cast(schema))
    else:
        import pyarrow.csv as pcsv

        with open(tmp, "wb") as f:
            sink = pa.PythonFile(f, mode="w")
            if not parts:
                pcsv.write_csv(schema.empty_table(), sink, pcsv.WriteOptions(include_header=True, quoting_style="needed",
                                                                              delimiter=sep))
            for k, part in enumerate(parts):
                t = pq.read_table(part).cast(schema)
                n += t.num_rows
                pcsv.write_csv(t, sink, pcsv.WriteOptions(include_header=(k == 0), quoting_style="needed", delimiter=sep))
            f.flush()
            os.fsync(f.fileno())
    return n


class _LocalRunner:
    """Runs each chunk in this process as it is read."""

    def __init__(self, ctx: EnrichContext) -> None:
        self.ctx = ctx

    def submit(self, i: int, df: pd.DataFrame, tbl: pa.Table, part: Path, finish: Callable[..., None]) -> None:
        finish(i, part, tbl, _enrich_frame(df, self.ctx, added_only=True))

    def drain(self, finish: Callable[..., None]) -> None:
        pass

    def close(self) -> None:
        pass


def _dask_runner(ctx: EnrichContext, gaz_path: str | None, scheduler: str | None, workers: int | None, client: Any) -> Any:
    from .distributed import DaskRunner

    return DaskRunner(ctx, gaz_path, scheduler=scheduler, workers=workers, client=client)


class _CallableModule(type(sys)):  # type: ignore[misc]
    """``geocrime.enrich`` is both this module and the function: importing the submodule sets the
    package attribute ``geocrime.enrich`` to the module, so the module itself forwards calls to
    :func:`enrich` (``geocrime.enrich(df, ...)`` and ``geocrime.enrich.enrich_file(...)`` both work)."""

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return enrich(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
