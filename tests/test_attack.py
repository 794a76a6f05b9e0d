"""The project's attacker (``geocrime.publish.attack``) against the demo's release, on real data.

The release: police.uk Met burglary + City of London (all crime), the six months both cover, borough and
ward 2024 tables with London and all-crime totals, map points from 206,570 Code-Point + FHRS addresses.
The attacker uses every relation the release allows: all tables and totals together, "suppressed >= 1"
(zeros are published), complementary bounds by LP, distinct-place catchments, the catchment radius and
the distance to real coordinates. A two-month sequence (month 1, then months 1-2 with cross-month totals
and the first release as ``previous``) is attacked on the union of both releases. Controls break the
protections so the attacks are seen to succeed.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import _publish_data as P

from geocrime.publish import GatedData, Release, gate
from geocrime.publish.attack import published_cells, table_attack

THRESHOLD = 5
TABLES = ("borough", "ward_2024")


@pytest.fixture(scope="module")
def demo_incidents(shared_data: Path) -> pd.DataFrame:
    met, city = P.met(shared_data), P.city(shared_data)
    months = sorted(set(met["Month"]) & set(city["Month"]))
    assert len(months) == 6
    inc = pd.concat([met, city], ignore_index=True)
    return inc[inc["Month"].isin(months)].reset_index(drop=True)


@pytest.fixture(scope="module")
def boundaries():
    from geocrime.areas import Boundaries

    return Boundaries.from_registry(list(TABLES))


@pytest.fixture(scope="module")
def demo_release(demo_incidents: pd.DataFrame, shared_data: Path, boundaries) -> GatedData:
    return gate(demo_incidents, P.map_points(shared_data), boundaries, threshold=THRESHOLD,
                release=Release(tables=TABLES, totals=True))


def test_demo_release_tables_hold_against_every_relation(demo_release: GatedData) -> None:
    g = demo_release
    assert g.params["release"]["tables"] == list(TABLES) and g.params["release"]["totals"]
    assert len(g.params["months"]) == 6 and not g.params["unsafe_for_release"]
    att = table_attack(g)  # ward + borough + London + all-crime together, suppressed >= 1
    s = att.summary()
    assert s["suppressed"] > 1000
    assert s["exposed_any"] == 0, att.exposed.head(10)


def test_demo_release_points_hold(demo_release: GatedData, demo_incidents: pd.DataFrame, shared_data: Path) -> None:
    pa = P.point_attack(demo_release, P.map_points(shared_data), shared_data, demo_incidents)
    s = pa.summary()
    assert s["published_points"] > 3000
    assert s["fewer_than_8_places"] == 0 and s["catchment_within_100m"] == 0, s
    assert s["within_10m_of_a_real_coordinate"] == 0 and s["on_a_real_coordinate"] == 0, s


def test_two_month_sequence_holds(demo_incidents: pd.DataFrame, shared_data: Path, boundaries) -> None:
    months = sorted(demo_incidents["Month"].unique())[:2]
    mp = P.map_points(shared_data)
    r1 = gate(demo_incidents[demo_incidents["Month"] == months[0]], mp, boundaries, threshold=THRESHOLD,
              release=Release(tables=TABLES))
    r2 = gate(demo_incidents[demo_incidents["Month"].isin(months)], mp, boundaries, threshold=THRESHOLD,
              release=Release(tables=TABLES, cross_month=True, previous=(r1,)))
    both = pd.concat([published_cells(r1), published_cells(r2)], ignore_index=True)
    both = both.sort_values("suppressed").drop_duplicates(["layer", "area_code", "month", "crime_type"])
    assert (both["month"].str.contains("..", regex=False)).any(), "cross-month totals are part of the sequence"
    att = table_attack(r2, cells=both)
    assert att.summary()["exposed_any"] == 0, att.exposed.head(10)
    # positions keep clear of every incident the gate was given (the months of the sequence)
    pa = P.point_attack(r2, mp, shared_data, demo_incidents[demo_incidents["Month"].isin(months)])
    assert pa.summary()["within_10m_of_a_real_coordinate"] == 0


def test_control_the_unprotected_release_is_broken(demo_incidents: pd.DataFrame, shared_data: Path, boundaries) -> None:
    """Control: one month without complementary suppression and audit -> the same attacker pins cells."""
    month = sorted(demo_incidents["Month"].unique())[0]
    g = gate(demo_incidents[demo_incidents["Month"] == month], P.map_points(shared_data), boundaries,
             threshold=THRESHOLD, release=Release(tables=TABLES), complementary=False, audit=False)
    s = table_attack(g).summary()
    assert s["exact"] > 0 and s["small_1_to_t-1"] > 0, s
