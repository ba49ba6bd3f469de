"""The receptive-field arithmetic table (Araujo, Norris & Sim, Distill 2019), exact.

For the sub-network made of the first ``l`` layers, output position ``o`` (along one axis)
reads input cells inside ``[start + o·jump, start + o·jump + size − 1]`` where, with each
layer's ``(J, a, b)`` from :meth:`AxisOp.relax` (conv: ``(s, −p, d(k−1) − p)``):

    jump_l  = jump_{l−1} · J_l
    start_l = start_{l−1} + a_l · jump_{l−1}        (= −P, Araujo's effective padding)
    end_l   = end_{l−1}   + b_l · jump_{l−1}
    size_l  = end_l − start_l + 1                   (= r, Araujo's receptive field size)

For convolutions and pooling these are Araujo's integers. Transposed convolutions and
upsampling have ``J = 1/s``, so jump, start and size become exact fractions; the interval
then bounds the field of every output, and the exact number of cells (first to last cell
read, inclusive) depends on the position modulo the period of the fractions: the table
gives its range (``size_min``..``size_max``). TensorFlow's ``same`` padding puts the odd cell
at the end, so ``p = ⌊total/2⌋`` and the start is shifted relative to a symmetric padding;
the ``note`` column says by how much.

Clipping: for every output position the exact field is propagated down the real (finite)
feature maps; where it leaves them (the input border, or zeros added by a layer's padding,
or an upsampling clamping at the edge), it is clipped. The table counts such positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from engine.geometry.axes import ConvAxis, ResizeAxis, ShiftAxis, TransposeAxis

_MAX_PERIOD = 1 << 15


def _fmt(value) -> str:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        return f"{value.numerator}/{value.denominator}"
    return str(value)


@dataclass(frozen=True)
class FieldRow:
    """One layer, one spatial axis: the field of the sub-network ending at this layer.

    Fields:
        position: index of the layer in the stack (0-based); ``layer``: its name;
        ``class_name``; ``axis``: spatial axis (0-based, whatever the data_format).
        output_size: cells of this layer's output along the axis.
        kernel: cells one output of this layer spans in its own input (``d(k−1)+1``; pool
            size; for a resize the taps of the interpolation; 1 for crop / pad / nearest).
        stride: this layer's step in its input per output cell (``1/s`` when upsampling).
        pad: ``(before, after)`` cells this layer adds (TensorFlow's split for ``same``);
            negative values are cells dropped (cropping, the end of a ``valid`` input that
            the last window never reaches, the cut of a transposed convolution).
        size, jump, start: Araujo's ``r``, ``S`` and ``u_0 = −P`` as exact fractions, in
            input cells; ``centre``: centre of output 0's field; ``padding``: ``P = −start``.
        size_min, size_max: exact number of cells (first to last, inclusive) in one output's
            field, over all positions, on an unbounded input.
        clipped_before / clipped_after: output positions whose field is cut at the start /
            end by the input border or by zeros a layer pads with; ``empty``: positions that
            read no input cell at all (padding cells, gaps of a transposed convolution).
        clipped_by: what cut them (``"input border"``, ``"padding of <layer>"``).
        note: the asymmetric ``same`` padding, unread cells, fractional strides, in words.
    """

    position: int
    layer: str
    class_name: str
    axis: int
    output_size: int
    kernel: int
    stride: Fraction
    pad: tuple
    size: Fraction
    jump: Fraction
    start: Fraction
    centre: Fraction
    padding: Fraction
    size_min: int
    size_max: int
    clipped_before: int
    clipped_after: int
    empty: int
    clipped_by: tuple = field(default_factory=tuple)
    note: str = ""

    def as_dict(self, text: bool = False) -> dict:
        """The row as a dict; with ``text=True`` fractions and tuples become strings (for
        tables and dataframes)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if text:
            for k, v in d.items():
                if isinstance(v, Fraction):
                    d[k] = _fmt(v)
                elif isinstance(v, tuple):
                    d[k] = ", ".join(str(x) for x in v) if k == "clipped_by" else str(v)
        return d


class ReceptiveTable(list):
    """A list of :class:`FieldRow` (layer-major, then axis) with helpers."""

    def final(self, axis: int = 0) -> FieldRow:
        """The row of the last layer for ``axis``."""
        rows = [r for r in self if r.axis == axis]
        if not rows:
            raise IndexError(f"no row for axis {axis}")
        return rows[-1]

    def records(self, text: bool = True) -> list:
        """One dict per row (strings for fractions when ``text``), ready for a dataframe."""
        return [r.as_dict(text) for r in self]


def _period(js):
    """Smallest q such that q·Π_{m≥j} J_m is an integer for every suffix."""
    q = 1
    prod = Fraction(1)
    for j in reversed(js):
        prod *= j
        q = math.lcm(q, prod.denominator)
    return q


def _exact_sizes(ops):
    """(min, max) exact hull size of one output's field through ``ops`` (first..last), on
    an unbounded input, over one period of output positions."""
    q = _period([op.relax()[0] for op in ops])
    o = np.arange(min(q, _MAX_PERIOD), dtype=np.int64)
    lo, hi = o.copy(), o.copy()
    empty = np.zeros(o.shape, bool)
    for op in reversed(ops):
        lo, hi = op.span_inf(lo, hi)
        lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
        empty |= lo > hi
    sizes = np.where(empty, 0, hi - lo + 1)
    return int(sizes.min()), int(sizes.max())


def _clipping(steps, upto, axis):
    """(clipped_before, clipped_after, empty, clipped_by) over every output position of
    ``steps[upto]`` along ``axis``, propagating exact fields down the finite maps."""
    n = steps[upto].axes[axis].n_out
    lo = np.arange(n, dtype=np.int64)
    hi = lo.copy()
    empty = np.zeros(n, bool)
    cut_lo = np.zeros(n, bool)
    cut_hi = np.zeros(n, bool)
    by = []
    for m in range(upto, -1, -1):
        op = steps[m].axes[axis]
        lo_i = np.clip(lo, 0, op.n_out - 1)
        hi_i = np.clip(hi, 0, op.n_out - 1)
        lo, hi = op.span(lo_i, hi_i)
        lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
        low = (lo < 0) & ~empty
        high = (hi > op.n_in - 1) & ~empty
        if low.any() or high.any():
            what = "input border" if m == 0 else f"padding of {steps[m].name}"
            if what not in by:
                by.append(what)
        cut_lo |= low
        cut_hi |= high
        lo = np.maximum(lo, 0)
        hi = np.minimum(hi, op.n_in - 1)
        empty |= lo > hi
    return (int((cut_lo & ~empty).sum()), int((cut_hi & ~empty).sum()), int(empty.sum()),
            tuple(by))


def _note(step, op, jump_before, size_min, size_max, size):
    parts = []
    if isinstance(op, ConvAxis):
        before, after = op.pad
        padding = getattr(step.layer, "padding", "valid")
        if padding == "same" and before != after:
            shift = Fraction(after - before, 2) * jump_before
            parts.append(
                f"'same' pads {before} before and {after} after (TensorFlow puts the odd cell "
                f"at the end): fields start {_fmt(shift)} cell(s) later than with symmetric "
                "padding")
        if after < 0:
            parts.append(f"the last {-after} input cell(s) of this layer are never read")
    elif isinstance(op, TransposeAxis):
        parts.append(f"transposed: jump divided by {op.s}" if op.s > 1 else "transposed")
        if op.p:
            parts.append(f"{op.p} cell(s) of the full output cut at the start")
    elif isinstance(op, ResizeAxis):
        parts.append(f"{op.method} ×{op.s}: fractional weights over up to {op.kernel} cells "
                     "(half-pixel centres, edge clamped)")
    elif isinstance(op, ShiftAxis) and op.offset:
        parts.append(f"shifts by {op.offset} cell(s)")
    elif step.kind == "upsample":
        parts.append(f"nearest ×{op.s}: jump divided by {op.s}")
    if size_min != size_max or Fraction(size_max) != size:
        parts.append(f"exact fields span {size_min}..{size_max} cells depending on the "
                     f"position (size {_fmt(size)} bounds them all)")
    return "; ".join(parts)


def build_table(steps, rank) -> ReceptiveTable:
    """The table for ``steps`` (see :func:`engine.receptive.receptive_field`)."""
    table = ReceptiveTable()
    state = [(Fraction(1), Fraction(0), Fraction(0)) for _ in range(rank)]
    rows = []
    for position, step in enumerate(steps):
        for axis, op in enumerate(step.axes):
            jump, start, end = state[axis]
            j, a, b = op.relax()
            new = (jump * j, start + a * jump, end + b * jump)
            state[axis] = new
            size = new[2] - new[1] + 1
            ops = [s.axes[axis] for s in steps[:position + 1]]
            size_min, size_max = _exact_sizes(ops)
            before, after, empty, by = _clipping(steps, position, axis)
            rows.append(FieldRow(
                position=position, layer=step.name, class_name=step.class_name, axis=axis,
                output_size=op.n_out, kernel=int(op.kernel), stride=op.stride,
                pad=tuple(int(v) for v in op.pad), size=size, jump=new[0], start=new[1],
                centre=(new[1] + new[2]) / 2, padding=-new[1], size_min=size_min,
                size_max=size_max, clipped_before=before, clipped_after=after, empty=empty,
                clipped_by=by, note=_note(step, op, jump, size_min, size_max, size)))
    table.extend(rows)
    return table
