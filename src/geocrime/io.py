"""Readers for the record formats geocrime ingests.

:func:`read_police_uk` reads police.uk street-level crime CSV months (``YYYY-MM-<force>-street.csv``,
columns ``Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
LSOA name, Crime type, Last outcome category, Context``) into one GeoDataFrame in EPSG:27700.
"""
from __future__ import annotations

import csv as _csv
import glob as _glob
import io as _io
import warnings
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from ._geo import BNG, WGS84, as_points
from .errors import DataNotFoundError, EncodingWarning, FileFormatError, MissingColumnsError

__all__ = ["read_police_uk", "POLICE_UK_COLUMNS", "POLICE_UK_REQUIRED", "EncodingWarning"]

#: The street-level file layout, in order.
POLICE_UK_COLUMNS = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)
#: Columns a file must have to be read as street-level crime.
POLICE_UK_REQUIRED = ("Crime ID", "Month", "Longitude", "Latitude", "Location", "LSOA code", "Crime type")


def _expand(paths: Any) -> list[Path]:
    items: Iterable[Any] = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[Path] = []
    for item in items:
        s = str(item)
        p = Path(s).expanduser()
        if any(ch in s for ch in "*?["):
            hits = sorted(Path(h) for h in _glob.glob(str(p)))
            if not hits:
                raise DataNotFoundError(f"no police.uk files match {s!r}")
            out += [h for h in hits if h.is_file()]
        elif p.is_dir():
            hits = sorted(p.glob("*-street.csv")) or sorted(p.glob("*.csv"))
            if not hits:
                raise DataNotFoundError(f"no CSV files in directory {p}")
            out += hits
        elif p.is_file():
            out.append(p)
        else:
            raise DataNotFoundError(f"police.uk file not found: {p}")
    if not out:
        raise DataNotFoundError("no police.uk files given")
    return out


def _decode(path: Path, encoding: str | None = None) -> tuple[str, str]:
    raw = path.read_bytes()
    if encoding is not None:  # stated: strict, never replaced
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{path} is not valid {encoding} ({exc.reason} at byte {exc.start}); pass the "
                                  "encoding it was saved in (encoding=..., CLI: --encoding)") from None
        except LookupError:
            raise FileFormatError(f"unknown encoding {encoding!r}: use e.g. utf-8, cp1252, latin-1") from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a byte-order mark (Excel "Unicode text")
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{path} starts with a UTF-16 byte-order mark but is not valid UTF-16 "
                                  f"({exc.reason} at byte {exc.start}); re-save it as UTF-8 CSV") from None
    if b"\x00" in raw.split(b"\n", 1)[0]:
        raise FileFormatError(f"{path} has NUL bytes in its header line: it looks like UTF-16 without a "
                              "byte-order mark; re-save it as UTF-8 CSV")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        warnings.warn(
            f"{path.name} is not valid UTF-8 ({exc.reason} at byte {exc.start}); read as Windows-1252 (cp1252)",
            EncodingWarning,
            stacklevel=3,
        )
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as exc2:  # bytes cp1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d)
            raise FileFormatError(f"{path} is neither UTF-8 ({exc.reason} at byte {exc.start}) nor Windows-1252 "
                                  f"(byte 0x{raw[exc2.start]:02x} at {exc2.start}); pass the encoding it was saved "
                                  "in (encoding=..., CLI: --encoding)") from None


def _check_ragged(path: Path, text: str) -> None:
    """Refuse a record with more fields than the header (an unquoted comma in a value): pandas would
    silently drop a trailing empty field or turn the extra leading fields into an index, shifting the
    values of that row (or of every row) into the wrong columns."""
    reader = _csv.reader(_io.StringIO(text))
    try:
        header = next(reader, None)
        if header is None:
            return
        n = len(header)
        for rec in reader:
            if len(rec) > n:
                raise FileFormatError(
                    f"cannot parse {path} as a police.uk CSV: ragged row at line {reader.line_num}: {len(rec)} fields, "
                    f"the header has {n} (a value with an unquoted comma?): {','.join(rec)[:120]!r}"
                )
    except _csv.Error as exc:
        raise FileFormatError(f"cannot parse {path} as a police.uk CSV: {exc}") from None


def read_police_uk(paths: Any, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read police.uk street-level CSV months into a GeoDataFrame in EPSG:27700.

    ``paths``: a file, a glob (``".../*-street.csv"``), a directory (its ``*-street.csv`` files) or a
    list of any of these. Files are read in sorted order within each item and concatenated.

    Every row is kept, in file order, with a fresh 0..n-1 index. All original columns are kept as text
    (``Longitude``/``Latitude`` too); added columns:

    * ``month`` — ``YYYY-MM`` from ``Month``;
    * ``source_file`` — the file name;
    * ``status`` — ``ok`` (point in EPSG:27700 from the WGS 84 lon/lat), ``no_location`` (no
      coordinates: the row is kept with an empty geometry), ``invalid_coordinates`` or ``outside_gb``;
    * ``duplicate_crime_id`` — True for every row whose non-empty ``Crime ID`` occurs more than once
      across all files read (rows without a Crime ID, e.g. anti-social behaviour, are False).

    ``gdf.attrs["report"]`` holds the counts: ``rows``, ``files`` (per file: name, rows, encoding),
    ``status`` (per-status counts), ``duplicate_crime_id_rows``, ``duplicate_crime_ids`` (distinct IDs),
    ``no_crime_id``, ``non_utf8_files``.

    ``encoding``: the files' encoding, decoded strictly (:class:`FileFormatError` on an invalid byte).
    ``None`` (default): files that are not UTF-8 are decoded as Windows-1252 with an
    :class:`EncodingWarning` (never with replacement characters: a byte Windows-1252 leaves undefined
    is refused); a file
    with a UTF-16 byte-order mark is decoded as UTF-16 (UTF-16 without one is refused with
    :class:`FileFormatError`). A first data row with more fields than the header is refused
    (:class:`FileFormatError`) rather than shifting every value. A file
    without the street-level columns raises :class:`MissingColumnsError` naming the file; a file that
    cannot be parsed as CSV raises :class:`FileFormatError`.
    """
    files = _expand(paths)
    frames = []
    per_file = []
    for f in files:
        text, enc = _decode(f, encoding)
        _check_ragged(f, text)
        try:
            with warnings.catch_warnings():
                # a first data row with more fields than the header: pandas would silently turn the
                # extra leading fields into an index (shifting every value) or drop them; refuse it
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], index_col=False)
        except pd.errors.ParserWarning as exc:
            raise FileFormatError(f"cannot parse {f} as a police.uk CSV: ragged row (a row has more fields than "
                                  f"the header's {len(text.splitlines()[0].split(','))}; unquoted comma?): {exc}") from None
        except pd.errors.EmptyDataError:
            raise FileFormatError(f"{f} is empty (not even a header row); expected police.uk columns {', '.join(POLICE_UK_COLUMNS)}") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise FileFormatError(f"cannot parse {f} as a police.uk CSV: {exc}") from exc
        df.columns = [str(c).strip() for c in df.columns]
        missing = [c for c in POLICE_UK_REQUIRED if c not in df.columns]
        if missing:
            raise MissingColumnsError(missing, list(df.columns), f"police.uk file {f}")
        df["source_file"] = f.name
        frames.append(df)
        per_file.append({"file": f.name, "rows": int(len(df)), "encoding": enc})
    data = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    month = data["Month"].astype("str").str.strip().str[:7]
    data["month"] = month.where(month.str.fullmatch(r"\d{4}-\d{2}", na=False))
    pts, st = as_points(data, x="Longitude", y="Latitude", crs=WGS84)
    pts["status"] = st.astype("str")
    cid = pts["Crime ID"]
    has = cid.notna() & (cid.astype("str").str.strip() != "")
    dup = has & cid.duplicated(keep=False)
    pts["duplicate_crime_id"] = dup.to_numpy(dtype=bool)
    counts = pts["status"].value_counts()
    pts.attrs["report"] = {
        "rows": int(len(pts)),
        "files": per_file,
        "status": {str(k): int(v) for k, v in counts.items()},
        "duplicate_crime_id_rows": int(dup.sum()),
        "duplicate_crime_ids": int(cid[dup].nunique()),
        "no_crime_id": int((~has).sum()),
        "non_utf8_files": [p["file"] for p in per_file if p["encoding"] != "utf-8"],
    }
    if pts.crs is None:
        pts = pts.set_crs(BNG)
    return pts
