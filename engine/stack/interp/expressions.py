"""Expressions: literals, names, operators, comparisons, f-strings, subscripts,
comprehensions and attribute access — on plain values and on tensor shapes."""

from __future__ import annotations

import ast
import math
import operator

from engine.stack.interp import keras_api, keras_objects
from engine.stack.interp.errors import describe, line_of
from engine.stack.interp.graph import Graph
from engine.stack.interp.limits import MAX_COLLECTION, MAX_NUMBER, Budget, check_size
from engine.stack.interp.scope import Scope
from engine.stack.interp.values import (
    MODELS, BoundMethod, FunctionalModel, KerasRef, Layer, SequentialModel, SubclassModel,
    Tensor, what_is,
)

# builtins that reach files, code or objects' insides: named in the refusal
FORBIDDEN = frozenset({"open", "exec", "eval", "compile", "getattr", "setattr", "delattr",
                       "globals", "locals", "vars", "input", "breakpoint", "memoryview",
                       "object", "type", "help", "dir", "id", "hasattr", "super"})
PLAIN = (int, float, str, bool, type(None), tuple, list, dict, set, range)
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
          ast.Pow: operator.pow}
_TENSOR_OPS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide"}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Is: operator.is_, ast.IsNot: operator.is_not,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
# methods of plain values a model file may call (they only build values)
METHODS = {
    list: {"append", "extend", "insert", "pop", "index", "count", "copy", "reverse"},
    dict: {"get", "items", "keys", "values", "update", "copy", "pop", "setdefault"},
    str: {"format", "join", "upper", "lower", "replace", "startswith", "endswith", "split",
          "strip"},
    tuple: {"index", "count"},
}


class Expressions:
    """Evaluation of expression nodes (mixed into the interpreter)."""

    # state of the interpreter these methods read (set in Interpreter.__init__)
    budget: Budget
    graph: Graph
    scope: Scope
    notes: list

    def eval(self, node):
        self.budget.step(line_of(node))
        handler = self._EXPRESSIONS.get(type(node))
        if handler is None:
            raise self.refuse(node, describe(node))
        return handler(self, node)

    # ------------------------------------------------------------------ atoms
    def constant(self, node):
        if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
            raise self.refuse(node, f"a {type(node.value).__name__} constant")
        return node.value

    def name(self, node):
        """A variable, else a Keras name used bare (``Conv2D`` in a snippet)."""
        if node.id.startswith("__") and node.id != "__name__" or node.id in FORBIDDEN:
            raise self.refuse(node, f"the name {node.id!r}",
                              "Files, code execution and introspection are never used.")
        try:
            return self.scope.lookup(node.id)
        except KeyError:
            kind = keras_api.bare_kind(node.id)
            if kind is not None:
                return KerasRef(f"keras.layers.{node.id}" if kind.what == "layer" else
                                f"keras.{node.id}")
            raise self.refuse(node, f"the name {node.id!r} (not defined earlier)",
                              "Define it before this line.") from None

    def sequence(self, node):
        """A tuple, list or set display (``*items`` expanded)."""
        items = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                items.extend(self.iterate(self.eval(elt.value), elt))
            else:
                items.append(self.eval(elt))
        check_size(items, line_of(node))
        if isinstance(node, ast.Tuple):
            return tuple(items)
        return set(self.hashable(items, node)) if isinstance(node, ast.Set) else items

    def dict_(self, node):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                out.update(self.plain_dict(self.eval(v), node))
            else:
                out[self.hashable([self.eval(k)], k)[0]] = self.eval(v)
        return check_size(out, line_of(node))

    def hashable(self, items, node):
        for v in items:
            if not isinstance(v, (int, float, str, bool, type(None), tuple)):
                raise self.refuse(node, "a dict key or set item that is not a number or string")
        return items

    def plain_dict(self, value, node):
        if not isinstance(value, dict):
            raise self.refuse(node, "** on something that is not a dict")
        return value

    def joined_str(self, node):
        """An f-string of numbers and strings (format specs allowed)."""
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
                continue
            value = self.eval(v.value)
            if not isinstance(value, (int, float, str, bool, type(None), tuple)):
                raise self.refuse(v, "an f-string of something that is not a number or string")
            value = {-1: value, 115: str(value), 114: repr(value), 97: ascii(value)}[
                v.conversion]
            spec = self.joined_str(v.format_spec) if v.format_spec is not None else ""
            try:
                parts.append(format(value, spec))
            except (ValueError, TypeError) as exc:
                raise self.refuse(v, f"the format {spec!r} ({exc})") from None
        return check_size("".join(parts), line_of(node))

    # ------------------------------------------------------------------ operators
    def binop(self, node):
        a, b = self.eval(node.left), self.eval(node.right)
        return self.arithmetic(node.op, a, b, node)

    def arithmetic(self, op, a, b, node):
        """``a op b`` on numbers, strings and sequences, or on tensors (an operation)."""
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            return self.tensor_arithmetic(op, a, b, node)
        if type(op) not in _ARITH or not all(isinstance(v, PLAIN) for v in (a, b)):
            raise self.refuse(node, f"the operator {type(op).__name__} on "
                              f"{what_is(a)} and {what_is(b)}")
        if isinstance(op, ast.Pow):
            _check_power(a, b, self, node)
        if isinstance(op, ast.Mult):
            _check_repeat(a, b, self, node)
        try:
            return check_size(_ARITH[type(op)](a, b), line_of(node))
        except (TypeError, ZeroDivisionError, ValueError, OverflowError) as exc:
            raise self.refuse(node, f"the operator {type(op).__name__} ({exc})") from None

    def tensor_arithmetic(self, op, a, b, node):
        """``x + y``, ``x * 0.5``…: a tensor operation with Keras's broadcasting."""
        what = _TENSOR_OPS.get(type(op))
        tensors = [v for v in (a, b) if isinstance(v, Tensor)]
        numbers = [v for v in (a, b) if not isinstance(v, Tensor)]
        if what is None or any(isinstance(v, bool) or not isinstance(v, (int, float))
                               for v in numbers):
            raise self.refuse(node, f"the operator {type(op).__name__} on a tensor and "
                              f"{what_is(numbers[0]) if numbers else 'a tensor'}")
        return self.graph.operation(what if len(tensors) == 2 else "scale", tensors,
                                    line_of(node))

    def unaryop(self, node):
        v = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return not self.truth(v, node)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.refuse(node, f"the unary operator {type(node.op).__name__} on {what_is(v)}")
        return {ast.USub: operator.neg, ast.UAdd: operator.pos,
                ast.Invert: operator.invert}[type(node.op)](v)

    def boolop(self, node):
        """``and`` / ``or`` with Python's short-circuit."""
        value = None
        for v in node.values:
            value = self.eval(v)
            truth = self.truth(value, v)
            if isinstance(node.op, ast.And) and not truth:
                return value
            if isinstance(node.op, ast.Or) and truth:
                return value
        return value

    def truth(self, value, node) -> bool:
        if isinstance(value, PLAIN):
            return bool(value)
        if isinstance(value, Tensor):
            raise self.refuse(node, "the truth value of a tensor")
        return True

    def compare(self, node):
        """Chained comparisons of plain values (``is`` of anything)."""
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.eval(right_node)
            if not isinstance(op, (ast.Is, ast.IsNot)) and not all(
                    isinstance(v, PLAIN) for v in (left, right)):
                raise self.refuse(node, f"comparing {what_is(left)} with {what_is(right)}")
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise self.refuse(node, f"the comparison ({exc})") from None
            left = right
        return True

    def if_exp(self, node):
        return self.eval(node.body if self.truth(self.eval(node.test), node) else node.orelse)

    # ------------------------------------------------------------------ subscripts
    def subscript(self, node):
        """``value[index]`` of a list, tuple, string, dict or range (not of a tensor)."""
        value = self.eval(node.value)
        index = self.eval(node.slice)
        if isinstance(value, Tensor):
            raise self.refuse(node, "indexing a tensor (x[...])",
                              "Use a layer such as layers.Cropping1D or layers.Reshape.")
        if not isinstance(value, (list, tuple, str, dict, range)):
            raise self.refuse(node, f"indexing {what_is(value)}")
        try:
            return value[index]
        except (IndexError, KeyError, TypeError) as exc:
            raise self.refuse(node, f"the subscript [{ast.unparse(node.slice)}] "
                              f"({type(exc).__name__}: {exc})") from None

    def slice_(self, node):
        parts = [None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)]
        if any(p is not None and (isinstance(p, bool) or not isinstance(p, int)) for p in parts):
            raise self.refuse(node, "a slice bound that is not an integer")
        return slice(*parts)

    # ------------------------------------------------------------------ comprehensions
    def comprehension(self, node):
        """A list, set or dict comprehension in its own scope."""
        outer = self.scope
        self.scope = Scope(outer)
        out = [] if not isinstance(node, ast.DictComp) else {}
        try:
            self._generate(node, node.generators, out)
        finally:
            self.scope = outer
        if isinstance(node, ast.SetComp):
            return set(self.hashable(out, node))
        return out

    def _generate(self, node, generators, out):
        gen, rest = generators[0], generators[1:]
        if gen.is_async:
            raise self.refuse(node, "an async comprehension")
        for count, item in enumerate(self.iterate(self.eval(gen.iter), gen.iter), 1):
            self.budget.loop_iteration(count, line_of(node))
            self.assign_target(gen.target, item)
            if not all(self.truth(self.eval(c), c) for c in gen.ifs):
                continue
            if rest:
                self._generate(node, rest, out)
            elif isinstance(node, ast.DictComp):
                out[self.hashable([self.eval(node.key)], node)[0]] = self.eval(node.value)
            else:
                out.append(self.eval(node.elt))
            check_size(out, line_of(node))

    def iterate(self, value, node):
        """The items of an iterable plain value, or of a tensor shape."""
        if isinstance(value, (list, tuple, str, range, set)):
            return list(value)
        if isinstance(value, dict):
            return list(value)
        raise self.refuse(node, f"iterating over {what_is(value)}")

    # ------------------------------------------------------------------ attributes
    def attribute(self, node):
        if node.attr.startswith("_"):
            raise self.refuse(node, f"attribute access {node.attr!r}")
        value = self.eval(node.value)
        return self.get_attribute(value, node.attr, node)

    def get_attribute(self, value, attr, node):
        """``value.attr``: Keras names, tensor shapes, layer and model attributes, methods
        of plain values."""
        if isinstance(value, KerasRef):
            path = keras_api.normalize(f"{value.path}.{attr}")
            if path == "keras.layers.Lambda":
                raise self.refuse(node, "a Lambda layer (it runs Python code)",
                                  "Replace it by the Keras layer it stands for.")
            kind = keras_api.classify(path)
            if kind is None:
                raise self.refuse(node, f"attribute access {path!r}",
                                  "Only keras, keras.layers, keras.models, keras.ops, "
                                  "keras.applications (and keras.activations, regularizers, "
                                  "initializers, constraints, backend.int_shape) are read.")
            if kind.what == "activation":
                return keras_objects.activation_name(path)
            return KerasRef(path)
        if isinstance(value, Tensor):
            return self.tensor_attribute(value, attr, node)
        if isinstance(value, Layer):
            return self.layer_attribute(value, attr, node)
        if isinstance(value, MODELS):
            return self.model_attribute(value, attr, node)
        for kind, names in METHODS.items():
            if isinstance(value, kind) and attr in names:
                return BoundMethod(value, attr)
        raise self.refuse(node, f"attribute access {attr!r} on {what_is(value)}")

    def tensor_attribute(self, tensor, attr, node):
        if attr not in ("shape", "ndim"):
            raise self.refuse(node, f"the tensor attribute {attr!r}")
        if tensor.shape is None:
            raise self.refuse(node, f"the shape of a tensor after the failing layer "
                              f"{tensor.failed!r}", "Fix that layer first.")
        return tensor.shape if attr == "shape" else len(tensor.shape)

    def layer_attribute(self, layer, attr, node):
        """``layer.name`` / ``.output`` / ``.input`` (first application) / ``.trainable``."""
        if attr == "name":
            return layer.name
        if attr in ("output", "input"):
            if not layer.applications:
                raise self.refuse(node, f"{layer.name}.{attr} of a layer never applied")
            first = layer.applications[0]
            return _single(first.outputs if attr == "output" else first.inputs)
        if attr == "trainable":
            return True
        raise self.refuse(node, f"the layer attribute {attr!r}")

    def model_attribute(self, model, attr, node):
        """``model.layers`` / ``.inputs`` / ``.outputs`` / ``.name``, methods, a
        subclass's attributes."""
        if attr in ("add", "summary", "compile", "build", "get_layer", "count_params"):
            return BoundMethod(model, attr)
        if attr == "name":
            return model.name
        if attr == "layers":
            return self.model_layers(model, node)
        if isinstance(model, FunctionalModel) and attr in ("inputs", "outputs", "input",
                                                          "output"):
            tensors = model.inputs if attr.startswith("input") else model.outputs
            return list(tensors) if attr.endswith("s") else _single(tensors)
        if isinstance(model, SubclassModel) and attr in model.attrs:
            return model.attrs[attr]
        if isinstance(model, SubclassModel) and attr in model.cls.methods:
            return BoundMethod(model, attr)
        if attr == "trainable":
            return True
        raise self.refuse(node, f"the model attribute {attr!r}")

    def model_layers(self, model, node):
        from engine.stack.interp.assemble import map_graph, tracked_layers
        if isinstance(model, SequentialModel):
            return list(model.layers)
        if isinstance(model, SubclassModel):
            return tracked_layers(model.attrs.values())
        ops, _ = map_graph(model.inputs, model.outputs)
        return [op for op in ops if isinstance(op, (Layer,) + MODELS)]


def _single(tensors):
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _check_power(a, b, interp, node):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a) > 1 and (
            b > 0 and b * math.log10(abs(a)) > math.log10(MAX_NUMBER)):
        raise interp.refuse(node, "the operator Pow with a result larger than 10**12 "
                            "(limit MAX_NUMBER)")


def _check_repeat(a, b, interp, node):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and \
                len(seq) * n > MAX_COLLECTION:
            raise interp.refuse(node, "a repetition of more than 100,000 items "
                                "(limit MAX_COLLECTION)")


Expressions._EXPRESSIONS = {
    ast.Constant: Expressions.constant, ast.Name: Expressions.name,
    ast.Tuple: Expressions.sequence, ast.List: Expressions.sequence,
    ast.Set: Expressions.sequence, ast.Dict: Expressions.dict_,
    ast.JoinedStr: Expressions.joined_str, ast.BinOp: Expressions.binop,
    ast.UnaryOp: Expressions.unaryop, ast.BoolOp: Expressions.boolop,
    ast.Compare: Expressions.compare, ast.IfExp: Expressions.if_exp,
    ast.Subscript: Expressions.subscript, ast.Slice: Expressions.slice_,
    ast.ListComp: Expressions.comprehension, ast.SetComp: Expressions.comprehension,
    ast.DictComp: Expressions.comprehension, ast.Attribute: Expressions.attribute,
    ast.Call: lambda self, node: self.call(node),
}
