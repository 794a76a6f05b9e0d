"""Public tiles: tile maths equal mercantile, counts are conserved per zoom, positions are map points
at high zoom and cell centres below, minimum counts per zoom, formats read back, gate enforced."""
from __future__ import annotations

from pathlib import Path

import mapbox_vector_tile
import mercantile
import numpy as np
import pandas as pd
import pytest
from _maps_testdata import gated_from_police_uk

from geocrime.errors import PublishError
from geocrime.publish._types import GatedData
from geocrime.publish.tiles import EXTENT, LAYER, tile_indices, write_tiles


@pytest.fixture(scope="module")
def gated(met_burglary_files, shared_data):
    return gated_from_police_uk(met_burglary_files, shared_data)


def _decode_dir(d: Path) -> pd.DataFrame:
    """Every feature of every tile: z, x, y, px, py, properties."""
    rows = []
    for f in d.glob("*/*/*.pbf"):
        z, x, y = int(f.parts[-3]), int(f.parts[-2]), int(f.stem)
        t = mapbox_vector_tile.decode(f.read_bytes(), default_options={"y_coord_down": True})
        for feat in t[LAYER]["features"]:
            px, py = feat["geometry"]["coordinates"]
            rows.append({"z": z, "x": x, "y": y, "px": px, "py": py, **feat["properties"]})
    return pd.DataFrame(rows)


def test_tile_indices_equal_mercantile():
    rng = np.random.default_rng(1)
    lon = np.concatenate([rng.uniform(-0.6, 0.4, 3000), [-180, 179.999999, 0.0, -0.1275]])
    lat = np.concatenate([rng.uniform(51.2, 51.8, 3000), [-85.0511, 85.0511, 0.0, 51.5072]])
    for z in range(8, 17):
        tx, ty = tile_indices(lon, lat, z)
        ref = np.array([tuple(mercantile.tile(a, b, z))[:2] for a, b in zip(lon, lat)])
        assert np.array_equal(tx, ref[:, 0]) and np.array_equal(ty, ref[:, 1]), z


def test_mvt_pyramid_conserves_counts_and_places_points(gated, tmp_path):
    ts = write_tiles(gated, tmp_path / "t", minzoom=8, maxzoom=16, min_count=1)
    assert ts.tile_count > 1000 and ts.total_bytes > 0
    feats = _decode_dir(tmp_path / "t")
    assert len(feats) == ts.feature_count
    pts = gated.points
    total = int(pts["count"].sum())
    by_month = pts.groupby("month")["count"].sum()
    for z in range(8, 17):
        fz = feats[feats.z == z]
        # with min_count=1 nothing is dropped: every zoom holds every incident exactly once
        assert int(fz["count"].sum()) == total, z
        for m, v in by_month.items():
            assert int(fz[m].fillna(0).sum()) == int(v), (z, m)
        # the per-month properties add up to the total of each feature
        assert np.array_equal(fz[list(by_month.index)].fillna(0).sum(axis=1).astype(int), fz["count"].astype(int))
    # at z16 each feature sits on a map point (to within one tile unit) and there is one per point
    f16 = feats[feats.z == 16]
    mp = pts.drop_duplicates("map_point_id")
    assert len(f16) == len(mp)
    n = 2**16
    wx = (f16.x + (f16.px + 0.5) / EXTENT) / n
    wy = (f16.y + (f16.py + 0.5) / EXTENT) / n
    lon = wx * 360 - 180
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * wy))))
    from scipy.spatial import cKDTree

    d, _ = cKDTree(np.column_stack([mp.lon, mp.lat])).query(np.column_stack([lon, lat]))
    tile_unit_deg = 360 / n / EXTENT
    assert d.max() < 2 * tile_unit_deg
    # each tile's features lie inside that tile as mercantile defines it
    some = f16.sample(200, random_state=0)
    for r in some.itertuples():
        b = mercantile.bounds(r.x, r.y, 16)
        lo = b.west + (r.px / EXTENT) * (b.east - b.west)
        assert b.west <= lo <= b.east
    # below point_zoom features are cell centres (16-px cells = 256 tile units), never map points
    f10 = feats[feats.z == 10]
    assert set(np.unique(f10.px % 256)) == {128} and set(np.unique(f10.py % 256)) == {128}
    assert len(f10) < len(mp) / 5


def test_min_count_per_zoom_drops_small_features(gated, tmp_path):
    ts = write_tiles(gated, tmp_path / "t", minzoom=8, maxzoom=15, min_count={8: 20, 12: 4})
    feats = _decode_dir(tmp_path / "t")
    assert feats[feats.z == 8]["count"].min() >= 20
    assert feats[feats.z == 12]["count"].min() >= 4
    assert feats[feats.z == 15]["count"].min() == 1  # unlisted zooms keep everything
    free = _decode_dir(Path(write_tiles(gated, tmp_path / "u", minzoom=8, maxzoom=8, min_count=1).path))
    assert len(free) > len(feats[feats.z == 8])  # something was dropped at z8
    dropped = free[free["count"] < 20]
    assert len(dropped) == len(free) - len(feats[feats.z == 8])
    assert ts.metadata["min_count"]["8"] == 20


def test_pmtiles_and_png_read_back(gated, tmp_path):
    from PIL import Image
    from pmtiles.reader import MmapSource, Reader

    mvt = write_tiles(gated, tmp_path / "mvt", minzoom=12, maxzoom=14)
    pm = write_tiles(gated, tmp_path / "arch", minzoom=12, maxzoom=14, format="pmtiles")
    assert pm.path.suffix == ".pmtiles" and pm.tile_count == mvt.tile_count
    with open(pm.path, "rb") as f:
        r = Reader(MmapSource(f))
        h = r.header()
        assert (h["min_zoom"], h["max_zoom"]) == (12, 14)
        for p in list((tmp_path / "mvt").glob("14/*/*.pbf"))[:50]:
            z, x, y = 14, int(p.parts[-2]), int(p.stem)
            assert r.get(z, x, y) == p.read_bytes()
    png = write_tiles(gated, tmp_path / "png", minzoom=12, maxzoom=13, format="png")
    files = list((tmp_path / "png").glob("*/*/*.png"))
    assert len(files) == png.tile_count > 0
    im = np.asarray(Image.open(files[0]))
    assert im.shape == (256, 256, 4) and (im[..., 3] > 0).any()


def test_tiles_accept_only_gated_data(gated, tmp_path):
    with pytest.raises(PublishError, match="gate"):
        write_tiles(gated.points, tmp_path / "x")
    with pytest.raises(PublishError, match="gate"):
        GatedData(points=gated.points, area_counts={}, area_geometries={}, params={})
    with pytest.raises(PublishError, match="format"):
        write_tiles(gated, tmp_path / "y", format="svg")
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "keep.txt").write_text("not ours")
    with pytest.raises(PublishError, match="not empty"):
        write_tiles(gated, tmp_path / "z")


def test_cli_tiles_gates_and_writes(city_files, met_burglary_files, shared_data, tmp_path, capsys):
    from geocrime.cli import main

    cp = pd.read_csv(shared_data / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz",
                     usecols=["Postcode", "Eastings", "Northings", "Admin_district_code"])
    cp[cp.Admin_district_code.isin(["E09000001", "E09000033", "E09000019", "E09000030"])].to_csv(
        tmp_path / "addr.csv", index=False)
    out = tmp_path / "out"
    # Met burglary (one month): the City's all-crime ward cells are too sparse to publish under the
    # protection rule (every suppressed cell a range >= 5 wide), burglary in these boroughs is not
    rc = main(["tiles", str(met_burglary_files[0]), "--addresses", str(tmp_path / "addr.csv"),
               "--address-id", "Postcode", "--out", str(out), "--layers", "ward_2022", "--page",
               "--maxzoom", "15", "--json"])
    assert rc == 0
    import json

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["tiles"] == len(list((out / "tiles").glob("*/*/*.pbf"))) > 0
    assert (out / "index.html").exists() and (out / "disclosure.md").exists()
    meta = json.loads((out / "tiles" / "metadata.json").read_text())
    assert meta["maxzoom"] == 15 and meta["gate_params"]["k"] == 8
    # the tiles hold only gated counts: their total equals the gate's published incidents
    feats = _decode_dir(out / "tiles")
    assert int(feats[feats.z == 15]["count"].sum()) == summary["published_incidents"]
    assert main(["tiles", str(city_files[-1]), "--addresses", str(tmp_path / "addr.csv"), "--out",
                 str(tmp_path / "x"), "--format", "pmtiles", "--page"]) == 1
    assert main(["tiles", str(tmp_path / "missing.csv"), "--addresses", str(tmp_path / "addr.csv"), "--out",
                 str(tmp_path / "y")]) == 1
