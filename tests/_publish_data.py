"""Loaders and the attacker for the publish-gate tests (helper module, not collected).

The gazetteer for the tests: OS Code-Point Open postcode units (each counted as ONE address, a
conservative lower bound: a unit holds ~15 delivery points) plus FSA FHRS premises.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from geocrime._geo import lonlat_to_bng


@lru_cache(maxsize=2)
def gazetteer(shared_data: Path) -> gpd.GeoDataFrame:
    cp = pd.read_csv(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz",
                     usecols=["Postcode", "Eastings", "Northings"])
    fh = pd.read_csv(shared_data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv",
                     usecols=["FHRSID", "Longitude", "Latitude"])
    fh = fh.dropna(subset=["Longitude", "Latitude"])
    fx, fy = lonlat_to_bng(fh["Longitude"], fh["Latitude"])
    ids = np.concatenate(["cp:" + cp["Postcode"].astype(str).to_numpy(), "fhrs:" + fh["FHRSID"].astype(str).to_numpy()])
    x = np.concatenate([cp["Eastings"].to_numpy(float), fx])
    y = np.concatenate([cp["Northings"].to_numpy(float), fy])
    return gpd.GeoDataFrame({"address_id": ids}, geometry=gpd.points_from_xy(x, y), crs=27700)


@lru_cache(maxsize=2)
def map_points(shared_data: Path, k: int = 8):
    from geocrime.publish import build_map_points

    return build_map_points(gazetteer(shared_data), k=k, id_col="address_id")


@lru_cache(maxsize=2)
def met(shared_data: Path) -> pd.DataFrame:
    files = sorted((shared_data / "policeuk_met_burglary_street").glob("*-metropolitan-street.csv"))
    return pd.concat([pd.read_csv(f, dtype="string") for f in files], ignore_index=True)


@lru_cache(maxsize=2)
def city(shared_data: Path) -> pd.DataFrame:
    files = sorted((shared_data / "policeuk_city_of_london_street").glob("*-city-of-london-street.csv"))
    return pd.concat([pd.read_csv(f, dtype="string") for f in files], ignore_index=True)


def attack_lp(gd, mp, codes: pd.DataFrame, months=None) -> pd.DataFrame:
    """The attacker: for every suppressed published cell, min and max of its value over every
    assignment of counts to (map point, month, crime type) consistent with EVERYTHING published.

    Knowledge given to the attacker (stronger than real): every map point and the area codes it
    counts toward (``codes``: index map_point_id, one column per layer); the gate's rules
    (point_threshold, points withheld where a cell is suppressed). Published: area cells, totals,
    point counts. Unknowns: one count >= 0 per map point × month × crime type.
    Returns one row per suppressed cell with ``lo``, ``hi``.
    """
    params = gd.params
    layers = params["layers"]
    pt = params["point_threshold"]
    cells = [df.assign(layer=l) for l, df in gd.area_counts.items()] + [gd.totals]
    cells = pd.concat(cells, ignore_index=True)
    if months is not None:
        cells = cells[cells["month"].isin(months)]
    out = []
    for month, cm in cells.groupby("month"):
        types = sorted(t for t in cm["crime_type"].unique() if t != "*")
        v = pd.MultiIndex.from_product([codes.index, types], names=["map_point_id", "crime_type"]).to_frame(index=False)
        v = v.merge(codes, left_on="map_point_id", right_index=True)
        n = len(v)
        # membership: (layer, area, type) keys per variable
        keys = []
        for layer in ["all"] + layers:
            area = np.full(n, "*", dtype=object) if layer == "all" else v[layer].to_numpy(object)
            for t in (v["crime_type"].to_numpy(object), np.full(n, "*", dtype=object)):
                keys.append(pd.DataFrame({"layer": layer, "area_code": area, "crime_type": t, "var": np.arange(n)}))
        memb = pd.concat(keys, ignore_index=True)
        cm = cm.reset_index(drop=True).reset_index(names="cell")
        m = cm.merge(memb, on=["layer", "area_code", "crime_type"], how="left")
        empty = m.loc[m["var"].isna(), "cell"].to_numpy()
        assert (cm.loc[empty, "count"].fillna(0) == 0).all(), "a cell with no map point has a count"
        m = m.dropna(subset=["var"])
        inc = sparse.csr_matrix((np.ones(len(m)), (m["cell"].to_numpy(int), m["var"].to_numpy(int))), shape=(len(cm), n))
        pub = ~cm["suppressed"].to_numpy(bool)
        a_eq = [inc[pub]]
        b_eq = [cm.loc[pub, "count"].to_numpy(float)]
        # published points fix their variables
        pts = gd.points[gd.points["month"] == month]
        vi = v.reset_index().set_index(["map_point_id", "crime_type"])["index"]
        fixed = vi.loc[list(zip(pts["map_point_id"], pts["crime_type"]))].to_numpy()
        a_eq.append(sparse.csr_matrix((np.ones(len(fixed)), (np.arange(len(fixed)), fixed)), shape=(len(fixed), n)))
        b_eq.append(pts["count"].to_numpy(float))
        # unpublished points whose every cell is published hold < point_threshold
        supp_vars = np.unique(np.asarray(inc[~pub].nonzero()[1]))
        ub = np.full(n, np.inf)
        free_cells = np.ones(n, bool)
        free_cells[supp_vars] = False
        unpub = np.ones(n, bool)
        unpub[fixed] = False
        ub[free_cells & unpub] = pt - 1
        a = sparse.vstack(a_eq).tocsr()
        b = np.concatenate(b_eq)
        # eliminate variables the attacker knows exactly (published points; unpublished points in
        # fully published cells when point_threshold == 1): same LP, far fewer columns
        known = np.full(n, np.nan)
        known[fixed] = pts["count"].to_numpy(float)
        known[np.isfinite(ub) & (ub == 0)] = 0.0
        kn = ~np.isnan(known)
        b = b - a[:, kn] @ known[kn]
        a = a[:, ~kn]
        base = inc[:, kn] @ known[kn]
        incf = inc[:, ~kn]
        ubf = ub[~kn]
        # unknowns that every published figure and every cell sees alike enter the LP only through
        # their sum (a variable in [0, sum of bounds]): merging them is exact and makes the LP small
        both = sparse.vstack([a, incf]).tocsc()
        both.sort_indices()
        groups: dict[bytes, int] = {}
        gid = np.empty(both.shape[1], dtype=np.int64)
        for j in range(both.shape[1]):
            sl = slice(both.indptr[j], both.indptr[j + 1])
            key = both.indices[sl].tobytes() + b"|" + both.data[sl].tobytes()
            gid[j] = groups.setdefault(key, len(groups))
        rep = np.zeros(len(groups), dtype=np.int64)
        rep[gid] = np.arange(len(gid))
        gub = np.bincount(gid, weights=np.where(np.isinf(ubf), 0, ubf), minlength=len(groups))
        ginf = np.bincount(gid, weights=np.isinf(ubf).astype(float), minlength=len(groups)) > 0
        a = a.tocsc()[:, rep].tocsr()
        incf = incf.tocsc()[:, rep].tocsr()
        live = np.asarray(abs(a).sum(axis=1)).ravel() > 0
        assert np.allclose(b[~live], 0), "published figures contradict each other"
        a, b = a[live], b[live]
        bounds = np.c_[np.zeros(len(rep)), np.where(ginf, np.inf, gub)]
        for ci in np.flatnonzero(~pub):
            row = incf[ci].toarray().ravel()
            lo = linprog(row, A_eq=a, b_eq=b, bounds=bounds, method="highs")
            hi = linprog(-row, A_eq=a, b_eq=b, bounds=bounds, method="highs")
            assert lo.status == 0, lo.message  # the published system must be consistent
            out.append({**cm.loc[ci, ["layer", "area_code", "month", "crime_type"]].to_dict(),
                        "lo": base[ci] + lo.fun, "hi": base[ci] - hi.fun if hi.status == 0 else np.inf})
    return pd.DataFrame(out)
