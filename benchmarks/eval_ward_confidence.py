"""Reliability of ``ward_confidence`` on text nobody here wrote.

Geocodes the evaluation sets of ``geocrime evaluate`` (police-style streets and GDS list addresses,
with and without postcode) against the evaluation gazetteer with the ward_2022 / lsoa_2021 layers,
and compares each row's ``ward_code`` with the ward of its truth point (the police.uk snap point or
the postcode centroid, one point-in-polygon rule: ``Boundaries.lookup``). Prints, per match level and
confidence bin: rows, mean stated confidence, observed share right; and the totals per set.

Run: ``.venv/bin/python benchmarks/eval_ward_confidence.py [--split tune|report]``
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="report", choices=["tune", "report", "all"])
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()

    from geocrime.areas import Boundaries
    from geocrime.config import cache_dir
    from geocrime.geocoding.evalsets import eval_gazetteer, run_set

    gaz = eval_gazetteer(None, cache_dir=cache_dir("evaluation"))
    bnd = Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    codes = bnd.layer("ward_2022")["code"].to_numpy(dtype=object)
    parts = []
    for name in ("police", "gds"):
        _, d = run_set(name, gaz, split=a.split, boundaries=bnd, n_jobs=a.jobs)
        rows = bnd.lookup("ward_2022", d["truth_x"].to_numpy(float), d["truth_y"].to_numpy(float))
        truth = np.where(rows >= 0, codes[np.maximum(rows, 0)], None)
        coded = d["ward_code"].notna().to_numpy()
        right = coded & (d["ward_code"].to_numpy(dtype=object) == truth)
        print(f"{name}: {len(d):,} rows, {int(coded.sum()):,} with a ward, right {int(right.sum()):,} "
              f"({right.sum() / max(coded.sum(), 1):.4f} of coded), wrong {int((coded & ~right).sum()):,}")
        parts.append(d[coded].assign(set=name, right=right[coded]))
    d = pd.concat(parts, ignore_index=True)
    d["bin"] = pd.cut(d["ward_confidence"], [0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0001], right=False)
    t = d.groupby(["match_level", "bin"], observed=True).agg(rows=("right", "size"), stated=("ward_confidence", "mean"),
                                                             observed=("right", "mean")).reset_index()
    pd.set_option("display.width", 160)
    print(t.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
