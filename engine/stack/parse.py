"""Keras code and Keras model configs → layer specs, without executing anything.

:func:`parse_keras_code` reads pasted code with the bounded interpreter of
:mod:`engine.stack.interp` (``ast`` only): assignments, arithmetic, ``if`` / ``for`` /
``while``, comprehensions, f-strings, the file's own functions and Model subclasses,
Sequential and functional models (nested, several per file), ``keras.applications``
backbones from shipped data. Anything else — other imports and attributes, ``open``,
``eval``, lambdas, classes that are not Model subclasses… — raises ``ValueError`` naming
the line and the construct; limits are named constants of
:mod:`engine.stack.interp.limits`.

:func:`load_model_config` reads ``model.to_json()`` text, ``model.get_config()`` dicts, or
the ``config.json`` inside a ``.keras`` archive (never its weights).
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import warnings
import zipfile

from engine.stack import interp
from engine.stack.interp.assemble import is_chain, map_graph
from engine.stack.interp.limits import MAX_LAYERS_CREATED
from engine.stack.interp.values import InputOp, Node, Tensor
from engine.stack.spec import (
    INPUT_NAME, MAX_ARCHIVE_BYTES, MAX_CONFIG_BYTES, MAX_LAYERS, MAX_SOURCE_BYTES, LayerSpec,
    Parsed, assign_names, canonical, layer_class,
)


def _check_input_shape(shape, where):
    if isinstance(shape, (int,)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise ValueError(f"{where}: the input shape must be a tuple of sizes. "
                         f"Received: {shape!r}")
    for d in shape:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
            raise ValueError(f"{where}: input shape entries must be non-negative integers "
                             f"or None. Received: shape={tuple(shape)}")
    return tuple(shape)


def keras_layer_order(specs, names, input_name, outputs):
    """Keras's ``model.layers`` order for a functional config graph: the layers that lead
    to ``outputs``, as :func:`engine.stack.interp.assemble.map_graph` orders them."""
    first = Tensor(None, input_name)
    first.node = Node(InputOp(input_name), [], first, 0)
    tensors = {input_name: first}
    for spec, name in zip(specs, names):
        out = Tensor(None, name)
        out.node = Node(spec, [tensors[n] for n in spec.inputs or () if n in tensors], out, 0)
        tensors[name] = out
    operations, _ = map_graph([first], [tensors[n] for n in outputs if n in tensors])
    return [op for op in operations if isinstance(op, LayerSpec)]


def parse_keras_code(source: str, model: str | None = None) -> Parsed:
    """Keras code → :class:`Parsed` ``(specs, input_shape)``, read by the bounded
    interpreter of :mod:`engine.stack.interp` (``ast`` only, nothing is executed).

    ``specs`` are the rows of the model bound to ``model`` in the code, else of the last
    model built (or of the model labelled ``model`` here), in ``model.layers`` order;
    ``input_shape`` is the ``shape`` of its first ``keras.Input`` (batch excluded) or
    ``None``; ``Parsed.models`` names every model of the file. Raises ``ValueError``
    naming the line and the construct for anything the interpreter does not read
    (:class:`engine.stack.interp.Refused`) and for a limit hit
    (:mod:`engine.stack.interp.limits`) — their ``partial`` attribute is the
    :class:`Parsed` of the model read until then (or None) — and for more than
    ``MAX_SOURCE_BYTES`` of code.
    """
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if not isinstance(source, str):
        raise ValueError(f"Keras code must be a string. Received: {type(source).__name__}")
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise ValueError(f"The code is longer than {MAX_SOURCE_BYTES // 1000} kB (limit "
                         "MAX_SOURCE_BYTES); paste the model definition only.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        raise ValueError(f"Line {exc.lineno}: Python syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError("The code is nested too deeply to be read.") from None
    try:
        return interp.select(interp.read(tree, source), model)
    except (interp.Refused, interp.LimitExceeded) as exc:
        exc.partial = interp.partial(exc.program)
        raise
    except RecursionError:
        raise ValueError("The code is nested too deeply to be read (limit: Python's "
                         "recursion depth).") from None


# ---------------------------------------------------------------------------- configs

def _parameters(class_name) -> frozenset:
    """The named parameters of the class standing for ``class_name`` (empty if none)."""
    cls = layer_class(class_name)
    return frozenset(inspect.signature(cls).parameters) if cls is not None else frozenset()


def _shape_only_kwargs(class_name, config):
    """Keep the keys the shape-only stand-in knows (a config from a newer Keras may carry
    more, e.g. quantization settings)."""
    cls = layer_class(class_name)
    if cls is None:
        return dict(config)
    params = set(inspect.signature(cls).parameters)
    if "kwargs" in params:
        params |= {"name", "trainable", "dtype"}
    if "negative_slope" in params:
        params.add("alpha")
    return {k: v for k, v in config.items() if k in params}


def _history_names(arg):
    """Names of the layers producing the tensors in one inbound-node argument."""
    if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
        return [arg["config"]["keras_history"][0]]
    if isinstance(arg, (list, tuple)):
        if len(arg) >= 3 and isinstance(arg[0], str) and isinstance(arg[1], int):
            return [arg[0]]                                   # Keras 2: [name, node, tensor]
        out = []
        for a in arg:
            out += _history_names(a)
        return out
    return []


def _inbound(layer_cfg):
    nodes = layer_cfg.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) > 1:
        raise ValueError(f"Layer {layer_cfg.get('name')!r} is applied more than once (shared "
                         "layers are not supported by the shape debugger).")
    node = nodes[0]
    if isinstance(node, dict):
        keywords = node.get("kwargs") or {}
        tensors = [keywords[k] for k in _TENSOR_KEYWORDS if k in keywords]
        return _history_names(list(node.get("args", [])) + tensors)
    return _history_names(node)


# tensors given by keyword in a call (MultiHeadAttention, RNN initial states), in order
_TENSOR_KEYWORDS = ("query", "value", "key", "initial_state")


def _flat_layer_names(value):
    """``input_layers`` / ``output_layers``: [name, 0, 0] or [[name, 0, 0], ...]."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        return [value[0]]
    return [v[0] for v in value or []]


def config_to_parsed(config) -> Parsed:
    """A Keras model config (``json.loads(model.to_json())`` or ``model.get_config()``)
    → :class:`Parsed`. Layer configs become kwargs as ``from_config`` would pass them."""
    if not isinstance(config, dict):
        raise ValueError("A Keras model config is a JSON object with 'class_name' and 'config'.")
    class_name = config.get("class_name")
    cfg = config.get("config", config)
    if not isinstance(cfg, dict) or not isinstance(cfg.get("layers"), list):
        raise ValueError("This JSON is not a Keras model config: no 'layers' list found. "
                         "Use model.to_json() or the config.json inside a .keras file.")
    layers = cfg["layers"]
    if _total_layers(cfg) > MAX_LAYERS_CREATED:
        raise ValueError(f"The config holds more than {MAX_LAYERS_CREATED:,} layers, nested "
                         "models included (limit MAX_LAYERS_CREATED).")
    if len(layers) > MAX_LAYERS + 1:
        raise ValueError(f"The model has {len(layers)} layers; the shape debugger is limited "
                         f"to {MAX_LAYERS}.")
    functional = class_name in ("Functional", "Model") or any(
        "inbound_nodes" in lyr for lyr in layers if isinstance(lyr, dict))
    specs, shape, batch, input_name, notes = [], None, None, INPUT_NAME, []
    for lyr in layers:
        if not isinstance(lyr, dict) or "class_name" not in lyr:
            raise ValueError(f"A layer entry of the config is not a layer: {str(lyr)[:80]}")
        cname = canonical(str(lyr["class_name"]))
        lcfg = dict(lyr.get("config") or {})
        if cname == "InputLayer":
            full = lcfg.get("batch_shape") or lcfg.get("batch_input_shape")
            if full is None and lcfg.get("shape") is not None:
                full = [lcfg.get("batch_size")] + list(lcfg["shape"])
            if full is None:
                raise ValueError("The InputLayer of the config has no batch_shape.")
            batch, shape = full[0], _check_input_shape(list(full[1:]), "config")
            input_name = lyr.get("name") or lcfg.get("name") or INPUT_NAME
            continue
        if cname in ("Sequential", "Functional", "Model"):
            specs.append(_nested_spec(lyr, functional))
            continue
        if shape is None and not specs:
            for key in ("batch_input_shape", "batch_shape"):
                if lcfg.get(key):
                    batch, shape = lcfg[key][0], tuple(lcfg[key][1:])
            build = (lyr.get("build_config") or {}).get("input_shape")
            if shape is None and build and not functional:
                batch, shape = build[0], tuple(build[1:])
        for key in ("batch_input_shape", "batch_shape", "input_shape", "input_dim"):
            if key not in _parameters(cname):      # Embedding's input_dim is its own
                lcfg.pop(key, None)
        if layer_class(cname) is not None and cname not in _ENGINE_NAMES:
            lcfg = _shape_only_kwargs(cname, lcfg)
        inputs = _inbound(lyr) if functional else None
        specs.append(LayerSpec(cname, lcfg, inputs=inputs if functional else None))
    if shape is None and cfg.get("build_input_shape"):
        full = cfg["build_input_shape"]
        batch, shape = full[0], tuple(full[1:])
    outputs = None
    if functional:
        outputs = _flat_layer_names(cfg.get("output_layers")) or (
            [specs[-1].kwargs.get("name")] if specs else [])
        names = assign_names(specs, taken={input_name})
        specs = [s.replace(name=n) for s, n in zip(specs, names)]
        specs = keras_layer_order(specs, names, input_name, outputs)
        if is_chain(specs, input_name):
            specs = [s.replace(inputs=None) for s in specs]
    return Parsed(specs, shape, batch, "functional" if functional else "sequential",
                  input_name=input_name, outputs=outputs, notes=notes)


def _nested_spec(layer_config, functional) -> LayerSpec:
    """A model inside the config: one row (:mod:`engine.stack.nested`)."""
    inner = config_to_parsed(layer_config)
    kind = "Sequential" if layer_config["class_name"] == "Sequential" else "Functional"
    name = layer_config.get("name") or (layer_config.get("config") or {}).get("name")
    return LayerSpec(kind, {"name": name, "model": inner},
                     inputs=_inbound(layer_config) if functional else None)


def _total_layers(cfg) -> int:
    """Layers of a model config, those of nested models included."""
    total = 0
    for lyr in cfg.get("layers") or []:
        total += 1
        if isinstance(lyr, dict) and lyr.get("class_name") in ("Sequential", "Functional",
                                                               "Model"):
            total += _total_layers(lyr.get("config") or {})
    return total


def load_model_config(data) -> Parsed:
    """``model.to_json()`` text (str or bytes), a config dict, or the bytes of a ``.keras``
    archive → :class:`Parsed`. Only ``config.json`` is read from an archive; its weights
    are never opened. Sizes are bounded (``MAX_ARCHIVE_BYTES``, ``MAX_CONFIG_BYTES``)."""
    if isinstance(data, dict):
        return config_to_parsed(data)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError("Give the model's JSON text or the bytes of a .keras file.")
    if data[:2] == b"PK":
        if len(data) > MAX_ARCHIVE_BYTES:
            raise ValueError(f"The .keras file is larger than {MAX_ARCHIVE_BYTES // 10**6} MB.")
        try:
            with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
                try:
                    info = zf.getinfo("config.json")
                except KeyError:
                    raise ValueError("This archive has no config.json: it is not a .keras "
                                     "file (Keras 3 format).") from None
                if info.file_size > MAX_CONFIG_BYTES:
                    raise ValueError("config.json inside the .keras file is larger than "
                                     f"{MAX_CONFIG_BYTES // 10**6} MB.")
                with zf.open(info) as fh:
                    data = fh.read(MAX_CONFIG_BYTES + 1)
        except zipfile.BadZipFile as exc:
            raise ValueError(f"Not a readable .keras (zip) file: {exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"The JSON is larger than {MAX_CONFIG_BYTES // 10**6} MB.")
    try:
        config = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"Not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError("The JSON is nested too deeply.") from None
    return config_to_parsed(config)


from engine.layers import LAYER_CLASSES as _ENGINE_LAYERS  # noqa: E402

_ENGINE_NAMES = frozenset(_ENGINE_LAYERS)
