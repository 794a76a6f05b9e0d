"""Counts the examples the property tests run (helper module, not collected).

``tests/test_properties.py`` calls :func:`tick` once per generated example; the conftest prints the
total per test and overall at the end of the session (and writes it as JSON to
``$GEOCRIME_HYPOTHESIS_REPORT`` when that is set).
"""
from __future__ import annotations

from collections import Counter

EXAMPLES: Counter[str] = Counter()


def tick(name: str) -> None:
    EXAMPLES[name] += 1
