"""Benchmark geocrime.address on 100,000 real address strings.

Strings: FSA FHRS address lines joined as published (AddressLine1..4 + PostCode, ", "-joined) and
police.uk ``Location`` strings, from ``$GEOCRIME_DATA_DIR`` (../shared/data), resampled with a fixed
seed to N records (default 100,000). Every figure is printed with a baseline measured in the same run:

* postcode extraction: ``postcode.extract_many`` vs a naive per-row Python loop (``re.finditer`` +
  validation per string);
* rules parse: ``parse_many(backend="rules")`` on the N records and on the distinct strings only
  (no repeat benefit), vs libpostal's parser called directly in a loop;
* libpostal parse: ``parse_many(backend="libpostal")`` vs ``postal.parser.parse_address`` called directly
  in a loop over the same strings (target: within 20%);
* normalise: ``normalise_many`` vs calling ``normalise`` per row and vs libpostal ``expand_address`` per row.

Run: ``.venv/bin/python benchmarks/bench_address.py [--n 100000] [--no-libpostal]``
"""
from __future__ import annotations

import argparse
import glob
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def load_strings(n: int, seed: int = 0) -> pd.Series:
    from geocrime.config import data_dir

    root = data_dir(required=True)
    fh = pd.read_csv(root / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv", dtype=str,
                     keep_default_na=False, encoding_errors="replace")
    cols = ["AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4", "PostCode"]
    joined = fh[cols].apply(lambda r: ", ".join(x for x in r if x), axis=1)
    joined = joined[joined.str.len() > 0]
    files = sorted(glob.glob(str(root / "policeuk_*" / "*.csv")))
    loc = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False, usecols=["Location"]) for f in files])
    pool = pd.concat([joined, loc["Location"]], ignore_index=True)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(pool), size=n)
    return pd.Series(pool.to_numpy()[pick], dtype="str")


def timeit(fn, repeat: int = 3) -> float:
    """Best of ``repeat`` runs, in CPU seconds of this process (records/s per core, robust to other
    load on the machine; every thread's CPU counts, so multi-threaded code is not flattered)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


_NAIVE_PC = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b", re.IGNORECASE)


def naive_extract(texts: list[str]) -> list[str | None]:
    """The obvious per-row loop: last regex match per string, validated by postcode.normalise."""
    from geocrime.address import postcode

    _validate = postcode._canonical.__wrapped__  # same validation, without the module's cache
    out = []
    for t in texts:
        found = None
        for m in _NAIVE_PC.finditer(t):
            pc = _validate(m.group(1) + " " + m.group(2))
            if pc[0] and pc[1] in ("unit", "non_geographic"):
                found = pc[0]
        out.append(found)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--no-libpostal", action="store_true")
    ap.add_argument("--baseline-n", type=int, default=20_000, help="records for the slow per-row baselines")
    ap.add_argument("--accuracy", action="store_true",
                    help="only print per-component accuracy per backend on tests/data/address_parses.csv")
    args = ap.parse_args(argv)
    if args.accuracy:
        return accuracy_tables(not args.no_libpostal)

    import geocrime.address as A
    from geocrime.address import postcode

    s = load_strings(args.n)
    uniq = pd.Series(pd.unique(s), dtype="str")
    nb = min(args.baseline_n, len(s))
    sub = s.iloc[:nb].tolist()
    print(f"records: {len(s):,} ({len(uniq):,} distinct); baselines on the first {nb:,}")
    rows = []

    def report(name: str, n: int, secs: float, base_name: str, base_n: int, base_secs: float) -> None:
        r, b = n / secs, base_n / base_secs
        rows.append((name, r, base_name, b, r / b))
        print(f"{name:<42} {r:>12,.0f} rec/s | {base_name:<40} {b:>10,.0f} rec/s | ratio {r / b:6.2f}x")

    # postcode extraction
    t_pc = timeit(lambda: postcode.extract_many(s))
    t_naive = timeit(lambda: naive_extract(s.tolist()), repeat=1)
    report("postcode.extract_many", len(s), t_pc, "naive per-row loop", len(s), t_naive)
    t_pcu = timeit(lambda: postcode.extract_many(uniq))
    t_naive_u = timeit(lambda: naive_extract(uniq.tolist()), repeat=1)
    report("postcode.extract_many (distinct only)", len(uniq), t_pcu, "naive per-row loop", len(uniq), t_naive_u)

    # normalise
    t_norm = timeit(lambda: A.normalise_many(s))
    t_norm_row = timeit(lambda: [A.normalise(x) for x in sub[:2000]], repeat=1)
    report("normalise_many", len(s), t_norm, "normalise() per row", 2000, t_norm_row)

    # rules parse
    t_rules = timeit(lambda: A.parse_many(s, backend="rules"))
    t_rules_u = timeit(lambda: A.parse_many(uniq, backend="rules"))
    t_rules_row = timeit(lambda: [A.parse(x, backend="rules") for x in sub[:300]], repeat=1)
    report("parse_many rules", len(s), t_rules, "parse() per row (rules)", 300, t_rules_row)
    report("parse_many rules (distinct only)", len(uniq), t_rules_u, "parse() per row (rules)", 300, t_rules_row)

    if not args.no_libpostal:
        from geocrime.address import libpostal

        t0 = time.perf_counter()
        libpostal.load()
        print(f"libpostal model load: {time.perf_counter() - t0:.1f} s (once per process)")
        from postal.parser import parse_address

        direct = lambda texts: [parse_address(x) for x in texts]  # noqa: E731
        t_direct = timeit(lambda: direct(s.tolist()), repeat=1)
        t_lp = timeit(lambda: A.parse_many(s, backend="libpostal"), repeat=1)
        report("parse_many libpostal", len(s), t_lp, "postal parse_address loop", len(s), t_direct)
        t_direct_u = timeit(lambda: direct(uniq.tolist()), repeat=1)
        t_lp_u = timeit(lambda: A.parse_many(uniq, backend="libpostal"), repeat=1)
        report("parse_many libpostal (distinct only)", len(uniq), t_lp_u, "postal parse_address loop", len(uniq),
               t_direct_u)
        report("parse_many rules", len(s), t_rules, "postal parse_address loop", len(s), t_direct)
        from postal.expand import expand_address

        t_exp = timeit(lambda: [expand_address(x) for x in sub[:3000]], repeat=1)
        report("normalise_many", len(s), t_norm, "postal expand_address loop", 3000, t_exp)
    print("times are CPU seconds of this process (per core), best of 3 (1 for the slow baselines)")
    return 0


def accuracy_tables(with_libpostal: bool) -> int:
    """Per-component accuracy of each backend on the hand-checked parse set, overall and by source."""
    import geocrime.address as A

    path = Path(__file__).resolve().parents[1] / "tests" / "data" / "address_parses.csv"
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    t["raw"] = t["raw"].str.replace("\\n", "\n", regex=False)
    comps = ["sub_building", "building_name", "house_number", "street", "locality", "town", "postcode",
             "location_qualifier", "second_street", "placeholder"]

    def key(v: object) -> str:
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else re.sub(
            r"[^a-z0-9]+", " ", str(v).lower()).strip()

    groups = {"all": np.ones(len(t), bool), "fhrs+policeuk (reviewed)": ~(t["source"] == "constructed_real_street").to_numpy(),
              "constructed (by hand)": (t["source"] == "constructed_real_street").to_numpy()}
    for backend in ["rules"] + (["libpostal"] if with_libpostal else []):
        p = A.parse_many(t["raw"], backend=backend)
        print(f"backend={backend}  rows={len(t)}")
        print(f"  {'component':<20}" + "".join(f"{g:>28}" for g in groups))
        for c in comps + ["ALL COMPONENTS"]:
            cells = []
            for g, mask in groups.items():
                if c == "ALL COMPONENTS":
                    ok = np.array([all(key(p[f].iloc[i]) == key(t[f].iloc[i]) for f in comps) for i in range(len(t))])
                else:
                    ok = np.array([key(a) == key(b) for a, b in zip(p[c], t[c])])
                cells.append(f"{ok[mask].mean():.3f} (n={mask.sum()})")
            print(f"  {c:<20}" + "".join(f"{x:>28}" for x in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
