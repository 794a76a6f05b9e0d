"""Writes cases.json (the bad-input corpus manifest). Edit the cases here, then run: .venv/bin/python tests/bad_inputs/make_cases.py"""
import json
SQ = lambda x0, y0, s=1000: f"POLYGON(({x0} {y0},{x0+s} {y0},{x0+s} {y0+s},{x0} {y0+s},{x0} {y0}))"
TWO = {"crs": "EPSG:27700", "features": [{"code": "E05A", "wkt": SQ(530000, 180000)}, {"code": "E05B", "wkt": SQ(531000, 180000)}]}
R = "a1,2024-01,Metropolitan Police Service,Metropolitan Police Service,{lon},{lat},On or near Fleet Street,E01000916,City of London 001F,Burglary,,\n"
def row(lon="-0.110500", lat="51.514000", loc="On or near Fleet Street", cid="a1"):
    return f"{cid},2024-01,Metropolitan Police Service,Metropolitan Police Service,{lon},{lat},{loc},E01000916,City of London 001F,Burglary,,\n"
C = []
def case(id, stage, why, input, expect):
    C.append({"id": id, "stage": stage, "why": why, "input": input, "expect": expect})

# ---------------------------------------------------------------- police.uk CSVs
case("police_cp1252", "police_uk", "police.uk month re-saved by Excel on Windows: 'é' is byte 0xE9, not UTF-8",
     {"header": "police_uk", "text": row(loc="On or near Café Rouge"), "encoding": "cp1252"},
     {"warnings": ["EncodingWarning"], "rows": 1, "status": ["ok"], "Location": ["On or near Café Rouge"], "report": {"non_utf8_files": ["input.csv"]}})
case("police_utf16_bom", "police_uk", "Excel 'Save as Unicode text': UTF-16 little-endian with a byte-order mark",
     {"header": "police_uk", "text": row(loc="On or near Café Rouge"), "encoding": "utf-16"},
     {"rows": 1, "status": ["ok"], "Location": ["On or near Café Rouge"], "Crime ID": ["a1"]})
case("police_utf16_no_bom", "police_uk", "UTF-16 without a byte-order mark (some ETL tools): refused, not read as mojibake",
     {"header": "police_uk", "text": row(), "encoding": "utf-16-le"},
     {"error": "FileFormatError", "match": "UTF-16 without a byte-order mark"})
case("police_utf8_bom", "police_uk", "UTF-8 with a BOM (Excel 'CSV UTF-8'): the first column is still 'Crime ID'",
     {"header": "police_uk", "text": row(), "prefix_hex": "efbbbf"},
     {"rows": 1, "Crime ID": ["a1"], "status": ["ok"]})
case("police_crlf", "police_uk", "Windows line endings", {"header": "police_uk", "text": row().replace("\n", "\r\n") * 2},
     {"rows": 2, "status": ["ok", "ok"], "Location": ["On or near Fleet Street"] * 2})
case("police_mac_cr", "police_uk", "old Mac line endings (CR only)", {"header": "police_uk", "text": row().replace("\n", "\r")},
     {"rows": 1, "status": ["ok"]})
case("police_quoted_newline", "police_uk", "a location with a line break inside quotes",
     {"file": "police_quoted_newline.csv"},
     {"rows": 2, "status": ["ok", "ok"], "Location": ["On or near\nFleet Street", "On or near Carthusian Street"]})
case("police_ragged_first_row", "police_uk", "unquoted comma in the first data row: pandas would shift every value into an index",
     {"file": "police_ragged_unquoted_comma.csv"}, {"error": "FileFormatError", "match": "ragged row"})
case("police_ragged_later_row", "police_uk", "unquoted comma in a later row",
     {"header": "police_uk", "text": row() + row(loc="On or near Fleet Street, London")},
     {"error": "FileFormatError", "match": "ragged row at line 3: 13 fields"})
case("police_short_row", "police_uk", "a truncated row (file cut short by a failed download): kept, flagged no_location",
     {"header": "police_uk", "text": "a0,2024-01,Metropolitan Police Service\n" + row()},
     {"rows": 2, "status": ["no_location", "ok"], "Crime ID": ["a0", "a1"]})
case("police_semicolon", "police_uk", "European Excel export with ';' as the delimiter",
     {"file": "police_semicolon.csv"}, {"error": "MissingColumnsError", "match": "'Crime ID;Month;Reported by"})
case("police_tab", "police_uk", "tab-separated export", {"text": "Crime ID\tMonth\tLongitude\tLatitude\tLocation\tLSOA code\tCrime type\na1\t2024-01\t-0.11\t51.5\tx\tE01\tBurglary\n"},
     {"error": "MissingColumnsError", "match": "'Crime ID\\tMonth"})
case("police_header_only", "police_uk", "a month with no crimes: header only", {"file": "police_header_only.csv"},
     {"rows": 0, "report": {"rows": 0, "status": {}}})
case("police_zero_bytes", "police_uk", "a zero-byte file left by an interrupted download", {"text": ""},
     {"error": "FileFormatError", "match": "is empty"})
case("police_blank_lines", "police_uk", "only blank lines", {"text": "\n\n\n"}, {"error": "FileFormatError", "match": "is empty"})
case("police_binary", "police_uk", "a binary file (zip/xlsx) with a .csv name", {"text": "", "prefix_hex": "504b0304140000000800" + "00ff" * 20},
     {"error": "FileFormatError", "match": "NUL bytes"})
case("police_one_row_no_crime_id", "police_uk", "one anti-social-behaviour row: no Crime ID",
     {"file": "police_one_row_no_crime_id.csv"},
     {"rows": 1, "status": ["ok"], "Crime ID": [None], "duplicate_crime_id": [False], "report": {"no_crime_id": 1}})
case("police_excel_mangled", "police_uk", "Excel turned the 64-hex Crime IDs into 1.23457E+63 (two crimes now share one id) and Month into Jan-24 / 01/02/2024",
     {"file": "police_excel_mangled.csv"},
     {"rows": 2, "status": ["ok", "ok"], "duplicate_crime_id": [True, True], "month": [None, None], "report": {"duplicate_crime_ids": 1}})
case("police_duplicate_ids", "police_uk", "the same crime published twice", {"header": "police_uk", "text": row(cid="dup") * 2 + row(cid="other")},
     {"rows": 3, "duplicate_crime_id": [True, True, False], "report": {"duplicate_crime_id_rows": 2, "duplicate_crime_ids": 1}})
case("police_lowercase_header", "police_uk", "a header re-typed in lower case", {"file": "police_lowercase_header.csv"},
     {"error": "MissingColumnsError", "match": "'crime id'"})
case("police_html_script", "police_uk", "HTML and script in text fields: kept verbatim (escaping is the map's job), nothing interpreted",
     {"file": "police_html_script.csv"},
     {"rows": 1, "status": ["ok"], "Location": ["<script>alert(document.cookie)</script>"], "LSOA name": ["<img src=x onerror=alert(1)>"],
      "Context": ['<b>bold</b> &amp; <a href="javascript:alert(1)">link</a>']})
case("police_unclosed_quote", "police_uk", "an unclosed quote swallows the rest of the file", {"file": "police_unclosed_quote.csv"},
     {"error": "FileFormatError", "match": "EOF inside string"})
case("police_lonlat_swapped", "police_uk", "longitude and latitude swapped", {"header": "police_uk", "text": row(lon="51.514000", lat="-0.110500")},
     {"status": ["outside_gb"]})
case("police_null_island", "police_uk", "coordinates (0, 0): 'null island'", {"header": "police_uk", "text": row(lon="0", lat="0")},
     {"status": ["outside_gb"]})
case("police_bng_as_lonlat", "police_uk", "easting/northing written into the Longitude/Latitude columns", {"header": "police_uk", "text": row(lon="530000", lat="180000")},
     {"status": ["invalid_coordinates"]})
case("police_comma_decimal", "police_uk", "decimal commas from a European locale", {"header": "police_uk", "text": row(lon='"-0,1105"', lat='"51,514"')},
     {"status": ["invalid_coordinates"]})
case("police_nan_text", "police_uk", "'NaN' / 'NULL' written out as text", {"header": "police_uk", "text": row(lon="NaN", lat="NaN") + row(lon="NULL", lat="NULL")},
     {"status": ["no_location", "no_location"]})
case("police_inf", "police_uk", "'inf' from a failed projection", {"header": "police_uk", "text": row(lon="inf", lat="51.5")},
     {"status": ["invalid_coordinates"]})
case("police_half_coordinate", "police_uk", "longitude present, latitude blank", {"header": "police_uk", "text": row(lat="")},
     {"status": ["no_location"]})

# ---------------------------------------------------------------- address text
case("parse_10mb_string", "parse", "a 10 MB value (a whole document pasted into the address field)",
     {"values": [{"$repeat": "a", "times": 10_000_000}]}, {"rows": 1, "parse_status": ["truncated"]})
case("parse_10mb_address", "parse", "an address repeated to 10 MB", {"values": [{"$repeat": "12 High Street ", "times": 700_000}]},
     {"parse_status": ["truncated"], "house_number": ["12"]})
case("parse_punctuation_only", "parse", "only punctuation", {"values": ["!!!...,,,;;;---///", "???", "-"]},
     {"parse_status": ["empty", "empty", "empty"], "street": [None, None, None], "building_name": [None, None, None]})
case("parse_emoji_only", "parse", "only emoji", {"values": ["😀🏠🚓"]}, {"parse_status": ["empty"], "street": [None]})
case("parse_emoji_in_address", "parse", "emoji inside an address", {"values": ["🏠 12 Emoji Road"]}, {"parse_status": ["ok"], "house_number": ["12"]})
case("parse_rtl_arabic", "parse", "right-to-left text (Arabic)", {"values": ["شارع الملك فهد 12"]},
     {"parse_status": ["ok"], "raw": ["شارع الملك فهد 12"], "postcode": [None], "placeholder": [None]})
case("parse_rtl_hebrew_with_town", "parse", "right-to-left text then a town", {"values": ["רחוב הרצל 5, London"]},
     {"parse_status": ["ok"], "postcode": [None]})
case("parse_bidi_override", "parse", "a right-to-left override character pasted in front", {"values": ["\u202e12 High Street"]},
     {"parse_status": ["ok"], "house_number": ["12"], "street": ["High Street"]})
case("parse_zero_width", "parse", "zero-width spaces and a BOM from copy-paste", {"values": ["\ufeff12\u200b High Street"]},
     {"parse_status": ["ok"], "house_number": ["12"], "street": ["High Street"]})
case("parse_html_bold", "parse", "HTML tags around an address", {"values": ["<b>12 Upper Street</b>, N1 0PQ"]},
     {"house_number": ["12"], "street": ["Upper Street"], "postcode": ["N1 0PQ"]})
case("parse_html_br", "parse", "<br> line breaks from a web form", {"values": ["12 Upper Street<br>London<BR/>N1 0PQ"]},
     {"house_number": ["12"], "street": ["Upper Street"], "town": ["London"], "postcode": ["N1 0PQ"]})
case("parse_angle_postcode", "parse", "a postcode in angle brackets is not a tag", {"values": ["12 Upper St <N1 0PQ>"]},
     {"postcode": ["N1 0PQ"], "house_number": ["12"]})
case("parse_script", "parse", "a script injection in the address field", {"values": ["<script>alert(1)</script>"]},
     {"parse_status": ["ok"], "raw": ["<script>alert(1)</script>"], "postcode": [None], "house_number": [None]})
case("parse_excel_formula_postcode", "parse", "Excel's =\"...\" text-forcing wrapper", {"values": ["=\"SE1 7PB\""]},
     {"postcode": ["SE1 7PB"], "street": [None]})
case("parse_excel_postcode_case_spacing", "parse", "postcode lower-cased, space lost, padded", {"values": ["12 High St se17pb ", "12 High St SE1  7PB"]},
     {"postcode": ["SE1 7PB", "SE1 7PB"], "house_number": ["12", "12"]})
case("parse_nul_bytes", "parse", "NUL bytes from a fixed-width export", {"values": ["\u0000\u0000", "12 High\u0000 Street"]},
     {"parse_status": ["empty", "ok"], "house_number": [None, "12"]})
case("parse_lone_surrogate", "parse", "a lone UTF-16 surrogate from a broken decoder", {"values": ["\ud800 12 High St"]},
     {"parse_status": ["ok"], "house_number": ["12"]})
case("parse_mixed_types", "parse", "a column of mixed types from a spreadsheet", {"values": [None, {"$nan": True}, 42, 3.5, True, {"$pd_na": True}, "", "12 High St"]},
     {"parse_status": ["empty", "empty", "invalid_input", "invalid_input", "invalid_input", "empty", "empty", "ok"], "raw": [None, None, None, None, None, None, "", "12 High St"]})
case("parse_bytes_cp1252", "parse", "bytes that are cp1252, not UTF-8", {"values": [{"$bytes_hex": "3520436166e920526f6164"}]},
     {"street": ["Café Road"], "parse_status": ["ok"]})
case("parse_placeholders", "parse", "placeholder addresses police systems use",
     {"values": ["NFA", "no fixed abode", "Unknown", "N/K", "CUSTODY SUITE", "Various", "XX"]},
     {"parse_status": ["placeholder"] * 7,
      "placeholder": ["no_fixed_abode", "no_fixed_abode", "unknown", "unknown", "custody_suite", "various", "unknown"]})
case("parse_whitespace", "parse", "whitespace only", {"values": ["\t \n", "   ", "\r\n\r\n"]}, {"parse_status": ["empty", "empty", "empty"]})
case("parse_zero_rows", "parse", "an empty batch", {"values": []}, {"rows": 0})
case("parse_one_non_text", "parse_one", "a number where an address should be", {"value": 12}, {"error": "AddressError", "match": "must be a str"})
case("parse_one_none", "parse_one", "None", {"value": None}, {"parse_status": "empty", "raw": None})
case("postcode_extract_surrogate", "postcode", "lone surrogate next to a postcode", {"function": "extract", "value": "12 High St SW1A 1AA \ud800"},
     {"value": ["SW1A 1AA", "12 High St \ufffd"]})
case("postcode_extract_nan", "postcode", "NaN from a blank spreadsheet cell", {"function": "extract", "value": {"$nan": True}}, {"value": [None, ""]})
case("postcode_extract_number", "postcode", "a number", {"function": "extract", "value": 12345}, {"value": [None, ""]})
case("postcode_normalise_excel", "postcode", "lower case, no space", {"function": "normalise", "value": "sw1a1aa"}, {"value": "SW1A 1AA"})
case("postcode_normalise_o_for_zero", "postcode", "letter O typed for digit 0", {"function": "normalise", "value": "N1O 1AA"}, {"value": "N10 1AA"})
case("postcode_normalise_huge", "postcode", "a huge string", {"function": "normalise", "value": {"$repeat": "SW1A 1AA", "times": 100000}}, {"value": None})
case("postcode_split_script", "postcode", "script text", {"function": "split", "value": "<script>"},
     {"value": {"area": None, "district": None, "sector": None, "unit": None}})
case("postcode_extract_many_duplicate_index", "postcode", "rows from concatenated extracts share index labels (found by the property tests: ValueError from pandas)",
     {"function": "extract_many", "values": ["x", "12 High St N1 0PQ", "London N1"], "index": [0, 0, 1]},
     {"rows": 3, "postcode": [None, "N1 0PQ", "N1"], "remainder": ["x", "12 High St", "London"], "postcode_kind": [None, "unit", "district"]})
case("normalise_non_text", "normalise", "a number", {"value": 12}, {"value": ""})
case("normalise_emoji_rtl", "normalise", "emoji and right-to-left text together", {"value": "😀 شارع 12"}, {"value": "شارع 12"})

# ---------------------------------------------------------------- boundaries
case("boundary_shp_without_prj", "boundary", "a real borough shapefile sent without its .prj",
     {"real": "london_boroughs_lad22_ons/london-2021-lad22-gen20.shp", "drop": [".prj"], "code": "LAD22CD"},
     {"error": "CRSError", "match": "no .prj file"})
case("boundary_shp_without_prj_stated", "boundary", "the same, with the CRS stated by the caller",
     {"real": "london_boroughs_lad22_ons/london-2021-lad22-gen20.shp", "drop": [".prj"], "code": "LAD22CD", "kwargs": {"crs": "EPSG:27700"}},
     {"features": 33, "crs_epsg": 27700, "is_bng": True})
case("boundary_old_esri_prj", "boundary", "old GLA/ESRI British_National_Grid projection text (PROJ confidence 25)",
     {**TWO, "write": "shp", "prj": "esri_bng"}, {"features": 2, "crs_epsg": 27700, "crs_confidence": 25, "is_bng": True})
case("boundary_garbage_prj", "boundary", "a .prj that is not a projection", {**TWO, "write": "shp", "prj": "garbage"},
     {"error": "CRSError", "match": "could not be read as a CRS"})
case("boundary_bowtie", "boundary", "a self-intersecting (bow-tie) polygon",
     {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": "POLYGON((530000 180000,531000 181000,531000 180000,530000 181000,530000 180000))"}]},
     {"warnings": ["BoundaryWarning"], "repaired": 1, "valid": True, "features": 1})
case("boundary_empty_geometry", "boundary", "a feature with an empty polygon",
     {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": "POLYGON EMPTY"}, {"code": "Y", "wkt": SQ(530000, 180000)}]},
     {"dropped": 1, "features": 1, "codes": ["Y"]})
case("boundary_null_geometry", "boundary", "a feature with no geometry at all",
     {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": None}, {"code": "Y", "wkt": SQ(530000, 180000)}]},
     {"dropped": 1, "features": 1})
case("boundary_all_empty", "boundary", "every feature empty", {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": "POLYGON EMPTY"}]},
     {"error": "BoundaryError", "match": "has no polygons"})
case("boundary_geometrycollection", "boundary", "a GeometryCollection where polygons are expected",
     {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": f"GEOMETRYCOLLECTION({SQ(530000, 180000)},POINT(530000 180000))"}]},
     {"error": "BoundaryError", "match": "GeometryCollection"})
case("boundary_points", "boundary", "a point layer given as boundaries", {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": "POINT(530000 180000)"}]},
     {"error": "BoundaryError", "match": "non-polygon"})
case("boundary_duplicate_codes", "boundary", "the same code on two polygons",
     {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": SQ(530000, 180000)}, {"code": "X", "wkt": SQ(532000, 180000)}]},
     {"duplicate_codes": ["X"], "features": 2})
case("boundary_missing_code", "boundary", "features with a blank or null code",
     {"crs": "EPSG:27700", "features": [{"code": None, "wkt": SQ(530000, 180000)}, {"code": "Y", "wkt": SQ(532000, 180000)}]},
     {"error": "BoundaryError", "match": "have no code"})
case("boundary_nan_coordinates", "boundary", "a vertex with NaN coordinates",
     {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": "POLYGON((530000 180000,NaN 180000,531000 181000,530000 180000))"}]},
     {"error": "GeometryError", "match": "NaN or infinite"})
case("boundary_metres_labelled_lonlat", "boundary", "BNG metres in a file that says WGS 84",
     {"crs": "EPSG:4326", "features": [{"code": "X", "wkt": SQ(530000, 180000)}]}, {"error": "CRSError", "match": "look like metres"})
case("boundary_overlap", "boundary", "two polygons overlapping by 500 m x 1 km",
     {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": SQ(530000, 180000)}, {"code": "Y", "wkt": SQ(530500, 180000)}]},
     {"warnings": ["BoundaryWarning"], "overlaps": 1})
case("boundary_zero_area", "boundary", "a degenerate polygon (all vertices on a line)",
     {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": "POLYGON((530000 180000,530500 180500,531000 181000,530000 180000))"}]},
     {"error": "GeometryError", "match": "no area after repair"})
case("boundary_3d", "boundary", "polygons with Z values", {"crs": "EPSG:27700", "features": [{"code": "X", "wkt": "POLYGON Z((530000 180000 5,531000 180000 5,531000 181000 5,530000 180000 5))"}]},
     {"features": 1, "valid": True})
case("boundary_empty_featurecollection", "boundary", "a GeoJSON with no features", {"write": "geojson_text", "text": "{\"type\":\"FeatureCollection\",\"features\":[]}"},
     {"error": "BoundaryError", "match": "has no features"})
case("boundary_truncated_geojson", "boundary", "a truncated GeoJSON download", {"write": "geojson_text", "text": "{\"type\":\"FeatureCollection\",\"features\":[{"},
     {"error": "FileFormatError", "match": "cannot read boundary file"})
case("boundary_html_error_page", "boundary", "an HTML error page saved as .geojson", {"write": "geojson_text", "text": "<html><body>404 Not Found</body></html>"},
     {"error": "FileFormatError", "match": "cannot read boundary file"})
case("boundary_wrong_code_column", "boundary", "the code column of another vintage", {**TWO, "code": "WD22CD"},
     {"error": "MissingColumnsError", "match": "'WD22CD'"})

# ---------------------------------------------------------------- assign_areas
case("assign_swapped_lonlat", "assign_areas", "lon/lat swapped", {"layer": TWO, "points": {"columns": {"Longitude": [51.5, -0.12], "Latitude": [-0.12, 51.5]}}},
     {"area_status": ["outside_gb", "outside:layer"], "layer": [None, None]})
case("assign_null_island", "assign_areas", "(0, 0)", {"layer": TWO, "points": {"columns": {"Longitude": [0.0], "Latitude": [0.0]}}},
     {"area_status": ["outside_gb"]})
case("assign_bng_as_lonlat", "assign_areas", "easting/northing in lon/lat columns", {"layer": TWO, "points": {"columns": {"Longitude": [530500], "Latitude": [180500]}}},
     {"area_status": ["invalid_coordinates"], "layer": [None]})
case("assign_shared_edge", "assign_areas", "a point exactly on the edge two areas share: the smaller code", {"layer": TWO, "points": {"columns": {"x": [531000, 531000], "y": [180500, 181000]}}, "kwargs": {"x": "x", "y": "y", "crs": "EPSG:27700"}},
     {"area_status": ["ok", "ok"], "layer": ["E05A", "E05A"]})
case("assign_outside_extent", "assign_areas", "points in GB but outside the boundary extent", {"layer": TWO, "points": {"columns": {"x": [400000, 529999.999], "y": [300000, 180500]}}, "kwargs": {"x": "x", "y": "y", "crs": "EPSG:27700"}},
     {"area_status": ["outside:layer", "outside:layer"]})
case("assign_garbage_coordinates", "assign_areas", "text, blanks and infinities in coordinate columns", {"layer": TWO, "points": {"columns": {"x": ["530500", "abc", None, "inf", "-0,5"], "y": ["180500", "1", None, "1", "1"]}}, "kwargs": {"x": "x", "y": "y", "crs": "EPSG:27700"}},
     {"area_status": ["ok", "invalid_coordinates", "no_location", "invalid_coordinates", "invalid_coordinates"], "layer": ["E05A", None, None, None, None]})
case("assign_empty_and_nonpoint_geometries", "assign_areas", "empty, missing and polygon geometries in a point layer", {"layer": TWO, "points": {"wkt": ["POINT(530500 180500)", None, "POINT EMPTY", SQ(530000, 180000, 10)], "crs": "EPSG:27700"}},
     {"area_status": ["ok", "no_location", "no_location", "invalid_coordinates"]})
case("assign_no_crs", "assign_areas", "a GeoDataFrame without a CRS", {"layer": TWO, "points": {"wkt": ["POINT(530500 180500)"]}},
     {"error": "CRSError", "match": "has no CRS"})
case("assign_duplicate_index", "assign_areas", "a duplicated index (concatenated extracts)", {"layer": TWO, "points": {"columns": {"x": [530500, 531500], "y": [180500, 180500]}, "index": [7, 7]}, "kwargs": {"x": "x", "y": "y"}},
     {"area_status": ["ok", "ok"], "layer": ["E05A", "E05B"]})
case("assign_zero_rows", "assign_areas", "no rows", {"layer": TWO, "points": {"columns": {"x": [], "y": []}}, "kwargs": {"x": "x", "y": "y"}}, {"rows": 0})
case("assign_real_wards", "assign_areas", "real 2022 wards: a central London point, swapped, (0,0) and Manchester",
     {"points": {"columns": {"Longitude": [-0.1276, 51.5072, 0.0, -2.2426], "Latitude": [51.5072, -0.1276, 0.0, 53.4808]}}},
     {"area_status": ["ok", "outside_gb", "outside_gb", "outside:ward_2022"]})

# ---------------------------------------------------------------- geocode / gazetteer
case("geocode_bad_rows", "geocode", "every kind of bad record in one batch against the FHRS gazetteer",
     {"values": [None, "", {"$nan": True}, 12, "NFA", "😀🏠🚓", "!!!", {"$repeat": "x", "times": 10_000_000},
                 "\ud800 12 Upper Street N1 0PQ", "12 Upper Street<br>London N1 0PQ", "12 Upper Street, London N1 0PQ"]},
     {"rows": 11, "match_level": ["none"] * 8 + ["premises"] * 3,
      "reason": ["empty", "empty", "empty", "invalid_input", "placeholder:no_fixed_abode", "empty", "empty", "placeholder:unknown", None, None, None]})
case("geocode_script", "geocode", "script in the address field: no match, nothing invented", {"values": ["<script>alert(1)</script>"]},
     {"match_level": ["none"], "matched_address": [None]})
case("geocode_duplicate_index", "geocode", "a duplicated index", {"values": ["12 Upper Street, London N1 0PQ", "NFA"], "index": ["a", "a"]},
     {"match_level": ["premises", "none"]})
case("geocode_duplicate_index_mixed", "geocode", "a duplicated index with a leading 'at', a number and a placeholder (found by the property tests: InvalidIndexError)",
     {"values": ["at 12 Upper Street, London N1 0PQ", 12, "NFA"], "index": [0, 0, 0]},
     {"match_level": ["premises", "none", "none"], "reason": [None, "invalid_input", "placeholder:no_fixed_abode"]})
case("geocode_zero_rows", "geocode", "no rows", {"values": []}, {"rows": 0})
case("gazetteer_duplicate_addresses", "gazetteer", "a source listing every address three times, one copy 400 m off: one entry per address, at the point most copies agree on",
     {"n": 20, "copies_shifted_m": [0, 0, 400]}, {"premises_entries": 20, "match_level": ["premises"] * 20, "max_distance_from_majority_m": 0.0})
case("gazetteer_no_coordinates", "gazetteer", "a source whose coordinates are all missing", {"n": 5, "copies_shifted_m": [0], "no_coordinates": True},
     {"error": "GazetteerError", "match": "no row with finite coordinates"})

# ---------------------------------------------------------------- enrich_file
E = "incident_id,address\n"
case("enrich_cp1252_refused", "enrich_file", "Excel cp1252 export: refused before any work, naming the fix", {"text": E + "1,12 Café Street\n", "encoding": "cp1252"},
     {"error": "FileFormatError", "match": "encoding='cp1252'"})
case("enrich_cp1252_declared", "enrich_file", "the same with encoding='cp1252'", {"text": E + "1,12 Café Street\n", "encoding": "cp1252", "kwargs": {"encoding": "cp1252"}},
     {"rows": 1, "address": ["12 Café Street"], "gc_input_status": ["ok"]})
case("enrich_utf16_refused", "enrich_file", "UTF-16 with a BOM: told to pass encoding='utf-16' (not cp1252)", {"text": E + "1,12 Upper Street London N1 0PQ\n", "encoding": "utf-16"},
     {"error": "FileFormatError", "match": "encoding='utf-16'"})
case("enrich_utf16_declared", "enrich_file", "UTF-16 with encoding='utf-16'", {"text": E + "1,\"12 Upper Street, London N1 0PQ\"\n", "encoding": "utf-16", "kwargs": {"encoding": "utf-16"}},
     {"rows": 1, "gc_match_level": ["premises"], "incident_id": ["1"]})
case("enrich_ragged", "enrich_file", "an unquoted comma", {"file": "enrich_ragged_unquoted_comma.csv"}, {"error": "FileFormatError", "match": "ragged row"})
case("enrich_semicolon", "enrich_file", "';' delimiter", {"file": "enrich_semicolon.csv"}, {"error": "FileFormatError", "match": "semicolon-delimited"})
case("enrich_all_empty_address", "enrich_file", "the address column is blank on every row", {"file": "enrich_all_empty_address.csv"},
     {"rows": 3, "gc_input_status": ["empty_address"] * 3, "gc_match_level": ["none"] * 3})
case("enrich_header_only", "enrich_file", "header only", {"file": "enrich_header_only.csv"}, {"rows": 0})
case("enrich_zero_bytes", "enrich_file", "zero bytes", {"text": ""}, {"error": "FileFormatError", "match": "is empty"})
case("enrich_one_row_placeholder", "enrich_file", "one row, a placeholder", {"text": E + "1,NFA\n"},
     {"rows": 1, "gc_placeholder": ["no_fixed_abode"], "gc_match_level": ["none"]})
case("enrich_leading_zero_ids", "enrich_file", "ids with leading zeros are written back unchanged", {"file": "enrich_leading_zero_ids.csv"},
     {"incident_id": ["0001234", "0001235", "0001236"], "gc_input_status": ["ok", "empty_address", "ok"], "gc_placeholder": ["", "", "no_fixed_abode"]})
case("enrich_quoted_newline", "enrich_file", "a line break inside a quoted address", {"file": "enrich_quoted_newline.csv"},
     {"rows": 2, "address": ["12 Upper Street\nLondon N1 0PQ", "NFA"], "gc_match_level": ["premises", "none"]})
case("enrich_excel_postcodes", "enrich_file", "postcode-only addresses mangled by Excel (=\"...\", padding, lower case, no space)", {"file": "enrich_excel_postcodes.csv"},
     {"rows": 3, "address": ["=\"N1 0PQ\"", "  N1 0PQ ", "n10pq"], "gc_input_status": ["ok", "ok", "ok"]})
case("enrich_html", "enrich_file", "HTML in the address: written back verbatim, the tags do not stop the match", {"file": "enrich_html.csv"},
     {"address": ["<script>alert(1)</script>", "<b>12 Upper Street</b>, N1 0PQ"], "gc_match_level": ["none", "premises"]})
case("enrich_duplicate_columns", "enrich_file", "two columns called 'address'", {"text": "incident_id,address,address\n1,a,b\n"},
     {"error": "FileFormatError", "match": "duplicate column"})
case("enrich_missing_column", "enrich_file", "a misspelt address column", {"text": E + "1,x\n", "kwargs": {"columns": "adress"}},
     {"error": "MissingColumnsError", "match": "'adress'"})
case("enrich_coordinates_only", "enrich_file", "areas only, from lon/lat columns with swapped, zero and blank rows",
     {"text": "id,lon,lat\n1,-0.1035,51.5385\n2,51.5385,-0.1035\n3,0,0\n4,,\n", "kwargs": {"geocode": False, "coords": ["lon", "lat"]}},
     {"rows": 4, "gc_area_status": ["ok", "outside_gb", "outside_gb", "no_location"]})

# ---------------------------------------------------------------- aggregate / gate
A = {"ward_2024": ["E05A", "E05B", None, "E05A"], "month": ["2024-01", "2024-03", "2024-01", None], "crime_type": ["Burglary", "", None, "Burglary"]}
case("aggregate_zero_rows", "aggregate", "no incidents", {"columns": {"ward_2024": [], "month": [], "crime_type": []}}, {"rows": 0, "total": 0})
case("aggregate_one_row", "aggregate", "one incident", {"columns": {"ward_2024": ["E05A"], "month": ["2024-01"], "crime_type": ["Burglary"]}}, {"rows": 1, "total": 1})
case("aggregate_missing_keys", "aggregate", "no area, no month and blank crime types: counted or reported, never lost", {"columns": A},
     {"total": 2, "n_input": 4, "n_no_area": 1, "n_no_period": 1})
case("aggregate_excel_months", "aggregate", "months re-typed by Excel ('01/2024'), impossible ('2024-13') and garbage",
     {"columns": {**A, "month": ["01/2024", "2024-13", "garbage", "2024-01"]}}, {"n_input": 4, "n_no_area": 1, "n_no_period": 1, "total": 2})
case("aggregate_unknown_area", "aggregate", "an area code from another boundary vintage", {"columns": A, "kwargs": {"areas": ["E05A"]}},
     {"error": "AnalysisError", "match": "not in the area universe"})
case("aggregate_script_crime_types", "aggregate", "script and emoji as crime types",
     {"columns": {"ward_2024": ["E05A", "E05A"], "month": ["2024-01", "2024-01"], "crime_type": ["<script>alert(1)</script>", "😀"]}, "return": ["crime_type"]},
     {"total": 2, "crime_type": ["<script>alert(1)</script>", "😀"]})
case("aggregate_missing_column", "aggregate", "grouping by a column that is not there", {"columns": A, "kwargs": {"by": ["lsoa"]}},
     {"error": "MissingColumnsError", "match": "'lsoa'"})
case("gate_not_a_frame", "gate", "a list where incidents should be", {"incidents": ["a", "b"]}, {"error": "InputError", "match": "must be a DataFrame"})
case("gate_no_map_points", "gate", "incidents without map points", {"incidents": {"x": [1]}, "map_points": None}, {"error": "InputError", "match": "build_map_points"})

# ---------------------------------------------------------------- the geocrime command (issue 18)
# argv placeholders: {in} the case's input file, {tmp} the test's temporary directory, {gaz} a saved FHRS
# gazetteer built from the shared data. "stderr" is a fragment the command's stderr must contain;
# "written" says whether the output file ({tmp}/out.*) exists afterwards.
PU = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n"
def pu(lon, lat, cid="a1", t="Burglary"):
    return f"{cid},2024-01,City of London Police,City of London Police,{lon},{lat},On or near Fleet Street,E01000916,City of London 001F,{t},,\n"
case("cli_geocode_latin1", "cli", "an Excel export in Windows-1252: 'Café' must never become 'Caf\\ufffd' (geocode used to exit 0 and write that)",
     {"text": "id,address\n1,Café Rouge 1 Poultry EC2R 8EJ\n", "encoding": "cp1252",
      "argv": ["geocode", "{in}", "{tmp}/out.csv", "-g", "{gaz}"]},
     {"exit": 1, "stderr": "is not valid UTF-8: byte 0xe9 at offset 16 (line 2", "stderr_2": "pass --encoding cp1252", "written": False})
case("cli_geocode_latin1_declared", "cli", "the same file with --encoding cp1252: read as written",
     {"text": "id,address\n1,Café Rouge 1 Poultry EC2R 8EJ\n", "encoding": "cp1252",
      "argv": ["geocode", "{in}", "{tmp}/out.csv", "-g", "{gaz}", "--encoding", "cp1252"]},
     {"exit": 0, "written": True, "output_contains": "Café Rouge"})
case("cli_geocode_semicolon", "cli", "a European Excel export: ';' delimiter, sniffed from the header (geocode had no --sep)",
     {"file": "cli_semicolon.csv", "argv": ["geocode", "{in}", "{tmp}/out.csv", "-g", "{gaz}"]},
     {"exit": 0, "written": True, "output_contains": "1 poultry"})
case("cli_geocode_empty_file", "cli", "a zero-byte file left by a failed export",
     {"text": "", "argv": ["geocode", "{in}", "{tmp}/out.csv", "-g", "{gaz}"]},
     {"exit": 1, "stderr": "is empty (0 bytes): no header row and no records", "written": False})
case("cli_enrich_empty_file", "cli", "enrich on an empty file: an empty-file message, not 'pass columns=...'",
     {"text": "", "argv": ["enrich", "{in}", "{tmp}/out.csv", "-g", "{gaz}", "--no-progress"]},
     {"exit": 1, "stderr": "is empty (0 bytes)", "stderr_not": "columns=", "written": False})
case("cli_enrich_no_column_flag", "cli", "enrich -g without -c finds the 'address' column by name",
     {"file": "cli_semicolon.csv", "argv": ["enrich", "{in}", "{tmp}/out.csv", "-g", "{gaz}", "--no-progress"]},
     {"exit": 0, "written": True, "output_contains": "gc_match_level"})
case("cli_enrich_no_address_column", "cli", "enrich -g on a file with no address-like column: CLI wording (--columns), never Python syntax",
     {"text": "id,street_text\n1,1 Poultry\n", "argv": ["enrich", "{in}", "{tmp}/out.csv", "-g", "{gaz}", "--no-progress"]},
     {"exit": 1, "stderr": "--columns NAME", "stderr_not": "columns=", "written": False})
case("cli_geocode_all_unmatched", "cli", "a file whose 'address' column holds no addresses: 100% unmatched is an error, not exit 0",
     {"text": "id,address\n1,NFA\n2,unknown\n3,N/A\n", "argv": ["geocode", "{in}", "{tmp}/out.csv", "-g", "{gaz}"]},
     {"exit": 1, "stderr": "none of the 3 rows matched the gazetteer", "written": True})
case("cli_hotspots_html_suffix", "cli", "--out ward_hotspots.html used to write a Shapefile directory named ward_hotspots.html",
     {"file": "cli_police_city.csv", "argv": ["hotspots", "{in}", "--layer", "ward_2024", "--permutations", "9", "--out", "{tmp}/out.html"]},
     {"exit": 1, "stderr": "cannot write 'out.html': unknown suffix .html", "written": False})
case("cli_areas_unknown_suffix", "cli", "an output name without a known suffix", {"file": "cli_police_city.csv",
     "argv": ["areas", "{in}", "{tmp}/out.shp", "--layers", "ward_2024"]},
     {"exit": 1, "stderr": "unknown suffix .shp; use one of .csv, .parquet", "written": False})
case("cli_tiles_swapped_lonlat", "cli", "Longitude and Latitude swapped: tiles used to exit 0 with 'tiles: 0', 'page: None'",
     {"file": "cli_police_swapped.csv", "argv": ["tiles", "{in}", "--addresses", "{in}", "--out", "{tmp}/out"]},
     {"exit": 1, "stderr": "Longitude and Latitude look swapped", "stderr_2": "--x Latitude --y Longitude", "written": False})
case("cli_areas_swapped_lonlat", "cli", "swapped lon/lat through areas: one line with the fix, nothing written",
     {"file": "cli_police_swapped.csv", "argv": ["areas", "{in}", "{tmp}/out.csv", "--layers", "ward_2024"]},
     {"exit": 1, "stderr": "swap them: --x Latitude --y Longitude", "written": False})
case("cli_areas_swapped_fixed", "cli", "the fix the message gives works",
     {"file": "cli_police_swapped.csv", "argv": ["areas", "{in}", "{tmp}/out.csv", "--layers", "ward_2024", "--x", "Latitude", "--y", "Longitude"]},
     {"exit": 0, "written": True, "output_contains": "E05009300"})
case("cli_areas_bng_in_lonlat", "cli", "British National Grid metres in the Longitude/Latitude columns: the CRS is guessed from the values, and the note says so",
     {"file": "cli_police_bng.csv", "argv": ["areas", "{in}", "{tmp}/out.csv", "--layers", "ward_2024"]},
     {"exit": 0, "stderr": "hold British National Grid metres, not degrees", "written": True, "output_contains": "E05009300"})
case("cli_aggregate_bng_in_lonlat", "cli", "BNG in lon/lat columns through aggregate: counted, with the note",
     {"file": "cli_police_bng.csv", "argv": ["aggregate", "{in}", "--layer", "ward_2024", "--out", "{tmp}/out.csv"]},
     {"exit": 0, "stderr": "read as EPSG:27700", "written": True})
case("cli_aggregate_outside_london", "cli", "every incident in Manchester, the boundaries London's: an empty table is an error",
     {"file": "cli_police_manchester.csv", "argv": ["aggregate", "{in}", "--layer", "ward_2024", "--out", "{tmp}/out.csv"]},
     {"exit": 1, "stderr": "none of the 3 located incidents lies in an area of ward_2024", "written": False})
case("cli_areas_outside_london", "cli", "every point in Manchester through areas",
     {"file": "cli_police_manchester.csv", "argv": ["areas", "{in}", "{tmp}/out.csv", "--layers", "ward_2024"]},
     {"exit": 1, "stderr": "none of the 3 located rows lies in an area of ward_2024", "written": False})
case("cli_enrich_outside_london", "cli", "every point in Manchester through enrich: the output is written (rows in = rows out) but the exit code says nothing is in an area",
     {"file": "cli_police_manchester.csv", "argv": ["enrich", "{in}", "{tmp}/out.csv", "--layers", "ward_2024", "--no-progress"]},
     {"exit": 1, "stderr": "no row lies in the areas of the boundary layers", "written": True})
case("cli_areas_no_coordinates", "cli", "a table without coordinate columns",
     {"text": "id,address\n1,1 Poultry\n", "argv": ["areas", "{in}", "{tmp}/out.csv", "--layers", "ward_2024"]},
     {"exit": 1, "stderr": "cannot find coordinate columns", "stderr_2": "--x X", "written": False})
case("cli_map_bad_suffix", "cli", "a map written to a .png name", {"file": "cli_police_city.csv",
     "argv": ["map", "{in}", "--out", "{tmp}/out.png"]}, {"exit": 1, "stderr": "use a .html file name", "written": False})

case("cli_gazetteer_cp1252", "cli", "an LLPG extract saved as Windows-1252: the gazetteer reader used to replace 'é' silently",
     {"text": "UPRN,SAO,PAO,STREET,LOCALITY,TOWN,POSTCODE,EASTING,NORTHING\n1,,1,Café Street,,London,EC2R 8EJ,532574,181098\n",
      "encoding": "cp1252", "argv": ["gazetteer", "build", "{tmp}/out", "--csv", "{in}"]},
     {"exit": 1, "stderr": "is not valid UTF-8: byte 0xe9", "stderr_2": "gazetteer build reads UTF-8", "written": False})

case("police_undefined_cp1252_byte", "police_uk", "a byte that is neither UTF-8 nor Windows-1252 (0x81): refused, never a replacement character",
     {"header": "police_uk", "text": row(loc="On or near X"), "prefix_hex": "", "encoding": "utf-8", "name": "input.csv",
      "append_hex": "81"},
     {"error": "FileFormatError", "match": "is neither UTF-8"})
case("cli_aggregate_police_cp1252", "cli", "a police.uk month re-saved by Excel on Windows, through the CLI: strict, the fix named",
     {"header": "police_uk", "text": row(loc="On or near Café Rouge"), "encoding": "cp1252",
      "argv": ["aggregate", "{in}", "--layer", "ward_2024", "--out", "{tmp}/out.csv"]},
     {"exit": 1, "stderr": "pass --encoding cp1252", "written": False})
case("cli_aggregate_police_cp1252_declared", "cli", "the same with --encoding cp1252",
     {"header": "police_uk", "text": row(loc="On or near Café Rouge"), "encoding": "cp1252",
      "argv": ["aggregate", "{in}", "--layer", "ward_2024", "--out", "{tmp}/out.csv", "--encoding", "cp1252"]},
     {"exit": 0, "written": True})

case("cli_aggregate_header_only", "cli", "a month with no crimes (header only) through aggregate: said plainly, not 'no month column'",
     {"file": "police_header_only.csv", "argv": ["aggregate", "{in}", "--layer", "ward_2024", "--out", "{tmp}/out.csv"]},
     {"exit": 1, "stderr": "no records (a header and no rows): nothing to aggregate", "written": False})

case("cli_geocode_semicolon_said_comma", "cli", "a semicolon file with --sep ',' forced: the missing-column message says which delimiter the header has",
     {"file": "cli_semicolon.csv", "argv": ["geocode", "{in}", "{tmp}/out.csv", "-g", "{gaz}", "--sep", ","]},
     {"exit": 1, "stderr": "the header looks semicolon-delimited ('id;address'): pass --sep ';'", "written": False})

json.dump({"about": "geocrime bad-input corpus: each case is a real-world failure with its expected outcome; run by tests/test_bad_inputs.py",
           "cases": C}, open(__import__("pathlib").Path(__file__).with_name("cases.json"), "w", encoding="utf-8"), ensure_ascii=True, indent=1)
print(len(C))
