"""geocrime: messy police incident records to trustworthy crime maps.

The flow (see the docs): ``address`` (free text to a structured address) -> ``gazetteer`` and
``geocoding`` (address to a point with a match level) -> ``areas`` (point to ward/LSOA codes) ->
``analysis`` (counts, hotspots, backtests) -> ``maps`` (internal) and ``publish`` (the gate, public
tiles and pages).

Names are imported lazily, so ``import geocrime`` is cheap and loads no model or data.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "GeocrimeError": "geocrime.errors",
    "GeocrimeWarning": "geocrime.errors",
    # data registry
    "fetch": "geocrime.registry",
    # areas
    "Boundaries": "geocrime.areas",
    "assign_areas": "geocrime.areas",
    # io
    "read_police_uk": "geocrime.io",
    # address
    "Address": "geocrime.address",
    "parse": "geocrime.address",
    "parse_many": "geocrime.address",
    "normalise": "geocrime.address",
    # gazetteer and geocoding
    "Gazetteer": "geocrime.gazetteer",
    "geocode": "geocrime.geocoding",
    "geocode_one": "geocrime.geocoding",
    "reverse": "geocrime.geocoding",
    # analysis
    "aggregate": "geocrime.analysis",
    "square_grid": "geocrime.analysis",
    "hex_grid": "geocrime.analysis",
    "kde": "geocrime.analysis",
    "getis_ord": "geocrime.analysis",
    "local_moran": "geocrime.analysis",
    "ProspectiveHotspot": "geocrime.analysis",
    "BlendedHotspot": "geocrime.analysis",
    "SEPPHotspot": "geocrime.analysis",
    "BoostedHotspot": "geocrime.analysis",
    "select_predictor": "geocrime.analysis",
    "Coverage": "geocrime.analysis",
    "backtest": "geocrime.analysis",
    "knox_test": "geocrime.analysis",
    # maps and publishing
    "internal_map": "geocrime.maps",
    "publish": "geocrime.publish",
    "write_tiles": "geocrime.publish",
    "write_public_page": "geocrime.publish",
    # enrichment
    "enrich": "geocrime.enrichment",
    "enrich_file": "geocrime.enrichment",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'geocrime' has no attribute {name!r}")
    module = importlib.import_module(mod)
    value = module if mod.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
