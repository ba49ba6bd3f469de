"""The exercises of the ten lessons: seeded random arguments, questions built by
:mod:`engine.lessons.questions`.

``exercise(lesson, seed, index)`` is deterministic: its random numbers come from
``random.Random("convlab-lesson-<lesson>-<seed>-<index>")`` (string seeds are hashed the
same way on every platform and Python version), and index ``i`` asks the lesson's question
kind ``i mod (number of kinds)``, so a teacher's ``lesson=7&seed=12&n=5`` gives a whole
class the same five exercises. Draws the engine refuses (a shape Keras rejects) are drawn
again from the same stream.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache

import numpy as np

from engine.geometry import geometry
from engine.lessons import questions as Q
from engine.lessons.exercise import Exercise
from engine.lessons.overlap import middle
from engine.lessons.stack import make_layer

LESSONS = tuple(range(1, 11))
MAX_EXERCISES = 20   # exercises per lesson a link may ask for
MAX_SEED = 2 ** 31 - 1
_TRIES = 100

# --------------------------------------------------------------------------- drawing helpers

def _image(rng, lo=8, hi=64, channels=(1, 3)) -> tuple:
    return (1, rng.randint(lo, hi), rng.randint(lo, hi), rng.choice(channels))


def _square(rng, lo, hi, channels=1) -> tuple:
    n = rng.randint(lo, hi)
    return (1, n, n, channels)


def _cell(rng, g, ok=lambda cell: True) -> tuple:
    """A random output cell of ``g`` that reads some input (and satisfies ``ok``)."""
    for _ in range(_TRIES):
        cell = tuple(rng.randrange(n) for n in g.out_spatial)
        if g.sources(cell) is not None and ok(cell):
            return cell
    raise ValueError("no output cell reads an input cell")


def _geom(class_name, kwargs, shape):
    return geometry(make_layer(class_name, kwargs), shape)


# --------------------------------------------------------------------------- lesson 1: kernels

def _kernel_value(rng):
    k, n = rng.choice([2, 3]), rng.randint(4, 6)
    kernel = np.array([[rng.choice([-1, 0, 0, 1, 2]) for _ in range(k)] for _ in range(k)])
    patch = np.array([[rng.randint(0, 5) for _ in range(n)] for _ in range(n)])
    cell = (rng.randrange(n - k + 1), rng.randrange(n - k + 1))
    return Q.value_question(kernel, patch, cell)


def _kernel_cells(rng):
    kw = {"filters": rng.choice([1, 4, 8]), "kernel_size": rng.choice([2, 3, 5])}
    shape = _square(rng, 6, 12, rng.choice([1, 3]))
    return Q.cells_question("Conv2D", kw, shape, _cell(rng, _geom("Conv2D", kw, shape)))


def _kernel_shape(rng):
    kw = {"filters": rng.choice([4, 8, 16, 32]), "kernel_size": rng.choice([1, 3, 5, 7])}
    return Q.shape_question("Conv2D", kw, _image(rng))


# --------------------------------------------------------------------------- lesson 2: stride

def _stride_shape(rng):
    kw = {"filters": rng.choice([4, 8, 16]), "kernel_size": rng.randint(1, 5),
          "strides": rng.choice([2, 3, 4]), "padding": rng.choice(["valid", "same"])}
    if rng.random() < 0.3:
        return Q.shape_question("Conv1D", kw, (1, rng.randint(9, 100), rng.choice([1, 2])))
    return Q.shape_question("Conv2D", kw, _image(rng, 9, 64))


def _stride_fit(rng):
    kw = {"filters": rng.choice([4, 8]), "kernel_size": rng.choice([1, 3, 5]),
          "padding": rng.choice(["valid", "same"])}
    return Q.fit_question("Conv2D", kw, "strides", rng.choice([2, 3, 4]),
                          _square(rng, 16, 64, 3))


def _stride_cells(rng):
    kw = {"filters": 1, "kernel_size": rng.choice([2, 3]), "strides": rng.choice([2, 3]),
          "padding": rng.choice(["valid", "same"])}
    shape = _square(rng, 7, 12)
    return Q.cells_question("Conv2D", kw, shape, _cell(rng, _geom("Conv2D", kw, shape)))


# --------------------------------------------------------------------------- lesson 3: padding

def _padding_shape(rng):
    kw = {"filters": rng.choice([4, 8]), "kernel_size": rng.randint(2, 5),
          "strides": rng.choice([1, 2])}
    if rng.random() < 0.5:
        kw["padding"] = rng.choice(["valid", "same", "causal"])
        return Q.shape_question("Conv1D", kw, (1, rng.randint(8, 100), rng.choice([1, 2])))
    kw["padding"] = rng.choice(["valid", "same"])
    return Q.shape_question("Conv2D", kw, _image(rng, 8, 64))


def _padding_pads(rng):
    kw = {"filters": rng.choice([4, 8]), "kernel_size": rng.randint(2, 5),
          "strides": rng.choice([1, 2, 3]), "padding": "same"}
    return Q.pads_question("Conv2D", kw, _image(rng, 8, 40), rng.randrange(2))


def _padding_cells(rng):
    kw = {"filters": 1, "kernel_size": rng.choice([3, 4, 5]), "strides": rng.choice([1, 2]),
          "padding": "same"}
    shape = _square(rng, 6, 10)
    g = _geom("Conv2D", kw, shape)
    edge = (0, g.out_spatial[0] - 1)
    return Q.cells_question("Conv2D", kw, shape,
                            _cell(rng, g, lambda c: c[0] in edge or c[1] in edge))


def _padding_fit(rng):
    kw = {"filters": rng.choice([4, 8]), "kernel_size": rng.randint(2, 5),
          "strides": rng.choice([1, 2])}
    if rng.random() < 0.5:
        name, options, shape = "Conv1D", ["valid", "same", "causal"], (1, rng.randint(8, 60), 1)
    else:
        name, options, shape = "Conv2D", ["valid", "same"], _square(rng, 8, 40, 3)
    if len({_geom(name, dict(kw, padding=p), shape).out_shape for p in options}) == 1:
        raise ValueError("every padding gives the same shape here")
    return Q.fit_question(name, kw, "padding", rng.choice(options), shape, example='"same"')


# --------------------------------------------------------------------------- lesson 4: dilation

def _dilation_shape(rng):
    kw = {"filters": rng.choice([4, 8]), "kernel_size": rng.choice([2, 3, 5]),
          "dilation_rate": rng.choice([2, 3, 4]), "padding": rng.choice(["valid", "same"])}
    if rng.random() < 0.4:
        return Q.shape_question("Conv1D", kw, (1, rng.randint(20, 100), 1))
    return Q.shape_question("Conv2D", kw, _image(rng, 20, 64))


def _dilation_cells(rng):
    kw = {"filters": 1, "kernel_size": rng.choice([2, 3]), "dilation_rate": rng.choice([2, 3]),
          "padding": rng.choice(["valid", "same"])}
    shape = _square(rng, 8, 14)
    return Q.cells_question("Conv2D", kw, shape, _cell(rng, _geom("Conv2D", kw, shape)))


def _dilation_fit(rng):
    kw = {"filters": rng.choice([4, 8]), "kernel_size": rng.choice([2, 3, 5])}
    if rng.random() < 0.5:
        return Q.fit_question("Conv1D", kw, "dilation_rate", rng.randint(2, 4),
                              (1, rng.randint(20, 80), 1))
    return Q.fit_question("Conv2D", kw, "dilation_rate", rng.randint(2, 4),
                          _square(rng, 20, 64, 3))


# --------------------------------------------------------------------------- lesson 5: channels

def _channels_params(rng):
    kw = {"filters": rng.choice([4, 8, 16, 32, 64]), "kernel_size": rng.choice([1, 3, 5]),
          "use_bias": rng.random() < 0.8}
    return Q.params_question("Conv2D", kw, _square(rng, 16, 64, rng.choice([1, 3, 8, 16, 32])))


def _channels_shape(rng):
    kw = {"filters": rng.choice([4, 8, 16, 32, 64]), "kernel_size": rng.choice([1, 3]),
          "padding": rng.choice(["valid", "same"])}
    if rng.random() < 0.3:
        n = rng.randint(8, 16)
        return Q.shape_question("Conv3D", kw, (1, n, 2 * n, 2 * n, rng.choice([1, 3])))
    return Q.shape_question("Conv2D", kw, _image(rng, 8, 64, (1, 3, 8, 16)))


def _channels_groups(rng):
    groups = rng.choice([2, 4])
    kw = {"filters": groups * rng.choice([2, 4, 8]), "kernel_size": rng.choice([1, 3]),
          "groups": groups}
    return Q.params_question("Conv2D", kw, _square(rng, 8, 32, groups * rng.choice([1, 2, 4])))


def _channels_rank(rng):
    kw = {"filters": rng.choice([4, 8, 16]), "kernel_size": rng.choice([3, 5])}
    if rng.random() < 0.5:
        return Q.params_question("Conv1D", kw, (1, rng.randint(16, 100), rng.choice([1, 2, 8])))
    return Q.params_question("Conv3D", kw, (1, 8, 16, 16, rng.choice([1, 3])))


# --------------------------------------------------------------------------- lesson 6: separable

def _separable_depthwise(rng):
    kw = {"kernel_size": rng.choice([3, 5]), "depth_multiplier": rng.choice([1, 2, 3]),
          "use_bias": rng.random() < 0.8}
    return Q.params_question("DepthwiseConv2D", kw,
                             _square(rng, 16, 64, rng.choice([3, 8, 16, 32])))


def _separable_params(rng):
    kw = {"filters": rng.choice([8, 16, 32, 64]), "kernel_size": rng.choice([3, 5]),
          "depth_multiplier": rng.choice([1, 1, 2])}
    return Q.params_question("SeparableConv2D", kw,
                             _square(rng, 16, 64, rng.choice([3, 8, 16, 32])))


def _separable_saved(rng):
    kw = {"filters": rng.choice([16, 32, 64, 128]), "kernel_size": rng.choice([3, 5]),
          "padding": "same"}
    return Q.saved_question(("Conv2D", kw), ("SeparableConv2D", kw),
                            _square(rng, 16, 64, rng.choice([8, 16, 32, 64])))


def _separable_shape(rng):
    kw = {"kernel_size": rng.choice([3, 5]), "strides": rng.choice([1, 2]),
          "depth_multiplier": rng.choice([1, 2, 3]), "padding": rng.choice(["valid", "same"])}
    return Q.shape_question("DepthwiseConv2D", kw, _image(rng, 8, 64, (3, 8, 16)))


# --------------------------------------------------------------------------- lesson 7: transposed

def _transpose_kwargs(rng, filters):
    strides = rng.choice([1, 2, 2, 3])
    kw = {"filters": filters, "kernel_size": rng.randint(2, 5), "strides": strides,
          "padding": rng.choice(["valid", "same"])}
    if strides > 1 and rng.random() < 0.3:
        kw["output_padding"] = rng.randrange(strides)
    return kw


def _transpose_shape(rng):
    kw = _transpose_kwargs(rng, rng.choice([1, 4, 8]))
    shape = (1, rng.choice([7, 14, 28, 32]), rng.choice([7, 14, 28, 32]), rng.choice([1, 3]))
    return Q.shape_question("Conv2DTranspose", kw, shape, view="animate")


def _transpose_fit(rng):
    strides = rng.choice([2, 3])
    kw = {"filters": rng.choice([1, 4, 8]), "kernel_size": rng.randint(2, 5),
          "strides": strides, "padding": rng.choice(["valid", "same"])}
    return Q.fit_question("Conv2DTranspose", kw, "output_padding", rng.randrange(strides),
                          _square(rng, 7, 32, rng.choice([1, 3])), example="1",
                          view="animate")


def _transpose_cells(rng):
    kw = _transpose_kwargs(rng, 1)
    shape = _square(rng, 4, 7)
    g = _geom("Conv2DTranspose", kw, shape)
    return Q.cells_question("Conv2DTranspose", kw, shape, _cell(rng, g), view="animate")


# --------------------------------------------------------------------------- lesson 8: resize

def _upsampling_shape(rng):
    kw = {"size": rng.choice([2, 3, (2, 3), (3, 2)]),
          "interpolation": rng.choice(["nearest", "bilinear"])}
    return Q.shape_question("UpSampling2D", kw, _image(rng, 4, 32))


def _cropping_shape(rng):
    crop = rng.choice([rng.randint(1, 3), ((rng.randint(0, 3), rng.randint(0, 3)),
                                           (rng.randint(0, 3), rng.randint(0, 3)))])
    return Q.shape_question("Cropping2D", {"cropping": crop}, _image(rng, 8, 64))


def _zeropadding_shape(rng):
    pad = rng.choice([rng.randint(1, 3), (rng.randint(0, 3), rng.randint(0, 3)),
                      ((rng.randint(0, 3), rng.randint(0, 3)),
                       (rng.randint(0, 3), rng.randint(0, 3)))])
    return Q.shape_question("ZeroPadding2D", {"padding": pad}, _image(rng, 4, 64))


def _upsampling_cells(rng):
    kw = {"size": rng.choice([2, 3]), "interpolation": rng.choice(["nearest", "bilinear"])}
    shape = _square(rng, 3, 6)
    g = _geom("UpSampling2D", kw, shape)
    return Q.cells_question("UpSampling2D", kw, shape, _cell(rng, g))


def _resize_fit(rng):
    choice = rng.randrange(3)
    if choice == 0:
        return Q.fit_question("UpSampling2D", {}, "size", rng.choice([2, 3, 4]),
                              _image(rng, 4, 32))
    pairs = ((rng.randint(0, 2), rng.randint(0, 2)), (rng.randint(0, 2), rng.randint(0, 2)))
    if choice == 1:
        return Q.fit_question("Cropping2D", {}, "cropping", pairs, _image(rng, 8, 64),
                              example="((1, 0), (0, 1))")
    return Q.fit_question("ZeroPadding2D", {}, "padding", pairs, _image(rng, 4, 64),
                          example="((1, 0), (0, 1))")


# --------------------------------------------------------------------------- lesson 9: receptive

_STACK_LAYERS = (
    ("Conv2D", {"filters": 1, "kernel_size": 3}),
    ("Conv2D", {"filters": 1, "kernel_size": 5}),
    ("Conv2D", {"filters": 1, "kernel_size": 3, "strides": 2}),
    ("Conv2D", {"filters": 1, "kernel_size": 3, "dilation_rate": 2}),
    ("MaxPooling2D", {"pool_size": 2}),
)


def _stack(rng):
    return [rng.choice(_STACK_LAYERS) for _ in range(rng.randint(2, 4))]


def _receptive_size(rng):
    return Q.receptive_question(_stack(rng), (1, 64, 64, 1), "size")


def _receptive_jump(rng):
    return Q.receptive_question(_stack(rng), (1, 64, 64, 1), "jump")


def _receptive_paths(rng):
    layers = [("Conv2D", {"filters": 1, "kernel_size": rng.choice([2, 3]),
                          "strides": rng.choice([1, 1, 2])}) for _ in range(2)]
    out_cell = (rng.randint(0, 2), rng.randint(0, 2))
    return Q.paths_question(layers, (1, 16, 16, 1), out_cell,
                            lambda box: [rng.randint(lo, hi) for lo, hi in box])


# ------------------------------------------------------------------- lesson 10: checkerboard

def _checker_overlap(rng):
    strides = rng.choice([2, 3])
    kw = {"filters": 1, "kernel_size": rng.randint(strides + 1, 5), "strides": strides,
          "padding": rng.choice(["valid", "same"])}
    shape = (1, 6, 6, 1)
    g = _geom("Conv2DTranspose", kw, shape)
    return Q.overlap_question(kw, shape, tuple(rng.choice(middle(n)) for n in g.out_spatial))


def _checker_ones(rng):
    k = rng.choice([3, 5])
    layers = [("UpSampling2D", {"size": 2, "interpolation": rng.choice(["nearest", "bilinear"])}),
              ("Conv2D", {"filters": 1, "kernel_size": k, "padding": "same"})]
    cell = (rng.randint(k, 15 - k), rng.randint(k, 15 - k))
    return Q.ones_question(layers, (1, 8, 8, 1), cell)


def _checker_even(rng):
    return Q.even_question(rng.choice([2, 3]), (1, 16, 16, 1))


# --------------------------------------------------------------------------- the catalogue

KINDS = {
    1: (_kernel_value, _kernel_cells, _kernel_shape),
    2: (_stride_shape, _stride_fit, _stride_cells),
    3: (_padding_shape, _padding_pads, _padding_cells, _padding_fit),
    4: (_dilation_shape, _dilation_cells, _dilation_fit),
    5: (_channels_params, _channels_shape, _channels_groups, _channels_rank),
    6: (_separable_depthwise, _separable_params, _separable_saved, _separable_shape),
    7: (_transpose_shape, _transpose_fit, _transpose_cells),
    8: (_upsampling_shape, _cropping_shape, _zeropadding_shape, _upsampling_cells, _resize_fit),
    9: (_receptive_size, _receptive_jump, _receptive_paths),
    10: (_checker_overlap, _checker_ones, _checker_even),
}


def _check(lesson: int, seed: int, index: int) -> None:
    if lesson not in LESSONS:
        raise ValueError(f"lesson must be one of 1…{len(LESSONS)}. Received: lesson={lesson!r}")
    if not 0 <= seed <= MAX_SEED or not 0 <= index < MAX_EXERCISES:
        raise ValueError(f"seed must be in 0…{MAX_SEED} and index in 0…{MAX_EXERCISES - 1}. "
                         f"Received: seed={seed!r}, index={index!r}")


@lru_cache(maxsize=512)
def exercise(lesson: int, seed: int, index: int) -> Exercise:
    """Exercise ``index`` (0-based) of ``lesson`` (1…10) for ``seed``: always the same."""
    _check(lesson, seed, index)
    rng = random.Random(f"convlab-lesson-{lesson}-{seed}-{index}")
    kinds = KINDS[lesson]
    draw = kinds[index % len(kinds)]
    for _ in range(_TRIES):
        try:
            return replace(draw(rng), lesson=lesson, seed=seed, index=index)
        except ValueError:
            continue
    raise RuntimeError(f"lesson {lesson}: no valid draw for seed {seed}, index {index}")


def exercises(lesson: int, seed: int, n: int) -> tuple:
    """The first ``n`` exercises of ``lesson`` for ``seed`` (a teacher's set)."""
    if not 1 <= n <= MAX_EXERCISES:
        raise ValueError(f"n must be in 1…{MAX_EXERCISES}. Received: n={n!r}")
    return tuple(exercise(lesson, seed, i) for i in range(n))


__all__ = ["KINDS", "LESSONS", "MAX_EXERCISES", "MAX_SEED", "exercise",
           "exercises"]
