"""``geocrime tiles``: incidents -> publish gate -> public tile pyramid (and optionally the public page).

The command always runs the publish gate itself (there is no way to hand it ungated data): map
points are built from an address file (any CSV with easting/northing or lon/lat columns, e.g. OS
Code-Point Open, or a GeoPackage/shapefile of points) with ``k`` addresses per catchment, incidents
are snapped, counted per month and category, and area cells suppressed. What each source covers is
inferred from the incidents (police.uk ``Reported by``: its months, crime types and boroughs, as
``geocrime aggregate`` does): cells no source covers are left out ("no data", never 0) of the tables,
the tiles and the page, and the summary and disclosure report state the coverage. Outputs go into ``--out``:
``tiles/`` (or ``tiles.pmtiles``), ``disclosure.json``/``.md`` and, with ``--page``, ``index.html``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ._common import add_input_args, read_incidents, require


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tiles",
        help="gate incidents and write the public tile pyramid (MVT z/x/y.pbf by default) + disclosure report",
        description="Pass incidents through the publish gate (anonymous map points from --addresses, small-count "
        "suppression) and write an XYZ tile pyramid of the gated counts; optionally the static public page. Each "
        "source's coverage (months, crime types, boroughs) is inferred from its records (police.uk 'Reported by'): "
        "cells no source covers are left out as no data, never published as 0.",
    )
    p.add_argument("csv", nargs="+", type=Path, help="incident CSV file(s) (police.uk street CSVs or any CSV with "
                   "lon/lat or easting/northing, a month/date column and a crime type column)")
    p.add_argument("--addresses", type=Path, required=True,
                   help="address points for the map points: CSV(.gz) with easting/northing or lon/lat, or a vector file")
    p.add_argument("--address-id", default=None, help="stable id column of --addresses (e.g. Postcode)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--k", type=int, default=8, help="minimum addresses per map point catchment (default 8)")
    p.add_argument("--threshold", type=int, default=5, help="suppress area cells below this count (default 5)")
    p.add_argument("--layers", nargs="+", default=["ward_2024"], help="area layers to publish (default ward_2024)")
    p.add_argument("--format", choices=["mvt", "pmtiles", "png"], default="mvt", help="tile format (default mvt)")
    p.add_argument("--minzoom", type=int, default=8)
    p.add_argument("--maxzoom", type=int, default=16)
    p.add_argument("--min-count", type=int, default=None,
                   help="minimum count per feature at every zoom (default: 5 at z8-9, 3 at z10-11, 2 at z12-13, else 1)")
    p.add_argument("--page", action="store_true", help="also write the static public map page (needs --format mvt or png)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_input_args(p)
    p.set_defaults(func=_run)


def _read_addresses(path: Path, id_col: str | None) -> Any:
    import geopandas as gpd

    from ..errors import InputError

    if not path.exists():
        raise InputError(f"address file not found: {path}")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv", ".parquet")):
        from ..inputs import read_points, read_table

        pts = read_points(read_table(path, what="address"))
        return pts[(pts.pop("location_status") == "ok").to_numpy()]  # unlocated address rows cannot anchor a map point
    g = gpd.read_file(path)
    if g.crs is None:
        raise InputError(f"{path} has no CRS; set one (EPSG:27700 for British National Grid)")
    return g


def _run(args: argparse.Namespace) -> int:
    from . import emit
    from ..errors import GeocrimeError
    from ..publish import build_map_points, gate, write_disclosure_report
    from ..publish.page import write_public_page
    from ..publish.tiles import write_tiles

    t0 = time.perf_counter()
    secs: dict[str, float] = {}
    if args.page and args.format == "pmtiles":
        raise GeocrimeError("--page shows z/x/y tile directories: use --format mvt (default) or png")
    missing = [str(p) for p in args.csv if not p.exists()]
    if missing:
        raise GeocrimeError(f"incident file(s) not found: {missing}")
    print("reading incidents and addresses...", file=sys.stderr)
    inc = read_incidents(args)
    require(inc, "month", "--month-column", "month or date column")
    require(inc, "crime_type", "--type-column", "crime type column")
    addr = _read_addresses(args.addresses, args.address_id)
    secs["read"] = time.perf_counter() - t0
    print(f"building map points (k={args.k}) from {len(addr):,} addresses...", file=sys.stderr)
    t = time.perf_counter()
    mp = build_map_points(addr, k=args.k, id_col=args.address_id)
    secs["map_points"] = time.perf_counter() - t
    print(f"gating {len(inc):,} incidents...", file=sys.stderr)
    t = time.perf_counter()
    g = gate(inc, mp, layers=tuple(args.layers), threshold=args.threshold)
    secs["gate"] = time.perf_counter() - t
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    target = out / ("tiles.pmtiles" if args.format == "pmtiles" else "tiles")
    ts = write_tiles(g, target, minzoom=args.minzoom, maxzoom=args.maxzoom, format=args.format,
                     min_count=args.min_count)
    secs["tiles"] = time.perf_counter() - t
    js, md = write_disclosure_report(g.report, out / "disclosure")
    page = None
    if args.page:
        t = time.perf_counter()
        page = write_public_page(g, out, tiles=ts)
        secs["page"] = time.perf_counter() - t
    emit({
        "incidents": int(len(inc)), "map_points": int(len(mp.points)),
        "published_point_rows": int(len(g.points)), "published_incidents": int(g.points["count"].sum()),
        "tiles": ts.tile_count, "tile_bytes": ts.total_bytes, "format": ts.format, "tiles_path": str(ts.path),
        "disclosure": str(md), "page": str(page) if page else None,
        "coverage": _coverage_summary(g.params.get("coverage") or {}),
        "seconds": {k: round(v, 2) for k, v in secs.items()},
    }, args.json)
    if int(g.points["count"].sum()) == 0 or ts.tile_count == 0:
        located = int((inc["status"] == "ok").sum())
        why = (f"none of the {located:,} located incidents could be published: they lie in no borough with map points "
               f"from {args.addresses.name}, or every count fell below --threshold {args.threshold}") if located else \
            "no incident has a usable location"
        print(f"geocrime tiles: error: the output is empty: {why}; see {md}", file=sys.stderr)
        return 1
    return 0


def _coverage_summary(cov: dict[str, Any]) -> dict[str, Any]:
    """The gate's coverage, short: per source its areas, months and crime types; cells and incidents left out."""
    return {"sources": cov.get("sources", "all"), "cells_outside": cov.get("cells_outside", 0),
            "incidents_outside": cov.get("incidents_outside", 0)}
