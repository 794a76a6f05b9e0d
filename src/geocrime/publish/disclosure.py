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

__all__ = ["ATTACKER_KNOWLEDGE", "NOT_ASSUMED", "disclosure_report", "write_disclosure_report"]

_BINS = [8, 10, 15, 20, 30, 50, 100, 1000]


def _hist(sizes: np.ndarray, k: int) -> dict[str, int]:
    edges = sorted({k, *[b for b in _BINS if b > k]}) + [np.inf]
    out = {f"< {k}": int((sizes < k).sum())}
    for lo, hi in zip(edges[:-1], edges[1:]):
        out[f"{lo}-{'' if hi == np.inf else int(hi) - 1}".rstrip("-") + ("+" if hi == np.inf else "")] = int(
            ((sizes >= lo) & (sizes < hi)).sum())
    return out


#: What the gate's audit assumes a reader knows (the report lists it with every release).
ATTACKER_KNOWLEDGE = (
    "every figure of this release and of the earlier releases it was audited with: all area tables, London and "
    "all-crime totals, cross-month totals, every published point count and position, the tiles (sums of those points)",
    "the boundaries, so which ward lies in which borough and which published point counts toward which area",
    "that counts are whole numbers >= 0 and that zeros are published, so every suppressed cell is at least 1",
    "the coverage this report states: which cells the sources cover; a cell outside it is absent from every table "
    "(no data), so it is no equation and no zero",
    "the suppression rule and threshold (cells of 1..threshold-1 are suppressed; partners are chosen by a secret key, "
    "not by size, so which cell was chosen says nothing about its value)",
    "the open address data and this library's open-source map-point code, so the catchment of every map point",
    "the incident positions police.uk publishes",
)

#: What the audit does NOT assume the reader knows or does.
NOT_ASSUMED = (
    "outside knowledge of individual incidents (a victim, a neighbour, a journalist): such a reader can find the "
    "map point and month of a known incident, as on police.uk",
    "second-order inference from re-running the gate on guessed data to see which partners it would have chosen",
    "releases that were not passed to the gate as Release(previous=...)",
)


def disclosure_report(map_points: Any, snapped: pd.DataFrame, points: pd.DataFrame,
                      area_counts: dict[str, pd.DataFrame], totals: pd.DataFrame,
                      params: dict[str, Any], suppression: dict[str, Any]) -> dict[str, Any]:
    """Build the report (called by the gate; all numbers are counts, distances in metres)."""
    k = int(params["k"])
    t = int(params["threshold"])
    sizes = map_points.catchment_sizes.astype(float)
    status = snapped["status"].value_counts().to_dict()
    coverage = params.get("coverage") or {}
    outside = coverage.get("cells_outside_by_layer", {})
    layers = {}
    for layer, df in area_counts.items():
        layers[layer] = {
            "cells": int(len(df)),
            "suppressed": int(df["suppressed"].sum()),
            "published_zero": int((df["count"] == 0).sum()),
            "outside_coverage": int(outside.get(layer, 0)),
        }
    sup = json.loads(json.dumps(suppression, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    mpp = map_points.points.set_index("map_point_id")
    pub_ids = points["map_point_id"].unique()
    published_sizes = mpp.loc[pub_ids, "n_places"] if len(pub_ids) else pd.Series(dtype=float)
    pub_radius = mpp.loc[pub_ids, "radius_m"] if len(pub_ids) else pd.Series(dtype=float)
    r_min = map_points.params.get("min_radius_m")
    c_min = map_points.params.get("clear_m")
    rep = {
        "params": {kk: v for kk, v in params.items() if isinstance(v, (int, float, str, bool, list, type(None)))},
        "release": params.get("release"),
        "coverage": coverage,
        "map_points": {**map_points.report,
                       "catchment_histogram": _hist(sizes, k),
                       "published_points": int(len(pub_ids)),
                       "published_min_catchment": float(published_sizes.min()) if len(published_sizes) else None,
                       "published_min_radius_m": float(pub_radius.min()) if len(pub_radius) else None,
                       "points_withheld_unplaceable": suppression.get("points_withheld_unplaceable", 0),
                       "positions_moved_off_incidents": suppression.get("positions_moved_off_incidents", 0)},
        "incidents": {
            "rows_in": int(len(snapped)),
            "by_status": {str(a): int(b) for a, b in status.items()},
            "outside_coverage": int((snapped["status"] == "outside_coverage").sum()),
            "published_in_points": int(points["count"].sum()),
            "withheld_from_points": int((snapped["status"] == "ok").sum() - points["count"].sum()),
        },
        "suppression": {"by_layer": layers, "by_month": sup.get("by_month", {}),
                        "audit": {kk: v for kk, v in sup.items() if kk != "by_month"},
                        "totals_suppressed": int(totals["suppressed"].sum()) if len(totals) else 0},
        "attacker_knowledge_assumed": list(ATTACKER_KNOWLEDGE),
        "attacker_knowledge_not_assumed": list(NOT_ASSUMED),
        "attacker_can_infer": [
            f"For an incident published at a map point: that it happened in that point's catchment, which holds at "
            f"least {k} distinct address places (smallest published: "
            f"{float(published_sizes.min()) if len(published_sizes) else 'n/a'}; many premises at one position count as "
            f"one place) and reaches at least {r_min} m from the point, so the incident cannot be placed within "
            f"{r_min} m of it.",
            f"The published position itself: it is at least {c_min} m from every address, premises and incident "
            "position the gate was given, inside the catchment; it is not a place.",
            "The month and crime category only: no date, time, street text, outcome or identifier is published.",
            f"For a suppressed cell: that it is at least 1 (zeros are published) and a range at least {t} wide; never "
            f"a single value and never a range inside 1..{t - 1}. The range was solved by linear programming over "
            "every published table, total, cross-month total and point count of this release together with the "
            "earlier releases it lists (smallest width: suppression.audit.audit_min_width).",
            "For a cell absent from the tables: nothing. No source covers it (stated under coverage), so it is "
            "\"no data\": not a zero and not a suppressed count, and no incident in it is published, as a count or a point.",
            "Points are withheld wherever any cell they count toward is suppressed, so summing points per area "
            "never recovers a suppressed cell; tiles hold only sums of published points.",
            "Not protected: a person who knows an incident happened (e.g. a neighbour) can find which map point and "
            "month it was published at; the counts of incidents at a map point are exact where published (police.uk model).",
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
    lines += _coverage_lines(report.get("coverage") or {})
    lines += ["", "## Map points (catchments)", ""]
    lines += [f"- {a}: {b}" for a, b in mp.items() if a != "catchment_histogram"]
    lines += ["", "| catchment size (addresses) | map points |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in mp["catchment_histogram"].items()]
    lines += ["", "## Incidents", ""]
    lines += [f"- rows in: {inc['rows_in']}", f"- published in points: {inc['published_in_points']}",
              f"- withheld from points: {inc['withheld_from_points']}"]
    lines += [f"- status {a}: {b}" for a, b in inc["by_status"].items()]
    lines += ["", "## Suppressed cells", "", "| layer | cells | suppressed | published zeros | outside coverage (absent) |",
              "|---|---|---|---|---|"]
    lines += [f"| {a} | {b['cells']} | {b['suppressed']} | {b['published_zero']} | {b.get('outside_coverage', 0)} |"
              for a, b in sup["by_layer"].items()]
    lines += ["", "| month | cells | suppressed | points published |", "|---|---|---|---|"]
    lines += [f"| {m} | {i.get('cells')} | {i.get('suppressed')} | {i.get('points_published')} |"
              for m, i in sup["by_month"].items()]
    lines += ["", "Audit: " + ", ".join(f"{a} {b}" for a, b in sup.get("audit", {}).items())]
    lines += ["", "## What the audit assumed the attacker knows", ""] + [f"- {t}" for t in report.get("attacker_knowledge_assumed", [])]
    lines += ["", "## Not assumed", ""] + [f"- {t}" for t in report.get("attacker_knowledge_not_assumed", [])]
    lines += ["", "## What an attacker can infer", ""] + [f"- {t}" for t in report["attacker_can_infer"]]
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return js, md


def _coverage_lines(cov: dict[str, Any]) -> list[str]:
    """The Markdown coverage section: the rule, each source's coverage and what was left out."""
    if not cov:
        return []
    lines = ["", "## Coverage (zeros only where a source records)", "", f"- rule: {cov.get('rule')}"]
    src = cov.get("sources")
    if isinstance(src, list):
        lines += [f"- source {c.get('source')}: areas {c.get('areas')}; months {c.get('months')}; crime types "
                  f"{c.get('crime_types')}" for c in src]
    for key in ("covered_rows", "cells_covered", "cells_outside", "incidents_outside"):
        if key in cov:
            lines.append(f"- {key.replace('_', ' ')}: {cov[key]}")
    if cov.get("released_as"):
        lines.append(f"- {cov['released_as']}")
    return lines
