"""Test data for the maps / tiles / public-page tests.

Gated data comes from the real publish gate (``geocrime.publish.gate``) with anonymous map points
built from the Code-Point Open + FHRS gazetteer of ``_publish_data`` (helper E's test loaders).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

XSS_TEXT = '<script>alert(1)</script>" onmouseover="alert(2)" \'><img src=x onerror=alert(3)>'


@lru_cache(maxsize=2)
def wards_2022(shared_data: Path) -> gpd.GeoDataFrame:
    w = gpd.read_file(shared_data / "london_wards_2022_ons" / "london_wards_2022_E09only.gpkg")
    return w.rename(columns={"WD22CD": "code", "WD22NM": "name"})[["code", "name", "LAD22CD", "geometry"]]


def read_police(files: list[Path]) -> pd.DataFrame:
    df = pd.concat([pd.read_csv(f, dtype="string") for f in files], ignore_index=True)
    return df.dropna(subset=["Longitude", "Latitude"]).reset_index(drop=True)


def run_gate(incidents: pd.DataFrame, shared_data: Path, *, threshold: int = 5,
             area_names: dict[str, str] | None = None):
    """The real gate on ward_2022 (+ borough), map points with k=8 from the test gazetteer."""
    import _publish_data as P

    from geocrime.publish import gate

    w = wards_2022(shared_data)
    if area_names:
        w = w.assign(name=w["code"].map(area_names).fillna(w["name"]))
    return gate(incidents, P.map_points(shared_data), boundaries={"ward_2022": w[["code", "name", "geometry"]]},
                threshold=threshold, layers=("ward_2022",))


@lru_cache(maxsize=4)
def _gated_cached(files: tuple[Path, ...], shared_data: Path, threshold: int):
    return run_gate(read_police(list(files)), shared_data, threshold=threshold)


def gated_from_police_uk(files: list[Path], shared_data: Path, *, threshold: int = 5):
    return _gated_cached(tuple(files), shared_data, threshold)


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
