"""One layer for one input shape: shapes, per-axis tap geometry, weights, multiply-adds.

:func:`geometry` is what every view reads (links and sentences in Explore, animation taps,
receptive fields, the stack summary, the app's budget) instead of re-deriving the rule.
It dispatches on the layer's ``kind`` class attribute (see :data:`KINDS`), so it works for any
object that carries the Keras arguments of its kind: engine layers, built or not, and the
engine's pooling layers.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from engine import shapes
from engine.geometry.axes import (AxisOp, ConvAxis, RepeatAxis, ResizeAxis, ShiftAxis, Tap,
                                  TransposeAxis)
from engine.geometry.weights import KINDS, WeightShape, weight_shapes
from engine.kernels.conv import working_memory


@dataclass(frozen=True)
class LayerGeometry:
    """``layer`` applied to ``in_shape`` (batch first, in ``data_format``; batch may be None).

    ``axes``: one :class:`AxisOp` per spatial axis, in spatial order whatever the data_format
    (empty when a spatial size is unknown); ``weights``: what ``build`` creates, in Keras's
    order. Cells are tuples of one int per spatial axis."""

    layer: object
    kind: str
    rank: int
    data_format: str
    in_shape: tuple
    out_shape: tuple
    in_spatial: tuple
    out_spatial: tuple
    in_channels: int | None
    out_channels: int | None
    axes: tuple
    weights: tuple

    # ------------------------------------------------------------------ naming
    @property
    def name(self) -> str:
        return getattr(self.layer, "name", type(self.layer).__name__)

    @property
    def class_name(self) -> str:
        return type(self.layer).__name__

    @property
    def batch(self) -> int:
        """The batch size for counting (1 when it is None)."""
        return 1 if self.in_shape[0] is None else int(self.in_shape[0])

    # ------------------------------------------------------------------ counts
    @property
    def params(self) -> int:
        return sum(w.size for w in self.weights)

    @property
    def pads(self) -> tuple:
        """``(before, after)`` per spatial axis: zeros the layer adds (negative ``after`` for
        valid padding: input cells no window reaches; transposed: cells cropped)."""
        return tuple(op.pad for op in self.axes)

    @property
    def factor(self) -> int:
        """With all-ones kernels, what one unit of gradient on every output channel becomes on
        every input channel: ``filters / groups`` (conv), ``filters`` (transposed),
        ``depth_multiplier`` (depthwise), ``filters · depth_multiplier`` (separable), else 1."""
        layer = self.layer
        return {"conv": lambda: layer.filters // layer.groups,
                "transpose": lambda: layer.filters,
                "depthwise": lambda: layer.depth_multiplier,
                "separable": lambda: layer.filters * layer.depth_multiplier,
                }.get(self.kind, lambda: 1)()

    @property
    def macs(self) -> int | None:
        """Multiply-adds of one call on ``in_shape`` (batch None counts as 1): every kernel
        tap of every output (transposed: of every input) and every non-zero interpolation
        weight; ``None`` when a spatial size is unknown. Pooling, cropping, padding: 0."""
        if self.kind in ("crop", "pad", "maxpool", "avgpool"):
            return 0
        if None in self.in_spatial or None in self.out_spatial:
            return None
        if self.kind == "upsample":
            if getattr(self.layer, "interpolation", "nearest") == "nearest":
                return 0
            per_axis = [int(op.taps(0, op.n_out - 1).exists.sum()) for op in self.axes]
            return self.batch * self.in_channels * math.prod(per_axis)
        positions = self.in_spatial if self.kind == "transpose" else self.out_spatial
        kernels = sum(w.size for w in self.weights if w.name != "bias")
        return self.batch * math.prod(positions) * kernels

    @property
    def work_bytes(self) -> int:
        """Bytes of working memory the engine's kernels need for this call (output, copies,
        padded input, tap tables, packed weights: :func:`engine.kernels.conv.working_memory`,
        the estimate the kernels refuse by); separable: the larger of its two stages;
        weightless kinds: 0. Requires known sizes."""
        if self.kind not in ("conv", "depthwise", "separable", "transpose"):
            return 0
        layer, c = self.layer, self.in_channels
        pads = tuple(op.p for op in self.axes)
        common = (self.batch, self.in_spatial, c, layer.kernel_size)
        tail = (layer.strides, layer.dilation_rate, pads, self.out_spatial)
        if self.kind == "transpose":
            return working_memory(True, *common, layer.filters, *tail).bytes
        if self.kind == "conv":
            return working_memory(False, *common, layer.filters, *tail, layer.groups).bytes
        mid = c * layer.depth_multiplier
        depthwise = working_memory(False, *common, mid, *tail, c).bytes
        if self.kind == "depthwise":
            return depthwise
        ones = (1,) * self.rank
        pointwise = working_memory(False, self.batch, self.out_spatial, mid, ones,
                                   layer.filters, ones, ones, (0,) * self.rank,
                                   self.out_spatial).bytes
        return max(depthwise, pointwise)

    # ------------------------------------------------------------------ cells
    def check_cell(self, cell, where: str = "output") -> tuple:
        """``cell`` as a tuple of ints inside the output (or ``where="input"``)."""
        sizes = self.out_spatial if where == "output" else self.in_spatial
        cell = (cell,) if isinstance(cell, numbers.Integral) else tuple(cell)
        if len(cell) != self.rank or not all(
                isinstance(i, numbers.Integral) and not isinstance(i, bool) and 0 <= i < n
                for i, n in zip(cell, sizes)):
            raise ValueError(f"The {where} cell must be {self.rank} indices inside "
                             f"{tuple(sizes)}. Received: cell={cell!r}")
        return tuple(int(i) for i in cell)

    def cell_taps(self, out_cell) -> tuple[list[Tap], ...]:
        """Per axis, the taps of output ``out_cell`` (padding taps included)."""
        cell = self.check_cell(out_cell)
        return tuple(op.cell_taps(o) for op, o in zip(self.axes, cell))

    def reads(self, out_cell) -> tuple:
        """Per axis, the input cells ``out_cell`` reads with a non-zero weight (sorted int64
        arrays); the cells read are their product."""
        cell = self.check_cell(out_cell)
        return tuple(op.reads(o) for op, o in zip(self.axes, cell))

    def sources(self, out_cell) -> tuple | None:
        """Per axis ``(first, last)`` input cell that ``out_cell`` reads with a non-zero
        weight, padding excluded; ``None`` when it reads no input cell at all."""
        cell = self.check_cell(out_cell)
        box = tuple(op.sources(o) for op, o in zip(self.axes, cell))
        return None if None in box else box

    def feeds(self, in_cell) -> tuple | None:
        """Per axis ``(first, last)`` output cell that input ``in_cell`` feeds; ``None`` when it
        feeds none (cropped away, or past valid padding's last window)."""
        cell = self.check_cell(in_cell, "input")
        box = []
        for op, i in zip(self.axes, cell):
            outs = op.feeds(i)
            if not outs:
                return None
            box.append((outs[0][0], outs[-1][0]))
        return tuple(box)

    def channel_sources(self, out_channel: int) -> range:
        """The input channels that output channel ``out_channel`` reads."""
        c = self.in_channels
        if self.kind == "conv":
            per_group = c // self.layer.groups
            g = out_channel // (self.layer.filters // self.layer.groups)
            return range(g * per_group, (g + 1) * per_group)
        if self.kind == "depthwise":
            m = self.layer.depth_multiplier
            return range(out_channel // m, out_channel // m + 1)
        if self.kind in ("separable", "transpose"):
            return range(c)
        return range(out_channel, out_channel + 1)


# --------------------------------------------------------------------------- building

def _axes(layer, kind, in_spatial, out_spatial) -> tuple:
    if None in in_spatial or None in out_spatial:
        return ()
    if kind in ("conv", "depthwise", "separable"):
        return tuple(ConvAxis(n, k, s, d, layer.padding)
                     for n, k, s, d in zip(in_spatial, layer.kernel_size, layer.strides,
                                           layer.dilation_rate))
    if kind == "transpose":
        return tuple(TransposeAxis(n, o, k, s, d, layer.padding)
                     for n, o, k, s, d in zip(in_spatial, out_spatial, layer.kernel_size,
                                              layer.strides, layer.dilation_rate))
    if kind in ("maxpool", "avgpool"):
        return tuple(ConvAxis(n, k, s, 1, layer.padding, mean=True)
                     for n, k, s in zip(in_spatial, layer.pool_size, layer.strides))
    if kind == "crop":
        return tuple(ShiftAxis(n, o, b, (-b, -a))
                     for n, o, (b, a) in zip(in_spatial, out_spatial, layer.cropping))
    if kind == "pad":
        return tuple(ShiftAxis(n, o, -b, (b, a))
                     for n, o, (b, a) in zip(in_spatial, out_spatial, layer.padding))
    method = getattr(layer, "interpolation", "nearest")
    if method == "nearest":
        return tuple(RepeatAxis(n, s) for n, s in zip(in_spatial, layer.size))
    return tuple(ResizeAxis(n, s, method) for n, s in zip(in_spatial, layer.size))


def kind_of(layer) -> str:
    """The ``kind`` class attribute of an engine layer; ValueError for anything else."""
    kind = getattr(type(layer), "kind", None)
    if kind not in KINDS:
        raise ValueError(
            "Geometry is defined for the 19 engine layers (engine.layers) and the pooling "
            f"layers (engine.pooling). Received: {layer!r} of type {type(layer).__name__}")
    return kind


def geometry(layer, input_shape) -> LayerGeometry:
    """The geometry of ``layer`` (an engine layer, built or not) on ``input_shape`` (batch
    first, in the layer's data_format; batch may be None).

    Raises:
        ValueError: not an engine layer, or a shape Keras refuses at ``compute_output_shape``
            or ``build`` (Keras's message)."""
    kind = kind_of(layer)
    in_shape = tuple(input_shape)
    out_shape = tuple(layer.compute_output_shape(in_shape))
    layer.check_input_shape(in_shape)
    _, in_sp, in_c = shapes.split_shape(in_shape, layer.rank, layer.data_format, layer.name)
    _, out_sp, out_c = shapes.split_shape(out_shape, layer.rank, layer.data_format, layer.name)
    weights = () if in_c is None else weight_shapes(layer, in_c)
    return LayerGeometry(layer, kind, layer.rank, layer.data_format, in_shape, out_shape,
                         tuple(in_sp), tuple(out_sp), in_c, out_c,
                         _axes(layer, kind, in_sp, out_sp), weights)


__all__ = ["AxisOp", "LayerGeometry", "WeightShape", "geometry", "kind_of"]
