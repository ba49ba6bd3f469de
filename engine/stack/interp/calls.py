"""Calls: the file's functions, builtins, methods of plain values and models, layer and
model applications, Model subclasses (Keras names: :mod:`.constructors`)."""

from __future__ import annotations

import ast
import string

from engine.stack.interp import builtins
from engine.stack.interp.assemble import row_spec
from engine.stack.interp.constructors import check_input_shape
from engine.stack.interp.errors import Refused, line_of
from engine.stack.interp.graph import Graph
from engine.stack.interp.limits import Budget, LimitExceeded, check_size
from engine.stack.interp.scope import Scope
from engine.stack.interp.values import (
    MODELS, BoundMethod, Function, FunctionalModel, KerasRef, Layer, ModelClass,
    SequentialModel, SubclassModel, plain_tree,
)
from engine.stack.spec import snake_case

NO_DEFAULT = object()   # a keyword-only parameter without default
_IGNORED_METHODS = ("summary", "compile")
_CALL_OPTIONS = ("training", "mask", "use_causal_mask", "attention_mask")


class Return(Exception):
    """``return value`` unwinding a function call."""

    def __init__(self, value):
        super().__init__()
        self.value = value


class Calls:
    """Evaluation of call nodes (mixed into the interpreter)."""

    # state of the interpreter these methods read (set in Interpreter.__init__)
    budget: Budget
    graph: Graph
    scope: Scope
    notes: list

    def call(self, node: ast.Call):
        """``f(...)``: ``super().__init__``, a builtin, or any callable value."""
        if _is_super_init(node):
            return self.super_init(node)
        if isinstance(node.func, ast.Name) and node.func.id in builtins.NAMES and not \
                self.is_bound(node.func.id):
            args, kwargs = self.arguments(node)
            return self.builtin(node.func.id, args, kwargs, node)
        callee = self.eval(node.func)
        args, kwargs = self.arguments(node)
        return self.call_value(callee, args, kwargs, node)

    def arguments(self, node) -> tuple:
        """Positional and keyword arguments, ``*args`` and ``**kwargs`` expanded."""
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(self.iterate(self.eval(a.value), a))
            else:
                args.append(self.eval(a))
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                extra = self.plain_dict(self.eval(kw.value), node)
                if any(not isinstance(k, str) for k in extra):
                    raise self.refuse(node, "**kwargs with keys that are not strings")
                kwargs.update(extra)
            else:
                kwargs[kw.arg] = self.eval(kw.value)
        return args, kwargs

    def call_value(self, callee, args, kwargs, node):
        """Call an interpreter value (Keras name, layer, model, function, class, method)."""
        if isinstance(callee, KerasRef):
            return self.keras_call(callee.path, args, kwargs, node)
        if isinstance(callee, (Layer, SequentialModel, FunctionalModel, SubclassModel)):
            return self.apply(callee, args, kwargs, node)
        if isinstance(callee, Function):
            return self.call_function(callee, args, kwargs, node)
        if isinstance(callee, ModelClass):
            return self.instantiate(callee, args, kwargs, node)
        if isinstance(callee, BoundMethod):
            return self.method(callee, args, kwargs, node)
        raise self.refuse(node, f"a call to {ast.unparse(node.func)!r}")

    def builtin(self, name, args, kwargs, node):
        """A builtin of :mod:`.builtins`; numbers and strings only for the arithmetic ones."""
        if name not in builtins.STRUCTURAL and any(
                not plain_tree(v) for v in [*args, *kwargs.values()]):
            raise self.refuse(node, f"{name}() of a tensor, layer or model")
        try:
            return check_size(builtins.call_builtin(name, args, kwargs, line_of(node)),
                              line_of(node))
        except (TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, (Refused, LimitExceeded)):
                raise
            raise self.refuse(node, f"{name}() ({exc})") from None

    # ------------------------------------------------------------------ the file's functions
    def call_function(self, fn: Function, args, kwargs, node):
        """Run a ``def`` of the file in a new scope; its ``return`` value."""
        self.budget.enter_call(line_of(node))
        scope = Scope(fn.scope)
        scope.vars.update(self.bind(fn, args, kwargs, node))
        saved, self.scope = self.scope, scope
        try:
            self.run_block(fn.node.body)
            return None
        except Return as ret:
            return ret.value
        finally:
            self.scope = saved
            self.budget.leave_call()

    def bind(self, fn: Function, args, kwargs, node) -> dict:
        """Python's argument binding: positional, defaults, ``*args``, keyword-only,
        ``**kwargs``."""
        spec, name = fn.node.args, fn.node.name
        params = [p.arg for p in spec.posonlyargs + spec.args]
        values = dict(zip(params, args))
        extra = list(args[len(params):])
        if extra and spec.vararg is None:
            raise self.refuse(node, f"{name}() takes {len(params)} positional arguments but "
                              f"{len(args)} were given")
        if spec.vararg is not None:
            values[spec.vararg.arg] = tuple(extra)
        keyword_only = [p.arg for p in spec.kwonlyargs]
        rest = {}
        for key, value in kwargs.items():
            if key in values:
                raise self.refuse(node, f"{name}() got multiple values for argument {key!r}")
            if key in params or key in keyword_only:
                values[key] = value
            elif spec.kwarg is not None:
                rest[key] = value
            else:
                raise self.refuse(node, f"{name}() got an unexpected keyword argument {key!r}")
        if spec.kwarg is not None:
            values[spec.kwarg.arg] = rest
        _fill_defaults(values, fn, params, keyword_only)
        missing = [p for p in params + keyword_only if p not in values]
        if missing:
            raise self.refuse(node, f"{name}() missing required argument {missing[0]!r}")
        return values

    # ------------------------------------------------------------------ methods
    def method(self, bound: BoundMethod, args, kwargs, node):
        """A method of a plain value (list.append, dict.get, str.join…) or of a model."""
        obj = bound.obj
        if isinstance(obj, MODELS):
            return self.model_method(obj, bound.name, args, kwargs, node)
        if isinstance(obj, str) and bound.name == "format":
            _check_format(obj, self, node)
        if any(not plain_tree(v) for v in [*args, *kwargs.values()]) and not isinstance(
                obj, (list, dict)):
            raise self.refuse(node, f"{bound.name}() of a tensor, layer or model")
        try:
            result = getattr(obj, bound.name)(*args, **kwargs)
            if isinstance(result, type({}.items()) | type({}.keys()) | type({}.values())):
                result = list(result)
            return check_size(result, line_of(node))
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise self.refuse(node, f".{bound.name}() ({type(exc).__name__}: {exc})") from None

    def model_method(self, model, name, args, kwargs, node):
        """``model.add`` / ``build`` / ``get_layer`` / a subclass's own method;
        ``summary`` and ``compile`` are ignored."""
        if name in _IGNORED_METHODS:
            self.notes.append(f"Line {line_of(node)}: model.{name}(...) ignored.")
            return None
        if name == "add" and isinstance(model, SequentialModel):
            if len(args) != 1 or kwargs:
                raise self.refuse(node, "model.add() with other than one layer")
            return self.sequential_add(model, args[0], node)
        if name == "build" and len(args) + len(kwargs) == 1 and set(kwargs) <= {"input_shape"}:
            return self.build_model(model, args[0] if args else kwargs["input_shape"], node)
        if name == "get_layer":
            wanted = args[0] if args else kwargs.get("name")
            for layer in self.model_layers(model, node):
                if layer.name == wanted:
                    return layer
            raise self.refuse(node, f"get_layer({wanted!r}): no such layer")
        if isinstance(model, SubclassModel) and name in model.cls.methods:
            return self.call_function(model.cls.methods[name], [model, *args], kwargs, node)
        raise self.refuse(node, f"the method {name!r}")

    def build_model(self, model, shape, node):
        """``model.build(shape)``: the Sequential's input, or a subclass's call traced."""
        if not isinstance(shape, (tuple, list)) or not shape:
            raise self.refuse(node, "build() with something that is not a shape tuple")
        batch, shape = shape[0], check_input_shape(tuple(shape)[1:], line_of(node))
        if isinstance(model, SequentialModel):
            model.input_shape, model.batch_size = shape, batch
            return None
        if isinstance(model, SubclassModel):
            self.apply(model, [self.graph.new_input(shape, None, None, line_of(node))], {}, node)
            return None
        raise self.refuse(node, "build() of a functional model (it is built already)")

    # ------------------------------------------------------------------ applications
    def apply(self, operation, args, kwargs, node):
        """A layer or model applied to tensors (``mha(q, v)``, ``layer(x, training=…)``)."""
        kwargs = dict(kwargs)
        if kwargs.pop("return_attention_scores", False):
            raise self.refuse(node, "return_attention_scores (a second output)")
        named = [kwargs.pop(k) for k in ("inputs", "query", "value", "key", "initial_state")
                 if k in kwargs]
        for k in _CALL_OPTIONS:
            kwargs.pop(k, None)
        if kwargs:
            raise self.refuse(node, f"calling a layer with {next(iter(kwargs))}=")
        tensors = self.tensor_list(list(args) + named, node)
        if isinstance(operation, SubclassModel):
            return self.trace(operation, list(args) + named, node)
        if isinstance(operation, SequentialModel) and operation.input_shape is None \
                and operation.row is None and tensors[0].shape is not None:
            # Keras builds a Sequential without Input for the first tensor it is applied to
            operation.input_shape = tensors[0].shape[1:]
        spec = operation.spec if isinstance(operation, Layer) else row_spec(operation)
        return self.graph.apply(operation, spec, tensors, line_of(node))

    # ------------------------------------------------------------------ Model subclasses
    def instantiate(self, cls: ModelClass, args, kwargs, node) -> SubclassModel:
        """``M(...)`` for a Model subclass: a new instance, its ``__init__`` run."""
        model = SubclassModel(cls, self.graph.unique_name(snake_case(cls.name)), line_of(node))
        init = cls.methods.get("__init__")
        if init is not None:
            self.call_function(init, [model, *args], kwargs, node)
        self.register_model(model)
        return model

    def super_init(self, node):
        """``super().__init__(name=...)`` in a subclass's ``__init__``."""
        try:
            instance = self.scope.lookup("self")
        except KeyError:
            instance = None
        if not isinstance(instance, SubclassModel):
            raise self.refuse(node, "super() outside a Model subclass's method")
        args, kwargs = self.arguments(node)
        if args or set(kwargs) - {"name", "trainable", "dtype"}:
            raise self.refuse(node, "super().__init__() with inputs and outputs",
                              "Build layers in __init__ and apply them in call().")
        if isinstance(kwargs.get("name"), str):
            instance.name = kwargs["name"]
        return None

    def trace(self, model: SubclassModel, args, node):
        """A subclass's ``call`` run on symbolic tensors (once): its inputs and outputs."""
        if model.inputs is not None:
            raise self.refuse(node, f"calling the Model subclass {model.cls.name!r} a second "
                              "time")
        call = model.cls.methods.get("call")
        if call is None:
            raise self.refuse(node, f"the Model subclass {model.cls.name!r} has no call()")
        if self.graph.trace is not None:
            raise self.refuse(node, "a Model subclass called inside another's call()")
        self.graph.trace = model
        try:
            out = self.call_function(call, [model, *args], {}, node)
        finally:
            self.graph.trace = None
        model.inputs = self.tensor_list(args, node)
        model.outputs = self.tensor_list([out], node)
        return out


def _fill_defaults(values, fn, params, keyword_only):
    """Defaults (evaluated at ``def`` time) for the parameters not given."""
    for param, default in zip(params[len(params) - len(fn.defaults):], fn.defaults):
        values.setdefault(param, default)
    for param, default in zip(keyword_only, fn.kw_defaults):
        if default is not NO_DEFAULT:
            values.setdefault(param, default)


def _is_super_init(node) -> bool:
    f = node.func
    return (isinstance(f, ast.Attribute) and f.attr == "__init__"
            and isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Name)
            and f.value.func.id == "super")


def _check_format(text, interp, node):
    """``str.format`` fields are plain positions or names (no ``{0.attr}`` / ``{0[k]}``)."""
    for _, field, _, _ in string.Formatter().parse(text):
        if field and any(c in field for c in ".["):
            raise interp.refuse(node, f"the format field {{{field}}}")


__all__ = ["Calls", "NO_DEFAULT", "Return"]
