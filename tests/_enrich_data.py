"""Real data for the enrich / distributed tests (helper module, not collected).

A gazetteer built from the FSA FHRS London file (saved to a temporary directory once per process),
ward 2022 and LSOA 2021 boundaries from the shared data folder, and seeded messy queries made from
the same premises by :func:`geocrime.geocoding.querygen.make_queries` (with placeholders and blanks added).
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd

WARDS = ("london_wards_2022_ons/london_wards_2022_E09only.gpkg", "ward_2022", "WD22CD")
LSOAS = ("london_lsoa_2021_ons/london-2021-lsoa-gen20.shp", "lsoa_2021", "LSOA21CD")


@lru_cache(maxsize=1)
def fhrs_source(data: Path) -> pd.DataFrame:
    from geocrime.gazetteer import read_fhrs

    return read_fhrs(data / "fhrs_london_dev" / "fhrs_london_16la_2020-11-15.csv")


@lru_cache(maxsize=1)
def gazetteer_dir(data: Path) -> Path:
    from geocrime.gazetteer import Gazetteer

    top = tempfile.mkdtemp(prefix="gc-enrich-gaz-")
    atexit.register(shutil.rmtree, top, ignore_errors=True)  # the session's copy, not left in /tmp
    d = Path(top) / "fhrs.gaz"
    Gazetteer.from_sources([fhrs_source(data)]).save(d)
    return d


@lru_cache(maxsize=1)
def gazetteer(data: Path):
    from geocrime.gazetteer import Gazetteer

    return Gazetteer.load(gazetteer_dir(data))


@lru_cache(maxsize=2)
def boundaries(data: Path, with_lsoa: bool = True):
    from geocrime.areas import Boundaries

    layers = [WARDS, LSOAS] if with_lsoa else [WARDS]
    b = Boundaries.from_files([{"source": str(data / f), "name": n, "code": c} for f, n, c in layers])
    return b.prepare()


def boundary_args(data: Path, with_lsoa: bool = False) -> list[str]:
    """``--boundary-file`` arguments for the CLI."""
    layers = [WARDS, LSOAS] if with_lsoa else [WARDS]
    out = []
    for f, n, c in layers:
        out += ["--boundary-file", f"{n}={data / f}:{c}"]
    return out


@lru_cache(maxsize=4)
def queries(data: Path, n: int = 1500, seed: int = 7) -> pd.DataFrame:
    """``incident_id``, ``address`` (messy text), ``truth_id``; rows 3..5 are a placeholder, a blank and
    a missing address."""
    from geocrime.geocoding.querygen import make_queries

    q = make_queries(fhrs_source(data), gazetteer(data), n=n, seed=seed)
    out = pd.DataFrame({"incident_id": [f"INC{i:07d}" for i in range(len(q))], "address": q["query"].astype(object),
                        "truth_id": q["truth_id"].to_numpy()})
    out.loc[3, "address"] = "NFA"
    out.loc[4, "address"] = "   "
    out.loc[5, "address"] = None
    return out


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path
