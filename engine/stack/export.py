"""A stack back to clean Keras code, and to a shareable URL query.

:func:`to_keras_code` writes ``keras.Sequential([...])`` for a chain and a functional
``keras.Model(inputs, outputs)`` for a graph with merges. Arguments equal to Keras's
defaults are left out (``strides=(1, 1)``, ``padding="valid"``, default initializers,
``dtype`` policies, auto-generated names…), uniform tuples are written as one int
(``kernel_size=(3, 3)`` → ``3``), required arguments are positional. The code reads back
with :func:`engine.stack.parse_keras_code` to the same layers.
"""

from __future__ import annotations

import inspect
import keyword
import re
from urllib.parse import quote

from engine.config import image_data_format
from engine.literals import literal
from engine.stack.spec import INPUT_NAME, LayerSpec, as_spec, assign_names, layer_class, \
    snake_case

_UNIFORM = ("kernel_size", "strides", "dilation_rate", "pool_size", "size", "output_padding")
_BASE_DEFAULTS = {"trainable": True, "activity_regularizer": None, "dtype": None}
_DEFAULT_NAMES = {"glorot_uniform", "zeros", "ones"}


def _plain(value):
    """Lists → tuples (recursively), as Keras's configs store tuples as lists."""
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _simplify_object(value):
    """A Keras object config dict (initializer, regularizer, constraint, dtype policy) →
    its snake-case name when it has no non-default settings."""
    if isinstance(value, dict) and "class_name" in value:
        cfg = value.get("config") or {}
        if value["class_name"] == "DTypePolicy":
            return None if cfg.get("name", "float32") == "float32" else cfg.get("name")
        if all(v is None for v in cfg.values()):
            return snake_case(value["class_name"])
    return value


def clean_kwargs(class_name: str, kwargs: dict, auto_name: str | None = None) -> dict:
    """``kwargs`` without the arguments that equal Keras's defaults (see module doc)."""
    cls = layer_class(class_name)
    defaults = dict(_BASE_DEFAULTS)
    if cls is not None:
        for p in inspect.signature(cls).parameters.values():
            if p.default is not inspect.Parameter.empty:
                defaults[p.name] = p.default
    out = {}
    for key, value in kwargs.items():
        value = _simplify_object(_plain(value))
        if key == "name":
            if value is None or value == auto_name or re.fullmatch(
                    rf"{re.escape(snake_case(class_name))}(_\d+)?", str(value)):
                continue
        if key in _UNIFORM and isinstance(value, tuple) and value and \
                len(set(value)) == 1 and isinstance(value[0], int):
            value = value[0]
        if key == "activation" and value == "linear" and class_name != "Activation":
            value = None
        if key == "data_format" and value == image_data_format():
            value = None
        if key.endswith("_initializer") and isinstance(value, str) and \
                value in _DEFAULT_NAMES and defaults.get(key) == value:
            continue
        if key in defaults:
            default = _plain(defaults[key])
            if key in _UNIFORM and isinstance(default, tuple) and len(set(default)) == 1:
                default = default[0]
            if value == default and type(value) is type(default) or \
                    (value is None and default is None):
                continue
            if key == "padding" and isinstance(value, str) and value.lower() == default:
                continue
        out[key] = value
    return out


def layer_call(spec, auto_name=None) -> str:
    """``layers.Conv2D(32, 3, padding="same")`` for one spec."""
    spec = as_spec(spec)
    kwargs = clean_kwargs(spec[0], spec[1], auto_name)
    cls = layer_class(spec[0])
    positional = [literal(a) for a in getattr(spec, "args", ())]
    if cls is not None:
        for p in inspect.signature(cls).parameters.values():
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY):
                break
            if p.default is not inspect.Parameter.empty or p.name not in kwargs:
                break
            positional.append(literal(kwargs.pop(p.name)))
    args = positional + [f"{k}={literal(v)}" for k, v in kwargs.items()]
    return f"layers.{spec[0]}({', '.join(args)})"


def _ident(name, used):
    base = re.sub(r"\W", "_", str(name)) or "x"
    if base[0].isdigit() or keyword.iskeyword(base) or base in ("keras", "layers", "model"):
        base = f"x_{base}"
    cand, k = base, 1
    while cand in used:
        k += 1
        cand = f"{base}_{k}"
    used.add(cand)
    return cand


def _input_line(input_shape, batch_size):
    shape = "None" if input_shape is None else literal(tuple(input_shape))
    extra = "" if batch_size is None else f", batch_size={batch_size}"
    return f"keras.Input(shape={shape}{extra})"


def to_keras_code(specs, input_shape=None, batch_size=None, input_name=INPUT_NAME) -> str:
    """Keras 3 code that builds the stack (``input_shape`` excludes the batch)."""
    specs = [as_spec(s) for s in specs]
    names = assign_names(specs, taken={input_name})
    chain = all(s.inputs is None for s in specs)
    if not chain:
        prev = input_name
        chain = True
        for s, n in zip(specs, names):
            if s.inputs is not None and list(s.inputs) != [prev]:
                chain = False
                break
            prev = n
    auto = [None if s[1].get("name") else n for s, n in zip(specs, names)]
    lines = ["import keras", "from keras import layers", ""]
    if chain:
        lines.append("model = keras.Sequential([")
        if input_shape is not None:
            lines.append(f"    {_input_line(input_shape, batch_size)},")
        for s, a in zip(specs, auto):
            lines.append(f"    {layer_call(s, a)},")
        lines.append("])")
        return "\n".join(lines) + "\n"
    used: set = set()
    var = {input_name: _ident("inputs", used)}
    lines.append(f"{var[input_name]} = {_input_line(input_shape, batch_size)}")
    for i, (s, n, a) in enumerate(zip(specs, names, auto)):
        inputs = list(s.inputs) if s.inputs is not None else [names[i - 1] if i else input_name]
        var[n] = _ident(n, used)
        arg = var.get(inputs[0], inputs[0]) if len(inputs) == 1 and \
            layer_class(s[0]) is not None and getattr(layer_class(s[0]), "n_inputs", 1) == 1 \
            else "[" + ", ".join(var.get(x, x) for x in inputs) + "]"
        lines.append(f"{var[n]} = {layer_call(s, a)}({arg})")
    out_var = var[names[-1]] if names else var[input_name]
    lines.append(f"model = keras.Model({var[input_name]}, {out_var})")
    return "\n".join(lines) + "\n"


def to_url_query(specs, input_shape=None, batch_size=None) -> str:
    """``view=stack&code=…``: the stack as Keras code in the URL (read back with
    :func:`from_url_params`)."""
    code = to_keras_code(specs, input_shape, batch_size)
    return "view=stack&code=" + quote(code, safe="")


def from_url_params(params: dict):
    """The Keras code in ``params["code"]`` (as Streamlit's query params give it), or None."""
    code = params.get("code")
    if isinstance(code, list):
        code = code[-1] if code else None
    return code or None


__all__ = ["to_keras_code", "layer_call", "clean_kwargs", "to_url_query", "from_url_params",
           "LayerSpec"]
