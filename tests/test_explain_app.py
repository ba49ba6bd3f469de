"""Explore shows what :mod:`engine.geometry.explain` says, for every layer family: per axis
the textbook formula with the user's numbers and the words, the channels, the parameter and
multiply-add breakdowns; the numbers are engine.shapes' and the breakdowns sum to
``count_params``. The panel PNG for slides decodes with Pillow at its size."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from app import state as S
from app.context import ViewContext
from app.figures import png as PNG
from app import explore_links as EL
from app.pages import explore
from engine import shapes
from engine.geometry import geometry
from engine.geometry.explain import (axis_derivations, breakdown_text, channels_text,
                                     mac_terms, param_terms)
from engine.layers import LAYER_CLASSES
from tests.test_app import CASES, run_app, shape_text

#: One case per family, and the two tricky paddings (same, causal) and a 3-D layer.
FAMILIES = ["Conv1D", "Conv2D", "Conv3D", "SeparableConv2D", "DepthwiseConv1D",
            "Conv2DTranspose", "Cropping2D", "UpSampling2D", "ZeroPadding3D"]
CASE = {c[0]: c[1:] for c in CASES}


def _params(layer: str, kw: dict, shape: tuple) -> dict:
    params = {"layer": layer, "input_shape": S.format_literal(shape)}
    params.update({k: S.format_literal(v) for k, v in kw.items()})
    return params


def _page_text(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


@pytest.mark.parametrize("layer", FAMILIES)
def test_the_page_shows_the_derivations(layer):
    kw, shape, want = CASE[layer]
    at = run_app(_params(layer, kw, shape))
    assert shape_text(at) == f"Output shape: {want}"
    obj = LAYER_CLASSES[layer](**kw)
    g = geometry(obj, shape)
    text = _page_text(at)
    _, out_spatial, out_c = shapes.split_shape(tuple(obj.compute_output_shape(shape)),
                                               obj.rank, obj.data_format)
    for d, n in zip(axis_derivations(g), out_spatial):
        assert d.n_out == n and d.formula.endswith(f"= {n}")   # engine.shapes' number
        assert d.formula in text and d.words in text            # shown as explain says it
        assert f"**{d.axis}**: {d.n_in} → {n}" in text
    assert channels_text(g) in text and str(out_c) in channels_text(g)
    assert breakdown_text(param_terms(g), "parameters") in text
    if g.macs:
        assert breakdown_text(mac_terms(g), "multiply-adds") in text
    assert ("Keras's model.summary() prints None for the batch: any batch size works; "
            f"this page runs {shape[0]} example") in text
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters"] == f"{g.params:,}"
    # every number shown beside a metric has its derivation: the output values too
    assert f"{'·'.join(map(str, want))} = {int(np.prod(want)):,} values" in text


@pytest.mark.parametrize("layer,kw,shape,want", CASES, ids=[c[0] for c in CASES])
def test_breakdowns_sum_to_keras_counts(layer, kw, shape, want):
    obj = LAYER_CLASSES[layer](**kw)
    g = geometry(obj, shape)
    obj.build(shape)
    terms = param_terms(g)
    assert sum(t.value for t in terms) == obj.count_params() == g.params
    total = re.search(r"([\d,]+) parameters$", breakdown_text(terms, "parameters"))
    assert int(total.group(1).replace(",", "")) == obj.count_params()
    assert sum(t.value for t in mac_terms(g)) == g.macs


def test_crop_window_is_the_kept_block():
    g = geometry(LAYER_CLASSES["Cropping2D"](((1, 2), (3, 4))), (1, 16, 16, 3))
    assert EL.crop_box(g, 2, None) == (1, 3, 13, 11)
    g3 = geometry(LAYER_CLASSES["Cropping3D"](1), (1, 6, 8, 10, 1))
    assert EL.crop_box(g3, 3, 0) is None and EL.crop_box(g3, 3, 1) == (1, 1, 6, 8)
    g1 = geometry(LAYER_CLASSES["Cropping1D"]((2, 3)), (1, 20, 2))
    assert EL.crop_box(g1, 1, None) == (2, 16)


def test_the_page_says_why_3d_depths_are_shown():
    at = run_app({"layer": "Conv3D", "input_shape": "(1,6,8,8,1)", "cell": "(2,3,3)"})
    text = _page_text(at)
    assert "Output cell (2, 3, 3) reads input depths 2–4; the input panel shows depth 3." in text
    assert "…" not in " ".join(c.value for c in at.caption if "depth" in c.value)


PNG_CASES = [
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "same"}, (1, 9, 11, 3)),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     (1, 30, 1)),
    ("Conv3D", {"filters": 2, "kernel_size": 3}, (1, 5, 6, 7, 1)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, (1, 10, 10, 8)),
    ("Conv2DTranspose", {"filters": 1, "kernel_size": 3, "strides": 2}, (1, 6, 6, 1)),
    ("Cropping2D", {"cropping": ((1, 2), (3, 0))}, (1, 8, 8, 1)),
    ("UpSampling2D", {"size": 2, "interpolation": "bicubic"}, (1, 5, 5, 1)),
    ("ZeroPadding1D", {"padding": (1, 4)}, (1, 10, 1)),
]


@pytest.mark.parametrize("layer,kw,shape", PNG_CASES, ids=[c[0] for c in PNG_CASES])
def test_panel_png_decodes_at_its_size(layer, kw, shape):
    x = np.random.default_rng(0).random(shape, np.float32)
    ctx = ViewContext(layer, kw, x, weights_mode="init")
    y = ctx.built(x)
    g = ctx.geometry
    sel = EL.selection_for(g, None)
    lk = EL.links(g, sel)
    in_depth, _ = EL.input_depth(g, sel, lk)
    depth = sel.cell[0] if g.rank == 3 else None
    data = explore.panel_picture(ctx, x[0], np.asarray(y)[0], lk, in_depth, depth)
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG" and img.size == PNG.PANEL_SIZE
    # the picture is not blank: the three pictures and the text drew something
    assert len(set(img.convert("L").getdata())) > 10


def test_panel_png_without_a_font_writes_ascii(monkeypatch):
    monkeypatch.setattr(PNG, "_FONT_FILE", "no-such-font.ttf")
    panels = [PNG.Panel(np.zeros((1, 5)), "Input (1, 5, 1)", {"read": (0, 1, 0, 3)})]
    data = PNG.panel_png(panels, ("layers.Cropping1D((1, 1))", "a → b"), "reads 1–3")
    assert Image.open(io.BytesIO(data)).size == PNG.PANEL_SIZE
