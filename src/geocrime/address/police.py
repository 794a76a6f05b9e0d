"""Police location phrasing and placeholder addresses.

Incident records say where something happened relative to a place: "o/s 23 High St", "j/o A Road
and B Street", "r/o", "opp", "nr", "adj", "car park of", "bus stop", and police.uk's own
"On or near X". These are recognised into a canonical ``location_qualifier`` plus the address (or
the two streets of a junction). Placeholders (NFA, no fixed abode, unknown, various, not known,
police.uk's "No Location", the address of a police station or custody suite) are flagged with a
reason and must never be geocoded as if they were the incident location.

Everything here is vectorised: regexes applied over a whole pandas Series.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "QUALIFIERS",
    "POLICE_UK_CATEGORIES",
    "Placeholders",
    "DEFAULT_PLACEHOLDERS",
    "split_qualifier",
    "find_placeholders",
    "split_junction",
]

#: canonical qualifier -> spellings (regex fragments, matched case-insensitively at the start)
QUALIFIERS: dict[str, list[str]] = {
    "on_or_near": [r"on\s+or\s+near"],
    "bus_stop": [
        r"(?:at\s+)?(?:the\s+)?bus\s*stop\s+(?:o/s|outside|opp\.?|opposite|nr\.?|near|adj\.?|at|on|by|in)?",
        r"(?:at\s+)?(?:the\s+)?bus\s*stop\b",
    ],
    "car_park": [r"(?:in\s+|at\s+)?(?:the\s+)?car\s*park\s+(?:of|at|to\s+the\s+rear\s+of|behind|r/o)",
                 r"(?:in\s+|at\s+)?(?:the\s+)?car\s*park"],
    "rear_of": [r"(?:to\s+the\s+)?rear\s+of", r"r/o\b", r"r\.o\.", r"behind"],
    "junction": [
        r"(?:at\s+)?(?:the\s+)?junction\s+(?:of|with|between|at)",
        r"j/o\b", r"j/w\b", r"jct\.?n?\.?\s+(?:of|with)", r"jct\.?n?\b\.?", r"jnc?t?\.?\s+(?:of|with)", r"jw\b",
        r"junc\.?\s+(?:of|with)",
        r"(?:on\s+|at\s+)?(?:the\s+)?corner\s+(?:of|with)",
    ],
    "outside": [r"o/s\b", r"o\.s\.", r"outside(?:\s+of)?", r"in\s+front\s+of"],
    "opposite": [r"opp\.?\s+to", r"opp\b\.?", r"opposite(?:\s+to)?"],
    "adjacent": [r"adj\.?\s+to", r"adj\b\.?", r"adjacent\s+to", r"adjacent", r"next\s+to", r"beside"],
    "near": [r"nr\b\.?", r"near\s+to", r"near", r"close\s+to", r"by"],
}

#: police.uk anonymisation map-point categories ("On or near Supermarket"): a kind of place, not a name
POLICE_UK_CATEGORIES: tuple[str, ...] = (
    "Shopping Area", "Parking Area", "Sports/Recreation Area", "Motorway Service Area", "Petrol Station",
    "Police Station", "Bus/Coach Station", "Conference/Exhibition Centre", "Theatre/Concert Hall",
    "Further/Higher Educational Building", "Hospital", "Park/Open Space", "Ferry Terminal",
    "Pedestrian Subway", "Supermarket", "Nightclub", "Airport/Airfield", "Sports Centre",
    "Supermarket/Shopping Centre",
)


@dataclass(frozen=True)
class Placeholders:
    """What counts as a placeholder instead of an incident location (configurable).

    ``phrases``: reason -> regexes matched against the whole (lower-cased, trimmed) text.
    ``contains``: reason -> regexes that make the text a placeholder wherever they appear.
    ``addresses``: known addresses of police stations / custody suites (free text; compared after
    :func:`geocrime.address.normalise`, a record matches when its normalised text starts with one).
    """

    phrases: dict[str, list[str]] = field(default_factory=dict)
    contains: dict[str, list[str]] = field(default_factory=dict)
    addresses: tuple[str, ...] = ()

    def with_addresses(self, *addresses: str) -> "Placeholders":
        """A copy that also treats ``addresses`` (e.g. your force's custody suites) as placeholders."""
        return Placeholders(dict(self.phrases), dict(self.contains), tuple(self.addresses) + addresses)


DEFAULT_PLACEHOLDERS = Placeholders(
    phrases={
        "no_fixed_abode": [r"n\.?\s*f\.?\s*a\.?", r"no\s+fixed\s+(?:abode|address)", r"homeless"],
        "unknown": [r"unknown(?:\s+address|\s+location)?", r"not\s+known", r"n/?k", r"u/?k", r"unk\.?",
                    r"not\s+stated", r"not\s+given", r"none(?:\s+given)?", r"no\s+address(?:\s+given)?",
                    r"tbc", r"tba", r"n/?a", r"withheld", r"refused", r"\?+", r"-+", r"x+", r"\.+"],
        "various": [r"various(?:\s+(?:locations|addresses|places|streets))?", r"multiple\s+locations"],
        "no_location": [r"no\s+location", r"on\s+or\s+near"],
        "police_station": [r"(?:on\s+or\s+near\s+)?police\s+station"],
    },
    contains={
        "no_fixed_abode": [r"\bno\s+fixed\s+(?:abode|address)\b", r"\bnfa\b"],
        "custody_suite": [r"\bcustody\s+(?:suite|centre|center|unit|block)\b"],
        # "X Police Station" as the whole first part (not "Police Station Road")
        "police_station": [r"^[^,]*police\s+station\s*(?:,|$)"],
    },
    addresses=(
        # City of London Police and Metropolitan Police custody / front-counter addresses
        "182 Bishopsgate, London EC2M 4NP",
        "5 Snow Hill, London EC1A 2DP",
        "37 Wood Street, London EC2P 2NQ",
        "Charing Cross Police Station, Agar Street, London WC2N 4JP",
        "367 Brixton Road, London SW9 7DD",
    ),
)

_Q_ORDER = ["on_or_near", "bus_stop", "car_park", "junction", "rear_of", "outside", "opposite",
            "adjacent", "near"]


def _alts() -> str:
    return "(?:" + "|".join(f"(?:{pat})" for name in _Q_ORDER for pat in QUALIFIERS[name]) + ")"


# the phrase must end at a separator (or the end): "Near Tower Road" is not "near To..."
_Q_SCREEN = r"^\s*" + _alts() + r"(?:[\s,:\-]|$)"
_Q_PATTERN = r"^\s*(?P<q>" + _alts() + r")(?:[\s,:\-]+(?P<rest>.*))?$"
_Q_NAME_RX = [(name, re.compile(r"(?:" + "|".join(QUALIFIERS[name]) + r")\Z", re.IGNORECASE | re.DOTALL))
              for name in _Q_ORDER]
# a qualifier word followed by a street-type word is a street name ("Near Lane", "By Way")
_STREETISH_NEXT = r"^(?:lane|road|street|way|pass|close|avenue|gardens|hill)\b"


def _qualifier_name(phrase: str) -> str | None:
    for name, rx in _Q_NAME_RX:
        if rx.match(phrase):
            return name
    return None


def split_qualifier(texts: pd.Series) -> pd.DataFrame:
    """Split a leading police location phrase off every string (vectorised, RE2).

    Returns columns ``location_qualifier`` (canonical name or None), ``rest`` and ``phrase`` (the
    qualifier as written; filled for ``rear_of`` only, where it becomes the sub-building).
    A qualifier word followed directly by a street-type word ("Near Lane") is left alone.
    """
    from . import _rx

    qual = pd.Series([None] * len(texts), index=texts.index, dtype=object)
    m = pd.DataFrame({"q": qual.copy(), "rest": qual.copy()}, index=texts.index)
    screen = _rx.contains(texts, _Q_SCREEN)  # DFA, no sub-matches: cheap
    if screen.any():
        m.loc[screen] = _rx.extract(texts[screen], _Q_PATTERN)[["q", "rest"]].to_numpy(dtype=object)
        ph = m.loc[screen, "q"]
        codes, uniq = pd.factorize(ph.to_numpy(dtype=object))
        names = np.array([_qualifier_name(u) for u in uniq] + [None], dtype=object)
        qual[screen] = names[codes]
    rest = m["rest"].astype(object).where(m["rest"].notna(), "")
    has_q = qual.notna()
    if has_q.any():
        bad = _rx.contains(rest[has_q].astype("str"), _STREETISH_NEXT)
        qual[bad.index[bad.to_numpy(dtype=bool)]] = None
    has_q = qual.notna()
    rest_out = rest.where(has_q, texts.astype(object))
    phrase = pd.Series([None] * len(texts), index=texts.index, dtype=object)
    ro = qual == "rear_of"
    if ro.any():
        phrase[ro] = m.loc[ro, "q"].astype(object)
    return pd.DataFrame({"location_qualifier": qual, "rest": rest_out.astype(object), "phrase": phrase},
                        index=texts.index)


_JUNCTION_SPLIT = re.compile(
    r"^(?P<s1>.+?)\s*(?:\s(?:and|with|into|at|by|x)\s|\s*&\s*|\s*/\s*|\s+j/w\s+|\s+jw\s+|\s+jct\.?\s+(?:with\s+)?"
    r"|\s+junction\s+(?:with|of)\s+|\s*,\s*)(?P<s2>.+)$",
    re.IGNORECASE | re.DOTALL,
)
#: a junction written in the middle ("A j/w B", "A jct B", "A junction with B", "A corner of B")
JUNCTION_INFIX_WORDS = (r"(?:j/w|jw|j/o|junction\s+(?:with|of)|jct\.?n?\.?(?:\s+(?:with|of))?|jnc\.?(?:\s+(?:with|of))?|"
                        r"junc\.?(?:\s+(?:with|of))?|corner\s+(?:of|with))")
_JUNCTION_INFIX = rf"\s{JUNCTION_INFIX_WORDS}\s"


def _slash_junction() -> str:
    from .lexicon import STREET_TYPES

    types = "|".join(sorted((re.escape(t) for t in STREET_TYPES), key=len, reverse=True))
    # "Brixton Rd / Coldharbour Lane": a street-type word, a slash, then a letter (not "12/14")
    return rf"^[^,/]*[a-z]\s+(?:{types})\.?\s*/\s*[a-z]"


#: "A Road / B Street": two streets either side of a slash
JUNCTION_SLASH = _slash_junction()


def split_junction(rest: pd.Series) -> pd.DataFrame:
    """Split junction text "A Road and B Street" / "A Rd/B St" into ``street`` and ``second_street``."""
    from . import _rx

    m = _rx.extract(rest, _JUNCTION_SPLIT.pattern)
    return pd.DataFrame({"street": m["s1"].astype(object), "second_street": m["s2"].astype(object)},
                        index=rest.index)


def has_junction_infix(texts: pd.Series) -> pd.Series:
    """True where the text names a junction in the middle ("High St j/w Low Rd")."""
    from . import _rx

    return _rx.contains(texts, _JUNCTION_INFIX) | _rx.contains(texts, JUNCTION_SLASH)


def _patterns(ph: Placeholders) -> list[tuple[str, str]]:
    out = []
    for reason, pats in ph.phrases.items():
        out.append((reason, r"^\s*(?:" + "|".join(pats) + r")\s*[.,;:]*\s*$"))
    for reason, pats in ph.contains.items():
        out.append((reason, "(?:" + "|".join(pats) + ")"))
    return out


def find_placeholders(texts: pd.Series, placeholders: Placeholders = DEFAULT_PLACEHOLDERS) -> pd.Series:
    """The placeholder reason for each string (or None), vectorised over the Series.

    Reasons: ``no_fixed_abode``, ``unknown``, ``various``, ``no_location``, ``police_station``,
    ``custody_suite``. (``listed_address``, one of ``placeholders.addresses``, is decided after parsing
    by :func:`geocrime.address.rules.listed_addresses`, on house number + street + postcode.)
    """
    from . import _rx

    reason = pd.Series([None] * len(texts), index=texts.index, dtype=object)
    pats = _patterns(placeholders)
    if not pats or not len(texts):
        return reason
    # one pass with every pattern first: most texts are no placeholder and leave here
    screen = _rx.contains(texts, "|".join(f"(?:{p})" for _, p in pats)).to_numpy(dtype=bool)
    for name, pat in pats:
        todo = reason.isna().to_numpy() & screen
        if not todo.any():
            break
        hit = _rx.contains(texts[todo], pat)
        reason.loc[hit.index[hit.to_numpy(dtype=bool)]] = name
    return reason


