"""Evaluation metrics and the seeded query generator, on real FHRS premises."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _geocode_data import build
from geocrime.address import postcode as pcmod
from geocrime.errors import MissingColumnsError
from geocrime.geocoding import evaluate
from geocrime.geocoding import geocode
from geocrime.geocoding.querygen import make_queries, truth_ids


@pytest.fixture(scope="module")
def small(shared_data):
    return build(str(shared_data))


def test_metrics_by_hand():
    res = pd.DataFrame({
        "match_level": ["premises", "premises", "premises", "street", "none"],
        "gazetteer_id": [1, 2, 9, 50, -1],
        "candidate_id": [1, 2, 9, 3, -1],
        "score": [20.0, 12.0, 9.5, 8.0, np.nan],
        "margin": [10.0, 5.0, 4.0, 1.0, np.nan],
        "x": [0.0, 10.0, 300.0, 40.0, np.nan],
        "y": [0.0, 0.0, 400.0, 30.0, np.nan],
        "ambiguous": [False, False, False, True, False],
        "truth_id": [1, 2, 3, 4, 5],
        "truth_x": [0.0, 0.0, 0.0, 0.0, 0.0],
        "truth_y": [0.0, 0.0, 0.0, 0.0, 0.0],
    })
    rep = evaluate(res, thresholds=(9, 10, 15))
    assert rep["premises"]["matched"] == 3 and rep["premises"]["correct"] == 2
    assert rep["premises"]["precision"] == pytest.approx(2 / 3)
    assert rep["premises"]["recall"] == pytest.approx(2 / 5)
    assert rep["premises"]["error_m_median"] == pytest.approx(10.0)  # errors 0, 10, 500
    assert rep["by_level"]["street"]["error_m_median"] == pytest.approx(50.0)
    assert rep["ambiguous_rows"] == 1
    th = {r["threshold"]: r for r in rep["thresholds"]}
    assert th[9]["matched"] == 3 and th[10]["matched"] == 2 and th[10]["precision"] == 1.0
    assert th[15]["recall"] == pytest.approx(1 / 5)
    with pytest.raises(MissingColumnsError):
        evaluate(res.drop(columns="truth_x"))


def test_query_generator_is_seeded_and_messy(small):
    gaz, fhrs, *_ = small
    a = make_queries(fhrs, gaz, n=800, seed=7)
    b = make_queries(fhrs, gaz, n=800, seed=7)
    c = make_queries(fhrs, gaz, n=800, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["query"].equals(c["query"])
    assert (a["truth_id"] >= 0).all()
    edits = pd.Series(",".join(a["edits"]).split(",")).value_counts()
    for e in ("typo", "abbrev", "no_postcode", "wrong_postcode", "police_phrase", "no_town"):
        assert edits.get(e, 0) > 10, e
    # truth ids point at the premises the query came from
    t = gaz.table.set_index("id")
    assert (t.loc[a["truth_id"], "level"] == "premises").all()
    d = make_queries(fhrs, gaz, n=500, seed=1, postcode="drop")
    assert pcmod.extract_many(d["query"])["postcode_kind"].ne("unit").all()
    # a text flagged as naming no premises was drawn from a record without flat, building or number,
    # and kept neither its business name nor its postcode: only the street and place words are left
    bare = a[~a["names_premises"]]
    assert 0 < len(bare) < 0.1 * len(a)
    src = fhrs.drop_duplicates("source_id").set_index("source_id").loc[bare["source_id"]]
    assert (src[["sub_building", "building_name", "house_number"]].fillna("").astype(str) == "").all().all()
    kept_pc = pcmod.extract_many(bare["query"])["postcode"].fillna("").str.replace(" ", "").str.upper()
    own_pc = src["postcode"].fillna("").str.replace(" ", "").str.upper().to_numpy()
    assert not ((kept_pc.to_numpy() == own_pc) & (own_pc != "")).any()
    assert not bare["edits"].str.contains("business_name").any()


def test_truth_ids_cover_kept_premises(small):
    gaz, fhrs, *_ = small
    ids = truth_ids(fhrs, gaz)
    assert (ids >= 0).mean() > 0.97  # the rest were dropped as misplaced or not addresses
    prem = gaz.table[gaz.table["level"] == "premises"]
    assert set(ids[ids >= 0]) == set(prem["id"])


def test_seeded_evaluation_floor(small):
    gaz, fhrs, _, bounds, _ = small
    q = make_queries(fhrs, gaz, n=1500, seed=11)
    res = geocode(q, gaz, columns="query", boundaries=bounds)
    rep = evaluate(res, boundaries=bounds)
    assert rep["rows"] == 1500
    assert rep["premises"]["precision"] >= 0.99
    assert rep["premises"]["recall"] >= 0.8
    assert rep["right_ward"]["share_of_coded"] >= 0.97
    assert rep["right_ward"]["share_of_premises"] >= 0.995
    assert rep["premises"]["error_m_median"] < 1.0
    # higher thresholds trade recall for precision
    th = rep["thresholds"]
    assert all(th[i]["recall"] >= th[i + 1]["recall"] for i in range(len(th) - 1))
