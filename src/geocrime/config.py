"""Where geocrime finds data and caches things.

* ``GEOCRIME_DATA_DIR``: the local data directory (a mirror of the official sources, laid out as
  ``../shared/data``: one folder per source). When unset, ``../shared/data`` relative to the current
  directory or to the source checkout is used if it exists.
* ``GEOCRIME_CACHE_DIR``: where downloads and built artefacts go (default: the user cache directory).
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from .errors import DataNotFoundError

ENV_DATA_DIR = "GEOCRIME_DATA_DIR"
ENV_CACHE_DIR = "GEOCRIME_CACHE_DIR"

#: The checkout root when geocrime runs from a source tree (src layout), else None.
_SRC_ROOT = Path(__file__).resolve().parents[2]


def _candidates() -> list[Path]:
    return [Path.cwd() / ".." / "shared" / "data", _SRC_ROOT / ".." / "shared" / "data"]


def data_dir(required: bool = False) -> Path | None:
    """The local data directory, or None when there is none.

    Order: ``$GEOCRIME_DATA_DIR``; ``../shared/data`` next to the current directory; ``../shared/data``
    next to the source checkout.  With ``required=True`` a missing directory raises
    :class:`~geocrime.errors.DataNotFoundError` saying how to set it.
    """
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        p = Path(env).expanduser()
        if p.is_dir():
            return p.resolve()
        if required:
            raise DataNotFoundError(f"{ENV_DATA_DIR}={env!r} is not a directory")
        return None
    for c in _candidates():
        if c.is_dir():
            return c.resolve()
    if required:
        raise DataNotFoundError(
            "no local data directory: set GEOCRIME_DATA_DIR to the folder holding the data sources "
            "(laid out like ../shared/data), or run from a checkout that has ../shared/data beside it"
        )
    return None


def cache_dir(*parts: str) -> Path:
    """A directory under the geocrime cache (created). ``$GEOCRIME_CACHE_DIR`` overrides the default."""
    root = os.environ.get(ENV_CACHE_DIR)
    base = Path(root).expanduser() if root else Path(platformdirs.user_cache_dir("geocrime"))
    p = base.joinpath(*parts)
    p.mkdir(parents=True, exist_ok=True)
    return p
