"""Refusals: the line, the construct and what to do, with the model read so far."""

from __future__ import annotations

import ast

ADVICE = ("Only model-building Python is read (nothing is executed): Keras layers and "
          "models, numbers, strings, lists, loops, comprehensions and the file's own "
          "functions.")


class Refused(ValueError):
    """A construct the interpreter does not read. ``program`` is the
    :class:`~engine.stack.interp.program.Program` read before it, ``partial`` the
    :class:`~engine.stack.spec.Parsed` of its model (set on the way out, may be None)."""

    program = None
    partial = None


def segment(lines, node, limit=60) -> str:
    """The source line of ``node``, stripped and shortened."""
    try:
        text = lines[node.lineno - 1].strip()
    except (AttributeError, IndexError, TypeError):
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_of(node):
    return getattr(node, "lineno", "?")


_KINDS = {
    ast.Lambda: "a lambda", ast.GeneratorExp: "a generator expression",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield from",
    ast.NamedExpr: "an assignment expression (:=)", ast.AsyncFunctionDef: "an async function",
    ast.With: "a with statement", ast.AsyncWith: "an async with statement",
    ast.Try: "a try statement", ast.Delete: "a del statement",
    ast.Global: "a global statement", ast.Nonlocal: "a nonlocal statement",
    ast.Raise: "a raise statement", ast.Match: "a match statement",
    ast.AsyncFor: "an async for loop", ast.Starred: "a starred expression",
}


def describe(node) -> str:
    """What a node is, in words."""
    for kind, words in _KINDS.items():
        if isinstance(node, kind):
            return words
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__}"
    if isinstance(node, ast.UnaryOp):
        return f"the unary operator {type(node.op).__name__}"
    return type(node).__name__
