"""Receptive fields of a stack of layers: exact contribution maps, masks and the arithmetic
table (Araujo, Norris & Sim, Distill 2019), plus the theoretical-vs-effective picture
(Luo et al., NIPS 2016).

``layers`` is a list of engine layers (the 19 of :mod:`engine.layers`, and the pooling layers
of :mod:`engine.pooling`) applied in order, built or not; ``input_shape`` is batch first in
the layers' data_format (every layer of a stack shares one data_format and rank); ``index``
is the output position, one int per spatial axis *in spatial order whatever the
data_format* (an int is accepted for 1-D).

Semantics (the choices where the design left room):

- ``weights="ones"`` (default): every kernel weight 1, biases 0, activations identity;
  UpSampling2D interpolation weights count as they are (bilinear gives fractions);
  average pooling divides by the number of real cells in the window, as TensorFlow does;
  *max pooling* counts as the average of its window (its expected gradient when every real
  cell is equally likely to be the maximum; the mask is then the theoretical field). ``x`` is
  ignored.
- ``weights="actual"``: the layers' own weights (Luo et al.'s effective receptive field).
  With ``x=None`` activations are identity and max pooling averages, as above: the map of
  the linearised network, independent of any input. With an input ``x`` (shape
  ``input_shape`` up to the batch; batch element 0 is used) the map is the true gradient of
  the network at ``x``: activation derivatives at the forward values (TensorFlow's
  conventions at kinks, e.g. ``relu'(0) = 0``) and max pooling routing to the first maximum
  of each window.
- The map is float64, shaped like the input's spatial axes; it is exactly zero outside the
  field's bounding box.

Public API::

    contribution_map(layers, input_shape, index, weights="ones", x=None) -> ndarray
    receptive_field_mask(layers, input_shape, index, weights="ones", x=None) -> bool ndarray
    receptive_field(layers, input_shape) -> ReceptiveTable (list of FieldRow)
    field_box(layers, input_shape, index) -> ((lo, hi), ...) or None
    describe_field(layers, input_shape, index) -> str
    effective_fraction(cmap, mass=0.95) -> dict;  erf_growth(make_layers, ...) -> Growth
    ReceptivePlan(layers, input_shape): the same, cached for many positions.

Example::

    >>> from engine.layers import Conv2D
    >>> from engine.receptive import contribution_map, receptive_field
    >>> stack = [Conv2D(1, 3), Conv2D(1, 3)]
    >>> contribution_map(stack, (1, 7, 7, 1), (0, 0))[:5, :5]   # 1 2 3 2 1 ⊗ 1 2 3 2 1
    >>> receptive_field(stack, (1, 7, 7, 1)).final(0).size       # Fraction(5, 1)
"""

from __future__ import annotations

from engine.geometry import AXIS_SHORT
from engine.receptive._effective import Growth, effective_fraction, erf_growth
from engine.receptive._maps import WEIGHTS, ReceptivePlan
from engine.receptive._table import FieldRow, ReceptiveTable, build_table

__all__ = [
    "contribution_map", "receptive_field_mask", "receptive_field", "field_box",
    "describe_field", "effective_fraction", "erf_growth", "Growth", "FieldRow",
    "ReceptiveTable", "ReceptivePlan", "WEIGHTS",
]


def contribution_map(layers, input_shape, index, weights="ones", x=None):
    """Gradient of ``Σ_c y[0, *index, c]`` (channels of the last layer's output at spatial
    position ``index``) with respect to the input, summed over input channels.

    Args:
        layers: list of engine layers, applied in order (built as needed).
        input_shape: tuple, batch first, in the layers' data_format.
        index: tuple of output spatial indices (the last layer's output).
        weights: ``"ones"`` (default) or ``"actual"`` (see the module docstring).
        x: optional input array for ``weights="actual"``: gradient of the real network at x.

    Returns:
        float64 array of the input's spatial shape.

    Raises:
        ValueError: unknown layer, mixed data_formats, an index outside the output, a shape
            Keras refuses (its message), or an unsupported activation with ``x``.
    """
    return ReceptivePlan(layers, input_shape).contribution_map(index, weights, x)


def receptive_field_mask(layers, input_shape, index, weights="ones", x=None):
    """Boolean array of the input's spatial shape: True where ``contribution_map`` is
    non-zero. With ``weights="ones"`` it is computed from absolute weights, so that signed
    interpolation taps (bicubic, lanczos) that happen to cancel still count (otherwise the
    two agree exactly); with ``weights="actual"`` it is ``contribution_map(...) != 0``."""
    return ReceptivePlan(layers, input_shape).mask(index, weights, x)


def receptive_field(layers, input_shape) -> ReceptiveTable:
    """Per layer and spatial axis, the receptive field of the sub-network ending at that
    layer: size, jump, start, centre, effective padding (exact fractions), exact size range,
    clipping counts and a note. See :class:`FieldRow`.

    Example: VGG-16 up to pool5 on 224×224 gives size 212, jump 32, padding 90 (Araujo et
    al.'s table)."""
    plan = ReceptivePlan(layers, input_shape)
    return build_table(plan.steps, plan.rank)


def field_box(layers, input_shape, index):
    """``((lo, hi), …)`` per spatial axis: the input cells output ``index`` depends on
    (exact hull, clipped to the input), or ``None`` if it depends on none."""
    return ReceptivePlan(layers, input_shape).field_box(index)


def describe_field(layers_or_plan, input_shape=None, index=None, weights="ones", x=None,
                   mass=0.95, cmap=None, mask=None) -> str:
    """One sentence about output ``index``: the input range it sees per axis, how many cells
    of that box are in the field, and how many carry ``mass`` of the contribution.

    ``layers_or_plan`` may be a :class:`ReceptivePlan` (then ``input_shape`` is ignored);
    ``cmap`` / ``mask`` may be passed when already computed for this index.
    Example: ``"output (3, 4) sees input rows 2..8, cols 3..9: 49 cells (of a 7 × 7 box);
    95% of the contribution comes from 21 of them (43% of the field's 49 cells)."``
    """
    plan = layers_or_plan if isinstance(layers_or_plan, ReceptivePlan) else ReceptivePlan(
        layers_or_plan, input_shape)
    index = plan.check_index(index)
    where = f"output {index if len(index) > 1 else index[0]}"
    box = plan.field_box(index)
    if box is None:
        return f"{where} sees no input cell (it is made of padding or of a gap)."
    names = AXIS_SHORT[plan.rank]
    ranges = ", ".join(f"{name} {lo}..{hi}" for name, (lo, hi) in zip(names, box))
    cmap = plan.contribution_map(index, weights, x) if cmap is None else cmap
    mask = plan.mask(index, weights, x) if mask is None else mask
    cells = int(mask.sum())
    dims = " × ".join(str(hi - lo + 1) for lo, hi in box)
    text = f"{where} sees input {ranges}: {cells} cell{'s' if cells != 1 else ''}"
    text += f" (of a {dims} box)" if plan.rank > 1 or cells != box[0][1] - box[0][0] + 1 else ""
    stats = effective_fraction(cmap, mass)
    if stats["effective_cells"]:
        share = stats["effective_cells"] / max(cells, 1)
        text += (f"; {mass:.0%} of the contribution comes from {stats['effective_cells']} of "
                 f"them ({share:.0%} of the field's {cells} cells)")
    return text + "."
