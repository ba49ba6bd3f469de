"""Step-by-step data for animating every layer: typed frames, no plotting.

:func:`animate` runs a layer on a small input (batch of 1) and returns an :class:`Animation`:
``frames`` (one :class:`Frame` per step) plus ``meta`` (what does not change between steps,
one dataclass per kind: :class:`ConvMeta`, :class:`ScatterMeta`, …). :func:`frames` returns
only the list: each frame's ``output`` is the output buffer after that step (NaN where
nothing is written yet, partial sums), the last one ``layer(x)`` exactly, activation
included; its ``computed`` keeps what the steps accumulated, so that tests can check the two
agree. The values are computed step by step in float64 from the float32 input and weights;
which input cells and kernel taps make each output cell comes from :mod:`engine.geometry`.

Frame counts (``P(shape)`` = product of the sizes, ``rows`` = product of all but the last):

=================================== ===================================== =================
layer                               granularity "cell"                    "row"
=================================== ===================================== =================
Conv, DepthwiseConv                 P(output) + 1 (bias + activation)     rows(output) + 1
SeparableConv                       2·P(output) + 1                       2·rows(output) + 1
ConvTranspose, view "scatter"       P(input) + 1                          rows(input) + 1
ConvTranspose, view "gather"        P(output) + 1                         rows(output) + 1
ZeroPadding                         1 + number of sides with padding > 0  (same)
Cropping                            number of sides with cropping > 0 + 1 (same)
UpSampling, nearest                 P(input)                              rows(input)
UpSampling2D, other interpolations  P(output)                             rows(output)
=================================== ===================================== =================

``granularity="auto"`` picks "cell" when it fits in ``max_frames`` (:data:`MAX_FRAMES`),
else "row"; beyond that a ``ValueError`` says how to shrink the input.

Every frame's ``caption`` says the step in words from the geometry (:mod:`.text`: ``Output
row 0, column 0 reads input rows 0–2, columns 0–2: 9 products, sum 1.25``);
:mod:`.piece` sizes the small input an animation runs on and picks the step it opens on.
"""

from __future__ import annotations

import math

import numpy as np

from engine.animate.conv import CONV, DEPTHWISE, SEPARABLE
from engine.animate.frames import (CATEGORY_NAMES, CROPPED, CUT, MAX_CELLS, MAX_FRAMES,
                                   OUTPUT_PAD, PAD, REAL, STRIDE_ZERO, UNUSED, Animation,
                                   Context, ConvMeta, ConvTaps, CropMeta, DepthwiseMeta, Frame,
                                   GatherMeta, Meta, PadMeta, ScatterMeta, SeparableMeta,
                                   StampTaps, UpsampleMeta, WeightedMeta)
from engine.animate.piece import distinct_piece, is_flat, opening_step, piece_sizes
from engine.animate.receptive import ContributionLevels, contribution_levels
from engine.animate.reshape import CROP_FAMILY, PAD_FAMILY
from engine.animate.transpose import TRANSPOSE
from engine.animate.upsample import UPSAMPLE
from engine.geometry import geometry

GRANULARITIES = ("auto", "cell", "row")
TRANSPOSE_VIEWS = ("scatter", "gather")

#: How each layer ``kind`` is animated.
FAMILIES = {"conv": CONV, "depthwise": DEPTHWISE, "separable": SEPARABLE,
            "transpose": TRANSPOSE, "pad": PAD_FAMILY, "crop": CROP_FAMILY,
            "upsample": UPSAMPLE}

__all__ = [
    "Animation", "CATEGORY_NAMES", "CROPPED", "CUT", "ContributionLevels", "ConvMeta",
    "ConvTaps", "CropMeta", "DepthwiseMeta", "FAMILIES", "Frame", "GRANULARITIES",
    "GatherMeta", "MAX_CELLS", "MAX_FRAMES", "Meta", "OUTPUT_PAD", "PAD", "PadMeta", "REAL",
    "STRIDE_ZERO", "ScatterMeta", "SeparableMeta", "StampTaps", "TRANSPOSE_VIEWS", "UNUSED",
    "UpsampleMeta", "WeightedMeta", "animate", "contribution_levels", "count_frames",
    "distinct_piece", "frames", "is_flat", "opening_step", "piece_sizes",
]


def _family(layer):
    family = FAMILIES.get(getattr(type(layer), "kind", None))
    if family is None:
        raise ValueError(f"No animation for layer type {type(layer).__name__}")
    return family


def frames(layer, x, granularity: str = "auto", view: str = "scatter",
           max_frames: int = MAX_FRAMES) -> list[Frame]:
    """The frames of :func:`animate`."""
    return animate(layer, x, granularity, view, max_frames).frames


def _check_input(layer, x: np.ndarray) -> None:
    """A batch of one of at most :data:`MAX_CELLS` cells in and out (actionable messages)."""
    if x.ndim != layer.rank + 2:
        layer(x)  # let the layer produce Keras's message
    if x.shape[0] != 1:
        raise ValueError(
            f"Animations take a batch of one sample; received an input of shape {x.shape}. "
            "Pass x[:1].")
    geom = geometry(layer, x.shape)
    for name, sizes in (("input", geom.in_spatial), ("output", geom.out_spatial)):
        if math.prod(sizes) > MAX_CELLS:
            raise ValueError(
                f"The {name} has {math.prod(sizes)} cells ({' × '.join(map(str, sizes))}); "
                f"animations take at most {MAX_CELLS}. Crop or resize the input to a few "
                "cells per axis (8 × 8 is plenty to see the layer work).")


def animate(layer, x, granularity: str = "auto", view: str = "scatter",
            max_frames: int = MAX_FRAMES) -> Animation:
    """Step-by-step data for ``layer`` applied to ``x`` (batch of one, layer's data_format).

    ``granularity``: ``"cell"`` (one frame per output cell, per input cell for stamps and
    repetition), ``"row"`` (one frame per row of cells) or ``"auto"`` (cell if it fits in
    ``max_frames``, else row). ``view`` (transposed convolutions only): ``"scatter"`` (each
    input cell stamps a scaled kernel into the output) or ``"gather"`` (dilate the input with
    stride − 1 zeros, pad, convolve with the flipped kernel).

    Raises ValueError for a batch other than 1, too many cells or frames (the message says
    what to shrink), a layer kind without animation, or what the layer itself refuses.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"`granularity` must be one of {GRANULARITIES}. "
                         f"Received: granularity={granularity!r}")
    if view not in TRANSPOSE_VIEWS:
        raise ValueError(f"`view` must be one of {TRANSPOSE_VIEWS}. Received: view={view!r}")
    family = _family(layer)
    x = np.asarray(x)
    _check_input(layer, x)
    return family.build(Context(layer, x, granularity, max_frames), view)


def count_frames(layer, input_shape, granularity: str = "cell", view: str = "scatter") -> int:
    """Number of frames :func:`animate` makes for an input of ``input_shape`` (batch first),
    from the arithmetic alone (``granularity`` "cell" or "row")."""
    if granularity not in ("cell", "row"):
        raise ValueError("count_frames needs granularity 'cell' or 'row'")
    family = _family(layer)

    def n(sizes):
        return math.prod(sizes) if granularity == "cell" else math.prod(sizes[:-1])

    return family.count(geometry(layer, tuple(input_shape)), n, view)
