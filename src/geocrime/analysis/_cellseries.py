"""Shared machinery of the learned predictors: events binned per cell and per period before ``t_end``,
Gaussian smoothing on square and hexagonal grids, and the internal grid a predictor learns on.

**Time.** Events are placed in time as :func:`geocrime.analysis._common.event_days` does: the exact
``date`` when there is one, otherwise the MIDDLE of the police.uk month. Periods are counted back
from ``t_end`` in steps of ``period_days`` (default 30.4375 days, the mean calendar month): period 0
holds events 0 to 30.4 days before ``t_end``, period 1 the next 30.4 days, and so on. With police.uk
months and ``t_end`` the first day of the test month, period k is exactly the k-th calendar month
before the test month (mid-month events sit 14-16 days into their period, never on a boundary).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import ndimage, sparse
from scipy.spatial import cKDTree

from .grids import HexGrid, SquareGrid

__all__ = ["MONTH_DAYS", "period_of", "lagged_counts", "smooth", "internal_grid", "one_thread"]

#: the mean length of a calendar month in days (365.25 / 12)
MONTH_DAYS = 365.25 / 12


def period_of(t: np.ndarray, t_end: float, period_days: float = MONTH_DAYS) -> np.ndarray:
    """Period index of event times ``t`` (days) before ``t_end``: 0 = the most recent period; -1 for
    events at or after ``t_end`` (never used)."""
    age = t_end - np.asarray(t, dtype="float64")
    k = np.floor(age / period_days)
    return np.where(age > 0, k, -1).astype(np.int64)


def lagged_counts(grid: SquareGrid | HexGrid, x: np.ndarray, y: np.ndarray, k: np.ndarray, n_periods: int,
                  weights: np.ndarray | None = None) -> np.ndarray:
    """(n_periods, n_cells) counts (or summed weights): row j = events of period j before ``t_end``
    (row 0 the most recent). Events off the grid or outside the periods are left out."""
    cid = grid.cell_of(x, y)
    ok = (cid >= 0) & (k >= 0) & (k < n_periods)
    flat = k[ok] * grid.n_cells + cid[ok]
    w = None if weights is None else np.asarray(weights, dtype="float64")[ok]
    out = np.bincount(flat, weights=w, minlength=n_periods * grid.n_cells).astype("float64")
    return out.reshape(n_periods, grid.n_cells)


def smooth(values: np.ndarray, grid: SquareGrid | HexGrid, sigma: float) -> np.ndarray:
    """Gaussian smoothing (standard deviation ``sigma`` metres, truncated at 3 sigma) of per-cell values
    (last axis = cells). Mass-preserving away from the grid edge; ``sigma`` 0 returns a copy."""
    values = np.asarray(values, dtype="float64")
    if sigma <= 0:
        return values.copy()
    if isinstance(grid, SquareGrid):
        s = float(sigma) / grid.size
        lead = values.shape[:-1]
        a = values.reshape(lead + grid.shape)
        sig = (0.0,) * len(lead) + (s, s)
        out = ndimage.gaussian_filter(a, sig, mode="constant", truncate=3.0)
        return out.reshape(values.shape)
    m = _hex_smoother(grid.x0, grid.y0, grid.size, grid.nx, grid.ny, float(sigma))
    return np.asarray((m @ values.reshape(-1, grid.n_cells).T).T).reshape(values.shape)


@lru_cache(maxsize=8)
def _hex_smoother(x0: float, y0: float, size: float, nx: int, ny: int, sigma: float) -> sparse.csr_matrix:
    g = HexGrid(x0, y0, size, nx, ny)
    cx, cy = g.centres()
    tree = cKDTree(np.c_[cx, cy])
    pairs = tree.sparse_distance_matrix(tree, 3.0 * sigma, output_type="ndarray")
    w = np.exp(-0.5 * (pairs["v"] / sigma) ** 2)
    m = sparse.csr_matrix((w, (pairs["i"], pairs["j"])), shape=(g.n_cells, g.n_cells))
    # normalise by the kernel mass of an interior cell so the smoothing preserves mass
    centre = int(np.argmin(np.hypot(cx - cx.mean(), cy - cy.mean())))
    return m / max(float(m[centre].sum()), 1e-12)


def internal_grid(x: np.ndarray, y: np.ndarray, cell_size: float, margin: float) -> SquareGrid:
    """A square grid of ``cell_size`` metres over the events' extent plus ``margin`` metres, with
    lines on multiples of the cell size (so grids of the same size built by callers usually align)."""
    xmin, ymin = float(np.min(x)) - margin, float(np.min(y)) - margin
    xmax, ymax = float(np.max(x)) + margin, float(np.max(y)) + margin
    return SquareGrid.from_extent((xmin, ymin, xmax, ymax), cell_size, origin=(0.0, 0.0))


def one_thread() -> Any:
    """Context manager: BLAS and OpenMP limited to one thread. The learned predictors' matrices are
    skinny (many rows, a few columns), where extra threads only add overhead, and on a small shared
    machine threads competing for busy cores made fitting several times slower (measured: histogram
    boosting 1.0 s with one thread vs 5.4 s with two on 2 busy cores)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)
