"""One exercise: what the student sees, the engine's answer, its derivation and the check.

A first wrong answer gets ``Not quite`` and the first step of the derivation that concerns
what was wrong (the axis, the channel count, the term…); any later wrong answer gets the
whole derivation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.lessons.judges import Judge
from engine.literals import literal

CORRECT, NOT_QUITE = "Correct", "Not quite"


@dataclass(frozen=True)
class Step:
    """One step of a derivation: ``text`` (in the whole derivation) and ``hint`` (what a
    first wrong answer shows: the same step, its final number left for the student)."""

    text: str
    hint: str = ""

    @property
    def brief(self) -> str:
        return self.hint or self.text


@dataclass(frozen=True)
class Verdict:
    """The check of one answer: ``correct``, ``message`` (``Correct`` / ``Not quite``),
    ``hint`` (empty when correct) and ``readable`` (the text was read as an answer)."""

    correct: bool
    message: str
    hint: str = ""
    readable: bool = True


@dataclass(frozen=True)
class Grid:
    """A click-the-cells exercise: the input's spatial size (the grid to click on)."""

    in_spatial: tuple


@dataclass(frozen=True)
class Exercise:
    """One generated exercise (see :mod:`engine.lessons.catalog`).

    ``code``: the layer(s) as Keras code, one line each; ``input_shape``: batch first;
    ``givens``: extra lines the question needs (a kernel, a patch); ``answer``: the engine's
    answer (a shape tuple, an int, a frozenset of cells, an argument value…) and
    ``answer_text`` as the reveal prints it; ``steps``: the derivation; ``judge`` reads and
    checks an answer text; ``grid``: set for click-the-cells exercises; ``view``: the app
    view that shows this layer best (``explore``, ``animate``, ``receptive``)."""

    kind: str
    code: tuple
    input_shape: tuple
    question: str
    answer: object
    answer_text: str
    steps: tuple
    judge: Judge
    givens: tuple = ()
    grid: Grid | None = None
    out_cell: tuple = ()
    view: str = "explore"
    #: (class name, kwargs) per code line, with the engine's answer filled in where the
    #: code shows ``?``: the layers a view of the app can show.
    layers: tuple = field(default=(), compare=False)
    lesson: int = 0
    seed: int = 0
    index: int = 0

    @property
    def code_text(self) -> str:
        return "\n".join(self.code)

    @property
    def input_text(self) -> str:
        """``input (1, 64, 64, 3)``."""
        return f"input {literal(tuple(self.input_shape))}"

    @property
    def derivation(self) -> str:
        """The whole derivation, one step per line."""
        return "\n".join(step.text for step in self.steps)

    def check(self, answer_text: str, wrong_before: int = 0) -> Verdict:
        """``answer_text`` checked by the engine's answer; ``wrong_before``: wrong answers
        already given to this exercise (0: the hint is one step; more: the derivation)."""
        judgement = self.judge.judge(answer_text)
        if judgement.correct:
            return Verdict(True, CORRECT)
        if wrong_before >= 1:
            return Verdict(False, NOT_QUITE, self.derivation, judgement.readable)
        note = judgement.note if judgement.readable else \
            f"Write your answer like {self.judge.form}."
        step = self.steps[min(judgement.focus, len(self.steps) - 1)].brief
        return Verdict(False, NOT_QUITE, f"{note} {step}".strip(), judgement.readable)


__all__ = ["CORRECT", "NOT_QUITE", "Exercise", "Grid", "Step", "Verdict"]
