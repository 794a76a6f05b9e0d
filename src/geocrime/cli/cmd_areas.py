"""``geocrime areas INPUT OUTPUT --layers ward_2022,lsoa_2021``: add area codes to every row of a table."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "areas",
        help="add ward/LSOA/borough codes to points (CSV/Parquet in; Parquet/GeoPackage/CSV out)",
        description="Assign every row of INPUT to the polygons of each boundary layer (point in polygon; "
        "on a shared edge the smallest code wins; rows in no polygon keep a null code and an "
        "'outside:<layer>' status). Coordinates: a geometry column (GeoParquet), Longitude/Latitude "
        "(EPSG:4326), Easting/Northing (EPSG:27700), or --x/--y with --crs.",
    )
    p.add_argument("input", help="CSV/TSV (delimiter sniffed), (Geo)Parquet or GeoPackage of points")
    p.add_argument("output", help="output file: .parquet (GeoParquet), .gpkg (GeoPackage), .geojson or .csv")
    p.add_argument("--layers", default="ward_2022,lsoa_2021",
                   help="comma-separated registry layer names (default: ward_2022,lsoa_2021; "
                   "also ward_2024, borough)")
    p.add_argument("--x", help="x / longitude column (default: found by name)")
    p.add_argument("--y", help="y / latitude column (default: found by name)")
    p.add_argument("--crs", help="CRS of the coordinates, e.g. EPSG:4326 or EPSG:27700 (default: guessed from the "
                   "values: British National Grid metres when most lie outside +-180/+-90, else lon/lat)")
    p.add_argument("--sep", default=None, help="CSV delimiter (default: sniffed from the header)")
    p.add_argument("--encoding", default=None, help="CSV encoding (default strict UTF-8; e.g. cp1252)")
    p.add_argument("--names", action="store_true", help="also add <layer>_name columns")
    p.add_argument("--chunk-size", type=int, default=250_000, help="rows per chunk (progress bar step)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import pandas as pd
    from tqdm import tqdm

    from ..areas import Boundaries, assign_areas
    from ..cli import emit
    from ..errors import InputError

    from ..inputs import diagnose_points, find_coordinates, read_table, table_format, write_table
    from . import note

    t0 = time.perf_counter()
    out_path = Path(args.output)
    table_format(out_path, write=True)  # refuse an unknown suffix before any work
    layers = [s.strip() for s in args.layers.split(",") if s.strip()]
    if not layers:
        raise InputError("--layers is empty: name at least one layer, e.g. --layers ward_2024")
    data = read_table(Path(args.input), sep=args.sep, encoding=args.encoding)
    coords = find_coordinates(data, args.x, args.y, args.crs)
    if coords.guessed:
        note("areas", coords.guessed)
    b = Boundaries.from_registry(layers)
    n = len(data)
    step = max(1, int(args.chunk_size))
    parts = []
    with tqdm(total=n, unit="rows", desc="areas", file=sys.stderr, disable=None) as bar:
        for start in range(0, max(n, 1), step):
            chunk = data.iloc[start:start + step]
            parts.append(assign_areas(chunk, b, layers, names=args.names, x=coords.x, y=coords.y, crs=coords.crs))
            bar.update(len(chunk))
    out = parts[0] if len(parts) == 1 else pd.concat(parts)
    st = out["area_status"].astype("str")
    located = st.eq("ok") | st.str.startswith("outside:")
    msg = diagnose_points(data, coords, located.map({True: "ok"}).fillna(st))
    if msg and not located.any():
        raise InputError(f"{msg}; nothing was written")
    if msg:
        note("areas", msg)
    if n and located.any() and not any(out[lay].notna().any() for lay in layers):
        raise InputError(f"none of the {int(located.sum()):,} located rows lies in an area of {', '.join(layers)} "
                         f"(these boundaries cover London): the points are elsewhere ({_where(out[located.to_numpy()])}); "
                         "nothing was written")
    wrote = write_table(out, out_path, layer="areas")
    print(f"geocrime areas: {wrote}", file=sys.stderr)
    status = out["area_status"].value_counts()
    summary = {
        "input": str(args.input),
        "output": str(out_path),
        "rows_in": int(n),
        "rows_out": int(len(out)),
        "layers": layers,
        "status": {str(k): int(v) for k, v in status.items()},
        "matched": {lay: int(out[lay].notna().sum()) for lay in layers},
        "seconds": round(time.perf_counter() - t0, 3),
    }
    emit(summary, args.json)
    return 0


def _where(pts: Any) -> str:
    """The extent of located points in lon/lat, for messages."""
    try:
        b = pts.to_crs(4326).total_bounds
        return f"lon {b[0]:.2f}..{b[2]:.2f}, lat {b[1]:.2f}..{b[3]:.2f}"
    except Exception:  # noqa: BLE001
        return "extent unknown"
