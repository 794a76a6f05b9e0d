"""Small-count suppression for a whole release, audited against what a reader can work out.

The published set is ONE linear system over unknown *atoms* (incident counts per month × combination
of area codes of a map point × crime type), whatever the release holds (:class:`~.release.Release`):

* London totals (``layer == "all"``), borough cells, cells of every finer layer nested in their
  borough, all-crime cells (``crime_type == "*"``) and, when the release has them, cross-month
  totals (``month == "YYYY-MM..YYYY-MM"``);
* the cells of earlier releases (``previous=``): their published figures are equations too.

Each additive relation is a *group* (total = sum of members). Rules:

1. primary suppression: a cell with ``1 <= count < threshold`` is suppressed; zeros are published
   and a zero cell is never suppressed, so "suppressed ⇒ >= 1" is TRUE and the reader knows it;
2. complementary suppression: every group holds no suppressed cell or at least two; the partner is
   a published non-zero member chosen by a keyed hash (``secret``), not by size, so the choice says
   nothing about which member is smallest;
3. audit, the SDC protection rule: every suppressed cell's feasible interval — given every published
   cell of this and earlier releases, counts >= 0, suppressed cells >= 1 and the published point
   counts — must be at least ``threshold`` wide (so it is never confined to ``1..threshold-1``).
   Intervals are solved by LP (scipy HiGHS) on the unknown atoms only, all independent blocks
   (per borough and month, typically) in one block-diagonal LP per objective: a few random
   objectives prove most cells wide, and exact min/max LPs run only for the rest, one cell per
   block per LP. Failing cells get another partner in each of their groups, and since adding
   suppression only widens the feasible set, cells proven wide stay proven: only the rest are
   re-audited, until none fails.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from ..errors import PublishError

__all__ = ["CellSystem", "build_cell_system", "suppress", "audit_intervals", "known_atoms", "ALL"]

ALL = "*"
_CAP = 1e7
_DEBUG = False  # upper bound on any unknown (keeps every LP bounded; far above any real count)


@dataclass
class CellSystem:
    """Cells (published quantities) as sums of atoms, and the additive groups among the cells.

    ``cells``: DataFrame ``layer, area_code, month, crime_type, parent, count`` (one row per cell);
    ``incidence``: sparse (n_cells × n_atoms) 0/1 matrix, cell = incidence @ atoms;
    ``group_members``: sparse (n_groups × n_cells) 0/1 matrix of members; ``group_total``: the total
    cell of each group. ``fixed``: cells whose published value is already public (earlier releases).
    """

    cells: pd.DataFrame
    incidence: sparse.csr_matrix
    atom_values: np.ndarray
    group_members: sparse.csr_matrix
    group_total: np.ndarray
    fixed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @property
    def groups(self) -> list[tuple[int, np.ndarray]]:
        """Groups as (total cell, member cells) pairs."""
        g = self.group_members
        return [(int(self.group_total[i]), g.indices[g.indptr[i]:g.indptr[i + 1]]) for i in range(g.shape[0])]


def build_cell_system(
    atoms: pd.DataFrame,
    layers: list[str],
    areas: dict[str, pd.DataFrame],
    crime_types: list[str],
    months: list[str] | None = None,
    *,
    spans: dict[str, list[str]] | None = None,
    totals: bool = True,
) -> CellSystem:
    """Cells and groups of a release.

    ``atoms``: one row per possible atom with a column per layer (``borough`` first, each finer
    layer's code nested in its borough), ``crime_type``, ``month`` and ``count``.
    ``areas``: per layer, DataFrame ``area_code, parent`` (parent = borough code; ``*`` for the
    borough layer) listing every area of the layer, also those without atoms (zeros).
    ``totals``: include London and all-crime cells (they are published, or derivable by the reader).
    ``spans``: cross-month totals ``{"YYYY-MM..YYYY-MM": [months summed]}``.
    """
    months = sorted(atoms["month"].astype(str).unique()) if months is None else list(months)
    spans = {k: list(v) for k, v in (spans or {}).items() if len(v) > 1}
    multi = len(crime_types) > 1 and totals
    mx = list(months) + list(spans)
    tx = list(crime_types) + ([ALL] if multi else [])
    cells = _cell_rows(layers, areas, mx, tx, totals)
    # integer keys: (layer-area id, month id, type id)
    la = pd.Index((cells["layer"] + "|" + cells["area_code"]).unique())
    mi, ti = pd.Index(mx), pd.Index(tx)

    def key(layer_area: np.ndarray, month: np.ndarray, ctype: np.ndarray) -> np.ndarray:
        return (la.get_indexer(layer_area).astype(np.int64) * len(mx) + mi.get_indexer(month)) * len(tx) + ti.get_indexer(ctype)

    inc = _incidence(atoms, cells, layers, key, spans, multi, totals)
    vals = atoms["count"].to_numpy(dtype=float)
    cells["count"] = np.rint(inc @ vals).astype(np.int64)
    gmem, tot = _group_matrix(cells, layers, spans, multi, totals)
    return CellSystem(cells=cells.reset_index(drop=True), incidence=inc, atom_values=vals, group_members=gmem,
                      group_total=np.asarray(tot, dtype=np.int64), fixed=np.zeros(len(cells), bool))


def _cell_rows(layers: list[str], areas: dict[str, pd.DataFrame], mx: list[str], tx: list[str],
               totals: bool) -> pd.DataFrame:
    """One row per cell: ``layer, area_code, month, crime_type, parent`` (every area x month x type)."""
    recs = [pd.DataFrame({"layer": "all", "area_code": ALL, "parent": ""}, index=[0])] if totals else []
    for layer in layers:
        a = areas[layer]
        recs.append(pd.DataFrame({"layer": layer, "area_code": a["area_code"].astype(str).to_numpy(),
                                  "parent": a["parent"].astype(str).to_numpy()}))
    base = pd.concat(recs, ignore_index=True)
    mt = pd.MultiIndex.from_product([mx, tx], names=["month", "crime_type"]).to_frame(index=False)
    return base.merge(mt, how="cross")[["layer", "area_code", "month", "crime_type", "parent"]]


def _incidence(atoms: pd.DataFrame, cells: pd.DataFrame, layers: list[str], key: Callable[..., np.ndarray],
               spans: dict[str, list[str]], multi: bool, totals: bool) -> sparse.csr_matrix:
    """The sparse (n_cells x n_atoms) 0/1 matrix: which atoms each cell sums (``key`` gives a cell's integer key)."""
    ckey = key((cells["layer"] + "|" + cells["area_code"]).to_numpy(), cells["month"].to_numpy(), cells["crime_type"].to_numpy())
    order = np.argsort(ckey)
    n_atoms = len(atoms)
    am = atoms["month"].astype(str).to_numpy()
    at = atoms["crime_type"].astype(str).to_numpy()
    rr, cc = [], []
    lay_cols = (["all"] if totals else []) + list(layers)
    for layer in lay_cols:
        code = np.full(n_atoms, ALL, dtype=object) if layer == "all" else atoms[layer].astype(str).to_numpy(object)
        lak = np.char.add(layer + "|", code.astype(str))
        month_sets = [(np.arange(n_atoms), am)] + [
            (np.flatnonzero(np.isin(am, ms)), None) for ms in spans.values()]
        for (sel, mm), sname in zip(month_sets, [None, *spans]):
            mm = am[sel] if sname is None else np.full(len(sel), sname, dtype=object)
            for tt in ([at[sel]] + ([np.full(len(sel), ALL, dtype=object)] if multi else [])):
                k = key(lak[sel], np.asarray(mm, dtype=object), np.asarray(tt, dtype=object))
                pos = order[np.searchsorted(ckey[order], k)]
                if not np.array_equal(ckey[pos], k):
                    raise PublishError(f"an atom's {layer} area is not among the areas of that layer")
                rr.append(pos)
                cc.append(sel)
    rr, cc = np.concatenate(rr), np.concatenate(cc)
    return sparse.csr_matrix((np.ones(len(rr)), (rr, cc)), shape=(len(cells), n_atoms))


def _group_matrix(cells: pd.DataFrame, layers: list[str], spans: dict[str, list[str]], multi: bool,
                  totals: bool) -> tuple[sparse.csr_matrix, list[int]]:
    """The additive groups: sparse (n_groups x n_cells) member matrix and each group's total cell."""
    gm_r, gm_c, tot = [], [], []
    idx = pd.Series(np.arange(len(cells)), index=pd.MultiIndex.from_frame(cells[["layer", "area_code", "month", "crime_type"]]))

    def add_groups(members: pd.DataFrame, total_keys: pd.DataFrame) -> None:
        t = idx.reindex(pd.MultiIndex.from_frame(total_keys)).to_numpy()
        ok = ~pd.isna(t)
        members = members[ok]
        t = t[ok].astype(np.int64)
        gk = pd.factorize(pd.Series(t))[0]
        start = len(tot)
        ng = gk.max() + 1 if len(gk) else 0
        first = pd.Series(t).groupby(gk).first().to_numpy() if ng else np.zeros(0, np.int64)
        tot.extend(first.tolist())
        gm_r.append(start + gk)
        gm_c.append(members["_i"].to_numpy())

    c = cells.assign(_i=np.arange(len(cells)))
    for li, layer in enumerate(layers):  # children of their parent
        m = c[c["layer"] == layer]
        if li == 0:
            if not totals:
                continue
            tk = pd.DataFrame({"layer": "all", "area_code": ALL, "month": m["month"].to_numpy(), "crime_type": m["crime_type"].to_numpy()})
        else:
            tk = pd.DataFrame({"layer": layers[0], "area_code": m["parent"].to_numpy(), "month": m["month"].to_numpy(),
                               "crime_type": m["crime_type"].to_numpy()})
        add_groups(m, tk)
    if multi:  # crime types of an area
        m = c[c["crime_type"] != ALL]
        add_groups(m, m[["layer", "area_code", "month"]].assign(crime_type=ALL))
    for sname, ms in spans.items():  # months of an area -> its cross-month total
        m = c[c["month"].isin(ms)]
        add_groups(m, m[["layer", "area_code"]].assign(month=sname, crime_type=m["crime_type"].to_numpy()))
    gr = np.concatenate(gm_r) if gm_r else np.zeros(0, np.int64)
    gc = np.concatenate(gm_c) if gm_c else np.zeros(0, np.int64)
    gmem = sparse.csr_matrix((np.ones(len(gr)), (gr, gc)), shape=(len(tot), len(cells)))
    return gmem, tot


def _rank(sys: CellSystem, secret: bytes) -> np.ndarray:
    """A keyed pseudo-random rank per cell: partners are chosen by it, never by size."""
    c = sys.cells
    keys = (c["layer"] + "|" + c["area_code"] + "|" + c["month"] + "|" + c["crime_type"]).to_numpy()
    return np.fromiter((int.from_bytes(hashlib.blake2b(k.encode(), key=secret[:64], digest_size=8).digest(), "little")
                        for k in keys), dtype=np.uint64, count=len(keys))


def _complement(sys: CellSystem, supp: np.ndarray, rank: np.ndarray, counts: np.ndarray) -> int:
    """Group rule to a fixed point (every group: 0 or >= 2 suppressed). Returns cells added.

    ``counts``: cell counts with cells that may not be picked (already public) set to 0."""
    gm = sys.group_members
    tot = sys.group_total
    added = 0
    while True:
        n = gm @ supp.astype(float) + supp[tot]
        one = np.flatnonzero(n == 1)
        if len(one) == 0:
            return added
        changed = False
        for g in one:
            members = gm.indices[gm.indptr[g]:gm.indptr[g + 1]]
            if int(supp[members].sum()) + int(supp[tot[g]]) != 1:
                continue  # an earlier pick this pass already fixed it
            cand = members[~supp[members] & (counts[members] > 0)]
            if len(cand):
                pick = cand[np.argmax(rank[cand])]
            elif not supp[tot[g]] and counts[tot[g]] > 0:
                pick = tot[g]
            else:
                continue  # lone suppressed cell among zeros: the audit protects it through other groups
            supp[pick] = True
            added += 1
            changed = True
        if not changed:
            return added


def audit_intervals(
    a_eq: sparse.csr_matrix,
    b_eq: np.ndarray,
    targets: sparse.csr_matrix,
    t_rhs: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    need: float,
    *,
    ge1: bool = True,
    seed: int = 0,
    todo: np.ndarray | None = None,
    x_true: np.ndarray | None = None,
    screens: int = 8,
    max_exact: int = 40,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Feasible intervals of target functionals over {lower <= x <= upper, a_eq x = b_eq, targets x >= 1 - t_rhs}.

    The value of target i is ``targets[i] @ x + t_rhs[i]``. Only targets in ``todo`` (default all) are
    audited; each is proven ``hi - lo >= need`` by feasible points (``x_true``, then LPs that push
    every open target toward its less explored side at once) or, when at most ``max_exact`` remain
    open, gets exact min/max (one target per independent block per LP, all blocks in one LP).
    Returns ``(lo, hi, n_lps)``: values seen at feasible points, so ``hi - lo`` is a lower bound on the
    width, exact for targets that got exact LPs. A target whose seen width is below ``need`` is
    treated as failing by the caller (conservative: it may be wider).
    """
    nt, n = targets.shape
    lo = np.full(nt, np.nan)
    hi = np.full(nt, np.nan)
    todo = np.arange(nt) if todo is None else np.asarray(todo)
    if len(todo) == 0:
        return lo, hi, 0
    # unknowns that matter: those in audited targets' blocks
    todo, comp, tcomp = _audit_blocks(a_eq, targets, t_rhs, todo, lo, hi)
    if len(todo) == 0:
        return lo, hi, 0
    keep_c = np.isin(comp, np.unique(tcomp[todo]))
    cols = np.flatnonzero(keep_c)
    ae, be, tg, ub_rows, aub, bub, bounds = _audit_lp(a_eq, b_eq, targets, t_rhs, lower, upper, cols, ge1)
    n_lp = 0

    def solve(c: np.ndarray) -> np.ndarray:
        nonlocal n_lp
        n_lp += 1
        r = linprog(c, A_ub=aub if ge1 and len(ub_rows) else None, b_ub=bub if ge1 and len(ub_rows) else None,
                    A_eq=ae if ae.shape[0] else None, b_eq=be if ae.shape[0] else None, bounds=bounds, method="highs")
        if r.status != 0:
            raise PublishError(f"suppression audit LP failed ({r.message}): the published figures (with earlier "
                               "releases) are inconsistent; a month published before must be re-published from the same data")
        return r.x

    tt = tg[todo]
    # the true table is one feasible point: no LP needed to see it
    x0 = np.zeros(len(cols)) if x_true is None else np.asarray(x_true, float)[cols]
    v0 = tt @ x0 + t_rhs[todo]
    seen_lo, seen_hi = v0.copy(), v0.copy()

    def see(x: np.ndarray) -> None:
        v = tt @ x + t_rhs[todo]
        np.minimum(seen_lo, v, out=seen_lo)
        np.maximum(seen_hi, v, out=seen_hi)

    def still_open() -> np.ndarray:
        return seen_hi - seen_lo < need - 1e-7

    rng = np.random.default_rng(seed)
    s = np.asarray(tt.sum(axis=0)).ravel()
    see(solve(s))
    see(solve(-s))
    # push every open target toward its less explored side, all at once (random weights)
    for _ in range(screens):
        op = still_open()
        if not op.any():
            break
        d = np.where(seen_hi - v0 < v0 - seen_lo, -1.0, 1.0) * rng.uniform(0.5, 1.5, len(todo)) * op
        see(solve(-np.asarray(tt.T @ d).ravel()))
        op2 = still_open()
        d = np.where(op2, -d, 0.0)  # and the other way
        if op2.any():
            see(solve(-np.asarray(tt.T @ d).ravel()))
    open_ = still_open()
    if _DEBUG:
        print("audit: targets", len(todo), "open after screening", int(open_.sum()), "lps", n_lp)
    if open_.sum() <= max_exact:
        _exact_extremes(solve, see, still_open, tt, tcomp[todo], t_rhs[todo], seen_lo, seen_hi, open_)
    # targets still open are reported with the range seen: narrower than ``need`` (conservative)
    lo[todo], hi[todo] = seen_lo, seen_hi
    return lo, hi, n_lp


def _audit_blocks(a_eq: sparse.csr_matrix, targets: sparse.csr_matrix, t_rhs: np.ndarray, todo: np.ndarray,
                  lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent blocks of unknowns (linked by equalities or targets) and each target's block (-1: constant).

    Constant audited targets get ``lo = hi = t_rhs`` (in place); returns the audited targets left, the block
    of each unknown and of each target.
    """
    nt = targets.shape[0]
    link = sparse.vstack([a_eq, targets]).tocsr()
    adj = link.T @ link
    _, comp = connected_components(adj, directed=False)
    tcomp = np.array([comp[targets.indices[targets.indptr[i]]] if targets.indptr[i + 1] > targets.indptr[i] else -1
                      for i in range(nt)])
    const = tcomp < 0
    lo[const & np.isin(np.arange(nt), todo)] = t_rhs[const & np.isin(np.arange(nt), todo)]
    hi[const & np.isin(np.arange(nt), todo)] = t_rhs[const & np.isin(np.arange(nt), todo)]
    todo = todo[~const[todo]]
    return todo, comp, tcomp


def _audit_lp(a_eq: sparse.csr_matrix, b_eq: np.ndarray, targets: sparse.csr_matrix, t_rhs: np.ndarray,
              lower: np.ndarray, upper: np.ndarray, cols: np.ndarray, ge1: bool) -> tuple[Any, ...]:
    """The audit LP restricted to the unknowns ``cols``: equalities ``ae x = be``, targets ``tg``, the ``>= 1``
    rows not implied by bounds (``ub_rows``, as ``aub x <= bub``) and the bounds of each unknown."""
    row_live = lambda m: np.asarray(abs(m[:, cols]).sum(axis=1)).ravel() > 0  # noqa: E731
    ae = a_eq[:, cols]
    lr = row_live(a_eq)
    ae, be = ae[lr], b_eq[lr]
    tg = targets[:, cols].tocsr()
    lb = lower[cols].astype(float).copy()
    ub_rows = np.flatnonzero(row_live(targets)) if ge1 else np.zeros(0, int)
    if ge1 and len(ub_rows):
        # ">= 1" on a one-unknown cell is a bound; a row holding an unknown already >= its need is implied
        need1 = 1.0 - t_rhs[ub_rows]
        nnz = np.diff(tg.indptr)[ub_rows]
        one = ub_rows[nnz == 1]
        j = tg.indices[tg.indptr[one]]
        np.maximum.at(lb, j, 1.0 - t_rhs[one])
        multi = ub_rows[nnz > 1]
        sub = tg[multi]
        rowmax = np.zeros(len(multi))
        if sub.nnz:
            np.maximum.at(rowmax, np.repeat(np.arange(len(multi)), np.diff(sub.indptr)), lb[sub.indices])
        ub_rows = multi[rowmax < 1.0 - t_rhs[multi] - 1e-9]
        del need1
    aub = (-tg[ub_rows]) if ge1 else None
    bub = (t_rhs[ub_rows] - 1.0) if ge1 else None
    bounds = np.c_[lb, np.maximum(np.minimum(upper[cols], _CAP), lb)]
    return ae, be, tg, ub_rows, aub, bub, bounds


def _exact_extremes(solve: Callable[[np.ndarray], np.ndarray], see: Callable[[np.ndarray], None],
                    still_open: Callable[[], np.ndarray], tt: sparse.csr_matrix, tc: np.ndarray, rhs: np.ndarray,
                    seen_lo: np.ndarray, seen_hi: np.ndarray, open_: np.ndarray) -> None:
    """Exact min and max of the ``open_`` targets (values ``tt @ x + rhs``, block ``tc``), into ``seen_lo``/``seen_hi``."""
    for direction in (1.0, -1.0):
        pending = open_.copy()
        while pending.any():
            # one pending target per block, all blocks in one LP (blocks are independent)
            _, first = np.unique(tc[pending], return_index=True)
            pick = np.flatnonzero(pending)[first]
            x = solve(direction * np.asarray(tt[pick].sum(axis=0)).ravel())
            see(x)
            v = tt[pick] @ x + rhs[pick]
            if direction > 0:
                seen_lo[pick] = v
            else:
                seen_hi[pick] = v
            pending[pick] = False
            pending &= still_open()
        open_ = still_open()


def suppress(
    sys: CellSystem,
    threshold: int,
    *,
    complementary: bool = True,
    audit: bool = True,
    atom_lower: np.ndarray | None = None,
    atom_upper: np.ndarray | None = None,
    initial: np.ndarray | None = None,
    secret: bytes = b"",
    max_rounds: int = 500,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Suppression flags per cell of ``sys`` and a summary.

    ``atom_lower``/``atom_upper``: what the published point counts tell the reader about an atom
    when none of its cells is suppressed (its points are then published); atoms in a suppressed
    cell have their points withheld and get ``0 .. inf``.
    ``initial``: cells suppressed from the start (e.g. suppressed in an earlier release).
    ``sys.fixed``: cells already public (earlier releases): never suppressed, always equations.
    ``secret``: key for choosing partners (never published).
    """
    counts = sys.cells["count"].to_numpy()
    fixed = sys.fixed if len(sys.fixed) == len(counts) else np.zeros(len(counts), bool)
    primary = (counts >= 1) & (counts < threshold) & ~fixed
    supp = primary.copy() if initial is None else (primary | (np.asarray(initial, bool) & (counts > 0)))
    counts_pick = np.where(fixed, 0, counts)  # fixed cells are never picked as partners
    info: dict[str, Any] = {"primary": int(primary.sum()), "complementary": 0, "audit_rounds": 0, "audit_lps": 0,
                            "audit_min_width": None, "audit_cells_reaudited": 0}
    if not complementary:
        return supp, info
    rank = _rank(sys, secret)
    rank[fixed] = 0
    _complement(sys, supp, rank, counts_pick)
    if not audit or not supp.any():
        info["complementary"] = int(supp.sum() - primary.sum())
        return supp, info
    n_atoms = sys.incidence.shape[1]
    lower = np.zeros(n_atoms) if atom_lower is None else np.asarray(atom_lower, float)
    upper = np.full(n_atoms, np.inf) if atom_upper is None else np.asarray(atom_upper, float)
    inc = sys.incidence.tocsr()
    gm = sys.group_members.tocsr()
    gmT = gm.T.tocsr()
    tot = sys.group_total
    proven = np.zeros(len(counts), bool)  # suppressed cells proven wide: stay proven (monotone)
    widths = []
    for rnd in range(max_rounds):
        info["audit_rounds"] = rnd + 1
        lo, hi, n_lp, sidx = _audit_once(inc, counts, supp & ~fixed, lower, upper, threshold, proven,
                                          sys.atom_values)
        info["audit_lps"] += n_lp
        info["audit_cells_reaudited"] += int(np.isfinite(lo).sum())
        width = hi - lo
        done = np.isfinite(width)
        ok = done & (width >= threshold - 1e-7)
        proven[sidx[ok]] = True
        widths.extend(width[ok].tolist())  # seen widths of the cells proven wide (lower bounds)
        fail = sidx[done & ~ok]
        if len(fail) == 0:
            break
        n_before = int(supp.sum())
        frontier = set(int(i) for i in fail)
        seen: set[int] = set(frontier)
        while int(supp.sum()) == n_before and frontier:
            nxt: set[int] = set()
            for p in sorted(frontier):
                groups = list(gmT.indices[gmT.indptr[p]:gmT.indptr[p + 1]]) + list(np.flatnonzero(tot == p))
                for g in groups:
                    members = gm.indices[gm.indptr[g]:gm.indptr[g + 1]]
                    allc = np.r_[members, tot[g]]
                    # a partner among the members (same level) first; the group total only if none is left
                    cand = members[~supp[members] & (counts_pick[members] > 0)]
                    if not len(cand) and not supp[tot[g]] and counts_pick[tot[g]] > 0:
                        cand = tot[g:g + 1]
                    if len(cand):
                        supp[cand[np.argmax(rank[cand])]] = True
                    else:
                        nxt.update(int(c) for c in allc[supp[allc]] if int(c) not in seen)
            seen |= nxt
            frontier = nxt
        if int(supp.sum()) == n_before:
            c = sys.cells.iloc[int(fail[0])]
            raise PublishError(
                f"a suppressed cell cannot be protected ({c['layer']} {c['area_code']} {c['month']} {c['crime_type']}: "
                "every non-zero cell around it is suppressed): publish fewer tables or a lower threshold")
        _complement(sys, supp, rank, counts_pick)
        proven &= supp
    else:
        raise PublishError("suppression audit did not converge: publish fewer tables or a higher threshold")
    info["audit_min_width"] = float(min(widths)) if widths else None
    info["complementary"] = int(supp.sum() - primary.sum())
    return supp, info


def known_atoms(inc: sparse.csr_matrix, counts: np.ndarray, supp: np.ndarray) -> np.ndarray:
    """Atoms whose value the reader knows from the published cells alone (NaN where unknown).

    Known: every atom of a published zero cell (0), and the one atom of a published cell that holds a
    single atom (e.g. a ward cell when the layers nest). Points are published only for known atoms,
    so point counts never tell the reader more about any cell than the tables do.
    """
    pub = ~supp
    known = np.full(inc.shape[1], np.nan)
    zero = np.asarray(inc[pub & (counts == 0)].sum(axis=0)).ravel() > 0
    known[zero] = 0.0
    rows = np.flatnonzero(pub & (np.diff(inc.indptr) == 1))
    known[inc.indices[inc.indptr[rows]]] = counts[rows]
    return known


def _audit_once(inc: sparse.csr_matrix, counts: np.ndarray, supp: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                threshold: int, proven: np.ndarray, x_true: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Intervals of the suppressed cells not yet proven (NaN for proven ones), over the unknown atoms only."""
    pub = ~supp
    # point bounds hold only for atoms whose every cell is published (elsewhere points are withheld)
    touched = np.asarray(inc[supp].sum(axis=0)).ravel() > 0
    lower = np.where(touched, 0.0, lower)
    upper = np.where(touched, np.inf, upper)
    # atoms known to the reader: in a published zero cell (0), alone in a published cell, or pinned by bounds
    known = known_atoms(inc, counts, supp)
    fixed_b = np.isfinite(upper) & (upper <= lower)
    known[fixed_b & np.isnan(known)] = lower[fixed_b & np.isnan(known)]
    unk = np.isnan(known)
    kv = np.where(unk, 0.0, known)
    base = inc @ kv
    a = inc[:, unk].tocsr()
    eq = pub & (np.diff(a.indptr) > 0)
    sidx = np.flatnonzero(supp)
    todo = np.flatnonzero(~proven[sidx])
    lo, hi, n_lp = audit_intervals(a[eq], counts[eq] - base[eq], a[sidx], base[sidx], lower[unk], upper[unk],
                                   float(threshold), todo=todo, x_true=x_true[unk])
    return lo, hi, n_lp, sidx
