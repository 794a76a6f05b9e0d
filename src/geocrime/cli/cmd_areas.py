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
    p.add_argument("input", help="CSV or (Geo)Parquet file of points")
    p.add_argument("output", help="output file: .parquet (GeoParquet), .gpkg (GeoPackage) or .csv")
    p.add_argument("--layers", default="ward_2022,lsoa_2021",
                   help="comma-separated registry layer names (default: ward_2022,lsoa_2021; "
                   "also ward_2024, borough)")
    p.add_argument("--x", help="x / longitude column")
    p.add_argument("--y", help="y / latitude column")
    p.add_argument("--crs", help="CRS of --x/--y, e.g. EPSG:4326 or EPSG:27700 (default: guessed from the values)")
    p.add_argument("--names", action="store_true", help="also add <layer>_name columns")
    p.add_argument("--chunk-size", type=int, default=250_000, help="rows per chunk (progress bar step)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=_run)


def _read(path: Path) -> Any:
    import geopandas as gpd
    import pandas as pd

    from ..errors import DataNotFoundError, FileFormatError

    if not path.is_file():
        raise DataNotFoundError(f"input file not found: {path}")
    suf = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    try:
        if suf in (".csv", ".csv.gz", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        if suf in (".parquet", ".geoparquet", ".pq"):
            import pyarrow.parquet as pq

            meta = pq.read_schema(path).metadata or {}
            return gpd.read_parquet(path) if b"geo" in meta else pd.read_parquet(path)
    except UnicodeDecodeError:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="cp1252")
    except Exception as exc:
        raise FileFormatError(f"cannot read {path}: {exc}") from exc
    raise FileFormatError(f"unsupported input {path.name!r}: use .csv or .parquet")


def _write(gdf: Any, path: Path) -> None:
    import pandas as pd

    from ..errors import FileFormatError

    suf = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suf in (".parquet", ".geoparquet"):
        gdf.to_parquet(path, index=False)
    elif suf == ".gpkg":
        gdf.to_file(path, driver="GPKG", layer="areas")
    elif suf == ".csv":
        pd.DataFrame(gdf.drop(columns=[gdf.geometry.name])).to_csv(path, index=False)
    else:
        raise FileFormatError(f"unsupported output {path.name!r}: use .parquet, .gpkg or .csv")


def _run(args: argparse.Namespace) -> int:
    import pandas as pd
    from tqdm import tqdm

    from ..areas import Boundaries, assign_areas
    from ..cli import emit
    from ..errors import InputError

    t0 = time.perf_counter()
    out_path = Path(args.output)
    if out_path.suffix.lower() not in (".parquet", ".geoparquet", ".gpkg", ".csv"):
        raise InputError(f"unsupported output {out_path.name!r}: use .parquet, .gpkg or .csv")
    layers = [s.strip() for s in args.layers.split(",") if s.strip()]
    data = _read(Path(args.input))
    b = Boundaries.from_registry(layers)
    n = len(data)
    step = max(1, int(args.chunk_size))
    parts = []
    with tqdm(total=n, unit="rows", desc="areas", file=sys.stderr, disable=None) as bar:
        for start in range(0, max(n, 1), step):
            chunk = data.iloc[start:start + step]
            parts.append(assign_areas(chunk, b, layers, names=args.names, x=args.x, y=args.y, crs=args.crs))
            bar.update(len(chunk))
    out = parts[0] if len(parts) == 1 else pd.concat(parts)
    _write(out, out_path)
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
