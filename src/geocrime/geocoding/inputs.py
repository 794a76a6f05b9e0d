"""Geocoder input: which columns hold the address, the texts or components, and their parse.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..address.lexicon import COMPONENTS
from ..errors import InputError, MissingColumnsError
from . import compare as _scoring

OUTPUT_COLUMNS = (
    "match_level", "x", "y", "lon", "lat", "uncertainty_m", "score", "runner_up_score", "margin", "ambiguous",
    "faults", "n_candidates", "candidate_id", "gazetteer_id", "matched_address", "reason",
    "ward_code", "ward_confidence", "lsoa_code", "lsoa_confidence", "match_probability",
)

#: the free-text column used when ``columns`` is not given (the first one present)
DEFAULT_TEXT_COLUMNS = ("address", "Address", "location", "Location", "text")

_LEVEL_OUT = {"postcode_area": "area"}
_PARSE_FIELDS = COMPONENTS


def weight_table() -> pd.DataFrame:
    """Every comparison level with its weight (log2 Bayes factor), for inspection."""
    return pd.DataFrame(_scoring.weight_table())


# ---------------------------------------------------------------------------------------- input
def address_columns(df: pd.DataFrame, columns: Any, flag: str = "columns=") -> Any:
    """The address columns of ``df`` to geocode: ``columns`` as given (a column name, a list joined in
    order, or a mapping component -> column), or the first of :data:`DEFAULT_TEXT_COLUMNS` when it is
    None. Raises :class:`~geocrime.errors.MissingColumnsError` naming what is absent; ``flag`` is how
    the caller names the argument (``columns=`` in Python, ``--column`` on the command line)."""
    present = [str(c) for c in df.columns]
    if columns is None:
        for cand in DEFAULT_TEXT_COLUMNS:
            if cand in df.columns:
                return cand
        hint = f"{flag}NAME" if flag.endswith("=") else f"{flag} NAME"
        raise MissingColumnsError(f"no address column: none of {', '.join(DEFAULT_TEXT_COLUMNS)} is present; name "
                                  f"it with {hint} (several columns are joined in order); columns present: "
                                  f"{', '.join(map(repr, present[:30]))}")
    if isinstance(columns, Mapping):
        bad = [k for k in columns if k not in _PARSE_FIELDS]
        if bad:
            raise InputError(f"unknown component(s) {bad}; use {list(_PARSE_FIELDS)}")
        wanted = list(columns.values())
    else:
        wanted = [columns] if isinstance(columns, str) else list(columns)
    miss = [c for c in wanted if c not in df.columns]
    if miss:
        raise MissingColumnsError(miss, present, f"the input ({flag})")
    return columns


def _texts(df: Any, columns: Any) -> tuple[pd.Series | None, pd.DataFrame | None, pd.Index]:
    """(free text Series, or a structured components frame), index."""
    if isinstance(df, pd.Series):
        return df, None, df.index
    if not isinstance(df, pd.DataFrame):
        if isinstance(df, (list, tuple, np.ndarray)):
            s = pd.Series(list(df), dtype=object)
            return s, None, s.index
        raise InputError(f"geocode expects a DataFrame, a Series or a list of strings, got {type(df).__name__}")
    columns = address_columns(df, columns)
    if isinstance(columns, str):
        return df[columns], None, df.index
    if isinstance(columns, Mapping):
        comp = pd.DataFrame({k: df[v].astype("str").fillna("") for k, v in columns.items()}, index=df.index)
        return None, comp, df.index
    cols = list(columns)
    parts = [df[c].astype("str").fillna("").str.strip() for c in cols]
    s = parts[0]
    for p in parts[1:]:
        s = s + ", " + p
    s = s.str.replace(r"(?:,\s*)+", ", ", regex=True).str.strip(", ")
    allna = df[cols].isna().all(axis=1)
    s = s.astype(object).where(~allna, None)
    return s, None, df.index


def _parse(texts: pd.Series | None, comp: pd.DataFrame | None, backend: str) -> pd.DataFrame:
    from ..address import parse_many

    if comp is not None:
        p = comp.copy()
        for f in _PARSE_FIELDS:
            if f not in p:
                p[f] = ""
        if "postcode" in p:
            from ..address import postcode as pcmod

            p["postcode"] = pcmod.extract_many(p["postcode"])["postcode"].fillna("")
        empty = (p[list(_PARSE_FIELDS)].astype("str").apply(lambda c: c.str.strip() == "")).all(axis=1)
        p["parse_status"] = np.where(empty, "empty", "ok")
        p["placeholder"] = None
        p["location_qualifier"] = None
        return p
    # police "at 12 High St": the parser has no rule for a leading "at" (reported to its owner)
    if texts is not None and len(texts):
        from ..address import _rx

        # by position (a duplicated index must not align), as object values (lone surrogates replaced)
        vals = texts.astype(object).to_numpy(dtype=object).copy()
        every = pd.api.types.infer_dtype(vals, skipna=False) == "string"  # a C loop: every value a str
        isstr = np.ones(len(vals), bool) if every else \
            np.fromiter((isinstance(v, str) for v in vals), dtype=bool, count=len(vals))
        if isstr.any():
            fixed = _rx.replace(_rx.to_str(pd.Series(vals[isstr], dtype=object)), r"^[\s\x{a0}]*at[\s\x{a0}]+([^\s\x{a0}])", r"\1")
            if every:  # all text: handed on as the str Series it is (no round trip through Python strings)
                return parse_many(fixed.set_axis(texts.index), backend=backend)
            vals[isstr] = fixed.to_numpy(dtype=object)
        texts = pd.Series(vals, index=texts.index, dtype=object)
    return parse_many(texts, backend=backend)

