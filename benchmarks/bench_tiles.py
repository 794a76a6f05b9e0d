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

``--gate-demo`` instead times the publish gate on the demo's release (police.uk Met burglary + City of
London, the months both cover (six), borough + ward_2024 tables with totals, map points from the
206,570 Code-Point + FHRS addresses) with the current code and with the gate as it was before issue 19
(``--old-commit``, default 9b10de6, loaded from git into a temporary package) IN THE SAME RUN, and
prints both times and their ratio. ``--old-months N`` limits the old gate to N months when it is too
slow to wait for (its time is then scaled by months, marked as such). ``--attack`` also runs
``geocrime.publish.attack`` on both releases (exposed cells and points by attack).
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


OLD_COMMIT = "9b10de61c520ae05c1eee4ff18095d36ee7d3287"


def _old_publish(commit: str):
    """The publish package as of ``commit``, loaded from git into a temporary package ``oldpub``."""
    import importlib
    import re
    import subprocess

    root = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="oldpub_"))
    pkg = tmp / "oldpub"
    pkg.mkdir()
    for f in ("__init__", "_types", "gate", "mappoints", "suppression", "disclosure"):
        src = subprocess.run(["git", "show", f"{commit}:src/geocrime/publish/{f}.py"], cwd=root, check=True,
                             capture_output=True, text=True).stdout
        src = re.sub(r"from \.\.(\w)", r"from geocrime.\1", src).replace("from .. import", "from geocrime import")
        (pkg / f"{f}.py").write_text(src)
    sys.path.insert(0, str(tmp))
    return importlib.import_module("oldpub")


def _demo_inputs():
    import geopandas as gpd

    from geocrime._geo import lonlat_to_bng
    from geocrime.config import data_dir

    d = data_dir(required=True)
    cp = pd.read_csv(d / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz", usecols=["Postcode", "Eastings", "Northings"])
    fh = pd.read_csv(d / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv", usecols=["FHRSID", "Longitude", "Latitude"]).dropna()
    fx, fy = lonlat_to_bng(fh["Longitude"], fh["Latitude"])
    addr = gpd.GeoDataFrame(
        {"address_id": np.r_["cp:" + cp["Postcode"].astype(str).to_numpy(), "fhrs:" + fh["FHRSID"].astype(str).to_numpy()]},
        geometry=gpd.points_from_xy(np.r_[cp["Eastings"].to_numpy(float), fx], np.r_[cp["Northings"].to_numpy(float), fy]),
        crs=27700)
    met = pd.concat([pd.read_csv(f, dtype="string") for f in sorted((d / "policeuk_met_burglary_street").glob("*.csv"))])
    city = pd.concat([pd.read_csv(f, dtype="string") for f in sorted((d / "policeuk_city_of_london_street").glob("*.csv"))])
    months = sorted(set(met["Month"]) & set(city["Month"]))
    inc = pd.concat([met, city], ignore_index=True)
    return addr, inc[inc["Month"].isin(months)].reset_index(drop=True), months


def gate_demo(a) -> dict:
    """The demo's gate, current code vs the code before issue 19, same run."""
    from geocrime.areas import Boundaries
    from geocrime.publish import Release, build_map_points, gate

    addr, inc, months = _demo_inputs()
    bnd = Boundaries.from_registry(["borough", "ward_2024"])
    out: dict = {"addresses": int(len(addr)), "incidents": int(len(inc)), "months": months}
    t = time.perf_counter()
    mp = build_map_points(addr, bnd, k=8, id_col="address_id")
    out["new_map_points_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    g = gate(inc, mp, bnd, release=Release(tables=("borough", "ward_2024"), totals=True))
    out["new_gate_s"] = round(time.perf_counter() - t, 2)
    out["new_audit"] = g.report["suppression"]["audit"]
    old = _old_publish(a.old_commit)
    t = time.perf_counter()
    mpo = old.build_map_points(addr, k=8, id_col="address_id")
    out["old_map_points_s"] = round(time.perf_counter() - t, 2)
    om = months[: a.old_months] if a.old_months else months
    t = time.perf_counter()
    go = old.gate(inc[inc["Month"].isin(om)], mpo, bnd)
    out["old_gate_s"] = round(time.perf_counter() - t, 2)
    out["old_gate_months"] = len(om)
    out["old_gate_s_six_months"] = round(out["old_gate_s"] * len(months) / len(om), 2)
    out["ratio_old_over_new_gate"] = round(out["old_gate_s_six_months"] / out["new_gate_s"], 2)
    out["gate_under_20s"] = out["new_gate_s"] < 20
    if a.attack:
        out["attack"] = {"old": _attack(go, mpo, addr, inc), "new": _attack(g, mp, addr, inc)}
    return out


def _attack(g, mp, addr, inc) -> dict:
    from geocrime._geo import lonlat_to_bng
    from geocrime.publish.attack import point_attack, table_attack

    res = {}
    for name, kw in (("ward_table_only", dict(layers=["ward_2024"], totals=False)),
                     ("ward_and_borough_tables", dict(layers=["ward_2024", "borough"], totals=False)),
                     ("all_tables_and_totals", dict(layers=None, totals=True))):
        res[name] = table_attack(g, **kw).summary()
    axy = np.c_[addr.geometry.x.to_numpy(), addr.geometry.y.to_numpy()]
    ix, iy = lonlat_to_bng(pd.to_numeric(inc["Longitude"], errors="coerce").to_numpy(float),
                           pd.to_numeric(inc["Latitude"], errors="coerce").to_numpy(float))
    ok = np.isfinite(ix) & np.isfinite(iy)
    px, py = lonlat_to_bng(g.points["lon"].to_numpy(float), g.points["lat"].to_numpy(float))
    pub = pd.DataFrame({"map_point_id": g.points["map_point_id"].to_numpy(), "x": px, "y": py})
    res["points"] = point_attack(pub, axy, mp.address_point.to_numpy(), np.r_[axy, np.c_[ix[ok], iy[ok]]], k=8).summary()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gate-demo", action="store_true", help="time the demo's gate: current code vs before issue 19")
    ap.add_argument("--old-commit", default=OLD_COMMIT)
    ap.add_argument("--old-months", type=int, default=0)
    ap.add_argument("--attack", action="store_true")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--minzoom", type=int, default=8)
    ap.add_argument("--maxzoom", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.gate_demo:
        res = gate_demo(a)
        print(json.dumps(res, indent=1, default=str))
        return 0

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
