"""Keras constructors: layers, ``Input``, ``Sequential``, ``Model``, merge helpers,
backbones and ``keras.ops`` — what calling a Keras name means (mixed into the
interpreter)."""

from __future__ import annotations

from engine.stack.interp import backbones, keras_api, keras_objects
from engine.stack.interp.errors import Refused, line_of
from engine.stack.interp.graph import Graph
from engine.stack.interp.values import (
    FunctionalModel, Layer, SequentialModel, Tensor, plain_tree, what_is,
)

_LEGACY_INPUT = ("input_shape", "batch_input_shape", "input_dim")


class Constructors:
    """Calls of Keras names (mixed into the interpreter)."""

    graph: Graph          # set in Interpreter.__init__

    def keras_call(self, path, args, kwargs, node):
        """Call a Keras name: a layer class, a merge helper, Input, Sequential, Model, a
        backbone or an op."""
        kind = keras_api.classify(path)
        line = line_of(node)
        if kind is None or kind.what == "namespace":
            raise self.refuse(node, f"a call to {path!r}")
        if kind.what == "layer":
            return self.new_layer(kind.name, args, kwargs, node)
        if kind.what == "merge":
            if not args:
                raise self.refuse(node, f"layers.{path.rpartition('.')[2]}() without its list "
                                  "of inputs")
            layer = self.new_layer(kind.name, args[1:], kwargs, node)
            return self.apply(layer, [args[0]], {}, node)
        if kind.what == "input":
            return self.new_input(args, kwargs, node)
        if kind.what == "sequential":
            return self.new_sequential(args, kwargs, node)
        if kind.what == "model":
            return self.new_functional(args, kwargs, node)
        if kind.what == "object":
            return self.keras_object(path, args, kwargs, node)
        if kind.what == "application":
            model = backbones.build(self, kind.name, kwargs, line)
            self.register_model(model)
            return model
        return self.operation(kind, args, kwargs, node)

    def operation(self, kind, args, kwargs, node):
        """``keras.ops.shape(x)``, a shape-keeping op (``ops.relu(x)``), ``ops.concatenate
        ([a, b], axis)`` or an element-wise op of tensors and numbers."""
        if kind.what == "shape" or kind.name in ("same", "concatenate"):
            tensors = self.tensor_list(args[:1], node)
        else:
            tensors = [a for a in args if isinstance(a, Tensor)]
            if not tensors or not plain_tree([a for a in args if not isinstance(a, Tensor)]):
                raise self.refuse(node, f"keras.ops.{kind.name} of {what_is(args)}")
        if kind.what == "shape":
            return self.tensor_attribute(tensors[0], "shape", node)
        if kind.name == "concatenate":
            what = f"concatenate:{kwargs.get('axis', args[1] if len(args) > 1 else -1)}"
        elif kind.name == "same" or len(tensors) == 1:
            what = "same"
        else:
            what = kind.name
        return self.graph.operation(what, tensors, line_of(node))

    def keras_object(self, path, args, kwargs, node) -> dict:
        """``keras.regularizers.l2(1e-4)`` and friends → a config dict."""
        if not plain_tree([args, kwargs]):
            raise self.refuse(node, f"{what_is(args)} as an argument of {path}")
        try:
            return keras_objects.config(path, args, kwargs)
        except ValueError as exc:
            raise self.refuse(node, f"{path}(...) ({exc})") from None

    def new_layer(self, class_name, args, kwargs, node) -> Layer:
        """A layer object; positional arguments named as Keras names them."""
        values = {k: self.layer_argument(v, node) for k, v in kwargs.items()}
        positional = [self.layer_argument(v, node) for v in args]
        try:
            named, extra = keras_api.layer_kwargs(class_name, positional, values, line_of(node))
        except ValueError as exc:
            raise Refused(str(exc)) from None
        return self.graph.new_layer(class_name, named, line_of(node), extra)

    def layer_argument(self, value, node):
        """A layer's argument: a plain value, or a layer (Bidirectional, TimeDistributed)."""
        if isinstance(value, Layer):
            return value.spec
        if not plain_tree(value):
            raise self.refuse(node, f"{what_is(value)} as an argument of a layer",
                              "Layers take numbers, strings, tuples and, for wrappers, "
                              "another layer.")
        return value

    def new_input(self, args, kwargs, node) -> Tensor:
        """``keras.Input(shape=..., batch_size=..., name=...)`` (or ``batch_shape``)."""
        kwargs = dict(kwargs)
        if args:
            kwargs.setdefault("shape", args[0])
            if len(args) > 1:
                kwargs.setdefault("batch_size", args[1])
        shape = kwargs.get("shape", kwargs.get("input_shape"))
        batch = kwargs.get("batch_size")
        full = kwargs.get("batch_shape", kwargs.get("batch_input_shape"))
        if full is not None:
            if not isinstance(full, (tuple, list)) or not full:
                raise self.refuse(node, f"batch_shape={full!r}", "batch_shape is a tuple.")
            batch, shape = full[0], tuple(full[1:])
        if shape is None:
            raise self.refuse(node, "Input() without shape=(...)", "Give shape=(...).")
        shape = check_input_shape(shape, line_of(node))
        return self.graph.new_input(shape, batch, kwargs.get("name"), line_of(node))

    def new_sequential(self, args, kwargs, node) -> SequentialModel:
        """``keras.Sequential([...], name=...)``."""
        unknown = [k for k in kwargs if k not in ("layers", "name", "trainable")]
        if unknown or len(args) > 2:
            raise self.refuse(node, f"Sequential({(unknown or ['...'])[0]}=...)")
        items = args[0] if args else kwargs.get("layers")
        name = kwargs.get("name") or (args[1] if len(args) > 1 else None)
        model = SequentialModel(self.graph.name_for(name, "Sequential"), line_of(node))
        for item in self.iterate(items, node) if items is not None else []:
            self.sequential_add(model, item, node)
        self.register_model(model)
        return model

    def sequential_add(self, model, item, node):
        """Append to a Sequential: an Input (first only), a layer or a model."""
        if isinstance(item, Tensor):
            if model.layers or model.input_shape is not None:
                raise self.refuse(node, "an Input that is not the first element of Sequential")
            model.input_shape, model.batch_size = item.shape[1:], item.shape[0]
            return None
        if isinstance(item, Layer):
            item = self.legacy_input(model, item, node)
        elif not isinstance(item, (SequentialModel, FunctionalModel)):
            raise self.refuse(node, f"{what_is(item)} in a Sequential model",
                              "Sequential takes layers (and keras.Input first).")
        model.layers.append(item)
        return None

    def legacy_input(self, model, layer, node) -> Layer:
        """``input_shape=`` on the first layer gives the Sequential its input."""
        kwargs = layer.spec.kwargs
        legacy = [k for k in _LEGACY_INPUT if k in kwargs]
        if not legacy:
            return layer
        if model.layers or model.input_shape is not None:
            self.notes.append(f"Line {layer.line}: {legacy[0]}= on a layer that is not the "
                              "first is ignored, as Keras ignores it.")
        else:
            value = kwargs["input_shape"] if "input_shape" in kwargs else (
                kwargs["batch_input_shape"][1:] if "batch_input_shape" in kwargs
                else (kwargs["input_dim"],))
            model.input_shape = check_input_shape(value, layer.line)
        layer.spec = layer.spec.replace(kwargs={k: v for k, v in kwargs.items()
                                                if k not in legacy})
        return layer

    def new_functional(self, args, kwargs, node) -> FunctionalModel:
        """``keras.Model(inputs, outputs, name=...)``."""
        unknown = [k for k in kwargs if k not in ("inputs", "outputs", "name", "trainable")]
        if unknown:
            raise self.refuse(node, f"Model({unknown[0]}=...)")
        inputs = args[0] if args else kwargs.get("inputs")
        outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
        if inputs is None or outputs is None:
            raise self.refuse(node, "Model() without inputs and outputs",
                              "Write keras.Model(inputs, outputs) or subclass keras.Model.")
        ins, outs = self.tensor_list([inputs], node), self.tensor_list([outputs], node)
        model = FunctionalModel(self.graph.name_for(kwargs.get("name"), "Functional"),
                                line_of(node), ins, outs, file_nodes=self.graph.nodes)
        self.register_model(model)
        return model

    def tensor_list(self, args, node) -> list:
        """Tensors among ``args`` (lists, tuples and dict values looked into; dicts in
        sorted key order, as Keras flattens them)."""
        out = []
        for a in args:
            if isinstance(a, Tensor):
                out.append(a)
            elif isinstance(a, (list, tuple)):
                out += self.tensor_list(list(a), node)
            elif isinstance(a, dict):
                out += self.tensor_list([a[k] for k in sorted(a)], node)
            else:
                raise self.refuse(node, f"{what_is(a)} where a tensor is expected")
        if not out:
            raise self.refuse(node, "an empty list where tensors are expected")
        return out


def check_input_shape(shape, line):
    """``shape`` as a tuple of non-negative ints or None (an int is a 1-tuple)."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise Refused(f"Line {line}: the input shape must be a tuple of sizes. "
                      f"Received: {shape!r}")
    for d in shape:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
            raise Refused(f"Line {line}: input shape entries must be non-negative integers "
                          f"or None. Received: shape={tuple(shape)}")
    return tuple(shape)
