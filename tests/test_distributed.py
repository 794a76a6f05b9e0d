"""Scale-out on a real dask LocalCluster (scheduler + 2 worker processes): same output as one process,
row for row (byte for byte for files), and the gazetteer/boundaries loaded once per worker however
many partitions run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import _enrich_data as ed
from geocrime.enrichment.dask import aggregate_dask, enrich_dask, worker_loads
from geocrime.enrichment import enrich, enrich_file


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_dask_engine_file_is_byte_identical_and_loads_once_per_worker(shared_data: Path, client, tmp_path: Path) -> None:
    q = ed.queries(shared_data)
    src = ed.write_csv(q, tmp_path / "q.csv")
    kw = dict(gazetteer=ed.gazetteer_dir(shared_data), boundaries=ed.boundaries(shared_data, False), columns="address",
              chunksize=250, progress=False)
    local = enrich_file(src, tmp_path / "local.csv", **kw)
    before = worker_loads(client)
    dist = enrich_file(src, tmp_path / "dask.csv", engine="dask", client=client, **kw)
    after = worker_loads(client)
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert dist["rows_out"] == local["rows_out"] == len(q) and dist["chunks"] == 6
    assert dist["counts"] == local["counts"]
    # 6 partitions on 2 workers: the context (gazetteer from its path + boundaries) was loaded exactly
    # once in each worker process, not once per partition
    assert len(after) == 2
    assert {w: after[w] - before.get(w, 0) for w in after} == {w: 1 for w in after}
    # a second run with the same settings reuses the workers' cache: no new loads
    enrich_file(src, tmp_path / "dask2.csv", engine="dask", client=client, **kw)
    assert worker_loads(client) == after
    # every task ran on the cluster, both workers took part
    assert (tmp_path / "dask2.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_enrich_dask_map_partitions_equals_in_memory(shared_data: Path, client) -> None:
    import dask.dataframe as dd

    q = ed.queries(shared_data).head(800)
    b = ed.boundaries(shared_data, False)
    ref = enrich(q, gazetteer=ed.gazetteer(shared_data), boundaries=b, columns="address")
    ddf = dd.from_pandas(q, npartitions=4)
    got = enrich_dask(ddf, gazetteer=ed.gazetteer_dir(shared_data), boundaries=b, columns="address", client=client)
    assert list(got.columns) == list(ref.columns)
    out = got.compute()
    assert out.index.equals(ref.index)
    for c in ref.columns:
        a, e = out[c], ref[c]
        if pd.api.types.is_float_dtype(e):
            np.testing.assert_allclose(a.to_numpy(float), e.to_numpy(float), rtol=1e-12, equal_nan=True, err_msg=c)
        else:
            assert (a.astype(object).where(a.notna(), "<NA>").astype(str).to_numpy()
                    == e.astype(object).where(e.notna(), "<NA>").astype(str).to_numpy()).all(), c


def test_aggregate_dask_equals_aggregate(shared_data: Path, city_files: list[Path], client) -> None:
    """Enrich police.uk rows (coordinates present) on the cluster, then aggregate per partition + combine."""
    import dask.dataframe as dd

    from geocrime.analysis import aggregate

    b = ed.boundaries(shared_data, False)
    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in city_files[:4]], ignore_index=True)
    ddf = dd.from_pandas(raw, npartitions=3)
    enr = enrich_dask(ddf, boundaries=b, coords=("Longitude", "Latitude"), client=client)
    located = enr[enr["gc_area_status"] == "ok"].rename(columns={"gc_ward_2022": "ward_2022"})
    months = sorted(raw["Month"].unique())
    wards = b.layer("ward_2022")
    got = aggregate_dask(located, ["ward_2022", "month"], areas=wards, periods=months)
    whole = located.compute()
    ref = aggregate(whole, ["ward_2022", "month"], areas=wards, periods=months, change=False)
    ref = ref[["ward_2022", "month", "count"]].sort_values(["ward_2022", "month"]).reset_index(drop=True)
    assert len(got) == len(wards) * len(months) == len(ref)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), ref, check_dtype=False)
    assert got["count"].sum() == len(whole) > 0
