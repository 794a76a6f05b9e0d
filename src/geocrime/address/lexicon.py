"""The address vocabulary in one place: component fields, street-type words, post towns, counties and
place words. The parser (:mod:`.rules`, :mod:`.police`, :mod:`.normalise`), the gazetteer's matching keys
and the geocoder all read these names from here.
"""
from __future__ import annotations

#: display components of an address, finest first (source tables and the gazetteer hold these)
COMPONENTS: tuple[str, ...] = ("sub_building", "building_name", "house_number", "street", "locality", "town", "postcode")

#: columns the parser returns per text (after ``raw``): the components, the police phrasing, then a
#: named landmark ("Victoria Station" -> ``landmark`` "victoria", ``landmark_kind`` "station")
PARSE_FIELDS: tuple[str, ...] = COMPONENTS + ("location_qualifier", "second_street", "placeholder", "landmark",
                                              "landmark_kind")

#: place columns :func:`geocrime.address.parse_many` adds from the place lexicon
#: (:mod:`geocrime.address.places`): the place words found, their kind, the boroughs (LAD codes) and
#: postcode districts they can mean ('|'-joined) and the area's point and radius (EPSG:27700 metres)
PLACE_FIELDS: tuple[str, ...] = ("place", "place_kind", "place_boroughs", "place_districts", "place_x", "place_y",
                                 "place_radius_m")

#: street-type words and their abbreviations (end a street name)
STREET_TYPES: tuple[str, ...] = (
    "road", "rd", "street", "st", "lane", "ln", "avenue", "ave", "av", "close", "cl", "drive", "dr",
    "way", "gardens", "gdns", "gdn", "grove", "gr", "place", "pl", "square", "sq", "terrace", "terr",
    "tce", "crescent", "cres", "court", "ct", "hill", "park", "parade", "pde", "row", "mews", "walk",
    "green", "rise", "view", "vale", "broadway", "circus", "yard", "wharf", "embankment", "market",
    "gate", "passage", "alley", "path", "approach", "heights", "boulevard", "promenade",
    "bridge", "common", "causeway", "highway", "chase", "quay", "dene", "croft", "mount",
    "wood", "woods", "fields", "field", "meadow", "meadows", "pavement", "circle", "crossing",
    "reach", "orchard", "link", "slope", "spur", "by-pass", "bypass", "lanes", "wall",
    "grange", "hollow", "ridge", "glade", "glen", "dale", "copse", "churchyard", "precinct", "arcade",
    "esplanade", "concourse", "pass", "hyde", "drove", "highwalk", "estate",
)

#: post towns in and around Greater London, and the borough names boroughs write as the town
POST_TOWNS: tuple[str, ...] = (
    "london", "barking", "barnet", "beckenham", "belvedere", "bexley", "bexleyheath", "bromley",
    "carshalton", "chessington", "chislehurst", "coulsdon", "croydon", "dagenham", "edgware", "enfield",
    "erith", "feltham", "greenford", "hampton", "harrow", "hayes", "hornchurch", "hounslow", "ilford",
    "isleworth", "keston", "kingston upon thames", "kingston-upon-thames", "kingston", "mitcham",
    "morden", "new malden", "northolt", "northwood", "orpington", "pinner", "purley", "rainham",
    "richmond", "richmond upon thames", "richmond-upon-thames", "romford", "ruislip", "sidcup",
    "southall", "stanmore", "surbiton", "sutton", "teddington", "thornton heath", "twickenham",
    "upminster", "uxbridge", "wallington", "welling", "wembley", "west drayton", "west wickham",
    "woodford green", "worcester park", "south croydon", "east molesey", "dartford", "swanley",
    "westerham", "epsom", "banstead", "watford", "loughton", "buckhurst hill", "chigwell", "esher",
    "staines", "ashford", "greenwich", "lewisham", "newham", "islington", "ealing", "hillingdon",
    "city of london", "hammersmith", "fulham", "hammersmith and fulham", "waltham forest",
    "barking and dagenham", "camden", "hackney", "southwark", "lambeth", "westminster", "brent",
    "haringey", "havering", "redbridge", "merton", "wandsworth", "tower hamlets",
)

#: counties and country words: locate nothing by themselves
COUNTIES: tuple[str, ...] = (
    "kent", "middlesex", "middx", "surrey", "essex", "greater london", "herts", "hertfordshire",
    "gtr london", "england", "uk", "united kingdom", "gb",
)

#: street-type and filler words: never used alone as a blocking token
STREET_WORDS = frozenset(
    """road street lane avenue close way drive gardens garden place court crescent terrace grove hill park
    square walk parade mews row green rise gate gates the of and end vale view yard wharf quay approach
    broadway highway causeway passage market estate north south east west upper lower new old great
    little saint london house building buildings centre center""".split()
)

#: town words that locate nothing
GENERIC_PLACES = frozenset({"london", "greater london", "uk", "united kingdom", "england", "middlesex", "surrey", "kent", "essex"})
