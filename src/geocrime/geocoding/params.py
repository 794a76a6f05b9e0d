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

#: street rows of one name whose areas (centre + radius) come within this many metres of each other
#: are one physical street (rows are per postcode district; points are postcode-unit centroids)
STREET_LINK_M = 800.0
#: a street whose extent (metres, its point to the farthest row's edge) is larger is too vague for a
#: street point: ambiguous_street
STREET_MAX_EXTENT_M = 5000.0
#: added to a street's extent: its points are postcode-unit centroids, not the street's ends (metres)
STREET_PAD_M = 150.0
#: a road known by its number ("A217") is long and the street sources hold only points of it (police.uk
#: names a few unnamed carriageways by number): a street point on one declares at least this many
#: metres, and a road number with no place, postcode district or ``within=`` gives no street point
ROAD_NUMBER_MIN_M = 1500.0
#: levels that never get a ward/LSOA code (their area spans many wards)
NO_AREA_LEVELS = ("postcode_district", "area", "locality", "borough")
#: a street row also belongs to every borough within its radius (at most 1 km) + this many metres
STREET_BOROUGH_TOL_M = 100.0
#: a street in the core of the named place (the borough named; a locality's own borough) wins over
#: same-named streets only the border tolerance admits when those lie at least this far (metres,
#: nearest rows) from it: nearer, they may be one road whose residential points have a gap.
#: Measured (report rows, geocrime evaluate --police-style --gds --fhrs-list): 1,500 m kept
#: Teddington's and Hampton Wick's High Streets (1.5 km apart) as one ambiguous road; 0, 300 and
#: 600 m give identical figures, police unchanged, GDS without postcode R 0.6128 -> 0.6201
CORE_PREFER_GAP_M = 300.0
#: ... and for the narrowest tier, the locality a post-town or borough name also means in a postal
#: address ("12 High Street, Uxbridge": UB8 over Harefield's UB9): a same-named street of the post
#: town nearer than this may be the same thoroughfare with a gap ("Harrow Road, Wembley": HA9 and HA0)
OWN_PREFER_GAP_M = 1500.0
#: a street match with a house number is moved to the gazetteer premises on that street (within the
#: street's extent) with the nearest number of the same parity, when the numbers differ by at most
#: this much; its uncertainty is NUMBER_ANCHOR_BASE_M + NUMBER_ANCHOR_PER_M per number of difference
#: (never more than the street's extent). Measured on the GDS tune rows (truth: postcode centroids):
#: anchors 1-2 numbers away are within 102 m in 90% of rows, 11-20 away within 290 m
NUMBER_ANCHOR_MAX = 20
NUMBER_ANCHOR_BASE_M = 150.0
NUMBER_ANCHOR_PER_M = 10.0
#: ... and only when the premises numbered within NUMBER_ANCHOR_MAX of the record lie within this many
#: metres of the nearest (numbering restarts along long roads: Uxbridge Road W7 and W12)
NUMBER_ANCHOR_SPREAD_M = 300.0
#: a numbered street match with no premises that near is placed between the nearest lower and higher
#: numbered premises of its street (interpolated by number) when those lie at most this far apart
NUMBER_BETWEEN_MAX_M = 1500.0
#: a premises in another unit than the record's postcode, farther than this from that unit (metres),
#: is not accepted: the record falls to its postcode unit
PREMISES_OFF_UNIT_M = 300.0
#: the two streets of a junction meet when two of their points lie within this many metres
JUNCTION_MAX_M = 400.0
#: added to half that distance for the junction's uncertainty (points are unit centroids, metres)
JUNCTION_PAD_M = 100.0
#: two meeting places of the same two street names farther apart than this: an ambiguous junction
JUNCTION_SEPARATE_M = 1000.0
#: withdraw a premises match that only a number and a street name support when the street layer
#: holds that name as several separate streets in the allowed area (see match._street_elsewhere).
#: Off by default: measured on the report rows it lifts GDS-without-postcode precision 0.967 -> 0.978
#: but costs FHRS-generated premises recall 0.971 -> 0.943 (queries like "81, high st" drawn from the
#: gazetteer itself); switch it on when the premises source covers only part of the area queried
NUMBER_STREET_NEEDS_UNIQUE_STREET = False
