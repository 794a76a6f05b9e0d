"""Persistent cache of lookup grids, keyed by a boundary layer's content hash (user cache directory).

One directory per (layer content, requested cell size, format version) under
``geocrime.config.cache_dir("areas")`` (``$GEOCRIME_CACHE_DIR`` overrides the user cache directory, as
for downloads): the grid's arrays as ``.npy`` files and ``meta.json`` with each array's dtype, shape
and CRC-32. A grid is written into a temporary directory that is renamed into place (atomic: a reader
sees the whole grid or none; of two concurrent writers one wins and the other discards its copy). A
grid is read only when every array matches its checksum and the grid matches the layer; anything else
(truncated, edited, other version) is removed and rebuilt by the caller, never trusted.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
import zlib
from pathlib import Path

import numpy as np

from .. import config
from ._index import _Grid

#: Version of the grid algorithm and of this format: part of every cache entry's name.
GRID_FORMAT = 2
_ARRAYS = ("lut", "mixed_cells", "cand_start", "cand")
_SCALARS = ("x0", "y0", "size", "nx", "ny", "build_seconds", "mixed_fraction", "requested")


def cache_root(setting: bool | str | os.PathLike | None) -> Path | None:
    """The cache directory for a :class:`~geocrime.areas.Boundaries` ``cache=`` setting (None: no cache)."""
    if setting is None or setting is False:
        return None
    if setting is True:
        return config.cache_dir("areas")
    p = Path(setting).expanduser()
    p.mkdir(parents=True, exist_ok=True)
    return p


def _entry(layer_hash: str, size: float) -> str:
    return f"{layer_hash[:32]}-s{float(size):g}-v{GRID_FORMAT}"


def has_entries(root: Path) -> bool:
    """Whether the cache holds any grid at all (checked before hashing a layer to look for its own)."""
    return any(not p.name.startswith(".") for p in root.iterdir())


def cached_sizes(root: Path, layer_hash: str) -> list[float]:
    """Requested cell sizes of the complete cache entries of a layer."""
    out = []
    for d in root.glob(f"{layer_hash[:32]}-s*-v{GRID_FORMAT}"):
        try:
            out.append(float(d.name.split("-s", 1)[1].rsplit("-v", 1)[0]))
        except ValueError:
            continue
    return sorted(out)


def _crc(a: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8))


def load(root: Path, layer_hash: str, size: float, n_polygons: int) -> _Grid | None:
    """The cached grid, or None when there is none or it fails a check (a failed entry is removed)."""
    d = root / _entry(layer_hash, size)
    if not d.is_dir():
        return None
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        if meta["format"] != GRID_FORMAT or meta["layer_sha256"] != layer_hash or float(meta["requested"]) != float(size):
            raise ValueError("entry does not match the layer")
        arrays = {}
        for name in _ARRAYS:
            a = np.load(d / f"{name}.npy", allow_pickle=False)
            m = meta["arrays"][name]
            if a.dtype.str != m["dtype"] or list(a.shape) != m["shape"] or _crc(a) != m["crc32"]:
                raise ValueError(f"{name}.npy fails its checksum")
            arrays[name] = a
        grid = _Grid(**{k: meta[k] for k in _SCALARS}, **arrays, origin="cache")
        _check_consistent(grid, n_polygons)
        return grid
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:  # corrupt: never trusted
        shutil.rmtree(d, ignore_errors=True)
        load.last_error = f"{d.name}: {exc}"  # type: ignore[attr-defined]
        return None


def _check_consistent(g: _Grid, n_polygons: int) -> None:
    if g.lut.shape != (g.ny, g.nx) or len(g.cand_start) != len(g.mixed_cells) + 1 or g.cand_start[-1] != len(g.cand):
        raise ValueError("grid arrays do not fit together")
    if len(g.cand) and (g.cand.min() < 0 or g.cand.max() >= n_polygons):
        raise ValueError("grid refers to polygons the layer does not have")
    if g.lut.size and (g.lut.min() < -2 or g.lut.max() >= n_polygons):
        raise ValueError("grid refers to polygons the layer does not have")


def save(root: Path, layer_hash: str, grid: _Grid) -> Path | None:
    """Write ``grid`` atomically; returns its directory (None when it could not be written)."""
    final = root / _entry(layer_hash, grid.requested)
    if final.is_dir():
        return final
    tmp = root / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        meta = {"format": GRID_FORMAT, "layer_sha256": layer_hash, "arrays": {}}
        meta.update({k: getattr(grid, k) for k in _SCALARS})
        for name in _ARRAYS:
            a = np.ascontiguousarray(getattr(grid, name))
            np.save(tmp / f"{name}.npy", a, allow_pickle=False)
            meta["arrays"][name] = {"dtype": a.dtype.str, "shape": list(a.shape), "crc32": _crc(a)}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        os.rename(tmp, final)  # atomic; fails when another process got there first
        return final
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return final if final.is_dir() else None
