"""What one publication puts in public: the :class:`Release` the gate audits as one system.

A release lists every table and layer that will be published. The gate builds exactly those tables,
audits them jointly (with the earlier releases in ``previous``) and returns only them in
:class:`~geocrime.publish.GatedData`; the public writers refuse anything the release does not list
(:func:`require_released`), so a table that was not audited cannot leave through the public path.

Usage::

    from geocrime.publish import Release, gate
    r1 = gate(jan, mp, release=Release(tables=("borough", "ward_2024")))
    # next month: pass every month released so far; months already out are re-published unchanged
    r2 = gate(jan_feb, mp, release=Release(tables=("borough", "ward_2024"), previous=(r1,)))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, PublishError

__all__ = ["Release", "require_released", "write_tables", "TILE_ZOOMS"]

#: Zooms the public tiles may use (all derived from the published points, see tiles.py).
TILE_ZOOMS = tuple(range(0, 23))


@dataclass(frozen=True)
class Release:
    """Every table and layer one publication makes public.

    Parameters
    ----------
    tables:
        Area layers published as tables (area × month × crime type), e.g. ``("borough", "ward_2024")``.
        ``borough`` is always included: it is the parent every finer layer nests in (its cells are
        derivable from the finer table plus the London totals anyway).
    totals:
        Publish the London totals (``layer == "all"``) and the all-crime cells (``crime_type == "*"``)
        of every table.
    cross_month:
        Publish totals over all the release's months (``month == "YYYY-MM..YYYY-MM"``) for every cell.
    points:
        Publish map-point counts (and the tiles built from them, at every zoom in ``tile_zooms``).
    tile_zooms:
        Zooms public tiles may be written at (default all, 0..22). Tiles hold only sums of published
        points, so they add nothing to the audited system; the zooms are recorded so the release
        says what is public, and a narrower list makes the writer refuse other zooms.
    previous:
        Releases already public (``GatedData`` from earlier gate calls): their cells are equations in
        this release's audit, and months they published are re-published with the same figures.
    """

    tables: tuple[str, ...] = ("borough", "ward_2024")
    totals: bool = True
    cross_month: bool = False
    points: bool = True
    tile_zooms: tuple[int, ...] = TILE_ZOOMS
    previous: tuple[Any, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        tables = tuple(dict.fromkeys(["borough", *[str(t) for t in self.tables if t != "borough"]]))
        object.__setattr__(self, "tables", tables)
        object.__setattr__(self, "previous", tuple(self.previous))
        if any(z not in TILE_ZOOMS for z in self.tile_zooms):
            raise InputError(f"tile zooms must be within 0..22, got {self.tile_zooms}")
        from ._types import require_gated

        for p in self.previous:
            require_gated(p, "Release(previous=...)")

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for the disclosure report and metadata."""
        return {"tables": list(self.tables), "totals": self.totals, "cross_month": self.cross_month,
                "points": self.points, "tile_zooms": list(self.tile_zooms),
                "previous_releases": [list(p.params.get("months", [])) for p in self.previous]}


def require_released(gated: Any, what: str, *, layer: str | None = None, points: bool = False,
                     zooms: range | tuple[int, ...] | None = None) -> None:
    """Raise :class:`PublishError` when ``what`` would publish something the gated release did not audit."""
    rel = getattr(gated, "release", None)
    if rel is None:
        return
    if points and not rel.points:
        raise PublishError(f"{what}: this release does not publish map points (Release(points=False)); "
                           "gate again with points=True to publish them")
    if layer is not None and layer not in rel.tables:
        raise PublishError(f"{what}: layer {layer!r} is not in the audited release {list(rel.tables)}; "
                           "add it to Release(tables=...) and gate again")
    if zooms is not None:
        bad = sorted(set(zooms) - set(rel.tile_zooms))
        if bad:
            raise PublishError(f"{what}: zooms {bad} are not in the audited release (tile_zooms={list(rel.tile_zooms)})")


def write_tables(gated: Any, out_dir: Any) -> dict[str, Any]:
    """Write the released tables as CSV: one file per area layer plus ``totals.csv``.

    Suppressed cells have an empty ``count`` and ``suppressed == True``. Cells outside the sources'
    coverage (``gate(coverage=...)``, e.g. anti-social behaviour in a ward whose only source is a
    burglary extract) have NO row: a missing row means "no data", while every covered cell has a row,
    so a published ``0`` is a true zero. The disclosure report states the coverage applied. Only what
    the release lists is written (the gate returns nothing else). Returns ``{name: path}``.
    """
    from pathlib import Path

    from ._types import require_gated

    gated = require_gated(gated, "write_tables")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {}
    for layer, df in gated.area_counts.items():
        require_released(gated, "write_tables", layer=layer)
        p = out / f"{layer}.csv"
        df.to_csv(p, index=False)
        paths[layer] = p
    if len(gated.totals):
        p = out / "totals.csv"
        gated.totals.to_csv(p, index=False)
        paths["totals"] = p
    return paths
