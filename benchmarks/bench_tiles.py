"""Benchmark the public tile pyramid: London z8-z16 from 1,000,000 synthetic incidents.

Incidents: drawn around real OS Code-Point Open postcode units (``$GEOCRIME_DATA_DIR`` /
codepoint_open_london_postcodes), uniform over units, jittered N(0, 25 m), spread over ``--months``
months and 4 crime categories (fixed seed). They go through the real publish gate
(``geocrime.publish.build_map_points`` on the Code-Point units with k=8, then ``gate`` with ward_2022
suppression), and the gated points are written as tiles. Timed per stage. Baselines in the same run:

* formats: MVT directory (default) vs the same vector tiles in one PMTiles archive vs PNG raster
  tiles (all-month totals only) — tile count, bytes, seconds;
* tile maths: ``tile_indices`` (vectorised mercantile formulas) vs ``mercantile.tile`` called per
  map point per zoom (the naive loop), on all gated map points at z8-z16.

Run: ``.venv/bin/python benchmarks/bench_tiles.py [--n 1000000] [--months 6] [--json]``
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def synth(n: int, months: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    from geocrime.config import data_dir

    cp = pd.read_csv(data_dir(required=True) / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz",
                     usecols=["Postcode", "Eastings", "Northings"])
    cp = cp[(cp.Eastings > 0) & (cp.Northings > 0)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(cp), n)
    x = cp.Eastings.to_numpy(float)[i] + rng.normal(0, 25, n)
    y = cp.Northings.to_numpy(float)[i] + rng.normal(0, 25, n)
    mlist = [f"2024-{m:02d}" for m in range(1, months + 1)]
    types = np.array(["Burglary", "Robbery", "Vehicle crime", "Criminal damage and arson"])
    inc = pd.DataFrame({
        "easting": x, "northing": y,
        "month": np.array(mlist)[rng.integers(0, months, n)],
        "crime_type": types[rng.choice(len(types), n, p=[0.4, 0.1, 0.3, 0.2])],
        "description": "synthetic",  # free text the gate must drop
    })
    return inc, cp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--minzoom", type=int, default=8)
    ap.add_argument("--maxzoom", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    import geopandas as gpd
    import mercantile

    from geocrime.publish import build_map_points, gate
    from geocrime.publish.tiles import tile_indices, write_tiles

    out: dict = {"n_incidents": a.n, "months": a.months, "zooms": [a.minzoom, a.maxzoom]}
    t = time.perf_counter()
    inc, cp = synth(a.n, a.months)
    out["synth_s"] = time.perf_counter() - t

    t = time.perf_counter()
    addr = gpd.GeoDataFrame({"pc": cp.Postcode}, geometry=gpd.points_from_xy(cp.Eastings, cp.Northings), crs=27700)
    mp = build_map_points(addr, k=8, id_col="pc")
    out["map_points_s"] = time.perf_counter() - t
    out["map_points"] = int(len(mp.points))

    t = time.perf_counter()
    g = gate(inc, mp, layers=("ward_2022",), threshold=5)
    out["gate_s"] = time.perf_counter() - t
    out["gated_rows"] = int(len(g.points))
    out["gated_incidents"] = int(g.points["count"].sum())

    tmp = Path(tempfile.mkdtemp(prefix="bench_tiles_"))
    try:
        res = {}
        for fmt in ("mvt", "pmtiles", "png"):
            t = time.perf_counter()
            ts = write_tiles(g, tmp / fmt, minzoom=a.minzoom, maxzoom=a.maxzoom, format=fmt)
            wall = time.perf_counter() - t
            on_disk = (ts.path.stat().st_size if ts.path.is_file()
                       else sum(f.stat().st_size for f in ts.path.rglob("*") if f.is_file()))
            res[fmt] = {"seconds": round(wall, 2), "tiles": ts.tile_count, "tile_bytes": ts.total_bytes,
                        "bytes_on_disk": on_disk, "features": ts.feature_count,
                        "stages_s": {k: round(v, 2) for k, v in ts.seconds.items()}}
        out["formats"] = res

        # tile maths: vectorised vs mercantile per point per zoom
        pts = g.points.drop_duplicates("map_point_id")
        lon, lat = pts.lon.to_numpy(), pts.lat.to_numpy()
        zooms = range(a.minzoom, a.maxzoom + 1)
        tile_indices(lon[:10], lat[:10], 8)  # warm-up
        t = time.perf_counter()
        vec = [tile_indices(lon, lat, z) for z in zooms]
        tv = time.perf_counter() - t
        t = time.perf_counter()
        naive = [[mercantile.tile(x, y, z) for x, y in zip(lon.tolist(), lat.tolist())] for z in zooms]
        tn = time.perf_counter() - t
        same = all(np.array_equal(v[0], [tt.x for tt in nv]) and np.array_equal(v[1], [tt.y for tt in nv])
                   for v, nv in zip(vec, naive))
        out["tile_maths"] = {"points": int(len(pts)), "vectorised_s": round(tv, 4), "mercantile_loop_s": round(tn, 3),
                             "speedup": round(tn / max(tv, 1e-9), 1), "identical": bool(same)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    m = out["formats"]["mvt"]
    out["ratios"] = {
        "png_vs_mvt_time": round(out["formats"]["png"]["seconds"] / m["seconds"], 2),
        "png_vs_mvt_bytes": round(out["formats"]["png"]["tile_bytes"] / m["tile_bytes"], 2),
        "pmtiles_vs_mvt_time": round(out["formats"]["pmtiles"]["seconds"] / m["seconds"], 2),
    }
    out["target_pyramid_under_60s"] = m["seconds"] < 60
    out["end_to_end_mvt_s"] = round(out["synth_s"] + out["map_points_s"] + out["gate_s"] + m["seconds"], 1)
    if a.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"incidents {a.n:,} over {a.months} months -> {out['map_points']:,} map points "
          f"(k=8, {out['map_points_s']:.1f} s) -> gate {out['gate_s']:.1f} s: {out['gated_rows']:,} point rows, "
          f"{out['gated_incidents']:,} incidents published")
    print(f"synthesis {out['synth_s']:.1f} s")
    for fmt, r in out["formats"].items():
        print(f"{fmt:8s} z{a.minzoom}-{a.maxzoom}: {r['tiles']:,} tiles, {r['tile_bytes'] / 1e6:.1f} MB tiles "
              f"({r['bytes_on_disk'] / 1e6:.1f} MB files), {r['features']:,} features, {r['seconds']:.1f} s "
              f"(stages {r['stages_s']})")
    tm = out["tile_maths"]
    print(f"tile maths on {tm['points']:,} points x {len(range(a.minzoom, a.maxzoom + 1))} zooms: vectorised "
          f"{tm['vectorised_s'] * 1000:.1f} ms vs mercantile loop {tm['mercantile_loop_s']:.2f} s "
          f"= {tm['speedup']:.0f}x (identical: {tm['identical']})")
    print(f"ratios: PNG/MVT time {out['ratios']['png_vs_mvt_time']}x, PNG/MVT bytes {out['ratios']['png_vs_mvt_bytes']}x, "
          f"PMTiles/MVT time {out['ratios']['pmtiles_vs_mvt_time']}x")
    print(f"MVT pyramid < 60 s: {out['target_pyramid_under_60s']}; end to end (synthesis + map points + gate + "
          f"MVT pyramid): {out['end_to_end_mvt_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
