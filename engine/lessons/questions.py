"""Question builders: from layer arguments to an :class:`Exercise` whose answer and
derivation come from the engine (shapes and words from :mod:`engine.geometry` and
:mod:`engine.geometry.explain`, fields from :mod:`engine.receptive`, values from the layer).

Each builder takes plain arguments (class names, kwargs, shapes, cells) so that the
catalogue of lessons only draws random numbers; ``layers`` are ``(class name, kwargs)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from engine.geometry import AXIS_NAMES, geometry, output_link
from engine.geometry.explain import (axis_derivations, breakdown_text, channels_text,
                                     param_terms)
from engine.lessons.exercise import Exercise, Grid, Step
from engine.lessons.judges import (CellsJudge, CountJudge, FitJudge, NumberJudge, PairJudge,
                                   ShapeJudge)
from engine.lessons.overlap import (axis_counts, even_placements, middle, ones_response,
                                    placements)
from engine.lessons.stack import BLANK, code_line, make_layer
from engine.literals import literal
from engine.receptive import ReceptivePlan, describe_field, receptive_field

MAX_KERNEL_FIT = 16  # kernel sizes tried when the engine looks for the even-overlap answer


# --------------------------------------------------------------------------- helpers

def _geometry(class_name, kwargs, input_shape):
    return geometry(make_layer(class_name, kwargs), input_shape)


def _singular(axis: str) -> str:
    return axis[:-1]


def _hide(formula: str) -> str:
    """``… = 32`` → ``… = ?``: the formula with the student's numbers, result left out."""
    return formula.rsplit(" = ", 1)[0] + " = ?"


def _symbolic(formula: str) -> str:
    """The textbook part of a formula (before the first ``=``)."""
    return formula.split(" = ", 1)[0]


def _values_text(values) -> str:
    """``2–4`` for a run of consecutive ints, else ``0, 2, 4``."""
    values = sorted(int(v) for v in values)
    if len(values) > 2 and values[-1] - values[0] == len(values) - 1:
        return f"{values[0]}–{values[-1]}"
    return ", ".join(map(str, values))


def _axis_steps(g) -> list:
    """One step per spatial axis: the formula with the numbers, then why."""
    return [Step(f"{d.axis.capitalize()}: {d.formula}. {d.words}",
                 f"{d.axis.capitalize()}: {_hide(d.formula)}") for d in axis_derivations(g)]


def _base(kind, layers, input_shape, question, answer, answer_text, steps, judge,
          shown=None, **extra):
    """An :class:`Exercise` for ``layers``; the code lines (the project's printer) show
    ``shown`` instead when given (the layers with the argument asked for left blank)."""
    return Exercise(kind=kind, code=tuple(code_line(c, k) for c, k in shown or layers),
                    input_shape=tuple(input_shape), question=question, answer=answer,
                    answer_text=answer_text, steps=tuple(steps), judge=judge,
                    layers=tuple((c, dict(k)) for c, k in layers), **extra)


def _matrix(label: str, a: np.ndarray) -> str:
    """A small int matrix as aligned text under its label."""
    width = max(len(str(int(v))) for v in a.ravel())
    rows = ["  ".join(f"{int(v):>{width}}" for v in row) for row in a]
    return label + "\n" + "\n".join(rows)


# --------------------------------------------------------------------------- one layer

def shape_question(class_name, kwargs, input_shape, view="explore") -> Exercise:
    """What is the output shape?"""
    g = _geometry(class_name, kwargs, input_shape)
    steps = _axis_steps(g) + [Step(channels_text(g)),
                              Step(f"Output shape: {literal(g.out_shape)}")]
    return _base("shape", [(class_name, kwargs)], input_shape, "What is the output shape?",
                 g.out_shape, literal(g.out_shape), steps, ShapeJudge(g.out_shape), view=view)


def params_question(class_name, kwargs, input_shape) -> Exercise:
    """How many parameters?"""
    g = _geometry(class_name, kwargs, input_shape)
    terms = param_terms(g)
    steps = [Step(f"{t.text}: {t.meaning}.", f"Count term by term, first the {t.name}: "
                  f"{t.meaning}.") for t in terms]
    steps.append(Step(breakdown_text(terms, "parameters")))
    return _base("params", [(class_name, kwargs)], input_shape,
                 "How many parameters (weights and biases) does this layer have?", g.params,
                 f"{g.params:,}", steps, CountJudge(g.params))


def saved_question(full, light, input_shape) -> Exercise:
    """How many parameters does ``light`` (class, kwargs) save compared with ``full``?"""
    counts = []
    steps = []
    for class_name, kwargs in (full, light):
        g = _geometry(class_name, kwargs, input_shape)
        counts.append(g.params)
        steps.append(Step(f"{code_line(class_name, kwargs)}: "
                          f"{breakdown_text(param_terms(g), 'parameters')}."))
    saved = counts[0] - counts[1]
    steps.append(Step(f"Saved: {counts[0]:,} − {counts[1]:,} = {saved:,} parameters; the "
                      f"second layer keeps {counts[1] / counts[0]:.1%} of them."))
    return _base("saved", [full, light], input_shape,
                 "Both layers give the same output shape on this input. How many parameters "
                 "fewer does the second one have?", saved, f"{saved:,}", steps,
                 CountJudge(saved))


def _tap_text(t) -> str:
    where = f"{t.position}" if t.inside else f"{t.position} (padding)"
    if t.tap is not None:
        return f"tap {t.tap} → {where}"
    return where if t.weight == 1 else f"{where} (weight {t.weight:.4g})"


def cells_question(class_name, kwargs, input_shape, out_cell, view="explore") -> Exercise:
    """Which input cells does ``out_cell`` read? (answered by clicking cells)"""
    g = _geometry(class_name, kwargs, input_shape)
    names = AXIS_NAMES[g.rank]
    reads = [r.tolist() for r in g.reads(out_cell)]
    cells = frozenset(itertools.product(*reads))
    steps = [Step(f"{name.capitalize()}: output {_singular(name)} {o} reads "
                  + ", ".join(_tap_text(t) for t in taps)
                  + f"; real input {name}: {_values_text(r)}.")
             for name, o, taps, r in zip(names, out_cell, g.cell_taps(out_cell), reads)]
    answer_text = "; ".join(f"{name} {_values_text(r)}" for name, r in zip(names, reads))
    steps.append(Step(f"{output_link(g, out_cell)}: every combination, {len(cells)} "
                      f"cell{'s' if len(cells) != 1 else ''} ({answer_text})."))
    return _base("cells", [(class_name, kwargs)], input_shape,
                 f"Which input cells does output cell {literal(tuple(out_cell))} read? Click "
                 "them (or type them).", cells, answer_text, steps,
                 CellsJudge(cells, g.rank), grid=Grid(tuple(g.in_spatial)),
                 out_cell=tuple(out_cell), view=view)


def pads_question(class_name, kwargs, input_shape, axis: int) -> Exercise:
    """How many zeros does ``padding="same"`` add along ``axis``: (before, after)?"""
    g = _geometry(class_name, kwargs, input_shape)
    d = axis_derivations(g)[axis]
    pair = tuple(int(v) for v in g.pads[axis])
    name = d.axis.capitalize()
    steps = [Step(f"{name}: {d.words}", f"{name}: {d.words.split(';')[0]}."),
             Step(f"{name}: {pair[0]} before, {pair[1]} after: {literal(pair)}.")]
    return _base("pads", [(class_name, kwargs)], input_shape,
                 f"How many zeros does this layer add along the {d.axis}: (before, after)?",
                 pair, literal(pair), steps, PairJudge(pair))


def fit_question(class_name, kwargs, argument, value, input_shape, example="2",
                 view="explore") -> Exercise:
    """Which ``argument`` makes the layer map the input to the shape it gives with
    ``value``? Any value the engine maps there is right."""
    g = _geometry(class_name, dict(kwargs, **{argument: value}), input_shape)
    target = tuple(g.out_shape)
    steps = [Step(f"{d.axis.capitalize()}: {d.formula}. {d.words}",
                  f"{d.axis.capitalize()}: {_symbolic(d.formula)} must come out as "
                  f"{d.n_out}.") for d in axis_derivations(g)]
    steps.append(Step(f"{argument}={literal(value)} gives {literal(target)}."))
    judge = FitJudge(class_name, tuple(sorted(kwargs.items())), argument, tuple(input_shape),
                     target, example=example)
    return _base("fit", [(class_name, dict(kwargs, **{argument: value}))], input_shape,
                 f"Which {argument} makes this layer turn the input into {literal(target)}?",
                 value, f"{argument}={literal(value)}", steps, judge,
                 shown=[(class_name, dict(kwargs, **{argument: BLANK}))], view=view)


def value_question(kernel: np.ndarray, patch: np.ndarray, out_cell) -> Exercise:
    """Conv2D(1, k, use_bias=False) with ``kernel`` on the one-channel ``patch``: the value
    of ``out_cell``, computed by the layer."""
    k, n = kernel.shape[0], patch.shape[0]
    kwargs = {"filters": 1, "kernel_size": k, "use_bias": False}
    layer = make_layer("Conv2D", kwargs)
    shape = (1, n, n, 1)
    layer.build(shape)
    layer.set_weights([kernel.reshape(k, k, 1, 1).astype(np.float32)])
    value = float(layer(patch.reshape(shape).astype(np.float32))[(0, *out_cell, 0)])
    g = geometry(layer, shape)
    rows, cols = g.cell_taps(out_cell)
    products = [f"{int(kernel[r.tap, c.tap])}·{int(patch[r.position, c.position])}"
                for r, c in itertools.product(rows, cols)]
    steps = [Step(f"{output_link(g, out_cell)}."),
             Step("Multiply each of those cells by the kernel weight over it and add: "
                  + " + ".join(products).replace("+ -", "− ") + f" = {value:g}.")]
    return _base("value", [("Conv2D", kwargs)], shape,
                 "The kernel slides over the one-channel input (both below), without "
                 "padding. What is output cell "
                 f"{literal(tuple(out_cell))}?", value, f"{value:g}", steps,
                 NumberJudge(value), givens=(_matrix("kernel", kernel),
                                             _matrix("input (one channel)", patch)),
                 out_cell=tuple(out_cell), view="animate")


# --------------------------------------------------------------------------- stacks

def receptive_question(layers, input_shape, what: str) -> Exercise:
    """``what="size"``: the receptive field of one output cell of the last layer along the
    rows; ``"jump"``: how far apart neighbouring fields are."""
    table = receptive_field([make_layer(c, k) for c, k in layers], input_shape)
    rows = [r for r in table if r.axis == 0]
    unit = AXIS_NAMES[len(input_shape) - 2][0]
    size, jump = 1, 1
    steps = []
    for r in rows:
        steps.append(Step(f"Layer {r.position + 1} ({r.class_name}, kernel {r.kernel}, stride "
                          f"{r.stride}): size {size} + ({r.kernel} − 1)·{jump} = {r.size}; "
                          f"jump {jump}·{r.stride} = {r.jump}."))
        size, jump = r.size, r.jump
    steps.append(Step(f"One output cell of the last layer sees {size} input {unit}; "
                      f"neighbouring output cells are {jump} {unit} apart."))
    answer = int(size if what == "size" else jump)
    question = (f"How many input {unit} does one output cell of the last layer see (its "
                "receptive field size, border ignored)?" if what == "size" else
                f"How many input {unit} apart are the receptive fields of two neighbouring "
                "output cells (the jump)?")
    return _base(f"receptive_{what}", layers, input_shape, question, answer, str(answer),
                 steps, CountJudge(answer), view="receptive")


def paths_question(layers, input_shape, out_cell, choose) -> Exercise:
    """With every weight 1: how many paths lead from an input cell to ``out_cell`` (the
    contribution map's value)? Theoretical field vs where the contribution is.
    ``choose(box)`` picks the input cell from the field's box ``((lo, hi), …)``."""
    plan = ReceptivePlan([make_layer(c, k) for c, k in layers], input_shape)
    in_cell = tuple(choose(plan.field_box(tuple(out_cell))))
    cmap = plan.contribution_map(tuple(out_cell), "ones")
    mask = plan.mask(tuple(out_cell), "ones")
    value = int(round(cmap[tuple(in_cell)]))
    (r0, r1), (c0, c1) = plan.field_box(tuple(out_cell))
    row = " ".join(str(int(round(v))) for v in cmap[in_cell[0], c0:c1 + 1])
    field = describe_field(plan, index=tuple(out_cell), cmap=cmap, mask=mask)
    steps = [Step(field[0].upper() + field[1:]),
             Step(f"With every weight 1 the map counts paths; along input row {in_cell[0]} "
                  f"(columns {c0}–{c1}) it reads {row}."),
             Step(f"Input cell {literal(tuple(in_cell))}: {value} paths. The centre of the "
                  f"field counts {int(cmap.max())}, its corners {int(cmap[r0, c0])}: the "
                  "effective field is smaller than the theoretical one.")]
    return _base("paths", layers, input_shape,
                 f"With every weight 1 (bias 0), how many paths lead from input cell "
                 f"{literal(tuple(in_cell))} to output cell {literal(tuple(out_cell))}? (That "
                 "is the value of its contribution map.)", value, str(value), steps,
                 CountJudge(value), out_cell=tuple(out_cell), view="receptive")


# --------------------------------------------------------------------------- checkerboard

def overlap_question(kwargs, input_shape, out_cell) -> Exercise:
    """Conv2DTranspose: how many kernel placements overlap ``out_cell``?"""
    g = _geometry("Conv2DTranspose", kwargs, input_shape)
    counts = placements(g, out_cell)
    total = math.prod(counts)
    steps = []
    for name, o, taps in zip(AXIS_NAMES[g.rank], out_cell, g.cell_taps(out_cell)):
        real = [t for t in taps if t.inside]
        got = (", ".join(f"tap {t.tap} of the copy placed by input {_singular(name)} "
                         f"{t.position}" for t in real) if real else "no copy")
        steps.append(Step(f"{name.capitalize()}: output {_singular(name)} {o} gets {got}: "
                          f"{len(real)}."))
    steps.append(Step(f"{' × '.join(map(str, counts))} = {total} kernel placements overlap "
                      f"output cell {literal(tuple(out_cell))}; with every weight 1 and an "
                      "input of ones that is its value."))
    return _base("overlap", [("Conv2DTranspose", kwargs)], input_shape,
                 f"How many kernel placements overlap output cell {literal(tuple(out_cell))}? "
                 "(With every weight 1 and an input of ones, that is the cell's value.)",
                 total, str(total), steps, CountJudge(total), out_cell=tuple(out_cell),
                 view="animate")


def ones_question(layers, input_shape, out_cell) -> Exercise:
    """Resize, then convolve (``layers``: an upsampling and a one-filter convolution): the
    value of ``out_cell`` with every weight 1, bias 0 and an input of ones, computed by
    the layers."""
    value = float(ones_response(layers, input_shape)[tuple(out_cell)])
    up = _geometry(*layers[0], input_shape)
    conv = _geometry(*layers[1], up.out_shape)
    first = tuple(int(r[0]) for r in conv.reads(out_cell))
    sums = [sum(t.weight for t in taps) for taps in up.cell_taps(first)]
    weights = " and ".join(" + ".join(f"{t.weight:.4g}" for t in taps)
                           for taps in up.cell_taps(first))
    n_read = math.prod(len(r) for r in conv.reads(out_cell))
    steps = [Step(f"{output_link(conv, out_cell)} of the upsampled map (the convolution's "
                  f"input): {n_read} cells, each with weight 1."),
             Step(f"Each upsampled cell is made of input cells with weights adding up to "
                  f"{math.prod(sums):.4g}: upsampled cell {literal(first)} takes {weights} "
                  "along rows and columns."),
             Step(f"So output cell {literal(tuple(out_cell))} gets {value:.4g}, like every "
                  "output cell away from the border: no checkerboard.")]
    return _base("ones", layers, input_shape,
                 f"With every weight 1 (bias 0) and an input of ones, what value does output "
                 f"cell {literal(tuple(out_cell))} get?", value, f"{value:.4g}", steps,
                 NumberJudge(value), out_cell=tuple(out_cell), view="animate")


def _pattern(g) -> str:
    """``2, 1, 2, 1, …``: placements along the first axis, middle outputs."""
    counts = axis_counts(g)[0]
    shown = counts[middle(len(counts))][:6].tolist()
    return ", ".join(map(str, shown)) + ", …"


def even_question(strides: int, input_shape) -> Exercise:
    """Which kernel_size spreads a transposed convolution's placements evenly?"""
    kwargs = {"filters": 1, "strides": strides}

    def g_for(k):
        return _geometry("Conv2DTranspose", dict(kwargs, kernel_size=k), input_shape)

    answer = next(k for k in range(2, MAX_KERNEL_FIT + 1) if even_placements(g_for(k)))
    bad = strides + 1
    steps = [Step(f"With kernel_size={bad}, output rows away from the border get "
                  f"{_pattern(g_for(bad))} placements: uneven, a checkerboard."),
             Step(f"With kernel_size={answer}: {_pattern(g_for(answer))} — the same for every "
                  "cell."),
             Step(f"kernel_size={answer} is the smallest that works; the engine counts the "
                  "placements for any kernel_size you give.")]
    judge = FitJudge("Conv2DTranspose", tuple(sorted(kwargs.items())), "kernel_size",
                     tuple(input_shape), goal="even", example="4")
    return _base("even", [("Conv2DTranspose", dict(kwargs, kernel_size=answer))], input_shape,
                 "Which kernel_size gives every output cell away from the border the same "
                 "number of overlapping kernel placements (no checkerboard)?", answer,
                 f"kernel_size={answer}", steps, judge,
                 shown=[("Conv2DTranspose", dict(kwargs, kernel_size=BLANK))], view="animate")


__all__ = ["cells_question", "even_question", "fit_question", "ones_question",
           "overlap_question", "pads_question", "params_question", "paths_question",
           "receptive_question", "saved_question", "shape_question", "value_question"]
