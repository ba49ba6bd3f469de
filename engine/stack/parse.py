"""Keras code and Keras model configs → layer specs, without executing anything.

:func:`parse_keras_code` walks Python's ``ast`` of pasted code. It accepts only:

- ``import`` / ``from … import`` of keras, tensorflow, tf_keras or numpy (recorded as
  aliases, never imported);
- calls to known layer classes, bare or through ``layers.``, ``keras.layers.``,
  ``tf.keras.layers.`` (or an alias imported above); ``Input`` / ``keras.Input`` /
  ``InputLayer``; ``Sequential``; ``Model``; the merge helpers ``layers.add([...])``,
  ``layers.concatenate([...])``…;
- literal arguments: numbers, strings, tuples, lists, dicts, None/True/False, unary minus,
  ``+ - * //`` between integers, and names bound earlier to such literals;
- simple assignments ``x = layers.Conv2D(...)(x)`` (a functional chain),
  ``conv = layers.Conv2D(...)`` then ``x = conv(x)``, ``model = keras.Sequential([...])``,
  ``model.add(layer)``, ``keras.Model(inputs, outputs)``, and ``model.summary()`` /
  ``model.compile(...)`` (ignored).

Anything else — other attribute access, ``__import__``, lambdas, comprehensions, f-strings
with expressions, subscripts, loops, function definitions… — raises ``ValueError`` naming
the line and what was refused.

:func:`load_model_config` reads ``model.to_json()`` text, ``model.get_config()`` dicts, or
the ``config.json`` inside a ``.keras`` archive (never its weights).
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import numbers
import zipfile

from engine.stack.spec import (
    INPUT_NAME, KNOWN_LAYERS, MAX_ARCHIVE_BYTES, MAX_CONFIG_BYTES, MAX_LAYERS,
    MAX_SOURCE_BYTES, MERGE_HELPERS, LayerSpec, Parsed, assign_names, canonical, layer_class,
)

_ALLOWED_MODULES = ("keras", "tensorflow", "tf_keras", "numpy", "__future__")
_MAX_DEPTH = 24            # nesting of literal containers
_MAX_INT = 10 ** 12        # arithmetic results
_IGNORED_METHODS = ("summary", "compile")


class _Tensor:
    """A symbolic tensor of a functional chain: the name of the layer that produced it."""

    __slots__ = ("producer",)

    def __init__(self, producer):
        self.producer = producer


class _PendingLayer:
    """``conv = layers.Conv2D(...)`` not yet applied to a tensor."""

    __slots__ = ("spec", "used")

    def __init__(self, spec):
        self.spec = spec
        self.used = False


class _SequentialModel:
    __slots__ = ("layers", "input_shape", "batch_size", "line")

    def __init__(self, line):
        self.layers = []
        self.input_shape = None
        self.batch_size = None
        self.line = line


class _Refused(ValueError):
    pass


def _describe(node) -> str:
    kinds = {
        ast.Lambda: "a lambda", ast.ListComp: "a list comprehension",
        ast.SetComp: "a set comprehension", ast.DictComp: "a dict comprehension",
        ast.GeneratorExp: "a generator expression", ast.Subscript: "a subscript",
        ast.JoinedStr: "an f-string with expressions", ast.Attribute: "attribute access",
        ast.Starred: "a starred expression", ast.Await: "await", ast.Yield: "yield",
        ast.IfExp: "a conditional expression", ast.Compare: "a comparison",
        ast.BoolOp: "a boolean operation", ast.NamedExpr: "an assignment expression",
        ast.FunctionDef: "a function definition", ast.AsyncFunctionDef: "a function definition",
        ast.ClassDef: "a class definition", ast.For: "a for loop", ast.While: "a while loop",
        ast.If: "an if statement", ast.With: "a with statement", ast.Try: "a try statement",
        ast.Delete: "a del statement", ast.Global: "a global statement",
        ast.AugAssign: "an augmented assignment", ast.AnnAssign: "an annotated assignment",
        ast.Raise: "a raise statement", ast.Assert: "an assert statement",
        ast.Return: "a return statement", ast.Set: "a set",
    }
    for k, v in kinds.items():
        if isinstance(node, k):
            return v
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__}"
    if isinstance(node, ast.UnaryOp):
        return f"the unary operator {type(node.op).__name__}"
    return f"{type(node).__name__}"


def _segment(source_lines, node, limit=60) -> str:
    try:
        line = source_lines[node.lineno - 1].strip()
    except (AttributeError, IndexError):
        return ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


class _Parser:
    def __init__(self, source: str):
        self.lines = source.splitlines()
        # local name → dotted path; ``layers.X`` and ``tf.keras.layers.X`` work unimported
        self.aliases: dict = {"layers": "keras.layers", "tf": "tensorflow", "keras": "keras"}
        self.constants: dict = {}      # name → literal value
        self.tensors: dict = {}        # name → _Tensor
        self.pending: dict = {}        # name → _PendingLayer
        self.models: dict = {}         # name → _SequentialModel
        self.nodes: list = []          # functional layer specs in call order
        self.node_names: set = set()
        self.input_node = None         # (name, shape, batch_size, line)
        self.list_specs: list = []     # bare layer calls / list literal
        self.list_vars: dict = {}      # name → list of specs
        self.functional_model = None   # (inputs, outputs, line)
        self.last_model = None         # "sequential:<name>", "functional", "list"
        self.last_tensor = None
        self.notes: list = []
        self.legacy_input = None       # input_shape= on a first layer

    # ------------------------------------------------------------------ errors
    def refuse(self, node, what) -> _Refused:
        line = getattr(node, "lineno", "?")
        seg = _segment(self.lines, node)
        return _Refused(f"Line {line}: {what} is not accepted (only Keras layer calls with "
                        f"literal arguments are read, nothing is executed): {seg!r}")

    # ------------------------------------------------------------------ names
    def dotted(self, node):
        """``a.b.c`` → "a.b.c" with the first name resolved through imports, or None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.aliases.get(node.id, node.id)
        path = ".".join([head] + parts[::-1])
        for prefix in ("tensorflow.keras.", "tensorflow.python.keras.", "tf_keras.",
                       "keras.src.", "tf.keras."):
            if path.startswith(prefix):
                path = "keras." + path[len(prefix):]
        return path

    def classify(self, func):
        """What a callee is: ("layer", Class) / ("merge", Class) / ("input",) /
        ("sequential",) / ("model",) / ("pending", name) / None."""
        if isinstance(func, ast.Name) and func.id in self.pending:
            return ("pending", func.id)
        path = self.dotted(func)
        if path is None:
            return None
        if "." not in path:                           # a bare name, not imported
            if path in KNOWN_LAYERS:
                return ("layer", canonical(path))
            return {"Input": ("input",), "InputLayer": ("inputlayer",),
                    "Sequential": ("sequential",), "Model": ("model",)}.get(path)
        for prefix in ("keras.layers.", "keras."):
            if path.startswith(prefix):
                rest = path[len(prefix):]
                if "." in rest:
                    continue
                if rest in ("Input",):
                    return ("input",)
                if rest == "InputLayer":
                    return ("inputlayer",)
                if prefix == "keras.layers." and rest in KNOWN_LAYERS:
                    return ("layer", canonical(rest))
                if prefix == "keras.layers." and rest in MERGE_HELPERS:
                    return ("merge", MERGE_HELPERS[rest])
                if prefix == "keras." and rest in ("Sequential",):
                    return ("sequential",)
                if prefix == "keras." and rest == "Model":
                    return ("model",)
        if path in ("keras.models.Sequential",):
            return ("sequential",)
        if path in ("keras.models.Model",):
            return ("model",)
        return None

    # ------------------------------------------------------------------ literals
    def literal(self, node, depth=0):
        if depth > _MAX_DEPTH:
            raise self.refuse(node, "a literal nested this deeply")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
                raise self.refuse(node, f"a {type(node.value).__name__} constant")
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [self.literal(e, depth + 1) for e in node.elts]
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.Dict):
            out = {}
            for k, v in zip(node.keys, node.values):
                if k is None:
                    raise self.refuse(node, "dict unpacking (**)")
                key = self.literal(k, depth + 1)
                if not isinstance(key, (str, int, float, bool, type(None))):
                    raise self.refuse(k, "a dict key that is not a string or number")
                out[key] = self.literal(v, depth + 1)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self.literal(node.operand, depth + 1)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise self.refuse(node, "a sign on something that is not a number")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(
                node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Div)):
            a = self.literal(node.left, depth + 1)
            b = self.literal(node.right, depth + 1)
            if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in (a, b)):
                raise self.refuse(node, "arithmetic on something that is not a number")
            if isinstance(node.op, (ast.FloorDiv, ast.Div)) and b == 0:
                raise self.refuse(node, "a division by zero")
            result = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b,
                      ast.Mult: lambda: a * b, ast.FloorDiv: lambda: a // b,
                      ast.Div: lambda: a / b}[type(node.op)]()
            if abs(result) > _MAX_INT:
                raise self.refuse(node, "a number this large")
            return result
        if isinstance(node, ast.JoinedStr):
            if all(isinstance(v, ast.Constant) for v in node.values):
                return "".join(str(v.value) for v in node.values)
            raise self.refuse(node, "an f-string with expressions")
        if isinstance(node, ast.Name):
            if node.id in self.constants:
                return self.constants[node.id]
            raise self.refuse(node, f"the name {node.id!r} (not a literal assigned earlier)")
        raise self.refuse(node, _describe(node) if not isinstance(node, ast.Call)
                          else f"a call to {ast.unparse(node.func)!r} inside an argument")

    def call_args(self, call, what):
        if any(isinstance(a, ast.Starred) for a in call.args):
            raise self.refuse(call, "*args")
        args = [self.literal(a) for a in call.args]
        kwargs = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise self.refuse(call, "**kwargs")
            kwargs[kw.arg] = self.literal(kw.value)
        return args, kwargs

    # ------------------------------------------------------------------ layers
    def layer_spec(self, call, class_name) -> LayerSpec:
        args, kwargs = self.call_args(call, class_name)
        cls = layer_class(class_name)
        extra = ()
        named = {}
        if args:
            if cls is None:
                extra = tuple(args)
            else:
                params = [p for p in inspect.signature(cls).parameters.values()
                          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
                if len(args) > len(params):
                    raise _Refused(
                        f"Line {call.lineno}: {class_name}() takes at most {len(params)} "
                        f"positional arguments ({', '.join(p.name for p in params)}) but "
                        f"{len(args)} were given")
                for p, v in zip(params, args):
                    if p.name in kwargs:
                        raise _Refused(f"Line {call.lineno}: {class_name}() got multiple "
                                       f"values for argument {p.name!r}")
                    named[p.name] = v
        kwargs = {**named, **kwargs}
        return LayerSpec(class_name, kwargs, line=call.lineno, args=extra)

    def input_call(self, call, kind):
        args, kwargs = self.call_args(call, "Input")
        if args:
            kwargs.setdefault("shape", args[0])
            if len(args) > 1:
                kwargs.setdefault("batch_size", args[1])
        shape = kwargs.get("shape", kwargs.get("input_shape"))
        batch = kwargs.get("batch_size")
        if "batch_shape" in kwargs or "batch_input_shape" in kwargs:
            full = kwargs.get("batch_shape", kwargs.get("batch_input_shape"))
            if not isinstance(full, (tuple, list)) or not full:
                raise _Refused(f"Line {call.lineno}: batch_shape must be a tuple. "
                               f"Received: {full!r}")
            batch, shape = full[0], full[1:]
        if shape is None:
            raise _Refused(f"Line {call.lineno}: Input() needs shape=(...)")
        if isinstance(shape, int) and not isinstance(shape, bool):
            shape = (shape,)
        shape = _check_input_shape(shape, call.lineno)
        name = kwargs.get("name") or INPUT_NAME
        return shape, batch, name

    def sequential_items(self, node, model):
        if isinstance(node, ast.Name) and node.id in self.list_vars:
            for spec in self.list_vars[node.id]:
                self.add_to_sequential(model, spec, node)
            return
        if not isinstance(node, (ast.List, ast.Tuple)):
            raise self.refuse(node, "a Sequential argument that is not a list of layers")
        for elt in node.elts:
            self.sequential_item(elt, model)

    def sequential_item(self, elt, model):
        if not isinstance(elt, ast.Call):
            if isinstance(elt, ast.Name) and elt.id in self.pending:
                p = self.pending[elt.id]
                self.use_pending(elt, p)
                self.add_to_sequential(model, p.spec, elt)
                return
            raise self.refuse(elt, "a list element that is not a layer call")
        kind = self.classify(elt.func)
        if kind is None:
            raise self.refuse(elt, f"a call to {ast.unparse(elt.func)!r}")
        if kind[0] in ("input", "inputlayer"):
            if model.layers or model.input_shape is not None:
                raise self.refuse(elt, "an Input that is not the first element")
            model.input_shape, model.batch_size, _ = self.input_call(elt, kind[0])
            return
        if kind[0] != "layer":
            raise self.refuse(elt, f"{ast.unparse(elt.func)!r} inside Sequential")
        self.add_to_sequential(model, self.layer_spec(elt, kind[1]), elt)

    def add_to_sequential(self, model, spec, node):
        kwargs = spec.kwargs
        legacy = [k for k in ("input_shape", "batch_input_shape", "input_dim") if k in kwargs]
        if legacy:
            if model.layers or model.input_shape is not None:
                self.notes.append(f"Line {spec.line}: {legacy[0]}= on a layer that is not the "
                                  "first is ignored, as Keras ignores it.")
            else:
                value = kwargs["input_shape"] if "input_shape" in kwargs else (
                    kwargs["batch_input_shape"][1:] if "batch_input_shape" in kwargs
                    else (kwargs["input_dim"],))
                model.input_shape = _check_input_shape(value, spec.line)
            kwargs = {k: v for k, v in kwargs.items() if k not in legacy}
            spec = spec.replace(kwargs=kwargs)
        model.layers.append(spec)
        self.check_count(len(model.layers), node)

    def check_count(self, n, node):
        if n > MAX_LAYERS:
            raise _Refused(f"Line {getattr(node, 'lineno', '?')}: more than {MAX_LAYERS} layers; "
                           "the shape debugger is limited to that many.")

    def use_pending(self, node, pending):
        if pending.used:
            raise self.refuse(node, "applying the same layer object twice (shared layers)")
        pending.used = True

    # ------------------------------------------------------------------ functional
    def tensor_expr(self, node):
        """A tensor (or list of tensors) given to a layer: names or nested applications."""
        if isinstance(node, ast.Name):
            if node.id in self.tensors:
                return self.tensors[node.id]
            raise self.refuse(node, f"the name {node.id!r} (not a tensor defined earlier)")
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.tensor_expr(e) for e in node.elts]
        if isinstance(node, ast.Call):
            return self.apply(node)
        raise self.refuse(node, _describe(node))

    def apply(self, call) -> _Tensor:
        """``Layer(...)(x)``, ``conv(x)`` or ``layers.add([a, b])`` → the new tensor."""
        func = call.func
        if isinstance(func, ast.Call):                       # Layer(...)(x)
            kind = self.classify(func.func)
            if kind is None or kind[0] != "layer":
                raise self.refuse(call, f"calling the result of {ast.unparse(func.func)!r}")
            spec = self.layer_spec(func, kind[1])
            tensor_args = call.args
        else:
            kind = self.classify(func)
            if kind is None:
                raise self.refuse(call, f"a call to {ast.unparse(func)!r}")
            if kind[0] == "pending":
                p = self.pending[kind[1]]
                self.use_pending(call, p)
                spec = p.spec
            elif kind[0] == "merge":
                if not call.args:
                    raise self.refuse(call, "a merge without its list of inputs")
                inner = ast.Call(func=func, args=call.args[1:], keywords=call.keywords,
                                 lineno=call.lineno, col_offset=call.col_offset)
                spec = self.layer_spec(inner, kind[1])
                tensor_args = call.args[:1]
                return self.connect(spec, tensor_args, call)
            else:
                raise self.refuse(call, f"{ast.unparse(func)!r} applied to a tensor")
            tensor_args = call.args
        if len(tensor_args) != 1 or any(kw.arg not in ("training", "mask")
                                        for kw in call.keywords):
            raise self.refuse(call, "a layer applied to anything but one tensor or one list")
        return self.connect(spec, tensor_args, call)

    def connect(self, spec, tensor_args, call):
        inputs = self.tensor_expr(tensor_args[0])
        flat = inputs if isinstance(inputs, list) else [inputs]
        if not flat or not all(isinstance(t, _Tensor) for t in flat):
            raise self.refuse(call, "a layer input that is not a tensor or a flat list")
        taken = set(self.node_names)
        if self.input_node:
            taken.add(self.input_node[0])
        name = spec.kwargs.get("name")
        if name and name in taken:
            raise _Refused(f"Line {call.lineno}: the name {name!r} is used twice; all layer "
                           "names in a model must be unique.")
        if not name:
            # Keras's default name, frozen now so that later layers cannot take it
            name = assign_names([spec], taken=taken)[0]
        self.nodes.append(spec.replace(inputs=[t.producer for t in flat], name=name))
        self.node_names.add(name)
        self.check_count(len(self.nodes), call)
        return _Tensor(name)

    # ------------------------------------------------------------------ statements
    def statement(self, st):
        if isinstance(st, (ast.Import, ast.ImportFrom)):
            return self.import_(st)
        if isinstance(st, ast.Pass):
            return None
        if isinstance(st, ast.Expr):
            return self.expr_statement(st)
        if isinstance(st, ast.Assign):
            return self.assign(st)
        raise self.refuse(st, _describe(st))

    def import_(self, st):
        if isinstance(st, ast.Import):
            for a in st.names:
                root = a.name.split(".")[0]
                if root not in _ALLOWED_MODULES:
                    raise self.refuse(st, f"importing {a.name!r}")
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    self.aliases.setdefault(root, root)
            return
        module = st.module or ""
        if st.level or module.split(".")[0] not in _ALLOWED_MODULES:
            raise self.refuse(st, f"importing from {module!r}")
        for a in st.names:
            if a.name == "*":
                continue
            self.aliases[a.asname or a.name] = f"{module}.{a.name}"

    def expr_statement(self, st):
        v = st.value
        if isinstance(v, ast.Constant) and isinstance(v.value, str):
            return  # a docstring
        if isinstance(v, (ast.List, ast.Tuple)):
            model = _SequentialModel(st.lineno)
            self.sequential_items(v, model)
            self.list_specs = model.layers
            self.list_input = (model.input_shape, model.batch_size)
            self.last_model = "list"
            return
        if not isinstance(v, ast.Call):
            raise self.refuse(st, _describe(v))
        func = v.func
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id in self.models):
            model = self.models[func.value.id]
            if func.attr == "add":
                if len(v.args) != 1 or v.keywords:
                    raise self.refuse(st, "model.add() with other than one layer")
                self.sequential_item(v.args[0], model)
                return
            if func.attr in _IGNORED_METHODS:
                self.call_args(v, func.attr)  # literal arguments only
                self.notes.append(f"Line {st.lineno}: model.{func.attr}(...) ignored.")
                return
            raise self.refuse(st, f"the method {func.attr!r}")
        kind = self.classify(func)
        if kind is not None and kind[0] == "layer":      # a bare list of calls, one per line
            if not hasattr(self, "list_input"):
                self.list_input = (None, None)
            model = _SequentialModel(st.lineno)
            model.layers = self.list_specs
            model.input_shape, model.batch_size = self.list_input
            self.add_to_sequential(model, self.layer_spec(v, kind[1]), st)
            self.list_input = (model.input_shape, model.batch_size)
            self.last_model = "list"
            return
        if kind is not None and kind[0] in ("input", "inputlayer") and not self.list_specs:
            shape, batch, _ = self.input_call(v, kind[0])
            self.list_input = (shape, batch)
            return
        if isinstance(func, ast.Attribute) and func.attr in _IGNORED_METHODS and \
                isinstance(func.value, ast.Name) and func.value.id == getattr(
                    self, "functional_var", None):
            self.call_args(v, func.attr)
            self.notes.append(f"Line {st.lineno}: model.{func.attr}(...) ignored.")
            return
        raise self.refuse(st, f"a call to {ast.unparse(func)!r}" if kind is None
                          else f"{ast.unparse(func)!r} as a statement")

    def assign(self, st):
        if len(st.targets) != 1 or not isinstance(st.targets[0], ast.Name):
            raise self.refuse(st, "an assignment to anything but one plain name")
        target = st.targets[0].id
        value = self.assign_value(st)
        for table in (self.constants, self.tensors, self.pending, self.models, self.list_vars):
            table.pop(target, None)
        kind, obj = value
        if kind == "list":
            self.list_vars[target] = obj
        elif kind == "constant":
            self.constants[target] = obj
        elif kind == "tensor":
            self.tensors[target] = self.last_tensor = obj
        elif kind == "pending":
            self.pending[target] = obj
        elif kind == "model":
            self.models[target] = obj
            self.last_model = f"sequential:{target}"
        elif kind == "functional":
            self.functional_var = target

    def assign_value(self, st):
        """Evaluate the right-hand side of ``target = value`` → (what, object)."""
        v = st.value
        if isinstance(v, (ast.List, ast.Tuple)) and v.elts and all(
                isinstance(e, ast.Call) for e in v.elts):
            kinds = [self.classify(e.func) for e in v.elts]
            if all(k is not None and k[0] in ("layer", "input", "inputlayer") for k in kinds):
                model = _SequentialModel(st.lineno)
                self.sequential_items(v, model)
                self.list_specs = model.layers
                self.list_input = (model.input_shape, model.batch_size)
                self.last_model = "list"
                return "list", model.layers
        if not isinstance(v, ast.Call):
            return "constant", self.literal(v)
        func = v.func
        if isinstance(func, ast.Call) or (self.classify(func) or ("",))[0] in ("pending", "merge"):
            return "tensor", self.apply(v)
        kind = self.classify(func)
        if kind is None:
            raise self.refuse(st, f"a call to {ast.unparse(func)!r}")
        if kind[0] == "layer":
            return "pending", _PendingLayer(self.layer_spec(v, kind[1]))
        if kind[0] in ("input", "inputlayer"):
            if self.input_node is not None:
                raise self.refuse(st, "a second Input (models with several inputs)")
            shape, batch, name = self.input_call(v, kind[0])
            self.input_node = (name, shape, batch, st.lineno)
            return "tensor", _Tensor(name)
        if kind[0] == "sequential":
            model = _SequentialModel(st.lineno)
            args, kwargs = v.args, {kw.arg: kw for kw in v.keywords}
            layers_node = args[0] if args else (kwargs["layers"].value if "layers" in kwargs
                                                else None)
            for kw in v.keywords:
                if kw.arg not in ("layers", "name", "trainable"):
                    raise self.refuse(st, f"Sequential({kw.arg}=...)")
                if kw.arg != "layers":
                    self.literal(kw.value)
            if len(args) > 1:
                raise self.refuse(st, "Sequential() with more than one positional argument")
            if layers_node is not None:
                self.sequential_items(layers_node, model)
            return "model", model
        if kind[0] == "model":
            self.model_call(v, st)
            return "functional", None
        raise self.refuse(st, f"a call to {ast.unparse(func)!r}")

    def model_call(self, v, st):
        args = list(v.args)
        kw = {k.arg: k.value for k in v.keywords}
        inputs = args[0] if args else kw.get("inputs")
        outputs = args[1] if len(args) > 1 else kw.get("outputs")
        for k in kw:
            if k not in ("inputs", "outputs", "name", "trainable"):
                raise self.refuse(st, f"Model({k}=...)")
            if k in ("name", "trainable"):
                self.literal(kw[k])
        if inputs is None or outputs is None:
            raise self.refuse(st, "Model() without inputs and outputs")
        ins = self.tensor_expr(inputs)
        outs = self.tensor_expr(outputs)
        ins = ins if isinstance(ins, list) else [ins]
        outs = outs if isinstance(outs, list) else [outs]
        if len(ins) != 1 or self.input_node is None or ins[0].producer != self.input_node[0]:
            raise self.refuse(st, "a Model whose inputs are not the one Input")
        self.functional_model = [t.producer for t in outs]
        self.last_model = "functional"

    # ------------------------------------------------------------------ result
    def result(self) -> Parsed:
        if self.last_model and self.last_model.startswith("sequential:"):
            model = self.models[self.last_model.split(":", 1)[1]]
            return Parsed(model.layers, model.input_shape, model.batch_size, "sequential",
                          notes=self.notes)
        if self.nodes and self.last_model != "list":
            return self.functional_result()
        if self.list_specs or self.last_model == "list":
            shape, batch = getattr(self, "list_input", (None, None))
            return Parsed(self.list_specs, shape, batch, "list", notes=self.notes)
        if self.nodes:
            return self.functional_result()
        raise ValueError("No Keras layers found in the code: write keras.Sequential([...]), a "
                         "list of layers.Conv2D(...) calls, or a functional chain "
                         "x = layers.Conv2D(...)(x).")

    def functional_result(self) -> Parsed:
        if self.input_node is None:
            raise ValueError("The functional chain has no keras.Input(shape=...).")
        input_name, shape, batch, _ = self.input_node
        names = [s.name for s in self.nodes]
        outputs = self.functional_model or [self.last_tensor.producer]
        ordered = keras_layer_order(self.nodes, names, input_name, outputs)
        dropped = len(self.nodes) - len(ordered)
        if dropped:
            self.notes.append(f"{dropped} layer(s) do not lead to the model's outputs; Keras "
                              "leaves them out of the model, and so does this summary.")
        if _is_chain(ordered, [s.name for s in ordered], input_name):
            ordered = [s.replace(inputs=None) for s in ordered]
        return Parsed(ordered, shape, batch, "functional", input_name=input_name,
                      outputs=outputs, notes=self.notes)


def _check_input_shape(shape, line):
    if isinstance(shape, (int,)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise _Refused(f"Line {line}: the input shape must be a tuple of sizes. "
                       f"Received: {shape!r}")
    for d in shape:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
            raise _Refused(f"Line {line}: input shape entries must be non-negative integers "
                           f"or None. Received: shape={tuple(shape)}")
    return tuple(shape)


def keras_layer_order(specs, names, input_name, outputs):
    """Keras's ``model.layers`` order for a functional graph (``ops.function.map_graph``):
    layers that lead to ``outputs`` only, by decreasing depth from the outputs, ties
    broken by the order a depth-first walk from the outputs first meets them."""
    by_name = dict(zip(names, specs))
    index: dict = {}
    post: list = []
    done: set = set()

    def visit(name):
        if name in done or name not in by_name and name != input_name:
            return
        if name not in index:
            index[name] = len(index)
        if name != input_name:
            for parent in by_name[name].inputs or ():
                visit(parent)
        done.add(name)
        post.append(name)

    for out in outputs:
        visit(out)
    depth: dict = {}
    for name in reversed(post):
        d = depth.setdefault(name, 0)
        if name == input_name:
            continue
        for parent in by_name[name].inputs or ():
            depth[parent] = max(d + 1, depth.get(parent, 0))
    layers = [n for n in post if n != input_name]
    layers.sort(key=lambda n: (-depth[n], index[n]))
    return [by_name[n] for n in layers]


def parse_keras_code(source: str) -> Parsed:
    """Keras code → :class:`Parsed` ``(specs, input_shape)`` using ``ast`` only.

    ``specs`` are ``(class_name, kwargs)`` pairs (:class:`LayerSpec`) in ``model.layers``
    order; ``input_shape`` is the ``shape`` of ``keras.Input`` (batch excluded) or ``None``.
    Raises ``ValueError`` naming the line for anything but the forms listed in this
    module's docstring, and for more than ``MAX_SOURCE_BYTES`` of code or ``MAX_LAYERS``
    layers.
    """
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if not isinstance(source, str):
        raise ValueError(f"Keras code must be a string. Received: {type(source).__name__}")
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise ValueError(f"The code is longer than {MAX_SOURCE_BYTES // 1000} kB; paste the "
                         "model definition only.")
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        raise ValueError(f"Line {exc.lineno}: Python syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError("The code is nested too deeply to be read.") from None
    parser = _Parser(source)
    try:
        for st in tree.body:
            parser.statement(st)
        return parser.result()
    except RecursionError:
        raise ValueError("The code is nested too deeply to be read.") from None
    except _Refused as exc:
        raise ValueError(str(exc)) from None


# ---------------------------------------------------------------------------- configs

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
        return _history_names(node.get("args", []))
    return _history_names(node)


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
            raise ValueError(f"Layer {lyr.get('name')!r} is a nested model; nested models are "
                             "not supported by the shape debugger.")
        if shape is None and not specs:
            for key in ("batch_input_shape", "batch_shape"):
                if lcfg.get(key):
                    batch, shape = lcfg[key][0], tuple(lcfg[key][1:])
            build = (lyr.get("build_config") or {}).get("input_shape")
            if shape is None and build and not functional:
                batch, shape = build[0], tuple(build[1:])
        for key in ("batch_input_shape", "batch_shape", "input_shape", "input_dim"):
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
        if _is_chain(specs, [s.name for s in specs], input_name):
            specs = [s.replace(inputs=None) for s in specs]
    return Parsed(specs, shape, batch, "functional" if functional else "sequential",
                  input_name=input_name, outputs=outputs, notes=notes)


def _is_chain(specs, names, input_name):
    """True when every layer takes exactly the previous one's output (a Sequential)."""
    prev = input_name
    for s, n in zip(specs, names):
        if s.inputs is None or list(s.inputs) != [prev]:
            return False
        prev = n
    return True


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
