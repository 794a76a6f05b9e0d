"""Small loaders for the analysis tests, on the project's own readers: police.uk CSVs through
``geocrime.io.read_police_uk`` and area codes through ``geocrime.areas`` (``Boundaries`` from the data
registry, ``assign_areas``). Boundaries are loaded once per test session."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import geopandas as gpd

from geocrime.areas import Boundaries, assign_areas
from geocrime.io import read_police_uk


def read_police_uk_csvs(files: list[Path]) -> gpd.GeoDataFrame:
    """police.uk rows (every row kept; ``status``, ``month`` added; EPSG:27700)."""
    return read_police_uk([str(f) for f in files])


@lru_cache(maxsize=2)
def boundaries(shared_data: Path) -> Boundaries:
    os.environ.setdefault("GEOCRIME_DATA_DIR", str(shared_data))
    return Boundaries.from_registry(["ward_2024", "lsoa_2021", "borough"])


def wards_2024(shared_data: Path) -> gpd.GeoDataFrame:
    """The 704 London wards (Dec 2024): ``code``, ``name``, geometry in EPSG:27700."""
    return boundaries(shared_data).layer("ward_2024")


def lsoas_2021(shared_data: Path) -> gpd.GeoDataFrame:
    """The 4,994 London LSOAs (2021): ``code``, ``name``, geometry in EPSG:27700."""
    return boundaries(shared_data).layer("lsoa_2021")


def borough(shared_data: Path, code: str) -> gpd.GeoDataFrame:
    b = boundaries(shared_data).layer("borough")
    return b[b["code"] == code]


def with_areas(points: gpd.GeoDataFrame, shared_data: Path, layers=("ward_2024",)) -> gpd.GeoDataFrame:
    """Add one code column per layer (``ward_2024``...) and ``area_status``; rows in = rows out."""
    return assign_areas(points, boundaries(shared_data), list(layers))


def london_grid_250(shared_data: Path):
    """The issue-20 protocol grid: 250 m square cells over the 33 London boroughs (EPSG:27700)."""
    from geocrime.analysis import SquareGrid

    b = gpd.read_file(shared_data / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp").to_crs(27700)
    return SquareGrid.from_extent(b, 250)
