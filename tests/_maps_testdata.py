"""Test data for the maps / tiles / public-page tests.

``gated_from_police_uk`` uses the real publish gate (``geocrime.publish.gate``) when it is available.
Until it lands, ``_stand_in_gate`` builds a GatedData **in tests only** with the private
``_GATE_TOKEN``: police.uk rows are already snapped to police.uk's anonymous map points, so
map_point = (Longitude, Latitude); ward counts are suppressed below a threshold. It exists only so
the writers can be tested against the GatedData contract; library code never does this.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geocrime.publish._types import POINT_COLUMNS, GatedData

XSS_TEXT = '<script>alert(1)</script>" onmouseover="alert(2)" \'><img src=x onerror=alert(3)>'


@lru_cache(maxsize=2)
def wards_2022(shared_data: Path) -> gpd.GeoDataFrame:
    w = gpd.read_file(shared_data / "london_wards_2022_ons" / "london_wards_2022_E09only.gpkg")
    return w.rename(columns={"WD22CD": "code", "WD22NM": "name"})[["code", "name", "LAD22CD", "geometry"]]


def read_police(files: list[Path]) -> pd.DataFrame:
    df = pd.concat([pd.read_csv(f, dtype="string") for f in files], ignore_index=True)
    return df.dropna(subset=["Longitude", "Latitude"]).reset_index(drop=True)


def _stand_in_gate(df: pd.DataFrame, wards: gpd.GeoDataFrame, threshold: int = 3,
                   area_names: dict[str, str] | None = None) -> GatedData:
    """TEST-ONLY stand-in for the publish gate (see module docstring)."""
    from geocrime.publish._types import _GATE_TOKEN  # test-only use of the private token

    lon = df["Longitude"].astype("float64")
    lat = df["Latitude"].astype("float64")
    key = lon.round(6).astype(str) + "," + lat.round(6).astype(str)
    pid = key.map(lambda k: hashlib.sha1(k.encode()).hexdigest()[:12])
    pts = pd.DataFrame({"map_point_id": pid, "lon": lon, "lat": lat, "month": df["Month"].astype(str),
                        "crime_type": df["Crime type"].astype(str), "count": 1})
    pts = (pts.groupby(["map_point_id", "lon", "lat", "month", "crime_type"], as_index=False)["count"].sum())
    pts = pts[list(POINT_COLUMNS)]
    g = gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts.lon, pts.lat), crs=4326).to_crs(27700)
    j = gpd.sjoin(g, wards[["code", "geometry"]], how="inner", predicate="within")
    ac = j.groupby(["code", "month", "crime_type"], as_index=False)["count"].sum()
    ac = ac.rename(columns={"code": "area_code"})
    # zero-fill the ward x month universe so empty wards show as 0
    full = pd.MultiIndex.from_product([wards["code"], sorted(pts.month.unique()), sorted(pts.crime_type.unique())],
                                      names=["area_code", "month", "crime_type"])
    ac = ac.set_index(["area_code", "month", "crime_type"]).reindex(full, fill_value=0).reset_index()
    ac["suppressed"] = (ac["count"] > 0) & (ac["count"] < threshold)
    ac["count"] = ac["count"].astype("Int64").mask(ac["suppressed"])
    geoms = wards.rename(columns={"code": "area_code", "name": "area_name"})[["area_code", "area_name", "geometry"]]
    if area_names:
        geoms = geoms.assign(area_name=geoms["area_code"].map(area_names).fillna(geoms["area_name"]))
    geoms = geoms.to_crs(4326)
    return GatedData(points=pts.reset_index(drop=True), area_counts={"ward_2022": ac},
                     area_geometries={"ward_2022": geoms}, params={"k": 8, "threshold": threshold,
                                                                   "stand_in": True},
                     report={}, _token=_GATE_TOKEN)


def gated_from_police_uk(files: list[Path], shared_data: Path, *, threshold: int = 3,
                         area_names: dict[str, str] | None = None) -> GatedData:
    df = read_police(files)
    return _stand_in_gate(df, wards_2022(shared_data), threshold=threshold, area_names=area_names)


def png_stats(path: Path) -> dict[str, int]:
    """Pixel counts of a screenshot: total, non-background, reddish (points), choropleth blues."""
    from PIL import Image

    a = np.asarray(Image.open(path).convert("RGB")).astype(int)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    bg = np.all(np.abs(a - a[2, 2]) < 6, axis=-1)
    return {
        "pixels": int(a.shape[0] * a.shape[1]),
        "non_background": int((~bg).sum()),
        "red": int(((r > 150) & (g < 120) & (b < 120)).sum()),
        "blue": int(((b > r + 25) & (b > 120)).sum()),
        "colours": int(len(np.unique(a.reshape(-1, 3), axis=0))),
    }
