"""Internal maps: every layer drawn from real City of London / Met data, offline HTML (no external
reference, renders in headless Chromium with external hosts unresolvable), planted markup escaped
and never executed, large inputs sampled with a note, bad input rejected clearly."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from _maps_testdata import XSS_TEXT, png_stats, read_police, wards_2022

from geocrime.errors import CRSError, InputError
from geocrime.maps import _HOT, _KDE_COLOURS, _SEQ, internal_map, offline_html
from geocrime.publish.page import chromium_path, render_in_chromium


@pytest.fixture(scope="module")
def city(city_files):
    df = read_police(city_files[-6:])
    df.loc[df.index[0], "Location"] = XSS_TEXT
    df.loc[df.index[1], "Crime type"] = XSS_TEXT
    df.loc[df.index[2], "Last outcome category"] = XSS_TEXT
    g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.Longitude.astype(float), df.Latitude.astype(float)),
                         crs=4326).to_crs(27700)
    return g


@pytest.fixture(scope="module")
def city_wards(shared_data):
    w = wards_2022(shared_data)
    w = w[w.LAD22CD == "E09000001"].copy()
    w.loc[w.index[0], "name"] = XSS_TEXT
    return w


def _geojson_layers(m):
    import folium

    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.GeoJson)}


def test_internal_map_layers_and_offline_html(city, city_wards, tmp_path):
    from geocrime.analysis import SquareGrid, kde

    j = gpd.sjoin(city, city_wards[["code", "geometry"]], predicate="within")
    vals = j.groupby("code").size()
    surf = kde(city[city.geometry.within(city_wards.union_all())], SquareGrid.from_extent(city_wards, 50),
               bandwidth=150)
    hot = city_wards.assign(**{"class": np.where(city_wards["code"] == vals.idxmax(), "hot", "not significant")})
    m = internal_map(city, areas=city_wards, values=vals, value_label="incidents", kde=surf, hotspots=hot,
                     popup_fields=["Month", "Crime type", "Location", "Last outcome category"], title="City",
                     heat=True)
    layers = _geojson_layers(m)
    assert set(layers) == {"Choropleth: incidents", "KDE surface", "Hotspot classes", "Boroughs and names (offline)"}
    # choropleth: the ward with most incidents is in the top class, the fewest in the bottom one
    feats = layers["Choropleth: incidents"].data["features"]
    by_code = {f["properties"]["code"]: f["properties"] for f in feats}
    rank = {c: i for i, c in enumerate(_SEQ)}
    ranks = [rank[f["properties"]["_fill"]] for f in feats if f["properties"]["_fill"] in rank]
    assert len(ranks) == len(vals) and len(set(ranks)) >= 3
    assert rank[by_code[vals.idxmax()]["_fill"]] == max(ranks)
    assert rank[by_code[vals.idxmin()]["_fill"]] == 0
    assert by_code[vals.idxmax()]["incidents"] == str(vals.max())
    # KDE: one dissolved polygon per class, covering exactly the non-zero cells
    kf = layers["KDE surface"].data["features"]
    assert 2 <= len(kf) <= 5
    cells = surf.to_geodataframe()
    nz_area = cells[cells.density > 0].area.sum()
    kg = gpd.GeoDataFrame.from_features(kf, crs=4326).to_crs(27700)
    assert abs(kg.area.sum() - nz_area) / nz_area < 1e-3
    assert len(layers["Hotspot classes"].data["features"]) == 1
    html = offline_html(m)
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?:", html)
    assert "leaflet" in html.lower() and "L.markerClusterGroup" in html and "L.heatLayer" in html
    # the month slider covers the months of the data
    months = sorted(city["Month"].unique())
    assert json.dumps(months, separators=(",", ":")) in html
    # planted markup: never raw; escaped as JSON \\u003c in point data, as &lt; in tooltips
    for frag in ("<script>alert(1)</script>", "<img src=x", '" onmouseover="alert(2)"'):
        assert frag not in html
    assert html.count("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e") >= 3
    assert "\\u0026lt;script\\u0026gt;alert(1)" in html or "&lt;script&gt;alert(1)" in html


def test_internal_map_in_chromium_renders_and_planted_markup_never_runs(city, city_wards, tmp_path):
    chromium_path()  # fails (not skips) without Chromium
    j = gpd.sjoin(city, city_wards[["code", "geometry"]], predicate="within")
    m = internal_map(city, areas=city_wards, values=j.groupby("code").size(), value_label="incidents",
                     popup_fields=["Month", "Crime type", "Location", "Last outcome category"])
    site = tmp_path / "site"
    site.mkdir()
    m.save(str(site / "index.html"))
    shot = tmp_path / "internal_map.png"
    run = render_in_chromium(site, screenshot=shot, budget_ms=8000)
    assert [p for _, p, _ in run.requests if p != "/favicon.ico"] == ["/index.html"]  # everything inline
    # Chromium's network log: the only requests leaving 127.0.0.1 are the basemap tiles (blocked here)
    assert run.page_urls and run.external
    assert all(re.match(r"https://[abcd]\.basemaps\.cartocdn\.com/light_all/\d+/\d+/\d+\.png$", u)
               for u in run.external), run.external[:5]
    assert not [ln for ln in run.console if "Uncaught" in ln], run.console
    st = png_stats(shot)
    assert st["non_background"] > 0.2 * st["pixels"], st
    assert st["colours"] > 200, st
    out = os.environ.get("GEOCRIME_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(out) / "internal_map.png")
    # probe: alert leaves a marker; build every popup and the planted ward's tooltip into the DOM
    probe = """<script>window.alert = function () { document.documentElement.setAttribute('data-' + 'pwned', '1'); };
window.addEventListener('load', function () { setTimeout(function () {
  var out = document.createElement('div'); out.id = 'probe-out'; document.body.appendChild(out);
  Object.keys(window).forEach(function (k) {
    var v = window[k];
    if (/^incident_points_/.test(k) && v && v.getLayers) {
      v.getLayers().forEach(function (mk) { var c = mk.getPopup()._content; if (typeof c === 'function') out.appendChild(c(mk)); });
    }
    if (/^geo_json_/.test(k) && v && v.eachLayer) {
      var tt = v.getTooltip && v.getTooltip();  // folium binds the tooltip on the GeoJson group
      if (tt && typeof tt._content === 'function') { v.eachLayer(function (l) { out.appendChild(tt._content(l)); }); }
    }
  });
}, 300); });
</script>"""
    html = (site / "index.html").read_text().replace("<head>", "<head>" + probe, 1)
    (site / "probe.html").write_text(html)
    run = render_in_chromium(site, page="probe.html", dump_dom=True, budget_ms=8000)
    dom = run.dom
    assert 'data-pwned="1"' not in dom and 'id="probe-out"' in dom
    popups = dom.split('id="probe-out"', 1)[1]
    esc = "&lt;script&gt;alert(1)&lt;/script&gt;\" onmouseover=\"alert(2)\" '&gt;&lt;img src=x onerror=alert(3)&gt;"
    assert popups.count(esc) == 4  # Location, Crime type, outcome popups and the ward tooltip show the text
    assert "<img src=\"x\"" not in dom and "<img src=x" not in dom


def test_large_input_is_sampled_with_a_note(city):
    rng = np.random.default_rng(0)
    big = city.sample(60_000, replace=True, random_state=1).reset_index(drop=True)
    big["geometry"] = gpd.points_from_xy(big.geometry.x + rng.normal(0, 20, len(big)),
                                         big.geometry.y + rng.normal(0, 20, len(big)))
    big = gpd.GeoDataFrame(big, geometry="geometry", crs=27700)
    big.loc[:99, "geometry"] = None  # unlocated rows are counted, not dropped silently
    small = internal_map(big.iloc[:5_000], popup_fields=["Month", "Crime type"], max_points=10_000)
    m = internal_map(big, popup_fields=["Month", "Crime type"], max_points=10_000)
    html = offline_html(m)
    assert "random sample of 10,000 of 59,900 located incidents" in html
    assert "100 of 60,000 incidents have no location" in html
    assert len(html) < 6_000_000
    assert len(html) < 3 * len(offline_html(small))  # 12x the rows, bounded page
    # the sample has max_points points and is the same on every run (seeded)
    def points(h):
        return json.loads(re.search(r'var D = (\{"lat":.*?"cluster":(?:true|false)\});', h).group(1))

    # the heat layer is capped too: cells double until few enough bins remain, with a note
    capped = offline_html(internal_map(big, popup_fields=["Month"], max_points=1_000, max_heat_cells=2_000,
                                       heat=True))
    heat = json.loads(re.search(r'var D = (\{"lat":.*?"blur":\d+\});', capped).group(1))
    assert 0 < len(heat["lat"]) <= 2_000 and sum(heat["w"]) == 59_900
    assert re.search(r"Heat layer: all located incidents, binned to (50|100|200|400|800) m cells", capped)
    assert "Heat layer" not in html  # no heat unless asked for

    p1 = points(html)
    assert len(p1["lat"]) == 10_000 and p1["cluster"] is True
    assert p1 == points(offline_html(internal_map(big, popup_fields=["Month", "Crime type"], max_points=10_000)))


def test_bad_input_is_rejected_clearly(city, city_wards):
    with pytest.raises(CRSError, match="no CRS"):
        internal_map(city.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="points"):
        internal_map(city_wards)
    with pytest.raises(InputError, match="popup_fields"):
        internal_map(city, popup_fields=["nope"])
    with pytest.raises(InputError, match="GeoDataFrame"):
        internal_map(city.drop(columns="geometry"))
    with pytest.raises(InputError, match="Series keyed by area code"):
        internal_map(areas=city_wards, values=[1, 2, 3])
    # a basemap is only used when asked for, and then its URL is the only external reference
    m = internal_map(city.iloc[:50], basemap="https://tiles.example.org/{z}/{x}/{y}.png", basemap_attribution="x")
    html = m.get_root().render()
    assert set(re.findall(r"https?://[a-z0-9.]+", html)) >= {"https://tiles.example.org"}
    assert "tiles.example.org" not in offline_html(internal_map(city.iloc[:50]))
    # basemap=None: no tile URL reaches the page
    bare = offline_html(internal_map(city.iloc[:50], basemap=None))
    assert "cartocdn" not in bare and "tile.openstreetmap" not in bare and "{z}/{x}/{y}" not in bare


def test_gi_star_classes_layer_from_hotspot_result(met_burglary_files, shared_data):
    from geocrime.analysis import getis_ord

    w = wards_2022(shared_data).reset_index(drop=True)
    df = read_police(met_burglary_files[:2])
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.Longitude.astype(float), df.Latitude.astype(float)),
                           crs=4326).to_crs(27700)
    counts = gpd.sjoin(pts, w[["code", "geometry"]], predicate="within").groupby("code").size()
    w["count"] = w["code"].map(counts).fillna(0).to_numpy()
    gi = getis_ord("count", areas=w, permutations=199, seed=1, fdr=False)
    m = internal_map(areas=w, values="count", hotspots=gi)
    layer = _geojson_layers(m)["Hotspot classes"]
    fr = gi.to_frame()
    sig = fr[fr["class"].isin(["hot", "cold"])]
    assert len(sig) > 10
    feats = layer.data["features"]
    assert sorted(f["properties"]["code"] for f in feats) == sorted(sig.index)
    for f in feats:
        assert f["properties"]["class"] == sig.loc[f["properties"]["code"], "class"]
        assert f["properties"]["_fill"] == {"hot": "#b2182b", "cold": "#2166ac"}[f["properties"]["class"]]
    with pytest.raises(InputError, match="areas="):
        internal_map(hotspots=gi)


@pytest.fixture(scope="module")
def city_all_wards(city, shared_data):
    """City of London records on ALL London wards (2022), counted per ward with coverage: the City
    police cover the City's 25 wards; the other London wards are no data, not zero."""
    import warnings

    from geocrime.analysis.aggregate import aggregate, area_totals

    w = wards_2022(shared_data)
    j = gpd.sjoin(city, w[["code", "geometry"]], how="left", predicate="within")
    j = j[~j.index.duplicated()].rename(columns={"code": "ward_2022"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agg = aggregate(j, by=["ward_2022", "month", "crime_type"], areas=w, coverage_units="LAD22CD",
                        unknown_areas="drop")
    return w, area_totals(agg, "ward_2022")


def test_default_map_two_layers_basemap_legend_and_no_data(city, city_all_wards):
    import folium

    w, vals = city_all_wards
    assert vals.notna().sum() == 25 and vals.isna().sum() == len(w) - 25
    m = internal_map(city, areas=w, values=vals, value_label="incidents",
                     popup_fields=["Month", "Crime type", "Location"])
    html = offline_html(m)
    # a basemap with its attribution, under a layer control
    tiles = [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
    assert len(tiles) == 1 and "cartocdn.com/light_all" in tiles[0].tiles
    assert "OpenStreetMap contributors" in html and "CARTO" in html and "L.control.layers" in html
    # two data layers by default: the choropleth and the incidents; no heat, no hotspots
    overlays = [c.layer_name for c in m._children.values()
                if getattr(c, "control", False) and getattr(c, "overlay", False)]
    assert overlays == ["Choropleth: incidents", "Incidents (clustered)"], overlays
    assert "L.heatLayer" not in html
    # "no data" is drawn and explained, never a zero class
    feats = _geojson_layers(m)["Choropleth: incidents"].data["features"]
    nodata = [f for f in feats if f["properties"]["_nodata"]]
    assert len(nodata) == len(w) - 25 and all(f["properties"]["incidents"] == "no data" for f in nodata)
    assert {f["properties"]["_fill"] for f in feats if not f["properties"]["_nodata"]} <= set(_SEQ)
    assert "no data: no source covers this area (not zero)" in html
    # palettes never collide: choropleth, KDE and hotspot colours are disjoint sets
    assert not (set(_SEQ) & set(_HOT.values())) and not (set(_SEQ) & set(_KDE_COLOURS))
    assert not (set(_KDE_COLOURS) & set(_HOT.values()))


def test_offline_reference_layer_makes_the_map_readable_without_tiles(city, city_all_wards, tmp_path):
    """Tiles are unreachable in the test browser: borough outlines and ward names from the local
    boundary files still orient the reader; the view is the data's extent (the City), not London."""
    chromium_path()
    w, vals = city_all_wards
    m = internal_map(city, areas=w, values=vals, value_label="incidents", popup_fields=["Month"])
    site = tmp_path / "site"
    site.mkdir()
    m.save(str(site / "index.html"))
    run = render_in_chromium(site, dump_dom=True, budget_ms=8000, window=(1400, 900))
    assert not [ln for ln in run.console if "Uncaught" in ln], run.console
    labels = re.findall(r'class="leaflet-marker-icon gc-label (a|b)[^"]*"[^>]*><span>([^<]+)</span>', run.dom)
    names = {t for k, t in labels if k == "a"}
    assert {"Bishopsgate", "Cheap", "Aldgate"} <= names, sorted(names)[:20]  # City ward names, zoomed in
    shot = tmp_path / "shot.png"
    render_in_chromium(site, screenshot=shot, budget_ms=8000, window=(1400, 900))
    st = png_stats(shot)
    assert st["non_background"] > 0.3 * st["pixels"] and st["colours"] > 200, st
