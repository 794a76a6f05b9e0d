"""geocrime.areas on the real London boundary layers and police.uk months."""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geocrime.areas import (
    Boundaries,
    BoundaryWarning,
    agreement,
    assign_areas,
    detect_crs,
    load_layer,
    point_codes,
    policeuk_agreement,
)
from geocrime.areas._index import _exact_strtree, plan
from geocrime.errors import BoundaryError, CRSError, InputError, MissingColumnsError
from geocrime.io import read_police_uk

LAYERS = ["ward_2022", "ward_2024", "lsoa_2021", "borough"]

# The projection text of old GLA/ESRI files: same as EPSG:27700 but the scale factor is rounded, so
# PROJ only matches it to EPSG:27700 at confidence 25.
GLA_PRJ = (
    'PROJCS["British_National_Grid",GEOGCS["GCS_OSGB_1936",DATUM["D_OSGB_1936",SPHEROID["Airy_1830",'
    '6377563.396,299.3249646]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",400000.0],PARAMETER["False_Northing",'
    '-100000.0],PARAMETER["Central_Meridian",-2.0],PARAMETER["Scale_Factor",0.999601272],'
    'PARAMETER["Latitude_Of_Origin",49.0],UNIT["Meter",1.0]]'
)


@pytest.fixture(scope="module", autouse=True)
def _private_grid_cache(tmp_path_factory: pytest.TempPathFactory):
    """Lookup grids cached in a temporary directory, not the user's cache."""
    old = os.environ.get("GEOCRIME_CACHE_DIR")
    os.environ["GEOCRIME_CACHE_DIR"] = str(tmp_path_factory.mktemp("geocrime_cache"))
    yield
    if old is None:
        os.environ.pop("GEOCRIME_CACHE_DIR", None)
    else:
        os.environ["GEOCRIME_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def bounds(shared_data: Path, _private_grid_cache: None) -> Boundaries:
    b = Boundaries.from_registry(LAYERS)
    b.prepare()  # force the grid path (small lookups would otherwise use the plain STRtree)
    return b


@pytest.fixture(scope="module")
def met(met_burglary_files: list[Path]) -> gpd.GeoDataFrame:
    return read_police_uk(met_burglary_files)


def brute_force(layer: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smallest code among ALL polygons covering each point (a polygon's bounding box is only used
    to skip points that cannot be covered), as row numbers of ``layer`` (-1: none)."""
    codes = layer["code"].to_numpy(dtype=object)
    assert (codes[:-1] <= codes[1:]).all(), "layer must be sorted by code"
    geoms = np.asarray(layer.geometry.array, dtype=object)
    best = np.full(len(x), -1, dtype=np.int64)
    for i in range(len(geoms) - 1, -1, -1):  # descending code: the smallest covering code ends up last
        g = geoms[i]
        x0, y0, x1, y1 = g.bounds
        k = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        if len(k):
            hit = k[shapely.covers(g, shapely.points(x[k], y[k]))]
            best[hit] = i
    return best


# ------------------------------------------------------------------------------------ loading
def test_registry_layers_load_in_bng(bounds: Boundaries, shared_data: Path) -> None:
    raw = gpd.read_file(shared_data / "london_wards_2022_ons" / "ward_boundaries_2022_clipped_to_london.shp")
    assert len(raw) == 784  # the file really holds 80 non-London slivers
    expected = {"ward_2022": int(raw["LAD22CD"].str.startswith("E09").sum()), "ward_2024": 704, "lsoa_2021": 4994, "borough": 33}
    for name in LAYERS:
        lay = bounds.layer(name)
        assert len(lay) == expected[name]
        assert lay.crs.to_epsg() == 27700
        assert lay["code"].is_monotonic_increasing and lay["code"].is_unique
        assert lay.is_valid.all()
        rep = bounds.reports[name]
        assert rep["crs"]["epsg"] == 27700 and rep["crs"]["is_bng"] and not rep["crs"]["reprojected"]
        assert rep["grid"]["mixed_fraction"] < 0.2
    assert set(bounds.layer("ward_2022")["code"]) == set(raw.loc[raw["LAD22CD"].str.startswith("E09"), "WD22CD"])
    assert bounds.layer("borough")["code"].str.startswith("E09").all()


def _copy_shp(src: Path, dst_dir: Path, exts=("shp", "shx", "dbf", "prj", "cpg")) -> Path:
    dst_dir.mkdir(parents=True, exist_ok=True)
    for e in exts:
        shutil.copy(src.with_suffix("." + e), dst_dir / (src.stem + "." + e))
    return dst_dir / src.name


def test_esri_wkt_reduced_confidence_is_accepted_and_reported(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp"
    shp = _copy_shp(src, tmp_path)
    shp.with_suffix(".prj").write_text(GLA_PRJ)
    info = detect_crs(GLA_PRJ)
    assert info["epsg"] == 27700 and info["confidence"] < 100 and info["is_bng"]
    lay = load_layer(shp, "borough", code="LAD22CD", label="LAD22NM")
    crs = lay.report["crs"]
    assert crs["epsg"] == 27700 and crs["confidence"] == info["confidence"] and crs["is_bng"]
    assert crs["reprojected"] is False and "confidence" in crs["note"]
    orig = gpd.read_file(src).sort_values("LAD22CD")
    assert lay.gdf.crs.to_epsg() == 27700
    assert shapely.equals_exact(np.asarray(lay.gdf.geometry.array), np.asarray(orig.geometry.array), 0).all()
    # the real files' projection text resolves too, and is reported with its confidence
    real = detect_crs(src.with_suffix(".prj").read_text())
    assert real["epsg"] == 27700 and real["is_bng"] and 0 < real["confidence"] <= 100


def test_lonlat_geojson_is_reprojected(tmp_path: Path, bounds: Boundaries) -> None:
    bng = bounds.layer("borough")
    p = tmp_path / "boroughs_wgs84.geojson"
    bng.to_crs(4326).to_file(p, driver="GeoJSON")
    lay = load_layer(p, "borough84", code="code", label="name")
    assert lay.report["crs"]["epsg"] == 4326 and lay.report["crs"]["reprojected"] is True
    assert lay.gdf.crs.to_epsg() == 27700
    np.testing.assert_allclose(lay.gdf.area.to_numpy(), bng.area.to_numpy(), rtol=1e-6)
    # an interior point of every borough lands in the same borough after the round trip
    b = Boundaries([lay])
    rp = bng.geometry.representative_point()
    got = b.codes("borough84", rp.x.to_numpy(), rp.y.to_numpy())
    assert (got.to_numpy() == bng["code"].to_numpy()).all()


def test_crs_less_file_refused_unless_stated(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp"
    shp = _copy_shp(src, tmp_path, exts=("shp", "shx", "dbf"))
    with pytest.raises(CRSError, match="no CRS"):
        load_layer(shp, "borough", code="LAD22CD")
    lay = load_layer(shp, "borough", code="LAD22CD", crs="EPSG:27700")
    assert lay.report["crs"]["stated_by_caller"] is True and lay.gdf.crs.to_epsg() == 27700
    assert len(lay.gdf) == 33
    with pytest.raises(CRSError, match="file says"):
        load_layer(src, "borough", code="LAD22CD", crs="EPSG:4326")


def test_bow_tie_is_repaired_and_reported() -> None:
    bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    sq = shapely.box(20, 0, 30, 10)
    gdf = gpd.GeoDataFrame({"cd": ["B", "A"], "nm": ["bow", "square"]}, geometry=[bow, sq], crs=27700)
    assert not bow.is_valid
    with pytest.warns(BoundaryWarning, match="repaired 1"):
        lay = load_layer(gdf, "toy", code="cd", label="nm")
    (rep,) = lay.report["repaired"]
    assert rep["code"] == "B" and "Self-intersection" in rep["reason"]
    fixed = lay.gdf.set_index("code").geometry["B"]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and fixed.area == pytest.approx(50.0)
    b = Boundaries([lay])
    # the repaired bow tie is its left and right triangles; below and above the crossing is outside
    got = b.codes("toy", np.array([2.0, 8.0, 25.0, 5.0, 5.0]), np.array([5.0, 5.0, 5.0, 2.0, 8.0]))
    assert got[:3].tolist() == ["B", "B", "A"]
    assert got[3:].isna().all()


def test_overlaps_detected_and_smallest_code_wins() -> None:
    a = shapely.box(0, 0, 10, 10)
    c = shapely.box(5, 0, 15, 10)
    gdf = gpd.GeoDataFrame({"cd": ["Z", "M"]}, geometry=[a, c], crs=27700)
    with pytest.warns(BoundaryWarning, match="overlap"):
        lay = load_layer(gdf, "ov", code="cd")
    assert lay.report["overlaps"][0]["area_m2"] == pytest.approx(50.0)
    with pytest.raises(BoundaryError, match="overlap"):
        load_layer(gdf, "ov", code="cd", overlaps="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_layer(gdf, "ov", code="cd", overlaps="ignore")
    b = Boundaries([lay], cell_size=0.7, grid_threshold=0)
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-2, 17, 20_000), rng.uniform(-2, 12, 20_000)
    x[:4], y[:4] = [7.0, 2.0, 12.0, 5.0], [5.0, 5.0, 5.0, 10.0]
    rows = b.lookup("ov", x, y)
    assert (rows == brute_force(lay.gdf, x, y)).all()
    codes = lay.gdf["code"].to_numpy()
    assert [codes[r] for r in rows[:4]] == ["M", "Z", "M", "M"]


@pytest.mark.parametrize("geom", [
    shapely.LineString([(0, 0), (1, 1)]),
    shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (2, 2)])]),
    shapely.Point(0, 0),
])
def test_non_polygon_layers_rejected(geom) -> None:
    gdf = gpd.GeoDataFrame({"cd": ["A", "B"]}, geometry=[shapely.box(5, 5, 6, 6), geom], crs=27700)
    with pytest.raises(BoundaryError, match="non-polygon"):
        load_layer(gdf, "bad", code="cd")


def test_missing_code_column(shared_data: Path) -> None:
    with pytest.raises(MissingColumnsError, match="WD99CD"):
        load_layer(shared_data / "london_wards_2024_ons" / "london_wards_2024.shp", "w", code="WD99CD")


# --------------------------------------------------------------------------------- assignment
def test_met_months_equal_brute_force_all_layers(bounds: Boundaries, met: gpd.GeoDataFrame) -> None:
    out = assign_areas(met, bounds)
    assert len(out) == len(met) and (out.index == met.index).all()
    assert (out["Crime ID"].fillna("") == met["Crime ID"].fillna("")).all()
    ok = (met["status"] == "ok").to_numpy()
    x = shapely.get_x(np.asarray(met.geometry.array))[ok]
    y = shapely.get_y(np.asarray(met.geometry.array))[ok]
    for name in LAYERS:
        lay = bounds.layer(name)
        expect = brute_force(lay, x, y)
        got = out[name].to_numpy(dtype=object)[ok]
        want = np.where(expect >= 0, lay["code"].to_numpy(dtype=object)[np.maximum(expect, 0)], None)
        same = np.array([(g == w) if w is not None else pd.isna(g) for g, w in zip(got, want)])
        assert same.all(), (name, int((~same).sum()))
        # the plain STRtree path (no grid) gives the same rows
        assert (Boundaries([bounds.get(name)], grid_threshold=10**9).lookup(name, x, y) == expect).all()
    assert (out.loc[~ok, LAYERS].isna().all(axis=1)).all()
    assert set(out.loc[~ok, "area_status"]) == {"no_location"}


def test_random_points_and_boundary_vertices_equal_brute_force(bounds: Boundaries) -> None:
    """Random points plus every vertex of the ward layer (points exactly on edges: the edge rule)."""
    lay = bounds.layer("ward_2022")
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = lay.total_bounds
    xy = shapely.get_coordinates(np.asarray(lay.geometry.array))
    g = bounds.grid("ward_2022")
    # points exactly on grid lines (the lookup sends them to the exact test)
    gx = g.x0 + g.size * rng.integers(0, g.nx, 20_000)
    gy = g.y0 + g.size * rng.integers(0, g.ny, 20_000)
    x = np.concatenate([rng.uniform(x0 - 500, x1 + 500, 100_000), xy[:, 0], gx, rng.uniform(x0, x1, 20_000)])
    y = np.concatenate([rng.uniform(y0 - 500, y1 + 500, 100_000), xy[:, 1], rng.uniform(y0, y1, 20_000), gy])
    got = bounds.lookup("ward_2022", x, y)
    assert (got == brute_force(lay, x, y)).all()
    assert (got[100_000:100_000 + len(xy)] >= 0).all()  # every vertex is covered by its own ward


def test_point_on_shared_edge_gets_smallest_code(bounds: Boundaries) -> None:
    lay = bounds.layer("ward_2022")
    geoms = np.asarray(lay.geometry.array)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="touches")
    i, j = next((i, j) for i, j in zip(a, b) if i < j)
    shared = set(map(tuple, shapely.get_coordinates(geoms[i]))) & set(map(tuple, shapely.get_coordinates(geoms[j])))
    px, py = sorted(shared)[len(shared) // 2]
    pt = shapely.Point(px, py)
    covering = [k for k in range(len(geoms)) if geoms[k].covers(pt)]
    assert i in covering and j in covering  # on the edge of both
    codes = lay["code"].to_numpy()
    df = pd.DataFrame({"Easting": [px, px], "Northing": [py, py]}, index=[10, 3])
    out = assign_areas(df, bounds, ["ward_2022"])
    assert out["ward_2022"].tolist() == [min(codes[k] for k in covering)] * 2
    assert out["area_status"].tolist() == ["ok", "ok"]


def test_outside_and_missing_points_are_kept(bounds: Boundaries) -> None:
    df = pd.DataFrame(
        {
            "id": ["westminster", "reading", "nowhere", "nan", "paris"],
            "Longitude": [-0.1357, -0.9781, 0.0, None, 2.35],
            "Latitude": [51.4975, 51.4543, 0.0, None, 48.85],
        },
        index=[50, 40, 30, 20, 10],
    )
    out = assign_areas(df, bounds, ["ward_2024", "borough"], names=True)
    assert list(out.index) == [50, 40, 30, 20, 10] and out["id"].tolist() == df["id"].tolist()
    assert out.loc[50, "borough"] == "E09000033" and out.loc[50, "borough_name"] == "Westminster"
    assert out.loc[50, "area_status"] == "ok"
    assert out.loc[40, "area_status"] == "outside:ward_2024,borough" and pd.isna(out.loc[40, "borough"])
    assert out.loc[20, "area_status"] == "no_location"
    assert out.loc[30, "area_status"] in ("outside_gb", "invalid_coordinates")
    assert out.loc[[40, 30, 20, 10], ["ward_2024", "borough"]].isna().all().all()
    assert out.crs.to_epsg() == 27700


def test_assign_accepts_easting_northing_and_geodataframe(bounds: Boundaries, met: gpd.GeoDataFrame) -> None:
    sub = met[met["status"] == "ok"].head(500)
    en = pd.DataFrame({"Easting": sub.geometry.x.to_numpy(), "Northing": sub.geometry.y.to_numpy()})
    a = assign_areas(en, bounds, "lsoa_2021")
    wgs = gpd.GeoDataFrame(geometry=sub.geometry.to_crs(4326).reset_index(drop=True), crs=4326)
    c = assign_areas(wgs, bounds, ["lsoa_2021"])
    g = assign_areas(sub, bounds, ["lsoa_2021"])
    assert (a["lsoa_2021"].to_numpy() == g["lsoa_2021"].to_numpy()).all()
    assert (c["lsoa_2021"] == a["lsoa_2021"]).mean() > 0.99  # round trip through lon/lat moves points by ~1e-9 m


def test_bad_and_empty_input(bounds: Boundaries) -> None:
    with pytest.raises(InputError, match="cannot find coordinates"):
        assign_areas(pd.DataFrame({"a": [1]}), bounds, ["borough"])
    with pytest.raises(MissingColumnsError, match="lon_x"):
        assign_areas(pd.DataFrame({"a": [1]}), bounds, ["borough"], x="lon_x", y="a")
    with pytest.raises(BoundaryError, match="no boundary layer named"):
        assign_areas(pd.DataFrame({"Longitude": [0.0], "Latitude": [51.5]}), bounds, ["ward_1999"])
    empty = pd.DataFrame({"Longitude": pd.Series([], dtype=float), "Latitude": pd.Series([], dtype=float)})
    out = assign_areas(empty, bounds, ["ward_2022", "lsoa_2021"])
    assert len(out) == 0
    assert {"Longitude", "Latitude", "ward_2022", "lsoa_2021", "area_status"} <= set(out.columns)


def test_agreement_figures(bounds: Boundaries, met: gpd.GeoDataFrame, shared_data: Path) -> None:
    out = assign_areas(met, bounds, ["ward_2024", "lsoa_2021"])
    lookup = shared_data / "lookups_london" / "LSOA21_to_WD24_LAD24_london.csv"
    w = agreement(out, "ward_2024", "LSOA code", lookup=lookup, lookup_from="LSOA21CD", lookup_to="WD24CD")
    l = agreement(out, "lsoa_2021", "LSOA code")
    # independent computation with a merge
    lk = pd.read_csv(lookup, dtype=str)[["LSOA21CD", "WD24CD"]]
    m = out[["ward_2024", "lsoa_2021", "LSOA code"]].merge(lk, left_on="LSOA code", right_on="LSOA21CD", how="left")
    both = m["ward_2024"].notna() & m["WD24CD"].notna()
    assert w["compared"] == int(both.sum())
    assert w["agree"] == int((m.loc[both, "ward_2024"] == m.loc[both, "WD24CD"]).sum())
    bl = out["lsoa_2021"].notna() & out["LSOA code"].notna()
    assert l["compared"] == int(bl.sum())
    # the documented data-quality figures: about 89 % (wards via LSOA lookup) and 93 % (LSOA)
    assert 0.85 < w["rate"] < 0.93, w
    assert 0.90 < l["rate"] < 0.96, l
    assert policeuk_agreement(out) == {"ward_via_lsoa_lookup": w, "lsoa_vs_policeuk": l}


def test_from_files_geopackage_and_geoparquet(tmp_path: Path, shared_data: Path, bounds: Boundaries, met: gpd.GeoDataFrame) -> None:
    pq = tmp_path / "boroughs.parquet"
    gpd.read_file(shared_data / "london_boroughs_lad22_ons" / "london-2021-lad22-gen20.shp").to_parquet(pq)
    b = Boundaries.from_files([
        {"source": shared_data / "london_wards_2022_ons" / "london_wards_2022_E09only.gpkg", "name": "w22",
         "code": "WD22CD", "label": "WD22NM", "layer": "wards2022", "vintage": "2022-12"},
        {"source": pq, "name": "boro", "code": "LAD22CD", "label": "LAD22NM"},
    ])
    assert b.names == ["w22", "boro"] and b.get("w22").vintage == "2022-12"
    # the derived GeoPackage holds the same 704 wards as the filtered shapefile
    assert (b.layer("w22")["code"].to_numpy() == bounds.layer("ward_2022")["code"].to_numpy()).all()
    out = assign_areas(met, b)
    ref = assign_areas(met, bounds, ["ward_2022", "borough"])
    assert out["w22"].equals(ref["ward_2022"].rename("w22")) and out["boro"].equals(ref["borough"].rename("boro"))
    with pytest.raises(BoundaryError, match="already loaded"):
        b.add(pq, "boro", code="LAD22CD")


# ------------------------------------------------------------------------- one point-in-polygon path
def test_point_codes_is_the_assign_areas_rule_on_shared_edges(bounds: Boundaries) -> None:
    """point_codes (the geocoder's and evaluation's path) gives an edge point the same (smallest) code
    as assign_areas: every vertex of the ward layer lies on one or more ward edges."""
    lay = bounds.layer("ward_2022")
    xy = shapely.get_coordinates(np.asarray(lay.geometry.array))[::7]
    x = np.concatenate([xy[:, 0], [np.nan, 0.0]])
    y = np.concatenate([xy[:, 1], [np.nan, 0.0]])
    got = point_codes(x, y, bounds)
    assert set(got) == {"ward", "lsoa"}  # first ward_* and lsoa_* layers by name
    expect = brute_force(lay, x, y)
    codes = lay["code"].to_numpy(dtype=object)
    want = np.where(expect >= 0, codes[np.maximum(expect, 0)], None)
    assert (got["ward"] == want).all()
    assert got["ward"][-1] is None and got["ward"][-2] is None
    # a plain mapping of GeoDataFrames is loaded as Boundaries: same codes (rows given in reverse order)
    frames = {"ward_2022": lay.iloc[::-1].reset_index(drop=True)}
    again = point_codes(x, y, frames)
    assert set(again) == {"ward_2022"} and (again["ward_2022"] == want).all()
    with pytest.raises(InputError, match="Boundaries"):
        point_codes(x, y, [lay])


def test_missing_registry_layer_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from geocrime import registry
    from geocrime.errors import DataNotFoundError

    def no_data(name: str, **kw: object) -> Path:
        raise DataNotFoundError(f"data source {name!r}: not in the local data directory")

    monkeypatch.setattr(registry, "fetch", no_data)
    with pytest.raises(DataNotFoundError, match=r"boundary layer 'ward_2022'.*geocrime.fetch\('ward_2022'\)"):
        Boundaries.from_registry(["ward_2022"])


# ------------------------------------------------------------------ fast from the first call, cached
def test_every_lookup_path_gives_the_brute_force_answer(bounds: Boundaries, met: gpd.GeoDataFrame, tmp_path: Path) -> None:
    """The exact test, a coarse grid chosen for a call, the finest grid and a grid read back from the
    persistent cache all give the brute-force covers answer (smallest code on edges)."""
    ok = (met["status"] == "ok").to_numpy()
    x = shapely.get_x(np.asarray(met.geometry.array))[ok]
    y = shapely.get_y(np.asarray(met.geometry.array))[ok]
    lay = bounds.get("lsoa_2021")
    want = brute_force(lay.gdf, x, y)
    assert (_exact_strtree(lay, x, y) == want).all()
    for size in (10.0, 37.5, 160.0):
        fresh = load_layer(lay.gdf, "lsoa_2021", code="code", label="name")
        b = Boundaries([fresh], cell_size=size, cache=tmp_path)
        assert b.grid("lsoa_2021").origin == "built"
        assert (b.lookup("lsoa_2021", x, y) == want).all()
        again = Boundaries([load_layer(lay.gdf, "lsoa_2021", code="code", label="name")], cell_size=size, cache=tmp_path)
        g = again.grid("lsoa_2021")
        assert g.origin == "cache" and g.size == b.grid("lsoa_2021").size
        assert (again.lookup("lsoa_2021", x, y) == want).all()


def test_a_first_small_call_builds_no_grid_and_a_large_one_a_grid_that_pays(bounds: Boundaries, tmp_path: Path) -> None:
    lay = bounds.get("ward_2022")
    fresh = load_layer(lay.gdf, "ward_2022", code="code", label="name")
    b = Boundaries([fresh], cache=tmp_path)
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = lay.gdf.total_bounds
    x, y = rng.uniform(x0, x1, 40_000), rng.uniform(y0, y1, 40_000)
    assert plan(fresh, 20_000, b.cell_size) == ("exact", None)
    assert (b.lookup("ward_2022", x, y) == brute_force(lay.gdf, x, y)).all()
    assert fresh._grid is None and not list(tmp_path.iterdir())  # nothing built, nothing cached
    how, size = plan(fresh, 3_000_000, b.cell_size)
    assert how == "build" and b.cell_size <= size < 100  # a fine grid pays for millions of points
    assert plan(fresh, 30_000_000, b.cell_size) == ("build", b.cell_size)
    # and with that grid in the persistent cache, a new process (a fresh layer) reads it instead
    assert plan(load_layer(lay.gdf, "ward_2022", code="code"), 3_000_000, b.cell_size, [size]) == ("cache", size)


def test_corrupt_cache_entry_is_rebuilt_never_trusted(bounds: Boundaries, tmp_path: Path) -> None:
    lay = bounds.get("ward_2022")
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = lay.gdf.total_bounds
    x, y = rng.uniform(x0, x1, 20_000), rng.uniform(y0, y1, 20_000)
    want = brute_force(lay.gdf, x, y)

    def fresh() -> Boundaries:
        return Boundaries([load_layer(lay.gdf, "ward_2022", code="code")], cell_size=80.0, cache=tmp_path)

    first = fresh()
    assert first.grid("ward_2022").origin == "built"
    (entry,) = [d for d in tmp_path.iterdir() if not d.name.startswith(".")]
    lut = entry / "lut.npy"
    data = bytearray(lut.read_bytes())
    body = len(data) // 2
    data[body] ^= 0x01  # one flipped bit in the middle of the table: a wrong polygon for some cells
    lut.write_bytes(bytes(data))
    b = fresh()
    assert b.grid("ward_2022").origin == "built"  # the damaged entry was refused and rebuilt
    assert (b.lookup("ward_2022", x, y) == want).all()
    assert fresh().grid("ward_2022").origin == "cache"  # the rebuilt entry is good again
    (entry / "meta.json").write_text("{")  # unreadable metadata: refused too
    assert fresh().grid("ward_2022").origin == "built"
    # no temporary directories are left behind by the atomic writes
    assert not [d for d in tmp_path.iterdir() if d.name.startswith(".")]
