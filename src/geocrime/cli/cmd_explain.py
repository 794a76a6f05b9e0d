"""``geocrime explain "<text>" -g GAZ``: why one record got its match — parse, candidates, each
comparison's weight, the decision (Splink-waterfall style), as text or ``--json``."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="explain the geocoding of one address: parse, candidates, each comparison's weight, the decision",
        description="Geocode one address against a saved gazetteer and show how the decision was made: the "
        "parsed components, the best candidates with every comparison's level and weight (log2 Bayes "
        "factor) summed into the score, and the decision against the threshold and margin.",
    )
    p.add_argument("text", help="the address, as written in the record (quote it)")
    p.add_argument("--gazetteer", "-g", type=Path, required=True, help="directory written by `geocrime gazetteer build`")
    p.add_argument("--top", type=int, default=3, help="candidates to show (default 3)")
    p.add_argument("--backend", default="rules", choices=["rules", "libpostal", "auto"], help="address parser")
    p.add_argument("--threshold", type=float, default=None, help="score needed for a premises match (default: the library's)")
    p.add_argument("--margin", type=float, default=None, help="lead needed over the runner-up (default: the library's)")
    p.add_argument("--json", action="store_true", help="print the whole explanation as one JSON object")
    p.set_defaults(func=_run)


def explanation(text: str, gazetteer: Any, *, top: int = 3, backend: str = "rules", threshold: float | None = None,
                margin: float | None = None) -> dict[str, Any]:
    """The explanation as a dict: ``geocrime.geocoding.explain`` when the library has it, else built
    from :func:`geocrime.geocoding.geocode_one` and :func:`geocrime.geocoding.weight_table`."""
    from .. import geocoding

    kw: dict[str, Any] = {"backend": backend, "top": top}
    kw["threshold"] = geocoding.DEFAULT_THRESHOLD if threshold is None else threshold
    kw["margin"] = geocoding.DEFAULT_MARGIN if margin is None else margin
    if hasattr(geocoding, "explain"):
        return dict(geocoding.explain(text, gazetteer, **kw))
    res = geocoding.geocode_one(text, gazetteer, **kw)
    wt = geocoding.weight_table()
    cond = {(r.family, r.level): r.condition for r in wt.itertuples()}
    cands = []
    for c in res.get("candidates", []):
        steps = [{"comparison": fam, "level": c["levels"][fam], "weight": w, "condition": cond.get((fam, c["levels"][fam]), "")}
                 for fam, w in c["weights"].items()]
        cands.append({**{k: v for k, v in c.items() if k not in ("weights", "levels")}, "comparisons": steps})
    keys = ("match_level", "score", "runner_up_score", "margin", "ambiguous", "reason", "matched_address",
            "gazetteer_id", "x", "y", "lon", "lat", "uncertainty_m", "faults", "n_candidates")
    return {"text": text, "parsed": {k: v for k, v in res.get("parsed", {}).items() if v not in (None, "")},
            "candidates": cands, "decision": {k: res.get(k) for k in keys},
            "threshold": kw["threshold"], "required_margin": kw["margin"]}


#: parse fields shown only with --json (bookkeeping, not address components)
_INTERNAL = {"raw", "backend", "place_x", "place_y", "place_radius_m", "place_boroughs", "place_districts"}


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:+.2f}" if isinstance(v, float) else str(v))


def render(e: dict[str, Any]) -> str:
    """The explanation as text: one waterfall per candidate, then the decision."""
    lines = [f"address: {e['text']!r}", "parsed:"]
    for k, v in e["parsed"].items():
        if k in _INTERNAL or (k == "parse_status" and v == "ok"):
            continue
        lines.append(f"  {k:<18} {v}")
    if not e["parsed"]:
        lines.append("  (nothing recognised)")
    if not e["candidates"]:
        lines.append("candidates: none (no gazetteer entry shares a blocking key: postcode, street or building)")
    for i, c in enumerate(e["candidates"], 1):
        lines.append(f"candidate {i}: {c['address']}  (gazetteer_id {c['gazetteer_id']})")
        total = 0.0
        for s in c["comparisons"]:
            total += s["weight"]
            lines.append(f"  {s['comparison']:<14} {s['level']:<18} {s['weight']:+6.2f}  -> {total:+7.2f}   {s['condition']}")
        lines.append(f"  {'score':<14} {'':<18} {c['score']:+6.2f}" + (f"   faults: {c['faults']}" if c.get("faults") else ""))
    d = e["decision"]
    lines.append(f"decision: {d['match_level']}"
                 + (f" -> {d['matched_address']}" if d.get("matched_address") else "")
                 + (f" (uncertainty {d['uncertainty_m']:.0f} m)" if isinstance(d.get("uncertainty_m"), float) else ""))
    lines.append(f"  score {_fmt(d.get('score'))} vs threshold {e['threshold']:+.2f}; lead over runner-up "
                 f"{_fmt(d.get('margin'))} vs required {e['required_margin']:+.2f}"
                 + ("; AMBIGUOUS (near-tie)" if d.get("ambiguous") else ""))
    if d.get("reason"):
        lines.append(f"  why not premises: {d['reason']}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    import json

    from ..gazetteer import Gazetteer

    gaz = Gazetteer.load(args.gazetteer)
    e = explanation(args.text, gaz, top=args.top, backend=args.backend, threshold=args.threshold, margin=args.margin)
    if args.json:
        print(json.dumps(e, default=str, sort_keys=True))
    else:
        print(render(e))
    return 0
