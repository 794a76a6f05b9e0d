"""``geocrime map INPUT... --out map.html``: the analysts' internal map (:func:`geocrime.maps.internal_map`)
from police.uk street CSVs or any geocoded file; layers chosen by flags, two at most by default."""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any

from ._common import add_input_args, read_incidents


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="internal (not public) map of incidents: points, counts per area, heat, hotspots",
        description="Draw an analysts' map from incident files (police.uk street CSVs or any geocoded file) into "
        "one HTML file. By default two layers at most: the incidents (points, clustered when many) and, with "
        "--layer/--areas, the counts per area. --heat and --hotspots add layers; --no-points removes the points. "
        "This map shows exact locations: it is for internal use only; public maps come from `geocrime tiles`.",
    )
    p.add_argument("csv", nargs="+", type=Path, help="incident file(s): police.uk street CSVs or any geocoded file")
    p.add_argument("--out", type=Path, required=True, help="the map file to write (.html)")
    p.add_argument("--layer", default=None, help="registry boundary layer for counts per area (e.g. ward_2024, lsoa_2021)")
    p.add_argument("--areas", type=Path, default=None, help="boundary file for counts per area (instead of --layer)")
    p.add_argument("--code-column", default=None, help="area code column of --areas (default: first *CD column)")
    p.add_argument("--no-points", action="store_true", help="leave the incident points out")
    p.add_argument("--heat", action="store_true", help="add a heat layer of the incidents")
    p.add_argument("--hotspots", action="store_true", help="add Gi* hot and cold spots of the area counts (needs --layer/--areas)")
    p.add_argument("--crime-type", default=None, help="only incidents of this crime type")
    p.add_argument("--popup", action="append", default=None, metavar="COLUMN",
                   help="column to show in the point popups (repeatable; default: the first 10 columns)")
    p.add_argument("--basemap", default=None, help="street tiles: carto-positron (default), osm, an XYZ URL, or 'none' "
                   "(offline: borough outlines and names only)")
    p.add_argument("--title", default=None, help="title shown on the map")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_input_args(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from .. import maps
    from ..errors import FileFormatError, InputError
    from . import emit

    if args.out.suffix.lower() not in (".html", ".htm"):
        raise FileFormatError(f"cannot write the map to {args.out.name!r}: use a .html file name")
    if args.hotspots and not (args.layer or args.areas):
        raise InputError("--hotspots needs areas: add --layer NAME (e.g. ward_2024) or --areas FILE")
    pts = read_incidents(args)
    if args.crime_type:
        from ._common import require

        require(pts, "crime_type", "--type-column", "crime type column (for --crime-type)")
        keep = (pts["crime_type"] == args.crime_type).fillna(False).to_numpy(dtype=bool)
        if not keep.any():
            seen = ", ".join(sorted(map(str, pts["crime_type"].dropna().unique()))[:20])
            raise InputError(f"no incident has crime type {args.crime_type!r}; the files hold: {seen}")
        pts = pts[keep]
    located = int((pts["status"] == "ok").sum())
    kw: dict[str, Any] = {"title": args.title}
    layers = ["points"] if not args.no_points else []
    summary: dict[str, Any] = {"incidents": int(len(pts)), "located": located}
    if args.layer or args.areas:
        from .cmd_analyse import _assign
        from ..analysis import aggregate
        from ..analysis.aggregate import area_totals

        pts, bnd = _assign(pts, args.areas, args.code_column, args.layer)
        counts = aggregate(pts, by=["area"], areas=bnd["code"], unknown_areas="drop",
                           coverage_units=bnd.attrs.get("coverage_units"))
        values = area_totals(counts, "area")  # NaN where no source has data: drawn as "no data", not 0
        kw.update(areas=bnd, values=values, value_label="incidents", area_id="code",
                  area_name="name" if "name" in bnd.columns else "code")
        layers.append("counts per area")
        summary["areas"] = int(len(bnd))
        summary["areas_no_data"] = int(values.reindex(bnd["code"].astype("string")).isna().sum())
        if args.hotspots:
            from ..analysis import getis_ord

            y = values.reindex(bnd["code"].astype("string")).to_numpy(dtype=float)
            cov = ~pd.isna(y)  # hot spots among the areas with data only
            sub = bnd[cov].reset_index(drop=True)
            res = getis_ord(y[cov], sub, permutations=999, seed=12345)
            kw["hotspots"] = sub.assign(**{"class": res.classes})
            summary["hotspots"] = {str(k): int(v) for k, v in res.counts().items()}
            layers.append("hotspots")
    kw["heat"] = bool(args.heat)
    if args.heat:
        layers.append("heat")
    kw["points"] = not args.no_points
    if args.popup:
        kw["popup_fields"] = args.popup
    kw["month_col"] = "month" if "month" in pts.columns and pts["month"].notna().any() else None
    if args.basemap is not None:
        kw["basemap"] = None if args.basemap.lower() == "none" else args.basemap
    if not layers:
        raise InputError("nothing to draw: --no-points without --layer/--areas or --heat")
    params = inspect.signature(maps.internal_map).parameters
    dropped = [k for k in kw if k not in params]
    if any(k in ("points", "basemap") for k in dropped) and (args.no_points or args.basemap):
        raise InputError("this geocrime version's internal_map has no "
                         f"{' / '.join(k for k in dropped if k in ('points', 'basemap'))} option")
    m = maps.internal_map(pts if (not args.no_points or args.heat) else None,
                          **{k: v for k, v in kw.items() if k in params})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    m.save(str(args.out))
    print(f"geocrime map: wrote {args.out} (HTML map: {', '.join(layers)}; internal use only: exact locations)",
          file=sys.stderr)
    summary.update({"layers": layers, "out": str(args.out)})
    emit(summary, args.json)
    return 0
