"""Place words -> what they can mean: boroughs, localities, post towns and county words.

A :class:`PlaceLexicon` is a table read from a CSV data file (the package ships
``geocrime/data/places/london_places.csv``: the 33 London boroughs with the forms people write,
589 localities, the post towns around London and the county words that locate nothing). One row per
(written name, meaning); columns:

``name``      as people write it ("Hammersmith & Fulham", "H&F", "LB Camden", "Peckham"); matched
              after :func:`place_key` (lower case, ``&`` -> ``and``, punctuation dropped, "St" ->
              "saint", "London Borough of" / "LB" / "Royal Borough of" prefixes dropped);
``kind``      ``borough`` | ``locality`` | ``post_town`` | ``county``;
``boroughs``  '|'-joined borough codes (ONS LAD, ``E09000022``) the name can mean; empty for county
              words ("Middlesex", "Kent", "London": they narrow nothing);
``districts`` '|'-joined postcode districts it can mean;
``x``/``y``   the area's point, EPSG:27700 metres (empty for county words);
``radius_m``  metres around the point that cover the area;
``hint_boroughs`` (optional, county words only) the boroughs of that county: "Hayes, Middlesex" picks
              the Hillingdon Hayes, "Hayes, Kent" the Bromley one; a county word alone narrows nothing.

Another force area replaces or extends the file: :meth:`PlaceLexicon.from_csv` (``extend=True`` adds
rows to the default). :meth:`PlaceLexicon.find` is vectorised (one lookup per distinct text); a text
with several comma parts ("Upper Clapton, City and Hackney") is narrowed to the meanings every named
part agrees on.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataNotFoundError, FileFormatError, MissingColumnsError
from .lexicon import PLACE_FIELDS

__all__ = [
    "PLACE_KINDS",
    "PLACE_COLUMNS",
    "PLACE_FIELDS",
    "PlaceLexicon",
    "place_key",
    "landmark_key",
    "default_places",
]

#: kinds of place, broadest first (a name with several kinds shows the broadest)
PLACE_KINDS: tuple[str, ...] = ("county", "borough", "post_town", "locality")
#: columns of a place lexicon CSV
PLACE_COLUMNS: tuple[str, ...] = ("name", "kind", "boroughs", "districts", "x", "y", "radius_m")

_RANK = {"borough": 0, "post_town": 1, "locality": 2, "county": 3}
_PREFIX = r"^(?:the\s+)?(?:(?:london|royal)\s+borough\s+of|lb\s+of|borough\s+of|lb|rb|l\s*b)\s+"


def place_key(texts: pd.Series | Any) -> pd.Series:
    """The matching form of place names (vectorised): ASCII-folded lower case, ``&`` -> ``and``,
    apostrophes dropped, other punctuation to spaces, ``st`` -> ``saint``, borough prefixes ("London
    Borough of", "LB", "Royal Borough of") and a trailing "borough"/"council" dropped."""
    from . import _rx

    s = texts if isinstance(texts, pd.Series) else pd.Series(texts, dtype=object)
    try:  # the C path for text; anything else (numbers, bytes) through to_str
        s = s.fillna("").astype("str") if s.dtype == object else _rx.to_str(s)
    except (TypeError, ValueError, UnicodeEncodeError):
        s = _rx.to_str(s)
    non_ascii = _rx.contains(s, r"[^\x00-\x7f]")
    if non_ascii.any():
        import unicodedata

        s = s.copy()
        s[non_ascii] = s[non_ascii].map(
            lambda v: "".join(c for c in unicodedata.normalize("NFKD", v) if not unicodedata.combining(c))).astype("str")
    s = s.str.lower()
    s = _rx.replace(s, r"['`\x{2019}]", "")
    s = s.str.replace("&", " and ", regex=False)
    s = _rx.replace(s, r"[^a-z0-9]+", " ").str.strip()
    s = _rx.replace(s, r"\bst\b", "saint")
    s = _rx.replace(s, _PREFIX, "")
    s = _rx.replace(s, r"^city\s+of\s+westminster$", "westminster")
    s = _rx.replace(s, r"\s+(?:borough|council|borough\s+council)$", "")
    return s.str.strip()


#: words that say a name is a station, after it ("Brixton tube", "Victoria Station")
_STATION_WORDS = r"(?:(?:tube|underground|overground|railway|rail|train|dlr|mainline|main\s+line|national\s+rail|" \
                 r"elizabeth\s+line|tram)\s+)?(?:station|stn)|tube|underground\s+station|underground|overground"
#: "X station" that is not a landmark of the station layer
_NOT_STATIONS = r"(?:police|fire|ambulance|petrol|filling|service|power|pumping|bus|coach|polling|lifeboat|" \
                r"space|radio|railway|tube|train|the)"
#: a comma part naming a station: group ``lm`` is the station's name
LANDMARK_PATTERN = rf"^(?P<lm>[a-z0-9][a-z0-9 '&.()\-]*?)\s+(?:{_STATION_WORDS})\s*$"
LANDMARK_SCREEN = r"(?:\bstation|\bstn|\btube|\bunderground|\boverground)\s*(?:,|$)"
_NOT_STATION_RX = re.compile(rf"(?:^|\s){_NOT_STATIONS}$", re.IGNORECASE)
_PREMISES_IN_RX = re.compile(r"^(?:[0-9]|(?:units?|flats?|retail|shops?|kiosks?|suites?|stalls?|offices?|arch(?:es)?)\b)",
                             re.IGNORECASE)


def landmark_key(names: pd.Series | Any) -> pd.Series:
    """The matching form of a landmark (station) name: :func:`place_key` without a parenthesised
    line name ("Edgware Road (Bakerloo)" -> "edgware road") or a trailing "station"/"underground"."""
    from . import _rx

    s = names if isinstance(names, pd.Series) else pd.Series(names, dtype=object)
    s = _rx.replace(_rx.to_str(s), r"\([^)]*\)", " ")
    k = place_key(s)
    k = _rx.replace(k, r"\s+(?:(?:tube|underground|overground|railway|rail|dlr|tram)\s+)?(?:station|stn)$", "")
    k = _rx.replace(k, r"\s+(?:tube|underground|overground|dlr)$", "")
    # network suffixes of station lists ("Victoria LU", "Stratford International DLR", "Richmond NR")
    return _rx.replace(k, r"\s+(?:lu|dlr|nr|lo|el|tfl|tramlink|tram|elizabeth line)$", "").str.strip()


def find_landmarks(texts: pd.Series) -> pd.DataFrame:
    """``landmark`` (its :func:`landmark_key`) and ``landmark_kind`` (``station``) of texts whose first
    comma part names a station ("Victoria Station", "Brixton tube", "Clapham Common Underground
    Station"); None elsewhere. Street names ("Brixton Station Road") are not landmarks."""
    from . import _rx

    out = pd.DataFrame({"landmark": pd.Series([None] * len(texts), index=texts.index, dtype=object),
                        "landmark_kind": pd.Series([None] * len(texts), index=texts.index, dtype=object)})
    if not len(texts):
        return out
    scr = _rx.contains(texts, r"(?:station|stn|tube|underground|overground)\s*(?:,|$)")
    if not scr.any():
        return out
    first = _rx.replace(texts[scr], r",.*$", "")
    first = first[_rx.contains(first, LANDMARK_SCREEN)]
    m = _rx.extract(first, LANDMARK_PATTERN)
    lm = m["lm"]
    ok = lm.notna()
    if ok.any():
        names = lm[ok].astype("str").str.strip()
        # "X Police Station" is no station; "4 West Ruislip Station", "Unit 1 ... Station" are premises in one
        bad = names.str.contains(_NOT_STATION_RX) | names.str.contains(_PREMISES_IN_RX)
        names = names[~bad]
        key = landmark_key(names)
        key = key[key.str.len() > 0]
        out.loc[key.index, "landmark"] = key.astype(object)
        out.loc[key.index, "landmark_kind"] = "station"
    return out


class PlaceLexicon:
    """Place names and their meanings (see the module docstring); build with :meth:`default` or
    :meth:`from_csv`. ``table``: one row per (name, meaning) with ``key`` (:func:`place_key`)."""

    def __init__(self, table: pd.DataFrame) -> None:
        miss = [c for c in PLACE_COLUMNS if c not in table.columns]
        if miss:
            raise MissingColumnsError(f"a place lexicon needs columns {list(PLACE_COLUMNS)}; missing {miss}")
        t = table.copy().reset_index(drop=True)
        for c in ("name", "kind", "boroughs", "districts"):
            t[c] = t[c].fillna("").astype("str").str.strip()
        bad = sorted(set(t["kind"]) - set(PLACE_KINDS))
        if bad:
            raise FileFormatError(f"unknown place kind(s) {bad}; use one of {list(PLACE_KINDS)}")
        for c in ("x", "y", "radius_m"):
            t[c] = pd.to_numeric(t[c], errors="coerce").astype("float64")
        t["key"] = place_key(t["name"]).astype(object)
        t = t[t["key"] != ""].reset_index(drop=True)
        self.table = t
        self._build()

    # ---------------------------------------------------------------- construction
    @classmethod
    def default(cls) -> "PlaceLexicon":
        """The packaged London lexicon (cached)."""
        return default_places()

    @classmethod
    def from_csv(cls, path: str | Path, extend: bool = False) -> "PlaceLexicon":
        """A lexicon from a CSV with :data:`PLACE_COLUMNS` (lines starting ``#`` are comments);
        ``extend=True`` adds its rows to the packaged London lexicon."""
        path = Path(path)
        if not path.exists():
            raise DataNotFoundError(f"place lexicon not found: {path}")
        try:
            t = pd.read_csv(path, comment="#", dtype={"boroughs": str, "districts": str}, keep_default_na=False,
                            na_values={"x": [""], "y": [""], "radius_m": [""]})
        except Exception as exc:  # noqa: BLE001
            raise FileFormatError(f"cannot read {path} as a place CSV: {exc}") from exc
        if extend:
            t = pd.concat([default_places().table[list(PLACE_COLUMNS)], t], ignore_index=True)
        return cls(t)

    def _key_positions(self, pk: np.ndarray) -> np.ndarray:
        """Positions of place keys ``pk`` in :attr:`keys` (-1: no place). A key that is not a name
        is also read as one written with or without its spaces ("Woodgreen", "Bexley Heath",
        "Abbeywood") and, when it is one word of at least FUZZY_PLACE_MIN_LEN letters, as the name one
        letter off with the same first letter ("Croyden", "Edgeware", "Thamemead") when exactly one
        name is that near ("Kinsbury": Kingsbury or Finsbury, neither); a different first letter is
        another place ("Banstead" is not Wanstead) and several words are never read loosely ("West
        Acton" is not East Acton). A name not held that is a held one after a compass word or
        upper/lower ("North Cheam", "West Croydon", "Upper Belvedere") is read as the held one."""
        pos = self.keys.get_indexer(pk)
        miss = np.flatnonzero((pos < 0) & (pk != ""))
        if not len(miss):
            return pos
        squeezed = pd.Series(pk[miss], dtype=object).str.replace(" ", "", regex=False).to_numpy(dtype=object)
        got = self._squeezed.reindex(squeezed).to_numpy()
        pos[miss] = np.where(pd.isna(got), -1, got).astype(np.int64)
        # "North Cheam", "West Croydon", "Upper Belvedere": an unknown name that is a known one after a
        # compass word or upper/lower is read as that place (its boroughs and districts)
        rest = miss[pos[miss] < 0]
        if len(rest):
            bare = pd.Series(pk[rest], dtype=object).str.extract(r"^(?:north|south|east|west|upper|lower) (.+)$")[0]
            got = self.keys.get_indexer(bare.fillna("").to_numpy(dtype=object))
            pos[rest] = np.where(bare.notna().to_numpy() & (got >= 0), got, -1)
        one = miss[(pos[miss] < 0) & np.array([(" " not in k) and len(k) >= FUZZY_PLACE_MIN_LEN for k in pk[miss]], bool)]
        if len(one):
            from rapidfuzz import process
            from rapidfuzz.distance import Levenshtein

            d = process.cdist(list(pk[one]), self._single, scorer=Levenshtein.distance, score_cutoff=1, workers=1)
            initial = np.array([k[0] for k in pk[one]], dtype=object)[:, None] == np.array([k[0] for k in self._single], dtype=object)[None, :]
            near = (d <= 1) & initial  # a typo keeps the first letter; "Banstead" is not Wanstead
            uniq = near.sum(axis=1) == 1
            pos[one[uniq]] = self._single_pos[near[uniq].argmax(axis=1)]
        return pos

    def _build(self) -> None:
        t = self.table
        keys = pd.Index(pd.unique(t["key"].to_numpy(dtype=object)))
        self.keys = keys
        code = keys.get_indexer(t["key"].to_numpy(dtype=object))
        order = np.argsort(code, kind="stable")
        starts = np.searchsorted(code[order], np.arange(len(keys) + 1))
        self._meanings = [order[starts[i]:starts[i + 1]] for i in range(len(keys))]
        sq = pd.Series(np.asarray(keys, dtype=object), dtype=object).str.replace(" ", "", regex=False)
        first = ~sq.duplicated(keep=False)  # a squeezed form two names share means neither
        self._squeezed = pd.Series(np.arange(len(keys))[first.to_numpy()], index=sq[first].to_numpy())
        single = np.array([(" " not in k) and len(k) >= FUZZY_PLACE_MIN_LEN - 1 for k in keys], bool)
        self._single, self._single_pos = list(np.asarray(keys, dtype=object)[single]), np.flatnonzero(single)
        self._bset = [frozenset(b.split("|")) - {""} for b in t["boroughs"]]
        self._dset = [frozenset(d.split("|")) - {""} for d in t["districts"]]
        hints = t["hint_boroughs"].fillna("").astype("str") if "hint_boroughs" in t else pd.Series("", index=t.index)
        self._hint = [frozenset(h.split("|")) - {""} for h in hints]
        self._rank = t["kind"].map(_RANK).to_numpy()
        self._x, self._y, self._r = (t[c].to_numpy(float) for c in ("x", "y", "radius_m"))
        self._kind = t["kind"].to_numpy(dtype=object)
        self._cache: dict[tuple[int, ...], tuple[Any, ...]] = {}
        #: the last word of every name, lower case as written and as keyed (a cheap screen)
        self.last_words = frozenset(t["name"].str.lower().str.split().str[-1].dropna()) | frozenset(
            k.split()[-1] for k in keys if k)
        self._last_words_arrow: Any = None

    def _names_arrow(self) -> Any:
        import pyarrow as pa

        if self._last_words_arrow is None:
            names = set(self.table["name"].str.lower().str.replace(r"\s+", " ", regex=True)) | set(self.keys)
            self._last_words_arrow = pa.array(sorted(names), type=pa.string())
        return self._last_words_arrow

    @staticmethod
    def _lower_arrow(texts: pd.Series) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pc.utf8_lower(pa.array(texts.astype(object).fillna("").to_numpy(dtype=object), type=pa.string()))
        from . import _rx

        return _rx._replace_screened(pc.utf8_trim(arr, " ,."), r"\s+", " ", None, _rx.WS_CHANGE)

    def written_as_name(self, texts: pd.Series) -> np.ndarray:
        """Boolean array: the whole text, lower-cased, is a place name as written or keyed (pyarrow; a
        cheap screen, :meth:`is_place` is the full test)."""
        import pyarrow.compute as pc

        if not len(texts):
            return np.zeros(0, dtype=bool)
        hit = pc.fill_null(pc.is_in(self._lower_arrow(texts), value_set=self._names_arrow()), False)
        return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)

    def ends_with_place_word(self, texts: pd.Series) -> np.ndarray:
        """Boolean array: the text's last one, two or three words (after a space) are a place name as
        written or keyed (a cheap screen before the place split; pyarrow, no Python loop)."""
        import pyarrow.compute as pc

        if not len(texts):
            return np.zeros(0, dtype=bool)
        arr = self._lower_arrow(texts)
        names = self._names_arrow()
        hit = None
        # the last one, two or three words are a whole place name
        for k in (1, 2, 3):
            pat = r"\s(?P<w>[^\s]+" + r"(?:\s[^\s]+)" * (k - 1) + r")$"
            last = pc.struct_field(pc.extract_regex(arr, pat), "w")
            h = pc.fill_null(pc.is_in(last, value_set=names), False)
            hit = h if hit is None else pc.or_(hit, h)
        return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return f"PlaceLexicon({len(self.keys)} names, {len(self)} meanings: {self.table['kind'].value_counts().to_dict()})"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and place_key(pd.Series([name])).iloc[0] in self.keys

    def meanings(self, name: str) -> pd.DataFrame:
        """Every row of the lexicon that ``name`` can mean."""
        k = place_key(pd.Series([name])).iloc[0]
        i = self.keys.get_indexer([k])[0]
        return self.table.iloc[self._meanings[i]] if i >= 0 else self.table.iloc[:0]

    def county_word(self, texts: pd.Series) -> pd.Series:
        """The county word a text names as one comma part ("12 Station Approach, Hayes, Kent":
        "Kent"), '' for none (vectorised, same index): it chooses between a place's meanings."""
        has = self.names_county(texts).to_numpy(dtype=bool)
        out = pd.Series("", index=texts.index, dtype=object)
        if has.any():
            rx = rf"(?:^|,)\s*(?P<c>{self._county_alt()})\s*\.?\s*(?:,|$)"
            got = texts[has].astype(str).str.extract(rx, flags=re.IGNORECASE)["c"]
            out[has] = got.fillna("").str.strip().to_numpy(dtype=object)
        return out

    def _county_alt(self) -> str:
        """The county words as one regex alternation, longest first ('' for none); built once."""
        if not hasattr(self, "_county_words_rx"):
            words = sorted(set(self.table.loc[self.table["kind"] == "county", "name"].str.lower()), key=len, reverse=True)
            self._county_words_rx = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
        return self._county_words_rx

    def names_county(self, texts: pd.Series) -> pd.Series:
        """True where one comma part of a text is one of this lexicon's county words ("..., Sutton,
        Surrey"; vectorised, same index): the mark of a postal address."""
        from . import _rx

        if not hasattr(self, "_county_rx"):
            alt = self._county_alt()
            self._county_rx = rf"(?:^|,)\s*(?:{alt})\s*\.?\s*(?:,|$)" if alt else None
        t = texts.astype(object).where(texts.notna(), "").astype(str)
        if self._county_rx is None or not len(t):
            return pd.Series(False, index=texts.index)
        return _rx.contains(t, self._county_rx)

    def is_place(self, texts: pd.Series) -> pd.Series:
        """True where the whole text is one place name (vectorised)."""
        codes, uniq = pd.factorize(texts.astype(object).where(texts.notna(), "").to_numpy(dtype=object))
        hit = self.keys.get_indexer(place_key(pd.Series(np.asarray(uniq, dtype=object), dtype=object))
                                    .to_numpy(dtype=object)) >= 0
        return pd.Series(hit[codes] if len(codes) else np.zeros(0, bool), index=texts.index)

    # ---------------------------------------------------------------- lookup
    def find(self, texts: pd.Series | Any) -> pd.DataFrame:
        """What each text names: :data:`PLACE_FIELDS` per row (same index).

        ``place``: the narrowest place found (its key); ``place_kind``; ``place_boroughs`` /
        ``place_districts``: '|'-joined, sorted, '' for none or for county words; ``place_x`` /
        ``place_y`` / ``place_radius_m``: EPSG:27700 point and radius (metres), NaN when the name's
        meanings are far apart ("Hayes": Bromley or Hillingdon) or unknown. Comma parts are looked up
        separately and narrowed to the meanings they agree on; when named parts contradict each other
        the boroughs of all of them are kept and the point is NaN.
        """
        s = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
        s = s.astype(object).where(s.notna(), "")
        codes, uniq = pd.factorize(s.to_numpy(dtype=object))
        u = pd.Series(np.asarray(uniq, dtype=object), dtype=object).astype("str")
        res = self._find_distinct(u)
        if len(s):
            res = res.iloc[codes].set_axis(s.index)
        else:
            res = res.reindex(s.index)
        return res

    def _find_distinct(self, u: pd.Series) -> pd.DataFrame:
        # every comma part looked up at once
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(u)
        arr = pa.array(u.to_numpy(dtype=object), type=pa.string())
        lists = pc.split_pattern(arr, ",")
        owner = np.asarray(pc.list_parent_indices(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
        flat = pc.list_flatten(lists)
        pcodes, puniq = pd.factorize(np.asarray(flat.to_numpy(zero_copy_only=False), dtype=object))
        pk = place_key(pd.Series(np.asarray(puniq, dtype=object), dtype=object))
        pi = self._key_positions(pk.to_numpy(dtype=object))[pcodes] if len(pcodes) else np.zeros(0, np.int64)
        found = pi >= 0
        # the names found per text (in text order, up to 4) as one integer: texts naming the same places
        # resolve once
        fo, fk = owner[found], pi[found].astype(np.int64)
        nth = pd.Series(fo).groupby(fo, sort=False).cumcount().to_numpy() if len(fo) else np.zeros(0, np.int64)
        use = nth < 4
        base = np.int64(len(self.keys) + 1)
        code = np.zeros(n, dtype=np.int64)
        np.add.at(code, fo[use], (fk[use] + 1) * base ** nth[use])
        rows = np.flatnonzero(code)
        cid, cuniq = pd.factorize(code[rows])
        res = [self._resolve(self._decode(int(c), int(base))) for c in cuniq]
        cols: dict[str, Any] = {
            "place": np.full(n, None, dtype=object), "place_kind": np.full(n, None, dtype=object),
            "place_boroughs": np.full(n, "", dtype=object), "place_districts": np.full(n, "", dtype=object),
            "place_x": np.full(n, np.nan), "place_y": np.full(n, np.nan), "place_radius_m": np.full(n, np.nan),
        }
        for j, c in enumerate(PLACE_FIELDS):
            vals = np.array([r[j] for r in res], dtype=cols[c].dtype) if res else np.zeros(0, cols[c].dtype)
            cols[c][rows] = vals[cid]
        idx = pd.RangeIndex(n)
        return pd.DataFrame({c: pd.Series(v, index=idx, dtype=object if v.dtype == object else "float64")
                             for c, v in cols.items()}, index=idx)

    @staticmethod
    def _decode(code: int, base: int) -> tuple[int, ...]:
        out = []
        while code:
            code, d = divmod(code, base)
            out.append(d - 1)
        return tuple(out)

    def _resolve(self, ks: tuple[int, ...]) -> tuple[Any, ...]:
        """Combine the meanings of the names ``ks`` (key positions, in text order)."""
        hit = self._cache.get(ks)
        if hit is not None:
            return hit
        # a name that is a borough means the borough (and a post town of that name), not the
        # locality of that name with its border tolerance
        rows = []
        for k in ks:
            m = self._meanings[k]
            if (self._rank[m] == _RANK["borough"]).any():
                m = m[self._rank[m] != _RANK["locality"]]
            rows.append(m)
        located = [(k, m) for k, m in zip(ks, rows) if any(self._bset[i] for i in m)]
        if len(located) > 1:  # a city-wide name ("London": 29 boroughs) narrows no other place
            narrow = [(k, m) for k, m in located if len(frozenset().union(*(self._bset[i] for i in m))) <= WIDE_PLACE_BOROUGHS]
            located = narrow or located
        hint = frozenset().union(*(self._hint[i] for m in rows for i in m))
        if not located:  # county words only
            res: tuple[Any, ...] = (self.keys[ks[-1]], "county", "", "", np.nan, np.nan, np.nan)
            self._cache[ks] = res
            return res
        # the narrowest name leads (locality before post town before borough); the others narrow it
        located.sort(key=lambda km: -min(self._rank[i] for i in km[1]))
        lead_k, keep = located[0]
        keep = list(keep)
        conflict = False
        for _, other in located[1:]:
            ob = frozenset().union(*(self._bset[i] for i in other))
            narrowed = [i for i in keep if self._bset[i] & ob]
            if narrowed:
                keep = narrowed
            else:
                conflict = True
                keep = keep + list(other)
        if hint:  # a county word chooses between meanings ("Hayes, Middlesex"), never narrows alone
            chosen = [i for i in keep if self._bset[i] & hint]
            keep = chosen or keep
        bs = frozenset().union(*(self._bset[i] for i in keep))
        if not conflict and len(located) > 1:
            for _, other in located[1:]:
                ob = frozenset().union(*(self._bset[i] for i in other))
                bs = bs & ob if bs & ob else bs
        ds = frozenset().union(*(self._dset[i] for i in keep))
        best = min(keep, key=lambda i: self._rank[i])
        x, y, r = self._x[best], self._y[best], self._r[best]
        if conflict or any(np.hypot(self._x[i] - x, self._y[i] - y) > max(r, 1.0) for i in keep):
            x = y = r = np.nan
        res = (self.keys[lead_k], self._kind[best], "|".join(sorted(bs)), "|".join(sorted(ds)),
               float(x), float(y), float(r))
        self._cache[ks] = res
        return res


#: a one-word place name written at least this long is also read as the one name one letter off
#: ("Croyden" -> Croydon); shorter words are too easily another place ("Eltham" / "Feltham")
FUZZY_PLACE_MIN_LEN = 7

#: a place meaning more boroughs than this (the LONDON post town) only locates a text that names no
#: other place: "Hayes, London" is either Hayes, as "Hayes" alone
WIDE_PLACE_BOROUGHS = 12


@lru_cache(maxsize=1)
def default_places() -> PlaceLexicon:
    """The packaged London place lexicon (``geocrime/data/places/london_places.csv``), loaded once."""
    ref = resources.files("geocrime") / "data" / "places" / "london_places.csv"
    with resources.as_file(ref) as p:
        return PlaceLexicon.from_csv(p)
