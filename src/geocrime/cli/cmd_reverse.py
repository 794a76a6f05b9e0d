"""``geocrime reverse``: nearest address and street to points (:func:`geocrime.geocoding.reverse`)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._common import add_input_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reverse",
        help="nearest address and street to a point, or to every row of a file",
        description="Reverse geocoding against a saved gazetteer: give one point (--point X Y, lon/lat degrees or "
        "British National Grid metres, guessed from the values) or a file of points (INPUT, with --out). Adds "
        "address, address_id, address_distance_m, street, street_distance_m (metres) and reverse_status.",
    )
    p.add_argument("input", nargs="?", type=Path, help="CSV/Parquet/GeoPackage of points (or use --point)")
    p.add_argument("--point", nargs=2, type=float, metavar=("X", "Y"), help="one point: lon lat, or easting northing")
    p.add_argument("--gazetteer", "-g", type=Path, required=True, help="directory written by `geocrime gazetteer build`")
    p.add_argument("--max-distance", type=float, default=None, help="no address beyond this many metres (too_far)")
    p.add_argument("--out", type=Path, default=None, help="output file for INPUT (.csv, .parquet, .gpkg)")
    p.add_argument("--json", action="store_true", help="print the summary (or the one point's answer) as JSON")
    add_input_args(p, dates=False)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..errors import InputError
    from ..gazetteer import Gazetteer
    from ..geocoding import reverse
    from ..inputs import read_points, read_table, table_format, write_table
    from . import emit, note

    if (args.input is None) == (args.point is None):
        raise InputError("give either INPUT (a file of points, with --out) or --point X Y")
    if args.input is not None:
        if args.out is None:
            raise InputError("INPUT needs --out FILE (.csv, .parquet or .gpkg)")
        table_format(args.out, write=True, allowed=("csv", "parquet", "gpkg"))
        df = read_table(args.input, sep=args.sep, encoding=args.encoding)
    else:
        df = pd.DataFrame({"x": [args.point[0]], "y": [args.point[1]]})
        args.x, args.y = "x", "y"
    notes: list[str] = []
    pts = read_points(df, x=args.x, y=args.y, crs=args.crs, notes=notes)
    for n in notes:
        note("reverse", n)
    gaz = Gazetteer.load(args.gazetteer)
    out = reverse(pts.drop(columns=["location_status"]), gaz, max_distance=args.max_distance)
    if args.input is None:
        r = out.iloc[0]
        emit({"address": r["address"], "address_id": int(r["address_id"]),
              "address_distance_m": None if pd.isna(r["address_distance_m"]) else round(float(r["address_distance_m"]), 1),
              "street": r["street"],
              "street_distance_m": None if pd.isna(r["street_distance_m"]) else round(float(r["street_distance_m"]), 1),
              "reverse_status": r["reverse_status"]}, args.json)
        return 0 if r["reverse_status"] == "ok" else 1
    print(f"geocrime reverse: {write_table(out, args.out, allowed=('csv', 'parquet', 'gpkg'), layer='reverse')}",
          file=sys.stderr)
    st = out["reverse_status"].astype("str").value_counts()
    emit({"rows_in": int(len(df)), "rows_out": int(len(out)), "output": str(args.out),
          "reverse_status": {str(k): int(v) for k, v in st.items()}}, args.json)
    return 0
