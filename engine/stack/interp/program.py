"""A file read by the interpreter: its models, and the one a summary shows.

:func:`read` runs the interpreter; :func:`select` picks the model bound to ``model``
(else the last built, or the one named) and assembles it
(:mod:`engine.stack.interp.assemble`). Without any model, a functional chain (from the
inputs to the last tensor assigned) or bare layer calls, one per line, are the stack.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from engine.stack.interp.assemble import functional_parsed, to_parsed
from engine.stack.interp.errors import ADVICE, Refused
from engine.stack.interp.interpreter import Interpreter
from engine.stack.interp.limits import LimitExceeded
from engine.stack.interp.values import MODELS, FunctionalModel, InputOp, Layer
from engine.stack.spec import MAX_LAYERS, Parsed

NO_LAYERS = ("No Keras layers found in the code: write keras.Sequential([...]), a list of "
             "layers.Conv2D(...) calls, or a functional chain x = layers.Conv2D(...)(x).")


@dataclass
class Program:
    """The models of a file (``labels[i]`` names ``models[i]``: the variable bound to it,
    else its Keras name) and what the file left without a model."""

    interp: Interpreter
    models: list = field(default_factory=list)
    labels: list = field(default_factory=list)


def read(tree: ast.Module, source: str) -> Program:
    """Run the file; a refusal carries the program read so far (``exc.program``)."""
    interp = Interpreter(source)
    try:
        try:
            interp.run_block(tree.body)
        except (TypeError, AttributeError, KeyError, IndexError, ArithmeticError) as exc:
            # a combination of values the interpreter has no rule for: refused, not a crash
            raise Refused(f"Line {interp.budget.line}: this line could not be read "
                          f"({type(exc).__name__}: {exc}). {ADVICE}") from None
    except (Refused, LimitExceeded) as exc:
        exc.program = _program(interp)
        raise
    return _program(interp)


def partial(program: Program | None) -> Parsed | None:
    """The stack read before a refusal: the selected model, else the layers applied so
    far (from their inputs to the last one), or None."""
    if program is None:
        return None
    try:
        if program.models:
            return select(program)
        last = next((n.output for n in reversed(program.interp.graph.nodes)
                     if isinstance(n.operation, Layer)), None)
        if last is not None:
            return _chain(program.interp, last)
        return select(program)
    except ValueError:
        return None


def _program(interp) -> Program:
    bound: dict = {}
    for name, value in interp.globals.vars.items():
        if isinstance(value, MODELS):
            bound.setdefault(id(value), name)
    program = Program(interp)
    for model in interp.models:
        label = bound.get(id(model), model.name)
        while label in program.labels:
            label += "'"
        program.models.append(model)
        program.labels.append(label)
    return program


def select(program: Program, wanted: str | None = None) -> Parsed:
    """The stack to summarize: the model labelled ``wanted``, else ``model``, else the last
    built; else the functional chain; else the bare layers. At most MAX_LAYERS rows."""
    parsed = _selected(program, wanted)
    if len(parsed.specs) > MAX_LAYERS:
        raise LimitExceeded(f"The model has {len(parsed.specs)} layers, more than "
                            f"{MAX_LAYERS} (limit MAX_LAYERS); the shape debugger is limited "
                            "to that many.")
    return parsed


def _selected(program: Program, wanted: str | None) -> Parsed:
    interp = program.interp
    labels = tuple(program.labels)
    if program.models:
        if wanted is not None and wanted not in labels:
            raise ValueError(f"No model {wanted!r} in the code; models: {', '.join(labels)}.")
        choice = wanted or ("model" if "model" in labels else labels[-1])
        model = program.models[labels.index(choice)]
        parsed = to_parsed(model)
        return parsed.replace(models=labels, model_name=choice,
                              notes=interp.notes + parsed.notes)
    if interp.tensors and interp.graph.layer_count:
        return _chain(interp, interp.tensors[-1])
    if interp.loose:
        shape = interp.loose_input.shape if interp.loose_input is not None else None
        specs = [layer.spec for layer in interp.loose]
        return Parsed(specs, None if shape is None else shape[1:],
                      None if shape is None else shape[0], "list", notes=interp.notes)
    raise ValueError(NO_LAYERS)


def _chain(interp, last) -> Parsed:
    """A functional chain without ``keras.Model``: from its inputs to ``last``."""
    inputs = [n.output for n in interp.graph.nodes if isinstance(n.operation, InputOp)]
    reached = _sources(last)
    inputs = [t for t in inputs if id(t) in reached] or inputs[:1]
    if not inputs:
        raise ValueError("The functional chain has no keras.Input(shape=...).")
    model = FunctionalModel("functional", last.node.line if last.node else 0, inputs, [last],
                            file_nodes=interp.graph.nodes)
    return functional_parsed(model).replace(notes=interp.notes)


def _sources(tensor) -> set:
    """ids of the tensors ``tensor`` depends on."""
    seen, stack = set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.node is not None:
            stack.extend(t.node.inputs)
    return seen
