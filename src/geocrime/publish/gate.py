"""The publish gate: the only way incident data reaches a public output.

``gate(incidents, map_points, ...)`` returns :class:`~geocrime.publish._types.GatedData`, the only
type the public writers accept. What leaves the gate:

* **points**: counts per anonymous map point × month × crime category (``POINT_COLUMNS`` only).
  Incidents are snapped to the map point whose catchment holds them (nearest map point in the same
  borough). Only the month (``YYYY-MM``), the crime category and the snap point survive; every other
  field (ids, dates, times, free text, exact coordinates, outcome, LSOA of the incident...) is dropped.
  A point count is published only when it is >= ``point_threshold`` AND none of the area cells it
  lies in (every layer, that month and category) is suppressed, so the point layer can never be
  summed back into a suppressed area cell.
* **area_counts**: per layer, counts per area × month × category, with small counts suppressed
  and complementary suppression (see :mod:`geocrime.publish.suppression`). Area codes are those of
  the *snap point*, so area tables and points add up exactly.
* **totals**: per month the London totals, and all-categories totals per area, suppressed
  consistently with the cells (``GatedData.totals``, a DataFrame ``layer, area_code, month,
  crime_type, count, suppressed``; ``*`` means "all").
* Each month is a separate release with its own suppression and nothing summed over months, so
  publishing months M and M+1 and differencing reveals nothing a single month did not.

Unlocated incidents (no/invalid coordinates, outside the boroughs, no month) are counted in the
disclosure report and never published as points or counted in area tables.
"""
from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._geo import BNG, WGS84, as_points, bng_to_lonlat
from ..errors import InputError, MissingColumnsError, PublishError, PublishWarning
from ._types import _GATE_TOKEN, POINT_COLUMNS, GatedData
from .mappoints import MapPoints
from .suppression import ALL, build_cell_system, suppress

__all__ = ["gate", "snap_incidents", "DEFAULT_LAYERS", "PublishWarning"]

DEFAULT_LAYERS = ("borough", "ward_2024")

# Fallback boundary files (used until geocrime.areas provides Boundaries.from_registry).
_FALLBACK_FILES = {
    "ward_2024": ("london_wards_2024_ons/london_wards_2024.shp", "WD24CD", "WD24NM"),
    "lsoa_2021": ("london_lsoa_2021_ons/london-2021-lsoa-gen20.shp", "LSOA21CD", "LSOA21NM"),
    "ward_2022": ("london_wards_2022_ons/london_wards_2022_E09only.gpkg", None, None),
}


def _load_layer(name: str, boundaries: Any) -> gpd.GeoDataFrame:
    """A boundary layer as ``code, name, geometry`` (EPSG:27700)."""
    g = None
    if isinstance(boundaries, dict):
        g = boundaries.get(name)
    elif boundaries is not None and hasattr(boundaries, "layer"):
        g = boundaries.layer(name)
    if g is None:
        try:
            from ..areas import Boundaries  # helper A's registry

            g = Boundaries.from_registry([name]).layer(name)
        except Exception:  # noqa: BLE001 - registry not available: read the shared file
            if name not in _FALLBACK_FILES:
                raise InputError(f"unknown boundary layer {name!r}: pass boundaries={{'{name}': GeoDataFrame}}") from None
            from ..config import data_dir

            path, code, nm = _FALLBACK_FILES[name]
            g = gpd.read_file(data_dir(required=True) / path)
            if code is None:
                code = next(c for c in g.columns if c.upper().endswith("CD") and c.upper().startswith("WD"))
                nm = code[:-2] + "NM"
            g = g.rename(columns={code: "code", nm: "name"})
    if not isinstance(g, gpd.GeoDataFrame) or "code" not in g.columns:
        raise InputError(f"boundary layer {name!r} must be a GeoDataFrame with a 'code' column")
    if g.crs is None:
        raise InputError(f"boundary layer {name!r} has no CRS")
    g = g.to_crs(BNG)
    if "name" not in g.columns:
        g = g.assign(name=g["code"])
    return gpd.GeoDataFrame(
        {"code": g["code"].astype(str).to_numpy(), "name": g["name"].astype(str).to_numpy()},
        geometry=shapely.make_valid(g.geometry.to_numpy()), crs=BNG,
    )


def _assign_areas(mp: MapPoints, layers: list[str], boundaries: Any) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, gpd.GeoDataFrame]]:
    """Area code per map point per layer, nested in the map point's borough.

    Returns (codes per map point, areas per layer (area_code, parent), geometries per layer).
    A finer area's parent is the borough holding its largest part; a map point whose containing
    area belongs to another borough (generalised boundaries disagree at edges), or that lies in
    no area, takes the nearest area of its own borough.
    """
    pts = mp.points
    codes = pd.DataFrame({"borough": pts["borough"].astype(str).to_numpy()}, index=pts.index)
    bor = mp.boroughs
    areas = {"borough": pd.DataFrame({"area_code": bor["code"].to_numpy(), "parent": ALL})}
    geoms = {"borough": bor.rename(columns={"code": "area_code", "name": "area_name"})}
    btree = shapely.STRtree(bor.geometry.to_numpy())
    xy = pts.geometry.to_numpy()
    for layer in layers:
        if layer == "borough":
            continue
        g = _load_layer(layer, boundaries)
        # parent borough = largest overlap
        ai, bi = btree.query(g.geometry.to_numpy(), predicate="intersects")
        ov = shapely.area(shapely.intersection(g.geometry.to_numpy()[ai], bor.geometry.to_numpy()[bi]))
        o = np.lexsort((-ov, ai))
        ai, bi = ai[o], bi[o]
        first = np.r_[True, ai[1:] != ai[:-1]] if len(ai) else np.zeros(0, bool)
        parent = np.full(len(g), None, dtype=object)
        parent[ai[first]] = bor["code"].to_numpy()[bi[first]]
        keep = pd.notna(parent)
        g = g[keep].reset_index(drop=True)
        parent = parent[keep].astype(str)
        tree = shapely.STRtree(g.geometry.to_numpy())
        pi, gi = tree.query(xy, predicate="intersects")
        same = parent[gi] == codes["borough"].to_numpy()[pi]
        pi, gi = pi[same], gi[same]
        o = np.lexsort((g["code"].to_numpy()[gi], pi))
        pi, gi = pi[o], gi[o]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
        code = np.full(len(pts), None, dtype=object)
        code[pi[first]] = g["code"].to_numpy()[gi[first]]
        for i in np.flatnonzero(pd.isna(code)):  # few: edge disagreements
            cand = np.flatnonzero(parent == codes["borough"].iloc[i])
            if len(cand) == 0:
                raise PublishError(f"layer {layer!r} has no area in borough {codes['borough'].iloc[i]}")
            d = shapely.distance(g.geometry.to_numpy()[cand], xy[i])
            code[i] = g["code"].to_numpy()[cand[np.argmin(d)]]
        codes[layer] = code.astype(str)
        areas[layer] = pd.DataFrame({"area_code": g["code"].to_numpy(), "parent": parent})
        geoms[layer] = g.rename(columns={"code": "area_code", "name": "area_name"})
    return codes, areas, geoms


def _month(s: pd.Series) -> pd.Series:
    txt = s.astype("string").str.strip()
    ok = txt.str.fullmatch(r"\d{4}-\d{2}").fillna(False)
    out = txt.where(ok)
    if (~ok).any():
        d = pd.to_datetime(txt[~ok], errors="coerce", dayfirst=True, format="mixed")
        out[~ok] = d.dt.strftime("%Y-%m").astype("string")
    return out


def _col(df: pd.DataFrame, given: str | None, names: tuple[str, ...], what: str) -> str:
    if given is not None:
        if given not in df.columns:
            raise MissingColumnsError(f"incidents have no column {given!r} ({what})")
        return given
    lower = {str(c).lower(): c for c in df.columns}
    for n in names:
        if n in lower:
            return lower[n]
    raise MissingColumnsError(f"incidents need a {what} column (one of {names}); pass {what}_col=")


def snap_incidents(
    incidents: pd.DataFrame,
    map_points: MapPoints,
    *,
    month_col: str | None = None,
    type_col: str | None = None,
) -> pd.DataFrame:
    """Snap every incident to the map point whose catchment holds it. INTERNAL: never publish this.

    Returns a DataFrame with the same index and order as ``incidents``: ``map_point_id``,
    ``month`` (YYYY-MM), ``crime_type`` and ``status`` (``ok``, ``no_location``,
    ``invalid_coordinates``, ``outside_gb``, ``outside_boroughs``, ``no_map_point`` (in a borough
    where the map points have no seed: build them from addresses covering every borough you publish),
    ``no_month``, ``no_crime_type``).
    Vectorised: one point-in-polygon query and one nearest-neighbour query per borough.
    """
    if not isinstance(map_points, MapPoints):
        raise InputError("map_points must come from geocrime.publish.build_map_points()")
    mcol = _col(incidents, month_col, ("month", "date", "occurred", "date_time"), "month")
    tcol = _col(incidents, type_col, ("crime type", "crime_type", "category", "offence", "type"), "crime_type")
    pts, status = as_points(incidents)
    status = status.astype(object).to_numpy().copy()
    geom = pts.geometry.to_numpy()
    located = status == "ok"
    bor = map_points.boroughs
    b_of = np.full(len(pts), -1)
    li = np.flatnonzero(located)
    ai, bi = shapely.STRtree(bor.geometry.to_numpy()).query(geom[li], predicate="intersects")
    o = np.lexsort((bor["code"].to_numpy()[bi], ai))
    ai, bi = ai[o], bi[o]
    first = np.r_[True, ai[1:] != ai[:-1]] if len(ai) else np.zeros(0, bool)
    b_of[li[ai[first]]] = bi[first]
    status[located & (b_of < 0)] = "outside_boroughs"
    mp_id = np.full(len(pts), None, dtype=object)
    mpp = map_points.points
    mcodes = mpp["borough"].to_numpy()
    for b, code in enumerate(bor["code"].to_numpy()):
        sel = np.flatnonzero(b_of == b)
        cand = np.flatnonzero(mcodes == code)
        if len(sel) == 0:
            continue
        if len(cand) == 0:
            status[sel] = "no_map_point"
            continue
        tree = shapely.STRtree(mpp.geometry.to_numpy()[cand])
        qi, ti = tree.query_nearest(geom[sel], all_matches=False)
        mp_id[sel[qi]] = mpp["map_point_id"].to_numpy()[cand[ti]]
    month = _month(incidents[mcol]).to_numpy(dtype=object, na_value=None)
    ctype = incidents[tcol].astype("string").str.strip().to_numpy(dtype=object, na_value=None)
    ok = status == "ok"
    status[ok & pd.isna(month)] = "no_month"
    ok = status == "ok"
    status[ok & (pd.isna(ctype) | (ctype == ""))] = "no_crime_type"
    bad = status != "ok"
    mp_id[bad] = None
    return pd.DataFrame(
        {"map_point_id": mp_id, "month": month, "crime_type": ctype, "status": status},
        index=incidents.index,
    )


def gate(
    incidents: pd.DataFrame,
    map_points: MapPoints,
    boundaries: Any = None,
    *,
    k: int | None = None,
    threshold: int = 5,
    point_threshold: int = 1,
    layers: tuple[str, ...] | list[str] = DEFAULT_LAYERS,
    month_col: str | None = None,
    type_col: str | None = None,
    complementary: bool = True,
    audit: bool = True,
) -> GatedData:
    """Pass incidents through the publish gate.

    Parameters
    ----------
    incidents:
        Any table of incidents with coordinates (lon/lat degrees EPSG:4326, easting/northing metres
        EPSG:27700 or a geometry), a month or date column and a crime category column.
    map_points:
        From :func:`build_map_points` (its ``k`` is the catchment guarantee).
    boundaries:
        A ``geocrime.areas.Boundaries`` or a dict ``{layer: GeoDataFrame(code, name, geometry)}``;
        None reads the registry / shared data.
    k:
        If given, must be <= the map points' k (a check, not a rebuild).
    threshold:
        Area cells with ``1 <= count < threshold`` are suppressed (primary), plus complementary cells.
    point_threshold:
        Point counts below this are not published (default 1: police.uk style, the catchment of
        >= k addresses is the protection for points).
    layers:
        Area layers to publish; ``borough`` is always included (it is the parent of the others).
    complementary, audit:
        Turn complementary suppression / the LP audit off. ONLY for tests showing the attacks
        work; never for real releases (a warning flag is written into ``params``).
    """
    if isinstance(incidents, GatedData):
        raise PublishError("these incidents have already been through the gate")
    if not isinstance(incidents, pd.DataFrame):
        raise InputError(f"incidents must be a DataFrame, got {type(incidents).__name__}")
    if not isinstance(map_points, MapPoints):
        raise InputError("map_points must come from geocrime.publish.build_map_points()")
    mk = int(map_points.params["k"])
    if k is not None and k > mk:
        raise PublishError(f"map points were built with k={mk} < requested k={k}: rebuild them with k={k}")
    if threshold < 1 or point_threshold < 1:
        raise InputError("threshold and point_threshold must be >= 1")
    layers = ["borough"] + [l for l in layers if l != "borough"]

    snapped = snap_incidents(incidents, map_points, month_col=month_col, type_col=type_col)
    ok = snapped["status"] == "ok"
    n_nomp = int((snapped["status"] == "no_map_point").sum())
    if n_nomp:
        import warnings

        warnings.warn(
            f"gate: {n_nomp} incident(s) lie in boroughs that have no map point and are not published; the area "
            "cells of those boroughs read 0 although incidents happened there. Build the map points from addresses "
            "that cover every borough (e.g. Code-Point Open postcode units).", PublishWarning, stacklevel=2)
    s = snapped[ok]
    codes, areas, geoms = _assign_areas(map_points, layers, boundaries)
    mpp = map_points.points
    codes.index = mpp["map_point_id"].to_numpy()

    crime_types = sorted(s["crime_type"].unique().tolist())
    months = sorted(s["month"].unique().tolist())
    pc = s.groupby(["map_point_id", "month", "crime_type"], sort=True).size().rename("count").reset_index()

    # atoms: every combination of area codes held by some map point × crime type
    combo = codes[layers].drop_duplicates().sort_values(layers).reset_index(drop=True)
    combo["_atom"] = np.arange(len(combo))
    mp_atom = codes[layers].merge(combo, on=layers, how="left")["_atom"].to_numpy()
    mp_atom = pd.Series(mp_atom, index=codes.index)
    n_combo = len(combo)

    area_frames: dict[str, list[pd.DataFrame]] = {l: [] for l in layers}
    total_frames: list[pd.DataFrame] = []
    point_frames: list[pd.DataFrame] = []
    sup_report: dict[str, Any] = {}
    for month in months:
        pm = pc[pc["month"] == month]
        atom_idx = mp_atom.loc[pm["map_point_id"]].to_numpy()
        tpos = {t: i for i, t in enumerate(crime_types)}
        tix = pm["crime_type"].map(tpos).to_numpy()
        aid = tix * n_combo + atom_idx
        vals = np.bincount(aid, weights=pm["count"].to_numpy(float), minlength=n_combo * len(crime_types))
        atoms = pd.concat([combo[layers].assign(crime_type=t) for t in crime_types], ignore_index=True)
        atoms["count"] = vals
        sysm = build_cell_system(atoms, layers, areas, crime_types)
        cells = sysm.cells
        cnt = cells["count"].to_numpy()
        # which point cells may be published: count >= point_threshold and all their cells published
        # (first pass with primary suppression only decides nothing; we need the final flags, so
        # compute flags, then points, then audit again with the point lower bounds)
        supp, info = suppress(sysm, threshold, complementary=complementary, audit=False)
        prev_lower = None
        withhold = supp.copy()  # cells whose points are withheld: only ever grows (monotone loop)
        for _ in range(20):
            withhold |= supp
            key = dict(zip(zip(cells["layer"], cells["area_code"], cells["crime_type"]), withhold))
            pub = pm["count"].to_numpy() >= point_threshold
            for layer in ["all"] + layers:
                lc = codes.loc[pm["map_point_id"], layer].to_numpy() if layer != "all" else np.full(len(pm), ALL)
                pub &= ~np.fromiter((key[(layer, a, t)] for a, t in zip(lc, pm["crime_type"])), bool, count=len(pm))
            lower = np.bincount(aid[pub], weights=pm["count"].to_numpy(float)[pub], minlength=len(atoms))
            if not (complementary and audit) or (prev_lower is not None and np.array_equal(lower, prev_lower)):
                break
            prev_lower = lower
            supp, info = suppress(sysm, threshold, complementary=True, audit=True, atom_lower=lower, initial=withhold)
        else:
            raise PublishError("point/area suppression did not reach a fixed point")
        info["primary"] = int(((cnt >= 1) & (cnt < threshold)).sum())
        info["complementary"] = int(supp.sum()) - info["primary"]
        info["points_published"] = int(pub.sum())
        info["point_cells"] = int(len(pm))
        info["cells"] = int(len(cells))
        info["suppressed"] = int(supp.sum())
        sup_report[month] = info
        out = cells.assign(month=month, suppressed=supp)
        out["count"] = pd.array(np.where(supp, 0, cnt), dtype="Int64")
        out.loc[supp, "count"] = pd.NA
        for layer in layers:
            lf = out[(out["layer"] == layer) & (out["crime_type"] != ALL)]
            area_frames[layer].append(lf[["area_code", "month", "crime_type", "count", "suppressed"]])
        tot = out[(out["layer"] == "all") | (out["crime_type"] == ALL)]
        total_frames.append(tot[["layer", "area_code", "month", "crime_type", "count", "suppressed"]])
        point_frames.append(pm[pub])

    pts = pd.concat(point_frames, ignore_index=True) if point_frames else pc.iloc[:0]
    xy = mpp.set_index("map_point_id").geometry
    g = xy.loc[pts["map_point_id"]].to_numpy()
    lon, lat = bng_to_lonlat(shapely.get_x(g), shapely.get_y(g))
    points = pd.DataFrame({
        "map_point_id": pts["map_point_id"].astype(str).to_numpy(),
        "lon": np.round(lon, 6),
        "lat": np.round(lat, 6),
        "month": pts["month"].astype(str).to_numpy(),
        "crime_type": pts["crime_type"].astype(str).to_numpy(),
        "count": pts["count"].astype("int64").to_numpy(),
    })[list(POINT_COLUMNS)]
    area_counts = {
        l: (pd.concat(f, ignore_index=True) if f else pd.DataFrame(columns=["area_code", "month", "crime_type", "count", "suppressed"]))
        for l, f in area_frames.items()
    }
    totals = pd.concat(total_frames, ignore_index=True) if total_frames else pd.DataFrame(
        columns=["layer", "area_code", "month", "crime_type", "count", "suppressed"])
    area_geometries = {l: gg.to_crs(WGS84) for l, gg in geoms.items()}
    params = {
        "k": mk,
        "threshold": int(threshold),
        "point_threshold": int(point_threshold),
        "layers": list(layers),
        "months": months,
        "crime_types": crime_types,
        "complementary": bool(complementary),
        "audit": bool(audit),
        "unsafe_for_release": not (complementary and audit),
    }
    from .disclosure import disclosure_report

    report = disclosure_report(map_points, snapped, points, area_counts, totals, params, sup_report)
    return GatedData(points=points, area_counts=area_counts, area_geometries=area_geometries,
                     params=params, report=report, totals=totals, _token=_GATE_TOKEN)
