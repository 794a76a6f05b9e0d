"""The disclosure report: what the gate published, what it withheld, what an attacker can infer.

:func:`disclosure_report` builds a JSON-serialisable dict; :func:`write_disclosure_report` writes it
as JSON and Markdown.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["disclosure_report", "write_disclosure_report"]

_BINS = [8, 10, 15, 20, 30, 50, 100, 1000]


def _hist(sizes: np.ndarray, k: int) -> dict[str, int]:
    edges = sorted({k, *[b for b in _BINS if b > k]}) + [np.inf]
    out = {f"< {k}": int((sizes < k).sum())}
    for lo, hi in zip(edges[:-1], edges[1:]):
        out[f"{lo}-{'' if hi == np.inf else int(hi) - 1}".rstrip("-") + ("+" if hi == np.inf else "")] = int(
            ((sizes >= lo) & (sizes < hi)).sum())
    return out


def disclosure_report(map_points: Any, snapped: pd.DataFrame, points: pd.DataFrame,
                      area_counts: dict[str, pd.DataFrame], totals: pd.DataFrame,
                      params: dict[str, Any], suppression: dict[str, Any]) -> dict[str, Any]:
    """Build the report (called by the gate; all numbers are counts, distances in metres)."""
    k = int(params["k"])
    sizes = map_points.catchment_sizes.astype(float)
    status = snapped["status"].value_counts().to_dict()
    layers = {}
    for layer, df in area_counts.items():
        layers[layer] = {
            "cells": int(len(df)),
            "suppressed": int(df["suppressed"].sum()),
            "published_zero": int((df["count"] == 0).sum()),
        }
    month_sup = {m: {kk: (v if not isinstance(v, (np.integer, np.floating)) else v.item()) for kk, v in info.items()}
                 for m, info in suppression.items()}
    published_sizes = map_points.points.set_index("map_point_id").loc[points["map_point_id"].unique(), "n_addresses"]
    rep = {
        "params": {kk: v for kk, v in params.items() if isinstance(v, (int, float, str, bool, list, type(None)))},
        "map_points": {**map_points.report,
                       "catchment_histogram": _hist(sizes, k),
                       "published_points": int(points["map_point_id"].nunique()),
                       "published_min_catchment": float(published_sizes.min()) if len(published_sizes) else None},
        "incidents": {
            "rows_in": int(len(snapped)),
            "by_status": {str(a): int(b) for a, b in status.items()},
            "published_in_points": int(points["count"].sum()),
            "withheld_from_points": int((snapped["status"] == "ok").sum() - points["count"].sum()),
        },
        "suppression": {"by_layer": layers, "by_month": month_sup,
                        "totals_suppressed": int(totals["suppressed"].sum()) if len(totals) else 0},
        "attacker_can_infer": [
            f"The map point nearest an incident's true place, i.e. that the incident was at one of at least "
            f"{k} addresses (the smallest published catchment holds {float(published_sizes.min()) if len(published_sizes) else 'n/a'} "
            f"address units; Code-Point postcode units each hold ~15 delivery points, so the true number is larger).",
            "The month and crime category only: no date, time, street text, outcome or identifier is published.",
            f"For a suppressed area cell: a range, never a single value. Every suppressed cell's feasible range given all "
            f"published cells, totals and point counts (counts >= 0) was solved by linear programming and is wider than 0 "
            f"(smallest width per month in suppression.by_month.*.audit_min_width).",
            "Points are withheld wherever any area cell holding them is suppressed, so summing points per area "
            "never recovers a suppressed cell.",
            "Each month is published on its own with its own suppression and no cross-month totals, so differencing two "
            "releases gives only the later month's already-published table.",
            "Not protected: a person who knows an incident happened (e.g. a neighbour) can find which map point and month "
            "it was published at; the counts of incidents at a map point are exact where published (police.uk model).",
        ],
    }
    return json.loads(json.dumps(rep, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def write_disclosure_report(report: dict[str, Any], path: str | Path) -> tuple[Path, Path]:
    """Write ``report`` as ``<path>.json`` and ``<path>.md``; returns both paths."""
    p = Path(path)
    base = p.with_suffix("") if p.suffix in (".json", ".md") else p
    base.parent.mkdir(parents=True, exist_ok=True)
    js, md = base.with_suffix(".json"), base.with_suffix(".md")
    js.write_text(json.dumps(report, indent=2, sort_keys=False), encoding="utf-8")
    mp, inc, sup = report["map_points"], report["incidents"], report["suppression"]
    lines = ["# Disclosure report", "", "## Settings", ""]
    lines += [f"- {a}: {b}" for a, b in report["params"].items()]
    lines += ["", "## Map points (catchments)", ""]
    lines += [f"- {a}: {b}" for a, b in mp.items() if a != "catchment_histogram"]
    lines += ["", "| catchment size (addresses) | map points |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in mp["catchment_histogram"].items()]
    lines += ["", "## Incidents", ""]
    lines += [f"- rows in: {inc['rows_in']}", f"- published in points: {inc['published_in_points']}",
              f"- withheld from points: {inc['withheld_from_points']}"]
    lines += [f"- status {a}: {b}" for a, b in inc["by_status"].items()]
    lines += ["", "## Suppressed cells", "", "| layer | cells | suppressed | published zeros |", "|---|---|---|---|"]
    lines += [f"| {a} | {b['cells']} | {b['suppressed']} | {b['published_zero']} |" for a, b in sup["by_layer"].items()]
    lines += ["", "| month | primary | complementary | points published | LP audit min width |", "|---|---|---|---|---|"]
    lines += [f"| {m} | {i.get('primary')} | {i.get('complementary')} | {i.get('points_published')} | {i.get('audit_min_width')} |"
              for m, i in sup["by_month"].items()]
    lines += ["", "## What an attacker can infer", ""] + [f"- {t}" for t in report["attacker_can_infer"]]
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return js, md
