"""Analysis: counts, rates and harm per area and period; grids and hexagons; KDE; Getis-Ord Gi* and
local Moran's I (via PySAL esda); prospective hotspotting; backtests with hit rate / PAI / PEI / RRI;
near-repeat Knox test.

Everything works in EPSG:27700 metres. police.uk data has month resolution only: time-aware methods
place each event at the middle of its month unless a ``date`` column is given.
"""
from __future__ import annotations

from ._common import AnalysisWarning
from .aggregate import MISSING_TYPE, aggregate, period_change
from .grids import HexGrid, SquareGrid, assign_cells, grid_of, hex_grid, square_grid
from .harm import DEFAULT_HARM_VERSION, HarmTable, default_harm_table, harm_weights

__all__ = [
    "AnalysisWarning",
    "aggregate",
    "period_change",
    "MISSING_TYPE",
    "SquareGrid",
    "HexGrid",
    "square_grid",
    "hex_grid",
    "assign_cells",
    "grid_of",
    "HarmTable",
    "default_harm_table",
    "harm_weights",
    "DEFAULT_HARM_VERSION",
]
