"""What every view receives: the chosen layer, its arguments and the input, already parsed.

The router (``app/main.py``) builds one ``ViewContext`` per rerun from the sidebar widgets /
URL and calls ``render(ctx)`` of the page module for the current ``view=`` (``explore``,
``animate``, ``receptive``, ``stack``). Pages never parse the URL themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ViewContext:
    """layer_name: one of engine.layers.LAYER_CLASSES; kwargs: constructor arguments exactly
    as a user would pass them to Keras; x: input array, batch first, in the layer's
    data_format (float32); input_label: where x came from (sample name, upload, synthetic)."""

    layer_name: str
    kwargs: dict
    x: np.ndarray
    input_label: str = "synthetic"
    extras: dict = field(default_factory=dict)  # view-specific URL parameters (strings)

    def make_layer(self):
        """A fresh engine layer (raises ValueError with Keras's reason if invalid)."""
        from engine.layers import LAYER_CLASSES

        return LAYER_CLASSES[self.layer_name](**self.kwargs)
