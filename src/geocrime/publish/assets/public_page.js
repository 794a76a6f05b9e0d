/* geocrime public map page. Data comes from page-data.js (window.GEOCRIME_PAGE), written by
 * geocrime.publish.write_public_page from gated data only. Every text value is put in the DOM with
 * textContent, never innerHTML, so names typed by people can never become markup. */
(function () {
  "use strict";
  var D = window.GEOCRIME_PAGE;
  if (!D) { return; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  var status = document.getElementById("status");
  var b = D.bounds; // [west, south, east, north] of the areas with published data
  var ab = D.all_bounds || b;
  var fromDisk = window.location.protocol === "file:";
  var map = L.map("map", {
    preferCanvas: true, zoomControl: true, attributionControl: true,
    minZoom: D.minzoom, maxZoom: D.maxzoom + 2, maxBounds: L.latLngBounds([ab[1] - 0.5, ab[0] - 0.8], [ab[3] + 0.5, ab[2] + 0.8])
  });
  map.attributionControl.setPrefix(false);
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);

  // ---- basemap (street tiles, with attribution; the only requests leaving the page)
  // added once the incident tiles have loaded (or after 3 s), so the data never waits for street tiles
  var basemap = D.basemap ? L.tileLayer(D.basemap.url, { attribution: D.basemap.attribution, subdomains: "abcd",
                                                         maxZoom: 20, referrerPolicy: "no-referrer" }) : null;
  function addBasemap() {
    if (basemap && !map.hasLayer(basemap)) { basemap.addTo(map); basemap.bringToBack(); }
  }

  // ---- selectors
  var monthSel = document.getElementById("month");
  var typeSel = document.getElementById("crime-type");
  D.months.forEach(function (m) { var o = el("option", m); o.value = m; monthSel.appendChild(o); });
  monthSel.value = D.months.length ? D.months[D.months.length - 1] : "";
  // a link can choose the month: index.html#month=YYYY-MM
  var hm = /month=(\d{4}-\d{2})/.exec(window.location.hash || "");
  if (hm && D.months.indexOf(hm[1]) >= 0) { monthSel.value = hm[1]; }
  // ... and the view: #z=15&c=51.5074,-0.1278
  var hz = /z=(\d{1,2})/.exec(window.location.hash || ""), hc = /c=(-?[\d.]+),(-?[\d.]+)/.exec(window.location.hash || "");
  if (hz && hc) { map.setView([parseFloat(hc[1]), parseFloat(hc[2])], parseInt(hz[1], 10)); }
  window.geocrimeMap = map;
  D.crime_types.forEach(function (t) { var o = el("option", t); o.value = t; typeSel.appendChild(o); });
  if (D.default_type !== null && D.default_type !== undefined) { typeSel.value = D.default_type; }
  if (D.crime_types.length <= 1) { typeSel.parentNode.style.display = "none"; }

  // ---- ward choropleth: values exactly as published (number, "s" = suppressed, missing = no data)
  function cell(i) {
    var key = monthSel.value + "|" + typeSel.value;
    var arr = D.values[key];
    return arr ? arr[i] : null;
  }
  function colour(v) {
    if (v === "s") { return D.suppressed_colour; }
    if (v === null || v === undefined) { return "#ffffff"; }
    for (var k = D.breaks.length - 1; k >= 0; k--) { if (v >= D.breaks[k]) { return D.colours[k]; } }
    return D.colours[0];
  }
  function label(v) {
    if (v === "s") { return D.suppressed_label; }
    if (v === null || v === undefined) { return "no data"; }
    return String(v);
  }
  function areaStyle(f) {
    var v = cell(f.properties.i);
    if (v === null || v === undefined) {  // no data: outline only, the basemap shows through
      return { color: "#777", weight: 0.6, dashArray: "3 3", fillOpacity: 0, fillColor: "#ffffff" };
    }
    return { color: "#555", weight: 0.6, dashArray: null, fillOpacity: 0.7, fillColor: colour(v) };
  }
  var areas = L.geoJSON(D.areas, {
    style: areaStyle,
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () {
        var d = el("div");
        d.appendChild(el("strong", f.properties.name));
        d.appendChild(el("div", f.properties.code, "code"));
        d.appendChild(el("div", typeSel.value + ", " + monthSel.value + ": " + label(cell(f.properties.i))));
        return d;
      }, { sticky: true });
    }
  }).addTo(map);
  window.geocrimeAreas = areas;

  // ---- offline reference: borough outlines and names, area names when zoomed in (text only)
  var R = D.reference || {};
  map.createPane("reference"); map.getPane("reference").style.zIndex = 420; map.getPane("reference").style.pointerEvents = "none";
  if (R.outlines) {
    L.geoJSON(R.outlines, { pane: "reference", interactive: false,
                            style: { color: "#333", weight: 1.6, opacity: 0.8, fill: false } }).addTo(map);
  }
  var bigLabels = L.layerGroup(), smallLabels = L.layerGroup();
  (R.labels || []).forEach(function (r) {
    var s = el("span", r[2]);
    var icon = L.divIcon({ className: "gc-label " + r[3], html: s, iconSize: null });
    (r[3] === "b" ? bigLabels : smallLabels).addLayer(L.marker([r[0], r[1]], { icon: icon, interactive: false, keyboard: false }));
  });
  function updateLabels() {
    var z = map.getZoom();
    if (z <= 13) { map.addLayer(bigLabels); } else { map.removeLayer(bigLabels); }
    if (z >= 13) { map.addLayer(smallLabels); } else { map.removeLayer(smallLabels); }
  }
  map.on("zoomend", updateLabels);
  updateLabels();

  // ---- incident tiles (vector tiles carry one count per month)
  var tiles = null;
  map.createPane("incidents"); map.getPane("incidents").style.zIndex = 450; // above the wards
  map.getPane("incidents").style.pointerEvents = "none";
  function pointStyle(props, z) {
    var v = props[monthSel.value];
    if (!v) { return []; }
    // low zooms hold sums per grid cell: radius on a log scale, never wider than the cell
    var r = z < D.tiles.point_zoom
      ? Math.max(2, Math.min(D.tiles.cell_px / 2, 1.5 + 1.2 * Math.log2(1 + v)))
      : Math.max(2.5, Math.min(10, 2 + 1.5 * Math.sqrt(v)));
    return { radius: r, fill: true, fillColor: "#e31a1c", fillOpacity: 0.75, color: "#7f0000", weight: 1 };
  }
  var pointNote = null;
  if (D.tiles && fromDisk) {
    // a browser cannot read tile files from disk: draw the same published counts from page-data.js
    if (D.points) {
      tiles = L.layerGroup([], { pane: "incidents" });
      tiles.redraw = function () {
        tiles.clearLayers();
        var arr = D.points.months[monthSel.value] || [];
        var renderer = L.canvas({ pane: "incidents" });
        for (var k = 0; k < arr.length; k += 2) {
          var i = arr[k], v = arr[k + 1];
          tiles.addLayer(L.circleMarker([D.points.lat[i], D.points.lon[i]], {
            renderer: renderer, pane: "incidents", interactive: false,
            radius: Math.max(2.5, Math.min(10, 2 + 1.5 * Math.sqrt(v))),
            fillColor: "#e31a1c", fillOpacity: 0.75, color: "#7f0000", weight: 1 }));
        }
      };
      tiles.addTo(map);
      pointNote = "Opened from disk: incident points drawn from the page's own data file.";
    } else {
      pointNote = "Incident points are not shown when this page is opened from disk: serve the folder " +
        "(e.g. run \u201cpython -m http.server\u201d in it) and open http://localhost:8000/ to see them.";
    }
  } else if (D.tiles && D.tiles.format === "mvt" && L.vectorGrid) {
    var styles = {}; styles[D.tiles.layer] = pointStyle;
    tiles = L.vectorGrid.protobuf(D.tiles.url, {
      vectorTileLayerStyles: styles, rendererFactory: L.canvas.tile, interactive: false, pane: "incidents",
      minZoom: D.tiles.minzoom, maxNativeZoom: D.tiles.maxzoom, maxZoom: D.maxzoom + 2,
      bounds: L.latLngBounds([D.tiles.bounds[1], D.tiles.bounds[0]], [D.tiles.bounds[3], D.tiles.bounds[2]])
    }).addTo(map);
  } else if (D.tiles && D.tiles.format === "png") {
    tiles = L.tileLayer(D.tiles.url, { pane: "incidents", minZoom: D.tiles.minzoom, maxNativeZoom: D.tiles.maxzoom, maxZoom: D.maxzoom + 2 }).addTo(map);
  }
  if (tiles && tiles.once && !fromDisk) { tiles.once("load", addBasemap); window.setTimeout(addBasemap, 3000); }
  else { addBasemap(); }
  var overlays = {}; overlays["Wards"] = areas; if (tiles) { overlays["Incidents (map points)"] = tiles; }
  L.control.layers(null, overlays, { collapsed: false }).addTo(map);

  // ---- legend and table of the highest wards (DOM only)
  var legend = document.getElementById("legend");
  function drawLegend() {
    legend.textContent = "";
    legend.appendChild(el("div", typeSel.value + " per ward, " + monthSel.value, "legend-title"));
    for (var k = 0; k < D.breaks.length; k++) {
      var row = el("div", null, "legend-row");
      var sw = el("span", null, "swatch"); sw.style.background = D.colours[k]; row.appendChild(sw);
      var hi = k + 1 < D.breaks.length ? (D.breaks[k + 1] - 1 > D.breaks[k] ? "\u2013" + (D.breaks[k + 1] - 1) : "") : "+";
      row.appendChild(el("span", String(D.breaks[k]) + hi));
      legend.appendChild(row);
    }
    var rs = el("div", null, "legend-row");
    var s2 = el("span", null, "swatch"); s2.style.background = D.suppressed_colour; rs.appendChild(s2);
    rs.appendChild(el("span", "suppressed: " + D.suppressed_label)); legend.appendChild(rs);
    var rn = el("div", null, "legend-row");
    rn.appendChild(el("span", null, "swatch nodata"));
    rn.appendChild(el("span", D.no_data_label)); legend.appendChild(rn);
    if (tiles) {
      var rp = el("div", null, "legend-row");
      var s3 = el("span", null, "swatch dot"); rp.appendChild(s3);
      rp.appendChild(el("span", "incidents at anonymous map points (" + D.tiles.crime_types_label + ")"));
      legend.appendChild(rp);
    }
    legend.appendChild(el("p", "Small counts are suppressed so that no one can be identified from them; " +
      "a few other cells are withheld too, so that totals cannot reveal a suppressed count.", "legend-note"));
    if (pointNote) { legend.appendChild(el("p", pointNote, "legend-note")); }
  }
  var top = document.getElementById("top-areas");
  function drawTop() {
    top.textContent = "";
    var rows = [];
    D.areas.features.forEach(function (f) {
      var v = cell(f.properties.i);
      if (typeof v === "number") { rows.push([v, f.properties.name]); }
    });
    rows.sort(function (a, b2) { return b2[0] - a[0]; });
    rows.slice(0, 8).forEach(function (r) { top.appendChild(el("li", r[1] + ": " + r[0])); });
  }
  function refresh() {
    areas.setStyle(areaStyle);
    if (tiles && tiles.redraw) { tiles.redraw(); }
    drawLegend(); drawTop();
    status.textContent = "Showing " + typeSel.value + " for " + monthSel.value;
    if (pointNote && !D.points) { status.textContent += " \u2014 " + pointNote; status.className = "warn"; }
    document.body.setAttribute("data-rendered", monthSel.value);
    document.body.setAttribute("data-points", tiles ? (fromDisk ? "inline" : "tiles") : (pointNote ? "message" : "none"));
  }
  monthSel.addEventListener("change", refresh);
  typeSel.addEventListener("change", refresh);
  refresh();
})();
