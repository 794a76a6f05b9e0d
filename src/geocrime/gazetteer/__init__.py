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
``street``, ``street_point``, ``postcode_unit``, ``postcode_sector``, ``postcode_district``,
``postcode_area``), ``source``, ``source_id``, ``name``, the display components (``sub_building``,
``building_name``, ``house_number``, ``street``, ``locality``, ``town``, ``postcode``), ``canonical``
(normalised one-line address), ``x`` / ``y`` (EPSG:27700 metres), ``radius`` (uncertainty of the
point, metres), ``priority`` and the matching fields ``k_*`` (see :mod:`geocrime.gazetteer.keys`).

Readers return a *source table* (display components + x/y + level); :meth:`Gazetteer.from_sources`
canonicalises, de-duplicates (same canonical address: the higher-priority source wins, points of the
same source are merged to their medoid), derives postcode sector/district/area rows from postcode
units, and builds the blocking index over premises rows. A street layer keeps its snap points as
``street_point`` rows, so street-level ward confidence can be computed from them.
"""
from __future__ import annotations

from .core import Gazetteer, parser_fingerprint
from .sources import (
    COMPONENTS,
    LEVELS,
    LLPG_COLUMNS,
    premises_from_text,
    read_address_csv,
    read_codepoint,
    read_fhrs,
    streets_from_police_uk,
)

__all__ = [
    "Gazetteer",
    "read_address_csv",
    "read_fhrs",
    "read_codepoint",
    "streets_from_police_uk",
    "premises_from_text",
    "parser_fingerprint",
    "LEVELS",
    "COMPONENTS",
    "LLPG_COLUMNS",
]
