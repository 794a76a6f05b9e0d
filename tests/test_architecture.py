"""The package layout keeps its promises (docs/architecture.md), checked on the source text with ``ast``.

* no import circle among geocrime modules, counting imports inside functions too (they hide circles);
* no module-level import of a private name (``_x``, or anything under a ``_x`` module) from another
  geocrime package (``geocrime._geo``, the shared internal helpers every stage uses, excepted);
* the layering of the flow: a lower package never imports a higher one;
* the longest function outside ``geocoding/`` reads on one screen (<= 80 lines of code, docstring not
  counted), apart from a short explicit list of known exceptions, each with its owner and reason.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "geocrime"

#: Position of each package in the flow (docs/architecture.md). A module may import its own package
#: and packages of a lower or equal rank, never a higher one. Top-level modules not listed (errors,
#: config, registry, _geo, inputs, ...) are the base every stage may use: rank 0.
RANK = {
    "geocrime.address": 1,
    "geocrime.areas": 1,
    "geocrime.io": 1,
    "geocrime.inputs": 1,
    "geocrime.gazetteer": 2,
    "geocrime.geocoding": 3,
    "geocrime.analysis": 4,
    "geocrime.enrichment": 5,
    "geocrime.publish": 5,
    "geocrime.maps": 6,
    "geocrime.demo": 7,
    "geocrime.cli": 7,
    "geocrime.__main__": 7,
}

#: Private modules every package may import at module level: the shared internal helpers.
SHARED_PRIVATE = {"geocrime._geo"}

#: Known module-level private imports across packages, (importer, imported module) -> why and who fixes it.
PRIVATE_IMPORT_EXCEPTIONS = {
    ("geocrime.gazetteer.keys", "geocrime.address._rx"):
        "gazetteer keys reuse the address package's RE2 helpers: give them a public name in geocrime.address "
        "(geocoding helpers / address owner)",
}

#: The longest a function may be (lines of code after its docstring).
MAX_FUNCTION_LINES = 80

#: Known functions over MAX_FUNCTION_LINES outside geocoding/, each (module path, function) -> why
#: it is still long and who owns the split. The lead trims this list as the splits land.
LONG_FUNCTION_EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (absolute)
    names: tuple[str, ...]  # names taken from it (``from x import a, b``), () for ``import x``
    top_level: bool  # executed when the module is imported (not inside a function)
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(module: str, is_pkg: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Line numbers inside ``if TYPE_CHECKING:`` blocks (never executed)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                out.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return out


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in skip:
            continue
        top = node.lineno not in in_function
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "geocrime":
                    out.append(Import(module, a.name, (), top, node.lineno))
            continue
        target = _resolve(module, _is_package(path), node.level, node.module)
        if target.split(".")[0] != "geocrime":
            continue
        names = tuple(a.name for a in node.names)
        subs = tuple(n for n in names if f"{target}.{n}" in MODULES)
        for n in subs:  # ``from . import registry``: only the submodule is needed (the package is
            out.append(Import(module, f"{target}.{n}", (), top, node.lineno))  # already being set up)
        if len(subs) < len(names) or not names:
            out.append(Import(module, target, tuple(n for n in names if n not in subs), top, node.lineno))
    return out


ALL_IMPORTS = [imp for m, p in MODULES.items() for imp in _imports(m, p)]


def _package(module: str) -> str:
    """The geocrime package a module belongs to (``geocrime.areas`` for ``geocrime.areas._index``;
    a top-level module is its own package)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _edges(imports: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in imports:
        if imp.target in MODULES and imp.target != imp.module:
            # a package's __init__ importing its own submodules is how packages work, not a circle
            edges[imp.module].add(imp.target)
    return edges


# --------------------------------------------------------------------------------------- the checks
def test_the_checker_sees_the_tree() -> None:
    """The parser finds the packages and both kinds of import (a check that cannot fail is no check)."""
    assert {"geocrime.areas._assign", "geocrime.enrichment.core", "geocrime.errors"} <= set(MODULES)
    assert any(i.module == "geocrime.areas._assign" and i.target == "geocrime.areas.layers" and i.top_level
               for i in ALL_IMPORTS)
    assert any(not i.top_level for i in ALL_IMPORTS)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle() -> None:
    """No circle among geocrime modules, function-level imports included."""
    cycles = _cycles(_edges(ALL_IMPORTS))
    detail = []
    for comp in cycles:
        members = set(comp)
        detail.append(" <-> ".join(comp) + ": " + "; ".join(
            f"{i.module}:{i.line} imports {i.target}{'' if i.top_level else ' (in a function)'}"
            for i in ALL_IMPORTS if i.module in members and i.target in members and i.target != i.module))
    assert not cycles, "import circles:\n" + "\n".join(detail)


def _private(imp: Import) -> list[str]:
    """The private parts of an import: ``_x`` modules on the target's path below geocrime, ``_x`` names."""
    out = [p for p in imp.target.split(".")[1:] if p.startswith("_") and not p.startswith("__")]
    if imp.target in SHARED_PRIVATE:
        out = []
    out += [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
    return out


def test_no_module_level_private_import_across_packages() -> None:
    bad = [
        f"{i.module}:{i.line} from {i.target} import {', '.join(i.names) or '(module)'} ({', '.join(_private(i))})"
        for i in ALL_IMPORTS
        if i.top_level and _package(i.target) != _package(i.module) and _private(i)
        and (i.module, i.target) not in PRIVATE_IMPORT_EXCEPTIONS
    ]
    assert not bad, "module-level imports of private names from another package:\n" + "\n".join(bad)


@pytest.mark.parametrize("key", sorted(PRIVATE_IMPORT_EXCEPTIONS))
def test_private_import_exceptions_are_still_needed(key: tuple[str, str]) -> None:
    assert any((i.module, i.target) == key and i.top_level for i in ALL_IMPORTS), f"{key}: remove it from the list"


def _rank(module: str) -> int:
    return RANK.get(_package(module), 0)


def test_layering_lower_packages_never_import_higher_ones() -> None:
    """address, areas -> gazetteer -> geocoding -> (analysis) -> enrichment -> cli (see RANK)."""
    assert _rank("geocrime.areas._index") < _rank("geocrime.gazetteer.core") < _rank("geocrime.geocoding.api") \
        < _rank("geocrime.enrichment.core") < _rank("geocrime.cli.cmd_enrich")
    bad = [
        f"{i.module}:{i.line} imports {i.target}{'' if i.top_level else ' (in a function)'} "
        f"(rank {_rank(i.module)} -> {_rank(i.target)})"
        for i in ALL_IMPORTS
        if _package(i.target) != _package(i.module) and _rank(i.target) > _rank(i.module)
    ]
    assert not bad, "imports against the flow:\n" + "\n".join(bad)


def _function_lengths() -> list[tuple[int, str, str]]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            out.append(((node.end_lineno or node.lineno) - body[0].lineno + 1, rel, node.name))
    return out


def test_functions_read_on_one_screen() -> None:
    lengths = _function_lengths()
    assert max(n for n, _, _ in lengths) > 10  # the measure sees real functions
    long_ = {(rel, name): n for n, rel, name in lengths
             if n > MAX_FUNCTION_LINES and not rel.startswith("geocoding/")}
    unexplained = {k: v for k, v in long_.items() if k not in LONG_FUNCTION_EXCEPTIONS}
    assert not unexplained, (
        f"functions over {MAX_FUNCTION_LINES} lines of code (split them into named steps): "
        + ", ".join(f"{rel}:{name} ({n})" for (rel, name), n in sorted(unexplained.items(), key=lambda kv: -kv[1]))
    )


def test_long_function_exceptions_are_still_needed() -> None:
    """An exception whose function got short (or went away) must leave the list."""
    lengths = {(rel, name): n for n, rel, name in _function_lengths()}
    assert lengths, "no function measured: the source tree was not found"
    stale = {k: lengths.get(k) for k in LONG_FUNCTION_EXCEPTIONS if lengths.get(k, 0) <= MAX_FUNCTION_LINES}
    assert not stale, f"now at most {MAX_FUNCTION_LINES} lines, remove from LONG_FUNCTION_EXCEPTIONS: {stale}"
