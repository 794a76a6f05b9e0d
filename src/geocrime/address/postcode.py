"""UK postcodes: find, validate, normalise and split them.

Formats (outward code, a space, inward code): ``A9 9AA``, ``A99 9AA``, ``A9A 9AA``, ``AA9 9AA``,
``AA99 9AA``, ``AA9A 9AA`` and the special ``GIR 0AA``. The outward code must start with one of the
real postcode *areas* (``SE``, ``W``, ``IG`` ...), so a flat or street token such as ``D1 2ND``
("Flat D1 2nd Floor") is never taken for a postcode; a match must also be token-bounded, must not
follow a sub-building word (flat, unit, block ...) or precede "floor", and when several candidates
appear the LAST one in the string wins (postcodes come at the end of UK addresses).

Spacing and case are forgiven (``se17pb``, ``SE1  7PB``), and the letter/digit confusions O/0 and
I/1 are repaired where the position makes the answer unambiguous (the inward code starts with a
digit; areas are letters; district numbers are digits). ``BFPO 123`` (British Forces) and the
non-geographic codes (``BX``, ``BF1``, ``GIR 0AA``, ``XM4 5HQ``, overseas territories) are recognised
and flagged through ``postcode_kind``.

``postcode_kind`` values: ``"unit"`` (a full geographic postcode), ``"sector"`` (``SE1 7``),
``"district"`` (``SE1``), ``"bfpo"``, ``"non_geographic"``; None when there is no postcode.

:func:`extract_many` is vectorised (pandas string methods over the whole Series).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "AREAS",
    "normalise",
    "is_valid",
    "kind",
    "split",
    "extract",
    "extract_many",
]

#: The 121 postcode areas of the UK plus the Crown dependencies (GY, JE, IM) and the
#: non-geographic BX (Royal Mail) and BF (British Forces) areas.
AREAS: frozenset[str] = frozenset(
    """AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT
    DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE
    LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM
    SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE""".split()
)
_NON_GEO_AREAS = frozenset({"BX", "BF"})
#: whole postcodes that are not geographic (Girobank, Santa's, British overseas territories)
_SPECIAL = {
    "GIR 0AA": "non_geographic",
    "XM4 5HQ": "non_geographic",
    "ASCN 1ZZ": "non_geographic",
    "STHL 1ZZ": "non_geographic",
    "TDCU 1ZZ": "non_geographic",
    "BBND 1ZZ": "non_geographic",
    "BIQQ 1ZZ": "non_geographic",
    "FIQQ 1ZZ": "non_geographic",
    "GX11 1AA": "non_geographic",
    "PCRN 1ZZ": "non_geographic",
    "SIQQ 1ZZ": "non_geographic",
    "TKCA 1ZZ": "non_geographic",
}

# Strict canonical form (upper case, one space) of a full postcode, per the Royal Mail rules:
# 3rd letter of A9A in [A-HJKPSTUW], 4th of AA9A in [ABEHMNPRVWXY], inward letters never CIKMOV.
_INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"
_OUTWARD = (
    r"(?:[A-Z][0-9]{1,2}|[A-Z][A-Z][0-9]{1,2}|[A-Z][0-9][A-HJKPSTUW]|[A-Z][A-Z][0-9][ABEHMNPRVWXY])"
)
_STRICT_UNIT = re.compile(rf"({_OUTWARD}) ({_INWARD})")
_STRICT_OUTWARD = re.compile(rf"({_OUTWARD})")
_AREA_OF = re.compile(r"[A-Z]{1,2}")


def _area_alt() -> str:
    """Regex of the areas grouped by first letter (fast to match), O/I also accepting 0/1."""
    conf = {"O": "[O0]", "I": "[I1]"}
    by_first: dict[str, list[str]] = {}
    for a in AREAS:
        by_first.setdefault(a[0], []).append(a[1:])
    alts = []
    for first in sorted(by_first):
        seconds = sorted(x for x in by_first[first] if x)
        head = conf.get(first, first)
        tail = "[" + "".join(seconds) + "]" if seconds else ""
        if seconds and "O" in seconds:
            tail = tail[:-1] + "0]"
        if seconds and "I" in seconds:
            tail = tail[:-1] + "1]"
        opt = "?" if "" in by_first[first] else ""
        alts.append(head + (tail + opt if tail else ""))
    return "(?:" + "|".join(alts) + ")"


_AREA_RX = _area_alt()
# tolerant outward: area + district digit(s) (O/I tolerated) + optional letter
# (the district's first digit must be a real digit: "PRIORY" is not "PR1 0RY", "MOORE" not "M0 0RE")
_T_OUT = rf"{_AREA_RX}[0-9](?:[0-9OI]|[A-Z])?"
# the inward digit may be a look-alike O/I only after a space ("SE28 OGU")
_T_IN = r"(?:[0-9][A-Z]{2}|(?<=[ \t])[OI][A-Z]{2})"
# words after which a postcode-looking token is a flat/unit/floor label, not a postcode
_SUB_WORDS = (
    "flat", "flats", "unit", "units", "apartment", "apt", "block", "suite", "room", "studio", "stall",
    "plot", "kiosk", "shop", "bay", "arch", "no",
)
_NO_SUB_BEFORE = "".join(f"(?<!\\b{w} )(?<!\\b{w}\\. )" for w in _SUB_WORDS)
_TOKEN_L = r"(?<![A-Za-z0-9'])"
_TOKEN_R = r"(?![A-Za-z0-9'])"
_NOT_FLOOR = r"(?!\s*(?:floor|flr|fl\b|f/l))"

# full-unit candidate anywhere; greedy prefix so the LAST acceptable candidate is captured
_FULL_RX = re.compile(
    rf"^(?P<pre>.*){_TOKEN_L}{_NO_SUB_BEFORE}(?P<pc>{_T_OUT}[ \t]*{_T_IN}){_TOKEN_R}{_NOT_FLOOR}(?P<post>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_BFPO_RX = re.compile(
    r"^(?P<pre>.*)(?<![A-Za-z0-9])(?P<pc>BFPO[ \t]*(?:No\.?\s*)?[0-9]{1,4})(?![A-Za-z0-9])(?P<post>.*)$",
    re.IGNORECASE | re.DOTALL,
)
# a partial postcode (district, or sector) only as the last token(s) of the text, after a separator
_PARTIAL_RX = re.compile(
    rf"^(?P<pre>(?:.*[\s,;])?){_NO_SUB_BEFORE}(?P<pc>{_T_OUT}(?:[ \t]+[0-9])?)(?:[\s,.;]|[ \t][?*#x]{{1,3}})*(?P<post>)$",
    re.IGNORECASE | re.DOTALL,
)

_FIX_LETTER = str.maketrans({"0": "O", "1": "I"})
_FIX_DIGIT = str.maketrans({"O": "0", "I": "1"})


def _fix_outward(out: str) -> str | None:
    """Repair O/0 and I/1 confusions in an upper-case, space-free outward code; None if invalid.

    The area (1-2 letters) must be a real postcode area; the district digit is a digit; a final
    O/I can only be a digit (O and I are never valid district letters), so every repair is
    decided by position alone.
    """
    for alen in (2, 1):
        if len(out) <= alen:
            continue
        area = out[:alen].translate(_FIX_LETTER)
        if area not in AREAS:
            continue
        rest = out[alen:]
        if len(rest) > 2:
            continue
        d0 = rest[0].translate(_FIX_DIGIT)
        if not d0.isdigit():
            continue
        cand = area + d0 + (rest[1:].translate(_FIX_DIGIT) if rest[1:] in ("O", "I") else rest[1:])
        if _STRICT_OUTWARD.fullmatch(cand):
            return cand
    return None


@lru_cache(maxsize=1 << 17)
def _canonical(raw: str) -> tuple[str | None, str | None]:
    """(canonical postcode, kind) for one candidate string, or (None, None)."""
    s = re.sub(r"[\s.\-]+", "", str(raw)).upper()
    if not s:
        return None, None
    m = re.fullmatch(r"BFPO(?:NO)?([0-9]{1,4})", s)
    if m:
        return f"BFPO {int(m.group(1))}", "bfpo"
    if len(s) >= 5:
        out_raw, in_raw = s[:-3], s[-3:]
        inward = in_raw[0].translate(_FIX_DIGIT) + in_raw[1:]
        cand = f"{out_raw} {inward}"
        if cand in _SPECIAL:
            return cand, _SPECIAL[cand]
        out = _fix_outward(out_raw)
        if out is not None and re.fullmatch(_INWARD, inward):
            pc = f"{out} {inward}"
            if pc in _SPECIAL:
                return pc, _SPECIAL[pc]
            area = _AREA_OF.match(out).group(0)
            return pc, ("non_geographic" if area in _NON_GEO_AREAS else "unit")
    # sector: outward, a space, one digit ("SE1 7"); without the space "ME12" is a district
    ms = re.fullmatch(r"\s*(\S{2,4})\s+([0-9OI])[\s.]*", str(raw).upper())
    if ms:
        out = _fix_outward(ms.group(1))
        if out is not None:
            return f"{out} {ms.group(2).translate(_FIX_DIGIT)}", "sector"
    out = _fix_outward(s)
    if out is not None:
        return out, "district"
    return None, None


def normalise(pc: Any, partial: bool = True) -> str | None:
    """Canonical form of a postcode (``"SW1A 1AA"``), or None when it is not a valid postcode.

    Case, spacing (missing, doubled) and O/0, I/1 confusions are repaired where unambiguous.
    With ``partial=True`` (default) a district (``"SE1"``) or sector (``"SE1 7"``) is returned in
    canonical form too; with ``partial=False`` only full postcodes (and BFPO numbers) are accepted.
    """
    if pc is None or (isinstance(pc, float) and np.isnan(pc)):
        return None
    if not isinstance(pc, str):
        return None
    if len(pc) > 16:
        return None
    code, k = _canonical(pc)
    if code is None or (not partial and k in ("sector", "district")):
        return None
    return code


def kind(pc: Any) -> str | None:
    """``"unit"``, ``"sector"``, ``"district"``, ``"bfpo"``, ``"non_geographic"`` or None."""
    if not isinstance(pc, str) or len(pc) > 16:
        return None
    return _canonical(pc)[1]


def is_valid(pc: Any, partial: bool = False) -> bool:
    """True when ``pc`` is a full UK postcode (or, with ``partial=True``, a district or sector)."""
    return normalise(pc, partial=partial) is not None


def split(pc: Any) -> dict[str, str | None]:
    """Split a postcode into ``area`` (``SE``), ``district`` (``SE1``), ``sector`` (``SE1 7``) and
    ``unit`` (``SE1 7PB``); levels absent from a partial postcode are None. Invalid input gives all None.
    """
    res: dict[str, str | None] = {"area": None, "district": None, "sector": None, "unit": None}
    code, k = (_canonical(pc) if isinstance(pc, str) and len(pc) <= 16 else (None, None))
    if code is None or k == "bfpo":
        return res
    out = code.split(" ")[0]
    m = _AREA_OF.match(out)
    res["area"] = m.group(0) if m and out != "GIR" and len(out) > len(m.group(0)) else out
    res["district"] = out
    if " " in code:
        inward = code.split(" ")[1]
        res["sector"] = f"{out} {inward[0]}"
        if len(inward) == 3:
            res["unit"] = code
    return res


# RE2 forms (no look-around) of the searches above, run over the whole Series in C++ (pyarrow).
# Token boundaries are consumed characters; the sub-building / floor exclusions are checked after.
_TOK = "[^A-Za-z0-9']"
_RE2_FULL = (
    rf"^(?P<pre>.*{_TOK})?(?P<pc>{_T_OUT}(?:[ \t]*[0-9]|[ \t]+[OI])[A-Z]{{2}})(?P<post>{_TOK}.*)?$"
)
_RE2_BFPO = rf"^(?P<pre>.*{_TOK})?(?P<pc>BFPO[ \t]*(?:No\.?\s*)?[0-9]{{1,4}})(?P<post>{_TOK}.*)?$"
_RE2_PARTIAL = rf"^(?P<pre>.*[\s,;])?(?P<pc>{_T_OUT}(?:[ \t]+[0-9])?)(?:[\s,.;]|[ \t][?*#x]{{1,3}})*$"
_RE2_SUB_BEFORE = r"\b(?:" + "|".join(_SUB_WORDS) + r")\.?[ \t]$"
_RE2_FLOOR_AFTER = r"^\s*(?:floor|flr|fl\b|f/l)"


def _clean_remainder(pre: pd.Series, post: pd.Series) -> pd.Series:
    """Join the text around a removed postcode and tidy the separators left behind."""
    from . import _rx

    pre_v = pre.astype(object).where(pre.notna(), "").to_numpy(dtype=object)
    post_v = post.astype(object).where(post.notna(), "").to_numpy(dtype=object)
    rem = pd.Series(pre_v + " " + post_v, index=pre.index, dtype="str")
    rem = _rx.replace(rem, r"\s*[,;]\s*(?:[,;]\s*)+", ", ")
    rem = _rx.replace(rem, r"\s{2,}", " ")
    return rem.str.strip(" ,;-.")


def _as_str_series(texts: Any) -> pd.Series:
    s = texts if isinstance(texts, pd.Series) else pd.Series(list(texts) if not isinstance(texts, np.ndarray) else texts,
                                                               dtype=object)
    if s.dtype == "str":
        return s.fillna("") if s.hasnans else s
    from . import _rx

    return _rx.to_str(s)


def extract_many(texts: pd.Series | Any, partial: bool = True) -> pd.DataFrame:
    """Find the postcode in every string of ``texts`` (vectorised: RE2 regexes in C++ over the Series).

    Returns a DataFrame with the same index and columns ``postcode`` (canonical, or None),
    ``remainder`` (the text with the postcode removed and separators tidied) and ``postcode_kind``.
    Missing or non-text values give ``postcode`` None and an empty remainder. With ``partial=True`` a
    trailing district (``"... London SE1"``) or sector (``"SE1 7"``) is recognised when no full
    postcode is. Distinct candidate strings are validated once each.
    """
    from . import _rx

    s = _as_str_series(texts)
    index = s.index  # work on positions: a duplicated index would make the .loc assignments below misalign
    s = s.reset_index(drop=True)
    n = len(s)
    postcode = pd.Series([None] * n, index=s.index, dtype=object)
    kinds = pd.Series([None] * n, index=s.index, dtype=object)
    remainder = pd.Series(s.str.strip().to_numpy(dtype=object), index=s.index, dtype=object)
    if n == 0:
        return pd.DataFrame({"postcode": postcode, "remainder": remainder, "postcode_kind": kinds}).set_axis(index)

    # a cheap DFA screen first (no sub-match extraction): most texts without a postcode leave here
    screen = _rx.contains(s, r"[0-9][A-Za-z0-9]?[ \t]*[0-9OI][A-Za-z]{2}")
    m = _rx.extract(s[screen], _RE2_FULL)
    ok = m["pc"].notna()
    if ok.any():
        mm = m[ok]
        canon = _canon_series(mm["pc"])
        # exclusions: right after "Flat"/"Unit"..., right before "floor", or not a valid postcode
        pre_s = mm["pre"].astype(object).where(mm["pre"].notna(), "").astype("str")
        post_s = mm["post"].astype(object).where(mm["post"].notna(), "").astype("str")
        suspect = (_rx.contains(pre_s, _RE2_SUB_BEFORE) | _rx.contains(post_s, _RE2_FLOOR_AFTER)
                   | ~canon["kind"].isin(["unit", "non_geographic"]))
        good = ~suspect
        idx = mm.index[good.to_numpy()]
        postcode.loc[idx] = canon.loc[good, "code"].to_numpy()
        kinds.loc[idx] = canon.loc[good, "kind"].to_numpy()
        remainder.loc[idx] = _clean_remainder(mm.loc[idx, "pre"], mm.loc[idx, "post"]).to_numpy(dtype=object)
        # rare: the last candidate was excluded; an earlier one may be the postcode
        for i in mm.index[suspect.to_numpy()]:
            code, k, rem = _extract_scan(s.loc[i])
            if code is not None:
                postcode.loc[i], kinds.loc[i], remainder.loc[i] = code, k, rem
    # BFPO
    todo = postcode.isna()
    todo &= _rx.contains(s, "BFPO")
    if todo.any():
        m = _rx.extract(s[todo], _RE2_BFPO)
        ok = m["pc"].notna()
        if ok.any():
            idx = m.index[ok.to_numpy()]
            postcode.loc[idx] = [_canonical(x)[0] for x in m.loc[idx, "pc"]]
            kinds.loc[idx] = "bfpo"
            remainder.loc[idx] = _clean_remainder(m.loc[idx, "pre"], m.loc[idx, "post"]).to_numpy(dtype=object)
    if partial:
        todo = postcode.isna() & _rx.contains(s, r"[A-Za-z][0-9]")
        if todo.any():
            m = _rx.extract(s[todo], _RE2_PARTIAL)
            ok = m["pc"].notna()
            if ok.any():
                mm = m[ok]
                canon = _canon_series(mm["pc"])
                pre_s = mm["pre"].astype(object).where(mm["pre"].notna(), "").astype("str")
                good = canon["kind"].isin(["district", "sector"]) & ~_rx.contains(pre_s, _RE2_SUB_BEFORE)
                idx = mm.index[good.to_numpy()]
                postcode.loc[idx] = canon.loc[good, "code"].to_numpy()
                kinds.loc[idx] = canon.loc[good, "kind"].to_numpy()
                remainder.loc[idx] = _clean_remainder(
                    mm.loc[idx, "pre"], pd.Series([None] * len(idx), index=idx, dtype=object)
                ).to_numpy(dtype=object)
    return pd.DataFrame(
        {"postcode": postcode, "remainder": remainder, "postcode_kind": kinds}, index=s.index
    ).set_axis(index)


def _canon_series(cand: pd.Series) -> pd.DataFrame:
    """Canonicalise candidate strings; each distinct candidate is validated once.

    Fast path (vectorised): candidates already in canonical shape (one space, strict format, a real
    area) only need upper-casing; the rest go through :func:`_canonical` one distinct string at a time.
    """
    from . import _rx

    codes_i, uniq = pd.factorize(cand.to_numpy(dtype=object))
    u = pd.Series(np.asarray(uniq, dtype=object), dtype="str").str.upper()
    # written without its space ("SE177AE"): the inward code is the last three characters
    nosp = _rx.contains(u, r"^[A-Z0-9]{5,7}$", ignore_case=False)
    if nosp.any():
        u = u.where(~nosp, u.str.slice(0, -3) + " " + u.str.slice(-3))
    code_u = np.full(len(u) + 1, None, dtype=object)
    kind_u = np.full(len(u) + 1, None, dtype=object)
    strict = _rx.contains(u, rf"^{_OUTWARD} {_INWARD}$", ignore_case=False)
    area = _rx.extract(u, r"^(?P<a>[A-Z]{1,2})[0-9]", ignore_case=False)["a"]
    fast = (strict & area.isin(AREAS) & ~u.isin(list(_SPECIAL))).to_numpy()
    fi = np.flatnonzero(fast)
    code_u[fi] = u.to_numpy(dtype=object)[fi]
    kind_u[fi] = np.where(area.isin(list(_NON_GEO_AREAS)).to_numpy()[fi], "non_geographic", "unit")
    for i in np.flatnonzero(~fast):
        code_u[i], kind_u[i] = _canonical(uniq[i])
    return pd.DataFrame({"code": code_u[codes_i], "kind": kind_u[codes_i]}, index=cand.index, dtype=object)


_SCAN_RX = re.compile(
    rf"{_TOKEN_L}{_NO_SUB_BEFORE}(?P<pc>{_T_OUT}[ \t]*{_T_IN}){_TOKEN_R}{_NOT_FLOOR}", re.IGNORECASE
)


def _extract_scan(text: str) -> tuple[str | None, str | None, str]:
    """Per-string fallback: the last candidate that validates strictly."""
    best = None
    for m in _SCAN_RX.finditer(text):
        code, k = _canonical(m.group("pc"))
        if code is not None and k in ("unit", "non_geographic"):
            best = (code, k, m.start("pc"), m.end("pc"))
    if best is None:
        return None, None, text.strip()
    code, k, a, b = best
    rem = _clean_remainder(pd.Series([text[:a]], dtype=object), pd.Series([text[b:]], dtype=object)).iloc[0]
    return code, k, rem


def extract(text: Any, partial: bool = True) -> tuple[str | None, str]:
    """The postcode in ``text`` (canonical, or None) and the text without it.

    Single-string form of :func:`extract_many` (same rules: a missing or non-text value gives
    ``(None, "")``).
    """
    if not isinstance(text, str):  # None, NaN, numbers: no postcode and no text (as extract_many)
        return None, ""
    r = extract_many(pd.Series([text], dtype=object), partial=partial).iloc[0]  # lone surrogates replaced
    return r["postcode"], r["remainder"]
