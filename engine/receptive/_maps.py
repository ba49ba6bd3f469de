"""Contribution maps: the exact input-gradient of one output position, by backward kernels.

Two paths, both restricted to the receptive field's bounding box at every level of the
stack (the box of level ``l − 1`` is the exact hull of what the box of level ``l`` reads,
clipped to the real cells, so nothing outside it can carry gradient):

- ``weights="ones"``: with every kernel weight 1 the gradient is the same on every channel
  (each layer multiplies it by a channel factor, see ``LayerGeometry.factor``) and every layer is a
  tensor product of 1-D operators, so the map is ``C_in · Π factors · v_1 ⊗ … ⊗ v_rank``
  with one short float64 vector per axis, each obtained by scattering through the layers'
  1-D gather tables (:func:`engine.kernels.backward.scatter_axis`). Exact (integer counts
  are exact below 2**53; interpolation weights as float32 numbers), and a few hundred
  microseconds for deep stacks on large inputs.
- ``weights="actual"``: the real kernels, channel by channel, through the public convolution
  wrappers (conv ↔ conv_transpose), argmax routing for max pooling, activation Jacobians at
  the forward values when an input ``x`` is given.
"""

from __future__ import annotations

import copy
import functools

import numpy as np

from engine import shapes
from engine.kernels import backward as bk
from engine.kernels import conv as ck
from engine.layers.conv import depthwise_as_grouped
from engine.receptive import _activations
from engine.receptive._stack import build_steps, check_index

WEIGHTS = ("ones", "actual")
_CONV_KINDS = ("conv", "depthwise", "separable", "transpose")


def _check_weights(weights):
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be 'ones' or 'actual'. Received: weights={weights!r}")


def _to_last(a, data_format):
    return a if data_format == "channels_last" else np.moveaxis(a, 1, -1)


def _from_last(a, data_format):
    return a if data_format == "channels_last" else np.moveaxis(a, -1, 1)


class ReceptivePlan:
    """A stack of layers for one input shape, ready to answer receptive-field questions
    for many output positions (the app keeps one per configuration).

    Args:
        layers: engine layers (``engine.layers``) and/or pooling layers (``engine.pooling``),
            applied in order; unbuilt layers are built when real weights are needed.
        input_shape: batch first, in the layers' data_format; spatial sizes and channels known.

    Attributes: ``steps``, ``rank``, ``data_format``, ``input_shape``, ``input_spatial``,
    ``in_channels``, ``output_shape``, ``output_spatial``.
    """

    def __init__(self, layers, input_shape):
        self.layers = list(layers)
        self.steps, self.rank, self.data_format, self.input_shape = build_steps(
            self.layers, input_shape)
        _, self.input_spatial, self.in_channels = shapes.split_shape(
            self.input_shape, self.rank, self.data_format)
        self.output_shape = self.steps[-1].out_shape if self.steps else self.input_shape
        _, self.output_spatial, self.out_channels = shapes.split_shape(
            self.output_shape, self.rank, self.data_format)
        self._built = False
        #: input-box share of the input below which ``x`` is propagated only through the
        #: field's boxes (else one full forward pass, cached per input)
        self.window_fraction = 0.25
        self._forward_cache = None  # (copy of x, records)

    # ------------------------------------------------------------------ geometry
    def check_index(self, index) -> tuple:
        return check_index(index, self.output_spatial)

    def boxes(self, index):
        """Per level (0 = input, len(steps) = output), per axis, the exact hull ``(lo, hi)``
        of the cells that output ``index`` depends on, clipped to the real cells; ``None``
        from the first level where the field is empty (e.g. an output made of padding)."""
        index = self.check_index(index)
        levels = [tuple((i, i) for i in index)]
        for step in reversed(self.steps):
            box = []
            for op, (lo, hi) in zip(step.axes, levels[0]):
                a, b = op.span(lo, hi)
                a, b = max(int(a), 0), min(int(b), op.n_in - 1)
                if a > b:
                    return [None] * (len(self.steps) + 1 - len(levels)) + levels
                box.append((a, b))
            levels.insert(0, tuple(box))
        return levels

    def field_box(self, index):
        """``((lo, hi), …)`` per axis: the input cells output ``index`` can see (clipped),
        or ``None`` if it sees none."""
        return self.boxes(index)[0]

    def channel_factor(self) -> int:
        """``C_in · Π step.factor``: the all-ones map is this times the product of the
        single-channel per-axis maps."""
        return int(self.in_channels) * int(np.prod([s.factor for s in self.steps], dtype=object))

    # ------------------------------------------------------------------ ones
    def _axis_vectors(self, levels, absolute=False):
        vectors = []
        for axis in range(self.rank):
            v = np.ones(1, np.float64)
            for level in range(len(self.steps), 0, -1):
                op = self.steps[level - 1].axes[axis]
                olo, ohi = levels[level][axis]
                ilo, ihi = levels[level - 1][axis]
                idx, w = op.gather(olo, ohi)
                local = np.where((idx >= ilo) & (idx <= ihi), idx - ilo, -1)
                v = bk.scatter_axis(v, 0, local, np.abs(w) if absolute else w, ihi - ilo + 1)
            vectors.append(v)
        return vectors

    def _place(self, levels, block):
        full = np.zeros(self.input_spatial, block.dtype)
        full[tuple(slice(lo, hi + 1) for lo, hi in levels[0])] = block
        return full

    def _ones_map(self, levels):
        vectors = self._axis_vectors(levels)
        try:
            factor = float(self.channel_factor())
        except OverflowError:  # more than 1e308 paths: the float map saturates
            factor = float("inf")
        block = functools.reduce(np.multiply.outer, vectors) * factor
        return self._place(levels, block)

    def _ones_mask(self, levels):
        vectors = self._axis_vectors(levels, absolute=True)
        block = functools.reduce(np.logical_and.outer, [v > 0 for v in vectors])
        return self._place(levels, np.asarray(block, bool))

    # ------------------------------------------------------------------ actual
    def _check_x(self, x):
        expected = tuple(self.input_shape[1:])
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f"x must have shape (batch, *{expected}) to match input_shape "
                             f"{self.input_shape}. Received: x.shape={x.shape}")
        for step in self.steps:
            if step.kind in _CONV_KINDS:
                _activations.check_supported(getattr(step.layer, "activation", None),
                                             self.data_format)

    @staticmethod
    def _activation(step):
        fn = getattr(step.layer, "activation", None) if step.kind in _CONV_KINDS else None
        return None if _activations.activation_name(fn) == "linear" else fn

    def _forward(self, x):
        """Full forward pass, cached per input: per step (input, pre-activation or None,
        activation), channels-last, batch element 0 only."""
        if self._forward_cache is not None:
            seen, records = self._forward_cache
            if seen.shape == x.shape and np.array_equal(seen, x):
                return records
        cur = np.ascontiguousarray(x[:1], dtype=np.float32)
        records = []
        for step in self.steps:
            fn = self._activation(step)
            if fn is not None:
                lin = copy.copy(step.layer)
                lin.activation = None
                z = lin(cur)
                nxt = np.asarray(fn(z), np.float32)
                records.append((_to_last(cur, self.data_format), _to_last(z, self.data_format),
                                fn))
            else:
                nxt = step.layer(cur)
                records.append((_to_last(cur, self.data_format), None, None))
            cur = nxt
        self._forward_cache = (np.array(x, copy=True), records)
        return records

    def _window_forward(self, x, levels):
        """The forward pass restricted to the field's boxes (exact: the box of level l − 1
        holds every real cell the box of level l reads). Records are box-local."""
        cur = self._crop(_to_last(np.asarray(x[:1], np.float32), self.data_format), levels[0])
        cur = np.ascontiguousarray(cur)
        records = []
        for level, step in enumerate(self.steps, start=1):
            z = self._forward_step(step, cur, levels[level - 1], levels[level])
            fn = self._activation(step)
            if fn is not None:
                records.append((cur, z, fn))
                y = _to_last(np.asarray(fn(_from_last(z, self.data_format)), np.float32),
                             self.data_format)
            else:
                records.append((cur, None, None))
                y = z
            cur = np.ascontiguousarray(y, dtype=np.float32)
        return records

    def _forward_step(self, step, cur, ibox, obox):
        """One layer on a window: ``cur`` is the input box (channels-last), returns the
        output box before the activation."""
        layer, kind = step.layer, step.kind
        osizes = tuple(hi - lo + 1 for lo, hi in obox)
        if kind in ("conv", "depthwise", "separable"):
            pads = [op.p + ilo - olo * op.s for op, (ilo, _), (olo, _) in
                    zip(step.axes, ibox, obox)]
            bias = layer.weight("bias")
            if kind == "conv":
                return ck.conv(cur, layer.weight("kernel"), bias, layer.strides,
                               layer.dilation_rate, pads, osizes, layer.groups)
            name = "depthwise_kernel" if kind == "separable" else "kernel"
            y = ck.conv(cur, depthwise_as_grouped(layer.weight(name)),
                        None if kind == "separable" else bias, layer.strides,
                        layer.dilation_rate, pads, osizes, step.in_channels)
            if kind == "separable":
                pw = layer.weight("pointwise_kernel")
                y = y @ pw.reshape(pw.shape[-2], pw.shape[-1])
                if bias is not None:
                    y = y + bias
            return np.asarray(y, np.float32)
        if kind == "transpose":
            kernel, bias = layer.weight("kernel"), layer.weight("bias")
            y = np.zeros((1, *osizes, kernel.shape[-2]), np.float32)
            if bias is not None:
                y += bias
            pads = [op.p + olo - ilo * op.s for op, (ilo, _), (olo, _) in
                    zip(step.axes, ibox, obox)]
            lead = [max(-p, 0) for p in pads]  # outputs before `lead` receive nothing
            sub = tuple(n - q for n, q in zip(osizes, lead))
            if min(sub) > 0:
                y[(0, *(slice(q, None) for q in lead))] = ck.conv_transpose(
                    cur, kernel, bias, layer.strides, layer.dilation_rate,
                    [max(p, 0) for p in pads], sub)[0]
            return y
        if kind == "maxpool":
            pads = [op.p + ilo - olo * op.s for op, (ilo, _), (olo, _) in
                    zip(step.axes, ibox, obox)]
            widths = [(0, 0)] + [(p, max(0, (o - 1) * s + k - p - n))
                                 for p, o, s, k, n in zip(pads, osizes, layer.strides,
                                                          layer.pool_size, cur.shape[1:-1])]
            padded = np.pad(cur, widths + [(0, 0)], constant_values=-np.inf)
            win = np.lib.stride_tricks.sliding_window_view(
                padded, layer.pool_size, axis=tuple(range(1, self.rank + 1)))
            take = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(osizes, layer.strides))
            return np.ascontiguousarray(win[(slice(None),) + take].max(
                axis=tuple(range(-self.rank, 0))), dtype=np.float32)
        y = cur
        for axis, (op, (ilo, ihi), (olo, ohi)) in enumerate(zip(step.axes, ibox, obox)):
            idx, w = op.gather(olo, ohi)
            valid = (idx >= ilo) & (idx <= ihi)
            local = np.where(valid, idx - ilo, 0)
            taken = np.take(y, local.ravel(), axis=1 + axis).reshape(
                y.shape[:1 + axis] + local.shape + y.shape[2 + axis:])
            wt = np.where(valid, w, 0.0).astype(np.float32)
            wt = wt.reshape(wt.shape + (1,) * (y.ndim - 2 - axis))
            y = np.sum(taken * wt, axis=2 + axis, dtype=np.float32)
        return np.ascontiguousarray(y, dtype=np.float32)

    def _records(self, x, levels):
        """Box-local forward records for ``levels``: the windowed pass when the field is
        small compared with the input, else crops of the cached full pass."""
        box = levels[0]
        cells = float(np.prod([hi - lo + 1 for lo, hi in box]))
        if cells <= self.window_fraction * float(np.prod(self.input_spatial)):
            return self._window_forward(x, levels)
        full = self._forward(x)
        return [(self._crop(xi, levels[i]), None if z is None else self._crop(z, levels[i + 1]),
                 fn) for i, (xi, z, fn) in enumerate(full)]

    @staticmethod
    def _crop(arr, box):
        return arr[(slice(0, 1),) + tuple(slice(lo, hi + 1) for lo, hi in box)]

    def _backward_step(self, step, g, ibox, obox, record):
        layer, kind = step.layer, step.kind
        isizes = tuple(hi - lo + 1 for lo, hi in ibox)
        if kind in ("conv", "depthwise", "separable"):
            pads = [op.p + ilo - olo * op.s for op, (ilo, _), (olo, _) in
                    zip(step.axes, ibox, obox)]
            if kind == "conv":
                return bk.conv_input_grad(g, layer.weight("kernel"), layer.strides,
                                          layer.dilation_rate, pads, isizes, layer.groups)
            if kind == "separable":
                pw = layer.weight("pointwise_kernel")
                pw = pw.reshape(pw.shape[-2], pw.shape[-1])
                g = np.asarray(g, np.float32) @ pw.T
                kernel = layer.weight("depthwise_kernel")
            else:
                kernel = layer.weight("kernel")
            return bk.conv_input_grad(g, depthwise_as_grouped(kernel), layer.strides,
                                      layer.dilation_rate, pads, isizes, step.in_channels)
        if kind == "transpose":
            pads = [op.p + olo - ilo * op.s for op, (ilo, _), (olo, _) in
                    zip(step.axes, ibox, obox)]
            return bk.conv_transpose_input_grad(g, layer.weight("kernel"), layer.strides,
                                                layer.dilation_rate, pads, isizes)
        if kind == "maxpool" and record is not None:
            pads = [op.p + ilo - olo * op.s for op, (ilo, _), (olo, _) in
                    zip(step.axes, ibox, obox)]
            return bk.maxpool_input_grad(record[0][0], np.asarray(g)[0], layer.pool_size,
                                         layer.strides, pads)[None]
        for axis, (op, (ilo, ihi), (olo, ohi)) in enumerate(zip(step.axes, ibox, obox)):
            idx, w = op.gather(olo, ohi)
            local = np.where((idx >= ilo) & (idx <= ihi), idx - ilo, -1)
            g = bk.scatter_axis(g, 1 + axis, local, w, ihi - ilo + 1)
        return g

    def _actual_map(self, levels, x):
        records = self._records(x, levels) if x is not None else None
        g = np.ones((1,) * (self.rank + 1) + (self.out_channels,), np.float64)
        for level in range(len(self.steps), 0, -1):
            step = self.steps[level - 1]
            record = records[level - 1] if records is not None else None
            if record is not None and record[1] is not None:
                g = _activations.vjp(record[2], record[1], g)
            g = self._backward_step(step, g, levels[level - 1], levels[level], record)
        block = np.asarray(g, np.float64)[0].sum(axis=-1)
        return self._place(levels, block)

    # ------------------------------------------------------------------ public
    def contribution_map(self, index, weights="ones", x=None) -> np.ndarray:
        """See :func:`engine.receptive.contribution_map`."""
        _check_weights(weights)
        levels = self.boxes(index)
        if levels[0] is None:
            return np.zeros(self.input_spatial, np.float64)
        if weights == "ones":
            return self._ones_map(levels)
        self._build_all()
        if x is not None:
            x = np.asarray(x)
            self._check_x(x)
        return self._actual_map(levels, x)

    def mask(self, index, weights="ones", x=None) -> np.ndarray:
        """See :func:`engine.receptive.receptive_field_mask`."""
        _check_weights(weights)
        levels = self.boxes(index)
        if levels[0] is None:
            return np.zeros(self.input_spatial, bool)
        if weights == "ones":
            return self._ones_mask(levels)
        return self.contribution_map(index, weights, x) != 0

    def _build_all(self):
        if not self._built:
            for step in self.steps:
                build_steps([step.layer], step.in_shape, build=True)
            self._built = True
