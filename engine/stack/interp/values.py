"""What the interpreter's values are, besides plain numbers, strings and containers.

Plain Python values (int, float, str, bool, None, list, tuple, dict, set) stand for
themselves. Everything Keras gives is one of the dataclasses below; none of them runs any
Keras code: a :class:`Tensor` is a shape and a name, a :class:`Layer` a spec.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from engine.stack.spec import LayerSpec


@dataclass(eq=False)
class Tensor:
    """A symbolic tensor: its shape (batch first) and the name the summary knows it by.
    ``failed`` names the layer upstream whose shape Keras refused (``shape`` is None)."""

    shape: tuple | None
    key: str
    failed: str | None = None
    node: object = field(default=None, repr=False)     # the Node that produced it

    @property
    def ndim(self) -> int:
        return len(self.shape)


@dataclass(eq=False)
class Node:
    """One application: ``operation`` applied to ``inputs`` gave ``outputs``.
    ``operation`` is a :class:`Layer` or a model (a row), or None (a tensor operation such
    as ``x + y``, which ``model.layers`` does not list)."""

    operation: object
    inputs: list
    outputs: list              # one tensor, or several (an LSTM with return_state)
    line: int
    trace: object = None       # the SubclassModel whose call() made it, if any

    @property
    def output(self) -> Tensor:
        return self.outputs[0]


@dataclass(frozen=True)
class InputOp:
    """The operation behind ``keras.Input``: a node without inputs."""

    name: str


@dataclass(eq=False)
class Layer:
    """A Keras layer object: its spec (``name`` set when it is created, as Keras names
    layers) and every time it was applied."""

    spec: LayerSpec
    line: int
    applications: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(eq=False)
class SequentialModel:
    """``keras.Sequential``: layers in order, the input from ``keras.Input`` /
    ``input_shape=`` on the first layer / ``build``."""

    name: str
    line: int
    layers: list = field(default_factory=list)
    input_shape: tuple | None = None       # batch excluded
    batch_size: int | None = None
    applications: list = field(default_factory=list)
    row: object = None                     # its LayerSpec as a row of another model


@dataclass(eq=False)
class FunctionalModel:
    """``keras.Model(inputs, outputs)`` (also a backbone from ``keras.applications``)."""

    name: str
    line: int
    inputs: list
    outputs: list
    applications: list = field(default_factory=list)
    row: object = None                     # its LayerSpec as a row of another model
    file_nodes: list = field(default_factory=list, repr=False)   # every node of the file


@dataclass(eq=False)
class Function:
    """A ``def`` of the file: its node, defaults (evaluated at ``def`` time) and the scope
    it was defined in."""

    node: ast.FunctionDef
    defaults: list
    kw_defaults: list
    scope: object


@dataclass(eq=False)
class ModelClass:
    """A ``class M(keras.Model)`` of the file: its methods."""

    name: str
    line: int
    methods: dict


@dataclass(eq=False)
class SubclassModel:
    """An instance of a :class:`ModelClass`: attributes in assignment order (Keras tracks
    layers in that order) and, once called, the call's inputs and outputs."""

    cls: ModelClass
    name: str
    line: int
    attrs: dict = field(default_factory=dict)
    inputs: list | None = None
    outputs: list | None = None
    applications: list = field(default_factory=list)


@dataclass(frozen=True)
class KerasRef:
    """A dotted name inside Keras (``keras.layers``, ``keras.layers.Conv2D``…)."""

    path: str


@dataclass(frozen=True)
class BoundMethod:
    """``obj.name`` of an allowed method, not yet called."""

    obj: object
    name: str


MODELS = (SequentialModel, FunctionalModel, SubclassModel)


def plain_tree(value) -> bool:
    """True for numbers, strings, None and containers of them only."""
    if isinstance(value, (list, tuple, set)):
        return all(plain_tree(v) for v in value)
    if isinstance(value, dict):
        return all(plain_tree(v) for v in value.values())
    return isinstance(value, (int, float, str, bool, type(None), range))


def what_is(value) -> str:
    """A value in words, for messages."""
    if isinstance(value, Tensor):
        return "a tensor"
    if isinstance(value, Layer):
        return f"the layer {value.name!r}"
    if isinstance(value, MODELS):
        return f"the model {value.name!r}"
    if isinstance(value, KerasRef):
        return value.path
    return f"a {type(value).__name__}"
