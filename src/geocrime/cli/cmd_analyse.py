"""``geocrime aggregate``, ``geocrime hotspots`` and ``geocrime backtest``: thin CLI wrappers over
:mod:`geocrime.analysis`.

All read police.uk street-level CSVs or any geocoded file (CSV/Parquet/GeoPackage with a geometry,
lon/lat, easting/northing or x/y columns; month and crime type columns found by name or named by flag)
through :mod:`geocrime.inputs`. Areas come from a boundary file (``--areas FILE --code-column COL``) joined by
point-in-polygon with ``geocrime.areas`` (its edge rule), or from a registry layer (``--layer``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import cli_message
from ._common import add_input_args, read_incidents, require, said


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser(
        "aggregate",
        help="counts (and rates/harm) per area x month x crime type, zero counts included",
        description="Count police.uk incidents per area, month and crime type. Every area of the boundary "
        "file appears for every month, with 0 where nothing happened.",
    )
    a.add_argument("csv", nargs="+", type=Path, help="incident file(s): police.uk street CSVs or any geocoded file")
    a.add_argument("--areas", type=Path, help="boundary file (shapefile/GeoPackage) defining the areas")
    a.add_argument("--code-column", default=None, help="area code column in --areas (default: first *CD column)")
    a.add_argument("--layer", default=None, help="a registry boundary layer instead of --areas (e.g. ward_2024)")
    a.add_argument("--by", nargs="+", default=["area", "month", "crime_type"],
                   help="grouping: 'area', 'month', 'crime_type' (default all three)")
    a.add_argument("--grid", type=float, default=None, help="use square cells of this size (metres) instead of areas")
    a.add_argument("--harm", action="store_true", help="add harm totals with the default (indicative) table")
    a.add_argument("--out", type=Path, help="write the table to this file (.csv or .parquet)")
    a.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_input_args(a)
    a.set_defaults(func=_run_aggregate)

    b = sub.add_parser(
        "backtest",
        help="score hotspot predictors (default: blend vs retrospective KDE vs last month): hit rate, PAI, PEI, RRI",
        description="Rolling-origin backtest over the months in the CSVs on a square grid clipped to a boundary.",
    )
    b.add_argument("csv", nargs="+", type=Path, help="incident file(s): police.uk street CSVs or any geocoded file")
    b.add_argument("--boundary", type=Path, required=True, help="study-area boundary file (EPSG:27700 or any CRS)")
    b.add_argument("--cell-size", type=float, default=250.0, help="grid cell size in metres (default 250)")
    b.add_argument("--coverage", type=float, nargs="+", default=[0.01, 0.05, 0.10],
                   help="shares of the study area to flag (default 0.01 0.05 0.10)")
    b.add_argument("--origin-shifts", action="store_true", help="also score grids shifted by half a cell")
    b.add_argument("--crime-type", default=None, help="only this police.uk crime type (e.g. Burglary)")
    b.add_argument("--method", nargs="+", choices=sorted(_METHODS), default=["blend", "retrospective_kde",
                   "naive_last_month"], help="predictors to score (default: blend, the Met dev-backtest winner, "
                   "against retrospective_kde and naive_last_month)")
    b.add_argument("--out", type=Path, help="write the tidy score table to this file (.csv or .parquet)")
    b.add_argument("--plot", type=Path, help="save a PNG plot of PAI and hit rate against coverage")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_input_args(b)
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
    h.add_argument("csv", nargs="+", type=Path, help="incident file(s): police.uk street CSVs or any geocoded file")
    h.add_argument("--areas", type=Path, help="boundary file of the areas (e.g. LSOAs)")
    h.add_argument("--code-column", default=None, help="area code column (default: first *CD column)")
    h.add_argument("--layer", default=None, help="a registry boundary layer instead of --areas (e.g. lsoa_2021)")
    h.add_argument("--statistic", choices=["gi", "moran"], default="gi")
    h.add_argument("--per-km2", action="store_true", help="test counts per km² (area as denominator)")
    h.add_argument("--permutations", type=int, default=999)
    h.add_argument("--seed", type=int, default=12345)
    h.add_argument("--alpha", type=float, default=0.05)
    h.add_argument("--no-fdr", action="store_true", help="classify on raw permutation p-values")
    h.add_argument("--out", type=Path, help="write areas with z, p_sim, q, class (.gpkg, .geojson, .parquet or .csv)")
    h.add_argument("--plot", type=Path, help="save a PNG map of the hot and cold spots")
    h.add_argument("--json", action="store_true")
    add_input_args(h)
    h.set_defaults(func=_run_hotspots)


def _run_hotspots(args: argparse.Namespace) -> int:
    import warnings

    import shapely

    import numpy as np
    import pandas as pd

    from ..analysis import AnalysisWarning, aggregate, getis_ord, local_moran
    from ..analysis.aggregate import area_totals
    from ..cli import emit

    from ..inputs import table_format

    if args.out:
        table_format(args.out, write=True)  # refuse an unknown suffix before any work
    if args.plot:
        _check_plot(args.plot)
    pts, bnd = _assign(read_incidents(args), args.areas, args.code_column, args.layer)
    col = "code"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        counts = aggregate(pts, by=["area"], areas=bnd[col], unknown_areas="drop",
                           coverage_units=bnd.attrs.get("coverage_units"))
        y_all = area_totals(counts, "area").reindex(bnd[col].astype("string")).to_numpy(dtype=float)
        keep = ~np.isnan(y_all)  # areas no source covers: no data, left out of the test (never a false 0)
        if not keep.all():
            said(args.command, f"{int((~keep).sum()):,} of {len(y_all):,} areas are outside the data's coverage "
                 f"(no data, not 0): testing the other {int(keep.sum()):,}")
        tested, y = bnd[keep].reset_index(drop=True), y_all[keep]
        den = shapely.area(tested.geometry.values) / 1e6 if args.per_km2 else None
        fn = getis_ord if args.statistic == "gi" else local_moran
        res = fn(y, tested, denominator=den, permutations=args.permutations, seed=args.seed, alpha=args.alpha,
                 fdr=not args.no_fdr)
    for w in caught:
        said(args.command, f"warning: {cli_message(str(w.message))}")
    out = bnd[[col, "geometry"]].copy()  # every area; those outside the coverage read class "no data"
    for k, v in res.to_frame().reset_index(drop=True).items():
        vals = v.to_numpy()
        full = np.full(len(out), np.nan) if vals.dtype.kind in "fiu" else np.full(len(out), None, dtype=object)
        full[keep] = vals
        out[k] = full
    out.loc[~keep, "class"] = "no data"
    out.loc[~keep, "y"] = np.nan
    if args.out:
        from ..inputs import write_table

        said("hotspots", write_table(out, args.out, layer="hotspots"))
    if args.plot:
        said("hotspots", f"wrote {_plot_hotspots(out, args.plot, res.statistic)} (PNG map)")
    summary: dict[str, Any] = {"statistic": res.statistic, "areas": len(out), "areas_tested": int(keep.sum()),
                               "areas_no_data": int((~keep).sum()), "events": int(y.sum()),
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
    from ..inputs import check_in_areas

    check_in_areas(out["area"], layer or str(areas_path), int((out["status"] == "ok").sum()) if "status" in out else len(out))
    lay = b.layer(name)
    lay.attrs["coverage_units"] = _borough_of(lay)
    return out, lay


def _borough_of(lay: Any) -> Any:
    """Area code -> London borough code (by a point on each area's surface), so that ``aggregate`` can
    tell the boroughs a source covers from the ones it does not (no data, not 0); None when the
    borough layer is not available or no area lies in a borough."""
    import pandas as pd
    import shapely

    from ..areas import Boundaries

    try:
        bb = Boundaries.from_registry(["borough"])
    except Exception:  # noqa: BLE001 - coverage then falls back to "every area covered"
        return None
    pts = shapely.point_on_surface(lay.geometry.values)
    idx = bb.lookup("borough", shapely.get_x(pts), shapely.get_y(pts))
    codes = bb.layer("borough")["code"].astype("string").to_numpy()
    units = pd.Series([codes[i] if i >= 0 else None for i in idx], index=lay["code"].astype("string").to_numpy())
    return units if units.notna().any() else None


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

    from ..inputs import table_format

    if args.out:
        table_format(args.out, write=True, allowed=("csv", "parquet"))
    pts = read_incidents(args)
    by = list(args.by)
    if "month" in by:
        require(pts, "month", "--month-column", "month or date column")
    if "crime_type" in by:
        require(pts, "crime_type", "--type-column", "crime type column")
    areas: Any = None
    cov_units = None
    if args.grid:
        if args.areas is None:
            raise InputError("--grid needs --areas (the study-area boundary file)")
        areas = SquareGrid.from_extent(_read_boundary(args.areas), args.grid)
        by = ["cell_id" if b == "area" else b for b in by]
    elif "area" in by:
        pts, lay = _assign(pts, args.areas, args.code_column, args.layer)
        areas = lay["code"]
        cov_units = lay.attrs.get("coverage_units")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        table = aggregate(pts, by=by, areas=areas, harm=True if args.harm else None, unknown_areas="drop",
                          coverage_units=cov_units)
    for w in caught:
        said(args.command, f"warning: {cli_message(str(w.message))}")
    if args.out:
        from ..inputs import write_table

        said("aggregate", write_table(table, args.out, allowed=("csv", "parquet")))
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

    from ..inputs import table_format

    if args.out:
        table_format(args.out, write=True, allowed=("csv", "parquet"))
    if args.plot:
        _check_plot(args.plot)
    pts = read_incidents(args)
    require(pts, "month", "--month-column", "month or date column")
    if args.crime_type:
        require(pts, "crime_type", "--type-column", "crime type column (for --crime-type)")
        keep = pts["crime_type"] == args.crime_type
        if not keep.any():
            seen = ", ".join(sorted(map(str, pts["crime_type"].dropna().unique()))[:20])
            raise InputError(f"no incident has crime type {args.crime_type!r}; the files hold: {seen}")
        pts = pts[keep.fillna(False).to_numpy(dtype=bool)]
    grid = SquareGrid.from_extent(_read_boundary(args.boundary), args.cell_size)
    shifts = [(args.cell_size / 2, 0), (0, args.cell_size / 2), (args.cell_size / 2, args.cell_size / 2)] \
        if args.origin_shifts else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        preds = {m: getattr(analysis, _METHODS[m][0])(**_METHODS[m][1]) for m in args.method}
        res = backtest(pts, preds, grid, coverages=args.coverage, origin_shifts=shifts, progress=True)
    for w in caught:
        said(args.command, f"warning: {cli_message(str(w.message))}")
    if args.out:
        from ..inputs import write_table

        said("backtest", write_table(res.table, args.out, allowed=("csv", "parquet")))
    if args.plot:
        said("backtest", f"wrote {res.plot(args.plot)} (PAI and hit rate against coverage)")
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


def _check_plot(path: Path) -> None:
    from ..errors import FileFormatError

    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise FileFormatError(f"cannot plot to {path.name!r}: use a .png (or .svg/.pdf) file name")


def _plot_hotspots(out: Any, path: Path, statistic: str) -> Path:
    """A static map of the classes (hot: reds, cold: blues, ColorBrewer RdBu), matplotlib Agg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    colours = {"hot": "#b2182b", "cold": "#2166ac", "ns": "#f0f0f0", "nodata": "#bdbdbd"}
    cls = out["class"].astype("str")
    key = cls.where(cls.isin(["hot", "cold"]), "ns").where(cls != "no data", "nodata")
    fig, ax = plt.subplots(figsize=(8, 8), dpi=120)
    out.plot(ax=ax, color=key.map(colours).to_numpy(), edgecolor="#999999", linewidth=0.2)
    data = out[(key != "nodata").to_numpy()]
    if len(data) and len(data) < len(out):  # zoom to the areas with data
        x0, y0, x1, y1 = data.total_bounds
        pad = 0.1 * max(x1 - x0, y1 - y0, 500.0)
        ax.set_xlim(x0 - pad, x1 + pad)
        ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_axis_off()
    n = key.value_counts()
    ax.legend(handles=[Patch(color=colours[k], label=f"{lab} ({int(n.get(k, 0))})") for k, lab in
                       (("hot", "hot spot"), ("cold", "cold spot"), ("ns", "not significant"),
                                     ("nodata", "no data (outside the data's coverage)")) if k != "nodata" or n.get(k)],
              loc="lower left", frameon=False)
    ax.set_title(f"{'Getis-Ord Gi*' if statistic.lower().startswith('g') else 'Local Moran'} hot and cold spots")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
