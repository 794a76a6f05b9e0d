"""The review file: rows an analyst should look at, just below the acceptance rule.

A row goes to review when it was placed with a ``match_probability`` below :data:`REVIEW_BELOW`, or
when it was not placed at premises although its best premises candidate scored within
:data:`REVIEW_WINDOW` points of the threshold, or its reason is one an analyst can settle by reading
the record (``ambiguous``, ``ambiguous_street``, ``place_conflict``, ``postcode_disagrees``).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .params import DEFAULT_THRESHOLD

#: placed rows less likely right than this go to review
REVIEW_BELOW = 0.95
#: unplaced-at-premises rows whose best candidate scored this close below the threshold go to review
REVIEW_WINDOW = 3.0
#: reasons an analyst can settle by reading the record
REVIEW_REASONS = ("ambiguous", "ambiguous_street", "place_conflict", "postcode_disagrees")
#: columns of the review file (after the input's own columns)
REVIEW_COLUMNS = ("match_level", "match_probability", "reason", "score", "faults", "matched_address", "x", "y",
                  "uncertainty_m", "candidate_id", "candidates")


def review_mask(out: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Boolean per row of :func:`geocrime.geocoding.geocode` output: goes to the review file."""
    prob = pd.to_numeric(out["match_probability"], errors="coerce").to_numpy(float)
    level = out["match_level"].astype(str).to_numpy()
    score = pd.to_numeric(out["score"], errors="coerce").to_numpy(float)
    reason = out["reason"].astype(object).to_numpy()
    low = (level != "none") & np.isfinite(prob) & (prob < REVIEW_BELOW)
    near = (level != "premises") & np.isfinite(score) & (score >= threshold - REVIEW_WINDOW)
    settle = np.isin(reason.astype(str), REVIEW_REASONS)
    return low | near | settle


def review_rows(out: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The review rows (input columns + :data:`REVIEW_COLUMNS`, ``candidates`` as JSON text), most
    probable first, with ``row`` (the position in the input)."""
    m = review_mask(out, threshold)
    r = out.loc[m].copy()
    r.insert(0, "row", np.flatnonzero(m))
    if "candidates" in r:
        r["candidates"] = [c if (c is None or isinstance(c, str)) else json.dumps(c) for c in r["candidates"]]
    r = r.drop(columns=["geometry"], errors="ignore")
    return r.sort_values("match_probability", ascending=False, na_position="last", kind="stable")
