"""The ``geocrime`` command: a thin layer over the library.

Each sub-command lives in its own module ``geocrime/cli/cmd_<name>.py`` exposing
``register(subparsers) -> None``; modules are discovered here, so adding a command touches no other
file. Commands print a human summary, or with ``--json`` one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from typing import Any, Sequence

from ..errors import GeocrimeError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered sub-command registered."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="geocrime",
        description="Messy police incident records to trustworthy crime maps.",
    )
    parser.add_argument("--version", action="version", version=f"geocrime {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("cmd_"):
            module = importlib.import_module(f"{__name__}.{mod.name}")
            module.register(sub)
    return parser


def emit(summary: dict[str, Any], as_json: bool) -> None:
    """Print a command's summary: JSON on one line, or ``key: value`` lines."""
    if as_json:
        print(json.dumps(summary, default=str, sort_keys=True))
    else:
        for k, v in summary.items():
            print(f"{k}: {v}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geocrime`` console script. Returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except GeocrimeError as exc:
        print(f"geocrime {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"geocrime {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
