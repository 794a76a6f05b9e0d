"""Counts, rates and harm-weighted totals per area (or grid cell), period and crime type.

Every combination of the area universe x periods x crime types is present in the output, with zero
counts where nothing happened: a ward with no burglary in March is a row with ``count == 0``, not a
missing row. Rows that cannot be counted (no area code, no month) are reported in ``result.attrs``
(and by an :class:`AnalysisWarning`), never silently lost.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError, MissingColumnsError
from ._common import month_periods, resolve_column, warn
from .grids import HexGrid, SquareGrid, assign_cells, grid_of
from .harm import HarmTable, harm_weights

__all__ = ["aggregate", "period_change", "MISSING_TYPE"]

#: Label given to incidents whose crime type is empty, so they are counted rather than dropped.
MISSING_TYPE = "(missing)"

_PERIOD_KEYS = ("month",)
#: Columns aggregate() adds; everything else in its output is a grouping key.
_VALUE_COLUMNS = frozenset({"count", "harm", "population", "rate_per_1000", "count_prev", "count_change",
                            "pct_change", "harm_change"})
_TYPE_KEYS = ("crime_type",)


def _area_universe(areas: Any, col: str) -> pd.Index:
    """Codes of the area universe from a list, Boundaries, GeoDataFrame, or grid."""
    if isinstance(areas, (SquareGrid, HexGrid)):
        return pd.Index(np.flatnonzero(areas.inside()), name=col)
    if isinstance(areas, pd.DataFrame) and "geocrime_grid" in areas.attrs and "cell_id" in areas.columns:
        g = grid_of(areas)
        return pd.Index(np.flatnonzero(g.inside()), name=col)
    if hasattr(areas, "layer") and callable(areas.layer):  # geocrime.areas.Boundaries
        try:
            lay = areas.layer(col)
        except Exception as exc:  # a missing layer is the caller's error: say which
            raise InputError(f"areas (Boundaries) has no layer {col!r}: {exc}") from exc
        return _area_universe(lay, col)
    if isinstance(areas, pd.DataFrame):
        for c in ("code", col):
            if c in areas.columns:
                return pd.Index(pd.unique(areas[c].astype("string").dropna()), name=col)
        raise MissingColumnsError(["code"], list(areas.columns), "areas table")
    if isinstance(areas, pd.Series):
        return pd.Index(pd.unique(areas.astype("string").dropna()), name=col)
    if isinstance(areas, Iterable) and not isinstance(areas, (str, bytes)):
        vals = list(areas)
        return pd.Index(pd.unique(pd.Series(vals, dtype="object").dropna()), name=col)
    raise InputError(f"areas must be a list of codes, a GeoDataFrame with 'code', Boundaries or a grid; got {type(areas).__name__}")


def _population_series(population: Any, area_col: str) -> pd.Series:
    if isinstance(population, pd.Series):
        s = population
    elif isinstance(population, pd.DataFrame):
        key = next((c for c in (area_col, "code") if c in population.columns), None)
        val = next((c for c in ("population", "residents", "pop") if c in population.columns), None)
        if key is None or val is None:
            raise MissingColumnsError([c for c, v in ((area_col, key), ("population", val)) if v is None],
                                      list(population.columns), "population table")
        s = population.set_index(key)[val]
    elif isinstance(population, dict):
        s = pd.Series(population)
    else:
        raise InputError("population must be a Series indexed by area code, a dict, or a DataFrame with "
                         f"'{area_col}' (or 'code') and 'population' columns")
    s = pd.to_numeric(s, errors="coerce").astype("float64")
    s.index = s.index.astype("string")
    if s.index.duplicated().any():
        raise InputError(f"population table has duplicate area codes: {s.index[s.index.duplicated()].tolist()[:5]}")
    return s


def aggregate(
    incidents: pd.DataFrame,
    by: Sequence[str] = ("ward_2024", "month", "crime_type"),
    *,
    areas: Any = None,
    periods: Sequence[str] | None = None,
    crime_types: Sequence[str] | None = None,
    population: Any = None,
    harm: HarmTable | bool | None = None,
    harm_missing: str = "error",
    unknown_areas: str = "error",
    change: bool = True,
) -> pd.DataFrame:
    """Count incidents per combination of ``by`` columns, with zero-count combinations present.

    Parameters
    ----------
    incidents
        One row per incident: area code column(s) (e.g. ``ward_2024`` from ``assign_areas``), ``month``
        ("YYYY-MM"; police.uk ``Month`` is also found) and ``crime_type`` (or police.uk ``Crime type``).
        For grids, use ``by=["cell_id", ...]`` with ``areas=<grid>``: cells are assigned from the point
        geometry (EPSG:27700 metres) by arithmetic when there is no ``cell_id`` column; events off the
        grid or in cells outside the study area count as ``n_no_area``.
    by
        Grouping columns. ``month`` and ``crime_type`` are recognised; any other column is an area.
    areas
        The area universe: a list of codes, a GeoDataFrame (``code`` column, e.g. ``Boundaries.layer``),
        a ``Boundaries`` object (layer named like the area column), or a grid (cells inside the study
        area). Without it the universe is the codes seen in the data (areas with no incident at all
        cannot be known then; an :class:`AnalysisWarning` says so).
    periods, crime_types
        Universes for months and types; default every month from the first to the last seen (gaps
        filled) and every type seen. Incidents outside a given universe raise :class:`AnalysisError`.
    population
        Residents per area (Series indexed by code, or DataFrame with code and ``population``): adds
        ``population`` and ``rate_per_1000`` (count / population * 1,000).
    harm
        ``True`` for the shipped default table, or a :class:`HarmTable`: adds ``harm`` (sum of weights).
        ``harm_missing`` ("error", "zero", "nan") says what to do with types not in the table.
    unknown_areas
        Codes in the data that are not in ``areas``: ``"error"`` (default), ``"drop"`` (reported in
        attrs) or ``"keep"`` (added to the universe).
    change
        When ``month`` is in ``by``: add ``count_prev``, ``count_change`` and ``pct_change`` (vs the
        previous month of the same area/type; ``pct_change`` is NaN when the previous count is 0),
        and ``harm_change`` when harm is computed.

    Returns
    -------
    DataFrame with the ``by`` columns, ``count`` (int64) and the optional columns, sorted by ``by``.
    ``attrs``: ``n_input``, ``n_counted``, ``n_no_area``, ``n_no_period``, ``n_unknown_area``,
    ``harm_version``.
    """
    if not isinstance(incidents, pd.DataFrame):
        raise InputError(f"incidents must be a (Geo)DataFrame; got {type(incidents).__name__}")
    if isinstance(by, str):
        by = [by]
    by = list(by)
    if not by:
        raise InputError("by must name at least one column")
    if unknown_areas not in ("error", "drop", "keep"):
        raise InputError(f"unknown_areas must be 'error', 'drop' or 'keep'; got {unknown_areas!r}")

    work = pd.DataFrame(index=incidents.index)
    kinds: dict[str, str] = {}
    for key in by:
        norm = str(key).strip().lower().replace(" ", "_")
        if norm in _PERIOD_KEYS:
            kinds[key] = "period"
            per = month_periods(incidents[resolve_column(incidents, "month")])
            work[key] = pd.Series(per.astype("string"), index=incidents.index)
        elif norm in _TYPE_KEYS:
            kinds[key] = "type"
            work[key] = incidents[resolve_column(incidents, "crime_type")].astype("string").str.strip()
            work[key] = work[key].mask(work[key].isna() | (work[key] == ""), MISSING_TYPE)
        elif key == "cell_id" and key not in incidents.columns:
            if areas is None:
                raise InputError("by 'cell_id' needs areas=<grid> (square_grid/hex_grid) to assign cells")
            kinds[key] = "area"
            cells = assign_cells(incidents, areas).to_numpy()
            ok = cells >= 0
            ok[ok] = grid_of(areas).inside()[cells[ok]]  # off the grid or outside the study area
            work[key] = pd.array(np.where(ok, cells, 0), dtype="Int64")
            work.loc[~ok, key] = pd.NA
        else:
            if key not in incidents.columns:
                raise MissingColumnsError([key], [str(c) for c in incidents.columns], "incidents")
            kinds[key] = "area" if "area" not in kinds.values() else "other"
            col = incidents[key]
            work[key] = col if pd.api.types.is_integer_dtype(col) else col.astype("string").str.strip()

    n_input = len(work)
    keep = pd.Series(True, index=work.index)
    stats = {"n_input": n_input, "n_no_area": 0, "n_no_period": 0, "n_unknown_area": 0}
    for key, kind in kinds.items():
        na = work[key].isna()
        if kind == "period":
            stats["n_no_period"] += int((na & keep).sum())
        elif kind == "area":
            stats["n_no_area"] += int((na & keep).sum())
        else:
            stats["n_missing_key"] = stats.get("n_missing_key", 0) + int((na & keep).sum())
        keep &= ~na

    # universes
    levels: dict[str, pd.Index] = {}
    for key, kind in kinds.items():
        seen = work.loc[keep, key]
        if kind == "period":
            if periods is not None:
                lv = pd.Index(month_periods(pd.Series(list(periods))).astype("string"))
                if lv.isna().any():
                    raise InputError(f"periods must be 'YYYY-MM' strings; got {list(periods)[:5]}")
            elif len(seen):
                p = month_periods(seen)
                lv = pd.Index(pd.period_range(p.min(), p.max(), freq="M").astype("string"))
            else:
                lv = pd.Index([], dtype="string")
        elif kind == "type":
            if crime_types is not None:
                lv = pd.Index(pd.unique(pd.Series(list(crime_types), dtype="string").str.strip()))
            else:
                lv = pd.Index(sorted(pd.unique(seen.dropna())))
        elif kind == "area" and areas is not None:
            lv = _area_universe(areas, key)
            if pd.api.types.is_integer_dtype(seen) and not pd.api.types.is_integer_dtype(lv):
                lv = pd.Index(pd.to_numeric(lv, errors="raise"))
            elif not pd.api.types.is_integer_dtype(seen):
                lv = pd.Index(lv.astype("string"))
        else:
            lv = pd.Index(sorted(pd.unique(seen.dropna())))
            if kind == "area" and len(lv):
                warn(f"aggregate: no areas= universe given for {key!r}: only the {len(lv)} codes seen in the data "
                     "are listed, so areas with no incident at all are missing; pass areas=<Boundaries layer/codes>")
        if lv.has_duplicates:
            lv = lv.drop_duplicates()
        # values outside the universe
        outside = keep & ~work[key].isin(lv) & work[key].notna()
        if outside.any():
            bad = sorted(map(str, pd.unique(work.loc[outside, key])))
            if kind == "area":
                if unknown_areas == "error":
                    raise AnalysisError(
                        f"{int(outside.sum())} incident(s) have {key} code(s) not in the area universe: {bad[:10]}"
                        f"{' ...' if len(bad) > 10 else ''}; check the boundary vintage, or pass "
                        "unknown_areas='drop' (report and drop) or 'keep' (add them)"
                    )
                if unknown_areas == "keep":
                    lv = lv.append(pd.Index(bad, dtype=lv.dtype))
                else:
                    stats["n_unknown_area"] += int(outside.sum())
                    keep &= ~outside
            else:
                raise AnalysisError(
                    f"{int(outside.sum())} incident(s) have {key} value(s) outside the given universe: {bad[:10]}; "
                    f"add them to {'periods' if kind == 'period' else 'crime_types'} or filter the incidents first"
                )
        levels[key] = lv

    dropped = stats["n_no_area"] + stats["n_no_period"] + stats["n_unknown_area"] + stats.get("n_missing_key", 0)
    if dropped:
        other = f", empty other key: {stats['n_missing_key']}" if stats.get("n_missing_key") else ""
        warn(f"aggregate: {dropped} of {n_input} incident(s) not counted "
             f"(no area: {stats['n_no_area']}, no month: {stats['n_no_period']}, unknown area: {stats['n_unknown_area']}"
             f"{other})")

    sel = work.loc[keep]
    codes = []
    for key in by:
        c = pd.Categorical(sel[key], categories=levels[key])
        codes.append(np.asarray(c.codes, dtype=np.int64))
    shape = tuple(len(levels[k]) for k in by)
    size = int(np.prod(shape)) if shape else 0
    flat = np.ravel_multi_index(codes, shape) if size and len(sel) else np.zeros(0, dtype=np.int64)
    counts = np.bincount(flat, minlength=size).astype(np.int64)
    index = pd.MultiIndex.from_product([levels[k] for k in by], names=by)
    out = pd.DataFrame({"count": counts}, index=index)

    harm_version = None
    if harm is not None and harm is not False:
        table = HarmTable.default() if harm is True else harm
        if not isinstance(table, HarmTable):
            raise InputError("harm must be True (default table) or a HarmTable")
        w = harm_weights(incidents.loc[keep], table, missing=harm_missing).to_numpy(dtype="float64")
        out["harm"] = np.bincount(flat, weights=np.nan_to_num(w), minlength=size) if size else np.zeros(0)
        if np.isnan(w).any():  # 'nan' policy: a cell containing an unweighted incident has unknown harm
            has_nan = np.bincount(flat, weights=np.isnan(w).astype(float), minlength=size) > 0
            out.loc[has_nan, "harm"] = np.nan
        harm_version = table.version

    out = out.reset_index()
    area_keys = [k for k, kind in kinds.items() if kind == "area"]
    if population is not None:
        if not area_keys:
            raise InputError("population needs an area column in by")
        pop = _population_series(population, area_keys[0])
        out["population"] = out[area_keys[0]].astype("string").map(pop).astype("float64")
        missing_pop = out["population"].isna() | (out["population"] <= 0)
        if missing_pop.any():
            n = out.loc[missing_pop, area_keys[0]].nunique()
            warn(f"aggregate: {n} area(s) have no (or zero) population; their rate_per_1000 is NaN")
        with np.errstate(divide="ignore", invalid="ignore"):
            out["rate_per_1000"] = np.where(missing_pop, np.nan, out["count"] / out["population"] * 1000.0)

    period_keys = [k for k, kind in kinds.items() if kind == "period"]
    if change and period_keys:
        pk = period_keys[0]
        others = [k for k in by if k != pk]
        out = out.sort_values(others + [pk], kind="stable")
        grp = out.groupby(others, sort=False, observed=True)["count"] if others else out["count"]
        prev = grp.shift(1)
        out["count_prev"] = prev.astype("Int64")
        out["count_change"] = (out["count"] - prev).astype("Int64")
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = (out["count"] - prev) / prev * 100.0
        out["pct_change"] = pct.where(prev > 0)
        if "harm" in out:
            hg = out.groupby(others, sort=False, observed=True)["harm"] if others else out["harm"]
            out["harm_change"] = out["harm"] - hg.shift(1)
    out = out.sort_values(by, kind="stable").reset_index(drop=True)
    stats["n_counted"] = int(keep.sum())
    out.attrs.update(stats)
    out.attrs["harm_version"] = harm_version
    return out


def period_change(
    counts: pd.DataFrame,
    before: str | Sequence[str],
    after: str | Sequence[str],
    *,
    value: str = "count",
    period: str = "month",
) -> pd.DataFrame:
    """Change of ``value`` between two periods (or two sets of periods, summed) per remaining key.

    ``counts`` is an :func:`aggregate` result with a ``period`` column. Returns one row per
    combination of the other ``by`` keys with ``before``, ``after``, ``change`` and ``pct_change``
    (NaN where ``before`` is 0)."""
    if period not in counts.columns or value not in counts.columns:
        raise MissingColumnsError([c for c in (period, value) if c not in counts.columns], list(counts.columns),
                                  "counts")
    b = [before] if isinstance(before, str) else list(before)
    a = [after] if isinstance(after, str) else list(after)
    known = set(counts[period].astype("string"))
    missing = [p for p in b + a if p not in known]
    if missing:
        raise AnalysisError(f"period(s) {missing} are not in the counts (have {sorted(known)[:3]}...)")
    keys = [c for c in counts.columns if c not in _VALUE_COLUMNS and c not in (period, value)]
    pb = counts[counts[period].isin(b)].groupby(keys, observed=True)[value].sum().rename("before") if keys else \
        pd.Series({"all": counts.loc[counts[period].isin(b), value].sum()}, name="before")
    pa = counts[counts[period].isin(a)].groupby(keys, observed=True)[value].sum().rename("after") if keys else \
        pd.Series({"all": counts.loc[counts[period].isin(a), value].sum()}, name="after")
    out = pd.concat([pb, pa], axis=1).fillna(0)
    out["change"] = out["after"] - out["before"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct_change"] = (out["change"] / out["before"] * 100.0).where(out["before"] > 0)
    return out.reset_index()
