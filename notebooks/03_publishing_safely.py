# %% [markdown]
# # 03 Publishing safely
#
# Internal maps show exact locations. A public crime map must not: a pin on a house is a disclosure
# about the people who live there. geocrime has one door to the public: the **publish gate**.
#
# * It snaps every incident to an **anonymous map point** whose catchment holds at least *k*
#   distinct address *places* (police.uk's rule, k = 8; thirty shops at one station coordinate are
#   one place), reaches at least 100 m from the point, and whose published position is at least
#   10 m from every address and incident; only the month and the crime category survive.
# * It counts per area (borough, ward) and month, **suppresses** small counts (1 to 4), adds
#   **complementary** suppression, and audits the whole **`Release`** (every table and total that
#   will be published, with earlier releases) by linear programming: each suppressed cell must stay
#   a range at least 5 wide even for a reader who knows zeros are published (so hidden cells are >= 1).
# * It returns `GatedData`, the only type the public writers (`write_tiles`,
#   `write_public_page`, `write_tables`) accept, holding only what the release lists.
#
# This notebook builds a release for two boroughs, reads the disclosure report, and then **attacks
# the release** the way a curious journalist or a motivated neighbour would.
#
# Data: police.uk burglary (Metropolitan Police, Jan-Jun 2024), OS Code-Point Open and ONS
# boundaries, Open Government Licence v3.0. All geometry in EPSG:27700 metres; the published
# positions are EPSG:4326 lon/lat.

# %%
import dataclasses
import json
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import geocrime
from geocrime.areas import Boundaries, assign_areas
from geocrime.config import data_dir
from geocrime.errors import PublishError
from geocrime.publish import (
    GatedData, Release, build_map_points, gate, snap_incidents, write_disclosure_report, write_public_page,
    write_tables, write_tiles,
)
from geocrime.publish.attack import published_cells, table_attack

DATA = data_dir(required=True)
OUT = Path(tempfile.mkdtemp(prefix="geocrime-nb03-"))
BOROUGHS = {"E09000023": "Lewisham", "E09000011": "Greenwich"}
THRESHOLD = 5  # area counts 1..4 are suppressed
K = 8          # every map point's catchment holds >= 8 distinct address places
pd.set_option("display.width", 140)

# %% [markdown]
# ## 1. Inputs: incidents, addresses, boundaries
#
# The map points are built from **addresses**, not from crimes, so where they sit says nothing
# about where crime happened. Here the addresses are OS Code-Point Open postcode units, each
# counted as *one* address (conservative: a unit holds about 15 delivery points). A force would
# use its LLPG or AddressBase.

# %%
crimes = geocrime.read_police_uk(DATA / "policeuk_met_burglary_street")
bounds = Boundaries.from_registry(["ward_2024", "borough"])
boroughs = bounds.layer("borough").query("code in @BOROUGHS")

cp = pd.read_csv(DATA / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz",
                 usecols=["Postcode", "Eastings", "Northings", "Admin_district_code"])
cp = cp[cp["Admin_district_code"].isin(list(BOROUGHS))]
addresses = gpd.GeoDataFrame(cp, geometry=gpd.points_from_xy(cp["Eastings"], cp["Northings"]), crs="EPSG:27700")
print(f"{len(crimes):,} burglaries (all London); {len(addresses):,} postcode units in {', '.join(BOROUGHS.values())}")

# %% [markdown]
# ## 2. Anonymous map points

# %%
mp = build_map_points(addresses, boroughs=boroughs, k=K, id_col="Postcode")
print(mp.points[["n_places", "n_addresses", "radius_m", "clearance_m"]].describe().round(1))
mp.points[["map_point_id", "borough", "n_places", "radius_m", "clearance_m", "geometry"]].head()

# %% [markdown]
# How far does snapping move an incident? (`snap_incidents` is the gate's internal step; its
# output is never published.)

# %%
snapped = snap_incidents(crimes, mp)
ok = snapped["status"].eq("ok")
where = mp.points.set_index("map_point_id").geometry
moved = crimes.loc[ok].geometry.distance(gpd.GeoSeries(where.reindex(snapped.loc[ok, "map_point_id"]).to_numpy(),
                                                        index=crimes.index[ok], crs="EPSG:27700"))
print(snapped["status"].value_counts().to_dict())
print("metres moved by snapping:", moved.describe(percentiles=[0.5, 0.9]).round(0).to_dict())

# %% [markdown]
# ## 3. Through the gate

# %%
release = Release(tables=("borough", "ward_2024"), totals=True)  # everything that will be public
gated = gate(crimes, mp, bounds, k=K, threshold=THRESHOLD, release=release)
print(type(gated).__name__, "| point columns:", list(gated.points.columns))
gated.points.head()

# %%
wards_out = gated.area_counts["ward_2024"]
print(f"ward cells: {len(wards_out)}, suppressed: {int(wards_out['suppressed'].sum())}")
wards_out.head(10)

# %% [markdown]
# ## 4. The disclosure report
#
# Every release comes with a report saying what was published, what was withheld and why, and
# what an attacker can still infer. It is written as JSON (for audit) and Markdown (for people).

# %%
json_path, md_path = write_disclosure_report(gated.report, OUT / "disclosure")
display(Markdown(md_path.read_text(encoding="utf-8")))

# %% [markdown]
# ## 5. The public outputs

# %%
tiles = write_tiles(gated, OUT / "tiles")
page = write_public_page(gated, OUT / "page", tiles=tiles)
tables = write_tables(gated, OUT / "tables")
print("tables:", {k: v.name for k, v in tables.items()})
print(tiles)
print("page:", page)
sorted(p.relative_to(OUT / "page").as_posix() for p in (OUT / "page").iterdir())

# %% [markdown]
# ## 6. Attack the release
#
# Now play the other side. Everything below uses **only what was published** (the tiles, the
# page, the area tables), plus the raw data to check whether anything of it leaked.

# %% [markdown]
# ### Attack 1: publish the raw data directly
#
# A hurried analyst passes the police.uk table straight to the tile writer, or builds a
# `GatedData` by hand.

# %%
for attempt, call in [("write_tiles(raw)", lambda: write_tiles(crimes, OUT / "raw-tiles")),
                      ("write_public_page(raw)", lambda: write_public_page(crimes, OUT / "raw-page")),
                      ("GatedData(...) by hand", lambda: GatedData(points=gated.points, area_counts={},
                                                                  area_geometries={}, params={}))]:
    try:
        call()
        print(f"{attempt}: ACCEPTED")
    except PublishError as exc:
        print(f"{attempt}: refused -> {exc}")

# %% [markdown]
# The type stops accidents, not forgery: Python cannot stop someone who sets out to defeat it.
# For example `dataclasses.replace` copies a gated object with new points. Whether this version
# of geocrime catches that:

# %%
try:
    forged = dataclasses.replace(gated, points=gated.points.assign(lon=gated.points["lon"] + 1e-4))
    print("dataclasses.replace: accepted -> code review must catch deliberate bypasses")
except PublishError as exc:
    print("dataclasses.replace: refused ->", exc)

# %% [markdown]
# ### Attack 2: find any trace of the raw records in the published files
#
# Search every published file for Crime IDs, police.uk location texts, and the incidents'
# exact coordinates (as published by police.uk, 6 decimals). Vector tiles are decoded and every
# property key and value is searched too.

# %%
ids = set(crimes["Crime ID"].dropna().astype(str)) - {""}
locations = set(crimes["Location"].dropna().astype(str)) - {"", "No Location"}
lonlat = set(crimes["Longitude"].dropna().astype(str)) | set(crimes["Latitude"].dropna().astype(str))
lonlat = {v for v in lonlat if len(v.split(".")[-1]) >= 5}

texts, keys = [], set()
for f in [*(OUT / "page").rglob("*"), *(OUT / "tiles").rglob("*")]:
    if not f.is_file() or "assets" in f.parts:
        continue
    if f.suffix == ".pbf":
        for layer in mapbox_vector_tile.decode(f.read_bytes()).values():
            for feat in layer["features"]:
                keys.update(feat["properties"])
                texts.append(json.dumps(feat["properties"]))
    else:
        texts.append(f.read_text(encoding="utf-8", errors="replace"))
blob = "\n".join(texts)
tokens = set(re.findall(r"[0-9a-f]{64}", blob))
numbers = set(re.findall(r"-?\d+\.\d+", blob))
print("tile property keys:", sorted(keys))
print("Crime IDs found:", len(tokens & ids))
print("police.uk location texts found:", sum(loc in blob for loc in list(locations)[:2000]))
print("raw police.uk coordinates found:", len(numbers & lonlat))

# %% [markdown]
# ### Attack 3: is any published point at an incident's place?
#
# Compare every published map point with every incident location (police.uk snap points).

# %%
pub = gpd.GeoDataFrame(gated.points, geometry=gpd.points_from_xy(gated.points["lon"], gated.points["lat"]),
                       crs="EPSG:4326").to_crs("EPSG:27700")
inc = crimes[crimes["status"].eq("ok")]
nearest = gpd.sjoin_nearest(pub[["geometry"]], inc[["geometry"]], distance_col="m")
print("metres from each published point to the nearest incident:",
      nearest.groupby(level=0)["m"].min().describe(percentiles=[0.01, 0.5]).round(1).to_dict())

# %% [markdown]
# No published point is within 10 m of an incident (the gate moves a map point off any incident
# position inside its catchment). And each stands for a catchment of at least K distinct places
# reaching at least 100 m. Check those guarantees on what was published:

# %%
assert nearest.groupby(level=0)["m"].min().min() >= 10
published_ids = set(gated.points["map_point_id"])
catch = mp.points.set_index("map_point_id").loc[sorted(published_ids)]
print(f"{len(published_ids)} published map points; smallest catchment {catch['n_places'].min():.0f} places "
      f"(K = {K}), smallest radius {catch['radius_m'].min():.0f} m")
assert catch["n_places"].min() >= K and catch["radius_m"].min() >= 100

# %% [markdown]
# ### Attack 4: differencing, borough total minus published wards
#
# For each borough and month: the borough count minus the published ward counts is the sum of
# the suppressed wards. If only **one** ward is suppressed, it is disclosed. And an attacker knows
# more: zeros are published, so a suppressed cell is at least 1, and a primary-suppressed cell is
# at most THRESHOLD - 1. With those bounds, work out each suppressed cell's feasible range.

# %%
ward_geo = gated.area_geometries["ward_2024"].to_crs("EPSG:27700")
parent = assign_areas(gpd.GeoDataFrame(ward_geo[["area_code"]], geometry=ward_geo.representative_point(),
                                       crs="EPSG:27700"), bounds, ["borough"])[["area_code", "borough"]]
w = wards_out.merge(parent, on="area_code")
b = gated.area_counts["borough"].rename(columns={"area_code": "borough", "count": "borough_count"})
groups = (w.assign(pub=w["count"].fillna(0).astype(int))
          .groupby(["borough", "month", "crime_type"])
          .agg(n_suppressed=("suppressed", "sum"), published_sum=("pub", "sum"))
          .join(b.set_index(["borough", "month", "crime_type"])["borough_count"]))
groups["hidden_sum"] = groups["borough_count"] - groups["published_sum"]
n, s = groups["n_suppressed"], groups["hidden_sum"].astype(float)
groups["cell_min"] = np.maximum(1, s - (n - 1) * (THRESHOLD - 1)).where(n > 0)
groups["cell_max"] = np.minimum(THRESHOLD - 1, s - (n - 1)).where(n > 0)
groups["pinned"] = groups["cell_min"].eq(groups["cell_max"])
groups.dropna(subset=["borough_count"])

# %%
print("groups with exactly one suppressed ward:", int(groups["n_suppressed"].eq(1).sum()))
print("groups where the attacker pins every suppressed cell to one value:", int(groups["pinned"].sum()))
narrowed = groups["cell_min"].gt(1) | groups["cell_max"].lt(THRESHOLD - 1)
print("groups where the bounds narrow the suppressed cells below 1..4:", int(narrowed.sum()))

# %% [markdown]
# That is the quick version. The library's own attacker (`geocrime.publish.attack.table_attack`) does
# the full one: a linear programme over every published cell of every table and total at once, with
# "suppressed >= 1". A cell is *exposed* if it is pinned, confined to 1..4, or narrower than 5.

# %%
att = table_attack(gated)
print(att.summary())
att.cells.head()

# %% [markdown]
# Not a privacy leak but a correctness one, found on the way: the ward table also lists wards
# whose centre lies in *another* borough (slivers where the generalised ward and borough files
# overlap), all with count 0. A reader could take those zeros as "no burglary" in wards whose
# crimes were never part of this release:

# %%
foreign = parent[~parent["borough"].isin(list(BOROUGHS))]
print(f"{len(foreign)} published wards lie mostly outside {', '.join(BOROUGHS.values())};",
      "their published counts:", sorted(wards_out[wards_out["area_code"].isin(foreign["area_code"])]["count"].dropna().astype(int).unique().tolist()))

# %% [markdown]
# ### Attack 5: add up the points inside a suppressed ward
#
# Points are published per map point; a ward's points summed could rebuild a suppressed ward
# count. The gate withholds every point that lies in a suppressed cell. Check:

# %%
pub_w = assign_areas(pub[["map_point_id", "month", "crime_type", "count", "geometry"]], bounds, ["ward_2024"])
per_ward = pub_w.groupby(["ward_2024", "month", "crime_type"])["count"].sum().rename("points_sum")
check = wards_out.set_index(["area_code", "month", "crime_type"]).join(per_ward.rename_axis(["area_code", "month", "crime_type"]))
in_suppressed = check.loc[check["suppressed"], "points_sum"].fillna(0)
print("published point counts inside suppressed ward cells:", int(in_suppressed.sum()))
shown = check[~check["suppressed"]]
print("published wards whose points add up to the ward count:",
      f"{(shown['points_sum'].fillna(0) == shown['count']).mean():.0%}")

# %% [markdown]
# ### Attack 6: difference two releases
#
# Publish January, then January-February with a cross-month total. The second release is gated
# with the first as `previous`, so the audit sees both; the attacker reads both.

# %%
jan = crimes[crimes["Month"] == "2024-01"]
janfeb = crimes[crimes["Month"].isin(["2024-01", "2024-02"])]
r1 = gate(jan, mp, bounds, threshold=THRESHOLD, release=release)
r2 = gate(janfeb, mp, bounds, threshold=THRESHOLD,
          release=Release(tables=("borough", "ward_2024"), cross_month=True, previous=(r1,)))
both = pd.concat([published_cells(r1), published_cells(r2)]).sort_values("suppressed")
both = both.drop_duplicates(["layer", "area_code", "month", "crime_type"])
print("cross-month totals:", r2.params["cross_month_totals"])
print("attack on both releases:", table_attack(r2, cells=both).summary())

# %% [markdown]
# ## 7. What the gate does not protect against
#
# * **Someone who already knows.** A neighbour who knows a burglary happened on their street that
#   month learns little new, but can confirm it from a map point with count 1. This is the same
#   residual risk police.uk accepts.
# * **Linking with other releases.** The gate protects this release and the releases passed as
#   `Release(previous=...)`. A force publishing the same incidents elsewhere (another geography, an
#   older release not passed in) can be differenced against this one.
# * **Rare categories.** With several crime categories, a category with few crimes in a borough can
#   force heavy suppression; check the report's suppression counts before release.
# * **Deliberate bypass.** The `GatedData` type prevents accidents; it is not a security boundary
#   against someone rewriting the code (see attack 1).
