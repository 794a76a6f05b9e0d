"""``geocrime evaluate``: precision/recall of the geocoder against known truth.

Three ways: ``--gds [PATH]`` / ``--police-style [CSV ...]`` / ``--fhrs-list [PATH]`` geocode sets of
text nobody here wrote (GOV.UK list addresses with and without their postcode; police.uk ``On or
near`` streets of months the gazetteer never saw, written as police do; the FSA register's address
lines, against a gazetteer without its premises) and print precision/recall per input style (see
:mod:`geocrime.geocoding.evalsets`); ``--fhrs FILE --gazetteer G`` generates seeded messy queries from the FHRS premises
(:mod:`geocrime.geocoding.querygen`), geocodes them and scores them; ``--results FILE`` scores an existing
geocoded file that has ``truth_id``/``truth_x``/``truth_y`` columns.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import emit


def register(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="precision/recall by match level and threshold, right ward/LSOA, distance errors")
    p.add_argument("--gazetteer", "-g", type=Path, help="saved gazetteer (with --fhrs)")
    p.add_argument("--fhrs", type=Path, help="FHRS CSV to generate seeded queries from")
    p.add_argument("--gds", nargs="?", const="", default=None, metavar="PATH",
                   help="GDS messy-address CSV (default: the shared dev file): P/R with and without the postcode")
    p.add_argument("--police-style", nargs="*", default=None, metavar="CSV",
                   help="police.uk street CSVs to query (default: Met 2024-07..10): P/R per police writing style")
    p.add_argument("--fhrs-list", nargs="?", const="", default=None, metavar="PATH",
                   help="FHRS CSV whose address lines are geocoded as written, with and without the postcode "
                        "(default: the shared dev file), against the evaluation gazetteer without the FSA premises")
    p.add_argument("--split", default="report", choices=["tune", "report", "all"],
                   help="evaluation rows: 'tune' (held out for tuning), 'report' (default) or 'all'")
    p.add_argument("--street-months", nargs="*", default=None, metavar="CSV",
                   help="police.uk CSVs for the street layer of the evaluation gazetteer (default: Met 2024-01..06); "
                        "used when --gazetteer is not given")
    p.add_argument("--results", type=Path, help="geocoded Parquet/CSV with truth_id, truth_x, truth_y")
    p.add_argument("-n", type=int, default=None,
                   help="number of generated queries (default 20000) / police locations per split (default 3000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-postcode", action="store_true", help="remove every postcode from the queries")
    p.add_argument("--no-areas", action="store_true", help="skip the ward/LSOA evaluation")
    p.add_argument("--backend", default="rules", choices=["rules", "libpostal", "auto"])
    p.add_argument("--jobs", "-j", type=int, default=1)
    p.add_argument("--save", type=Path, default=None, help="write the geocoded queries here (.parquet, .csv or .gpkg)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _flat(rep: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": rep["rows"]}
    for k, v in rep["premises"].items():
        out[f"premises_{k}"] = v
    for k in ("right_ward", "right_lsoa"):
        if k in rep:
            out[f"{k}_share_of_coded"] = rep[k]["share_of_coded"]
            out[f"{k}_share_of_all"] = rep[k]["share_of_all"]
    out["levels"] = {k: v["rows"] for k, v in rep["by_level"].items()}
    for k in ("names_no_premises", "address_shared_elsewhere"):
        if k in rep:
            out[k] = rep[k]
    out["thresholds"] = rep.get("thresholds")
    return out


def _styles_table(reports: list[dict[str, Any]]) -> str:
    lines = [f"{'set':8} {'style':20} {'rows':>6} {'placed':>6} {'precision':>9} {'recall':>7} {'reach':>6}  levels"]
    for rep in reports:
        for style, v in rep["styles"].items():
            lv = ", ".join(f"{k} {c}" for k, c in sorted(v["by_level"].items(), key=lambda kv: -kv[1]))
            p = "-" if v["precision"] is None else f"{v['precision']:.4f}"
            r = "-" if v["recall"] is None else f"{v['recall']:.4f}"
            rc = "-" if v.get("street_reachable") is None else f"{v['street_reachable']:.3f}"
            lines.append(f"{rep['set']:8} {style:20} {v['rows']:>6} {v['placed']:>6} {p:>9} {r:>7} {rc:>6}  {lv}")
    lines.append("reach: share of rows whose street (as parsed) the gazetteer holds within the tolerance of the "
                 "truth: the ceiling of street-level recall with these sources")
    lines.append("")
    lines.append("rows not recalled, by cause (geocrime.geocoding.evalsets.miss_causes):")
    for rep in reports:
        for style, v in rep["styles"].items():
            ms = ", ".join(f"{k} {c}" for k, c in v.get("misses", {}).items() if c)
            lines.append(f"{rep['set']:8} {style:20} {ms or '-'}")
    return "\n".join(lines)


def _run_sets(args: argparse.Namespace) -> int:
    import json
    import sys

    from ..config import cache_dir
    from ..gazetteer import Gazetteer
    from ..geocoding.evalsets import eval_gazetteer, run_set

    def gazetteer(premises: bool = True) -> Any:
        if args.gazetteer is not None:
            return Gazetteer.load(args.gazetteer)
        return eval_gazetteer(args.street_months, cache_dir=cache_dir("evaluation"), premises=premises)

    gaz = gazetteer() if args.police_style is not None or args.gds is not None else None
    reports = []
    if args.police_style is not None:
        rep, res = run_set("police", gaz, split=args.split, n=3000 if args.n is None else args.n, seed=args.seed,
                           path=args.police_style or None, backend=args.backend, n_jobs=args.jobs)
        reports.append(rep)
        if args.save:
            res.to_parquet(args.save.with_name(args.save.stem + "_police" + args.save.suffix))
    if args.gds is not None:
        rep, res = run_set("gds", gaz, split=args.split, path=args.gds or None, backend=args.backend, n_jobs=args.jobs)
        reports.append(rep)
        if args.save:
            res.to_parquet(args.save.with_name(args.save.stem + "_gds" + args.save.suffix))
    if args.fhrs_list is not None:
        gaz_lines = gazetteer(premises=False)
        rep, res = run_set("fhrs_list", gaz_lines, split=args.split, n=3000 if args.n is None else args.n,
                           seed=args.seed, path=args.fhrs_list or None, backend=args.backend, n_jobs=args.jobs)
        reports.append(rep)
        if not args.json:
            print(f"FHRS lines against {gaz_lines!r} (no FSA premises)", file=sys.stderr)
        if args.save:
            res.to_parquet(args.save.with_name(args.save.stem + "_fhrs_list" + args.save.suffix))
    if args.json:
        print(json.dumps({"gazetteer": repr(gaz), "sets": reports}, default=str))
    else:
        if gaz is not None:
            print(repr(gaz))
        print(_styles_table(reports))
    return 0


def _geocoder_area_columns(res: Any) -> Any:
    """A ``geocrime geocode --areas`` / ``enrich`` output names the geocoder's area estimate by layer +
    vintage (``ward_2022_geocoder``, ``gc_ward_2022_geocoder``); :func:`evaluate` reads ``ward_code``."""
    import re

    ren = {}
    for c in map(str, res.columns):
        m = re.fullmatch(r"(?:gc_)?(ward|lsoa)_\d{4}_(geocoder|confidence)", c)
        if m and f"{m.group(1)}_code" not in res.columns:
            ren[c] = f"{m.group(1)}_{'code' if m.group(2) == 'geocoder' else 'confidence'}"
    return res.rename(columns=ren)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..errors import InputError
    from ..areas import Boundaries
    from ..geocoding import evaluate, run_fhrs_evaluation
    from ..gazetteer import Gazetteer

    if args.gds is not None or args.police_style is not None or args.fhrs_list is not None:
        return _run_sets(args)
    if args.save:
        from ..inputs import table_format

        table_format(args.save, write=True, allowed=("csv", "parquet", "gpkg"))  # before the long run
    bounds = None if args.no_areas else Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    if args.results is not None:
        from ..inputs import read_table

        res = _geocoder_area_columns(read_table(args.results, what="results", as_text=False))
        rep = evaluate(res, boundaries=bounds)
    elif args.fhrs is not None and args.gazetteer is not None:
        gaz = Gazetteer.load(args.gazetteer)
        rep, res = run_fhrs_evaluation(args.fhrs, gaz, n=20_000 if args.n is None else args.n, seed=args.seed,
                                       postcode="drop" if args.no_postcode else "mixed", boundaries=bounds,
                                       backend=args.backend, n_jobs=args.jobs)
        if args.save:
            import sys

            from ..inputs import write_table

            print(f"geocrime evaluate: {write_table(res, args.save, allowed=('csv', 'parquet', 'gpkg'))}", file=sys.stderr)
    else:
        raise InputError("give --results FILE, or --fhrs FILE and --gazetteer DIR")
    if args.json:
        emit(rep, True)
    else:
        emit(_flat(rep), False)
    return 0
