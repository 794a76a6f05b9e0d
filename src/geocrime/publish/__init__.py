"""The public branch: the publish gate and the public outputs that accept only its output.

Usage::

    from geocrime.publish import build_map_points, gate
    mp = build_map_points(addresses, k=8)          # anonymous map points, catchments >= 8 addresses
    g = gate(incidents, mp, threshold=5)           # GatedData: snapped counts + suppressed tables
    write_disclosure_report(g.report, "out/disclosure")

``write_tiles`` and ``write_public_page`` (helper modules ``tiles.py`` / ``page.py``) accept only
:class:`GatedData`.
"""
from __future__ import annotations

from typing import Any

from ._types import POINT_COLUMNS, GatedData, require_gated
from .disclosure import disclosure_report, write_disclosure_report
from .gate import DEFAULT_LAYERS, gate, snap_incidents
from .mappoints import MapPoints, build_map_points, load_boroughs
from .suppression import suppress

__all__ = [
    "DEFAULT_LAYERS", "GatedData", "MapPoints", "POINT_COLUMNS", "build_map_points", "disclosure_report",
    "gate", "load_boroughs", "require_gated", "snap_incidents", "suppress", "write_disclosure_report",
    "write_public_page", "write_tiles",
]

_LAZY = {"write_tiles": ".tiles", "write_public_page": ".page"}


def __getattr__(name: str) -> Any:  # lazy: tiles/page import heavy libraries and import this package
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'geocrime.publish' has no attribute {name!r}")
