"""Learn view: ten lessons, each a short text and exercises the engine checks.

The page owns four URL parameters: ``lesson`` (1…10), ``seed``, ``n`` (exercises shown) and
``done`` (right answers, :meth:`engine.lessons.Progress.to_text`). A teacher's link
``view=learn&lesson=7&seed=12&n=5`` gives a whole class the same five exercises.

Everything but :func:`render` is a pure function of explicit arguments (URL values, the
state of one exercise, a typed answer, a chart selection); :func:`render` is the thin
Streamlit part. Widget and session keys start with ``learn_``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable, Mapping
from urllib.parse import parse_qsl

import streamlit as st

from app import column_width, compute
from app import state as S
from app.figures import learn as F
from app.figures.animation import animation_figure
from app.figures.animation_grid import COLUMN_PX
from app.pages.animate import DEFAULT_SIZES
from engine import animate as A
from engine import shapes
from engine.geometry import geometry
from engine.layers import LAYER_CLASSES
from engine.lessons import (LESSONS, MAX_EXERCISES, MAX_SEED, Exercise, Progress, Verdict,
                            cells_text, exercises, load_lessons)
from engine.lessons.overlap import ones_response, placement_grid
from engine.lessons.parse import read_cells
from engine.lessons.stack import code_line, make_layer

URL_PARAMS = ("lesson", "seed", "n", "done")
DEFAULT_N = 5

#: Lesson 10's picture: one transposed convolution and its resize-then-convolve twin, each
#: with every weight 1 on an input of ones.
CHECKER_INPUT = (1, 6, 6, 1)
CHECKER_TRANSPOSE = ("Conv2DTranspose", {"filters": 1, "kernel_size": 3, "strides": 2})
CHECKER_RESIZE = (("UpSampling2D", {"size": 2}),
                  ("Conv2D", {"filters": 1, "kernel_size": 3, "padding": "same"}))
CHECKER_CAPTION = ("Every weight 1, an input of ones (1, 6, 6, 1). Left: how many kernel "
                   "placements overlap each output cell, the checkerboard. Right: resize, then "
                   "convolve: every cell away from the border gets the same value.")


# --------------------------------------------------------------------------- URL

@dataclass(frozen=True)
class LearnParams:
    """What the URL says: lesson, seed, number of exercises and the right answers."""

    lesson: int = 1
    seed: int = 0
    n: int = DEFAULT_N
    progress: Progress = field(default_factory=Progress)


def _int_param(params: Mapping, key: str, default: int, lo: int, hi: int, errors: list):
    """``params[key]`` as an int in ``lo…hi`` (a list: its last value), else ``default``
    and a message in ``errors``."""
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if value is None:
        return default
    text = str(value).strip()
    if text.isdigit() and lo <= int(text) <= hi:
        return int(text)
    errors.append(f"`{key}` must be a whole number from {lo} to {hi}; "
                  f"received {text[:40]!r}, using {default}.")
    return default


def read_params(params: Mapping) -> tuple:
    """``(LearnParams, errors)`` from the URL's query parameters (strings, as Streamlit
    gives them); bad values fall back to the defaults with a message each."""
    errors: list = []
    lesson = _int_param(params, "lesson", 1, LESSONS[0], LESSONS[-1], errors)
    seed = _int_param(params, "seed", 0, 0, MAX_SEED, errors)
    n = _int_param(params, "n", DEFAULT_N, 1, MAX_EXERCISES, errors)
    done = params.get("done")
    if isinstance(done, (list, tuple)):
        done = done[-1] if done else None
    return LearnParams(lesson, seed, n, Progress.from_text(done)), errors


def write_params(p: LearnParams) -> dict:
    """The page's URL parameters as strings (``done`` left out while empty)."""
    out = {"lesson": str(p.lesson), "seed": str(p.seed), "n": str(p.n)}
    if p.progress.to_text():
        out["done"] = p.progress.to_text()
    return out


def teacher_link(p: LearnParams) -> str:
    """``view=learn&lesson=7&seed=12&n=5``: the same exercises for a whole class."""
    return f"view=learn&lesson={p.lesson}&seed={p.seed}&n={p.n}"


# --------------------------------------------------------------------------- answering

@dataclass(frozen=True)
class Attempt:
    """One exercise in the session: wrong answers so far, solved, the last verdict, and
    whether the student asked for the reveal."""

    wrong: int = 0
    solved: bool = False
    verdict: Verdict | None = None
    revealed: bool = False


def submit(attempt: Attempt, ex: Exercise, text: str) -> Attempt:
    """``text`` checked against ``ex``. Answers the reader could not read do not count as
    wrong (their hint says the form); a solved exercise stays solved."""
    if attempt.solved:
        return attempt
    verdict = ex.check(text, attempt.wrong)
    wrong = attempt.wrong + (not verdict.correct and verdict.readable)
    return replace(attempt, wrong=wrong, solved=verdict.correct, verdict=verdict)


def record(progress: Progress, ex: Exercise, attempt: Attempt) -> Progress:
    """``progress`` with ``ex`` counted when ``attempt`` solved it (not after a reveal)."""
    if attempt.solved and not attempt.revealed:
        return progress.with_right(ex.lesson, ex.index)
    return progress


def reveal_text(ex: Exercise) -> str:
    """The whole derivation and the answer."""
    return f"{ex.derivation}\n\nAnswer: {ex.answer_text}"


def summary_rows(progress: Progress, n: int) -> list:
    """One row per lesson: number, title and right answers among its ``n`` exercises."""
    return [{"lesson": x.number, "title": x.title, "right": progress.count(x.number, n),
             "of": n} for x in load_lessons()]


def selection_cells(event, rank: int) -> frozenset:
    """The cells of a Plotly selection event (``{"selection": {"points": [...]}}``, as
    Streamlit reports clicks and box / lasso selections on the grid's markers)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return frozenset()
    cells = set()
    for p in points or ():
        if p.get("x") is None or (rank > 1 and p.get("y") is None):
            continue
        col = int(round(float(p["x"])))
        cells.add((col,) if rank == 1 else (int(round(float(p["y"]))), col))
    return frozenset(cells)


def apply_selection(current: frozenset, event, rank: int) -> frozenset:
    """The answer's cells after a grid event: a box or lasso selects its cells (replacing
    the answer), a click on one cell adds it or, when already chosen, removes it."""
    cells = selection_cells(event, rank)
    selection = (event or {}).get("selection") or {}
    if selection.get("box") or selection.get("lasso") or len(cells) > 1:
        return cells
    return current ^ cells


def chosen_cells(text: str, rank: int) -> frozenset:
    """The cells a typed answer names (none when it cannot be read), for the grid."""
    return read_cells(text or "", rank) or frozenset()


@lru_cache(maxsize=None)
def lesson_maps(lesson: int) -> tuple:
    """``(maps, titles)`` a lesson shows beside its text, or ``((), ())``: lesson 10 shows
    the placements overlapping each output cell of a strided transposed convolution next
    to resize-then-convolve, both from the engine."""
    if lesson != 10:
        return (), ()
    name, kwargs = CHECKER_TRANSPOSE
    transposed = placement_grid(geometry(make_layer(name, kwargs), CHECKER_INPUT))
    resized = ones_response(CHECKER_RESIZE, CHECKER_INPUT)
    return (transposed, resized), (code_line(name, kwargs),
                                   "<br>".join(code_line(*layer) for layer in CHECKER_RESIZE))


# --------------------------------------------------------------------------- Streamlit

def _key(ex: Exercise, what: str) -> str:
    return f"learn_{what}_{ex.lesson}_{ex.seed}_{ex.index}"


def _seed_widgets(p: LearnParams) -> None:
    """URL → widgets and progress, whenever the URL's values change (a new link)."""
    ss = st.session_state
    if ss.get("learn_params") == p:
        return
    ss["learn_params"] = p
    ss["learn_lesson"], ss["learn_seed"], ss["learn_n"] = p.lesson, p.seed, p.n
    ss["learn_progress"] = p.progress


def _on_cells(chart_key: str, text_key: str, rank: int) -> None:
    """A click or box selection on the grid → the typed answer."""
    ss = st.session_state
    current = chosen_cells(ss.get(text_key, ""), rank)
    ss[text_key] = cells_text(apply_selection(current, ss.get(chart_key), rank))


def _on_check(ex: Exercise) -> None:
    ss = st.session_state
    attempt = submit(ss.get(_key(ex, "attempt"), Attempt()), ex,
                     ss.get(_key(ex, "answer"), ""))
    ss[_key(ex, "attempt")] = attempt
    ss["learn_progress"] = record(ss["learn_progress"], ex, attempt)


def _on_reveal(ex: Exercise) -> None:
    ss = st.session_state
    ss[_key(ex, "attempt")] = replace(ss.get(_key(ex, "attempt"), Attempt()), revealed=True)


def _show_grid(ex: Exercise, attempt: Attempt) -> None:
    rank = len(ex.grid.in_spatial)
    chart_key, text_key = _key(ex, "grid"), _key(ex, "answer")
    chosen = chosen_cells(st.session_state.get(text_key, ""), rank)
    fig = F.cells_figure(ex.grid.in_spatial, chosen,
                         answer=ex.answer if attempt.revealed else None)
    st.plotly_chart(fig, key=chart_key, on_select=lambda: _on_cells(chart_key, text_key, rank),
                    selection_mode=("points", "box", "lasso"), config={"displaylogo": False})
    st.caption("Click cells to add or remove them, or choose the box tool above the grid and "
               "drag; the cells appear in the answer box, where you can also type them.")


def _show_verdict(verdict: Verdict | None) -> None:
    if verdict is None:
        return
    if verdict.correct:
        st.success(verdict.message)
    else:
        st.warning(verdict.message)
        st.markdown(verdict.hint.replace("\n", "  \n"))


def small_animation(layer, input_shape, max_width: int = COLUMN_PX):
    """The animation figure of ``layer`` on a small structured piece of an input of
    ``input_shape`` (opened on its first step), at most ``max_width`` px wide, or ``None``
    when it cannot be animated."""
    sizes = A.piece_sizes(layer, input_shape, DEFAULT_SIZES[layer.rank])
    _, _, channels = shapes.split_shape(tuple(input_shape), layer.rank, layer.data_format)
    shape = shapes.join_shape(1, sizes, channels, layer.data_format)
    try:
        anim = A.animate(layer, compute.synthetic_input(shape, layer.data_format))
    except ValueError:
        return None
    return animation_figure(anim, max_width=max_width)


@lru_cache(maxsize=32)
def reveal_animation(ex: Exercise, max_width: int = COLUMN_PX):
    """The animation of the exercise's layer (the reveal shows it), ``None`` for a stack."""
    if len(ex.layers) != 1:
        return None
    return small_animation(make_layer(*ex.layers[0]), ex.input_shape, max_width)


@lru_cache(maxsize=16)
def lesson_animation(try_link: str, max_width: int = COLUMN_PX):
    """A live animation of the lesson's example layer (the query of its "Try it in the app"
    link), at most ``max_width`` px wide, or ``None`` when the link names no animatable
    layer."""
    state, errors = S.parse_query(dict(parse_qsl(try_link)))
    if errors:
        return None
    layer = LAYER_CLASSES[state.layer](**S.layer_kwargs(state))
    shape = state.input_shape or shapes.join_shape(
        1, DEFAULT_SIZES[layer.rank], 3 if layer.rank == 2 else 1, layer.data_format)
    return small_animation(layer, shape, max_width)


def _show_exercise(ex: Exercise, link: Callable | None, width: int) -> None:
    ss = st.session_state
    attempt = ss.get(_key(ex, "attempt"), Attempt())
    done = attempt.solved or ss["learn_progress"].is_right(ex.lesson, ex.index)
    st.markdown(f"**Exercise {ex.index + 1}**" + (" ✓ answered right" if done else ""))
    st.code(ex.code_text, language="python")
    st.markdown(f"`{ex.input_text}`")
    st.markdown(ex.question)
    for given in ex.givens:
        st.code(given, language=None)
    if ex.grid is not None:
        _show_grid(ex, attempt)
    st.text_input("Your answer", key=_key(ex, "answer"), placeholder=ex.judge.form)
    left, right = st.columns(2)
    left.button("Check", key=_key(ex, "check"), on_click=_on_check, args=(ex,))
    right.button("Show the answer", key=_key(ex, "reveal"), on_click=_on_reveal, args=(ex,))
    _show_verdict(attempt.verdict)
    if attempt.revealed:
        st.info(reveal_text(ex).replace("\n", "  \n"))
        figure = reveal_animation(ex, width)
        if figure is not None:
            st.caption("Press ▶ Play: the layer computed step by step (a small piece of the "
                       "input, this layer's arguments).")
            st.plotly_chart(figure, key=_key(ex, "animation"), theme=None,
                            config={"displayModeBar": False})
        if link is not None:
            st.markdown(f"[Watch it in the {ex.view} view]({link(ex)})")


def render(params: LearnParams, link: Callable | None = None) -> dict:
    """Draw the Learn view for ``params`` (from :func:`read_params`); ``link(exercise)``,
    when given, is the app URL that shows an exercise's layer in its view (the router
    writes it). Returns the page's URL parameters (:func:`write_params`)."""
    _seed_widgets(params)
    ss = st.session_state
    width = column_width.fit(COLUMN_PX)     # the animations' width: the main column's
    lessons = load_lessons()
    st.selectbox("Lesson", [x.number for x in lessons], key="learn_lesson",
                 format_func=lambda n: f"{n}. {lessons[n - 1].title}")
    lesson = lessons[ss["learn_lesson"] - 1]
    st.markdown(f"## {lesson.number}. {lesson.title}")
    st.markdown(lesson.body)
    maps, titles = lesson_maps(lesson.number)
    if maps:
        st.plotly_chart(F.counts_figure(maps, titles), key="learn_lesson_maps",
                        config={"displaylogo": False})
        st.caption(CHECKER_CAPTION)
    if lesson.try_link:
        figure = None if maps else lesson_animation(lesson.try_link, width)
        if figure is not None:
            st.caption("The lesson's example, live: press ▶ Play or step through it.")
            st.plotly_chart(figure, key="learn_lesson_animation", theme=None,
                            config={"displayModeBar": False})
        st.markdown(f"[Try it in the app](?{lesson.try_link})")
    left, right = st.columns(2)
    left.number_input("Exercise set (seed)", 0, MAX_SEED, key="learn_seed", step=1)
    right.number_input("Exercises", 1, MAX_EXERCISES, key="learn_n", step=1)
    current = LearnParams(lesson.number, int(ss["learn_seed"]), int(ss["learn_n"]),
                          ss["learn_progress"])
    for ex in exercises(current.lesson, current.seed, current.n):
        st.divider()
        _show_exercise(ex, link, width)
    st.divider()
    current = replace(current, progress=ss["learn_progress"])
    st.markdown("**Your progress**")
    st.dataframe(summary_rows(current.progress, current.n), hide_index=True)
    st.markdown("Link for a class (same exercises for everyone):")
    st.code(teacher_link(current), language=None)
    return write_params(current)


__all__ = ["Attempt", "LearnParams", "URL_PARAMS", "apply_selection", "chosen_cells",
           "lesson_maps",
           "read_params", "record", "render", "reveal_text", "selection_cells", "submit",
           "summary_rows", "teacher_link", "write_params"]
