"""The public branch: the publish gate and the public outputs that accept only its output.

Usage::

    from geocrime.publish import build_map_points, gate
    mp = build_map_points(addresses, k=8)          # >= 8 distinct places, >= 100 m wide, positions clear of inputs
    g = gate(incidents, mp, release=Release(tables=("borough", "ward_2024")), threshold=5)
    write_tables(g, "out/tables"); write_disclosure_report(g.report, "out/disclosure")

``write_tiles``, ``write_public_page`` and ``write_tables`` accept only :class:`GatedData`, and only
what its :class:`Release` lists. :mod:`geocrime.publish.attack` is the attacker the tests use.
"""
from __future__ import annotations

from typing import Any

from ._types import POINT_COLUMNS, GatedData, require_gated
from .disclosure import disclosure_report, write_disclosure_report
from .gate import DEFAULT_LAYERS, gate, snap_incidents
from .mappoints import MapPoints, build_map_points, load_boroughs
from .release import Release, require_released, write_tables
from .suppression import suppress

__all__ = [
    "DEFAULT_LAYERS", "GatedData", "MapPoints", "POINT_COLUMNS", "Release", "build_map_points", "disclosure_report",
    "gate", "load_boroughs", "require_gated", "require_released", "snap_incidents", "suppress",
    "write_disclosure_report", "write_public_page", "write_tables", "write_tiles",
]

_LAZY = {"write_tiles": ".tiles", "write_public_page": ".page"}


def __getattr__(name: str) -> Any:  # lazy: tiles/page import heavy libraries and import this package
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'geocrime.publish' has no attribute {name!r}")
