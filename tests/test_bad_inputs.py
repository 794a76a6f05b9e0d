"""The bad-input corpus: real-world failure cases, each with its expected outcome.

Cases live in ``tests/bad_inputs/cases.json`` (small text files they name are in
``tests/bad_inputs/files/``). Each case names a ``stage`` (the public entry point it goes through), an
``input`` and an ``expect``:

* ``{"error": "<geocrime error class>", "match": "<message fragment>"}``: the call raises that class
  (always a :class:`~geocrime.errors.GeocrimeError`) with the fragment in its message;
* otherwise a mapping of output names to expected values (``rows``, a status column as a list...).

Big or binary inputs (10 MB strings, UTF-16 and cp1252 bytes, shapefiles) are generated here at run time
in ``tmp_path`` from the manifest's description; only small text files are committed.

Every row-preserving stage is also checked for rows in = rows out, same index, and a status column
without nulls, whatever the case expects.
"""
from __future__ import annotations

import json
import math
import shutil
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import _enrich_data as ed
import geocrime.errors as gerr
from geocrime.errors import GeocrimeError

HERE = Path(__file__).resolve().parent / "bad_inputs"
FILES = HERE / "files"
MANIFEST = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = MANIFEST["cases"]

POLICE_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
                 "Crime type,Last outcome category,Context\n")

# The projection text of old GLA/ESRI shapefiles (same as tests/test_areas.py): EPSG:27700 with the
# scale factor rounded, which PROJ matches to EPSG:27700 only at confidence 25.
ESRI_BNG_PRJ = (
    'PROJCS["British_National_Grid",GEOGCS["GCS_OSGB_1936",DATUM["D_OSGB_1936",SPHEROID["Airy_1830",'
    '6377563.396,299.3249646]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",400000.0],PARAMETER["False_Northing",'
    '-100000.0],PARAMETER["Central_Meridian",-2.0],PARAMETER["Scale_Factor",0.999601272],'
    'PARAMETER["Latitude_Of_Origin",49.0],UNIT["Meter",1.0]]'
)


# ------------------------------------------------------------------------------------- decoding
def value(v: Any) -> Any:
    """A manifest value: JSON, plus ``{"$repeat": s, "times": n}``, ``{"$nan": true}``,
    ``{"$inf": -1}``, ``{"$bytes_hex": "..."}`` and ``{"$pd_na": true}``."""
    if isinstance(v, dict):
        if "$repeat" in v:
            return v["$repeat"] * int(v["times"])
        if "$nan" in v:
            return float("nan")
        if "$inf" in v:
            return math.copysign(math.inf, v["$inf"])
        if "$bytes_hex" in v:
            return bytes.fromhex(v["$bytes_hex"])
        if "$pd_na" in v:
            return pd.NA
        return {k: value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [value(x) for x in v]
    return v


def input_file(spec: dict[str, Any], tmp_path: Path) -> Path:
    """The case's input as a file: a committed one, or text encoded at run time."""
    if "file" in spec:
        return FILES / spec["file"]
    text = value(spec["text"])
    if spec.get("header") == "police_uk":
        text = POLICE_HEADER + text
    data = spec.get("prefix_hex", "")
    raw = bytes.fromhex(data) + text.encode(spec.get("encoding", "utf-8")) + bytes.fromhex(spec.get("append_hex", ""))
    p = tmp_path / spec.get("name", "input.csv")
    p.write_bytes(raw)
    return p


def plain(v: Any) -> Any:
    """Comparable form: NaN/NA/None -> None, numpy scalars -> Python."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return plain(v.item())
    return v


def columns_of(df: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": len(df)}
    for c in df.columns:
        if c != getattr(df, "_geometry_column_name", None):
            out[str(c)] = [plain(v) for v in df[c].to_numpy(dtype=object)]
    return out


def rows_kept(df_in_index: pd.Index, out: pd.DataFrame, status: str) -> None:
    assert len(out) == len(df_in_index)
    assert list(out.index) == list(df_in_index)
    assert out[status].notna().all(), out[status]


# ------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def data(shared_data: Path) -> Path:
    return shared_data


@lru_cache(maxsize=1)
def wards(data: Path):
    return ed.boundaries(data, with_lsoa=False)


def features_gdf(spec: dict[str, Any]) -> gpd.GeoDataFrame:
    feats = spec["features"]
    geoms = [shapely.from_wkt(f["wkt"]) if f.get("wkt") is not None else None for f in feats]
    cols = {k: [value(f.get(k)) for f in feats] for k in {k for f in feats for k in f if k != "wkt"}}
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=spec.get("crs"))


def boundary_source(spec: dict[str, Any], tmp_path: Path, data: Path | None) -> Any:
    if "real" in spec:  # a real shared-data file, copied to tmp_path with some sidecars removed
        src = data / spec["real"]
        for side in src.parent.glob(src.stem + ".*"):
            if side.suffix.lower() not in spec.get("drop", []):
                shutil.copy(side, tmp_path / side.name)
        return str(tmp_path / src.name)
    fmt = spec.get("write", "gdf")
    if fmt == "geojson_text":  # a file as downloaded, written verbatim
        p = tmp_path / "layer.geojson"
        p.write_text(spec["text"], encoding="utf-8")
        return str(p)
    gdf = features_gdf(spec)
    if fmt == "gdf":
        return gdf
    p = tmp_path / f"layer.{fmt}"
    gdf.to_file(p)
    if fmt == "shp":
        prj = p.with_suffix(".prj")
        how = spec.get("prj", "keep")
        if how == "drop":
            prj.unlink()
        elif how == "esri_bng":
            prj.write_text(ESRI_BNG_PRJ)
        elif how == "garbage":
            prj.write_text("this is not a projection")
    return str(p)


# ------------------------------------------------------------------------------------- stages
def st_police_uk(case, tmp_path, data):
    from geocrime.io import read_police_uk

    p = input_file(case["input"], tmp_path)
    out = read_police_uk(p)
    rows_kept(pd.RangeIndex(len(out)), out, "status")
    res = columns_of(out)
    res["report"] = out.attrs["report"]
    return res


def st_parse(case, tmp_path, data):
    from geocrime.address import parse_many

    vals = value(case["input"]["values"])
    s = pd.Series(vals, dtype=object)
    out = parse_many(s, backend="rules")
    rows_kept(s.index, out, "parse_status")
    return columns_of(out)


def st_parse_one(case, tmp_path, data):
    from geocrime.address import parse

    return parse(value(case["input"]["value"]), backend="rules").to_dict()


def st_postcode(case, tmp_path, data):
    from geocrime.address import postcode

    fn = getattr(postcode, case["input"]["function"])
    if "values" in case["input"]:  # the vectorised form: a Series in, a frame out
        s = pd.Series(value(case["input"]["values"]), dtype=object, index=case["input"].get("index"))
        out = fn(s)
        rows_kept(s.index, out, "remainder")
        return columns_of(out)
    r = fn(value(case["input"]["value"]))
    return {"value": list(r) if isinstance(r, tuple) else r}


def st_normalise(case, tmp_path, data):
    from geocrime.address import normalise

    return {"value": normalise(value(case["input"]["value"]))}


def st_boundary(case, tmp_path, data):
    from geocrime.areas import load_layer

    spec = case["input"]
    src = boundary_source(spec, tmp_path, data)
    lay = load_layer(src, "layer", code=spec.get("code", "code"), **spec.get("kwargs", {}))
    rep = lay.report
    return {"features": len(lay.gdf), "codes": lay.gdf["code"].tolist(), "dropped": len(rep["dropped"]),
            "repaired": len(rep["repaired"]), "duplicate_codes": rep["duplicate_codes"], "overlaps": len(rep["overlaps"]),
            "crs_epsg": rep["crs"]["epsg"], "crs_confidence": rep["crs"]["confidence"], "is_bng": rep["crs"]["is_bng"],
            "valid": bool(lay.gdf.is_valid.all())}


def st_assign_areas(case, tmp_path, data):
    from geocrime.areas import Boundaries, assign_areas, load_layer

    spec = case["input"]
    if "layer" in spec:
        b = Boundaries([load_layer(features_gdf(spec["layer"]), "layer", code="code")])
    else:
        b = wards(data)
    pts = spec["points"]
    if "wkt" in pts:
        geoms = [shapely.from_wkt(w) if w is not None else None for w in pts["wkt"]]
        df = gpd.GeoDataFrame({"i": range(len(geoms))}, geometry=geoms, crs=pts.get("crs"), index=pts.get("index"))
    else:
        df = pd.DataFrame(value(pts["columns"]), index=pts.get("index"))
    out = assign_areas(df, b, **spec.get("kwargs", {}))
    rows_kept(df.index, out, "area_status")
    return columns_of(out)


def st_geocode(case, tmp_path, data):
    from geocrime.geocoding import geocode

    vals = value(case["input"]["values"])
    s = pd.Series(vals, dtype=object, index=case["input"].get("index"))
    out = geocode(s, ed.gazetteer(data))
    rows_kept(s.index, out, "match_level")
    return columns_of(out)


def st_gazetteer(case, tmp_path, data):
    from geocrime.gazetteer import Gazetteer
    from geocrime.geocoding import geocode

    spec = case["input"]
    src = ed.fhrs_source(data)
    src = src[(src["house_number"] != "") & (src["sub_building"] == "") & (src["postcode"] != "")].head(spec["n"]).reset_index(drop=True)
    parts = []
    for shift in spec["copies_shifted_m"]:  # every address repeated, some copies moved by `shift` metres
        parts.append(src.assign(x=src["x"] + shift))
    if spec.get("no_coordinates"):
        parts = [p.assign(x=np.nan, y=np.nan) for p in parts]
    g = Gazetteer.from_sources([pd.concat(parts, ignore_index=True)])
    prem = g.table[g.table["level"] == "premises"]
    lines = [f"{r.house_number} {r.street}, {r.postcode}" for r in src.itertuples()]
    out = geocode(pd.Series(lines, dtype=object), g)
    d = np.hypot(out["x"].to_numpy(float) - src["x"].to_numpy(float), out["y"].to_numpy(float) - src["y"].to_numpy(float))
    return {"premises_entries": len(prem), "match_level": out["match_level"].tolist(),
            "max_distance_from_majority_m": float(np.nanmax(d))}


def st_enrich_file(case, tmp_path, data):
    from geocrime.enrichment import enrich_file, manifest_path

    spec = case["input"]
    src = input_file(spec, tmp_path)
    out = tmp_path / "out.csv"
    kw = dict(spec.get("kwargs", {}))
    if kw.pop("geocode", True):
        kw["gazetteer"] = ed.gazetteer(data)
        kw.setdefault("columns", "address")
    try:
        enrich_file(src, out, boundaries=wards(data), progress=False, **kw)
    except GeocrimeError:
        assert not out.exists() and not manifest_path(out).exists(), "a failed run must leave no output"
        raise
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8")
    assert back["gc_input_status"].ne("").all()
    return columns_of(back)


def st_aggregate(case, tmp_path, data):
    from geocrime.analysis import aggregate

    spec = case["input"]
    df = pd.DataFrame(value(spec["columns"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = aggregate(df, **spec.get("kwargs", {}))
    a = out.attrs
    # nothing silently lost: every incident is counted or reported
    lost = a["n_no_area"] + a["n_no_period"] + a["n_unknown_area"] + a.get("n_missing_key", 0)
    assert int(out["count"].sum()) + lost == len(df)
    return {"rows": len(out), "total": int(out["count"].sum()), **{k: v for k, v in a.items() if k.startswith("n_")},
            **{c: out[c].tolist() for c in spec.get("return", [])}}


def st_gate(case, tmp_path, data):
    from geocrime.publish import gate

    spec = case["input"]
    inc = pd.DataFrame(value(spec["incidents"])) if isinstance(spec["incidents"], dict) else value(spec["incidents"])
    return gate(inc, value(spec.get("map_points")))


def st_cli(case, tmp_path, data):
    """Run the geocrime command in process; return its exit code, whether it wrote the output and the
    expected stderr fragments when present (a traceback never is acceptable)."""
    import contextlib
    import io

    from geocrime.cli import main

    spec = case["input"]
    src = input_file(spec, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    subs = {"{in}": str(src), "{tmp}": str(work)}
    if any("{gaz}" in a for a in spec["argv"]):
        subs["{gaz}"] = str(ed.gazetteer_dir(data))
    argv = []
    for a in spec["argv"]:
        for k, v in subs.items():
            a = a.replace(k, v)
        argv.append(a)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(argv)
    text = err.getvalue()
    assert "Traceback" not in text and "unexpected" not in text, text
    written = [p for p in work.iterdir() if p.name.startswith("out")]
    got: dict[str, Any] = {"exit": rc, "written": bool(written)}
    exp = case["expect"]
    for k in ("stderr", "stderr_2"):
        if k in exp:
            got[k] = exp[k] if exp[k] in text else text
    if "stderr_not" in exp:
        got["stderr_not"] = exp["stderr_not"] if exp["stderr_not"] not in text else text
    if "output_contains" in exp:
        body = "".join(p.read_text(encoding="utf-8", errors="strict") for p in written if p.is_file())
        got["output_contains"] = exp["output_contains"] if exp["output_contains"] in body else body[:2000]
    return got


STAGES = {
    "police_uk": st_police_uk, "parse": st_parse, "parse_one": st_parse_one, "postcode": st_postcode,
    "normalise": st_normalise, "boundary": st_boundary, "assign_areas": st_assign_areas, "geocode": st_geocode,
    "gazetteer": st_gazetteer, "enrich_file": st_enrich_file, "aggregate": st_aggregate, "gate": st_gate,
    "cli": st_cli,
}
#: stages that read the real open data (the shared_data fixture fails the test when it is absent)
NEEDS_DATA = {"geocode", "gazetteer", "enrich_file", "cli"}


def _subset(got: Any, want: Any, where: str) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        for k, w in want.items():
            assert k in got, f"{where}: no {k!r} in {sorted(got)[:40]}"
            _subset(got[k], w, f"{where}.{k}")
    elif isinstance(want, float) and isinstance(got, (int, float)):
        assert got == pytest.approx(want), where
    else:
        assert plain(got) == want if not isinstance(want, list) else [plain(g) for g in got] == want, \
            f"{where}: got {got!r}, expected {want!r}"


def test_manifest_is_well_formed() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 50
    for c in CASES:
        assert c["stage"] in STAGES, c["id"]
        assert c.get("why"), f"{c['id']}: say where the case comes from"
        exp = c["expect"]
        if "error" in exp:
            cls = getattr(gerr, exp["error"], None)
            if cls is None:  # errors defined next to their module (EnrichError ...)
                continue
            assert issubclass(cls, GeocrimeError) and exp.get("match"), c["id"]
        if "file" in c.get("input", {}):
            assert (FILES / c["input"]["file"]).is_file(), c["id"]
    used = {c["input"]["file"] for c in CASES if "file" in c.get("input", {})}
    assert used == {p.name for p in FILES.iterdir()}, "every committed file is used by a case"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    needs = case["stage"] in NEEDS_DATA or "real" in case.get("input", {}) or \
        (case["stage"] == "assign_areas" and "layer" not in case["input"])
    data = request.getfixturevalue("data") if needs else None
    fn = STAGES[case["stage"]]
    exp = dict(case["expect"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if "error" in exp:
            with pytest.raises(GeocrimeError) as ei:
                fn(case, tmp_path, data)
            err = ei.value
            assert type(err).__name__ == exp["error"] or any(k.__name__ == exp["error"] for k in type(err).__mro__), \
                f"raised {type(err).__name__}: {err}"
            assert exp["match"] in str(err), str(err)
            got = None
        else:
            got = fn(case, tmp_path, data)
    want_w = exp.pop("warnings", None)
    if want_w is not None:
        names = {w.category.__name__ for w in caught}
        assert set(want_w) <= names, names
    if got is not None:
        _subset(got, {k: v for k, v in exp.items() if k not in ("error", "match")}, case["id"])
