"""An attacker on published crime data: what a reader can work out from a release (for audits and tests).

Everything here reads only what a release publishes (area tables, totals, point positions and counts)
plus open data the attacker is assumed to hold (address positions, the incident positions police.uk
publishes, the library's own open-source map-point code). It is deliberately independent of the
gate's own bookkeeping: the tables are rebuilt into a linear system from the published frames, not
from :class:`~geocrime.publish.suppression.CellSystem`.

Table attack (:func:`table_attack`)
    Unknowns are the cells of the finest published layer (area x month x crime type, e.g. ward cells)
    that the release holds: a cell outside the release's coverage is absent from every table ("no
    data"), so it is neither an unknown nor an equation, and every table it would count toward is
    absent too. Every published cell of any layer (ward, borough, London, all-crime ``*``,
    cross-month ``*``) is a linear equation over them. Knowledge the attacker uses
    (:data:`TABLE_KNOWLEDGE`):

    * counts are integers >= 0;
    * zeros are published, so every suppressed cell is >= 1 (switch off with ``suppressed_ge1=False``);
    * published cells are exact.

    For every suppressed cell the attacker solves min and max by linear programming (scipy HiGHS), per
    connected block of unknowns. A cell is *exposed* when pinned to one value (``exact``), confined to
    ``1..threshold-1`` (``small``: the attacker learns "a small count", e.g. [1, 2]) or narrower than the
    threshold (``narrow``: fails the SDC protection rule).

Point attack (:func:`point_attack`)
    For each published map point: the number of distinct address places in its catchment (positions
    rounded to ``place_m``), the catchment radius (farthest catchment place from the published point:
    every incident published there lies within it) and the distance to the nearest real coordinate
    (address, premises or incident).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["TABLE_KNOWLEDGE", "TableAttack", "PointAttack", "published_cells", "table_attack", "point_attack",
           "area_parents"]

ALL = "*"
_CAP = 1e6  # upper bound on every unknown in the attacker's LPs; reaching it means "unbounded"

#: What :func:`table_attack` assumes the attacker knows (reported with its results).
TABLE_KNOWLEDGE = (
    "every published cell of every released table (finest areas, parents, London, all-crime, cross-month totals)",
    "which finer area lies in which parent area (public boundaries)",
    "counts are whole numbers >= 0",
    "zeros are published, so a suppressed cell is >= 1",
    "the coverage: absent cells are no data (the attack runs over the covered cells the tables hold)",
    "published point counts are lower bounds on the finest cell holding the point",
)


def published_cells(gated: Any, layers: Iterable[str] | None = None, *, totals: bool = True) -> pd.DataFrame:
    """The cells a release publishes: ``layer, area_code, month, crime_type, count, suppressed``.

    ``gated`` is a :class:`~geocrime.publish.GatedData` (or anything with ``area_counts`` and
    ``totals``). ``layers`` picks the area tables that are published (default: all); ``totals``
    adds the London (``layer == "all"``) and all-crime (``crime_type == "*"``) totals of those layers.
    """
    ac = gated.area_counts
    layers = list(ac) if layers is None else list(layers)
    frames = [ac[l].assign(layer=l) for l in layers if l in ac]
    if totals and len(gated.totals):
        t = gated.totals
        frames.append(t[t["layer"].isin(["all", *layers])])
    cells = pd.concat(frames, ignore_index=True)[["layer", "area_code", "month", "crime_type", "count", "suppressed"]]
    cells = cells.drop_duplicates(["layer", "area_code", "month", "crime_type"]).reset_index(drop=True)
    cells["suppressed"] = cells["suppressed"].astype(bool)
    return cells


def area_parents(area_geometries: dict[str, Any], finest: str, parent: str = "borough") -> pd.Series:
    """Parent area code of each finest area by largest overlap of the PUBLIC geometries (EPSG:27700)."""
    import geopandas as gpd

    f = area_geometries[finest].to_crs(27700)
    p = area_geometries[parent].to_crs(27700)
    inter = gpd.overlay(f[["area_code", "geometry"]], p[["area_code", "geometry"]].rename(columns={"area_code": "parent"}),
                        how="intersection", keep_geom_type=True)
    inter["a"] = inter.area
    best = inter.sort_values(["area_code", "a"], ascending=[True, False]).drop_duplicates("area_code")
    return best.set_index("area_code")["parent"]


@dataclass
class TableAttack:
    """Result of :func:`table_attack`: one row per suppressed cell (``lo``, ``hi``, exposure flags)."""

    cells: pd.DataFrame
    threshold: int
    knowledge: tuple[str, ...]
    lps: int = 0

    @property
    def exposed(self) -> pd.DataFrame:
        c = self.cells
        return c[c["exact"] | c["small"] | c["narrow"]]

    def summary(self) -> dict[str, int]:
        c = self.cells
        return {"suppressed": int(len(c)), "exact": int(c["exact"].sum()), "small_1_to_t-1": int(c["small"].sum()),
                "narrower_than_threshold": int(c["narrow"].sum()), "exposed_any": int(len(self.exposed))}


def _finest_system(cells: pd.DataFrame, finest: str, parents: dict[str, pd.Series]) -> tuple[pd.DataFrame, sparse.csr_matrix]:
    """Finest cells (area, month, type) and the (cells x finest) 0/1 membership matrix."""
    is_span = cells["month"].astype(str).str.contains("..", regex=False)
    fz = cells[(cells["layer"] == finest) & (cells["crime_type"] != ALL) & (cells["month"] != ALL) & ~is_span]
    areas = sorted(set(fz["area_code"]))
    months = sorted(set(cells.loc[~is_span, "month"]) - {ALL})
    spans = sorted(set(cells.loc[is_span, "month"]))
    types = sorted(set(cells["crime_type"]) - {ALL})
    F = pd.MultiIndex.from_product([areas, months, types], names=["area", "month", "type"]).to_frame(index=False)
    # only the finest cells the release holds (covered cells; without coverage that is the whole product)
    held = pd.MultiIndex.from_frame(fz[["area_code", "month", "crime_type"]].astype(str))
    F = F[pd.MultiIndex.from_frame(F.astype(str)).isin(held)].reset_index(drop=True)
    F["j"] = np.arange(len(F))
    keyed = cells.reset_index(names="cell")
    pairs = []
    for layer in sorted(set(cells["layer"])):
        if layer == finest:
            a = F["area"].to_numpy(object)
        elif layer == "all":
            a = np.full(len(F), ALL, dtype=object)
        elif layer in parents:
            a = F["area"].map(parents[layer]).to_numpy(object)
        else:
            continue
        msets = [(np.ones(len(F), bool), F["month"].to_numpy(object)), (np.ones(len(F), bool), np.full(len(F), ALL, dtype=object))]
        for sp in spans:  # a cross-month total "A..B" sums the months A to B
            a0, b0 = sp.split("..")
            msets.append(((F["month"] >= a0).to_numpy() & (F["month"] <= b0).to_numpy(), np.full(len(F), sp, dtype=object)))
        for sel, mm in msets:
            for tt in (F["type"].to_numpy(object), np.full(len(F), ALL, dtype=object)):
                pairs.append(pd.DataFrame({"layer": layer, "area_code": a[sel], "month": mm[sel], "crime_type": tt[sel],
                                           "j": F["j"].to_numpy()[sel]}))
    m = keyed.merge(pd.concat(pairs, ignore_index=True), on=["layer", "area_code", "month", "crime_type"], how="inner")
    inc = sparse.csr_matrix((np.ones(len(m)), (m["cell"].to_numpy(), m["j"].to_numpy())), shape=(len(cells), len(F)))
    return F, inc


def table_attack(
    gated: Any,
    threshold: int | None = None,
    *,
    layers: Iterable[str] | None = None,
    totals: bool = True,
    cells: pd.DataFrame | None = None,
    finest: str | None = None,
    parents: dict[str, pd.Series] | None = None,
    suppressed_ge1: bool = True,
    point_lower: pd.DataFrame | None = None,
    screens: int = 6,
) -> TableAttack:
    """Solve the feasible interval of every suppressed cell a release publishes.

    Parameters
    ----------
    gated:
        The release (``GatedData``); its public area geometries give the nesting of areas.
    threshold:
        The suppression threshold the release states (default ``gated.params["threshold"]``).
    layers, totals:
        Which tables the reader sees (default: every area table plus the totals).
    cells:
        Use these published cells instead (e.g. two releases concatenated).
    finest:
        The finest layer (default: the released layer with most areas).
    parents:
        ``{layer: Series(finest code -> code of that layer)}``; default from the public geometries.
    suppressed_ge1:
        Use "zeros are published, so a suppressed cell is >= 1" (the reader can).
    point_lower:
        ``area, month, type, lower``: sums of published point counts per finest cell (lower bounds).
    screens:
        Random-objective LPs per block before the exact min/max LPs (a cell seen at two feasible
        points ``threshold`` apart cannot be exposed, so it needs no exact LPs).

    ``lo``/``hi`` are exact for every cell that could be exposed; for the others ``hi - lo`` is a
    lower bound on the width, already >= threshold.
    """
    t = int(threshold if threshold is not None else gated.params["threshold"])
    cells = published_cells(gated, layers, totals=totals) if cells is None else cells.reset_index(drop=True)
    lay = [l for l in cells["layer"].unique() if l != "all"]
    if finest is None:
        finest = max(lay, key=lambda l: cells.loc[cells["layer"] == l, "area_code"].nunique())
    if parents is None:
        parents = {l: area_parents(gated.area_geometries, finest, l) for l in lay if l != finest}
    F, inc = _finest_system(cells, finest, parents)
    sup = cells["suppressed"].to_numpy(bool)
    cnt = pd.to_numeric(cells["count"], errors="coerce").to_numpy(float)
    known = _known_finest(cells, finest, inc, sup, cnt, len(F))
    unk = np.isnan(known)
    kv = np.where(unk, 0.0, known)
    lower = np.zeros(len(F))
    if point_lower is not None and len(point_lower):
        pl = F.merge(point_lower, on=["area", "month", "type"], how="inner")
        lower[pl["j"].to_numpy()] = pl["lower"].to_numpy(float)
    A = inc[:, unk].tocsr()
    base = inc @ kv
    eq = ~sup
    b_eq = cnt[eq] - base[eq]
    a_eq = A[eq]
    live = np.diff(a_eq.indptr) > 0
    if not np.allclose(b_eq[~live], 0, atol=1e-6):
        raise ValueError("the published cells contradict each other")
    a_eq, b_eq = a_eq[live], b_eq[live]
    tgt = np.flatnonzero(sup)
    a_t = A[tgt]
    a_ge = a_t if suppressed_ge1 else a_t[:0]
    b_ge = (1.0 - base[tgt]) if suppressed_ge1 else np.zeros(0)
    nu = int(unk.sum())
    lo_b = lower[unk]
    # blocks of unknowns linked by any equation or inequality
    link = sparse.vstack([a_eq, a_ge, a_t]).tocsr()
    adj = (link.T @ link) if nu else sparse.csr_matrix((0, 0))
    ncomp, comp = connected_components(adj, directed=False) if nu else (0, np.zeros(0, int))
    out_lo = np.full(len(tgt), np.nan)
    out_hi = np.full(len(tgt), np.nan)
    n_lp = 0
    t_comp = np.array([comp[a_t[i].indices[0]] if a_t[i].nnz else -1 for i in range(len(tgt))])
    eq_comp = np.array([comp[a_eq[i].indices[0]] for i in range(a_eq.shape[0])], dtype=int)
    ge_comp = t_comp if suppressed_ge1 else np.zeros(0, int)
    for c in np.unique(t_comp):
        ti = np.flatnonzero(t_comp == c)
        if c < 0:  # a suppressed cell whose members are all known: pinned
            out_lo[ti] = out_hi[ti] = base[tgt[ti]]
            continue
        cols = np.flatnonzero(comp == c)
        ae = a_eq[eq_comp == c][:, cols]
        be = b_eq[eq_comp == c]
        ag = a_ge[ge_comp == c][:, cols] if suppressed_ge1 else None
        bg = b_ge[ge_comp == c] if suppressed_ge1 else None
        if ae.shape[0] == 0:  # no published equation bounds these unknowns: every cell unbounded above
            out_lo[ti] = base[tgt[ti]] + np.asarray(a_t[ti][:, cols] @ lo_b[cols]).ravel()
            out_hi[ti] = np.inf
            continue
        rows_t = a_t[ti][:, cols].tocsr()
        lo_seen, hi_seen, unb, n = _block_intervals(ae, be, ag, bg, lo_b[cols].copy(), rows_t, t, screens)
        n_lp += n
        out_lo[ti] = base[tgt[ti]] + lo_seen
        out_hi[ti] = np.where(unb, np.inf, base[tgt[ti]] + hi_seen)
    return _table_attack_result(cells, tgt, out_lo, out_hi, t, suppressed_ge1, n_lp)


def _known_finest(cells: pd.DataFrame, finest: str, inc: sparse.csr_matrix, sup: np.ndarray, cnt: np.ndarray,
                  n_finest: int) -> np.ndarray:
    """Value of each finest cell the finest table publishes (known exactly); NaN for the unknown ones."""
    # finest cells published in the finest table are known exactly
    fin_pub = ((cells["layer"] == finest).to_numpy() & ~sup & (cells["crime_type"] != ALL).to_numpy()
               & (cells["month"] != ALL).to_numpy() & ~cells["month"].astype(str).str.contains("..", regex=False).to_numpy())
    known = np.full(n_finest, np.nan)
    rows = inc[fin_pub]
    jj = rows.indices[rows.indptr[:-1]] if rows.nnz else np.zeros(0, int)
    known[jj] = cnt[fin_pub]
    return known


def _block_intervals(ae: sparse.csr_matrix, be: np.ndarray, ag: sparse.csr_matrix | None, bg: np.ndarray | None,
                     lb: np.ndarray, rows_t: sparse.csr_matrix, t: int, screens: int,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Feasible interval of each suppressed cell (rows ``rows_t``) of one block of unknowns (lower bounds ``lb``).

    Screening LPs first; exact min/max LPs only for cells not yet seen ``t`` wide. Returns the lowest and
    highest values seen (without the known part), which cells are unbounded above, and the LPs solved.
    """
    n_lp = 0
    if ag is not None and ag.shape[0]:  # one-unknown ">= 1" rows are bounds
        nnz = np.diff(ag.indptr)
        one = np.flatnonzero(nnz == 1)
        np.maximum.at(lb, ag.indices[ag.indptr[one]], bg[one])
        ag, bg = ag[nnz > 1], bg[nnz > 1]
    bounds = np.c_[lb, np.full(len(lb), _CAP)]  # a finite cap keeps every LP bounded

    def lp(c: np.ndarray) -> np.ndarray | None:
        nonlocal n_lp
        n_lp += 1
        r = linprog(c, A_ub=(-ag if ag is not None and ag.shape[0] else None),
                    b_ub=(-bg if ag is not None and ag.shape[0] else None),
                    A_eq=ae if ae.shape[0] else None, b_eq=be if ae.shape[0] else None,
                    bounds=bounds, method="highs")
        if r.status == 3:
            return None
        if r.status != 0:
            raise ValueError(f"attack LP failed: {r.message}")
        return r.x

    lo_seen = np.full(rows_t.shape[0], np.inf)
    hi_seen = np.full(rows_t.shape[0], -np.inf)
    unb = np.zeros(rows_t.shape[0], bool)
    rng = np.random.default_rng(0)
    ssum = np.asarray(rows_t.sum(axis=0)).ravel()
    # screening: a few vertices prove most cells at least ``t`` wide (then no flag can apply)
    for c in [ssum, -ssum] + [np.asarray(rows_t.T @ rng.choice([-1.0, 1.0], rows_t.shape[0])).ravel() for _ in range(screens)]:
        x = lp(c)
        if x is None:
            continue
        v = rows_t @ x
        np.minimum(lo_seen, v, out=lo_seen)
        np.maximum(hi_seen, v, out=hi_seen)
    for i in np.flatnonzero(~(hi_seen - lo_seen >= t)):
        row = rows_t[i].toarray().ravel()
        x = lp(row)
        lo_seen[i] = row @ x
        x = lp(-row)
        if x is None:
            unb[i] = True
            hi_seen[i] = np.inf
        else:
            hi_seen[i] = row @ x
    unb |= hi_seen >= _CAP / 2  # reached the cap: unbounded
    return lo_seen, hi_seen, unb, n_lp


def _table_attack_result(cells: pd.DataFrame, tgt: np.ndarray, out_lo: np.ndarray, out_hi: np.ndarray, t: int,
                         suppressed_ge1: bool, n_lp: int) -> TableAttack:
    """The suppressed cells with their intervals and flags (exact, small, narrow)."""
    res = cells.iloc[tgt][["layer", "area_code", "month", "crime_type"]].reset_index(drop=True)
    res["lo"], res["hi"] = out_lo, out_hi
    width = out_hi - out_lo
    res["exact"] = width < 0.5
    res["small"] = (out_lo >= 0.5) & (out_hi <= t - 1 + 1e-6)
    res["narrow"] = width < t - 1e-6
    know = TABLE_KNOWLEDGE if suppressed_ge1 else tuple(k for k in TABLE_KNOWLEDGE if ">= 1" not in k)
    return TableAttack(res, t, know, n_lp)


@dataclass
class PointAttack:
    """Result of :func:`point_attack`: one row per published map point."""

    points: pd.DataFrame
    k: int
    settings: dict[str, float] = field(default_factory=dict)

    def summary(self, radii: tuple[float, ...] = (50.0, 100.0), near: tuple[float, ...] = (1.0, 10.0)) -> dict[str, int]:
        p = self.points
        out = {"published_points": int(len(p)), f"fewer_than_{self.k}_places": int((p["places"] < self.k).sum())}
        for r in radii:
            out[f"catchment_within_{int(r)}m"] = int((p["radius_m"] < r).sum())
        for d in near:
            out[f"within_{int(d)}m_of_a_real_coordinate"] = int((p["nearest_real_m"] < d).sum())
        out["on_a_real_coordinate"] = int((p["nearest_real_m"] < 0.05).sum())
        return out


def point_attack(
    published: pd.DataFrame,
    address_xy: np.ndarray,
    address_point: np.ndarray,
    real_xy: np.ndarray,
    *,
    k: int = 8,
    place_m: float = 1.0,
) -> PointAttack:
    """Measure what each published map point gives away.

    Parameters
    ----------
    published:
        ``map_point_id, x, y`` of the published points (EPSG:27700 metres; one row per point).
    address_xy, address_point:
        Every address position (n x 2, EPSG:27700) and the map point whose catchment holds it, as the
        attacker recomputes it with the open-source map-point code on the same open address data.
    real_xy:
        Every real coordinate the attacker holds (addresses, premises, published incident positions).
    k:
        The k the release claims.
    place_m:
        Positions closer than this are one place (a building with many premises is one place).
    """
    pub = published.drop_duplicates("map_point_id").reset_index(drop=True)
    a = pd.DataFrame({"mp": np.asarray(address_point, dtype=object),
                      "px": np.round(address_xy[:, 0] / place_m), "py": np.round(address_xy[:, 1] / place_m),
                      "x": address_xy[:, 0], "y": address_xy[:, 1]})
    a = a[a["mp"].isin(set(pub["map_point_id"]))]
    places = a.drop_duplicates(["mp", "px", "py"]).groupby("mp").size()
    pos = pub.set_index("map_point_id")[["x", "y"]]
    d = np.hypot(a["x"].to_numpy() - pos.loc[a["mp"], "x"].to_numpy(), a["y"].to_numpy() - pos.loc[a["mp"], "y"].to_numpy())
    radius = pd.Series(d, index=a["mp"].to_numpy()).groupby(level=0).max()
    dn, _ = cKDTree(np.asarray(real_xy, float)).query(pub[["x", "y"]].to_numpy(float))
    out = pd.DataFrame({"map_point_id": pub["map_point_id"],
                        "places": pub["map_point_id"].map(places).fillna(0).astype(int).to_numpy(),
                        "radius_m": pub["map_point_id"].map(radius).fillna(0.0).to_numpy(),
                        "nearest_real_m": dn})
    return PointAttack(out, int(k), {"place_m": place_m})
