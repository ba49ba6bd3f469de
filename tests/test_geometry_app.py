"""Explore's links and the app's budget read engine.geometry, nothing else.

For every layer (both data formats, every interpolation; hypothesis over the conformance
tests' random arguments and over cells): the sentence Explore prints under its panels is
``engine.geometry.output_link`` / ``input_link`` of the layer's geometry, the cells the
panels outline are exactly the ones the sentence names, and the budget's parameter count is
the built layer's ``count_params()``. A few AppTest runs check the sentence on the page for a
``cell=`` given in the URL.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from app import compute
from app import state as S
from app.context import Selection
from app import explore_links as EL
from engine.geometry import geometry, input_link, output_link
from engine.layers import LAYER_CLASSES
from tests.test_keras_conformance import case_for

APP = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
LINK = re.compile(r"^(Output|Input) cell \(")


def _hull(cells):
    """Per axis ``(first, last)`` of a non-empty list of cells."""
    return tuple((min(axis), max(axis)) for axis in zip(*cells))


def _layer_and_geometry(cls_name, kwargs, shape):
    """The layer and its geometry; hypothesis skips what Keras refuses (the conformance
    tests check those refusals) and layers without output cells."""
    try:
        layer = LAYER_CLASSES[cls_name](**kwargs)
        g = geometry(layer, shape)
    except ValueError:
        assume(False)
    assume(all(n > 0 for n in g.out_spatial) and all(n > 0 for n in g.in_spatial))
    return layer, g


@pytest.mark.parametrize("cls_name", sorted(LAYER_CLASSES))
def test_explore_links_are_the_geometry(cls_name):
    checked = []

    @SETTINGS
    @given(case=case_for(cls_name), data=st.data())
    def check(case, data):
        kwargs, x = case
        layer, g = _layer_and_geometry(cls_name, kwargs, x.shape)
        out_cell = tuple(data.draw(st.integers(0, n - 1)) for n in g.out_spatial)
        lk = EL.links(g, EL.selection_for(g, Selection("output", out_cell)))
        assert lk.sentence == output_link(g, out_cell)
        assert lk.outputs == [out_cell]
        box = g.sources(out_cell)
        assert (_hull(lk.inputs) if lk.inputs else None) == box  # outlined = said
        in_cell = tuple(data.draw(st.integers(0, n - 1)) for n in g.in_spatial)
        lk = EL.links(g, EL.selection_for(g, Selection("input", in_cell)))
        assert lk.sentence == input_link(g, in_cell)
        assert (_hull(lk.outputs) if lk.outputs else None) == g.feeds(in_cell)
        for o in lk.outputs[:8]:  # every output it feeds reads it back
            assert in_cell in EL.links(g, Selection("output", o)).inputs
        assert compute.cost(layer, x.shape).params == g.params
        layer.build(x.shape)
        assert g.params == layer.count_params()
        checked.append(cls_name)

    check()
    assert len(checked) >= 10, f"only {len(checked)} configurations were valid"


def test_selection_is_clamped_and_defaults_to_the_centre():
    g = geometry(LAYER_CLASSES["Conv2D"](2, 3, strides=2), (1, 9, 9, 1))
    assert EL.selection_for(g, None) == Selection("output", (2, 2))
    assert EL.selection_for(g, Selection("output", (99, -3))) == Selection("output", (3, 0))
    assert EL.selection_for(g, Selection("input", (99, 4))) == Selection("input", (8, 4))
    assert EL.selection_for(g, Selection("output", (1,))) == Selection("output", (2, 2))


def _link_sentences(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if LINK.match(m.value)]


@pytest.mark.parametrize("params,cell", [
    ({}, (3, 4)),  # the default Conv2D on the photo
    ({"layer": "UpSampling2D", "interpolation": "bicubic"}, (5, 5)),
    ({"layer": "UpSampling2D", "interpolation": "lanczos5", "data_format": "channels_first",
      "input_shape": "(1,2,7,9)"}, (13, 0)),
    ({"layer": "Conv1DTranspose", "strides": "3", "input_shape": "(1,10,2)"}, (0,)),
    ({"layer": "Conv3D", "padding": "same", "strides": "2", "input_shape": "(1,5,6,7,1)"},
     (2, 0, 3)),
    ({"layer": "Cropping2D", "cropping": "((1,2),(3,0))", "input_shape": "(1,8,8,1)"}, (4, 4)),
])
def test_the_page_says_the_geometry_link(params, cell):
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in dict(params, cell=S.format_literal(cell)).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    layer_name = params.get("layer", S.DEFAULT_LAYER)
    kwargs = S.layer_kwargs(S.parse_query(dict(params))[0])
    shape = S.parse_literal(params["input_shape"]) if "input_shape" in params else (1, 192, 256, 3)
    g = geometry(LAYER_CLASSES[layer_name](**kwargs), shape)
    assert _link_sentences(at) == [output_link(g, cell)]
    assert any(f"output cell {cell}" in m.value for m in at.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters"] == f"{g.params:,}"


def test_a_selected_input_cell_says_what_it_feeds():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"layer": "Conv2DTranspose", "strides": "2",
                            "input_shape": "(1,6,7,1)"})
    at.run()
    at.session_state["selection"] = Selection("input", (1, 2))
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    g = geometry(LAYER_CLASSES["Conv2DTranspose"](4, 3, strides=2), (1, 6, 7, 1))
    assert _link_sentences(at) == [input_link(g, (1, 2))]
    assert any("input cell (1, 2)" in m.value for m in at.markdown)
    assert "cell" not in at.query_params  # the URL carries output cells only
