"""Weight shapes of the convolution family, in Keras's order: the one statement of them.

The layers create their weights from :func:`weight_shapes` (``build``), and everything that
reports parameters without building (the app's budget, the stack summary, the breakdowns in
words) reads the same function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Layer kinds (the ``kind`` class attribute of every engine layer), with weights first.
WEIGHTED_KINDS = ("conv", "depthwise", "separable", "transpose")
KINDS = WEIGHTED_KINDS + ("maxpool", "avgpool", "crop", "pad", "upsample")

#: Per kind, the argument prefixes of its kernels in Keras's order (``kernel_initializer``,
#: ``depthwise_regularizer`` …); the bias (prefix ``bias``) always comes last.
KERNEL_PREFIXES = {"conv": ("kernel",), "transpose": ("kernel",), "depthwise": ("depthwise",),
                   "separable": ("depthwise", "pointwise")}


@dataclass(frozen=True)
class WeightShape:
    """One weight: Keras's ``name`` (``kernel``, ``depthwise_kernel``, ``bias`` …), its
    ``shape`` and the argument ``prefix`` of its initializer / regularizer / constraint."""

    name: str
    shape: tuple
    prefix: str

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def weight_shapes(layer, in_channels: int) -> tuple[WeightShape, ...]:
    """The weights ``layer.build`` creates for ``in_channels`` input channels, in Keras's
    order (``get_weights()``); ``()`` for the weightless kinds.

    Conv ``(*k, C/groups, F)``, transposed ``(*k, F, C)``, depthwise ``(*k, C, M)``,
    separable ``(*k, C, M)`` then ``(1,)*rank + (C·M, F)``; bias ``(F,)`` (depthwise ``(C·M,)``)."""
    kind, c = layer.kind, int(in_channels)
    if kind not in WEIGHTED_KINDS:
        return ()
    k = tuple(layer.kernel_size)
    if kind == "conv":
        out = [WeightShape("kernel", k + (c // layer.groups, layer.filters), "kernel")]
        n_bias = layer.filters
    elif kind == "transpose":
        out = [WeightShape("kernel", k + (layer.filters, c), "kernel")]
        n_bias = layer.filters
    elif kind == "depthwise":
        out = [WeightShape("kernel", k + (c, layer.depth_multiplier), "depthwise")]
        n_bias = c * layer.depth_multiplier
    else:
        m = layer.depth_multiplier
        out = [WeightShape("depthwise_kernel", k + (c, m), "depthwise"),
               WeightShape("pointwise_kernel", (1,) * len(k) + (c * m, layer.filters),
                           "pointwise")]
        n_bias = layer.filters
    if layer.use_bias:
        out.append(WeightShape("bias", (n_bias,), "bias"))
    return tuple(out)
