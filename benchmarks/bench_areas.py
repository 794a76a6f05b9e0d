"""Benchmark: 1,000,000 points in London to wards 2022 (704, E09 only) + LSOA 2021 (4,994).

Prints, measured in the same run (best of ``--repeat``):

* geocrime: layer load, grid build (once per layer, cached), query time for both layers
  (``Boundaries.lookup``) and the full ``assign_areas`` on a 1M-row GeoDataFrame;
* plain ``geopandas.sjoin`` (predicate ``within`` and ``intersects``) per layer, and the ratios;
* the exact residual (points in boundary cells) with shapely STRtree, rtree and the per-cell
  candidate lists geocrime uses;
* optionally (``--sweep``) the grid cell size trade-off.

It asserts that geocrime's answer equals sjoin's wherever sjoin finds exactly one polygon, and that
the other points (none or several sjoin matches) follow the documented edge rule (checked by brute
force ``covers``): with uniform random floats they essentially never occur.

Run: ``.venv/bin/python benchmarks/bench_areas.py`` (needs the data registry's local mirror).
"""
from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import numpy as np
import shapely

from geocrime.areas import Boundaries, assign_areas
from geocrime.areas._index import _exact_candidates, _exact_rtree, _exact_strtree, _lookup, _rtree_index


CPU: dict = {}


def best(fn, repeat: int):
    """Best wall time of ``repeat`` runs; the best process CPU time is kept in CPU[id(result)]."""
    out, times, cpus = None, [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        cpus.append(time.process_time() - c)
        times.append(time.perf_counter() - t)
    best.cpu = min(cpus)
    return min(times), out


def fmt(wall: float, cpu: float) -> str:
    return f"{wall:.3f} s (CPU {cpu:.3f} s)"


def sample_points(b: Boundaries, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    london = shapely.union_all(np.asarray(b.layer("lsoa_2021").geometry.array))
    shapely.prepare(london)
    x0, y0, x1, y1 = london.bounds
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    got = 0
    while got < n:
        x = rng.uniform(x0, x1, 2 * n)
        y = rng.uniform(y0, y1, 2 * n)
        k = shapely.contains_xy(london, x, y)
        xs.append(x[k])
        ys.append(y[k])
        got += int(k.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sweep", action="store_true", help="also time cell sizes 5, 10, 20, 40 m")
    args = ap.parse_args()
    layers = ["ward_2022", "lsoa_2021"]

    t = time.perf_counter()
    b = Boundaries.from_registry(layers)
    t_load = time.perf_counter() - t
    x, y = sample_points(b, args.n, args.seed)
    print(f"points: {len(x):,} uniform inside London (seed {args.seed}); layers: "
          + ", ".join(f"{n} ({len(b.layer(n)):,})" for n in layers))
    print(f"load + validate layers: {t_load:.2f} s")

    t = time.perf_counter()
    b.prepare()
    t_build = time.perf_counter() - t
    for n in layers:
        g = b.grid(n)
        print(f"  grid {n}: {g.nx}x{g.ny} cells of {g.size:g} m, {g.mixed_fraction:.1%} boundary cells, "
              f"built in {g.build_seconds:.2f} s, {g.lut.nbytes / 1e6:.0f} MB")
    print(f"grid build (once, cached): {t_build:.2f} s")

    t_q, rows = best(lambda: {n: b.lookup(n, x, y) for n in layers}, args.repeat)
    c_q = best.cpu
    pts = gpd.GeoDataFrame({"id": np.arange(len(x))}, geometry=gpd.points_from_xy(x, y), crs=27700)
    t_assign, out = best(lambda: assign_areas(pts, b, layers), args.repeat)
    c_assign = best.cpu
    print(f"geocrime query, both layers (Boundaries.lookup): {fmt(t_q, c_q)}")
    print(f"geocrime assign_areas on a 1M-row GeoDataFrame, both layers (with output columns): {fmt(t_assign, c_assign)}")

    sj = {}
    for n in layers:
        poly = b.layer(n)[["code", "geometry"]]
        for pred in ("within", "intersects"):
            tt, j = best(lambda: gpd.sjoin(pts, poly, how="left", predicate=pred), max(1, args.repeat - 1))
            sj[(n, pred)] = (tt, j, best.cpu)
            print(f"geopandas.sjoin {n} predicate={pred}: {fmt(tt, best.cpu)}")
    base_within = sum(sj[(n, "within")][0] for n in layers)
    base_best = sum(min(sj[(n, "within")][0], sj[(n, "intersects")][0]) for n in layers)
    cpu_within = sum(sj[(n, "within")][2] for n in layers)
    cpu_best = sum(min(sj[(n, "within")][2], sj[(n, "intersects")][2]) for n in layers)
    print(f"sjoin total (within): {fmt(base_within, cpu_within)}; best predicate per layer: {fmt(base_best, cpu_best)}")
    print(f"RATIO query (wall): {base_within / t_q:.1f}x faster than sjoin(within), {base_best / t_q:.1f}x than the best sjoin")
    print(f"RATIO query (CPU):  {cpu_within / c_q:.1f}x faster than sjoin(within), {cpu_best / c_q:.1f}x than the best sjoin")
    print(f"RATIO assign_areas (wall): {base_within / t_assign:.1f}x than sjoin(within), {base_best / t_assign:.1f}x than the best sjoin")
    print(f"RATIO assign_areas (CPU):  {cpu_within / c_assign:.1f}x than sjoin(within), {cpu_best / c_assign:.1f}x than the best sjoin")

    # agreement with sjoin
    for n in layers:
        j = sj[(n, "within")][1]
        cnt = j["code"].notna().groupby(level=0).sum().reindex(range(len(x)), fill_value=0).to_numpy()
        one = cnt == 1
        first = j[~j.index.duplicated()]["code"].reindex(range(len(x))).to_numpy(dtype=object)
        mine = out[n].to_numpy(dtype=object)
        eq = np.array([a == c for a, c in zip(mine[one], first[one])])
        assert eq.all(), f"{n}: {int((~eq).sum())} points differ from sjoin"
        odd = np.flatnonzero(~one)
        lay = b.layer(n)
        geoms = np.asarray(lay.geometry.array)
        for i in odd:  # on an edge or outside every polygon (rare): brute-force edge rule
            cov = np.flatnonzero(shapely.covers(geoms, shapely.Point(x[i], y[i])))
            want = lay["code"].iloc[cov.min()] if len(cov) else None
            assert (want is None and mine[i] != mine[i]) or mine[i] == want, (n, i)
        print(f"agreement {n}: {int(one.sum()):,} points with one sjoin match all equal; "
              f"{len(odd)} other points checked by brute force (edge rule)")

    # exact residual: STRtree vs rtree vs per-cell candidates
    for n in layers:
        lay, g = b.get(n), b.grid(n)
        fx = np.floor((x - g.x0) / g.size).astype(np.int64)
        fy = np.floor((y - g.y0) / g.size).astype(np.int64)
        flat = fy * g.nx + fx
        k = np.flatnonzero(g.lut.ravel()[flat] == -2)
        xs, ys = x[k], y[k]
        t_str, a = best(lambda: _exact_strtree(lay, xs, ys), args.repeat)
        c_str = best.cpu
        idx = _rtree_index(lay)
        t_rt, r = best(lambda: _exact_rtree(lay, xs, ys, idx), args.repeat)
        c_rt = best.cpu
        t_c, c = best(lambda: _exact_candidates(lay, g, flat[k], xs, ys), args.repeat)
        c_c = best.cpu
        assert (a == r).all() and (a == c).all()
        print(f"residual {n}: {len(k):,} points in boundary cells: STRtree {fmt(t_str, c_str)}, rtree {fmt(t_rt, c_rt)}, "
              f"per-cell candidates {fmt(t_c, c_c)}")
        t_full_rt, _ = best(lambda: _lookup(lay, g, x, y, exact=lambda L, X, Y: _exact_rtree(L, X, Y, idx)), args.repeat)
        c1 = best.cpu
        t_full_st, _ = best(lambda: _lookup(lay, g, x, y, exact=_exact_strtree), args.repeat)
        c2 = best.cpu
        t_full_c, _ = best(lambda: _lookup(lay, g, x, y), args.repeat)
        c3 = best.cpu
        print(f"  full lookup {n}: grid+rtree {fmt(t_full_rt, c1)}, grid+STRtree {fmt(t_full_st, c2)}, "
              f"grid+candidates {fmt(t_full_c, c3)}")

    if args.sweep:
        for cs in (5.0, 10.0, 20.0, 40.0):
            bb = Boundaries([b.get(n) for n in layers], cell_size=cs)
            for n in layers:
                bb.get(n)._grid = None
            t = time.perf_counter()
            bb.prepare()
            tb = time.perf_counter() - t
            tq, _ = best(lambda: {n: bb.lookup(n, x, y) for n in layers}, args.repeat)
            mem = sum(bb.grid(n).lut.nbytes for n in layers) / 1e6
            print(f"cell {cs:g} m (effective {bb.grid('lsoa_2021').size:g}): build {tb:.2f} s, query {fmt(tq, best.cpu)}, "
                  f"{mem:.0f} MB")
        for n in layers:
            b.get(n)._grid = None


if __name__ == "__main__":
    warnings.simplefilter("ignore", FutureWarning)
    main()
