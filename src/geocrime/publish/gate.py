"""The publish gate: the only way incident data reaches a public output.

``gate(incidents, map_points, boundaries, release=Release(...))`` returns
:class:`~geocrime.publish._types.GatedData`, the only type the public writers accept, holding exactly
the tables and layers the :class:`~geocrime.publish.release.Release` lists, audited as one system:

* **points**: counts per anonymous map point × month × crime category (``POINT_COLUMNS`` only) at
  the map point's PUBLISHED position (never an input coordinate: positions within ``clear_m`` of an
  incident are moved, or the point is withheld). Incidents are snapped to the map point whose
  catchment holds them (nearest seed in the same borough). Only the month, the crime category and
  the map point survive. A point count is published only when it is >= ``point_threshold`` and its
  atom (area codes × month × category) is already determined by the published tables (e.g. its ward
  cell is published), so points never tell the reader more about any cell than the tables do.
* **area_counts** / **totals**: per released layer, counts per area × month × category, plus London,
  all-crime and (``cross_month``) cross-month totals. Area codes are those of the map point's
  published position (through :class:`geocrime.areas.Boundaries`, the library's one point-in-polygon
  rule), so points summed within an area never exceed its cell.
* suppression (:mod:`geocrime.publish.suppression`): primary, complementary, and an LP audit of
  the whole release with earlier releases (``Release.previous``), assuming the reader knows every
  published figure, that zeros are published (so suppressed cells are >= 1) and the suppression
  rule; every suppressed cell's feasible interval must be at least ``threshold`` wide.

Unlocated incidents (no/invalid coordinates, outside the boroughs, no month) are counted in the
disclosure report and never published as points or counted in area tables.

Coverage (``coverage=``): zeros only where a source could have recorded an incident. A cell is in the
release only when every atom it sums is covered (and, for a total, every cell it sums: no London total
over boroughs without data); a cell no source covers (e.g. anti-social behaviour
in a Met ward when the Met extract holds burglary only) is ABSENT from every table and total: not 0,
not suppressed. A missing row in a released table means "no data"; every covered cell has a row, so a
published 0 is a true zero. The suppression audit and the attacker work on the covered cells only
(absent cells are no equation); incidents in uncovered atoms get status ``outside_coverage`` and are
neither counted nor published as points. ``coverage=None`` infers it per source exactly as
:func:`geocrime.analysis.aggregate` does (police.uk ``Reported by`` or the ``source=`` column; months:
the source's first to last month; crime types: those it recorded; areas: the boroughs holding at least
5 % as many of its incidents as its busiest borough, and every area in them); incidents that name no
source cover everything. :attr:`GatedData.coverage` records the covered flag of every cell.
"""
from __future__ import annotations

import hashlib
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from .._geo import BNG, WGS84, as_points, bng_to_lonlat
from ..errors import InputError, MissingColumnsError, PublishError, PublishWarning
from ._coverage import covered_rows, normalise_coverage
from ._types import _GATE_TOKEN, POINT_COLUMNS, GatedData
from .mappoints import MARGIN_M, MapPoints, _borough_boundaries, place_clear
from .release import Release
from .suppression import ALL, CellSystem, build_cell_system, known_atoms, suppress

__all__ = ["gate", "snap_incidents", "DEFAULT_LAYERS", "PublishWarning", "Release"]

DEFAULT_LAYERS = ("borough", "ward_2024")


def _boundaries(boundaries: Any, layers: list[str]) -> Any:
    """A :class:`geocrime.areas.Boundaries` holding ``layers`` (the registry when None)."""
    from ..areas import Boundaries

    if boundaries is None:
        return Boundaries.from_registry(layers)  # a missing layer raises the registry's own error
    if isinstance(boundaries, Boundaries):
        missing = [l for l in layers if l not in boundaries]
        if missing:
            raise InputError(f"boundaries lack layer(s) {missing}: load them (Boundaries.from_registry({missing}))")
        return boundaries
    if isinstance(boundaries, dict):
        b = Boundaries()
        for name in layers:
            g = boundaries.get(name)
            if g is None:
                g = Boundaries.from_registry([name]).layer(name)
            if not isinstance(g, gpd.GeoDataFrame) or "code" not in g.columns:
                raise InputError(f"boundary layer {name!r} must be a GeoDataFrame with a 'code' column")
            if g.crs is None:
                raise InputError(f"boundary layer {name!r} has no CRS")
            b.add(g, name, code="code", label="name" if "name" in g.columns else None, overlaps="ignore")
        return b
    raise InputError("boundaries must be a geocrime.areas.Boundaries, a dict {layer: GeoDataFrame} or None")


def _assign_areas(mp: MapPoints, layers: list[str], boundaries: Any,
                  xy: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, gpd.GeoDataFrame]]:
    """Area code per map point per layer (at its published position), nested in the map point's borough.

    Returns (codes per map point, areas per layer (area_code, parent), geometries per layer).
    A finer area's parent is the borough holding its largest part; a map point whose containing
    area belongs to another borough (generalised boundaries disagree at edges), or that lies in
    no area, takes the nearest area of its own borough. Point-in-polygon: ``Boundaries.lookup``.
    """
    pts = mp.points
    if xy is None:
        xy = np.c_[shapely.get_x(pts.geometry.to_numpy()), shapely.get_y(pts.geometry.to_numpy())]
    codes = pd.DataFrame({"borough": pts["borough"].astype(str).to_numpy()}, index=pts.index)
    bor = mp.boroughs
    areas = {"borough": pd.DataFrame({"area_code": bor["code"].to_numpy(), "parent": ALL})}
    geoms = {"borough": bor.rename(columns={"code": "area_code", "name": "area_name"})}
    finer = [l for l in layers if l != "borough"]
    if not finer:
        return codes, areas, geoms
    bnd = _boundaries(boundaries, finer)
    btree = shapely.STRtree(bor.geometry.to_numpy())
    for layer in finer:
        g = bnd.layer(layer)
        g = gpd.GeoDataFrame({"code": g["code"].astype(str).to_numpy(), "name": g["name"].astype(str).to_numpy()},
                             geometry=shapely.make_valid(g.geometry.to_numpy()), crs=BNG)
        # parent borough = largest overlap (polygon overlay, not point-in-polygon)
        ai, bi = btree.query(g.geometry.to_numpy(), predicate="intersects")
        ov = shapely.area(shapely.intersection(g.geometry.to_numpy()[ai], bor.geometry.to_numpy()[bi]))
        o = np.lexsort((-ov, ai))
        ai, bi = ai[o], bi[o]
        first = np.r_[True, ai[1:] != ai[:-1]] if len(ai) else np.zeros(0, bool)
        parent = np.full(len(g), None, dtype=object)
        parent[ai[first]] = bor["code"].to_numpy()[bi[first]]
        rows = bnd.lookup(layer, xy[:, 0], xy[:, 1])
        code = np.where(rows >= 0, g["code"].to_numpy()[np.maximum(rows, 0)], None).astype(object)
        par = np.where(rows >= 0, parent[np.maximum(rows, 0)], None)
        keep = pd.notna(parent)
        gk = g[keep].reset_index(drop=True)
        parent_k = parent[keep].astype(str)
        bad = np.flatnonzero(pd.isna(code) | (par != codes["borough"].to_numpy()))
        for i in bad:  # few: generalised boundaries disagree at edges
            cand = np.flatnonzero(parent_k == codes["borough"].iloc[i])
            if len(cand) == 0:
                raise PublishError(f"layer {layer!r} has no area in borough {codes['borough'].iloc[i]}")
            d = shapely.distance(gk.geometry.to_numpy()[cand], shapely.Point(xy[i]))
            code[i] = gk["code"].to_numpy()[cand[np.argmin(d)]]
        codes[layer] = code.astype(str)
        areas[layer] = pd.DataFrame({"area_code": gk["code"].to_numpy(), "parent": parent_k})
        geoms[layer] = gk.rename(columns={"code": "area_code", "name": "area_name"})
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
    ``month`` (YYYY-MM), ``crime_type``, ``x``/``y`` (the incident's own position, EPSG:27700, for
    the gate's clearance check) and ``status`` (``ok``, ``no_location``, ``invalid_coordinates``,
    ``outside_gb``, ``outside_boroughs``, ``no_map_point`` (in a borough where the map points have
    no seed: build them from addresses covering every borough you publish), ``no_month``,
    ``no_crime_type``). Borough by ``Boundaries.lookup`` (one point-in-polygon rule), then the
    nearest seed of that borough (one KD-tree query per borough).
    """
    if not isinstance(map_points, MapPoints):
        raise InputError("map_points must come from geocrime.publish.build_map_points()")
    mcol = _col(incidents, month_col, ("month", "date", "occurred", "date_time"), "month")
    tcol = _col(incidents, type_col, ("crime type", "crime_type", "category", "offence", "type"), "crime_type")
    pts, status = as_points(incidents)
    status = status.astype(object).to_numpy().copy()
    geom = pts.geometry.to_numpy()
    located = status == "ok"
    safe = np.where(located, geom, shapely.Point(0, 0))
    x = np.where(located, shapely.get_x(safe), np.nan)
    y = np.where(located, shapely.get_y(safe), np.nan)
    bor = map_points.boroughs
    bnd = map_points._boundaries if map_points._boundaries is not None else _borough_boundaries(bor)
    b_of = np.full(len(pts), -1)
    li = np.flatnonzero(located)
    if len(li):
        b_of[li] = bnd.lookup("borough", x[li], y[li])
    lay_codes = bnd.layer("borough")["code"].astype(str).to_numpy()
    status[located & (b_of < 0)] = "outside_boroughs"
    mp_id = np.full(len(pts), None, dtype=object)
    mpp = map_points.points
    mcodes = mpp["borough"].to_numpy()
    seeds = mpp["seed"] if "seed" in mpp.columns else mpp.geometry
    sxy = np.c_[shapely.get_x(seeds.to_numpy()), shapely.get_y(seeds.to_numpy())]
    for b, code in enumerate(lay_codes):
        sel = np.flatnonzero(b_of == b)
        if len(sel) == 0:
            continue
        cand = np.flatnonzero(mcodes == code)
        if len(cand) == 0:
            status[sel] = "no_map_point"
            continue
        _, j = cKDTree(sxy[cand]).query(np.c_[x[sel], y[sel]])
        mp_id[sel] = mpp["map_point_id"].to_numpy()[cand[j]]
    month = _month(incidents[mcol]).to_numpy(dtype=object, na_value=None)
    ctype = incidents[tcol].astype("string").str.strip().to_numpy(dtype=object, na_value=None)
    ok = status == "ok"
    status[ok & pd.isna(month)] = "no_month"
    ok = status == "ok"
    status[ok & (pd.isna(ctype) | (ctype == ""))] = "no_crime_type"
    bad = status != "ok"
    mp_id[bad] = None
    return pd.DataFrame(
        {"map_point_id": mp_id, "month": month, "crime_type": ctype, "x": x, "y": y, "status": status},
        index=incidents.index,
    )


def _positions(mp: MapPoints, snapped: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Published positions: the map points' own, moved off incident coordinates where needed.

    A position within ``clear_m`` of an incident is re-placed inside its catchment, clear of every
    address and incident; if no such place keeps the catchment radius, the point is withheld
    (its incidents still count in the area tables). Returns (xy, withheld mask, number moved).
    """
    pts = mp.points
    geo = pts.geometry.to_numpy()
    xy = np.c_[shapely.get_x(geo), shapely.get_y(geo)]
    withheld = np.zeros(len(pts), bool)
    clear = float(mp.params.get("clear_m") or 0.0)
    inc = snapped[["x", "y"]].to_numpy(float)
    inc = inc[np.isfinite(inc).all(axis=1)]
    if clear <= 0 or len(inc) == 0:
        return xy, withheld, 0
    d, _ = cKDTree(inc).query(xy, distance_upper_bound=clear + MARGIN_M)
    near = np.flatnonzero(d < clear + MARGIN_M)
    if len(near) == 0:
        return xy, withheld, 0
    avoid = cKDTree(np.r_[mp._avoid_xy if mp._avoid_xy is not None else np.zeros((0, 2)), inc])
    seeds = pts["seed"].to_numpy()[near]
    r = float(mp.params.get("min_radius_m") or 0.0)
    new = place_clear(np.c_[shapely.get_x(seeds), shapely.get_y(seeds)], pts["catchment"].to_numpy()[near], avoid,
                      clear + MARGIN_M, max_m=max(4 * r, 200.0))
    xy[near] = new
    # the catchment radius must still hold from the new position
    ids = pts["map_point_id"].to_numpy()
    if mp._place_xy is not None and r > 0:
        pos = pd.Series(np.arange(len(near)), index=ids[near])
        sel = pd.Series(mp._place_mp).isin(pos.index).to_numpy()
        j = pos.loc[mp._place_mp[sel]].to_numpy()
        dd = np.hypot(mp._place_xy[sel, 0] - new[j, 0], mp._place_xy[sel, 1] - new[j, 1])
        rad = np.zeros(len(near))
        np.maximum.at(rad, j, np.nan_to_num(dd, nan=-1.0))
        withheld[near[rad < r + MARGIN_M]] = True
    withheld[near[np.isnan(new[:, 0])]] = True
    return xy, withheld, int(len(near))


def gate(
    incidents: pd.DataFrame,
    map_points: MapPoints,
    boundaries: Any = None,
    *,
    release: Release | None = None,
    k: int | None = None,
    threshold: int = 5,
    point_threshold: int = 1,
    layers: tuple[str, ...] | list[str] = DEFAULT_LAYERS,
    month_col: str | None = None,
    type_col: str | None = None,
    complementary: bool = True,
    audit: bool = True,
    secret: bytes | None = None,
    coverage: Any = None,
    source: str | None = "auto",
) -> GatedData:
    """Pass incidents through the publish gate: build and audit exactly what ``release`` publishes.

    Parameters
    ----------
    incidents:
        Any table of incidents with coordinates (lon/lat degrees EPSG:4326, easting/northing metres
        EPSG:27700 or a geometry), a month or date column and a crime category column. For a release
        with ``previous`` releases, pass the incidents of every month released so far too.
    map_points:
        From :func:`build_map_points` (its ``k``, ``min_radius_m`` and ``clear_m`` are the guarantees).
    boundaries:
        A ``geocrime.areas.Boundaries`` or a dict ``{layer: GeoDataFrame(code, name, geometry)}``;
        None loads the layers from the data registry.
    release:
        What is published (:class:`Release`); default ``Release(tables=layers)`` (tables, totals and
        points). The returned :class:`GatedData` holds nothing else.
    k:
        If given, must be <= the map points' k (a check, not a rebuild).
    threshold:
        Cells with ``1 <= count < threshold`` are suppressed; every suppressed cell's feasible
        interval must be at least ``threshold`` wide.
    point_threshold:
        Point counts below this are not published (default 1, police.uk style).
    layers:
        Area tables when ``release`` is not given; ``borough`` is always included.
    complementary, audit:
        Turn complementary suppression / the LP audit off. ONLY for tests showing the attacks
        work; never for real releases (``params["unsafe_for_release"]`` is then True).
    secret:
        Key for choosing complementary partners (default: derived from the data, never published).
    coverage:
        What the sources cover (module docstring): ``None`` (default) infers it per source like
        :func:`geocrime.analysis.aggregate`; an ``aggregate()`` table with ``covered``, an earlier
        ``GatedData.coverage``, a ``Coverage`` or a list of them (what :func:`write_public_page`
        accepts; a Coverage may list codes of any layer, a borough covering its wards); ``False``: every
        cell covered (zeros everywhere, the behaviour before coverage). Cells outside it are left
        out of every released table (absent: no data), the audit and the points.
    source:
        The column naming each incident's source, for the inference: ``"auto"`` (police.uk
        ``Reported by`` when present), a column name, or ``None`` (one source covering everything).
    """
    mk, release = _check_gate_args(incidents, map_points, release, k, threshold, point_threshold, layers)
    if coverage is not None and coverage is not False and coverage is not True:
        coverage = normalise_coverage(coverage)  # a wrong coverage fails before any work
    layers = list(release.tables)

    snapped = snap_incidents(incidents, map_points, month_col=month_col, type_col=type_col)
    _warn_no_map_point(snapped)
    s = snapped[snapped["status"] == "ok"]
    xy, withheld, n_moved = _positions(map_points, snapped)
    codes, areas, geoms = _assign_areas(map_points, layers, boundaries, xy)
    mpp = map_points.points
    codes.index = mpp["map_point_id"].to_numpy()
    months, crime_types, spans = _periods(s, release)

    atoms, pc, aidx, vals, n_c, n_t, s_atom = _atoms(s, codes, layers, months, crime_types)
    full = build_cell_system(atoms, layers, areas, crime_types, months, spans=spans, totals=release.totals)
    cov, cov_desc = _resolve_coverage(coverage, incidents, snapped, codes, source)
    sysm, atom_new, cell_cov = _restrict_to_coverage(full, atoms, cov, layers, crime_types, spans)
    cov_table, cov_desc = _coverage_record(full, cell_cov, cov_desc, _mark_outside(snapped, atom_new[s_atom] < 0))
    initial = _previous(sysm, release)

    # points are published only for atoms the tables already determine (see suppression.known_atoms),
    # so they add nothing to the audited system: the audit needs no point bounds
    pt = int(point_threshold)
    wh = pd.Series(withheld, index=codes.index)
    pub_pt = (pc["count"].to_numpy() >= pt) & ~wh.loc[pc["map_point_id"]].to_numpy() & release.points
    if secret is None:
        secret = hashlib.blake2b(vals.tobytes() + "|".join(months).encode(), digest_size=32).digest()
    supp, info = suppress(sysm, threshold, complementary=complementary, audit=audit, initial=initial, secret=secret)
    known = np.r_[known_atoms(sysm.incidence.tocsr(), sysm.cells["count"].to_numpy(), supp), np.nan]
    pub = pub_pt & np.isfinite(known[atom_new[aidx]])  # atoms outside the coverage (-1) are never known
    cells = sysm.cells.assign(suppressed=supp)
    cells["count"] = pd.array(np.where(supp, 0, cells["count"].to_numpy()), dtype="Int64")
    cells.loc[supp, "count"] = pd.NA
    info.update(_month_info(cells, months, pc, pub, aidx, n_c, n_t, threshold))
    points = _points(pc[pub], xy, mpp)
    area_counts, totals = _area_tables(cells, layers, months)
    area_geometries = {l: gg.to_crs(WGS84) for l, gg in geoms.items() if l in layers}
    params = {
        "k": mk,
        "min_radius_m": map_points.params.get("min_radius_m"),
        "clear_m": map_points.params.get("clear_m"),
        "threshold": int(threshold),
        "point_threshold": pt,
        "layers": list(layers),
        "months": months,
        "crime_types": crime_types,
        "cross_month_totals": list(spans),
        "release": release.describe(),
        "complementary": bool(complementary),
        "audit": bool(audit),
        "unsafe_for_release": not (complementary and audit),
        "coverage": cov_desc,
    }
    info["points_withheld_unplaceable"] = int(withheld.sum())
    info["positions_moved_off_incidents"] = n_moved
    from .disclosure import disclosure_report

    report = disclosure_report(map_points, snapped, points, area_counts, totals, params, info)
    return GatedData(points=points if release.points else points.iloc[:0], area_counts=area_counts,
                     area_geometries=area_geometries, params=params, report=report, totals=totals,
                     release=release, cells=cells[["layer", "area_code", "month", "crime_type", "count", "suppressed"]],
                     coverage=cov_table, _token=_GATE_TOKEN)


def _check_gate_args(incidents: Any, map_points: Any, release: Any, k: int | None, threshold: int,
                     point_threshold: int, layers: tuple[str, ...] | list[str]) -> tuple[int, Release]:
    """Validate :func:`gate`'s arguments; return the map points' k and the release (default from ``layers``)."""
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
    if release is None:
        release = Release(tables=tuple(layers))
    elif not isinstance(release, Release):
        raise InputError("release must be a geocrime.publish.Release")
    return mk, release


def _atoms(s: pd.DataFrame, codes: pd.DataFrame, layers: list[str], months: list[str], crime_types: list[str],
           ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray, int, int, np.ndarray]:
    """The atoms: month x (combination of area codes of a map point) x crime type, with their counts.

    Returns the atoms table, the per map point/month/type counts ``pc``, each of its rows' atom index
    ``aidx``, the atom counts ``vals``, the number of area combinations and crime types, and the atom
    index of each row of ``s``.
    """
    combo = codes[layers].drop_duplicates().sort_values(layers).reset_index(drop=True)
    combo["_atom"] = np.arange(len(combo))
    mp_combo = pd.Series(codes[layers].merge(combo, on=layers, how="left")["_atom"].to_numpy(), index=codes.index)
    n_c, n_t, n_m = len(combo), len(crime_types), len(months)

    def atom_of(f: pd.DataFrame) -> np.ndarray:
        return ((pd.Index(months).get_indexer(f["month"]) * n_c + mp_combo.loc[f["map_point_id"]].to_numpy()) * n_t
                + pd.Index(crime_types).get_indexer(f["crime_type"]))

    pc = s.groupby(["map_point_id", "month", "crime_type"], sort=True).size().rename("count").reset_index()
    aidx = atom_of(pc)
    vals = np.bincount(aidx, weights=pc["count"].to_numpy(float), minlength=n_m * n_c * n_t)
    grid = pd.MultiIndex.from_product([months, np.arange(n_c), crime_types], names=["month", "_atom", "crime_type"])
    atoms = grid.to_frame(index=False).merge(combo, on="_atom", how="left")
    atoms["count"] = vals
    return atoms, pc, aidx, vals, n_c, n_t, atom_of(s)


def _area_tables(cells: pd.DataFrame, layers: list[str], months: list[str],
                 ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Split the gated cells into one table per layer (monthly, by crime type) and the totals table."""
    area_counts = {}
    for layer in layers:
        lf = cells[(cells["layer"] == layer) & (cells["crime_type"] != ALL) & cells["month"].isin(months)]
        area_counts[layer] = lf[["area_code", "month", "crime_type", "count", "suppressed"]].reset_index(drop=True)
    tot = cells[(cells["layer"] == "all") | (cells["crime_type"] == ALL) | ~cells["month"].isin(months)]
    totals = tot[["layer", "area_code", "month", "crime_type", "count", "suppressed"]].reset_index(drop=True)
    return area_counts, totals


#: The inference rule, as the disclosure report states it.
INFERRED_COVERAGE_RULE = (
    "inferred per source as geocrime.analysis.aggregate does: months from the source's first to last month, the "
    "crime types it recorded, the boroughs holding at least 5 % as many of its incidents as its busiest borough "
    "(and every area in them)")


def _resolve_coverage(coverage: Any, incidents: pd.DataFrame, snapped: pd.DataFrame, codes: pd.DataFrame,
                      source: str | None) -> tuple[Any, dict[str, Any]]:
    """The coverage to apply (None: every cell) and its description for the disclosure report."""
    if coverage is False:
        return None, {"rule": "off (coverage=False): every cell counts as covered; zeros where a source records "
                              "nothing are not checked", "sources": "all"}
    if coverage is not None and coverage is not True:
        cov = normalise_coverage(coverage)
        if isinstance(cov, pd.DataFrame):
            return cov, {"rule": "given: an aggregate() table", "covered_rows": int(cov["covered"].astype(bool).sum()),
                         "rows": int(len(cov))}
        return cov, {"rule": "given", "sources": [c.summary() for c in cov]}
    from ..analysis.aggregate import infer_coverage, source_labels

    src = source_labels(incidents, source)
    if src is None:
        return None, {"rule": "every cell covered: the incidents name no source (no 'Reported by' column; pass "
                              "source= or coverage= to declare one)", "sources": "all"}
    ok = (snapped["status"] == "ok").to_numpy()
    s = snapped[ok]
    covs = infer_coverage(codes.loc[s["map_point_id"], "borough"].to_numpy(), s["month"].to_numpy(),
                          s["crime_type"].to_numpy(), src.to_numpy()[ok])
    return covs, {"rule": INFERRED_COVERAGE_RULE, "sources": [c.summary() for c in covs]}


def _restrict_to_coverage(sysm: CellSystem, atoms: pd.DataFrame, cov: Any, layers: list[str], crime_types: list[str],
                          spans: dict[str, list[str]]) -> tuple[CellSystem, np.ndarray, np.ndarray]:
    """The cell system over the covered cells and atoms only.

    A cell is covered when every atom it sums is covered (a cell without atoms, e.g. a ward holding no
    map point: when its own keys are) and, for a total, every cell it sums is covered. Groups whose
    total is not covered are dropped (that total is not published, so it is no relation the reader has). Returns (system, new index of each atom (-1:
    outside the coverage), covered flag of each cell of ``sysm``).
    """
    if cov is None:
        return sysm, np.arange(len(atoms)), np.ones(len(sysm.cells), bool)
    atom_cov = covered_rows(atoms, cov, layers)
    inc = sysm.incidence.tocsr()
    has = np.diff(inc.indptr) > 0
    cell_cov = has & (inc @ (~atom_cov).astype(float) == 0)
    if (~has).any():
        cell_cov[~has] = _empty_cells_covered(sysm.cells[~has], cov, layers, crime_types, spans)
    gm, tot = sysm.group_members.tocsr(), sysm.group_total
    while True:  # a total is covered only when everything it sums is (e.g. London over boroughs without map points)
        bad = tot[gm @ (~cell_cov).astype(float) > 0]
        bad = bad[cell_cov[bad]]
        if not len(bad):
            break
        cell_cov[bad] = False
    ci, ai = np.flatnonzero(cell_cov), np.flatnonzero(atom_cov)
    cell_new = np.full(len(cell_cov), -1)
    cell_new[ci] = np.arange(len(ci))
    atom_new = np.full(len(atoms), -1)
    atom_new[ai] = np.arange(len(ai))
    keep_g = cell_cov[tot]
    out = CellSystem(cells=sysm.cells.iloc[ci].reset_index(drop=True), incidence=inc[ci][:, ai].tocsr(),
                     atom_values=sysm.atom_values[ai], group_members=gm[keep_g][:, ci].tocsr(),
                     group_total=cell_new[tot[keep_g]].astype(np.int64), fixed=np.zeros(len(ci), bool))
    return out, atom_new, cell_cov


def _empty_cells_covered(cells: pd.DataFrame, cov: Any, layers: list[str], crime_types: list[str],
                         spans: dict[str, list[str]]) -> np.ndarray:
    """Covered flag of cells that sum no atom: every (month, crime type) they stand for is covered at
    their own area code or their parent borough's."""
    c = cells.reset_index(drop=True)
    keys = pd.DataFrame({"_i": np.arange(len(c)),
                         "month": [spans.get(m, [m]) for m in c["month"]],
                         "crime_type": [list(crime_types) if t == ALL else [t] for t in c["crime_type"]]})
    for layer in layers:
        keys[layer] = c["area_code"].where(c["layer"] == layer).to_numpy()
    if "borough" in layers:
        finer = ~c["layer"].isin(["borough", "all"])
        keys["borough"] = np.where(finer, c["parent"].to_numpy(), keys["borough"].to_numpy())
    keys = keys.explode("month").explode("crime_type")
    ok = covered_rows(keys, cov, layers)
    return pd.Series(ok, index=keys["_i"].to_numpy()).groupby(level=0).all().reindex(range(len(c)), fill_value=False).to_numpy()


def _mark_outside(snapped: pd.DataFrame, outside: np.ndarray) -> int:
    """Status ``outside_coverage`` for the located incidents (rows ``ok``, in order) in uncovered atoms."""
    status = snapped["status"].to_numpy(dtype=object).copy()
    ok = np.flatnonzero(status == "ok")
    status[ok[outside]] = "outside_coverage"
    snapped["status"] = status
    snapped.loc[status == "outside_coverage", "map_point_id"] = None
    n = int(outside.sum())
    if n:
        warnings.warn(
            f"gate: {n} located incident(s) fall in areas, months or crime types their source does not cover (e.g. a "
            "force's few records over its border) and are not published; pass coverage= to declare what each source "
            "covers", PublishWarning, stacklevel=3)
    return n


def _coverage_record(full: CellSystem, cell_cov: np.ndarray, desc: dict[str, Any],
                     n_outside: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """GatedData.coverage (every cell with its covered flag) and the report's coverage section."""
    table = full.cells[["layer", "area_code", "month", "crime_type"]].assign(covered=cell_cov).reset_index(drop=True)
    out = table.loc[~table["covered"], "layer"].value_counts()
    desc = {**desc, "cells_covered": int(cell_cov.sum()), "cells_outside": int((~cell_cov).sum()),
            "cells_outside_by_layer": {str(k): int(v) for k, v in out.items()},
            "incidents_outside": n_outside,
            "released_as": "cells outside the coverage are absent from every table and total (no data), never 0"}
    return table, desc


def _warn_no_map_point(snapped: pd.DataFrame) -> None:
    n = int((snapped["status"] == "no_map_point").sum())
    if n:
        warnings.warn(
            f"gate: {n} incident(s) lie in boroughs that have no map point and are not published; the area "
            "cells of those boroughs are left out as no data when the incidents name their source, else they read 0 "
            "although incidents happened there. Build the map points from addresses "
            "that cover every borough (e.g. Code-Point Open postcode units).", PublishWarning, stacklevel=3)


def _periods(s: pd.DataFrame, release: Release) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Months, crime types and cross-month spans of the release (earlier releases' spans included)."""
    months = sorted(s["month"].unique().tolist())
    types = set(s["crime_type"].unique().tolist())
    spans: dict[str, list[str]] = {}
    for p in release.previous:
        pm = list(p.params.get("months", []))
        if not set(pm) <= set(months):
            raise PublishError(f"an earlier release published months {sorted(set(pm) - set(months))} that are not in "
                               "these incidents: pass the incidents of every month released so far")
        types |= set(p.params.get("crime_types", []))
        spans.update({sp: [m for m in months if sp.split('..')[0] <= m <= sp.split('..')[1]]
                      for sp in p.params.get("cross_month_totals", [])})
    if release.cross_month and len(months) > 1:
        spans[f"{months[0]}..{months[-1]}"] = months
    return months, sorted(types), spans


def _previous(sysm: Any, release: Release) -> np.ndarray:
    """Cells public from earlier releases: published ones fixed (same value required), suppressed ones kept."""
    initial = np.zeros(len(sysm.cells), bool)
    fixed = np.zeros(len(sysm.cells), bool)
    if not release.previous:
        sysm.fixed = fixed
        return initial
    key = ["layer", "area_code", "month", "crime_type"]
    idx = sysm.cells.reset_index(names="_i")[key + ["_i", "count"]]
    for p in release.previous:
        m = p.cells.merge(idx, on=key, how="left", suffixes=("", "_now"))
        if m["_i"].isna().any():
            miss = m[m["_i"].isna()].iloc[0]
            raise PublishError(f"an earlier release published {miss['layer']} cells (e.g. {miss['area_code']} "
                               f"{miss['month']} {miss['crime_type']}) that this release lacks: include every table "
                               "and total published before, with the same coverage")
        i = m["_i"].to_numpy(int)
        pubd = ~m["suppressed"].to_numpy(bool)
        diff = pubd & (m["count"].to_numpy(float, na_value=np.nan) != m["count_now"].to_numpy(float))
        if diff.any():
            d = m[diff].iloc[0]
            raise PublishError(f"month {d['month']} was published before with {d['layer']} {d['area_code']} "
                               f"{d['crime_type']} = {d['count']}, these incidents give {d['count_now']}: re-publish "
                               "released months from the same data (revisions need a new, separately audited release)")
        fixed[i[pubd]] = True
        initial[i[~pubd]] = True
    sysm.fixed = fixed & ~initial
    return initial


def _month_info(cells: pd.DataFrame, months: list[str], pc: pd.DataFrame, pub: np.ndarray, aidx: np.ndarray,
                n_c: int, n_t: int, threshold: int) -> dict[str, Any]:
    by = {}
    for m in months:
        c = cells[cells["month"] == m]
        p = pc["month"].to_numpy() == m
        by[m] = {"cells": int(len(c)), "suppressed": int(c["suppressed"].sum()),
                 "points_published": int((pub & p).sum()), "point_cells": int(p.sum())}
    return {"by_month": by}


def _points(pp: pd.DataFrame, xy: np.ndarray, mpp: gpd.GeoDataFrame) -> pd.DataFrame:
    pos = pd.Series(np.arange(len(mpp)), index=mpp["map_point_id"].to_numpy())
    j = pos.loc[pp["map_point_id"]].to_numpy()
    lon, lat = bng_to_lonlat(xy[j, 0], xy[j, 1])
    return pd.DataFrame({
        "map_point_id": pp["map_point_id"].astype(str).to_numpy(),
        "lon": np.round(lon, 6),
        "lat": np.round(lat, 6),
        "month": pp["month"].astype(str).to_numpy(),
        "crime_type": pp["crime_type"].astype(str).to_numpy(),
        "count": pp["count"].astype("int64").to_numpy(),
    })[list(POINT_COLUMNS)]
