"""Shape debugging for a stack of layers (UI-free; see DESIGN.md, engine.stack).

- :func:`parse_keras_code` — pasted Keras code → ``(specs, input_shape)`` using ``ast`` only.
- :func:`load_model_config` — ``model.to_json()`` text or a ``.keras`` file's config.json.
- :func:`summarize` — one row per layer as in ``model.summary()`` (output shape, params,
  error) plus multiply-adds and receptive-field columns; :func:`analyze` returns the full
  :class:`Report` (rows, named specs, totals, notes).
- :func:`suggest_fixes` — checked one-click edits for the first failing layer.
- :func:`to_keras_code`, :func:`to_url_query` — export the stack.
- :func:`run_stack`, :func:`fit_input`, :func:`receptive_chain` — feature maps on a real input.

A spec is ``(class_name, kwargs)`` (:class:`LayerSpec`, with ``inputs`` naming the layers a
merge takes). The 19 convolutional-family layers are computed by :mod:`engine.layers`,
pooling by :mod:`engine.pooling`, and Dense, BatchNormalization, activations, Dropout,
Flatten, Reshape, global pooling and merges by the shape-only stand-ins of
:mod:`engine.stack.extra`; any other Keras layer is listed and marked unsupported.
"""

from engine.stack.export import to_keras_code, to_url_query
from engine.stack.fixes import Fix, suggest_fixes
from engine.stack.parse import config_to_parsed, load_model_config, parse_keras_code
from engine.stack.run import fit_input, receptive_chain, run_cost_error, run_stack
from engine.stack.spec import (
    KNOWN_LAYERS, MAX_LAYERS, MAX_SOURCE_BYTES, SUPPORTED, LayerSpec, Parsed, layer_kind,
)
from engine.stack.summary import Report, analyze, format_fraction, summarize

__all__ = [
    "Fix", "KNOWN_LAYERS", "LayerSpec", "MAX_LAYERS", "MAX_SOURCE_BYTES", "Parsed", "Report",
    "SUPPORTED", "analyze", "config_to_parsed", "fit_input", "format_fraction", "layer_kind",
    "load_model_config", "parse_keras_code", "receptive_chain", "run_cost_error", "run_stack",
    "suggest_fixes", "summarize", "to_keras_code", "to_url_query",
]
