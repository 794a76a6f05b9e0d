"""The publish gate with and without coverage on the demo's release, same run.

Met burglary + City of London (all types), the six months both cover, borough + ward_2024 tables with
London and all-crime totals, map points from the test gazetteer (Code-Point units + FHRS premises).
``coverage=False`` is the gate before coverage (every ward x month x type zero-filled); the default
infers each force's coverage from ``Reported by``. Prints, per run: seconds, released ward cells,
published zeros, suppressed cells, totals and published point rows; then the time ratio.

    .venv/bin/python benchmarks/bench_gate_coverage.py [--repeat 2]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    import _publish_data as P

    from geocrime.areas import Boundaries
    from geocrime.config import data_dir
    from geocrime.publish import Release, gate

    sd = Path(data_dir())
    met, city = P.met(sd), P.city(sd)
    months = sorted(set(met["Month"]) & set(city["Month"]))
    inc = pd.concat([met, city], ignore_index=True)
    inc = inc[inc["Month"].isin(months)].reset_index(drop=True)
    mp = P.map_points(sd)
    bnd = Boundaries.from_registry(["borough", "ward_2024"])
    rel = Release(tables=("borough", "ward_2024"), totals=True)
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, cov in (("coverage=False", False), ("coverage inferred", None)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                g = gate(inc, mp, bnd, threshold=5, release=rel, coverage=cov)
                dt = time.perf_counter() - t
            best[name] = min(dt, best.get(name, float("inf")))
            w = g.area_counts["ward_2024"]
            print(f"{name:18s} {dt:6.2f} s  ward cells {len(w):6,d}  zeros {int((w['count'] == 0).sum()):6,d}  "
                  f"suppressed {int(w['suppressed'].sum()):5,d}  totals {len(g.totals):5,d}  points {len(g.points):6,d}  "
                  f"incidents outside coverage {g.params['coverage'].get('incidents_outside', 0)}")
    print(f"best: {best}; inferred / off = {best['coverage inferred'] / best['coverage=False']:.2f}")


if __name__ == "__main__":
    main()
