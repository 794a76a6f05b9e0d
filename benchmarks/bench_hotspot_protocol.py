"""The fixed hotspot-prediction protocol of issue 20, so figures compare with published ones.

    .venv/bin/python benchmarks/bench_hotspot_protocol.py            # Met dev folds + City check
    .venv/bin/python benchmarks/bench_hotspot_protocol.py --quick    # Met only, fewer resamples

Protocol (exactly as the issue states it):
- grid: 250 m square cells; the study area is every cell whose SQUARE TOUCHES London (the union of the
  33 borough boundaries in shared/data/london_boroughs_lad22_ons, generalised 20 m);
- folds: each test month is predicted from the six calendar months before it (``train_periods=6``),
  events placed at the middle of their police.uk month;
- ranking: cells by predicted risk, ties broken by ascending cell id (``ties="cell_id"``);
- scores: PAI (and hit rate) at 1, 2, 5 and 10 % of the study-area cells, mean over the test months,
  with 95 % bootstrap intervals over folds and cells (``BacktestResult.intervals``);
- Met dev folds: test months 2024-07..2024-10 (policeuk_met_burglary_street_2024h2), training from
  2024-01 on (policeuk_met_burglary_street). These months are for REPORTING: the defaults of the new
  predictors were chosen by rolling origin on 2024-01..06 only (see ``--select``).
- City of London check: police.uk City of London Police, 38 months 2022-04..2025-05; 250 m cells
  touching the City of London's boundary (E09000001; on the London-wide grid the City is smaller
  than 1 % of the cells and every method would score the same), every month with six months before
  it (2022-10..2025-05, 32 folds), all crime types and burglary alone (a few a month).
- Yardsticks that are not predictors: perfect foresight, and the counts of every other month in the
  data, future included.

Every row of the police.uk files with coordinates is used (duplicated Crime IDs kept, as published).
The dev winner (the default predictor) is the method with the highest mean, over the four coverages,
of its PAI divided by the best baseline's PAI; its paired difference to the runner-up is printed.
Timings: fit + predict of one fold on the 250 m London grid, per method, measured in this run.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geocrime._geo import as_points
from geocrime.analysis import (
    AnalysisWarning,
    BlendedHotspot,
    BoostedHotspot,
    NaiveLastPeriod,
    ProspectiveHotspot,
    RetrospectiveKDE,
    SEPPHotspot,
    SquareGrid,
    backtest,
    score_hotspots,
    select_predictor,
    study_cells,
)
from geocrime.analysis._cellseries import smooth
from geocrime.config import data_dir

warnings.simplefilter("ignore", AnalysisWarning)
pd.set_option("display.width", 200)
COVERAGES = (0.01, 0.02, 0.05, 0.10)


def read_months(folder: Path, crime_type: str | None = None) -> gpd.GeoDataFrame:
    files = sorted(folder.glob("*.csv"))
    df = pd.concat([pd.read_csv(f, dtype="string") for f in files], ignore_index=True)
    if crime_type:
        df = df[df["Crime type"] == crime_type]
    pts, status = as_points(df)
    pts = pts[status == "ok"].copy()
    pts["month"] = pts["Month"]
    return pts


def boroughs(data: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(data / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp").to_crs(27700)


def london_grid(data: Path, size: float = 250.0) -> SquareGrid:
    return SquareGrid.from_extent(boroughs(data), size)


def references(ev: gpd.GeoDataFrame, grid: SquareGrid, first_test: str) -> None:
    """Three yardsticks that are NOT methods (they look at the test month or beyond): perfect foresight
    (the test month's own counts), the counts of every OTHER month in the data, future included, and
    those counts plus the same Gaussian-smoothed at 150 m (the neighbourhood borrowing the learned
    predictors do): an estimate of how far any predictor from event counts alone could go."""
    cells = grid.cell_of(ev.geometry.x.to_numpy(), ev.geometry.y.to_numpy())
    ins = np.flatnonzero(study_cells(grid, "touches"))
    months = sorted(ev["month"].unique())
    per = {m: np.bincount(cells[(ev["month"] == m).to_numpy() & (cells >= 0)], minlength=grid.n_cells)[ins]
           for m in months}
    total = sum(per.values())
    other = f"counts of the other {len(months) - 1} months (future included)"
    rows = {"perfect foresight (test month's own counts)": [], other: [], other + " + same smoothed 150 m": []}
    for m in [m for m in months if m >= first_test]:
        y = per[m]
        full = np.bincount(cells[(ev["month"] != m).to_numpy() & (cells >= 0)], minlength=grid.n_cells)
        smoothed = (full + smooth(full.astype("float64"), grid, 150.0))[ins]
        for name, risk in zip(rows, (y, total - y, smoothed)):
            rows[name].append(score_hotspots(risk, y, COVERAGES, ties="cell_id")["pai"].to_numpy())
    print("yardsticks (not predictors), mean PAI:")
    print(pd.DataFrame({k: np.mean(v, axis=0) for k, v in rows.items()},
                       index=[f"PAI@{c:.0%}" for c in COVERAGES]).T.round(2).to_string())


def choose_on_training_months(met: gpd.GeoDataFrame, grid: SquareGrid) -> None:
    """How the defaults were chosen: rolling origin on 2024-01..06 only (folds 2024-04..06, each from
    all the months before it), never on the dev test months."""
    train = met[met["month"] <= "2024-06"]
    cands = {f"SEPPHotspot(background_bandwidth={bw})": SEPPHotspot(background_bandwidth=bw)
             for bw in (100, 150, 200, 300)}
    cands.update({"BlendedHotspot(n_folds=2)": BlendedHotspot(n_folds=2), "BlendedHotspot()": BlendedHotspot(),
                  "BoostedHotspot()": BoostedHotspot(), "counts, all months": NaiveLastPeriod(period_days=400),
                  "RetrospectiveKDE()": RetrospectiveKDE()})
    sel = select_predictor(train, cands, grid, folds=3, min_train_periods=3, study_area="touches", n_boot=1000)
    print("\n== choice on the training months only (select_predictor, folds 2024-04..06)")
    print(sel.scores.round(3).to_string(index=False))
    print(sel.reason)


def methods() -> dict[str, object]:
    return {
        "counts, 6 months": NaiveLastPeriod(period_days=400),
        "RetrospectiveKDE()": RetrospectiveKDE(),
        "ProspectiveHotspot()": ProspectiveHotspot(),
        "NaiveLastPeriod()": NaiveLastPeriod(),
        "BlendedHotspot()": BlendedHotspot(),
        "SEPPHotspot()": SEPPHotspot(),
        "BoostedHotspot()": BoostedHotspot(),
    }


def run(ev: gpd.GeoDataFrame, grid: SquareGrid, preds: dict, first_test: str, n_boot: int, label: str):
    months = sorted(ev["month"].unique())
    folds = len([m for m in months if m >= first_test])
    t0 = time.perf_counter()
    res = backtest(ev, preds, grid, folds=folds, train_periods=6, min_train_periods=6, coverages=COVERAGES,
                   ties="cell_id", study_area="touches")
    took = time.perf_counter() - t0
    ci = res.intervals(n_boot=n_boot, seed=0)
    tests = sorted(res.table["test_period"].unique())
    print(f"\n== {label}: {len(ev):,} events, test months {tests[0]}..{tests[-1]} ({len(tests)} folds), "
          f"{int(res.table['area_cells'].iloc[0]):,} cells touching the boundary; backtest {took:.1f} s")
    wide = {}
    for _, r in ci.iterrows():
        wide.setdefault(r["method"], {})[f"PAI@{r['coverage']:.0%}"] = (
            f"{r['pai']:.2f} [{r['pai_low']:.2f}, {r['pai_high']:.2f}]")
    print(pd.DataFrame(wide).T.to_string())
    per_fold = res.table[res.table["coverage"] == 0.01].pivot(index="test_period", columns="method", values="pai")
    print("PAI at 1 % per test month:")
    print(per_fold[list(preds)].round(2).to_string())
    return res, ci


def timings(ev: gpd.GeoDataFrame, grid: SquareGrid, preds: dict, test_month: str) -> None:
    train = ev[(ev["month"] < test_month) & (ev["month"] >= str(pd.Period(test_month, "M") - 6))]
    t_end = pd.Period(test_month, "M").start_time
    print(f"\n== fit + predict one fold (test {test_month}, {len(train):,} training events, grid {grid.shape}); "
          "best of 3, wall and CPU seconds of this process")
    base = None
    for name, p in preds.items():
        best = (np.inf, np.inf)
        for _ in range(3):
            w0, c0 = time.perf_counter(), time.process_time()
            est = p.clone()
            try:
                est.fit(train, t_end=t_end, grid=grid)
            except TypeError:
                est.fit(train, t_end=t_end)
            est.predict(grid)
            best = min(best, (time.perf_counter() - w0, time.process_time() - c0))
        base = base or best[0]
        print(f"{name:28s} wall {best[0]:6.3f} s  CPU {best[1]:6.3f} s  ratio to {next(iter(preds))} "
              f"{best[0] / base:5.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Met folds only, 500 bootstrap resamples")
    ap.add_argument("--select", action="store_true", help="also show the choice on the training months 2024-01..06")
    args = ap.parse_args()
    data = data_dir(required=True)
    grid = london_grid(data)
    grid.inside()
    n_boot = 500 if args.quick else 2000
    met = pd.concat([read_months(data / "policeuk_met_burglary_street"),
                     read_months(data / "policeuk_met_burglary_street_2024h2")], ignore_index=True)
    preds = methods()
    if args.select:
        choose_on_training_months(met, grid)
    res, _ = run(met, grid, preds, "2024-07", n_boot, "Met burglary, dev folds")
    references(met, grid, "2024-07")
    baselines = ["counts, 6 months", "RetrospectiveKDE()", "ProspectiveHotspot()", "NaiveLastPeriod()"]
    s1 = res.summary()
    s1 = s1[np.isclose(s1["coverage"], 0.01)].set_index("method")["pai"]
    best_base = s1[baselines].idxmax()
    print(f"best baseline at 1 %: {best_base} ({s1[best_base]:.2f}); 10 % above it = {1.1 * s1[best_base]:.2f}")
    for m in preds:
        if m != best_base:
            c = res.compare(m, best_base, n_boot=n_boot)
            cells = ", ".join(f"{r['coverage']:.0%}: {r['pai_diff']:+.2f} [{r['pai_diff_low']:+.2f}, "
                              f"{r['pai_diff_high']:+.2f}]" for _, r in c.iterrows())
            print(f"{m} minus {best_base}: {cells}")
    # the dev winner: the highest mean, over the four coverages, of PAI / best baseline's PAI
    allc = res.summary().pivot(index="method", columns="coverage", values="pai")
    gain = (allc / allc.loc[baselines].max()).mean(axis=1).sort_values(ascending=False)
    print("mean over 1/2/5/10 % of PAI / best baseline's PAI: " +
          ", ".join(f"{m} {v:.4f}" for m, v in gain.items()))
    top2 = [m for m in gain.index if m not in baselines][:2]
    c = res.compare(top2[0], top2[1], n_boot=n_boot)
    print(f"dev winner {top2[0]}; minus {top2[1]}: " + ", ".join(
        f"{r['coverage']:.0%}: {r['pai_diff']:+.2f} [{r['pai_diff_low']:+.2f}, {r['pai_diff_high']:+.2f}]"
        for _, r in c.iterrows()))
    timings(met, grid, preds, "2024-10")
    if args.quick:
        return
    # the City check: 250 m cells touching the City of London (E09000001), the same folds and ranking
    city_b = boroughs(data).query("LAD22CD == 'E09000001'")
    city_grid = SquareGrid.from_extent(city_b, 250)
    folder = data / "policeuk_city_of_london_street"
    for ct, label in ((None, "City of London, all crime types"), ("Burglary", "City of London, burglary")):
        ev = read_months(folder, ct)
        run(ev, city_grid, preds, "2022-10", n_boot, label)


if __name__ == "__main__":
    main()
