"""The documentation builds cleanly and its examples run.

* ``mkdocs build --strict`` (a warning fails the build: broken links, missing nav pages, a
  ``::: module`` that griffe cannot load, a docstring mkdocstrings cannot parse).
* Every ``::: geocrime.x`` the API pages reference imports, and every public name exported from
  ``geocrime`` (its ``_EXPORTS``) resolves, has a docstring, and is covered by an API page.
* The CLI reference is generated from ``geocrime.cli.build_parser()``: every sub-command appears.
* The ``python`` code blocks of the quickstart and the stage pages run (blocks of one page share one
  namespace, in a fresh interpreter). Illustration-only snippets use ``py`` fences and are not run.
* The data-sources page names every data folder and quotes the licence texts from PROVENANCE.md.
"""
from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import geocrime

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.M)
RUN_PAGES = ["quickstart.md", *sorted(p.relative_to(DOCS).as_posix() for p in (DOCS / "stages").glob("*.md"))]


def _api_targets() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for page in DOCS.rglob("*.md"):
        for name in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            out[name] = page
    return out


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("NO_MKDOCS_2_WARNING", "1")
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
        capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log[-6000:]}"
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, "\n".join(warnings)
    return site


def test_docs_build_strict(built_site: Path):
    for page in ["index.html", "quickstart/index.html", "cli/index.html", "data-sources/index.html"]:
        assert (built_site / page).is_file(), page
    # the API pages really rendered docstrings (not an empty page)
    html = (built_site / "api" / "analysis" / "index.html").read_text(encoding="utf-8")
    assert "getis_ord" in html and "Benjamini" in html
    # Sphinx roles are stripped by the hook
    for page in (built_site / "api").rglob("*.html"):
        assert ":func:" not in page.read_text(encoding="utf-8"), page


def test_api_pages_reference_modules_that_exist():
    targets = _api_targets()
    assert targets, "no ::: directive found under docs/"
    missing = []
    for name, page in targets.items():
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{page.relative_to(ROOT)}: '::: {name}' cannot be imported ({exc})")
    assert not missing, "API pages reference modules that are gone:\n" + "\n".join(missing)


def test_every_public_export_is_documented():
    targets = set(_api_targets())
    problems = []
    for name, module in sorted(geocrime._EXPORTS.items()):
        try:
            obj = getattr(geocrime, name)
        except (ImportError, AttributeError) as exc:
            problems.append(f"geocrime.{name} (from {module}) does not resolve: {exc}")
            continue
        if not (getattr(obj, "__doc__", None) or "").strip():
            problems.append(f"geocrime.{name} has no docstring")
        covered = any(module == t or module.startswith(t + ".") or t.startswith(module + ".") for t in targets)
        if not covered:
            problems.append(f"geocrime.{name}: module {module} has no API page ('::: {module}')")
    assert not problems, "\n".join(problems)


def test_cli_reference_lists_every_command(built_site: Path):
    import argparse

    from geocrime.cli import build_parser

    parser = build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert subs, "the geocrime parser has no sub-commands"
    names = list(subs[0].choices)
    assert names
    html = (built_site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "geocrime-cli-reference" not in html, "the CLI marker was not replaced by the hook"
    for name in names:
        assert f"geocrime {name}</code>" in html, f"sub-command {name!r} missing from the CLI reference"
        # the options of each sub-command are there too
        for action in subs[0].choices[name]._actions:
            for opt in action.option_strings:
                if opt.startswith("--"):
                    assert opt in html, f"option {opt} of geocrime {name} missing from the CLI reference"


@pytest.mark.parametrize("page", RUN_PAGES)
def test_page_examples_run(page: str, shared_data: Path, tmp_path: Path):
    md = (DOCS / page).read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", md, re.S | re.M)
    if page == "quickstart.md":
        assert blocks, "the quickstart has no runnable example"
    if not blocks:
        return
    code = "\n\n".join(blocks)
    env = _env()
    env["GEOCRIME_DATA_DIR"] = str(shared_data)
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=600)
    assert proc.returncode == 0, f"examples of docs/{page} failed:\n{proc.stderr[-4000:]}"


def test_data_sources_page_names_every_folder_and_licence(shared_data: Path):
    text = (DOCS / "data-sources.md").read_text(encoding="utf-8")
    flat = re.sub(r"\s+", " ", text.replace("> ", ""))
    folders = sorted(p.name for p in shared_data.iterdir() if (p / "PROVENANCE.md").is_file())
    assert folders
    for folder in folders:
        assert f"`{folder}`" in text, f"data folder {folder} is not described on data-sources.md"
    # the OS Code-Point Open attribution, verbatim from its PROVENANCE.md
    prov = (shared_data / "codepoint_open_london_postcodes" / "PROVENANCE.md").read_text(encoding="utf-8")
    m = re.search(r"\"(Contains OS data .*?2025\.)\"", re.sub(r"\s+", " ", prov))
    assert m, "Code-Point attribution not found in PROVENANCE.md"
    attribution = m.group(1).rstrip(".")
    assert attribution in flat, attribution
    for phrase in ["Open Government Licence v3.0", "Office for National Statistics", "police.uk",
                   "Food Standards Agency"]:
        assert phrase in text, phrase


def test_data_sources_page_quotes_every_registry_attribution():
    from geocrime import registry

    flat = re.sub(r"\s+", " ", (DOCS / "data-sources.md").read_text(encoding="utf-8"))
    names = registry.names()
    assert names
    missing = [f"{n}: {registry.attribution([n])!r}" for n in names if registry.attribution([n]) not in flat]
    assert not missing, "attribution texts of the registry missing from docs/data-sources.md:\n" + "\n".join(missing)


def _public_modules() -> list[str]:
    import pkgutil

    names = []
    for m in pkgutil.walk_packages(geocrime.__path__, "geocrime."):
        parts = m.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) or parts[0] == "cli":
            continue
        names.append(m.name)
    return names


def test_every_public_function_and_class_has_a_docstring():
    """Every name a public module lists in ``__all__`` (functions and classes) is documented, so the
    API reference has no empty entry."""
    import inspect

    modules = _public_modules()
    assert {"geocrime.areas", "geocrime.geocoding", "geocrime.analysis", "geocrime.publish"} <= set(modules)
    problems = []
    for name in modules:
        mod = importlib.import_module(name)
        if not (mod.__doc__ or "").strip():
            problems.append(f"module {name} has no docstring")
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr, None)
            if obj is None:
                problems.append(f"{name}.__all__ lists {attr!r}, which does not exist")
            elif (inspect.isfunction(obj) or inspect.isclass(obj)) and not (obj.__doc__ or "").strip():
                problems.append(f"{name}.{attr} has no docstring")
    assert not problems, "\n".join(problems)


def test_every_public_module_has_an_api_page():
    targets = set(_api_targets())
    skip = {"geocrime.demo"}  # the demo script is documented by the CLI reference (geocrime demo)
    uncovered = [m for m in _public_modules()
                 if m not in skip and not any(m == t or m.startswith(t + ".") for t in targets)]
    assert not uncovered, f"public modules without an API page ('::: module' under docs/api): {uncovered}"


def test_readme_example_runs_and_pictures_exist(shared_data: Path, tmp_path: Path):
    """The README's Python example runs as written; its pictures are committed files."""
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
    assert len(blocks) == 1 and len(blocks[0].strip().splitlines()) <= 12
    for img in re.findall(r"\]\((docs/img/[^)]+\.png)\)", readme):
        assert (DOCS.parent / img).stat().st_size > 10_000, img
    env = _env()
    env["GEOCRIME_DATA_DIR"] = str(shared_data)
    code = blocks[0] + "\nassert len(out) == 3 and out.loc[1, 'gc_placeholder'] == 'no_fixed_abode'\n" \
        "assert out.loc[[0, 2], 'gc_ward_2024'].str.startswith('E05').all()\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
