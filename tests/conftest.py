"""Shared fixtures. Real data is read in place from ``../shared/data`` (or ``$GEOCRIME_DATA_DIR``).

A test that needs the data fails (never skips) when it is missing, so CI cannot go green without it.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import _hypothesis_count

ROOT = Path(__file__).resolve().parents[1]

# Hypothesis profiles for tests/test_properties.py. Each property test sets its own example count
# for the "ci" profile (cheap functions many, expensive ones few: together >= 10,000 examples in a few
# minutes on 2 cores); "nightly" multiplies every count by 10 and draws fresh random examples.
# Select with HYPOTHESIS_PROFILE=nightly (default: ci).
settings.register_profile(
    "ci", deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "nightly", deadline=None, derandomize=False, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
#: multiplier of every property test's example count
HYPOTHESIS_SCALE = {"ci": 1, "nightly": 10}.get(HYPOTHESIS_PROFILE, 1)
settings.load_profile(HYPOTHESIS_PROFILE)
_T0 = time.perf_counter()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    """Report how many generated examples the property tests ran (when any did)."""
    ex = _hypothesis_count.EXAMPLES
    if not ex:
        return
    total = sum(ex.values())
    tr = terminalreporter
    tr.section(f"hypothesis examples (profile {HYPOTHESIS_PROFILE!r})")
    for name, n in sorted(ex.items()):
        tr.write_line(f"{n:8d}  {name}")
    tr.write_line(f"{total:8d}  total examples in {time.perf_counter() - _T0:.0f} s")
    out = os.environ.get("GEOCRIME_HYPOTHESIS_REPORT")
    if out:
        Path(out).write_text(json.dumps({"profile": HYPOTHESIS_PROFILE, "total": total, "per_test": dict(ex)}, indent=1))


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
