"""Build the package's place lexicon ``src/geocrime/data/places/london_places.csv`` from open data.

Inputs (read in place from ``$GEOCRIME_DATA_DIR``, default ../shared/data; nothing else is read):

* ``localities_london/london_localities.csv``: the Wikipedia "List of areas of London" (CC BY-SA 4.0)
  with GeoNames points (CC BY 4.0) -> one ``locality`` row per (name, borough). Rows whose point came
  from a non-redistributable postcode->locality table (``ppd-locality postcodes``) or is missing get
  the median of the OS Code-Point Open units of their postcode district inside their borough instead.
* ``codepoint_open_london_postcodes/codepo_london_E09.csv.gz`` (OS Code-Point Open, OGL v3): the
  borough (admin district) of every postcode unit -> each place's postcode districts and each
  borough's point and radius.
* ``london_boroughs_lad22_ons`` (ONS, OGL v3): borough polygons -> the measured tolerance that lets
  a locality near a border also mean the neighbouring borough.

Run: ``.venv/bin/python scripts/build_london_places.py [--tolerance-m 1500] [--radius-m 3000]``
(the defaults are the figures measured by ``benchmarks/measure_locality_tolerance.py``).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "geocrime" / "data" / "places" / "london_places.csv"

#: borough code -> extra written forms (the official name, its "and"/"&" and "upon Thames"-less
#: forms and "LB ..." prefixes are generated; these are the short forms people write)
BOROUGH_FORMS: dict[str, list[str]] = {
    "E09000001": ["City of London", "City", "the City", "City of London Corporation"],
    "E09000002": ["Barking and Dagenham", "B&D", "LBBD", "Barking & Dagenham"],
    "E09000003": ["Barnet"],
    "E09000004": ["Bexley"],
    "E09000005": ["Brent"],
    "E09000006": ["Bromley"],
    "E09000007": ["Camden"],
    "E09000008": ["Croydon"],
    "E09000009": ["Ealing"],
    "E09000010": ["Enfield"],
    "E09000011": ["Greenwich", "Royal Borough of Greenwich", "RBG"],
    "E09000012": ["Hackney"],
    "E09000013": ["Hammersmith and Fulham", "H&F", "LBHF", "Hammersmith & Fulham"],
    "E09000014": ["Haringey"],
    "E09000015": ["Harrow"],
    "E09000016": ["Havering"],
    "E09000017": ["Hillingdon"],
    "E09000018": ["Hounslow"],
    "E09000019": ["Islington"],
    "E09000020": ["Kensington and Chelsea", "K&C", "RBKC", "Royal Borough of Kensington and Chelsea"],
    "E09000021": ["Kingston upon Thames", "Kingston", "RBK", "Royal Borough of Kingston upon Thames"],
    "E09000022": ["Lambeth"],
    "E09000023": ["Lewisham"],
    "E09000024": ["Merton"],
    "E09000025": ["Newham"],
    "E09000026": ["Redbridge"],
    "E09000027": ["Richmond upon Thames", "Richmond", "LBRuT"],
    "E09000028": ["Southwark"],
    "E09000029": ["Sutton"],
    "E09000030": ["Tower Hamlets", "LBTH"],
    "E09000031": ["Waltham Forest", "LBWF"],
    "E09000032": ["Wandsworth"],
    "E09000033": ["Westminster", "City of Westminster"],
}
#: written forms that mean more than one borough (NHS / police areas people write as a place)
MULTI_BOROUGH_FORMS: dict[str, list[str]] = {
    "City and Hackney": ["E09000012", "E09000001"],
    "City & Hackney": ["E09000012", "E09000001"],
}
#: words that locate nothing by themselves (historic counties, the country, Greater London as a whole;
#: "London" is the LONDON post town, see london_post_town)
COUNTY_WORDS = ["Greater London", "Gtr London", "Middlesex", "Middx", "Kent", "Essex", "Surrey",
                "Herts", "Hertfordshire", "England", "UK", "United Kingdom", "GB"]
#: county words narrow nothing alone, but choose between a name's meanings ("Hayes, Middlesex" is the
#: Hillingdon Hayes, "Hayes, Kent" the Bromley one): the boroughs of the historic and former postal county
_MX = ["E09000003", "E09000005", "E09000007", "E09000009", "E09000010", "E09000012", "E09000013", "E09000014",
       "E09000015", "E09000017", "E09000018", "E09000019", "E09000020", "E09000027", "E09000030", "E09000033",
       "E09000001"]
COUNTY_HINTS: dict[str, list[str]] = {
    "Middlesex": _MX, "Middx": _MX,
    "Kent": ["E09000004", "E09000006", "E09000011", "E09000023"],
    "Essex": ["E09000002", "E09000016", "E09000025", "E09000026", "E09000031"],
    "Surrey": ["E09000008", "E09000021", "E09000022", "E09000024", "E09000027", "E09000028", "E09000029", "E09000032"],
    "Herts": ["E09000003", "E09000010"], "Hertfordshire": ["E09000003", "E09000010"],
}
#: a post town's districts must hold at least this share of its London units in a borough for the
#: borough to count (drops a handful of stray units)
MIN_BOROUGH_SHARE = 0.01


def _circle(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Median point of unit points and the radius that covers 99% of them (metres)."""
    cx, cy = float(np.median(x)), float(np.median(y))
    r = float(np.quantile(np.hypot(x - cx, y - cy), 0.99)) if len(x) > 1 else 0.0
    return cx, cy, r


def load(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    loc = pd.read_csv(data / "localities_london" / "london_localities.csv", dtype={"postcode_district": str})
    cp = pd.read_csv(data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz",
                     usecols=["Postcode", "Eastings", "Northings", "Admin_district_code"])
    cp = cp[cp["Eastings"] > 0]
    cp["district"] = cp["Postcode"].str.replace(r"\s+", "", regex=True).str.slice(0, -3)
    return loc, cp


def boroughs(cp: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for code, g in cp.groupby("Admin_district_code"):
        if code not in BOROUGH_FORMS:
            continue
        cx, cy, r = _circle(g["Eastings"].to_numpy(float), g["Northings"].to_numpy(float))
        cnt = g["district"].value_counts()
        dists = "|".join(sorted(cnt[cnt >= 3].index))
        for form in BOROUGH_FORMS[code]:
            rows.append(dict(name=form, kind="borough", boroughs=code, districts=dists, x=cx, y=cy, radius_m=r,
                             source="ONS LAD22 / OS Code-Point Open"))
    by = {r["boroughs"]: r for r in rows}
    for form, codes in MULTI_BOROUGH_FORMS.items():
        g = cp[cp["Admin_district_code"].isin(codes)]
        cx, cy, r = _circle(g["Eastings"].to_numpy(float), g["Northings"].to_numpy(float))
        dists = sorted(set("|".join(by[c]["districts"] for c in codes).split("|")))
        rows.append(dict(name=form, kind="borough", boroughs="|".join(codes), districts="|".join(dists),
                         x=cx, y=cy, radius_m=r, source="NHS/police area naming; ONS LAD22"))
    return pd.DataFrame(rows)


def localities(loc: pd.DataFrame, cp: pd.DataFrame, bnd: "object", tolerance_m: float, radius_m: float) -> pd.DataFrame:
    """One row per (locality, borough): own borough plus boroughs whose polygon lies within
    ``tolerance_m`` of the point; own district plus districts with a unit within ``tolerance_m``."""
    import shapely
    from scipy.spatial import cKDTree

    loc = loc.copy()
    redo = loc["point_method"].isin(["ppd-locality postcodes", "none"]) | loc["easting"].isna()
    for i in np.flatnonzero(redo.to_numpy()):
        r = loc.iloc[i]
        g = cp[(cp["district"] == r["postcode_district"]) & (cp["Admin_district_code"] == r["lad"])]
        if not len(g):
            g = cp[cp["district"] == r["postcode_district"]]
        loc.iloc[i, loc.columns.get_loc("easting")] = float(np.median(g["Eastings"])) if len(g) else np.nan
        loc.iloc[i, loc.columns.get_loc("northing")] = float(np.median(g["Northings"])) if len(g) else np.nan
        loc.iloc[i, loc.columns.get_loc("point_method")] = "codepoint district∩borough"
    # a county word or "London" (the post town) is never a locality
    loc = loc[loc["easting"].notna() & ~loc["locality"].str.lower().isin([c.lower() for c in [*COUNTY_WORDS, "London"]])]
    loc = loc.reset_index(drop=True)
    pts = shapely.points(loc["easting"].to_numpy(float), loc["northing"].to_numpy(float))
    tree = shapely.STRtree(bnd.geometry.values)
    near_p, near_b = tree.query(pts, predicate="dwithin", distance=tolerance_m)
    codes = bnd["LAD22CD"].to_numpy(dtype=object)
    extra: dict[int, set[str]] = {}
    for p, b in zip(near_p, near_b):
        extra.setdefault(int(p), set()).add(codes[b])
    ut = cKDTree(np.c_[cp["Eastings"].to_numpy(float), cp["Northings"].to_numpy(float)])
    udist = cp["district"].to_numpy(dtype=object)
    rows = []
    for i, r in loc.iterrows():
        own = r["lad"]
        bs = [own] + sorted(extra.get(i, set()) - {own})
        near = ut.query_ball_point([r["easting"], r["northing"]], tolerance_m)
        ds = {r["postcode_district"]} if isinstance(r["postcode_district"], str) else set()
        ds |= set(udist[near])
        rows.append(dict(name=r["locality"], kind="locality", boroughs="|".join(bs), districts="|".join(sorted(ds)),
                         x=float(r["easting"]), y=float(r["northing"]), radius_m=radius_m,
                         source=f"Wikipedia areas of London; point: {r['point_method']}"))
    return pd.DataFrame(rows)


def post_towns(loc: pd.DataFrame, cp: pd.DataFrame) -> pd.DataFrame:
    """A post town means the districts Wikipedia lists under it (except LONDON: a county word)."""
    pairs = []
    for pt, d in zip(loc["post_town"].fillna(""), loc["postcode_district"].fillna("")):
        for t in re.split(r"\s*,\s*", pt):
            if t and d and t != "LONDON":
                pairs.append((t, d))
    pt = pd.DataFrame(pairs, columns=["town", "district"]).drop_duplicates()
    rows = []
    for town, g in pt.groupby("town"):
        units = cp[cp["district"].isin(g["district"])]
        if not len(units):
            continue
        share = units["Admin_district_code"].value_counts(normalize=True)
        bs = sorted(share[share >= MIN_BOROUGH_SHARE].index)
        cx, cy, r = _circle(units["Eastings"].to_numpy(float), units["Northings"].to_numpy(float))
        rows.append(dict(name=town.title().replace("Upon", "upon"), kind="post_town", boroughs="|".join(bs),
                         districts="|".join(sorted(g["district"])), x=cx, y=cy, radius_m=r,
                         source="Wikipedia areas of London (post town); OS Code-Point Open"))
    return pd.DataFrame(rows)


#: the postcode areas of the LONDON post town
LONDON_AREAS = r"^(E|EC|N|NW|SE|SW|W|WC)\d"


def london_post_town(cp: pd.DataFrame) -> pd.DataFrame:
    """"London" as written on an address: the LONDON post town, i.e. the E, EC, N, NW, SE, SW, W and WC
    districts; no point (it spans the city), so it bounds districts and never places a record."""
    units = cp[cp["district"].str.match(LONDON_AREAS)]
    bs = sorted(units["Admin_district_code"].unique())  # every borough with a LONDON unit (W4 in Hounslow ...)
    ds = sorted(units["district"].unique(), key=lambda d: (re.match(r"[A-Z]+", d).group(), int(re.search(r"\d+", d).group()), d))
    return pd.DataFrame([dict(name="London", kind="post_town", boroughs="|".join(bs), districts="|".join(ds),
                              x=np.nan, y=np.nan, radius_m=np.nan,
                              source="Royal Mail post town LONDON: the E, EC, N, NW, SE, SW, W and WC postcode areas "
                                     "(districts from OS Code-Point Open); no point: it spans the whole city")])


def counties() -> pd.DataFrame:
    return pd.DataFrame([dict(name=c, kind="county", boroughs="", districts="", x=np.nan, y=np.nan, radius_m=np.nan,
                              hint_boroughs="|".join(sorted(COUNTY_HINTS.get(c, []))),
                              source="historic county / country word: locates nothing") for c in COUNTY_WORDS])


HEADER = """# geocrime place lexicon: London (33 boroughs, {n_loc} localities, {n_pt} post towns incl. LONDON, county words)
# One row per (written name, meaning). Columns: name (as people write it; matched after
# geocrime.address.places.place_key), kind (borough | locality | post_town | county), boroughs
# ('|'-joined ONS LAD codes it can mean; empty for county words), districts ('|'-joined postcode
# districts it can mean), x / y (EPSG:27700 metres, the area's point), radius_m (metres: covers the
# area), hint_boroughs (county words only: the boroughs of that county, used to choose between a
# name's meanings, never to narrow alone), source. Replace or extend this file for another force area (PlaceLexicon.from_csv).
# Locality tolerance: a locality also means every borough whose boundary lies within {tol:.0f} m of its
# point and every postcode district with a unit within {tol:.0f} m; its radius is {rad:.0f} m (both measured
# by benchmarks/measure_locality_tolerance.py on real addresses; see docs/stages/places.md).
# Attribution: place names and boroughs from Wikipedia contributors, "List of areas of London"
# (CC BY-SA 4.0); points from GeoNames (CC BY 4.0) or OS Code-Point Open (contains OS data (c) Crown
# copyright and database right; Open Government Licence v3.0); borough codes and boundaries: ONS
# (Open Government Licence v3.0). This file is shared under CC BY-SA 4.0.
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--tolerance-m", type=float, default=1500.0)
    ap.add_argument("--radius-m", type=float, default=3000.0)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    import geopandas as gpd

    data = a.data or ROOT.parent / "shared" / "data"
    loc, cp = load(data)
    bnd = gpd.read_file(data / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp").to_crs(27700)
    parts = [boroughs(cp), localities(loc, cp, bnd, a.tolerance_m, a.radius_m), post_towns(loc, cp), london_post_town(cp),
             counties()]
    out = pd.concat(parts, ignore_index=True)
    out["hint_boroughs"] = out["hint_boroughs"].fillna("") if "hint_boroughs" in out else ""
    out = out[["name", "kind", "boroughs", "districts", "x", "y", "radius_m", "hint_boroughs", "source"]]
    for c in ("x", "y", "radius_m"):
        out[c] = out[c].round(0)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(HEADER.format(n_loc=int((out["kind"] == "locality").sum()), n_pt=int((out["kind"] == "post_town").sum()),
                              tol=a.tolerance_m, rad=a.radius_m))
        out.to_csv(f, index=False, lineterminator="\n")
    print(f"wrote {a.out}: {len(out)} rows", out["kind"].value_counts().to_dict())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
