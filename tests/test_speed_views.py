"""Issue 15 ("felt speed") for the Animate, Receptive, Stack and Learn views: what keeps them
fast, checked without timing anything (speed itself is measured by ``benchmarks/browser.py``).

- the bytes a default link sends stay small (Animate under 300 kB; Receptive only the block
  of cells around the field);
- invisible click-target scatters carry ``marker.maxdisplayed`` (the browser draws one
  marker per trace instead of one SVG node per cell, and still hovers and clicks each);
- figures send compact typed arrays (float32 values, small integers), not float64, and
  click targets at plain-list cells (what keeps Plotly from drawing a chart twice);
- the hand-written subplot grid is exactly ``make_subplots``'s.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from app.figures import learn as FL
from app.figures import receptive as FR
from app.figures import stack as FS
from app.figures.layout import subplot_grid
from engine import animate as A
from engine.layers import Conv2D
from tests.test_explore_figures import _array

APP = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
ANIMATE_MAX_BYTES = 300_000  # issue 15: the Animate view opens with at most 300 kB


def _specs(view: str, **query) -> list:
    """The plotly specs (JSON strings) the app sends for ``?view=…&…``."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["view"] = view
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return [c.proto.spec for c in at.get("plotly_chart")]


def _markers(spec: dict) -> list:
    return [t for t in spec["data"] if t.get("mode") == "markers"]


def _read(fig) -> go.Figure:
    """A builder's figure (sent exactly as written: nothing but its spec) as a validated
    Figure whose traces and layout can be read (its arrays: :func:`_array`)."""
    return go.Figure(fig.to_dict())


def _dtype(value) -> str | None:
    """The typed-array dtype of a JSON value (``None`` for a plain list)."""
    return value.get("dtype") if isinstance(value, dict) else None


# --------------------------------------------------------------------------- bytes

def test_animate_default_link_sends_under_the_target():
    specs = _specs("animate")
    assert len(specs) == 1
    assert sum(map(len, specs)) < ANIMATE_MAX_BYTES


def test_receptive_default_link_sends_the_field_block_only():
    (spec,) = _specs("receptive")
    assert len(spec) < 30_000  # a 3 × 3 field on the 192 × 256 photo: not the whole map
    data = json.loads(spec)["data"]
    heat = next(t for t in data if t["type"] == "heatmap")
    assert _dtype(heat["z"]) == "f4" and heat["z"]["shape"].replace(" ", "") == "3,3"
    assert all(t["marker"]["maxdisplayed"] == 1 for t in _markers(json.loads(spec)))


def test_animate_field_mode_pick_targets_carry_maxdisplayed():
    (spec,) = _specs("animate", anim_mode="field", anim_depth="2")
    picks = [t for t in json.loads(spec)["data"] if t.get("name") == "pick"]
    assert picks and all(t["marker"]["maxdisplayed"] == 1 for t in picks)


def test_stack_default_link_sends_float32_maps():
    specs = [json.loads(s) for s in _specs("stack")]
    heats = [t for s in specs for t in s["data"] if t["type"] == "heatmap"]
    assert heats and all(_dtype(t["z"]) == "f4" for t in heats)
    assert sum(len(json.dumps(s)) for s in specs) < 300_000


# --------------------------------------------------------------------------- receptive map

def _field(shape=(64, 80), index=(20, 30), layers=None):
    from engine.receptive import ReceptivePlan, receptive_field
    layers = layers or [Conv2D(1, 3), Conv2D(1, 3, dilation_rate=2)]
    plan = ReceptivePlan(layers, (1, *shape, 1))
    table = receptive_field(layers, (1, *shape, 1))
    return plan.contribution_map(index), plan.mask(index), FR.theory_box(table, index)


@pytest.mark.parametrize("zoom", [True, False])
def test_map_figure_sends_the_block_around_the_field(zoom):
    cmap, mask, theory = _field()
    fig = _read(FR.map_figure(cmap, mask, theory=theory, zoom=zoom))
    heat = fig.data[0]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    z = _array(heat.z)
    assert z.dtype == np.float32
    assert z.shape == (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    assert (heat.x0, heat.y0) == (cols[0], rows[0])
    # the same cells, values and blanks as the whole map at those coordinates
    whole = np.where(mask, cmap, np.nan)[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    np.testing.assert_allclose(z, whole, rtol=1e-6, equal_nan=True)
    targets = fig.data[-1]
    assert targets.mode == "markers" and targets.marker.maxdisplayed == 1
    assert targets.marker.opacity == 0
    assert np.asarray(targets.x).dtype.kind == "i" and np.asarray(targets.y).dtype.kind == "i"
    assert 0 < len(targets.x) <= FR.MAX_CLICK_POINTS
    assert fig.layout.shapes and fig.layout.xaxis.range and fig.layout.yaxis.range


def test_map_figure_empty_field_and_bars():
    fig = _read(FR.map_figure(np.zeros((6, 6)), np.zeros((6, 6), bool)))
    assert np.isnan(_array(fig.data[0].z)).all()
    bars = _read(FR.map_figure(np.arange(6.0), np.arange(6) > 1, theory=((0, 6),),
                               axis_names=("steps",)))
    assert _array(bars.data[0].x).tolist() == [2, 3, 4, 5]
    assert _array(bars.data[0].y).dtype == np.float32
    assert bars.data[-1].marker.maxdisplayed == 1 and len(bars.layout.shapes) == 2


def test_map_figure_json_is_compact():
    cmap, mask, theory = _field(shape=(160, 160), index=(60, 60),
                                layers=[Conv2D(1, 5) for _ in range(4)])
    spec = json.loads(FR.map_figure(cmap, mask, theory=theory, zoom=False).to_json())
    heat, targets = spec["data"][0], spec["data"][-1]
    assert _dtype(heat["z"]) == "f4"
    assert all(isinstance(v, int) for v in targets["x"] + targets["y"])  # plain lists


# --------------------------------------------------------------------------- click targets

def test_animation_pick_targets_and_learn_cells_carry_maxdisplayed():
    from app.figures.animation import receptive_figure
    lv = A.contribution_levels([Conv2D(1, 3), Conv2D(1, 3)], (1, 9, 9, 1), (2, 2))
    picks = [t for t in _read(receptive_figure(lv)).data if t.name == "pick"]
    assert picks and all(t.marker.maxdisplayed == 1 for t in picks)
    cells = _read(FL.cells_figure((40, 40), {(1, 2)}))
    assert cells.data[1].marker.maxdisplayed == 1 and len(cells.data[1].x) == 1600


# --------------------------------------------------------------------------- stack figures

@pytest.mark.parametrize("rows, cols, titles, h, v", [
    (2, 4, [f"ch {c}" for c in range(7)], 0.03, 0.08),
    (1, 3, ["a", "b", "c"], 0.08, 0.3),
    (4, 4, [f"ch {c}" for c in range(16)], 0.03, 0.08),
    (1, 1, ["only"], 0.03, 0.08),
])
def test_subplot_grid_is_make_subplots_layout(rows, cols, titles, h, v):
    from plotly.subplots import make_subplots
    theirs = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=h,
                           vertical_spacing=v).to_plotly_json()["layout"]
    theirs.pop("template")
    ours = subplot_grid(rows, cols, titles, h, v)

    def rounded(d):
        return json.loads(json.dumps(d), parse_float=lambda s: round(float(s), 9))

    assert rounded(ours) == rounded(theirs)


def test_feature_maps_figure_layout_and_dtypes():
    y = np.random.default_rng(0).standard_normal((12, 10, 6))
    fig = _read(FS.feature_maps_figure(y, max_channels=6, title="conv"))
    assert len(fig.data) == 6 and [a.text for a in fig.layout.annotations] == \
        [f"ch {c}" for c in range(6)]
    assert [(t.xaxis, t.yaxis) for t in fig.data][:2] == [("x", "y"), ("x2", "y2")]
    assert fig.layout.yaxis6.autorange == "reversed" and fig.layout.xaxis6.showticklabels is False
    assert fig.layout.height == 2 * 200 + 60
    for trace, c in zip(fig.data, range(6)):
        z = _array(trace.z)
        assert z.dtype == np.float32
        np.testing.assert_allclose(z, y[:, :, c], rtol=1e-6)
    lines = _read(FS.feature_maps_figure(y[:, :, 0], max_channels=3))
    assert len(lines.data) == 3 and lines.layout.xaxis.title.text == "step"
    assert _read(FS.feature_maps_figure(np.arange(5.0))).data[0].type == "bar"


def test_overlay_and_flow_figures_use_a_secondary_axis():
    fig = _read(FS.receptive_overlay_figure(np.ones((20, 2)), np.arange(20.0)))
    assert [t.yaxis for t in fig.data] == ["y", "y2"] and fig.layout.yaxis2.overlaying == "y"
    img = _read(FS.receptive_overlay_figure(np.random.default_rng(1).random((8, 8, 3)),
                                            np.eye(8)))
    assert img.data[0].type == "image" and _array(img.data[1].z).dtype == np.float32
    rows = [{"name": "c", "status": "ok", "output_shape": (None, 8, 8, 4)},
            {"name": "d", "status": "error", "output_shape": None}]
    flow = _read(FS.shape_flow_figure(rows))
    assert list(flow.data[0].x) == ["c"] and flow.data[1].yaxis == "y2"
