"""Compare geocrime's geocoder with uk-address-matcher on the same queries and gazetteer, in one run.

uk-address-matcher (``uk_address_matcher`` on PyPI, Ministry of Justice analytical services) cleans a
"canonical" and a "messy" address table in DuckDB, removes easy matches with deterministic stages
and scores the rest with a pre-trained Splink model. It is the closest open-source UK matcher to
geocrime's geocoder, so this script runs both on identical inputs:

* gazetteer: built as in ``bench_geocode.py`` (FHRS 16 London authorities + Code-Point Open +
  police.uk streets), or loaded with ``--gazetteer DIR`` (:meth:`Gazetteer.load`);
* queries: ``make_queries(fhrs, gaz, n=N, seed=0)`` (mixed postcodes: kept, dropped, wrong, reformatted);
* geocrime: ``geocode(q, gaz, columns="query", n_jobs=THREADS)``; a match is ``match_level ==
  "premises"``, correct when ``gazetteer_id == truth_id``. Timed cold (including its lazy
  per-gazetteer preparation), no ward/LSOA assignment;
* uam: canonical = the gazetteer's premises rows (``unique_id`` = gazetteer ``id``, ``address_concat`` =
  sub_building building_name house_number street locality town, ``postcode``); messy = the queries
  (``unique_id`` = row number, ``address_concat`` = query without its postcode, ``postcode`` = the full
  postcode found by :func:`geocrime.address.postcode.extract_many`, else NULL and the query text
  unchanged; giving uam the whole query and no postcode column, or the whole query and the postcode,
  gave the same matches on 5,000 queries: it finds the postcode itself). Pipeline as its
  "choosing a matching threshold" page recommends: ExactMatchStage, PeeledAddressStage,
  UniqueTrigramStage, SplinkStage (which predicts, then re-ranks with its distinguishing-token
  "improve" step) with ``final_match_weight_threshold=10`` and
  ``final_distinguishability_threshold=1``. Canonical cleaning happens on the fly inside
  ``match()`` (its advice for canonical tables under 500,000 rows), so its records/s covers
  cleaning both tables + all stages + fetching the result. A match is a non-null
  ``resolved_canonical_id``, correct when it equals ``truth_id``.

The uam run keeps every top-ranked Splink candidate (thresholds -20 / none) and applies the
recommended thresholds afterwards: SplinkStage applies them only in its final projection, to the
rank-1 candidate (``match_weight >= T AND (distinguishability IS NULL OR distinguishability >= D)``),
so the headline figures are the same as a run with those thresholds, and the same run also gives a
small threshold sweep. Also timed (unless ``--no-prepared``): uam's one-time
``prepare_canonical_folder`` (its setup step, reported separately) followed by matching against the
prepared folder, the analogue of geocrime matching against an already built gazetteer.

precision = correct / matched, recall = correct / all queries, records/s = queries / wall-clock seconds.
``--threads`` is both geocrime's worker processes and DuckDB's threads.

Install: ``.venv/bin/pip install -e '.[compare]'`` (exit code 2 when uk-address-matcher is missing).
Run: ``.venv/bin/python benchmarks/compare_uk_address_matcher.py [--n 20000] [--threads 2] [--gazetteer DIR]``
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

UAM_MATCH_WEIGHT = 10.0  # uk-address-matcher's recommended starting thresholds
UAM_DISTINGUISHABILITY = 1.0
SWEEP = [(-20.0, None), (0.0, 0.0), (2.0, 1.0), (5.0, 1.0), (10.0, 1.0), (15.0, 1.0), (20.0, 5.0)]
COMPONENTS = ["sub_building", "building_name", "house_number", "street", "locality", "town"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_gazetteer(root: Path, fhrs: pd.DataFrame):
    from geocrime.gazetteer import Gazetteer, read_codepoint, streets_from_police_uk

    units = read_codepoint(root / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    police = sorted(glob.glob(str(root / "policeuk_met_burglary_street" / "*.csv"))) + \
        sorted(glob.glob(str(root / "policeuk_city_of_london_street" / "*.csv")))
    streets = streets_from_police_uk(police, units)
    return Gazetteer.from_sources([fhrs, units, streets])


def uam_tables(gaz, q: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(canonical, messy) input tables for uk-address-matcher."""
    from geocrime.address.postcode import extract_many

    t = gaz.table
    prem = t[t["level"] == "premises"]
    addr = prem[COMPONENTS].fillna("").astype(str).agg(" ".join, axis=1).str.split().str.join(" ")
    pc = prem["postcode"].astype(object)
    canonical = pd.DataFrame({
        "unique_id": prem["id"].to_numpy(np.int64),
        "address_concat": addr.to_numpy(dtype=object),
        "postcode": pc.where(pc.notna() & (pc != ""), None).to_numpy(dtype=object),
    })
    e = extract_many(q["query"])
    full = e["postcode_kind"].isin(["unit", "non_geographic"]).to_numpy()  # a district/sector alone stays in the text
    messy = pd.DataFrame({
        "unique_id": np.arange(len(q), dtype=np.int64),
        "address_concat": np.where(full, e["remainder"].to_numpy(dtype=object), q["query"].to_numpy(dtype=object)),
        "postcode": np.where(full, e["postcode"].to_numpy(dtype=object), None),
    })
    return canonical, messy


def uam_stages():
    from uk_address_matcher import ExactMatchStage, PeeledAddressStage, SplinkStage, UniqueTrigramStage

    # permissive final thresholds: the recommended ones are applied afterwards (see module docstring)
    return [ExactMatchStage(), PeeledAddressStage(), UniqueTrigramStage(),
            SplinkStage(final_match_weight_threshold=-20.0, final_distinguishability_threshold=None)]


def uam_run(canonical: pd.DataFrame, messy: pd.DataFrame, threads: int, prepared_dir: Path | None = None) -> dict:
    """Run uk-address-matcher; returns the result frame and timings. With ``prepared_dir`` the canonical
    table is first prepared there (timed as setup) and matching reads the prepared folder."""
    import duckdb
    from uk_address_matcher import AddressMatcher, prepare_canonical_folder

    out: dict = {}
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    out["connect_s"] = time.perf_counter() - t
    canonical_input = None
    if prepared_dir is not None:
        t = time.perf_counter()
        prepare_canonical_folder(con.from_df(canonical), output_folder=prepared_dir, con=con,
                                 overwrite=True, show_progress="off")
        out["prepare_s"] = time.perf_counter() - t
        canonical_input = str(prepared_dir)
    t = time.perf_counter()
    if canonical_input is None:
        canonical_input = con.from_df(canonical)
    matcher = AddressMatcher(canonical_addresses=canonical_input, addresses_to_match=con.from_df(messy),
                             con=con, stages=uam_stages(), show_progress="off")
    with matcher.match() as result:
        res = result.matches().df()
        reasons = result.match_metrics().df()
    out["pipeline_s"] = time.perf_counter() - t
    con.close()
    out["result"] = res
    out["match_reasons"] = reasons
    return out


def uam_score(res: pd.DataFrame, truth: np.ndarray, mw: float, dist: float | None) -> dict:
    r = pd.DataFrame({"unique_id": np.arange(len(truth), dtype=np.int64)}).merge(
        res[["unique_id", "resolved_canonical_id", "match_reason", "match_weight", "distinguishability"]],
        on="unique_id", how="left")
    cid = r["resolved_canonical_id"]
    splink = r["match_reason"].fillna("").str.startswith("splink").to_numpy()
    ok_mw = r["match_weight"].to_numpy(float) >= mw
    d = r["distinguishability"].to_numpy(float)
    ok_d = np.ones(len(r), bool) if dist is None else (np.isnan(d) | (d >= dist))
    matched = cid.notna().to_numpy() & (~splink | (ok_mw & ok_d))
    correct = matched & (cid.fillna(-1).to_numpy(np.int64) == truth)
    return _pr(int(matched.sum()), int(correct.sum()), len(truth))


def _pr(matched: int, correct: int, n: int) -> dict:
    return {"matched": matched, "correct": correct,
            "precision": round(correct / matched, 4) if matched else None,
            "recall": round(correct / n, 4) if n else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=20_000, help="number of seeded queries (default 20,000)")
    ap.add_argument("--threads", type=int, default=2, help="geocrime worker processes and DuckDB threads (default 2)")
    ap.add_argument("--gazetteer", type=Path, default=None, help="load a saved gazetteer instead of building it")
    ap.add_argument("--no-prepared", action="store_true", help="skip the prepare_canonical_folder run of uam")
    a = ap.parse_args()

    if importlib.util.find_spec("uk_address_matcher") is None:
        print("uk-address-matcher is not installed: .venv/bin/pip install -e '.[compare]' "
              "(or pip install uk-address-matcher)", file=sys.stderr)
        return 2
    logging.getLogger("uk_address_matcher").setLevel(logging.WARNING)

    from geocrime.config import data_dir
    from geocrime.gazetteer import Gazetteer, read_fhrs
    from geocrime.geocoding import geocode
    from geocrime.geocoding.querygen import make_queries

    fig: dict = {"n": a.n, "threads": a.threads, "load_avg": [round(x, 2) for x in os.getloadavg()]}
    root = data_dir(required=True)
    t = time.perf_counter()
    fhrs = read_fhrs(root / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")
    gaz = Gazetteer.load(a.gazetteer) if a.gazetteer else build_gazetteer(root, fhrs)
    fig["gazetteer_s"] = round(time.perf_counter() - t, 2)
    fig["gazetteer_rows"] = len(gaz)
    q = make_queries(fhrs, gaz, n=a.n, seed=0)
    truth = q["truth_id"].to_numpy(np.int64)

    t = time.perf_counter()
    canonical, messy = uam_tables(gaz, q)
    fig["uam_input_tables_s"] = round(time.perf_counter() - t, 2)  # not counted in uam's records/s
    fig["canonical_rows"] = len(canonical)
    fig["messy_with_postcode"] = int(messy["postcode"].notna().sum())

    # geocrime
    t = time.perf_counter()
    out = geocode(q, gaz, columns="query", n_jobs=a.threads)
    s = time.perf_counter() - t
    assert len(out) == len(q)
    prem = (out["match_level"] == "premises").to_numpy()
    gid = pd.to_numeric(out["gazetteer_id"], errors="coerce").fillna(-1).to_numpy(np.int64)
    g = _pr(int(prem.sum()), int((prem & (gid == truth)).sum()), len(q))
    g.update(seconds=round(s, 2), per_s=round(len(q) / s, 1))
    fig["geocrime"] = g

    # uk-address-matcher, canonical cleaned on the fly (the headline)
    t = time.perf_counter()
    import uk_address_matcher

    fig["uam_version"] = uk_address_matcher.__version__
    import_s = time.perf_counter() - t
    r = uam_run(canonical, messy, a.threads)
    u = uam_score(r["result"], truth, UAM_MATCH_WEIGHT, UAM_DISTINGUISHABILITY)
    u.update(seconds=round(r["pipeline_s"], 2), per_s=round(len(q) / r["pipeline_s"], 1),
             setup_s=round(import_s + r["connect_s"], 2),
             thresholds={"match_weight": UAM_MATCH_WEIGHT, "distinguishability": UAM_DISTINGUISHABILITY})
    reasons = r["match_reasons"]
    if {"match_reason", "match_count"} <= set(reasons.columns):  # before the thresholds
        u["match_reasons_before_thresholds"] = {str(k): int(v) for k, v in zip(reasons["match_reason"], reasons["match_count"])}
    fig["uam"] = u
    fig["uam_sweep"] = [{"match_weight": mw, "distinguishability": d, **uam_score(r["result"], truth, mw, d)}
                        for mw, d in SWEEP]
    at_p = [x for x in fig["uam_sweep"] if x["precision"] is not None and g["precision"] is not None
            and x["precision"] >= g["precision"]]
    fig["uam_best_recall_at_geocrime_precision"] = max(at_p, key=lambda x: x["recall"]) if at_p else None

    # uk-address-matcher with its one-time canonical preparation as setup
    if not a.no_prepared:
        with tempfile.TemporaryDirectory() as td:
            rp = uam_run(canonical, messy, a.threads, prepared_dir=Path(td) / "ukam")
        up = uam_score(rp["result"], truth, UAM_MATCH_WEIGHT, UAM_DISTINGUISHABILITY)
        up.update(seconds=round(rp["pipeline_s"], 2), per_s=round(len(q) / rp["pipeline_s"], 1),
                  setup_s=round(rp["prepare_s"], 2))
        fig["uam_prepared"] = up

    fig["ratio_geocrime_vs_uam_per_s"] = round(g["per_s"] / u["per_s"], 2)
    if "uam_prepared" in fig:
        fig["ratio_geocrime_vs_uam_prepared_per_s"] = round(g["per_s"] / fig["uam_prepared"]["per_s"], 2)
    fig["peak_rss_mb"] = round(rss_mb(), 1)

    rows = [("geocrime", g), (f"uam {fig['uam_version']}", u)]
    if "uam_prepared" in fig:
        rows.append(("uam, prepared canonical", fig["uam_prepared"]))
    print(f"n={a.n} queries, {len(canonical)} canonical premises, threads={a.threads}")
    print(f"{'matcher':<26}{'precision':>10}{'recall':>9}{'matched':>9}{'seconds':>9}{'records/s':>11}{'setup s':>9}")
    for name, x in rows:
        print(f"{name:<26}{x['precision']:>10.4f}{x['recall']:>9.4f}{x['matched']:>9}{x['seconds']:>9.2f}"
              f"{x['per_s']:>11.1f}{x.get('setup_s', 0.0):>9.2f}")
    print(f"records/s geocrime / uam: {fig['ratio_geocrime_vs_uam_per_s']}"
          + (f" (vs uam prepared: {fig['ratio_geocrime_vs_uam_prepared_per_s']})" if "uam_prepared" in fig else ""))
    print("uam threshold sweep (match_weight, distinguishability): " + "; ".join(
        f"{x['match_weight']:g}/{'-' if x['distinguishability'] is None else format(x['distinguishability'], 'g')}"
        f" P={x['precision']} R={x['recall']}" for x in fig["uam_sweep"]))
    print(json.dumps(fig, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
