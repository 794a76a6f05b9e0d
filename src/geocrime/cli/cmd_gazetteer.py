"""``geocrime gazetteer build OUT --fhrs F --codepoint C --police-uk P --streets-ppd S --open-names N --osm O
--landmarks L --localities X ...``: build and save a gazetteer;
``geocrime gazetteer info G``: what a saved gazetteer holds."""
from __future__ import annotations

import argparse
import glob
import time
from pathlib import Path
from typing import Any

from . import emit


def register(sub: Any) -> None:
    p = sub.add_parser("gazetteer", help="build, save and inspect gazetteers")
    ss = p.add_subparsers(dest="gazetteer_command", metavar="ACTION")
    b = ss.add_parser("build", help="build a gazetteer from address sources and save it to a directory")
    b.add_argument("output", type=Path, help="directory to write (table.parquet, index.npz, meta.json)")
    b.add_argument("--csv", action="append", default=[], type=Path,
                   help="LLPG/AddressBase-shaped CSV (UPRN, SAO, PAO, STREET, LOCALITY, TOWN, POSTCODE, EASTING, NORTHING); highest priority")
    b.add_argument("--fhrs", action="append", default=[], type=Path, help="FSA FHRS CSV file(s)")
    b.add_argument("--codepoint", type=Path, default=None, help="OS Code-Point Open CSV (postcode units)")
    b.add_argument("--police-uk", action="append", default=[], help="police.uk street CSV files or globs (street layer)")
    b.add_argument("--streets-ppd", action="append", default=[], type=Path,
                   help="postcode -> street CSV (postcode, street[, lad_code]) joined to --codepoint (street layer)")
    b.add_argument("--open-names", action="append", default=[], type=Path, help="OS Open Names CSV file(s) ('Named Road' rows)")
    b.add_argument("--osm", action="append", default=[], type=Path, help="OpenStreetMap named ways (GeoPackage/GeoJSON)")
    b.add_argument("--landmarks", action="append", default=[], type=Path,
                   help="CSV of landmark name + point (NAME, EASTING/NORTHING or lon/lat; e.g. TfL stations)")
    b.add_argument("--localities", type=Path, default=None,
                   help="localities CSV (locality, lad, easting, northing); default: the packaged London place lexicon")
    b.add_argument("--no-localities", action="store_true", help="leave the locality level out")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=run_build)
    i = ss.add_parser("info", help="describe a saved gazetteer")
    i.add_argument("path", type=Path)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=run_info)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def run_build(args: argparse.Namespace) -> int:
    import resource

    from ..errors import InputError
    from ..gazetteer import Gazetteer, read_address_csv, read_codepoint, read_fhrs, streets_from_police_uk

    t0 = time.perf_counter()
    _check_encodings([*args.csv, *args.fhrs, *([args.codepoint] if args.codepoint else [])])
    sources = []
    for c in args.csv:
        sources.append(read_address_csv(c))
    if args.fhrs:
        sources.append(read_fhrs(args.fhrs))
    units = read_codepoint(args.codepoint) if args.codepoint else None
    if units is not None:
        sources.append(units)
    files = sorted(f for pat in args.police_uk for f in (glob.glob(pat) or [pat]))
    if files:
        if units is None:
            raise InputError("--police-uk needs --codepoint (street districts come from the nearest postcode unit)")
        sources.append(streets_from_police_uk(files, units))
    sources += _street_layers(args, units)
    if not sources:
        raise InputError("give at least one source: --csv, --fhrs, --codepoint or --police-uk")
    gaz = Gazetteer.from_sources(sources)
    gaz.save(args.output)
    size = sum(f.stat().st_size for f in Path(args.output).iterdir())
    summary = {
        "output": str(args.output), "entries": len(gaz), "addresses": gaz.n_addresses,
        "levels": gaz.meta["counts"], "build_seconds": round(time.perf_counter() - t0, 2),
        "size_mb": round(size / 1e6, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    emit(summary, args.json)
    return 0


def _check_encodings(paths: list[Path]) -> None:
    """Refuse a source file that is not UTF-8 before anything is built (the readers would otherwise put
    replacement characters into the gazetteer's addresses)."""
    from ..errors import DataNotFoundError, FileFormatError
    from ..inputs import check_encoding

    for p in paths:
        if not Path(p).is_file():
            raise DataNotFoundError(f"source file not found: {p}")
        try:
            check_encoding(p)
        except FileFormatError as e:
            msg = str(e).split(" Files exported from Excel")[0].rstrip(".")
            raise FileFormatError(f"{msg}. gazetteer build reads UTF-8: re-save the file as UTF-8 CSV "
                                  "(e.g. iconv -f cp1252 -t utf-8); nothing was built.") from None


def _street_layers(args: argparse.Namespace, units: Any) -> list[Any]:
    """Source tables of the street, landmark and locality flags."""
    from ..errors import InputError
    from ..gazetteer import (localities_from_places, read_landmarks, read_localities, read_open_names, read_osm_streets,
                             read_streets_ppd)

    out = []
    if args.streets_ppd:
        if units is None:
            raise InputError("--streets-ppd needs --codepoint (each postcode's point comes from Code-Point Open)")
        out += [read_streets_ppd(p, units) for p in args.streets_ppd]
    if args.open_names:
        out.append(read_open_names(args.open_names))
    out += [read_osm_streets(p) for p in args.osm]
    out += [read_landmarks(p) for p in args.landmarks]
    if not args.no_localities and (out or units is not None):
        out.append(read_localities(args.localities) if args.localities else localities_from_places())
    return out


def run_info(args: argparse.Namespace) -> int:
    from ..gazetteer import Gazetteer

    gaz = Gazetteer.load(args.path)
    emit({"path": str(args.path), "entries": len(gaz), "addresses": gaz.n_addresses, **gaz.meta}, args.json)
    return 0
