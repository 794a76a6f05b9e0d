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
    located record; aggregate counts per ward and month; Getis-Ord Gi* on LSOA counts; an internal
    map; the publish gate, public tiles and public page; a disclosure report; screenshots.
    """
    from . import registry
    from .analysis import aggregate, getis_ord
    from .areas import Boundaries, agreement, assign_areas
    from .gazetteer import Gazetteer, read_codepoint, read_fhrs, streets_from_police_uk
    from .geocoding import geocode
    from .io import read_police_uk
    from .maps import internal_map
    from .publish import build_map_points, gate, write_disclosure_report, write_public_page, write_tiles
    from .geocoding.querygen import make_queries

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = _Steps()
    summary: dict[str, Any] = {"output_dir": str(out.resolve())}

    # 1. data ------------------------------------------------------------------------------------
    paths = step("fetch data (local mirror first, SHA-256 verified)", lambda: {
        n: registry.fetch(n) for n in (*BOUNDARY_LAYERS, MET_BURGLARY, CITY_OF_LONDON, FHRS, CODEPOINT, LOOKUPS)
    })
    boundaries = step("load boundaries (CRS check, repair, index)",
                      lambda: Boundaries.from_registry(list(BOUNDARY_LAYERS)))

    met = step("read police.uk Met burglary months", lambda: read_police_uk(paths[MET_BURGLARY]))
    city = step("read police.uk City of London months", lambda: read_police_uk(paths[CITY_OF_LONDON]))
    incidents = pd.concat([met, city], ignore_index=True)
    incidents = incidents.set_geometry("geometry")
    summary["police_uk"] = {"rows": int(len(incidents)), "status": _status_counts(incidents["status"])}

    # 2. gazetteer and geocoding ----------------------------------------------------------------
    def build_gazetteer() -> Gazetteer:
        fhrs = read_fhrs(paths[FHRS])
        cp = read_codepoint(paths[CODEPOINT])
        streets = streets_from_police_uk(sorted(Path(paths[MET_BURGLARY]).glob("*.csv")), cp)
        return Gazetteer.from_sources([fhrs, streets, cp])

    gaz = step("build gazetteer (FSA premises + Code-Point Open + police.uk streets)", build_gazetteer)
    gaz.save(out / "gazetteer")
    summary["gazetteer"] = {"rows": int(len(gaz.table)), "build_seconds": round(float(getattr(gaz, "build_seconds", 0.0)), 2),
                            "by_level": _status_counts(gaz.table["level"])}

    def messy_records() -> pd.DataFrame:
        fhrs = read_fhrs(paths[FHRS])
        q = make_queries(fhrs, gaz, n=n_records, seed=seed)
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

    (records, queries) = step(f"make {n_records} messy incident records from real premises (seeded)", messy_records)
    records.to_csv(out / "messy_records.csv", index=False)
    geo = step("geocode messy records", lambda: geocode(records, gaz, columns="location_text", boundaries=boundaries))
    assert len(geo) == len(records)
    summary["geocode"] = {"rows_in": int(len(records)), "rows_out": int(len(geo)),
                          "match_level": _status_counts(geo["match_level"])}
    truth_ok = queries.reset_index(drop=True)
    gsub = geo.iloc[: len(truth_ok)]
    if "true_id" in truth_ok.columns and "gazetteer_id" in gsub.columns:
        prem = gsub["match_level"].astype(str).eq("premises").to_numpy()
        right = prem & (gsub["gazetteer_id"].to_numpy() == truth_ok["true_id"].to_numpy())
        summary["geocode"]["premises_precision"] = round(float(right.sum() / max(prem.sum(), 1)), 4)
        summary["geocode"]["premises_recall"] = round(float(right.sum() / len(truth_ok)), 4)

    # 3. areas ------------------------------------------------------------------------------------
    areas = step("assign wards 2022/2024, LSOA 2021, borough to police.uk records",
                 lambda: assign_areas(incidents, boundaries, list(BOUNDARY_LAYERS)))
    assert len(areas) == len(incidents)
    summary["areas"] = {"rows_in": int(len(incidents)), "rows_out": int(len(areas)),
                        "area_status": _status_counts(areas["area_status"])}
    met_areas = areas.iloc[: len(met)]
    q1 = agreement(met_areas, "ward_2024", "LSOA code", lookup=Path(paths[LOOKUPS]) / "LSOA21_to_WD24_LAD24_london.csv",
                   lookup_from="LSOA21CD", lookup_to="WD24CD")
    q2 = agreement(met_areas, "lsoa_2021", "LSOA code")
    summary["data_quality"] = {"ward_2024_pip_vs_lsoa_lookup": q1, "lsoa_2021_pip_vs_police_uk": q2}
    geo_areas = geo[geo["match_level"].astype(str) != "none"]
    geo_areas = assign_areas(geo_areas[["incident_ref", "month", "crime_type", "match_level", "geometry"]],
                             boundaries, list(BOUNDARY_LAYERS))
    geo_out = geo.join(geo_areas[list(BOUNDARY_LAYERS) + ["area_status"]], how="left")
    geo_out.to_parquet(out / "geocoded_records.parquet")
    pd.DataFrame(geo_out.drop(columns="geometry")).to_csv(out / "geocoded_records.csv", index=False)

    # 4. analysis ----------------------------------------------------------------------------------
    located = areas[areas["status"].astype(str) == "ok"].copy()
    counts = step("aggregate: counts per ward 2024 x month x crime type (zeros kept)",
                  lambda: aggregate(located, by=["ward_2024", "month", "crime_type"], areas=boundaries))
    counts.to_csv(out / "ward2024_month_counts.csv", index=False)
    lsoa_counts = aggregate(located[located["Crime type"].astype(str) == "Burglary"], by=["lsoa_2021"], areas=boundaries)
    lsoa_layer = boundaries.layer("lsoa_2021")
    gi = step("Getis-Ord Gi* on LSOA burglary density per km2 (999 permutations, FDR)",
              lambda: getis_ord(lsoa_counts.set_index("lsoa_2021")["count"], lsoa_layer, id_col="code",
                                denominator=lsoa_layer.area.to_numpy() / 1e6, seed=seed))
    summary["analysis"] = {"ward_month_rows": int(len(counts)), "incidents_counted": int(counts["count"].sum()),
                           "gi_star_classes": _status_counts(pd.Series(gi.classes))}

    # 5. maps ----------------------------------------------------------------------------------------
    def make_internal_map() -> Path:
        ward_counts = counts.groupby("ward_2024")["count"].sum()
        m = internal_map(located[located["Falls within"].astype(str).str.contains("City of London")],
                         areas=boundaries.layer("ward_2024"), values=ward_counts,
                         popup_fields=["Month", "Crime type", "Location", "Last outcome category", "ward_2024"],
                         max_points=5000, title="geocrime internal map: City of London incidents, ward counts")
        p = out / "internal_map.html"
        m.save(str(p))
        return p

    internal = step("internal analyst map (offline HTML)", make_internal_map)

    def public() -> dict[str, Any]:
        # map-point catchments count FSA premises and Code-Point postcode units (each unit counted as
        # ONE address, a conservative lower bound): premises alone cover only 16 boroughs, and an
        # incident in a borough with no map point cannot be published at all
        addresses = gaz.table[gaz.table["level"].astype(str).isin(["premises", "postcode_unit"])]
        import geopandas as gpd

        addr = gpd.GeoDataFrame(addresses, geometry=gpd.points_from_xy(addresses["x"], addresses["y"]), crs="EPSG:27700")
        mp = build_map_points(addr, boundaries.layer("borough"), k=8, id_col="id")
        # publish the months both sources cover (Met burglary 2024-01..06): a public month with
        # only the City's data would show empty wards across London
        both = set(met["Month"].dropna().astype(str)) & set(city["Month"].dropna().astype(str))
        g = gate(incidents[incidents["Month"].astype(str).isin(both)], mp, boundaries)
        pub = out / "public"
        if pub.exists():
            shutil.rmtree(pub)
        tiles = write_tiles(g, pub / "tiles")
        page = write_public_page(g, pub, tiles=tiles)
        rep = write_disclosure_report(g.report, out / "disclosure_report")
        return {"page": page, "tiles": tiles, "report": rep, "gated": g}

    pubres = step("publish gate, public tiles and public page", public)
    summary["public"] = {"page": str(pubres["page"]), "tiles": str(getattr(pubres["tiles"], "path", pubres["tiles"])),
                         "disclosure_report": [str(p) for p in pubres["report"]],
                         "published_points": int(len(pubres["gated"].points))}

    # 6. screenshots ----------------------------------------------------------------------------------
    if screenshots:
        summary["screenshots"] = step("screenshots in headless Chromium", lambda: _screenshots(out, internal, pubres["page"]))

    summary["seconds"] = step.seconds
    summary["outputs"] = sorted(str(p.relative_to(out)) for p in out.iterdir())
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _screenshots(out: Path, internal: Path, page: Path) -> dict[str, str]:
    """PNG screenshots of the two maps via headless Chromium, served from 127.0.0.1."""
    from .publish.page import render_in_chromium

    shots = {}
    for name, html in (("internal_map", internal), ("public_page", page)):
        png = out / f"{name}.png"
        try:
            run = render_in_chromium(html.parent, html.name, screenshot=png, window=(1400, 900))
            shots[name] = str(png) if run.screenshot else f"not taken (chromium exit {run.returncode})"
        except Exception as exc:  # a missing browser must not lose the demo's data outputs
            shots[name] = f"not taken: {exc}"
    return shots
