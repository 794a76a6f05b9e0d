"""The geocrime command (issue 18): generated reference, new commands (map, reverse, explain), any geocoded
file into the analysis commands, --plot, the one-line messages. Real data through the shared_data fixture."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

import _enrich_data as ed
from geocrime.cli import cli_message, main

ROOT = Path(__file__).resolve().parent.parent
BAD = Path(__file__).resolve().parent / "bad_inputs" / "files"


def _gen_cli():
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_docs_cli_md_is_generated_from_the_parser_and_current():
    gen = _gen_cli()
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert gen.BEGIN in text and gen.END in text
    assert gen.with_reference(text) == text, "docs/cli.md is out of date: run .venv/bin/python docs/gen_cli.py"
    for cmd in ("map", "reverse", "explain", "geocode", "enrich", "hotspots", "tiles", "aggregate"):
        assert f"### `geocrime {cmd}`" in text
    assert "--encoding" in text and "--month-column" in text


def test_messages_use_flags_not_python_arguments():
    assert cli_message("pass encoding='cp1252' (CLI: --encoding cp1252) if so") == "pass --encoding cp1252 if so"
    assert cli_message("swap them: x='Latitude' (CLI: --x Latitude) y='Longitude' (CLI: --y Longitude)") == \
        "swap them: --x Latitude --y Longitude"
    # messages the library writes for Python callers only
    from geocrime.analysis import getis_ord  # noqa: F401 - the warnings below come from geocrime.analysis
    msg = ("Gi*: with 704 areas, 99 permutations give a smallest p-value of 0.01, ...; use permutations >= 14080 "
           "for full resolution, or fdr=False to see raw p_sim")
    assert cli_message(msg).endswith("use --permutations 14080 for full resolution, or --no-fdr to see raw p_sim")
    assert "--columns NAME" in cli_message("no address column: pass columns='address' (or a list of columns)")


def _run(argv, capsys):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


@pytest.fixture(scope="module")
def gaz(shared_data):
    return ed.gazetteer_dir(shared_data)


def test_explain_shows_each_comparison_weight_and_the_decision(gaz, shared_data, capsys):
    fh = pd.read_csv(shared_data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv", dtype=str, nrows=2)
    r = fh.iloc[1]  # "212 Lounge, 212 High Road, Chadwell Heath RM6 6LS"
    text = f"{r['AddressLine2']}, {r['AddressLine4']} {r['PostCode']}"
    rc, out, err = _run(["explain", text, "-g", gaz, "--json"], capsys)
    assert rc == 0
    e = json.loads(out)
    best = e["candidates"][0]
    steps = best["comparisons"]
    assert {s["comparison"] for s in steps} >= {"HOUSE_NUMBER", "STREET", "POSTCODE"}
    # the waterfall adds up to the candidate's score
    assert sum(s["weight"] for s in steps) == pytest.approx(best["score"], abs=1e-3)
    assert next(s for s in steps if s["comparison"] == "POSTCODE")["level"] == "exact"
    assert e["decision"]["match_level"] == "premises" and e["decision"]["score"] >= e["threshold"]
    rc, out, _ = _run(["explain", text, "-g", gaz], capsys)
    assert rc == 0 and "decision: premises" in out and "POSTCODE" in out and "vs threshold" in out


def test_reverse_one_point_and_a_file(gaz, tmp_path, capsys):
    rc, out, _ = _run(["reverse", "--point", "0.141134", "51.572008", "-g", gaz, "--json"], capsys)
    assert rc == 0
    r = json.loads(out)
    assert r["reverse_status"] == "ok" and "212 high road" in r["address"] and r["address_distance_m"] < 30
    # the same point in grid metres: the CRS is guessed from the values
    from geocrime._geo import lonlat_to_bng

    e, n = lonlat_to_bng([0.141134], [51.572008])
    pts = pd.DataFrame({"easting": [f"{e[0]:.1f}", ""], "northing": [f"{n[0]:.1f}", ""], "id": ["a", "b"]})
    pts.to_csv(tmp_path / "p.csv", index=False)
    rc, out, err = _run(["reverse", tmp_path / "p.csv", "-g", gaz, "--out", tmp_path / "r.csv", "--json"], capsys)
    assert rc == 0 and "wrote" in err
    back = pd.read_csv(tmp_path / "r.csv", dtype=str)
    assert len(back) == 2 and back["reverse_status"].tolist() == ["ok", "no_location"]
    assert back.loc[0, "address"] == r["address"]


def test_map_from_police_uk_and_from_a_geocoded_file(city_files, tmp_path, capsys):
    rc, out, err = _run(["map", city_files[-1], "--layer", "ward_2024", "--out", tmp_path / "m.html", "--json",
                         "--basemap", "none"], capsys)
    assert rc == 0, err
    s = json.loads(out)
    assert s["layers"] == ["points", "counts per area"] and s["located"] > 100
    # City of London Police data on London's 704 wards: the wards of other boroughs are no data, not 0
    assert s["areas"] == 704 and 650 < s["areas_no_data"] < 704
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "leaflet" in html.lower() and len(html) > 50_000
    # a geocoded file (geocrime enrich layout: gc_lon/gc_lat, a date column, 'category')
    pu = pd.read_csv(city_files[-1], dtype=str).dropna(subset=["Longitude"]).head(300)
    geo = pd.DataFrame({"ref": pu["Crime ID"], "gc_lon": pu["Longitude"], "gc_lat": pu["Latitude"],
                        "offence_date": pu["Month"] + "-15", "category": pu["Crime type"]})
    geo.to_csv(tmp_path / "geo.csv", index=False)
    rc, out, err = _run(["map", tmp_path / "geo.csv", "--out", tmp_path / "g.html", "--heat", "--json",
                         "--basemap", "none"], capsys)
    assert rc == 0, err
    assert json.loads(out)["located"] == 300
    rc, out, err = _run(["aggregate", tmp_path / "geo.csv", "--layer", "ward_2024", "--by", "month", "crime_type",
                         "--json"], capsys)
    assert rc == 0, err
    assert json.loads(out)["total"] == 300


def test_aggregate_names_the_flag_when_no_month_column(tmp_path, capsys):
    pd.DataFrame({"lon": ["-0.09"], "lat": ["51.51"], "what": ["Burglary"]}).to_csv(tmp_path / "x.csv", index=False)
    rc, _, err = _run(["aggregate", tmp_path / "x.csv", "--layer", "ward_2024"], capsys)
    assert rc == 1 and "--month-column COLUMN" in err
    pd.DataFrame({"lon": ["-0.09"], "lat": ["51.51"], "when": ["03/02/2024"], "what": ["Burglary"]}).to_csv(
        tmp_path / "y.csv", index=False)
    rc, out, err = _run(["aggregate", tmp_path / "y.csv", "--layer", "ward_2024", "--month-column", "when",
                         "--type-column", "what", "--json"], capsys)
    assert rc == 0, err
    assert json.loads(out)["total"] == 1


def test_hotspots_plot_png_and_gpkg_out(city_files, tmp_path, capsys):
    rc, out, err = _run(["hotspots", *city_files[-2:], "--layer", "ward_2024", "--permutations", "99",
                         "--out", tmp_path / "h.gpkg", "--plot", tmp_path / "h.png", "--json"], capsys)
    assert rc == 0, err
    assert "wrote" in err and "(GeoPackage, " in err and "(PNG map)" in err
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import geopandas as gpd

    g = gpd.read_file(tmp_path / "h.gpkg")
    s = json.loads(out)
    assert {"code", "z", "p_sim", "class"} <= set(g.columns) and len(g) == s["areas"] == 704
    # only the wards the City's data covers are tested; the rest are written as "no data", never as cold spots
    assert (g["class"] == "no data").sum() == s["areas_no_data"] and s["areas_tested"] + s["areas_no_data"] == 704
    assert 20 <= s["areas_tested"] <= 40 and g.loc[g["class"] == "no data", "z"].isna().all()
    rc, _, err = _run(["hotspots", city_files[-1], "--layer", "ward_2024", "--plot", tmp_path / "h.html"], capsys)
    assert rc == 1 and "use a .png" in err
