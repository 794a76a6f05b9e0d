# %% [markdown]
# # 01 From messy records to a ward map
#
# A force's incident records carry addresses typed by many hands: "o/s 23 high st", "R/O VILLA
# CAFE 248 YORK WAY", "Flat 2, 12-14 Acacia Ave" with or without a postcode, sometimes "NFA".
# This notebook follows one batch of such records through geocrime:
#
# 1. load open police.uk data and a set of messy address records;
# 2. build a **gazetteer** (the reference list of addressable points) from open data;
# 3. **geocode**, then inspect match levels, scores and the named *faults* of each match;
# 4. look honestly at what did **not** match, and why;
# 5. give every point its **wards of two vintages** (2022 and 2024 boundaries);
# 6. draw an internal map.
#
# There is no open police incident file with free-text addresses, so the messy records are made
# from real addresses: FSA food-hygiene premises (FHRS), rewritten the way another borough or a
# police officer would write them (`geocrime.geocoding.querygen`: abbreviations, typos, dropped or wrong
# postcodes, "o/s", business names in front...). Because each record comes from a known premises,
# we can *measure* the geocoder, not just look at it.
#
# Coordinates: EPSG:27700 (metres) for all geometry; lon/lat (EPSG:4326) only for the web map.
# Data: police.uk, FSA, OS Code-Point Open and ONS boundaries under the Open Government Licence
# v3.0 (see *Data sources and licences* in the docs).

# %%
import tempfile
import time
from pathlib import Path

import pandas as pd

import geocrime
from geocrime.areas import Boundaries, assign_areas
from geocrime.config import data_dir
from geocrime.geocoding import evaluate
from geocrime.gazetteer import Gazetteer, read_codepoint, read_fhrs, streets_from_police_uk
from geocrime.geocoding import geocode, geocode_one
from geocrime.geocoding.querygen import make_queries

DATA = data_dir(required=True)
pd.set_option("display.width", 140)
pd.set_option("display.max_colwidth", 70)

# %% [markdown]
# ## 1. police.uk: what open crime data looks like
#
# Twelve months of City of London Police street-level crime. Every row keeps its place; rows
# without a usable location are *flagged* in `status`, never dropped.

# %%
police_files = sorted((DATA / "policeuk_city_of_london_street").glob("2024-*-city-of-london-street.csv"))
crimes = geocrime.read_police_uk(police_files)
report = crimes.attrs["report"]
print(f"{report['rows']:,} rows from {len(report['files'])} monthly files")
print("status:", report["status"], "| rows without a Crime ID:", report["no_crime_id"],
      "| rows sharing a Crime ID:", report["duplicate_crime_id_rows"])
crimes[["month", "Location", "Crime type", "status", "geometry"]].head()

# %% [markdown]
# police.uk locations are already anonymised: "On or near Cheapside" is a snap point, not an
# address. They are still useful to us: the *streets* they name, at the snap points' positions,
# become the street level of the gazetteer.

# %%
crimes["Location"].value_counts().head(8)

# %% [markdown]
# ## 2. The gazetteer
#
# Three open sources, finest first:
#
# * **premises**: FSA food-hygiene establishments in 16 London boroughs (address + coordinates);
# * **streets**: the police.uk "On or near <street>" snap points above;
# * **postcode units**: OS Code-Point Open (one point per postcode), from which sectors,
#   districts and areas are derived.
#
# A force would add its LLPG / AddressBase extract (`geocrime.gazetteer.read_address_csv`).
# The gazetteer is built once, saved, and loaded back without rebuilding.

# %%
t0 = time.perf_counter()
units = read_codepoint(DATA / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
premises = read_fhrs(DATA / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")
streets = streets_from_police_uk(police_files, units)
gaz = Gazetteer.from_sources([premises, streets, units])
print(f"built in {time.perf_counter() - t0:.1f} s:", gaz)

workdir = Path(tempfile.mkdtemp(prefix="geocrime-nb01-"))
gaz.save(workdir / "london.gaz")
gaz = Gazetteer.load(workdir / "london.gaz")
gaz.table["level"].value_counts()

# %% [markdown]
# ## 3. Messy records
#
# 600 records generated from FHRS premises with a fixed seed, plus a few things every real
# extract contains: placeholders, a junction, an empty field, junk.

# %%
queries = make_queries(premises, gaz, n=600, seed=3)
extra = pd.DataFrame({"query": ["NFA", "no fixed abode", "j/o Holloway Road and Seven Sisters Road", "",
                                "??? 999999", "o/s 14 High St, Barking"]})
records = pd.concat([queries, extra], ignore_index=True)
records[["query", "edits"]].sample(12, random_state=0)

# %% [markdown]
# ## 4. Geocode
#
# `geocode` keeps every row (same order, same index) and adds a point, a **match level** on the
# precision ladder (premises, street, postcode unit, sector, district, area, none), an uncertainty
# radius in metres, a score, the runner-up's score, and the named faults of the best candidate.
# Given boundaries it also returns the ward and LSOA with a **confidence**: a street or postcode
# sector can straddle wards. The boundaries come from the data registry (the local data mirror,
# checked against SHA-256 hashes).

# %%
bounds = Boundaries.from_registry(["ward_2022", "ward_2024", "lsoa_2021"])
print(bounds)

t0 = time.perf_counter()
result = geocode(records, gaz, columns="query", boundaries=bounds)
print(f"{len(result):,} records geocoded in {time.perf_counter() - t0:.1f} s")
assert len(result) == len(records) and result.index.equals(records.index)
result["match_level"].value_counts()

# %% [markdown]
# ### Match levels and uncertainty
#
# A premises match is a point on the building; a street match is a point *somewhere on the street*
# (its uncertainty is the street's extent); a postcode unit is ~15 addresses; a sector is
# thousands. **Never treat a sector-level point as an incident location.**

# %%
result.groupby("match_level")["uncertainty_m"].describe()[["count", "50%", "max"]]

# %% [markdown]
# ### Faults: why a match is not perfect
#
# Each comparison (house number, flat, street, building, postcode, place) contributes a named,
# inspectable weight; `faults` lists the comparisons that were not exact agreements. The most
# common faults in this batch:

# %%
faults = result["faults"].dropna().str.split(",").explode()
faults[faults != ""].value_counts().head(12)

# %% [markdown]
# And one record explained in full: `geocode_one` returns the candidates and each one's weights.

# %%
one = geocode_one("o/s 318 New Cross Rd London", gaz)
print(one["match_level"], one["matched_address"], "score", one["score"])
pd.DataFrame([{"address": c["address"], "score": c["score"], **c["weights"]} for c in one["candidates"]])

# %% [markdown]
# ## 5. How good is it? (we know the truth)
#
# `evaluate` compares the results with the premises each record was made from. Premises precision
# is what matters most: a wrong premises match puts a crime at the wrong door with full confidence.

# %%
truth = records[["truth_id", "truth_x", "truth_y"]].fillna({"truth_id": -1})
report = evaluate(result, truth, boundaries=bounds)
print(f"premises precision {report['premises']['precision']:.1%}, recall {report['premises']['recall']:.1%}")
print(f"right ward (of rows given a ward): {report['right_ward']['share_of_coded']:.1%}")
pd.DataFrame(report["by_level"]).T

# %% [markdown]
# Precision against recall is a choice, made with the score threshold:

# %%
pd.DataFrame(report["thresholds"])

# %% [markdown]
# ## 6. The unmatched, and the near misses
#
# Nothing is lost: records that did not reach premises level say why in `reason`
# (`ambiguous` = two candidates too close to call, which geocrime reports instead of guessing;
# `below_threshold`; `not_in_gazetteer`; `place_conflict`; `ambiguous_street`; `empty`; `placeholder`...).

# %%
result["reason"].value_counts(dropna=False)

# %%
cols = ["query", "match_level", "reason", "score", "runner_up_score", "faults", "matched_address"]
result.loc[result["match_level"].ne("premises"), cols].head(15)

# %% [markdown]
# Placeholders ("NFA") must never become a location:

# %%
result.loc[records["query"].isin(["NFA", "no fixed abode", "", "??? 999999"]), cols]

# %% [markdown]
# ## 7. Wards of two vintages
#
# A crime series reported by ward must say which boundaries it uses: ONS re-issues the ward file
# every year, and wards are redrawn, renamed and recoded. `assign_areas` gives each point one code
# per layer (edge rule: a point on a shared edge goes to the polygon with the smallest code) and an
# `area_status` for every row, including the ones without a point.
#
# Only points precise enough for a ward are assigned: a postcode-sector point could be in any of
# several wards.

# %%
precise = result["match_level"].isin(["premises", "street", "postcode_unit"])
pts = result.loc[precise, ["query", "match_level", "geometry"]]
wards = assign_areas(pts, bounds, ["ward_2022", "ward_2024"], names=True)
wards["area_status"].value_counts()

# %% [markdown]
# The points outside every ward are worth a look. How far are they from London's wards, and from
# the Code-Point point of their own postcode (both in metres)? A premises match is only as good
# as the gazetteer's point for it.

# %%
outside = wards[wards["area_status"].ne("ok")].copy()
all_wards = bounds.layer("ward_2024").union_all()
outside["m_to_nearest_ward"] = outside.distance(all_wards).round(0)
entry = gaz.table.set_index("id").loc[result.loc[outside.index, "gazetteer_id"]]
unit_xy = units.drop_duplicates("postcode").set_index("postcode")[["x", "y"]]
pc_xy = unit_xy.reindex(entry["postcode"].str.upper())
outside["m_to_own_postcode"] = ((entry["x"].to_numpy() - pc_xy["x"].to_numpy()) ** 2
                                + (entry["y"].to_numpy() - pc_xy["y"].to_numpy()) ** 2) ** 0.5
outside["source"] = entry["source"].to_numpy()
outside[["query", "match_level", "source", "m_to_nearest_ward", "m_to_own_postcode"]]

# %% [markdown]
# When such a point is kilometres from London, the address matched the right premises but the
# source's coordinate is wrong: some FSA rows carry a bad geocode (for example Richmond rows
# placed in Kent or Lincolnshire). Richmond publishes no postcodes (`m_to_own_postcode` is NaN),
# so not even the postcode can vouch for the point. The area check caught it; the lesson for a
# production gazetteer is to cross-check every premises point against its postcode *and* its
# authority's boundary before loading it. (A point a few metres from a ward is a different story:
# the ONS "BGC" boundaries are clipped to mean high water, so the Thames is in no ward.)

# %% [markdown]
# What differs between the two vintages? Compare the layers themselves first: codes, names and
# how far each ward's polygon moved (area of the symmetric difference, hectares).

# %%
w22 = bounds.layer("ward_2022").set_index("code")
w24 = bounds.layer("ward_2024").set_index("code")
print("codes only in 2022:", len(w22.index.difference(w24.index)), "| only in 2024:", len(w24.index.difference(w22.index)))
both = w22.index.intersection(w24.index)
renamed = pd.DataFrame({"name_2022": w22.loc[both, "name"], "name_2024": w24.loc[both, "name"]})
print("renamed with the same code:")
print(renamed[renamed["name_2022"] != renamed["name_2024"]])
moved_ha = w22.loc[both].geometry.symmetric_difference(w24.loc[both].geometry, align=True).area / 1e4
moved_ha.describe()[["mean", "50%", "max"]].round(2)

# %% [markdown]
# So between these two files the codes are the same, a couple of wards were renamed, and every
# polygon differs by a few hectares at most: these are generalised (20 m) boundaries, clipped to
# the London outline by different hands. A point near a ward edge can therefore land in a
# different ward depending on the file, which is **not** crime moving. How many of ours do:

# %%
located = wards["area_status"].eq("ok")
switched = located & wards["ward_2022"].ne(wards["ward_2024"])
print(f"{switched.sum()} of {located.sum()} located points are in a different ward in the 2024 file")
wards.loc[switched, ["query", "ward_2022_name", "ward_2024_name"]]

# %% [markdown]
# ## 8. The police.uk crimes by ward, on an internal map
#
# police.uk rows already have (snapped) coordinates. Give them wards, count, and map them.
# Internal maps show exact points: they are for analysts only, never for publication (see
# notebook 03).
#
# Counting is **coverage-aware**: the City of London Police record crime in the City's 25 wards.
# Their file says nothing about Camden, so a Camden ward is *no data*, not zero. `aggregate` knows
# each source's coverage (here the one source, "City of London Police": its boroughs, months and
# crime types) and fills zeros only inside it.

# %%
from geocrime.analysis.aggregate import aggregate, area_totals

crime_pts = assign_areas(crimes, bounds, ["ward_2024"], names=True)
print(crime_pts["area_status"].value_counts())
counts = aggregate(crime_pts, by=["ward_2024", "month", "crime_type"], areas=bounds,
                   coverage_units=Boundaries.from_registry(["borough"]).layer("borough"), unknown_areas="drop")
print(counts.attrs["coverage"])
print(f"{counts['covered'].mean():.1%} of ward x month x type rows are covered; the rest are no data, not 0")
by_ward = area_totals(counts, "ward_2024")
print(f"{by_ward.notna().sum()} wards with data, {by_ward.isna().sum()} without")
by_ward.rename(bounds.layer("ward_2024").set_index("code")["name"]).sort_values(ascending=False).head(10)

# %% [markdown]
# The City is small and busy: a choropleth of counts per ward (the wards outside the City drawn
# as "no data") with the crimes on top, clustered, with a month slider. Two data layers, a
# basemap (CartoDB Positron; `basemap=None` for none) and, under it all, borough outlines and
# ward names from the local boundary files, so the map still reads with no network.

# %%
m = geocrime.internal_map(crime_pts, areas=bounds.layer("ward_2024"), values=by_ward, value_label="crimes 2024",
                          popup_fields=["month", "Crime type", "Location", "Last outcome category"],
                          title="City of London Police, street-level crime 2024 (snapped points)")
m.save(workdir / "city_2024.html")
m
