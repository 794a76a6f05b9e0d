"""Internal (analyst) maps with folium: points, clusters, heat, KDE, choropleths, Gi* classes, a
month slider — one self-contained HTML file that works offline.

    m = internal_map(incidents, areas=wards, values=counts_by_ward, kde=surface, hotspots=gi)
    m.save("map.html")

Input layers may be in EPSG:27700 or EPSG:4326 (any CRS GeoPandas can convert); everything is drawn
in EPSG:4326. Safety and size rules:

* every text value that reaches the page is escaped: point popups are built in the browser with
  ``textContent`` from JSON whose ``<``, ``>`` and ``&`` are ``\\u``-escaped; polygon tooltips get
  ``html.escape``-d values and field names (folium renders those with ``innerHTML``);
* scripts offline: Leaflet, markercluster and leaflet.heat are inlined from the vendored copies in
  ``geocrime/publish/assets`` (see ``VENDORED.json``); the only external requests are the basemap
  tiles (CartoDB Positron by default, with its attribution; ``basemap=None`` for none). Under the
  data layers an offline reference layer (borough outlines and names, area names when zoomed in,
  from the local boundary files) keeps the map readable when the tiles cannot be reached;
* readable by default: at most two data layers (choropleth + incidents as points/clusters); heat,
  KDE and hotspots only when asked for; ColorBrewer schemes that never share a colour (counts
  YlGnBu, KDE Purples, hotspots RdBu) and "no data" grey, dashed, never drawn as a zero;
* large inputs degrade: above ``max_points`` incidents the point layer shows a seeded random sample
  and the heat layer uses all incidents binned to cells of ``heat_cell_m`` metres; a note on the
  map says so. KDE surfaces are dissolved into one polygon per class.

Points, clusters, heat and the month slider are small folium elements that call the vendored
Leaflet plugins directly (``L.markerClusterGroup``, ``L.heatLayer``) with one JSON payload, instead
of ``folium.plugins.MarkerCluster``/``HeatMap``/``TimestampedGeoJson``: those emit one Python object
per marker (a 20,000-point map becomes tens of MB), link CDN copies of their scripts, render popups
with ``innerHTML``, and the time plugins need jQuery, jQuery UI, moment and iso8601 on top.

This module is for internal use: it shows exact locations and free text. Public outputs go through
``geocrime.publish`` only.
"""
from __future__ import annotations

import html
import json
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import CRSError, InputError

__all__ = ["internal_map", "offline_html", "BASEMAPS"]

# ColorBrewer schemes that never share a colour: counts sequential (YlGnBu), KDE sequential
# (Purples), hotspots diverging (RdBu); incidents dark grey; "no data" light grey, dashed.
_SEQ = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]
_KDE_COLOURS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"]
_HOT = {"hot": "#b2182b", "cold": "#2166ac", "HH": "#b2182b", "LL": "#2166ac", "HL": "#ef8a62", "LH": "#67a9cf"}
_HOT_LABELS = {"hot": "hot spot (high, significant)", "cold": "cold spot (low, significant)",
               "HH": "high among high (HH)", "LL": "low among low (LL)", "HL": "high outlier (HL)",
               "LH": "low outlier (LH)"}
_NO_DATA = "#bdbdbd"
_POINT_FILL, _POINT_LINE = "#252525", "#ffffff"

#: Basemap tile providers: name -> (XYZ URL template, attribution). Their tiles are the only
#: external requests an internal map makes.
BASEMAPS = {
    "carto-positron": ("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png",
                       "&copy; OpenStreetMap contributors &copy; CARTO"),
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "&copy; OpenStreetMap contributors"),
}

# clusters in greys like the points (markercluster's default green/yellow/orange would add a palette)
_CLUSTER_CSS = (".marker-cluster-small,.marker-cluster-medium,.marker-cluster-large{background-color:rgba(37,37,37,.25)}"
                ".marker-cluster-small div{background-color:rgba(99,99,99,.85)}"
                ".marker-cluster-medium div{background-color:rgba(60,60,60,.88)}"
                ".marker-cluster-large div{background-color:rgba(20,20,20,.9)}"
                ".marker-cluster div span{color:#fff;font-weight:bold}")
_LABEL_CSS = (".gc-label{background:none;border:none}.gc-label span{display:inline-block;transform:translate(-50%,-50%);"
              "white-space:nowrap;font:11px sans-serif;color:#333;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}"
              ".gc-label.b span{font:bold 12px sans-serif;color:#222;letter-spacing:.02em}")


def _safe_json(obj: Any) -> str:
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _asset(name: str) -> str:
    return (resources.files("geocrime.publish") / "assets" / name).read_text(encoding="utf-8")


def _to_4326(gdf: Any, what: str) -> Any:
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what} must be a GeoDataFrame (got {type(gdf).__name__})")
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; set it (EPSG:27700 for British National Grid metres, "
                       "EPSG:4326 for lon/lat) with .set_crs(...)")
    return gdf.to_crs(4326)


def _esc(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, (float, np.floating)):
        v = int(v) if float(v).is_integer() else f"{float(v):.6g}"
    return html.escape(str(v), quote=True)


# ---------------------------------------------------------------------------------------------
# folium elements with our own (escaped, offline) JavaScript
# ---------------------------------------------------------------------------------------------

def _elements() -> dict[str, type]:
    """The folium element classes, built lazily (no folium import at module import time)."""
    return {"IncidentPoints": _incident_points_class(), "Heat": _heat_class(), "MonthSlider": _month_slider_class(),
            "Note": _note_class(), "Labels": _labels_class()}


def _incident_points_class() -> type:
    from folium.map import Layer
    from jinja2 import Template

    class IncidentPoints(Layer):
        """Circle markers (clustered above a threshold) with popups built with textContent."""

        _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var D = {{ this.payload }};
  var group = D.cluster ? L.markerClusterGroup({chunkedLoading: true, maxClusterRadius: 50})
                        : L.featureGroup();
  function popup(i) {
    return function () {
      var t = document.createElement("table");
      for (var k = 0; k < D.fields.length; k++) {
        var tr = document.createElement("tr");
        var th = document.createElement("th"); th.textContent = D.fields[k];
        var td = document.createElement("td"); td.textContent = D.values[i][k];
        th.style.textAlign = "left"; th.style.paddingRight = "6px";
        tr.appendChild(th); tr.appendChild(td); t.appendChild(tr);
      }
      return t;
    };
  }
  var markers = [];
  for (var i = 0; i < D.lat.length; i++) {
    var mk = L.circleMarker([D.lat[i], D.lon[i]], {radius: 4, color: "#ffffff", weight: 1,
                                                    fillColor: "#252525", fillOpacity: 0.85});
    mk.bindPopup(popup(i), {maxWidth: 360});
    markers.push(mk);
  }
  group.geocrimeSetMonth = function (m) {
    group.clearLayers();
    var keep = [];
    for (var i = 0; i < markers.length; i++) {
      if (m === null || D.month[i] === m) { keep.push(markers[i]); }
    }
    if (group.addLayers) { group.addLayers(keep); } else { keep.forEach(function (x) { group.addLayer(x); }); }
  };
  group.geocrimeSetMonth(null);
  return group;
})();
{% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
{% endmacro %}
""")

        def __init__(self, payload: dict[str, Any], name: str, show: bool = True) -> None:
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "IncidentPoints"
            self.payload = _safe_json(payload)

    return IncidentPoints


def _heat_class() -> type:
    from folium.map import Layer
    from jinja2 import Template

    class Heat(Layer):
        _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var D = {{ this.payload }};
  var layer = L.heatLayer([], {radius: D.radius, blur: D.blur, minOpacity: 0.3});
  layer.geocrimeSetMonth = function (m) {
    var pts = [], mx = 0;
    for (var i = 0; i < D.lat.length; i++) {
      if (m === null || D.month[i] === m) { pts.push([D.lat[i], D.lon[i], D.w[i]]); }
    }
    for (var j = 0; j < pts.length; j++) { if (pts[j][2] > mx) { mx = pts[j][2]; } }
    layer.options.max = Math.max(1, mx * 0.6);
    layer.setLatLngs(pts);
  };
  layer.geocrimeSetMonth(null);
  return layer;
})();
{% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
{% endmacro %}
""")

        def __init__(self, payload: dict[str, Any], name: str, show: bool = True) -> None:
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "Heat"
            self.payload = _safe_json(payload)

    return Heat


def _month_slider_class() -> type:
    from branca.element import MacroElement
    from jinja2 import Template

    class MonthSlider(MacroElement):
        _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var months = {{ this.months }};
  var targets = [{% for t in this.targets %}{{ t }},{% endfor %}];
  var ctl = L.control({position: "bottomleft"});
  ctl.onAdd = function () {
    var div = L.DomUtil.create("div", "geocrime-slider");
    div.style.background = "white"; div.style.padding = "6px 8px"; div.style.borderRadius = "4px";
    div.style.boxShadow = "0 1px 4px rgba(0,0,0,.4)"; div.style.font = "12px sans-serif";
    var label = document.createElement("div"); label.textContent = "Month: all";
    var input = document.createElement("input");
    input.type = "range"; input.min = 0; input.max = months.length; input.value = 0; input.step = 1;
    input.style.width = "220px";
    input.addEventListener("input", function () {
      var k = parseInt(input.value, 10);
      var m = k === 0 ? null : months[k - 1];
      label.textContent = "Month: " + (m === null ? "all" : m);
      targets.forEach(function (t) { t.geocrimeSetMonth(m); });
    });
    div.appendChild(label); div.appendChild(input);
    L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  ctl.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
""")

        def __init__(self, months: list[str], targets: list[str]) -> None:
            super().__init__()
            self._name = "MonthSlider"
            self.months = _safe_json(months)
            self.targets = targets

    return MonthSlider


def _note_class() -> type:
    from branca.element import MacroElement
    from jinja2 import Template

    class Note(MacroElement):
        """A legend or note box: title + rows of (colour, label), all via textContent."""

        _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var D = {{ this.payload }};
  var ctl = L.control({position: D.position});
  ctl.onAdd = function () {
    var div = L.DomUtil.create("div", "geocrime-box");
    div.style.background = "rgba(255,255,255,.92)"; div.style.padding = "6px 8px";
    div.style.borderRadius = "4px"; div.style.font = "12px sans-serif"; div.style.maxWidth = "320px";
    div.style.boxShadow = "0 1px 4px rgba(0,0,0,.4)";
    if (D.title) { var h = document.createElement("div"); h.style.fontWeight = "bold"; h.textContent = D.title; div.appendChild(h); }
    (D.rows || []).forEach(function (r) {
      var row = document.createElement("div");
      var sw = document.createElement("span");
      sw.style.display = "inline-block"; sw.style.width = "14px"; sw.style.height = "10px";
      sw.style.marginRight = "5px"; sw.style.background = r[0]; sw.style.border = "1px solid #777";
      row.appendChild(sw); row.appendChild(document.createTextNode(r[1])); div.appendChild(row);
    });
    if (D.text) { var p = document.createElement("div"); p.textContent = D.text; div.appendChild(p); }
    return div;
  };
  ctl.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
""")

        def __init__(self, title: str | None = None, rows: list[tuple[str, str]] | None = None,
                     text: str | None = None, position: str = "bottomright") -> None:
            super().__init__()
            self._name = "Note"
            self.payload = _safe_json({"title": title, "rows": rows or [], "text": text, "position": position})

    return Note


def _labels_class() -> type:
    from branca.element import MacroElement
    from jinja2 import Template

    class Labels(MacroElement):
        """Place names as text (textContent, never markup): borough names ("b") up to zoom 13, area
        names ("a") from zoom 13, so labels stay legible at every scale."""

        _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var D = {{ this.payload }};
  var map = {{ this._parent.get_name() }};
  var big = L.layerGroup(), small = L.layerGroup();
  D.forEach(function (r) {
    var s = document.createElement("span"); s.textContent = r[2];
    var icon = L.divIcon({className: "gc-label " + r[3], html: s, iconSize: null});
    (r[3] === "b" ? big : small).addLayer(L.marker([r[0], r[1]], {icon: icon, interactive: false, keyboard: false}));
  });
  function update() {
    var z = map.getZoom();
    if (z <= 13) { map.addLayer(big); } else { map.removeLayer(big); }
    if (z >= 13) { map.addLayer(small); } else { map.removeLayer(small); }
  }
  map.on("zoomend", update);
  map.whenReady(update);
})();
{% endmacro %}
""")

        def __init__(self, labels: list[list[Any]]) -> None:
            super().__init__()
            self._name = "Labels"
            self.payload = _safe_json(labels)

    return Labels


@lru_cache(maxsize=1)
def _reference_boroughs() -> Any:
    """London borough outlines (code, name; EPSG:27700, simplified 25 m) from the data registry's
    local copy, or None when it is not on this machine (nothing is downloaded for a map)."""
    import geopandas as gpd

    from . import registry

    try:
        path = registry.fetch("borough", download=False, progress=False)
        g = gpd.read_file(path)
    except Exception:  # noqa: BLE001 - no local copy: the map is drawn without the reference layer
        return None
    code = next((c for c in g.columns if c.upper().endswith("CD")), None)
    name = next((c for c in g.columns if c.upper().endswith("NM")), None)
    if code is None or name is None:
        return None
    g = g.to_crs(27700)
    return gpd.GeoDataFrame({"code": g[code].astype(str), "name": g[name].astype(str)},
                            geometry=g.geometry.simplify(25, preserve_topology=True), crs=27700)


# ---------------------------------------------------------------------------------------------
# layer preparation (vectorised)
# ---------------------------------------------------------------------------------------------

def _months(df: pd.DataFrame, month_col: str | None) -> pd.Series | None:
    col = month_col
    if col is None:
        for c in ("month", "Month", "date", "Date"):
            if c in df.columns:
                col = c
                break
    if col is None:
        return None
    if col not in df.columns:
        raise InputError(f"month column {col!r} not in incidents (columns: {list(df.columns)[:12]})")
    s = df[col]
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m").astype("string")
    s = s.astype("string").str.strip().str.slice(0, 7)
    return s.where(s.str.fullmatch(r"\d{4}-\d{2}"), pd.NA)


def _popup_fields(df: pd.DataFrame, fields: Sequence[str] | None) -> list[str]:
    if fields is not None:
        missing = [f for f in fields if f not in df.columns]
        if missing:
            raise InputError(f"popup_fields not in incidents: {missing}")
        return list(fields)
    geom = df.geometry.name if hasattr(df, "geometry") else None
    return [c for c in df.columns if c != geom][:10]


def _heat_payload(g: Any, mser: pd.Series, heat_cell_m: float, max_heat_cells: int, notes: list[str]) -> dict:
    """Incidents binned per heat cell and month (cell doubled until few enough bins remain)."""
    from ._geo import bng_to_lonlat

    bng = g.geometry.to_crs(27700)
    bx, by = bng.x.to_numpy(), bng.y.to_numpy()
    mcodes, muni = pd.factorize(mser.fillna(""))
    cell = float(heat_cell_m)
    while True:
        cx = np.floor(bx / cell).astype("int64")
        cy = np.floor(by / cell).astype("int64")
        key = (cx - cx.min()) * (cy.max() - cy.min() + 1) + (cy - cy.min())
        key = key * max(len(muni), 1) + mcodes
        uk, w = np.unique(key, return_counts=True)
        if len(uk) <= max_heat_cells:
            break
        cell *= 2
    notes.append(f"Heat layer: all located incidents, binned to {cell:g} m cells"
                 + (" to keep the page small." if cell != heat_cell_m else "."))
    mi = uk % max(len(muni), 1)
    rest = uk // max(len(muni), 1)
    ny = cy.max() - cy.min() + 1
    hb = pd.DataFrame({"cx": rest // ny + cx.min(), "cy": rest % ny + cy.min(), "m": np.asarray(muni, dtype=object)[mi]
                       if len(muni) else "", "w": w})
    hlon, hlat = bng_to_lonlat((hb["cx"].to_numpy() + 0.5) * cell, (hb["cy"].to_numpy() + 0.5) * cell)
    return {"lat": np.round(hlat, 6).tolist(), "lon": np.round(hlon, 6).tolist(), "w": hb["w"].astype(int).tolist(),
            "month": [m or None for m in hb["m"].tolist()], "radius": 12, "blur": 15}


def _incident_payloads(gdf: Any, month_col: str | None, popup_fields: Sequence[str] | None,
                       max_points: int, cluster_threshold: int, heat_cell_m: float, seed: int,
                       max_text: int, max_heat_cells: int = 40_000, with_heat: bool = True
                       ) -> tuple[dict | None, dict | None, list[str], str | None, tuple | None]:
    import shapely

    n_in = len(gdf)
    geoms = gdf.geometry.values
    ok = ~(shapely.is_missing(np.asarray(geoms)) | shapely.is_empty(np.asarray(geoms)))
    types = shapely.get_type_id(np.asarray(geoms))
    if np.any(ok & (types != 0)):
        raise InputError("incidents must be points (got other geometry types); use .representative_point()")
    g = gdf[ok]
    months = _months(g, month_col)
    notes = []
    if n_in - len(g):
        notes.append(f"{n_in - len(g):,} of {n_in:,} incidents have no location and are not shown.")
    if len(g) == 0:
        return None, None, [], " ".join(notes) or None, None
    # heat (on request): all located incidents binned to heat_cell_m (EPSG:27700 metres) per month;
    # the cell doubles until at most max_heat_cells bins remain, so the page stays small for any size
    mser = months if months is not None else pd.Series(pd.NA, index=g.index, dtype="string")
    heat = _heat_payload(g, mser, heat_cell_m, max_heat_cells, notes) if with_heat else None
    month_list = sorted(x for x in mser.dropna().unique().tolist() if x)
    # points: sample above max_points
    if len(g) > max_points:
        rng = np.random.default_rng(seed)
        take = np.sort(rng.choice(len(g), size=max_points, replace=False))
        notes.append(f"Large input: showing a random sample of {max_points:,} of {len(g):,} located incidents "
                     f"(seed {seed}).")
    else:
        take = np.arange(len(g))
    s = g.iloc[take]
    p4326 = s.geometry.to_crs(4326)
    fields = _popup_fields(s, popup_fields)
    vals = s[fields].astype("string").fillna("")
    for c in fields:
        vals[c] = vals[c].str.slice(0, max_text)
    pts = {
        "lat": np.round(p4326.y.to_numpy(), 6).tolist(), "lon": np.round(p4326.x.to_numpy(), 6).tolist(),
        "month": (mser.iloc[take].fillna("").replace("", None).tolist() if months is not None else [None] * len(s)),
        "fields": [str(f) for f in fields], "values": vals.to_numpy().tolist(),
        "cluster": len(s) > cluster_threshold,
    }
    # view: the central 98% of incidents (each incident counts once), so a few stray records far
    # away do not zoom the map out
    q = np.nanquantile(np.column_stack([g.geometry.y.to_numpy(), g.geometry.x.to_numpy()]), [0.01, 0.99], axis=0)
    return pts, heat, month_list, " ".join(notes) or None, (q[0, 0], q[0, 1], q[1, 0], q[1, 1])


def _area_values(areas: Any, values: Any, area_id: str) -> pd.Series:
    if isinstance(values, str):
        if values not in areas.columns:
            raise InputError(f"values column {values!r} not in areas")
        return pd.to_numeric(areas[values], errors="coerce")
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise InputError("values must be a Series keyed by area code, a column name, or a one-column DataFrame")
        values = values.iloc[:, 0]
    if not isinstance(values, pd.Series):
        raise InputError(f"values must be a pandas Series keyed by area code (got {type(values).__name__})")
    if area_id not in areas.columns:
        raise InputError(f"areas have no {area_id!r} column to align values with; pass area_id=")
    return pd.to_numeric(areas[area_id].map(values), errors="coerce")


def _escaped_props(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for c in cols:
        out[html.escape(str(c), quote=True)] = [_esc(v) for v in df[c].tolist()]
    return out


# ---------------------------------------------------------------------------------------------
# the map's layers, one named step each
# ---------------------------------------------------------------------------------------------

class _View:
    """Extents collected while layers are added: (south, west, north, east) in degrees."""

    def __init__(self) -> None:
        self.data: list[tuple[float, float, float, float]] = []
        self.areas: list[tuple[float, float, float, float]] = []

    @staticmethod
    def of(gdf: Any) -> tuple[float, float, float, float]:
        b = gdf.total_bounds
        return (b[1], b[0], b[3], b[2])


def _new_map(title: str | None) -> Any:
    """A folium map with Leaflet inlined from the vendored copy (no CDN), no tiles yet."""
    import folium
    from branca.element import Element

    m = folium.Map(location=[51.5, -0.12], zoom_start=10, tiles=None, control_scale=True, max_zoom=19,
                   prefer_canvas=True)
    m.options["maxZoom"] = 19  # folium only sets it on tile layers; markercluster needs it on the map
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    header.add_child(Element("<style>" + _asset("leaflet.css") + "</style>"), name="geocrime_leaflet_css")
    header.add_child(Element("<script>" + _asset("leaflet.js") + "</script>"), name="geocrime_leaflet_js")
    header.add_child(Element("<style>.folium-map{background:#f4f4ef}" + _LABEL_CSS + "</style>"), name="geocrime_bg")
    if title:
        header.add_child(Element(f"<title>{html.escape(title)}</title>"), name="geocrime_title")
    return m


def _add_basemap(m: Any, basemap: str | None, attribution: str | None) -> None:
    """Street tiles under everything: a named provider (``BASEMAPS``) or an XYZ URL template."""
    import folium

    if not basemap:
        return
    url, attr = BASEMAPS.get(basemap, (basemap, attribution or "basemap"))
    folium.TileLayer(tiles=url, attr=attribution or attr, name="Basemap", overlay=False, control=True,
                     max_zoom=19, subdomains="abcd" if "{s}" in url else "abc").add_to(m)


def _choropleth_classes(finite: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Up to five quantile class bounds and their sequential (YlGnBu) colours."""
    qs = np.unique(np.quantile(finite, [0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    if len(qs) < 2:
        qs = np.array([qs[0], qs[0] + 1])
    n = len(qs) - 1
    colours = [_SEQ[round(i * (len(_SEQ) - 1) / max(n - 1, 1))] for i in range(n)] if n > 1 else [_SEQ[2]]
    return qs, colours


def _add_areas(m: Any, E: dict, areas: Any, values: Any, value_label: str, area_id: str, area_name: str,
               view: _View) -> None:
    """Areas as a quantile choropleth of ``values`` (NaN = no data, grey), or as outlines."""
    import folium
    import geopandas as gpd

    a = _to_4326(areas, "areas")
    view.areas.append(_View.of(a))
    cols = [c for c in (area_name, area_id) if c in a.columns]
    if values is None:
        folium.GeoJson(
            gpd.GeoDataFrame(_escaped_props(a, cols), geometry=a.geometry.values, crs=4326),
            name="Areas", style_function=lambda f: {"fill": False, "color": "#555", "weight": 0.8},
            tooltip=folium.GeoJsonTooltip(fields=[html.escape(c) for c in cols]) if cols else None,
        ).add_to(m)
        return
    v = _area_values(areas, values, area_id).to_numpy(dtype="float64")
    a = a.assign(_value=v)
    finite = v[np.isfinite(v)]
    qs, colours = _choropleth_classes(finite) if len(finite) else (np.array([]), [])
    k = np.clip(np.searchsorted(qs, v, side="right") - 1, 0, max(len(qs) - 2, 0)) if len(qs) else np.zeros(len(v), int)
    fills = np.where(np.isfinite(v), np.asarray(colours + ["#000000"], dtype=object)[k] if colours else _NO_DATA,
                     _NO_DATA)
    props = _escaped_props(a, cols)
    props[html.escape(value_label)] = [_esc(x) if np.isfinite(x) else "no data" for x in v]
    gj = gpd.GeoDataFrame(props.assign(_fill=fills, _nodata=~np.isfinite(v)), geometry=a.geometry.values, crs=4326)
    folium.GeoJson(
        gj, name=f"Choropleth: {html.escape(value_label)}",
        style_function=lambda f: ({"fillColor": _NO_DATA, "color": "#888", "weight": 0.5, "fillOpacity": 0.35,
                                   "dashArray": "3 3"} if f["properties"]["_nodata"] else
                                  {"fillColor": f["properties"]["_fill"], "color": "#555", "weight": 0.6,
                                   "fillOpacity": 0.7}),
        tooltip=folium.GeoJsonTooltip(fields=list(props.columns)),
    ).add_to(m)
    rows = [(colours[i], f"{qs[i]:,.4g} – {qs[i + 1]:,.4g}") for i in range(len(qs) - 1)]
    if (~np.isfinite(v)).any():
        rows.append((_NO_DATA, "no data: no source covers this area (not zero)"))
    m.add_child(E["Note"](title=value_label, rows=rows))
    if len(finite):
        view.data.append(_View.of(a[np.isfinite(v)]))


def _add_kde(m: Any, E: dict, kde: Any, view: _View) -> None:
    """A KDE surface as five quantile classes of the non-zero cells (Purples), one polygon per class."""
    import folium
    import geopandas as gpd
    import shapely

    cells = kde.to_geodataframe(only_inside=True) if hasattr(kde, "to_geodataframe") else kde
    if "density" not in cells.columns:
        raise InputError("kde must be a KDEResult or a GeoDataFrame with a 'density' column")
    cells = _to_4326(cells, "kde cells") if cells.crs is None or cells.crs.to_epsg() != 27700 else cells
    nz = cells[cells["density"] > 0]
    if not len(nz):
        return
    d = nz["density"].to_numpy(dtype="float64")
    qs = np.unique(np.quantile(d, [0.0, 0.5, 0.75, 0.9, 0.97, 1.0]))
    k = np.clip(np.searchsorted(qs, d, side="right") - 1, 0, max(len(qs) - 2, 0))
    geoms, labels, fills = [], [], []
    for c in range(max(len(qs) - 1, 1)):
        sel = np.asarray(nz.geometry.values)[k == c]
        if len(sel):
            geoms.append(shapely.coverage_union_all(sel))
            hi = qs[c + 1] if c + 1 < len(qs) else qs[-1]
            labels.append(f"{qs[c]:,.3g} – {hi:,.3g} per km²")
            fills.append(_KDE_COLOURS[c % len(_KDE_COLOURS)])
    kg = gpd.GeoDataFrame({"density": labels, "_fill": fills}, geometry=geoms, crs=nz.crs).to_crs(4326)
    folium.GeoJson(kg, name="KDE surface",
                   style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "none",
                                             "weight": 0, "fillOpacity": 0.6},
                   tooltip=folium.GeoJsonTooltip(fields=["density"])).add_to(m)
    m.add_child(E["Note"](title="KDE density", rows=list(zip(fills, labels))))
    view.data.append(_View.of(kg))


def _add_hotspots(m: Any, E: dict, hotspots: Any, areas: Any, area_id: str, area_name: str) -> None:
    """Significant Gi* / local Moran classes in a diverging scheme (RdBu): hot red, cold blue."""
    import folium
    import geopandas as gpd

    if hasattr(hotspots, "to_frame") and hasattr(hotspots, "classes"):
        if areas is None or area_id not in areas.columns:
            raise InputError("a HotspotResult needs areas= with an area_id column to draw its classes")
        fr = hotspots.to_frame()
        a = _to_4326(areas, "areas")
        hs = a[[c for c in (area_name, area_id) if c in a.columns] + ["geometry"]].copy()
        hs["class"] = a[area_id].map(fr["class"]).to_numpy()
        hs["z"] = a[area_id].map(fr["z"]).round(2).to_numpy()
        hs["q"] = a[area_id].map(fr["q"]).round(4).to_numpy()
    else:
        if "class" not in hotspots.columns:
            raise InputError("hotspots must be a HotspotResult or a GeoDataFrame with a 'class' column")
        hs = _to_4326(hotspots, "hotspots")
    hs = hs[hs["class"].isin(list(_HOT))]
    if not len(hs):
        return
    cols = [c for c in hs.columns if c != hs.geometry.name]
    props = _escaped_props(hs, cols)
    props["_fill"] = [_HOT[c] for c in hs["class"]]
    folium.GeoJson(gpd.GeoDataFrame(props, geometry=hs.geometry.values, crs=4326), name="Hotspot classes",
                   style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#333",
                                             "weight": 1, "fillOpacity": 0.6},
                   tooltip=folium.GeoJsonTooltip(fields=[c for c in props.columns if c != "_fill"])).add_to(m)
    present = sorted(set(hs["class"]))
    m.add_child(E["Note"](title="Hotspot classes (Gi*/Moran, significant only)",
                          rows=[(_HOT[c], _HOT_LABELS.get(c, c)) for c in present], position="bottomleft"))


def _add_incidents(m: Any, E: dict, incidents: Any, month_col: str | None, popup_fields: Sequence[str] | None,
                   max_points: int, cluster_threshold: int, heat_cell_m: float, max_heat_cells: int,
                   max_text: int, seed: int, heat: bool, points: bool, kde_drawn: bool, view: _View) -> None:
    """Incident points (clustered when many) and, on request, a heat layer; a month slider; a note."""
    from branca.element import Element

    header = m.get_root().header
    g = _to_4326(incidents, "incidents")
    pts, hp, months, note, b = _incident_payloads(g, month_col, popup_fields, max_points, cluster_threshold,
                                                  heat_cell_m, seed, max_text, max_heat_cells, with_heat=heat)
    targets: list[str] = []
    if heat and hp is not None:
        header.add_child(Element("<script>" + _asset("leaflet-heat.js") + "</script>"), name="geocrime_heat_js")
        hl = E["Heat"](hp, name="Heat", show=not kde_drawn)
        m.add_child(hl)
        targets.append(hl.get_name())
    if points and pts is not None:
        if pts["cluster"]:
            header.add_child(Element("<style>" + _asset("MarkerCluster.css") + _asset("MarkerCluster.Default.css")
                                     + _CLUSTER_CSS + "</style>"), name="geocrime_mc_css")
            header.add_child(Element("<script>" + _asset("leaflet.markercluster.js") + "</script>"),
                             name="geocrime_mc_js")
        pl = E["IncidentPoints"](pts, name="Incidents (clustered)" if pts["cluster"] else "Incidents")
        m.add_child(pl)
        targets.append(pl.get_name())
    if b is not None:
        view.data.append(b)
    if months and targets:
        m.add_child(E["MonthSlider"](months, targets))
    if note:
        m.add_child(E["Note"](text=note, position="topleft"))


def _add_reference(m: Any, E: dict, reference: Any, areas: Any, area_name: str) -> None:
    """The offline orientation layer: borough outlines and names, and area names when zoomed in,
    drawn from local boundary files, so the map reads without basemap tiles."""
    import folium
    import geopandas as gpd

    if reference is None or reference is False:
        return
    boroughs = _reference_boroughs() if isinstance(reference, str) and reference == "auto" else reference
    labels: list[list[Any]] = []
    if boroughs is not None:
        if not isinstance(boroughs, gpd.GeoDataFrame):
            raise InputError("reference must be 'auto', None or a GeoDataFrame of polygons with a 'name' column")
        b = _to_4326(boroughs, "reference")
        folium.GeoJson(gpd.GeoDataFrame(geometry=b.geometry.values, crs=4326), name="Boroughs and names (offline)",
                       style_function=lambda f: {"fill": False, "color": "#444", "weight": 1.6, "opacity": 0.8},
                       interactive=False, control=False).add_to(m)
        if "name" in b.columns:
            rp = b.to_crs(27700).representative_point().to_crs(4326)
            labels += [[round(y, 5), round(x, 5), str(n), "b"] for x, y, n in zip(rp.x, rp.y, b["name"])]
    if areas is not None and area_name in areas.columns:
        rp = areas.to_crs(27700).representative_point().to_crs(4326)
        labels += [[round(y, 5), round(x, 5), str(n), "a"] for x, y, n in zip(rp.x, rp.y, areas[area_name])
                   if n is not None and n == n]
    if labels:
        m.add_child(E["Labels"](labels))


def _fit_view(m: Any, view: _View) -> None:
    """Zoom to the data (incidents, valued areas, KDE); to all areas when there is no data."""
    bounds = view.data or view.areas
    if bounds:
        bb = np.array(bounds)
        m.fit_bounds([[bb[:, 0].min(), bb[:, 1].min()], [bb[:, 2].max(), bb[:, 3].max()]])


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------

def internal_map(
    incidents: Any = None,
    *,
    areas: Any = None,
    values: Any = None,
    value_label: str = "count",
    area_id: str = "code",
    area_name: str = "name",
    kde: Any = None,
    hotspots: Any = None,
    popup_fields: Sequence[str] | None = None,
    month_col: str | None = None,
    basemap: str | None = "carto-positron",
    basemap_attribution: str | None = None,
    reference: Any = "auto",
    points: bool = True,
    heat: bool = False,
    max_points: int = 20_000,
    cluster_threshold: int = 500,
    heat_cell_m: float = 25.0,
    max_heat_cells: int = 40_000,
    max_text: int = 300,
    title: str | None = None,
    seed: int = 0,
) -> Any:
    """An analyst's folium map: by default at most two data layers (a choropleth of ``values`` and
    the incidents as points/clusters) over a basemap, with a layer control and legends.

    Parameters
    ----------
    incidents:
        GeoDataFrame of points (any CRS; EPSG:27700 or 4326 typical). Drawn as dark circle markers
        (clustered above ``cluster_threshold``) with popups of ``popup_fields`` (default: the first
        10 non-geometry columns; text cut to ``max_text`` characters). Rows without a location are
        counted in a note, never an error. ``points=False`` leaves them out; ``heat=True`` adds a
        heat layer (off by default: three layers of one thing are unreadable).
    areas, values:
        Polygons with ``area_id`` / ``area_name`` columns and the values to map: a column name of
        ``areas`` or a Series keyed by area code (e.g. ``geocrime.analysis.aggregate.area_totals``).
        Drawn as a quantile choropleth in a sequential ColorBrewer scheme (YlGnBu); NaN is drawn
        grey and dashed as "no data" (no source covers the area), never as a zero.
    kde:
        A ``geocrime.analysis.KDEResult`` or a GeoDataFrame of cells with a ``density`` column
        (per km²): five quantile classes of the non-zero cells (Purples), dissolved per class.
    hotspots:
        A ``geocrime.analysis.HotspotResult`` (ids matched to ``areas[area_id]``) or a GeoDataFrame
        with a ``class`` column ("hot"/"cold"/"HH"/...): significant areas in a diverging scheme
        (RdBu: hot red, cold blue), which shares no colour with the choropleth.
    month_col:
        Month of each incident (``YYYY-MM`` text or datetimes); default ``month``/``Month``/``date``.
        Adds a slider that filters points (and heat) by month.
    basemap, basemap_attribution:
        Street tiles: a name in ``BASEMAPS`` ("carto-positron", default; "osm") or an XYZ URL
        template with its attribution. ``None``: no tiles and no request leaves the page.
    reference:
        The offline orientation layer drawn from local boundary files: ``"auto"`` (default) the
        London boroughs from the data registry's local copy (outlines and names) plus the names of
        ``areas`` when zoomed in; a GeoDataFrame of polygons with ``name``; ``None`` for none. It
        makes the map readable when the basemap tiles cannot be reached.
    max_points:
        Above this many located incidents the point layer is a seeded random sample (note on map).
    heat_cell_m, max_heat_cells:
        Heat bins (metres, EPSG:27700); the cell doubles until at most ``max_heat_cells`` bins remain.

    Returns
    -------
    folium.Map
        Save with ``m.save(path)``; scripts and styles are inlined, the only external references
        are the basemap tiles (none with ``basemap=None``).
    """
    import folium

    E = _elements()
    m = _new_map(title)
    view = _View()
    _add_basemap(m, basemap, basemap_attribution)
    if areas is not None:
        _add_areas(m, E, areas, values, value_label, area_id, area_name, view)
    if kde is not None:
        _add_kde(m, E, kde, view)
    if hotspots is not None:
        _add_hotspots(m, E, hotspots, areas, area_id, area_name)
    _add_reference(m, E, reference, areas, area_name)
    if incidents is not None:
        _add_incidents(m, E, incidents, month_col, popup_fields, max_points, cluster_threshold, heat_cell_m,
                       max_heat_cells, max_text, seed, heat, points, kde is not None, view)
    folium.LayerControl(collapsed=False).add_to(m)
    _fit_view(m, view)
    return m


def offline_html(m: Any) -> str:
    """Render a map to HTML and check it references nothing outside the file (except a basemap)."""
    import re

    out = m.get_root().render()
    ext = re.findall(r"<(?:script|link)[^>]+(?:src|href)=[\"']?(https?:)?//", out)
    if ext:
        raise InputError("the map references external scripts or styles; build it with geocrime.maps.internal_map")
    return out
