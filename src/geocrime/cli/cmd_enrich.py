"""``geocrime enrich INPUT OUTPUT``: geocode + areas + placeholder flags, streaming and resumable
(a thin layer over :func:`geocrime.enrichment.enrich_file`)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "enrich",
        help="geocode + ward/LSOA codes + placeholder flags for a CSV/Parquet file, in chunks, resumable",
        description="Enrich every row of INPUT (CSV or Parquet) and write OUTPUT (CSV or Parquet, by suffix): the "
        "input columns untouched, then gc_* columns. Chunks are written as part files beside OUTPUT, so an "
        "interrupted run resumes where it stopped; OUTPUT appears only when complete, with "
        "OUTPUT.manifest.json (hashes, settings, counts, timings).",
    )
    p.add_argument("input", type=Path, help="input .csv or .parquet")
    p.add_argument("output", type=Path, help="output .csv or .parquet")
    p.add_argument("--gazetteer", "-g", default=None, help="saved gazetteer directory (omit when the input has coordinates)")
    p.add_argument("--layers", "-l", default=None, help="boundary layers from the registry, e.g. ward_2022,lsoa_2021")
    p.add_argument("--boundary-file", action="append", default=[], metavar="NAME=PATH:CODE",
                   help="a boundary layer from a file instead of the registry, e.g. ward_2022=wards.gpkg:WD22CD (repeatable)")
    p.add_argument("--columns", "-c", default=None, help="address column(s), comma-separated (joined in order)")
    p.add_argument("--coords", default=None, metavar="X,Y", help="coordinate columns when there is no gazetteer "
                   "(default: detected lon/lat or easting/northing)")
    p.add_argument("--crs", default=None, help="CRS of --coords (default: lon/lat unless values look like BNG metres)")
    p.add_argument("--backend", default="rules", choices=["rules", "libpostal", "auto"], help="address parser")
    p.add_argument("--chunksize", type=int, default=100_000, help="rows per chunk (memory grows with this, not the file)")
    p.add_argument("--sep", default=",", help="CSV delimiter (default ',')")
    p.add_argument("--encoding", default=None, help="CSV encoding (default strict UTF-8; e.g. cp1252)")
    p.add_argument("--prefix", default="gc_", help="prefix of added columns (default gc_)")
    p.add_argument("--engine", default="local", choices=["local", "dask"], help="run chunks here or on a dask cluster")
    p.add_argument("--scheduler", default=None, help="dask scheduler address (tcp://host:8786); default a LocalCluster")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default 2)")
    p.add_argument("--no-resume", action="store_true", help="recompute every chunk even if its part file exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the run manifest as JSON")
    p.set_defaults(func=_run)


def _boundaries(specs: list[str]) -> Any:
    from ..areas import Boundaries
    from ..errors import InputError

    out = []
    for s in specs:
        name, eq, rest = s.partition("=")
        path, colon, code = rest.rpartition(":")
        if not eq or not colon or not name or not path or not code:
            raise InputError(f"--boundary-file must look like NAME=PATH:CODE_COLUMN, got {s!r}")
        out.append({"source": path, "name": name, "code": code})
    return Boundaries.from_files(out)


def _run(args: argparse.Namespace) -> int:
    from ..enrichment import enrich_file
    from . import emit

    b = _boundaries(args.boundary_file) if args.boundary_file else None
    m = enrich_file(
        args.input, args.output, gazetteer=args.gazetteer, boundaries=b, layers=args.layers, columns=args.columns,
        coords=tuple(args.coords.split(",")) if args.coords else None, crs=args.crs, backend=args.backend,
        prefix=args.prefix, chunksize=args.chunksize, sep=args.sep, encoding=args.encoding, engine=args.engine,
        scheduler=args.scheduler, workers=args.workers, resume=not args.no_resume, progress=not args.no_progress,
    )
    if args.json:
        emit(m, True)
    else:
        emit({"output": m["output"]["path"], "rows_in": m["rows_in"], "rows_out": m["rows_out"],
              "chunks": m["chunks"], "chunks_resumed": m["chunks_resumed"], "counts": m["counts"],
              "seconds": m["timings_s"]["total"]}, False)
    return 0
