"""The Learn page: its pure functions (URL, answering, progress, selections, figures) and
the page module alone under ``AppTest`` (every lesson renders; a right, a wrong and a
clicked answer; the reveal; the URL it returns)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from app.figures import learn as F
from app.pages import learn as L
from engine.lessons import LESSONS, Progress, cells_text, exercise, exercises
from tests.test_explore_figures import _array


pytestmark = pytest.mark.usefixtures("serial_numba")


# --------------------------------------------------------------------------- URL

def test_read_params_defaults_and_values():
    p, errors = L.read_params({})
    assert p == L.LearnParams() and errors == []
    p, errors = L.read_params({"lesson": "7", "seed": "12", "n": "5", "done": "7:0.3"})
    assert (p.lesson, p.seed, p.n) == (7, 12, 5) and errors == []
    assert p.progress == Progress({7: frozenset({0, 3})})
    p, _ = L.read_params({"lesson": ["2", "9"]})
    assert p.lesson == 9


@pytest.mark.parametrize("key, value", [("lesson", "0"), ("lesson", "11"), ("lesson", "x"),
                                        ("seed", "-1"), ("n", "21"), ("n", "1e3"),
                                        ("seed", "9" * 50)])
def test_bad_params_fall_back_with_a_message(key, value):
    p, errors = L.read_params({key: value})
    assert getattr(p, key) == getattr(L.LearnParams(), key)
    assert len(errors) == 1 and f"`{key}`" in errors[0]


def test_write_params_round_trip_and_teacher_link():
    p = L.LearnParams(7, 12, 5, Progress().with_right(7, 1))
    assert L.write_params(p) == {"lesson": "7", "seed": "12", "n": "5", "done": "7:1"}
    assert L.read_params(L.write_params(p))[0] == p
    assert "done" not in L.write_params(L.LearnParams())
    assert L.teacher_link(p) == "view=learn&lesson=7&seed=12&n=5"
    assert set(L.write_params(p)) <= set(L.URL_PARAMS)


# --------------------------------------------------------------------------- answering

def test_submit_wrong_wrong_right():
    ex = exercise(2, 12, 0)
    assert ex.kind == "shape"
    wrong = "(1, 1, 1, 1)"
    a = L.submit(L.Attempt(), ex, wrong)
    assert a.wrong == 1 and not a.solved and a.verdict.message == "Not quite"
    assert a.verdict.hint != ex.derivation
    a = L.submit(a, ex, wrong)
    assert a.wrong == 2 and a.verdict.hint == ex.derivation
    a = L.submit(a, ex, ex.answer_text)
    assert a.solved and a.verdict.message == "Correct"
    assert L.submit(a, ex, wrong) == a  # solved stays solved
    assert L.record(Progress(), ex, a) == Progress({2: frozenset({0})})


def test_unreadable_answers_do_not_count_and_reveal_is_not_a_right_answer():
    ex = exercise(5, 3, 0)
    a = L.submit(L.Attempt(), ex, "no idea")
    assert a.wrong == 0 and not a.verdict.readable
    assert a.verdict.hint.startswith("Write your answer like")
    revealed = L.Attempt(revealed=True)
    solved = L.submit(revealed, ex, ex.answer_text)
    assert solved.solved and L.record(Progress(), ex, solved) == Progress()
    text = L.reveal_text(ex)
    assert ex.derivation in text and text.endswith(f"Answer: {ex.answer_text}")


def test_summary_rows():
    rows = L.summary_rows(Progress().with_right(3, 0).with_right(3, 7), 5)
    assert [r["lesson"] for r in rows] == list(LESSONS)
    assert rows[2]["right"] == 1 and rows[2]["of"] == 5 and rows[0]["right"] == 0
    assert rows[9]["title"] == "Checkerboard artifacts"


def test_selection_cells():
    event = {"selection": {"points": [{"x": 2, "y": 1}, {"x": 3.0, "y": 1.0},
                                      {"x": None, "y": 0}]}}
    assert L.selection_cells(event, 2) == {(1, 2), (1, 3)}
    assert L.selection_cells({"selection": {"points": [{"x": 4, "y": 0}]}}, 1) == {(4,)}
    assert L.selection_cells(None, 2) == frozenset()
    assert L.selection_cells({"selection": {}}, 2) == frozenset()
    assert L.chosen_cells("rows 1-2, columns 0", 2) == {(1, 0), (2, 0)}


def _click(r, c):
    return {"selection": {"points": [{"x": c, "y": r}]}}


def test_apply_selection_clicks_toggle_and_boxes_replace():
    cells = L.apply_selection(frozenset(), _click(1, 2), 2)
    cells = L.apply_selection(cells, _click(3, 0), 2)
    assert cells == {(1, 2), (3, 0)}
    assert L.apply_selection(cells, _click(1, 2), 2) == {(3, 0)}
    box = {"selection": {"points": [{"x": 0, "y": 0}], "box": [{"x": [0, 0], "y": [0, 0]}]}}
    assert L.apply_selection(cells, box, 2) == {(0, 0)}
    assert L.apply_selection(cells, {"selection": {"points": []}}, 2) == cells
    assert L.apply_selection(cells, None, 2) == cells
    assert L.chosen_cells("garbage", 2) == frozenset()


def test_lesson_maps():
    assert L.lesson_maps(3) == ((), ())
    (transposed, resized), titles = L.lesson_maps(10)
    assert titles[0] == "layers.Conv2DTranspose(1, 3, strides=2)"
    assert set(transposed[3:-3, 3:-3].ravel().tolist()) == {1, 2, 4}
    assert np.allclose(resized[2:-2, 2:-2], 9)


# --------------------------------------------------------------------------- figures

def test_cells_figure():
    fig = go.Figure(F.cells_figure((6, 5), {(1, 2), (3, 4)}, answer={(1, 2)}).to_dict())
    assert len(fig.data) == 2
    z = _array(fig.data[0].z)             # a typed array, as the browser gets it
    assert z.shape == (6, 5) and z[1, 2] == 1 and z[3, 4] == 1 and z.sum() == 2
    assert np.asarray(fig.data[0].text)[1, 2] == "●"  # never colour alone
    assert len(fig.layout.shapes) == 1
    assert len(fig.data[1].x) == 30
    one_d = go.Figure(F.cells_figure((9,), {(4,)}).to_dict())
    assert _array(one_d.data[0].z).shape == (1, 9) and not one_d.layout.shapes
    with pytest.raises(ValueError):
        F.cells_figure((65, 3))


def test_counts_figure():
    fig = go.Figure(F.counts_figure([np.eye(3), 2 * np.ones((2, 2))], ["a", "b"]).to_dict())
    assert len(fig.data) == 2 and fig.data[0].text[0][0] == "1"


# --------------------------------------------------------------------------- the page

def _page():
    import streamlit as st

    from app.pages import learn

    params, _ = learn.read_params(st.session_state.get("test_query", {}))
    st.session_state["test_out"] = learn.render(params)


def _apptest(query):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, default_timeout=120)
    at.session_state["test_query"] = query
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    return at


def _key(what, lesson, seed, index):
    return f"learn_{what}_{lesson}_{seed}_{index}"


def test_page_walks_every_lesson():
    at = _apptest({"lesson": "1", "seed": "12", "n": "3"})
    for lesson in LESSONS:
        at.selectbox(key="learn_lesson").set_value(lesson).run()
        assert not at.exception, (lesson, [e.stack_trace for e in at.exception])
        texts = [m.value for m in at.markdown]
        assert any(t.startswith(f"## {lesson}. ") for t in texts), lesson
        for ex in exercises(lesson, 12, 3):
            assert ex.question in texts
            assert ex.code_text in [c.value for c in at.code]
        assert at.session_state["test_out"]["lesson"] == str(lesson)
    assert at.get("plotly_chart")  # lesson 10's placement maps


def test_page_right_wrong_clicked_and_reveal():
    at = _apptest({"lesson": "2", "seed": "12", "n": "3", "done": "5:1"})
    right, wrong, cells = exercises(2, 12, 3)
    assert cells.kind == "cells" and cells.grid is not None
    at.text_input(key=_key("answer", 2, 12, 0)).input(right.answer_text).run()
    at.button(key=_key("check", 2, 12, 0)).click().run()
    assert [s.value for s in at.success] == ["Correct"]
    assert at.session_state["test_out"]["done"] == "2:0,5:1"

    at.text_input(key=_key("answer", 2, 12, 1)).input("strides=1").run()
    at.button(key=_key("check", 2, 12, 1)).click().run()
    assert [w.value for w in at.warning] == ["Not quite"]
    first_hint = wrong.check("strides=1").hint
    assert first_hint.replace("\n", "  \n") in [m.value for m in at.markdown]
    at.button(key=_key("check", 2, 12, 1)).click().run()
    assert wrong.derivation.replace("\n", "  \n") in [m.value for m in at.markdown]

    # a click on the grid writes the cells into the answer box (the on_select callback's
    # input is the selection event the browser sends)
    event = {"selection": {"points": [{"x": c, "y": r} for r, c in cells.answer]}}
    assert cells_text(L.selection_cells(event, 2)) == cells_text(cells.answer)
    at.text_input(key=_key("answer", 2, 12, 2)).input(cells_text(cells.answer)).run()
    at.button(key=_key("check", 2, 12, 2)).click().run()
    assert [s.value for s in at.success] == ["Correct", "Correct"]
    assert at.session_state["test_out"]["done"] == "2:0.2,5:1"

    at.button(key=_key("reveal", 2, 12, 1)).click().run()
    assert any(wrong.answer_text in i.value for i in at.info)
    assert at.session_state["test_out"]["done"] == "2:0.2,5:1"  # a reveal is not a right answer
    assert "view=learn&lesson=2&seed=12&n=3" in [c.value for c in at.code]


def test_page_seed_and_n_widgets():
    at = _apptest({"lesson": "7", "seed": "12", "n": "5"})
    assert len([b for b in at.button if b.key.startswith("learn_check_")]) == 5
    at.number_input(key="learn_n").set_value(2).run()
    at.number_input(key="learn_seed").set_value(3).run()
    assert not at.exception
    assert at.session_state["test_out"] == {"lesson": "7", "seed": "3", "n": "2"}
    assert [b.key for b in at.button if b.key.startswith("learn_check_")] == [
        _key("check", 7, 3, 0), _key("check", 7, 3, 1)]


# --------------------------------------------------------------------------- through the router

def test_teacher_link_through_the_router():
    """``view=learn&lesson=7&seed=12&n=5`` opens lesson 7 with the class's five exercises,
    and the link to an exercise's view opens that layer on its input."""
    from app import main as router
    from app import state as S
    from engine.lessons import exercises
    from tests.test_app import run_app

    at = run_app({"view": "learn", "lesson": "7", "seed": "12", "n": "5"})
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "7." in text
    expected = exercises(7, 12, 5)
    codes = " ".join(c.value for c in at.code)
    assert all(ex.code_text in text + codes for ex in expected)
    link = router.exercise_link(expected[0])
    state, errors = S.parse_query(dict(p.split("=", 1) for p in link[1:].split("&")))
    assert not errors and state.layer == expected[0].layers[0][0]
    assert state.view == expected[0].view


def test_every_lesson_embeds_a_live_view_and_the_reveal_animates():
    """Each lesson shows its example layer as a playable animation (lesson 10 its placement
    maps); a single-layer exercise's reveal animates that layer, starting on a step that
    writes something."""
    from app.pages.learn import lesson_animation, reveal_animation
    from engine.lessons import exercises, load_lessons

    for lesson in load_lessons():
        fig = lesson_animation(lesson.try_link)
        assert fig is not None and len(fig.to_dict()["frames"]) > 2, lesson.number
    ex = next(e for e in exercises(7, 12, 5) if len(e.layers) == 1)
    fig = reveal_animation(ex)
    assert fig is not None and len(fig.to_dict()["frames"]) > 2
    assert fig.to_dict()["layout"]["sliders"][0]["active"] > 0
