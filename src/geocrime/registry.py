"""The data registry: which boundary and sample files geocrime knows, where they come from, their hashes.

Manifests (JSON, in the repository at ``data/boundaries/manifest.json`` and ``data/samples/manifest.json``;
shipped identically inside the package as ``geocrime/registry_data/*.json`` so an installed wheel finds
them too) list, per source: name (``ward_2022``, ``lsoa_2021``...), kind (``boundary`` / ``sample``),
vintage, layer, code and name columns, an optional row filter, licence, attribution text, the official
source (repository and commit), and every file (shapefile sidecars included) with its path inside the
data directory, SHA-256 and download URL (``null`` = mirror-only: the file was derived locally and has
no public raw URL; see its PROVENANCE.md).

:func:`fetch` looks in the local data directory first (``GEOCRIME_DATA_DIR``, default
``../shared/data``; see :mod:`geocrime.config`) and verifies the SHA-256 there; otherwise it downloads
from the official URL into the cache (``GEOCRIME_CACHE_DIR``) with a hash check and a progress bar.
Downloading, caching and hashing are done by `pooch <https://www.fatiando.org/pooch>`_.
"""
from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import pooch

from . import config
from .errors import DataIntegrityError, DataNotFoundError, InputError

__all__ = ["manifest", "entry", "names", "fetch", "fetch_files", "verify", "attribution"]

_MANIFESTS = ("boundaries.json", "samples.json")
_verified: dict[tuple[str, int, int], str] = {}


def _load_manifests() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    base = resources.files("geocrime").joinpath("registry_data")
    for fn in _MANIFESTS:
        data = json.loads(base.joinpath(fn).read_text(encoding="utf-8"))
        for e in data["sources"]:
            if e["name"] in out:
                raise InputError(f"registry name {e['name']!r} is defined twice")
            out[e["name"]] = e
    return out


_CACHE: dict[str, dict[str, Any]] | None = None


def manifest() -> dict[str, dict[str, Any]]:
    """Every registered source, by name (boundary layers and sample data)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = _load_manifests()
    return _CACHE


def names(kind: str | None = None) -> list[str]:
    """Registered names, optionally only of one kind (``"boundary"`` or ``"sample"``)."""
    return [n for n, e in manifest().items() if kind is None or e.get("kind") == kind]


def entry(name: str, registry: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The manifest entry of ``name``; :class:`DataNotFoundError` listing the known names if absent."""
    reg = manifest() if registry is None else registry
    if name not in reg:
        raise DataNotFoundError(f"no data source named {name!r} in the registry; known: {', '.join(sorted(reg))}")
    return dict(reg[name])


def _local_hash(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        _verified[key] = pooch.file_hash(str(path), alg="sha256")
    return _verified[key]


def fetch_files(
    name: str,
    *,
    data_dir: str | Path | None = None,
    download: bool = True,
    progress: bool = True,
    registry: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Path]:
    """Local paths of every file of ``name``, verified against the manifest's SHA-256.

    Looks in ``data_dir`` (default :func:`geocrime.config.data_dir`): when all files of the source are
    there, each is hashed and a mismatch raises :class:`DataIntegrityError`. Otherwise every file is
    downloaded (pooch: hash check, progress bar on stderr) into ``config.cache_dir("data", <folder>)``;
    a source without URLs, ``download=False`` or a failed download raises :class:`DataNotFoundError`.
    """
    e = entry(name, registry)
    files = e["files"]
    root = Path(data_dir) if data_dir is not None else config.data_dir()
    if root is not None and all((root / f["path"]).is_file() for f in files):
        out = []
        for f in files:
            p = root / f["path"]
            got = _local_hash(p)
            if got != f["sha256"]:
                raise DataIntegrityError(
                    f"{p} does not match the registry ({name!r}): SHA-256 {got} expected {f['sha256']}. "
                    "The local copy is corrupt or a different version: restore it, or remove it so that "
                    "the official file is downloaded"
                )
            out.append(p)
        return out
    where = f"not (completely) in the local data directory {root}" if root else "no local data directory (GEOCRIME_DATA_DIR)"
    missing_url = [f["path"] for f in files if not f.get("url")]
    if missing_url:
        raise DataNotFoundError(
            f"data source {name!r}: {where}, and {len(missing_url)} file(s) are mirror-only (no public download "
            f"URL, e.g. {missing_url[0]!r}); set GEOCRIME_DATA_DIR to a folder holding them"
        )
    if not download:
        raise DataNotFoundError(f"data source {name!r}: {where}, and download=False")
    out = []
    for f in files:
        rel = Path(f["path"])
        target = config.cache_dir("data", *rel.parent.parts)
        try:
            got = pooch.retrieve(f["url"], known_hash=f"sha256:{f['sha256']}", fname=rel.name, path=target,
                                 progressbar=progress)
        except ValueError as exc:
            if "hash" in str(exc).lower():
                raise DataIntegrityError(
                    f"download of {f['url']} for {name!r} does not match the registry SHA-256 {f['sha256']}: {exc}"
                ) from exc
            raise DataNotFoundError(f"cannot download {f['url']} for {name!r}: {exc}") from exc
        except Exception as exc:  # requests / OS errors: no network, 404...
            raise DataNotFoundError(
                f"data source {name!r}: {where}, and downloading {f['url']} failed ({type(exc).__name__}: {exc}); "
                "check the network or set GEOCRIME_DATA_DIR to a local copy"
            ) from exc
        out.append(Path(got))
    return out


def fetch(
    name: str,
    *,
    data_dir: str | Path | None = None,
    download: bool = True,
    progress: bool = True,
    registry: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Path of a registered source, from the local data directory or a verified download.

    Returns the entry's ``main`` file (e.g. the ``.shp``, whose sidecars are fetched beside it), or the
    folder holding its files when it has no main file (e.g. six monthly CSVs). See :func:`fetch_files`
    for lookup order and errors.
    """
    e = entry(name, registry)
    paths = fetch_files(name, data_dir=data_dir, download=download, progress=progress, registry=registry)
    main = e.get("main")
    if main:
        for f, p in zip(e["files"], paths):
            if f["path"] == main:
                return p
        raise InputError(f"registry entry {name!r}: main file {main!r} is not among its files")
    parents = {p.parent for p in paths}
    return parents.pop() if len(parents) == 1 else paths[0].parent


def verify(name: str, *, data_dir: str | Path | None = None) -> dict[str, Any]:
    """Check the local copy of ``name`` without downloading: ``{"ok": bool, "files": n, "error": str|None}``."""
    try:
        paths = fetch_files(name, data_dir=data_dir, download=False)
        return {"ok": True, "files": len(paths), "error": None}
    except (DataIntegrityError, DataNotFoundError) as exc:
        return {"ok": False, "files": 0, "error": str(exc)}


def attribution(names_: list[str] | None = None) -> str:
    """The attribution lines of the given (default: all) sources, one per distinct text."""
    seen: list[str] = []
    for n in names_ or list(manifest()):
        a = entry(n).get("attribution")
        if a and a not in seen:
            seen.append(a)
    return os.linesep.join(seen)
