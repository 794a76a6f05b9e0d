"""Public map tiles from gated data: an XYZ pyramid (EPSG:3857 web-mercator tiles, EPSG:4326 input).

Only :class:`~geocrime.publish._types.GatedData` is accepted (:func:`require_gated`), so the tiles
can only ever show anonymous map points and their counts.

What the tiles hold
-------------------
* zooms ``>= point_zoom`` (default 14): one feature per anonymous map point, at the map point's
  position, with its total count and its count per month;
* lower zooms: map points falling in the same grid cell of ``cell_px`` screen pixels (default 16 px,
  i.e. 16 x 16 cells per 256-px tile) are summed into one feature placed at the cell centre, so
  low zooms never reveal positions finer than the cell;
* a minimum total count per feature per zoom (``min_count``): features below it are dropped at that
  zoom (they still appear once zoomed in far enough for their own minimum).

Formats (chosen by measurement, see ``benchmarks/bench_tiles.py`` and :data:`FORMAT_NOTE`):
``"mvt"`` (default) a directory ``z/x/y.pbf`` of Mapbox vector tiles, served by any static host;
``"pmtiles"`` the same vector tiles in one PMTiles archive (needs HTTP range requests);
``"png"`` a directory ``z/x/y.png`` of raster tiles of the all-months totals.

Measured (``benchmarks/bench_tiles.py``, 1,000,000 synthetic incidents around Code-Point units,
6 months, through the gate -> 11,332 map points, z8-16, this 2-core machine): MVT directory 9,682
tiles, 2.8 MB, 6.3 s; PMTiles 2.9 MB, 3.7 s; PNG 11.2 MB, 65.2 s (10x slower, 3.9x larger, and
without the months). MVT wins on size, time and function; the directory form wins on hosting.

Tile maths: positions are projected with the spherical-mercator formulas of :mod:`mercantile`
applied to whole numpy arrays (mercantile itself has no batch API); tests check every tile index
against ``mercantile.tile``. Vector tiles are encoded by ``mapbox-vector-tile``, archives written
by ``pmtiles``.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd

from ..errors import PublishError
from ._types import GatedData, require_gated

#: Name of the vector-tile layer holding the counts.
LAYER = "incidents"
#: Vector tile extent (MVT default).
EXTENT = 4096
#: Default minimum total count a feature needs to be drawn at a zoom (zooms not listed: 1).
DEFAULT_MIN_COUNT: dict[int, int] = {8: 5, 9: 5, 10: 3, 11: 3, 12: 2, 13: 2}
FORMATS = ("mvt", "pmtiles", "png")
_MAX_LAT = 85.0511287798066

FORMAT_NOTE = (
    "Vector tiles (MVT) in a z/x/y.pbf directory are the default: they carry the count per month, so "
    "one pyramid serves the page's month selector (raster PNG would need one pyramid per month), they "
    "are smaller and faster to write than PNG (see benchmarks/bench_tiles.py), and a plain directory "
    "is served by any static host, whereas a PMTiles archive needs HTTP range requests. PMTiles is "
    "offered for hosts that support range requests and want a single file."
)


@dataclass(frozen=True)
class TileSet:
    """A written tile pyramid.

    ``path`` is the directory (or the ``.pmtiles`` file); ``url_template`` the tile URL relative
    to ``path`` (``{z}/{x}/{y}.pbf``); ``bounds`` (west, south, east, north) in EPSG:4326 degrees;
    ``seconds`` the time per stage.
    """

    path: Path
    format: str
    minzoom: int
    maxzoom: int
    tile_count: int
    total_bytes: int
    feature_count: int
    months: list[str]
    bounds: tuple[float, float, float, float]
    url_template: str | None
    metadata: dict[str, Any] = field(repr=False)
    seconds: dict[str, float] = field(default_factory=dict, repr=False)


def _mercator_world(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised ``mercantile`` projection: lon/lat degrees -> world fraction (0..1, y down)."""
    lat = np.clip(lat, -_MAX_LAT, _MAX_LAT)
    wx = (lon + 180.0) / 360.0
    s = np.sin(np.radians(lat))
    wy = 0.5 - 0.25 * np.log((1.0 + s) / (1.0 - s)) / math.pi
    eps = 1e-14  # mercantile keeps the last tile for x=1.0; we do the same
    return np.clip(wx, 0.0, 1.0 - eps), np.clip(wy, 0.0, 1.0 - eps)


def tile_indices(lon: Any, lat: Any, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Tile x, y at ``zoom`` for arrays of lon/lat (EPSG:4326 degrees); equals ``mercantile.tile``."""
    wx, wy = _mercator_world(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"))
    n = 2**zoom
    return np.floor(wx * n).astype("int64"), np.floor(wy * n).astype("int64")


def _min_count_for(min_count: int | Mapping[int, int] | None, z: int) -> int:
    if min_count is None:
        return DEFAULT_MIN_COUNT.get(z, 1)
    if isinstance(min_count, Mapping):
        return int(min_count.get(z, 1))
    return int(min_count)


@dataclass
class _Level:
    z: int
    tx: np.ndarray  # tile x per feature
    ty: np.ndarray
    px: np.ndarray  # position in tile, 0..EXTENT-1 (y down)
    py: np.ndarray
    counts: np.ndarray  # features x months
    total: np.ndarray


def _point_table(points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Map points x months count matrix (vectorised: factorize + bincount)."""
    pid_codes, pid_uni = pd.factorize(points["map_point_id"], sort=True)
    m_codes, months = pd.factorize(points["month"].astype("string"), sort=True)
    n_p, n_m = len(pid_uni), len(months)
    flat = pid_codes.astype("int64") * max(n_m, 1) + m_codes
    counts = np.bincount(flat, weights=points["count"].to_numpy(dtype="float64"), minlength=n_p * n_m)
    counts = counts.reshape(n_p, n_m).round().astype("int64")
    first = pd.Series(np.arange(len(points))).groupby(pid_codes).first().to_numpy()
    lon = points["lon"].to_numpy(dtype="float64")[first]
    lat = points["lat"].to_numpy(dtype="float64")[first]
    return lon, lat, counts, [str(m) for m in months]


def _levels(wx: np.ndarray, wy: np.ndarray, counts: np.ndarray, minzoom: int, maxzoom: int,
            point_zoom: int, cell_px: int, min_count: Any) -> Iterator[_Level]:
    from scipy import sparse

    per_tile = 256 // cell_px
    for z in range(minzoom, maxzoom + 1):
        n = 2**z
        if z >= point_zoom:
            fx, fy = wx * n, wy * n
            tx, ty = np.floor(fx).astype("int64"), np.floor(fy).astype("int64")
            px = np.minimum(((fx - tx) * EXTENT).astype("int64"), EXTENT - 1)
            py = np.minimum(((fy - ty) * EXTENT).astype("int64"), EXTENT - 1)
            c = counts
        else:
            g = n * per_tile
            cx, cy = np.floor(wx * g).astype("int64"), np.floor(wy * g).astype("int64")
            key = cx * g + cy
            uniq, inv = np.unique(key, return_inverse=True)
            agg = sparse.csr_matrix(
                (np.ones(len(inv)), (inv, np.arange(len(inv)))), shape=(len(uniq), len(inv))
            )
            c = np.asarray(agg @ counts).round().astype("int64")
            cx, cy = uniq // g, uniq % g
            tx, ty = cx // per_tile, cy // per_tile
            cell = EXTENT // per_tile
            px = (cx % per_tile) * cell + cell // 2
            py = (cy % per_tile) * cell + cell // 2
        total = c.sum(axis=1)
        keep = total >= _min_count_for(min_count, z)
        yield _Level(z, tx[keep], ty[keep], px[keep], py[keep], c[keep], total[keep])


def _tile_groups(level: _Level) -> Iterator[tuple[int, int, np.ndarray]]:
    """(x, y, feature indices) per tile, tiles in (x, y) order."""
    if len(level.tx) == 0:
        return
    order = np.lexsort((level.ty, level.tx))
    tx, ty = level.tx[order], level.ty[order]
    brk = np.flatnonzero((np.diff(tx) != 0) | (np.diff(ty) != 0)) + 1
    for idx in np.split(order, brk):
        yield int(level.tx[idx[0]]), int(level.ty[idx[0]]), idx


def _encode_mvt(level: _Level, idx: np.ndarray, months: list[str]) -> bytes:
    import mapbox_vector_tile

    px, py = level.px[idx].tolist(), level.py[idx].tolist()
    totals = level.total[idx].tolist()
    sub = level.counts[idx]
    nz_r, nz_c = np.nonzero(sub)
    vals = sub[nz_r, nz_c].tolist()
    props: list[dict[str, int]] = [{"count": t} for t in totals]
    for r, c, v in zip(nz_r.tolist(), nz_c.tolist(), vals):
        props[r][months[c]] = v
    feats = [
        {"geometry": f"POINT ({x} {y})", "properties": p} for x, y, p in zip(px, py, props)
    ]
    return mapbox_vector_tile.encode(
        [{"name": LAYER, "features": feats}],
        default_options={"y_coord_down": True, "extents": EXTENT},
    )


def _png_style(total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radius (px) and colour index for raster points: area grows with the count."""
    r = np.clip(2.0 + 1.6 * np.sqrt(total), 3, 18)
    return r, np.minimum(np.log2(np.maximum(total, 1)).astype(int), len(_PNG_COLOURS) - 1)


_PNG_COLOURS = [(255, 237, 160), (254, 217, 118), (254, 178, 76), (253, 141, 60), (252, 78, 42),
                (227, 26, 28), (189, 0, 38), (128, 0, 38)]


def _encode_png(level: _Level, idx: np.ndarray) -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    scale = 256 / EXTENT
    x, y = level.px[idx] * scale, level.py[idx] * scale
    r, ci = _png_style(level.total[idx])
    for xx, yy, rr, cc in zip(x.tolist(), y.tolist(), r.tolist(), ci.tolist()):
        draw.ellipse((xx - rr, yy - rr, xx + rr, yy + rr), fill=_PNG_COLOURS[cc] + (200,),
                     outline=(90, 0, 20, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def _prepare_out(out: Path, fmt: str) -> None:
    if fmt == "pmtiles":
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists() and out.is_dir():
            raise PublishError(f"{out} is a directory; give a file name ending .pmtiles")
        return
    if out.exists():
        if not out.is_dir():
            raise PublishError(f"tile output {out} exists and is not a directory")
        entries = list(out.iterdir())
        if entries and not (out / "metadata.json").exists():
            raise PublishError(
                f"tile output directory {out} is not empty and was not written by write_tiles; "
                "choose an empty or new directory"
            )
        for e in entries:  # a previous pyramid of ours: replace it
            if e.is_dir() and e.name.isdigit():
                shutil.rmtree(e)
            elif e.name == "metadata.json":
                e.unlink()
    out.mkdir(parents=True, exist_ok=True)


def write_tiles(
    gated: GatedData,
    out_dir: str | Path,
    minzoom: int = 8,
    maxzoom: int = 16,
    format: str = "mvt",
    *,
    min_count: int | Mapping[int, int] | None = None,
    point_zoom: int = 14,
    cell_px: int = 16,
    crime_types: list[str] | None = None,
) -> TileSet:
    """Write an XYZ tile pyramid of gated counts (web-mercator tiles from EPSG:4326 map points).

    Parameters
    ----------
    gated:
        Output of ``geocrime.publish.gate()``; anything else raises :class:`PublishError`.
    out_dir:
        Directory for ``"mvt"``/``"png"`` (``z/x/y.pbf|png`` + ``metadata.json``), or the archive
        path for ``"pmtiles"`` (``.pmtiles`` appended if missing; metadata is inside the archive
        and also written beside it as ``<name>.json``).
    minzoom, maxzoom:
        Zoom range (0..22), default 8-16 (all of London to street level).
    min_count:
        Minimum total count per feature, an int for all zooms or ``{zoom: n}`` (unlisted zooms: 1).
        Default :data:`DEFAULT_MIN_COUNT` (5 at z8-9, 3 at z10-11, 2 at z12-13, else 1).
    point_zoom:
        First zoom that shows individual map points; lower zooms sum points per grid cell of
        ``cell_px`` pixels (a power of two dividing 256) placed at the cell centre.
    crime_types:
        Keep only these crime categories (default: all).
    """
    gated = require_gated(gated, "write_tiles")
    from .release import require_released

    require_released(gated, "write_tiles", points=True, zooms=range(int(minzoom), int(maxzoom) + 1))
    fmt = _check_tile_args(format, minzoom, maxzoom, cell_px)
    minzoom, maxzoom = int(minzoom), int(maxzoom)
    secs: dict[str, float] = {}
    t0 = time.perf_counter()

    pts = _tile_points(gated, crime_types)
    lon, lat, counts, months = _point_table(pts)
    wx, wy = _mercator_world(lon, lat)
    secs["prepare"] = time.perf_counter() - t0

    out = Path(out_dir)
    if fmt == "pmtiles" and out.suffix != ".pmtiles":
        out = out.with_suffix(".pmtiles") if out.suffix else out.parent / (out.name + ".pmtiles")
    _prepare_out(out, fmt)
    ext = {"mvt": "pbf", "png": "png", "pmtiles": "pbf"}[fmt]
    bounds = (
        (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())) if len(lon) else
        (-0.51, 51.28, 0.34, 51.70)  # Greater London, used only to centre an empty pyramid
    )
    meta = _tile_metadata(gated, pts, fmt, ext, minzoom, maxzoom, bounds, months, min_count, point_zoom, cell_px)

    levels = _levels(wx, wy, counts, minzoom, maxzoom, point_zoom, cell_px, min_count)
    n_tiles, n_bytes, n_feat, pm_entries, t_enc, t_write = _encode_levels(levels, fmt, out, ext, months)
    secs["encode"] = t_enc
    a = time.perf_counter()
    meta.update(tile_count=n_tiles, total_bytes=n_bytes, feature_count=n_feat)
    if fmt == "pmtiles":
        _write_pmtiles(out, pm_entries, meta, minzoom, maxzoom, bounds)
        n_bytes_file = out.stat().st_size
        meta["archive_bytes"] = n_bytes_file
        out.with_suffix(".json").write_text(json.dumps(meta, indent=1, default=str))
        url = None
    else:
        (out / "metadata.json").write_text(json.dumps(meta, indent=1, default=str))
        url = meta["tiles"]
    secs["write"] = t_write + time.perf_counter() - a
    secs["total"] = time.perf_counter() - t0
    return TileSet(out, fmt, minzoom, maxzoom, n_tiles, n_bytes, n_feat, months, bounds, url, meta, secs)


def _check_tile_args(format: str, minzoom: int, maxzoom: int, cell_px: int) -> str:
    """Validate :func:`write_tiles`' format, zoom range and cell size; return the format in lower case."""
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise PublishError(f"unknown tile format {format!r}; use one of {FORMATS}")
    if not (0 <= int(minzoom) <= int(maxzoom) <= 22):
        raise PublishError(f"need 0 <= minzoom <= maxzoom <= 22, got {minzoom}..{maxzoom}")
    if cell_px not in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        raise PublishError(f"cell_px must be a power of two dividing 256, got {cell_px}")
    return fmt


def _tile_points(gated: GatedData, crime_types: list[str] | None) -> pd.DataFrame:
    """The gated points drawn: the chosen crime types, counts above 0, each with a finite lon/lat."""
    pts = gated.points
    if crime_types is not None:
        pts = pts[pts["crime_type"].isin(list(crime_types))]
    pts = pts[pts["count"].fillna(0) > 0]
    bad = ~(np.isfinite(pts["lon"].to_numpy(dtype="float64")) & np.isfinite(pts["lat"].to_numpy(dtype="float64")))
    if bad.any():
        raise PublishError(f"{int(bad.sum())} gated points have no finite lon/lat; the gate output is corrupt")
    return pts


def _tile_metadata(gated: GatedData, pts: pd.DataFrame, fmt: str, ext: str, minzoom: int, maxzoom: int,
                   bounds: tuple[float, float, float, float], months: list[str],
                   min_count: int | Mapping[int, int] | None, point_zoom: int, cell_px: int) -> dict[str, Any]:
    """The pyramid's metadata (``metadata.json``, or the PMTiles archive's metadata)."""
    mc = {z: _min_count_for(min_count, z) for z in range(minzoom, maxzoom + 1)}
    meta: dict[str, Any] = {
        "generator": "geocrime.publish.write_tiles",
        "format": fmt,
        "layer": LAYER,
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": list(bounds),
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, min(maxzoom, max(minzoom, 10))],
        "months": months,
        "min_count": {str(z): v for z, v in mc.items()},
        "point_zoom": point_zoom,
        "cell_px": cell_px,
        "crime_types": sorted(pts["crime_type"].astype("string").dropna().unique().tolist()),
        "properties": "count = total over months; one key per month YYYY-MM with that month's count",
        "gate_params": gated.params,
        "format_note": FORMAT_NOTE,
        "tiles": None if fmt == "pmtiles" else f"{{z}}/{{x}}/{{y}}.{ext}",
    }
    return meta


def _encode_levels(levels: Iterator[_Level], fmt: str, out: Path, ext: str, months: list[str],
                   ) -> tuple[int, int, int, list[tuple[int, bytes]], float, float]:
    """Encode every tile of every level; write ``z/x/y.ext`` files, or collect PMTiles entries.

    Returns tile count, tile bytes, feature count, the PMTiles entries and seconds encoding / writing.
    """
    t_enc = t_write = 0.0
    n_tiles = n_bytes = n_feat = 0
    pm_entries: list[tuple[int, bytes]] = []
    if fmt == "pmtiles":
        from pmtiles.tile import zxy_to_tileid
    for level in levels:
        n_feat += len(level.tx)
        for x, y, idx in _tile_groups(level):
            a = time.perf_counter()
            data = _encode_png(level, idx) if fmt == "png" else _encode_mvt(level, idx, months)
            b = time.perf_counter()
            t_enc += b - a
            if fmt == "pmtiles":
                pm_entries.append((zxy_to_tileid(level.z, x, y), data))
            else:
                d = out / str(level.z) / str(x)
                d.mkdir(parents=True, exist_ok=True)
                (d / f"{y}.{ext}").write_bytes(data)
            t_write += time.perf_counter() - b
            n_tiles += 1
            n_bytes += len(data)
    return n_tiles, n_bytes, n_feat, pm_entries, t_enc, t_write


def _write_pmtiles(out: Path, pm_entries: list[tuple[int, bytes]], meta: dict[str, Any], minzoom: int, maxzoom: int,
                   bounds: tuple[float, float, float, float]) -> None:
    """Write the collected tiles as one PMTiles archive at ``out`` (nothing is finalised when empty)."""
    from pmtiles.tile import Compression, TileType
    from pmtiles.writer import Writer

    pm_entries.sort(key=lambda e: e[0])
    with open(out, "wb") as fh:
        writer = Writer(fh)
        for tid, data in pm_entries:
            writer.write_tile(tid, data)
        e7 = lambda v: int(round(v * 1e7))  # noqa: E731
        header = {
            "tile_type": TileType.MVT, "tile_compression": Compression.NONE,
            "min_zoom": minzoom, "max_zoom": maxzoom,
            "min_lon_e7": e7(bounds[0]), "min_lat_e7": e7(bounds[1]),
            "max_lon_e7": e7(bounds[2]), "max_lat_e7": e7(bounds[3]),
            "center_zoom": meta["center"][2], "center_lon_e7": e7(meta["center"][0]),
            "center_lat_e7": e7(meta["center"][1]),
        }
        if pm_entries:
            writer.finalize(header, {**meta, "vector_layers": [{"id": LAYER, "fields": {"count": "Number"}}]})


def read_tile_metadata(path: str | Path) -> dict[str, Any]:
    """The ``metadata.json`` of a tile directory written by :func:`write_tiles`."""
    p = Path(path)
    f = p / "metadata.json" if p.is_dir() else p.with_suffix(".json")
    if not f.exists():
        raise PublishError(f"{p} has no tile metadata ({f.name}); write it with geocrime.publish.write_tiles")
    return json.loads(f.read_text())
