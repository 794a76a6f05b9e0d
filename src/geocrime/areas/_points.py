"""Ward / LSOA codes of points for the geocoder (private).

Uses :func:`geocrime.areas.assign_areas` when a :class:`geocrime.areas.Boundaries` is given, or a
plain mapping of GeoDataFrames (``code`` column) with shapely's STRtree. One function, so the
geocoder does not care which.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def _layer_names(boundaries: Any) -> dict[str, Any]:
    if isinstance(boundaries, dict):
        return dict(boundaries)
    names = list(getattr(boundaries, "names", None) or getattr(boundaries, "layers", None) or [])
    if callable(names):
        names = list(names())
    out = {}
    for kind in ("ward", "lsoa"):
        cand = [n for n in names if str(n).startswith(kind)]
        if cand:
            out[kind] = boundaries.layer(sorted(cand)[0])
    return out


def point_codes(x: np.ndarray, y: np.ndarray, boundaries: Any) -> dict[str, np.ndarray]:
    """{"ward": codes, "lsoa": codes} (object arrays, None for points in no polygon) for EPSG:27700 points."""
    import shapely

    layers = _layer_names(boundaries)
    pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
    out: dict[str, np.ndarray] = {}
    for kind, gdf in layers.items():
        if gdf is None:
            continue
        if gdf.crs is not None and gdf.crs.to_epsg() != 27700:
            gdf = gdf.to_crs(27700)
        codes = gdf["code"].to_numpy(dtype=object)
        res = np.full(len(pts), None, dtype=object)
        ok = np.isfinite(np.asarray(x, float)) & np.isfinite(np.asarray(y, float))
        tree = shapely.STRtree(gdf.geometry.values)
        pi, gi = tree.query(pts[ok], predicate="intersects")
        # deterministic rule on shared edges: the polygon listed first wins
        order = np.lexsort((gi, pi))
        pi, gi = pi[order], gi[order]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
        res[np.flatnonzero(ok)[pi[first]]] = codes[gi[first]]
        out[kind] = res
    return out


def default_boundaries() -> dict[str, Any]:
    """Ward 2022 and LSOA 2021 layers from the data directory (``code`` column, EPSG:27700)."""
    try:
        from ._assign import Boundaries  # type: ignore[attr-defined]

        return Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    except Exception:  # noqa: BLE001  (areas not available: read the files directly)
        import geopandas as gpd

        from ..config import data_dir

        d = data_dir(required=True)
        w = gpd.read_file(d / "london_wards_2022_ons" / "london_wards_2022_E09only.gpkg")
        lsoa = gpd.read_file(d / "london_lsoa_2021_ons" / "london-2021-lsoa-gen20.shp")
        w = w.rename(columns={c: "code" for c in w.columns if c.upper() in ("WD22CD", "GSS_CODE")})
        lsoa = lsoa.rename(columns={c: "code" for c in lsoa.columns if c.upper() in ("LSOA21CD",)})
        return {"ward": w.to_crs(27700)[["code", "geometry"]], "lsoa": lsoa.to_crs(27700)[["code", "geometry"]]}
