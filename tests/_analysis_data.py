"""Small loaders for the analysis tests: police.uk CSVs read with pandas and wards assigned with a
plain geopandas sjoin. Kept in one place so they can switch to geocrime.io.read_police_uk and
geocrime.areas.assign_areas once those land."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geocrime._geo import as_points


def read_police_uk_csvs(files: list[Path]) -> gpd.GeoDataFrame:
    df = pd.concat([pd.read_csv(f, dtype="string") for f in files], ignore_index=True)
    gdf, status = as_points(df)
    gdf["status"] = status
    return gdf


@lru_cache(maxsize=4)
def wards_2024(shared_data: Path) -> gpd.GeoDataFrame:
    w = gpd.read_file(shared_data / "london_wards_2024_ons" / "london_wards_2024.shp")
    w = w.rename(columns={"WD24CD": "code", "WD24NM": "name"})[["code", "name", "LAD24CD", "geometry"]]
    return w.to_crs(27700)


@lru_cache(maxsize=4)
def lsoas_2021(shared_data: Path) -> gpd.GeoDataFrame:
    g = gpd.read_file(shared_data / "london_lsoa_2021_ons" / "london-2021-lsoa-gen20.shp")
    return g.rename(columns={"LSOA21CD": "code", "LSOA21NM": "name"}).to_crs(27700)


def with_wards(points: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, col: str = "ward_2024") -> gpd.GeoDataFrame:
    """Add ``col`` (ward code or NA) to every row (rows in = rows out, same order)."""
    j = gpd.sjoin(points[[points.geometry.name]], wards[["code", "geometry"]], how="left", predicate="within")
    j = j[~j.index.duplicated(keep="first")]
    out = points.copy()
    out[col] = j["code"].reindex(points.index).astype("string")
    return out
