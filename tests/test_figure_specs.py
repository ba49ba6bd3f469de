"""The Stack, Learn and Receptive figure builders send their specs as written, without
Plotly's validation (:func:`app.figures.layout.figure`, issue 15), so this module validates
what every one of them returns, in every shape it draws, and checks that the browser gets
what validation would have sent: a spec skips Plotly's coercions too (a colour-scale name
the browser does not know, ``font_size`` for ``font.size``), which validation alone does not
notice; and that each is a spec the browser draws once. (Explore's builders:
tests/test_explore_figures.py.)
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from app import theme as T
from app.figures import learn as FL
from app.figures import receptive as FR
from app.figures import stack as FS
from app.figures.layout import SELECTABLE, figure, inline_template, named_scale
from engine.receptive import ReceptivePlan, erf_growth, receptive_field
from engine.layers import Conv1D, Conv2D

RNG = np.random.default_rng(0)


def _sent(fig: go.Figure) -> dict:
    """What the browser receives for ``fig`` (its JSON, as Streamlit writes it), without
    Plotly's template and without empty values (the same drawing either way)."""
    def clean(value):
        if isinstance(value, dict):
            value = {k: clean(v) for k, v in value.items() if k != "template"}
            return {k: v for k, v in value.items() if v not in (None, [], {})}
        return [clean(v) for v in value] if isinstance(value, list) else value
    return clean(json.loads(pio.to_json(fig, validate=False)))


def _valid(fig: go.Figure) -> dict:
    """The figure's spec after Plotly's full validation (raises on an invalid property),
    checked to be what the unvalidated figure sends."""
    validated = go.Figure(fig.to_dict())
    assert _sent(fig) == _sent(validated)
    return fig.to_dict()


def _stack_figures():
    maps = RNG.standard_normal((12, 10, 6)).astype(np.float32)
    yield FS.feature_maps_figure(maps, max_channels=6, title="conv")               # grid
    yield FS.feature_maps_figure(np.moveaxis(maps, -1, 0), "channels_first", 3)
    yield FS.feature_maps_figure(RNG.standard_normal((4, 8, 8, 2)), frame=1)       # 3D
    yield FS.feature_maps_figure(maps[:, :, 0], max_channels=3)                    # 1D
    yield FS.feature_maps_figure(np.arange(5.0))                                   # vector
    cmap = np.zeros((8, 8))
    cmap[2:5, 3:6] = 1.0
    yield FS.receptive_overlay_figure(RNG.random((8, 8, 3)), cmap, title="rgb")
    yield FS.receptive_overlay_figure(RNG.random((8, 8, 1)), cmap)                 # gray
    yield FS.receptive_overlay_figure(RNG.random((3, 8, 8, 1)), np.stack([cmap] * 3))
    yield FS.receptive_overlay_figure(np.ones((20, 2)), np.arange(20.0))           # 1D
    yield FS.shape_flow_figure([{"name": "c", "status": "ok", "output_shape": (None, 8, 8, 4)},
                                {"name": "f", "status": "ok", "output_shape": (None, 256)},
                                {"name": "d", "status": "error", "output_shape": None}])


def _learn_figures():
    yield FL.cells_figure((6, 5), {(1, 2), (3, 4)}, answer={(1, 2)})
    yield FL.cells_figure((9,), {(4,)})
    yield FL.counts_figure([np.eye(3), 2 * np.ones((2, 2))], ["a", "b"])


def _receptive_figures():
    layers = [Conv2D(1, 3), Conv2D(1, 3, dilation_rate=2)]
    plan, table = ReceptivePlan(layers, (1, 16, 16, 1)), receptive_field(layers, (1, 16, 16, 1))
    theory = FR.theory_box(table, (5, 6))
    for t in (T.NORMAL, T.PRESENT):
        yield FR.map_figure(plan.contribution_map((5, 6)), plan.mask((5, 6)), theory=theory, t=t)
    yield FR.map_figure(plan.contribution_map((5, 6)), plan.mask((5, 6)), zoom=False,
                        clickable=False)
    yield FR.map_figure(np.zeros((6, 6)), np.zeros((6, 6), bool))                  # empty
    yield FR.map_figure(np.arange(6.0), np.arange(6) > 1, theory=((0, 6),),
                        axis_names=("steps",))                                       # 1D
    big = np.indices((160, 160)).sum(axis=0) % 2 == 0       # too many edges: the box only
    yield FR.map_figure(big.astype(float), big)
    yield FR.growth_figure(erf_growth(lambda n: [Conv1D(1, 3, padding="same")] * n,
                                      (1, 64, 1), [1, 2, 4]))


def _all_figures():
    yield from _stack_figures()
    yield from _learn_figures()
    yield from _receptive_figures()


def test_every_stack_builder_returns_a_valid_plotly_spec():
    for fig in _stack_figures():
        spec = _valid(fig)
        assert spec["data"]


def test_every_learn_builder_returns_a_valid_plotly_spec():
    for fig in _learn_figures():
        assert _valid(fig)["data"]


def test_every_receptive_builder_returns_a_valid_plotly_spec():
    for fig in _receptive_figures():
        assert _valid(fig)["data"]


def test_every_spec_is_one_that_the_browser_draws_once():
    """No template object, a fixed ``datarevision``, scatter markers at plain-list x/y (see
    :func:`app.figures.layout.figure`; Explore's: tests/test_explore_figures.py)."""
    for fig in _all_figures():
        spec = json.loads(fig.to_json())           # what the browser gets
        assert "template" not in spec["layout"]
        assert spec["layout"]["datarevision"] == 1
        for tr in spec["data"]:
            if tr["type"] == "scatter" and "markers" in tr.get("mode", ""):
                assert isinstance(tr.get("x", []), list) and isinstance(tr["y"], list)


def test_a_clickable_map_has_the_modes_streamlit_gives_it():
    """Streamlit's chart sets these for ``on_select`` when the spec lacks them (a second,
    full draw); a map that is not clicked keeps dragging off."""
    on = FR.map_figure(np.eye(4), np.eye(4) > 0).to_dict()["layout"]
    off = FR.map_figure(np.eye(4), np.eye(4) > 0, clickable=False).to_dict()["layout"]
    assert {k: on[k] for k in SELECTABLE} == SELECTABLE and off["dragmode"] is False


def test_stack_figures_keep_streamlit_line_colours():
    """Shown in Streamlit's theme, the Stack figures name its colour placeholders, which its
    chart replaces by the app theme's categorical colours (what its template used to add)."""
    from streamlit.elements.lib import streamlit_plotly_theme as S

    for fig in _stack_figures():
        assert fig.to_dict()["layout"]["colorway"][:2] == [S.CATEGORY_0, S.CATEGORY_1]


@pytest.mark.parametrize("trace, layout", [
    ({"type": "heatmap", "z": [[1]], "colourscale": "Viridis"}, {}),    # not a property
    ({"type": "heatmap", "z": [[1]], "colorscale": "Inferno"}, {}),     # unknown to the browser
    ({"type": "heatmap", "z": [[1]]}, {"hoverlabel": {"font_size": 14}}),  # magic underscore
])
def test_what_the_wrapper_lets_through_is_caught_here(trace, layout):
    """The wrapper itself accepts anything: only the checks above notice."""
    with pytest.raises((ValueError, AssertionError)):
        _valid(figure({"data": [trace], "layout": layout}))


def test_named_scale_is_what_validation_sends():
    for name in ("Viridis", "gray", "Inferno"):
        assert named_scale(name) == go.Heatmap(colorscale=name).colorscale


def test_an_inlined_template_styles_the_figure_as_the_template_did():
    """``inline_template``: what Plotly's default template gives a figure (every x / y axis,
    every shape, every trace of a type), written into the spec where the spec sets nothing —
    the spec's own values win — and no template object left (drawn once)."""
    fig = go.Figure([go.Heatmap(z=[[1, 2]], colorscale="Viridis"),
                     go.Scatter(x=[0, 1], y=[1, 0], xaxis="x2", yaxis="y2")],
                    layout=dict(xaxis=dict(gridcolor="red"), shapes=[dict(type="line")],
                                title=dict(x=0.3)))
    spec = fig.to_dict()
    template = spec["layout"]["template"]        # the default template (Streamlit's or Plotly's)
    spec = inline_template(spec)
    layout = spec["layout"]
    assert "template" not in layout
    assert layout["xaxis"]["gridcolor"] == "red"                         # the spec's own
    for axis in ("xaxis", "yaxis"):
        for key, value in template["layout"].get(axis, {}).items():
            assert layout[axis + "2"][key] == value                      # referenced axes too
    assert layout["title"]["x"] == 0.3
    for key in ("font", "colorway", "hovermode", "paper_bgcolor"):
        if key in template["layout"]:
            assert layout[key] == template["layout"][key]
    assert "polar" not in layout and "scene" not in layout             # no new subplots
    heat, line = spec["data"]
    for key, value in template["data"]["heatmap"][0].items():
        if key != "colorscale":
            assert heat[key] == value
    assert heat["colorscale"] == list(map(list, named_scale("Viridis")))  # the spec's own
    go.Figure(spec)                                                       # still valid
