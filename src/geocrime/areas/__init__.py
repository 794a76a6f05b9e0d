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

**How it is fast and still exact.** Each lookup is planned by cost (``_index.plan``): for few points
an exact vectorised test (an STRtree over the points queried with the prepared polygons, as
``geopandas.sjoin`` does); for many, a lookup grid. Every grid cell a polygon boundary passes through
is marked *mixed*; every other connected group of cells lies inside exactly one face of the polygon
arrangement, so one exact test answers all of them, and a point there is answered by an integer floor
division and an array lookup. Points in mixed cells, within 1e-7 cell of a grid line or outside the
grid get an exact test (against the cell's candidate polygons). The grid's cell size is chosen per
call so that building it costs at most half the exact test of the call's points (a first call is
never slower than the exact test); grids stay in memory and in a persistent cache keyed by the
layer's content hash (``_cache``), so a new process reads them back. The answer is the same as a
brute-force ``covers`` test against every polygon with the edge rule above (``tests/test_areas.py``
checks this on every located row of six months of Met burglaries, for every path).

Point codes (:func:`point_codes`) for the geocoder and its evaluation go through the same lookup, so
``geocode`` and ``assign_areas`` can never give one point two different areas.
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
