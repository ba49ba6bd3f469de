"""Grids of cells and blocks of steps: the index bookkeeping every builder shares.

Cells are ``(n, rank)`` int64 arrays in spatial order, grids row-major.
"""

from __future__ import annotations

import math

import numpy as np


def cells(arr, rank: int) -> np.ndarray:
    """Anything listing cells → ``(n, rank)`` int64."""
    return np.asarray(arr, dtype=np.int64).reshape(-1, rank)


def positions(sizes) -> np.ndarray:
    """All cells of a grid of ``sizes``, row-major, as ``(P, rank)`` int64."""
    sizes = tuple(int(s) for s in sizes)
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=1).astype(np.int64).reshape(
        -1, len(sizes))


def grid(per_axis) -> np.ndarray:
    """Per axis an ``(N_a, T_a)`` array (e.g. the tap positions of each output along that
    axis) → ``(ΠN, ΠT, rank)``: for every cell (row-major over the ``N_a``) and every
    combination of taps (row-major over the ``T_a``), the per-axis values. Works for any
    dtype; weights multiply with ``.prod(-1)``, masks combine with ``.all(-1)``."""
    per_axis = [np.asarray(a) for a in per_axis]
    rank = len(per_axis)
    n = [a.shape[0] for a in per_axis]
    t = [a.shape[1] for a in per_axis]
    out = np.empty(tuple(n) + tuple(t) + (rank,), np.result_type(*per_axis))
    for a, arr in enumerate(per_axis):
        shape = [1] * (2 * rank)
        shape[a], shape[rank + a] = n[a], t[a]
        out[..., a] = arr.reshape(shape)
    return out.reshape(math.prod(n), math.prod(t), rank)


def row_blocks(n_positions: int, last: int) -> list:
    """Consecutive ``(start, stop)`` blocks of one row (``last`` cells) each."""
    return [(s, min(s + last, n_positions)) for s in range(0, n_positions, max(last, 1))]


def blocks(n_positions: int, last: int, granularity: str) -> list:
    """``(start, stop)`` of every step: one position each, or one row each."""
    if granularity == "cell":
        return [(p, p + 1) for p in range(n_positions)]
    return row_blocks(n_positions, last)


def unique_cells(arr: np.ndarray) -> np.ndarray:
    """The distinct cells of ``(..., rank)``, sorted, as ``(n, rank)``."""
    arr = np.asarray(arr, np.int64)
    return np.unique(arr.reshape(-1, arr.shape[-1]), axis=0)


def slab(sizes, axis: int, lo: int, hi: int) -> np.ndarray:
    """Boolean grid of ``sizes``: True on ``lo ≤ index < hi`` along ``axis``."""
    mask = np.zeros(sizes, bool)
    index = [slice(None)] * len(sizes)
    index[axis] = slice(lo, hi)
    mask[tuple(index)] = True
    return mask
