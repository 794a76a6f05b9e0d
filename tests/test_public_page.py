"""The static public page in real headless Chromium (Debian `chromium`; the test FAILS without it):
it renders the ward choropleth and the incident tiles, loads only local files, honours the month
selector, shows suppressed cells as such, and planted HTML/script in names never becomes markup."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from _maps_testdata import XSS_TEXT, gated_from_police_uk, png_stats, read_police

from geocrime.errors import PublishError
from geocrime.publish.page import chromium_path, render_in_chromium, write_public_page

_PROBE = """window.alert = function () { document.documentElement.setAttribute('data-xss', 'alert'); };
window.addEventListener('load', function () {
  setTimeout(function () {
    var out = document.createElement('div'); out.id = 'probe-out'; document.body.appendChild(out);
    if (window.geocrimeAreas) {
      window.geocrimeAreas.eachLayer(function (l) {
        if (l.feature && l.feature.properties.code === window.PROBE_CODE) {
          l.openTooltip(l.getBounds().getCenter());
          var c = l.getTooltip()._content; out.appendChild(typeof c === 'function' ? c(l) : document.createTextNode(c));
        }
      });
    }
  }, 500);
});
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_path()  # raises (test error, not skip) when Chromium is missing


@pytest.fixture(scope="module")
def xss_case(met_burglary_files, shared_data):
    """Met burglary through the (stand-in) gate with the busiest ward renamed to planted markup and
    some incidents' crime type replaced by it."""
    from _maps_testdata import run_gate

    g0 = gated_from_police_uk(met_burglary_files[:1], shared_data)  # one month keeps the gate quick
    ac = g0.area_counts["ward_2022"]
    busiest = ac[ac.crime_type == "Burglary"].groupby("area_code")["count"].sum().idxmax()
    df = read_police(met_burglary_files[:1])
    df.loc[df.index[:400], "Crime type"] = XSS_TEXT
    return run_gate(df, shared_data, area_names={busiest: XSS_TEXT}), busiest


_BASEMAP_TILE = re.compile(r"https://[abcd]\.basemaps\.cartocdn\.com/light_all/\d+/\d+/\d+\.png$")


def _local_only(run, site: Path, basemap: bool = True) -> None:
    # every request went to our server and every page asset was served; the only requests leaving
    # 127.0.0.1 are basemap tiles (unresolvable in this browser), none at all without a basemap
    paths = [p for _, p, _ in run.requests]
    for need in ("/index.html", "/page-data.js", "/assets/leaflet.js", "/assets/leaflet.css",
                 "/assets/Leaflet.VectorGrid.bundled.min.js", "/assets/public_page.js"):
        assert need in paths, need
    assert all(code == 200 for _, p, code in run.requests if not p.startswith("/tiles/") and p != "/favicon.ico")
    local = [u for u in run.page_urls if u not in run.external]
    assert len(local) >= len(run.requests) - 1
    if basemap:
        assert run.external and all(_BASEMAP_TILE.match(u) for u in run.external), run.external[:5]
    else:
        assert run.external == []
    for f in [site / "index.html", site / "page-data.js", site / "assets" / "public_page.js"]:
        txt = f.read_text()
        assert not re.search(r"(src|href)\s*=\s*[\"']?https?://", txt), f
        urls = re.findall(r"https?://[^\s\"';]+", txt)
        allowed = ("https://{s}.basemaps.cartocdn.com/", "https://*.basemaps.cartocdn.com") if basemap else ()
        assert all(u.startswith(allowed) or u.startswith("http://127.0.0.1") or u.startswith("http://localhost")
                   for u in urls), (f, urls)


def test_public_page_renders_offline(chromium, met_burglary_files, shared_data, tmp_path):
    gated = gated_from_police_uk(met_burglary_files, shared_data)
    site = tmp_path / "site"
    index = write_public_page(gated, site)
    assert index == site / "index.html"
    shot = tmp_path / "public_page.png"
    run = render_in_chromium(site, screenshot=shot, budget_ms=10_000)
    _local_only(run, site)
    tiles = [(p, c) for _, p, c in run.requests if p.startswith("/tiles/")]
    assert sum(c == 200 for _, c in tiles) >= 4, tiles[:10]
    dom = render_in_chromium(site, dump_dom=True, budget_ms=6000).dom
    assert "OpenStreetMap contributors" in dom and "CARTO" in dom  # the basemap's attribution
    assert 'data-points="tiles"' in dom
    # the legend explains suppression and "no data"
    assert "suppressed: fewer than 5" in dom and "no data: the published sources do not cover" in dom
    assert "cannot reveal a suppressed count" in dom
    # offline reference: borough names from the gated boundaries (no tiles reach this browser)
    assert re.search(r'gc-label b[^"]*"[^>]*><span>Camden</span>', dom)
    st = png_stats(shot)
    # choropleth blues and incident reds both drawn over a large part of the view
    assert st["blue"] > 20_000, st
    assert st["red"] > 3_000, st
    assert st["non_background"] > 0.25 * st["pixels"], st
    out = os.environ.get("GEOCRIME_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(out) / "public_page.png")


def test_month_selector_and_suppressed_cells(chromium, met_burglary_files, shared_data, tmp_path):
    gated = gated_from_police_uk(met_burglary_files, shared_data)
    site = tmp_path / "site"
    write_public_page(gated, site)
    data = json.loads((site / "page-data.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    assert data["months"] == [f"2024-0{i}" for i in range(1, 7)]
    # every published value is exactly a gate cell; suppressed cells carry no number
    ac = gated.area_counts["ward_2022"]
    codes = [f["properties"]["code"] for f in data["areas"]["features"]]
    arr = data["values"]["2024-03|Burglary"]
    sub = ac[(ac.month == "2024-03") & (ac.crime_type == "Burglary")].set_index("area_code")
    for i, code in enumerate(codes):
        if code not in sub.index:  # outside the Met extract's coverage (the City): no cell, "no data"
            assert arr[i] is None
            continue
        row = sub.loc[code]
        assert arr[i] == ("s" if row["suppressed"] else int(row["count"]))
    assert sum(v is None for v in arr) == len(codes) - len(sub)
    assert f"fewer than {gated.params['threshold']}" in data["suppressed_label"]
    assert data["layer"] == "ward_2022"  # the finest layer is the default
    doms = {}
    for m in ("2024-01", "2024-06"):
        run = render_in_chromium(site, page=f"index.html#month={m}", dump_dom=True, budget_ms=6000)
        doms[m] = run.dom
        assert f'data-rendered="{m}"' in run.dom
        assert f"Burglary for {m}" in run.dom
    top = {m: re.search(r'<ol id="top-areas">(.*?)</ol>', d, re.S).group(1) for m, d in doms.items()}
    assert top["2024-01"] != top["2024-06"]
    # the highest ward listed for a month is the gate's highest published cell that month
    names = gated.area_geometries["ward_2022"].set_index("area_code")["area_name"]
    for m, html_ in top.items():
        sub = ac[(ac.month == m) & (ac.crime_type == "Burglary") & ~ac.suppressed.astype(bool)]
        top_n = int(sub["count"].astype(int).max())
        best = {f"{names[c]}: {top_n}".replace("&", "&amp;") for c in sub.loc[sub["count"].astype(int) == top_n, "area_code"]}
        assert re.search(r"<li>(.*?)</li>", html_).group(1) in best


def test_planted_markup_is_escaped_and_never_runs(chromium, xss_case, tmp_path):
    gated, code = xss_case
    site = tmp_path / "site"
    write_public_page(gated, site)
    raw_fragments = ["<script>alert(1)</script>", '" onmouseover=', "<img src=x"]
    for f in [site / "index.html", site / "page-data.js"]:
        txt = f.read_text()
        for frag in raw_fragments[::2]:
            assert frag not in txt, (f, frag)
    assert '" onmouseover=' not in (site / "index.html").read_text()
    # in the JSON data the quote only ever appears escaped inside a string
    data_js = (site / "page-data.js").read_text()
    assert data_js.count('" onmouseover=') == data_js.count('\\" onmouseover=') > 0
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in (site / "page-data.js").read_text()
    # probe: alert() leaves a marker; open the planted ward's tooltip and copy its content into the DOM
    (site / "probe.js").write_text(_PROBE + f"window.PROBE_CODE = {json.dumps(code)};\n")
    html_ = (site / "index.html").read_text().replace("<head>", '<head>\n<script src="probe.js"></script>', 1)
    (site / "probe.html").write_text(html_)
    run = render_in_chromium(site, page="probe.html", dump_dom=True, budget_ms=8000)
    dom = run.dom
    assert 'data-xss' not in dom
    assert "probe-out" in dom
    esc = "&lt;script&gt;alert(1)&lt;/script&gt;\" onmouseover=\"alert(2)\" '&gt;&lt;img src=x onerror=alert(3)&gt;"
    probe = dom.split('id="probe-out"', 1)[1]
    assert esc in probe  # the tooltip shows the name as text
    top = re.search(r'<ol id="top-areas">(.*?)</ol>', dom, re.S).group(1)
    assert esc in top  # the busiest ward list shows it as text too
    assert "<option" in dom and esc in dom.split('id="crime-type"', 1)[1].split("</select>", 1)[0]
    assert "<img src=\"x\"" not in dom and "<img src=x" not in dom
    assert dom.count("<script") == html_.count("<script")  # no script element was added


def test_external_request_detection_works(chromium, tmp_path):
    """Negative control for the check above: a page that does reach out is caught."""
    (tmp_path / "index.html").write_text('<html><body><img src="http://example.com/x.png">'
                                         '<script src="https://cdn.example.org/lib.js"></script></body></html>')
    run = render_in_chromium(tmp_path, dump_dom=True, budget_ms=2000)
    assert sorted(run.external) == ["http://example.com/x.png", "https://cdn.example.org/lib.js"]


def test_page_accepts_only_gated_data(met_burglary_files, shared_data, tmp_path):
    gated = gated_from_police_uk(met_burglary_files[:1], shared_data)
    with pytest.raises(PublishError, match="gate"):
        write_public_page(gated.points, tmp_path / "a")
    with pytest.raises(PublishError, match="not in gated data"):
        write_public_page(gated, tmp_path / "b", layer="lsoa_2021", tiles=False)
    pd.testing.assert_frame_equal(gated.points, gated.points)  # writer did not mutate the gate output


def test_page_with_png_tiles_or_no_tiles(chromium, met_burglary_files, shared_data, tmp_path):
    from geocrime.publish.tiles import write_tiles

    gated = gated_from_police_uk(met_burglary_files, shared_data)
    ts = write_tiles(gated, tmp_path / "png_tiles", minzoom=8, maxzoom=12, format="png")
    site = tmp_path / "site"
    write_public_page(gated, site, tiles=ts)  # outside the site: copied in
    assert (site / "tiles" / "metadata.json").exists()
    run = render_in_chromium(site, screenshot=tmp_path / "png.png", budget_ms=6000)
    assert all(_BASEMAP_TILE.match(u) for u in run.external), run.external[:5]  # basemap tiles only
    assert sum(c == 200 for _, p, c in run.requests if p.startswith("/tiles/") and p.endswith(".png")) >= 4
    plain = tmp_path / "plain"
    write_public_page(gated, plain, tiles=False)
    assert not (plain / "tiles").exists()
    run = render_in_chromium(plain, screenshot=tmp_path / "plain.png", budget_ms=4000)
    st = png_stats(tmp_path / "plain.png")
    assert st["blue"] > 20_000 and st["red"] < 500, st  # choropleth only, no incident layer
    with pytest.raises(PublishError, match="directories"):
        write_public_page(gated, tmp_path / "pm", tiles=write_tiles(gated, tmp_path / "a.pmtiles", minzoom=8,
                                                                    maxzoom=9, format="pmtiles"))


def test_page_from_disk_draws_points_or_says_why(chromium, met_burglary_files, shared_data, tmp_path):
    """file://: a browser cannot read tile files from disk; the page draws the same published
    counts from page-data.js, or (above inline_points_max) says on the page how to serve it."""
    gated = gated_from_police_uk(met_burglary_files, shared_data)
    site = tmp_path / "site"
    write_public_page(gated, site, basemap=None)
    run = render_in_chromium(site, dump_dom=True, budget_ms=8000, from_disk=True)
    assert 'data-points="inline"' in run.dom and "Opened from disk" in run.dom
    assert not [ln for ln in run.console if "Uncaught" in ln], run.console
    shot = tmp_path / "disk.png"
    render_in_chromium(site, screenshot=shot, budget_ms=8000, from_disk=True)
    assert png_stats(shot)["red"] > 1_000  # the points are drawn
    # the inlined points are exactly the gate's published point counts of each month
    data = json.loads((site / "page-data.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    for m, arr in data["points"]["months"].items():
        assert sum(arr[1::2]) == int(gated.points.loc[gated.points["month"] == m, "count"].sum())
    small = tmp_path / "small"
    write_public_page(gated, small, basemap=None, inline_points_max=10)
    run = render_in_chromium(small, dump_dom=True, budget_ms=8000, from_disk=True)
    assert 'data-points="message"' in run.dom
    status = re.search(r'<span id="status"[^>]*>(.*?)</span>', run.dom, re.S).group(1)
    assert "python -m http.server" in status
    # over HTTP the same page uses its tiles and makes no external request at all (no basemap)
    run = render_in_chromium(small, dump_dom=True, budget_ms=6000)
    assert 'data-points="tiles"' in run.dom
    _local_only(run, small, basemap=False)


@pytest.fixture(scope="module")
def city_gated(city_files, shared_data):
    """City of London records 2024 through the gate over ALL London wards, and the coverage of the
    same records from aggregate(): the City police cover the City's 25 wards only."""
    import warnings

    import geopandas as gpd
    from _maps_testdata import run_gate, wards_2022

    from geocrime.analysis.aggregate import aggregate

    df = read_police([f for f in city_files if f.name.startswith("2024-0")])
    gated = run_gate(df, shared_data)
    w = wards_2022(shared_data)
    pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.Longitude.astype(float), df.Latitude.astype(float)),
                           crs=4326).to_crs(27700)
    j = gpd.sjoin(pts, w[["code", "geometry"]], how="left", predicate="within")
    j = j[~j.index.duplicated()].rename(columns={"code": "ward_2022"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cov = aggregate(j, by=["ward_2022", "month", "crime_type"], areas=w, coverage_units="LAD22CD",
                        unknown_areas="drop")
    return gated, cov, w


def test_city_page_shows_no_data_outside_the_city_and_opens_on_it(chromium, city_gated, tmp_path):
    gated, cov, w = city_gated
    city_codes = set(w.loc[w["LAD22CD"] == "E09000001", "code"])
    old = tmp_path / "old"
    write_public_page(gated, old, tiles=False)
    d0 = json.loads((old / "page-data.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    codes = [f["properties"]["code"] for f in d0["areas"]["features"]]
    # without coverage= the page draws the coverage the gate inferred and recorded (the City force covers the
    # City): "no data" outside the City, never the gate's zeros across London
    for arr in d0["values"].values():
        assert all(v is None for c, v in zip(codes, arr) if c not in city_codes)
    site = tmp_path / "site"
    write_public_page(gated, site, tiles=False, coverage=cov)
    d = json.loads((site / "page-data.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    for key, arr in d["values"].items():
        outside = [v for c, v in zip(codes, arr) if c not in city_codes]
        inside = [v for c, v in zip(codes, arr) if c in city_codes]
        assert all(v is None for v in outside), key  # no data, never 0
        assert all(v is not None for v in inside), key  # the City's cells are published (number or "s")
    # the view opens on the City, not on London
    west, south, east, north = d["bounds"]
    assert east - west < 0.06 and north - south < 0.03, d["bounds"]
    shot = tmp_path / "city.png"
    render_in_chromium(site, screenshot=shot, budget_ms=6000)
    dom = render_in_chromium(site, dump_dom=True, budget_ms=6000).dom
    assert re.search(r'gc-label a[^"]*"[^>]*><span>Bishopsgate</span>', dom)  # ward names at the City's zoom
    top = re.search(r'<ol id="top-areas">(.*?)</ol>', dom, re.S).group(1)
    assert top.count("<li>") >= 1
    with pytest.raises(PublishError, match="do not match layer"):
        write_public_page(gated, tmp_path / "bad", tiles=False,
                          coverage=cov.rename(columns={"ward_2022": "area_code"}).assign(area_code="X"))
