"""Boundary layers and point-in-polygon area assignment (wards, LSOAs, boroughs, any vintage).

Everything here works in EPSG:27700 (British National Grid, metres).

Loading (:func:`load_layer`, :class:`Boundaries`)
    Each layer is read from GeoJSON, a shapefile, a GeoPackage, GeoParquet or a GeoDataFrame and gets
    a name (``ward_2022``), a vintage, a code column and a name column. On load the CRS is detected
    (including old ESRI ``British_National_Grid`` projection texts that PROJ only matches to
    EPSG:27700 at reduced confidence: the confidence is reported), the layer is reprojected to
    EPSG:27700, invalid polygons are repaired with :func:`shapely.make_valid` (polygonal parts kept,
    every repair reported), a file without a CRS is refused unless ``crs=`` is given, overlapping
    polygons are detected (warning or error), and non-polygon layers are rejected.

Assignment (:func:`assign_areas`)
    One code column per layer, named after the layer, plus ``area_status``. Every input row comes
    out, in order, with its index.

**Edge rule.** A point belongs to every polygon that *covers* it (interior or boundary). When more
than one polygon covers it (a point exactly on a shared edge or vertex, or in an overlap), the
polygon with the **smallest code** (plain string order) wins. A point covered by no polygon of a
layer gets a null code and the status ``outside:<layer>``.

**How it is fast and still exact.** For each layer a regular grid (default 10 m cells) is laid over
the layer's extent once (lazily, cached on the :class:`Boundaries`). Every cell the boundary of any
polygon passes through (conservatively: the cells of each boundary piece's bounding box, boundaries
densified to half a cell) is marked *mixed*. All other cells contain no boundary, so each connected
group of them lies inside exactly one face of the polygon arrangement; one exact test at one cell
centre per group gives the answer for all of them. A point is then answered by an integer floor
division and an array lookup; only points in mixed cells, points within 1e-7 cell of a grid line and
points outside the grid's guarantee go to an exact vectorised test (shapely STRtree ``covered_by``,
which measured faster than rtree's bulk query: see ``benchmarks/bench_areas.py``). The answer is the
same as a brute-force ``covers`` test against every polygon with the edge rule above
(``tests/test_areas.py`` checks this on every located row of six months of Met burglaries).
"""
from __future__ import annotations

from ._assign import Boundaries, agreement, as_boundaries, assign_areas, point_codes, policeuk_agreement
from .layers import (
    DEFAULT_CELL_SIZE,
    BoundaryLayer,
    BoundaryWarning,
    detect_crs,
    load_layer,
)

__all__ = [
    "BoundaryLayer",
    "Boundaries",
    "BoundaryWarning",
    "load_layer",
    "detect_crs",
    "assign_areas",
    "point_codes",
    "as_boundaries",
    "agreement",
    "policeuk_agreement",
    "DEFAULT_CELL_SIZE",
]
