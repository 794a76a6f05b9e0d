"""Blocking and comparison: candidate pairs for each query and their per-family comparison levels.

:func:`retrieve` looks the query's blocking keys up in the gazetteer's index (never the whole
gazetteer); :func:`compare_pairs` puts every candidate pair in one level per family
(:data:`geocrime.geocoding.compare.COMPARISON_LEVELS`) and scores it; a pair outside the places the
text names (or outside ``within=``) is put in ``PLACE.conflict``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..gazetteer.keys import block_keys
from . import compare as _scoring
from .area_confidence import _gaz_texts, _segmax

_TEXT_FIELDS = ("street", "bname", "place", "place2", "flat")


def query_fields(qc: pd.DataFrame) -> dict[str, Any]:
    """The canonical components of the queries: numbers as int arrays, the texts compared as text
    (:data:`_TEXT_FIELDS`) as object arrays, the others (postcode parts, number suffix: only their
    codes are compared) as the ``str`` Series of ``qc`` (factorised in C++, no Python strings)."""
    return {c: (qc[c].to_numpy() if c in ("hn_num", "hn_end")
                else qc[c].to_numpy(dtype=object) if c in _TEXT_FIELDS else qc[c].reset_index(drop=True))
            for c in qc.columns}


def retrieve(qc: pd.DataFrame, ok: np.ndarray, gaz: Any) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs ``(qi, gi)`` (query row, gazetteer row; sorted by query) of the queries ``ok``."""
    sel = np.flatnonzero(ok)
    pos, keys = block_keys(qc.iloc[sel], gazetteer_side=False)
    return gaz.index.lookup(sel[pos], keys)


def _coded(q: dict[str, np.ndarray], qi: np.ndarray, gi: np.ndarray, gaz: Any) -> tuple[dict, dict]:
    """Per pair, the query's and the entry's integer-coded fields (one vocabulary per field)."""
    qv, gv = {}, {}
    for c, v in q.items():
        if c in gaz.kcode:
            # looked up once per distinct value (faster than get_indexer on the whole object column)
            pos, uniq = pd.factorize(v, use_na_sentinel=False)
            uniq = np.asarray(uniq, dtype=object)
            ucode = gaz.vocab[c].get_indexer(uniq).astype(np.int32)
            ucode[(ucode < 0) & (uniq == "")] = 0
            qcode = ucode[pos]
            qv[c], gv[c] = qcode[qi], gaz.kcode[c][gi]
        elif c in ("hn_num", "hn_end"):
            qv[c], gv[c] = v[qi], gaz.k[c][gi]
    return qv, gv


def compare_pairs(q: dict[str, np.ndarray], qi: np.ndarray, gi: np.ndarray, gaz: Any, n: int, threshold: float,
                  margin: float, conflict: np.ndarray | None = None,
                  outside: np.ndarray | None = None) -> dict[str, Any]:
    """Comparison levels (``codes``: family -> level code per pair), scores (``s``), the per-pair
    texts (``qs``) and coded entry fields (``gv``) of the candidate pairs. ``conflict``: pairs in
    ``PLACE.conflict`` by the text's place words (see :mod:`geocrime.geocoding.places`); an exact postcode
    unit in the text overrides them. ``outside``: pairs outside the caller's ``within=`` area, always in
    ``PLACE.conflict`` (a force's own area is not overridden by anything the text says)."""
    qv, gv = _coded(q, qi, gi, gaz)
    qs = _scoring.gathered(q, qi, _TEXT_FIELDS)  # gathered per pair only where a comparison needs the text
    gs = _scoring.gathered(gaz.k, gi, _TEXT_FIELDS)
    codes = _scoring.compare(qv, gv, qs, gs, _gaz_texts(gaz), gi, qi, _scoring._lengths(q["street"]))
    s = _scoring.score(codes)
    if len(qi):
        codes, s = _in_text(codes, s, q, qi, gi, gaz, n, threshold, margin)
    if conflict is not None and conflict.any():
        # a postcode unit written in the text places the entry better than its place words do
        conflict = conflict & (codes["POSTCODE"] != _scoring.LEVELS["POSTCODE"].index("exact"))
    if outside is not None:
        conflict = outside if conflict is None else (conflict | outside)
    if conflict is not None and conflict.any():
        codes["PLACE"] = codes["PLACE"].copy()
        codes["PLACE"][conflict] = _scoring.LEVELS["PLACE"].index("conflict")
        s = _scoring.score(codes, conflict, s)  # only the pairs put in conflict change
    return {"codes": codes, "s": s, "qs": qs, "gv": gv}


def _in_text(codes: dict, s: np.ndarray, q: dict, qi: np.ndarray, gi: np.ndarray, gaz: Any, n: int,
             threshold: float, margin: float) -> tuple[dict, np.ndarray]:
    """Building + street compared as one text where the split differs, for the pairs that could then
    reach the threshold and the best candidate's neighbourhood."""
    gain = _scoring.in_text_gain(codes)
    top0 = _segmax(qi, s, n)
    want = (gain > 0) & (s + gain >= np.maximum(threshold, top0[qi] - margin))
    if not want.any():
        return codes, s
    uq = np.unique(qi[want])  # the query texts only for the queries concerned
    qt = _scoring.record_texts({c: q[c][uq] for c in ("bname", "street", "place", "place2")})
    qmap = np.full(n, -1, dtype=np.int64)
    qmap[uq] = np.arange(len(uq))
    codes = _scoring.in_text(codes, qt, _gaz_texts(gaz), np.where(want, qmap[qi], 0), gi, want)
    return codes, _scoring.score(codes, want, s)  # in_text changes the pairs ``want`` only
