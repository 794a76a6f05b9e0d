"""Ward / LSOA codes of a match with their probability, from the candidates' scores and areas.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import compare as _scoring
from .params import AREA_WINDOW, UNIT_AREA_CONFIDENCE


# ---------------------------------------------------------------------------------------- areas
def _joined(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    out = df[cols[0]].astype("str")
    for c in cols[1:]:
        out = out + "|" + df[c].astype("str")
    return out


def _area_tables(gaz: Any, boundaries: Any) -> dict[str, Any]:
    """Per gazetteer row: ward/LSOA code (int category codes) and, for aggregate rows, the share of
    their members in that area; cached on the gazetteer per boundaries object."""
    key = ("tables", id(boundaries))
    memo = getattr(gaz, "memo", None)
    if callable(memo):  # the public Gazetteer.memo
        return memo(key, lambda: _build_area_tables(gaz, boundaries))
    cache = gaz._areas_cache
    if key not in cache:
        cache[key] = _build_area_tables(gaz, boundaries)
    return cache[key]


def _build_area_tables(gaz: Any, boundaries: Any) -> dict[str, Any]:
    codes = gaz.area_codes(boundaries)
    t = gaz.table
    out: dict[str, Any] = {}
    for kind, arr in codes.items():
        cats, inv = np.unique(np.where(pd.isna(arr), "", arr).astype(str), return_inverse=True)
        share = np.ones(len(t), dtype=np.float32)
        lv = gaz.level
        # postcode aggregates: share of their units in the aggregate point's area
        grp = {"postcode_sector": ["k_pc_sector"], "postcode_district": ["k_pc_district"], "postcode_area": ["k_pc_area"]}
        for level, cols in grp.items():
            mem = t[lv == "postcode_unit"]
            if not len(mem):
                continue
            mk = _joined(mem, cols)
            cnt = pd.DataFrame({"k": mk.to_numpy(), "a": inv[mem.index.to_numpy()]}).value_counts()
            tot = cnt.groupby(level=0).sum()
            rows = t[lv == level]
            rk = _joined(rows, cols)
            idx = pd.MultiIndex.from_arrays([rk.to_numpy(), inv[rows.index.to_numpy()]])
            num = cnt.reindex(idx).to_numpy(dtype=float)
            den = tot.reindex(rk.to_numpy()).to_numpy(dtype=float)
            sh = np.where(np.isfinite(num) & (den > 0), num / np.where(den > 0, den, 1), np.nan)
            share[rows.index.to_numpy()] = np.where(np.isfinite(sh), sh, 0.5)
        share[lv == "postcode_unit"] = UNIT_AREA_CONFIDENCE
        inv = inv.astype(np.int32)
        _street_areas(gaz, inv, share)
        out[kind] = (cats, inv, share)
    return out


def _street_areas(gaz: Any, inv: np.ndarray, share: np.ndarray) -> None:
    """Street rows (in place on ``inv``/``share``): the area most of the whole physical street's
    member points (postcode units and premises of every row of the street) lie in, with that share:
    the probability the record lies there, its points taken as equally likely."""
    from .ladder import street_members

    rows = np.flatnonzero(gaz.level == "street")
    m = street_members(rows, gaz)
    if not len(m):
        return
    cnt = pd.DataFrame({"i": m["i"].to_numpy(), "a": inv[m["point_row"].to_numpy()]}).value_counts().reset_index(name="c")
    top = cnt.assign(s=cnt["c"] / cnt.groupby("i")["c"].transform("sum")) \
        .sort_values(["i", "c", "a"], ascending=[True, False, True]).drop_duplicates("i")
    r = rows[top["i"].to_numpy()]
    inv[r] = top["a"].to_numpy()
    share[r] = top["s"].to_numpy()


def _segmax(qi: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Per query, the maximum of ``v`` over its pairs (``qi`` sorted ascending; -inf without pairs)."""
    out = np.full(n, -np.inf, dtype=np.float32)
    if len(qi):
        starts = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        out[qi[starts]] = np.maximum.reduceat(v, starts)
    return out


def _gaz_texts(gaz: Any) -> dict[str, np.ndarray]:
    """:func:`geocrime.geocoding.compare.record_texts` of every gazetteer entry, computed once (cached on the
    gazetteer; built before workers fork)."""
    def build() -> dict[str, np.ndarray]:
        f = {c: gaz.k[c] for c in ("bname", "street", "place", "place2")}
        return {**_scoring.record_texts(f), **_scoring.entry_texts(f)}

    memo = getattr(gaz, "memo", None)
    if callable(memo):  # the public Gazetteer.memo
        return memo("texts", build)
    cache = gaz._areas_cache
    if "texts" not in cache:
        cache["texts"] = build()
    return cache["texts"]


def _candidate_area(qi: np.ndarray, gi: np.ndarray, s: np.ndarray, best: np.ndarray, inv: np.ndarray, nq: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Modal area category and its probability from the candidate scores (2**(score - best),
    normalised over candidates within :data:`AREA_WINDOW` of the best)."""
    use = s >= best[qi] - AREA_WINDOW
    qi, gi, s = qi[use], gi[use], s[use]
    w = np.exp2((s - best[qi]).astype(np.float64))
    tot = np.bincount(qi, weights=w, minlength=nq)
    a = inv[gi]
    df = pd.DataFrame({"q": qi, "a": a, "w": w}).groupby(["q", "a"], sort=False)["w"].sum().reset_index()
    df = df.sort_values(["q", "w"], ascending=[True, False]).drop_duplicates("q")
    cat = np.full(nq, -1, dtype=np.int64)
    prob = np.full(nq, np.nan)
    cat[df["q"].to_numpy()] = df["a"].to_numpy()
    prob[df["q"].to_numpy()] = df["w"].to_numpy() / tot[df["q"].to_numpy()]
    return cat, prob


