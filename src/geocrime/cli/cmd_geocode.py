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
    p.add_argument("input", type=Path, help="CSV/TSV (delimiter sniffed), Parquet or GeoPackage of address records")
    p.add_argument("output", type=Path, help="output file: .csv, .parquet or .gpkg (format from the suffix)")
    p.add_argument("--gazetteer", "-g", type=Path, required=True, help="directory written by `geocrime gazetteer build`")
    p.add_argument("--column", "-c", action="append", default=None,
                   help="address column (repeat for several columns joined in order; default: the first of "
                        "address, Address, location, Location, text present)")
    p.add_argument("--sep", default=None, help="CSV delimiter (default: sniffed from the header: , ; tab |)")
    p.add_argument("--encoding", default=None, help="CSV encoding (default strict UTF-8; e.g. cp1252)")
    p.add_argument("--backend", default="rules", choices=["rules", "libpostal", "auto"])
    p.add_argument("--areas", action="store_true",
                   help="add ward_2022/lsoa_2021 (the area the point lies in) and the geocoder's estimate "
                        "ward_2022_geocoder/ward_2022_confidence, lsoa_2021_geocoder/lsoa_2021_confidence")
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (-1 = all cores)")
    p.add_argument("--within", default=None, metavar="CODES|FILE",
                   help="only places inside this area: comma-separated ONS borough codes (E09000022,E09000028) "
                        "or a polygon file (GeoPackage/GeoJSON/shapefile; reprojected to EPSG:27700)")
    p.add_argument("--review", type=Path, default=None, metavar="FILE",
                   help="also write the rows just below the acceptance rule (low match_probability, near-threshold "
                        "scores, ambiguous streets, place conflicts) with their candidates to FILE (.csv/.parquet)")
    p.add_argument("--candidates", action="store_true",
                   help="add a 'candidates' column (JSON list) for rows not placed at premises or street")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary")
    p.set_defaults(func=run)


def _read(path: Path, sep: str | None = None, encoding: str | None = None) -> Any:
    from ..inputs import read_table

    return read_table(path, sep=sep, encoding=encoding)


def write_output(gdf: Any, path: Path) -> str:
    """Write a geocoded GeoDataFrame in the format of the suffix (CSV without the geometry column,
    Parquet, GeoPackage); returns the one-line description of what was written."""
    from ..inputs import write_table

    return write_table(gdf, path, allowed=("csv", "parquet", "gpkg"), layer="geocoded")


def run(args: argparse.Namespace) -> int:
    import sys

    from ..gazetteer import Gazetteer
    from ..geocoding import DEFAULT_THRESHOLD, geocode
    from ._common import address_column
    from ..inputs import table_format

    t0 = time.perf_counter()
    table_format(args.output, write=True, allowed=("csv", "parquet", "gpkg"))  # refuse a bad suffix before any work
    if getattr(args, "review", None) is not None:
        table_format(args.review, write=True, allowed=("csv", "parquet", "gpkg"))
    df = _read(args.input, args.sep, args.encoding)
    # the address columns are checked before the gazetteer is loaded (seconds for a large one)
    cols: Any = address_column(df, args.column[0] if args.column and len(args.column) == 1 else args.column,
                               flag="--column")
    gaz = Gazetteer.load(args.gazetteer)
    bounds = None
    if args.areas:
        from ..areas import Boundaries

        bounds = Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    within: Any = None
    if args.within:
        if Path(args.within).exists():
            import geopandas as gpd

            within = gpd.read_file(args.within)
        else:
            within = [c.strip() for c in args.within.split(",") if c.strip()]
    out = geocode(df, gaz, columns=cols, boundaries=bounds, backend=args.backend,
                  threshold=args.threshold if args.threshold is not None else DEFAULT_THRESHOLD,
                  n_jobs=args.jobs, progress=True, within=within, candidates=args.candidates or args.review is not None)
    n_review = None
    if args.review is not None:
        from ..geocoding.review import review_rows

        rv = review_rows(out, args.threshold if args.threshold is not None else DEFAULT_THRESHOLD)
        write_output(rv, args.review)
        n_review = int(len(rv))
    if args.candidates:
        import json as _json

        out["candidates"] = [None if c is None else _json.dumps(c) for c in out["candidates"]]
    elif "candidates" in out:
        out = out.drop(columns=["candidates"])  # asked for by --review only

    if bounds is not None:
        out = _area_columns(out, bounds)
    wrote = write_output(out, args.output)
    print(f"geocrime geocode: {wrote}", file=sys.stderr)
    secs = time.perf_counter() - t0
    levels = out["match_level"].value_counts().to_dict()
    summary = {
        "rows_in": int(len(df)), "rows_out": int(len(out)), "output": str(args.output),
        "match_levels": {k: int(v) for k, v in levels.items()},
        "ambiguous": int(out["ambiguous"].sum()),
        "none_reasons": {k: int(v) for k, v in out.loc[out["match_level"] == "none", "reason"].value_counts().items()},
        "seconds": round(secs, 2),
    }
    if n_review is not None:
        summary["review_rows"] = n_review
        summary["review"] = str(args.review)
    emit(summary, args.json)
    return _all_unmatched(out, df, cols)


def _area_columns(out: Any, bounds: Any) -> Any:
    """The geocoder's ward_code/lsoa_code renamed to layer + vintage (``ward_2022_geocoder``,
    ``ward_2022_confidence``) and the point-in-polygon code of the chosen point (``ward_2022``)."""
    from .._geo import BNG
    from ..areas import assign_areas
    from ..enrichment.core import geocoder_area_columns, geocoder_area_layers

    names = list(getattr(bounds, "names", None) or bounds.keys())
    out = out.rename(columns=geocoder_area_columns(names))
    layers = list(geocoder_area_layers(names).values())
    if hasattr(bounds, "layer") and layers:
        a = assign_areas(out[["x", "y"]], bounds, layers, x="x", y="y", crs=BNG)
        for lay in layers:
            out.insert(out.columns.get_loc(f"{lay}_geocoder"), lay, a[lay].to_numpy(dtype=object))
    return out


def _all_unmatched(out: Any, df: Any, cols: Any) -> int:
    """Exit code 1 with a one-line explanation when no row matched at all (the output holds no point)."""
    import sys

    n = len(out)
    if n == 0 or (out["match_level"] != "none").any():
        return 0
    reasons = out["reason"].astype("str").value_counts()
    top = ", ".join(f"{k} {v}" for k, v in reasons.head(3).items())
    first = cols if isinstance(cols, str) else (list(cols)[0] if not isinstance(cols, dict) else list(cols.values())[0])
    vals = df[first].dropna().astype("str")
    sample = repr(vals.iloc[0][:60]) if len(vals) else "nothing"
    print(f"geocrime geocode: error: none of the {n:,} rows matched the gazetteer (reasons: {top}); the output was "
          f"written with each row's reason. Column {first!r} holds e.g. {sample}: check --column names the address, "
          "and that the gazetteer covers this area.", file=sys.stderr)
    return 1
