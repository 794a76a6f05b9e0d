"""The gazetteer: the reference list of addressable points, one columnar table plus its indexes.

Build one from any address-point source, combine several with priorities, save it, load it back
without rebuilding::

    from geocrime.gazetteer import Gazetteer, read_fhrs, read_codepoint, streets_from_police_uk
    units = read_codepoint(".../codepo_london_E09.csv.gz")
    gaz = Gazetteer.from_sources([read_fhrs(".../fhrs.csv"), units,
                                  streets_from_police_uk(police_files, units)])
    gaz.save("london.gaz")
    gaz = Gazetteer.load("london.gaz")

The table (``gaz.table``, a pandas DataFrame) has one row per entry: ``id``, ``level`` (``premises``,
``street``, ``street_point``, ``postcode_unit``, ``postcode_sector``, ``postcode_district``,
``postcode_area``), ``source``, ``source_id``, ``name``, the display components (``sub_building``,
``building_name``, ``house_number``, ``street``, ``locality``, ``town``, ``postcode``), ``canonical``
(normalised one-line address), ``x`` / ``y`` (EPSG:27700 metres), ``radius`` (uncertainty of the
point, metres), ``priority`` and the matching fields ``k_*`` (see :mod:`geocrime._blocking`).

Readers return a *source table* (display components + x/y + level); :meth:`Gazetteer.from_sources`
canonicalises, de-duplicates (same canonical address: the higher-priority source wins, points of the
same source are merged to their medoid), derives postcode sector/district/area rows from postcode
units, and builds the blocking index over premises rows. A street layer keeps its snap points as
``street_point`` rows, so street-level ward confidence can be computed from them.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._blocking import BlockIndex, block_keys, canonical_components
from ._geo import BNG, lonlat_to_bng
from .errors import DataNotFoundError, FileFormatError, GazetteerError, InputError, MissingColumnsError

__all__ = [
    "Gazetteer",
    "read_address_csv",
    "read_fhrs",
    "read_codepoint",
    "streets_from_police_uk",
    "premises_from_text",
    "LEVELS",
    "LLPG_COLUMNS",
]

FORMAT_VERSION = 1

#: every level of the precision ladder, finest first (``street_point`` rows are street members)
LEVELS = ("premises", "street", "postcode_unit", "postcode_sector", "postcode_district", "postcode_area")

#: display component columns of a source table
COMPONENTS = ("sub_building", "building_name", "house_number", "street", "locality", "town", "postcode")

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
    from .address import parse_many

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


def parser_fingerprint() -> str:
    """Short hash of the address parser and canonicalisation source: a gazetteer is matched with
    the parser that built it (both sides of a match must be read the same way)."""
    import hashlib
    import inspect

    from . import _blocking
    from .address import normalise, police, rules

    h = hashlib.sha256()
    for m in (rules, normalise, police, _blocking):
        try:
            h.update(inspect.getsource(m).encode())
        except (OSError, TypeError):
            h.update(m.__name__.encode())
    return h.hexdigest()[:16]


#: a premises farther than this from its own postcode unit (or, without one, from every unit) is misplaced
MISPLACED_M = 2000.0


def _drop_misplaced(prem: pd.DataFrame, units: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop premises whose point contradicts their postcode (real FHRS rows are geocoded to the
    wrong Richmond, to 0,0 ...): farther than :data:`MISPLACED_M` from their postcode unit, or, when
    the unit is unknown, from every unit. Without postcode units nothing can be checked."""
    if not len(units) or not len(prem):
        return prem, 0
    from scipy.spatial import cKDTree

    u = units.drop_duplicates("k_pc_unit").set_index("k_pc_unit")
    ux = u["x"].reindex(prem["k_pc_unit"]).to_numpy(float)
    uy = u["y"].reindex(prem["k_pc_unit"]).to_numpy(float)
    px, py = prem["x"].to_numpy(float), prem["y"].to_numpy(float)
    d_own = np.hypot(px - ux, py - uy)
    d_any, _ = cKDTree(np.c_[units["x"].to_numpy(float), units["y"].to_numpy(float)]).query(np.c_[px, py])
    bad = np.where(np.isfinite(d_own), d_own > MISPLACED_M, d_any > MISPLACED_M)
    return prem[~bad], int(bad.sum())


#: premises sharing these fields and a point (to the metre) are the same premises
SAME_POINT_KEY = ["k_flat", "k_hn_num", "k_hn_suf", "k_hn_end", "k_street", "k_pc_unit", "_rx", "_ry"]


def _merge_same_point(prem: pd.DataFrame) -> pd.DataFrame:
    p = prem.assign(_rx=prem["x"].round(0), _ry=prem["y"].round(0), _bl=prem["k_bname"].str.len())
    eligible = ((p["k_hn_num"] >= 0) | (p["k_flat"] != "")) & (p["k_street"] != "")
    e = p[eligible].sort_values(["_bl"], kind="stable")
    e = e.drop_duplicates(SAME_POINT_KEY, keep="first")
    return pd.concat([e, p[~eligible]]).sort_index().drop(columns=["_rx", "_ry", "_bl"]).reset_index(drop=True)


class Gazetteer:
    """One columnar table of addressable points plus a blocking index over its premises.

    Build with :meth:`from_sources`; :meth:`save` / :meth:`load` round-trip it without rebuilding.
    ``table`` (DataFrame, x/y in EPSG:27700 metres), ``build_seconds``, ``meta`` (counts, sources).
    """

    def __init__(self, table: pd.DataFrame, index: BlockIndex, meta: dict[str, Any] | None = None) -> None:
        self.table = table
        self.index = index
        self.meta = dict(meta or {})
        self._prepare()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_sources(cls, sources: Sequence[pd.DataFrame], priorities: Sequence[int] | None = None,
                     progress: bool = False) -> "Gazetteer":
        """Combine source tables (from the ``read_*`` functions) into one gazetteer.

        ``priorities``: higher wins when two sources hold the same canonical premises (default: the
        order given, first highest). Postcode sector/district/area rows are derived from postcode units;
        street rows from ``street_point`` rows and premises (grouped by street and postcode district).
        """
        t0 = time.perf_counter()
        if not sources:
            raise GazetteerError("a gazetteer needs at least one source table")
        pri = list(priorities) if priorities is not None else list(range(len(sources), 0, -1))
        if len(pri) != len(sources):
            raise InputError("priorities must have one value per source")
        frames = []
        for s, p in zip(sources, pri):
            need = {"x", "y", "level", "source", *COMPONENTS}
            if not need <= set(s.columns):
                raise MissingColumnsError(f"source table lacks {sorted(need - set(s.columns))}; build it with a read_* function")
            frames.append(s.assign(priority=int(p)))
        t = pd.concat(frames, ignore_index=True)
        t = t[np.isfinite(t["x"].to_numpy(float)) & np.isfinite(t["y"].to_numpy(float))].reset_index(drop=True)
        if len(t) == 0:
            raise GazetteerError("the source tables hold no row with finite coordinates (x/y in EPSG:27700 metres): "
                                 "a gazetteer needs at least one addressable point")
        k = canonical_components(t[list(COMPONENTS)])
        t = pd.concat([t, k.add_prefix("k_")], axis=1)

        prem = t[t["level"] == "premises"]
        prem, n_bad = _drop_misplaced(prem, t[t["level"] == "postcode_unit"])
        # de-duplicate premises: the canonical address; the highest priority source wins, the
        # members of that source are merged to their medoid
        dkey = ["k_flat", "k_hn_num", "k_hn_suf", "k_hn_end", "k_bname", "k_street", "k_pc_unit"]
        prem = prem[(prem["k_street"] != "") | (prem["k_bname"] != "")]
        if len(prem):
            top = prem.groupby(dkey, sort=False)["priority"].transform("max")
            prem = prem[prem["priority"] == top]
            prem = _medoid_groups(prem, dkey)
            prem["radius"] = np.maximum(prem["radius"], PREMISES_RADIUS_M)
            # entries at the same point with the same number/flat, street and postcode are one
            # premises written with and without a building or business name: keep the one with
            # the shortest building name
            prem = _merge_same_point(prem)
        # street rows from snap points and premises, by street name and postcode district
        sp = t[t["level"] == "street_point"]
        sp_all = pd.concat([sp, prem.assign(level="street_point", source="premises")[sp.columns.intersection(prem.columns)]],
                           ignore_index=True) if len(prem) else sp
        sp_all = sp_all[sp_all["k_street"] != ""].reset_index(drop=True)
        units = t[t["level"] == "postcode_unit"].drop_duplicates("k_pc_unit")
        nodist = (sp_all["k_pc_district"] == "").to_numpy()
        if nodist.any() and len(units):
            # a point without a postcode takes the district of its nearest postcode unit
            from scipy.spatial import cKDTree

            tree = cKDTree(np.c_[units["x"].to_numpy(), units["y"].to_numpy()])
            _, j = tree.query(np.c_[sp_all["x"].to_numpy()[nodist], sp_all["y"].to_numpy()[nodist]])
            sp_all.loc[nodist, "k_pc_district"] = units["k_pc_district"].to_numpy(dtype=object)[j]
        sp_all = sp_all[sp_all["k_pc_district"] != ""]
        streets = _medoid_groups(sp_all, ["k_street", "k_pc_district"]) if len(sp_all) else sp_all
        if len(streets):
            # one name in one district spread over kilometres is several streets: not a street point
            streets = streets[streets["radius"] <= MAX_STREET_RADIUS_M].reset_index(drop=True)
            streets["level"] = "street"
            streets["radius"] = np.maximum(streets["radius"], STREET_MIN_RADIUS_M)
            for c in ("sub_building", "building_name", "house_number", "k_flat", "k_bname", "k_hn_suf"):
                streets[c] = ""
            streets["k_hn_num"] = -1
            streets["k_hn_end"] = -1
            streets["postcode"] = streets["k_pc_district"]
            streets["k_pc_unit"] = ""
            streets["k_pc_sector"] = ""
            streets["source_id"] = ""
        sp = sp.assign(members=1)
        aggs = []
        for lvl, col in (("postcode_sector", "k_pc_sector"), ("postcode_district", "k_pc_district"), ("postcode_area", "k_pc_area")):
            if len(units):
                a = _medoid_groups(units, [col])
                a["level"] = lvl
                a["postcode"] = a[col]
                for c in ("k_pc_unit", "k_pc_sector", "k_pc_district", "k_pc_area"):
                    if c != col and not (lvl == "postcode_sector" and c in ("k_pc_district", "k_pc_area")) \
                            and not (lvl == "postcode_district" and c == "k_pc_area"):
                        a[c] = ""
                a["source_id"] = a[col]
                aggs.append(a)
        table = pd.concat([prem, streets, sp, units.assign(members=1), *aggs], ignore_index=True)
        table["members"] = table["members"].fillna(1).astype("int32")
        table["radius"] = table["radius"].fillna(PREMISES_RADIUS_M).astype("float32")
        table.insert(0, "id", np.arange(len(table), dtype=np.int64))
        canon = table[list(COMPONENTS)].astype("str")
        line = canon["sub_building"]
        for c in COMPONENTS[1:]:
            line = line + " " + canon[c]
        from .address import normalise_many

        table["canonical"] = normalise_many(line)
        for c in table.columns:
            if c.startswith("k_hn"):
                table[c] = table[c].astype("int32") if c in ("k_hn_num", "k_hn_end") else table[c].astype("str")
        table = table.drop(columns=[c for c in ("members",) if c not in table], errors="ignore")
        index = cls._build_index(table)
        meta = {
            "format_version": FORMAT_VERSION,
            "build_seconds": round(time.perf_counter() - t0, 3),
            "counts": table["level"].value_counts().to_dict(),
            "sources": sorted(table["source"].unique().tolist()),
            "premises_dropped_misplaced": int(n_bad),
            "parser_fingerprint": parser_fingerprint(),
            "crs": BNG,
        }
        return cls(table, index, meta)

    @staticmethod
    def _build_index(table: pd.DataFrame) -> BlockIndex:
        prem_pos = np.flatnonzero((table["level"] == "premises").to_numpy())
        kc = table.iloc[prem_pos][[c for c in table.columns if c.startswith("k_")]]
        kc.columns = [c[2:] for c in kc.columns]
        pos, keys = block_keys(kc, gazetteer_side=True)
        return BlockIndex(keys, prem_pos[pos])

    # ------------------------------------------------------------------ derived arrays
    def _prepare(self) -> None:
        t = self.table
        self.x = t["x"].to_numpy(float)
        self.y = t["y"].to_numpy(float)
        self.level = t["level"].to_numpy(dtype=object)
        self.ids = t["id"].to_numpy(np.int64)
        self.radius = t["radius"].to_numpy(np.float64)
        self.canonical = t["canonical"].to_numpy(dtype=object)
        self.k = {c[2:]: (t[c].to_numpy() if c.startswith("k_hn_num") or c.startswith("k_hn_end") else t[c].to_numpy(dtype=object))
                  for c in t.columns if c.startswith("k_")}
        # text fields as integer codes of one vocabulary per field (0 = ""), so that comparing a
        # query with its candidates is an integer comparison
        self.vocab: dict[str, pd.Index] = {}
        self.kcode: dict[str, np.ndarray] = {}
        for f, fields in (("flat", ["flat"]), ("hn_suf", ["hn_suf"]), ("street", ["street"]), ("bname", ["bname"]),
                          ("place", ["place", "place2"]), ("pc_unit", ["pc_unit"]), ("pc_sector", ["pc_sector"]),
                          ("pc_district", ["pc_district"])):
            vals = pd.unique(np.concatenate([self.k[x] for x in fields]).astype(object))
            voc = pd.Index([""] + sorted(v for v in vals if v != ""), dtype=object)
            for x in fields:
                self.vocab[x] = voc
                self.kcode[x] = voc.get_indexer(self.k[x]).astype(np.int32)
        # fallback lookups: key -> row position
        def lut(level: str, cols: list[str]) -> pd.Series:
            sub = t[t["level"] == level]
            key = sub[cols[0]].astype("str")
            for c in cols[1:]:
                key = key + "|" + sub[c].astype("str")
            s = pd.Series(sub.index.to_numpy(), index=key.to_numpy())
            return s[~s.index.duplicated(keep="first")]

        self._lut = {
            "street": lut("street", ["k_street", "k_pc_district"]),
            "postcode_unit": lut("postcode_unit", ["k_pc_unit"]),
            "postcode_sector": lut("postcode_sector", ["k_pc_sector"]),
            "postcode_district": lut("postcode_district", ["k_pc_district"]),
            "postcode_area": lut("postcode_area", ["k_pc_area"]),
        }
        st = t[t["level"] == "street"]
        cnt = st.groupby("k_street").size()
        uniq = cnt[cnt == 1].index
        s1 = st[st["k_street"].isin(uniq)]
        self._lut["street_unique"] = pd.Series(s1.index.to_numpy(), index=s1["k_street"].to_numpy())
        self._areas_cache: dict[int, Any] = {}
        self._tree: Any = None

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        c = self.table["level"].value_counts().to_dict()
        return f"Gazetteer({len(self)} entries: " + ", ".join(f"{k}={v}" for k, v in sorted(c.items())) + ")"

    @property
    def n_addresses(self) -> int:
        """Entries that can be matched as an address (premises + streets + postcode units)."""
        return int(self.table["level"].isin(["premises", "street", "postcode_unit"]).sum())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the gazetteer to a directory: ``table.parquet`` (GeoParquet, points in EPSG:27700),
        ``index.npz`` (the blocking index) and ``meta.json``. Returns the directory."""
        import geopandas as gpd

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        gdf = gpd.GeoDataFrame(self.table, geometry=gpd.points_from_xy(self.x, self.y), crs=BNG)
        gdf.to_parquet(path / "table.parquet", index=False)
        np.savez(path / "index.npz", keys=self.index.keys, rows=self.index.rows, max_block=self.index.max_block)
        meta = dict(self.meta, n_rows=len(self.table))
        (path / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Gazetteer":
        """Load a gazetteer written by :meth:`save` (no rebuild: the index is read as saved)."""
        path = Path(path)
        if not (path / "meta.json").exists() or not (path / "table.parquet").exists():
            raise DataNotFoundError(f"no saved gazetteer at {path} (expected meta.json, table.parquet, index.npz); "
                                    "build one with `geocrime gazetteer build`")
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise GazetteerError(f"gazetteer at {path} has format {meta.get('format_version')}, this geocrime reads "
                                 f"{FORMAT_VERSION}; rebuild it")
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path / "table.parquet")
        cols = [c for c in pf.schema_arrow.names if c != "geometry"]
        table = pd.read_parquet(path / "table.parquet", columns=cols)
        if len(table) != meta.get("n_rows"):
            raise GazetteerError(f"gazetteer at {path} is damaged: {len(table)} rows, meta says {meta.get('n_rows')}")
        if meta.get("parser_fingerprint") not in (None, parser_fingerprint()):
            import warnings

            warnings.warn(f"the address parser changed since the gazetteer at {path} was built: queries and entries "
                          "may be read differently; rebuild it (`geocrime gazetteer build`)", stacklevel=2)
        z = np.load(path / "index.npz")
        index = BlockIndex.__new__(BlockIndex)
        index.keys, index.rows, index.max_block = z["keys"], z["rows"], int(z["max_block"])
        return cls(table, index, meta)

    # ------------------------------------------------------------------ areas
    def area_codes(self, boundaries: Any) -> dict[str, np.ndarray]:
        """Ward and LSOA code of every entry (object arrays, None outside), cached per boundaries object.

        ``boundaries``: a :class:`geocrime.areas.Boundaries` (its ``ward_*`` and ``lsoa_*`` layers are
        used) or a mapping ``{"ward": GeoDataFrame, "lsoa": GeoDataFrame}`` with a ``code`` column.
        """
        key = id(boundaries)
        if key not in self._areas_cache:
            from ._areas import point_codes

            self._areas_cache[key] = point_codes(self.x, self.y, boundaries)
        return self._areas_cache[key]

    # ------------------------------------------------------------------ reverse
    def nearest(self, x: np.ndarray, y: np.ndarray, levels: Sequence[str] = ("premises",)) -> tuple[np.ndarray, np.ndarray]:
        """Row position and distance (metres) of the nearest entry of ``levels`` to each point (EPSG:27700)."""
        from scipy.spatial import cKDTree

        levels = tuple(levels)
        if self._tree is None:
            self._tree = {}
        if levels not in self._tree:
            pos = np.flatnonzero(np.isin(self.level, list(levels)))
            if not len(pos):
                raise GazetteerError(f"the gazetteer has no {levels} entries")
            self._tree[levels] = (cKDTree(np.c_[self.x[pos], self.y[pos]]), pos)
        tree, pos = self._tree[levels]
        d, j = tree.query(np.c_[x, y])
        return pos[j], d
