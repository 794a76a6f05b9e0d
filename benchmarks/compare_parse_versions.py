"""Rules-parser speed of the working tree against an earlier commit, measured in the same run.

The commit's ``src`` is exported (``git archive``) to a temporary directory; each version parses the
same strings (``bench_address.load_strings``: FHRS address lines + police.uk locations, resampled
with a fixed seed) in its own subprocess, alternating, best of ``--repeat`` runs each, on all N
strings and on the distinct strings only. Prints wall and CPU seconds (CPU time is steadier on a
shared machine), records/s and the ratio new / old.

Run: ``.venv/bin/python benchmarks/compare_parse_versions.py [--ref e538cf4] [--n 100000] [--rounds 2]``
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r'''
import sys, time, json
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[4])
from bench_address import load_strings
import geocrime.address as A
s = load_strings(int(sys.argv[2]))
u = s.drop_duplicates().reset_index(drop=True)
A.parse_many(s.head(2000), backend="rules")
best = {}
for name, data in (("all", s), ("distinct", u)):
    ts, cs = [], []
    for _ in range(int(sys.argv[3])):
        t, c = time.perf_counter(), time.process_time()
        A.parse_many(data, backend="rules")
        ts.append(time.perf_counter() - t); cs.append(time.process_time() - c)
    best[name] = min(ts)
    best[name + "_cpu"] = min(cs)
print(json.dumps({"file": A.__file__, "n": len(s), "n_distinct": len(u), **best}))
'''


def export(ref: str, dest: Path) -> Path:
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tf:
        tf.extractall(dest)
    return dest / "src"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="e538cf4", help="the earlier commit (default: before issue 17's parser work)")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2, help="old/new alternations (machine load varies)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old_src = export(a.ref, Path(tmp))
        res: dict[str, list[dict]] = {"old": [], "new": []}
        for _ in range(a.rounds):
            for tag, src in (("old", old_src), ("new", ROOT / "src")):
                out = subprocess.run([sys.executable, "-c", _CHILD, str(src), str(a.n), str(a.repeat),
                                      str(ROOT / "benchmarks")], capture_output=True, text=True)
                if out.returncode:
                    print(out.stderr[-3000:])
                    return 1
                res[tag].append(json.loads(out.stdout.strip().splitlines()[-1]))
    n, nd = res["new"][0]["n"], res["new"][0]["n_distinct"]
    print(f"rules parser, {n:,} strings ({nd:,} distinct); old = {a.ref}, new = working tree; best of "
          f"{a.repeat} x {a.rounds} rounds")
    for k, cnt in (("all", n), ("distinct", nd)):
        for clock in ("", "_cpu"):
            old = min(r[k + clock] for r in res["old"])
            new = min(r[k + clock] for r in res["new"])
            what = "CPU " if clock else "wall"
            print(f"  {k:9s} {what} old {old:6.2f} s ({cnt / old:9,.0f}/s)   new {new:6.2f} s ({cnt / new:9,.0f}/s)   "
                  f"new/old ratio {new / old:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
