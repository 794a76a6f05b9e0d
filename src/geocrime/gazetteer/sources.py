"""Gazetteer sources: readers that turn an address-point file into a *source table*.

A source table has the display components (``sub_building``, ``building_name``, ``house_number``,
``street``, ``locality``, ``town``, ``postcode``), ``x``/``y`` (EPSG:27700 metres), ``level`` and
``source``; :meth:`geocrime.gazetteer.Gazetteer.from_sources` builds the gazetteer from several.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._geo import BNG, lonlat_to_bng
from ..address.lexicon import COMPONENTS as _COMPONENTS
from ..errors import DataNotFoundError, FileFormatError, InputError, MissingColumnsError

FORMAT_VERSION = 1

#: every level of the precision ladder, finest first (``street_point`` rows are street members)
LEVELS = ("premises", "street", "postcode_unit", "postcode_sector", "postcode_district", "postcode_area")

#: display component columns of a source table
COMPONENTS = _COMPONENTS

#: default column mapping of a force's LLPG / AddressBase-shaped CSV extract
LLPG_COLUMNS: dict[str, str] = {
    "source_id": "UPRN",
    "sub_building": "SAO",
    "house_number": "PAO",
    "street": "STREET",
    "locality": "LOCALITY",
    "town": "TOWN",
    "postcode": "POSTCODE",
    "x": "EASTING",
    "y": "NORTHING",
}

#: police.uk "On or near X" names that are categories of place, not streets
POLICE_UK_NOT_STREETS = frozenset(
    s.lower()
    for s in (
        "Parking Area", "Supermarket", "Petrol Station", "Shopping Area", "Sports/Recreation Area",
        "Nightclub", "Further/Higher Educational Building", "Hospital", "Police Station",
        "Conference/Exhibition Centre", "Pedestrian Subway", "Theatre/Concert Hall", "Bus/Coach Station",
        "Airport/Airfield", "Prison", "Theme/Adventure Park", "Park/Open Space", "Motorway/Dual Carriageway",
        "Place Of Worship", "Cinema", "Sports Ground",
    )
)

PREMISES_RADIUS_M = 15.0
UNIT_RADIUS_M = 50.0
STREET_MIN_RADIUS_M = 50.0
MAX_STREET_RADIUS_M = 3000.0


def _str(col: Any, n: int) -> pd.Series:
    if col is None:
        return pd.Series([""] * n, dtype="str")
    s = pd.Series(col).reset_index(drop=True)
    return s.astype("str").fillna("").str.strip().replace({"nan": "", "None": "", "<NA>": ""})


def _finish_source(df: pd.DataFrame, source: str, level: str) -> pd.DataFrame:
    n = len(df)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    out["source"] = source
    out["source_id"] = _str(df.get("source_id"), n)
    out["name"] = _str(df.get("name"), n)
    for c in COMPONENTS:
        out[c] = _str(df.get(c), n)
    out["x"] = pd.to_numeric(pd.Series(df["x"]).reset_index(drop=True), errors="coerce").astype("float64")
    out["y"] = pd.to_numeric(pd.Series(df["y"]).reset_index(drop=True), errors="coerce").astype("float64")
    out["level"] = level
    out["radius"] = pd.to_numeric(pd.Series(df["radius"]).reset_index(drop=True), errors="coerce") if "radius" in df else np.nan
    return out


def premises_from_text(text: pd.Series, x: Any, y: Any, source: str, source_id: Any = None,
                       name: Any = None, backend: str = "rules") -> pd.DataFrame:
    """A premises source table from one-line address text (parsed with :func:`geocrime.address.parse_many`).

    ``x`` / ``y`` are EPSG:27700 metres. Rows whose text is empty or a placeholder are dropped.
    """
    from ..address import parse_many

    text = pd.Series(text).reset_index(drop=True).astype("str").fillna("")
    p = parse_many(text, backend=backend).reset_index(drop=True)
    df = pd.DataFrame({c: p[c] for c in COMPONENTS})
    df["x"], df["y"] = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    df["source_id"] = source_id if source_id is not None else np.arange(len(df)).astype(str)
    df["name"] = name if name is not None else ""
    keep = p["parse_status"].isin(["ok", "truncated"]).to_numpy()
    return _finish_source(df[keep].reset_index(drop=True), source, "premises")


def read_address_csv(path: str | Path, columns: Mapping[str, str] | None = None, source: str | None = None,
                     crs: str = BNG) -> pd.DataFrame:
    """Premises from a CSV with one column per component (an LLPG / AddressBase-shaped extract).

    ``columns`` maps our names (``source_id``, ``sub_building``, ``building_name``, ``house_number``,
    ``street``, ``locality``, ``town``, ``postcode``, ``x``, ``y``) to the file's column names
    (default :data:`LLPG_COLUMNS`: UPRN, SAO, PAO, STREET, LOCALITY, TOWN, POSTCODE, EASTING,
    NORTHING). ``crs`` of x/y: EPSG:27700 (default) or EPSG:4326 (x = longitude, y = latitude).
    Rows without valid coordinates are dropped.
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"address CSV not found: {path}")
    mapping = dict(LLPG_COLUMNS if columns is None else columns)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace")
    except Exception as exc:  # noqa: BLE001
        raise FileFormatError(f"cannot read {path} as CSV: {exc}") from exc
    missing = [v for k, v in mapping.items() if k in ("x", "y") and v not in raw.columns]
    if missing:
        raise MissingColumnsError(f"{path.name} lacks coordinate column(s) {missing}; pass columns={{'x': ..., 'y': ...}}")
    df = pd.DataFrame({k: raw[v] for k, v in mapping.items() if v in raw.columns})
    # a PAO like "Rose Court" is a building name, not a number
    if "house_number" in df and "building_name" not in mapping:
        hn = df["house_number"].astype("str")
        isnum = hn.str.match(r"^\s*\d")
        df["building_name"] = hn.where(~isnum, "")
        df["house_number"] = hn.where(isnum, "")
    x = pd.to_numeric(df["x"], errors="coerce").to_numpy(float)
    y = pd.to_numeric(df["y"], errors="coerce").to_numpy(float)
    if str(crs).upper() in ("EPSG:4326", "WGS84"):
        x, y = lonlat_to_bng(x, y)
    df["x"], df["y"] = x, y
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    return _finish_source(df[ok].reset_index(drop=True), source or path.stem, "premises")


def read_fhrs(paths: str | Path | Sequence[str | Path], backend: str = "rules") -> pd.DataFrame:
    """Premises from FSA food-hygiene (FHRS) open-data CSVs (``AddressLine1..4``, ``PostCode``,
    ``Longitude``/``Latitude``). The address lines are joined and parsed; rows without coordinates
    or without any address line are dropped. ``source_id`` is the FHRSID, ``name`` the business name.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    frames = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise DataNotFoundError(f"FHRS file not found: {p}")
        frames.append(pd.read_csv(p, dtype=str, keep_default_na=False))
    f = pd.concat(frames, ignore_index=True)
    need = ["FHRSID", "AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4", "PostCode", "Longitude", "Latitude"]
    miss = [c for c in need if c not in f.columns]
    if miss:
        raise MissingColumnsError(f"not an FHRS file: missing columns {miss}")
    lon = pd.to_numeric(f["Longitude"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(f["Latitude"], errors="coerce").to_numpy(float)
    text = fhrs_text(f)
    # "Address details restricted until the business has been inspected": not an address
    text = text.where(~text.str.contains(r"(?i)address details restricted|address withheld", regex=True), "")
    ok = np.isfinite(lon) & np.isfinite(lat) & (text.str.replace(",", "").str.strip() != "").to_numpy()
    f, text = f[ok].reset_index(drop=True), text[ok].reset_index(drop=True)
    x, y = lonlat_to_bng(lon[ok], lat[ok])
    return premises_from_text(text, x, y, "fhrs", source_id=f["FHRSID"].to_numpy(), name=f.get("BusinessName"), backend=backend)


def fhrs_text(f: pd.DataFrame) -> pd.Series:
    """The one-line address of FHRS rows: non-empty address lines and the postcode, comma-joined."""
    parts = [f[c].astype("str").fillna("").str.strip() for c in ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4", "PostCode")]
    s = parts[0]
    for p in parts[1:]:
        s = s + ", " + p
    return s.str.replace(r"(?:,\s*)+", ", ", regex=True).str.strip(", ")


def read_codepoint(path: str | Path) -> pd.DataFrame:
    """OS Code-Point Open postcode units (``Postcode``, ``Eastings``, ``Northings`` — the product's
    own column names, or a headerless product file in its documented column order)."""
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"Code-Point Open file not found: {path}")
    head = pd.read_csv(path, nrows=0)
    if "Postcode" in head.columns:
        raw = pd.read_csv(path, usecols=["Postcode", "Eastings", "Northings"], dtype={"Postcode": str})
    else:
        raw = pd.read_csv(path, header=None, usecols=[0, 2, 3], names=["Postcode", "Eastings", "Northings"], dtype={"Postcode": str})
    pc = raw["Postcode"].astype("str").str.upper().str.replace(r"\s+", "", regex=True)
    pc = pc.str.slice(0, -3) + " " + pc.str.slice(-3)
    ok = pc.str.fullmatch(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}") & (raw["Eastings"] > 0)
    df = pd.DataFrame({"postcode": pc[ok], "x": raw["Eastings"][ok].astype(float), "y": raw["Northings"][ok].astype(float)})
    df["source_id"] = df["postcode"]
    df["radius"] = UNIT_RADIUS_M
    return _finish_source(df.reset_index(drop=True), "codepoint", "postcode_unit")


def streets_from_police_uk(paths: Iterable[str | Path], postcode_units: pd.DataFrame) -> pd.DataFrame:
    """A street layer from police.uk street-level CSVs: every distinct ``On or near <street>`` snap
    point becomes a ``street_point`` row, with the postcode of its nearest Code-Point unit
    (``postcode_units`` from :func:`read_codepoint`; its district names the street's district).
    Place categories ("Supermarket", "Parking Area" ...) are not streets and are left out.
    """
    from scipy.spatial import cKDTree

    frames = []
    for p in paths:
        d = pd.read_csv(p, usecols=["Longitude", "Latitude", "Location"], dtype={"Location": str})
        frames.append(d)
    if not frames:
        raise InputError("streets_from_police_uk needs at least one police.uk CSV")
    d = pd.concat(frames, ignore_index=True).dropna()
    loc = d["Location"].astype("str")
    on = loc.str.match(r"(?i)^on or near ")
    d = d[on].copy()
    d["street"] = d["Location"].str.replace(r"(?i)^on or near\s+", "", regex=True).str.strip()
    d = d[~d["street"].str.lower().isin(POLICE_UK_NOT_STREETS) & (d["street"] != "")]
    d = d.drop_duplicates(["street", "Longitude", "Latitude"])
    x, y = lonlat_to_bng(d["Longitude"].to_numpy(float), d["Latitude"].to_numpy(float))
    ok = np.isfinite(x) & np.isfinite(y)
    d, x, y = d[ok], x[ok], y[ok]
    units = postcode_units
    tree = cKDTree(np.c_[units["x"].to_numpy(), units["y"].to_numpy()])
    _, j = tree.query(np.c_[x, y])
    out = pd.DataFrame({"street": d["street"].to_numpy(), "x": x, "y": y,
                        "postcode": units["postcode"].to_numpy()[j]})
    out["source_id"] = ""
    return _finish_source(out, "police_uk", "street_point")


def _medoid_groups(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per group of ``keys``: the member nearest the group mean; radius = the distance
    from it to the farthest member (metres)."""
    g = df.groupby(keys, sort=False, dropna=False)
    gid = g.ngroup().to_numpy()
    mx = g["x"].transform("mean").to_numpy()
    my = g["y"].transform("mean").to_numpy()
    d = np.hypot(df["x"].to_numpy() - mx, df["y"].to_numpy() - my)
    order = np.lexsort((d, gid))
    first = order[np.r_[True, gid[order][1:] != gid[order][:-1]]]
    rep = df.iloc[first].copy()
    cx = np.empty(gid.max() + 1 if len(gid) else 0)
    cy = np.empty_like(cx)
    cx[gid[first]] = df["x"].to_numpy()[first]
    cy[gid[first]] = df["y"].to_numpy()[first]
    far = np.zeros_like(cx)
    np.maximum.at(far, gid, np.hypot(df["x"].to_numpy() - cx[gid], df["y"].to_numpy() - cy[gid]))
    rep["radius"] = far[gid[first]]
    rep["members"] = np.bincount(gid)[gid[first]]
    return rep.reset_index(drop=True)


