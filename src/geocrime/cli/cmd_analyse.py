"""``geocrime aggregate``, ``geocrime hotspots`` and ``geocrime backtest``: thin CLI wrappers over
:mod:`geocrime.analysis`.

Both read police.uk street-level CSVs (or any CSV with lon/lat or easting/northing, ``Month`` and
``Crime type``). Areas come from a boundary file (``--areas FILE --code-column COL``) joined by
point-in-polygon with ``geocrime.areas`` (its edge rule), or from a registry layer (``--layer``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser(
        "aggregate",
        help="counts (and rates/harm) per area x month x crime type, zero counts included",
        description="Count police.uk incidents per area, month and crime type. Every area of the boundary "
        "file appears for every month, with 0 where nothing happened.",
    )
    a.add_argument("csv", nargs="+", type=Path, help="police.uk street CSV file(s)")
    a.add_argument("--areas", type=Path, help="boundary file (shapefile/GeoPackage) defining the areas")
    a.add_argument("--code-column", default=None, help="area code column in --areas (default: first *CD column)")
    a.add_argument("--layer", default=None, help="a registry boundary layer instead of --areas (e.g. ward_2024)")
    a.add_argument("--by", nargs="+", default=["area", "month", "crime_type"],
                   help="grouping: 'area', 'month', 'crime_type' (default all three)")
    a.add_argument("--grid", type=float, default=None, help="use square cells of this size (metres) instead of areas")
    a.add_argument("--harm", action="store_true", help="add harm totals with the default (indicative) table")
    a.add_argument("--out", type=Path, help="write the table to this CSV")
    a.add_argument("--json", action="store_true", help="print the summary as JSON")
    a.set_defaults(func=_run_aggregate)

    b = sub.add_parser(
        "backtest",
        help="score hotspot predictors (default: boosted vs retrospective KDE vs last month): hit rate, PAI, PEI, RRI",
        description="Rolling-origin backtest over the months in the CSVs on a square grid clipped to a boundary.",
    )
    b.add_argument("csv", nargs="+", type=Path, help="police.uk street CSV file(s)")
    b.add_argument("--boundary", type=Path, required=True, help="study-area boundary file (EPSG:27700 or any CRS)")
    b.add_argument("--cell-size", type=float, default=250.0, help="grid cell size in metres (default 250)")
    b.add_argument("--coverage", type=float, nargs="+", default=[0.01, 0.05, 0.10],
                   help="shares of the study area to flag (default 0.01 0.05 0.10)")
    b.add_argument("--origin-shifts", action="store_true", help="also score grids shifted by half a cell")
    b.add_argument("--crime-type", default=None, help="only this police.uk crime type (e.g. Burglary)")
    b.add_argument("--method", nargs="+", choices=sorted(_METHODS), default=["boosted", "retrospective_kde",
                   "naive_last_month"], help="predictors to score (default: boosted, the Met dev-backtest winner, "
                   "against retrospective_kde and naive_last_month)")
    b.add_argument("--out", type=Path, help="write the tidy score table to this CSV")
    b.add_argument("--plot", type=Path, help="save a PNG plot of PAI and hit rate against coverage")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    b.set_defaults(func=_run_backtest)
    _register_hotspots(sub)


#: --method name -> (geocrime.analysis class, parameters)
_METHODS = {"boosted": ("BoostedHotspot", {}), "blend": ("BlendedHotspot", {}), "sepp": ("SEPPHotspot", {}),
            "prospective": ("ProspectiveHotspot", {}), "retrospective_kde": ("RetrospectiveKDE", {}),
            "naive_last_month": ("NaiveLastPeriod", {}), "counts": ("NaiveLastPeriod", {"period_days": 400})}


def _register_hotspots(sub: argparse._SubParsersAction) -> None:
    h = sub.add_parser(
        "hotspots",
        help="Getis-Ord Gi* (or local Moran) per area with seeded permutations and FDR control",
        description="Count incidents per area of a boundary file and test for hot and cold spots with PySAL esda.",
    )
    h.add_argument("csv", nargs="+", type=Path, help="police.uk street CSV file(s)")
    h.add_argument("--areas", type=Path, help="boundary file of the areas (e.g. LSOAs)")
    h.add_argument("--code-column", default=None, help="area code column (default: first *CD column)")
    h.add_argument("--layer", default=None, help="a registry boundary layer instead of --areas (e.g. lsoa_2021)")
    h.add_argument("--statistic", choices=["gi", "moran"], default="gi")
    h.add_argument("--per-km2", action="store_true", help="test counts per km² (area as denominator)")
    h.add_argument("--permutations", type=int, default=999)
    h.add_argument("--seed", type=int, default=12345)
    h.add_argument("--alpha", type=float, default=0.05)
    h.add_argument("--no-fdr", action="store_true", help="classify on raw permutation p-values")
    h.add_argument("--out", type=Path, help="write areas with z, p_sim, q, class (GeoPackage/GeoJSON/CSV by suffix)")
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=_run_hotspots)


def _run_hotspots(args: argparse.Namespace) -> int:
    import warnings

    import shapely

    from ..analysis import AnalysisWarning, aggregate, getis_ord, local_moran
    from ..cli import emit

    pts, bnd = _assign(_read_points(args.csv), args.areas, args.code_column, args.layer)
    col = "code"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        counts = aggregate(pts, by=["area"], areas=bnd[col], unknown_areas="drop")
        y = counts.set_index("area")["count"].reindex(bnd[col].astype("string")).to_numpy()
        den = shapely.area(bnd.geometry.values) / 1e6 if args.per_km2 else None
        fn = getis_ord if args.statistic == "gi" else local_moran
        res = fn(y, bnd, denominator=den, permutations=args.permutations, seed=args.seed, alpha=args.alpha,
                 fdr=not args.no_fdr)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.out:
        out = bnd[[col, "geometry"]].copy()
        for k, v in res.to_frame().reset_index(drop=True).items():
            out[k] = v.to_numpy()
        if args.out.suffix.lower() == ".csv":
            out.drop(columns="geometry").to_csv(args.out, index=False)
        else:
            out.to_file(args.out)
    summary: dict[str, Any] = {"statistic": res.statistic, "areas": len(y), "events": int(y.sum()),
                               "permutations": args.permutations, "seed": args.seed, "fdr": not args.no_fdr,
                               **{f"n_{k}": int(v) for k, v in res.counts().items()}}
    if args.out:
        summary["out"] = str(args.out)
    emit(summary, args.json)
    return 0


def _assign(pts, areas_path: Path | None, code_column: str | None, layer: str | None):
    """(points with an ``area`` column, the area layer GeoDataFrame) via geocrime.areas."""
    from ..areas import Boundaries, assign_areas, load_layer
    from ..errors import DataNotFoundError, InputError

    if layer:
        b = Boundaries.from_registry([layer])
        name = layer
    else:
        if areas_path is None:
            raise InputError("give --areas FILE (with --code-column) or --layer NAME (e.g. ward_2024, lsoa_2021)")
        if not areas_path.exists():
            raise DataNotFoundError(f"boundary file not found: {areas_path}")
        col = code_column
        if col is None:
            import pyogrio

            fields = list(pyogrio.read_info(areas_path)["fields"])
            col = next((c for c in fields if str(c).upper().endswith("CD")), None)
            if col is None:
                raise InputError(f"no *CD code column in {areas_path}; pass --code-column (fields: {fields})")
        name = "area"
        b = Boundaries([load_layer(areas_path, name, code=col)])
    out = assign_areas(pts, b, [name])
    if name != "area":
        out["area"] = out[name]
    return out, b.layer(name)


def _read_points(paths: list[Path]):
    try:  # helper A's reader, when present
        from ..io import read_police_uk  # type: ignore[attr-defined]

        return read_police_uk([str(p) for p in paths])
    except ImportError:
        import pandas as pd

        from .._geo import as_points
        from ..errors import FileFormatError

        frames = []
        for p in paths:
            try:
                frames.append(pd.read_csv(p, dtype="string"))
            except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
                raise FileFormatError(f"cannot read {p} as CSV: {exc}") from exc
        pts, status = as_points(pd.concat(frames, ignore_index=True))
        pts["status"] = status
        return pts


def _read_boundary(path: Path):
    import geopandas as gpd

    from ..errors import CRSError, DataNotFoundError

    if not path.exists():
        raise DataNotFoundError(f"boundary file not found: {path}")
    g = gpd.read_file(path)
    if g.crs is None:
        raise CRSError(f"{path} has no CRS; add a .prj (EPSG:27700 expected)")
    return g.to_crs(27700)


def _run_aggregate(args: argparse.Namespace) -> int:
    import warnings

    from ..analysis import AnalysisWarning, SquareGrid, aggregate
    from ..cli import emit
    from ..errors import InputError

    pts = _read_points(args.csv)
    by = list(args.by)
    areas: Any = None
    if args.grid:
        if args.areas is None:
            raise InputError("--grid needs --areas (the study-area boundary file)")
        areas = SquareGrid.from_extent(_read_boundary(args.areas), args.grid)
        by = ["cell_id" if b == "area" else b for b in by]
    elif "area" in by:
        pts, lay = _assign(pts, args.areas, args.code_column, args.layer)
        areas = lay["code"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        table = aggregate(pts, by=by, areas=areas, harm=True if args.harm else None, unknown_areas="drop")
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.out:
        table.to_csv(args.out, index=False)
    summary = {"rows": len(table), **{k: v for k, v in table.attrs.items()}, "total": int(table["count"].sum())}
    if args.out:
        summary["out"] = str(args.out)
    emit(summary, args.json)
    return 0


def _run_backtest(args: argparse.Namespace) -> int:
    import warnings

    from .. import analysis
    from ..analysis import AnalysisWarning, SquareGrid, backtest
    from ..cli import emit
    from ..errors import InputError

    pts = _read_points(args.csv)
    if args.crime_type:
        col = "Crime type" if "Crime type" in pts.columns else "crime_type"
        if col not in pts.columns:
            raise InputError("--crime-type given but the CSVs have no 'Crime type' column")
        pts = pts[pts[col] == args.crime_type]
    grid = SquareGrid.from_extent(_read_boundary(args.boundary), args.cell_size)
    shifts = [(args.cell_size / 2, 0), (0, args.cell_size / 2), (args.cell_size / 2, args.cell_size / 2)] \
        if args.origin_shifts else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        preds = {m: getattr(analysis, _METHODS[m][0])(**_METHODS[m][1]) for m in args.method}
        res = backtest(pts, preds, grid, coverages=args.coverage, origin_shifts=shifts, progress=True)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.out:
        res.table.to_csv(args.out, index=False)
    if args.plot:
        res.plot(args.plot)
    s = res.summary()
    summary: dict[str, Any] = {"folds": int(res.table["fold"].nunique()), "cells_in_area": int(grid.inside().sum())}
    for _, r in s.iterrows():
        key = f"{r['method']}@{r['coverage']:.0%}"
        summary[key] = {"hit_rate": round(float(r["hit_rate"]), 4), "pai": round(float(r["pai"]), 3),
                        "pei": round(float(r["pei"]), 3), "rri": round(float(r["rri"]), 3)}
    if not args.json:
        print(s.round(3).to_string(index=False))
        extra = {k: v for k, v in summary.items() if "@" not in k}
        emit(extra, False)
    else:
        emit(summary, True)
    return 0
