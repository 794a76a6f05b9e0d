"""Refit the packaged ``match_probability`` calibration and print its reliability on held-out rows.

Fits :class:`geocrime.geocoding.calibrate.MatchCalibrator` on the ``tune`` rows of the two evaluation
sets nobody here wrote (police-style streets of 2024-07/08, half the GDS addresses with and without
postcode) plus 5,000 seeded FHRS queries (seed 1), all against the evaluation gazetteer of
``geocrime evaluate``; "right" is the evaluation's precision rule (the truth within the declared
uncertainty, or the tolerance for point levels; a postcode unit must be the truth's own unit for GDS).
Then prints the reliability table (predicted vs observed, per level and probability bin) on the
``report`` rows and 5,000 FHRS queries of another seed (2), using the refitted calibration.

Run: ``.venv/bin/python benchmarks/refit_calibration.py [--write]`` (``--write`` replaces
``src/geocrime/geocoding/calibration.json``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def _rows(gaz, split: str, fhrs_seed: int, n_jobs: int) -> tuple[pd.DataFrame, np.ndarray]:
    from geocrime.config import data_dir
    from geocrime.geocoding.evalsets import _right, run_set
    from geocrime.geocoding.evaluate import run_fhrs_evaluation

    parts, right = [], []
    for name, tol, unit in (("police", 300.0, False), ("gds", 250.0, True)):
        _, res = run_set(name, gaz, split=split, n_jobs=n_jobs)
        parts.append(res)
        right.append(_right(res, res, tol, unit)[1])
    fhrs = data_dir(required=True) / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv"
    _, res = run_fhrs_evaluation(fhrs, gaz, n=5000, seed=fhrs_seed, n_jobs=n_jobs)
    parts.append(res)
    right.append(_right(res, res, 250.0, False)[1])
    cols = ["match_level", "score"]
    return pd.concat([p[cols] for p in parts], ignore_index=True), np.concatenate(right)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="replace the packaged calibration.json")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()

    from geocrime.config import cache_dir
    from geocrime.geocoding.calibrate import MatchCalibrator, reliability_table
    from geocrime.geocoding.evalsets import eval_gazetteer

    gaz = eval_gazetteer(None, cache_dir=cache_dir("evaluation"))
    tune, ok_t = _rows(gaz, "tune", 1, a.jobs)
    cal = MatchCalibrator().fit(tune, ok_t)
    rep, ok_r = _rows(gaz, "report", 2, a.jobs)
    placed = rep["match_level"].astype(str).to_numpy() != "none"
    prob = cal.predict(rep)
    table = reliability_table(prob[placed], ok_r[placed], rep["match_level"].astype(str).to_numpy()[placed])
    pd.set_option("display.width", 160)
    print(f"fitted on {len(tune):,} tune rows; reliability on {int(placed.sum()):,} placed report rows")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if a.write:
        out = Path(__file__).resolve().parents[1] / "src" / "geocrime" / "geocoding" / "calibration.json"
        cal.to_json(out)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
