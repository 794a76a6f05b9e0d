#!/usr/bin/env python
"""Build the analyst notebooks from their jupytext sources and keep them output-free.

The source of each notebook is ``notebooks/NN_name.py`` (jupytext "percent" format: readable diffs,
reviewable code); the committed ``notebooks/NN_name.ipynb`` is generated from it with no outputs,
no execution counts and fixed metadata, so git never sees outputs or kernel noise.

    python scripts/strip_notebooks.py            # rebuild every .ipynb from its .py
    python scripts/strip_notebooks.py --check    # exit 1 if any .ipynb is stale or has outputs
    python scripts/strip_notebooks.py --strip X.ipynb   # only strip outputs of given notebooks in place

``tests/test_notebooks.py`` runs the ``--check`` logic.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs, execution counts and volatile metadata (in place); returns ``nb``."""
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in ("tags",)}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("id", None)
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb


def build(source: Path) -> nbformat.NotebookNode:
    """The stripped notebook made from a jupytext percent ``.py`` source."""
    nb = jupytext.read(source, fmt="py:percent")
    return strip(nb)


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def sources() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def problems() -> list[str]:
    """Why the committed notebooks are not exactly what the sources build (empty when all good)."""
    out = []
    for src in sources():
        target = src.with_suffix(".ipynb")
        if not target.is_file():
            out.append(f"{target.name}: missing (run scripts/strip_notebooks.py)")
            continue
        if target.read_text(encoding="utf-8") != render(build(src)):
            out.append(f"{target.name}: stale or has outputs (run scripts/strip_notebooks.py)")
    for nbfile in sorted(NOTEBOOKS.glob("*.ipynb")):
        if not nbfile.with_suffix(".py").is_file():
            out.append(f"{nbfile.name}: no .py source beside it")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report stale notebooks, change nothing")
    ap.add_argument("--strip", nargs="+", type=Path, metavar="IPYNB", help="strip these notebooks in place")
    args = ap.parse_args(argv)
    if args.strip:
        for path in args.strip:
            nb = strip(nbformat.read(path, as_version=4))
            path.write_text(render(nb), encoding="utf-8")
        return 0
    if args.check:
        bad = problems()
        print("\n".join(bad) or "notebooks: up to date, no outputs")
        return 1 if bad else 0
    for src in sources():
        src.with_suffix(".ipynb").write_text(render(build(src)), encoding="utf-8")
        print(f"wrote {src.with_suffix('.ipynb').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
