"""Seeded generator of realistic messy address queries with known truth (for evaluation).

Each query is made from one premises of a source table (e.g. :func:`geocrime.gazetteer.read_fhrs`)
and carries the gazetteer id of that premises as truth. The address is rewritten the way another
borough or a police officer would write it:

* layout: comma-separated lines, one upper-case line without commas, the number in its own field
  ("116-126, High Street"), building name before or after the street;
* abbreviations both ways (Road/Rd, Street/St, Avenue/Ave, Gardens/Gdns, Court/Ct ...);
* typos in the street name (one substitution, deletion, transposition or doubled letter);
* postcode kept, dropped, wrong (another inward code in the same sector), or without its space /
  in lower case; with ``postcode="drop"`` every postcode is removed;
* flat written differently ("Flat 2", "FLAT 2", "Apartment 2", "Apt 2", "Flt 2", "2,");
  "Ground Floor Flat" / "GFF";
* missing town; the business name in front; police phrasing ("o/s", "r/o", "outside", "rear of", "at");
* upper / lower case.

:func:`make_queries` returns a DataFrame with ``query``, ``truth_id`` (gazetteer id),
``truth_x``/``truth_y`` (EPSG:27700 metres), ``source_id`` and ``edits`` (what was done).
Deterministic for a given ``seed``.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..gazetteer.keys import canonical_components

__all__ = ["make_queries", "truth_ids"]

_ABBR = [
    ("Road", "Rd"), ("Street", "St"), ("Avenue", "Ave"), ("Lane", "Ln"), ("Gardens", "Gdns"), ("Court", "Ct"),
    ("Close", "Cl"), ("Place", "Pl"), ("Crescent", "Cres"), ("Terrace", "Terr"), ("Grove", "Gr"), ("Square", "Sq"),
    ("House", "Hse"), ("Parade", "Pde"), ("Drive", "Dr"),
]
_FLAT_STYLES = ["Flat {}", "FLAT {}", "Apartment {}", "Apt {}", "Flt {}", "Flat {},"]
_POLICE = ["o/s ", "O/S ", "outside ", "r/o ", "rear of ", "R/O ", "at "]
_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def truth_ids(source: pd.DataFrame, gazetteer: Any) -> np.ndarray:
    """Gazetteer id of each source premises row (-1 when it was not kept), by the same canonical key
    the gazetteer de-duplicates on."""
    dkey = ["flat", "hn_num", "hn_suf", "hn_end", "bname", "street", "pc_unit"]
    k = canonical_components(source[["sub_building", "building_name", "house_number", "street", "locality", "town", "postcode"]])
    t = gazetteer.table
    prem = t[t["level"] == "premises"]
    gk = prem[["id"] + ["k_" + c for c in dkey]].rename(columns=lambda c: c[2:] if c.startswith("k_") else c)
    m = k[dkey].reset_index(drop=True).merge(gk.drop_duplicates(dkey), on=dkey, how="left")
    ids = m["id"].fillna(-1).astype(np.int64).to_numpy()
    # rows merged into a same-point entry (the same premises with another building name)
    miss = ids < 0
    if miss.any():
        k2 = k.reset_index(drop=True).assign(_rx=np.round(source["x"].to_numpy(float)), _ry=np.round(source["y"].to_numpy(float)))
        g2 = prem.assign(_rx=prem["x"].round(0), _ry=prem["y"].round(0))
        g2 = g2[["id", "_rx", "_ry"] + ["k_" + c for c in dkey if c != "bname"]].rename(columns=lambda c: c[2:] if c.startswith("k_") else c)
        on = [c for c in dkey if c != "bname"] + ["_rx", "_ry"]
        m2 = k2[on].merge(g2.drop_duplicates(on), on=on, how="left")
        ids = np.where(miss, m2["id"].fillna(-1).astype(np.int64).to_numpy(), ids)
    return ids


def _typo(word: str, rng: np.random.Generator) -> str:
    toks = word.split(" ")
    cand = [i for i, t in enumerate(toks) if len(t) >= 5 and t.isalpha()]
    if not cand:
        return word
    i = cand[int(rng.integers(len(cand)))]
    t = toks[i]
    j = int(rng.integers(1, len(t) - 1))
    op = int(rng.integers(4))
    if op == 0:
        t = t[:j] + t[j + 1:]
    elif op == 1:
        t = t[:j] + t[j + 1] + t[j] + t[j + 2:]
    elif op == 2:
        t = t[:j] + t[j] + t[j:]
    else:
        c = "aeiou"[int(rng.integers(5))] if t[j].lower() not in "aeiou" else "rstnl"[int(rng.integers(5))]
        t = t[:j] + (c.upper() if t[j].isupper() else c) + t[j + 1:]
    toks[i] = t
    return " ".join(toks)


def _abbrev(text: str, rng: np.random.Generator) -> str:
    for full, short in _ABBR:
        if rng.random() < 0.5:
            text = re.sub(rf"\b{full}\b", short, text)
        elif rng.random() < 0.3:
            text = re.sub(rf"\b{short}\b(?!\.)", full, text)
    return text


def _flat(sub: str, rng: np.random.Generator) -> str:
    m = re.fullmatch(r"(?i)\s*(?:flat|apartment|apt|flt)\s*([0-9]+[a-z]?|[a-z])\s*", sub)
    if m:
        return _FLAT_STYLES[int(rng.integers(len(_FLAT_STYLES)))].format(m.group(1).upper())
    if re.fullmatch(r"(?i)\s*ground\s+floor\s+flat\s*", sub) and rng.random() < 0.5:
        return "GFF"
    return sub


def _wrong_postcode(pc: str, rng: np.random.Generator) -> str:
    if len(pc) < 6:
        return pc
    return pc[:-1] + _LETTERS[int(rng.integers(len(_LETTERS)))] if rng.random() < 0.5 else pc[:-2] + _LETTERS[int(rng.integers(len(_LETTERS)))] + pc[-1]


def make_queries(source: pd.DataFrame, gazetteer: Any, n: int = 20_000, seed: int = 0,
                 postcode: str = "mixed") -> pd.DataFrame:
    """``n`` messy queries (sampled with replacement when ``n`` exceeds the premises) from the
    premises rows of ``source`` that the gazetteer kept. ``postcode``: ``"mixed"`` (kept 62%, dropped
    20%, wrong 8%, unspaced/lower case 10%) or ``"drop"`` (always removed). Columns: ``query``,
    ``truth_id``, ``truth_x``/``truth_y`` (EPSG:27700 metres), ``source_id``, ``edits`` and
    ``names_premises`` (False when the text holds only a street and place words: no flat, building,
    number, business name or right postcode names the premises it was drawn from)."""
    if postcode not in ("mixed", "drop"):
        raise ValueError("postcode must be 'mixed' or 'drop'")
    rng = np.random.default_rng(seed)
    ids = truth_ids(source, gazetteer)
    ok = np.flatnonzero(ids >= 0)
    pick = rng.choice(ok, size=n, replace=n > len(ok))
    src = source.iloc[pick].reset_index(drop=True)
    t = gazetteer.table.set_index("id")
    tx = t["x"].reindex(ids[pick]).to_numpy()
    ty = t["y"].reindex(ids[pick]).to_numpy()
    rows = src[["sub_building", "building_name", "house_number", "street", "locality", "town", "postcode", "name"]].astype("str").fillna("").to_numpy()
    queries, edits, named = [], [], []
    for sub, bname, hn, street, loc, town, pc, name in rows.tolist():
        e = []
        if sub:
            sub2 = _flat(sub, rng)
            if sub2 != sub:
                e.append("flat_style")
            sub = sub2
        if street and rng.random() < 0.15:
            street = _typo(street, rng)
            e.append("typo")
        if rng.random() < 0.6:
            s2 = _abbrev(street + "|" + bname, rng)
            street, bname = s2.split("|", 1)
            e.append("abbrev")
        if town and rng.random() < 0.35:
            town = ""
            e.append("no_town")
        if loc and rng.random() < 0.4:
            loc = ""
        u = rng.random()
        if postcode == "drop":
            pc = ""
            e.append("no_postcode")
        elif pc:
            if u < 0.20:
                pc = ""
                e.append("no_postcode")
            elif u < 0.28:
                pc = _wrong_postcode(pc, rng)
                e.append("wrong_postcode")
            elif u < 0.38:
                pc = pc.replace(" ", "") if rng.random() < 0.5 else pc.lower()
                e.append("postcode_format")
        layout = int(rng.integers(4))
        numst = (hn + " " + street).strip() if layout != 2 else ", ".join(p for p in (hn, street) if p)
        parts = [sub, bname, numst] if layout != 3 or not bname else [sub, numst, bname]
        parts += [loc, town, pc]
        parts = [p for p in parts if p]
        text = " ".join(parts) if layout == 1 else ", ".join(parts)
        if name and rng.random() < 0.08:
            text = name + ", " + text
            e.append("business_name")
        if rng.random() < 0.25:
            text = _POLICE[int(rng.integers(len(_POLICE)))] + text
            e.append("police_phrase")
        c = rng.random()
        if c < 0.3:
            text = text.upper()
        elif c < 0.4:
            text = text.lower()
        queries.append(text)
        edits.append(",".join(e))
        # does the text name the premises at all (a flat, building, number, business name or its own
        # postcode), or only a street and place words ("WORSLEY RD, LEYTONSTONE")?
        named.append(bool(sub or bname or hn or "business_name" in e or (pc and "wrong_postcode" not in e)))
    return pd.DataFrame({
        "query": queries, "truth_id": ids[pick], "truth_x": tx, "truth_y": ty,
        "source_id": src["source_id"].to_numpy(), "edits": edits, "names_premises": named,
    })
