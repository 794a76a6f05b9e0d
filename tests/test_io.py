"""geocrime.io.read_police_uk on the real police.uk months, and the ``geocrime areas`` command."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geocrime.cli import main
from geocrime.errors import FileFormatError, MissingColumnsError
from geocrime.io import POLICE_UK_COLUMNS, EncodingWarning, read_police_uk


def _raw_rows(files: list[Path]) -> list[dict[str, str]]:
    rows = []
    for f in files:
        with open(f, newline="", encoding="utf-8") as fh:
            rows += list(csv.DictReader(fh))
    return rows


def test_met_months_every_row_kept_with_status(met_burglary_files: list[Path]) -> None:
    raw = _raw_rows(met_burglary_files)
    g = read_police_uk(met_burglary_files)
    rep = g.attrs["report"]
    assert len(g) == len(raw) == rep["rows"]
    assert list(g.index) == list(range(len(raw)))
    assert g.crs.to_epsg() == 27700
    assert list(g.columns[: len(POLICE_UK_COLUMNS)]) == list(POLICE_UK_COLUMNS)
    assert (g["Crime ID"].fillna("").tolist()) == [r["Crime ID"] for r in raw]
    no_coord = [r["Longitude"] == "" or r["Latitude"] == "" for r in raw]
    assert sum(no_coord) > 0
    assert (g["status"] == "no_location").tolist() == no_coord
    assert g.loc[g["status"] == "no_location"].geometry.isna().all()
    assert rep["status"]["no_location"] == sum(no_coord)
    assert rep["status"]["ok"] + rep["status"]["no_location"] == len(raw)
    # duplicates, computed independently
    c = Counter(r["Crime ID"] for r in raw if r["Crime ID"])
    dup = [bool(r["Crime ID"]) and c[r["Crime ID"]] > 1 for r in raw]
    assert sum(dup) > 0 and g["duplicate_crime_id"].tolist() == dup
    assert rep["duplicate_crime_ids"] == sum(1 for v in c.values() if v > 1)
    assert set(g["month"]) == {f"2024-0{m}" for m in range(1, 7)}
    assert [f["file"] for f in rep["files"]] == [f.name for f in met_burglary_files]
    # the lon/lat became BNG metres in London
    ok = g[g["status"] == "ok"]
    assert ok.geometry.x.between(500_000, 565_000).mean() > 0.99


def test_city_rows_without_crime_id_are_kept(city_files: list[Path]) -> None:
    raw = _raw_rows(city_files)
    g = read_police_uk(city_files[0].parent)  # a directory
    assert len(g) == len(raw)
    n_noid = sum(1 for r in raw if not r["Crime ID"])
    assert n_noid > 0 and g.attrs["report"]["no_crime_id"] == n_noid
    assert int(g["Crime ID"].isna().sum()) == n_noid
    assert not g.loc[g["Crime ID"].isna(), "duplicate_crime_id"].any()
    g2 = read_police_uk(str(city_files[0].parent / "2022-0*-city-of-london-street.csv"))  # a glob
    assert len(g2) == sum(1 for r in raw if r["Month"].startswith("2022-0"))


def _sample_lines(files: list[Path], n: int = 3) -> tuple[str, list[str]]:
    lines = files[0].read_text(encoding="utf-8").splitlines()
    return lines[0], lines[1 : n + 1]


def test_quoted_location_with_commas(tmp_path: Path, met_burglary_files: list[Path]) -> None:
    header, body = _sample_lines(met_burglary_files)
    parts = next(csv.reader([body[0]]))
    parts[6] = "On or near High Road, Ickenham"
    buf = tmp_path / "2024-01-test-street.csv"
    with open(buf, "w", newline="", encoding="utf-8") as fh:
        fh.write(header + "\n")
        csv.writer(fh).writerow(parts)
        fh.write(body[1] + "\n")
    assert '"On or near High Road, Ickenham"' in buf.read_text()
    g = read_police_uk(buf)
    assert len(g) == 2 and g.loc[0, "Location"] == "On or near High Road, Ickenham"
    assert g.loc[0, "LSOA code"] == parts[7] and g.loc[0, "status"] == "ok"


def test_non_utf8_file_falls_back_to_cp1252(tmp_path: Path, met_burglary_files: list[Path]) -> None:
    header, body = _sample_lines(met_burglary_files, 2)
    parts = next(csv.reader([body[0]]))
    parts[6] = "On or near Caf\u00e9 Parade"
    p = tmp_path / "2024-01-cp1252-street.csv"
    with open(p, "w", newline="", encoding="cp1252") as fh:
        fh.write(header + "\n")
        csv.writer(fh).writerow(parts)
    with pytest.raises(UnicodeDecodeError):
        p.read_text(encoding="utf-8")
    with pytest.warns(EncodingWarning, match="cp1252"):
        g = read_police_uk(p)
    assert g.loc[0, "Location"] == "On or near Caf\u00e9 Parade"
    assert g.attrs["report"]["non_utf8_files"] == [p.name]


def test_wrong_columns_and_empty_files(tmp_path: Path, met_burglary_files: list[Path]) -> None:
    bad = tmp_path / "2024-01-outcomes.csv"
    bad.write_text("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type\n")
    with pytest.raises(MissingColumnsError, match=r"2024-01-outcomes\.csv.*'Crime type'"):
        read_police_uk(bad)
    header, _ = _sample_lines(met_burglary_files)
    empty = tmp_path / "2024-07-empty-street.csv"
    empty.write_text(header + "\n")
    g = read_police_uk(empty)
    assert len(g) == 0 and {"status", "month", "duplicate_crime_id", "Crime ID"} <= set(g.columns)
    assert g.attrs["report"]["rows"] == 0
    nothing = tmp_path / "nothing-street.csv"
    nothing.write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        read_police_uk(nothing)


def test_cli_areas_json(tmp_path: Path, met_burglary_files: list[Path], capsys: pytest.CaptureFixture) -> None:
    src = met_burglary_files[0]  # 2024-01: has rows without coordinates
    out = tmp_path / "areas.parquet"
    rc = main(["areas", str(src), str(out), "--layers", "ward_2022,lsoa_2021", "--json", "--chunk-size", "1000"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    raw = _raw_rows([src])
    assert summary["rows_in"] == summary["rows_out"] == len(raw)
    assert sum(summary["status"].values()) == len(raw)
    assert summary["status"]["no_location"] == sum(1 for r in raw if not r["Longitude"])
    g = gpd.read_parquet(out)
    assert len(g) == len(raw) and g.crs.to_epsg() == 27700
    assert summary["matched"]["ward_2022"] == int(g["ward_2022"].notna().sum()) > 0.99 * summary["status"]["ok"]
    assert (g["Crime ID"].fillna("").tolist()) == [r["Crime ID"] for r in raw]
    # CSV out, from the Parquet just written
    out_csv = tmp_path / "areas.csv"
    assert main(["areas", str(out), str(out_csv), "--layers", "borough", "--json"]) == 0
    back = pd.read_csv(out_csv, dtype=str)
    assert len(back) == len(raw) and back["borough"].str.startswith("E09").sum() == summary["matched"]["ward_2022"]
    # errors are reported, not raised
    assert main(["areas", str(src), str(tmp_path / "x.xlsx")]) == 1
    assert "cannot write 'x.xlsx': unknown suffix .xlsx" in capsys.readouterr().err


def test_cli_areas_named_bng_columns_to_geopackage(tmp_path: Path, met_burglary_files: list[Path], capsys: pytest.CaptureFixture) -> None:
    g = read_police_uk(met_burglary_files[1]).head(400)
    ok = g["status"] == "ok"
    df = pd.DataFrame({"ref": range(len(g)), "E": g.geometry.x.round(3), "N": g.geometry.y.round(3)})
    src = tmp_path / "pts.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "pts.gpkg"
    assert main(["areas", str(src), str(out), "--layers", "borough", "--x", "E", "--y", "N", "--crs", "EPSG:27700", "--json", "--names"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    back = gpd.read_file(out, layer="areas")
    assert len(back) == len(df) == summary["rows_out"] and back.crs.to_epsg() == 27700
    # CSV columns are read as text (leading zeros survive) and come out in input order
    assert back["ref"].tolist() == [str(i) for i in range(len(df))]
    assert summary["status"].get("no_location", 0) == int((~ok).sum())
    assert back.loc[ok.to_numpy(), "borough"].str.startswith("E09").all()
    assert back["borough_name"].notna().sum() == summary["matched"]["borough"]


# ------------------------------------------------------------------------- geocrime.inputs (issue 18)
def test_read_table_every_format_same_rows(tmp_path: Path, met_burglary_files: list[Path]) -> None:
    """One reader for CSV (comma, semicolon, tab: sniffed), Parquet, GeoParquet and GeoPackage."""
    from geocrime.inputs import read_points, read_table, write_table

    src = read_table(met_burglary_files[0])
    assert src.attrs["source"]["sep"] == "," and len(src) > 1000
    assert pd.api.types.is_string_dtype(src["Crime ID"]) and src.loc[0, "Month"] == "2024-01"  # text kept as text
    for sep, name in ((";", "semi.csv"), ("\t", "tab.tsv"), ("|", "pipe.txt")):
        src.to_csv(tmp_path / name, sep=sep, index=False)
        back = read_table(tmp_path / name)
        assert back.attrs["source"]["sep"] == sep
        pd.testing.assert_frame_equal(back, src)
    pts = read_points(src)
    assert pts.crs.to_epsg() == 27700 and (pts["location_status"] == "ok").mean() > 0.99
    for name, fmt in (("p.parquet", "Parquet"), ("p.gpkg", "GeoPackage"), ("p.geojson", "GeoJSON"), ("p.csv", "CSV")):
        said = write_table(pts, tmp_path / name)
        assert said == f"wrote {tmp_path / name} ({fmt}, {len(pts):,} rows)"
        back = read_table(tmp_path / name)
        assert len(back) == len(pts) and list(back["Crime ID"]) == list(pts["Crime ID"])
    assert isinstance(read_table(tmp_path / "p.parquet"), gpd.GeoDataFrame)  # GeoParquet keeps its geometry


def test_write_table_refuses_unknown_suffix_before_writing(tmp_path: Path) -> None:
    from geocrime.inputs import write_table

    df = pd.DataFrame({"a": [1]})
    for name in ("ward_hotspots.html", "out.shp", "noext"):
        with pytest.raises(FileFormatError, match="unknown suffix"):
            write_table(df, tmp_path / name)
        assert not (tmp_path / name).exists()
    with pytest.raises(FileFormatError, match="needs geometries"):
        write_table(df, tmp_path / "a.gpkg")


def test_encoding_is_checked_never_replaced(tmp_path: Path, met_burglary_files: list[Path]) -> None:
    from geocrime.inputs import check_encoding, read_table

    raw = met_burglary_files[0].read_bytes()
    lines = raw.split(b"\n")
    lines[500] = lines[500].replace(b"On or near", "On or near Caf\u00e9".encode("cp1252"), 1)
    p = tmp_path / "cp.csv"
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(FileFormatError) as ei:
        read_table(p)
    msg = str(ei.value)
    assert "is not valid UTF-8: byte 0xe9" in msg and "(line 501:" in msg and "(CLI: --encoding cp1252)" in msg
    df = read_table(p, encoding="cp1252")
    assert df["Location"].str.contains("Caf\u00e9").sum() == 1 and not df["Location"].str.contains("\ufffd").any()
    (tmp_path / "u16.csv").write_bytes("a,b\n1,Caf\u00e9\n".encode("utf-16"))
    assert check_encoding(tmp_path / "u16.csv") == "utf-16"
    assert read_table(tmp_path / "u16.csv")["b"].tolist() == ["Caf\u00e9"]


def test_empty_and_header_only(tmp_path: Path) -> None:
    from geocrime.inputs import read_table

    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"is empty \(0 bytes\)"):
        read_table(tmp_path / "e.csv")
    (tmp_path / "b.csv").write_bytes(b"\n\n")
    with pytest.raises(FileFormatError, match="no header row"):
        read_table(tmp_path / "b.csv")
    (tmp_path / "h.csv").write_text("a,b\n")
    assert len(read_table(tmp_path / "h.csv")) == 0


def test_coordinates_guessed_and_diagnosed(met_burglary_files: list[Path]) -> None:
    """Real police.uk rows with their lon/lat swapped, or replaced by grid metres, or moved to Manchester."""
    from geocrime._geo import lonlat_to_bng
    from geocrime.errors import InputError
    from geocrime.inputs import find_coordinates, read_points, read_table

    src = read_table(met_burglary_files[0]).dropna(subset=["Longitude"]).head(2000).reset_index(drop=True)
    ok = read_points(src)
    assert (ok["location_status"] == "ok").all()
    swapped = src.rename(columns={"Longitude": "Latitude", "Latitude": "Longitude"})
    with pytest.raises(InputError, match="look swapped") as ei:
        read_points(swapped)
    assert "(CLI: --x Latitude)" in str(ei.value)
    fixed = read_points(swapped, x="Latitude", y="Longitude")
    assert fixed.geometry.geom_equals_exact(ok.geometry, 1e-6).all()
    e, n = lonlat_to_bng(src["Longitude"].astype(float), src["Latitude"].astype(float))
    bng = src.assign(Longitude=[f"{v:.0f}" for v in e], Latitude=[f"{v:.0f}" for v in n])
    c = find_coordinates(bng)
    assert c.crs == "EPSG:27700" and "British National Grid metres" in c.guessed
    notes: list[str] = []
    got = read_points(bng, notes=notes)
    assert (got["location_status"] == "ok").all() and notes and "read as EPSG:27700" in notes[0]
    assert float(got.geometry.distance(ok.geometry).max()) < 1.0
    assert find_coordinates(bng, crs="EPSG:4326").crs == "EPSG:4326"  # stated CRS wins: no guess
    nowhere = src.assign(Longitude="-75.0", Latitude="40.0")  # New York
    with pytest.raises(InputError, match="lie outside Great Britain"):
        read_points(nowhere)
