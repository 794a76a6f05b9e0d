"""A static public map page (HTML + JS + tiles; any static file host) from gated data only.

Layout of ``out_dir``::

    index.html          the page (no inline script; a Content-Security-Policy allows only 'self')
    page-data.js        ward geometries (EPSG:4326) and the published ward counts, as JSON
    assets/             vendored Leaflet + Leaflet.VectorGrid (see assets/VENDORED.json) + page JS/CSS
    tiles/              the incident tile pyramid (from :func:`geocrime.publish.write_tiles`)

The page never computes new numbers: every ward value shown is a published cell of
``gated.area_counts`` (one crime category and month at a time), suppressed cells are shown as
"fewer than N (or withheld)", so no total can be combined with the page to undo suppression.
No request leaves the machine: all scripts, styles and data are files beside ``index.html``.
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
from ._types import GatedData, require_gated
from .tiles import TileSet, read_tile_metadata, write_tiles

_ASSETS = ("leaflet.js", "leaflet.css", "Leaflet.VectorGrid.bundled.min.js", "public_page.js", "VENDORED.json")
_BLUES = ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
_SUPPRESSED_COLOUR = "#bdbdbd"

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
.code{color:#666;font-size:11px}
#note{font-size:12px;color:#444}
"""

_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="assets/leaflet.css">
<link rel="stylesheet" href="assets/page.css">
</head>
<body>
<div id="bar"><h1>{title}</h1>
<label>Month <select id="month"></select></label>
<label>Crime type <select id="crime-type"></select></label>
<span id="status" role="status"></span></div>
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


def _areas_payload(gated: GatedData, layer: str | None, simplify_m: float) -> tuple[str, dict[str, Any]]:
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
    order = np.argsort(keys, kind="stable")
    uk, starts = np.unique(keys[order], return_index=True)
    for key, sel in zip(uk, np.split(order, starts[1:])):
        arr = np.full(len(codes), None, dtype=object)
        arr[idx[sel]] = shown[sel]
        values[str(key)] = arr.tolist()
    published = cnt[~sup & ~np.isnan(cnt)]
    per_type = pd.Series(np.where(sup | np.isnan(cnt), 0, cnt), index=ac["crime_type"].astype("string").to_numpy())
    default_type = str(per_type.groupby(level=0).sum().idxmax()) if len(per_type) else None
    return layer, {
        "default_type": default_type,
        "areas": {"type": "FeatureCollection", "features": feats},
        "area_months": months, "crime_types": types, "values": values,
        "breaks": _breaks(published),
    }


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
    }


def write_public_page(
    gated: GatedData,
    out_dir: str | Path,
    tiles: TileSet | str | Path | bool | None = None,
    *,
    layer: str | None = None,
    title: str = "Recorded crime map",
    simplify_m: float = 10.0,
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
    """
    gated = require_gated(gated, "write_public_page")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layer, payload = _areas_payload(gated, layer, simplify_m)
    tinfo = _resolve_tiles(gated, out, tiles)
    months = sorted(set(payload.pop("area_months")) | set(tinfo["months"] if tinfo else []))
    threshold = gated.params.get("threshold", gated.params.get("min_count"))
    sup_label = (f"fewer than {int(threshold)} (or withheld to protect a small count)"
                 if threshold is not None else "suppressed (small count, or withheld to protect one)")
    data = {
        **payload, "layer": layer, "months": months, "tiles": tinfo,
        "colours": _BLUES[: len(payload["breaks"])], "suppressed_colour": _SUPPRESSED_COLOUR,
        "suppressed_label": sup_label,
        # the view fits the published areas (tiles may hold a few points outside them)
        "bounds": [float(v) for v in gated.area_geometries[layer].to_crs(4326).total_bounds],
        "minzoom": int(tinfo["minzoom"]) if tinfo else 8, "maxzoom": int(tinfo["maxzoom"]) if tinfo else 16,
        "gate": {k: v for k, v in gated.params.items() if isinstance(v, (int, float, str, bool))},
    }
    (out / "page-data.js").write_text("window.GEOCRIME_PAGE = " + _safe_json(data) + ";\n", encoding="utf-8")
    adir = out / "assets"
    adir.mkdir(exist_ok=True)
    src = resources.files("geocrime.publish") / "assets"
    for name in _ASSETS:
        (adir / name).write_bytes((src / name).read_bytes())
    (adir / "page.css").write_text(_CSS, encoding="utf-8")
    note = ("Counts are police-recorded incidents placed at anonymous map points, never at an exact "
            "address; small ward counts are suppressed.")
    (out / "index.html").write_text(
        _HTML.format(title=html.escape(title), note=html.escape(note)), encoding="utf-8"
    )
    return out / "index.html"


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
) -> BrowserRun:
    """Serve ``site_dir`` on 127.0.0.1 (random port, HTTP range requests supported) and open
    ``page`` in headless Chromium with every non-local host name made unresolvable, taking a
    screenshot and/or dumping the DOM. Nothing can leave the machine."""
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
