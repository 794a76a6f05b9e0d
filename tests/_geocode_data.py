"""A small real gazetteer for the gazetteer/geocode/evaluate tests, built once per session.

Three FHRS authorities (Islington: many flats and units; Barking and Dagenham; Richmond upon
Thames: no postcodes published) + all London Code-Point Open units + a police.uk street layer
(City of London months + one Met burglary month).
"""
from __future__ import annotations

import atexit
import functools
import shutil
from pathlib import Path

import pandas as pd

BOROUGHS = ("Islington", "Barking and Dagenham", "Richmond-Upon-Thames")


@functools.lru_cache(maxsize=None)
def build(data: str) -> tuple:
    from geocrime.areas import Boundaries
    from geocrime.gazetteer import Gazetteer, read_codepoint, read_fhrs, streets_from_police_uk

    d = Path(data)
    f = pd.read_csv(d / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv", dtype=str, keep_default_na=False)
    sub = f[f["LocalAuthorityName"].isin(BOROUGHS)]
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="geocrime_gz_"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # the session's copy, not left in /tmp
    fhrs_path = tmp / "fhrs_subset.csv"
    sub.to_csv(fhrs_path, index=False)
    fhrs = read_fhrs(fhrs_path)
    units = read_codepoint(d / "codepoint_open_london_postcodes" / "codepo_london_E09.csv.gz")
    police = sorted((d / "policeuk_city_of_london_street").glob("*.csv"))[:12] + \
        sorted((d / "policeuk_met_burglary_street").glob("*.csv"))[:1]
    streets = streets_from_police_uk(police, units)
    gaz = Gazetteer.from_sources([fhrs, units, streets])
    return gaz, fhrs, fhrs_path, Boundaries.from_registry(["ward_2022", "lsoa_2021"]), tmp
