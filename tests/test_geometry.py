"""engine.geometry: the one model of which input cells and taps feed each output cell.

Checked against: forward probing through the real kernels (one-hot inputs, all-ones
kernels: an independent code path), the non-zero support of engine.receptive's exact
contribution map, a brute-force inversion of the output → input relation for ``feeds``,
and Keras's own weights and ``count_params``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import geometry as G
from engine.layers import LAYER_CLASSES
from engine.pooling import POOLING_CLASSES
from engine.receptive import receptive_field_mask
from tests.test_keras_conformance import case_for

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def _geometry_or_skip(cls_name, kwargs, shape):
    """The engine layer and its geometry, or a hypothesis ``assume`` failure for the
    configurations Keras refuses (the conformance tests check those refusals)."""
    try:
        layer = LAYER_CLASSES[cls_name](**kwargs)
        g = G.geometry(layer, shape)
    except ValueError:
        assume(False)
    assume(all(n > 0 for n in g.out_spatial))
    return layer, g


def _cell(draw, sizes):
    return tuple(draw(st.integers(0, n - 1)) for n in sizes)


def _read_mask(g, cell):
    """Boolean map of the input's spatial shape: the product of the per-axis reads."""
    mask = np.zeros(g.in_spatial, bool)
    reads = g.reads(cell)
    if all(r.size for r in reads):
        mask[np.ix_(*reads)] = True
    return mask


@pytest.mark.parametrize("cls_name", sorted(LAYER_CLASSES))
def test_reads_equal_the_support_of_the_contribution_map(cls_name):
    @SETTINGS
    @given(case_for(cls_name), st.data())
    def check(case, data):
        kwargs, x = case
        layer, g = _geometry_or_skip(cls_name, kwargs, x.shape)
        cell = _cell(data.draw, g.out_spatial)
        expected = receptive_field_mask([layer], x.shape, cell)
        np.testing.assert_array_equal(_read_mask(g, cell), expected)
        box = g.sources(cell)
        if box is None:
            assert not expected.any()
        else:
            hull = tuple((int(ix.min()), int(ix.max())) for ix in np.nonzero(expected))
            assert box == hull

    check()


def _probe(layer, g):
    """Forward probing through the real kernels: one input per input cell, that cell 1 on
    every channel, all-ones kernels, zero bias, no activation. Returns a bool array
    ``(*in_spatial, *out_spatial)``: output cell reached by input cell."""
    cells = list(np.ndindex(*g.in_spatial))
    c = g.in_channels
    x = np.zeros((len(cells), *g.in_spatial, c), np.float32)
    for p, cell in enumerate(cells):
        x[(p, *cell)] = 1.0
    if g.data_format == "channels_first":
        x = np.moveaxis(x, -1, 1)
    if g.weights:
        layer.build(x.shape)
        layer.set_weights([np.full(w.shape, 0.0 if w.name == "bias" else 1.0, np.float32)
                           for w in g.weights])
    y = layer(np.ascontiguousarray(x))
    if g.data_format == "channels_first":
        y = np.moveaxis(y, 1, -1)
    return (y != 0).any(axis=-1).reshape(*g.in_spatial, *g.out_spatial)


@pytest.mark.parametrize("cls_name", sorted(LAYER_CLASSES))
def test_reads_equal_forward_probing_of_the_kernels(cls_name):
    @SETTINGS
    @given(case_for(cls_name))
    def check(case):
        kwargs, x = case
        kwargs = {**kwargs, "activation": None} if "activation" in kwargs else kwargs
        layer, g = _geometry_or_skip(cls_name, kwargs, x.shape)
        assume(np.prod(g.out_spatial) <= 4000)
        reached = _probe(layer, g)
        for out_cell in np.ndindex(*g.out_spatial):
            np.testing.assert_array_equal(
                _read_mask(g, out_cell), reached[(Ellipsis, *out_cell)], err_msg=str(out_cell))

    check()


@pytest.mark.parametrize("cls_name", sorted(LAYER_CLASSES))
def test_feeds_inverts_reads(cls_name):
    @SETTINGS
    @given(case_for(cls_name), st.data())
    def check(case, data):
        kwargs, x = case
        _, g = _geometry_or_skip(cls_name, kwargs, x.shape)
        for axis, op in enumerate(g.axes):
            i = data.draw(st.integers(0, op.n_in - 1))
            brute = [o for o in range(op.n_out) if i in op.reads(o)]
            assert [o for o, _ in op.feeds(i)] == brute, (axis, i)

    check()


@pytest.mark.parametrize("cls_name", sorted(POOLING_CLASSES))
def test_pooling_reads_equal_the_support(cls_name):
    layer = POOLING_CLASSES[cls_name](pool_size=3, strides=2, padding="same")
    shape = (1,) + (7,) * layer.rank + (2,)
    g = G.geometry(layer, shape)
    for cell in [(0,) * layer.rank, (3,) * layer.rank]:
        np.testing.assert_array_equal(_read_mask(g, cell),
                                      receptive_field_mask([layer], shape, cell))


def _keras_layer(cls_name, kwargs, shape):
    import keras
    layer = getattr(keras.layers, cls_name)(**kwargs)
    layer.build(shape)
    return layer


@pytest.mark.parametrize("cls_name", sorted(LAYER_CLASSES))
def test_weights_and_params_equal_keras(cls_name):
    @settings(SETTINGS, max_examples=12)
    @given(case_for(cls_name))
    def check(case):
        kwargs, x = case
        layer, g = _geometry_or_skip(cls_name, kwargs, x.shape)
        k = _keras_layer(cls_name, kwargs, x.shape)
        assert [w.shape for w in g.weights] == [tuple(w.shape) for w in k.weights]
        assert g.params == k.count_params()
        layer.build(x.shape)
        assert g.params == layer.count_params()
        assert [w.name for w in g.weights] == [w.name for w in layer.weights]

    check()


# --------------------------------------------------------------------------- hand-derived

def _geo(cls_name, shape, **kwargs):
    return G.geometry(LAYER_CLASSES[cls_name](**kwargs), shape)


def test_same_padding_puts_the_odd_zero_at_the_end():
    g = _geo("Conv2D", (1, 6, 6, 1), filters=1, kernel_size=2, padding="same")
    assert g.pads == ((0, 1), (0, 1))
    assert G.output_link(g, (5, 5)) == "Output cell (5, 5) reads input rows 5–5, columns 5–5"
    assert G.output_link(g, (0, 0)) == "Output cell (0, 0) reads input rows 0–1, columns 0–1"


def test_transposed_28_to_57_and_its_scatter():
    g = _geo("Conv2DTranspose", (1, 28, 28, 1), filters=4, kernel_size=3, strides=2)
    assert g.out_spatial == (57, 57) and g.params == 3 * 3 * 4 * 1 + 4
    assert G.input_link(g, (1, 2)) == "Input cell (1, 2) feeds output rows 2–4, columns 4–6"
    assert [t.tap for t in g.cell_taps((2, 2))[0]] == [0, 2]   # two stamps overlap cell 2
    assert G.output_link(g, (2, 3)) == "Output cell (2, 3) reads input rows 0–1, columns 1–1"


def test_gap_between_stamps_reads_nothing():
    g = _geo("Conv1DTranspose", (1, 3, 1), filters=1, kernel_size=2, strides=3)
    assert g.sources((2,)) is None
    assert G.output_link(g, (2,)).startswith("Output cell (2,) reads no input cell")


def test_causal_and_dilated_conv1d():
    g = _geo("Conv1D", (1, 10, 1), filters=1, kernel_size=3, dilation_rate=2,
             padding="causal")
    assert g.pads == ((4, 0),)
    assert list(g.reads((5,))[0]) == [1, 3, 5]                 # gaps of the dilation
    assert G.output_link(g, (0,)) == "Output cell (0,) reads input steps 0–0"
    assert G.input_link(g, (9,)) == "Input cell (9,) feeds output steps 9–9"


@pytest.mark.parametrize("method,cells", [("nearest", 1), ("bilinear", 2), ("area", 1),
                                          ("bicubic", 4), ("lanczos3", 6), ("lanczos5", 10)])
def test_interpolations_read_their_own_windows(method, cells):
    g = _geo("UpSampling2D", (1, 20, 20, 1), size=2, interpolation=method)
    taps = g.cell_taps((21, 21))[0]
    assert len({t.position for t in taps if t.weight != 0}) == cells
    assert sum(t.weight for t in taps) == pytest.approx(1.0, abs=1e-6)
    text = G.output_link(g, (21, 21))
    lo, hi = map(int, re.search(r"rows (\d+)–(\d+)", text).groups())
    assert hi - lo + 1 == cells


def test_cropping_and_padding_links():
    g = _geo("Cropping2D", (1, 6, 6, 1), cropping=((1, 2), (0, 0)))
    assert G.input_link(g, (0, 3)).startswith("Input cell (0, 3) feeds no output cell")
    assert G.output_link(g, (0, 0)) == "Output cell (0, 0) reads input rows 1–1, columns 0–0"
    g = _geo("ZeroPadding3D", (1, 2, 2, 2, 1), padding=1)
    assert G.output_link(g, (0, 1, 1)) == "Output cell (0, 1, 1) reads only padding"
    assert G.output_link(g, (1, 1, 2)) == ("Output cell (1, 1, 2) reads input depths 0–0, "
                                          "rows 0–0, columns 1–1")


def test_channels_and_breakdown_of_separable():
    g = _geo("SeparableConv2D", (1, 8, 8, 8), filters=16, kernel_size=3)
    assert [(w.name, w.shape) for w in g.weights] == [
        ("depthwise_kernel", (3, 3, 8, 1)), ("pointwise_kernel", (1, 1, 8, 16)),
        ("bias", (16,))]
    assert g.params == 3 * 3 * 8 + 1 * 1 * 8 * 16 + 16 == 216
    assert g.macs == 6 * 6 * (3 * 3 * 8 + 8 * 16)
    d = _geo("DepthwiseConv2D", (1, 8, 8, 3), kernel_size=3, depth_multiplier=2)
    assert d.out_channels == 6 and list(d.channel_sources(5)) == [2]
    c = _geo("Conv2D", (1, 8, 8, 4), filters=6, kernel_size=1, groups=2)
    assert list(c.channel_sources(4)) == [2, 3]


def test_refusals_name_the_problem():
    with pytest.raises(ValueError, match="engine layers"):
        G.geometry(object(), (1, 4, 4, 1))
    with pytest.raises(ValueError, match="groups"):
        _geo("Conv2D", (1, 4, 4, 3), filters=4, kernel_size=1, groups=2)
    g = _geo("Conv2D", (1, 4, 4, 1), filters=1, kernel_size=1)
    with pytest.raises(ValueError, match="output cell must be 2 indices"):
        g.sources((4, 0))


def test_every_layer_class_names_its_kind():
    for name, cls in {**LAYER_CLASSES, **POOLING_CLASSES}.items():
        assert cls.kind in G.KINDS, name
    assert not issubclass(LAYER_CLASSES["SeparableConv2D"], LAYER_CLASSES["DepthwiseConv2D"])


# --------------------------------------------------------------------------- in words

def _numbers(text):
    return [int(v) for v in re.findall(r"(?<![\w.])\d+", text.replace("(−", "(-"))]


def _evaluate(g, a, d):
    """The size the derivation's own numbers give, by the textbook formula."""
    nums = _numbers(d.formula.split(" = ", 1)[1])
    if g.kind in ("conv", "depthwise", "separable", "maxpool", "avgpool"):
        i, before, after, dil, k, _, _, s, *_ = nums
        return (i + before + after - dil * (k - 1) - 1) // s + 1
    if g.kind == "transpose":
        i, _, s, dil, k, _, _, before, after, opad, _ = _numbers(
            d.formula.split(" = ", 1)[1].replace("(−", "(-").replace("− (-", "+ ("))
        sign = -1 if "(−" in d.formula else 1
        return (i - 1) * s + dil * (k - 1) + 1 - before - sign * after + opad
    i, x, *rest = nums
    if g.kind == "upsample":
        return i * x
    return i - x - rest[0] if g.kind == "crop" else i + x + rest[0]


@pytest.mark.parametrize("cls_name", sorted(LAYER_CLASSES))
def test_derivations_and_breakdowns_add_up(cls_name):
    from engine.geometry import explain as E

    @SETTINGS
    @given(case_for(cls_name))
    def check(case):
        kwargs, x = case
        layer, g = _geometry_or_skip(cls_name, kwargs, x.shape)
        for a, d in enumerate(E.axis_derivations(g)):
            assert d.n_out == g.out_spatial[a] and d.n_in == g.in_spatial[a]
            assert d.formula.endswith(f"= {g.out_spatial[a]}")
            assert _evaluate(g, a, d) == g.out_spatial[a], d.formula
            assert d.words
        layer.build(x.shape)
        terms = E.param_terms(g)
        assert sum(t.value for t in terms) == layer.count_params()
        assert E.breakdown_text(terms, "parameters").endswith(f"= {layer.count_params():,} "
                                                               "parameters") or not terms
        assert sum(t.value for t in E.mac_terms(g)) == g.macs
        assert E.channels_text(g).startswith(str(g.out_channels))

    check()


def test_words_for_the_classic_cases():
    from engine.geometry import explain as E
    g = _geo("SeparableConv2D", (1, 8, 8, 8), filters=16, kernel_size=3)
    assert E.breakdown_text(E.param_terms(g), "parameters") == (
        "3·3·8·1 depthwise + 1·1·8·16 pointwise + 16 bias = 216 parameters")
    g = _geo("DepthwiseConv2D", (1, 8, 8, 3), kernel_size=3, depth_multiplier=2)
    assert E.channels_text(g).startswith("6 channels = 3 inputs × depth_multiplier 2")
    g = _geo("Conv2D", (1, 64, 64, 3), filters=8, kernel_size=3, strides=2, padding="same")
    assert "total padding 1: 0 before, 1 after — TensorFlow puts the odd zero at the end" in \
        E.axis_derivations(g)[0].words
    g = _geo("Conv2DTranspose", (1, 28, 28, 1), filters=4, kernel_size=3, strides=2)
    d = E.axis_derivations(g)[0]
    assert d.formula.endswith("(28 − 1)·2 + 1·(3 − 1) + 1 − 0 − 0 + 0 = 57")
    assert "57, 58" in d.words and "Keras picks 57" in d.words
