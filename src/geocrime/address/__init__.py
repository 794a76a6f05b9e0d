"""Free-text UK addresses to structured, canonical addresses.

* :func:`parse` / :func:`parse_many`: text -> :class:`Address` / a DataFrame of components, with the
  pure-Python UK rule parser (``backend="rules"``, vectorised) or libpostal followed by the same UK
  rules (``backend="libpostal"``); ``backend="auto"`` uses libpostal when its model is installed.
* :func:`normalise` / :func:`normalise_many`: the canonical matching string; :func:`expand`:
  libpostal's ``expand_address`` variants.
* :mod:`geocrime.address.postcode`: UK postcodes (find, validate, normalise, split).
* :mod:`geocrime.address.police`: police location phrasing ("o/s", "j/o", "On or near") and
  placeholder addresses (NFA, unknown, custody suites).
* :mod:`geocrime.address.libpostal`: the offline model installer and the crash-proof C calls.

Every input row comes out (same index, same order) with ``parse_status``: ``ok``, ``truncated``
(parsed after cutting over-long text), ``placeholder`` (see ``placeholder`` for the reason; never
geocode these as the incident location), ``empty`` (None/NaN/blank) or ``invalid_input`` (not text).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Literal

import numpy as np
import pandas as pd

from ..errors import AddressError, InputError
from . import _rx, police, postcode, rules
from . import libpostal as _lp
from .lexicon import PARSE_FIELDS, PLACE_FIELDS
from .places import PlaceLexicon, default_places
from .normalise import normalise, normalise_many
from .police import DEFAULT_PLACEHOLDERS, Placeholders

__all__ = [
    "Address",
    "parse",
    "parse_many",
    "normalise",
    "normalise_many",
    "expand",
    "backend_available",
    "Placeholders",
    "DEFAULT_PLACEHOLDERS",
    "FIELDS",
    "PLACE_FIELDS",
    "PlaceLexicon",
    "postcode",
    "police",
]

Backend = Literal["auto", "rules", "libpostal"]

#: component columns of :func:`parse_many` (then ``backend`` and ``parse_status``): the text, its
#: components, police phrasing and landmark, then the place columns (:data:`PLACE_FIELDS`)
FIELDS: tuple[str, ...] = ("raw",) + PARSE_FIELDS + PLACE_FIELDS


@dataclass(frozen=True, slots=True)
class Address:
    """One parsed address. Components are None when absent.

    ``location_qualifier`` is the police phrasing (``on_or_near``, ``outside``, ``rear_of``,
    ``junction``, ``opposite``, ``near``, ``adjacent``, ``car_park``, ``bus_stop``); for a junction
    ``street`` and ``second_street`` are the two streets. ``landmark`` is a named landmark's key
    ("victoria" for "Victoria Station") and ``landmark_kind`` its kind (``station``). The ``place_*``
    fields say what the place words (locality, town, or place words after the street) can mean
    (:meth:`geocrime.address.places.PlaceLexicon.find`). ``placeholder`` is the reason the text is
    not an incident location (``no_fixed_abode``, ``unknown``, ``various``, ``no_location``,
    ``police_station``, ``custody_suite``, ``listed_address``) or None. ``postcode`` is canonical
    (``"SE1 7PB"``, or a partial ``"SE1"`` / ``"SE1 7"``).
    """

    raw: str | None
    sub_building: str | None = None
    building_name: str | None = None
    house_number: str | None = None
    street: str | None = None
    locality: str | None = None
    town: str | None = None
    postcode: str | None = None
    location_qualifier: str | None = None
    second_street: str | None = None
    placeholder: str | None = None
    landmark: str | None = None
    landmark_kind: str | None = None
    place: str | None = None
    place_kind: str | None = None
    place_boroughs: str | None = None
    place_districts: str | None = None
    place_x: float | None = None
    place_y: float | None = None
    place_radius_m: float | None = None
    backend: str | None = None
    parse_status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-serialisable)."""
        return asdict(self)


def backend_available() -> bool:
    """True when the libpostal model is installed (the ``auto`` backend then uses it)."""
    try:
        return _lp.is_installed()
    except Exception:  # noqa: BLE001
        return False


def _resolve(backend: str) -> str:
    if backend not in ("auto", "rules", "libpostal"):
        raise InputError(f"backend must be 'auto', 'rules' or 'libpostal', not {backend!r}")
    if backend == "auto":
        return "libpostal" if backend_available() else "rules"
    return backend


def _coerce(texts: Any) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(text as a pandas str Series with "" for missing, missing mask, invalid-type mask)."""
    if isinstance(texts, pd.Series):
        s = texts
    elif isinstance(texts, (str, bytes)) or texts is None:
        raise InputError("parse_many expects a Series or a list of strings; use parse() for one string")
    else:
        try:
            s = pd.Series(list(texts) if not isinstance(texts, (np.ndarray, pd.Index)) else texts, dtype=object)
        except TypeError as exc:
            raise InputError(f"parse_many expects a Series or an iterable of strings, got {type(texts).__name__}") from exc
    if s.dtype == "str" or pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        missing = s.isna()
        return s.fillna("").astype("str"), missing, pd.Series(False, index=s.index)
    obj = s.astype(object)
    missing = obj.isna() if len(obj) else pd.Series([], dtype=bool)
    vals = obj.to_numpy()
    is_str = np.fromiter((isinstance(v, str) for v in vals), dtype=bool, count=len(vals))
    if not is_str.all():
        fixed = []
        invalid = np.zeros(len(vals), dtype=bool)
        for k, v in enumerate(vals):
            if isinstance(v, str):
                fixed.append(v)
            elif isinstance(v, (bytes, bytearray)):
                fixed.append(_lp._decode(bytes(v)))
            elif v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
                fixed.append("")
            else:
                fixed.append("")
                invalid[k] = True
        out = _rx.to_str(pd.Series(fixed, index=s.index, dtype=object))
        return out, missing, pd.Series(invalid, index=s.index)
    return _rx.to_str(pd.Series(vals, index=s.index, dtype=object)), missing, pd.Series(False, index=s.index)


def parse_many(
    texts: Iterable[Any] | pd.Series,
    backend: Backend = "auto",
    placeholders: Placeholders = DEFAULT_PLACEHOLDERS,
    places: PlaceLexicon | None = None,
) -> pd.DataFrame:
    """Parse many address strings. One output row per input, same index and order.

    Columns: :data:`FIELDS` (``raw`` is the input text), ``backend`` and ``parse_status``
    (``ok`` / ``truncated`` / ``placeholder`` / ``empty`` / ``invalid_input``). Missing values and
    non-text values never raise: they come out flagged. ``bytes`` are decoded (UTF-8, else cp1252).
    The rules backend is vectorised (regex passes over the whole Series); distinct strings are
    parsed once. ``places``: the place lexicon for the ``place_*`` columns (default: the packaged
    London lexicon, :meth:`PlaceLexicon.default`); place columns are ``''`` / NaN / None where no place
    is named.
    """
    used = _resolve(backend)
    lex = places if places is not None else default_places()
    s, missing, invalid = _coerce(texts)
    cleaned, truncated = rules.clean_series(s)
    # parse each distinct cleaned string once (real data repeats a lot: police.uk streets)
    codes, uniq = pd.factorize(cleaned, sort=False)
    if len(uniq) == len(cleaned):  # all distinct: the texts in their own order (no round trip)
        u = cleaned.astype("str").reset_index(drop=True)
    else:
        u = pd.Series(np.asarray(uniq, dtype=object), dtype="str")
    if used == "rules":
        res_u = rules.parse_series(u, placeholders, places_lexicon=lex)
    else:
        from ._lpbackend import parse_series_libpostal

        res_u = parse_series_libpostal(u, placeholders)
    res_u = _with_places(res_u, lex, u)
    if len(s) and len(uniq) == len(s):  # all distinct: codes are 0..n-1 in order
        res = res_u.set_axis(s.index)
    else:
        res = res_u.iloc[codes].set_axis(s.index) if len(s) else res_u.reindex(s.index)
    empty_u = u.str.len().to_numpy() == 0
    status = np.where(
        invalid.to_numpy(dtype=bool), "invalid_input",
        np.where(missing.to_numpy(dtype=bool) | empty_u[codes] if len(s) else missing.to_numpy(dtype=bool), "empty",
                 np.where(res["placeholder"].notna().to_numpy(), "placeholder",
                          np.where(truncated.to_numpy(dtype=bool), "truncated", "ok"))))
    out = pd.DataFrame(index=s.index)
    raw = s.astype(object).where(~(missing | invalid), None)
    out["raw"] = raw
    for f in FIELDS[1:]:
        if f in ("place_x", "place_y", "place_radius_m"):
            out[f] = pd.Series(res[f].to_numpy(dtype=float), index=s.index, dtype="float64")
            continue
        if f in ("place_boroughs", "place_districts"):
            out[f] = pd.Series(res[f].fillna("").to_numpy(dtype=object), index=s.index, dtype=object)
            continue
        col = res[f].to_numpy(dtype=object, copy=True)
        col[pd.isna(col)] = None
        out[f] = pd.Series(col, index=s.index, dtype=object)
    out["backend"] = used
    out["parse_status"] = pd.Series(status, index=s.index, dtype=object)
    return out


def _comma_join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise ``a + ", " + b`` of two object arrays of text (in Arrow, no Python string per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    joined = pc.binary_join_element_wise(pa.array(a, type=pa.string()), pa.array(b, type=pa.string()), ", ")
    return np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object)


def _with_places(res: pd.DataFrame, lex: PlaceLexicon, texts: pd.Series | None = None) -> pd.DataFrame:
    """The parse (one row per distinct text) with the place columns of its locality and town; a
    bare street that is itself a place name ("Peckham", no number, no street type) names that place too."""
    loc = res["locality"].to_numpy(dtype=object)
    town = res["town"].to_numpy(dtype=object)
    has_l, has_t = pd.notna(loc), pd.notna(town)
    text = np.where(has_l, loc, town)
    both = np.flatnonzero(has_l & has_t)
    if len(both):
        text[both] = _comma_join(loc[both], town[both])
    street = res["street"].to_numpy(dtype=object)
    bare = ~has_l & ~has_t & pd.notna(street) & pd.isna(res["house_number"].to_numpy(dtype=object)) \
        & pd.isna(res["landmark"].to_numpy(dtype=object))
    bare = np.flatnonzero(bare)
    if len(bare):  # a bare street that is itself a place name ("Peckham"): a set lookup first
        bare = bare[lex.written_as_name(pd.Series(street[bare], dtype=object))]
        # ... unless it ends in a street type: "CHURCH STREET" is one of London's Church Streets, not
        # the Westminster ward that would narrow the search to its own
        bare = bare[~rules.ends_in_street_type(pd.Series(street[bare], dtype=object)).to_numpy(dtype=bool)]
        text[bare] = street[bare]
    # a county word the parser dropped still chooses between a place's meanings ("Hayes, Kent")
    named = np.flatnonzero(pd.notna(text))
    if texts is not None and len(named):
        cty = lex.county_word(texts.iloc[named]).to_numpy(dtype=object)
        add = named[cty != ""]
        if len(add):
            text[add] = _comma_join(text[add], cty[cty != ""])
    found = lex.find(pd.Series(text, dtype=object))
    for c in PLACE_FIELDS:
        v = found[c].to_numpy()
        # object values stay object (pandas would infer an Arrow str column, converted back later)
        res[c] = pd.Series(v, index=res.index, dtype=object) if v.dtype == object else v
    return res


def parse(text: Any, backend: Backend = "auto", placeholders: Placeholders = DEFAULT_PLACEHOLDERS) -> Address:
    """Parse one address string into an :class:`Address`.

    None gives an ``empty`` Address; a non-text value raises :class:`~geocrime.errors.AddressError`.
    """
    if text is not None and not isinstance(text, (str, bytes, bytearray)):
        raise AddressError(f"an address must be a str (or bytes), got {type(text).__name__}")
    row = parse_many(pd.Series([text], dtype=object), backend=backend, placeholders=placeholders).iloc[0]
    d = {k: (None if (v is None or (isinstance(v, float) and np.isnan(v))) else v) for k, v in row.items()}
    return Address(**d)


def expand(text: Any, languages: tuple[str, ...] | None = ("en",)) -> list[str]:
    """libpostal ``expand_address`` variants of ``text`` (needs the model: ``geocrime libpostal install``).

    Raises :class:`~geocrime.errors.BackendUnavailableError` when the model is not installed and
    :class:`~geocrime.errors.AddressError` for non-text input.
    """
    if text is None:
        return []
    return _lp.expand_address(text, languages=languages)
