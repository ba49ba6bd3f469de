"""Statements: assignments, ``if`` / ``for`` / ``while``, ``def``, ``class M(keras.Model)``,
imports of Keras names; and the file-level record of models and loose layers."""

from __future__ import annotations

import ast
import copy

from engine.stack.interp import keras_api
from engine.stack.interp.calls import NO_DEFAULT, Calls, Return
from engine.stack.interp.constructors import Constructors
from engine.stack.interp.errors import ADVICE, Refused, describe, line_of, segment
from engine.stack.interp.expressions import Expressions
from engine.stack.interp.graph import Graph
from engine.stack.interp.limits import Budget, check_size
from engine.stack.interp.scope import Scope
from engine.stack.interp.values import (
    MODELS, Function, KerasRef, Layer, ModelClass, SubclassModel, Tensor,
)

_DEFAULT_NAMES = {"layers": "keras.layers", "tf": "tensorflow", "keras": "keras",
                  "models": "keras.models", "ops": "keras.ops"}
_MODEL_BASES = ("keras.Model", "keras.models.Model")


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Interpreter(Expressions, Calls, Constructors):
    """Runs a model file's statements over symbolic values (nothing is executed)."""

    def __init__(self, source: str):
        self.lines = source.splitlines()
        self.budget = Budget()
        self.graph = Graph()
        self.globals = Scope()
        self.scope = self.globals
        self.globals.vars.update({k: KerasRef(v) for k, v in _DEFAULT_NAMES.items()})
        self.globals.bind("__name__", "__main__")
        self.models: list = []           # in the order they were built
        self.loose: list = []            # layers / an Input written as bare statements
        self.tensors: list = []          # tensors assigned at file level, in order
        self.notes: list = []
        self.loose_input: Tensor | None = None

    # ------------------------------------------------------------------ helpers
    def refuse(self, node, construct, advice=ADVICE) -> Refused:
        return Refused(f"Line {line_of(node)}: {construct} is not accepted: "
                       f"{segment(self.lines, node)!r}. {advice}")

    def is_bound(self, name) -> bool:
        try:
            self.scope.lookup(name)
            return True
        except KeyError:
            return False

    def register_model(self, model) -> None:
        self.models.append(model)

    def run_block(self, statements) -> None:
        for st in statements:
            self.budget.step(line_of(st))
            handler = self._STATEMENTS.get(type(st))
            if handler is None:
                raise self.refuse(st, describe(st))
            handler(self, st)

    # ------------------------------------------------------------------ simple statements
    def expression_statement(self, st):
        """A bare expression; at file level, a bare layer call or Input is remembered
        (the stack of a file that is a list of layers)."""
        if isinstance(st.value, ast.Constant) and isinstance(st.value.value, str):
            return                                          # a docstring
        value = self.eval(st.value)
        if self.scope is not self.globals:
            return
        items = value if isinstance(value, list) and isinstance(st.value, ast.List) else [value]
        for item in items:
            if isinstance(item, Layer) and not item.applications:
                self.loose.append(item)
            elif isinstance(item, Tensor) and item.node is not None and not item.node.inputs \
                    and not self.loose:
                self.loose_input = item

    def assign(self, st):
        value = self.eval(st.value)
        for target in st.targets:
            self.assign_target(target, value)

    def ann_assign(self, st):
        if st.value is not None:
            self.assign_target(st.target, self.eval(st.value))

    def aug_assign(self, st):
        """``x += v`` (a list is extended in place, as Python does)."""
        current = self.eval(_as_load(st.target))
        value = self.eval(st.value)
        if isinstance(current, list) and isinstance(st.op, ast.Add):
            current.extend(self.iterate(value, st.value))
            check_size(current, line_of(st))
            return
        self.assign_target(st.target, self.arithmetic(st.op, current, value, st))

    def assign_target(self, target, value):
        """Bind ``value`` to a name, tuple, attribute (``self.x``) or item."""
        if isinstance(target, ast.Name):
            self.scope.bind(target.id, value)
            if self.scope is self.globals and isinstance(value, Tensor):
                self.tensors.append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target, value)
        elif isinstance(target, ast.Attribute):
            self.set_attribute(target, value)
        elif isinstance(target, ast.Subscript):
            self.set_item(target, value)
        else:
            raise self.refuse(target, f"assigning to {describe(target)}")

    def unpack(self, target, value):
        """``a, (b, *c) = value``."""
        items = self.iterate(value, target)
        starred = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)]
        if not starred and len(items) != len(target.elts):
            raise self.refuse(target, f"unpacking {len(items)} values into "
                              f"{len(target.elts)} names")
        if starred:
            i = starred[0]
            after = len(target.elts) - i - 1
            if len(items) < len(target.elts) - 1:
                raise self.refuse(target, "unpacking too few values")
            items = items[:i] + [list(items[i:len(items) - after])] + items[len(items) - after:]
        for elt, item in zip(target.elts, items):
            self.assign_target(elt.value if isinstance(elt, ast.Starred) else elt, item)

    def set_attribute(self, target, value):
        """``self.x = ...`` in a Model subclass; ``.trainable = ...`` (ignored)."""
        obj = self.eval(target.value)
        if target.attr.startswith("_"):
            raise self.refuse(target, f"setting the attribute {target.attr!r}")
        if isinstance(obj, SubclassModel):
            obj.attrs[target.attr] = value
        elif isinstance(obj, (Layer,) + MODELS) and target.attr == "trainable":
            self.notes.append(f"Line {target.lineno}: .trainable ignored (parameters are "
                              "counted all the same).")
        else:
            raise self.refuse(target, f"setting the attribute {target.attr!r} of "
                              f"{type(obj).__name__}")

    def set_item(self, target, value):
        """``d[k] = v`` / ``l[i] = v``."""
        obj = self.eval(target.value)
        key = self.eval(target.slice)
        if not isinstance(obj, (list, dict)):
            raise self.refuse(target, f"item assignment on a {type(obj).__name__}")
        try:
            obj[key] = value
        except (IndexError, TypeError) as exc:
            raise self.refuse(target, f"the item assignment ({exc})") from None

    def return_(self, st):
        raise Return(None if st.value is None else self.eval(st.value))

    def pass_(self, st):
        return None

    def break_(self, st):
        raise _Break()

    def continue_(self, st):
        raise _Continue()

    # ------------------------------------------------------------------ control flow
    def if_(self, st):
        self.run_block(st.body if self.truth(self.eval(st.test), st.test) else st.orelse)

    def for_(self, st):
        """``for`` over an iterable value (within MAX_LOOP_ITERATIONS), with ``else``."""
        items = self.iterate(self.eval(st.iter), st.iter)
        for count, item in enumerate(items, 1):
            self.budget.loop_iteration(count, line_of(st))
            self.assign_target(st.target, item)
            if self._loop_body(st) is _Break:
                return
        self.run_block(st.orelse)

    def while_(self, st):
        """``while`` within MAX_LOOP_ITERATIONS, with ``else``."""
        count = 0
        while self.truth(self.eval(st.test), st.test):
            count += 1
            self.budget.loop_iteration(count, line_of(st))
            if self._loop_body(st) is _Break:
                return
        self.run_block(st.orelse)

    def _loop_body(self, st):
        """Run a loop's body once: ``_Break`` when it breaks, else None (``continue`` ends
        the iteration early)."""
        try:
            self.run_block(st.body)
        except _Break:
            return _Break
        except _Continue:
            pass
        return None

    # ------------------------------------------------------------------ definitions
    def function_def(self, st):
        self.check_decorators(st)
        defaults = [self.eval(d) for d in st.args.defaults]
        kw_defaults = [NO_DEFAULT if d is None else self.eval(d) for d in st.args.kw_defaults]
        self.scope.bind(st.name, Function(st, defaults, kw_defaults, self.scope))

    def class_def(self, st):
        """``class M(keras.Model)``: its methods (nothing else in the body)."""
        self.check_decorators(st)
        if st.keywords or len(st.bases) != 1 or self.model_base(st.bases[0]) is None:
            raise self.refuse(st, "a class that is not a keras.Model subclass",
                              "Only subclasses of keras.Model are read.")
        methods = {}
        for item in st.body:
            if isinstance(item, ast.FunctionDef):
                self.check_decorators(item)
                defaults = [self.eval(d) for d in item.args.defaults]
                kw = [NO_DEFAULT if d is None else self.eval(d) for d in item.args.kw_defaults]
                methods[item.name] = Function(item, defaults, kw, self.scope)
            elif not (isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant)):
                raise self.refuse(item, f"{describe(item)} in a class body",
                                  "A Model subclass holds methods only.")
        self.scope.bind(st.name, ModelClass(st.name, st.lineno, methods))

    def model_base(self, node):
        """``keras.Model`` (however it is spelled) if ``node`` names it, else None."""
        try:
            base = self.eval(node)
        except Refused:
            return None
        return base if isinstance(base, KerasRef) and base.path in _MODEL_BASES else None

    def check_decorators(self, st):
        for d in st.decorator_list:
            if "register_keras_serializable" not in ast.unparse(d):
                raise self.refuse(d, "a decorator")

    def import_(self, st):
        """Imports of keras / tensorflow names: recorded as names, never imported."""
        if isinstance(st, ast.Import):
            for alias in st.names:
                root = alias.name.split(".")[0]
                if root not in keras_api.ALLOWED_MODULES:
                    raise self.refuse(st, f"importing {alias.name!r}")
                name = alias.asname or root
                path = alias.name if alias.asname else root
                self.scope.bind(name, KerasRef(keras_api.normalize(path)))
            return
        module = st.module or ""
        if st.level or module.split(".")[0] not in keras_api.ALLOWED_MODULES:
            raise self.refuse(st, f"importing from {module!r}")
        for alias in st.names:
            if alias.name == "*":
                raise self.refuse(st, "import *", "Import the names you use.")
            path = keras_api.normalize(f"{module}.{alias.name}")
            self.scope.bind(alias.asname or alias.name, KerasRef(path))


def _as_load(target):
    """The expression that reads an assignment target (for ``x += 1``)."""
    node = copy.deepcopy(target)
    for n in ast.walk(node):
        if hasattr(n, "ctx"):
            n.ctx = ast.Load()
    return node


Interpreter._STATEMENTS = {
    ast.Expr: Interpreter.expression_statement, ast.Assign: Interpreter.assign,
    ast.AnnAssign: Interpreter.ann_assign, ast.AugAssign: Interpreter.aug_assign,
    ast.Return: Interpreter.return_, ast.Pass: Interpreter.pass_,
    ast.Break: Interpreter.break_, ast.Continue: Interpreter.continue_,
    ast.If: Interpreter.if_, ast.For: Interpreter.for_, ast.While: Interpreter.while_,
    ast.FunctionDef: Interpreter.function_def, ast.ClassDef: Interpreter.class_def,
    ast.Import: Interpreter.import_, ast.ImportFrom: Interpreter.import_,
}
