"""geocrime.enrich on real data: FHRS gazetteer + messy queries, police.uk coordinates, ONS boundaries.

What is checked: every row comes out in order with input columns untouched; the added columns are
what the library stages (geocode, assign_areas) give for the same rows; streaming files give the
same answer as in memory whatever the chunk size; resume skips finished parts and is byte-identical;
the manifest's hashes and counts are right; bad files fail clearly and never leave an output.
"""
from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import _enrich_data as ed
from geocrime.enrichment import added_columns, enrich, enrich_file, manifest_path, work_dir
from geocrime.errors import FileFormatError, GeocrimeError, InputError, MissingColumnsError


@pytest.fixture(scope="module")
def data(shared_data: Path) -> Path:
    return shared_data


@pytest.fixture(scope="module")
def q(data: Path) -> pd.DataFrame:
    return ed.queries(data)


@pytest.fixture(scope="module")
def in_memory(data: Path, q: pd.DataFrame) -> pd.DataFrame:
    return enrich(q, gazetteer=ed.gazetteer(data), boundaries=ed.boundaries(data), columns="address")


def _s(v) -> np.ndarray:
    """Values as text with missing as '<NA>' (NaN never equals NaN)."""
    v = pd.Series(np.asarray(v, dtype=object))
    return v.where(v.notna(), "<NA>").astype(str).to_numpy()


def _read_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# ------------------------------------------------------------------------------------- in memory
def test_enrich_keeps_rows_and_input_columns(q: pd.DataFrame, in_memory: pd.DataFrame) -> None:
    out = in_memory
    assert len(out) == len(q)
    assert out.index.equals(q.index)
    assert list(out.columns[: len(q.columns)]) == list(q.columns)
    pd.testing.assert_frame_equal(out[list(q.columns)], q)
    added = [c for c in out.columns if c not in q.columns]
    assert added and all(c.startswith("gc_") for c in added)


def test_enrich_equals_the_library_stages(data: Path, q: pd.DataFrame, in_memory: pd.DataFrame) -> None:
    """enrich is geocode + assign_areas, not a re-implementation: same answers row for row."""
    from geocrime.areas import assign_areas
    from geocrime.geocoding import geocode

    g = geocode(q, ed.gazetteer(data), columns="address", boundaries=ed.boundaries(data))
    for c in ("match_level", "gazetteer_id", "reason"):
        assert (_s(in_memory["gc_" + c]) == _s(g[c])).all(), c
    # the geocoder's own area estimate is named by layer + vintage (never gc_ward_code)
    assert "gc_ward_code" not in in_memory and "gc_lsoa_code" not in in_memory
    assert (_s(in_memory["gc_ward_2022_geocoder"]) == _s(g["ward_code"])).all()
    assert (_s(in_memory["gc_lsoa_2021_geocoder"]) == _s(g["lsoa_code"])).all()
    np.testing.assert_array_equal(in_memory["gc_ward_2022_confidence"].to_numpy(float), g["ward_confidence"].to_numpy(float))
    np.testing.assert_array_equal(in_memory["gc_x"].to_numpy(float), g["x"].to_numpy(float))
    a = assign_areas(g[g.geometry.notna()][["geometry"]], ed.boundaries(data), ["ward_2022", "lsoa_2021"])
    got = in_memory.loc[a.index]
    assert (_s(got["gc_ward_2022"]) == _s(a["ward_2022"])).all()
    assert (_s(got["gc_lsoa_2021"]) == _s(a["lsoa_2021"])).all()


def test_enrich_quality_and_flags(q: pd.DataFrame, in_memory: pd.DataFrame) -> None:
    out = in_memory
    prem = out["gc_match_level"] == "premises"
    assert prem.mean() > 0.8
    # precision of premises matches against the generator's truth
    right = (out.loc[prem, "gc_gazetteer_id"].to_numpy() == q.loc[prem, "truth_id"].to_numpy()).mean()
    assert right > 0.99, right
    # the placeholder, the blank and the missing address
    assert out.loc[3, "gc_placeholder"] is not np.nan and isinstance(out.loc[3, "gc_placeholder"], str)
    assert out.loc[3, "gc_match_level"] == "none"
    assert out.loc[4, "gc_input_status"] == "empty_address" and out.loc[5, "gc_input_status"] == "empty_address"
    assert (out.loc[[4, 5], "gc_match_level"] == "none").all()
    assert (out.loc[[4, 5], "gc_area_status"] == "no_location").all()
    located = out["gc_x"].notna()
    assert (out.loc[~located, "gc_area_status"] == "no_location").all()
    assert out.loc[located, "gc_ward_2022"].notna().mean() > 0.95


def test_enrich_refuses_to_overwrite_input_columns(data: Path, q: pd.DataFrame) -> None:
    bad = q.assign(gc_match_level="mine")
    with pytest.raises(InputError, match="gc_match_level"):
        enrich(bad, gazetteer=ed.gazetteer(data), boundaries=ed.boundaries(data), columns="address")
    out = enrich(bad.head(50), gazetteer=ed.gazetteer(data), boundaries=ed.boundaries(data), columns="address", prefix="geo_")
    assert (out["gc_match_level"] == "mine").all() and "geo_match_level" in out


def test_enrich_missing_address_column(data: Path, q: pd.DataFrame) -> None:
    with pytest.raises(MissingColumnsError, match="adress"):
        enrich(q, gazetteer=ed.gazetteer(data), boundaries=ed.boundaries(data), columns="adress")
    with pytest.raises(InputError, match="no address column"):
        enrich(q, gazetteer=ed.gazetteer(data), boundaries=ed.boundaries(data))


def test_coordinates_present_mode_on_police_uk(data: Path, city_files: list[Path], tmp_path: Path) -> None:
    """police.uk rows already have lon/lat: areas only, no gazetteer; equals assign_areas; file == memory."""
    from geocrime.areas import assign_areas

    src = city_files[0]
    raw = _read_text(src)
    b = ed.boundaries(data)
    out_path = tmp_path / "city.parquet"
    m = enrich_file(src, out_path, boundaries=b, coords=("Longitude", "Latitude"), chunksize=97, progress=False)
    out = pd.read_parquet(out_path)
    assert m["rows_in"] == m["rows_out"] == len(raw) == len(out)
    pd.testing.assert_frame_equal(out[raw.columns.tolist()], raw, check_dtype=False)
    ref = assign_areas(raw, b, ["ward_2022", "lsoa_2021"], x="Longitude", y="Latitude")
    for c in ("ward_2022", "lsoa_2021", "area_status"):
        assert (_s(out["gc_" + c]) == _s(ref[c])).all(), c
    # rows without coordinates are kept and flagged
    blank = raw["Longitude"] == ""
    assert blank.any() and (out.loc[blank.to_numpy(), "gc_area_status"] == "no_location").all()
    # police.uk's own LSOA code agrees for most located rows (their points are snapped near edges)
    ok = out["gc_area_status"] == "ok"
    assert (out.loc[ok, "gc_lsoa_2021"] == out.loc[ok, "LSOA code"]).mean() > 0.8
    assert m["counts"]["area_status"]["no_location"] == int(blank.sum())


# ------------------------------------------------------------------------------------- files
def test_enrich_file_csv_equals_in_memory_any_chunksize(data: Path, q: pd.DataFrame, in_memory: pd.DataFrame,
                                                        tmp_path: Path) -> None:
    src = ed.write_csv(q, tmp_path / "q.csv")
    b = ed.boundaries(data)
    gdir = ed.gazetteer_dir(data)
    m1 = enrich_file(src, tmp_path / "a.csv", gazetteer=gdir, boundaries=b, columns="address", chunksize=400, progress=False)
    m2 = enrich_file(src, tmp_path / "b.csv", gazetteer=gdir, boundaries=b, columns="address", chunksize=1000, progress=False)
    out = _read_text(tmp_path / "a.csv")
    # another chunking gives the same answer (floats to rounding: the geocoder's confidence sums
    # depend on the chunk's candidate order in the last bit)
    other = _read_text(tmp_path / "b.csv")
    for c in out.columns:
        if c in m1["output"]["added_columns"] and c.endswith(("confidence", "_x", "_y", "lon", "lat", "score", "margin")):
            np.testing.assert_allclose(pd.to_numeric(out[c]).to_numpy(float), pd.to_numeric(other[c]).to_numpy(float),
                                       rtol=1e-12, equal_nan=True)
        else:
            assert (out[c] == other[c]).all(), c
    raw = _read_text(src)
    pd.testing.assert_frame_equal(out[raw.columns.tolist()], raw)  # input columns byte-for-byte as text
    assert list(out.columns) == raw.columns.tolist() + list(added_columns_for(m1))
    assert (_s(out["gc_match_level"]) == _s(in_memory["gc_match_level"])).all()
    assert (_s(out["gc_ward_2022"].replace("", np.nan)) == _s(in_memory["gc_ward_2022"])).all()
    # manifest
    mf = json.loads(manifest_path(tmp_path / "a.csv").read_text())
    assert mf == json.loads(json.dumps(m1, default=str))
    assert mf["input"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert mf["rows_in"] == mf["rows_out"] == len(q)
    assert sum(mf["counts"]["match_level"].values()) == len(q)
    assert mf["counts"]["match_level"] == out["gc_match_level"].value_counts().to_dict()
    assert mf["chunks"] == 4 and m2["chunks"] == 2 and mf["chunks_resumed"] == 0
    assert set(mf["boundaries"]) == {"ward_2022", "lsoa_2021"} and all(len(v["sha256"]) == 64 for v in mf["boundaries"].values())
    assert mf["gazetteer"]["sha256"] and mf["gazetteer"]["entries"] == len(ed.gazetteer(data))
    assert not work_dir(tmp_path / "a.csv").exists()


def added_columns_for(manifest: dict) -> list[str]:
    return manifest["output"]["added_columns"]


def test_parquet_in_parquet_out_keeps_types(data: Path, q: pd.DataFrame, tmp_path: Path) -> None:
    t = pa.table({"incident_id": q["incident_id"].astype(str).to_numpy(), "address": q["address"].to_numpy(dtype=object),
                  "recorded": pa.array(np.arange(len(q), dtype=np.int64) * 1_000_000_000, pa.timestamp("ns")),
                  "weight": np.linspace(0, 1, len(q))})
    src = tmp_path / "q.parquet"
    pq.write_table(t, src, row_group_size=500)
    out = tmp_path / "o.parquet"
    m = enrich_file(src, out, gazetteer=ed.gazetteer_dir(data), boundaries=ed.boundaries(data), columns="address",
                    chunksize=600, progress=False)
    r = pq.read_table(out)
    assert r.num_rows == len(q) and m["chunks"] == 3
    assert r.select(t.column_names).equals(t)  # input columns identical, types included
    types = added_columns(__import__("geocrime.enrichment", fromlist=["x"]).make_context(
        ed.gazetteer(data), ed.boundaries(data), None, "address").settings)
    for k, v in types.items():
        assert r.schema.field(k).type == v


def test_resume_skips_finished_parts_and_is_identical(data: Path, q: pd.DataFrame, tmp_path: Path) -> None:
    src = ed.write_csv(q, tmp_path / "q.csv")
    kw = dict(gazetteer=ed.gazetteer_dir(data), boundaries=ed.boundaries(data), columns="address", chunksize=300,
              progress=False)
    out = tmp_path / "o.csv"
    enrich_file(src, out, keep_work=True, **kw)
    first = out.read_bytes()
    parts = sorted(work_dir(out).glob("part-*.parquet"))
    assert len(parts) == 5
    # simulate an interruption: output gone, two parts gone, a stale .tmp left behind
    out.unlink()
    parts[1].unlink()
    parts[3].with_suffix(".json").unlink()
    (work_dir(out) / (parts[2].name + ".tmp")).write_bytes(b"garbage")
    m = enrich_file(src, out, **kw)
    assert m["chunks_resumed"] == 3
    assert out.read_bytes() == first
    # changed settings never reuse parts
    m2 = enrich_file(src, tmp_path / "o2.csv", **dict(kw, threshold=12.0))
    assert m2["chunks_resumed"] == 0 and m2["run_key"] != m["run_key"]


def test_kill_and_resume_is_byte_identical(data: Path, q: pd.DataFrame, tmp_path: Path) -> None:
    """SIGTERM a CLI run half-way (after some part files exist), re-run: identical to an uninterrupted run."""
    src = ed.write_csv(q, tmp_path / "q.csv")
    ref = tmp_path / "ref.csv"  # uninterrupted, in process, same settings
    enrich_file(src, ref, gazetteer=ed.gazetteer_dir(data), boundaries=ed.boundaries(data, False), columns="address",
                chunksize=150, progress=False)
    out = tmp_path / "out.csv"
    cmd = [sys.executable, "-m", "geocrime", "enrich", str(src), str(out), "--gazetteer", str(ed.gazetteer_dir(data)),
           "--columns", "address", "--chunksize", "150", "--no-progress", *ed.boundary_args(data)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wd = work_dir(out)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        if wd.exists() and len(list(wd.glob("part-*.json"))) >= 3:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    assert proc.returncode == -signal.SIGTERM
    done = len(list(wd.glob("part-*.json")))
    assert 3 <= done < 10, f"kill came too late to test resume ({done} of 10 parts)"
    assert not out.exists() and not manifest_path(out).exists()  # nothing that looks complete
    r = subprocess.run(cmd + ["--json"], check=True, capture_output=True, text=True)
    m = json.loads(r.stdout.strip().splitlines()[-1])
    assert m["chunks_resumed"] >= done and m["chunks"] == 10
    assert m["rows_out"] == len(q)
    assert out.read_bytes() == ref.read_bytes()


# ------------------------------------------------------------------------------------- bad input
def _no_output(out: Path) -> None:
    assert not out.exists()
    assert not out.with_name(out.name + ".tmp").exists()
    assert not manifest_path(out).exists()


@pytest.fixture(scope="module")
def small_csv_text(q: pd.DataFrame) -> str:
    return q.head(300).to_csv(index=False)


def _run(src: Path, out: Path, data: Path, **kw):
    base = dict(gazetteer=ed.gazetteer_dir(data), boundaries=ed.boundaries(data), columns="address", chunksize=100,
                progress=False)
    base.update(kw)
    return enrich_file(src, out, **base)


def test_ragged_row_fails_clearly_and_leaves_no_output(data: Path, small_csv_text: str, tmp_path: Path) -> None:
    lines = small_csv_text.splitlines()
    lines[250] = lines[250] + ",extra,fields"
    src = tmp_path / "ragged.csv"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.csv"
    with pytest.raises(FileFormatError, match=r"ragged row.*5 field\(s\), the header has 3"):
        _run(src, out, data)
    _no_output(out)
    lines = small_csv_text.splitlines()
    lines[10] = lines[10].rsplit(",", 1)[0]  # too few fields
    src.write_text("\n".join(lines) + "\n")
    with pytest.raises(FileFormatError, match=r"2 field\(s\), the header has 3"):
        _run(src, out, data)
    _no_output(out)


def test_wrong_delimiter(data: Path, q: pd.DataFrame, tmp_path: Path) -> None:
    src = tmp_path / "semi.csv"
    q.head(100).to_csv(src, index=False, sep=";")
    out = tmp_path / "o.csv"
    with pytest.raises(FileFormatError, match=r"semicolon-delimited.*sep=';'"):
        _run(src, out, data)
    _no_output(out)
    m = _run(src, out, data, sep=";")
    assert m["rows_out"] == 100 and ";" in out.read_text().splitlines()[0]


def test_missing_address_column_in_file(data: Path, q: pd.DataFrame, tmp_path: Path) -> None:
    src = tmp_path / "q.csv"
    q.head(100).rename(columns={"address": "location"}).to_csv(src, index=False)
    out = tmp_path / "o.csv"
    with pytest.raises(MissingColumnsError, match=r"'address'.*'location'"):
        _run(src, out, data)
    _no_output(out)


def test_non_utf8_file_errors_before_work_then_reads_with_encoding(data: Path, q: pd.DataFrame, tmp_path: Path) -> None:
    d = q.head(200).copy()
    d.loc[150, "address"] = "Café Rouge, 12 Parkway, London NW1 7AA"
    src = tmp_path / "cp1252.csv"
    src.write_bytes(d.to_csv(index=False).encode("cp1252"))
    out = tmp_path / "o.csv"
    with pytest.raises(FileFormatError, match=r"not valid UTF-8: byte 0xe9.*line 152.*encoding='cp1252'"):
        _run(src, out, data)
    _no_output(out)
    assert not work_dir(out).exists() or not list(work_dir(out).glob("part-*"))  # failed before any work
    _run(src, out, data, encoding="cp1252")
    got = _read_text(out)
    assert got.loc[150, "address"] == "Café Rouge, 12 Parkway, London NW1 7AA"


def test_parquet_wrong_schema(data: Path, q: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    p1 = tmp_path / "noaddr.parquet"
    pq.write_table(pa.table({"incident_id": q["incident_id"].astype(str).head(50).to_numpy()}), p1)
    with pytest.raises(MissingColumnsError, match="'address'"):
        _run(p1, out, data)
    p2 = tmp_path / "intaddr.parquet"
    pq.write_table(pa.table({"address": np.arange(50)}), p2)
    with pytest.raises(FileFormatError, match=r"'address' has type int64, expected text"):
        _run(p2, out, data)
    p3 = tmp_path / "notparquet.parquet"
    p3.write_text(q.head(20).to_csv(index=False))
    with pytest.raises(FileFormatError, match="not a readable Parquet file"):
        _run(p3, out, data)
    _no_output(out)


def test_every_bad_input_error_is_a_geocrime_error(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        _run(empty, out, data)
    with pytest.raises(GeocrimeError, match="not found"):
        _run(tmp_path / "nope.csv", out, data)
    with pytest.raises(InputError, match="format"):
        _run(empty.with_suffix(".xlsx"), out, data)
    header_only = tmp_path / "h.csv"
    header_only.write_text("incident_id,address\n")
    m = _run(header_only, out, data)
    assert m["rows_out"] == 0 and out.read_text().replace('"', "").startswith("incident_id,address,gc_match_level")


def test_public_entry_point_is_callable(data: Path, city_files: list[Path]) -> None:
    import geocrime

    raw = pd.read_csv(city_files[1], dtype=str, keep_default_na=False).head(200)
    b = ed.boundaries(data, False)
    out = geocrime.enrich(raw, boundaries=b, coords=("Longitude", "Latitude"))
    assert len(out) == 200 and out["gc_ward_2022"].notna().sum() > 150
    assert geocrime.enrichment.enrich_file is enrich_file


def test_enrich_within_keeps_matches_inside_the_force_area(data: Path, q: pd.DataFrame, in_memory: pd.DataFrame) -> None:
    """``within=`` (borough codes a force covers) reaches the geocoder: rows whose match lies in another
    borough lose their point and say why; rows inside keep exactly the match they had."""
    from geocrime.areas import Boundaries

    sub = q.iloc[:400]
    base = in_memory.iloc[:400]
    placed = base["gc_match_level"].astype(str).eq("premises").to_numpy()
    xy = base[["gc_x", "gc_y"]].to_numpy(dtype=float)
    boroughs = np.asarray(Boundaries.from_registry(["borough"]).codes("borough", xy[:, 0], xy[:, 1]), dtype=object)
    inside = pd.Series(boroughs[placed]).value_counts().index[0]  # the borough holding most of the matches
    out = enrich(sub, gazetteer=ed.gazetteer(data), columns="address", within=[inside])
    assert len(out) == len(sub) and out.index.equals(sub.index)
    ins = placed & (boroughs == inside)
    outs = placed & (boroughs != inside)
    assert ins.sum() > 10 and outs.sum() > 10
    np.testing.assert_array_equal(out["gc_gazetteer_id"].to_numpy()[ins], base["gc_gazetteer_id"].to_numpy()[ins])
    assert not out.loc[outs, "gc_match_level"].astype(str).eq("premises").any()
    reasons = out.loc[outs, "gc_reason"].astype(str)
    # the match outside is withdrawn because of the place; a weaker candidate inside may be what is left
    assert reasons.isin(["place_conflict", "below_threshold"]).all(), reasons.value_counts()
    assert (reasons == "place_conflict").mean() > 0.9, reasons.value_counts()
    assert out["gc_match_probability"].between(0, 1).sum() > 0
