"""Places decide, honest street ambiguity, within=, the declared comparison table and the
evaluation sets, on real data (Code-Point Open, the postcode->street layer, police.uk streets)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _geocode_data import build

from geocrime.geocoding import compare, geocode, geocode_one
from geocrime.geocoding.evalsets import police_style_queries, score_located
from geocrime.geocoding.places import borough_codes, borough_layer, entry_bits


@pytest.fixture(scope="module")
def gaz(shared_data):
    from geocrime.gazetteer import Gazetteer, read_codepoint, streets_from_police_uk
    from geocrime.geocoding.evalsets import _ppd_streets

    cp = read_codepoint(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    police = streets_from_police_uk([shared_data / "policeuk_met_burglary_street" / "2024-01-metropolitan-street.csv"], cp)
    return Gazetteer.from_sources([police, _ppd_streets(cp), cp])


def _bits_of(gaz, x, y):
    rows = borough_layer().lookup("borough", np.asarray(x, float), np.asarray(y, float))
    return rows


def _street_in_many_boroughs(gaz):
    """A street name held in several boroughs, and one borough where its rows lie together."""
    st = gaz.table[gaz.table["level"] == "street"]
    rows = _bits_of(gaz, st["x"], st["y"])
    t = pd.DataFrame({"street": st["street"].to_numpy(), "key": st["k_street"].to_numpy(), "b": rows,
                      "r": st["radius"].to_numpy()})
    nb = t.groupby("key")["b"].nunique()
    many = nb[nb >= 4].index
    per = t[t["key"].isin(many)].groupby(["key", "b"]).agg(n=("r", "size"), r=("r", "max"), street=("street", "first"))
    one = per[(per["n"] == 1) & (per["r"] < 400)].reset_index()
    return one.iloc[0]


def test_named_borough_picks_the_street_in_that_borough(gaz):
    row = _street_in_many_boroughs(gaz)
    code = borough_codes()[row["b"]]
    name = borough_layer().layer("borough").iloc[row["b"]]["name"]
    out = geocode([f"{row['street']}, {name}", f"o/s {row['street']} {name}"], gaz)
    assert (out["match_level"] == "street").all(), out[["match_level", "reason"]]
    got = _bits_of(gaz, out["x"], out["y"])
    assert (borough_codes()[got] == code).all()
    assert (out["uncertainty_m"] >= 50).all()


def test_street_alone_in_several_boroughs_is_ambiguous(gaz):
    row = _street_in_many_boroughs(gaz)
    out = geocode([row["street"].upper()], gaz, candidates=True)
    assert out["match_level"].iloc[0] not in ("street", "premises")
    assert out["reason"].iloc[0] == "ambiguous_street"
    assert bool(out["ambiguous"].iloc[0])
    cands = out["candidates"].iloc[0]
    assert cands and len(cands) >= 2
    assert len({int(r) for r in _bits_of(gaz, [c["x"] for c in cands], [c["y"] for c in cands])}) >= 2


def test_street_not_in_the_named_borough_is_a_place_conflict(gaz):
    # Nash Road (RM6) is in Barking and Dagenham in the police.uk street layer; not in Camden
    one = geocode_one("Nash Road, Barking and Dagenham", gaz)
    assert one["match_level"] == "street"
    other = geocode_one("Nash Road, Camden", gaz)
    assert other["match_level"] in ("borough", "none")
    assert other["reason"] == "place_conflict"
    if other["match_level"] == "borough":
        camden = borough_codes().tolist().index("E09000007")
        assert _bits_of(gaz, [other["x"]], [other["y"]])[0] == camden
        assert other["uncertainty_m"] > 1000


def test_within_borough_codes_and_polygon(gaz):
    row = _street_in_many_boroughs(gaz)
    code = borough_codes()[row["b"]]
    by_code = geocode([row["street"]], gaz, within=[code])
    assert by_code["match_level"].iloc[0] == "street"
    assert borough_codes()[_bits_of(gaz, by_code["x"], by_code["y"])[0]] == code
    poly = borough_layer().layer("borough").iloc[[row["b"]]]
    by_poly = geocode([row["street"]], gaz, within=poly)
    assert np.allclose(by_poly[["x", "y"]].to_numpy(float), by_code[["x", "y"]].to_numpy(float))
    # another borough that does not hold the street: nothing outside it is returned
    others = [c for c in borough_codes() if c != code]
    bits = entry_bits(gaz)
    st_rows = np.flatnonzero((gaz.level == "street") & (gaz.k["street"] == row["key"]))
    held = {borough_codes()[int(np.log2(b))] for b in bits[st_rows] if b}
    free = [c for c in others if c not in held][0]
    none = geocode([row["street"]], gaz, within=[free])
    assert none["match_level"].iloc[0] not in ("street", "premises")
    # a point that is no gazetteer entry (a borough the text names) is kept inside within= too
    out = geocode(["Nash Road, Camden"], gaz, within=["E09000002"])
    assert out["match_level"].iloc[0] == "none" and out["reason"].iloc[0] == "place_conflict"


def test_comparison_levels_declared_once():
    fams = {f for f, *_ in compare.COMPARISON_LEVELS}
    assert fams == set(compare.LEVELS)
    for f in fams:
        rows = [r for r in compare.COMPARISON_LEVELS if r[0] == f]
        assert compare.LEVELS[f] == tuple(r[1] for r in rows)
        assert np.array_equal(compare.WEIGHTS[f], [r[3] for r in rows])
        assert rows[0][1] == "none" and rows[0][3] == 0.0
        assert all(r[2] for r in rows)
    assert compare.WEIGHTS["PLACE"][compare.LEVELS["PLACE"].index("conflict")] <= -30


def test_police_style_queries_and_scoring(shared_data):
    q = police_style_queries(n=50, seed=1)
    assert set(q["style"]) == {"street_borough", "os_street_borough", "street_upper"}
    assert set(q["split"]) == {"tune", "report"}
    a = q[q["style"] == "os_street_borough"].iloc[0]
    assert a["query"] == f"o/s {a['street']} {a['borough']}"
    assert q.loc[q["style"] == "street_upper", "query"].str.isupper().all()
    # a coarse level is right when its declared radius covers the truth; a street point must be near
    res = pd.DataFrame({"match_level": ["borough", "street", "none"], "x": [0.0, 0.0, np.nan], "y": [0.0, 0.0, np.nan],
                        "uncertainty_m": [5000.0, 50.0, np.nan], "reason": [None, None, "ambiguous_street"]})
    truth = pd.DataFrame({"truth_x": [3000.0, 3000.0, 0.0], "truth_y": [0.0, 0.0, 0.0], "style": ["a", "a", "a"]})
    rep = score_located(res, truth, tol=300.0)["a"]
    assert rep["placed"] == 2 and rep["precision"] == 0.5 and rep["recall"] == 0.0


def test_junction_and_landmark_levels(shared_data, gaz):
    from geocrime.gazetteer import Gazetteer, sources

    # a junction of two real streets of the layer: Brixton Road meets Coldharbour Lane in Lambeth
    out = geocode(["j/o Brixton Rd and Coldharbour Lane", "junction of Brixton Road with Coldharbour Lane, Lambeth"], gaz)
    assert (out["match_level"] == "junction").all(), out[["match_level", "reason"]]
    lambeth = borough_codes().tolist().index("E09000022")
    assert (_bits_of(gaz, out["x"], out["y"]) == lambeth).all()
    assert (out["uncertainty_m"] < 400).all()
    if not hasattr(sources, "read_landmarks"):
        pytest.fail("gazetteer.sources.read_landmarks (issue 17a) is missing")
    from geocrime.gazetteer import read_codepoint

    cp = read_codepoint(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    st = sources.read_landmarks(shared_data / "landmarks_london_stations" / "tfl_stations_2022.csv")
    g2 = Gazetteer.from_sources([st, cp])
    lm = geocode(["Clapham Common station", "nr Clapham Common station", "Clapham Common tube, Camden"], g2)
    assert list(lm["match_level"][:2]) == ["landmark", "landmark"]
    assert lm["match_level"].iloc[2] != "landmark" and lm["reason"].iloc[2] == "place_conflict"


def test_match_probability_and_review(gaz):
    from geocrime.geocoding.calibrate import MatchCalibrator
    from geocrime.geocoding.review import review_rows

    row = _street_in_many_boroughs(gaz)
    name = borough_layer().layer("borough").iloc[row["b"]]["name"]
    out = geocode([f"{row['street']}, {name}", row["street"].upper()], gaz, candidates=True)
    p = out["match_probability"].to_numpy(float)
    assert 0.5 < p[0] <= 1.0 and np.isnan(p[1])  # a placed street has a probability; an unplaced row none
    rv = review_rows(out)
    assert list(rv["row"]) == [1] and rv["reason"].iloc[0] == "ambiguous_street"
    # the estimator: isotonic in the premises score, a smoothed constant elsewhere
    res = pd.DataFrame({"match_level": ["premises"] * 100 + ["street"] * 10,
                        "score": np.r_[np.linspace(7, 20, 100), [np.nan] * 10]})
    ok = np.r_[np.linspace(7, 20, 100) > 10, [True] * 9 + [False]]
    cal = MatchCalibrator().fit(res, ok)
    pr = cal.predict(res)
    assert np.all(np.diff(pr[:100]) >= 0) and pr[0] < 0.1 and pr[99] > 0.9
    assert np.allclose(pr[100:], 10 / 12)


def test_named_borough_core_beats_streets_only_the_tolerance_admits(gaz):
    """A borough name that is also a post town ("Kingston upon Thames": the post town reaches into
    Richmond) allows both boroughs, but a street in the named borough itself wins over same-named
    streets in the other one; with no street of that name in the core, the tolerance still admits."""
    from geocrime.address import parse_many
    from geocrime.geocoding.places import query_places

    kingston, richmond = "E09000021", "E09000027"
    pl = query_places(parse_many(pd.Series(["Grove Road, Kingston upon Thames"])))
    codes = borough_codes()
    assert {c for i, c in enumerate(codes) if pl["mask"][0] >> i & 1} == {kingston, richmond}
    assert {c for i, c in enumerate(codes) if pl["strict"][0] >> i & 1} == {kingston}
    st = gaz.table[gaz.table["level"] == "street"]
    b = codes[_bits_of(gaz, st["x"], st["y"])]
    per = pd.crosstab(st["street"].to_numpy(), b)
    both = per[(per.get(kingston, 0) == 1) & (per.get(richmond, 0) >= 1)].index[:5]
    only_r = per[(per.get(kingston, 0) == 0) & (per.get(richmond, 0) == 1) &
                 (per.drop(columns=[kingston, richmond], errors="ignore").sum(axis=1) == 0)].index[:5]
    assert len(both) and len(only_r)
    out = geocode([f"{s}, Kingston upon Thames" for s in [*both, *only_r]], gaz)
    got = codes[_bits_of(gaz, out["x"], out["y"])]
    placed = out["match_level"].to_numpy() == "street"
    assert placed[: len(both)].all(), out[["match_level", "reason"]]
    assert (got[: len(both)] == kingston).all()
    # Richmond-only streets: admitted by the post town, placed in Richmond (not a conflict)
    assert (out["reason"].iloc[len(both):] != "place_conflict").all()
    assert (got[len(both):][placed[len(both):]] == richmond).all()


def test_a_street_filed_under_one_district_reaches_the_named_locality(gaz):
    """Roman Road runs from Bethnal Green (E2) into Bow (E3); its street row is filed under one
    district, but its postcode points reach Bow's districts, so "Roman Road, Bow" is that street,
    not a place conflict."""
    from geocrime.address import parse_many

    bow = set(parse_many(pd.Series(["Roman Road, Bow"]))["place_districts"].iloc[0].split("|"))
    st = gaz.table[(gaz.table["level"] == "street") & (gaz.table["k_street"] == "roman road")]
    pts = gaz.street_points(st.index.to_numpy())
    reach = pts.groupby("street_row")["postcode"].agg(lambda s: set(s.str.split(" ").str[0]))
    filed = st["k_pc_district"]
    assert any((filed[r] not in bow) and (reach[r] & bow) for r in reach.index)  # the case exists
    out = geocode(["534 Roman Road, Bow, London", "Roman Road, Bow"], gaz)
    assert (out["match_level"] == "street").all(), out[["match_level", "reason"]]
    assert (out["reason"] != "place_conflict").all()


def test_street_reachable_is_the_ceiling_of_street_recall(gaz):
    """A record whose street the gazetteer holds near the truth is reachable; a street no source
    holds, or one held only kilometres away, is not."""
    from geocrime.geocoding.evalsets import street_reachable

    st = gaz.table[gaz.table["level"] == "street"].iloc[[10, 200, 3000]]
    q = pd.DataFrame({"query": [f"{s}, London" for s in st["street"]] + ["Zzyzx Nonesuch Road", f"{st['street'].iloc[0]}"],
                      "truth_x": list(st["x"]) + [530000.0, st["x"].iloc[0] + 20_000],
                      "truth_y": list(st["y"]) + [180000.0, st["y"].iloc[0]]})
    assert street_reachable(q, gaz, 300.0).tolist() == [True, True, True, False, False]


def test_a_post_towns_own_districts_are_its_core(gaz):
    """"High Street, Brentford": the Brentford locality's border tolerance admits W4/W5 too, but the
    BRENTFORD post town is TW8, so the TW8 High Street wins over another High Street the tolerance admits."""
    from geocrime.address import parse_many
    from geocrime.geocoding.places import query_places

    pl = query_places(parse_many(pd.Series(["High Street, Brentford"])))
    assert pl["core_districts"][0] == "TW8"
    st = gaz.table[(gaz.table["level"] == "street") & (gaz.table["k_street"] == "high street")]
    allowed = set(parse_many(pd.Series(["High Street, Brentford"]))["place_districts"].iloc[0].split("|"))
    assert (st["k_pc_district"].isin(allowed - {"TW8"})).any() and (st["k_pc_district"] == "TW8").any()
    out = geocode(["214 High Street, Brentford, Middlesex", "High Street, Brentford"], gaz)
    assert (out["match_level"] == "street").all(), out[["match_level", "reason"]]
    assert out["matched_address"].str.contains("tw8").all()


def test_a_localitys_point_district_is_its_core(gaz):
    """"155 High Street, Acton": Acton's tolerance admits W2-W5 and Ealing has High Streets in W3 and
    W5; the district of Acton's own point (W3) is the core, so the W3 High Street is the answer."""
    st = gaz.table[(gaz.table["level"] == "street") & (gaz.table["k_street"] == "high street")]
    assert {"W3", "W5"} <= set(st["k_pc_district"])
    out = geocode(["155 High Street, Acton, London", "High Street, Acton"], gaz)
    assert (out["match_level"] == "street").all(), out[["match_level", "reason"]]
    assert out["matched_address"].str.contains("w3").all()


def _gds_row(shared_data, text):
    from geocrime.geocoding.evalsets import gds_queries

    q = gds_queries(shared_data / "gds_messy_addresses_london_dev" / "london_messy_addresses_dev.csv")
    q = q[(q["style"] == "without_postcode") & (q["query"].str.replace(r"\s+", " ", regex=True) == text)]
    assert len(q) == 1, text
    return q.iloc[0]


def test_the_street_point_lies_in_the_named_localitys_districts(shared_data, gaz):
    """"1215 High Road, Chadwell Heath, Romford" (a real GOV.UK list address): High Road runs from
    Ilford (IG3) into Chadwell Heath (RM6) as one street; the point is on the part in the district of
    Chadwell Heath's own point, not the street's middle in IG3, and the uncertainty still covers the
    whole street."""
    from geocrime.geocoding.ladder import street_members

    text = "1215 HIGH ROAD, CHADWELL HEATH, ROMFORD"
    truth = _gds_row(shared_data, text)
    out = geocode([text], gaz)
    assert out["match_level"].iloc[0] == "street", out[["match_level", "reason"]]
    x, y, u = out["x"].iloc[0], out["y"].iloc[0], out["uncertainty_m"].iloc[0]
    units = gaz.table[gaz.table["level"] == "postcode_unit"]
    near = units.iloc[int(np.argmin(np.hypot(units["x"] - x, units["y"] - y)))]
    assert near["k_pc_district"] == "RM6"
    assert np.hypot(x - truth["truth_x"], y - truth["truth_y"]) < 500
    mem = street_members(np.array([out["gazetteer_id"].iloc[0]]), gaz)
    far = np.hypot(gaz.x[mem["point_row"]] - x, gaz.y[mem["point_row"]] - y).max()
    assert u >= far  # every point of the street, the IG3 end included


def test_a_street_off_a_thoroughfare_falls_to_the_thoroughfare(shared_data, gaz):
    """"3 Crossways Parade, Selsdon Park Road, South Croydon": the parade is in no source; the road
    it is on is the next part of the text, so that is the street (without the parade's number, which
    is not the road's); a part that is a place name is never taken for a street."""
    text = "3 Crossways Parade, Selsdon Park Road, South Croydon"
    truth = _gds_row(shared_data, text)
    out = geocode([text, "Selsdon Park Road, South Croydon", "3 Nowhere Parade, Colliers Wood, London"], gaz)
    assert out["match_level"].iloc[0] == "street", out[["match_level", "reason"]]
    assert out["matched_address"].iloc[0].startswith("selsdon park road")
    assert np.hypot(out["x"].iloc[0] - truth["truth_x"], out["y"].iloc[0] - truth["truth_y"]) <= out["uncertainty_m"].iloc[0]
    assert (out["x"].iloc[0], out["y"].iloc[0]) == (out["x"].iloc[1], out["y"].iloc[1])
    assert out["match_level"].iloc[2] != "street"  # Colliers Wood is a place, not a street called "... Wood"


def test_one_name_in_one_postcode_district_is_one_street(gaz):
    """Royal Mail gives a street name once per postcode district: rows of one name filed under one
    district are one street even when a gap in their points puts them far apart, while the same name
    in another district far away stays another street."""
    from geocrime.geocoding.ladder import _components, _street_table

    st = _street_table(gaz)
    st = st[st["district"] != ""]
    per = st.groupby(["key", "district"]).size()
    multi = per[per >= 2].reset_index()
    other = st[st["key"].isin(multi["key"])].groupby("key")["district"].nunique()
    key = other[other >= 2].index[0]
    d0 = multi[multi["key"] == key]["district"].iloc[0]
    t = st[st["key"] == key][["key", "district", "x", "y", "radius"]].reset_index(drop=True)
    # spread every row 6 km from the next: only the district can link them now
    t["x"] = t["x"].min() + 6000.0 * np.arange(len(t))
    comp = _components(t)
    same = (t["district"] == d0).to_numpy()
    assert len(np.unique(comp[same])) == 1
    assert not np.isin(comp[~same], comp[same]).any()


def test_a_postal_address_reads_a_borough_name_as_its_post_town(shared_data, gaz):
    """"20 Manor Road, Sutton, Surrey" (a real GOV.UK list address) is a postal address: Sutton is
    the SUTTON post town there, so the Manor Road of SM2 is meant, not the other Manor Roads of the
    borough; written as police do ("Manor Road, Sutton") Sutton is the borough, and the street stays
    ambiguous inside it."""
    text = "20 MANOR ROAD, SUTTON, SURREY"
    truth = _gds_row(shared_data, text)
    out = geocode([text, "20 Manor Road, Sutton", "Manor Road, Sutton"], gaz)
    assert (out["match_level"].iloc[:2] == "street").all(), out[["match_level", "reason"]]
    assert out["matched_address"].iloc[:2].str.endswith("sm2").all()
    assert np.hypot(out["x"].iloc[0] - truth["truth_x"], out["y"].iloc[0] - truth["truth_y"]) <= out["uncertainty_m"].iloc[0]
    assert out["reason"].iloc[2] == "ambiguous_street" and out["match_level"].iloc[2] == "borough"


def test_a_postcode_on_another_street_of_that_name_beats_a_premises_numbered_alike(shared_data):
    """"Dental Surgery, 51 Uxbridge Road, London, W7 3PX" (a real GOV.UK list address): the premises
    source holds a 51 Uxbridge Road in Hampton (Richmond, no postcode published), 10 km away. The
    record's postcode lies on the W7 Uxbridge Road, another street of that name, so the premises is
    not accepted and the record falls to its postcode unit; a postcode on the premises' own street
    (a typo, or another unit of one long road) leaves the premises alone."""
    from geocrime.gazetteer import Gazetteer, read_codepoint, read_fhrs
    from geocrime.geocoding.evalsets import _ppd_streets

    fhrs_path = build(str(shared_data))[2]
    cp = read_codepoint(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    g = Gazetteer.from_sources([read_fhrs(fhrs_path), _ppd_streets(cp), cp])
    text = "DENTAL SURGERY, 51 UXBRIDGE ROAD, LONDON, W7 3PX"
    truth = _gds_row(shared_data, text.replace(", W7 3PX", ""))
    out = geocode([text, "51 Uxbridge Road, Hampton"], g)
    assert out["match_level"].iloc[0] == "postcode_unit", out[["match_level", "reason", "matched_address"]]
    assert out["reason"].iloc[0] == "postcode_disagrees"
    assert np.hypot(out["x"].iloc[0] - truth["truth_x"], out["y"].iloc[0] - truth["truth_y"]) < 1.0
    assert out["match_level"].iloc[1] == "premises"  # the Hampton premises itself is still found


def test_a_street_name_written_apart_or_together_is_one_name(gaz):
    """police.uk writes "Ash Flower Drive", "Silk Mills Square", "Cricket Field Road" where the street
    layer has Ashflower Drive, Silkmills Square, Cricketfield Road: the same letters, so the same
    street; a name the layer holds as written is never replaced by its spaceless twin."""
    t = gaz.table
    assert not (t["k_street"] == "ash flower drive").any() and (t["k_street"] == "ashflower drive").any()
    out = geocode(["Ash Flower Drive, Havering", "Silk Mills Square, Hackney", "Cricket Field Road, Hillingdon"], gaz)
    assert (out["match_level"] == "street").all(), out[["match_level", "reason"]]
    assert out["matched_address"].tolist() == ["ashflower drive rm3", "silkmills square e9", "cricketfield road ub8"]
    both = geocode(["Link Way, Harrow"], gaz)  # 'link way' and 'linkway' are both names here
    assert not both["matched_address"].fillna("").str.startswith("linkway").any()


def test_a_street_name_one_letter_dropped_or_added_in_the_named_borough(gaz):
    """police.uk's "Clevely Close, Greenwich" is the street layer's Cleveley Close and "Bistern Avenue,
    Waltham Forest" its Bisterne Avenue: the one name of that borough with one letter added. A changed
    letter is another street ("Stanford Street" is not Stafford Street), and without a place the
    name is not corrected at all."""
    t = gaz.table
    for written, held in (("clevely close", "cleveley close"), ("bistern avenue", "bisterne avenue"),
                          ("stanford street", "stafford street")):
        assert not (t["k_street"] == written).any() and (t["k_street"] == held).any()
    out = geocode(["Clevely Close, Greenwich", "Bistern Avenue, Waltham Forest", "Stanford Street, Westminster",
                   "CLEVELY CLOSE"], gaz)
    assert out["matched_address"].iloc[0].startswith("cleveley close")
    assert out["matched_address"].iloc[1].startswith("bisterne avenue")
    assert not str(out["matched_address"].iloc[2]).startswith("stafford street")
    assert out["match_level"].iloc[3] != "street"


def test_fhrs_address_lines_are_a_list_set_scored_against_their_postcode(shared_data, gaz):
    from geocrime.geocoding.evalsets import _codepoint_units, fhrs_list_queries, run_set

    q = fhrs_list_queries(n=40, seed=3)
    assert set(q["style"]) == {"with_postcode", "without_postcode"} and set(q["split"]) == {"tune", "report"}
    assert len(q) == 160 and not q["query"].str.contains(r"^,|, ,|,$", regex=True).any()
    w = q[q["style"] == "with_postcode"]
    assert all(a.endswith(", " + b) for a, b in zip(w["query"], w["truth_pc"]))
    # truth is the register postcode's Code-Point centroid, the same for both styles of an address
    units = _codepoint_units().reindex(w["truth_pc"].str.replace(" ", "", regex=False))
    assert np.allclose(units["x"].to_numpy(), w["truth_x"].to_numpy())
    wo = q[q["style"] == "without_postcode"]
    assert not wo["query"].str.contains(r"\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$", regex=True).any()
    # the module's gazetteer holds no FSA premises: the written postcode places nearly every row
    rep, res = run_set("fhrs_list", gaz, split="report", n=40, seed=3)
    assert len(res) == 80 and rep["tolerance_m"] == 250.0
    assert rep["styles"]["with_postcode"]["recall"] >= 0.95
    assert rep["styles"]["with_postcode"]["by_level"].get("postcode_unit", 0) >= 36


def test_a_bare_street_named_like_a_place_is_not_narrowed_to_that_place(gaz):
    """"CHURCH STREET" alone is one of London's Church Streets, not the Westminster ward of that name
    that would leave only NW8's (it was placed there at probability 0.99); "PECKHAM" alone is still
    the place."""
    from geocrime.address import parse_many

    p = parse_many(["CHURCH STREET", "ABBEY ROAD", "PECKHAM"], backend="rules")
    assert p["place"].tolist()[:2] == [None, None] and p["place"].iloc[2] == "peckham"
    r = geocode(pd.DataFrame({"q": ["CHURCH STREET", "ABBEY ROAD"]}), gaz, columns="q")
    assert (r["match_level"] != "street").all()
    assert (r["reason"] == "ambiguous_street").all()


def test_a_street_in_the_places_core_beats_a_namesake_a_mile_off(gaz):
    """Teddington's High Street (TW11) and Hampton Wick's (KT1, in Teddington's border tolerance)
    lie 1.5 km apart: two roads, and the place's own is meant (it was left ambiguous)."""
    r = geocode(pd.DataFrame({"q": ["High Street, Teddington", "161 HIGH STREET, TEDDINGTON"]}), gaz, columns="q")
    assert (r["match_level"] == "street").all()
    assert r["matched_address"].str.endswith("tw11").all()


def test_a_post_towns_own_locality_holds_its_street_in_a_postal_address(gaz):
    """Royal Mail adds a dependent locality whenever a post town holds two streets of one name, so
    "19 Victoria Road, Surbiton" is Surbiton's own Victoria Road (KT6), "18 College Road, Harrow,
    Middlesex" Harrow's (HA1) and "11 Station Road, Orpington, Kent" Orpington's (BR6), not another
    of the post town's (they were ambiguous); police text that names the borough ("College Road,
    Harrow", no number, no county) keeps every College Road of the borough."""
    q = ["19 Victoria Road, Surbiton", "18 College Road, Harrow, Middlesex", "11 STATION ROAD, ORPINGTON, KENT",
         "College Road, Harrow"]
    r = geocode(pd.DataFrame({"q": q}), gaz, columns="q")
    assert r["match_level"].tolist()[:3] == ["street"] * 3
    assert [a.rsplit(" ", 1)[-1] for a in r["matched_address"].iloc[:3]] == ["kt6", "ha1", "br6"]
    assert r["match_level"].iloc[3] != "street" and r["reason"].iloc[3] == "ambiguous_street"


@pytest.fixture(scope="module")
def fsa_gaz(shared_data):
    """FSA premises (16 boroughs) + the street layer + Code-Point."""
    from geocrime.gazetteer import Gazetteer, read_codepoint, read_fhrs
    from geocrime.geocoding.evalsets import _ppd_streets

    cp = read_codepoint(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    fhrs = read_fhrs(shared_data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")
    return Gazetteer.from_sources([fhrs, _ppd_streets(cp), cp])


def test_a_postcode_and_a_place_agreeing_beat_a_premises_numbered_alike(shared_data, fsa_gaz):
    """"5 High Street, Barnes, SW13 9LB" (a real GOV.UK list address): the premises source holds a
    5 High Street in Hampton Wick, 8 km away (no postcode published); the written unit lies on
    Barnes High Street and Barnes is not Hampton Wick, so the postcode wins. "London" is no such
    witness (every premises of the city is in it)."""
    out = geocode(["5 High Street, Barnes, SW13 9LB", "5 High Street, Hampton Wick"], fsa_gaz)
    truth = _gds_row(shared_data, "5 High Street, Barnes")
    assert out["match_level"].iloc[0] == "postcode_unit", out[["match_level", "reason", "matched_address"]]
    assert np.hypot(out["x"].iloc[0] - truth["truth_x"], out["y"].iloc[0] - truth["truth_y"]) < 1.0
    assert out["match_level"].iloc[1] == "premises"  # the Hampton Wick premises itself is still found


def test_a_record_naming_another_business_is_not_that_premises(shared_data, fsa_gaz):
    """"RUISLIP HONDA, VICTORIA ROAD, RUISLIP, HA4 0LJ" (a real GOV.UK MOT list address) is not the
    Victoria Road Service Station 850 m away: a building name that differs supports nothing, and
    with no number, flat or postcode unit in common the row falls to its postcode unit."""
    out = geocode(["RUISLIP HONDA, VICTORIA ROAD, RUISLIP, HA4 0LJ", "Victoria Road Service Station, Victoria Road, Ruislip"],
                  fsa_gaz)
    truth = _gds_row(shared_data, "RUISLIP HONDA, VICTORIA ROAD, RUISLIP")
    assert out["match_level"].iloc[0] == "postcode_unit", out[["match_level", "reason", "matched_address"]]
    assert np.hypot(out["x"].iloc[0] - truth["truth_x"], out["y"].iloc[0] - truth["truth_y"]) < 1.0
    assert out["match_level"].iloc[1] == "premises"


def test_miss_causes_say_where_each_unrecalled_row_went(gaz):
    """Each row not recalled gets one cause: a street no source holds, a street the text leaves
    ambiguous, a long street placed right but far from the record's part of it, or confident and
    wrong; a recalled row gets none, and the per-style counts add up to the rows not recalled."""
    from geocrime.geocoding.evalsets import MISS_CAUSES, miss_causes, street_reachable

    t = gaz.table
    t = t[t["level"] == "street"]
    t = t[~t["k_street"].duplicated(keep=False)]  # streets of one name
    long = t[t["radius"] > 1500].iloc[0]
    pts = gaz.street_points(np.array([long.name]))
    far = pts.loc[np.hypot(pts["x"] - long["x"], pts["y"] - long["y"]).idxmax()]
    assert np.hypot(far["x"] - long["x"], far["y"] - long["y"]) > 600  # the case exists
    short = t[t["radius"] < 100].iloc[0]
    church = gaz.table[(gaz.table["level"] == "street") & (gaz.table["k_street"] == "church street")].iloc[0]
    q = pd.DataFrame({
        "query": [short["street"], "Zzyzx Nonesuch Road", "CHURCH STREET",
                  long["street"], short["street"]],
        "truth_x": [short["x"], 530000.0, church["x"], far["x"], short["x"] + 15_000],
        "truth_y": [short["y"], 180000.0, church["y"], far["y"], short["y"]],
        "style": ["a"] * 5})
    res = geocode(q[["query"]], gaz, columns="query")
    assert res["match_level"].tolist()[0] == "street" and res["match_level"].iloc[3] == "street"
    reach = street_reachable(q, gaz, 300.0)
    cause = miss_causes(res, q, 300.0, reach=reach)
    assert reach.tolist() == [True, False, True, True, False]
    assert cause.tolist() == ["", "street_not_held", "ambiguous_street", "long_street", "wrong"]
    rep = score_located(res, q, 300.0, reach=reach)["a"]
    assert set(rep["misses"]) == set(MISS_CAUSES)
    assert sum(rep["misses"].values()) == round(5 * (1 - rep["recall"]))


def test_a_road_number_is_a_street(shared_data, gaz):
    """police.uk writes "On or near B507" for a road known by its number: the street layer keeps
    it, and "B507, Camden" / "B507, Westminster" land on the borough's own stretch of it (they were
    dropped as 'only a number' and placed at the borough). A unit code is still no street."""
    from geocrime.gazetteer.keys import street_keys

    pol = pd.read_csv(shared_data / "policeuk_met_burglary_street" / "2024-01-metropolitan-street.csv")
    pol = pol[pol["Location"] == "On or near B507"]
    from geocrime._geo import lonlat_to_bng

    x, y = lonlat_to_bng(pol["Longitude"].to_numpy(float), pol["Latitude"].to_numpy(float))
    borough = pol["LSOA name"].str.rsplit(" ", n=1).str[0].to_numpy()
    assert {"Camden", "Westminster"} <= set(borough)
    assert (gaz.table.loc[gaz.table["level"] == "street", "k_street"] == "b507").sum() >= 2
    out = geocode(pd.DataFrame({"q": ["B507, Camden", "B507, Westminster"]}), gaz, columns="q")
    assert (out["match_level"] == "street").all(), out[["match_level", "reason"]]
    for i, b in enumerate(["Camden", "Westminster"]):
        d = np.hypot(x[borough == b] - out["x"].iloc[i], y[borough == b] - out["y"].iloc[i]).min()
        assert d <= max(300.0, out["uncertainty_m"].iloc[i]), (b, d)
    assert street_keys(pd.Series(["B507", "M25", "A2", "B2", "12", "X9"])).tolist() == ["b507", "m25", "a2", "b2", "", ""]
    # a road runs for kilometres and the sources hold a few points of it: a street point on a road
    # number declares at least ROAD_NUMBER_MIN_M, and a bare road number gives no street point
    from geocrime.geocoding.params import ROAD_NUMBER_MIN_M

    assert (out["uncertainty_m"] >= ROAD_NUMBER_MIN_M).all()
    bare = geocode(pd.DataFrame({"q": ["B550", "o/s B550"]}), gaz, columns="q")  # one stretch held
    assert (bare["match_level"] != "street").all() and (bare["reason"] == "ambiguous_street").all()


def test_a_long_street_is_not_made_vague_by_a_short_row_linked_at_its_end(gaz):
    """The A1000 High Road is one N12 row 3.4 km long (North Finchley to Whetstone); a 200 m N11
    High Road is linked to it (their areas touch). From the row nearest the two rows' mean the
    street's extent was 5.9 km, too vague for a point, so "High Road, Whetstone" went to the
    borough; the street's point is the row whose farthest reach is least, and Whetstone's own
    district (N20) then says where along it."""
    from geocrime.geocoding.ladder import _street_table

    st = _street_table(gaz)
    hr = st[(st["key"] == "high road") & st["district"].isin(["N11", "N12"])]
    assert set(hr["district"]) == {"N11", "N12"} and hr["comp"].nunique() == 1  # the case exists
    long_row = hr.loc[hr["radius"].idxmax()]
    out = geocode(pd.DataFrame({"q": ["High Road, Whetstone", "1292 High Road, Whetstone, London"]}), gaz, columns="q")
    assert (out["match_level"] == "street").all(), out[["match_level", "reason"]]
    # ... and the declared extent still covers the whole street, the N11 row's far edge included
    far = np.hypot(hr["x"].to_numpy()[:, None] - out["x"].to_numpy(), hr["y"].to_numpy()[:, None] - out["y"].to_numpy())
    assert (out["uncertainty_m"].to_numpy() >= (far + hr["radius"].to_numpy()[:, None]).max(axis=0)).all()
    # the point lies on the long row's part in N20 (Whetstone), not at North Finchley's centre
    pts = gaz.street_points(np.array([int(long_row["row"])]))
    n20 = pts[pts["postcode"].str.startswith("N20 ")]
    assert len(n20) and np.hypot(n20["x"] - out["x"].iloc[0], n20["y"] - out["y"].iloc[0]).min() < 1.0


def test_a_house_number_anchors_only_on_premises_of_the_same_street(shared_data):
    """A numbered premises of another street of the same name, inside a long street's extent, is
    not where that street's number lies: with the street found, only its own premises anchor."""
    from _geocode_data import build as build_small

    from geocrime.geocoding.ladder import _numbered_premises, _street_table, number_on_street

    g = build_small(str(shared_data))[0]
    st = _street_table(g)
    prem = _numbered_premises(g)
    prem = prem[prem["comp"] >= 0]
    many = st.groupby("key")["comp"].nunique()
    cand = prem[prem["key"].isin(many[many >= 2].index)].iloc[0]  # a name held as several streets
    own = st[(st["key"] == cand["key"]) & (st["comp"] == cand["comp"])]["row"].iloc[0]
    other = st[(st["key"] == cand["key"]) & (st["comp"] != cand["comp"])]["row"].iloc[0]
    moved = []
    for row in (own, other):
        x, y, unc = np.array([cand["px"] + 40.0]), np.array([cand["py"]]), np.array([500.0])
        moved.append(number_on_street(np.array([cand["key"]], dtype=object), np.array([cand["num"]]), x, y, unc,
                                      np.array([True]), g, row=np.array([row]))[0])
    assert moved[0] >= 0 and moved[1] == -1


def test_a_locality_written_where_the_street_goes_is_the_locality(gaz):
    """"Custom House, Newham", "Peckham, Southwark": no street has that name, and the name is a
    locality of the named borough, so the row is placed at the locality (its point and radius),
    not at the borough's centroid; a locality of another borough ("Peckham, Camden") is not taken."""
    from geocrime.address.places import default_places

    q = ["Custom House, Newham", "Peckham, Southwark", "Peckham, Camden"]
    out = geocode(pd.DataFrame({"q": q}), gaz, columns="q")
    assert out["match_level"].tolist() == ["locality", "locality", "borough"], out[["match_level", "reason"]]
    lex = default_places().find(pd.Series(["Custom House", "Peckham"]))
    assert np.allclose(out[["x", "y"]].to_numpy()[:2], lex[["place_x", "place_y"]].to_numpy(float))
    assert np.allclose(out["uncertainty_m"].to_numpy()[:2], lex["place_radius_m"].to_numpy(float))
    assert out["ward_code"].isna().all()  # a locality's centroid says nothing about the ward


def test_a_parade_named_off_a_road_is_on_that_road(gaz):
    """"9 Queens Parade, Brownlow Road, Bounds Green": the Queens Parade the street layer holds is
    another N11 parade 2.5 km away; a parade, court or place written before the road it is named
    off is taken as on that road when the one held lies apart from it (the record's number is the
    parade's, not the road's, so it anchors nothing)."""
    t = gaz.table[gaz.table["level"] == "street"]
    qp, br = t[t["k_street"] == "queens parade"], t[t["k_street"] == "brownlow road"]
    assert len(qp) and len(br)  # the case exists
    q = ["9 Queens Parade, Brownlow Road, Bounds Green, London", "11 Station Parade, Dorchester Road, Northolt, Middlesex"]
    out = geocode(pd.DataFrame({"q": q}), gaz, columns="q")
    assert (out["match_level"] == "street").all(), out[["match_level", "reason"]]
    assert out["matched_address"].str.startswith(("brownlow road", "dorchester road")).all(), out["matched_address"]
    # the point is on the road, kilometres from the parade the layer holds under that name
    d = np.hypot(qp["x"].to_numpy()[:, None] - out["x"].to_numpy()[0], qp["y"].to_numpy()[:, None] - out["y"].to_numpy()[0])
    assert d.min() > 1000
