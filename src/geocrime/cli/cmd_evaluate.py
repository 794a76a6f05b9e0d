"""``geocrime evaluate``: precision/recall of the geocoder against known truth.

Two ways: ``--fhrs FILE --gazetteer G`` generates seeded messy queries from the FHRS premises
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
    p.add_argument("--results", type=Path, help="geocoded Parquet/CSV with truth_id, truth_x, truth_y")
    p.add_argument("-n", type=int, default=20_000, help="number of generated queries (default 20000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-postcode", action="store_true", help="remove every postcode from the queries")
    p.add_argument("--no-areas", action="store_true", help="skip the ward/LSOA evaluation")
    p.add_argument("--backend", default="rules", choices=["rules", "libpostal", "auto"])
    p.add_argument("--jobs", "-j", type=int, default=1)
    p.add_argument("--save", type=Path, default=None, help="write the geocoded queries here (Parquet)")
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
    out["thresholds"] = rep.get("thresholds")
    return out


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..errors import InputError
    from ..areas._points import default_boundaries
    from ..geocoding import evaluate, run_fhrs_evaluation
    from ..gazetteer import Gazetteer

    bounds = None if args.no_areas else default_boundaries()
    if args.results is not None:
        res = pd.read_parquet(args.results) if args.results.suffix.lower() in (".parquet", ".pq") else pd.read_csv(args.results)
        rep = evaluate(res, boundaries=bounds)
    elif args.fhrs is not None and args.gazetteer is not None:
        gaz = Gazetteer.load(args.gazetteer)
        rep, res = run_fhrs_evaluation(args.fhrs, gaz, n=args.n, seed=args.seed,
                                       postcode="drop" if args.no_postcode else "mixed", boundaries=bounds,
                                       backend=args.backend, n_jobs=args.jobs)
        if args.save:
            res.to_parquet(args.save)
    else:
        raise InputError("give --results FILE, or --fhrs FILE and --gazetteer DIR")
    if args.json:
        emit(rep, True)
    else:
        emit(_flat(rep), False)
    return 0
