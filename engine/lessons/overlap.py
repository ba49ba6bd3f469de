"""How many kernel placements overlap each output cell (Odena, Dumoulin & Olah, Distill
2016): in a transposed convolution every input cell places one copy of the kernel on the
output; the copies that reach an output cell are its taps that read a real input cell
(:meth:`engine.geometry.AxisOp.taps`). Uneven counts are the checkerboard.
:func:`ones_response` runs layers with every weight 1 on an input of ones: for a transposed
convolution that is the same count, for resize-then-convolve an even map."""

from __future__ import annotations

import functools

import numpy as np

from engine.geometry import KERNEL_PREFIXES, LayerGeometry
from engine.lessons.stack import make_layer


def axis_counts(g: LayerGeometry) -> tuple:
    """Per spatial axis, an int array: for every output position, the kernel placements
    (taps reading a real input cell) along that axis."""
    return tuple(op.taps(0, op.n_out - 1).inside.sum(axis=1) for op in g.axes)


def placement_grid(g: LayerGeometry) -> np.ndarray:
    """Placements overlapping every output cell: the outer product of :func:`axis_counts`
    (an array of the output's spatial shape)."""
    return functools.reduce(np.multiply.outer, axis_counts(g))


def placements(g: LayerGeometry, cell) -> tuple:
    """Per axis, the placements overlapping output ``cell`` along that axis (their product
    is the number of kernel copies that reach the cell)."""
    return tuple(sum(t.inside for t in taps) for taps in g.cell_taps(cell))


def middle(n: int) -> range:
    """The middle half of ``n`` output positions (away from both borders)."""
    return range(n // 4, n - n // 4)


def even_placements(g: LayerGeometry) -> bool:
    """True when every output cell of the middle half gets the same number of placements
    along every axis (no checkerboard away from the border)."""
    return all(len(set(c[middle(len(c))].tolist())) == 1 for c in axis_counts(g))


def ones_response(layers, input_shape) -> np.ndarray:
    """``layers`` (``(class name, kwargs)``, applied in order) with every kernel weight 1
    and bias 0, run by the engine on an input of ones: the first output channel."""
    x = np.ones(input_shape, np.float32)
    for class_name, kwargs in layers:
        kind = make_layer(class_name, kwargs).kind
        ones = {f"{p}_initializer": "ones" for p in KERNEL_PREFIXES.get(kind, ())}
        x = make_layer(class_name, dict(kwargs, **ones))(x)
    return np.asarray(x)[0, ..., 0]


__all__ = ["axis_counts", "even_placements", "middle", "ones_response", "placement_grid",
           "placements"]
