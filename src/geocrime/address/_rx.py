"""Vectorised regex over pandas string Series, in C++ (RE2 via pyarrow.compute) where possible.

pandas' ``str.extract`` (and ``str.replace`` with back-references or compiled patterns) loop in
Python with :mod:`re`; pyarrow's ``extract_regex`` / ``replace_substring_regex`` /
``match_substring_regex`` run RE2 over the whole array in C++ (5-20x faster here). RE2 has no
look-around, so patterns that need it fall back to Python's :mod:`re` (detected once per pattern).

All functions keep the Series index; missing input is treated as "". In :func:`extract` a group
that did not take part, or matched the empty string, is None; a row that does not match is all None.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_RE2_OK: dict[str, bool] = {}
#: below this many rows Python's re (compiled once, cached) is faster than pyarrow, which compiles the
#: RE2 program on every call; results are the same either way (tested)
SMALL = 48
_PY: dict[tuple[str, int], re.Pattern[str]] = {}
#: screen for ``replace(s, r"\s+", " ")``: the strings it changes hold a \s other than a space, or two
#: together (RE2's \s is [\t\n\f\r ])
WS_CHANGE = r"[\t\n\f\r]|\s\s"


def _py(pattern: str, flags: int) -> re.Pattern[str]:
    """Python-re compiled form of a pattern written for RE2 (\\x{HHHH}, \\pL, \\pN translated)."""
    key = (pattern, flags)
    rx = _PY.get(key)
    if rx is None:
        p = re.sub(r"\\x\{([0-9a-fA-F]+)\}", lambda m: "\\u" + m.group(1).rjust(4, "0"), pattern)
        p = p.replace(r"[^\pL\pN/\-,\s]", r"(?:[^\w/\-,\s]|_)")
        p = p.replace(r"[\pL\pN]", r"[^\W_]")
        rx = _PY[key] = re.compile(p, flags)
    return rx


def _arrow(s: pd.Series) -> pa.ChunkedArray | pa.Array:
    if len(s) == 0:
        return pa.array([], type=pa.string())
    if s.dtype != "str":
        s = s.astype(object).where(s.notna(), "").astype("str")
    arr = pa.array(s.array) if hasattr(s.array, "__arrow_array__") else pa.array(s.to_numpy(dtype=object))
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    return arr


def _flags(pattern: str, ignore_case: bool, dotall: bool) -> str:
    pre = ""
    if ignore_case:
        pre += "i"
    if dotall:
        pre += "s"
    return f"(?{pre}){pattern}" if pre else pattern


def _re2_ok(pattern: str) -> bool:
    ok = _RE2_OK.get(pattern)
    if ok is None:
        try:
            pc.match_substring_regex(pa.array(["x"]), pattern)
            ok = True
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            ok = False
        _RE2_OK[pattern] = ok
    return ok


def _py_flags(ignore_case: bool, dotall: bool) -> int:
    return (re.IGNORECASE if ignore_case else 0) | (re.DOTALL if dotall else 0)


def extract(s: pd.Series, pattern: str, ignore_case: bool = True, dotall: bool = True) -> pd.DataFrame:
    """Named groups of ``pattern`` for each string (object columns, None where absent)."""
    if pattern == LAST_COMMA and dotall and len(s) > SMALL:  # the same frame without a sub-match pass
        return _split_last_comma(s)
    names = list(re.compile(pattern).groupindex)
    full = _flags(pattern, ignore_case, dotall)
    if len(s) > SMALL and _re2_ok(full):
        arr = _arrow(s)
        # a DFA screen first (no sub-match work): only the matching strings go through the extraction
        hit = pc.match_substring_regex(arr, full)
        n_hit = pc.sum(hit).as_py() or 0
        rows = None
        if n_hit < len(arr):
            rows = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
            arr = arr.filter(hit)
        res = pc.extract_regex(arr, full)
        cols = {}
        for name in names:
            vals = np.asarray(pc.struct_field(res, name).to_numpy(zero_copy_only=False), dtype=object)
            vals[vals == ""] = None
            if rows is not None:
                vals, part = np.full(len(s), None, dtype=object), vals
                vals[rows] = part
            cols[name] = vals
        return pd.DataFrame(cols, index=s.index, dtype=object)
    rx = _py(pattern, _py_flags(ignore_case, dotall))
    rows = []
    for v in s.to_numpy(dtype=object):
        mt = rx.search(v) if isinstance(v, str) else None
        rows.append([(g or None) for g in mt.groups()] if mt else [None] * rx.groups)
    cols = list(rx.groupindex)
    order = [rx.groupindex[c] - 1 for c in cols]
    data = {c: [r[i] for r in rows] for c, i in zip(cols, order)}
    return pd.DataFrame(data, index=s.index, dtype=object)[names] if names else pd.DataFrame(index=s.index)


#: :func:`split_last_comma`'s pattern: :func:`extract` with it (and ``dotall``) on more than SMALL rows
#: is that split (the parser's town step; its source, part of the parser's fingerprint, unchanged)
LAST_COMMA = r"^(?:(?P<pre>.*),\s*)?(?P<last>[^,]*)$"


def split_last_comma(s: pd.Series) -> pd.DataFrame:
    """``extract(s, LAST_COMMA)`` — ``pre``: the text before the last comma (None without one),
    ``last``: the text after it without its leading RE2 whitespace (tab, newline, form feed, carriage
    return, space), or the whole text without a comma; None where empty — by an Arrow split from the
    right instead of a sub-match pass of RE2 (several times faster; the same values)."""
    if len(s) <= SMALL:
        return extract(s, LAST_COMMA)
    return _split_last_comma(s)


def _split_last_comma(s: pd.Series) -> pd.DataFrame:
    """:func:`split_last_comma` in Arrow (any number of rows)."""
    parts = pc.split_pattern(_arrow(s), ",", max_splits=1, reverse=True)
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    n = np.asarray(pc.list_value_length(parts).to_numpy(zero_copy_only=False), dtype=np.int64)
    flat = pc.list_flatten(parts)
    start = np.cumsum(n) - n
    two = n == 2
    last = flat.take(pa.array(start + n - 1))
    last = pc.if_else(pa.array(two), pc.utf8_ltrim(last, characters="\t\n\f\r "), last)
    cols = {"pre": flat.take(pa.array(start)), "last": last}
    out = {}
    for name, col in cols.items():
        vals = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
        vals[vals == ""] = None
        if name == "pre":
            vals[~two] = None
        out[name] = vals
    return pd.DataFrame(out, index=s.index, dtype=object)


def contains(s: pd.Series, pattern: str, ignore_case: bool = True, dotall: bool = True) -> pd.Series:
    """Boolean Series: does ``pattern`` match anywhere in each string."""
    if len(s) == 0:
        return pd.Series([], index=s.index, dtype=bool)
    full = _flags(pattern, ignore_case, dotall)
    if len(s) > SMALL and _re2_ok(full):
        r = pc.match_substring_regex(_arrow(s), full)
        return pd.Series(np.asarray(r.to_numpy(zero_copy_only=False), dtype=bool), index=s.index)
    rx = _py(pattern, _py_flags(ignore_case, dotall))
    return pd.Series([bool(isinstance(v, str) and rx.search(v)) for v in s.to_numpy(dtype=object)],
                     index=s.index, dtype=bool)


def replace(s: pd.Series, pattern: str, repl: str, ignore_case: bool = True, dotall: bool = True,
            max_replacements: int | None = None, screen: str | None = None) -> pd.Series:
    """Replace matches of ``pattern`` (``\\1`` back-references allowed in ``repl``); returns str dtype.

    Only the strings a DFA screen selects are rewritten (a string without a match is left as it is):
    the screen is ``pattern`` itself, or ``screen`` when given, a pattern that matches at least every
    string the replacement would change (for a pattern most strings match without any change, such as
    ``\\s+`` -> one space)."""
    if len(s) == 0:
        return s.astype("str")
    full = _flags(pattern, ignore_case, dotall)
    if len(s) > SMALL and _re2_ok(full):
        return _to_str_series(_replace_screened(_arrow(s), full, repl, max_replacements,
                                                _flags(screen, ignore_case, dotall) if screen else full), s.index)
    rx = _py(pattern, _py_flags(ignore_case, dotall))
    vals = [rx.sub(repl, v, count=max_replacements or 0) if isinstance(v, str) else "" for v in s.to_numpy(dtype=object)]
    return pd.Series(vals, index=s.index, dtype="str")


def _replace_screened(arr: pa.ChunkedArray | pa.Array, full: str, repl: str, max_replacements: int | None,
                      screen: str) -> pa.ChunkedArray | pa.Array:
    """``replace_substring_regex`` on the strings ``screen`` matches only (RE2's DFA, no sub-match
    work), spliced back among the others; all strings when the screen selects them all."""
    hit = pc.match_substring_regex(arr, screen)
    n_hit = pc.sum(hit).as_py() or 0
    if n_hit == 0:
        return arr
    if n_hit == len(arr):
        return pc.replace_substring_regex(arr, full, repl, max_replacements=max_replacements)
    if isinstance(arr, pa.ChunkedArray):
        arr, hit = arr.combine_chunks(), hit.combine_chunks()
    sub = pc.replace_substring_regex(arr.filter(hit), full, repl, max_replacements=max_replacements)
    return pc.replace_with_mask(arr, hit, sub.cast(arr.type))


def squash_spaces(s: pd.Series) -> pd.Series:
    """Runs of spaces, tabs and no-break spaces to one space (str dtype). Only the rows that hold
    such a run are rewritten (a DFA screen first): most rows have single spaces only."""
    s = s.astype("str") if s.dtype != "str" else s
    if len(s) <= SMALL:
        return replace(s, r"[ \t\xa0]+", " ")
    need = contains(s, r"[\t\xa0]|  ").to_numpy()
    if not need.any():
        return s.fillna("") if s.hasnans else s
    out = s.fillna("") if s.hasnans else s.copy()
    out[need] = replace(s[need], r"[ \t\xa0]+", " ").to_numpy(dtype=object)
    return out


#: pandas' ``str`` dtype (Arrow storage, NaN for missing)
_STR_DTYPE = pd.Series([], dtype="str").dtype


def _to_str_series(r: pa.ChunkedArray | pa.Array, index: pd.Index) -> pd.Series:
    """A pyarrow string array as a pandas ``str`` Series (zero-copy when the dtype allows)."""
    try:
        if isinstance(r, pa.Array):
            r = pa.chunked_array([r])
        if r.type != pa.large_string() and r.type != pa.string():
            raise TypeError
        # built with the ``str`` dtype itself (no astype pass over the values afterwards)
        return pd.Series(pd.arrays.ArrowStringArray(r, dtype=_STR_DTYPE), index=index)
    except Exception:  # noqa: BLE001 - any pandas/pyarrow version mismatch: go through numpy
        return pd.Series(np.asarray(r.to_numpy(zero_copy_only=False), dtype=object), index=index, dtype="str")


def per_distinct(s: pd.Series, fn: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    """``fn`` (str Series -> DataFrame with a default index) applied once per distinct value of ``s``
    (missing as "") and broadcast back to the index of ``s``."""
    codes, uniq = pd.factorize(s.astype("str").fillna(""))
    res = fn(pd.Series(np.asarray(uniq, dtype=object), dtype="str"))
    return res.iloc[codes].set_axis(s.index) if len(s) else res.reindex(s.index)


def arrow_to_str(arr: pa.ChunkedArray | pa.Array) -> pd.Series:
    """A pyarrow string array as a pandas ``str`` Series with a default index."""
    return _to_str_series(arr, pd.RangeIndex(len(arr)))


def to_str(values: pd.Series) -> pd.Series:
    """An object/str Series as pandas ``str`` dtype, non-text as "", lone surrogates replaced."""
    if values.dtype == "str":
        return values.fillna("") if values.hasnans else values
    obj = values.astype(object)
    vals = [v if isinstance(v, str) else "" for v in obj.to_numpy(dtype=object)]
    try:
        return pd.Series(vals, index=values.index, dtype="str")
    except UnicodeEncodeError:
        vals = [re.sub("[\ud800-\udfff]", "\ufffd", v) for v in vals]  # U+FFFD REPLACEMENT CHARACTER
        return pd.Series(vals, index=values.index, dtype="str")
