"""The one data type public outputs accept: :class:`GatedData`, made only by the publish gate.

Public writers (tiles, public pages) call :func:`require_gated` on what they are given, so nothing
that has not passed the gate can reach them, whatever the caller does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import PublishError

# A private capability object: only code inside geocrime.publish holds a reference to it.
_GATE_TOKEN = object()

#: Columns of :attr:`GatedData.points`, and nothing else ever.
POINT_COLUMNS = ("map_point_id", "lon", "lat", "month", "crime_type", "count")


@dataclass(frozen=True)
class GatedData:
    """Incident data that has passed the publish gate.

    Attributes
    ----------
    points:
        Counts per anonymous map point, month and crime category: columns exactly
        ``POINT_COLUMNS``. ``lon``/``lat`` are the map point's position (EPSG:4326 degrees), never an
        incident's; ``month`` is ``"YYYY-MM"``; ``count`` is an int >= 1.
    area_counts:
        Suppressed counts per area layer: a dict ``{layer_name: DataFrame}`` with columns
        ``area_code, month, crime_type, count, suppressed`` where suppressed cells have
        ``count`` = NA and ``suppressed`` = True (primary or complementary).
    area_geometries:
        ``{layer_name: GeoDataFrame}`` of the published areas (``area_code``, ``area_name``,
        geometry in EPSG:4326), for choropleths.
    params:
        The gate's settings (k, threshold, ...), recorded in every output.
    report:
        The disclosure report (a JSON-serialisable dict).
    totals:
        Published totals, suppressed consistently with ``area_counts``: DataFrame ``layer,
        area_code, month, crime_type, count, suppressed`` where ``layer == "all"`` /
        ``area_code == "*"`` is the London total and ``crime_type == "*"`` all categories.
        Cross-month totals (``Release(cross_month=True)``) have ``month == "YYYY-MM..YYYY-MM"``.
    release:
        The :class:`~geocrime.publish.release.Release` this data was audited as; public writers
        refuse anything it does not list.
    cells:
        Every published cell of the release in one frame (``layer, area_code, month, crime_type,
        count, suppressed``), as the next release's ``previous=`` reads it. Only cells inside the
        coverage: a cell no source covers is absent ("no data"), never 0.
    coverage:
        What the sources cover, per cell of the release (tables and totals): DataFrame ``layer,
        area_code, month, crime_type, covered``; ``covered == False`` rows are the cells left out of
        every table (all True with ``coverage=False`` or when the incidents name no source). The public
        page reads it, so it draws those cells as "no data".
    """

    points: pd.DataFrame
    area_counts: dict[str, pd.DataFrame]
    area_geometries: dict[str, Any]
    params: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)
    totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    _token: object = field(default=None, repr=False, compare=False)
    release: Any = field(default=None, repr=False, compare=False)
    cells: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)
    coverage: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _GATE_TOKEN:
            raise PublishError(
                "GatedData can only be made by geocrime.publish.gate(); public outputs never take raw data"
            )
        extra = set(self.points.columns) - set(POINT_COLUMNS)
        if extra:
            raise PublishError(f"gated points carry fields that must not be published: {sorted(extra)}")


def require_gated(obj: Any, what: str = "this public output") -> GatedData:
    """Return ``obj`` if it is gate output, else raise :class:`PublishError` naming the gate."""
    if not isinstance(obj, GatedData) or obj._token is not _GATE_TOKEN:
        raise PublishError(
            f"{what} accepts only the output of geocrime.publish.gate() (got {type(obj).__name__}); "
            "pass your incidents through the gate first"
        )
    return obj
