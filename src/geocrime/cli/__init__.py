"""The ``geocrime`` command: a thin layer over the library.

Each sub-command lives in its own module ``geocrime/cli/cmd_<name>.py`` exposing
``register(subparsers) -> None``; modules are discovered here, so adding a command touches no other
file. Commands print a human summary, or with ``--json`` one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import re
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


# library messages name the Python argument and the flag: "pass sep=';' (CLI: --sep ';')"
_PY_AND_CLI = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|\"[^\"]*\"|[^\s,;)]+) \(CLI: ([^)]*)\)")


# library messages written for Python callers only, in the words of the command's flags
_PY_ONLY = (
    (re.compile(r"pass denominator= \(population, dwellings, area\) to test rates"),
     "pass --per-km2 to test counts per km² (area as denominator)"),
    (re.compile(r"use permutations >= (\d+)"), r"use --permutations \1"),
    (re.compile(r"or fdr=False to see raw p_sim"), "or --no-fdr to see raw p_sim"),
    (re.compile(r"pass columns='address' \(or a list of columns\)"), "name it with --columns NAME"),
    (re.compile(r"; pass coverage= to declare what each source covers"),
     " (coverage is inferred per source from its records)"),
)


def cli_message(text: str) -> str:
    """A library message in CLI wording: ``sep=';' (CLI: --sep ';')`` becomes ``--sep ';'``; a few
    messages that name only a Python argument get the flag instead."""
    text = _PY_AND_CLI.sub(lambda m: m.group(1), str(text))
    for pat, rep in _PY_ONLY:
        text = pat.sub(rep, text)
    return text


def note(command: str, text: str) -> None:
    """Print a one-line note (a guess made, a partial problem) on stderr in CLI wording."""
    print(f"geocrime {command}: note: {cli_message(text)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geocrime`` console script. Returns the process exit code: 0 success, 1 an
    error the message explains (also: nothing usable in the output), 2 bad usage, 130 interrupted.
    A dependency's exception is reported in one line, never as a traceback (``GEOCRIME_DEBUG=1``
    shows it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    import warnings

    def _show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001 - warnings hook
        print(f"geocrime {args.command}: warning: {cli_message(str(message))}", file=sys.stderr)

    old_show = warnings.showwarning
    warnings.showwarning = _show
    try:
        rc = args.func(args)
    except GeocrimeError as exc:
        print(f"geocrime {args.command}: error: {cli_message(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"geocrime {args.command}: interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError) as exc:
        print(f"geocrime {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a dependency failed: one line, not a traceback
        if os.environ.get("GEOCRIME_DEBUG"):
            raise
        where = type(exc).__module__.split(".")[0]
        print(f"geocrime {args.command}: error: unexpected {where} {type(exc).__name__}: {str(exc)[:500]} "
              "(please report it; GEOCRIME_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = old_show
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
