"""The geocode / gazetteer / evaluate commands on real data (in process)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from _geocode_data import build
from geocrime.cli import main
from geocrime.geocoding.querygen import make_queries


@pytest.fixture(scope="module")
def small(shared_data):
    return build(str(shared_data))


def test_gazetteer_build_geocode_evaluate(small, shared_data, tmp_path, capsys):
    gaz, fhrs, fhrs_path, _, _ = small
    out_dir = tmp_path / "gz"
    rc = main(["gazetteer", "build", str(out_dir), "--fhrs", str(fhrs_path),
               "--codepoint", str(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz"),
               "--police-uk", str(shared_data / "policeuk_city_of_london_street" / "2022-0*-city-of-london-street.csv"),
               "--json"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert s["levels"]["premises"] == int((gaz.table["level"] == "premises").sum())
    assert s["levels"]["postcode_unit"] == 180_754 and s["build_seconds"] > 0

    q = make_queries(fhrs, gaz, n=300, seed=3)
    q.loc[5, "query"] = None
    q.loc[6, "query"] = "NFA"
    inp = tmp_path / "in.csv"
    q.to_csv(inp, index=False)
    res = tmp_path / "out.parquet"
    rc = main(["geocode", str(inp), str(res), "--gazetteer", str(out_dir), "--column", "query", "--areas", "--json"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert s["rows_in"] == s["rows_out"] == 300
    assert sum(s["match_levels"].values()) == 300 and s["match_levels"]["premises"] > 200
    out = pd.read_parquet(res)
    assert list(out["source_id"].astype(str)) == list(q["source_id"].astype(str))
    assert out.loc[5, "reason"] == "empty" and out.loc[6, "reason"].startswith("placeholder:")

    rc = main(["evaluate", "--results", str(res), "--json"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["rows"] == 300 and rep["premises"]["precision"] > 0.98
    assert rep["right_ward"]["share_of_coded"] > 0.95

    # errors are reported, not raised
    assert main(["geocode", str(tmp_path / "missing.csv"), str(res), "--gazetteer", str(out_dir)]) == 1
    assert main(["geocode", str(inp), str(res), "--gazetteer", str(tmp_path / "nogaz")]) == 1
    assert main(["geocode", str(inp), str(res), "--gazetteer", str(out_dir), "--column", "nope"]) == 1
    assert "the input (--column) is missing required column(s): 'nope'" in capsys.readouterr().err
    # no --column and no column with a default name: the message says which flag to pass
    assert main(["geocode", str(inp), str(res), "--gazetteer", str(out_dir)]) == 1
    err = capsys.readouterr().err
    assert "--column NAME" in err and "'query'" in err and "Traceback" not in err
