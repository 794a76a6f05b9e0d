"""``geocrime demo``: the end-to-end demo on real London data."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the end-to-end demo on real London open data",
        description="Messy records in; geocoded and aggregated data, an internal map, a public map "
        "page, public tiles and a disclosure report out, in one output directory.",
    )
    p.add_argument("--out", default="demo-output", help="output directory (default: demo-output)")
    p.add_argument("--records", type=int, default=5000, help="messy free-text records to geocode (default 5000)")
    p.add_argument("--no-screenshots", action="store_true", help="skip the Chromium screenshots")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..cli import emit
    from ..demo import run_demo

    summary = run_demo(args.out, n_records=args.records, screenshots=not args.no_screenshots)
    emit(summary, args.json)
    return 0
