"""Correctness gate for speed work on the geocoder: the same outputs before and after a change.

Builds the benchmark's gazetteer (FHRS + Code-Point + police.uk streets, as ``bench_geocode.py``) and
a fixed set of texts: 20,000 seeded benchmark queries, 15,000 distinct police.uk ``Location``
strings, the GOV.UK messy dev addresses with and without their postcode, 5,000 police-style
street queries (:func:`geocrime.geocoding.evalsets.police_style_queries`) and hand-made edge cases
(empty, None, junctions, landmarks). ``--write DIR`` geocodes them (ward/LSOA boundaries on) and
saves the result; ``--check DIR`` geocodes them again with 1 and 2 worker processes, plus a sample
with ``candidates=True`` and ``within=``, and ``geocode_one`` on a sample, and asserts every frame
equal to the saved one (``pandas.testing.assert_frame_equal``).

Run: ``.venv/bin/python benchmarks/geocode_reference.py --write /tmp/ref`` on the old code, then
``--check /tmp/ref`` after each change.
"""
from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

import pandas as pd


def _gazetteer_and_texts() -> tuple[object, pd.Series]:
    """The benchmark's gazetteer and the fixed reference texts (object Series)."""
    from geocrime.config import data_dir
    from geocrime.gazetteer import Gazetteer, read_codepoint, read_fhrs, streets_from_police_uk
    from geocrime.geocoding.evalsets import police_style_queries
    from geocrime.geocoding.querygen import make_queries

    root = data_dir(required=True)
    fhrs = read_fhrs(root / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")
    units = read_codepoint(root / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    police = sorted(glob.glob(str(root / "policeuk_met_burglary_street" / "*.csv"))) + \
        sorted(glob.glob(str(root / "policeuk_city_of_london_street" / "*.csv")))
    gaz = Gazetteer.from_sources([fhrs, units, streets_from_police_uk(police, units)])
    q = make_queries(fhrs, gaz, n=20_000, seed=0)["query"]
    loc = pd.concat([pd.read_csv(f, usecols=["Location"], dtype=str) for f in police])["Location"].dropna()
    gds = pd.read_csv(root / "gds_messy_addresses_london_dev" / "london_messy_addresses_dev.csv", dtype=str)
    ps = police_style_queries(n=5000, seed=0)["query"]
    edge = ["", None, "o/s 14 Rye Lane Peckham", "junction of Brixton Rd and Coldharbour Lane", "Victoria Station",
            "nr Clapham Common tube", "3 Church Road, Leyton", "High Street, Walthamstow", "j/o High St / Station Rd",
            "Flat 3, 12a High Street, London SW1A 1AA", "  ", "12", "nan"]
    texts = pd.concat([q.astype(object), pd.Series(loc.unique()[:15_000], dtype=object), gds["text"].astype(object),
                       (gds["text"] + ", " + gds["postcode"].fillna("")).astype(object), ps.astype(object),
                       pd.Series(edge, dtype=object)], ignore_index=True)
    return gaz, texts


def _frame(out: pd.DataFrame) -> pd.DataFrame:
    """A geocode result as a plain DataFrame (geometry as WKT) that round-trips through parquet."""
    wkt = out.geometry.to_wkt()
    df = pd.DataFrame(out.drop(columns="geometry"))
    df["geometry"] = wkt
    if "candidates" in df:
        df["candidates"] = df["candidates"].map(lambda v: json.dumps(v, default=str))
    return pd.read_parquet(pd.io.common.BytesIO(df.to_parquet()))


def main() -> int:
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", type=Path)
    g.add_argument("--check", type=Path)
    a = ap.parse_args()

    from geocrime.areas import Boundaries
    from geocrime.geocoding import geocode, geocode_one

    gaz, texts = _gazetteer_and_texts()
    bounds = Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    sub = texts.iloc[::50]
    runs = {}
    for nj in (1, 2):
        t = time.perf_counter()
        runs[f"n_jobs{nj}"] = _frame(geocode(texts, gaz, boundaries=bounds, n_jobs=nj))
        print(f"{len(texts)} texts, n_jobs={nj}: {time.perf_counter() - t:.1f} s")
    runs["candidates_within"] = _frame(geocode(sub, gaz, boundaries=bounds, candidates=True,
                                               within=["E09000022", "E09000028"]))
    runs["geocode_one"] = pd.DataFrame({"r": [json.dumps(geocode_one(s, gaz), default=str, sort_keys=True)
                                              for s in texts.iloc[::997].tolist()]})
    if a.write:
        a.write.mkdir(parents=True, exist_ok=True)
        pd.testing.assert_frame_equal(runs["n_jobs1"], runs["n_jobs2"])
        for k, v in runs.items():
            v.to_parquet(a.write / f"{k}.parquet")
        print(f"written to {a.write}")
        return 0
    ref = {k: pd.read_parquet(a.check / f"{k}.parquet") for k in ("n_jobs1", "candidates_within", "geocode_one")}
    pd.testing.assert_frame_equal(runs["n_jobs1"], ref["n_jobs1"])
    pd.testing.assert_frame_equal(runs["n_jobs2"], ref["n_jobs1"])
    pd.testing.assert_frame_equal(runs["candidates_within"], ref["candidates_within"])
    pd.testing.assert_frame_equal(runs["geocode_one"], ref["geocode_one"])
    print(f"IDENTICAL: {len(texts)} texts at n_jobs 1 and 2, {len(sub)} with candidates/within, "
          f"{len(runs['geocode_one'])} geocode_one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
