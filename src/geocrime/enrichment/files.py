"""File enrichment: chunked, resumable, atomic runs over CSV/Parquet with a manifest (local or dask runner).
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
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from tqdm import tqdm

from .. import __version__
from ..errors import InputError
from .chunks import atomic_write_bytes, file_format, open_input, scan_input, write_parquet_atomic
from .core import (
    DEFAULT_CHUNKSIZE,
    PREFIX,
    EnrichContext,
    EnrichError,
    _check_input,
    _chunk_stats,
    _enrich_frame,
    _to_arrow,
    added_columns,
    make_context,
)


# ---------------------------------------------------------------------------------- files
def _settings_key(ctx: EnrichContext, input_sha: str, chunksize: int, fmt: str, sep: str, encoding: str | None) -> tuple[str, dict[str, Any]]:
    d = {"settings": asdict(ctx.settings), "input_sha256": input_sha, "chunksize": chunksize, "format": fmt,
         "sep": sep, "encoding": encoding, "gazetteer_sha256": ctx.gazetteer_hash,
         "boundaries_sha256": ctx.boundaries_hash, "geocrime": __version__, "code_sha256": code_hash()}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest(), d


_CODE_HASH: list[str] = []


def code_hash() -> str:
    """SHA-256 of geocrime's own source files: part of every run key, so parts made by other code
    (an upgrade, a development checkout that changed) are never reused.

    Returns
    -------
    str
        Hex digest, computed once per process.
    """
    if not _CODE_HASH:
        root = Path(__file__).resolve().parent.parent  # the geocrime package
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
    """The work directory of an :func:`enrich_file` run (part files, removed when the run completes).

    Parameters
    ----------
    output : path
        The run's output file.

    Returns
    -------
    Path
        ``<output's folder>/.<output name>.gcwork``.
    """
    output = Path(output)
    return output.parent / f".{output.name}.gcwork"


def manifest_path(output: str | Path) -> Path:
    """The manifest written beside ``output``.

    Parameters
    ----------
    output : path
        The run's output file.

    Returns
    -------
    Path
        ``<output>.manifest.json``.
    """
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
    within: str | Sequence[str] | None = None,
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
    """Enrich a CSV or Parquet file in chunks, resumably; returns the run manifest.

    Parameters
    ----------
    input, output : path
        CSV or Parquet in; CSV or Parquet out (written atomically: ``<output>.tmp`` then renamed).
    gazetteer, boundaries, layers, columns, coords, crs, backend, threshold, margin, prefix
        As :func:`geocrime.enrichment.enrich`.
    chunksize : int
        Rows per chunk; memory grows with it, not with the file.
    sep, encoding : str
        CSV delimiter and encoding (``encoding=None`` is strict UTF-8).
    format, output_format : {"csv", "parquet"}, optional
        Default from the suffix.
    engine : {"local", "dask"}
        ``dask``: chunks run on a dask cluster (``scheduler`` address, else a
        :class:`distributed.LocalCluster` of ``workers`` processes, or the given ``client``).
    progress : bool
        Progress bar on stderr.
    resume : bool
        ``False`` recomputes every chunk (else finished part files of the same run key are reused).
    keep_work : bool
        Keep the part files after success, for inspection.

    Returns
    -------
    dict
        The run manifest, also written to ``<output>.manifest.json``: input/output hashes and formats,
        gazetteer and boundary versions, settings, run key, row counts, per-status counts, timings.

    Raises
    ------
    FileFormatError, MissingColumnsError, InputError
        Before any work when the header or encoding is wrong; a ragged row found mid-file raises
        :class:`FileFormatError` and leaves no output file (finished parts stay for the re-run).
    """
    t = {"start": time.perf_counter()}
    input, output = Path(input), Path(output)
    fmt, ofmt = _check_paths(input, output, engine, format, output_format)
    scan = scan_input(input, fmt, encoding)
    t["scan"] = time.perf_counter()
    ctx = make_context(gazetteer, boundaries, layers, columns, coords, crs, backend, threshold, margin, prefix,
                       within=within)
    gaz_path = str(Path(gazetteer).resolve()) if isinstance(gazetteer, (str, os.PathLike)) else None
    t["load"] = time.perf_counter()
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
    t["enrich0"] = time.perf_counter()
    parts, stats, skipped = _run_chunks(reader, runner, ctx, skey, wd, added_types, resume=resume,
                                        progress=progress, engine=engine)
    t["enrich"] = time.perf_counter()
    rows_in, rows_out = _assemble_output(parts, stats, output, ofmt, schema, sep, wd)
    t["done"] = time.perf_counter()
    manifest = {
        "geocrime_version": __version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "complete": True,
        "input": {"path": str(input.resolve()), "format": fmt, "sha256": scan["sha256"], "bytes": scan["bytes"],
                  "columns": reader.columns},
        "output": {"path": str(output.resolve()), "format": ofmt, "added_columns": list(added_types)},
        **_sources_manifest(ctx, gaz_path),
        "settings": dict(sdict["settings"], chunksize=chunksize, sep=sep, encoding=encoding, engine=engine,
                         scheduler=scheduler, workers=workers),
        "run_key": skey,
        "code_sha256": sdict["code_sha256"],
        "rows_in": rows_in,
        "rows_out": rows_out,
        "chunks": len(parts),
        "chunks_resumed": skipped,
        "counts": _sum_counts(stats),
        "timings_s": {"scan_hash": round(t["scan"] - t["start"], 3), "load": round(t["load"] - t["scan"], 3),
                      "enrich": round(t["enrich"] - t["enrich0"], 3), "assemble": round(t["done"] - t["enrich"], 3),
                      "total": round(t["done"] - t["start"], 3)},
        "python": platform.python_version(),
    }
    atomic_write_bytes(manifest_path(output), (json.dumps(manifest, indent=1, sort_keys=False, default=str) + "\n").encode())
    if not keep_work:
        shutil.rmtree(wd, ignore_errors=True)
    return manifest


def _check_paths(input: Path, output: Path, engine: str, format: str | None, output_format: str | None) -> tuple[str, str]:
    """The input and output formats; refuses an unknown engine or writing over the input."""
    if engine not in ("local", "dask"):
        raise InputError(f"engine must be 'local' or 'dask', not {engine!r}")
    fmt = file_format(input, format)
    ofmt = file_format(output, output_format)
    if input.resolve() == output.resolve():
        raise InputError("output must not be the input file")
    return fmt, ofmt


def _run_chunks(
    reader: Any, runner: Any, ctx: EnrichContext, skey: str, wd: Path, added_types: dict[str, pa.DataType], *,
    resume: bool, progress: bool, engine: str,
) -> tuple[list[Path], list[dict[str, Any]], int]:
    """Enrich every chunk into its part file (reusing finished parts when ``resume``).

    Returns (part files in input order, per-chunk statistics, number of chunks reused).
    """
    s = ctx.settings
    bar = tqdm(total=reader.n_rows, unit="rec", desc=f"enrich ({engine})", file=sys.stderr,
               dynamic_ncols=True) if progress else None
    parts: list[Path] = []
    stats: list[dict[str, Any]] = []
    skipped = 0

    def finish(i: int, part: Path, in_table: pa.Table, added: pd.DataFrame) -> None:
        tbl = in_table
        for name, col in zip(added_types, _to_arrow(added, s).columns):
            tbl = tbl.append_column(pa.field(name, added_types[name]), col)
        write_parquet_atomic(tbl.replace_schema_metadata(None), part)
        st = _chunk_stats(added, s)
        atomic_write_bytes(part.with_suffix(".json"), json.dumps(st, sort_keys=True).encode())
        stats[i] = st
        if bar is not None:
            bar.update(st["rows"])

    try:
        for i, (df, tbl) in enumerate(reader):
            part = wd / f"part-{i:06d}-{_chunk_key(skey, i, df)[:20]}.parquet"
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
    return parts, stats, skipped


def _assemble_output(parts: list[Path], stats: list[dict[str, Any]], output: Path, ofmt: str, schema: pa.Schema,
                     sep: str, wd: Path) -> tuple[int, int]:
    """Concatenate the parts in input order into ``<output>.tmp`` and rename it into place: (rows in, rows out)."""
    tmp = output.with_name(output.name + ".tmp")
    rows_out = _assemble(parts, tmp, ofmt, schema, sep=sep)
    rows_in = sum(st["rows"] for st in stats)
    if rows_out != rows_in:
        tmp.unlink(missing_ok=True)
        raise EnrichError(f"assembled {rows_out} rows but read {rows_in}: work directory {wd} is inconsistent; "
                          "delete it and re-run")
    os.replace(tmp, output)
    return rows_in, rows_out


def _sum_counts(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-status counts summed over the chunks (nested dicts summed key by key)."""
    counts: dict[str, Any] = {}
    for st in stats:
        for k, v in st.items():
            if k == "rows":
                continue
            if isinstance(v, dict):
                counts.setdefault(k, Counter()).update(v)
            else:
                counts[k] = counts.get(k, 0) + v
    return {k: (dict(sorted(v.items())) if isinstance(v, Counter) else v) for k, v in counts.items()}


def _sources_manifest(ctx: EnrichContext, gaz_path: str | None) -> dict[str, Any]:
    """The ``gazetteer`` and ``boundaries`` entries of the manifest (versions, hashes, sizes)."""
    gmeta = dict(getattr(ctx.gazetteer, "meta", {}) or {}) if ctx.gazetteer is not None else None
    return {
        "gazetteer": None if ctx.gazetteer is None else {
            "path": gaz_path, "sha256": ctx.gazetteer_hash, "entries": len(ctx.gazetteer),
            **{k: (gmeta or {}).get(k) for k in ("format_version", "sources", "counts", "build_seconds")},
        },
        "boundaries": {name: {"vintage": getattr(ctx.boundaries.get(name), "vintage", None),
                              "source": str(getattr(ctx.boundaries.get(name), "source", "")),
                              "features": int(len(ctx.boundaries.layer(name))), "sha256": h}
                       for name, h in ctx.boundaries_hash.items()},
    }


def _assemble(parts: list[Path], tmp: Path, ofmt: str, schema: pa.Schema, sep: str = ",") -> int:
    n = 0
    if ofmt == "parquet":
        with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
            for part in parts:
                t = pq.read_table(part)
                n += t.num_rows
                w.write_table(t.cast(schema))
    else:
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
    from .dask import DaskRunner  # lazy: dask.distributed is heavy and only this engine needs it

    return DaskRunner(ctx, gaz_path, scheduler=scheduler, workers=workers, client=client)
