"""Counts, rates and harm-weighted totals per area (or grid cell), period and crime type.

Every combination of the area universe x periods x crime types is present in the output, with zero
counts where nothing happened: a ward with no burglary in March is a row with ``count == 0``, not a
missing row. Rows that cannot be counted (no area code, no month) are reported in ``result.attrs``
(and by an :class:`AnalysisWarning`), never silently lost.

Zeros only where the data could have had an incident. Each source (police.uk ``Reported by``, or the
column named by ``source=``) has a :class:`Coverage`: the areas, months and crime types it records.
A combination no source covers is "no data": ``covered`` is False and ``count`` is <NA>, never 0
(a Met burglary extract says nothing about anti-social behaviour, a City of London extract nothing
about Camden). Coverage is given (``coverage=``) or inferred per source by a declared rule:

* months: the source's first to last month;
* crime types: the types the source recorded;
* areas: the coverage units (boroughs: ``areas=`` a ``Boundaries`` with a ``borough`` layer, or
  ``coverage_units=``) holding at least ``coverage_share`` (default 5 %) as many of the source's
  incidents as its busiest unit, and every area in them. A force's stray records over its border
  (the City of London Police records some incidents in Tower Hamlets) do not make it cover the
  neighbour. Without coverage units every area counts as covered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError, MissingColumnsError
from ._common import month_periods, resolve_column, warn
from .grids import HexGrid, SquareGrid, assign_cells, grid_of
from .harm import HarmTable, harm_weights

__all__ = ["aggregate", "period_change", "area_totals", "Coverage", "MISSING_TYPE"]

#: Label given to incidents whose crime type is empty, so they are counted rather than dropped.
MISSING_TYPE = "(missing)"

_PERIOD_KEYS = ("month",)
#: Columns aggregate() adds; everything else in its output is a grouping key.
_VALUE_COLUMNS = frozenset({"count", "covered", "harm", "population", "rate_per_1000", "count_prev", "count_change",
                            "pct_change", "harm_change"})
_TYPE_KEYS = ("crime_type",)
#: Source columns found without ``source=``: police.uk's reporting force.
_SOURCE_COLUMNS = ("Reported by", "reported_by")
#: Label of incidents whose source is empty.
UNKNOWN_SOURCE = "(unknown source)"
#: a source covers the coverage units holding at least this share of its busiest unit's incidents
COVERAGE_SHARE = 0.05


@dataclass(frozen=True)
class Coverage:
    """What one source records: area codes, months ("YYYY-MM") and crime types; ``None`` = all.

    Inside a source's coverage a missing incident is a true zero; outside it, "no data"."""

    source: str
    areas: frozenset[str] | None = None
    months: frozenset[str] | None = None
    crime_types: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for f in ("areas", "months", "crime_types"):
            v = getattr(self, f)
            if v is not None and not isinstance(v, frozenset):
                if isinstance(v, (str, bytes)):
                    raise InputError(f"Coverage.{f} must be a collection of values, not one string ({v!r})")
                object.__setattr__(self, f, frozenset(str(x).strip() for x in v))

    def summary(self) -> dict[str, Any]:
        """Small JSON-able description (kept in ``aggregate(...).attrs['coverage']``)."""
        def short(v: frozenset[str] | None) -> Any:
            return "all" if v is None else (sorted(v) if len(v) <= 20 else f"{len(v)} values")
        months = "all" if self.months is None else (f"{min(self.months)}..{max(self.months)} ({len(self.months)})"
                                                    if self.months else [])
        return {"source": self.source, "areas": short(self.areas), "months": months,
                "crime_types": short(self.crime_types)}


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


# ---------------------------------------------------------------------------------------------
# coverage: which (area, month, crime type) combinations each source records
# ---------------------------------------------------------------------------------------------

def _source_values(incidents: pd.DataFrame, source: str | None) -> pd.Series | None:
    """Each incident's source label, or None when the data names no source."""
    if source is None:
        return None
    if source == "auto":
        col = next((c for c in _SOURCE_COLUMNS if c in incidents.columns), None)
        if col is None:
            return None
    else:
        if source not in incidents.columns:
            raise MissingColumnsError([source], [str(c) for c in incidents.columns], "incidents (source=)")
        col = source
    s = incidents[col].astype("string").str.strip()
    return s.mask(s.isna() | (s == ""), UNKNOWN_SOURCE)


def _area_geometries(areas: Any, key: str) -> Any:
    """The area polygons (``code`` + geometry) behind an areas= universe, or None (lists, grids)."""
    import geopandas as gpd

    if hasattr(areas, "layer") and callable(areas.layer):
        try:
            return areas.layer(key)
        except Exception:  # noqa: BLE001 - checked (with a message) by _area_universe
            return None
    if isinstance(areas, gpd.GeoDataFrame) and "geocrime_grid" not in areas.attrs:
        col = "code" if "code" in areas.columns else key if key in areas.columns else None
        return areas.rename(columns={col: "code"}) if col else None
    return None


def _nest(inner: Any, outer: Any) -> pd.Series:
    """Unit code of each inner polygon: the outer polygon holding its representative point."""
    import shapely

    if inner.crs is not None and outer.crs is not None and inner.crs != outer.crs:
        outer = outer.to_crs(inner.crs)
    rep = shapely.point_on_surface(np.asarray(inner.geometry.values))
    pi, ui = shapely.STRtree(np.asarray(outer.geometry.values)).query(rep, predicate="within")
    first = np.unique(pi, return_index=True)[1]
    unit = np.full(len(inner), None, dtype=object)
    unit[pi[first]] = outer["code"].astype(str).to_numpy()[ui[first]]
    return pd.Series(unit, index=pd.Index(inner["code"].astype(str).to_numpy()), dtype="object")


def _unit_map(areas: Any, key: str, units: Any) -> pd.Series | None:
    """Area code -> coverage unit code (e.g. ward -> borough), or None when none can be known."""
    import geopandas as gpd

    if units is False:
        return None
    if isinstance(units, Mapping) or isinstance(units, pd.Series):
        s = pd.Series(units, dtype="object")
        s.index = s.index.astype(str)
        return s
    geoms = _area_geometries(areas, key) if areas is not None else None
    if isinstance(units, gpd.GeoDataFrame):
        if "code" not in units.columns:
            raise MissingColumnsError(["code"], list(units.columns), "coverage_units")
        if geoms is None:
            raise InputError("coverage_units as polygons needs areas= polygons (a GeoDataFrame or Boundaries) to nest")
        return _nest(geoms, units)
    if isinstance(units, str):
        if geoms is not None and units in geoms.columns:
            return pd.Series(geoms[units].astype(str).to_numpy(), index=geoms["code"].astype(str).to_numpy(),
                             dtype="object")
        if hasattr(areas, "layer") and units in getattr(areas, "names", []):
            return _nest(geoms, areas.layer(units)) if geoms is not None and units != key else None
        raise InputError(f"coverage_units={units!r} is neither a column of areas nor a layer of the Boundaries")
    if units is None and hasattr(areas, "names") and "borough" in areas.names and key != "borough" \
            and geoms is not None:
        return _nest(geoms, areas.layer("borough"))
    if units is None:
        return None
    raise InputError("coverage_units must be a Series/dict (area code -> unit), a column or layer name, "
                     "a GeoDataFrame of unit polygons with 'code', or False")


def _infer_coverage(work: pd.DataFrame, kinds: dict[str, str], keep: pd.Series, src: pd.Series,
                    unit_of: pd.Series | None, share: float) -> list[Coverage]:
    """One Coverage per source by the module's declared rule (months span, types seen, busy units)."""
    out = []
    for name in sorted(pd.unique(src[keep])):
        sel = keep & (src == name)
        months = types = area_set = None
        for key, kind in kinds.items():
            vals = work.loc[sel, key]
            if kind == "period" and len(vals):
                p = month_periods(vals)
                months = frozenset(pd.period_range(p.min(), p.max(), freq="M").astype(str))
            elif kind == "type":
                types = frozenset(map(str, pd.unique(vals)))
            elif kind == "area" and unit_of is not None:
                codes = vals.astype(str)
                unit = codes.map(unit_of)
                per_unit = unit.value_counts()
                busy = set(per_unit.index[per_unit >= share * per_unit.max()]) if len(per_unit) else set()
                area_set = frozenset(unit_of.index[unit_of.isin(busy)]) | frozenset(codes[unit.isna()])
        out.append(Coverage(str(name), area_set, months, types))
    return out


def infer_coverage(unit: Any, month: Any, crime_type: Any, source: Any,
                   share: float = COVERAGE_SHARE) -> list[Coverage]:
    """One :class:`Coverage` per source by this module's declared rule, from per-incident arrays:
    ``unit`` (coverage-unit code, e.g. the borough), ``month`` ('YYYY-MM'), ``crime_type`` and
    ``source`` (labels, e.g. from :func:`source_labels`): the months from the source's first to last,
    the crime types it recorded, the units holding at least ``share`` of its busiest unit's incidents."""
    unit = pd.Series(np.asarray(unit, dtype=object)).astype(str)
    work = pd.DataFrame({"unit": unit, "month": np.asarray(month, dtype=object),
                         "crime_type": np.asarray(crime_type, dtype=object)})
    units = pd.Series(pd.unique(unit), dtype="object")
    return _infer_coverage(work, {"unit": "area", "month": "period", "crime_type": "type"},
                           pd.Series(True, index=work.index), pd.Series(np.asarray(source, dtype=object)),
                           pd.Series(units.to_numpy(), index=units.to_numpy(), dtype="object"), share)


def source_labels(incidents: pd.DataFrame, source: str | None = "auto") -> pd.Series | None:
    """Each incident's source label (``source``: a column, or ``"auto"``: police.uk's ``Reported by``),
    or None when the data names no source."""
    return _source_values(incidents, source)


def _covered_mask(levels: dict[str, pd.Index], by: list[str], kinds: dict[str, str],
                  coverages: Sequence[Coverage]) -> np.ndarray:
    """Flat boolean array over the product of ``levels`` (in ``by`` order): covered by any source."""
    shape = tuple(len(levels[k]) for k in by)
    mask = np.zeros(shape, dtype=bool)
    attr = {"area": "areas", "period": "months", "type": "crime_types"}
    for cov in coverages:
        vecs = []
        for key in by:
            allowed = getattr(cov, attr[kinds[key]]) if kinds[key] in attr else None
            lv = levels[key]
            vecs.append(np.ones(len(lv), bool) if allowed is None else np.asarray(lv.astype(str).isin(allowed)))
        m = np.ones(shape, dtype=bool)
        for i, v in enumerate(vecs):  # broadcast each axis' vector (np.ix_ would turn booleans into indices)
            m = m & v.reshape([-1 if j == i else 1 for j in range(len(shape))])
        mask |= m
    return mask.ravel()


def _coverages(coverage: Any, work: pd.DataFrame, kinds: dict[str, str], keep: pd.Series, src: pd.Series | None,
               areas: Any, units: Any, share: float) -> list[Coverage] | None:
    """The coverages to apply (None: everything covered, the data names no source)."""
    if coverage is False:
        return None
    if coverage is None or coverage is True:
        if src is None:
            return None
        area_keys = [k for k, kind in kinds.items() if kind == "area"]
        unit_of = _unit_map(areas, area_keys[0], units) if area_keys and areas is not None else None
        if unit_of is None and area_keys and src[keep].nunique() > 1 and units is not False:
            warn(f"aggregate: {src[keep].nunique()} sources but no coverage units: every area counts as covered by "
                 "every source (their zeros may be false); pass areas=<Boundaries with a borough layer> or "
                 "coverage_units=")
        return _infer_coverage(work, kinds, keep, src, unit_of, share)
    if isinstance(coverage, Coverage):
        return [coverage]
    if isinstance(coverage, Mapping):
        coverage = list(coverage.values())
    cov = list(coverage)
    if not all(isinstance(c, Coverage) for c in cov):
        raise InputError("coverage must be a Coverage, a list/dict of Coverage, True/None (inferred) or False")
    return cov


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
    source: str | None = "auto",
    coverage: Any = None,
    coverage_units: Any = None,
    coverage_share: float = COVERAGE_SHARE,
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
    source
        Column naming each incident's source (extract, force). ``"auto"`` (default): police.uk
        ``Reported by`` when present; ``None``: one source covering everything.
    coverage
        ``None`` (default): inferred per source (module docstring); a :class:`Coverage` or a list /
        dict of them: the union of those is covered, whatever the incidents' source; ``False``: every
        combination is covered (the behaviour before coverage existed).
    coverage_units, coverage_share
        The units a source covers whole (area code -> unit Series/dict, a column of ``areas``, a
        layer name of the Boundaries, unit polygons with ``code``; default the ``borough`` layer of
        a Boundaries ``areas``), and the share of the busiest unit's count a unit needs.

    Returns
    -------
    DataFrame with the ``by`` columns, ``count``, ``covered`` (bool) and the optional columns, sorted
    by ``by``. ``count`` is int64 when every row is covered; otherwise nullable Int64 with <NA> in
    the rows no source covers (and NaN rates/harm there). ``attrs``: ``n_input``, ``n_counted``,
    ``n_no_area``, ``n_no_period``, ``n_unknown_area``, ``n_outside_coverage`` (incidents in rows
    no source covers: not in any count), ``coverage`` (one summary per source), ``harm_version``.
    """
    by = _check_args(incidents, by, unknown_areas)
    work, kinds = _key_columns(incidents, by, areas)
    keep, stats = _rows_with_keys(work, kinds)
    levels = {key: _universe(work, key, kind, keep, areas, periods, crime_types, unknown_areas, stats)
              for key, kind in kinds.items()}
    _warn_not_counted(stats)
    counts, flat = _count(work.loc[keep], by, levels)
    covs = _coverages(coverage, work, kinds, keep, _source_values(incidents, source), areas, coverage_units,
                      coverage_share)
    covered = _covered_mask(levels, by, kinds, covs) if covs is not None and len(counts) else np.ones(len(counts), bool)
    out = _table(counts, covered, levels, by, stats)
    harm_version = _add_harm(out, incidents.loc[keep], flat, covered, harm, harm_missing)
    out = out.reset_index()
    area_keys = [k for k, kind in kinds.items() if kind == "area"]
    if population is not None:
        _add_rates(out, population, area_keys)
    period_keys = [k for k, kind in kinds.items() if kind == "period"]
    if change and period_keys:
        out = _add_change(out, by, period_keys[0])
    out = out.sort_values(by, kind="stable").reset_index(drop=True)
    stats["n_counted"] = int(keep.sum()) - stats["n_outside_coverage"]
    out.attrs.update(stats)
    out.attrs["coverage"] = [c.summary() for c in covs] if covs is not None else "all"
    out.attrs["harm_version"] = harm_version
    return out


# ---------------------------------------------------------------------------------------------
# aggregate's steps
# ---------------------------------------------------------------------------------------------

def _check_args(incidents: Any, by: Any, unknown_areas: str) -> list[str]:
    if not isinstance(incidents, pd.DataFrame):
        raise InputError(f"incidents must be a (Geo)DataFrame; got {type(incidents).__name__}")
    by = [by] if isinstance(by, str) else list(by)
    if not by:
        raise InputError("by must name at least one column")
    if unknown_areas not in ("error", "drop", "keep"):
        raise InputError(f"unknown_areas must be 'error', 'drop' or 'keep'; got {unknown_areas!r}")
    return by


def _key_columns(incidents: pd.DataFrame, by: list[str], areas: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    """The normalised grouping keys (month periods, stripped types, area codes, grid cells) and
    the kind of each key: ``period``, ``type``, ``area`` (the first other key) or ``other``."""
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
    return work, kinds


def _rows_with_keys(work: pd.DataFrame, kinds: dict[str, str]) -> tuple[pd.Series, dict[str, int]]:
    """Rows with every key present, and the counts of rows missing one (by kind)."""
    keep = pd.Series(True, index=work.index)
    stats = {"n_input": len(work), "n_no_area": 0, "n_no_period": 0, "n_unknown_area": 0}
    for key, kind in kinds.items():
        na = work[key].isna()
        if kind == "period":
            stats["n_no_period"] += int((na & keep).sum())
        elif kind == "area":
            stats["n_no_area"] += int((na & keep).sum())
        else:
            stats["n_missing_key"] = stats.get("n_missing_key", 0) + int((na & keep).sum())
        keep &= ~na
    return keep, stats


def _universe(work: pd.DataFrame, key: str, kind: str, keep: pd.Series, areas: Any, periods: Any,
              crime_types: Any, unknown_areas: str, stats: dict[str, int]) -> pd.Index:
    """The levels of one key (given or from the data); values outside it raise, or for areas are
    dropped/kept as ``unknown_areas`` says (``keep`` and ``stats`` updated in place)."""
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
    outside = keep & ~work[key].isin(lv) & work[key].notna()
    if not outside.any():
        return lv
    bad = sorted(map(str, pd.unique(work.loc[outside, key])))
    if kind != "area":
        raise AnalysisError(
            f"{int(outside.sum())} incident(s) have {key} value(s) outside the given universe: {bad[:10]}; "
            f"add them to {'periods' if kind == 'period' else 'crime_types'} or filter the incidents first")
    if unknown_areas == "error":
        raise AnalysisError(
            f"{int(outside.sum())} incident(s) have {key} code(s) not in the area universe: {bad[:10]}"
            f"{' ...' if len(bad) > 10 else ''}; check the boundary vintage, or pass "
            "unknown_areas='drop' (report and drop) or 'keep' (add them)")
    if unknown_areas == "keep":
        return lv.append(pd.Index(bad, dtype=lv.dtype))
    stats["n_unknown_area"] += int(outside.sum())
    keep.loc[outside] = False  # in place: the caller's row mask
    return lv


def _warn_not_counted(stats: dict[str, int]) -> None:
    dropped = stats["n_no_area"] + stats["n_no_period"] + stats["n_unknown_area"] + stats.get("n_missing_key", 0)
    if dropped:
        other = f", empty other key: {stats['n_missing_key']}" if stats.get("n_missing_key") else ""
        warn(f"aggregate: {dropped} of {stats['n_input']} incident(s) not counted "
             f"(no area: {stats['n_no_area']}, no month: {stats['n_no_period']}, unknown area: {stats['n_unknown_area']}"
             f"{other})")


def _count(sel: pd.DataFrame, by: list[str], levels: dict[str, pd.Index]) -> tuple[np.ndarray, np.ndarray]:
    """Counts over the full product of the levels (flat, C order of ``by``) and each row's cell."""
    codes = [np.asarray(pd.Categorical(sel[key], categories=levels[key]).codes, dtype=np.int64) for key in by]
    shape = tuple(len(levels[k]) for k in by)
    size = int(np.prod(shape)) if shape else 0
    flat = np.ravel_multi_index(codes, shape) if size and len(sel) else np.zeros(0, dtype=np.int64)
    return np.bincount(flat, minlength=size).astype(np.int64), flat


def _table(counts: np.ndarray, covered: np.ndarray, levels: dict[str, pd.Index], by: list[str],
           stats: dict[str, int]) -> pd.DataFrame:
    """``count`` (int64, or Int64 with <NA> where no source covers) and ``covered`` per cell."""
    stats["n_outside_coverage"] = int(counts[~covered].sum())
    if stats["n_outside_coverage"]:
        warn(f"aggregate: {stats['n_outside_coverage']} incident(s) fall in area/month/type combinations no source "
             "covers (e.g. a force's records over its border); those rows read <NA> (no data); pass coverage= "
             "to declare what each source covers")
    index = pd.MultiIndex.from_product([levels[k] for k in by], names=by)
    out = pd.DataFrame({"count": counts}, index=index)
    if not covered.all():
        out["count"] = pd.array(np.where(covered, counts, 0), dtype="Int64")
        out.loc[~covered, "count"] = pd.NA
    out["covered"] = covered
    return out


def _add_harm(out: pd.DataFrame, counted: pd.DataFrame, flat: np.ndarray, covered: np.ndarray, harm: Any,
              harm_missing: str) -> str | None:
    """``harm`` (sum of weights per cell; NaN where no source covers); returns the table version."""
    if harm is None or harm is False:
        return None
    table = HarmTable.default() if harm is True else harm
    if not isinstance(table, HarmTable):
        raise InputError("harm must be True (default table) or a HarmTable")
    size = len(out)
    w = harm_weights(counted, table, missing=harm_missing).to_numpy(dtype="float64")
    out["harm"] = np.bincount(flat, weights=np.nan_to_num(w), minlength=size) if size else np.zeros(0)
    if np.isnan(w).any():  # 'nan' policy: a cell containing an unweighted incident has unknown harm
        has_nan = np.bincount(flat, weights=np.isnan(w).astype(float), minlength=size) > 0
        out.loc[has_nan, "harm"] = np.nan
    out.loc[~covered, "harm"] = np.nan
    return table.version


def _add_rates(out: pd.DataFrame, population: Any, area_keys: list[str]) -> None:
    """``population`` and ``rate_per_1000`` (NaN where the population or the count is unknown)."""
    if not area_keys:
        raise InputError("population needs an area column in by")
    pop = _population_series(population, area_keys[0])
    out["population"] = out[area_keys[0]].astype("string").map(pop).astype("float64")
    missing_pop = out["population"].isna() | (out["population"] <= 0)
    if missing_pop.any():
        n = out.loc[missing_pop, area_keys[0]].nunique()
        warn(f"aggregate: {n} area(s) have no (or zero) population; their rate_per_1000 is NaN")
    cnt = out["count"].astype("float64") if out["count"].dtype.kind == "i" else \
        out["count"].to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_per_1000"] = np.where(missing_pop, np.nan, cnt / out["population"].to_numpy() * 1000.0)


def _add_change(out: pd.DataFrame, by: list[str], pk: str) -> pd.DataFrame:
    """Change from the previous period of the same other keys: count_prev, count_change,
    pct_change (NaN when the previous count is 0 or unknown) and harm_change."""
    others = [k for k in by if k != pk]
    out = out.sort_values(others + [pk], kind="stable")
    grp = out.groupby(others, sort=False, observed=True)["count"] if others else out["count"]
    prev = grp.shift(1)
    out["count_prev"] = prev.astype("Int64")
    out["count_change"] = (out["count"] - prev).astype("Int64")
    cur = pd.to_numeric(out["count"]).astype("float64")
    prevf = pd.to_numeric(prev).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (cur - prevf) / prevf * 100.0
    out["pct_change"] = pct.where(prevf > 0)
    if "harm" in out:
        hg = out.groupby(others, sort=False, observed=True)["harm"] if others else out["harm"]
        out["harm_change"] = out["harm"] - hg.shift(1)
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
    # min_count=1: a key with no covered row in a period reads no data (NaN), not 0
    pb = counts[counts[period].isin(b)].groupby(keys, observed=True)[value].sum(min_count=1).rename("before") \
        if keys else pd.Series({"all": counts.loc[counts[period].isin(b), value].sum(min_count=1)}, name="before")
    pa = counts[counts[period].isin(a)].groupby(keys, observed=True)[value].sum(min_count=1).rename("after") \
        if keys else pd.Series({"all": counts.loc[counts[period].isin(a), value].sum(min_count=1)}, name="after")
    out = pd.concat([pb, pa], axis=1).astype("float64")
    out["change"] = out["after"] - out["before"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct_change"] = (out["change"] / out["before"] * 100.0).where(out["before"] > 0)
    return out.reset_index()


def area_totals(counts: pd.DataFrame, area: str, *, value: str = "count", where: Mapping[str, Any] | None = None
                ) -> pd.Series:
    """Sum of ``value`` per area over the covered rows of an :func:`aggregate` result: float, NaN for
    an area with no covered row (no data), never a false 0. ``where`` filters first, e.g.
    ``{"crime_type": "Burglary", "month": ["2024-01", "2024-02"]}``. Ready for
    ``geocrime.maps.internal_map(values=...)``."""
    if area not in counts.columns or value not in counts.columns:
        raise MissingColumnsError([c for c in (area, value) if c not in counts.columns], list(counts.columns), "counts")
    sel = pd.Series(True, index=counts.index)
    for col, want in (where or {}).items():
        if col not in counts.columns:
            raise MissingColumnsError([col], list(counts.columns), "counts (where=)")
        want = [want] if isinstance(want, str) or not isinstance(want, Iterable) else list(want)
        sel &= counts[col].isin(want)
    sub = counts.loc[sel]
    vals = pd.to_numeric(sub[value]).astype("float64")
    if "covered" in sub.columns:
        vals = vals.where(sub["covered"].astype(bool))
    return vals.groupby(sub[area], observed=True).sum(min_count=1).rename(value)
