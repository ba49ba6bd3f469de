"""``keras.applications`` backbones from the layer structures shipped as data.

``engine/stack/backbones/<name>.json`` (made once by ``scripts/make_backbone_structures.py``
from Keras, weights=None) lists the layers of the base, the classifier top and the pooling
heads; :func:`build` replays them into the file's graph for the arguments given, as
``keras.applications`` would build the model. Nothing is downloaded: ``weights`` must be
None.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from engine.stack.interp.errors import Refused
from engine.stack.interp.values import FunctionalModel, Tensor
from engine.stack.spec import snake_case

DATA = Path(__file__).resolve().parent.parent / "backbones"
ARGUMENTS = ("include_top", "weights", "input_tensor", "input_shape", "pooling", "classes",
             "classifier_activation", "name", "alpha", "depth_multiplier", "dropout")
# arguments that change the structure: only the value the data was made with is shipped
FIXED = {"alpha": 1.0, "depth_multiplier": 1}
INPUT = "input"      # the name the records read the model's input by


@dataclass(frozen=True)
class Backbone:
    """One shipped structure: records are ``[class, name, kwargs, inbound names]``, the
    model's input being ``"input"``."""

    name: str
    default_size: int
    min_size: int
    base: list
    top: list
    pooling: dict


@functools.lru_cache(maxsize=None)
def shipped() -> tuple:
    """The class names of the shipped backbones (``ResNet50``…), from the data files."""
    return tuple(sorted(json.loads(p.read_text())["class"] for p in DATA.glob("*.json")))


@functools.lru_cache(maxsize=None)
def load(class_name: str) -> Backbone:
    data = json.loads((DATA / f"{class_name.lower()}.json").read_text())
    return Backbone(data["name"], data["default_size"], data["min_size"], data["base"],
                    data["top"], data["pooling"])


@dataclass(frozen=True)
class Options:
    """The arguments of a ``keras.applications`` call that shape the model."""

    include_top: bool
    input_shape: tuple
    pooling: str | None
    classes: int
    name: str | None
    input_tensor: Tensor | None


def options(class_name, kwargs, line) -> Options:
    """Keras's checks (``imagenet_utils.obtain_input_shape``) on the call's arguments."""
    unknown = [k for k in kwargs if k not in ARGUMENTS]
    if unknown:
        raise Refused(f"Line {line}: {class_name}() got an unexpected argument {unknown[0]!r}.")
    if kwargs.get("weights", "imagenet") is not None:
        raise Refused(f"Line {line}: {class_name}(weights={kwargs.get('weights', 'imagenet')!r})"
                      " would load pretrained weights; write weights=None (the shapes and "
                      "parameter counts are the same).")
    for key, value in FIXED.items():
        if kwargs.get(key, value) != value:
            raise Refused(f"Line {line}: {class_name}({key}={kwargs[key]!r}) is not shipped "
                          f"with the shape debugger; use {key}={value!r}.")
    backbone = load(class_name)
    include_top = bool(kwargs.get("include_top", True))
    tensor = kwargs.get("input_tensor")
    shape = kwargs.get("input_shape")
    if tensor is not None:
        if not isinstance(tensor, Tensor) or tensor.shape is None:
            raise Refused(f"Line {line}: input_tensor= must be a tensor such as keras.Input().")
        shape = tensor.shape[1:]
    shape = _input_shape(shape, backbone, include_top, line)
    pooling = kwargs.get("pooling")
    if pooling not in (None, "avg", "max"):
        raise Refused(f"Line {line}: pooling must be None, 'avg' or 'max'. "
                      f"Received: pooling={pooling!r}")
    classes = kwargs.get("classes", 1000)
    return Options(include_top, shape, pooling, classes, kwargs.get("name"), tensor)


def _input_shape(shape, backbone, include_top, line) -> tuple:
    if shape is None:
        return ((backbone.default_size, backbone.default_size, 3) if include_top
                else (None, None, 3))
    shape = tuple(shape)
    if len(shape) != 3:
        raise Refused(f"Line {line}: `input_shape` must be a tuple of three integers.")
    if any(d is not None and d < backbone.min_size for d in shape[:2]):
        raise Refused(f"Line {line}: Input size must be at least {backbone.min_size}x"
                      f"{backbone.min_size}; Received: input_shape={shape}")
    if include_top and None in shape:
        raise Refused(f"Line {line}: If `include_top` is True, you should specify a static "
                      f"`input_shape`. Received: input_shape={shape}")
    return shape


def _correct_pad(kwargs, tensor):
    """``imagenet_utils.correct_pad``: one zero less before when the size is even."""
    pad = kwargs.get("padding")
    if not (isinstance(pad, dict) and "correct_pad" in pad):
        return kwargs
    rows, cols = tensor.shape[1:3]
    adjust = (1, 1) if rows is None else (1 - rows % 2, 1 - cols % 2)
    (c0, c1) = pad["correct_pad"]
    return {**kwargs, "padding": ((c0 - adjust[0], c0), (c1 - adjust[1], c1))}


def _with_classes(value, classes):
    """``{"classes": true}`` markers of the top (Dense units, Reshape target…) → classes."""
    if value == {"classes": True}:
        return classes
    if isinstance(value, list):
        return [_with_classes(v, classes) for v in value]
    if isinstance(value, dict):
        return {k: _with_classes(v, classes) for k, v in value.items()}
    return value


def _resolved(kwargs, opts, tensor) -> dict:
    return _with_classes(_correct_pad(kwargs, tensor), opts.classes)


def _given_name(name, class_name):
    """Names Keras gave by default when the data was made are left to this file's counter."""
    return None if re.fullmatch(re.escape(snake_case(class_name)) + r"(_\d+)?", name) else name


def build(interp, class_name, kwargs, line) -> FunctionalModel:
    """Replay the backbone into ``interp``'s graph; the model ``keras.applications`` gives."""
    if class_name not in shipped():
        raise Refused(f"Line {line}: keras.applications.{class_name} is not shipped with the "
                      f"shape debugger; available: {', '.join(shipped())}.")
    opts = options(class_name, kwargs, line)
    backbone = load(class_name)
    graph = interp.graph
    first = opts.input_tensor or graph.new_input(opts.input_shape, None, None, line)
    records = list(backbone.base)
    if opts.include_top:
        records += backbone.top
    elif opts.pooling:
        records += backbone.pooling[opts.pooling]
    tensors, last = {INPUT: first}, first
    for cls, name, layer_kwargs, inbound in records:
        ins = [tensors[n] for n in inbound]
        layer_kwargs = _resolved(layer_kwargs, opts, ins[0])
        given = _given_name(name, cls)
        layer = graph.new_layer(cls, {**layer_kwargs, **({"name": given} if given else {})},
                                line)
        last = tensors[name] = graph.apply(layer, layer.spec, ins, line)
    name = opts.name or backbone.name.format(rows=opts.input_shape[0])
    return FunctionalModel(graph.name_for(name, name), line, [first], [last],
                           file_nodes=graph.nodes)
