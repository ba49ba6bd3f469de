"""Which input cells and kernel taps feed each output cell: one model for every layer.

For an engine layer (built or not) and an input shape, :func:`geometry` returns a
:class:`LayerGeometry`: shapes, per spatial axis an :class:`AxisOp` (taps of an output cell,
outputs an input cell feeds, padding before/after, receptive-field arithmetic), the weight
shapes in Keras's order, the parameter count and the multiply-adds. Receptive fields,
animation frames, Explore's links and formulas, the stack summary and the app's budget all
read it. UI-free; imports only :mod:`engine.shapes` and the resize weights.

Example::

    >>> from engine.layers import Conv2D
    >>> g = geometry(Conv2D(4, 3, padding="same"), (1, 5, 5, 2))
    >>> g.sources((0, 0)), g.pads, g.params
    (((0, 1), (0, 1)), ((1, 1), (1, 1)), 76)
    >>> output_link(g, (0, 0))
    'Output cell (0, 0) reads input rows 0–1, columns 0–1'
"""

from engine.geometry.axes import (AxisOp, AxisTaps, ConvAxis, RepeatAxis, ResizeAxis,
                                  ShiftAxis, Tap, TransposeAxis)
from engine.geometry.layer import LayerGeometry, geometry, kind_of
from engine.geometry.weights import (KERNEL_PREFIXES, KINDS, WEIGHTED_KINDS, WeightShape,
                                     weight_shapes)
from engine.geometry.words import (AXES, AXIS_NAMES, AXIS_SHORT, AXIS_SINGULAR, input_link,
                                   output_link)

__all__ = [
    "AXES", "AXIS_NAMES", "AXIS_SHORT", "AXIS_SINGULAR", "AxisOp", "AxisTaps", "ConvAxis", "KERNEL_PREFIXES", "KINDS", "LayerGeometry",
    "RepeatAxis", "ResizeAxis", "ShiftAxis", "Tap", "TransposeAxis", "WEIGHTED_KINDS",
    "WeightShape", "geometry", "input_link", "kind_of", "output_link", "weight_shapes",
]
