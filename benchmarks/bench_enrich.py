"""Benchmark: geocrime enrich over 1M and 5M synthetic incident records, single process and on a
local dask cluster with 2 workers; records/s and peak memory (RSS of the whole process tree).

Synthetic incidents: a seeded pool of messy queries made from real FHRS premises
(:func:`geocrime.geocoding.querygen.make_queries`: other boroughs' layouts, typos, dropped/wrong postcodes,
abbreviations, flats written differently, police phrasing), then sampled to the target size with
cheap per-row variation (case, a police prefix, a trailing incident note), an incident id, a date
and a crime type. Every run is a fresh subprocess; a thread samples the RSS of the process and all
its children (dask workers included) every 50 ms.

Baseline, measured in the same run: the same rows read whole (``pandas.read_csv``) and enriched in
memory with :func:`geocrime.enrich` — what a script without streaming does. Printed: records/s,
peak RSS, and the ratios streaming/baseline; the verdict line says whether peak memory grew with
input size (streaming) — it must not.

    .venv/bin/python benchmarks/bench_enrich.py                      # 1M and 5M (long)
    .venv/bin/python benchmarks/bench_enrich.py --sizes 100000,400000 --engines local,dask
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    p = Path(os.environ.get("GEOCRIME_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not (p / "fhrs_london_dev").is_dir():
        sys.exit(f"real data not found in {p}: set GEOCRIME_DATA_DIR")
    return p


# ---------------------------------------------------------------------------------- preparation
def prepare(work: Path, sizes: list[int], pool_size: int, seed: int) -> dict:
    import numpy as np
    import pandas as pd

    from geocrime.gazetteer import Gazetteer, read_fhrs
    from geocrime.geocoding.querygen import make_queries

    d = data_dir()
    gdir = work / "fhrs.gaz"
    t = time.perf_counter()
    src = read_fhrs(d / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")
    gaz = Gazetteer.from_sources([src])
    gaz.save(gdir)
    print(f"gazetteer: {len(gaz):,} entries built in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    pool = make_queries(src, gaz, n=pool_size, seed=seed)["query"].astype(str).to_numpy(dtype=object)
    print(f"query pool: {len(pool):,} messy queries in {time.perf_counter() - t:.1f} s", flush=True)
    rng = np.random.default_rng(seed)
    prefixes = np.array(["", "", "", "O/S ", "o/s ", "R/O ", "outside ", "at ", "near "], dtype=object)
    notes = np.array(["", "", "", "", " (shop)", " - car park", " (rear)", " nr bus stop"], dtype=object)
    types = np.array(["Burglary", "Robbery", "Theft from the person", "Criminal damage and arson", "Shoplifting",
                      "Vehicle crime", "Violence and sexual offences"], dtype=object)
    files = {}
    for n in sizes:
        path = work / f"incidents_{n}.csv"
        t = time.perf_counter()
        with open(path, "w", encoding="utf-8") as f:
            for start in range(0, n, 500_000):
                m = min(500_000, n - start)
                text = pd.Series(pool[rng.integers(0, len(pool), m)])
                case = rng.integers(0, 3, m)
                text = text.where(case != 1, text.str.upper()).where(case != 2, text.str.lower())
                text = prefixes[rng.integers(0, len(prefixes), m)] + text + notes[rng.integers(0, len(notes), m)]
                day = rng.integers(0, 730, m)
                df = pd.DataFrame({
                    "incident_id": [f"INC{i:09d}" for i in range(start, start + m)],
                    "recorded": (np.datetime64("2023-01-01") + day.astype("timedelta64[D]")).astype(str),
                    "crime_type": types[rng.integers(0, len(types), m)],
                    "address": text.to_numpy(dtype=object),
                })
                df.to_csv(f, index=False, header=(start == 0))
        files[n] = str(path)
        print(f"incidents: {n:,} rows, {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s", flush=True)
    return {"gazetteer": str(gdir), "files": files}


# ---------------------------------------------------------------------------------- one measured run
def _tree_rss() -> int:
    import psutil

    p = psutil.Process()
    total = 0
    for q in [p] + p.children(recursive=True):
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_one(mode: str, path: str, gaz: str, chunksize: int, workers: int, out_dir: str) -> dict:
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss())
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    from geocrime.areas import Boundaries

    d = data_dir()
    b = Boundaries.from_files([
        {"source": str(d / "london_wards_2022_ons/london_wards_2022_E09only.gpkg"), "name": "ward_2022", "code": "WD22CD"},
        {"source": str(d / "london_lsoa_2021_ons/london-2021-lsoa-gen20.shp"), "name": "lsoa_2021", "code": "LSOA21CD"},
    ])
    out = Path(out_dir) / f"out_{mode}_{Path(path).stem}.parquet"
    t_setup = time.perf_counter()
    if mode == "baseline":
        import pandas as pd

        from geocrime.enrichment import enrich

        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        t_setup = time.perf_counter()
        res = enrich(df, gazetteer=gaz, boundaries=b, columns="address")
        res.to_parquet(out, index=False)
        rows = len(res)
        counts = res["gc_match_level"].value_counts().to_dict()
    else:
        from geocrime.enrichment import enrich_file

        m = enrich_file(path, out, gazetteer=gaz, boundaries=b, columns="address", chunksize=chunksize,
                        engine="dask" if mode == "dask" else "local", workers=workers, progress=False, resume=False)
        rows = m["rows_out"]
        counts = m["counts"]["match_level"]
    elapsed = time.perf_counter() - t
    stop.set()
    th.join()
    out.unlink(missing_ok=True)
    return {"mode": mode, "rows": rows, "seconds": elapsed, "seconds_excl_setup": time.perf_counter() - t_setup,
            "records_per_s": rows / elapsed, "peak_rss_mb": peak[0] / 1e6, "match_level": counts}


def measure(mode: str, path: str, gaz: str, chunksize: int, workers: int, out_dir: str) -> dict:
    cmd = [sys.executable, __file__, "--_run", json.dumps([mode, path, gaz, chunksize, workers, out_dir])]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr[-4000:])
        raise SystemExit(f"{mode} run failed")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,5000000", help="comma-separated record counts")
    ap.add_argument("--engines", default="local,dask", help="local and/or dask")
    ap.add_argument("--baseline", default="all", choices=["all", "smallest", "none"],
                    help="whole-file in-memory baseline at every size, the smallest only, or none")
    ap.add_argument("--chunksize", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pool", type=int, default=20_000, help="distinct messy queries sampled from")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None, help="keep generated files here (default: a temp dir)")
    ap.add_argument("--_run", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._run:
        print(json.dumps(run_one(*json.loads(a._run))))
        return
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    with tempfile.TemporaryDirectory(prefix="gc-bench-enrich-", dir=a.workdir) as tmp:
        work = Path(tmp)
        prep = prepare(work, sizes, a.pool, a.seed)
        results = []
        for n in sizes:
            modes = list(engines)
            if a.baseline == "all" or (a.baseline == "smallest" and n == min(sizes)):
                modes = ["baseline"] + modes
            for mode in modes:
                r = measure(mode, prep["files"][n], prep["gazetteer"], a.chunksize, a.workers, tmp)
                r["size"] = n
                results.append(r)
                print(f"{n:>9,} {mode:<8} {r['seconds']:8.1f} s  {r['records_per_s']:9,.0f} rec/s  "
                      f"({r['rows'] / r['seconds_excl_setup']:,.0f} rec/s after loading boundaries)  "
                      f"peak RSS {r['peak_rss_mb']:7,.0f} MB  premises {r['match_level'].get('premises', 0) / r['rows']:.1%}",
                      flush=True)
    print("\nsummary (chunksize %d, %d dask workers, %d cores)" % (a.chunksize, a.workers, os.cpu_count() or 0))
    by = {(r["size"], r["mode"]): r for r in results}
    for n in sizes:
        base = by.get((n, "baseline"))
        for mode in engines:
            r = by[(n, mode)]
            extra = ""
            if base:
                extra = (f"  vs whole-file baseline: speed x{r['records_per_s'] / base['records_per_s']:.2f}, "
                         f"peak memory x{r['peak_rss_mb'] / base['peak_rss_mb']:.2f}")
            print(f"  {n:>9,} {mode:<6} {r['records_per_s']:9,.0f} rec/s  peak {r['peak_rss_mb']:7,.0f} MB{extra}")
    if len(sizes) > 1:
        lo, hi = min(sizes), max(sizes)
        for mode in engines + (["baseline"] if (lo, "baseline") in by and (hi, "baseline") in by else []):
            g = by[(hi, mode)]["peak_rss_mb"] / by[(lo, mode)]["peak_rss_mb"]
            flat = "flat" if g < 1.25 else "GROWS"
            print(f"  peak memory {mode}: {hi / lo:.0f}x the records -> x{g:.2f} the memory ({flat})")


if __name__ == "__main__":
    main()
