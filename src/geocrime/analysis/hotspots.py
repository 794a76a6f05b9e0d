"""Local hotspot statistics: Getis-Ord Gi* and local Moran's I, computed by PySAL's esda.

The statistics themselves are esda's (``esda.G_Local`` with ``star=True``, ``esda.Moran_Local``);
this module builds spatial weights from an area layer or grid, checks the input (islands, too few
events, raw counts without a denominator -> :class:`AnalysisWarning`), seeds the permutations, and
controls the false discovery rate (Benjamini-Hochberg on the permutation p-values, on by default)
before classing areas hot / cold / not significant.

Speed: ~0.2 s for 4,994 LSOAs x 999 permutations with esda's numpy path. esda switches to numba
when numba is importable; at this size that costs ~12 s of JIT compilation on the first call of every
process to save ~0.1 s per call (measured in benchmarks/bench_analysis.py), so geocrime does not
depend on numba. Note: the numba and numpy paths draw different permutations, so a given ``seed``
reproduces results within one environment, not across environments with and without numba.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats

from ..errors import AnalysisError, InputError
from ._common import warn

__all__ = ["getis_ord", "local_moran", "spatial_weights", "HotspotResult", "fdr_adjust"]

NOT_SIG = "not significant"


def fdr_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) via ``scipy.stats.false_discovery_control``."""
    p = np.asarray(p, dtype="float64")
    if p.size == 0:
        return p
    return stats.false_discovery_control(np.clip(p, 0.0, 1.0), method="bh")


def spatial_weights(areas: gpd.GeoDataFrame, kind: str = "queen", *, threshold: float | None = None,
                    ids: str | None = None):
    """libpysal weights for an area layer or grid (EPSG:27700).

    ``kind``: ``"queen"``/``"rook"`` contiguity (libpysal ``Queen``/``Rook.from_dataframe``), or
    ``"distance"`` (``DistanceBand`` on centroids within ``threshold`` metres, binary). For grids made
    by :func:`square_grid`/:func:`hex_grid` queen contiguity is computed on cell centres
    (``DistanceBand`` at just over the neighbour spacing), which is exact and much faster.
    """
    import libpysal

    if not isinstance(areas, gpd.GeoDataFrame):
        raise InputError("areas must be a GeoDataFrame of polygons (EPSG:27700)")
    if len(areas) < 2:
        raise AnalysisError(f"spatial weights need at least 2 areas; got {len(areas)}")
    spec = areas.attrs.get("geocrime_grid")
    id_list = list(areas[ids]) if ids else list(range(len(areas)))
    if spec and kind in ("queen", "rook") and "cell_id" in areas.columns:
        cx = shapely.get_x(shapely.centroid(areas.geometry.values))
        cy = shapely.get_y(shapely.centroid(areas.geometry.values))
        s = spec["size"]
        if spec["kind"] == "square":
            thr = s * (np.sqrt(2) if kind == "queen" else 1.0) * 1.001
        else:
            thr = np.sqrt(3) * s * 1.001
        return libpysal.weights.DistanceBand(np.c_[cx, cy], threshold=thr, binary=True, ids=id_list,
                                             silence_warnings=True)
    if kind == "queen":
        return libpysal.weights.Queen.from_dataframe(areas, ids=id_list if ids else None, use_index=False,
                                                     silence_warnings=True)
    if kind == "rook":
        return libpysal.weights.Rook.from_dataframe(areas, ids=id_list if ids else None, use_index=False,
                                                    silence_warnings=True)
    if kind == "distance":
        if threshold is None or threshold <= 0:
            raise InputError("kind='distance' needs threshold= (metres)")
        c = shapely.centroid(areas.geometry.values)
        return libpysal.weights.DistanceBand(np.c_[shapely.get_x(c), shapely.get_y(c)], threshold=threshold,
                                             binary=True, ids=id_list, silence_warnings=True)
    raise InputError(f"kind must be 'queen', 'rook' or 'distance'; got {kind!r}")


@dataclass
class HotspotResult:
    """Result of :func:`getis_ord` / :func:`local_moran`, one entry per area (order of ``ids``).

    Attributes: ``z`` (Gi* z-score, or local Moran's standardised I from the permutations), ``p_sim``
    (pseudo p-value from the seeded permutations, esda's folded one-sided definition), ``p_norm``
    (analytical normal p-value; Gi* only, NaN for Moran), ``q`` (Benjamini-Hochberg adjusted p_sim when
    ``fdr``, else p_sim), ``significant`` (q <= alpha), ``classes`` ("hot"/"cold"/"not significant" for
    Gi*; "HH"/"LL"/"HL"/"LH"/"not significant" for Moran), and the esda object in ``esda``.
    """

    statistic: str
    ids: pd.Index
    y: np.ndarray
    z: np.ndarray
    p_sim: np.ndarray
    p_norm: np.ndarray
    q: np.ndarray
    significant: np.ndarray
    classes: np.ndarray
    alpha: float
    fdr: bool
    permutations: int
    seed: int | None
    w: Any = field(repr=False)
    esda: Any = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table indexed by area id: y, z, p_sim, p_norm, q, significant, class."""
        return pd.DataFrame(
            {"y": self.y, "z": self.z, "p_sim": self.p_sim, "p_norm": self.p_norm, "q": self.q,
             "significant": self.significant, "class": self.classes},
            index=self.ids,
        )

    def counts(self) -> pd.Series:
        return pd.Series(self.classes).value_counts()


def _prepare(values: Any, areas: Any, w: Any, denominator: Any, kind: str, id_col: str | None,
             min_events: int, what: str) -> tuple[np.ndarray, Any, pd.Index]:
    if isinstance(values, str):
        if not isinstance(areas, pd.DataFrame) or values not in areas.columns:
            raise InputError(f"values={values!r} names a column, but areas has no such column")
        values = areas[values]
    if isinstance(denominator, str):
        if not isinstance(areas, pd.DataFrame) or denominator not in areas.columns:
            raise InputError(f"denominator={denominator!r} names a column, but areas has no such column")
        denominator = areas[denominator]
    if w is None:
        if areas is None:
            raise InputError(f"{what}: give areas (GeoDataFrame) or w (libpysal weights)")
        w = spatial_weights(areas, kind, ids=id_col)
    y_raw = pd.Series(values)
    if id_col is None and isinstance(areas, pd.DataFrame) and "code" in areas.columns:
        id_col = "code"
    if isinstance(areas, pd.DataFrame) and isinstance(values, pd.Series) and not values.index.equals(areas.index):
        # a Series keyed by area code is aligned to the areas' order, never taken positionally
        if id_col is None:
            raise InputError(f"{what}: values is a Series whose index is not the areas' index; pass id_col= "
                             "(the areas' code column) to align by code, or pass a plain array")
        codes = pd.Index(areas[id_col])
        unknown = values.index.difference(codes)
        if len(unknown):
            raise AnalysisError(f"{what}: {len(unknown)} value(s) for codes not in areas[{id_col!r}]: "
                                f"{list(map(str, unknown[:5]))}")
        y_raw = values.reindex(codes)
    ids = pd.Index(areas[id_col]) if (isinstance(areas, pd.DataFrame) and id_col) else pd.Index(y_raw.index)
    y = pd.to_numeric(y_raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if len(y) != w.n:
        raise InputError(f"{what}: {len(y)} values for {w.n} areas in the weights; align values to the areas")
    if np.isnan(y).any():
        raise AnalysisError(f"{what}: {int(np.isnan(y).sum())} area(s) have no value (NaN); fill zero counts "
                            "(aggregate() does) or drop the areas")
    if (y < 0).any():
        raise AnalysisError(f"{what}: negative values are not counts or rates")
    total = float(y.sum())
    if denominator is not None:
        d = pd.to_numeric(pd.Series(denominator), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        if d.shape != y.shape:
            raise InputError(f"{what}: denominator has {d.shape[0]} values for {y.shape[0]} areas")
        bad = ~np.isfinite(d) | (d <= 0)
        if bad.any():
            raise AnalysisError(f"{what}: {int(bad.sum())} area(s) have a missing or zero denominator")
        y = y / d
    elif np.allclose(y, np.round(y)):
        warn(f"{what}: values look like raw counts and no denominator was given: hotspots of counts largely "
             "follow area size/population; pass denominator= (population, dwellings, area) to test rates")
    if total == 0:
        raise AnalysisError(f"{what}: every value is zero - there are no events to find hotspots in")
    if denominator is None and total < min_events:
        warn(f"{what}: only {total:g} events over {len(y)} areas (< {min_events}): permutation inference is "
             "unreliable; aggregate to larger areas or a longer period")
    if w.islands:
        warn(f"{what}: {len(w.islands)} island(s) with no neighbours (e.g. {list(w.islands)[:5]}): their "
             "statistics are not meaningful and they are classed 'not significant'")
    return y, w, ids


def _finish(statistic, y, ids, z, p_sim, p_norm, alpha, fdr, permutations, seed, w, obj, classes_fn):
    n = len(y)
    if fdr and 1.0 / (permutations + 1) > alpha / n * 10:
        # BH can only reject the k smallest p-values if p_(k) <= alpha*k/n; the smallest possible
        # permutation p-value is 1/(permutations+1), so few permutations make FDR control near-blind.
        warn(f"{statistic}: with {n} areas, {permutations} permutations give a smallest p-value of "
             f"{1 / (permutations + 1):.2g}, so FDR control at alpha={alpha} can only flag areas if many share it; "
             f"use permutations >= {int(np.ceil(n / alpha))} for full resolution, or fdr=False to see raw p_sim")
    q = fdr_adjust(p_sim) if fdr else np.asarray(p_sim, dtype="float64")
    significant = q <= alpha
    if w.islands:
        isl = np.isin(np.asarray(w.id_order, dtype=object), np.asarray(list(w.islands), dtype=object))
        significant &= ~isl
    classes = classes_fn(significant)
    return HotspotResult(statistic, ids, y, np.asarray(z), np.asarray(p_sim), np.asarray(p_norm), q, significant,
                         classes, alpha, fdr, permutations, seed, w, obj)


def getis_ord(
    values: Any,
    areas: gpd.GeoDataFrame | None = None,
    *,
    w: Any = None,
    id_col: str | None = None,
    denominator: Any = None,
    permutations: int = 999,
    seed: int | None = 12345,
    alpha: float = 0.05,
    fdr: bool = True,
    transform: str = "B",
    kind: str = "queen",
    n_jobs: int = 1,
    min_events: int = 30,
) -> HotspotResult:
    """Getis-Ord Gi* (esda ``G_Local(star=True)``) per area with seeded permutation inference.

    ``values``: counts or rates per area (array/Series in the order of ``areas``, or a column name of
    ``areas``); ``denominator`` (array or column) turns counts into rates. Weights: ``w`` (libpysal),
    else built from ``areas`` (``kind``: queen/rook contiguity; grids: cell adjacency), binary
    (``transform="B"``) by default. Classes: ``hot`` (z > 0) / ``cold`` (z < 0) where the FDR-adjusted
    permutation p-value ``q <= alpha``. ``n_jobs=1`` keeps results reproducible for a given ``seed``.
    """
    import esda

    y, w, ids = _prepare(values, areas, w, denominator, kind, id_col, min_events, "getis_ord")
    if permutations < 1:
        raise InputError("permutations must be >= 1 (e.g. 999)")
    g = esda.G_Local(y, w, transform=transform, permutations=permutations, star=True, keep_simulations=False,
                     n_jobs=n_jobs, seed=seed)
    z = np.asarray(g.Zs, dtype="float64")

    def classes(sig: np.ndarray) -> np.ndarray:
        return np.where(sig & (z > 0), "hot", np.where(sig & (z < 0), "cold", NOT_SIG)).astype(object)

    return _finish("Gi*", y, ids, z, g.p_sim, g.p_norm, alpha, fdr, permutations, seed, w, g, classes)


def local_moran(
    values: Any,
    areas: gpd.GeoDataFrame | None = None,
    *,
    w: Any = None,
    id_col: str | None = None,
    denominator: Any = None,
    permutations: int = 999,
    seed: int | None = 12345,
    alpha: float = 0.05,
    fdr: bool = True,
    transform: str = "r",
    kind: str = "queen",
    n_jobs: int = 1,
    min_events: int = 30,
) -> HotspotResult:
    """Local Moran's I (esda ``Moran_Local``), row-standardised weights by default, seeded permutations.

    Classes: ``HH`` (high among high: a hotspot), ``LL``, ``HL``, ``LH`` where the FDR-adjusted
    permutation p-value ``q <= alpha``; ``z`` is esda's ``z_sim``; ``p_norm`` is NaN (no analytical p).
    """
    import esda

    y, w, ids = _prepare(values, areas, w, denominator, kind, id_col, min_events, "local_moran")
    if np.all(y == y[0]):
        raise AnalysisError("local_moran: every area has the same value; Moran's I is undefined")
    m = esda.Moran_Local(y, w, transformation=transform, permutations=permutations, keep_simulations=True,
                         n_jobs=n_jobs, seed=seed)
    quad = np.asarray(m.q)
    labels = np.array([NOT_SIG, "HH", "LH", "LL", "HL"], dtype=object)

    def classes(sig: np.ndarray) -> np.ndarray:
        return np.where(sig, labels[quad], NOT_SIG).astype(object)

    return _finish("local Moran", y, ids, m.z_sim, m.p_sim, np.full(len(y), np.nan), alpha, fdr, permutations,
                   seed, w, m, classes)
