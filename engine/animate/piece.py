"""The small input an animation runs on, and where it opens.

- :func:`piece_sizes`: per spatial axis, the default piece grown to the smallest size at
  which the layer runs with a non-empty output (a dilated kernel, a crop), within the
  user's input.
- :func:`is_flat` / :func:`distinct_piece`: a piece whose values look alike (a 2 × 2
  upsampling of 0.50 everywhere shows nearest and bilinear identical) is replaced by
  distinct integers in a scrambled order, so that every cell can be followed by its value.
- :func:`opening_step`: the first step that does something (cells read or written), so
  that a first look shows the layer working instead of an empty output.
"""

from __future__ import annotations

import math

import numpy as np

from engine import shapes
from engine.animate.frames import Animation
from engine.geometry import geometry

#: A piece is flat when it shows fewer distinct values (at 2 decimals) than this (or all of
#: its cells, when it has fewer) ...
MIN_DISTINCT = 4
#: ... or when its values span less than this fraction of the whole input's range.
MIN_SPREAD = 0.1


def _runs(layer, spatial, channels: int) -> bool:
    """``layer`` accepts a batch of one of ``spatial`` cells and its output is non-empty."""
    shape = shapes.join_shape(1, spatial, channels, layer.data_format)
    try:
        geom = geometry(layer, shape)
    except ValueError:
        return False
    return all(n > 0 for n in geom.out_spatial)


def piece_sizes(layer, input_shape, default) -> tuple:
    """Per spatial axis ``max(default, smallest size the layer runs on)``, at most the
    input's own size (``input_shape``: batch first, in the layer's data_format). Each axis
    is grown on its own with the others at the input's size (the axes are independent)."""
    _, spatial, channels = shapes.split_shape(tuple(input_shape), layer.rank,
                                              layer.data_format)
    sizes = [min(int(d), int(n)) for d, n in zip(default, spatial)]
    for axis, n in enumerate(spatial):
        probe = list(spatial)
        probe[axis] = sizes[axis]
        while probe[axis] < n and not _runs(layer, probe, channels):
            probe[axis] += 1
        sizes[axis] = probe[axis]
    return tuple(sizes)


def is_flat(piece: np.ndarray, whole: np.ndarray) -> bool:
    """The values of ``piece`` look alike: too few distinct values as cells print them, or a
    spread below :data:`MIN_SPREAD` of ``whole``'s (any layouts; all channels together)."""
    piece = np.asarray(piece, np.float64)
    distinct = np.unique(np.round(piece, 2)).size
    spread, whole_spread = np.ptp(piece), np.ptp(np.asarray(whole, np.float64))
    return distinct < min(piece.size, MIN_DISTINCT) or spread < MIN_SPREAD * whole_spread


def _stride(n: int) -> int:
    """A step coprime with ``n`` near ``0.38·n``: neighbours get unlike values."""
    step = max(1, round(0.382 * n))
    while math.gcd(step, n) != 1:
        step += 1
    return step


def distinct_piece(spatial, channels: int) -> np.ndarray:
    """``(*spatial, channels)`` float32, channels last: each channel holds the integers
    ``1 … P`` (``P`` cells) in a scrambled row-major order, each channel shifted."""
    n = math.prod(int(s) for s in spatial)
    step = _stride(n)
    k = np.arange(n)
    out = np.stack([((k + 3 * c) * step) % n + 1 for c in range(channels)], axis=-1)
    return out.reshape(tuple(spatial) + (channels,)).astype(np.float32)


def _does_something(frame) -> bool:
    return len(frame.in_cells) > 0 or len(frame.out_cells) > 0


def opening_step(anim: Animation) -> int:
    """The figure frame to open on (frame 0 of the figure is the empty start, frame ``k + 1``
    is ``anim.frames[k]``): the first step that reads or writes cells."""
    return 1 + next((k for k, fr in enumerate(anim.frames) if _does_something(fr)), 0)
