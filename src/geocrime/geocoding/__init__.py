"""Geocoding: messy address records to points, with a precision ladder, named faults and area confidence.

::

    from geocrime.gazetteer import Gazetteer
    from geocrime.geocoding import geocode, geocode_one, reverse
    gaz = Gazetteer.load("london.gaz")
    out = geocode(df, gaz, columns="address")              # one free-text column
    out = geocode(df, gaz, columns=["line1", "line2", "pc"])  # several columns, joined
    geocode_one("o/s 14 High St, Barking", gaz)["match_level"]

How a record is matched (every step a batch operation over the whole chunk):

1. parse (:func:`geocrime.address.parse_many`) and reduce to matching fields (:mod:`geocrime.gazetteer.keys`);
2. retrieve candidates by blocking keys (postcode unit/sector, street, street tokens and their
   prefixes/suffixes, each with the house number or a building-name token) — never the whole gazetteer;
3. compare each candidate pair per component; the pair's score is the sum of named level weights
   (:data:`geocrime.geocoding.compare.WEIGHTS`), its faults the names of the levels that are not agreements;
4. accept the best candidate as ``premises`` when it has no contradicting flat or house-number
   suffix (``FLAT.mismatch``, ``HOUSE_NUMBER.suffix_mismatch`` / ``.mismatch`` veto a match: a wrong
   flat never wins over an abstention), its score >= ``threshold``, and it leads the
   runner-up (the best *different* premises: another number/flat, or > 30 m away) by >= ``margin``;
   otherwise (no candidate, a low score, or a near-tie — reported as ``ambiguous``) fall down the
   ladder: ``street`` or ``postcode_unit`` (the one with the smaller uncertainty), ``postcode_sector``,
   ``postcode_district``, ``area`` (postcode area), ``none``.

Output columns (added to every input row, same index and order; a GeoDataFrame in EPSG:27700):
``match_level``, ``x``/``y`` (EPSG:27700 metres), ``lon``/``lat`` (EPSG:4326), ``uncertainty_m``
(radius of the point for its level, metres), ``score`` (best premises candidate's score, NaN when
there is none), ``runner_up_score``, ``margin``, ``ambiguous``, ``faults`` (of the best candidate),
``n_candidates``, ``candidate_id`` (best premises candidate, accepted or not), ``gazetteer_id``, ``matched_address``, ``reason`` (why the level is not premises,
or why none), ``ward_code``/``ward_confidence``, ``lsoa_code``/``lsoa_confidence`` (when boundaries
are given; a code only when its probability is at least :data:`MIN_AREA_CONFIDENCE`).
"""
from __future__ import annotations

from .api import geocode, geocode_one, reverse
from .evaluate import evaluate, run_fhrs_evaluation
from .inputs import DEFAULT_TEXT_COLUMNS, OUTPUT_COLUMNS, address_columns, weight_table
from .params import DEFAULT_MARGIN, DEFAULT_THRESHOLD, MIN_AREA_CONFIDENCE
from .querygen import make_queries

__all__ = [
    "geocode", "geocode_one", "reverse", "address_columns", "weight_table", "evaluate", "run_fhrs_evaluation",
    "make_queries", "OUTPUT_COLUMNS", "DEFAULT_TEXT_COLUMNS", "DEFAULT_THRESHOLD", "DEFAULT_MARGIN",
    "MIN_AREA_CONFIDENCE",
]
