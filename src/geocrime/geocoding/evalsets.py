"""Evaluation sets of text nobody here wrote, and precision/recall per input style.

Three sets (issue 17):

* **GDS messy addresses** (:func:`gds_queries`): real address strings from four GOV.UK open lists
  (pharmacies, dental practices, MOT stations, marriage venues), geocoded as published with and
  without the postcode; truth = the Code-Point centroid of the published postcode.
* **police-style streets** (:func:`police_style_queries`): the ``On or near <street>`` locations of
  police.uk months the gazetteer never saw, written as police do: ``"<street>, <borough>"``,
  ``"o/s <street> <borough>"`` and ``"<STREET>"`` alone (the borough from the LSOA name);
  truth = the police.uk snap point.
* **FHRS address lines** (:func:`fhrs_list_queries`): the address lines of the FSA food-hygiene
  register as the 16 boroughs' officers typed them (a second list nobody here wrote), joined with
  commas, with and without the register's postcode; truth = the Code-Point centroid of that
  postcode. Geocoded against the evaluation gazetteer *without* the FSA premises
  (``eval_gazetteer(premises=False)``): the list's own entries would answer it.

Scoring (:func:`score_located`), per style, every row counts:

* *placed*: a point was returned (any level but ``none``);
* *precision* = placed rows whose truth lies within the declared ``uncertainty_m`` (or within the
  tolerance, for point levels: premises, street, junction, landmark) / placed rows. Confident and
  wrong is the worst result, so a coarse level that honestly declares 2 km is right when the truth
  lies in those 2 km; a street point that declares 50 m but is 3 km off is wrong.
  A ``postcode_unit`` match must be the truth's own unit when the truth is a unit centroid (GDS);
* *recall* = rows placed within the tolerance (metres; a postcode unit only when it is the right
  unit for GDS) / all rows.

Hold-out: each set has a ``split`` column; ``tune`` rows are for choosing weights and thresholds,
``report`` rows for the figures (police: months 2024-07/08 tune, 2024-09/10 report; GDS: a hash of
the address text and postcode).
"""
from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._geo import lonlat_to_bng
from ..errors import DataNotFoundError

__all__ = ["gds_queries", "police_style_queries", "fhrs_list_queries", "score_located", "street_reachable", "miss_causes", "MISS_CAUSES", "POINT_LEVELS",
           "POLICE_STYLES", "GDS_STYLES", "eval_gazetteer", "run_set"]

#: levels that name a point (the tolerance applies); every other level is judged by its declared radius
POINT_LEVELS = ("premises", "street", "junction", "landmark")
#: police-style input styles
POLICE_STYLES = ("street_borough", "os_street_borough", "street_upper")
#: GDS input styles
GDS_STYLES = ("with_postcode", "without_postcode")
#: police.uk months held out for tuning / for the reported figures
POLICE_TUNE_MONTHS = ("2024-07", "2024-08")
POLICE_REPORT_MONTHS = ("2024-09", "2024-10")


def _data_dir() -> Path:
    from ..config import data_dir

    return Path(data_dir(required=True))


def _split_of(keys: pd.Series) -> np.ndarray:
    """'tune' or 'report' from a stable hash of each key (crc32, half and half)."""
    h = np.fromiter((zlib.crc32(str(k).encode()) for k in keys), dtype=np.int64, count=len(keys))
    return np.where(h % 2 == 0, "tune", "report")


# ------------------------------------------------------------------------------------------- sets
def gds_queries(path: str | Path | None = None) -> pd.DataFrame:
    """The GDS messy-address set, one row per (address, style): columns ``query``, ``style``
    (``with_postcode``: text + published postcode; ``without_postcode``: the text alone), ``list``,
    ``truth_x``/``truth_y`` (EPSG:27700, the postcode's Code-Point centroid), ``truth_pc``,
    ``lad_code``, ``split``."""
    p = Path(path) if path is not None else _data_dir() / "gds_messy_addresses_london_dev" / "london_messy_addresses_dev.csv"
    if not p.exists():
        raise DataNotFoundError(f"no GDS messy-address file at {p}; pass --gds PATH")
    d = pd.read_csv(p, dtype=str, keep_default_na=False)
    text = d["text"].str.strip().str.rstrip(",").str.strip()
    base = pd.DataFrame({
        "list": d["list"], "truth_x": d["easting"].astype(float), "truth_y": d["northing"].astype(float),
        "truth_pc": d["postcode"].str.upper().str.replace(r"\s+", " ", regex=True).str.strip(),
        "lad_code": d["lad_code"], "split": _split_of(d["text"] + "|" + d["postcode"])})
    w = base.assign(query=text + ", " + d["postcode"], style="with_postcode")
    wo = base.assign(query=text, style="without_postcode")
    return pd.concat([w, wo], ignore_index=True)


def fhrs_list_queries(path: str | Path | None = None, n: int | None = 3000, seed: int = 0) -> pd.DataFrame:
    """The FHRS address lines as a list, one row per (address, style): ``query`` (the non-empty
    ``AddressLine1..4`` joined with ", ", plus ``", <PostCode>"`` for ``with_postcode``), ``style``
    (:data:`GDS_STYLES`), ``truth_x``/``truth_y`` (EPSG:27700, the Code-Point centroid of the
    register's postcode; rows whose postcode Code-Point does not hold are left out), ``truth_pc``,
    ``authority``, ``split`` (a hash of the text and postcode). Business names are left out: the
    set measures the address as written. ``n``: distinct addresses sampled per split (seeded; None
    = all)."""
    d = _data_dir()
    p = Path(path) if path is not None else d / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv"
    if not p.exists():
        raise DataNotFoundError(f"no FHRS file at {p}; pass --fhrs-list PATH")
    f = pd.read_csv(p, dtype=str, keep_default_na=False, encoding_errors="replace")
    lines = [f[c].str.strip() for c in ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4") if c in f]
    text = pd.Series([", ".join(v for v in row if v) for row in zip(*lines)], index=f.index, dtype=object)
    pc = f["PostCode"].str.upper().str.replace(r"\s+", " ", regex=True).str.strip()
    units = _codepoint_units()
    at = units.reindex(pc.str.replace(" ", "", regex=False))
    base = pd.DataFrame({"text": text, "truth_pc": pc, "authority": f.get("LocalAuthorityName", ""),
                         "truth_x": at["x"].to_numpy(float), "truth_y": at["y"].to_numpy(float)})
    base = base[(base["text"] != "") & np.isfinite(base["truth_x"])].drop_duplicates(["text", "truth_pc"])
    base["split"] = _split_of(base["text"] + "|" + base["truth_pc"])
    if n is not None:
        rng = np.random.default_rng(seed)
        take = [rng.permutation(np.flatnonzero(base["split"].to_numpy() == sp))[:n] for sp in ("tune", "report")]
        base = base.iloc[np.sort(np.concatenate(take))]
    base = base.reset_index(drop=True)
    w = base.assign(query=base["text"] + ", " + base["truth_pc"], style="with_postcode")
    wo = base.assign(query=base["text"], style="without_postcode")
    return pd.concat([w, wo], ignore_index=True).drop(columns=["text"])


def _codepoint_units() -> pd.DataFrame:
    """Code-Point Open unit centroids (x, y; EPSG:27700) indexed by the postcode without spaces."""
    from ..gazetteer import read_codepoint

    cp = read_codepoint(_data_dir() / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    cp = cp.assign(k=cp["postcode"].str.upper().str.replace(" ", "", regex=False))
    return cp.drop_duplicates("k").set_index("k")[["x", "y"]]


def _borough_of_lsoa_name(name: pd.Series) -> pd.Series:
    return name.astype(str).str.replace(r"\s+\d{3}[A-Z]$", "", regex=True).str.strip()


def police_style_queries(paths: Sequence[str | Path] | None = None, n: int | None = 3000, seed: int = 0) -> pd.DataFrame:
    """Police-style street locations from police.uk CSVs (default: the Met 2024-07..10 burglary
    months), one row per (location, style): ``query``, ``style`` (see :data:`POLICE_STYLES`),
    ``street``, ``borough`` (from the LSOA name), ``month``, ``truth_x``/``truth_y`` (EPSG:27700,
    the snap point), ``split`` (months 2024-07/08 ``tune``, later ``report``).

    ``n``: distinct (street, snap point) locations sampled per split (seeded; None = all)."""
    from ..gazetteer.sources import POLICE_UK_NOT_STREETS

    if paths is None:
        paths = sorted((_data_dir() / "policeuk_met_burglary_street_2024h2").glob("*.csv"))
    if not paths:
        raise DataNotFoundError("no police.uk CSV files given for the police-style set")
    d = pd.concat([pd.read_csv(p, usecols=["Month", "Longitude", "Latitude", "Location", "LSOA name"], dtype=str)
                   for p in paths], ignore_index=True).dropna()
    on = d["Location"].str.match(r"(?i)^on or near ")
    d = d[on].copy()
    d["street"] = d["Location"].str.replace(r"(?i)^on or near\s+", "", regex=True).str.strip()
    d = d[~d["street"].str.lower().isin(POLICE_UK_NOT_STREETS) & (d["street"] != "")]
    d["borough"] = _borough_of_lsoa_name(d["LSOA name"])
    d = d.drop_duplicates(["street", "Longitude", "Latitude"]).reset_index(drop=True)
    x, y = lonlat_to_bng(d["Longitude"].astype(float).to_numpy(), d["Latitude"].astype(float).to_numpy())
    d["truth_x"], d["truth_y"] = x, y
    d["split"] = np.where(d["Month"].isin(POLICE_TUNE_MONTHS), "tune", "report")
    if n is not None:
        rng = np.random.default_rng(seed)
        take = [rng.permutation(np.flatnonzero(d["split"].to_numpy() == sp))[:n] for sp in ("tune", "report")]
        d = d.iloc[np.sort(np.concatenate(take))].reset_index(drop=True)
    st, bo = d["street"], d["borough"]
    styles = {
        "street_borough": st + ", " + bo,
        "os_street_borough": "o/s " + st + " " + bo,
        "street_upper": st.str.upper(),
    }
    keep = ["street", "borough", "Month", "truth_x", "truth_y", "split"]
    out = pd.concat([d[keep].assign(query=q, style=s) for s, q in styles.items()], ignore_index=True)
    return out.rename(columns={"Month": "month"})


# ------------------------------------------------------------------------------------------ score
def _right(results: pd.DataFrame, truth: pd.DataFrame, tol: float, unit_exact: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(placed, precise, recalled) boolean arrays."""
    level = results["match_level"].astype(str).to_numpy()
    x, y = results["x"].to_numpy(float), results["y"].to_numpy(float)
    err = np.hypot(x - truth["truth_x"].to_numpy(float), y - truth["truth_y"].to_numpy(float))
    unc = results["uncertainty_m"].to_numpy(float)
    placed = (level != "none") & np.isfinite(err)
    point = np.isin(level, POINT_LEVELS)
    within = np.where(point, err <= np.maximum(np.nan_to_num(unc, nan=0.0), tol), err <= np.nan_to_num(unc, nan=0.0))
    recalled = placed & (err <= tol)
    if unit_exact:
        # truth is a postcode centroid: a postcode-unit answer is right only as the same unit
        unit = level == "postcode_unit"
        within = np.where(unit, err <= 1.0, within)
        recalled = np.where(unit, placed & (err <= 1.0), recalled)
    return placed, placed & within, recalled


#: where the rows not recalled went (:func:`miss_causes`), in the order they are tested
MISS_CAUSES = ("wrong", "street_not_held", "ambiguous_street", "long_street", "coarse", "other")


def miss_causes(results: pd.DataFrame, truth: pd.DataFrame, tol: float, reach: np.ndarray | None = None,
                unit_exact: bool = False) -> np.ndarray:
    """Per row, why it was not recalled ('' when it was), the first that applies of
    :data:`MISS_CAUSES`: ``wrong`` (placed, the truth outside the declared uncertainty: confident
    and wrong); ``street_not_held`` (no source holds the record's street near the truth: ``reach``
    from :func:`street_reachable`; skipped when ``reach`` is None); ``ambiguous_street`` (the street is
    held as separate streets the text does not choose between); ``long_street`` (placed on the right
    street, truth within its declared extent, but more than ``tol`` metres from its point: where
    along the street the text does not say); ``coarse`` (placed right at a coarser level: locality,
    borough, postcode district); ``other`` (unplaced for another reason)."""
    return _causes(*_right(results, truth, tol, unit_exact), results, reach)


def _causes(placed: np.ndarray, precise: np.ndarray, recalled: np.ndarray, results: pd.DataFrame,
            reach: np.ndarray | None) -> np.ndarray:
    level = results["match_level"].astype(str).to_numpy()
    reason = results["reason"].astype(str).to_numpy()
    held = np.ones(len(level), dtype=bool) if reach is None else np.asarray(reach, dtype=bool)
    conds = [placed & ~precise, ~held, reason == "ambiguous_street", precise & (level == "street"), precise,
             np.ones(len(level), dtype=bool)]
    cause = np.select(conds, list(MISS_CAUSES), default="other").astype(object)
    cause[recalled] = ""
    return cause


def score_located(results: pd.DataFrame, truth: pd.DataFrame, tol: float, by: str = "style",
                  unit_exact: bool = False, reach: np.ndarray | None = None) -> dict[str, Any]:
    """Precision/recall per value of ``truth[by]`` (see the module docstring). ``results``: output of
    :func:`geocrime.geocoding.geocode` in the same row order as ``truth``; ``reach``: per row, whether
    the gazetteer holds its street near the truth (:func:`street_reachable`), for the ``street_reachable``
    share and the miss causes. Returns ``{style: {rows, placed, precision, recall, by_level: {level: rows},
    wrong_by_level, reasons, misses: {cause: rows}[, street_reachable]}}`` (causes: :func:`miss_causes`)."""
    placed, precise, recalled = _right(results, truth, tol, unit_exact)
    cause = _causes(placed, precise, recalled, results, reach)
    level = results["match_level"].astype(str).to_numpy()
    reason = results["reason"].astype(str).to_numpy()
    out: dict[str, Any] = {}
    groups = truth[by].astype(str).to_numpy()
    for g in pd.unique(groups):
        m = groups == g
        n, npl = int(m.sum()), int(placed[m].sum())
        out[str(g)] = {
            "rows": n, "placed": npl,
            "precision": round(float(precise[m].sum() / npl), 4) if npl else None,
            "recall": round(float(recalled[m].sum() / n), 4) if n else None,
            "by_level": pd.Series(level[m]).value_counts().to_dict(),
            "wrong_by_level": pd.Series(level[m & placed & ~precise]).value_counts().to_dict(),
            "reasons": pd.Series(reason[m & ~placed]).value_counts().head(8).to_dict(),
            "misses": {c: int((cause[m] == c).sum()) for c in MISS_CAUSES if reach is not None or c != "street_not_held"},
        }
        if reach is not None:
            out[str(g)]["street_reachable"] = round(float(np.asarray(reach, dtype=bool)[m].mean()), 4)
    return out


# ------------------------------------------------------------------------------------------ runs
def street_reachable(queries: pd.DataFrame, gazetteer: Any, tol: float, backend: str = "rules") -> np.ndarray:
    """Per query (``query``, ``truth_x``/``truth_y``): does the gazetteer hold the record's street,
    as the parser reads it, within ``tol`` metres of the truth (a street point, premises or street
    row of that key; ``backend``: the parser the geocoder used)? The share is the ceiling of street-level recall with this gazetteer: a street no
    source holds cannot be placed on it (police.uk streets of other months; commercial streets
    the residential street layer lacks)."""
    from ..address import parse_many
    from ..gazetteer.keys import canonical_components

    key = canonical_components(parse_many(queries["query"], backend=backend))["street"].to_numpy(dtype=object)
    t = gazetteer.table
    rows = np.flatnonzero(np.isin(t["level"].to_numpy(dtype=object), ["street", "street_point", "premises"])
                          & (t["k_street"].to_numpy(dtype=object) != ""))
    ent = pd.DataFrame({"key": t["k_street"].to_numpy(dtype=object)[rows], "x": t["x"].to_numpy(float)[rows],
                        "y": t["y"].to_numpy(float)[rows], "r": np.where(t["level"].to_numpy(dtype=object)[rows] == "street",
                                                                       t["radius"].to_numpy(float)[rows], 0.0)})
    q = pd.DataFrame({"i": np.arange(len(queries)), "key": key, "tx": queries["truth_x"].to_numpy(float),
                      "ty": queries["truth_y"].to_numpy(float)})
    # the geocoder also reads a name without its spaces (ladder._rows_of_names): so does the ceiling
    q["key"] = q["key"].astype(str).str.replace(" ", "", regex=False)
    ent["key"] = ent["key"].astype(str).str.replace(" ", "", regex=False)
    m = q[q["key"] != ""].merge(ent, on="key")
    near = np.hypot(m["x"] - m["tx"], m["y"] - m["ty"]) <= tol + m["r"]
    out = np.zeros(len(queries), dtype=bool)
    out[m["i"].to_numpy()[near.to_numpy()]] = True
    return out


def _ppd_streets(codepoint: pd.DataFrame) -> pd.DataFrame:
    """Street points from the shared postcode -> street table (``streets_london_ppd``, development
    data only: never packaged), one ``street_point`` per (street, postcode unit) at the unit's point.
    Uses 17a's reader when the gazetteer package has one."""
    from ..gazetteer import sources as _src

    path = _data_dir() / "streets_london_ppd" / "london_postcode_streets.csv.gz"
    reader = getattr(_src, "read_streets_ppd", None)
    if reader is not None:
        try:
            return reader(path, codepoint)
        except TypeError:
            pass
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    u = codepoint.drop_duplicates("postcode").set_index("postcode")
    x = u["x"].reindex(t["postcode"]).to_numpy(float)
    y = u["y"].reindex(t["postcode"]).to_numpy(float)
    df = pd.DataFrame({"street": t["street"].str.title(), "postcode": t["postcode"], "x": x, "y": y})
    df = df[np.isfinite(x) & (df["street"] != "")].reset_index(drop=True)
    df["source_id"] = ""
    return _src._finish_source(df, "ppd_streets", "street_point")


def eval_gazetteer(street_months: Sequence[str | Path] | None = None, extra: Sequence[Any] = (),
                   cache_dir: str | Path | None = None, street_layer: bool = True, premises: bool = True) -> Any:
    """The evaluation gazetteer: FSA premises (16 boroughs; left out with ``premises=False``, for the
    FHRS-lines set) + Code-Point Open units + a police.uk
    street layer from ``street_months`` (default: Met burglary 2024-01..06, never the evaluated
    months) + (``street_layer``) the postcode -> street layer of ``streets_london_ppd`` + the TfL
    stations (landmarks) and the place lexicon's localities + any ``extra`` source tables. Saved under ``cache_dir`` (keyed by the inputs and the
    parser) and reloaded on the next run."""
    from ..gazetteer import Gazetteer, read_codepoint, read_fhrs, streets_from_police_uk
    from ..gazetteer.core import parser_fingerprint

    d = _data_dir()
    if street_months is None:
        street_months = sorted((d / "policeuk_met_burglary_street").glob("*.csv"))
    key = hashlib.sha256(("|".join(map(str, street_months)) + parser_fingerprint() + f"ppd{street_layer}" + ("" if premises else "nofsa")
                          + "|".join(getattr(e, "attrs", {}).get("name", str(len(e))) for e in extra)).encode()).hexdigest()[:12]
    cache = Path(cache_dir) / f"evalgaz_{key}" if cache_dir is not None else None
    if cache is not None and (cache / "meta.json").exists():
        from ..errors import GazetteerError

        try:
            return Gazetteer.load(cache)
        except GazetteerError:  # built by another gazetteer format: rebuild
            pass
    cp = read_codepoint(d / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    fhrs = [read_fhrs(d / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")] if premises else []
    streets = streets_from_police_uk(list(street_months), cp)
    layer = [_ppd_streets(cp)] if street_layer else []
    from ..gazetteer import sources as _src

    places = []
    if hasattr(_src, "read_landmarks"):  # the TfL stations and the lexicon's localities (issue 17a)
        places.append(_src.read_landmarks(d / "landmarks_london_stations" / "tfl_stations_2022.csv"))
    if hasattr(_src, "localities_from_places"):
        places.append(_src.localities_from_places())
    gaz = Gazetteer.from_sources([*fhrs, streets, *layer, *places, *extra, cp])
    if cache is not None:
        gaz.save(cache)
    return gaz


def run_set(name: str, gazetteer: Any, split: str = "report", n: int | None = 3000, seed: int = 0,
            path: str | Path | None = None, boundaries: Any = None, n_jobs: int = 1,
            **geocode_kw: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """Geocode one evaluation set (``"gds"``, ``"police"`` or ``"fhrs_list"``: give the latter a gazetteer
    without the FSA premises) against ``gazetteer`` and score it per
    style. ``split``: ``tune``, ``report`` or ``all``. Returns (report, results with truth columns)."""
    from .api import geocode

    if name == "gds":
        q = gds_queries(path)
        tol, unit_exact = 250.0, True
    elif name == "police":
        q = police_style_queries([path] if isinstance(path, (str, Path)) else path, n=n, seed=seed)
        tol, unit_exact = 300.0, False
    elif name == "fhrs_list":
        q = fhrs_list_queries(path, n=n, seed=seed)
        tol, unit_exact = 250.0, True
    else:
        raise ValueError(f"unknown evaluation set {name!r}: 'gds', 'police' or 'fhrs_list'")
    if split != "all":
        q = q[q["split"] == split].reset_index(drop=True)
    res = geocode(q[["query"]], gazetteer, columns="query", boundaries=boundaries, n_jobs=n_jobs, **geocode_kw)
    reach = street_reachable(q, gazetteer, tol, backend=geocode_kw.get("backend", "rules"))
    rep = score_located(res, q, tol=tol, unit_exact=unit_exact, reach=reach)
    rep = {"set": name, "split": split, "tolerance_m": tol, "styles": rep}
    full = pd.concat([q.drop(columns=["query"]), res.drop(columns=["geometry"], errors="ignore")], axis=1)
    full["miss_cause"] = miss_causes(res, q, tol, reach=reach, unit_exact=unit_exact)
    return rep, full
