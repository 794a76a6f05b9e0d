# %% [markdown]
# # 02 Where next? Hotspots, and how good they are
#
# An analyst is asked: *where should burglary patrols go next month in Lambeth, Southwark and
# Lewisham?* This notebook answers with geocrime on six months of real police.uk data
# (Metropolitan Police, burglary only, January to June 2024), and then asks the more important
# question: **how good is that answer, and what can these numbers not tell us?**
#
# Everything is in EPSG:27700 (British National Grid): distances, bandwidths and cell sizes are
# metres, densities are per km².
#
# Data: police.uk street-level crime and ONS boundaries, Open Government Licence v3.0
# (see the docs page *Data sources and licences*).

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import geocrime
from geocrime.analysis import (
    BlendedHotspot, BoostedHotspot, NaiveLastPeriod, ProspectiveHotspot, RetrospectiveKDE, SquareGrid,
    aggregate, backtest, getis_ord, kde, knox_test,
)
from geocrime.areas import Boundaries, assign_areas
from geocrime.config import data_dir

DATA = data_dir(required=True)
BOROUGHS = {"E09000022": "Lambeth", "E09000028": "Southwark", "E09000023": "Lewisham"}
pd.set_option("display.width", 140)

# %% [markdown]
# ## 1. Load the crimes and give every point its areas
#
# police.uk publishes one CSV per force and month. Each row's point is **not** where the crime
# happened: police.uk moves it to the nearest of a fixed set of anonymous "map points" (the
# middle of a street, a car park, a station), and gives only the month. `read_police_uk` keeps
# every row with a `status` (rows without coordinates are kept, flagged `no_location`) and flags
# duplicated Crime IDs. Boundaries come from the data registry (local mirror, SHA-256 checked).

# %%
crimes = geocrime.read_police_uk(DATA / "policeuk_met_burglary_street")
print(f"{len(crimes):,} burglaries;", crimes.attrs["report"]["status"])

# the same Crime ID published twice or three times (same month, same place, different outcome
# updates): count each crime once, and say how many rows that removes
repeat = crimes["duplicate_crime_id"] & crimes.duplicated("Crime ID")
print(f"{int(repeat.sum())} rows repeat a Crime ID already seen: counted once")
crimes = crimes[~repeat]

bounds = Boundaries.from_registry(["ward_2024", "lsoa_2021", "borough"])
bounds

# %% [markdown]
# `assign_areas` keeps **every** row, in order, and says what happened to it in `area_status`:
# rows without coordinates and points outside London are flagged, not dropped.

# %%
located = assign_areas(crimes, bounds)
assert len(located) == len(crimes) and located.index.equals(crimes.index)
located["area_status"].value_counts()

# %% [markdown]
# police.uk already gives an LSOA code per row. How often does our point-in-polygon agree with it?
# (The LSOA polygons here are ONS *generalised* boundaries, 20 m, and the snap point can sit on the
# other side of a boundary road.)

# %%
ok = located["area_status"].eq("ok")
agree = (located.loc[ok, "lsoa_2021"] == located.loc[ok, "LSOA code"]).mean()
print(f"LSOA agreement with police.uk's own code: {agree:.1%}")

# %%
study = bounds.layer("borough").query("code in @BOROUGHS")
events = located[located["borough"].isin(list(BOROUGHS))].copy()
print(f"{len(events):,} burglaries in {', '.join(BOROUGHS.values())}")
events.groupby(["borough", "month"]).size().unstack("borough").rename(columns=BOROUGHS)

# %% [markdown]
# ## 2. Counts per ward and month, zeros included
#
# `aggregate` builds the full ward × month universe, so a ward with no burglary in a month appears
# with 0 instead of disappearing (the usual `groupby` trap). Burglaries whose ward is not in the
# universe are an error by default; here a handful fall in wards of *neighbouring* boroughs, because
# the 2024 ward file and the borough file come from different generalisations of the boundary. We
# drop them knowingly, and `attrs` reports how many.

# %%
wards = bounds.layer("ward_2024")
wards = wards[wards.geometry.representative_point().within(study.union_all())]
counts = aggregate(events, by=["ward_2024", "month"], areas=wards, unknown_areas="drop")
print(counts.attrs)
counts.sort_values("count", ascending=False).head(10)

# %% [markdown]
# **Is June's rise in a ward news?** Counts per ward and month are small. Under a Poisson model the
# change between two months with 8 and 13 burglaries has a standard deviation of about
# √(8 + 13) ≈ 4.6, so a rise of 5 is ordinary noise. If month-to-month changes were pure noise,
# about 5 % of wards would move by more than two standard deviations; the share that did:

# %%
june = counts[counts["month"] == "2024-06"].dropna(subset=["count_prev"])
# the difference of two Poisson counts has variance (mean1 + mean2): estimate it by the two counts
sd = (june["count_prev"].astype(float) + june["count"].astype(float)).clip(lower=1) ** 0.5
share = (june["count_change"].abs() > 2 * sd).mean()
print(f"{share:.0%} of wards changed by more than 2 sd (about 5% expected from noise alone)")

# %% [markdown]
# ## 3. Getis-Ord Gi* on LSOAs
#
# First, naively, on raw counts. geocrime warns twice: counts track area size, and 999 permutations
# cannot give p-values small enough to survive the false-discovery-rate correction over hundreds of
# areas.

# %%
lsoas = bounds.layer("lsoa_2021")
lsoas = lsoas[lsoas.geometry.representative_point().within(study.union_all())].reset_index(drop=True)
per_lsoa = events.groupby("lsoa_2021").size()
lsoas["burglaries"] = lsoas["code"].map(per_lsoa).fillna(0).astype(int)
lsoas["area_km2"] = lsoas.area / 1e6

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    naive = getis_ord("burglaries", lsoas)
for w in caught:
    if issubclass(w.category, geocrime.analysis.AnalysisWarning):
        print("warning:", w.message)
pd.Series(naive.classes).value_counts()

# %% [markdown]
# Following the advice: test the **rate per km²** (`denominator=`), with enough permutations for
# the FDR step to have resolution.

# %%
gi = getis_ord("burglaries", lsoas, denominator="area_km2", permutations=19999, seed=7)
lsoas["gi_class"] = gi.classes
lsoas["gi_z"] = gi.z
print(pd.Series(gi.classes).value_counts())
ax = lsoas.plot(column="gi_class", categorical=True, legend=True, figsize=(7, 7),
                cmap="coolwarm_r", edgecolor="white", linewidth=0.2)
study.boundary.plot(ax=ax, color="black", linewidth=0.8)
ax.set_title("Gi* on burglary per km², Jan-Jun 2024 (FDR 5%)")
ax.set_axis_off()

# %% [markdown]
# The significant LSOAs, strongest first (`q` is the FDR-adjusted permutation p-value):

# %%
table = gi.to_frame().join(lsoas.set_index("code")[["name", "burglaries", "area_km2"]])
table[table["significant"]].sort_values("z", ascending=False).head(12)

# %% [markdown]
# Two things to notice before anyone draws a patrol zone from this:
#
# * Gi* scores an area **with its neighbours**: an LSOA with one or two burglaries can be "hot"
#   because the LSOAs around it are. It marks a hot *neighbourhood*, not a hot street.
# * Rates on tiny denominators are unstable: the smallest LSOAs (a few hectares) reach the highest
#   densities with a handful of events.

# %% [markdown]
# ## 4. A surface: kernel density on a 100 m grid

# %%
surface = kde(events, bandwidth=300, cell_size=100, boundary=study)
print(surface.units, "max", round(float(pd.Series(surface.values()).max()), 1))
fig, ax = plt.subplots(figsize=(7, 7))
surface.to_geodataframe().plot(column="density", cmap="magma_r", ax=ax)
study.boundary.plot(ax=ax, color="black", linewidth=0.8)
ax.set_title("Burglary density (quartic KDE, 300 m bandwidth)")
ax.set_axis_off()

# %% [markdown]
# The same on an internal map (offline: no basemap tiles are requested): burglaries by month, the
# density classes and the significant Gi* LSOAs. Internal maps show exact (here: snapped) points
# and are never published.

# %%
geocrime.internal_map(events, areas=lsoas, values="burglaries", kde=surface, hotspots=gi,
                      popup_fields=["month", "Location", "Last outcome category"],
                      title="Burglary, Lambeth / Southwark / Lewisham, Jan-Jun 2024")

# %% [markdown]
# ## 5. Next month's hotspots
#
# geocrime's default predictor is `BlendedHotspot`: a weighted mix of simple surfaces built from the
# past, each cell's count over all the training months, the same smoothed over its neighbourhood at
# 150 m to 1.2 km, the last one to three months (the short-term, near-repeat part), and how many of
# the months had a burglary nearby (persistence, which a one-month burst does not inflate). The weights
# are learned from the training months themselves: each of the last three is predicted from the
# months before it, and the weights that predict those months best (Poisson likelihood) win. Nothing
# after the prediction date is used. It is the default because it won the library's fixed
# London-wide comparison (see the *Analysis* docs page); here we check it on three boroughs.
#
# police.uk gives only the month: every burglary is placed at the middle of its month. Fit on
# January to May, predict June on a 250 m grid, and look at the top 5 % of cells.

# %%
grid = SquareGrid.from_extent(study, 250)
train = events[events["month"] < "2024-06"]
test = events[events["month"] == "2024-06"]
model = BlendedHotspot().fit(train, t_end="2024-06-01", grid=grid)
print("learned weights (per-month rates):")
print(model.weights_.round(3).to_string())
risk = model.predict(grid)
inside = grid.inside()
top = risk[inside].rank(ascending=False, method="first") <= 0.05 * inside.sum()
cells = grid.cell_of(test.geometry.x.to_numpy(), test.geometry.y.to_numpy())
hits = pd.Series(cells).isin(top[top].index).mean()
print(f"top 5% of cells ({int(top.sum())} cells) held {hits:.1%} of June's burglaries "
      f"-> PAI = {hits / 0.05:.2f}; predicted {risk[inside].sum():.0f} burglaries, {len(test)} happened")

# %% [markdown]
# ## 6. The backtest: is that any good, and how sure are we?
#
# One month proves little. `backtest` rolls the origin forward month by month (train on everything
# before, test on the month) and scores each method at 1, 5 and 10 % coverage:
#
# * **hit rate**: share of the test month's crimes inside the flagged cells;
# * **PAI** (predictive accuracy index): hit rate ÷ share of area flagged; 1 = no better than random;
# * **PEI**: hit rate relative to the best possible with that many cells;
# * **RRI**: stability of the flagged cells between months.
#
# "naive" (last month's counts) is the baseline every method must beat; "prospective" is Bowers et
# al. (2004) prospective hotspotting, "kde" a kernel density of the past months, "boosted" gradient
# boosting on the same kind of cell history (the runner-up of the London-wide comparison).

# %%
methods = {"blend": BlendedHotspot(), "boosted": BoostedHotspot(), "prospective": ProspectiveHotspot(),
           "kde": RetrospectiveKDE(), "naive": NaiveLastPeriod()}
result = backtest(events, methods, grid, min_train_periods=3, origin_shifts=[(0, 0), (125, 125)])
summary = result.summary()
summary

# %% [markdown]
# Means over three test months hide how uncertain they are. `intervals()` gives 95 % bootstrap
# intervals (test months and cells resampled); `compare()` gives the interval of the *difference*
# between two methods, resampling both together.

# %%
ci = result.intervals(n_boot=1000, seed=0)
ci[ci["coverage"] == 0.05][["method", "pai", "pai_low", "pai_high", "hit_rate", "hit_rate_low", "hit_rate_high"]]

# %%
diff = result.compare("blend", "kde", n_boot=1000, seed=0)
diff

# %%
pai5 = summary[summary["coverage"] == 0.05].set_index("method")["pai"].sort_values(ascending=False)
print("PAI at 5% coverage, best first:", ", ".join(f"{m} {v:.2f}" for m, v in pai5.items()))
d5 = diff.set_index("coverage").loc[0.05]
verdict = "a real difference" if d5["pai_diff_low"] > 0 or d5["pai_diff_high"] < 0 else "not shown by these data"
print(f"blend minus kde at 5%: {d5['pai_diff']:+.2f} [{d5['pai_diff_low']:+.2f}, {d5['pai_diff_high']:+.2f}]: {verdict}")

# %% [markdown]
# Read the ranking with the caveats of section 8. Every serious method's PAI is well above 1, but a
# difference between two methods counts only when its paired interval excludes 0: three months of
# three boroughs cannot separate methods a few tenths apart. The library's London-wide comparison
# (26,000 cells, four test months) could: there the learned predictors beat six months of counts by
# about 6 % at 1 % of the area, with an interval that excludes 0, and the blend and the boosted model
# were indistinguishable. Grid origins move PAI too:

# %%
result.origin_sensitivity()

# %%
png = result.plot("backtest.png")  # error bars: the 95 % bootstrap intervals
from IPython.display import Image  # noqa: E402

Image(filename=str(png))

# %% [markdown]
# ## 7. Near repeats, at month resolution
#
# The Knox test asks whether burglaries close in space are also close in time more often than
# chance. With months only, the closest time band is "same or next month".

# %%
knox = knox_test(events, distance_bands=(0, 100, 200, 400), permutations=99, seed=1)
knox.table()

# %% [markdown]
# ## 8. What these numbers cannot show
#
# * **Snapping.** police.uk points are anonymised snap points. Many burglaries share one point, so
#   a 250 m cell's count partly measures how many snap points it holds. The backtest scores how
#   well each method predicts *snap points*, not doors.
# * **Months only.** Prospective hotspotting was designed for days; here every event sits at the
#   middle of its month, so the "recency" it exploits is blurred to weeks. The Knox test and the
#   learned predictors can only see month-scale near repeats.
# * **Burglary only, recorded only.** These files hold recorded burglary. Reporting and recording
#   vary by area and over time; a hotspot of recorded crime is not necessarily one of victimisation.
# * **Few folds.** Six months give three test months here: the intervals above are wide, and a
#   difference between methods whose paired interval contains 0 is not evidence of a better method.
# * **PAI depends on choices.** Grid size, grid origin (see `origin_sensitivity`), coverage level
#   and the study area all move PAI. Compare methods only on the same grid and area.
# * **Rates need a denominator.** Counts per km² still ignore how many homes there are; a
#   household count per LSOA (Census 2021) would be the right denominator for burglary risk.
# * **Boundaries.** 7 % of points fall in a different LSOA than police.uk's own code, mostly next to
#   boundaries: area counts near edges are uncertain.
