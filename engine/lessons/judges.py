"""Judges: read an answer text and compare it with the engine's answer.

Each judge's :meth:`~Judge.judge` returns a :class:`Judgement`: right or not, whether the
text could be read at all, and ``focus``, the index of the derivation step about the first
thing that is wrong (its exercise orders the steps accordingly: one per spatial axis, then
channels, …). Argument questions (:class:`FitJudge`) build the layer with the student's
value and let the engine decide, so every value that works is right.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from engine.geometry import geometry
from engine.lessons import parse
from engine.lessons.overlap import even_placements
from engine.lessons.stack import make_layer
from engine.literals import literal

MAX_VALUE = 64  # largest integer an argument answer may contain (bounds the work)


@dataclass(frozen=True)
class Judgement:
    """``correct``; ``readable``: the text had the expected form; ``focus``: the step to
    hint; ``note``: what about the form was wrong (the batch, the number of values…)."""

    correct: bool
    readable: bool = True
    focus: int = 0
    note: str = ""


_UNREADABLE = Judgement(False, readable=False)


class Judge:
    """Base: ``form`` is an example of the expected form, for messages."""

    form = "?"

    def judge(self, text: str) -> Judgement:
        raise NotImplementedError


@dataclass(frozen=True)
class ShapeJudge(Judge):
    """An output shape, batch first; the answer may leave the batch out or write None.
    Focus: the position of the first wrong value after the batch."""

    shape: tuple

    @property
    def form(self) -> str:
        return f"{literal(tuple(self.shape[1:]))} or {literal((None,) + tuple(self.shape[1:]))}"

    def judge(self, text):
        values = parse.read_ints(text)
        rest = tuple(self.shape[1:])
        if values is None:
            return _UNREADABLE
        if len(values) == len(self.shape):
            if values[0] not in (None, self.shape[0]):
                return Judgement(False, note=f"The batch stays {self.shape[0]} (or write "
                                 "None).")
            values = values[1:]
        if len(values) != len(rest):
            sizes = "1 spatial size" if len(rest) == 2 else f"{len(rest) - 1} spatial sizes"
            return Judgement(False, note=f"This output has {len(rest)} numbers after the "
                             f"batch ({sizes} and the channels).")
        wrong = [i for i, (v, e) in enumerate(zip(values, rest)) if v != e]
        return Judgement(not wrong, focus=wrong[0] if wrong else 0)


@dataclass(frozen=True)
class CountJudge(Judge):
    """A whole number (parameters, cells, placements)."""

    value: int
    form = "1,234 or 1234"

    def judge(self, text):
        value = parse.read_count(text)
        if value is None:
            return _UNREADABLE
        return Judgement(value == self.value)


@dataclass(frozen=True)
class NumberJudge(Judge):
    """A number, right within ``1e-6`` relative (interpolation weights are float32)."""

    value: float
    form = "12 or -3.5"

    def judge(self, text):
        value = parse.read_number(text)
        if value is None:
            return _UNREADABLE
        return Judgement(math.isclose(value, self.value, rel_tol=1e-6, abs_tol=1e-6))


@dataclass(frozen=True)
class PairJudge(Judge):
    """Two whole numbers in order, e.g. zeros ``(before, after)``."""

    pair: tuple
    form = "(1, 2)"

    def judge(self, text):
        values = parse.read_ints(text)
        if values is None or len(values) != 2 or None in values:
            return _UNREADABLE
        return Judgement(tuple(values) == tuple(self.pair))


@dataclass(frozen=True)
class CellsJudge(Judge):
    """A set of input cells. Focus: the first axis whose rows (columns…) are wrong, else
    the step after the axes (the cells are every combination)."""

    cells: frozenset
    rank: int

    @property
    def form(self) -> str:
        example = "(3,), (4,)" if self.rank == 1 else "(2, 0), (2, 1)"
        ranges = {1: "steps 3–4", 2: "rows 2–4, columns 0–2",
                  3: "depths 0–1, rows 2–4, columns 0–2"}[self.rank]
        return f"{example} or {ranges}"

    def judge(self, text):
        cells = parse.read_cells(text, self.rank)
        if cells is None:
            return _UNREADABLE
        if cells == self.cells:
            return Judgement(True)
        for axis in range(self.rank):
            if {c[axis] for c in cells} != {c[axis] for c in self.cells}:
                return Judgement(False, focus=axis)
        return Judgement(False, focus=self.rank)


def _small(value, depth: int = 2) -> bool:
    """A value an argument answer may be: an int up to :data:`MAX_VALUE`, a short word, or
    (``depth`` levels deep: cropping pairs) a tuple or list of at most three such ints."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return abs(int(value)) <= MAX_VALUE
    if isinstance(value, str):
        return depth == 2 and len(value) <= 20
    if isinstance(value, (tuple, list)):
        return depth > 0 and len(value) <= 3 and all(
            not isinstance(v, str) and _small(v, depth - 1) for v in value)
    return False


@dataclass(frozen=True)
class FitJudge(Judge):
    """The value of ``argument`` that makes ``class_name(**kwargs)`` map ``input_shape`` to
    ``target`` (``goal="shape"``), or that spreads a transposed convolution's kernel
    placements evenly (``goal="even"``). The engine builds the layer with the student's
    value; any value that works is right."""

    class_name: str
    kwargs: tuple  # sorted (name, value) pairs, so that the judge is hashable
    argument: str
    input_shape: tuple
    target: tuple = ()
    goal: str = "shape"
    example: str = "2"

    @property
    def form(self) -> str:
        return f"{self.example} (a Keras value for {self.argument})"

    def judge(self, text):
        value = parse.read_value(text, self.argument)
        if value is None:
            return _UNREADABLE
        if not _small(value):
            return Judgement(False, note=f"{self.argument} here is a small value such as "
                             f"{self.example}.")
        kwargs = dict(self.kwargs, **{self.argument: value})
        try:
            g = geometry(make_layer(self.class_name, kwargs), self.input_shape)
        except (ValueError, TypeError) as err:
            reason = str(err).split(". ")[0][:200]
            return Judgement(False, note=f"Keras refuses {self.argument}="
                             f"{literal(value, limit=40)}: {reason}.")
        if self.goal == "even":
            return Judgement(even_placements(g))
        return Judgement(tuple(g.out_shape) == tuple(self.target))


__all__ = ["CellsJudge", "CountJudge", "FitJudge", "Judge", "Judgement", "MAX_VALUE",
           "NumberJudge", "PairJudge", "ShapeJudge"]
