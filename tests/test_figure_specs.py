"""The Stack and Learn figure builders wrap their specs without Plotly's validation
(:func:`app.figures.layout.figure`, issue 15), so this module validates what every one of
them returns, in every shape it draws, and checks that the browser gets what validation
would have sent: a spec skips Plotly's coercions too (a colour-scale name the browser does
not know, ``font_size`` for ``font.size``), which validation alone does not notice.
(Explore's builders: tests/test_explore_figures.py.)
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from app.figures import learn as FL
from app.figures import stack as FS
from app.figures.layout import figure, named_scale

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


def test_every_stack_builder_returns_a_valid_plotly_spec():
    for fig in _stack_figures():
        spec = _valid(fig)
        assert spec["data"]


def test_every_learn_builder_returns_a_valid_plotly_spec():
    for fig in _learn_figures():
        assert _valid(fig)["data"]


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
