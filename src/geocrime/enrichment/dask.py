"""Scale-out on dask.distributed: the same per-chunk enrichment (:func:`geocrime.enrichment.core._enrich_frame`)
run per partition on a cluster, with the gazetteer and boundaries sent **once per worker**.

::

    from distributed import Client
    client = Client("tcp://scheduler:8786")          # or None: a LocalCluster is started
    enrich_file("in.csv", "out.parquet", gazetteer="/shared/london.gaz", layers=["ward_2022"],
                columns="address", engine="dask", client=client)
    ddf = enrich_dask(dask_df, gazetteer="/shared/london.gaz", boundaries=b, columns="address", client=client)

How the gazetteer and boundaries reach the workers: one small :class:`_WorkerContext` is
``client.scatter(..., broadcast=True)``-ed, so each worker process unpickles it once. Unpickling loads
the gazetteer **from its path on the worker** (``Gazetteer.load``; the path must be readable there — a
shared file system or the same path on every machine) or, for an in-memory gazetteer without a path,
uses the pickled object; the boundaries travel pickled. A per-process cache keyed by the run's
content hash makes a second unpickle in the same process a no-op; :data:`LOADS` counts real loads
per process (the tests assert one per worker however many partitions ran).

Workers must run the same geocrime version as the client (the run key includes it).
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, deque
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from .. import __version__
from ..errors import BackendUnavailableError, InputError
from ..gazetteer import Gazetteer
from .core import (
    PREFIX,
    EnrichContext,
    EnrichSettings,
    _check_input,
    _enrich_frame,
    _typed,
    added_columns,
    make_context,
)

__all__ = ["enrich_dask", "aggregate_dask", "get_client", "worker_loads", "LOADS"]

#: per-process count of context loads (gazetteer + boundaries), by run key
LOADS: Counter = Counter()
_CACHE: dict[str, EnrichContext] = {}


def _require() -> Any:
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - dask is a dependency
        raise BackendUnavailableError("dask.distributed is not installed: pip install 'dask[distributed]'") from e
    return distributed


def get_client(scheduler: str | None = None, workers: int | None = None, threads_per_worker: int = 1) -> tuple[Any, Callable[[], None]]:
    """A dask client for a scheduler, or for a new local cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address like ``tcp://host:8786``; default a new :class:`distributed.LocalCluster`.
    workers : int, optional
        Worker processes of the local cluster (default 2).
    threads_per_worker : int
        Threads per worker of the local cluster.

    Returns
    -------
    tuple
        ``(client, close)``: the :class:`distributed.Client` and a function that shuts it down.
    """
    distributed = _require()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except OSError as e:
            raise InputError(f"cannot reach the dask scheduler at {scheduler!r} ({e}); start one with "
                             "`dask scheduler` and workers with `dask worker ADDRESS`") from None
        return client, client.close
    cluster = distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=threads_per_worker, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return client, close


class _WorkerContext:
    """Picklable handle of an :class:`EnrichContext`; unpickling on a worker loads it (once per process)."""

    def __init__(self, key: str, settings: EnrichSettings, gazetteer_path: str | None, gazetteer: Any, boundaries: Any,
                 gazetteer_hash: str | None, boundaries_hash: dict[str, str]) -> None:
        self.key = key
        self.settings = settings
        self.gazetteer_path = gazetteer_path
        self.gazetteer = gazetteer
        self.boundaries = boundaries
        self.gazetteer_hash = gazetteer_hash
        self.boundaries_hash = boundaries_hash

    def __reduce__(self) -> Any:
        gaz = None if self.gazetteer_path else self.gazetteer
        return (_restore, (self.key, self.settings, self.gazetteer_path, gaz, self.boundaries,
                           self.gazetteer_hash, self.boundaries_hash))

    def context(self) -> EnrichContext:
        ctx = _CACHE.get(self.key)
        if ctx is None:
            gaz = self.gazetteer
            if gaz is None and self.gazetteer_path:
                gaz = Gazetteer.load(self.gazetteer_path)
            if self.boundaries is not None and self.settings.layers:
                self.boundaries.prepare(list(self.settings.layers))
            ctx = EnrichContext(self.settings, gaz, self.boundaries, self.gazetteer_hash, self.boundaries_hash)
            _CACHE[self.key] = ctx
            LOADS[self.key] += 1
        return ctx


def _restore(key: str, settings: EnrichSettings, gazetteer_path: str | None, gazetteer: Any, boundaries: Any,
             gazetteer_hash: str | None, boundaries_hash: dict[str, str]) -> _WorkerContext:
    w = _WorkerContext(key, settings, gazetteer_path, gazetteer, boundaries, gazetteer_hash, boundaries_hash)
    w.context()  # load now, once per process (the cache makes repeats free)
    return w


def _worker_context(ctx: EnrichContext, gazetteer_path: str | None) -> _WorkerContext:
    key = hashlib.sha256(json.dumps([asdict(ctx.settings), ctx.gazetteer_hash, ctx.boundaries_hash, __version__],
                                    sort_keys=True, default=str).encode()).hexdigest()
    return _WorkerContext(key, ctx.settings, gazetteer_path, ctx.gazetteer, ctx.boundaries, ctx.gazetteer_hash,
                          ctx.boundaries_hash)


def _enrich_task(df: pd.DataFrame, wctx: _WorkerContext) -> pd.DataFrame:
    return _enrich_frame(df, wctx.context(), added_only=True)


def _enrich_partition(df: pd.DataFrame, wctx: _WorkerContext) -> pd.DataFrame:
    return _enrich_frame(df, wctx.context())


def worker_loads(client: Any) -> dict[str, int]:
    """Context loads per worker address (sum over run keys): 1 each after a run, whatever the partitions.

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    dict of str to int
    """
    return client.run(_loads)


def _loads() -> int:
    return int(sum(LOADS.values()))


class DaskRunner:
    """Used by :func:`geocrime.enrichment.enrich_file` with ``engine="dask"``: chunks read by the client
    are scattered to the cluster, enriched there, and written (in order) by the client; at most
    ``2 x workers`` chunks are in flight, so client memory stays flat."""

    def __init__(self, ctx: EnrichContext, gazetteer_path: str | None, scheduler: str | None = None,
                 workers: int | None = None, client: Any = None, max_in_flight: int | None = None) -> None:
        self._close: Callable[[], None] = lambda: None
        if client is None:
            client, self._close = get_client(scheduler, workers)
        self.client = client
        try:
            nw = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
        except TypeError:  # older distributed
            nw = max(1, len(client.scheduler_info().get("workers", {})))
        self.max = max_in_flight or 2 * nw
        self.wctx = client.scatter(_worker_context(ctx, gazetteer_path), broadcast=True, hash=False)
        self.pending: deque = deque()

    def submit(self, i: int, df: pd.DataFrame, tbl: Any, part: Path, finish: Callable[..., None]) -> None:
        [fdf] = self.client.scatter([df], hash=False)
        fut = self.client.submit(_enrich_task, fdf, self.wctx, pure=False, key=f"geocrime-enrich-{part.stem}")
        self.pending.append((i, part, tbl, fut))
        while len(self.pending) >= self.max:
            self._pop(finish)

    def _pop(self, finish: Callable[..., None]) -> None:
        i, part, tbl, fut = self.pending.popleft()
        added = fut.result()
        fut.release()
        finish(i, part, tbl, added)

    def drain(self, finish: Callable[..., None]) -> None:
        while self.pending:
            self._pop(finish)

    def close(self) -> None:
        for *_, fut in self.pending:
            fut.cancel()
        self.pending.clear()
        try:
            self.wctx.release()
        except Exception:  # noqa: BLE001 - client may already be closing
            pass
        self._close()


def enrich_dask(
    ddf: Any,
    gazetteer: Any = None,
    boundaries: Any = None,
    layers: str | Sequence[str] | None = None,
    columns: str | Sequence[str] | None = None,
    *,
    client: Any = None,
    coords: Sequence[str] | None = None,
    crs: Any = None,
    backend: str = "rules",
    threshold: float | None = None,
    margin: float | None = None,
    prefix: str = PREFIX,
    within: str | Sequence[str] | None = None,
) -> Any:
    """Lazy :func:`geocrime.enrich` over a ``dask.dataframe.DataFrame``.

    ``map_partitions`` of the same chunk function as :func:`geocrime.enrich`, the context (gazetteer,
    boundaries, settings) broadcast once per worker.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The records.
    gazetteer : Gazetteer or path, optional
        A path is loaded on each worker from that path.
    boundaries, layers, columns, coords, crs, backend, threshold, margin, prefix
        As :func:`geocrime.enrich`.
    client : distributed.Client, optional
        Default: the current client.

    Returns
    -------
    dask.dataframe.DataFrame
        Input columns then the ``gc_*`` columns, partitions and order kept.
    """
    import dask.dataframe as dd

    _require()
    if not isinstance(ddf, dd.DataFrame):
        raise InputError(f"enrich_dask expects a dask DataFrame, got {type(ddf).__name__}")
    if client is None:
        from distributed import get_client as _gc

        try:
            client = _gc()
        except ValueError:
            raise InputError("no dask client: pass client= (see geocrime.distributed.get_client)") from None
    ctx = make_context(gazetteer, boundaries, layers, columns, coords, crs, backend, threshold, margin, prefix,
                       within=within)
    _check_input(ddf.columns, ctx.settings, "input dask DataFrame")
    gpath = str(Path(gazetteer).resolve()) if isinstance(gazetteer, (str, Path)) else None
    wctx = client.scatter(_worker_context(ctx, gpath), broadcast=True, hash=False)
    meta = ddf._meta.copy()
    for k, t in added_columns(ctx.settings).items():
        meta[k] = pd.Series(_typed([], t), index=meta.index[:0])
    return ddf.map_partitions(_enrich_partition, wctx, meta=meta)


def aggregate_dask(ddf: Any, by: Sequence[str], *, areas: Any = None, periods: Sequence[str] | None = None,
                   crime_types: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts per ``by`` combination over a dask DataFrame.

    :func:`geocrime.analysis.aggregate` runs per partition (with fixed universes, so every partition
    yields the same rows) and the ``count`` columns are summed.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Enriched records.
    by : list of str
        Grouping columns, as :func:`geocrime.analysis.aggregate`.
    areas, periods, crime_types : optional
        The universes; ``periods`` and, for area columns, ``areas`` are required (a partition cannot
        know the universe).

    Returns
    -------
    DataFrame
        What ``aggregate(ddf.compute(), by, change=False, ...)`` returns for the ``by`` and ``count``
        columns.
    """
    from ..analysis import aggregate  # heavy (scipy, libpysal): only when this runs

    if periods is None and any(b in ("month",) for b in by):
        raise InputError("aggregate_dask needs periods= (the month universe) so partitions align")
    kw = dict(areas=areas, periods=periods, crime_types=crime_types, change=False)

    def part(df: pd.DataFrame) -> pd.DataFrame:
        t = aggregate(df, list(by), **kw)
        return t[list(by) + ["count"]]

    import dask

    delayed_parts = [dask.delayed(part)(p) for p in ddf.to_delayed()]
    tables = dask.compute(*delayed_parts)
    out = pd.concat(tables, ignore_index=True).groupby(list(by), sort=True, dropna=False)["count"].sum().reset_index()
    return out
