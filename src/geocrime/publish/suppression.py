"""Small-count suppression with complementary suppression, checked by linear programming.

The published set for ONE month is a system of additive cells over unknown *atoms* (incident counts
per combination of area codes of a map point × crime type):

* London total per crime type (and all types when there are several),
* borough cells (borough × type), summing to the London totals,
* cells of every finer layer (ward, LSOA...) nested in their borough (area × type), summing to the
  borough cell they sit in, and, with several crime types, area all-types totals.

Each additive relation is a *group* (total = sum of members). Rules:

1. primary suppression: a cell with ``1 <= count < threshold`` is suppressed (zeros are published);
2. complementary suppression: every group holds either no suppressed cell or at least two (the
   total counts as a cell of its group); when a group has exactly one, the smallest non-zero
   published member (ties by code) is suppressed too, and so on to a fixed point;
3. audit: the feasible range of every suppressed cell given everything published (all cells,
   the lower bounds the published map point counts put on the atoms, counts >= 0) is solved by
   LP (scipy HiGHS). A cell pinned to one value gets more complementary suppression in its groups,
   and the whole loop repeats until no suppressed cell is pinned.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from ..errors import PublishError

__all__ = ["CellSystem", "suppress", "feasible_ranges"]

ALL = "*"


@dataclass
class CellSystem:
    """Cells (published quantities) as sums of atoms, and the additive groups among the cells.

    ``cells``: DataFrame ``layer, area_code, crime_type, count`` (one row per cell);
    ``incidence``: sparse (n_cells × n_atoms) 0/1 matrix, cell = incidence @ atoms;
    ``groups``: list of (total_cell_index, member_cell_indices array).
    """

    cells: pd.DataFrame
    incidence: sparse.csr_matrix
    atom_values: np.ndarray
    groups: list[tuple[int, np.ndarray]] = field(default_factory=list)


def build_cell_system(
    atoms: pd.DataFrame, layers: list[str], areas: dict[str, pd.DataFrame], crime_types: list[str]
) -> CellSystem:
    """Cells and groups for one month.

    ``atoms``: one row per possible atom with a column per layer (``borough`` first, each finer
    layer's code nested in its borough), ``crime_type`` and ``count``.
    ``areas``: per layer, DataFrame ``area_code, parent`` (parent = borough code; for the borough
    layer parent is ``*``) listing every area of the layer, also those without atoms (zeros).
    """
    multi = len(crime_types) > 1
    tx = list(crime_types) + ([ALL] if multi else [])
    recs: list[tuple[str, str, str, str]] = []  # layer, area, type, parent
    recs += [("all", ALL, t, "") for t in tx]
    for layer in layers:
        a = areas[layer]
        for code, parent in zip(a["area_code"].astype(str), a["parent"].astype(str)):
            recs += [(layer, code, t, parent) for t in tx]
    cells = pd.DataFrame(recs, columns=["layer", "area_code", "crime_type", "parent"])
    key = {(l, a, t): i for i, (l, a, t, _) in enumerate(recs)}
    n_atoms = len(atoms)
    at_type = atoms["crime_type"].astype(str).to_numpy()
    r, c = [], []
    ar = np.arange(n_atoms)
    for t in tx:
        sel = ar if t == ALL else ar[at_type == t]
        r.append(np.full(len(sel), key[("all", ALL, t)]))
        c.append(sel)
        for layer in layers:
            codes = atoms[layer].astype(str).to_numpy()[sel]
            r.append(np.fromiter((key[(layer, a, t)] for a in codes), dtype=np.int64, count=len(codes)))
            c.append(sel)
    rr, cc = np.concatenate(r), np.concatenate(c)
    inc = sparse.csr_matrix((np.ones(len(rr)), (rr, cc)), shape=(len(cells), n_atoms))
    vals = atoms["count"].to_numpy(dtype=float)
    cells["count"] = np.rint(inc @ vals).astype(np.int64)
    groups: list[tuple[int, np.ndarray]] = []
    by = cells.reset_index().groupby(["layer", "parent", "crime_type"], sort=True)["index"].apply(np.asarray)
    for (layer, parent, t), members in by.items():
        if layer == "all":
            continue
        if layer == layers[0]:  # borough layer: total is London
            total = key[("all", ALL, t)]
        else:
            total = key[(layers[0], parent, t)]
        groups.append((total, members))
    if multi:
        for (layer, area), members in cells.reset_index().groupby(["layer", "area_code"])["index"].apply(np.asarray).items():
            tot = key[(layer, area, ALL)]
            groups.append((tot, np.array([m for m in members if m != tot])))
    return CellSystem(cells=cells, incidence=inc, atom_values=vals, groups=groups)


def _complement(sys: CellSystem, supp: np.ndarray) -> int:
    """Group rule to a fixed point. Returns the number of cells added."""
    counts = sys.cells["count"].to_numpy()
    codes = (sys.cells["layer"] + "|" + sys.cells["area_code"] + "|" + sys.cells["crime_type"]).to_numpy()
    added = 0
    changed = True
    while changed:
        changed = False
        for total, members in sys.groups:
            n = int(supp[total]) + int(supp[members].sum())
            if n != 1:
                continue
            # never a zero cell: a suppressed zero next to published zeros is pinned at 0 and hides
            # nothing; with no non-zero member left, the group total is suppressed instead
            cand = members[~supp[members] & (counts[members] > 0)]
            if len(cand):
                pick = cand[np.lexsort((codes[cand], counts[cand]))[0]]
            elif not supp[total]:
                pick = total
            else:
                continue
            supp[pick] = True
            added += 1
            changed = True
    return added


def feasible_ranges(
    a_pub: sparse.spmatrix,
    b_pub: np.ndarray,
    targets: sparse.spmatrix,
    lower: np.ndarray,
    *,
    tol: float = 1e-6,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of each target functional (rows of ``targets``) over {x >= lower, a_pub x = b_pub}.

    A few random objectives first prove most targets are not pinned (their values differ between
    two feasible vertices); only the rest get their own min/max LPs. Returns ``(lo, hi)``; for
    targets proven free by the random solutions, ``lo``/``hi`` are the extremes seen (a lower
    bound on the true width), not the exact optimum.
    """
    n = a_pub.shape[1]
    t = sparse.csr_matrix(targets)
    bounds = np.column_stack([lower, np.full(n, np.inf)])
    if t.shape[0] == 0:
        return np.zeros(0), np.zeros(0)

    def solve(c: np.ndarray) -> np.ndarray | None:
        res = linprog(c, A_eq=a_pub, b_eq=b_pub, bounds=bounds, method="highs")
        if res.status != 0:
            if res.status == 3:  # unbounded: this direction is unbounded (only for max)
                return None
            raise PublishError(f"suppression audit LP failed: {res.message}")
        return res.x

    rng = np.random.default_rng(seed)
    sols = []
    for c in (np.asarray(t.sum(axis=0)).ravel(), -np.asarray(t.sum(axis=0)).ravel()):
        x = solve(c)
        if x is not None:
            sols.append(t @ x)
    for _ in range(4):
        w = rng.uniform(-1, 1, t.shape[0])
        x = solve(np.asarray(t.T @ w).ravel())
        if x is not None:
            sols.append(t @ x)
    vals = np.column_stack(sols)
    lo, hi = vals.min(axis=1), vals.max(axis=1)
    for i in np.flatnonzero(hi - lo <= tol):
        row = t.getrow(i).toarray().ravel()
        x = solve(row)
        lo[i] = row @ x if x is not None else -np.inf
        x = solve(-row)
        hi[i] = row @ x if x is not None else np.inf
    return lo, hi


def _audit(inc: sparse.csr_matrix, counts: np.ndarray, supp: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feasible ranges of the suppressed cells; atoms inside a published zero cell are 0 and dropped."""
    pub = ~supp
    zero_cells = pub & (counts == 0)
    forced0 = np.asarray(inc[zero_cells].sum(axis=0)).ravel() > 0
    keep = ~forced0
    a = inc[pub][:, keep]
    b = counts[pub].astype(float)
    live = np.asarray(a.sum(axis=1)).ravel() > 0
    t = inc[supp][:, keep]
    lo, hi = feasible_ranges(a[live], b[live], t, lower[keep])
    return lo, hi


def suppress(
    sys: CellSystem,
    threshold: int,
    *,
    complementary: bool = True,
    audit: bool = True,
    atom_lower: np.ndarray | None = None,
    initial: np.ndarray | None = None,
    max_rounds: int = 200,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Suppression flags per cell of ``sys`` and a summary.

    ``atom_lower``: lower bounds the attacker has on atoms (e.g. from published point counts).
    """
    counts = sys.cells["count"].to_numpy()
    primary = (counts >= 1) & (counts < threshold)
    supp = primary.copy() if initial is None else (primary | np.asarray(initial, bool))
    info: dict[str, Any] = {"primary": int(primary.sum()), "complementary": 0, "audit_rounds": 0,
                            "audit_pinned_fixed": 0, "audit_min_width": None, "audit_lps": 0}
    if not complementary:
        return supp, info
    _complement(sys, supp)
    if audit and supp.any():
        lower = np.zeros(sys.incidence.shape[1]) if atom_lower is None else np.asarray(atom_lower, float)
        cell_groups: dict[int, list[int]] = {}
        for gi, (total, members) in enumerate(sys.groups):
            for c in (total, *members.tolist()):
                cell_groups.setdefault(int(c), []).append(gi)
        for rnd in range(max_rounds):
            info["audit_rounds"] = rnd + 1
            lo, hi = _audit(sys.incidence, counts, supp, lower)
            width = hi - lo
            info["audit_min_width"] = float(width.min()) if len(width) else None
            sidx = np.flatnonzero(supp)
            pinned_all = sidx[width <= 1e-6]
            # a suppressed cell pinned at 0 or at >= threshold discloses nothing small: it stays
            # suppressed (never published: publishing it would add an equation for later rounds) and
            # needs no protection; cells pinned at 1..threshold-1 get more suppression around them.
            # Suppression only ever grows, so the loop ends.
            pinned = pinned_all[(counts[pinned_all] >= 1) & (counts[pinned_all] < threshold)]
            info["audit_pinned_harmless"] = int(len(pinned_all) - len(pinned))
            if len(pinned) == 0:
                break
            info["audit_pinned_fixed"] += len(pinned)
            pinned_set = set(int(i) for i in pinned_all)
            queue = [int(i) for i in pinned]
            seen = set(queue)
            n_before = int(supp.sum())
            while queue:
                p = queue.pop(0)
                added = False
                for gi in cell_groups.get(p, ()):
                    total, members = sys.groups[gi]
                    cand = members[~supp[members] & (counts[members] > 0)]
                    if len(cand):
                        supp[cand[np.argmin(counts[cand])]] = True
                        added = True
                    elif not supp[total] and counts[total] > 0:
                        supp[total] = True
                        added = True
                if added:
                    continue
                # any published cell sharing an incident with it (other layers, totals)
                atoms_p = sys.incidence[p].indices
                share = np.flatnonzero(np.asarray(sys.incidence[:, atoms_p].sum(axis=1)).ravel() > 0)
                free = share[~supp[share]]
                if len(free):
                    nz = free[counts[free] > 0]
                    pool = nz if len(nz) else free
                    supp[pool[np.argmin(counts[pool])]] = True
                    continue
                # every cell around it is suppressed but some are pinned (large totals fixed by
                # their other equations): protect those in turn
                more = [int(c) for c in share if int(c) in pinned_set and int(c) not in seen]
                seen.update(more)
                queue.extend(more)
            if int(supp.sum()) == n_before:
                c = sys.cells.iloc[int(pinned[0])]
                raise PublishError(
                    f"a suppressed cell cannot be protected ({c['layer']} {c['area_code']} {c['crime_type']}: "
                    "every cell sharing its incidents is already suppressed): publish fewer layers")
            _complement(sys, supp)
        else:
            raise PublishError("suppression audit did not converge: publish fewer layers or a higher threshold")
    info["complementary"] = int(supp.sum() - primary.sum())
    return supp, info
