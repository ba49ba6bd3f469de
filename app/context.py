"""What every view receives: the chosen layer, its arguments, the input, and what the engine
says about them, already worked out once.

The router (``app/main.py``) builds one :class:`ViewContext` per rerun from the sidebar
widgets / URL and calls ``render(ctx)`` of the page module for the current ``view=``
(``explore``, ``animate``, ``receptive``, ``stack``). Pages never parse the URL themselves:
``ctx.extras`` holds the URL parameters the page declares in its ``URL_PARAMS``, and
``render`` returns their new values. The selected cell is one :class:`Selection`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from app import compute
from app.presets import layer_weights
from engine.geometry import WEIGHTED_KINDS, LayerGeometry, geometry
from engine.layers import LAYER_CLASSES
from engine.layers.base import Layer


@dataclass(frozen=True)
class Selection:
    """The one selected cell of the app: an output cell (``where="output"``, what
    ``cell=(r, c)`` in the URL means) or an input cell (``where="input"``), in spatial
    order whatever the data_format."""

    where: str
    cell: tuple

    @property
    def output(self) -> tuple | None:
        """The cell when an output cell is selected (what the URL carries), else ``None``."""
        return self.cell if self.where == "output" else None


@dataclass(frozen=True)
class LastGood:
    """The last configuration Keras accepted (kept in the session without its arrays): what
    the router falls back to when Keras refuses the next one. Defined here, not in the
    router script, which Streamlit executes anew on every rerun."""

    layer_name: str
    kwargs: dict
    weights_mode: str
    custom: list | None
    x_shape: tuple


def weighted_layer(layer_name: str, kwargs: dict, input_shape: tuple, weights_mode: str,
                   custom=None) -> Layer:
    """A fresh engine layer; with weights from a preset / the custom grid (``weights_mode``
    other than ``init``) it is built on ``input_shape`` and they are set in Keras's order.
    Raises ValueError when Keras refuses the arguments or the weights are over budget."""
    layer = LAYER_CLASSES[layer_name](**kwargs)
    refusal = compute.cost_of(geometry(layer, tuple(input_shape))).params_refusal
    if refusal:
        raise ValueError(refusal)
    if layer.kind in WEIGHTED_KINDS and weights_mode != "init":
        layer.build(tuple(input_shape))
        layer.set_weights(layer_weights(layer, weights_mode, custom))
    return layer


@dataclass
class ViewContext:
    """layer_name: one of engine.layers.LAYER_CLASSES; kwargs: constructor arguments exactly
    as a user would pass them to Keras; x: input array, batch first, in the layer's
    data_format (float32); input_label: where x came from (sample name, upload, synthetic);
    weights_mode / custom: a preset name, ``init`` or ``custom`` (with its grid); extras:
    the URL parameters the view owns (strings); error: Keras's reason when this is the last
    valid configuration instead of the one the sidebar asks for.

    Worked out at construction (ValueError: Keras's reason, from the constructor, the shapes
    or a build-time check such as groups vs channels, without allocating weights): ``layer``
    (constructed, not built), its ``data_format`` (keras.json's default resolved),
    ``geometry`` (on ``x.shape``) and ``cost``; ``built`` and ``weights`` on first use."""

    layer_name: str
    kwargs: dict
    x: np.ndarray
    input_label: str = "synthetic"
    weights_mode: str = "init"
    custom: list | None = None
    extras: dict = field(default_factory=dict)
    error: str | None = None
    layer: Layer = field(init=False)
    data_format: str = field(init=False)
    geometry: LayerGeometry = field(init=False)
    cost: compute.Cost = field(init=False)

    def __post_init__(self) -> None:
        self.layer = LAYER_CLASSES[self.layer_name](**self.kwargs)
        self.data_format = self.layer.data_format
        self.geometry = geometry(self.layer, tuple(self.x.shape))
        self.cost = compute.cost_of(self.geometry)

    @property
    def rank(self) -> int:
        return self.geometry.rank

    @property
    def kind(self) -> str:
        return self.geometry.kind

    def make_layer(self) -> Layer:
        """A fresh engine layer with the chosen weights, built on ``x`` when they come from a
        preset (raises ValueError with the reason when its weights are over budget)."""
        return weighted_layer(self.layer_name, self.kwargs, tuple(self.x.shape),
                              self.weights_mode, self.custom)

    @cached_property
    def built(self) -> Layer:
        """:meth:`make_layer`, built on ``x`` (ValueError over budget)."""
        layer = self.make_layer()
        if not layer.built:
            layer.build(tuple(self.x.shape))
        return layer

    @property
    def weights(self) -> list:
        """The layer's weights in Keras's order (``[]`` for the weightless kinds)."""
        return self.built.get_weights() if self.kind in WEIGHTED_KINDS else []
