"""The analyst notebooks run top to bottom in a fresh kernel, and are committed without outputs.

Each ``notebooks/NN_*.ipynb`` is executed with nbclient in a kernel that runs THIS interpreter
(a kernelspec written to a temporary ``JUPYTER_PATH``, so a user's own ``python3`` kernel cannot be
picked up by mistake), from a temporary working directory, with ``GEOCRIME_DATA_DIR`` pointing at
the real data. Any cell error fails the test with the cell's traceback.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KERNEL = "geocrime-test-kernel"


def _strip_module():
    spec = importlib.util.spec_from_file_location("strip_notebooks", ROOT / "scripts" / "strip_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_there_are_the_three_analyst_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert len(names) >= 3, names
    for prefix in ("01_", "02_", "03_"):
        assert any(n.startswith(prefix) for n in names), f"no notebook {prefix}*: {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


def test_notebooks_match_their_sources():
    bad = _strip_module().problems()
    assert not bad, "\n".join(bad)


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory, shared_data) -> str:
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "geocrime tests", "language": "python",
        "env": {"GEOCRIME_DATA_DIR": str(shared_data), "MPLBACKEND": "Agg"},
    }))
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(root))
    yield KERNEL
    mp.undo()


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, kernel_name: str, tmp_path: Path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel_name, timeout=600, allow_errors=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}")
    # every code cell ran
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip():
            assert cell.execution_count is not None
