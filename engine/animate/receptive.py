"""Contribution counts of every level of a stack of layers, for the receptive-field mode
of the Animate view: :func:`engine.receptive.contribution_map` of each sub-stack."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import shapes
from engine.receptive import contribution_map


@dataclass(frozen=True)
class ContributionLevels:
    """``shapes``: the tensor shape at each level (input first, output last); ``maps``: one
    float64 spatial array per level (weights 1, biases 0, no activation), the last one 1 at
    ``index`` (the output cell, spatial order) and 0 elsewhere."""

    shapes: list
    maps: list
    index: tuple


def level_shapes(layers, input_shape) -> list:
    """The shape of the input and of every layer's output (batch of ``input_shape``)."""
    out = [tuple(input_shape)]
    shape = (1,) + tuple(input_shape[1:])
    for layer in layers:
        shape = layer.compute_output_shape(shape)
        out.append((input_shape[0],) + tuple(shape[1:]))
    return out


def contribution_levels(layers, input_shape, index) -> ContributionLevels:
    """How much each cell of every level contributes to output cell ``index`` of
    ``layers`` applied to ``input_shape`` (batch first, the layers' data_format).

    Raises ValueError for an index outside the output or a shape a layer refuses."""
    levels = level_shapes(layers, input_shape)
    index = tuple(int(i) for i in index)
    maps = [np.asarray(contribution_map(layers[k:], (1,) + tuple(levels[k][1:]), index),
                       dtype=np.float64) for k in range(len(layers))]
    last = layers[-1]
    _, out_spatial, _ = shapes.split_shape(levels[-1], last.rank, last.data_format, last.name)
    final = np.zeros(out_spatial)
    final[index] = 1.0
    return ContributionLevels(levels, maps + [final], index)
