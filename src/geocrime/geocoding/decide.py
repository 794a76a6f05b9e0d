"""The premises decision: best candidate, runner-up (the best *other* premises), vetoes, accept or not.

A premises is accepted when its score >= ``threshold``, it leads the runner-up by >= ``margin``,
and no veto level holds (``FLAT.mismatch``, ``HOUSE_NUMBER.suffix_mismatch`` / ``.mismatch``:
a wrong flat never wins over an abstention; ``PLACE.conflict``: never a candidate outside every
borough the text names or outside ``within=``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from . import compare as _scoring
from .area_confidence import _gaz_texts, _segmax
from .params import SAME_ADDRESS_M, SAME_PREMISES_M

#: (family, level) pairs that veto a premises match whatever else agrees
VETOES = (("FLAT", "mismatch"), ("HOUSE_NUMBER", "suffix_mismatch"), ("HOUSE_NUMBER", "mismatch"),
          ("PLACE", "conflict"))


@dataclass
class Decision:
    """Per query: ``best`` score, ``bpair`` (pair index of the best, -1 none), ``runner`` (best
    other premises' score), ``lead``, ``has`` (any candidate), ``veto``, ``conflict`` (the best is
    a place conflict), ``accept``, ``ambiguous`` (a near-tie above threshold), ``bgi`` (gazetteer
    row of the best, -1), ``ncand``."""

    best: np.ndarray
    bpair: np.ndarray
    runner: np.ndarray
    lead: np.ndarray
    has: np.ndarray
    veto: np.ndarray
    fn_veto: np.ndarray
    conflict: np.ndarray
    accept: np.ndarray
    ambiguous: np.ndarray
    bgi: np.ndarray
    ncand: np.ndarray
    #: accepted by the scores but withdrawn: the street name is several streets in the allowed area
    street_elsewhere: np.ndarray | None = None
    #: accepted by the scores but withdrawn: far from the postcode unit the record gives
    off_postcode: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.street_elsewhere is None:
            self.street_elsewhere = np.zeros(len(self.best), dtype=bool)
        if self.off_postcode is None:
            self.off_postcode = np.zeros(len(self.best), dtype=bool)


def _tied_query_texts(qs: dict, qi: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """Building name + street text of the query of each ``tied`` pair, joined once per distinct query
    (a query's tied candidates share its text); ``qs``: the per-pair views of the query fields."""
    cols = ("bname", "street")
    if not all(isinstance(qs[c], _scoring._Col) for c in cols):
        return _scoring.join_fields(qs, cols, tied)
    uq, inv = np.unique(qi[tied], return_inverse=True)
    return _scoring.join_fields({c: qs[c].src for c in cols}, cols, uq)[inv.ravel()]


def _rank(qi: np.ndarray, gi: np.ndarray, s: np.ndarray, qs: dict, gaz: Any, n: int) -> np.ndarray:
    """Pair index of each query's best candidate (-1 none): best score first; a tie broken by the
    closer building name + street text, then by entry row (stable; a tie of different places is
    reported as ambiguous by the runner-up rule)."""
    npair = len(qi)
    top = _segmax(qi, s, n)
    tie_txt = np.zeros(npair, dtype=np.float32)
    tied = s == top[qi]
    tied &= np.bincount(qi[tied], minlength=n)[qi] > 1
    if tied.any():
        qt = _tied_query_texts(qs, qi, tied)
        tie_txt[tied] = process.cpdist(qt.tolist(), _gaz_texts(gaz)["bs"][gi[tied]].tolist(),
                                       scorer=fuzz.token_sort_ratio, workers=1)
    # one int64 sort key (query, score, tie text, entry): scores are multiples of 0.5 in
    # [-128, 128), the tie text a ratio 0-100, entry rows < 2**27
    s2 = np.clip(np.round(s.astype(np.float64) * 2), -255, 255).astype(np.int64) + 256
    key = (qi.astype(np.int64) << 44) | ((511 - s2) << 35) | ((127 - np.round(tie_txt).astype(np.int64)) << 28) | gi.astype(np.int64)
    fits = len(gaz) < (1 << 28) and n < (1 << 19) and bool(np.all(s2 == s.astype(np.float64) * 2 + 256))
    # the keys are distinct (entry rows within a query are) and arrive grouped by query: a merge
    # sort is faster here than the default and gives the same order
    order = np.argsort(key, kind="stable") if fits else np.lexsort((gi, -tie_txt, -s, qi))
    first = order[np.r_[True, qi[order][1:] != qi[order][:-1]]]
    bpair = np.full(n, -1, dtype=np.int64)
    bpair[qi[first]] = first
    return bpair


def _same_premises(qi: np.ndarray, gi: np.ndarray, gv: dict, bp: np.ndarray, gaz: Any) -> np.ndarray:
    """Pairs that are the best candidate's own premises written another way: within
    SAME_PREMISES_M with the same flat and number suffix (or SAME_ADDRESS_M with the same address)."""
    dist = np.hypot(gaz.x[gi] - gaz.x[gi[bp]], gaz.y[gi] - gaz.y[gi[bp]])
    same_addr = (gv["hn_num"] == gv["hn_num"][bp]) & (gv["hn_end"] == gv["hn_end"][bp]) & \
                (gv["street"] == gv["street"][bp]) & \
                ((gv["bname"] == gv["bname"][bp]) |
                 # a numbered address written with and without its building / business name
                 ((gv["hn_num"] >= 0) & ((gv["bname"] == 0) | (gv["bname"][bp] == 0))))
    same = (gv["hn_suf"] == gv["hn_suf"][bp]) & (gv["flat"] == gv["flat"][bp]) & \
           ((dist <= SAME_PREMISES_M) | (same_addr & (dist <= SAME_ADDRESS_M)))
    # without a house number the building name is the address: "Gate 1" and "Gate 10" on one street
    # are two places however close; "The New Den" / "Millwall Football Club The New Den" one place
    nb = same & (gv["hn_num"] < 0) & (gv["bname"] != gv["bname"][bp])
    if nb.any():
        a, b = gaz.k["bname"][gi[nb]], gaz.k["bname"][gi[bp[nb]]]
        inside = (a != "") & (b != "")
        if inside.any():
            inside[inside] = process.cpdist(a[inside].tolist(), b[inside].tolist(), scorer=fuzz.token_set_ratio,
                                            workers=1) >= 100
        same[np.flatnonzero(nb)[~inside]] = False
    return same


def decide(qi: np.ndarray, gi: np.ndarray, pairs: dict[str, Any], gaz: Any, n: int, threshold: float,
           margin: float) -> Decision:
    """The premises decision for every query (see the module docstring)."""
    s, codes = pairs["s"], pairs["codes"]
    npair = len(qi)
    best = np.full(n, -np.inf, dtype=np.float64)
    runner = np.full(n, -np.inf, dtype=np.float64)
    ncand = np.bincount(qi, minlength=n) if npair else np.zeros(n, np.int64)
    bpair = np.full(n, -1, dtype=np.int64)
    if npair:
        bpair = _rank(qi, gi, s, pairs["qs"], gaz, n)
        has_ = bpair >= 0
        best[has_] = s[bpair[has_]]
        other = ~_same_premises(qi, gi, pairs["gv"], bpair[qi], gaz)
        if other.any():
            runner = np.maximum(runner, _segmax(qi[other], s[other], n).astype(np.float64))
    has = bpair >= 0
    with np.errstate(invalid="ignore"):
        lead = best - runner
    veto = np.zeros(n, dtype=bool)
    fn_veto = np.zeros(n, dtype=bool)
    conflict = np.zeros(n, dtype=bool)
    if npair:
        bp_ = np.maximum(bpair, 0)
        for fam, lv in VETOES:
            hit = has & (codes[fam][bp_] == _scoring.LEVELS[fam].index(lv))
            veto |= hit
            if fam != "PLACE":
                fn_veto |= hit
            else:
                # a place conflict is the reason only when the place is all that stopped the match
                conflict = hit & (best - _scoring.WEIGHTS["PLACE"][_scoring.LEVELS["PLACE"].index(lv)] >= threshold)
    accept = has & (best >= threshold) & (lead >= margin) & ~veto
    ambiguous = has & (best >= threshold) & (lead < margin) & ~conflict
    bgi = np.where(has, gi[np.maximum(bpair, 0)] if npair else -1, -1)
    return Decision(best, bpair, runner, lead, has, veto, fn_veto, conflict, accept, ambiguous, bgi, ncand)
