"""Loaders and the attacker for the publish-gate tests (helper module, not collected).

The gazetteer for the tests: OS Code-Point Open postcode units (each counted as ONE address, a
conservative lower bound: a unit holds ~15 delivery points) plus FSA FHRS premises.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from geocrime._geo import lonlat_to_bng


@lru_cache(maxsize=2)
def gazetteer(shared_data: Path) -> gpd.GeoDataFrame:
    cp = pd.read_csv(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz",
                     usecols=["Postcode", "Eastings", "Northings"])
    fh = pd.read_csv(shared_data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv",
                     usecols=["FHRSID", "Longitude", "Latitude"])
    fh = fh.dropna(subset=["Longitude", "Latitude"])
    fx, fy = lonlat_to_bng(fh["Longitude"], fh["Latitude"])
    ids = np.concatenate(["cp:" + cp["Postcode"].astype(str).to_numpy(), "fhrs:" + fh["FHRSID"].astype(str).to_numpy()])
    x = np.concatenate([cp["Eastings"].to_numpy(float), fx])
    y = np.concatenate([cp["Northings"].to_numpy(float), fy])
    return gpd.GeoDataFrame({"address_id": ids}, geometry=gpd.points_from_xy(x, y), crs=27700)


@lru_cache(maxsize=2)
def map_points(shared_data: Path, k: int = 8):
    from geocrime.publish import build_map_points

    return build_map_points(gazetteer(shared_data), k=k, id_col="address_id")


@lru_cache(maxsize=2)
def met(shared_data: Path) -> pd.DataFrame:
    files = sorted((shared_data / "policeuk_met_burglary_street").glob("*-metropolitan-street.csv"))
    return pd.concat([pd.read_csv(f, dtype="string") for f in files], ignore_index=True)


@lru_cache(maxsize=2)
def city(shared_data: Path) -> pd.DataFrame:
    files = sorted((shared_data / "policeuk_city_of_london_street").glob("*-city-of-london-street.csv"))
    return pd.concat([pd.read_csv(f, dtype="string") for f in files], ignore_index=True)


def real_coordinates(shared_data: Path, *incident_frames: pd.DataFrame) -> np.ndarray:
    """Every real coordinate an attacker holds (EPSG:27700): gazetteer addresses + police.uk incident positions."""
    addr = gazetteer(shared_data)
    xy = [np.c_[addr.geometry.x.to_numpy(), addr.geometry.y.to_numpy()]]
    for df in incident_frames:
        x, y = lonlat_to_bng(pd.to_numeric(df["Longitude"], errors="coerce").to_numpy(float),
                             pd.to_numeric(df["Latitude"], errors="coerce").to_numpy(float))
        ok = np.isfinite(x) & np.isfinite(y)
        xy.append(np.c_[x[ok], y[ok]])
    return np.concatenate(xy)


def point_attack(gd, mp, shared_data: Path, *incident_frames: pd.DataFrame):
    """The point attack (geocrime.publish.attack.point_attack) on a gated release: catchments as the
    attacker recomputes them with the open-source map-point code on the same open address data."""
    from geocrime.publish.attack import point_attack as attack

    addr = gazetteer(shared_data)
    px, py = lonlat_to_bng(gd.points["lon"].to_numpy(float), gd.points["lat"].to_numpy(float))
    pub = pd.DataFrame({"map_point_id": gd.points["map_point_id"].to_numpy(), "x": px, "y": py})
    axy = np.c_[addr.geometry.x.to_numpy(), addr.geometry.y.to_numpy()]
    return attack(pub, axy, mp.address_point.to_numpy(), real_coordinates(shared_data, *incident_frames),
                  k=int(mp.params["k"]))
