"""``geocrime geocode INPUT OUTPUT --gazetteer G``: geocode a CSV/Parquet file of address records."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from . import emit


def register(sub: Any) -> None:
    p = sub.add_parser("geocode", help="geocode address records against a saved gazetteer",
                       description="Geocode every row of INPUT (CSV or Parquet) against a gazetteer saved with "
                                   "`geocrime gazetteer build`; write OUTPUT (CSV, Parquet or GeoPackage) with "
                                   "match_level, point, uncertainty, score, faults and area confidence.")
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--gazetteer", "-g", type=Path, required=True, help="directory written by `geocrime gazetteer build`")
    p.add_argument("--column", "-c", action="append", default=None,
                   help="address column (repeat for several columns joined in order; default: the first of "
                        "address, Address, location, Location, text present)")
    p.add_argument("--backend", default="rules", choices=["rules", "libpostal", "auto"])
    p.add_argument("--areas", action="store_true", help="add ward_code/lsoa_code with confidence (ward 2022, LSOA 2021)")
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (-1 = all cores)")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary")
    p.set_defaults(func=run)


def _read(path: Path) -> Any:
    import pandas as pd

    from ..errors import DataNotFoundError, FileFormatError

    if not path.exists():
        raise DataNotFoundError(f"input not found: {path}")
    suf = path.suffix.lower()
    try:
        if suf in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding_errors="replace")
    except Exception as exc:  # noqa: BLE001
        raise FileFormatError(f"cannot read {path}: {exc}") from exc


def write_output(gdf: Any, path: Path) -> None:
    """Write a geocoded GeoDataFrame as CSV (no geometry column), Parquet or GeoPackage."""
    suf = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suf in (".parquet", ".pq"):
        gdf.to_parquet(path)
    elif suf == ".gpkg":
        gdf.to_file(path, driver="GPKG")
    else:
        gdf.drop(columns="geometry").to_csv(path, index=False)


def run(args: argparse.Namespace) -> int:
    from ..gazetteer import Gazetteer
    from ..geocoding import DEFAULT_THRESHOLD, address_columns, geocode

    t0 = time.perf_counter()
    df = _read(args.input)
    # the address columns are checked before the gazetteer is loaded (seconds for a large one)
    cols: Any = address_columns(df, args.column[0] if args.column and len(args.column) == 1 else args.column,
                                flag="--column")
    gaz = Gazetteer.load(args.gazetteer)
    bounds = None
    if args.areas:
        from ..areas._points import default_boundaries

        bounds = default_boundaries()
    out = geocode(df, gaz, columns=cols, boundaries=bounds, backend=args.backend,
                  threshold=args.threshold if args.threshold is not None else DEFAULT_THRESHOLD,
                  n_jobs=args.jobs, progress=True)
    write_output(out, args.output)
    secs = time.perf_counter() - t0
    levels = out["match_level"].value_counts().to_dict()
    summary = {
        "rows_in": int(len(df)), "rows_out": int(len(out)), "output": str(args.output),
        "match_levels": {k: int(v) for k, v in levels.items()},
        "ambiguous": int(out["ambiguous"].sum()),
        "none_reasons": {k: int(v) for k, v in out.loc[out["match_level"] == "none", "reason"].value_counts().items()},
        "seconds": round(secs, 2),
    }
    emit(summary, args.json)
    return 0
