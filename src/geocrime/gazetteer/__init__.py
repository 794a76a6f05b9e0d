"""The gazetteer: the reference list of addressable points, one columnar table plus its indexes.

Build one from any address-point source, combine several with priorities, save it, load it back
without rebuilding::

    from geocrime.gazetteer import Gazetteer, read_fhrs, read_codepoint, streets_from_police_uk
    units = read_codepoint(".../codepo_london_E09.csv.gz")
    gaz = Gazetteer.from_sources([read_fhrs(".../fhrs.csv"), units,
                                  streets_from_police_uk(police_files, units)])
    gaz.save("london.gaz")
    gaz = Gazetteer.load("london.gaz")

The table (``gaz.table``, a pandas DataFrame) has one row per entry: ``id``, ``level`` (``premises``,
``landmark``, ``street``, ``street_point``, ``postcode_unit``, ``postcode_sector``, ``locality``,
``postcode_district``, ``borough``, ``postcode_area``), ``source``, ``source_id``, ``name``, the display
components (``sub_building``, ``building_name``, ``house_number``, ``street``, ``locality``, ``town``,
``postcode``), ``borough`` (ONS LAD code), ``landmark_kind``, ``street_id`` (the street row a street
point or premises belongs to; a street row's own id; -1 elsewhere), ``canonical`` (normalised
one-line address), ``x`` / ``y`` (EPSG:27700 metres), ``radius`` (uncertainty of the point, metres:
a street row's covers the street's extent in its borough), ``priority`` and the matching fields ``k_*``
(see :mod:`geocrime.gazetteer.keys`; ``k_landmark`` and ``k_area`` key landmarks and localities/boroughs).

Street sources: :func:`read_streets_ppd` (postcode -> street tables joined to Code-Point),
:func:`read_open_names` (OS Open Names 'Named Road'), :func:`read_osm_streets` (OpenStreetMap named
ways), :func:`streets_from_police_uk`; premises: :func:`read_fhrs`, :func:`read_address_csv`,
:func:`read_addressbase_csv`; areas and landmarks: :func:`read_codepoint`, :func:`read_localities`,
:func:`localities_from_places`, :func:`read_landmarks`. Public lookups for the geocoder:
:meth:`Gazetteer.lookup`, :meth:`Gazetteer.lookup_all`, :meth:`Gazetteer.rows_of_level`,
:meth:`Gazetteer.street_points`, :meth:`Gazetteer.landmarks`, :meth:`Gazetteer.memo`.

Readers return a *source table* (display components + x/y + level); :meth:`Gazetteer.from_sources`
canonicalises, de-duplicates (same canonical address: the higher-priority source wins, points of the
same source are merged to their medoid), derives postcode sector/district/area rows from postcode
units, and builds the blocking index over premises rows. A street layer keeps its snap points as
``street_point`` rows, so street-level ward confidence can be computed from them.
"""
from __future__ import annotations

from .core import Gazetteer, parser_fingerprint
from .sources import (
    ADDRESSBASE_COLUMNS,
    COMPONENTS,
    LEVELS,
    LLPG_COLUMNS,
    MEMBER_LEVELS,
    OPEN_NAMES_COLUMNS,
    localities_from_places,
    premises_from_text,
    read_address_csv,
    read_addressbase_csv,
    read_codepoint,
    read_fhrs,
    read_landmarks,
    read_localities,
    read_open_names,
    read_osm_streets,
    read_streets_ppd,
    streets_from_police_uk,
)

__all__ = [
    "Gazetteer",
    "read_address_csv",
    "read_addressbase_csv",
    "read_fhrs",
    "read_codepoint",
    "read_streets_ppd",
    "read_open_names",
    "read_osm_streets",
    "read_landmarks",
    "read_localities",
    "localities_from_places",
    "streets_from_police_uk",
    "premises_from_text",
    "parser_fingerprint",
    "LEVELS",
    "MEMBER_LEVELS",
    "COMPONENTS",
    "LLPG_COLUMNS",
    "ADDRESSBASE_COLUMNS",
    "OPEN_NAMES_COLUMNS",
]
