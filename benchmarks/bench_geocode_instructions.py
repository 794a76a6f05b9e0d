"""Instructions executed by the geocoder, base vs this tree, counted by valgrind (callgrind) in the same run.

On a shared machine wall-clock and CPU time vary by 10-20% between runs of the same code (other
processes share the cores and caches), more than most single speed changes. The number of
instructions a process executes does not depend on that load: this script counts them for one
geocode call (rules parser, 1 process, ward/LSOA boundaries on) over the benchmark's seeded
queries (:func:`geocrime.geocoding.querygen.make_queries`, as ``bench_geocode.py``), once with the
code in ``--base-src`` (e.g. a ``git worktree`` of the base commit) and once with this tree's
``src``, both against the same saved benchmark gazetteer, with ``PYTHONHASHSEED=0``. Only the
geocode call is instrumented (``--instr-atstart=no``, switched on and off by ``callgrind_control``
around it): loading and warming up are not counted. What it does not see: page faults and cache
misses (e.g. the copy-on-write of forked workers), which cost time but no user instructions.

Run: ``.venv/bin/python benchmarks/bench_geocode_instructions.py --base-src ../base/src [--n 10000]``
(needs ``valgrind``; about 3 minutes per side, both sides run at once).
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(work: Path, tag: str) -> int:
    """Under valgrind: load, warm up, then geocode the queries between the two signal files."""
    import warnings

    import pandas as pd

    from geocrime.areas import Boundaries
    from geocrime.gazetteer import Gazetteer
    from geocrime.geocoding import geocode

    warnings.simplefilter("ignore")
    gaz = Gazetteer.load(work / "gaz")
    bounds = Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    q = pd.read_pickle(work / "queries.pkl")
    geocode(q.iloc[:200], gaz, boundaries=bounds, n_jobs=1)  # caches built, modules imported
    (work / f"ready_{tag}").write_text(str(os.getpid()))
    _wait(work / f"go_{tag}")
    geocode(q, gaz, boundaries=bounds, n_jobs=1)
    (work / f"done_{tag}").write_text("1")
    _wait(work / f"exit_{tag}")
    return 0


def _wait(path: Path, timeout: float = 7200) -> None:
    t = time.time()
    while not path.exists():
        if time.time() - t > timeout:
            raise TimeoutError(f"no {path} after {timeout} s")
        time.sleep(0.2)


def _prepare(work: Path, n: int) -> None:
    """The benchmark gazetteer (saved) and ``n`` seeded queries, built with this tree's code."""
    import pandas as pd

    from geocrime.config import data_dir
    from geocrime.gazetteer import Gazetteer, read_codepoint, read_fhrs, streets_from_police_uk
    from geocrime.geocoding.querygen import make_queries

    root = data_dir(required=True)
    fhrs = read_fhrs(root / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")
    units = read_codepoint(root / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    police = sorted(glob.glob(str(root / "policeuk_met_burglary_street" / "*.csv"))) + \
        sorted(glob.glob(str(root / "policeuk_city_of_london_street" / "*.csv")))
    gaz = Gazetteer.from_sources([fhrs, units, streets_from_police_uk(police, units)])
    gaz.save(work / "gaz")
    pd.Series(make_queries(fhrs, gaz, n=n, seed=0)["query"]).to_pickle(work / "queries.pkl")


def _side(work: Path, tag: str, src: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={work / ('cg_' + tag)}",
           sys.executable, __file__, "--child", str(work), tag]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(work / f"log_{tag}", "w"))


def _count(work: Path, tag: str, proc: subprocess.Popen) -> int:
    """Switch instrumentation on around the child's geocode call; the instructions counted."""
    _wait(work / f"ready_{tag}")
    pid = (work / f"ready_{tag}").read_text().strip()
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    (work / f"go_{tag}").write_text("1")
    _wait(work / f"done_{tag}")
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
    (work / f"exit_{tag}").write_text("1")
    proc.wait()
    text = "".join(Path(f).read_text() for f in glob.glob(str(work / f"cg_{tag}*")))
    return sum(int(v) for v in re.findall(r"^totals:\s*(\d+)", text, re.M))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return _child(Path(sys.argv[2]), sys.argv[3])
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-src", type=Path, required=True, help="the src directory of the base code")
    ap.add_argument("--n", type=int, default=10_000)
    a = ap.parse_args()
    here = Path(__file__).resolve().parents[1] / "src"
    with tempfile.TemporaryDirectory() as td:
        work = Path(td)
        _prepare(work, a.n)
        sides = {"base": a.base_src.resolve(), "this": here}
        procs = {tag: _side(work, tag, src) for tag, src in sides.items()}
        counts = {tag: _count(work, tag, p) for tag, p in procs.items()}
    for tag, src in sides.items():
        print(f"{tag}: {src}: {counts[tag]:,} instructions, {counts[tag] / a.n:,.0f} per record")
    print(f"ratio this/base: {counts['this'] / counts['base']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
