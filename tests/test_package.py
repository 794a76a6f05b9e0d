import subprocess
import sys

import pandas as pd
import pytest

import geocrime
from geocrime import _geo
from geocrime.errors import CRSError, GeocrimeError, InputError, MissingColumnsError


def test_version_and_lazy_exports():
    assert geocrime.__version__
    with pytest.raises(AttributeError):
        geocrime.no_such_thing  # noqa: B018


def test_cli_help_runs():
    out = subprocess.run([sys.executable, "-m", "geocrime", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "geocrime" in out.stdout


def test_as_points_lonlat_flags_every_bad_row():
    df = pd.DataFrame(
        {
            "Longitude": [-0.1, None, 0.0, 51.5, 500.0, float("inf")],
            "Latitude": [51.5, 51.5, 0.0, -0.1, 1.0, 1.0],
        }
    )
    pts, status = _geo.as_points(df)
    assert len(pts) == len(df) and list(pts.index) == list(df.index)
    assert list(status) == ["ok", "no_location", "outside_gb", "outside_gb", "invalid_coordinates", "invalid_coordinates"]
    assert pts.crs.to_epsg() == 27700
    x, y = pts.geometry.iloc[0].x, pts.geometry.iloc[0].y
    assert 525_000 < x < 535_000 and 175_000 < y < 185_000


def test_as_points_crsless_geometry_is_refused():
    import geopandas as gpd
    from shapely.geometry import Point

    g = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(530000, 180000)])
    with pytest.raises(CRSError, match="no CRS"):
        _geo.as_points(g)
    pts, status = _geo.as_points(g, crs="EPSG:27700")
    assert status.iloc[0] == "ok"


def test_errors_are_specific():
    with pytest.raises(MissingColumnsError) as ei:
        _geo.require_columns(pd.DataFrame({"a": [1]}), ["Location"])
    assert "Location" in str(ei.value) and isinstance(ei.value, GeocrimeError)
    with pytest.raises(InputError):
        _geo.as_points(pd.DataFrame({"a": [1]}))


def test_import_geocrime_is_cheap():
    """``import geocrime`` loads no heavy dependency and none of the stages (names resolve lazily);
    importing the areas stage does not pull in scipy or rtree (only a grid build or the benchmark do)."""
    code = (
        "import sys, geocrime; heavy = {'pandas', 'geopandas', 'shapely', 'scipy', 'pyarrow', 'folium', 'sklearn'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('geocrime.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    code = "import sys, geocrime.areas; print(sorted(m for m in ('scipy', 'rtree', 'folium', 'dask') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    assert geocrime.Boundaries.__module__ == "geocrime.areas._assign"  # and the lazy export resolves


def test_every_warning_class_lives_in_errors_and_keeps_its_old_import_path():
    import geocrime.errors as errors
    from geocrime.analysis import AnalysisWarning
    from geocrime.areas import BoundaryWarning
    from geocrime.io import EncodingWarning

    assert {AnalysisWarning, BoundaryWarning, EncodingWarning} <= {getattr(errors, n) for n in errors.__all__}
    for w in (AnalysisWarning, BoundaryWarning, EncodingWarning, errors.PublishWarning):
        assert w.__module__ == "geocrime.errors" and issubclass(w, errors.GeocrimeWarning)
