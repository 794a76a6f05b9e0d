"""A/B benchmark: free the allocators' unused pages before forking the geocoding workers, or not.

``geocode(..., n_jobs=2)`` forks two workers. A worker that reuses a free page the parent still maps
pays a copy-on-write fault (a 4 KiB copy) instead of a zero-page fault; after heavy work in the
parent (here: a one-process geocode of the same records, as a notebook session would have done) its
heap and pyarrow's memory pool are full of such pages. ``geocrime.geocode`` therefore calls
pyarrow's ``release_unused()`` and glibc's ``malloc_trim(0)`` before the fork.

Each trial: a one-process run over the 100,000 seeded queries (the parent's heavy work, and this
run's machine-speed baseline), then a two-process run with or without the release; the two variants
alternate. Prints every trial, the medians and their ratio.

Run: ``.venv/bin/python benchmarks/bench_fork_release.py [--n 100000] [--trials 8]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--trials", type=int, default=8)
    a = ap.parse_args()

    from compare_uk_address_matcher import build_gazetteer

    import geocrime.geocoding as G
    from geocrime.areas import Boundaries
    from geocrime.config import data_dir
    from geocrime.gazetteer import read_fhrs
    from geocrime.geocoding.querygen import make_queries

    root = data_dir(required=True)
    fhrs = read_fhrs(root / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")
    gaz = build_gazetteer(root, fhrs)
    bounds = Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    G.geocode(pd.Series(["1 High Street"]), gaz, boundaries=bounds)  # area tables, once
    q = make_queries(fhrs, gaz, n=a.n, seed=0)["query"]

    def rate(n_jobs: int) -> float:
        t = time.perf_counter()
        out = G.geocode(q, gaz, boundaries=bounds, n_jobs=n_jobs)
        assert len(out) == len(q)
        return len(q) / (time.perf_counter() - t)

    runs: dict[bool, list[float]] = {True: [], False: []}
    one: list[float] = []
    try:
        for t in range(a.trials):
            release = t % 2 == 0
            one.append(rate(1))
            G._RELEASE_BEFORE_FORK = release
            runs[release].append(rate(2))
            G._RELEASE_BEFORE_FORK = True
            print(f"trial {t + 1}: 1 process {one[-1]:,.0f} rec/s, then 2 processes with release before fork="
                  f"{release}: {runs[release][-1]:,.0f} rec/s", flush=True)
    finally:
        G._RELEASE_BEFORE_FORK = True
    on, off = statistics.median(runs[True]), statistics.median(runs[False])
    print(f"median 1 process: {statistics.median(one):,.0f} rec/s")
    print(f"median 2 processes with release: {on:,.0f} rec/s; without: {off:,.0f} rec/s; ratio {on / off:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
