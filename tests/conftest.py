"""Shared fixtures. Real data is read in place from ``../shared/data`` (or ``$GEOCRIME_DATA_DIR``).

A test that needs the data fails (never skips) when it is missing, so CI cannot go green without it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    env = os.environ.get("GEOCRIME_DATA_DIR")
    p = Path(env) if env else ROOT.parent / "shared" / "data"
    return p if p.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real open data folder. Fails the test when absent (in CI and locally alike)."""
    p = _data_dir()
    if p is None:
        pytest.fail(
            "real data not found: set GEOCRIME_DATA_DIR or put shared/data beside the checkout "
            f"(looked for {ROOT.parent / 'shared' / 'data'})"
        )
    os.environ.setdefault("GEOCRIME_DATA_DIR", str(p))
    return p


@pytest.fixture(scope="session")
def met_burglary_files(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "policeuk_met_burglary_street").glob("*-metropolitan-street.csv"))
    assert len(files) == 6, files
    return files


@pytest.fixture(scope="session")
def city_files(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "policeuk_city_of_london_street").glob("*-city-of-london-street.csv"))
    assert len(files) == 38, files
    return files
