"""How far beyond its own borough does a written locality reach? (the place lexicon's tolerance)

Data: the GOV.UK messy address lists (``gds_messy_addresses_london_dev``: real address text with the
Code-Point centroid and borough of its postcode as truth). Every text is parsed with the rules
parser; each locality / town part that is a *locality* of ``localities_london`` with one meaning
(one borough) is compared with the truth:

* in own borough: the truth postcode lies in the locality's borough;
* border reach: for the others, the distance from the locality's point to the truth borough's
  polygon, i.e. the tolerance ``D`` a rule "a locality also means every borough within D metres of its
  point" needs to accept the truth;
* radius: the distance from the locality's point to the truth point (the locality's extent).

It prints the shares accepted for a range of D and the mean number of boroughs a locality then
means (the price of a larger D). Run: ``.venv/bin/python benchmarks/measure_locality_tolerance.py``
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> int:
    import geopandas as gpd
    import shapely

    from geocrime.address import parse_many
    from geocrime.address.places import place_key
    from geocrime.config import data_dir

    root = data_dir(required=True)
    gds = pd.read_csv(root / "gds_messy_addresses_london_dev" / "london_messy_addresses_dev.csv", dtype=str)
    loc = pd.read_csv(root / "localities_london" / "london_localities.csv")
    bnd = gpd.read_file(root / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp").to_crs(27700)
    p = parse_many(gds["text"], backend="rules")
    # candidate place parts: every comma part of locality and town
    parts = pd.concat([p["locality"], p["town"]]).dropna().astype("str").str.split(",").explode()
    parts = parts[parts.str.strip() != ""]
    key = place_key(parts)
    loc["key"] = place_key(loc["locality"])
    loc = loc[~loc["key"].isin(["london", "greater london"])]  # "London" is a county word, not a locality
    one = loc.groupby("key").filter(lambda g: g["lad"].nunique() == 1).drop_duplicates("key").set_index("key")
    towns = set(place_key(loc["post_town"].fillna("").str.split(",").explode().str.strip()))
    if "--areas-only" in sys.argv:  # leave out names that are also post towns (Harrow, Edgware, Romford)
        one = one[~one.index.isin(towns)]
    hit = key[key.isin(one.index)]
    rows = pd.DataFrame({"row": hit.index.to_numpy(), "key": hit.to_numpy()}).drop_duplicates()
    rows = rows.join(one[["lad", "easting", "northing"]], on="key")
    truth = gds.loc[rows["row"].to_numpy()]
    rows["truth_lad"] = truth["lad_code"].to_numpy()
    tx, ty = truth["easting"].astype(float).to_numpy(), truth["northing"].astype(float).to_numpy()
    rows["dist_m"] = np.hypot(tx - rows["easting"].to_numpy(float), ty - rows["northing"].to_numpy(float))
    poly = bnd.set_index("LAD22CD").geometry
    pts = shapely.points(rows["easting"].to_numpy(float), rows["northing"].to_numpy(float))
    rows["reach_m"] = shapely.distance(pts, poly.reindex(rows["truth_lad"]).values)
    own = rows["lad"] == rows["truth_lad"]
    if "--show" in sys.argv:
        print(rows[~own].join(gds[["text", "postcode"]], on="row").sample(25, random_state=0).to_string())
    n = len(rows)
    print(f"locality mentions with one meaning: {n} (texts {rows['row'].nunique()} of {len(gds)}; "
          f"{rows['key'].nunique()} distinct localities)")
    print(f"truth in the locality's own borough: {own.mean():.3f} ({int(own.sum())}/{n})")
    reach = rows.loc[~own, "reach_m"].to_numpy()
    print("other-borough cases: distance from locality point to the truth borough (m): "
          + ", ".join(f"p{q}={np.quantile(reach, q / 100):.0f}" for q in (25, 50, 75, 90)) if len(reach) else "none")
    all_pts = shapely.points(loc["easting"].fillna(0).to_numpy(float), loc["northing"].fillna(0).to_numpy(float))
    tree = shapely.STRtree(bnd.geometry.values)
    print(f"{'D (m)':>7} {'accepted':>9} {'boroughs per locality':>22}")
    for d in (0, 250, 500, 800, 1000, 1500, 2000, 3000):
        acc = (own | (rows["reach_m"] <= d)).mean()
        pi, _ = tree.query(all_pts, predicate="dwithin", distance=max(d, 1e-6))
        per = np.bincount(pi, minlength=len(loc)).mean()
        print(f"{d:7d} {acc:9.3f} {per:22.2f}")
    dq = rows["dist_m"].to_numpy()
    print("distance locality point -> truth (m): " + ", ".join(f"p{q}={np.quantile(dq, q / 100):.0f}" for q in (50, 75, 90, 95, 99)))
    print(f"truth within the radius: " + ", ".join(f"{r} m: {(dq <= r).mean():.3f}" for r in (1000, 1500, 2000, 2500, 3000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
