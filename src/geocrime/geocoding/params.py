"""The geocoder's tunable constants (scores are log2 Bayes factors; distances in metres).
"""
from __future__ import annotations

#: minimum score for a premises match (see :data:`geocrime.geocoding.compare.WEIGHTS`)
DEFAULT_THRESHOLD = 7.0
#: minimum lead of the best candidate over the runner-up for a premises match
DEFAULT_MARGIN = 3.0
#: candidates this far (metres) from the best with the same number and flat are the same premises
SAME_PREMISES_M = 30.0
#: ... and this far when the whole address but the postcode is the same (sources disagree on postcodes)
SAME_ADDRESS_M = 150.0
#: candidates within this many points of the best count for the ward/LSOA distribution
AREA_WINDOW = 6.0
#: postcode-unit points are assigned to their ward with this confidence
UNIT_AREA_CONFIDENCE = 0.95
#: a ward/LSOA is reported only when it is more likely than not (its probability at least this)
MIN_AREA_CONFIDENCE = 0.5

#: street rows of one name (narrowed by district / place) within this extent (metres, point to the
#: farthest row's edge) are one street; farther apart they are different streets: ambiguous_street
STREET_MAX_EXTENT_M = 2000.0
#: levels that never get a ward/LSOA code (their area spans many wards)
NO_AREA_LEVELS = ("postcode_district", "area", "locality", "borough")
