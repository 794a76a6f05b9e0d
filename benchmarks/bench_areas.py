"""Benchmark: points in London to wards 2022 (704, E09 only) + LSOA 2021 (4,994), against geopandas.sjoin.

For each size (default 10,000, 100,000 and 1,000,000 points, uniform inside London, seeded) it prints,
measured in the same run:

* **cold, empty cache**: a new process (layers loaded, points in a GeoDataFrame), an empty grid cache
  (``GEOCRIME_CACHE_DIR`` a fresh directory), the time of the first ``assign_areas`` call for both
  layers;
* **cold, warm cache**: the same in another new process reusing that cache directory;
* **sjoin cold**: a new process, the time of ``geopandas.sjoin`` (``how="left"``, ``predicate="within"``)
  for both layers, the baseline of both cold figures;
* **warm**: in this process, the best of ``--repeat`` calls after a first one, for geocrime and sjoin;

and the ratios (cold: geocrime / sjoin, <= 1.0 is the target; warm: sjoin / geocrime, the speed-up).
Wall time and the process's CPU time are both shown (this machine is shared: wall time varies).
It then checks that geocrime's answer equals sjoin's wherever sjoin finds exactly one polygon, and
follows the documented edge rule (smallest code, by brute-force ``covers``) elsewhere.

``--calibrate`` measures the cost model of ``geocrime.areas._index.Costs`` (build and lookup of grids
of 10-160 m against the exact test, CPU time); ``--detail`` times the exact residual methods.

Run: ``.venv/bin/python benchmarks/bench_areas.py`` (needs the data registry's local mirror).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geocrime.areas import Boundaries, assign_areas, load_layer
from geocrime.areas._index import (
    _build_grid,
    _exact_candidates,
    _exact_rtree,
    _exact_strtree,
    _lookup,
    _rtree_index,
    _shape,
)

LAYERS = ["ward_2022", "lsoa_2021"]


def sample_points(b: Boundaries, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform inside the union of the LSOAs (London), seeded."""
    london = shapely.union_all(np.asarray(b.layer("lsoa_2021").geometry.array))
    shapely.prepare(london)
    x0, y0, x1, y1 = london.bounds
    rng = np.random.default_rng(seed)
    xs, ys, got = [], [], 0
    while got < n:
        x = rng.uniform(x0, x1, 2 * n)
        y = rng.uniform(y0, y1, 2 * n)
        k = shapely.contains_xy(london, x, y)
        xs.append(x[k])
        ys.append(y[k])
        got += int(k.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def timed(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def best(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall and best CPU time of ``repeat`` runs, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        out, w, c = timed(fn)
        walls.append(w)
        cpus.append(c)
    return min(walls), min(cpus), out


def sjoin_all(pts: gpd.GeoDataFrame, b: Boundaries) -> dict:
    return {n: gpd.sjoin(pts, b.layer(n)[["code", "geometry"]], how="left", predicate="within") for n in LAYERS}


# ------------------------------------------------------------------------------ child processes
def child(mode: str, points: str, n: int) -> None:
    """One cold measurement in this (new) process; prints one JSON line."""
    warnings.simplefilter("ignore")
    z = np.load(points)
    x, y = z["x"][:n], z["y"][:n]
    b, t_load, _ = timed(lambda: Boundaries.from_registry(LAYERS, cache=(mode == "geocrime")))
    pts = gpd.GeoDataFrame({"id": np.arange(n)}, geometry=gpd.points_from_xy(x, y), crs=27700)
    if mode == "sjoin":
        _, wall, cpu = timed(lambda: sjoin_all(pts, b))
        info = {}
    else:
        _, wall, cpu = timed(lambda: assign_areas(pts, b, LAYERS))
        info = {k: {kk: r["grid"][kk] for kk in ("cell_size_m", "origin")} if "grid" in r else "exact"
                for k, r in b.reports.items()}
    print(json.dumps({"wall": wall, "cpu": cpu, "load": t_load, "plan": info}))


def run_child(mode: str, points: Path, n: int, cache: Path) -> dict:
    env = dict(os.environ, GEOCRIME_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--points", str(points), "--n", str(n)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ the table
def table(b: Boundaries, x: np.ndarray, y: np.ndarray, sizes: list[int], repeat: int, work: Path) -> None:
    points = work / "points.npz"
    np.savez(points, x=x, y=y)
    print(f"{'points':>10} | {'sjoin cold':>17} | {'geocrime cold, empty cache':>33} | "
          f"{'geocrime cold, warm cache':>33} | {'sjoin warm':>17} | {'geocrime warm':>17} | warm speed-up")
    rows = []
    for n in sizes:
        cache = work / f"cache_{n}"
        sj = run_child("sjoin", points, n, cache)
        c0 = run_child("geocrime", points, n, cache)
        c1 = run_child("geocrime", points, n, cache)
        pts = gpd.GeoDataFrame({"id": np.arange(n)}, geometry=gpd.points_from_xy(x[:n], y[:n]), crs=27700)
        fresh = Boundaries([load_layer(b.layer(k), k, code="code", label="name") for k in LAYERS], cache=False)
        assign_areas(pts, fresh, LAYERS)  # the first call in this process (cold, not reported here)
        gw, gc, _ = best(lambda: assign_areas(pts, fresh, LAYERS), repeat)
        sw, sc, _ = best(lambda: sjoin_all(pts, b), repeat)
        rows.append((n, sj, c0, c1, (sw, sc), (gw, gc)))

        def cell(d: dict, base: dict | None = None) -> str:
            r = f" {d['wall'] / base['wall']:.2f}x" if base else ""
            return f"{d['wall']:6.3f} s (CPU {d['cpu']:5.3f}){r}"

        print(f"{n:>10,} | {cell(sj)} | {cell(c0, sj):>33} | {cell(c1, sj):>33} | "
              f"{sw:6.3f} s (CPU {sc:5.3f}) | {gw:6.3f} s (CPU {gc:5.3f}) | {sw / gw:5.1f}x (CPU {sc / gc:.1f}x)",
              flush=True)
    print("plans (cold, empty cache -> warm cache):")
    for n, _, c0, c1, _, _ in rows:
        print(f"  {n:>10,}: {c0['plan']} -> {c1['plan']}")
    print("layer load + validation in the cold processes: "
          + ", ".join(f"{r[2]['load']:.2f} s" for r in rows) + " (not part of the call times)")


def check_agreement(b: Boundaries, x: np.ndarray, y: np.ndarray) -> None:
    pts = gpd.GeoDataFrame({"id": np.arange(len(x))}, geometry=gpd.points_from_xy(x, y), crs=27700)
    out = assign_areas(pts, b, LAYERS)
    sj = sjoin_all(pts, b)
    for n in LAYERS:
        j = sj[n]
        cnt = j["code"].notna().groupby(level=0).sum().reindex(range(len(x)), fill_value=0).to_numpy()
        one = cnt == 1
        first = j[~j.index.duplicated()]["code"].reindex(range(len(x))).to_numpy(dtype=object)
        mine = out[n].to_numpy(dtype=object)
        assert (mine[one] == first[one]).all(), f"{n}: points differ from sjoin"
        lay = b.layer(n)
        geoms = np.asarray(lay.geometry.array)
        odd = np.flatnonzero(~one)
        for i in odd:  # on an edge or outside every polygon (rare): brute-force edge rule
            cov = np.flatnonzero(shapely.covers(geoms, shapely.Point(x[i], y[i])))
            want = lay["code"].iloc[cov.min()] if len(cov) else None
            assert (want is None and mine[i] != mine[i]) or mine[i] == want, (n, i)
        print(f"agreement {n}: {int(one.sum()):,} points with one sjoin match all equal; "
              f"{len(odd)} other points checked by brute force (edge rule)")


# ------------------------------------------------------------------------------ calibration, detail
def calibrate(b: Boundaries, x: np.ndarray, y: np.ndarray) -> None:
    """Cost of grid builds and lookups in units of one exact point test (CPU time, best of 3)."""
    x, y = x[:200_000], y[:200_000]
    for name in LAYERS:
        lay, sh = b.get(name), _shape(b.get(name))
        ce = best(lambda: _exact_strtree(lay, x, y), 3)[1] / len(x)
        print(f"{name}: exact test {ce * 1e6:.2f} us per point (CPU)")
        for s in (10.0, 20.0, 40.0, 80.0, 160.0):
            cb = best(lambda: _build_grid(lay, s), 2)[1]
            g = _build_grid(lay, s)
            cl = best(lambda: _lookup(lay, g, x, y), 3)[1]
            pieces = sh.boundary_length / (0.45 * g.size) + sh.vertices
            print(f"  {s:5g} m: build {cb / ce:9,.0f} point tests ({g.nx * g.ny:,} cells, {pieces:,.0f} pieces); "
                  f"lookup {cl / ce / len(x):.3f} per point (mixed cells {g.mixed_fraction:.3f})")


def detail(b: Boundaries, x: np.ndarray, y: np.ndarray, repeat: int) -> None:
    """The exact residual (points in boundary cells): STRtree, rtree and per-cell candidates."""
    b.prepare()
    for n in LAYERS:
        lay, g = b.get(n), b.grid(n)
        flat = np.floor((y - g.y0) / g.size).astype(np.int64) * g.nx + np.floor((x - g.x0) / g.size).astype(np.int64)
        k = np.flatnonzero(g.lut.ravel()[flat] == -2)
        xs, ys = x[k], y[k]
        idx = _rtree_index(lay)
        t_str, c_str, a = best(lambda: _exact_strtree(lay, xs, ys), repeat)
        t_rt, c_rt, r = best(lambda: _exact_rtree(lay, xs, ys, idx), repeat)
        t_c, c_c, c = best(lambda: _exact_candidates(lay, g, flat[k], xs, ys), repeat)
        assert (a == r).all() and (a == c).all()
        print(f"residual {n}: {len(k):,} points in boundary cells of the {g.size:g} m grid: STRtree {t_str:.3f} s, "
              f"rtree {t_rt:.3f} s, per-cell candidates {t_c:.3f} s (CPU {c_str:.3f} / {c_rt:.3f} / {c_c:.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--calibrate", action="store_true", help="measure the grid cost model instead")
    ap.add_argument("--detail", action="store_true", help="also time the exact residual methods")
    ap.add_argument("--child", choices=["sjoin", "geocrime"], help=argparse.SUPPRESS)
    ap.add_argument("--points", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.points, args.n)
    sizes = [int(s) for s in args.sizes.split(",")]
    b = Boundaries.from_registry(LAYERS, cache=False)
    x, y = sample_points(b, max(sizes), args.seed)
    print(f"points uniform inside London (seed {args.seed}); layers: "
          + ", ".join(f"{n} ({len(b.layer(n)):,} polygons)" for n in LAYERS))
    if args.calibrate:
        return calibrate(b, x, y)
    with tempfile.TemporaryDirectory(prefix="bench_areas_") as work:
        table(b, x, y, sizes, args.repeat, Path(work))
    check_agreement(b, x, y)
    if args.detail:
        detail(b, x, y, args.repeat)


if __name__ == "__main__":
    warnings.simplefilter("ignore", FutureWarning)
    main()
