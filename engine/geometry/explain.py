"""Every number of a layer derived in words, with the user's numbers: output sizes per axis
(textbook formula, then why), and parameter / multiply-add breakdowns term by term.

Pure text from :class:`LayerGeometry` and :mod:`engine.shapes`; views print it as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine import shapes
from engine.geometry.layer import LayerGeometry
from engine.geometry.words import AXIS_NAMES


@dataclass(frozen=True)
class AxisDerivation:
    """One spatial axis: ``formula`` (textbook form with the numbers, ending ``= n_out``)
    and ``words`` (why, in sentences)."""

    axis: str
    n_in: int
    n_out: int
    formula: str
    words: str


@dataclass(frozen=True)
class Term:
    """One term of a breakdown: ``factors`` (ints) multiplied give ``value``; ``meaning``
    says what each factor is, in order."""

    name: str
    factors: tuple
    meaning: str

    @property
    def value(self) -> int:
        return math.prod(self.factors)

    @property
    def text(self) -> str:
        """``3·3·8·1 depthwise``."""
        return "·".join(str(v) for v in self.factors) + f" {self.name}"


def breakdown_text(terms: list[Term], total_name: str) -> str:
    """``3·3·8·1 depthwise + 1·1·8·16 pointwise + 16 bias = 216 parameters``."""
    if not terms:
        return f"0 {total_name}"
    total = sum(t.value for t in terms)
    return " + ".join(t.text for t in terms) + f" = {total:,} {total_name}"


# --------------------------------------------------------------------------- sizes

def _signed(v: int) -> str:
    return str(v) if v >= 0 else f"(−{-v})"


def _cells(n: int, word: str) -> str:
    """``1 row``, ``2 rows`` for a plural axis or channel word."""
    return f"{n} {word[:-1] if n == 1 and word.endswith('s') else word}"



def _conv_axis(op, axis, padding) -> AxisDerivation:
    i, k, s, d, o = op.n_in, op.k, op.s, op.d, op.n_out
    before, after = op.pad
    pa = max(after, 0)
    formula = (f"⌊(i + p_before + p_after − d·(k − 1) − 1) / s⌋ + 1 = "
               f"⌊({i} + {before} + {pa} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {o}")
    span = shapes.effective_kernel(k, d)
    window = f"the window spans d·(k − 1) + 1 = {_cells(span, 'cells')}"
    if padding == "valid":
        words = f"valid: no zeros are added; {window} and fits {o} times stepping by {s}."
        if after < 0:
            words += (f" The last {_cells(-after, axis)} of the input never get read (past "
                      "the last full window).")
    elif padding == "causal":
        words = (f"causal: d·(k − 1) = {before} zeros before, none after, so output step t "
                 "reads only steps ≤ t.")
    else:
        total = before + after
        side = ("TensorFlow puts the odd zero at the end" if total % 2 else
                "split evenly")
        words = (f"same: the output has ⌈i / s⌉ = ⌈{i} / {s}⌉ = {o} cells; that needs total "
                 f"padding {total}: {before} before, {after} after — {side}.")
    return AxisDerivation(axis, i, o, formula, words)


def _transpose_axis(op, axis, layer, a) -> AxisDerivation:
    i, k, s, d, o = op.n_in, op.k, op.s, op.d, op.n_out
    given = None if layer.output_padding is None else layer.output_padding[a]
    opad = 0 if given is None else given
    full = (i - 1) * s + shapes.effective_kernel(k, d)
    before = op.p
    after = full - before + opad - o
    formula = (f"(i − 1)·s + d·(k − 1) + 1 − p_before − p_after + output_padding = "
               f"({i} − 1)·{s} + {d}·({k} − 1) + 1 − {before} − {_signed(after)} + {opad} = {o}")
    words = (f"Each input cell stamps the kernel ({full - (i - 1) * s} cells) onto the output, "
             f"{s} apart: the stamps cover {full} cells. ")
    if layer.padding == "valid":
        words += "valid keeps all of them"
    else:
        words += (f"same crops {before} at the start and {max(after, 0)} at the end so that "
                  f"the output is i·s = {i * s} cells, the inverse of a strided same convolution")
    if after < 0:
        words += (f"; the stride {s} is longer than the kernel, so TensorFlow adds "
                  f"{-after} cell{'s' if after < -1 else ''} at the end")
    words += "."
    if s > 1:
        words += " " + _output_padding_choice(layer, a, i, k, s, d, o)
    return AxisDerivation(axis, i, o, formula, words)


def _output_padding_choice(layer, a, i, k, s, d, o) -> str:
    """Which sizes a forward convolution maps back to ``i`` and how output_padding picks."""
    lo, hi = (shapes.conv_transpose_output_length(i, k, s, d, layer.padding, p)
              for p in (0, s - 1))
    sizes = ", ".join(map(str, range(lo, hi + 1))) if hi - lo < 8 else f"{lo}, …, {hi}"
    picked = ("without it Keras picks " if layer.output_padding is None
              else f"output_padding={layer.output_padding[a]} picks ")
    return (f"A forward convolution with these arguments maps {i} back from any of {sizes} "
            f"cells; output_padding (0 … {s - 1}) chooses among them, and {picked}{o}.")


def _other_axis(g, op, axis, a) -> AxisDerivation:
    layer, i, o = g.layer, op.n_in, op.n_out
    if g.kind == "upsample":
        size = layer.size[a]
        method = getattr(layer, "interpolation", "nearest")
        how = ("each cell is repeated" if method == "nearest" else
               f"{method} interpolation computes each new cell from its neighbours,")
        return AxisDerivation(axis, i, o, f"i·size = {i}·{size} = {o}",
                              f"UpSampling: {how} {size} times along the {axis}.")
    before, after = op.pad
    if g.kind == "crop":
        return AxisDerivation(axis, i, o, f"i − before − after = {i} − {-before} − {-after} "
                              f"= {o}", f"Cropping removes {_cells(-before, axis)} at the "
                              f"start and {-after} at the end.")
    if g.kind == "pad":
        return AxisDerivation(axis, i, o, f"i + before + after = {i} + {before} + {after} = "
                              f"{o}", f"ZeroPadding adds {_cells(before, 'zero ' + axis)} at "
                              f"the start and {after} at the end.")
    return _conv_axis(op, axis, layer.padding)  # pooling: a window without weights


def axis_derivations(g: LayerGeometry) -> list[AxisDerivation]:
    """Per spatial axis, how the output size follows from the arguments."""
    names = AXIS_NAMES[g.rank]
    out = []
    for a, op in enumerate(g.axes):
        if g.kind in ("conv", "depthwise", "separable"):
            out.append(_conv_axis(op, names[a], g.layer.padding))
        elif g.kind == "transpose":
            out.append(_transpose_axis(op, names[a], g.layer, a))
        else:
            out.append(_other_axis(g, op, names[a], a))
    return out


def channels_text(g: LayerGeometry) -> str:
    """Where the output channels come from."""
    layer = g.layer
    if g.kind == "depthwise":
        return (f"{g.out_channels} channels = {g.in_channels} inputs × depth_multiplier "
                f"{layer.depth_multiplier}: each input channel gets its own filters.")
    if g.kind in ("conv", "separable", "transpose"):
        extra = (f" in {layer.groups} groups of {g.in_channels // layer.groups} input "
                 f"channels" if g.kind == "conv" and layer.groups > 1 else "")
        return f"{_cells(g.out_channels, 'channels')} = filters {layer.filters}{extra}."
    return f"{_cells(g.out_channels, 'channels')}: this layer keeps the channels as they are."


# --------------------------------------------------------------------------- counts

def _kernel_term(g, w) -> Term:
    layer, c = g.layer, g.in_channels
    k = tuple(layer.kernel_size)
    size = "×".join(map(str, k))
    if g.kind == "conv":
        per = "input channels per group" if layer.groups > 1 else "input channels"
        return Term("kernel", w.shape, f"kernel {size} × {_cells(c // layer.groups, per)} × "
                    f"{_cells(layer.filters, 'filters')}")
    if g.kind == "transpose":
        return Term("kernel", w.shape, f"kernel {size} × {_cells(layer.filters, 'filters')} × "
                    f"{_cells(c, 'input channels')}")
    return Term("depthwise", w.shape, f"kernel {size} × {_cells(c, 'input channels')} × "
                f"depth_multiplier {layer.depth_multiplier}")


def param_terms(g: LayerGeometry) -> list[Term]:
    """The parameters of ``g`` term by term (one per weight, Keras's order)."""
    terms = []
    for w in g.weights:
        if w.name == "bias":
            terms.append(Term("bias", w.shape, "one per output channel"))
        elif w.name == "pointwise_kernel":
            terms.append(Term("pointwise", w.shape, f"1×1 kernel × {w.shape[-2]} depthwise "
                              f"channels × {w.shape[-1]} filters"))
        else:
            terms.append(_kernel_term(g, w))
    return terms


def mac_terms(g: LayerGeometry) -> list[Term]:
    """The multiply-adds of ``g`` term by term (for its batch; see ``LayerGeometry.macs``):
    every weight used once per position it is applied at."""
    if not g.macs:
        return []
    batch = (g.batch,) if g.batch > 1 else ()
    per = "batch × " if batch else ""
    if g.kind == "upsample":
        taps = tuple(int(op.taps(0, op.n_out - 1).exists.sum()) for op in g.axes)
        return [Term("interpolation", batch + (g.in_channels,) + taps,
                     per + "channels × " + " × ".join(
                         f"weights along the {n}" for n in AXIS_NAMES[g.rank]))]
    where = "input" if g.kind == "transpose" else "output"
    cells = g.in_spatial if g.kind == "transpose" else g.out_spatial
    return [Term(t.name, batch + (math.prod(cells),) + (t.value,),
                 f"{per}{where} positions × {t.name} weights ({t.meaning})")
            for t in param_terms(g) if t.name != "bias"]
