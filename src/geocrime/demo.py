"""The end-to-end demo on real London open data (``geocrime demo`` / ``scripts/demo.sh``).

Messy records in; geocoded and aggregated data, an internal analyst map, a public map page with
tiles, and a disclosure report out, all in one directory. Every stage is the library's own public
function: the demo is also the smallest complete example of using geocrime.

Data comes from the registry (:mod:`geocrime.registry`): the local mirror (``GEOCRIME_DATA_DIR``,
default ``../shared/data``) first, the official source second, SHA-256 checked either way.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

#: Registry names the demo uses.
BOUNDARY_LAYERS = ("ward_2022", "ward_2024", "lsoa_2021", "borough")
MET_BURGLARY = "policeuk_met_burglary"
CITY_OF_LONDON = "policeuk_city_of_london"
FHRS = "fhrs_london"
CODEPOINT = "codepoint_open_london"
LOOKUPS = "lookups_london"


class _Steps:
    """Runs named steps, timing each, and prints one progress line per step to stderr."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        print(f"[demo] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        out = fn()
        self.seconds[name] = round(time.perf_counter() - t0, 2)
        print(f"[demo] {name}: {self.seconds[name]} s", file=sys.stderr, flush=True)
        return out


def _status_counts(s: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in s.astype("str").value_counts(dropna=False).items()}


def run_demo(out_dir: str | Path = "demo-output", *, n_records: int = 5000, screenshots: bool = True,
             seed: int = 0) -> dict[str, Any]:
    """Run the demo and return its summary (also written to ``<out_dir>/summary.json``).

    Steps: fetch data through the registry; read police.uk months (Met burglary 2024-01..06, City of
    London all crime 2022-04..2025-05); build a gazetteer (FSA premises, Code-Point Open postcode
    units, streets from police.uk); make ``n_records`` messy free-text incident records from real
    premises (seeded) and geocode them; assign wards 2022 and 2024, LSOA 2021 and borough to every
    located record; aggregate counts per ward, month and crime type with each source's coverage
    (Met wards have no data for the types only the City records); Getis-Ord Gi* on LSOA burglary;
    an internal map; the publish gate, public tiles and public page; a disclosure report;
    screenshots of both maps in headless Chromium.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = _Steps()
    summary: dict[str, Any] = {"output_dir": str(out.resolve())}
    d = _load_data(step, summary)
    gaz = _gazetteer_step(step, d, out, summary)
    _geocode_step(step, d, gaz, out, n_records, seed, summary)
    located = _areas_step(step, d, summary)
    counts = _analysis_step(step, d, located, out, seed, summary)
    internal = step("internal analyst map (HTML; basemap + offline reference layer)",
                    lambda: _internal_map(d, located, counts, out))
    pub = step("publish gate, public tiles and public page", lambda: _public(d, gaz, counts, out))
    summary["public"] = {"page": str(pub["page"]), "tiles": str(getattr(pub["tiles"], "path", pub["tiles"])),
                         "disclosure_report": [str(p) for p in pub["report"]],
                         "published_points": int(len(pub["gated"].points))}
    if screenshots:
        summary["screenshots"] = step("screenshots in headless Chromium", lambda: _screenshots(out, internal, pub["page"]))
    summary["seconds"] = step.seconds
    summary["outputs"] = sorted(str(p.relative_to(out)) for p in out.iterdir())
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


class _Data(dict):
    """What the steps share: registry paths, boundaries, the police.uk extracts."""

    __getattr__ = dict.__getitem__


def _load_data(step: _Steps, summary: dict[str, Any]) -> _Data:
    """Fetch every source (local mirror first, SHA-256 verified), load boundaries, read police.uk."""
    from . import registry
    from .areas import Boundaries
    from .io import read_police_uk

    paths = step("fetch data (local mirror first, SHA-256 verified)", lambda: {
        n: registry.fetch(n) for n in (*BOUNDARY_LAYERS, MET_BURGLARY, CITY_OF_LONDON, FHRS, CODEPOINT, LOOKUPS,
                                       *GAZETTEER_EXTRA_SOURCES)
    })
    boundaries = step("load boundaries (CRS check, repair, index)",
                      lambda: Boundaries.from_registry(list(BOUNDARY_LAYERS)))
    met = step("read police.uk Met burglary months", lambda: read_police_uk(paths[MET_BURGLARY]))
    city = step("read police.uk City of London months", lambda: read_police_uk(paths[CITY_OF_LONDON]))
    incidents = pd.concat([met, city], ignore_index=True).set_geometry("geometry")
    summary["police_uk"] = {"rows": int(len(incidents)), "status": _status_counts(incidents["status"])}
    return _Data(paths=paths, boundaries=boundaries, met=met, city=city, incidents=incidents)


#: Registry sources of the demo gazetteer beside FSA premises, Code-Point Open units and police.uk
#: streets: the postcode -> street layer (development data: it never reaches a published output) and
#: the TfL stations as landmarks. Localities come from the packaged place lexicon.
STREETS = "streets_london_ppd"
LANDMARKS = "landmarks_london_stations"
GAZETTEER_EXTRA_SOURCES: tuple[str, ...] = (STREETS, LANDMARKS)


def _gazetteer_sources(d: _Data) -> list[Any]:
    """The gazetteer's input tables, one reader call per source."""
    from .gazetteer import (
        localities_from_places,
        read_codepoint,
        read_fhrs,
        read_landmarks,
        read_streets_ppd,
        streets_from_police_uk,
    )

    fhrs = read_fhrs(d.paths[FHRS])
    cp = read_codepoint(d.paths[CODEPOINT])
    streets = streets_from_police_uk(sorted(Path(d.paths[MET_BURGLARY]).glob("*.csv")), cp)
    street_layer = read_streets_ppd(d.paths[STREETS], cp)
    landmarks = read_landmarks(d.paths[LANDMARKS])
    return [fhrs, streets, street_layer, cp, landmarks, localities_from_places()]


def _gazetteer_step(step: _Steps, d: _Data, out: Path, summary: dict[str, Any]) -> Any:
    from .gazetteer import Gazetteer

    gaz = step("build gazetteer (FSA premises, police.uk and postcode streets, Code-Point Open, TfL stations, "
               "localities)", lambda: Gazetteer.from_sources(_gazetteer_sources(d), boundaries=d.boundaries))
    gaz.save(out / "gazetteer")
    summary["gazetteer"] = {"rows": int(len(gaz.table)),
                            "build_seconds": round(float(getattr(gaz, "build_seconds", 0.0)), 2),
                            "by_level": _status_counts(gaz.table["level"])}
    return gaz


def _messy_records(d: _Data, gaz: Any, n_records: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_records`` free-text incident records from real premises (seeded), plus junk rows."""
    from .gazetteer import read_fhrs
    from .geocoding.querygen import make_queries

    q = make_queries(read_fhrs(d.paths[FHRS]), gaz, n=n_records, seed=seed)
    rng = np.random.default_rng(seed)
    months = pd.period_range("2024-01", "2024-06", freq="M").astype(str)
    crime = np.array(["Burglary", "Shoplifting", "Criminal damage and arson", "Theft from the person",
                      "Violence and sexual offences", "Anti-social behaviour"])
    recs = pd.DataFrame({
        "incident_ref": [f"CAD-{seed:02d}-{i:06d}" for i in range(len(q))],
        "month": rng.choice(months, len(q)),
        "crime_type": rng.choice(crime, len(q)),
        "location_text": q["query"].to_numpy(),
    })
    # real-world junk that must come out flagged, never lost
    junk = pd.DataFrame({
        "incident_ref": ["CAD-JUNK-1", "CAD-JUNK-2", "CAD-JUNK-3", "CAD-JUNK-4"],
        "month": ["2024-03"] * 4,
        "crime_type": ["Burglary"] * 4,
        "location_text": ["NFA", "", "unknown", "<script>alert(1)</script> o/s 1 High St"],
    })
    return pd.concat([recs, junk], ignore_index=True), q


def _geocode_step(step: _Steps, d: _Data, gaz: Any, out: Path, n_records: int, seed: int,
                  summary: dict[str, Any]) -> None:
    """Geocode the messy records (rows in = rows out), score them against the truth, write them."""
    from .areas import assign_areas
    from .geocoding import geocode

    records, queries = step(f"make {n_records} messy incident records from real premises (seeded)",
                            lambda: _messy_records(d, gaz, n_records, seed))
    records.to_csv(out / "messy_records.csv", index=False)
    geo = step("geocode messy records",
               lambda: geocode(records, gaz, columns="location_text", boundaries=d.boundaries))
    assert len(geo) == len(records)
    summary["geocode"] = {"rows_in": int(len(records)), "rows_out": int(len(geo)),
                          "match_level": _status_counts(geo["match_level"])}
    truth = queries.reset_index(drop=True)
    gsub = geo.iloc[: len(truth)]
    if "true_id" in truth.columns and "gazetteer_id" in gsub.columns:
        prem = gsub["match_level"].astype(str).eq("premises").to_numpy()
        right = prem & (gsub["gazetteer_id"].to_numpy() == truth["true_id"].to_numpy())
        summary["geocode"]["premises_precision"] = round(float(right.sum() / max(prem.sum(), 1)), 4)
        summary["geocode"]["premises_recall"] = round(float(right.sum() / len(truth)), 4)
    geo_areas = geo[geo["match_level"].astype(str) != "none"]
    geo_areas = assign_areas(geo_areas[["incident_ref", "month", "crime_type", "match_level", "geometry"]],
                             d.boundaries, list(BOUNDARY_LAYERS))
    geo_out = geo.join(geo_areas[list(BOUNDARY_LAYERS) + ["area_status"]], how="left")
    geo_out.to_parquet(out / "geocoded_records.parquet")
    pd.DataFrame(geo_out.drop(columns="geometry")).to_csv(out / "geocoded_records.csv", index=False)


def _areas_step(step: _Steps, d: _Data, summary: dict[str, Any]) -> pd.DataFrame:
    """Area codes for every police.uk record, and the data-quality agreement figures."""
    from .areas import agreement, assign_areas

    areas = step("assign wards 2022/2024, LSOA 2021, borough to police.uk records",
                 lambda: assign_areas(d.incidents, d.boundaries, list(BOUNDARY_LAYERS)))
    assert len(areas) == len(d.incidents)
    summary["areas"] = {"rows_in": int(len(d.incidents)), "rows_out": int(len(areas)),
                        "area_status": _status_counts(areas["area_status"])}
    met_areas = areas.iloc[: len(d.met)]
    q1 = agreement(met_areas, "ward_2024", "LSOA code",
                   lookup=Path(d.paths[LOOKUPS]) / "LSOA21_to_WD24_LAD24_london.csv",
                   lookup_from="LSOA21CD", lookup_to="WD24CD")
    q2 = agreement(met_areas, "lsoa_2021", "LSOA code")
    summary["data_quality"] = {"ward_2024_pip_vs_lsoa_lookup": q1, "lsoa_2021_pip_vs_police_uk": q2}
    return areas[areas["status"].astype(str) == "ok"].copy()


def _analysis_step(step: _Steps, d: _Data, located: pd.DataFrame, out: Path, seed: int,
                   summary: dict[str, Any]) -> pd.DataFrame:
    """Counts per ward x month x crime type within each source's coverage; Gi* on LSOA burglary."""
    from .analysis import getis_ord
    from .analysis.aggregate import aggregate

    counts = step("aggregate: counts per ward 2024 x month x crime type (zeros only where a source covers)",
                  lambda: aggregate(located, by=["ward_2024", "month", "crime_type"], areas=d.boundaries))
    counts.to_csv(out / "ward2024_month_counts.csv", index=False)
    burglary = located[located["Crime type"].astype(str) == "Burglary"]
    lsoa_counts = aggregate(burglary, by=["lsoa_2021"], areas=d.boundaries)
    lsoa_layer = d.boundaries.layer("lsoa_2021")
    # both forces record burglary, so every LSOA is covered: a complete count for Gi*
    gi = step("Getis-Ord Gi* on LSOA burglary density per km2 (999 permutations, FDR)",
              lambda: getis_ord(lsoa_counts.set_index("lsoa_2021")["count"].astype("int64"), lsoa_layer,
                                id_col="code", denominator=lsoa_layer.area.to_numpy() / 1e6, seed=seed))
    summary["analysis"] = {"ward_month_rows": int(len(counts)), "rows_no_data": int((~counts["covered"]).sum()),
                           "incidents_counted": int(counts["count"].sum()),
                           "outside_coverage": int(counts.attrs.get("n_outside_coverage", 0)),
                           "coverage": counts.attrs.get("coverage"),
                           "gi_star_classes": _status_counts(pd.Series(gi.classes))}
    return counts


def _internal_map(d: _Data, located: pd.DataFrame, counts: pd.DataFrame, out: Path) -> Path:
    """Burglary per ward (Met + City, 2024-01..06) with the burglaries as clustered points."""
    from .analysis.aggregate import area_totals
    from .maps import internal_map

    months = sorted(set(d.met["Month"].dropna().astype(str)))
    burglary = located[(located["Crime type"].astype(str) == "Burglary") & located["Month"].astype(str).isin(months)]
    values = area_totals(counts, "ward_2024", where={"crime_type": "Burglary", "month": months})
    m = internal_map(burglary, areas=d.boundaries.layer("ward_2024"), values=values,
                     value_label=f"burglaries {months[0]}..{months[-1]}",
                     popup_fields=["Month", "Crime type", "Location", "Last outcome category", "ward_2024"],
                     max_points=5000, title="geocrime internal map: burglary per ward, Met + City of London")
    p = out / "internal_map.html"
    m.save(str(p))
    return p


def _public(d: _Data, gaz: Any, counts: pd.DataFrame, out: Path) -> dict[str, Any]:
    """Map points, the publish gate, tiles, the public page (with coverage) and the disclosure report."""
    import geopandas as gpd

    from .publish import Release, build_map_points, gate, write_disclosure_report, write_public_page, write_tables, write_tiles

    # map-point catchments count FSA premises and Code-Point postcode units (each unit counted as
    # ONE address, a conservative lower bound): premises alone cover only 16 boroughs, and an
    # incident in a borough with no map point cannot be published at all
    addresses = gaz.table[gaz.table["level"].astype(str).isin(["premises", "postcode_unit"])]
    addr = gpd.GeoDataFrame(addresses, geometry=gpd.points_from_xy(addresses["x"], addresses["y"]), crs="EPSG:27700")
    mp = build_map_points(addr, d.boundaries.layer("borough"), k=8, id_col="id")
    # publish the months both sources cover (Met burglary 2024-01..06): a public month with
    # only the City's data would show empty wards across London
    both = set(d.met["Month"].dropna().astype(str)) & set(d.city["Month"].dropna().astype(str))
    g = gate(d.incidents[d.incidents["Month"].astype(str).isin(both)], mp, d.boundaries,
             release=Release(tables=("borough", "ward_2024"), totals=True))  # ward + borough tables with totals
    pub = out / "public"
    if pub.exists():
        shutil.rmtree(pub)
    tiles = write_tiles(g, pub / "tiles")
    # cells no source covers (e.g. anti-social behaviour in Met wards) read "no data", not 0
    page = write_public_page(g, pub, tiles=tiles, coverage=counts)
    write_tables(g, pub / "tables")
    rep = write_disclosure_report(g.report, out / "disclosure_report")
    return {"page": page, "tiles": tiles, "report": rep, "gated": g}


def _screenshots(out: Path, internal: Path, page: Path) -> dict[str, str]:
    """PNG screenshots of the two maps via headless Chromium, served from 127.0.0.1."""
    from .publish.page import render_in_chromium

    shots = {}
    for name, html in (("internal_map", internal), ("public_page", page)):
        png = out / f"{name}.png"
        try:
            # a generous virtual-time budget: on a loaded machine the incident tiles can take a while
            run = render_in_chromium(html.parent, html.name, screenshot=png, window=(1400, 900), budget_ms=20_000)
            shots[name] = str(png) if run.screenshot else f"not taken (chromium exit {run.returncode})"
        except Exception as exc:  # a missing browser must not lose the demo's data outputs
            shots[name] = f"not taken: {exc}"
    return shots
