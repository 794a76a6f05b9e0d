"""geocrime.registry: manifests, the local mirror, hash checks, and the real pooch download path.

Downloads from the official hosts cannot run here (no network), so the download path is exercised
against a throw-away HTTP server on 127.0.0.1 serving files from a temporary folder.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pooch
import pytest

from geocrime import registry
from geocrime.errors import DataIntegrityError, DataNotFoundError

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "geocrime" / "registry_data"


def test_manifest_copies_are_identical() -> None:
    """The repository manifests and the copies shipped in the package must not drift apart."""
    assert (ROOT / "data" / "boundaries" / "manifest.json").read_bytes() == (PKG / "boundaries.json").read_bytes()
    assert (ROOT / "data" / "samples" / "manifest.json").read_bytes() == (PKG / "samples.json").read_bytes()


def test_manifest_fields() -> None:
    m = registry.manifest()
    for name in ("ward_2022", "ward_2024", "lsoa_2021", "borough"):
        e = m[name]
        assert e["kind"] == "boundary"
        for k in ("vintage", "code_column", "name_column", "licence", "attribution", "main", "files", "source"):
            assert e.get(k), (name, k)
        exts = {Path(f["path"]).suffix for f in e["files"]}
        assert exts == {".shp", ".shx", ".dbf", ".prj", ".cpg"}  # every sidecar has its own hash
        for f in e["files"]:
            assert len(f["sha256"]) == 64
            u = urlparse(f["url"])
            assert u.scheme == "https" and e["source"]["commit"] in f["url"]
    assert m["ward_2022"]["filter"] == {"column": "LAD22CD", "startswith": "E09"}
    assert registry.names("sample") and set(registry.names("boundary")) >= {"ward_2022", "lsoa_2021"}
    assert "Crown copyright" in registry.attribution(["ward_2022"])


def test_every_registered_file_matches_the_mirror(shared_data: Path) -> None:
    for name in registry.names():
        paths = registry.fetch_files(name, download=False)
        assert all(p.is_relative_to(shared_data.resolve()) or p.is_relative_to(shared_data) for p in paths)
    assert registry.fetch("ward_2022").name == "ward_boundaries_2022_clipped_to_london.shp"
    folder = registry.fetch("policeuk_met_burglary")
    assert folder.is_dir() and len(list(folder.glob("*-street.csv"))) == 6


def _mirror_copy(shared_data: Path, tmp: Path, name: str) -> Path:
    e = registry.entry(name)
    for f in e["files"]:
        dst = tmp / f["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_data / f["path"], dst)
    return tmp


def test_hash_mismatch_in_mirror(tmp_path: Path, shared_data: Path) -> None:
    mirror = _mirror_copy(shared_data, tmp_path / "data", "borough")
    assert registry.fetch("borough", data_dir=mirror).parent == mirror / "london_boroughs_lad22_ons"
    dbf = mirror / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.dbf"
    b = bytearray(dbf.read_bytes())
    b[-10] ^= 0x01
    dbf.write_bytes(bytes(b))
    with pytest.raises(DataIntegrityError, match="london-2021-lad22-gen20.dbf"):
        registry.fetch("borough", data_dir=mirror)
    assert registry.verify("borough", data_dir=mirror)["ok"] is False


def test_mirror_only_source_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOCRIME_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError, match="mirror-only"):
        registry.fetch("fhrs_london", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="download=False"):
        registry.fetch("borough", data_dir=tmp_path, download=False)
    with pytest.raises(DataNotFoundError, match="no data source named"):
        registry.fetch("ward_1999")


@pytest.fixture()
def http_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("GEOCRIME_CACHE_DIR", str(tmp_path / "cache"))
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_path_with_hash_check(http_dir, tmp_path: Path, shared_data: Path) -> None:
    served, base = http_dir
    real = registry.entry("borough")
    files = []
    for f in real["files"]:
        name = Path(f["path"]).name
        shutil.copy(shared_data / f["path"], served / name)
        files.append({**f, "url": f"{base}/{name}"})
    reg = {"borough_http": {**real, "name": "borough_http", "files": files}}
    empty = tmp_path / "empty"
    empty.mkdir()
    shp = registry.fetch("borough_http", data_dir=empty, registry=reg, progress=False)
    assert shp.parent == tmp_path / "cache" / "data" / "london_boroughs_lad22_ons"
    for f in files:
        got = shp.parent / Path(f["path"]).name
        assert pooch.file_hash(str(got)) == f["sha256"]
    # cached: served files removed, fetch still works (pooch finds the verified cache)
    for p in served.iterdir():
        p.unlink()
    assert registry.fetch("borough_http", data_dir=empty, registry=reg, progress=False) == shp
    from geocrime.areas import load_layer

    assert len(load_layer(shp, "borough", code="LAD22CD").gdf) == 33

    # a download whose bytes differ from the registry hash
    (served / "x.csv").write_text("a,b\n1,2\n")
    bad = {"x": {"name": "x", "kind": "sample", "main": "f/x.csv",
                 "files": [{"path": "f/x.csv", "sha256": "0" * 64, "url": f"{base}/x.csv"}]}}
    with pytest.raises(DataIntegrityError, match="does not match"):
        registry.fetch("x", data_dir=empty, registry=bad, progress=False)
    # a URL that fails (404)
    gone = {"y": {"name": "y", "kind": "sample", "main": "f/y.csv",
                  "files": [{"path": "f/y.csv", "sha256": "0" * 64, "url": f"{base}/missing.csv"}]}}
    with pytest.raises(DataNotFoundError, match="failed"):
        registry.fetch("y", data_dir=empty, registry=gone, progress=False)
