"""Lessons and exercises the engine checks (UI-free; the Learn view renders them).

Ten lessons (texts in ``assets/lessons/``, :func:`load_lessons`), each with exercises
generated from seeded random arguments (:func:`exercises`): the layer as one line of Keras
code, the input shape, a question (an output shape, a parameter count, the input cells an
output cell reads, a receptive-field size, the argument that makes two shapes fit…) and the
engine's answer. :meth:`Exercise.check` reads any correct form and returns a
:class:`Verdict`; :class:`Progress` counts right answers per lesson.

Example::

    >>> from engine.lessons import exercise
    >>> ex = exercise(2, seed=12, index=0)
    >>> ex.code, ex.input_text, ex.question          # doctest: +SKIP
    (('layers.Conv2D(8, 3, strides=2, padding="same")',), 'input (1, 64, 64, 3)', ...)
    >>> ex.check(ex.answer_text).message
    'Correct'
"""

from engine.lessons.catalog import (KINDS, LESSONS, MAX_EXERCISES, MAX_SEED, exercise,
                                    exercises)
from engine.lessons.exercise import CORRECT, NOT_QUITE, Exercise, Grid, Step, Verdict
from engine.lessons.parse import cells_text
from engine.lessons.progress import Progress
from engine.lessons.texts import MAX_WORDS, Lesson, load_lessons

__all__ = ["CORRECT", "Exercise", "Grid", "KINDS", "LESSONS", "Lesson", "MAX_EXERCISES",
           "MAX_SEED", "MAX_WORDS", "NOT_QUITE", "Progress", "Step", "Verdict", "cells_text",
           "exercise", "exercises", "load_lessons"]
