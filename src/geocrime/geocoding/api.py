"""The public geocoding functions: :func:`geocode` (batch, multi-process), :func:`geocode_one`, :func:`reverse`.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import os
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from .._geo import BNG
from ..errors import GazetteerError, InputError
from . import compare as _scoring
from .area_confidence import _area_tables, _gaz_texts
from .places import within_test
from .inputs import OUTPUT_COLUMNS, _parse, _texts
from .match import _match
from .params import DEFAULT_MARGIN, DEFAULT_THRESHOLD

# ---------------------------------------------------------------------------------------- workers
_WORKER: dict[str, Any] = {}
#: free the allocators' unused pages before forking workers (switched off only by the A/B benchmark)
_RELEASE_BEFORE_FORK = True
#: ... in the forked workers at their start rather than in this process before the fork
_RELEASE_IN_WORKERS = True


def _release_before_fork() -> None:
    """Hand the allocators' free pages back to the OS: in each forked worker at its start (or, with
    ``_RELEASE_IN_WORKERS`` off, in this process just before forking the workers).

    A forked worker that reuses a free page the parent still maps pays a copy-on-write fault (a 4 KiB
    copy) instead of a cheap zero-page fault. After heavy work in the parent (a geocode run, a
    gazetteer build) its glibc heap and pyarrow's memory pool hold many such pages: measured with
    ``/proc/self/smaps``, a worker's first chunk copied ~30 MB of pyarrow's arena and ~20 MB of heap.
    Measured by ``benchmarks/bench_fork_release.py`` (2 processes after a 1-process run): median
    3-8% faster in two runs of 8 and 12 trials; noisy on a shared machine.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` through ctypes (looked up once), or None without glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:  # no C library to load: nothing to trim
        return None
    return getattr(libc, "malloc_trim", None)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the block (re-enabled after it, if it was on).

    A chunk allocates millions of short-lived containers (pandas and pyarrow wrappers) that
    reference counting frees; the collector's passes over them and over every live object (the
    gazetteer's tables: in a forked worker each pass also copies the pages it touches) find almost
    nothing: measured on the benchmark queries, 186 unreachable objects left by a chunk of 50,000
    texts, and 0.045-0.051 s of the chunk's ~3.1 s CPU in the passes (``gc.callbacks``, 1 process)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _work(args: tuple[Any, Any, str, float, float, bool]) -> pd.DataFrame:
    """Parse and match one chunk (its texts are distinct already: :func:`geocode` geocodes each
    distinct text once), with the garbage collector paused (:func:`_gc_paused`)."""
    texts, comp, backend, threshold, margin, use_b = args
    bounds = _WORKER["boundaries"] if use_b else None
    with _gc_paused():
        parsed = _parse(texts, comp, backend)
        return _match(parsed, _WORKER["gaz"], threshold, margin, bounds, inside=_WORKER.get("inside"),
                      within_test=_WORKER.get("within_test"))[0]


def _prepare(gazetteer: Any, boundaries: Any, within: Any) -> Any:
    """Everything the workers share, computed once before any fork: area tables, entry texts, the
    blocking lookup table, entry boroughs, the street rows and street points (and scipy.spatial,
    imported here: a forked worker would otherwise import it and build the points on every call);
    returns the entry mask of ``within`` (a :class:`~geocrime.geocoding.places.WithinTest` or None)."""
    from scipy.spatial import cKDTree  # noqa: F401  (the junction rung's; imported once, not per worker)

    from .ladder import (_district_at, _numbered_premises, _street_district_keys, _street_names, _street_points,
                         _street_table, borough_points, warm_joins)
    from .places import _core_tables, entry_bits

    if boundaries is not None:
        _area_tables(gazetteer, boundaries)
    _gaz_texts(gazetteer)
    gazetteer.index.distinct()
    entry_bits(gazetteer)
    _street_table(gazetteer)
    _street_names(gazetteer)  # spaceless and one-letter-off street names
    _street_points(gazetteer)  # the junction rung's street points
    _numbered_premises(gazetteer)
    _district_at(np.zeros(0), np.zeros(0), gazetteer)  # the postcode-unit tree of locality cores
    gazetteer.street_points(np.zeros(0, np.int64))  # the member index of street rows
    _street_district_keys(gazetteer)  # the postcode districts each street reaches
    warm_joins(gazetteer)  # the hashed keys of the street and premises tables queries are joined with
    _core_tables()
    borough_points()
    return None if within is None else within.entries(gazetteer)


def _advance(bar: Any, results: list[pd.DataFrame], n_work: int, n: int) -> None:
    """Move the progress bar to the input rows covered by ``results`` (whole records: the work may be
    the distinct texts only, broadcast to ``n`` rows at the end)."""
    if bar is not None:
        done = sum(len(r) for r in results)
        bar.update(round(done * n / max(n_work, 1)) - bar.n)


def geocode(
    df: pd.DataFrame | pd.Series | Sequence[Any],
    gazetteer: Any,
    columns: str | Sequence[str] | Mapping[str, str] | None = None,
    boundaries: Any = None,
    backend: str = "rules",
    threshold: float = DEFAULT_THRESHOLD,
    margin: float = DEFAULT_MARGIN,
    n_jobs: int = 1,
    chunk_size: int = 50_000,
    progress: bool = False,
    within: Any = None,
    candidates: bool = False,
) -> "Any":
    """Geocode every row of ``df`` against ``gazetteer``.

    ``columns``: the free-text address column (str), several columns joined in order (list), or a
    mapping component -> column (``{"house_number": "num", "street": "road", "postcode": "pc"}``,
    used without parsing). ``boundaries``: a :class:`geocrime.areas.Boundaries` (or mapping
    ``{"ward": gdf, "lsoa": gdf}``) to add ``ward_code``/``ward_confidence``/``lsoa_code``/
    ``lsoa_confidence``. ``backend``: address parser (``rules``, ``libpostal``, ``auto``).
    ``n_jobs``: worker processes (fork; 1 = in process; -1 = all cores). ``within``: the caller's
    area — ONS borough codes (``"E09000022"`` or a list) or a polygon (shapely / GeoSeries /
    GeoDataFrame, EPSG:27700): nothing outside it is ever returned (a candidate outside is a
    ``PLACE.conflict``). ``candidates=True`` adds a ``candidates`` column: for every row that was not
    placed at premises or street, the distinct street/premises entries it could be (see
    :func:`candidate_lists`).

    Returns a GeoDataFrame (EPSG:27700, point geometry, empty where ``match_level`` is ``none``):
    the input columns (a Series/list input becomes column ``address``) followed by
    :data:`OUTPUT_COLUMNS`. Rows in = rows out, same index, same order; nothing raises for a bad row.
    """
    _check_arguments(gazetteer, backend)
    texts, comp, index = _texts(df, columns)
    base = _input_frame(df, texts, index)
    wtest = within_test(within)
    inside = _prepare(gazetteer, boundaries, wtest)  # before any fork
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    texts, codes = _distinct_texts(texts, len(index))  # police data repeats a lot: each text once
    chunks = _chunks(texts, comp, len(index), n_jobs, chunk_size,
                     (backend, float(threshold), float(margin), boundaries is not None))
    _WORKER["gaz"], _WORKER["boundaries"], _WORKER["inside"] = gazetteer, boundaries, inside
    _WORKER["within_test"] = wtest
    results = _run_chunks(chunks, n_jobs, backend, len(index) if progress else None)
    out = _assemble(base, results, codes, index)
    if candidates:
        out["candidates"] = candidate_lists(texts if codes is None else texts.iloc[codes].set_axis(index), out, gazetteer,
                                            backend, inside)
    return _with_points(out)


def _check_arguments(gazetteer: Any, backend: str) -> None:
    """Raise for a gazetteer that is not a :class:`~geocrime.gazetteer.Gazetteer` or an unknown backend."""
    from ..gazetteer import Gazetteer

    if not isinstance(gazetteer, Gazetteer):
        raise GazetteerError(f"gazetteer must be a geocrime Gazetteer (got {type(gazetteer).__name__}); "
                             "load one with Gazetteer.load(path)")
    if backend not in ("rules", "libpostal", "auto"):
        raise InputError(f"backend must be 'rules', 'libpostal' or 'auto', not {backend!r}")


def _input_frame(df: Any, texts: pd.Series | None, index: pd.Index) -> pd.DataFrame:
    """The input columns of the output: a copy of a DataFrame input, else one column ``address``."""
    if isinstance(df, pd.DataFrame):
        return df.copy()
    return pd.DataFrame({"address": pd.Series(pd.Series(texts).to_numpy(dtype=object), index=index, dtype=object)})


def _distinct_texts(texts: pd.Series | None, n: int) -> tuple[pd.Series | None, np.ndarray | None]:
    """(the distinct free texts, each row's position among them), or (``texts``, None) when every
    text is distinct, the values are unhashable or there are no free texts."""
    if texts is None or n <= 1:
        return texts, None
    try:
        codes, uniq = pd.factorize(texts.astype(object), use_na_sentinel=False)
    except TypeError:  # unhashable values: geocode every row
        return texts, None
    if len(uniq) < n:
        return pd.Series(np.asarray(uniq, dtype=object), dtype=object), codes
    return texts, None


def _chunks(texts: pd.Series | None, comp: pd.DataFrame | None, n: int, n_jobs: int, chunk_size: int,
            settings: tuple[str, float, float, bool]) -> list[tuple[Any, ...]]:
    """The work items: slices of the texts (or components) of at most ``chunk_size`` rows with the
    matcher settings. With several workers, one chunk per worker (when ``chunk_size`` allows): the
    work done once per distinct value inside a chunk (street names, postcodes, similarities) serves
    more rows in a larger chunk, and a chunk has fixed costs (measured on the benchmark queries: four
    chunks of 12,500 texts take 1.4x the CPU of one of 50,000)."""
    n_work = len(texts) if texts is not None else n
    if n_jobs > 1 and n_work > 2 * 2_000:
        chunk_size = min(chunk_size, -(-n_work // n_jobs))  # one chunk per worker
    out = []
    for b in list(range(0, n_work, chunk_size)) or [0]:
        t = texts.iloc[b:b + chunk_size] if texts is not None else None
        c = comp.iloc[b:b + chunk_size] if comp is not None else None
        out.append((t, c, *settings))
    return out


def _run_chunks(chunks: list[tuple[Any, ...]], n_jobs: int, backend: str, progress_n: int | None) -> list[pd.DataFrame]:
    """Each chunk through :func:`_work`: in this process, or in ``n_jobs`` forked workers that share
    what :func:`_prepare` built. ``progress_n``: the number of input rows for a progress bar (None: no bar)."""
    n_work = sum(len(ch[0]) if ch[0] is not None else (len(ch[1]) if ch[1] is not None else 0) for ch in chunks)
    bar = None
    if progress_n is not None:
        from tqdm import tqdm

        bar = tqdm(total=progress_n, unit="rec", desc="geocode", file=__import__("sys").stderr)
    results: list[pd.DataFrame] = []
    try:
        if n_jobs > 1 and len(chunks) > 1:
            _run_forked(chunks, n_jobs, backend, results, lambda: _advance(bar, results, n_work, progress_n or 0))
        else:
            for ch in chunks:
                results.append(_work(ch))
                _advance(bar, results, n_work, progress_n or 0)
    finally:
        if bar is not None:
            bar.close()
    return results


def _run_forked(chunks: list[tuple[Any, ...]], n_jobs: int, backend: str, results: list[pd.DataFrame],
                advance: Any) -> None:
    """The chunks in ``n_jobs`` processes: this one and ``n_jobs - 1`` forked workers, each taking
    the next chunk when it is free (this process's results need no pickling, and it has no process
    to start); ``results`` are appended in chunk order. The workers are not waited for after their
    last result (the operating system frees their memory meanwhile)."""
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    _load_parser_before_fork(backend)
    # the workers hand their inherited free pages back at start (see _release_before_fork): they
    # reuse none of them without a copy, while this process keeps its own for its chunks (a page the
    # workers no longer map is written again without a copy)
    init = _release_before_fork if _RELEASE_BEFORE_FORK and _RELEASE_IN_WORKERS else None
    if _RELEASE_BEFORE_FORK and not _RELEASE_IN_WORKERS:
        _release_before_fork()
    n_workers = min(n_jobs - 1, len(chunks) - 1)
    done: dict[int, pd.DataFrame] = {}
    pending = deque(range(len(chunks)))
    running: dict[Any, int] = {}
    ex = ProcessPoolExecutor(max_workers=n_workers, mp_context=mp.get_context("fork"), initializer=init)
    try:
        while pending or running:
            while pending and len(running) < n_workers:  # the workers fork at the first submit
                i = pending.popleft()
                running[ex.submit(_work, chunks[i])] = i
            if pending:
                i = pending.pop()
                done[i] = _work(chunks[i])
            else:
                wait(list(running), return_when=FIRST_COMPLETED)
            for f in [f for f in running if f.done()]:
                done[running.pop(f)] = f.result()
            results[:] = [done[i] for i in sorted(done)]
            advance()
        results[:] = [done[i] for i in range(len(chunks))]
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def _load_parser_before_fork(backend: str) -> None:
    """libpostal's model loaded once in the parent (the workers share it) when the backend may use it."""
    if backend in ("libpostal", "auto"):
        from ..address import backend_available
        from ..address import libpostal as _lp

        if backend == "libpostal" or backend_available():
            _lp.load()


def _assemble(base: pd.DataFrame, results: list[pd.DataFrame], codes: np.ndarray | None, index: pd.Index) -> pd.DataFrame:
    """The input columns followed by :data:`OUTPUT_COLUMNS`, one row per input row (the distinct
    texts' results broadcast back by ``codes``)."""
    res = pd.concat(results) if results else pd.DataFrame(columns=list(OUTPUT_COLUMNS))
    if codes is not None:
        res = res.iloc[codes]
    res.index = index
    for c in OUTPUT_COLUMNS:
        if c not in res:
            res[c] = None
    base = base.drop(columns=[c for c in OUTPUT_COLUMNS if c in base.columns] + (["geometry"] if "geometry" in base.columns else []))
    return pd.concat([base, res[list(OUTPUT_COLUMNS)]], axis=1)


def _with_points(out: pd.DataFrame) -> Any:
    """``out`` as a GeoDataFrame with a point per row from x/y (EPSG:27700; empty where x is missing)."""
    import geopandas as gpd

    geom = gpd.points_from_xy(out["x"].to_numpy(float), out["y"].to_numpy(float), crs=BNG)
    geom[~np.isfinite(out["x"].to_numpy(float))] = None
    return gpd.GeoDataFrame(out, geometry=geom, crs=BNG)


def candidate_lists(texts: pd.Series | None, out: pd.DataFrame, gazetteer: Any, backend: str = "rules",
                    inside: Any = None, top: int = 10) -> pd.Series:
    """For rows not placed at premises or street: the street entries of the same name (within the
    named places) and the premises candidates it could be, as a list of dicts ``{gazetteer_id,
    address, level, x, y}`` (EPSG:27700), at most ``top``; None for the other rows."""
    from .ladder import _street_table
    from .places import query_places

    res = pd.Series([None] * len(out), index=out.index, dtype=object)
    if texts is None:
        return res
    want = ~out["match_level"].isin(["premises", "street"]).to_numpy() & out["reason"].notna().to_numpy()
    if not want.any():
        return res
    sub = texts[want]
    parsed = _parse(pd.Series(sub.to_numpy(dtype=object), dtype=object), None, backend)
    from ..gazetteer.keys import canonical_components

    qc = canonical_components(parsed).reset_index(drop=True)
    mask = query_places(parsed)["mask"]
    st = _street_table(gazetteer)
    grp = st.groupby("key")["row"].apply(np.asarray) if len(st) else pd.Series(dtype=object)
    cand_ids = out["candidate_id"].to_numpy()[want]
    lists = []
    for i, key in enumerate(qc["street"].to_numpy(dtype=object)):
        rows = list(grp.get(key, np.zeros(0, np.int64))) if key else []
        if mask[i] != 0:
            from .places import entry_bits

            eb = entry_bits(gazetteer)
            rows = [r for r in rows if eb[r] & mask[i]]
        if inside is not None:
            rows = [r for r in rows if inside[r]]
        if cand_ids[i] >= 0:
            rows = [int(np.flatnonzero(gazetteer.ids == cand_ids[i])[0])] + rows
        lists.append([{"gazetteer_id": int(gazetteer.ids[r]), "address": gazetteer.canonical[r],
                       "level": str(gazetteer.level[r]), "x": float(gazetteer.x[r]), "y": float(gazetteer.y[r])}
                      for r in rows[:top]] or None)
    res[want] = pd.Series(lists, index=res.index[want], dtype=object)
    return res


def geocode_one(text: Any, gazetteer: Any, boundaries: Any = None, backend: str = "rules",
                threshold: float = DEFAULT_THRESHOLD, margin: float = DEFAULT_MARGIN, top: int = 5,
                within: Any = None) -> dict[str, Any]:
    """Geocode one address string, for interactive use: a dict of :data:`OUTPUT_COLUMNS` plus
    ``parsed`` (the address components) and ``candidates`` (the ``top`` best entries with their
    score, faults and per-family weights — the explanation of the decision)."""
    from ..gazetteer import Gazetteer

    if not isinstance(gazetteer, Gazetteer):
        raise GazetteerError("gazetteer must be a geocrime Gazetteer; load one with Gazetteer.load(path)")
    if text is not None and not isinstance(text, (str, bytes)):
        text = None if isinstance(text, float) and np.isnan(text) else text
    parsed = _parse(pd.Series([text], dtype=object), None, backend)
    wtest = within_test(within)
    inside = _prepare(gazetteer, None, wtest)
    out, extra = _match(parsed, gazetteer, threshold, margin, boundaries, keep_pairs=True, inside=inside,
                        within_test=wtest)
    res = {k: (None if (isinstance(v, float) and np.isnan(v)) else (v.item() if hasattr(v, "item") else v))
           for k, v in out.iloc[0].items()}
    res["parsed"] = {k: (None if pd.isna(v) else v) for k, v in parsed.iloc[0].items()}
    cands = []
    if extra is not None and len(extra["qi"]):
        order = np.argsort(-extra["score"], kind="stable")[:top]
        faults = _scoring.fault_strings(extra["codes"], order)
        for j, p in enumerate(order):
            g = int(extra["gi"][p])
            cands.append({
                "gazetteer_id": int(gazetteer.ids[g]), "address": gazetteer.canonical[g], "score": float(extra["score"][p]),
                "faults": faults[j], "x": float(gazetteer.x[g]), "y": float(gazetteer.y[g]),
                "weights": {fam: float(_scoring.WEIGHTS[fam][c[p]]) for fam, c in extra["codes"].items()},
                "levels": {fam: _scoring.LEVELS[fam][c[p]] for fam, c in extra["codes"].items()},
            })
    res["candidates"] = cands
    return res


def reverse(points: Any, gazetteer: Any, max_distance: float | None = None) -> "Any":
    """Nearest premises and nearest street to each point.

    ``points``: a GeoDataFrame, or a DataFrame with lon/lat or easting/northing columns (see
    :func:`geocrime._geo.as_points`). Adds ``address``, ``address_id``, ``address_distance_m``,
    ``street``, ``street_distance_m`` (metres, EPSG:27700) and ``reverse_status`` (``ok``,
    ``too_far`` when beyond ``max_distance`` metres, or the point's location status); every row is kept.
    """
    from .._geo import as_points

    gdf, pstatus = as_points(points)
    x = gdf.geometry.x.to_numpy(float) if len(gdf) else np.zeros(0)
    y = gdf.geometry.y.to_numpy(float) if len(gdf) else np.zeros(0)
    okp = np.isfinite(x) & np.isfinite(y) & (pstatus.astype("str").to_numpy() == "ok")
    n = len(gdf)
    out = gdf.copy()
    addr = np.full(n, None, dtype=object)
    aid = np.full(n, -1, dtype=np.int64)
    ad = np.full(n, np.nan)
    street = np.full(n, None, dtype=object)
    sd = np.full(n, np.nan)
    t = gazetteer.table
    if okp.any():
        r, d = gazetteer.nearest(x[okp], y[okp], ("premises",))
        addr[okp] = gazetteer.canonical[r]
        aid[okp] = gazetteer.ids[r]
        ad[okp] = d
        lv = [lv for lv in ("street_point", "street") if (gazetteer.level == lv).any()]
        if lv:
            r2, d2 = gazetteer.nearest(x[okp], y[okp], tuple(lv))
            street[okp] = t["street"].to_numpy(dtype=object)[r2]
            sd[okp] = d2
    status = np.where(okp, "ok", pstatus.astype("str").to_numpy())
    if max_distance is not None:
        far = okp & (ad > max_distance)
        status = np.where(far, "too_far", status)
        addr[far] = None
        aid[far] = -1
    out["address"] = addr
    out["address_id"] = aid
    out["address_distance_m"] = ad
    out["street"] = street
    out["street_distance_m"] = sd
    out["reverse_status"] = status
    return out

