"""Versioned harm (crime-severity) weight tables.

A :class:`HarmTable` maps a key (a police.uk crime category, or an offence code) to a weight, and
carries its name, version and source so every harm figure can say which weights produced it.

The shipped default, ``policeuk-css-approx-v1`` (``data/harm_policeuk_css_approx_v1.csv``, documented
in the ``.md`` beside it), gives the 14 police.uk categories INDICATIVE weights on the scale of the
ONS Crime Severity Score; they are hand-rounded approximations, not the official ONS figures. For
real work load the official ONS CSS or Cambridge Crime Harm Index table keyed by offence code with
:meth:`HarmTable.from_csv` / :meth:`HarmTable.from_frame`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError, MissingColumnsError

__all__ = ["HarmTable", "default_harm_table", "harm_weights", "DEFAULT_HARM_VERSION"]

DEFAULT_HARM_VERSION = "policeuk-css-approx-v1"
_DEFAULT_FILE = "harm_policeuk_css_approx_v1.csv"


def _norm_key(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.casefold()


@dataclass(frozen=True)
class HarmTable:
    """Harm weights: ``weights`` maps a key to a non-negative weight.

    ``key`` names what the keys are and so which incident column they are looked up in:
    ``"crime_type"`` (police.uk category; the column ``crime_type`` or ``Crime type``) or an offence
    code column such as ``"offence_code"``. Lookups ignore case and surrounding spaces.
    """

    name: str
    version: str
    source: str
    weights: Mapping[str, float] = field(repr=False)
    key: str = "crime_type"

    def __post_init__(self) -> None:
        w = pd.Series(dict(self.weights), dtype="float64")
        if w.empty:
            raise InputError(f"harm table {self.name!r} has no weights")
        if not np.isfinite(w.to_numpy()).all() or (w < 0).any():
            bad = w[~np.isfinite(w) | (w < 0)]
            raise InputError(f"harm table {self.name!r} has negative or non-finite weights: {bad.to_dict()}")

    @classmethod
    def default(cls) -> "HarmTable":
        """The shipped ``policeuk-css-approx-v1`` table for the 14 police.uk categories (indicative)."""
        df = pd.read_csv(Path(__file__).with_name("data") / _DEFAULT_FILE)
        return cls(
            name="police.uk categories, ONS CSS scale (approximate)",
            version=DEFAULT_HARM_VERSION,
            source=(
                "hand-rounded approximations of ONS Crime Severity Score weights (ONS, Crime Severity Score "
                "(Experimental Statistics)) of each category's dominant offences; not the official figures - "
                "see geocrime/analysis/data/harm_policeuk_css_approx_v1.md"
            ),
            weights=dict(zip(df["crime_type"], df["weight"].astype(float))),
            key="crime_type",
        )

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        key: str,
        weight_column: str = "weight",
        name: str = "custom",
        version: str = "unversioned",
        source: str = "user supplied",
        key_column: str | None = None,
    ) -> "HarmTable":
        """Table from a DataFrame with a key column (``key_column``, default ``key``) and a weight column.
        Use e.g. ``key="offence_code"`` for the ONS CSS or Cambridge CHI tables keyed by offence code."""
        kc = key_column or key
        missing = [c for c in (kc, weight_column) if c not in df.columns]
        if missing:
            raise MissingColumnsError(missing, list(df.columns), "harm table")
        keys = df[kc].astype("string").str.strip()
        if keys.isna().any():
            raise InputError(f"harm table has {int(keys.isna().sum())} row(s) without a key in {kc!r}")
        dup = keys.str.casefold().duplicated()
        if dup.any():
            raise InputError(f"harm table has duplicate keys: {sorted(keys[dup].unique().tolist())[:10]}")
        w = pd.to_numeric(df[weight_column], errors="coerce")
        if w.isna().any():
            raise InputError(f"harm table has non-numeric weights for {keys[w.isna()].tolist()[:10]}")
        return cls(name=name, version=version, source=source, weights=dict(zip(keys, w.astype(float))), key=key)

    @classmethod
    def from_csv(cls, path: str | Path, *, key: str, weight_column: str = "weight", **kw: Any) -> "HarmTable":
        """Table from a CSV file (see :meth:`from_frame`); offence codes are read as text."""
        kc = kw.get("key_column") or key
        df = pd.read_csv(path, dtype={kc: "string"})
        kw.setdefault("name", Path(path).stem)
        return cls.from_frame(df, key=key, weight_column=weight_column, **kw)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({self.key: list(self.weights), "weight": list(self.weights.values())})

    def lookup(self, keys: pd.Series, *, missing: str = "error") -> pd.Series:
        """Weight for each key (case/space-insensitive). ``missing``: ``"error"`` raises
        :class:`AnalysisError` naming the keys not in the table; ``"nan"`` leaves NaN; ``"zero"`` uses 0."""
        table = pd.Series(list(self.weights.values()), index=_norm_key(pd.Series(list(self.weights))).to_numpy())
        k = _norm_key(pd.Series(keys))
        w = k.map(table).astype("float64")
        w.index = keys.index
        miss = w.isna()
        if miss.any():
            if missing == "error":
                unknown = sorted(pd.Series(keys)[miss.to_numpy()].astype("string").fillna("<missing>").unique().tolist())
                raise AnalysisError(
                    f"harm table {self.version!r} has no weight for {len(unknown)} {self.key} value(s): "
                    f"{unknown[:10]}; add them to the table, or pass harm_missing='zero' or 'nan'"
                )
            if missing == "zero":
                w = w.fillna(0.0)
            elif missing != "nan":
                raise InputError(f"missing must be 'error', 'nan' or 'zero'; got {missing!r}")
        return w.rename("harm")


def default_harm_table() -> HarmTable:
    """The shipped default table (see :meth:`HarmTable.default`)."""
    return HarmTable.default()


def _key_column(df: pd.DataFrame, key: str) -> str:
    if key in df.columns:
        return key
    if key == "crime_type" and "Crime type" in df.columns:
        return "Crime type"
    raise MissingColumnsError([key], list(df.columns), "incidents (for harm weights)")


def harm_weights(incidents: pd.DataFrame, table: HarmTable | None = None, *, missing: str = "error") -> pd.Series:
    """Harm weight of each incident row (same index), looked up in ``table`` (default: shipped table)."""
    table = table or HarmTable.default()
    return table.lookup(incidents[_key_column(incidents, table.key)], missing=missing)
