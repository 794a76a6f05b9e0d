"""Which cells the sources cover: the one covered-cell test the publish gate and the public page share.

A *coverage* says which (area, month, crime type) combinations the data could have recorded an
incident in; inside it a missing incident is a true zero, outside it there is no data. It is given as

* ``None``: every cell covered;
* an :func:`geocrime.analysis.aggregate` table with a ``covered`` column and the area codes in a
  column named like the layer (e.g. ``ward_2024``) or ``area_code`` (``month`` / ``crime_type``
  columns optional: absent means every month / type);
* the gate's own record :attr:`GatedData.coverage` (``layer, area_code, month, crime_type, covered``);
* a :class:`geocrime.analysis.aggregate.Coverage` or a list (or dict) of them: a row is covered when
  one of them lists its month and crime type (or all) and any of the row's area codes (or all). A
  Coverage may name codes of any layer: a listed borough covers every ward in it.

:func:`covered_rows` is the test; :func:`normalise_coverage` checks a user's argument once.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import PublishError

__all__ = ["covered_rows", "normalise_coverage", "coverage_items"]

_KEY_ERROR = ("coverage must be None, False, an aggregate() table with 'covered' and an area column, the gate's "
              "GatedData.coverage, a Coverage or a list of Coverage")


def coverage_items(coverage: Any) -> list[Any]:
    """``coverage`` as a list of :class:`~geocrime.analysis.aggregate.Coverage` (PublishError otherwise)."""
    from ..analysis.aggregate import Coverage

    if isinstance(coverage, Coverage):
        return [coverage]
    if isinstance(coverage, Mapping):
        coverage = list(coverage.values())
    if isinstance(coverage, (str, bytes)) or not hasattr(coverage, "__iter__"):
        raise PublishError(_KEY_ERROR + f"; got {type(coverage).__name__}")
    items = list(coverage)
    if not all(isinstance(c, Coverage) for c in items):
        raise PublishError("coverage must be an aggregate() table, a Coverage or a list of Coverage")
    return items


def normalise_coverage(coverage: Any) -> Any:
    """None, a DataFrame with ``covered``, or a list of Coverage; anything else raises PublishError."""
    if coverage is None or isinstance(coverage, pd.DataFrame):
        if isinstance(coverage, pd.DataFrame) and "covered" not in coverage.columns:
            raise PublishError(f"coverage must be an aggregate() table with a 'covered' column; got columns "
                               f"{list(coverage.columns)[:8]}")
        return coverage
    return coverage_items(coverage)


def covered_rows(keys: pd.DataFrame, coverage: Any, layers: Sequence[str]) -> np.ndarray:
    """Boolean per row of ``keys``: is it inside ``coverage`` (module docstring)?

    ``keys`` holds ``month`` ("YYYY-MM"), ``crime_type`` and one area-code column per name in
    ``layers`` (missing codes: NA). A row is covered when any of its area codes is.
    """
    if coverage is None:
        return np.ones(len(keys), dtype=bool)
    month = keys["month"].astype(str).to_numpy()
    ctype = keys["crime_type"].astype(str).to_numpy()
    codes = {l: keys[l].astype("string").fillna("\x00").to_numpy(dtype=object) for l in layers if l in keys}
    if isinstance(coverage, pd.DataFrame):
        return _table_rows(codes, month, ctype, coverage)
    out = np.zeros(len(keys), dtype=bool)
    for c in coverage_items(coverage):
        m = np.ones(len(keys), dtype=bool)
        for allowed, vals in ((c.months, month), (c.crime_types, ctype)):
            if allowed is not None:
                m &= np.isin(vals, list(allowed))
        if c.areas is not None:
            allowed_areas = list(c.areas)
            m &= np.logical_or.reduce([np.isin(v, allowed_areas) for v in codes.values()] or [np.zeros(len(keys), bool)])
        out |= m
    return out


def _table_rows(codes: dict[str, np.ndarray], month: np.ndarray, ctype: np.ndarray, cov: pd.DataFrame) -> np.ndarray:
    """The covered test against a table (an aggregate() table or a GatedData.coverage record)."""
    layers = list(codes)
    if "covered" not in cov.columns:
        raise PublishError(f"coverage must be an aggregate() table with 'covered' and a {layers[0]!r} (or "
                           f"'area_code') column; got columns {list(cov.columns)[:8]}")
    dims = [c for c in ("month", "crime_type") if c in cov.columns]
    yes = cov[cov["covered"].astype(bool)]
    if "layer" in cov.columns and "area_code" in cov.columns:  # the gate's own record: per layer
        per_layer = [(l, yes[yes["layer"] == l], "area_code") for l in layers]
    else:
        named = [l for l in layers if l in cov.columns]
        if named:
            per_layer = [(l, yes, l) for l in named]
        elif "area_code" in cov.columns:
            per_layer = [(l, yes, "area_code") for l in layers]
        else:
            raise PublishError(f"coverage must be an aggregate() table with 'covered' and a {layers[0]!r} (or "
                               f"'area_code') column; got columns {list(cov.columns)[:8]}")
    dim_vals = {"month": month, "crime_type": ctype}
    out = np.zeros(len(month), dtype=bool)
    matched = False
    for layer, tab, key in per_layer:
        tab = tab[[key] + dims].astype(str).drop_duplicates()
        if not len(tab) or not np.isin(tab[key].to_numpy(), codes[layer]).any():
            continue
        matched = True
        known = pd.MultiIndex.from_frame(tab)
        probe = pd.MultiIndex.from_arrays([codes[layer].astype(str)] + [dim_vals[d] for d in dims])
        out |= np.asarray(probe.isin(known))
    if not matched and len(yes) and len(month):
        key = per_layer[0][2]
        example = str(yes[key].iloc[0]) if key in yes.columns and len(yes) else "?"
        raise PublishError(f"coverage area codes do not match layer {' or '.join(map(repr, layers))} (e.g. "
                           f"{example!r}); aggregate at the same area layer as the page or the gate's layers")
    return out
