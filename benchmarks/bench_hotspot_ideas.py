"""Ideas for beating the issue-20 hotspot protocol, each measured on the training months AND the dev folds.

    .venv/bin/python benchmarks/bench_hotspot_ideas.py            # Met: training-month folds + dev folds
    .venv/bin/python benchmarks/bench_hotspot_ideas.py --city     # also the City of London check

Same protocol as ``bench_hotspot_protocol.py`` (250 m cells touching London, ties by cell id, PAI at
1/2/5/10 % of cells, 95 % bootstrap intervals over folds and cells), two sets of folds:

- TRAINING folds: test months 2024-04..06, each from every month before it (3 to 5 months; the months
  the defaults may be tuned on, as ``select_predictor`` does);
- DEV folds: test months 2024-07..10, each from the six months before it (the protocol; REPORTING).

An idea is worth keeping only if it wins on both. Every idea uses only the training events of its fold
(and, for one, a static postcode table dated before every test month). Ideas:

- stacking the three learners (BlendedHotspot + BoostedHotspot + SEPPHotspot): mean of their risks, each
  scaled to sum 1 over the study area, and the mean of their ranks;
- the final risk smoothed at a small bandwidth (75 and 125 m, Gaussian, added to the risk);
- the blend (same rolling-origin Poisson weights as BlendedHotspot) with extra surfaces: per police.uk
  snapped point (repeat-location) transforms -- the square root of each point's count (events spread over
  many points) and the events at points with >= 2 events (repeat locations) -- distinct points per cell,
  events at police.uk's non-street points (Supermarket, Parking Area, ...), a street-network spread (the
  events of a street name within an MSOA shared by that street's points), and the density of residential
  (small-user) postcodes live in May 2022 (ONS lookup + Code-Point Open positions);
- BoostedHotspot's model with extra features: the point features above, the non-street events, the
  postcode densities, and neighbourhood rings (Gaussian 250/500/1000 m).
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bench_hotspot_protocol import COVERAGES, boroughs, london_grid, read_months
from geocrime.analysis import (
    AnalysisWarning,
    BlendedHotspot,
    BoostedHotspot,
    RetrospectiveKDE,
    SEPPHotspot,
    SquareGrid,
    backtest,
    rank_cells,
    study_cells,
)
from geocrime.analysis._cellseries import smooth
from geocrime.analysis.blend import DEFAULT_COMPONENTS, fit_poisson_mix
from geocrime.config import data_dir

warnings.simplefilter("ignore", AnalysisWarning)
pd.set_option("display.width", 220)

#: police.uk's anonymous map points that are places, not streets ("On or near Supermarket")
PLACE_POINTS = frozenset({
    "Airport/Airfield", "Bus/Coach Station", "Conference/Exhibition Centre", "Further/Higher Educational Building",
    "Hospital", "Nightclub", "Park/Open Space", "Parking Area", "Pedestrian Subway", "Petrol Station",
    "Police Station", "Shopping Area", "Sports/Recreation Area", "Supermarket", "Theatre/Concert Hall"})


class History:
    """The training events of one fold binned by period (0 = the month before ``t_end``) and cell, with
    their police.uk snapped point, place flag and street key. ``surface(kind, j, window)`` is a per-period
    surface from the periods AFTER target period ``j`` (i.e. earlier in time), as seen at period ``j``."""

    def __init__(self, events: pd.DataFrame, t_end: pd.Timestamp, grid: SquareGrid, static: dict) -> None:
        self.grid, self.static = grid, static
        x, y = events.geometry.x.to_numpy(), events.geometry.y.to_numpy()
        k = pd.Period(t_end, "M").ordinal - pd.PeriodIndex(events["month"], freq="M").asi8 - 1
        c = grid.cell_of(x, y)
        ok = (c >= 0) & (k >= 0)
        ev = events[ok]
        self.k, self.cell = k[ok], c[ok]
        self.P = int(self.k.max()) + 1
        self.point = pd.factorize(ev["Longitude"].astype(str) + "," + ev["Latitude"].astype(str))[0]
        name = ev["Location"].fillna("").str.replace("On or near ", "", regex=False)
        self.place = name.isin(PLACE_POINTS).to_numpy()
        self.street = pd.factorize(name + "|" + ev["LSOA name"].fillna("").str[:-1])[0]

    def _to_cells(self, values: np.ndarray, at: np.ndarray) -> np.ndarray:
        return np.bincount(at, weights=values, minlength=self.grid.n_cells)

    def surface(self, kind: str, j: int, window: int | None) -> np.ndarray:
        """Per-period surface of ``kind`` from the ``window`` periods before target period ``j``."""
        if kind.startswith("static:"):
            return self.static[kind[7:]]
        hist = self.P - j - 1
        w = hist if window is None else min(int(window), hist)
        sel = (self.k > j) & (self.k <= j + w)
        if kind in ("counts", "places"):
            m = sel & self.place if kind == "places" else sel
            return self._to_cells(np.ones(m.sum()), self.cell[m]) / w
        if kind == "active":  # share of the window's periods with an event in the cell
            cell_period = np.unique(self.cell[sel] * self.P + self.k[sel])
            return self._to_cells(np.ones(len(cell_period)), cell_period // self.P) / w
        pts = np.bincount(self.point[sel], minlength=self.point.max() + 1).astype("float64")
        pcell = np.zeros(len(pts), dtype=np.int64)
        pcell[self.point] = self.cell
        if kind == "sqrt_point":
            return self._to_cells(np.sqrt(pts), pcell) / w
        if kind == "repeat_point":
            return self._to_cells(np.where(pts >= 2, pts, 0.0), pcell) / w
        if kind == "distinct_points":
            return self._to_cells((pts > 0).astype("float64"), pcell) / w
        if kind == "street":  # a street's events shared by its points (seen in the fold's history)
            per_street = np.bincount(self.street[sel], minlength=self.street.max() + 1)
            pstreet = np.zeros(len(pts), dtype=np.int64)
            pstreet[self.point] = self.street
            seen = np.zeros(len(pts), bool)
            seen[self.point[self.k > j]] = True
            n_pts = np.bincount(pstreet[seen], minlength=len(per_street))
            rate = per_street[pstreet] / np.maximum(n_pts[pstreet], 1) / w
            return self._to_cells(np.where(seen, rate, 0.0), pcell)
        raise ValueError(f"unknown surface kind {kind!r}")

    def surfaces(self, comps: tuple, j: int) -> np.ndarray:
        """(k, n_cells): each (kind, window, bandwidth m) surface seen at target period ``j`` (-1 = t_end)."""
        return np.array([smooth(self.surface(kind, j, win), self.grid, float(bw)) for kind, win, bw in comps])


class _Idea:
    """A predictor that backtest can score: fit stores the fold's History, predict(grid) returns a risk."""

    static: dict = {}

    def fit(self, events: pd.DataFrame, t_end: pd.Timestamp, grid: SquareGrid) -> "_Idea":
        self.h_ = History(events, t_end, grid, self.static)
        return self


class SurfaceBlend(_Idea):
    """BlendedHotspot's model (non-negative Poisson mix, rolling origin on the last 3 training periods,
    at least 2 periods of history each) over any declared surfaces."""

    def __init__(self, comps: tuple) -> None:
        self.comps = comps

    def predict(self, grid: SquareGrid) -> np.ndarray:
        h = self.h_
        Xs, ys, n_zero = [], [], 0.0
        for j in [j for j in range(3) if h.P - j - 1 >= 2]:
            S = h.surfaces(self.comps, j)
            y = h._to_cells(np.ones((h.k == j).sum()), h.cell[h.k == j])
            act = (S.sum(0) > 0) | (y > 0)
            Xs.append(S[:, act].T)
            ys.append(y[act])
            n_zero += float((~act).sum())
        X = np.c_[np.ones(sum(len(x) for x in Xs)), np.vstack(Xs)]
        X = np.vstack([X, np.r_[n_zero, np.zeros(X.shape[1] - 1)]])
        w, _ = fit_poisson_mix(X, np.r_[np.concatenate(ys), 0.0])
        return w[0] + w[1:] @ h.surfaces(self.comps, -1)


#: BoostedHotspot's own features as surfaces (its FEATURES; periods since the last event added below)
BOOST_BASE = (("counts", 1, 0.0), ("counts", 3, 0.0), ("counts", None, 0.0), ("counts", 1, 300.0),
              ("counts", 3, 300.0), ("counts", None, 150.0), ("counts", None, 300.0), ("counts", None, 600.0),
              ("counts", None, 1200.0))


class SurfaceBoost(_Idea):
    """BoostedHotspot's model (HistGradientBoosting, Poisson loss, 60 rounds at 0.125, 15 leaves, leaf
    >= 200 rows, rolling origin on the last 3 training periods) with extra feature surfaces."""

    def __init__(self, extra: tuple) -> None:
        self.extra = extra

    def _features(self, j: int) -> np.ndarray:
        h = self.h_
        F = h.surfaces(BOOST_BASE + self.extra, j)
        ks = np.full(h.grid.n_cells, h.P - j - 1, dtype="float64")  # periods since the last event
        hist = h.k > j
        np.minimum.at(ks, h.cell[hist], (h.k[hist] - j - 1).astype("float64"))
        return np.vstack([F, ks]).T

    def predict(self, grid: SquareGrid) -> np.ndarray:
        from sklearn.ensemble import HistGradientBoostingRegressor
        from threadpoolctl import threadpool_limits

        h = self.h_
        Xs, ys = [], []
        for j in [j for j in range(3) if h.P - j - 1 >= 2]:
            F = self._features(j)
            y = h._to_cells(np.ones((h.k == j).sum()), h.cell[h.k == j])
            act = (F[:, :9].max(1) > 1e-3) | (y > 0)
            Xs.append(F[act])
            ys.append(y[act])
        model = HistGradientBoostingRegressor(loss="poisson", max_iter=60, learning_rate=0.125, max_leaf_nodes=15,
                                              min_samples_leaf=200, early_stopping=False, random_state=0)
        F = self._features(-1)
        act = F[:, :9].max(1) > 1e-3
        risk = np.zeros(h.grid.n_cells)
        with threadpool_limits(limits=1):
            model.fit(np.vstack(Xs), np.concatenate(ys))
            risk[act] = model.predict(F[act])
        tie = F[:, 2] / (F[:, 2].max() or 1.0) + 1e-3 * F[:, 6] / (F[:, 6].max() or 1.0)
        return risk * (1.0 + 1e-6 * tie)


class Stack:
    """Mean of the members' risks (each scaled to sum 1 over the grid) or of their ranks."""

    def __init__(self, members: dict, how: str = "mean") -> None:
        self.members, self.how = members, how

    def fit(self, events: pd.DataFrame, t_end: pd.Timestamp, grid: SquareGrid) -> "Stack":
        self.fitted_ = [m.clone().fit(events, t_end=t_end, grid=grid) for m in self.members.values()]
        return self

    def predict(self, grid: SquareGrid) -> np.ndarray:
        risks = [np.asarray(m.predict(grid), dtype="float64") for m in self.fitted_]
        if self.how == "rank":
            return np.mean([pd.Series(r).rank().to_numpy() for r in risks], axis=0)
        return np.mean([r / r.sum() for r in risks], axis=0)


class Smoothed:
    """A predictor's risk plus the same risk Gaussian-smoothed at ``bandwidth`` metres."""

    def __init__(self, base: object, bandwidth: float) -> None:
        self.base, self.bandwidth = base, bandwidth

    def fit(self, events: pd.DataFrame, t_end: pd.Timestamp, grid: SquareGrid) -> "Smoothed":
        self.fitted_ = self.base.clone().fit(events, t_end=t_end, grid=grid)
        return self

    def predict(self, grid: SquareGrid) -> np.ndarray:
        r = np.asarray(self.fitted_.predict(grid), dtype="float64")
        return r + smooth(r, grid, self.bandwidth)


def postcode_density(data: Path, grid: SquareGrid) -> dict[str, np.ndarray]:
    """Postcode units per cell live in May 2022 (ONS lookup: introduced, not terminated), small users
    (mostly residential) and large users, at their Code-Point Open positions."""
    folder = data / "codepoint_open_london_postcodes"
    cp = pd.read_csv(folder / "codepo_london_E09.csv.gz", usecols=["Postcode", "Eastings", "Northings"])
    ons = pd.read_csv(folder / "ons_pcd_oa_lsoa_msoa_lad_may22_london.csv.gz", dtype=str,
                      usecols=["pcds", "dointr", "doterm", "usertype"])
    j = cp.merge(ons[ons["doterm"].isna()], left_on="Postcode", right_on="pcds")
    c = grid.cell_of(j["Eastings"].to_numpy(float), j["Northings"].to_numpy(float))
    return {f"postcodes_{u}": np.bincount(c[(c >= 0) & (j["usertype"] == code).to_numpy()], minlength=grid.n_cells)
            .astype("float64") for u, code in (("small", "0"), ("large", "1"))}


def ideas() -> dict[str, object]:
    blend = tuple(("counts" if len(c) == 3 else c[3], c[1], c[2]) for c in DEFAULT_COMPONENTS)
    point = (("sqrt_point", None, 0.0), ("repeat_point", None, 0.0), ("distinct_points", None, 0.0))
    learners = {"blend": BlendedHotspot(), "boost": BoostedHotspot(), "sepp": SEPPHotspot()}
    return {
        "RetrospectiveKDE() (best baseline)": RetrospectiveKDE(),
        **{f"{type(v).__name__}() (current)": v for v in learners.values()},
        "stack blend+boost+sepp, mean": Stack(learners),
        "stack blend+boost+sepp, ranks": Stack(learners, "rank"),
        "stack blend+sepp, mean": Stack({k: learners[k] for k in ("blend", "sepp")}),
        "blend, final risk + 75 m smoothing": Smoothed(BlendedHotspot(), 75.0),
        "blend, final risk + 125 m smoothing": Smoothed(BlendedHotspot(), 125.0),
        "blend + snapped-point surfaces": SurfaceBlend(blend + point),
        "blend + non-street place events": SurfaceBlend(blend + (("places", None, 0.0), ("places", 1, 0.0))),
        "blend + street-network spread": SurfaceBlend(blend + (("street", None, 0.0), ("street", None, 300.0))),
        "blend + postcode density": SurfaceBlend(blend + (("static:postcodes_small", None, 0.0),
                                                          ("static:postcodes_small", None, 300.0),
                                                          ("static:postcodes_large", None, 0.0))),
        "boost + snapped-point features": SurfaceBoost(point),
        "boost + place events": SurfaceBoost((("places", None, 0.0),)),
        "boost + rings 250/500/1000 m": SurfaceBoost(tuple(("counts", None, b) for b in (250.0, 500.0, 1000.0))),
        "boost + postcode density": SurfaceBoost((("static:postcodes_small", None, 0.0),
                                                  ("static:postcodes_small", None, 300.0),
                                                  ("static:postcodes_large", None, 0.0))),
    }


def score(ev: pd.DataFrame, grid: SquareGrid, preds: dict, **folds) -> tuple[pd.DataFrame, object]:
    res = backtest(ev, preds, grid, coverages=COVERAGES, ties="cell_id", study_area="touches", **folds)
    return res.intervals(n_boot=1000, seed=0), res


def table(train_ci: pd.DataFrame, dev_ci: pd.DataFrame, dev_res, base: str, default: str) -> pd.DataFrame:
    """One row per idea: training-fold PAI@1 %, dev PAI@1/2/5/10 % with intervals, dev difference to
    the default at 1 % with its paired interval."""
    def fmt(r: pd.Series) -> str:
        return f"{r['pai']:.2f} [{r['pai_low']:.2f}, {r['pai_high']:.2f}]"
    out = {}
    for m in dev_ci["method"].unique():
        tr = train_ci[(train_ci["method"] == m)].set_index("coverage")["pai"]
        dv = dev_ci[dev_ci["method"] == m].set_index("coverage")
        row = {"train PAI@1%": round(tr.loc[0.01], 2)}
        row.update({f"dev PAI@{c:.0%}": fmt(dv.loc[c]) for c in COVERAGES})
        if m != default:
            d = dev_res.compare(m, default, n_boot=1000).set_index("coverage").loc[0.01]
            row["dev minus default @1%"] = f"{d['pai_diff']:+.2f} [{d['pai_diff_low']:+.2f}, {d['pai_diff_high']:+.2f}]"
        out[m] = row
    df = pd.DataFrame(out).T
    b1 = dev_ci[(dev_ci["method"] == base) & np.isclose(dev_ci["coverage"], 0.01)]["pai"].iloc[0]
    print(f"target at 1 %: 10 % above {base} on the dev folds = {1.1 * b1:.2f}")
    return df


def beyond_the_protocol(met: pd.DataFrame, grid: SquareGrid) -> None:
    """Two checks outside the fixed protocol: the blend with every month before the test month (up to
    nine, the protocol allows six), and how many of each dev month's busiest cells (>= 4 burglaries)
    had little history (<= 2 in the six months before) and were flagged by the blend's top 1 %."""
    res = backtest(met, {"blend, all months before": BlendedHotspot()}, grid, folds=4, min_train_periods=6, coverages=(0.01,), ties="cell_id", study_area="touches")
    print("blend with every month before the test month (outside the protocol), dev PAI@1 %: "
          f"{res.summary()['pai'].iloc[0]:.2f}")
    cells = grid.cell_of(met.geometry.x.to_numpy(), met.geometry.y.to_numpy())
    ins = np.flatnonzero(study_cells(grid, "touches"))
    months = met["month"].to_numpy()
    for m in ("2024-07", "2024-08", "2024-09", "2024-10"):
        start = str(pd.Period(m, "M") - 6)
        train = met[(months >= start) & (months < m)]
        y = np.bincount(cells[(months == m) & (cells >= 0)], minlength=grid.n_cells)[ins]
        past = np.bincount(cells[(months >= start) & (months < m) & (cells >= 0)], minlength=grid.n_cells)[ins]
        risk = BlendedHotspot().fit(train, t_end=pd.Period(m, "M").start_time, grid=grid).predict(grid).to_numpy()
        top = rank_cells(risk[ins], ties="cell_id", cell_ids=ins)[: int(round(0.01 * len(ins)))]
        hot = y >= 4
        print(f"{m}: {hot.sum()} cells with >= 4 burglaries ({y[hot].sum()} of {y.sum()}); {(past[hot] <= 2).sum()} "
              f"had <= 2 in the six months before; the blend's top 1 % flagged {hot[top].sum()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", action="store_true", help="also the City of London check (all crime types)")
    args = ap.parse_args()
    data = data_dir(required=True)
    grid = london_grid(data)
    _Idea.static = postcode_density(data, grid)
    met = pd.concat([read_months(data / "policeuk_met_burglary_street"),
                     read_months(data / "policeuk_met_burglary_street_2024h2")], ignore_index=True)
    preds = ideas()
    t0 = time.perf_counter()
    train_ci, _ = score(met[met["month"] <= "2024-06"], grid, preds, folds=3, min_train_periods=3)
    dev_ci, dev_res = score(met, grid, preds, folds=4, train_periods=6, min_train_periods=6)
    print(f"== Met burglary: training folds 2024-04..06 (expanding), dev folds 2024-07..10 (six months); "
          f"{time.perf_counter() - t0:.0f} s")
    print(table(train_ci, dev_ci, dev_res, "RetrospectiveKDE() (best baseline)", "BlendedHotspot() (current)")
          .to_string())
    beyond_the_protocol(met, grid)
    if args.city:
        city_grid = SquareGrid.from_extent(boroughs(data).query("LAD22CD == 'E09000001'"), 250)
        _Idea.static = postcode_density(data, city_grid)
        ev = read_months(data / "policeuk_city_of_london_street")
        ci, _ = score(ev, city_grid, preds, folds=32, train_periods=6, min_train_periods=6)
        print("\n== City of London, all crime types, 32 folds 2022-10..2025-05, PAI@1/2/5/10 %")
        print(ci.pivot(index="method", columns="coverage", values="pai").round(2).to_string())


if __name__ == "__main__":
    main()
