"""Evaluate geocoding results against known truth: precision/recall by level and threshold, right
ward/LSOA share, distance errors (metres, EPSG:27700).

::

    from geocrime.geocoding import evaluate, run_fhrs_evaluation
    report = evaluate(results, truth)      # results from geocode(); truth: truth_id/truth_x/truth_y
    report["premises"]["precision"]

Definitions (all rows count; rows the geocoder leaves ambiguous or unmatched count against recall,
never against precision):

* premises precision = premises matches whose entry is the truth / premises matches;
* premises recall = premises matches whose entry is the truth / all rows;
* the threshold table re-decides premises matches at other score thresholds (same margin rule);
* right ward / LSOA = rows whose ``ward_code`` equals the ward of the true point / rows given a ward
  (and / all rows);
* distance error = metres between the returned point and the true point, percentiles per level.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import MissingColumnsError

__all__ = ["evaluate", "run_fhrs_evaluation"]


def _pct(a: np.ndarray, q: float) -> float | None:
    a = a[np.isfinite(a)]
    return float(np.percentile(a, q)) if len(a) else None


def evaluate(results: pd.DataFrame, truth: pd.DataFrame | None = None, boundaries: Any = None,
             thresholds: Sequence[float] = (6, 8, 10, 12, 14, 16), margin: float | None = None) -> dict[str, Any]:
    """Metrics of ``results`` (output of :func:`geocrime.geocoding.geocode`) against ``truth``
    (columns ``truth_id`` — gazetteer id, -1 unknown — and ``truth_x``/``truth_y`` in EPSG:27700;
    by default taken from ``results`` itself). ``boundaries`` gives the true ward/LSOA of the truth
    points (needed for the right-ward share). Returns a JSON-serialisable dict."""
    from .params import DEFAULT_MARGIN

    margin = DEFAULT_MARGIN if margin is None else margin
    truth = results if truth is None else truth
    need = ["truth_id", "truth_x", "truth_y"]
    miss = [c for c in need if c not in truth.columns]
    if miss:
        raise MissingColumnsError(f"evaluation needs truth columns {miss}")
    n = len(results)
    tid = truth["truth_id"].to_numpy(np.int64)
    tx, ty = truth["truth_x"].to_numpy(float), truth["truth_y"].to_numpy(float)
    level = results["match_level"].astype("str").to_numpy()
    gid = results["gazetteer_id"].to_numpy(np.int64)
    x, y = results["x"].to_numpy(float), results["y"].to_numpy(float)
    err = np.hypot(x - tx, y - ty)
    prem = level == "premises"
    correct = prem & (gid == tid)
    rep: dict[str, Any] = {"rows": int(n)}
    rep["premises"] = {
        "matched": int(prem.sum()),
        "correct": int(correct.sum()),
        "precision": float(correct.sum() / prem.sum()) if prem.any() else None,
        "recall": float(correct.sum() / n) if n else None,
        "error_m_median": _pct(err[prem], 50),
        "error_m_p95": _pct(err[prem], 95),
        "wrong_error_m_median": _pct(err[prem & ~correct], 50),
    }
    by = {}
    for lv in ["premises", "street", "postcode_unit", "postcode_sector", "postcode_district", "area", "none"]:
        m = level == lv
        by[lv] = {"rows": int(m.sum()), "share": float(m.mean()) if n else 0.0,
                  "error_m_median": _pct(err[m], 50), "error_m_p95": _pct(err[m], 95)}
    rep["by_level"] = by
    located = np.isfinite(err)
    rep["all_located"] = {"rows": int(located.sum()), "error_m_median": _pct(err, 50), "error_m_p95": _pct(err, 95)}
    rep["ambiguous_rows"] = int(results["ambiguous"].astype(bool).sum())
    if "candidate_id" in results.columns:
        score = results["score"].to_numpy(float)
        mg = results["margin"].to_numpy(float)
        cid = results["candidate_id"].to_numpy(np.int64)
        rows = []
        for t in thresholds:
            acc = (score >= t) & (mg >= margin)
            ok = acc & (cid == tid)
            rows.append({"threshold": float(t), "matched": int(acc.sum()),
                         "precision": float(ok.sum() / acc.sum()) if acc.any() else None,
                         "recall": float(ok.sum() / n) if n else None})
        rep["thresholds"] = rows
    if boundaries is not None:
        from ..areas import point_codes

        codes = point_codes(tx, ty, boundaries)
        for kind in ("ward", "lsoa"):
            col = f"{kind}_code"
            if kind not in codes or col not in results.columns:
                continue
            pred = results[col].to_numpy(dtype=object)
            tr = codes[kind]
            has = pd.notna(pred) & pd.notna(tr)
            right = has & (pred == tr)
            conf = results[f"{kind}_confidence"].to_numpy(float)
            rep[f"right_{kind}"] = {
                "rows_with_code": int(has.sum()),
                "share_of_coded": float(right.sum() / has.sum()) if has.any() else None,
                "share_of_all": float(right.sum() / n) if n else None,
                "share_of_premises": float((right & prem).sum() / (has & prem).sum()) if (has & prem).any() else None,
                "share_confident": float((right & (conf >= 0.9)).sum() / (has & (conf >= 0.9)).sum()) if (has & (conf >= 0.9)).any() else None,
                "rows_confident": int((has & (conf >= 0.9)).sum()),
            }
    return rep


def run_fhrs_evaluation(fhrs_path: Any, gazetteer: Any, n: int = 20_000, seed: int = 0, postcode: str = "mixed",
                        boundaries: Any = None, backend: str = "rules", n_jobs: int = 1) -> tuple[dict[str, Any], pd.DataFrame]:
    """Generate ``n`` seeded queries from the FHRS premises (:func:`geocrime.geocoding.querygen.make_queries`),
    geocode them against ``gazetteer`` and evaluate. Returns (report, results with truth columns)."""
    from ..gazetteer import read_fhrs
    from .api import geocode
    from .querygen import make_queries

    src = read_fhrs(fhrs_path)
    q = make_queries(src, gazetteer, n=n, seed=seed, postcode=postcode)
    res = geocode(q, gazetteer, columns="query", boundaries=boundaries, backend=backend, n_jobs=n_jobs)
    rep = evaluate(res, boundaries=boundaries)
    # diagnostic: queries whose true address (flat, number, building, street) is shared by another
    # premises elsewhere cannot be resolved without the postcode or town: how recall splits on that
    t = gazetteer.table
    prem = t[t["level"] == "premises"]
    key = ["k_flat", "k_hn_num", "k_hn_suf", "k_hn_end", "k_bname", "k_street"]
    shared = prem.duplicated(key, keep=False)
    shared_ids = set(prem.loc[shared, "id"])
    amb = q["truth_id"].isin(shared_ids).to_numpy()
    ok = ((res["match_level"] == "premises") & (res["gazetteer_id"] == res["truth_id"])).to_numpy()
    rep["address_shared_elsewhere"] = {
        "rows": int(amb.sum()),
        "recall_shared": float(ok[amb].mean()) if amb.any() else None,
        "recall_unique": float(ok[~amb].mean()) if (~amb).any() else None,
    }
    # queries the generator left naming no premises ("WORSLEY RD, LEYTONSTONE": no number, flat,
    # building name or postcode) are placed on the street by design, never as the premises drawn
    names_none = ~q["names_premises"].to_numpy(bool)
    rep["names_no_premises"] = {
        "rows": int(names_none.sum()),
        "levels": pd.Series(res["match_level"].astype(str).to_numpy()[names_none]).value_counts().to_dict(),
        "recall_others": float(ok[~names_none].mean()) if (~names_none).any() else None,
    }
    rep["query_set"] = {"n": int(n), "seed": int(seed), "postcode": postcode,
                        "edits": pd.Series(",".join(q["edits"]).split(",")).value_counts().drop("", errors="ignore").to_dict()}
    return rep, res
