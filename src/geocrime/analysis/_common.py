"""Shared helpers of the analysis package: warnings, column lookup, month parsing."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnalysisWarning, InputError, MissingColumnsError

__all__ = ["AnalysisWarning", "warn", "resolve_column", "month_periods", "event_days", "as_days"]


def warn(msg: str) -> None:
    warnings.warn(msg, AnalysisWarning, stacklevel=3)


_ALIASES = {
    "crime_type": ("crime_type", "Crime type", "crime type", "CrimeType"),
    "month": ("month", "Month"),
}


def resolve_column(df: pd.DataFrame, name: str, what: str = "incidents") -> str:
    """The actual column for ``name`` (``crime_type`` also finds police.uk ``Crime type`` etc.)."""
    if name in df.columns:
        return name
    for alt in _ALIASES.get(name, ()):
        if alt in df.columns:
            return alt
    raise MissingColumnsError([name], [str(c) for c in df.columns], what)


def month_periods(values: pd.Series) -> pd.PeriodIndex:
    """Parse "YYYY-MM" (or dates) into monthly Periods; unparseable -> NaT."""
    s = pd.Series(values)
    if isinstance(s.dtype, pd.PeriodDtype):
        return pd.PeriodIndex(s.dt.asfreq("M"))
    txt = s.astype("string").str.strip()
    dt = pd.to_datetime(txt, format="%Y-%m", errors="coerce")
    rest = dt.isna() & txt.notna()
    if rest.any():
        dt[rest] = pd.to_datetime(txt[rest], errors="coerce", format="mixed")
    return pd.PeriodIndex(dt, freq="M")


def event_days(df: pd.DataFrame, *, date_column: str | None = None) -> np.ndarray:
    """Event time in days since 1970-01-01 (float). Uses ``date_column`` / a ``date`` column when present;
    otherwise the police.uk ``month`` column with every event placed at the MIDDLE of its month (police.uk
    publishes month resolution only). Missing -> NaN."""
    col = date_column
    if col is None:
        for c in ("date", "datetime", "Date"):
            if c in df.columns:
                col = c
                break
    if col is not None:
        if col not in df.columns:
            raise MissingColumnsError([col], list(df.columns), "events")
        dt = pd.to_datetime(df[col], errors="coerce")
        out = (dt - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return out.to_numpy(dtype="float64", na_value=np.nan)
    mcol = resolve_column(df, "month", "events")
    per = month_periods(df[mcol])
    start = per.to_timestamp(how="start")
    ndays = per.days_in_month.to_numpy(dtype="float64", na_value=np.nan)
    out = ((start - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(dtype="float64", na_value=np.nan)
    return out + ndays / 2.0


def as_days(t: Any) -> float:
    """A time (Timestamp/str/"YYYY-MM"/number of days) as days since 1970-01-01."""
    if isinstance(t, (int, float, np.integer, np.floating)):
        return float(t)
    if isinstance(t, pd.Period):
        t = t.to_timestamp()
    try:
        ts = pd.Timestamp(t)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {t!r} as a time") from None
    return float((ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1))
