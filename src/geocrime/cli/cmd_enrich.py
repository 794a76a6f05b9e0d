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
    p.add_argument("--columns", "-c", default=None, help="address column(s), comma-separated (joined in order; default "
                   "with a gazetteer: the first of address, Address, location, Location, text present)")
    p.add_argument("--coords", default=None, metavar="X,Y", help="coordinate columns when there is no gazetteer "
                   "(default: detected lon/lat or easting/northing)")
    p.add_argument("--crs", default=None, help="CRS of the coordinates (default: guessed from the values: British "
                   "National Grid metres when most lie outside +-180/+-90, else lon/lat)")
    p.add_argument("--within", default=None, metavar="CODES", help="borough (LAD) codes the force covers, comma-"
                   "separated, e.g. E09000022,E09000028: a match outside them is never accepted")
    p.add_argument("--backend", default="rules", choices=["rules", "libpostal", "auto"], help="address parser")
    p.add_argument("--chunksize", type=int, default=100_000, help="rows per chunk (memory grows with this, not the file)")
    p.add_argument("--sep", default=None, help="CSV delimiter (default: sniffed from the header: , ; tab |)")
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


def _preflight(args: argparse.Namespace) -> tuple[str | None, str, tuple[str, str] | None, str | None]:
    """Check what can be checked on a preview before the run: output suffix, empty file, delimiter,
    address column (found by name when -c is not given), coordinates (swapped, BNG in lon/lat, nowhere
    in Great Britain). Returns (columns, sep, coords, crs) for :func:`enrich_file`."""
    from ..errors import InputError
    from ..inputs import diagnose_points, find_coordinates, read_points, read_table, sniff_sep, table_format
    from . import note
    from ._common import address_column

    table_format(args.output, write=True, allowed=("csv", "parquet"))
    fmt = table_format(args.input)
    if fmt not in ("csv", "parquet"):
        raise InputError(f"enrich reads .csv or .parquet files, not {args.input.name!r}")
    sep = args.sep
    if fmt == "csv" and sep is None:
        head = read_table(args.input, encoding=args.encoding, nrows=2)  # empty file / header checks
        sep = head.attrs["source"]["sep"] if head.attrs.get("source") else sniff_sep(args.input, args.encoding)
    preview = read_table(args.input, sep=sep, encoding=args.encoding, nrows=10_000)
    columns = args.columns
    if args.gazetteer and not columns:
        columns = address_column(preview, None, flag="--columns")
    coords = tuple(args.coords.split(",")) if args.coords else None
    crs = args.crs
    if not args.gazetteer and (args.layers or args.boundary_file):
        c = find_coordinates(preview, *(coords or (None, None)), crs)
        if c.guessed:
            note("enrich", c.guessed)
        pts = read_points(preview, x=c.x, y=c.y, crs=c.crs, require=False)
        msg = diagnose_points(preview, c, pts["location_status"], coords_flag="--coords")
        if msg and not (pts["location_status"] == "ok").any():
            raise InputError(f"{msg} (first {len(preview):,} rows checked); nothing was written")
        if msg:
            note("enrich", msg)
        if c.x is not None:
            coords, crs = (c.x, c.y), c.crs
    return columns, sep or ",", coords, crs


def _run(args: argparse.Namespace) -> int:
    from ..enrichment import enrich_file
    from . import emit

    columns, sep, coords, crs = _preflight(args)
    b = _boundaries(args.boundary_file) if args.boundary_file else None
    m = enrich_file(
        args.input, args.output, gazetteer=args.gazetteer, boundaries=b, layers=args.layers, columns=columns,
        within=[c.strip() for c in args.within.split(",") if c.strip()] if args.within else None,
        coords=coords, crs=crs, backend=args.backend,
        prefix=args.prefix, chunksize=args.chunksize, sep=sep, encoding=args.encoding, engine=args.engine,
        scheduler=args.scheduler, workers=args.workers, resume=not args.no_resume, progress=not args.no_progress,
    )
    import sys

    fmt = {"csv": "CSV", "parquet": "Parquet"}.get(m["output"]["format"], m["output"]["format"])
    print(f"geocrime enrich: wrote {m['output']['path']} ({fmt}, {m['rows_out']:,} rows) and "
          f"{m['output']['path']}.manifest.json", file=sys.stderr)
    if args.json:
        emit(m, True)
    else:
        emit({"output": m["output"]["path"], "rows_in": m["rows_in"], "rows_out": m["rows_out"],
              "chunks": m["chunks"], "chunks_resumed": m["chunks_resumed"], "counts": m["counts"],
              "seconds": m["timings_s"]["total"]}, False)
    return _nothing_usable(m)


def _nothing_usable(m: dict[str, Any]) -> int:
    """Exit code 1 with one line when the output holds nothing: no row matched, or no row in any area."""
    import sys

    n = int(m["rows_in"])
    counts = m.get("counts", {})
    levels = counts.get("match_level") or {}
    areas = counts.get("area_status") or {}
    why = None
    if n and levels and sum(v for k, v in levels.items() if k != "none") == 0:
        why = f"none of the {n:,} rows matched the gazetteer; check --columns names the address and that the " \
              "gazetteer covers this area"
    elif n and areas and areas.get("ok", 0) == 0:
        top = ", ".join(f"{k} {v}" for k, v in sorted(areas.items(), key=lambda t: -t[1])[:3])
        why = f"no row lies in the areas of the boundary layers (area statuses: {top})"
    if why:
        print(f"geocrime enrich: error: {why}; the output was written with each row's status "
              f"({m['output']['path']})", file=sys.stderr)
        return 1
    return 0
