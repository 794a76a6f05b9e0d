"""Analysis: counts, rates and harm per area and period; grids and hexagons; KDE; Getis-Ord Gi* and
local Moran's I (via PySAL esda); hotspot prediction (learned: BlendedHotspot, the default,
BoostedHotspot, SEPPHotspot; classic: ProspectiveHotspot, RetrospectiveKDE, NaiveLastPeriod);
backtests with hit rate / PAI / PEI / RRI and bootstrap intervals; select_predictor; near-repeat
Knox test.

Everything works in EPSG:27700 metres. police.uk data has month resolution only: time-aware methods
place each event at the middle of its month unless a ``date`` column is given.

Example (police.uk points with ward codes from ``geocrime.assign_areas``)::

    from geocrime.analysis import (aggregate, SquareGrid, kde, getis_ord, BlendedHotspot,
                                   RetrospectiveKDE, NaiveLastPeriod, backtest, knox_test)
    counts = aggregate(points, by=["ward_2024", "month", "crime_type"], areas=wards, harm=True)
    grid = SquareGrid.from_extent(boroughs, 250)            # 250 m cells; inside = centre in boundary
    surface = kde(points, grid, bandwidth=400)              # .density (per km²), .transform
    gi = getis_ord("count", areas=lsoa_counts_gdf, denominator="households")   # .z .p_sim .q .classes
    risk = BlendedHotspot().fit(points[points.month < "2024-06"], grid=grid).predict(grid)
    result = backtest(points, {"blend": BlendedHotspot(), "kde": RetrospectiveKDE(),
                               "naive": NaiveLastPeriod()}, grid, coverages=(0.01, 0.05, 0.10))
    result.summary(); result.intervals(); result.compare("blend", "kde"); result.plot("backtest.png")
    knox = knox_test(burglaries, distance_bands=(0, 100, 200, 400))        # .table()
"""
from __future__ import annotations

from ._common import AnalysisWarning
from .aggregate import MISSING_TYPE, Coverage, aggregate, area_totals, infer_coverage, period_change, source_labels
from .backtest import (
    DEFAULT_COVERAGES,
    BacktestResult,
    backtest,
    plot_backtest,
    rank_cells,
    score_hotspots,
    study_cells,
    summarise_backtest,
)
from .blend import BlendedHotspot
from .boosted import BoostedHotspot
from .grids import HexGrid, SquareGrid, assign_cells, grid_of, hex_grid, square_grid
from .harm import DEFAULT_HARM_VERSION, HarmTable, default_harm_table, harm_weights
from .hotspots import HotspotResult, fdr_adjust, getis_ord, local_moran, spatial_weights
from .kde import KDEResult, kde, kde_cells
from .nearrepeat import KnoxResult, knox_test
from .prospective import NaiveLastPeriod, ProspectiveHotspot, RetrospectiveKDE
from .select import SelectionResult, select_predictor
from .sepp import SEPPHotspot

__all__ = [
    "AnalysisWarning",
    # aggregation and harm
    "aggregate", "period_change", "area_totals", "Coverage", "MISSING_TYPE", "infer_coverage", "source_labels",
    "HarmTable", "default_harm_table", "harm_weights", "DEFAULT_HARM_VERSION",
    # grids
    "SquareGrid", "HexGrid", "square_grid", "hex_grid", "assign_cells", "grid_of",
    # surfaces and hotspot statistics
    "kde", "kde_cells", "KDEResult",
    "getis_ord", "local_moran", "spatial_weights", "HotspotResult", "fdr_adjust",
    # prediction and evaluation
    "ProspectiveHotspot", "RetrospectiveKDE", "NaiveLastPeriod",
    "BlendedHotspot", "SEPPHotspot", "BoostedHotspot", "select_predictor", "SelectionResult",
    "backtest", "BacktestResult", "score_hotspots", "rank_cells", "study_cells", "summarise_backtest", "plot_backtest",
    "DEFAULT_COVERAGES",
    # near repeats
    "knox_test", "KnoxResult",
]
