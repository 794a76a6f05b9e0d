"""Calibrated ``match_probability``: the probability that the truth lies within a row's declared
uncertainty (or the evaluation tolerance, for point levels), per match level.

:class:`MatchCalibrator` follows scikit-learn's estimator pattern: ``fit(results, correct)`` learns,
per match level, an isotonic (monotone non-decreasing) map from the row's premises ``score`` to the
share of correct rows (scikit-learn's ``IsotonicRegression`` when installed, else a numpy
pool-adjacent-violators fit); levels without a score, or with too few scored rows, get their
observed share (a Laplace-smoothed constant). ``tables_`` holds the fitted maps as plain numbers, so
:meth:`to_json` / :meth:`from_json` store them as a data file and :meth:`predict` needs only numpy.

The packaged table (``calibration.json`` beside this module) was fitted on the ``tune`` rows of the
evaluation sets (:mod:`geocrime.geocoding.evalsets`: police-style streets of months 2024-07/08 and
half the GDS addresses, with and without postcode) plus seeded FHRS queries; the reliability table
in ``docs/stages/geocoding.md`` is measured on the ``report`` rows.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MatchCalibrator", "default_calibrator", "reliability_table"]

#: fewer scored rows than this at a level: a constant probability for the level
MIN_SCORED_ROWS = 50


def _pava(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic fit by pool-adjacent-violators: (x knots, fitted y), x ascending (numpy only)."""
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order].astype(float)
    vals, wts, xs = [], [], []
    for xi, yi in zip(x, y):
        vals.append(yi)
        wts.append(1.0)
        xs.append([xi, xi])
        while len(vals) > 1 and vals[-2] > vals[-1]:
            w = wts[-2] + wts[-1]
            v = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / w
            lo = xs[-2][0]
            hi = xs[-1][1]
            vals[-2:], wts[-2:], xs[-2:] = [v], [w], [[lo, hi]]
    kx = np.array([p for a, b in xs for p in (a, b)])
    ky = np.array([v for v in vals for _ in (0, 1)])
    return kx, ky


def _isotonic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.isotonic import IsotonicRegression
    except ImportError:  # scikit-learn is optional here
        return _pava(x, y)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    return np.asarray(iso.X_thresholds_, float), np.asarray(iso.y_thresholds_, float)


class MatchCalibrator:
    """Per-level calibration of geocoding results (see the module docstring).

    Parameters: ``min_scored`` — scored rows a level needs for a score-dependent map.
    Attributes after :meth:`fit`: ``tables_`` — ``{level: {"x": [...], "y": [...], "base": p, "n": rows}}``.
    """

    def __init__(self, min_scored: int = MIN_SCORED_ROWS) -> None:
        self.min_scored = min_scored

    def fit(self, results: pd.DataFrame, correct: np.ndarray | pd.Series) -> "MatchCalibrator":
        """Learn from geocoded rows (``match_level``, ``score``) and whether each was right."""
        level = results["match_level"].astype(str).to_numpy()
        score = pd.to_numeric(results["score"], errors="coerce").to_numpy(float)
        ok = np.asarray(correct, dtype=float)
        tables: dict[str, dict[str, Any]] = {}
        for lv in pd.unique(level):
            if lv == "none":
                continue
            m = level == lv
            base = (ok[m].sum() + 1.0) / (m.sum() + 2.0)  # Laplace-smoothed share of right rows
            t: dict[str, Any] = {"base": float(base), "n": int(m.sum()), "x": [], "y": []}
            sm = m & np.isfinite(score)
            if sm.sum() >= self.min_scored and lv == "premises":
                kx, ky = _isotonic(score[sm], ok[sm])
                t["x"], t["y"] = [float(v) for v in kx], [float(v) for v in ky]
            tables[str(lv)] = t
        self.tables_ = tables
        return self

    def predict(self, results: pd.DataFrame) -> np.ndarray:
        """``match_probability`` per row (NaN for ``none`` and for levels never seen in fitting)."""
        level = results["match_level"].astype(str).to_numpy()
        score = pd.to_numeric(results["score"], errors="coerce").to_numpy(float)
        out = np.full(len(level), np.nan)
        for lv, t in self.tables_.items():
            m = level == lv
            if not m.any():
                continue
            out[m] = t["base"]
            if t["x"]:
                sm = m & np.isfinite(score)
                out[sm] = np.interp(score[sm], t["x"], t["y"])
        return np.clip(out, 0.0, 1.0)

    # ------------------------------------------------------------------ persistence
    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps({"min_scored": self.min_scored, "tables": self.tables_}, indent=1))
        return path

    @classmethod
    def from_json(cls, path: str | Path) -> "MatchCalibrator":
        d = json.loads(Path(path).read_text())
        c = cls(d.get("min_scored", MIN_SCORED_ROWS))
        c.tables_ = d["tables"]
        return c


_DEFAULT: list[MatchCalibrator | None] = []


def default_calibrator() -> MatchCalibrator | None:
    """The packaged calibration (``calibration.json``), or None when the file is absent."""
    if not _DEFAULT:
        ref = resources.files("geocrime.geocoding") / "calibration.json"
        try:
            with resources.as_file(ref) as p:
                _DEFAULT.append(MatchCalibrator.from_json(p) if Path(p).exists() else None)
        except (FileNotFoundError, OSError):
            _DEFAULT.append(None)
    return _DEFAULT[0]


def reliability_table(prob: np.ndarray, correct: np.ndarray, level: np.ndarray,
                      bins: tuple[float, ...] = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001)) -> pd.DataFrame:
    """Predicted vs observed: rows, mean predicted probability and observed share right, per level
    and probability bin (placed rows only)."""
    m = np.isfinite(prob)
    df = pd.DataFrame({"level": level[m], "p": prob[m], "ok": np.asarray(correct, float)[m]})
    df["bin"] = pd.cut(df["p"], bins=list(bins), right=False)
    g = df.groupby(["level", "bin"], observed=True)
    return g.agg(rows=("ok", "size"), predicted=("p", "mean"), observed=("ok", "mean")).reset_index()
