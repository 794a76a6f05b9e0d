"""MkDocs hook: the CLI reference is generated from the CLI itself.

``docs/cli.md`` holds the marker ``<!-- geocrime-cli-reference -->``; this hook replaces it with the
``--help`` text of ``geocrime`` and of every sub-command (recursively), taken from
:func:`geocrime.cli.build_parser`, so the reference cannot drift from the code. A sub-command added
as ``geocrime/cli/cmd_<name>.py`` appears here on the next build with no docs edit.

It also strips the Sphinx roles (``:func:``, ``:class:`` ...) that some docstrings use, which
mkdocstrings would otherwise print literally.
"""
from __future__ import annotations

import argparse
import os
import re

MARKER = "<!-- geocrime-cli-reference -->"
WIDTH = "100"


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    out: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:  # aliases point at the same parser
                    continue
                seen.add(id(sub))
                out.append((name, sub))
    return out


def _help(parser: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH  # argparse wraps to the terminal width: make it reproducible
    try:
        return parser.format_help().rstrip()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def cli_reference() -> str:
    """Markdown for the whole command tree."""
    from geocrime.cli import build_parser

    root = build_parser()
    parts = ["## `geocrime`", "", "```text", _help(root), "```", ""]

    def walk(parser: argparse.ArgumentParser, path: list[str], level: int) -> None:
        for name, sub in _subcommands(parser):
            full = path + [name]
            parts.extend([f"{'#' * level} `{' '.join(full)}`", "", "```text", _help(sub), "```", ""])
            walk(sub, full, min(level + 1, 6))

    walk(root, ["geocrime"], 3)
    return "\n".join(parts)


_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|exc|data|obj|const):(?=<code>|`)")


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - mkdocs hook signature
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_reference())
    return markdown


def on_page_content(html: str, page, config, files) -> str:  # noqa: ARG001 - mkdocs hook signature
    return _ROLE.sub("", html)
