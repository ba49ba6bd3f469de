"""Which names inside Keras the interpreter knows, and what calling them means.

Paths are normalized (``tensorflow.keras.layers.Conv2D`` → ``keras.layers.Conv2D``); only
``keras``, ``keras.layers``, ``keras.models``, ``keras.ops`` and ``keras.applications`` are
readable (and ``keras.backend.int_shape``), and the Keras objects of :mod:`.keras_objects`
(activations, regularizers, initializers, constraints). :func:`classify` says what a path
is.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from engine.stack.interp import keras_objects
from engine.stack.spec import KNOWN_LAYERS, MERGE_HELPERS, canonical, layer_class

ALLOWED_MODULES = ("keras", "tensorflow", "tf_keras", "numpy", "__future__")
NAMESPACES = ("keras", "keras.layers", "keras.models", "keras.ops", "keras.applications",
              "keras.backend", *keras_objects.MODULES)
_PREFIXES = (("tensorflow.python.keras.", "keras."), ("tensorflow.keras.", "keras."),
             ("tf_keras.", "keras."), ("keras.src.", "keras."))
# tensor operations of keras.ops (and layer-free helpers) that the interpreter computes
OPS = {"add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
       "maximum": "maximum", "minimum": "minimum", "concatenate": "concatenate",
       **{name: "same" for name in ("relu", "sigmoid", "tanh", "gelu", "silu", "softmax",
                                    "abs", "exp", "sqrt", "square", "negative", "relu6")}}
# keras.applications submodules that hold the backbones (keras.applications.resnet50.…)
APPLICATION_MODULES = ("vgg16", "vgg19", "resnet50", "resnet", "resnet_v2", "mobilenet",
                       "mobilenet_v2", "efficientnet", "xception")


def normalize(path: str) -> str:
    if path in ("tensorflow.keras", "tf_keras"):
        return "keras"
    for old, new in _PREFIXES:
        if path.startswith(old):
            return new + path[len(old):]
    return path


@dataclass(frozen=True)
class Kind:
    """What a Keras path is: ``what`` in ``namespace``, ``layer``, ``merge``, ``input``,
    ``sequential``, ``model``, ``application``, ``op``, ``shape``, ``activation``,
    ``object``; ``name`` the layer class, merge class, backbone, op or object."""

    what: str
    name: str = ""


def classify(path: str) -> Kind | None:
    """The :class:`Kind` of a normalized path, or None (not readable)."""
    if path in NAMESPACES or path in (f"keras.applications.{m}" for m in APPLICATION_MODULES):
        return Kind("namespace")
    head, _, last = path.rpartition(".")
    if head in ("keras", "keras.layers") and last in ("Input", "InputLayer"):
        return Kind("input", last)
    if head in ("keras", "keras.models") and last in ("Sequential", "Model"):
        return Kind(last.lower())
    if head == "keras.layers" and last in MERGE_HELPERS:
        return Kind("merge", MERGE_HELPERS[last])
    if head == "keras.layers" and last in KNOWN_LAYERS:
        return Kind("layer", canonical(last))
    if head.startswith("keras.applications"):
        return Kind("application", last)
    if head in keras_objects.MODULES:
        return Kind("activation" if head == "keras.activations" else "object", last)
    if (head, last) in (("keras.ops", "shape"), ("keras.backend", "int_shape")):
        return Kind("shape")
    if head == "keras.ops" and last in OPS:
        return Kind("op", OPS[last])
    return None


def bare_kind(name: str) -> Kind | None:
    """A name used without import (``Conv2D(...)`` in a snippet)."""
    if name in KNOWN_LAYERS:
        return Kind("layer", canonical(name))
    return {"Input": Kind("input", "Input"), "InputLayer": Kind("input", "InputLayer"),
            "Sequential": Kind("sequential"), "Model": Kind("model")}.get(name)


def positional_names(class_name: str):
    """Names of the positional parameters of the stand-in for ``class_name`` (None: the
    engine does not know the class, its positional arguments stay unnamed)."""
    cls = layer_class(class_name)
    if cls is None:
        return None
    return [p.name for p in inspect.signature(cls).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def layer_kwargs(class_name, args, kwargs, line) -> tuple:
    """``(kwargs with positional arguments named, unnamed positional arguments)``; a
    ValueError as Python's TypeError would say it."""
    names = positional_names(class_name)
    if names is None:
        return dict(kwargs), tuple(args)
    if len(args) > len(names):
        raise ValueError(f"Line {line}: {class_name}() takes at most {len(names)} positional "
                         f"arguments ({', '.join(names)}) but {len(args)} were given")
    named = {}
    for name, value in zip(names, args):
        if name in kwargs:
            raise ValueError(f"Line {line}: {class_name}() got multiple values for argument "
                             f"{name!r} (given by position and as a keyword or **kwargs)")
        named[name] = value
    return {**named, **kwargs}, ()
