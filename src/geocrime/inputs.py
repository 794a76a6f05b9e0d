"""One input layer: every command and function that reads or writes a table file goes through here.

* :func:`table_format` — the format from the suffix (``.csv``/``.tsv``/``.txt``/``.csv.gz``,
  ``.parquet``/``.geoparquet``/``.pq``, ``.gpkg``, ``.geojson``, ``.shp``); an unknown suffix is refused.
* :func:`check_encoding` — strict: a file that is not valid UTF-8 (or UTF-16 with a byte-order mark)
  is refused with the line and byte, never decoded with replacement characters.
* :func:`sniff_sep` — the delimiter of a CSV from its header (``,`` ``;`` tab ``|``), unless given.
* :func:`read_table` — any of those formats into a DataFrame (text kept as text) or GeoDataFrame.
* :func:`find_coordinates` / :func:`read_points` / :func:`diagnose_points` — coordinate columns found
  by name (or given), the CRS guessed from the values (degrees or British National Grid metres) when
  not given, and file-level sanity: swapped lon/lat, BNG metres in lon/lat columns, nothing in Great
  Britain — each explained in one line with the fix.
* :func:`read_incidents` — police.uk street CSVs or any geocoded file to points with ``month`` and
  ``crime_type`` columns, for the analysis commands.
* :func:`write_table` — the writer picks the format from the suffix and says which it wrote.

Messages name the Python argument and, in brackets, the CLI flag (``sep=';' (CLI: --sep ';')``); the
``geocrime`` command shows only the flag.
"""
from __future__ import annotations

import codecs
import csv as _csv
import io as _io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._geo import BNG, EAST_NAMES, LAT_NAMES, LON_NAMES, NORTH_NAMES, UK_LONLAT_BOUNDS, WGS84
from .errors import DataNotFoundError, FileFormatError, InputError, MissingColumnsError

__all__ = [
    "READ_SUFFIXES", "WRITE_SUFFIXES", "table_format", "check_encoding", "sniff_sep", "read_table", "write_table",
    "find_coordinates", "Coordinates", "diagnose_points", "read_points", "read_incidents", "check_in_areas",
    "MONTH_NAMES", "TYPE_NAMES",
]

#: suffix -> format, for reading
READ_SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".csv.gz": "csv", ".tsv.gz": "csv",
    ".parquet": "parquet", ".geoparquet": "parquet", ".pq": "parquet",
    ".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".shp": "shp",
}
#: suffix -> format, for writing (a format each writer can produce faithfully)
WRITE_SUFFIXES = {
    ".csv": "csv", ".parquet": "parquet", ".geoparquet": "parquet", ".pq": "parquet",
    ".gpkg": "gpkg", ".geojson": "geojson",
}
_FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet", "gpkg": "GeoPackage", "geojson": "GeoJSON", "shp": "Shapefile"}

#: extra coordinate column names (geocrime's own outputs) on top of geocrime._geo's lists
_LON = LON_NAMES + ("gc_lon",)
_LAT = LAT_NAMES + ("gc_lat",)
_EAST = EAST_NAMES + ("gc_x",)
_NORTH = NORTH_NAMES + ("gc_y",)
#: month / date columns looked for (case-insensitive), in order
MONTH_NAMES = ("month", "date", "occurred", "date_time", "datetime", "offence_date", "incident_date", "reported_date")
#: crime type columns looked for (case-insensitive), in order
TYPE_NAMES = ("crime_type", "crime type", "category", "offence", "offence_type", "type", "crime")
_DELIMS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _flag(param: str, value: str, flag: str | None = None, cli_value: str | None = None) -> str:
    """``param='value' (CLI: --flag value)``: the geocrime command rewrites it to the flag alone."""
    f = flag or "--" + param.replace("_", "-")
    return f"{param}={value!r} (CLI: {f} {cli_value if cli_value is not None else _shell(value)})"


def _shell(v: str) -> str:
    return v if v and all(ch.isalnum() or ch in "-_.:/" for ch in v) else repr(v)


# ------------------------------------------------------------------------------------------ formats
def _suffix(path: Path) -> str:
    sufs = [s.lower() for s in path.suffixes[-2:]]
    if len(sufs) == 2 and sufs[1] == ".gz":
        return "".join(sufs)
    return sufs[-1] if sufs else ""


def table_format(path: str | Path, *, write: bool = False, allowed: Sequence[str] | None = None) -> str:
    """``csv``, ``parquet``, ``gpkg``, ``geojson`` or ``shp`` from the file suffix.

    ``write=True`` checks against the writable formats; ``allowed`` restricts further (e.g. a writer
    that has no geometry offers only ``csv``/``parquet``). An unknown suffix raises
    :class:`FileFormatError` listing the suffixes that work."""
    p = Path(path)
    table = WRITE_SUFFIXES if write else READ_SUFFIXES
    fmt = table.get(_suffix(p))
    if fmt is None or (allowed is not None and fmt not in allowed):
        ok = [s for s, f in table.items() if allowed is None or f in allowed]
        what = "write" if write else "read"
        shown = _suffix(p) or "(none)"
        hint = ""
        if write and _suffix(p) in (".html", ".htm", ".png"):
            hint = " (for a map use `geocrime map`; for a chart, --plot FILE.png where offered)"
        raise FileFormatError(f"cannot {what} {p.name!r}: unknown suffix {shown}; use one of "
                              f"{', '.join(ok)}{hint}")
    return fmt


# ----------------------------------------------------------------------------------------- encoding
def check_encoding(path: str | Path, encoding: str | None = None) -> str:
    """Check that the whole file decodes; return the encoding to read it with.

    ``encoding=None``: UTF-8 (a UTF-8 byte-order mark is accepted), or UTF-16 when the file starts with
    a UTF-16 byte-order mark. A file that does not decode raises :class:`FileFormatError` naming the
    line, the byte and a sample of the line, and suggesting ``encoding='cp1252'``: geocrime never
    replaces undecodable bytes silently (that turns "Café" into "Caf\\ufffd" in every output)."""
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(4)
    if encoding is None and head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    enc = encoding or "utf-8-sig"
    try:
        dec = codecs.getincrementaldecoder(enc)("strict")
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}: use e.g. utf-8, cp1252, latin-1 or utf-16") from None
    if p.suffix.lower() == ".gz":
        import gzip

        opener: Any = gzip.open
    else:
        opener = open
    line, offset = 1, 0
    with opener(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            try:
                dec.decode(b)
            except UnicodeDecodeError as e:
                at = line + b[: e.start].count(b"\n")
                start = b.rfind(b"\n", 0, e.start) + 1
                end = b.find(b"\n", e.start)
                sample = b[start: end if end != -1 else start + 80][:80].decode(enc if enc != "utf-8-sig" else "utf-8",
                                                                                errors="backslashreplace")
                if encoding is None and b"\x00" in b[:200]:
                    raise FileFormatError(f"{p} has NUL bytes: it looks like UTF-16 without a byte-order mark; re-save "
                                          f"it as UTF-8 CSV or pass {_flag('encoding', 'utf-16-le')}") from None
                raise FileFormatError(
                    f"{p} is not valid {encoding or 'UTF-8'}: byte 0x{b[e.start]:02x} at offset {offset + e.start} "
                    f"(line {at}: {sample!r}). Files exported from Excel on Windows are often cp1252: pass "
                    f"{_flag('encoding', 'cp1252')} if that is what it is; nothing was written."
                ) from None
            line += b.count(b"\n")
            offset += len(b)
    try:
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FileFormatError(f"{p} ends in the middle of a {encoding or 'UTF-8'} character (truncated file?)") from None
    return "utf-8-sig" if enc == "utf-8-sig" else enc


def _first_lines(path: Path, encoding: str, n: int = 20) -> list[str]:
    if path.suffix.lower() == ".gz":
        import gzip

        fh: Any = gzip.open(path, "rt", encoding=encoding, newline="")
    else:
        fh = open(path, encoding=encoding, newline="")
    with fh:
        out = []
        for _ in range(n):
            line = fh.readline(1 << 20)
            if not line:
                break
            out.append(line)
        return out


def sniff_sep(path: str | Path, encoding: str | None = None) -> str:
    """The delimiter of a CSV: the one of ``,`` ``;`` tab ``|`` that splits the header into the most
    fields and every one of the first lines into the same number of fields (``,`` when none does)."""
    p = Path(path)
    lines = [ln for ln in _first_lines(p, encoding or "utf-8-sig") if ln.strip()]
    if not lines:
        return ","
    best, best_n = ",", 1
    for d in _DELIMS:
        try:
            rows = list(_csv.reader(_io.StringIO("".join(lines[:1])), delimiter=d))
        except _csv.Error:
            continue
        n = len(rows[0]) if rows else 1
        if n > best_n:
            best, best_n = d, n
    return best


# --------------------------------------------------------------------------------------------- read
def read_table(
    path: str | Path,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    columns: Sequence[str] | None = None,
    what: str = "input",
    nrows: int | None = None,
    as_text: bool = True,
) -> pd.DataFrame:
    """Read a table file; the format comes from the suffix (:func:`table_format`).

    CSV: the encoding is checked first (:func:`check_encoding`); ``sep=None`` sniffs the delimiter
    (:func:`sniff_sep`; ``.tsv`` means tab); every value is read as text, blank is missing
    (``as_text=False``: pandas infers numbers and booleans, for tables geocrime wrote itself). Parquet:
    GeoParquet (``geo`` metadata) comes back as a GeoDataFrame. GeoPackage / GeoJSON / Shapefile: a
    GeoDataFrame. ``nrows``: read only the first rows of a CSV (a preview: only those rows' encoding is
    checked). ``columns``: required columns (:class:`MissingColumnsError` names the ones absent
    and, for a CSV whose header did not split, the delimiter that would).

    Raises :class:`DataNotFoundError` (no such file), :class:`FileFormatError` (empty file, bad
    encoding, ragged row, unreadable file)."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{what} file not found: {p}" + (" (it is a directory)" if p.is_dir() else ""))
    fmt = table_format(p)
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p} is empty (0 bytes): no header row and no records")
    if fmt == "csv":
        df = _read_csv(p, sep, encoding, nrows, as_text)
    elif fmt == "parquet":
        df = _read_parquet(p)
    else:
        import pyogrio

        try:
            import geopandas as gpd

            df = gpd.read_file(p)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as e:
            raise FileFormatError(f"cannot read {p} as {_FORMAT_NAMES[fmt]}: {e}") from None
    if columns:
        miss = [c for c in columns if c not in df.columns]
        if miss:
            e = MissingColumnsError(miss, list(map(str, df.columns)), f"{what} {p.name}")
            hint = _missing_hint(df, (df.attrs.get("source") or {}).get("sep"))
            raise MissingColumnsError(str(e) + hint, list(map(str, df.columns))) if hint else e
    return df


def _read_csv(p: Path, sep: str | None, encoding: str | None, nrows: int | None = None,
              as_text: bool = True) -> pd.DataFrame:
    try:
        return _read_csv_checked(p, sep, encoding, nrows, as_text)
    except UnicodeDecodeError:
        check_encoding(p, encoding)  # raises with the line, the byte and the fix
        raise


def _read_csv_checked(p: Path, sep: str | None, encoding: str | None, nrows: int | None,
                      as_text: bool) -> pd.DataFrame:
    if nrows is None:
        enc = check_encoding(p, encoding)
    else:
        with open(p, "rb") as f:
            bom = f.read(2)
        enc = encoding or ("utf-16" if bom in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig")
    lines = [ln for ln in _first_lines(p, enc, 2) if ln.strip()]
    if not lines:
        raise FileFormatError(f"{p} has no header row (only blank lines)")
    if sep is None:
        sep = "\t" if _suffix(p).startswith(".tsv") else sniff_sep(p, enc)
    try:
        text_kw: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]} if as_text else {}
        df = pd.read_csv(p, sep=sep, **text_kw, encoding=enc,
                         index_col=False, on_bad_lines="error", engine="c", low_memory=False, nrows=nrows)
    except pd.errors.EmptyDataError:
        raise FileFormatError(f"{p} is empty: no header row") from None
    except pd.errors.ParserError as e:
        msg = str(e).replace("Error tokenizing data. C error: ", "")
        raise FileFormatError(f"cannot read {p} as CSV ({_DELIMS.get(sep, repr(sep))}-delimited): {msg}. "
                              "Quote fields that contain the delimiter, or fix the row.") from None
    except UnicodeDecodeError:
        raise
    except ValueError as e:
        raise FileFormatError(f"cannot read {p} as CSV: {e}") from None
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs["source"] = {"path": str(p), "format": "csv", "sep": sep, "encoding": enc}
    return df


def _read_parquet(p: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(p).metadata or {}
        if b"geo" in meta:
            import geopandas as gpd

            df = gpd.read_parquet(p)
        else:
            df = pd.read_parquet(p)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise FileFormatError(f"cannot read {p} as Parquet: {e}") from None
    df.attrs["source"] = {"path": str(p), "format": "parquet"}
    return df


def _missing_hint(df: pd.DataFrame, sep: str | None) -> str:
    """When a CSV header did not split, the delimiter it looks split by."""
    cols = list(map(str, df.columns))
    if len(cols) <= 2:
        for d, name in _DELIMS.items():
            if d != sep and any(d in c for c in cols):
                return (f"; the header looks {name}-delimited ({cols[0][:60]!r}): pass "
                        f"{_flag('sep', d)}")
    return ""


# ------------------------------------------------------------------------------------ coordinates
@dataclass
class Coordinates:
    """Where the coordinates of a table are: ``x``/``y`` column names (``None``: a geometry column),
    ``crs`` as read, and ``guessed`` (a one-line note when the CRS was guessed from the values)."""

    x: str | None
    y: str | None
    crs: str | None
    guessed: str | None = None


def _find(cols: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {str(c).lower(): c for c in cols}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _bng_share(xs: np.ndarray, ys: np.ndarray) -> float | None:
    """Share of the finite, non-(0, 0) rows whose values cannot be degrees (None when there are none)."""
    f = np.isfinite(xs) & np.isfinite(ys) & ~((xs == 0) & (ys == 0))
    if not f.any():
        return None
    big = f & ((np.abs(xs) > 180) | (np.abs(ys) > 90))
    return float(big.sum() / f.sum())


def _looks_bng(xs: np.ndarray, ys: np.ndarray, default: bool = False) -> bool:
    share = _bng_share(xs, ys)
    if share is None or share == 0.5:
        return default
    return share > 0.5


def find_coordinates(df: pd.DataFrame, x: str | None = None, y: str | None = None, crs: Any = None) -> Coordinates:
    """The coordinate columns of ``df`` and their CRS.

    ``x``/``y`` given: those columns. Otherwise a geometry column (GeoDataFrame), then lon/lat names
    (``Longitude``/``Latitude``, ``lon``/``lat``, ``gc_lon``/``gc_lat``...), then easting/northing names
    (``Easting``/``Northing``, ``x``/``y``, ``gc_x``/``gc_y``...). ``crs=None``: guessed from the values —
    British National Grid metres (EPSG:27700) when most values lie outside ±180/±90, else lon/lat
    (EPSG:4326); a guess that contradicts the column names is reported in ``guessed``."""
    import geopandas as gpd

    cols = list(map(str, df.columns))
    if x is not None or y is not None:
        if x is None or y is None:
            raise InputError(f"give both coordinate columns: {_flag('x', x or 'X')} and {_flag('y', y or 'Y')}")
        miss = [c for c in (x, y) if c not in cols]
        if miss:
            raise MissingColumnsError(miss, cols, "the input (coordinate columns)")
        named_lonlat = None
    elif isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns:
        return Coordinates(None, None, str(df.crs) if df.crs is not None else (str(crs) if crs else None))
    else:
        lon, lat = _find(cols, _LON), _find(cols, _LAT)
        e, n = _find(cols, _EAST), _find(cols, _NORTH)
        if lon is not None and lat is not None:
            x, y, named_lonlat = lon, lat, True
        elif e is not None and n is not None:
            x, y, named_lonlat = e, n, False
        else:
            raise InputError(
                "cannot find coordinate columns: expected Longitude/Latitude (degrees), Easting/Northing "
                f"(metres) or x/y; name them with {_flag('x', 'X')} and {_flag('y', 'Y')} "
                f"(columns present: {', '.join(cols[:30])})")
    if crs is not None:
        return Coordinates(x, y, str(crs))
    xs, ys = _num(df[x]), _num(df[y])
    if _looks_bng(xs, ys, default=named_lonlat is False):
        note = None
        if named_lonlat:
            ex = _example(df, x, y, np.isfinite(xs) & (np.abs(xs) > 180))
            note = (f"{x}/{y} hold British National Grid metres, not degrees ({ex}): read as EPSG:27700; "
                    f"pass {_flag('crs', 'EPSG:4326')} to refuse that")
        return Coordinates(x, y, BNG, note)
    note = None
    if named_lonlat is False:
        f = np.isfinite(xs) & np.isfinite(ys)
        if f.any():
            ex = _example(df, x, y, f)
            note = f"{x}/{y} hold degrees, not metres ({ex}): read as lon/lat EPSG:4326"
    return Coordinates(x, y, WGS84, note)


def _example(df: pd.DataFrame, x: str, y: str, mask: np.ndarray) -> str:
    i = int(np.flatnonzero(mask)[0]) if mask.any() else 0
    return f"row {i + 1}: {x}={df[x].iloc[i]}, {y}={df[y].iloc[i]}"


def diagnose_points(df: pd.DataFrame, coords: Coordinates, status: pd.Series, *,
                    coords_flag: str | None = None) -> str | None:
    """One line explaining why no (or almost no) row is located, with the fix; ``None`` when most rows
    are fine. Checks: swapped lon/lat (the swapped values lie in the UK), every row without
    coordinates, every located row outside Great Britain. ``coords_flag``: the CLI flag that names
    both columns as ``X,Y`` (``--coords``), when the command has one instead of ``--x``/``--y``."""
    st = pd.Series(status).astype("str").to_numpy()
    n = len(st)
    ok = int((st == "ok").sum())
    if n == 0 or ok > 0.5 * n:
        return None
    if coords.x is None:
        return (f"{n - ok} of {n} rows have no usable point (statuses: {_counts(st)}); check the geometry column "
                "and its CRS")
    xs, ys = _num(df[coords.x]), _num(df[coords.y])
    f = np.isfinite(xs) & np.isfinite(ys)
    if not f.any():
        return (f"no row has numeric coordinates in {coords.x}/{coords.y} (statuses: {_counts(st)}); name the "
                f"coordinate columns with {_flag('x', 'X')} and {_flag('y', 'Y')}")
    x0, y0, x1, y1 = UK_LONLAT_BOUNDS
    in_uk = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    swapped = (ys >= x0) & (ys <= x1) & (xs >= y0) & (xs <= y1)
    if swapped[f].mean() > 0.5 and in_uk[f].mean() < 0.5:
        ex = _example(df, coords.x, coords.y, swapped)
        return (f"{coords.x} and {coords.y} look swapped: {coords.x} holds latitudes and {coords.y} longitudes ({ex}); "
                "swap them: " + (f"{coords_flag} {coords.y},{coords.x}" if coords_flag else
                                 f"{_flag('x', coords.y)} {_flag('y', coords.x)}"))
    if (st == "outside_gb").sum() + (st == "invalid_coordinates").sum() > 0.5 * n:
        ex = _example(df, coords.x, coords.y, f)
        return (f"{n - ok} of {n} rows lie outside Great Britain when {coords.x}/{coords.y} are read as {coords.crs} "
                f"({ex}); check the coordinate columns and pass the right {_flag('crs', 'EPSG:27700')}")
    return f"{n - ok} of {n} rows have no usable point (statuses: {_counts(st)})"


def _counts(st: np.ndarray) -> str:
    v, c = np.unique(st, return_counts=True)
    return ", ".join(f"{a} {b}" for a, b in sorted(zip(v, c), key=lambda t: -t[1]))


def read_points(
    data: pd.DataFrame,
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    require: bool = True,
    notes: list[str] | None = None,
) -> Any:
    """``data`` as points in EPSG:27700 (every row kept; ``location_status`` column: ``ok``,
    ``no_location``, ``invalid_coordinates``, ``outside_gb``), coordinates found by
    :func:`find_coordinates`. File-level sanity (:func:`diagnose_points`): when fewer than half the
    rows are located, ``require=True`` raises :class:`InputError` with the one-line explanation and
    fix; otherwise it is appended to ``notes``. A CRS guess is appended to ``notes`` too."""
    from ._geo import as_points

    c = find_coordinates(data, x, y, crs)
    if c.guessed and notes is not None:
        notes.append(c.guessed)
    if c.x is None:
        pts, st = as_points(data, crs=c.crs)
    else:
        pts, st = as_points(data, x=c.x, y=c.y, crs=c.crs)
    pts["location_status"] = st.astype("str").to_numpy()
    msg = diagnose_points(data, c, st)
    if msg:
        if require and not (st == "ok").any():
            raise InputError(msg)
        if notes is not None:
            notes.append(msg)
    pts.attrs["coordinates"] = {"x": c.x, "y": c.y, "crs": c.crs}
    return pts


# -------------------------------------------------------------------------------------- incidents
def _is_police_uk(cols: Sequence[str]) -> bool:
    from .io import POLICE_UK_REQUIRED

    return all(c in cols for c in POLICE_UK_REQUIRED)


def _csv_header(p: Path, sep: str | None, encoding: str | None) -> list[str]:
    enc = check_encoding(p, encoding)
    lines = [ln for ln in _first_lines(p, enc, 2) if ln.strip()]
    if not lines:
        return []
    s = sep or sniff_sep(p, enc)
    return [c.strip() for c in next(_csv.reader(_io.StringIO(lines[0]), delimiter=s))]


def read_incidents(
    paths: str | Path | Sequence[str | Path],
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    sep: str | None = None,
    encoding: str | None = None,
    month_column: str | None = None,
    type_column: str | None = None,
    notes: list[str] | None = None,
) -> Any:
    """Incidents from police.uk street CSVs or any geocoded file (CSV/Parquet/GeoPackage with a geometry,
    lon/lat, easting/northing or x/y columns), as one GeoDataFrame in EPSG:27700 with every row kept and
    ``status`` (location), ``month`` (``YYYY-MM`` from ``month_column`` or a month/date column; missing
    when absent) and ``crime_type`` (from ``type_column`` or a crime type/category column; missing when
    absent) columns.

    Police.uk files are read with :func:`geocrime.io.read_police_uk` (duplicates, encodings reported).
    When no row is located the file-level reason is raised (:class:`InputError`); a CRS guess or a
    partial problem is appended to ``notes``."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise InputError("no input files given")
    frames = []
    for item in items:
        p = Path(item)
        if p.is_file() and table_format(p) == "csv" and p.stat().st_size > 0 and x is None and y is None \
                and _is_police_uk(_csv_header(p, sep, encoding)):
            from .io import read_police_uk

            g = read_police_uk([p], encoding=encoding)
            g = g.rename(columns={"status": "location_status"})
            c = find_coordinates(pd.DataFrame(g[["Longitude", "Latitude"]]), "Longitude", "Latitude", crs)
            if c.crs != WGS84:  # grid metres (guessed or stated) in the lon/lat columns: re-read the points
                if c.guessed is None and crs is None:
                    xs = _num(g["Longitude"])
                    c.guessed = (f"Longitude/Latitude hold British National Grid metres, not degrees "
                                 f"({_example(g, 'Longitude', 'Latitude', np.isfinite(xs))}): read as EPSG:27700; "
                                 f"pass {_flag('crs', 'EPSG:4326')} to refuse that")
                if c.guessed and notes is not None:
                    notes.append(f"{p.name}: {c.guessed}")
                attrs = g.attrs
                g = read_points(pd.DataFrame(g.drop(columns=[g.geometry.name, "location_status"])),
                                x="Longitude", y="Latitude", crs=c.crs, require=False)
                g.attrs.update(attrs)
            msg = diagnose_points(g, c, g["location_status"])
            if msg:
                if not (g["location_status"] == "ok").any():
                    raise InputError(f"{p.name}: {msg}")
                if notes is not None:
                    notes.append(f"{p.name}: {msg}")
        else:
            df = read_table(p, sep=sep, encoding=encoding, what="incident")
            sub: list[str] = []
            try:
                g = read_points(df, x=x, y=y, crs=crs, notes=sub)
            except InputError as e:
                raise InputError(f"{p.name}: {e}") from None
            if notes is not None:
                notes.extend(f"{p.name}: {s}" for s in sub)
        g["source_file"] = p.name
        frames.append(g)
    import geopandas as gpd

    out = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=BNG)
    out = out.reset_index(drop=True)
    out["status"] = out.pop("location_status")
    _standard_month(out, month_column)
    _standard_type(out, type_column)
    return out


def _standard_month(df: pd.DataFrame, col: str | None) -> None:
    cols = [c for c in df.columns if c not in ("month",)]
    if col is not None:
        if col not in df.columns:
            raise MissingColumnsError([col], list(map(str, df.columns)), "the incidents (month column)")
    elif "month" in df.columns and df["month"].notna().any():
        return
    else:
        col = _find(cols, MONTH_NAMES)
        if col is None:
            return
    s = df[col]
    if not pd.api.types.is_datetime64_any_dtype(s):
        txt = s.astype("string").str.strip()
        ym = txt.str.extract(r"^(\d{4})[-/](\d{1,2})(?:$|[-/T ])")
        direct = (ym[0] + "-" + ym[1].str.zfill(2)).where(ym[0].notna())
        rest = direct.isna() & txt.notna() & (txt != "")
        if rest.any():
            parsed = pd.to_datetime(txt[rest], errors="coerce", dayfirst=True, format="mixed")
            direct[rest] = parsed.dt.strftime("%Y-%m")
        df["month"] = direct.astype(object).where(direct.notna(), None)
    else:
        df["month"] = s.dt.strftime("%Y-%m").astype(object).where(s.notna(), None)


def _standard_type(df: pd.DataFrame, col: str | None) -> None:
    if col is not None:
        if col not in df.columns:
            raise MissingColumnsError([col], list(map(str, df.columns)), "the incidents (crime type column)")
    else:
        if "crime_type" in df.columns:
            return
        col = _find([c for c in df.columns if c != "geometry"], TYPE_NAMES)
        if col is None:
            return
    df["crime_type"] = df[col].astype("string").str.strip()


def check_in_areas(codes: pd.Series, layer: str, located: int) -> None:
    """Refuse an analysis where no located incident lies in any area of ``layer`` (its output would be
    empty): :class:`InputError` saying so, with the fix."""
    if located and not pd.Series(codes).notna().any():
        raise InputError(f"none of the {located:,} located incidents lies in an area of {layer}: the boundary "
                         "layer does not cover the data; use one that does (--areas FILE or --layer NAME)")


# --------------------------------------------------------------------------------------------- write
def write_table(df: pd.DataFrame, path: str | Path, *, allowed: Sequence[str] | None = None,
                layer: str | None = None) -> str:
    """Write ``df`` in the format of ``path``'s suffix (:data:`WRITE_SUFFIXES`): CSV (no geometry
    column; lon/lat kept when present), (Geo)Parquet, GeoPackage or GeoJSON. Returns a one-line
    description (``"wrote out.gpkg (GeoPackage, 680 rows)"``). An unknown suffix raises
    :class:`FileFormatError` before anything is written."""
    import geopandas as gpd

    p = Path(path)
    fmt = table_format(p, write=True, allowed=allowed)
    is_geo = isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns
    if fmt in ("gpkg", "geojson") and not is_geo:
        raise FileFormatError(f"cannot write {p.name!r}: {_FORMAT_NAMES[fmt]} needs geometries and this table "
                              "has none; use .csv or .parquet")
    p.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        plain = pd.DataFrame(df.drop(columns=[df.geometry.name])) if is_geo else pd.DataFrame(df)
        plain.to_csv(p, index=False)
    elif fmt == "parquet":
        df.to_parquet(p, index=False)
    elif fmt == "gpkg":
        df.to_file(p, driver="GPKG", layer=layer or p.stem)
    else:
        out = df.to_crs(4326) if df.crs is not None else df
        out.to_file(p, driver="GeoJSON")
    return f"wrote {p} ({_FORMAT_NAMES[fmt]}, {len(df):,} rows)"
