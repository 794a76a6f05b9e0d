"""Flags and readers shared by the commands that read incident files (private; not a command)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence


def add_input_args(p: argparse.ArgumentParser, *, dates: bool = True) -> None:
    """``--x --y --crs --sep --encoding`` (and ``--month-column --type-column``) for incident files."""
    g = p.add_argument_group("reading the incident files (police.uk street CSVs or any geocoded CSV/Parquet/GeoPackage)")
    g.add_argument("--x", default=None, help="x / longitude column (default: Longitude/lon/gc_lon, else Easting/x/gc_x)")
    g.add_argument("--y", default=None, help="y / latitude column (default: found by name like --x)")
    g.add_argument("--crs", default=None, help="CRS of --x/--y, e.g. EPSG:27700 (default: guessed from the values)")
    g.add_argument("--sep", default=None, help="CSV delimiter (default: sniffed from the header)")
    g.add_argument("--encoding", default=None, help="CSV encoding (default strict UTF-8; e.g. cp1252)")
    if dates:
        g.add_argument("--month-column", default=None, help="month or date column (default: month/Month/date/...)")
        g.add_argument("--type-column", default=None, help="crime type column (default: Crime type/crime_type/category/...)")


def read_incidents(args: argparse.Namespace, paths: Sequence[Path] | None = None) -> Any:
    """:func:`geocrime.inputs.read_incidents` with the command's flags; notes printed on stderr."""
    from ..inputs import read_incidents as _read
    from . import note

    notes: list[str] = []
    pts = _read(list(paths if paths is not None else args.csv), x=args.x, y=args.y, crs=args.crs, sep=args.sep,
                encoding=args.encoding, month_column=getattr(args, "month_column", None),
                type_column=getattr(args, "type_column", None), notes=notes)
    for n in notes:
        note(args.command, n)
    if len(pts) == 0:
        from ..errors import InputError

        names = ", ".join(p.name for p in (paths if paths is not None else args.csv))
        raise InputError(f"{names}: no records (a header and no rows): nothing to {args.command}")
    return pts


def require(pts: Any, column: str, flag: str, what: str) -> None:
    """Refuse incidents without a usable ``month``/``crime_type`` column, naming the flag."""
    from ..errors import InputError

    if column not in pts.columns or not pts[column].notna().any():
        cols = [c for c in pts.columns if c not in ("geometry", "status", "source_file")]
        raise InputError(f"no {what} in the incident file(s): name the column with {flag} COLUMN "
                         f"(columns present: {', '.join(map(str, cols[:30]))})")


def said(command: str, text: str) -> None:
    print(f"geocrime {command}: {text}", file=sys.stderr)


def address_column(df: Any, columns: Any, flag: str) -> Any:
    """:func:`geocrime.geocoding.address_columns` with the delimiter hint when the header did not split
    (a semicolon file read with ``--sep ,``)."""
    from ..errors import MissingColumnsError
    from ..geocoding import address_columns
    from ..inputs import _missing_hint

    try:
        return address_columns(df, columns, flag=flag)
    except MissingColumnsError as e:
        hint = _missing_hint(df, (df.attrs.get("source") or {}).get("sep"))
        if not hint:
            raise
        raise MissingColumnsError(str(e) + hint, list(map(str, df.columns))) from None
