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

#: version of the saved gazetteer layout (2: ``borough``, ``street_id``, ``landmark_kind``, ``k_landmark``,
#: ``k_area`` columns; ``landmark``, ``locality``, ``borough`` levels; street rows per (street, borough))
FORMAT_VERSION = 2

#: every level of the precision ladder, finest first (``street_point`` rows are street members, not a level)
LEVELS = ("premises", "landmark", "street", "postcode_unit", "postcode_sector", "locality", "postcode_district",
          "borough", "postcode_area")
#: row kinds that are members of a ladder level, not a level themselves
MEMBER_LEVELS = ("street_point",)

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
#: default radius of a landmark (a station's footprint and entrances), metres
LANDMARK_RADIUS_M = 150.0
#: default radius of a locality (covers 98.5% of real addresses naming one: docs/stages/places.md)
LOCALITY_RADIUS_M = 3000.0
#: spacing of the points read along an OpenStreetMap way, metres
OSM_SPACING_M = 50.0


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
    out["borough"] = _str(df.get("borough"), n)
    out["landmark_kind"] = _str(df.get("landmark_kind"), n)
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
    own column names, or a headerless product file in its documented column order). ``borough`` is
    the unit's admin district code (``Admin_district_code``: the LAD code, e.g. ``E09000022``)."""
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"Code-Point Open file not found: {path}")
    head = pd.read_csv(path, nrows=0)
    if "Postcode" in head.columns:
        cols = ["Postcode", "Eastings", "Northings"] + (["Admin_district_code"] if "Admin_district_code" in head.columns else [])
        raw = pd.read_csv(path, usecols=cols, dtype={"Postcode": str, "Admin_district_code": str})
    else:
        # the product's headerless layout: PC, PQ, EA, NO, CY, RH, LH, CC, DC (admin district), WC
        ncol = len(head.columns)
        use = [0, 2, 3] + ([8] if ncol > 8 else [])
        names = ["Postcode", "Eastings", "Northings"] + (["Admin_district_code"] if ncol > 8 else [])
        raw = pd.read_csv(path, header=None, usecols=use, names=names, dtype={"Postcode": str, "Admin_district_code": str})
    pc = raw["Postcode"].astype("str").str.upper().str.replace(r"\s+", "", regex=True)
    pc = pc.str.slice(0, -3) + " " + pc.str.slice(-3)
    ok = pc.str.fullmatch(r"[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}") & (raw["Eastings"] > 0)
    df = pd.DataFrame({"postcode": pc[ok], "x": raw["Eastings"][ok].astype(float), "y": raw["Northings"][ok].astype(float)})
    if "Admin_district_code" in raw:
        df["borough"] = raw["Admin_district_code"][ok].fillna("").astype("str")
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


# ---------------------------------------------------------------------------------- street layers
def _read_csv(path: Path, what: str, **kw: Any) -> pd.DataFrame:
    if not path.exists():
        raise DataNotFoundError(f"{what} not found: {path}")
    try:
        return pd.read_csv(path, **kw)
    except Exception as exc:  # noqa: BLE001
        raise FileFormatError(f"cannot read {path} as a {what} CSV: {exc}") from exc


def _title(s: pd.Series) -> pd.Series:
    """Upper-case names ("RYE LANE", "ST JOHN'S ROAD") title-cased for display ("Rye Lane", "St John's Road")."""
    t = s.astype("str").str.strip().str.title()
    return t.str.replace(r"'S\b", "'s", regex=True)


def _borough_codes(names: pd.Series) -> pd.Series:
    """Borough / district names ("Southwark", "London Borough of Southwark", "City of Westminster") to
    their LAD codes by the packaged place lexicon; a value that already is a code stays; '' when unknown."""
    from ..address.places import default_places, place_key

    lex = default_places()
    t = lex.table[lex.table["kind"] == "borough"]
    one = t[~t["boroughs"].str.contains("|", regex=False)].drop_duplicates("key")
    lut = pd.Series(one["boroughs"].to_numpy(), index=one["key"].to_numpy())
    s = names.astype("str").fillna("").str.strip()
    is_code = s.str.fullmatch(r"[EWSN][0-9]{8}")
    got = lut.reindex(place_key(s).to_numpy()).to_numpy(dtype=object)
    out = np.where(is_code.to_numpy(), s.to_numpy(dtype=object), got)
    return pd.Series(out, index=names.index, dtype=object).fillna("").astype("str")


def read_streets_ppd(path: str | Path, codepoint_units: pd.DataFrame) -> pd.DataFrame:
    """A street layer from a postcode -> street table (``postcode``, ``street``, optional ``lad_code``):
    one ``street_point`` per (street, postcode unit) at the unit's Code-Point point (``codepoint_units``
    from :func:`read_codepoint`), street name title-cased for display, ``borough`` the unit's admin
    district (else the file's ``lad_code``). Rows whose postcode is not a Code-Point unit are dropped.

    Radius: :data:`UNIT_RADIUS_M` per point; the street rows built from these points cover their
    extent (see :meth:`geocrime.gazetteer.Gazetteer.from_sources`).
    """
    path = Path(path)
    raw = _read_csv(path, "postcode->street table", dtype=str, keep_default_na=False)
    miss = [c for c in ("postcode", "street") if c not in raw.columns]
    if miss:
        raise MissingColumnsError(f"{path.name} lacks column(s) {miss}; a postcode->street table has postcode, street")
    pc = raw["postcode"].str.upper().str.replace(r"\s+", "", regex=True)
    pc = pc.str.slice(0, -3) + " " + pc.str.slice(-3)
    units = codepoint_units.drop_duplicates("postcode").set_index("postcode")
    pos = units.index.get_indexer(pc)
    ok = (pos >= 0) & (raw["street"].str.strip() != "").to_numpy()
    j = pos[ok]
    ub = units["borough"].to_numpy(dtype=object)[j] if "borough" in units else np.full(len(j), "", dtype=object)
    fb = raw["lad_code"].to_numpy(dtype=object)[ok] if "lad_code" in raw else np.full(len(j), "", dtype=object)
    df = pd.DataFrame({
        "street": _title(raw["street"][ok]).to_numpy(), "postcode": pc[ok].to_numpy(),
        "x": units["x"].to_numpy(float)[j], "y": units["y"].to_numpy(float)[j],
        "borough": np.where(pd.Series(ub).fillna("").astype(str) != "", ub, fb),
        "source_id": pc[ok].to_numpy(), "radius": UNIT_RADIUS_M,
    })
    return _finish_source(df.drop_duplicates(["street", "postcode"]).reset_index(drop=True), "streets_ppd", "street_point")


#: OS Open Names CSV columns in the product's documented order (the data files have no header row)
OPEN_NAMES_COLUMNS: tuple[str, ...] = (
    "ID", "NAMES_URI", "NAME1", "NAME1_LANG", "NAME2", "NAME2_LANG", "TYPE", "LOCAL_TYPE", "GEOMETRY_X", "GEOMETRY_Y",
    "MOST_DETAIL_VIEW_RES", "LEAST_DETAIL_VIEW_RES", "MBR_XMIN", "MBR_YMIN", "MBR_XMAX", "MBR_YMAX",
    "POSTCODE_DISTRICT", "POSTCODE_DISTRICT_URI", "POPULATED_PLACE", "POPULATED_PLACE_URI", "POPULATED_PLACE_TYPE",
    "DISTRICT_BOROUGH", "DISTRICT_BOROUGH_URI", "DISTRICT_BOROUGH_TYPE", "COUNTY_UNITARY", "COUNTY_UNITARY_URI",
    "COUNTY_UNITARY_TYPE", "REGION", "REGION_URI", "COUNTRY", "COUNTRY_URI", "RELATED_SPATIAL_OBJECT",
    "SAME_AS_DBPEDIA", "SAME_AS_GEONAMES",
)


def read_open_names(paths: str | Path | Sequence[str | Path], local_types: Sequence[str] = ("Named Road",)) -> pd.DataFrame:
    """Streets from OS Open Names CSV files (headerless product files in the documented column order
    :data:`OPEN_NAMES_COLUMNS`, or with that header row): the rows whose ``LOCAL_TYPE`` is in
    ``local_types`` become ``street_point`` rows at ``GEOMETRY_X/Y`` (EPSG:27700), street ``NAME1``,
    locality ``POPULATED_PLACE``, postcode district ``POSTCODE_DISTRICT`` and borough from
    ``DISTRICT_BOROUGH`` (its LAD code). Radius: half the diagonal of the road's bounding box
    (``MBR_*``), so the point's uncertainty covers the named road's extent.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    frames = []
    for p in paths:
        p = Path(p)
        head = _read_csv(p, "OS Open Names", nrows=0, header=None, dtype=str)
        first = _read_csv(p, "OS Open Names", nrows=1, header=None, dtype=str)
        has_header = len(first) and str(first.iloc[0, 0]).strip().upper() == "ID"
        if len(head.columns) != len(OPEN_NAMES_COLUMNS):
            raise FileFormatError(f"{p.name} has {len(head.columns)} columns; OS Open Names CSV has "
                                  f"{len(OPEN_NAMES_COLUMNS)} (ID, NAMES_URI, NAME1, ...)")
        frames.append(_read_csv(p, "OS Open Names", header=0 if has_header else None,
                                names=None if has_header else list(OPEN_NAMES_COLUMNS), dtype=str, keep_default_na=False))
    if not frames:
        raise InputError("read_open_names needs at least one file")
    raw = pd.concat(frames, ignore_index=True)
    raw = raw[raw["LOCAL_TYPE"].isin(list(local_types))].reset_index(drop=True)
    num = {c: pd.to_numeric(raw[c], errors="coerce").to_numpy(float)
           for c in ("GEOMETRY_X", "GEOMETRY_Y", "MBR_XMIN", "MBR_YMIN", "MBR_XMAX", "MBR_YMAX")}
    half_diag = 0.5 * np.hypot(num["MBR_XMAX"] - num["MBR_XMIN"], num["MBR_YMAX"] - num["MBR_YMIN"])
    df = pd.DataFrame({
        "street": raw["NAME1"], "locality": raw["POPULATED_PLACE"], "postcode": raw["POSTCODE_DISTRICT"],
        "x": num["GEOMETRY_X"], "y": num["GEOMETRY_Y"], "borough": _borough_codes(raw["DISTRICT_BOROUGH"]),
        "source_id": raw["ID"], "radius": np.where(np.isfinite(half_diag), np.maximum(half_diag, 25.0), np.nan),
    })
    ok = np.isfinite(df["x"].to_numpy(float)) & np.isfinite(df["y"].to_numpy(float)) & (df["street"].str.strip() != "").to_numpy()
    return _finish_source(df[ok].reset_index(drop=True), "open_names", "street_point")


#: column names of AddressBase-style extracts, ours -> candidates in the file (first present wins)
ADDRESSBASE_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("UPRN",),
    "sub_building": ("SAO_TEXT", "SAO", "SUB_BUILDING_NAME", "SUB_BUILDING"),
    "building_name": ("BUILDING_NAME", "PAO_TEXT"),
    "house_number": ("PAO_START_NUMBER", "BUILDING_NUMBER", "PAO", "PAO_NUMBER"),
    "street": ("STREET_DESCRIPTION", "STREET_DESCRIPTOR", "THOROUGHFARE", "STREET"),
    "locality": ("LOCALITY", "LOCALITY_NAME", "DEPENDENT_LOCALITY"),
    "town": ("TOWN_NAME", "POST_TOWN", "TOWN"),
    "postcode": ("POSTCODE_LOCATOR", "POSTCODE"),
    "x": ("X_COORDINATE", "EASTING", "X"),
    "y": ("Y_COORDINATE", "NORTHING", "Y"),
}


def read_addressbase_csv(path: str | Path, columns: Mapping[str, str] | None = None, source: str = "addressbase",
                         crs: str = BNG) -> pd.DataFrame:
    """Premises from an AddressBase-style CSV (UPRN, SAO / PAO, street, town, postcode, X/Y): the
    column names are found among the usual spellings (:data:`ADDRESSBASE_COLUMNS`: ``SAO_TEXT`` or
    ``SAO``, ``PAO_START_NUMBER`` or ``PAO``, ``STREET_DESCRIPTION`` or ``STREET``, ``TOWN_NAME`` or
    ``TOWN``, ``POSTCODE_LOCATOR`` or ``POSTCODE``, ``X_COORDINATE`` or ``EASTING`` ...); ``columns``
    overrides any of them. A PAO that is not a number is the building name. x/y in ``crs``."""
    path = Path(path)
    head = _read_csv(path, "AddressBase-style", nrows=0)
    have = {c.upper(): c for c in head.columns}
    mapping = {}
    for ours, cands in ADDRESSBASE_COLUMNS.items():
        for c in cands:
            if c in have:
                mapping[ours] = have[c]
                break
    mapping.update(columns or {})
    if "building_name" in mapping and mapping.get("building_name") == mapping.get("house_number"):
        mapping.pop("building_name")
    return read_address_csv(path, columns=mapping, source=source, crs=crs)


def read_osm_streets(path: str | Path, layer: str | None = None, spacing_m: float = OSM_SPACING_M,
                     name_column: str = "name") -> pd.DataFrame:
    """Street points from OpenStreetMap named ways in a GeoPackage / GeoJSON (any CRS; lines with a
    ``name``; with a ``highway`` column, only highway ways): one ``street_point`` every ``spacing_m``
    metres along each way (both ends included), radius ``spacing_m / 2``. Points are EPSG:27700."""
    import geopandas as gpd
    import shapely

    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"OSM file not found: {path}")
    try:
        g = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001
        raise FileFormatError(f"cannot read {path} as GeoPackage/GeoJSON: {exc}") from exc
    if g.crs is None:
        raise FileFormatError(f"{path.name} has no CRS; OSM exports are EPSG:4326: set it before reading")
    if name_column not in g.columns:
        raise MissingColumnsError(f"{path.name} has no {name_column!r} column (street names); pass name_column=")
    keep = g[name_column].notna() & (g[name_column].astype(str).str.strip() != "")
    keep &= g.geometry.geom_type.isin(["LineString", "MultiLineString"])
    if "highway" in g.columns:
        keep &= g["highway"].notna()
    g = g[keep].to_crs(BNG).explode(index_parts=False).reset_index(drop=True)
    geoms = g.geometry.values
    length = shapely.length(geoms)
    n = np.maximum(np.ceil(length / float(spacing_m)).astype(int), 1) + 1
    way = np.repeat(np.arange(len(g)), n)
    step = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    frac = step / np.repeat(n - 1, n)
    pts = shapely.line_interpolate_point(geoms[way], frac, normalized=True)
    ids = g["osm_id"].astype(str).to_numpy() if "osm_id" in g else (g["id"].astype(str).to_numpy() if "id" in g else
                                                                   np.arange(len(g)).astype(str))
    df = pd.DataFrame({"street": g[name_column].astype(str).to_numpy()[way], "x": shapely.get_x(pts),
                       "y": shapely.get_y(pts), "source_id": ids[way], "radius": float(spacing_m) / 2})
    return _finish_source(df.drop_duplicates(["street", "x", "y"]).reset_index(drop=True), "osm", "street_point")


# ---------------------------------------------------------------------------------- landmarks, areas
_NAME_CANDIDATES = ("name", "NAME", "Name", "station", "STATION", "Station", "landmark", "LANDMARK")
_XY_CANDIDATES = (("EASTING", "NORTHING", BNG), ("easting", "northing", BNG), ("Easting", "Northing", BNG),
                  ("x", "y", None), ("X", "Y", None), ("lon", "lat", "EPSG:4326"), ("longitude", "latitude", "EPSG:4326"),
                  ("Longitude", "Latitude", "EPSG:4326"))


#: other names people write for a landmark (keys of :func:`geocrime.address.places.landmark_key`):
#: a landmark row whose key is on the left also gets a row for each name on the right
LANDMARK_ALIASES: dict[str, tuple[str, ...]] = {
    "kings cross saint pancras": ("kings cross", "saint pancras"),
    "bank and monument": ("bank", "monument"),
    "heathrow terminals 123": ("heathrow terminals 2 and 3", "heathrow terminal 2", "heathrow terminal 3", "heathrow central"),
    "heathrow terminals 2 and 3": ("heathrow terminal 2", "heathrow terminal 3", "heathrow central"),
}


def _with_aliases(df: pd.DataFrame, aliases: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Extra rows (same point) for the other names of a landmark; ``alias_of`` keeps the key used."""
    from ..address.places import landmark_key

    key = landmark_key(df["name"])
    extra = []
    for k, names in aliases.items():
        hit = df[(key == k).to_numpy()]
        for nm in names:
            extra.append(hit.assign(name=nm.title(), building_name=hit["name"]))
    return pd.concat([df, *extra], ignore_index=True) if extra else df


def read_landmarks(path: str | Path, name: str | None = None, x: str | None = None, y: str | None = None,
                   crs: str | None = None, kind: str = "station", radius_m: float = LANDMARK_RADIUS_M,
                   source: str | None = None, aliases: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Landmarks from any CSV of name + point (the TfL stations file works as it is): ``name`` / ``x`` /
    ``y`` name the columns (found among ``NAME``/``name``, ``EASTING``/``NORTHING``, ``x``/``y``,
    ``lon``/``lat`` when not given); ``crs`` of x/y (EPSG:27700 or EPSG:4326; guessed from the values
    when not given). Rows are level ``landmark`` with ``name`` and ``building_name`` the landmark's
    name, ``landmark_kind`` ``kind`` and radius ``radius_m`` metres. ``aliases`` (default
    :data:`LANDMARK_ALIASES`): other names of a landmark ("Kings Cross" for King's Cross St. Pancras,
    "Bank" for Bank and Monument) become extra rows at the same point (``building_name`` = the listed name)."""
    path = Path(path)
    raw = _read_csv(path, "landmark", dtype=str, keep_default_na=False)
    name = name or next((c for c in _NAME_CANDIDATES if c in raw.columns), None)
    if name is None or name not in raw.columns:
        raise MissingColumnsError(f"{path.name}: no name column among {list(_NAME_CANDIDATES)}; pass name=")
    if x is None or y is None:
        for cx, cy, ccrs in _XY_CANDIDATES:
            if cx in raw.columns and cy in raw.columns:
                x, y, crs = cx, cy, crs or ccrs
                break
    if x not in raw.columns or y not in raw.columns:
        raise MissingColumnsError(f"{path.name}: no coordinate columns (EASTING/NORTHING, x/y, lon/lat); pass x=, y=")
    xs = pd.to_numeric(raw[x], errors="coerce").to_numpy(float)
    ys = pd.to_numeric(raw[y], errors="coerce").to_numpy(float)
    if crs is None:  # degrees or metres
        crs = "EPSG:4326" if np.nanmax(np.abs(xs), initial=0) <= 180 and np.nanmax(np.abs(ys), initial=0) <= 90 else BNG
    if str(crs).upper() in ("EPSG:4326", "WGS84"):
        xs, ys = lonlat_to_bng(xs, ys)
    sid = next((c for c in ("NLC", "id", "ID", "code") if c in raw.columns), None)
    df = pd.DataFrame({"name": raw[name].str.strip(), "building_name": raw[name].str.strip(), "x": xs, "y": ys,
                       "landmark_kind": kind, "radius": float(radius_m),
                       "source_id": raw[sid] if sid else np.arange(len(raw)).astype(str)})
    ok = np.isfinite(xs) & np.isfinite(ys) & (df["name"] != "").to_numpy()
    df = _with_aliases(df[ok].reset_index(drop=True), LANDMARK_ALIASES if aliases is None else aliases)
    return _finish_source(df, source or path.stem, "landmark")


def read_localities(path: str | Path, radius_m: float = LOCALITY_RADIUS_M) -> pd.DataFrame:
    """Localities from a CSV in the ``localities_london`` layout (``locality``, ``lad``, ``post_town``,
    ``postcode_district``, ``easting``, ``northing``): level ``locality`` rows, ``borough`` the LAD
    code, radius ``radius_m`` (the measured default covers 98.5% of addresses naming a locality)."""
    path = Path(path)
    raw = _read_csv(path, "localities", dtype=str, keep_default_na=False)
    miss = [c for c in ("locality", "lad", "easting", "northing") if c not in raw.columns]
    if miss:
        raise MissingColumnsError(f"{path.name} lacks {miss}; expected locality, lad, post_town, postcode_district, easting, northing")
    df = pd.DataFrame({"name": raw["locality"], "locality": raw["locality"], "town": raw.get("post_town", ""),
                       "postcode": raw.get("postcode_district", ""), "x": pd.to_numeric(raw["easting"], errors="coerce"),
                       "y": pd.to_numeric(raw["northing"], errors="coerce"), "borough": raw["lad"], "radius": float(radius_m),
                       "source_id": raw["locality"] + "|" + raw["lad"]})
    df["town"] = df["town"].str.split(",").str[0].str.strip().str.title()
    ok = df["x"].notna() & df["y"].notna()
    return _finish_source(df[ok].reset_index(drop=True), "localities", "locality")


def localities_from_places(lexicon: Any = None) -> pd.DataFrame:
    """Locality rows from a place lexicon (default: the packaged London lexicon, so a gazetteer gets a
    locality level without any data download): one row per (locality, its first borough)."""
    from ..address.places import default_places

    lex = lexicon if lexicon is not None else default_places()
    t = lex.table[(lex.table["kind"] == "locality") & lex.table["x"].notna()]
    df = pd.DataFrame({"name": t["name"], "locality": t["name"], "postcode": "",
                       "x": t["x"], "y": t["y"], "borough": t["boroughs"].str.split("|").str[0],
                       "radius": t["radius_m"].fillna(LOCALITY_RADIUS_M), "source_id": t["name"] + "|" + t["boroughs"]})
    return _finish_source(df.reset_index(drop=True), "places", "locality")


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


