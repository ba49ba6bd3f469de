"""engine.lessons: for every lesson and 200 seeds the engine's own answer and every other
correct form are accepted, wrong answers are refused with the first step of the
derivation, a second wrong answer gets the whole derivation; exercises are the same for the
same seed; the answer readers, the progress record and the lesson texts."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest

from engine.geometry import geometry
from engine.lessons import (CORRECT, KINDS, LESSONS, MAX_WORDS, NOT_QUITE, Progress,
                            cells_text, exercise, exercises, load_lessons)
from engine.lessons import catalog, parse
from engine.lessons import questions as Q
from engine.lessons.judges import MAX_VALUE, FitJudge
from engine.lessons.overlap import ones_response, placement_grid
from engine.lessons.stack import code_line, make_layer
from engine.lessons.texts import read_lesson
from engine.literals import literal
from engine.receptive import receptive_field_mask
from engine.stack import parse_keras_code

SEEDS = range(200)


pytestmark = pytest.mark.usefixtures("serial_numba")


@pytest.fixture(scope="module")
def generated():
    """Every question kind of every lesson for 200 seeds: {lesson: [Exercise, …]}."""
    return {lesson: [exercise(lesson, seed, i) for seed in SEEDS
                     for i in range(len(KINDS[lesson]))] for lesson in LESSONS}


# --------------------------------------------------------------------------- answer forms

def _shape_forms(shape):
    rest = tuple(shape[1:])
    nums = [str(v) for v in rest]
    return [literal(tuple(shape)), literal((None,) + rest), literal(rest), "x".join(nums),
            " × ".join(nums), "[" + ",".join(nums) + "]", " ".join(nums),
            f"Output shape: {literal((None,) + rest)}", f"  ({', '.join(nums)})  ",
            "X".join(nums), "(" + ", ".join(["None"] + nums) + ")"]


def _count_forms(n):
    return [str(n), f"{n:,}", f"{n:_}", f"{n:,}".replace(",", " "), f"{n:,} parameters",
            f" {n} "]


def _number_forms(v):
    forms = [f"{v:g}", f"{v:.1f}", f"{v:.3f}"]
    return forms + [f"−{-v:g}"] if v < 0 else forms


def _cells_forms(ex):
    cells, rank = ex.answer, len(ex.grid.in_spatial)
    forms = [ex.answer_text, cells_text(cells), "[" + cells_text(cells) + "]",
             cells_text(cells).replace(" ", "")]
    axes = [sorted({c[a] for c in cells}) for a in range(rank)]
    if all(ax[-1] - ax[0] + 1 == len(ax) for ax in axes):
        ranges = [f"{ax[0]}-{ax[-1]}" for ax in axes]
        forms += [", ".join(ranges), " x ".join(r.replace("-", "..") for r in ranges)]
    forms.append("; ".join(", ".join(map(str, ax)) for ax in axes))
    return forms


_UNIFORM = ("strides", "dilation_rate", "size", "output_padding")


def _fit_forms(ex):
    judge, value = ex.judge, ex.answer
    forms = [literal(value), f"{judge.argument}={literal(value)}", ex.answer_text]
    if isinstance(value, str):
        forms += [value, f"'{value}'", f' "{value}" ', f"{judge.argument}={value}"]
    if isinstance(value, int) and judge.argument in _UNIFORM:
        rank = len(judge.input_shape) - 2
        forms += [literal((value,) * rank), str([value] * rank)]
    if judge.goal == "even":
        forms.append(str(2 * value))
    return forms


def correct_forms(ex):
    """Different ways a student writes the right answer."""
    judge = type(ex.judge).__name__
    if judge == "ShapeJudge":
        return _shape_forms(ex.answer)
    if judge == "CountJudge":
        return _count_forms(ex.answer)
    if judge == "NumberJudge":
        return _number_forms(ex.answer)
    if judge == "PairJudge":
        a, b = ex.answer
        return [literal(ex.answer), f"{a}, {b}", f"[{a},{b}]", f"{a} before, {b} after"]
    if judge == "CellsJudge":
        return _cells_forms(ex)
    return _fit_forms(ex)


def _fit_wrong(ex):
    """Values of the argument that the engine maps elsewhere (found by the engine)."""
    judge = ex.judge
    out = []
    for v in (0, 1, 2, 3, 4, 5, "valid", "same", ((0, 0), (0, 0)), ((1, 2), (0, 3))):
        try:
            g = geometry(make_layer(judge.class_name, dict(judge.kwargs, **{judge.argument: v})),
                         judge.input_shape)
        except (ValueError, TypeError):
            out.append(literal(v))  # Keras refuses it
            continue
        if judge.goal == "shape" and tuple(g.out_shape) != judge.target:
            out.append(literal(v))
    if judge.goal == "even":
        out.append(str(dict(judge.kwargs)["strides"] + 1))
    return out[-4:]


def wrong_forms(ex):
    """Plausible wrong answers: off by one, a wrong channel count, swapped pads…"""
    judge = type(ex.judge).__name__
    if judge == "ShapeJudge":
        shape = list(ex.answer)
        out = []
        for pos, delta in ((1, 1), (1, -1), (-1, 1), (-1, shape[-1])):
            wrong = list(shape)
            wrong[pos] += delta
            out.append(literal(tuple(wrong)))
        out.append(literal((2,) + tuple(shape[1:])))
        out.append(literal(tuple(shape[1:-1])))  # channels forgotten
        return out
    if judge == "CountJudge":
        return [str(ex.answer + 1), f"{ex.answer - 1:,}", str(ex.answer * 2 + 1)]
    if judge == "NumberJudge":
        return [f"{ex.answer + 1:g}", f"{ex.answer - 0.5:g}"]
    if judge == "PairJudge":
        a, b = ex.answer
        return [literal((a + 1, b)), literal((a, b + 1))] + ([literal((b, a))] if a != b else [])
    if judge == "CellsJudge":
        cells = sorted(ex.answer)
        shifted = [(c[0] + 1,) + tuple(c[1:]) for c in cells]
        out = [cells_text(shifted)]
        if len(cells) > 1:
            out.append(cells_text(cells[1:]))
        return out
    return _fit_wrong(ex)


# --------------------------------------------------------------------------- every lesson

@pytest.mark.parametrize("lesson", LESSONS)
def test_every_correct_form_is_accepted(generated, lesson):
    for ex in generated[lesson]:
        for form in correct_forms(ex):
            verdict = ex.check(form)
            assert verdict.correct and verdict.message == CORRECT, (ex.code, ex.question,
                                                                    form, verdict)
            assert verdict.hint == ""


@pytest.mark.parametrize("lesson", LESSONS)
def test_wrong_answers_get_a_step_then_the_derivation(generated, lesson):
    for ex in generated[lesson]:
        wrongs = wrong_forms(ex)
        assert wrongs, (ex.kind, ex.code)
        for wrong in wrongs:
            first = ex.check(wrong)
            assert not first.correct and first.message == NOT_QUITE, (ex.code, ex.question,
                                                                       wrong)
            assert first.hint and first.hint != ex.derivation
            assert any(step.brief in first.hint for step in ex.steps), (first.hint, ex.steps)
            second = ex.check(wrong, wrong_before=1)
            assert not second.correct and second.hint == ex.derivation
            assert ex.answer_text in ex.derivation


@pytest.mark.parametrize("lesson", LESSONS)
def test_unreadable_answers_say_the_form(generated, lesson):
    for ex in generated[lesson][:20]:
        for text in ("", "   ", "what?", "3 / 4", "x" * 5000):
            verdict = ex.check(text)
            assert not verdict.correct and verdict.message == NOT_QUITE
            if not verdict.readable:
                assert verdict.hint.startswith("Write your answer like")


@pytest.mark.parametrize("lesson", LESSONS)
def test_same_seed_same_exercises(lesson):
    for seed in (0, 12, 199):
        first = [catalog.exercise.__wrapped__(lesson, seed, i) for i in range(5)]
        again = [catalog.exercise.__wrapped__(lesson, seed, i) for i in range(5)]
        assert first == again
        assert exercises(lesson, seed, 5) == tuple(first)
    sets = {tuple((e.code, e.input_shape, e.question) for e in exercises(lesson, s, 5))
            for s in range(10)}
    assert len(sets) > 1  # the seed matters


def test_kinds_rotate_and_fields():
    ex = exercises(7, 12, 5)
    assert [e.index for e in ex] == [0, 1, 2, 3, 4]
    assert [e.kind for e in ex[:3]] == [e.kind for e in ex[3:]] + [ex[2].kind]
    for e in ex:
        assert e.lesson == 7 and e.seed == 12
        assert e.input_text.startswith("input (1, ")
        assert all(line.startswith("layers.") for line in e.code)


@pytest.mark.parametrize("bad", [dict(lesson=0), dict(lesson=11), dict(seed=-1),
                                 dict(index=20), dict(seed=2 ** 31)])
def test_bad_arguments_are_refused(bad):
    args = dict(dict(lesson=1, seed=0, index=0), **bad)
    with pytest.raises(ValueError):
        exercise(**args)


def test_bad_n_is_refused():
    for n in (0, 21):
        with pytest.raises(ValueError):
            exercises(1, 0, n)


# --------------------------------------------------------------------------- the issue's example

def test_issue_example():
    ex = Q.shape_question("Conv2D", {"filters": 8, "kernel_size": 3, "strides": 2,
                                     "padding": "same"}, (1, 64, 64, 3))
    assert ex.code == ('layers.Conv2D(8, 3, strides=2, padding="same")',)
    assert ex.input_text == "input (1, 64, 64, 3)"
    assert ex.answer == (1, 32, 32, 8)
    for form in ("(1, 32, 32, 8)", "(None, 32, 32, 8)", "(32, 32, 8)", "32x32x8",
                 "32 × 32 × 8"):
        assert ex.check(form).message == "Correct", form
    rows = ex.check("(33, 32, 8)")
    assert rows.message == "Not quite" and rows.hint.startswith("Rows:")
    assert rows.hint.endswith("= ?")
    cols = ex.check("(32, 31, 8)")
    assert cols.hint.startswith("Columns:")
    channels = ex.check("(32, 32, 3)")
    assert "filters 8" in channels.hint
    assert ex.check("(32, 32, 3)", wrong_before=1).hint == ex.derivation
    assert "TensorFlow puts the odd zero at the end" in ex.derivation


def test_transposed_28_to_57_or_56():
    valid = Q.shape_question("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2},
                             (1, 28, 28, 1))
    same = Q.shape_question("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2,
                                                "padding": "same"}, (1, 28, 28, 1))
    assert valid.answer == (1, 57, 57, 4) and same.answer == (1, 56, 56, 4)
    fit = Q.fit_question("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2},
                         "output_padding", 1, (1, 28, 28, 1), example="1")
    assert fit.code == ("layers.Conv2DTranspose(4, 3, strides=2, output_padding=?)",)
    assert fit.answer == 1 and fit.check("1").correct and fit.check("(1, 1)").correct
    refused = fit.check("2")
    assert not refused.correct and "Keras refuses output_padding=2" in refused.hint
    assert not fit.check("0").correct


# --------------------------------------------------------------------------- answers = engine

def _field_cells(ex):
    (class_name, kwargs), = ex.layers
    mask = receptive_field_mask([make_layer(class_name, kwargs)], ex.input_shape,
                                ex.out_cell)
    return frozenset(tuple(int(i) for i in c) for c in np.argwhere(mask))


@pytest.mark.parametrize("lesson", LESSONS)
def test_answers_agree_with_other_engine_paths(generated, lesson):
    for ex in generated[lesson][:60]:
        if ex.kind == "shape":
            (class_name, kwargs), = ex.layers
            assert tuple(make_layer(class_name, kwargs).compute_output_shape(
                ex.input_shape)) == ex.answer
        elif ex.kind == "params":
            (class_name, kwargs), = ex.layers
            layer = make_layer(class_name, kwargs)
            layer.build(ex.input_shape)
            assert layer.count_params() == ex.answer
        elif ex.kind == "cells":
            assert _field_cells(ex) == ex.answer  # the receptive mask of one layer
        elif ex.kind == "overlap":
            (_, kwargs), = ex.layers
            g = geometry(make_layer("Conv2DTranspose", kwargs), ex.input_shape)
            ones = ones_response(ex.layers, ex.input_shape)
            assert np.array_equal(ones, placement_grid(g))
            assert ones[ex.out_cell] == ex.answer
        elif ex.kind == "value":
            products = re.findall(r"(−?\s?-?\d+)·(\d+)", ex.steps[1].text)
            total = sum(int(w.replace("−", "-").replace(" ", "")) * int(v)
                        for w, v in products)
            assert total == ex.answer
        elif ex.kind.startswith("receptive"):
            for step in ex.steps[:-1]:
                a, k, j, r = (Fraction(x) for x in re.search(
                    r"size (\d+) \+ \((\d+) − 1\)·(\d+) = (\d+)", step.text).groups())
                assert a + (k - 1) * j == r


def test_resize_then_convolve_is_even_and_transposed_is_not():
    ex = exercise(10, 3, 1)
    assert ex.kind == "ones"
    ones = ones_response(ex.layers, ex.input_shape)
    k = ex.layers[1][1]["kernel_size"]
    inner = ones[k:-k, k:-k]
    assert np.allclose(inner, k * k)
    g = geometry(make_layer("Conv2DTranspose", {"filters": 1, "kernel_size": 3, "strides": 2}),
                 (1, 6, 6, 1))
    assert set(placement_grid(g)[2:-2, 2:-2].ravel().tolist()) == {1, 2, 4}


def test_code_lines_read_back_as_the_layers(generated):
    for lesson in LESSONS:
        for ex in generated[lesson][:30]:
            code = "\n".join(code_line(c, k) for c, k in ex.layers)
            assert code == ex.code_text or ex.kind in ("fit", "even")
            specs, _ = parse_keras_code(code)
            assert [s[0] for s in specs] == [c for c, _ in ex.layers]
            shape = ex.input_shape
            for (c, kw), spec in zip(ex.layers, specs):
                expected = make_layer(c, kw).compute_output_shape(shape)
                assert make_layer(spec[0], spec[1]).compute_output_shape(shape) == expected
                shape = expected


# --------------------------------------------------------------------------- readers

@pytest.mark.parametrize("text, expected", [
    ("(1, 32, 32, 8)", (1, 32, 32, 8)), ("(None, 32, 32, 8)", (None, 32, 32, 8)),
    ("32x32x8", (32, 32, 8)), ("32 × 32 × 8", (32, 32, 8)), ("[32,32,8]", (32, 32, 8)),
    ("32 rows × 32 columns × 8 channels", (32, 32, 8)), ("(?, 5)", (None, 5)),
    ("1 before, 2 after", (1, 2)), ("(-1, 3)", None), ("3.5, 2", None), ("", None),
    ("abc", None), ("3/4", None),
])
def test_read_ints(text, expected):
    assert parse.read_ints(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("1234", 1234), ("1,234", 1234), ("1 234", 1234), ("1_234", 1234), ("1'234", 1234),
    ("1,234,567", 1234567), ("1,234 parameters", 1234), ("12,34", None), ("1,234_567", None),
    ("-3", None), ("", None), ("1e3", None),
])
def test_read_count(text, expected):
    assert parse.read_count(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("-3", -3.0), ("−3", -3.0), ("4.5", 4.5), ("9", 9.0), ("1,000", 1000.0), ("nan", None),
    ("inf", None), ("1e5", None),
])
def test_read_number(text, expected):
    assert parse.read_number(text) == expected


@pytest.mark.parametrize("text, rank, expected", [
    ("(2, 0), (2, 1)", 2, {(2, 0), (2, 1)}),
    ("[(2,0),(2,1)]", 2, {(2, 0), (2, 1)}),
    ("rows 2–3, columns 0–1", 2, {(2, 0), (2, 1), (3, 0), (3, 1)}),
    ("columns 0–1, rows 2", 2, {(2, 0), (2, 1)}),
    ("2-3, 0", 2, {(2, 0), (3, 0)}),
    ("2..3 x 0..1", 2, {(2, 0), (2, 1), (3, 0), (3, 1)}),
    ("rows 0, 2; cols 1", 2, {(0, 1), (2, 1)}),
    ("(3,), (4,)", 1, {(3,), (4,)}), ("steps 3 to 4", 1, {(3,), (4,)}), ("3, 5", 1, {(3,), (5,)}),
    ("0-1; 0; 2", 3, {(0, 0, 2), (1, 0, 2)}),
    ("(2, 0), 7", 2, None), ("(2, 0, 1)", 2, None), ("rows 2", 2, None),
    ("rows 0-100000, cols 0-100000", 2, None), ("4-2, 1", 2, None), ("", 2, None),
])
def test_read_cells(text, rank, expected):
    got = parse.read_cells(text, rank)
    assert (got is None) if expected is None else (got == frozenset(expected))


def test_read_value_never_executes(tmp_path):
    target = tmp_path / "pwned"
    text = f"__import__('os').system('touch {target}')"
    assert parse.read_value(text, "strides") is None
    assert not target.exists()
    assert parse.read_value("strides=(2, 2)", "strides") == (2, 2)
    assert parse.read_value("same", "padding") == "same"
    assert parse.read_value("'same'", "padding") == "same"


def test_fit_answers_are_bounded():
    judge = FitJudge("Conv2DTranspose", (("filters", 1), ("strides", 2)), "kernel_size",
                     (1, 16, 16, 1), goal="even", example="4")
    assert judge.judge("4").correct and judge.judge("(2, 2)").correct
    assert not judge.judge("3").correct
    big = judge.judge(str(MAX_VALUE + 1))
    assert not big.correct and big.readable and "small value" in big.note
    assert not judge.judge("10**9").correct and not judge.judge("True").correct
    assert not judge.judge("(2, 2, 2)").correct  # Keras refuses it: note says so
    assert "Keras refuses" in judge.judge("(2, 2, 2)").note


# --------------------------------------------------------------------------- progress, texts

def test_progress_round_trip():
    p = Progress().with_right(7, 1).with_right(1, 2).with_right(1, 0).with_right(7, 1)
    assert p.count(1) == 2 and p.count(7) == 1 and p.count(3) == 0 and p.count(1, n=1) == 1
    assert p.is_right(1, 2) and not p.is_right(1, 1)
    assert p.to_text() == "1:0.2,7:1"
    assert Progress.from_text(p.to_text()) == p
    assert Progress.from_text("99:1,abc,3:x,3:1.2.25,,4:") == Progress({3: frozenset({1, 2})})
    assert Progress.from_text(None) == Progress()
    assert Progress().to_text() == ""


def test_lesson_texts():
    lessons = load_lessons()
    assert [x.number for x in lessons] == list(range(1, 11))
    assert [x.slug for x in lessons] == ["kernel", "stride", "padding", "dilation",
                                         "channels", "separable", "transposed", "resize",
                                         "receptive", "checkerboard"]
    for x in lessons:
        assert x.title and x.body and x.words <= MAX_WORDS, (x.number, x.words)
        assert x.try_link.startswith("view=")
    assert "asymmetric" in lessons[2].body or "end" in lessons[2].body
    assert "57" in lessons[6].body and "56" in lessons[6].body and "output_padding" in \
        lessons[6].body
    assert "Distill 2016" in lessons[9].body


def test_lesson_file_errors(tmp_path):
    bad = tmp_path / "1-x.md"
    bad.write_text("---\ntitle: x\n---\nbody")
    with pytest.raises(ValueError, match="NN-slug"):
        read_lesson(bad)
    untitled = tmp_path / "01-x.md"
    untitled.write_text("---\ntry: view=explore\n---\nbody")
    with pytest.raises(ValueError, match="title"):
        read_lesson(untitled)
    (tmp_path / "01-x.md").write_text("---\ntitle: One\n---\nbody")
    (tmp_path / "03-y.md").write_text("---\ntitle: Three\n---\nbody")
    bad.unlink()
    with pytest.raises(ValueError, match="without gaps"):
        load_lessons.__wrapped__(tmp_path)
    assert load_lessons.__wrapped__(tmp_path / "none") == ()
