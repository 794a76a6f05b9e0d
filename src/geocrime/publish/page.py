"""A static public map page (HTML + JS + tiles; any static file host) from gated data only.

Layout of ``out_dir``::

    index.html          the page (no inline script; a Content-Security-Policy allows only 'self')
    page-data.js        ward geometries (EPSG:4326) and the published ward counts, as JSON
    assets/             vendored Leaflet + Leaflet.VectorGrid (see assets/VENDORED.json) + page JS/CSS
    tiles/              the incident tile pyramid (from :func:`geocrime.publish.write_tiles`)

The page never computes new numbers: every ward value shown is a published cell of
``gated.area_counts`` (one crime category and month at a time), suppressed cells are shown as
"fewer than N (or withheld)", so no total can be combined with the page to undo suppression.
Cells outside what the sources cover (``coverage=``, e.g. an :func:`geocrime.analysis.aggregate`
table with its ``covered`` column) are shown as "no data", never as 0.

Reading aids: street tiles under the map (``basemap``, CartoDB Positron with its attribution by
default: the tile requests are the only ones leaving the page; ``basemap=None`` for none), and an
offline reference layer drawn from the gated boundaries (borough outlines and names, ward names
when zoomed in) so the page reads without tiles. The view opens on the data's extent.

Opened from disk (``file://``) the browser cannot read the tile pyramid; the page then draws the
same published map-point counts from ``page-data.js`` (inlined up to ``inline_points_max``
rows) or says on the page how to serve it, instead of silently showing no points.
"""
from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import PublishError
from ._coverage import covered_rows, normalise_coverage
from ._types import GatedData, require_gated
from .tiles import TileSet, read_tile_metadata, write_tiles

_ASSETS = ("leaflet.js", "leaflet.css", "Leaflet.VectorGrid.bundled.min.js", "public_page.js", "VENDORED.json")
_BLUES = ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]  # ColorBrewer Blues, sequential
_SUPPRESSED_COLOUR = "#969696"
#: Basemap providers for the page: name -> (XYZ template, attribution text, CSP img-src host).
BASEMAPS = {
    "carto-positron": ("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png",
                       "\u00a9 OpenStreetMap contributors \u00a9 CARTO", "https://*.basemaps.cartocdn.com"),
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "\u00a9 OpenStreetMap contributors",
            "https://tile.openstreetmap.org"),
}

_CSS = """html,body{margin:0;height:100%;font-family:system-ui,sans-serif;font-size:14px}
#bar{padding:6px 10px;background:#f4f4f4;border-bottom:1px solid #ccc;display:flex;gap:14px;align-items:center;flex-wrap:wrap}
#bar h1{font-size:16px;margin:0 10px 0 0}
#wrap{position:absolute;top:44px;bottom:0;left:0;right:0;display:flex}
#map{flex:1;background:#f7f7f2}
#side{width:260px;padding:8px;overflow:auto;border-left:1px solid #ccc;background:#fff}
.legend-row{display:flex;gap:6px;align-items:center;margin:2px 0}
.swatch{display:inline-block;width:18px;height:12px;border:1px solid #777}
.swatch.dot{width:10px;height:10px;border-radius:50%;background:#e31a1c;border-color:#7f0000}
.legend-title{font-weight:bold;margin-bottom:4px}
.swatch.nodata{background:#fff;border:1px dashed #555}
.code{color:#666;font-size:11px}
#note,.legend-note{font-size:12px;color:#444}
#status.warn{color:#8a1c00;font-weight:bold}
.gc-label{background:none;border:none}
.gc-label span{display:inline-block;transform:translate(-50%,-50%);white-space:nowrap;font:11px sans-serif;color:#333;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}
.gc-label.b span{font:bold 12px sans-serif;color:#222}
"""

_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{img_hosts}; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="assets/leaflet.css">
<link rel="stylesheet" href="assets/page.css">
</head>
<body>
<div id="bar"><h1>{title}</h1>
<label>Month <select id="month"></select></label>
<label>Crime type <select id="crime-type"></select></label>
<span id="status" role="status">{noscript}</span></div>
<div id="wrap"><div id="map"></div>
<div id="side"><div id="legend"></div>
<h3>Highest wards</h3><ol id="top-areas"></ol>
<p id="note">{note}</p></div></div>
<script src="assets/leaflet.js"></script>
<script src="assets/Leaflet.VectorGrid.bundled.min.js"></script>
<script src="page-data.js"></script>
<script src="assets/public_page.js"></script>
</body>
</html>
"""


def _safe_json(obj: Any) -> str:
    """JSON that cannot close a <script> element or start markup wherever it is embedded."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _breaks(values: np.ndarray) -> list[int]:
    """Class lower bounds (counts): 0 then up to five rounded quantiles of the published values."""
    v = values[values > 0]
    if len(v) == 0:
        return [0]
    qs = np.unique(np.ceil(np.quantile(v, [0.0, 0.2, 0.4, 0.6, 0.8, 0.95])).astype(int))
    return [0] + [int(q) for q in qs if q > 0][: len(_BLUES) - 1]


def _covered_cells(ac: pd.DataFrame, coverage: Any, layer: str) -> np.ndarray:
    """Which rows of an area-count table (area_code, month, crime_type) the sources cover.

    ``coverage``: anything :func:`geocrime.publish._coverage.covered_rows` takes (None: all covered;
    an :func:`geocrime.analysis.aggregate` table with ``covered`` and the area codes in a column named
    ``layer`` (or ``area_code``); the gate's ``GatedData.coverage``; one or more ``Coverage``)."""
    keys = pd.DataFrame({layer: ac["area_code"].to_numpy(), "month": ac["month"].to_numpy(),
                         "crime_type": ac["crime_type"].to_numpy()})
    return covered_rows(keys, normalise_coverage(coverage), [layer])


def _areas_payload(gated: GatedData, layer: str | None, simplify_m: float,
                   coverage: Any = None) -> tuple[str, dict[str, Any]]:
    if not gated.area_geometries:
        raise PublishError("gated data has no area geometries; the gate must be given boundaries for a choropleth")
    if layer is None:  # the finest layer published (most areas), e.g. wards rather than boroughs
        have = [k for k in gated.area_geometries if k in gated.area_counts]
        if not have:
            raise PublishError("gated data has area geometries but no area counts for them")
        layer = max(have, key=lambda k: len(gated.area_geometries[k]))
    if layer not in gated.area_geometries or layer not in gated.area_counts:
        raise PublishError(f"area layer {layer!r} not in gated data (have {sorted(gated.area_geometries)})")
    geo = gated.area_geometries[layer]
    if geo.crs is None:
        raise PublishError(f"area geometries for {layer!r} have no CRS; the gate writes EPSG:4326")
    geo = geo.reset_index(drop=True)
    g = geo.geometry
    if simplify_m > 0:
        g = g.to_crs(27700).simplify(simplify_m, preserve_topology=True)
    g = g.to_crs(4326)
    import shapely

    g = shapely.set_precision(np.asarray(g.values), 1e-5)
    feats = []
    codes = geo["area_code"].astype("string").fillna("").tolist()
    names = (geo["area_name"] if "area_name" in geo else geo["area_code"]).astype("string").fillna("").tolist()
    geojson = [json.loads(s) if s is not None else None for s in shapely.to_geojson(g).tolist()]
    for i, (code, name, gj) in enumerate(zip(codes, names, geojson)):
        if gj is None:
            continue
        feats.append({"type": "Feature", "geometry": gj, "properties": {"i": i, "code": code, "name": name}})
    pos = {c: i for i, c in enumerate(codes)}

    ac = gated.area_counts[layer]
    need = {"area_code", "month", "crime_type", "count", "suppressed"}
    if not need <= set(ac.columns):
        raise PublishError(f"area counts for {layer!r} lack columns {sorted(need - set(ac.columns))}")
    ac = ac[ac["area_code"].astype("string").isin(pos)]
    months = sorted(ac["month"].astype("string").dropna().unique().tolist())
    types = sorted(ac["crime_type"].astype("string").dropna().unique().tolist())
    values: dict[str, list[Any]] = {}
    sup = ac["suppressed"].fillna(False).astype(bool).to_numpy()
    cnt = pd.to_numeric(ac["count"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.any(~sup & np.isnan(cnt)):
        raise PublishError("area counts have unsuppressed cells without a count; the gate output is corrupt")
    keys = (ac["month"].astype("string") + "|" + ac["crime_type"].astype("string")).to_numpy()
    idx = ac["area_code"].astype("string").map(pos).to_numpy()
    shown = np.empty(len(ac), dtype=object)  # the value a cell shows: its count, or "s" if suppressed
    shown[:] = [int(v) if v == v else None for v in cnt.tolist()]
    shown[sup] = "s"
    covered = _covered_cells(ac, coverage, layer)
    shown[~covered] = None  # no source covers the cell: "no data", whatever the gate counted there
    order = np.argsort(keys, kind="stable")
    uk, starts = np.unique(keys[order], return_index=True)
    for key, sel in zip(uk, np.split(order, starts[1:])):
        arr = np.full(len(codes), None, dtype=object)
        arr[idx[sel]] = shown[sel]
        values[str(key)] = arr.tolist()
    published = cnt[~sup & ~np.isnan(cnt) & covered]
    per_type = pd.Series(np.where(sup | np.isnan(cnt) | ~covered, 0, cnt),
                         index=ac["crime_type"].astype("string").to_numpy())
    with_data = np.zeros(len(codes), dtype=bool)  # areas with a published count > 0 or a suppressed cell
    with_data[idx[covered & (sup | (np.nan_to_num(cnt) > 0))]] = True
    default_type = str(per_type.groupby(level=0).sum().idxmax()) if len(per_type) else None
    return layer, {
        "default_type": default_type,
        "areas": {"type": "FeatureCollection", "features": feats},
        "area_months": months, "crime_types": types, "values": values,
        "breaks": _breaks(published),
        "any_no_data": bool((~covered).any() or len(ac) < len(codes) * max(len(values), 1)),
        "_with_data": with_data,
    }


def _reference_payload(gated: GatedData, layer: str, simplify_m: float) -> dict[str, Any]:
    """Offline orientation: borough outlines + names, and label points of the layer's areas."""
    import shapely

    out: dict[str, Any] = {"outlines": None, "labels": []}
    geo = gated.area_geometries.get("borough")
    if geo is not None and layer != "borough" and len(geo):
        g = geo.to_crs(27700).simplify(max(simplify_m, 25.0), preserve_topology=True).to_crs(4326)
        g = shapely.set_precision(np.asarray(g.values), 1e-5)
        gj = [json.loads(x) for x in shapely.to_geojson(g).tolist() if x is not None]
        out["outlines"] = {"type": "FeatureCollection",
                           "features": [{"type": "Feature", "geometry": x, "properties": {}} for x in gj]}
        out["labels"] += _label_points(geo, "b")
    out["labels"] += _label_points(gated.area_geometries[layer], "a")
    return out


def _label_points(geo: Any, kind: str) -> list[list[Any]]:
    rp = geo.to_crs(27700).representative_point().to_crs(4326)
    names = (geo["area_name"] if "area_name" in geo else geo["area_code"]).astype(str)
    return [[round(float(y), 5), round(float(x), 5), n, kind] for x, y, n in zip(rp.x, rp.y, names)]


def _inline_points(gated: GatedData, tinfo: dict[str, Any] | None, max_rows: int) -> dict[str, Any] | None:
    """The published map-point counts (the tiles' content) for a page opened from disk: per month,
    summed over the tiles' crime types. None above ``max_rows`` (the page then says how to serve it)."""
    pts = gated.points
    types = (tinfo or {}).get("crime_types_list")
    if types:
        pts = pts[pts["crime_type"].isin(types)]
    per = pts.groupby(["map_point_id", "month"], sort=True)["count"].sum().reset_index()
    if len(per) > max_rows:
        return None
    ids, inv = np.unique(per["map_point_id"].to_numpy(), return_inverse=True)
    loc = pts.drop_duplicates("map_point_id").set_index("map_point_id").loc[ids]
    by_month: dict[str, list[int]] = {}
    for m, grp in per.assign(i=inv).groupby("month", sort=True):
        by_month[str(m)] = np.column_stack([grp["i"].to_numpy(), grp["count"].to_numpy()]).ravel().astype(int).tolist()
    # 5 decimals (~1 m): map points only, never incident positions
    return {"lat": np.round(loc["lat"].to_numpy(float), 5).tolist(), "lon": np.round(loc["lon"].to_numpy(float), 5).tolist(),
            "months": by_month}


def _data_bounds(gated: GatedData, layer: str, with_data: np.ndarray) -> list[float]:
    """The view: areas with published data (a count > 0 or a suppressed cell) in covered cells;
    all published areas when none has data."""
    geo = gated.area_geometries[layer].to_crs(4326).reset_index(drop=True)
    sel = geo[with_data] if with_data.any() else geo
    return [float(v) for v in sel.total_bounds]


def _resolve_tiles(gated: GatedData, out: Path, tiles: Any) -> dict[str, Any] | None:
    if tiles is False:
        return None
    if tiles is None or tiles is True:
        ts = write_tiles(gated, out / "tiles")
        tdir = ts.path
    else:
        tdir = Path(tiles.path if isinstance(tiles, TileSet) else tiles)
        meta = read_tile_metadata(tdir)
        if meta.get("format") not in ("mvt", "png") or not tdir.is_dir():
            raise PublishError("the page shows z/x/y tile directories (format 'mvt' or 'png'); "
                               "write them with write_tiles(..., format='mvt')")
        try:
            tdir.resolve().relative_to(out.resolve())
        except ValueError:
            dest = out / "tiles"
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(tdir, dest)
            tdir = dest
    meta = read_tile_metadata(tdir)
    rel = tdir.resolve().relative_to(out.resolve()).as_posix()
    types = meta.get("crime_types") or []
    return {
        "format": meta["format"], "url": f"{rel}/{meta['tiles']}", "layer": meta["layer"],
        "minzoom": meta["minzoom"], "maxzoom": meta["maxzoom"], "bounds": meta["bounds"],
        "months": meta["months"], "point_zoom": meta["point_zoom"], "cell_px": meta["cell_px"],
        "crime_types_label": ", ".join(types) if 0 < len(types) <= 3 else "all categories",
        "crime_types_list": list(types),
    }


def write_public_page(
    gated: GatedData,
    out_dir: str | Path,
    tiles: TileSet | str | Path | bool | None = None,
    *,
    layer: str | None = None,
    title: str = "Recorded crime map",
    simplify_m: float = 10.0,
    coverage: Any = None,
    basemap: str | None = "carto-positron",
    inline_points_max: int = 200_000,
) -> Path:
    """Write the static public map page into ``out_dir`` and return the path of ``index.html``.

    Parameters
    ----------
    gated:
        Output of ``geocrime.publish.gate()`` (anything else raises :class:`PublishError`).
    tiles:
        ``None`` (default): write an MVT pyramid into ``out_dir/tiles`` with default settings; a
        :class:`TileSet` or a tile directory from :func:`write_tiles` (copied into ``out_dir/tiles``
        when outside ``out_dir``); ``False``: choropleth only.
    layer:
        Area layer of ``gated.area_counts`` for the choropleth (default: the one with most areas).
    simplify_m:
        Ward outlines are simplified with this tolerance in metres (EPSG:27700) for a light page.
    coverage:
        What the sources cover (an ``aggregate()`` table with ``covered`` at this layer, or
        ``Coverage`` objects); other cells read "no data", never 0. Default: ``gated.coverage`` when
        the gate recorded one, else every cell is taken as covered.
    basemap:
        ``"carto-positron"`` (default) or ``"osm"``: street tiles with their attribution (the only
        requests leaving the page; the CSP allows that host only); ``None``: none.
    inline_points_max:
        Published map-point x month rows inlined for a page opened from disk (file://); above it the
        page shows a message saying how to serve it.
    """
    gated = require_gated(gated, "write_public_page")
    if coverage is None:
        coverage = getattr(gated, "coverage", None)
    if basemap is not None and basemap not in BASEMAPS:
        raise PublishError(f"basemap must be one of {sorted(BASEMAPS)} or None; got {basemap!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layer, payload = _areas_payload(gated, layer, simplify_m, coverage)
    with_data = payload.pop("_with_data")
    tinfo = _resolve_tiles(gated, out, tiles)
    data = _page_data(gated, layer, payload, tinfo, with_data, simplify_m, basemap, inline_points_max)
    (out / "page-data.js").write_text("window.GEOCRIME_PAGE = " + _safe_json(data) + ";\n", encoding="utf-8")
    _copy_assets(out)
    note = ("Counts are police-recorded incidents placed at anonymous map points, never at an exact "
            "address; small ward counts are suppressed. Areas, months and crime types the published "
            "sources do not cover show \u201cno data\u201d, not zero.")
    img_hosts = f" {BASEMAPS[basemap][2]}" if basemap else ""
    (out / "index.html").write_text(
        _HTML.format(title=html.escape(title), note=html.escape(note), img_hosts=img_hosts, noscript=""),
        encoding="utf-8")
    return out / "index.html"


def _page_data(gated: GatedData, layer: str, payload: dict[str, Any], tinfo: dict[str, Any] | None,
               with_data: np.ndarray, simplify_m: float, basemap: str | None, inline_max: int) -> dict[str, Any]:
    """Everything page-data.js holds: published cells, tiles, inline points, legend, view."""
    months = sorted(set(payload.pop("area_months")) | set(tinfo["months"] if tinfo else []))
    threshold = gated.params.get("threshold", gated.params.get("min_count"))
    sup_label = (f"fewer than {int(threshold)} (or withheld to protect a small count)"
                 if threshold is not None else "suppressed (small count, or withheld to protect one)")
    points = _inline_points(gated, tinfo, inline_max) if tinfo else None
    return {
        **payload, "layer": layer, "months": months, "tiles": tinfo,
        "colours": _BLUES[: len(payload["breaks"])], "suppressed_colour": _SUPPRESSED_COLOUR,
        "suppressed_label": sup_label,
        "no_data_label": "no data: the published sources do not cover this area, month or crime type",
        "points": points,
        "basemap": ({"url": BASEMAPS[basemap][0], "attribution": BASEMAPS[basemap][1]} if basemap else None),
        "reference": _reference_payload(gated, layer, simplify_m),
        # the view opens on the areas with published data (tiles may hold a few points outside them)
        "bounds": _data_bounds(gated, layer, with_data),
        "all_bounds": [float(v) for v in gated.area_geometries[layer].to_crs(4326).total_bounds],
        "minzoom": int(tinfo["minzoom"]) if tinfo else 8, "maxzoom": int(tinfo["maxzoom"]) if tinfo else 16,
        "gate": {k: v for k, v in gated.params.items() if isinstance(v, (int, float, str, bool))},
    }


def _copy_assets(out: Path) -> None:
    adir = out / "assets"
    adir.mkdir(exist_ok=True)
    src = resources.files("geocrime.publish") / "assets"
    for name in _ASSETS:
        (adir / name).write_bytes((src / name).read_bytes())
    (adir / "page.css").write_text(_CSS, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# headless Chromium: screenshots for the demo and the browser tests
# ---------------------------------------------------------------------------------------------

@dataclass
class BrowserRun:
    """What a headless Chromium run saw: the screenshot (or DOM), every request the local server
    answered (method, path, status), and the browser console lines (errors included)."""

    screenshot: Path | None
    dom: str | None
    requests: list[tuple[str, str, int]]
    console: list[str]
    returncode: int
    #: every URL the page asked for, from Chromium's own network log (NetLog), local or not
    page_urls: list[str] = field(default_factory=list)
    #: the subset of ``page_urls`` addressed to any host other than 127.0.0.1 (must be empty)
    external: list[str] = field(default_factory=list)


def _netlog_page_urls(path: Path) -> list[str]:
    """URLs of requests initiated by pages served from 127.0.0.1, from a Chromium NetLog file.
    (The browser's own background requests have no page initiator and are excluded; they are
    blocked anyway by the host resolver rules.)"""
    if not path.exists():
        raise PublishError(f"Chromium wrote no network log at {path}")
    txt = path.read_text(encoding="utf-8", errors="replace").rstrip()
    try:
        log = json.loads(txt)
    except json.JSONDecodeError:  # written up to the last event when the browser is killed
        log = json.loads(txt.rstrip(",") + "]}")
    types = log.get("constants", {}).get("logEventTypes", {})
    start = types.get("URL_REQUEST_START_JOB")
    urls = []
    for ev in log.get("events", []):
        if ev.get("type") != start:
            continue
        prm = ev.get("params", {})
        local_page = str(prm.get("initiator", "")).startswith("http://127.0.0.1") or \
            "127.0.0.1" in str(prm.get("network_isolation_key", ""))
        if local_page and prm.get("url"):
            urls.append(str(prm["url"]))
    return urls


def chromium_path() -> str:
    """Path of the Debian ``chromium`` binary; :class:`BackendUnavailableError` when missing."""
    import shutil as _sh

    from ..errors import BackendUnavailableError

    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = _sh.which(name)
        if p:
            return p
    raise BackendUnavailableError("headless Chromium not found: install it with `apt-get install -y chromium`")


def render_in_chromium(
    site_dir: str | Path,
    page: str = "index.html",
    *,
    screenshot: str | Path | None = None,
    dump_dom: bool = False,
    window: tuple[int, int] = (1200, 800),
    budget_ms: int = 10_000,
    timeout_s: float = 120.0,
    from_disk: bool = False,
) -> BrowserRun:
    """Serve ``site_dir`` on 127.0.0.1 (random port, HTTP range requests supported) and open
    ``page`` in headless Chromium with every non-local host name made unresolvable, taking a
    screenshot and/or dumping the DOM. Nothing can leave the machine. ``from_disk=True`` opens the
    page as ``file://`` instead (as a user double-clicking index.html would; no file-access flags)."""
    import functools
    import http.server
    import subprocess
    import tempfile
    import threading

    exe = chromium_path()
    site = Path(site_dir).resolve()
    log: list[tuple[str, str, int]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            try:
                log.append((self.command, self.path, int(getattr(code, "value", code))))
            except (TypeError, ValueError):
                log.append((self.command, self.path, 0))

        def log_message(self, *a: Any) -> None:  # quiet
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    port = srv.server_address[1]
    try:
        with tempfile.TemporaryDirectory(prefix="geocrime-chromium-") as prof:
            args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
                    "--hide-scrollbars", f"--user-data-dir={prof}",
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                    "--enable-logging=stderr", "--v=0", f"--log-net-log={prof}/netlog.json",
                    f"--window-size={window[0]},{window[1]}", f"--virtual-time-budget={int(budget_ms)}"]
            shot = None
            if screenshot is not None:
                shot = Path(screenshot).resolve()
                shot.parent.mkdir(parents=True, exist_ok=True)
                args.append(f"--screenshot={shot}")
            if dump_dom:
                args.append("--dump-dom")
            if from_disk:
                path, _, frag = page.partition("#")
                args.append((site / path).as_uri() + (f"#{frag}" if frag else ""))
            else:
                args.append(f"http://127.0.0.1:{port}/{page}")
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s)
            page_urls = _netlog_page_urls(Path(prof) / "netlog.json")
    finally:
        srv.shutdown()
        srv.server_close()
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "net::ERR" in ln]
    if shot is not None and not shot.exists():
        raise PublishError(f"Chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-800:]}")
    from urllib.parse import urlsplit

    external = [u for u in page_urls
                if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname != "127.0.0.1"]
    return BrowserRun(shot, proc.stdout if dump_dom else None, log, console, proc.returncode, page_urls, external)
