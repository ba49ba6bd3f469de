"""The Explore figures stay valid, small and clickable (issue 15: what a person waits for).

Builders skip Plotly's validation at run time (:func:`app.figures.layout.figure`), so this
module validates every builder's spec; it also pins what keeps the browser fast — pictures
instead of per-cell heatmaps, click targets Chromium does not draw (``maxdisplayed``),
compact typed arrays, the default page's bytes — and that a click on any map of the grid
comes back as that map's cell.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app import theme as T
from app.figures import explore as F
from app.pages.explore import clicked_cell
from tests.test_app import run_app
from tests.test_figure_specs import _valid as sent_as_validated

RNG = np.random.default_rng(0)


def _valid(fig: go.Figure) -> dict:
    """The figure's spec, checked to be valid and to be what Plotly's validation would send
    (tests/test_figure_specs.py's check: no colour-scale name the browser reads otherwise,
    no ``font_size`` the browser ignores)."""
    return sent_as_validated(fig)


def _array(value) -> np.ndarray:
    """A trace's array as the browser decodes it (a typed-array spec or a plain list)."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(value)


def _read(fig: go.Figure) -> go.Figure:
    """The spec a builder sends (an ExactFigure: nothing but its spec) as a validated
    Figure whose traces and layout can be read."""
    return go.Figure(fig.to_dict())


def _builders(t: T.Theme):
    maps = RNG.standard_normal((6, 40, 50)).astype(np.float32)
    yield F.image_figure(RNG.random((30, 20, 3)), "rgb", {"read": [(1, 2)]}, t=t)
    yield F.image_figure(RNG.random((300, 500)), "big", {"selected": [(0, 0)]},
                         boxes={"area": (1, 1, 5, 5)}, clickable=False, t=t)
    yield F.image_figure(RNG.random((8, 8)), "numbered", diverging=True, t=t)
    yield F.grid_figure(maps, [str(i) for i in range(6)], shared=True,
                        highlights={"fed": [(3, 4), (3, 5)]}, diverging=True, t=t)
    yield F.grid_figure(maps[:2], ["a", "b"], shared=False, title="maps", t=t)
    yield F.signal_figure(RNG.random((9000, 3)), "signal", names=["a", "b", "c"],
                          highlights={"read": [(0, 3)]}, boxes={"area": (2, 8)}, t=t)
    yield F.kernel_figure(RNG.random((3, 3)), taps=[(0, 0)], pad_taps=[(2, 2)], t=t)


@pytest.mark.parametrize("t", [T.NORMAL, T.PRESENT], ids=["normal", "present"])
def test_every_builder_returns_a_valid_plotly_spec(t):
    for fig in _builders(t):
        spec = _valid(fig)
        assert spec["layout"]["font"]["size"] == t.font


def test_maps_are_one_picture_and_click_targets_are_not_drawn():
    fig = _read(F.grid_figure(RNG.random((4, 190, 254)), list("abcd")))
    kinds = [tr.type for tr in fig.data]
    assert kinds == ["scatter", "image", "heatmap"]    # clicks, the maps, the colour bar
    assert fig.data[1].source.startswith("data:image/png;base64,")
    clicks = fig.data[0]
    assert clicks.marker.maxdisplayed == 1 and clicks.marker.opacity == 0
    assert len(clicks.x) <= F.GRID_CLICK_POINTS
    assert clicks.customdata["dtype"] == "f4"
    # a small map keeps its numbers in the cells: an exact float32 heatmap
    small = _read(F.image_figure(RNG.random((6, 6)), "small"))
    heat = [tr for tr in small.data if tr.type == "heatmap"]
    assert heat and heat[0].texttemplate and heat[0].z["dtype"] == "f4"


@pytest.mark.parametrize("t", [T.NORMAL, T.PRESENT], ids=["normal", "present"])
def test_every_spec_is_one_that_the_browser_draws_once(t):
    """Streamlit draws a new chart, then a JSON copy of it; Plotly skips that second draw
    only for a layout without a template object and with a fixed ``datarevision``, and
    scatter traces whose x/y are plain lists (typed arrays there force a full redraw every
    time) — measured in chromium, see ``app.figures.layout.figure``."""
    for fig in _builders(t):
        spec = json.loads(fig.to_json())           # what the browser gets
        assert "template" not in spec["layout"]
        assert spec["layout"]["datarevision"] == 1
        assert spec["layout"]["colorway"] == list(T.LINE_COLOURS)
        for tr in spec["data"]:
            if tr["type"] == "scatter":                 # click layers and signal lines
                assert isinstance(tr["x"], list) and isinstance(tr["y"], list)


@pytest.mark.parametrize("t", [T.NORMAL, T.PRESENT], ids=["normal", "present"])
def test_the_kernel_panel_has_a_fixed_width_streamlit_keeps(t):
    fig = _read(F.kernel_figure(RNG.random((3, 3)), t=t))
    assert fig.layout.width == t.kernel_width >= 150      # Streamlit's narrowest chart


def decode(uri: str) -> Image.Image:
    """The picture of a ``data:image/png;base64,…`` source."""
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_png_source_decodes_to_the_picture_it_was_given():
    rgb = RNG.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    rgba = RNG.integers(0, 256, (3, 8, 4), dtype=np.uint8)
    index = RNG.integers(0, 256, (4, 9), dtype=np.uint8)
    palette = T.palette(T.SEQUENTIAL)
    assert np.array_equal(np.asarray(decode(F.png_source(rgb)).convert("RGB")), rgb)
    assert np.array_equal(np.asarray(decode(F.png_source(rgba))), rgba)
    assert np.array_equal(np.asarray(decode(F.png_source(index, palette)).convert("RGB")),
                          palette[index])
    assert F.png_source(rgb[:, ::-1]) != F.png_source(rgb)     # the cache keys on the pixels


def test_pictures_have_the_colours_of_the_heatmap_they_replace():
    z = np.array([[-1.0, 0.0, 1.0, np.nan]])
    rgb = T.colour_map(z, (-1.0, 1.0), T.DIVERGING)
    stops = [T.rgb(c) for _, c in T.DIVERGING]
    assert tuple(rgb[0, 0]) == stops[0] and tuple(rgb[0, 2]) == stops[2]
    assert np.abs(rgb[0, 1].astype(int) - np.array(stops[1])).max() <= 1   # 0: the middle
    assert tuple(rgb[0, 3]) == T.rgb(T.EMPTY_CELL)
    cividis = T.palette(T.SEQUENTIAL)
    assert cividis.shape == (256, 3) and tuple(cividis[0]) == (0, 34, 78)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 16), h=st.integers(1, 300), w=st.integers(1, 300),
       present=st.booleans(), data=st.data())
def test_a_click_on_any_map_of_the_grid_selects_its_cell(n, h, w, present, data):
    maps = np.arange(n * h * w, dtype=np.float32).reshape(n, h, w)
    sent = F.grid_figure(maps, [str(i) for i in range(n)], t=T.theme(present))
    spec = json.loads(sent.to_json())    # what the browser gets (typed arrays)
    trace = _read(sent).data[0]
    custom = _array(trace.customdata)
    assert spec["data"][0]["customdata"]["dtype"] == "f4"
    assert sorted(set(custom[:, 0].astype(int))) == list(range(n))    # every map clickable
    k = data.draw(st.integers(0, len(trace.x) - 1))
    ch, row, col, value = (float(v) for v in custom[k])
    ch = int(ch)
    assert maps[ch, int(row), int(col)] == value          # hover value = that cell's
    assert "channel %{customdata[0]}" in trace.hovertemplate   # … and names its map
    g = F.Grid.plan(n, h, w, 4, T.theme(present))
    assert (trace.y[k], trace.x[k]) == (g.origin(ch)[0] + row, g.origin(ch)[1] + col)
    # Streamlit reports a typed-array row as an object keyed "0", "1", "2", "3"
    point = {"x": float(trace.x[k]), "y": float(trace.y[k]), "curve_number": 0,
             "customdata": {str(i): v for i, v in enumerate((ch, row, col, value))}}
    assert clicked_cell(point, "output", 2) == (ch, (int(row), int(col)))
    point["customdata"] = [ch, row, col, value]
    assert clicked_cell(point, "output", 2) == (ch, (int(row), int(col)))


def _own_scale(z: np.ndarray) -> tuple[tuple, str]:
    """The range and scale a map coloured on its own gets (diverging when it has ±)."""
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    if lo < 0 < hi:
        m = max(-lo, hi)
        return (-m, m), T.DIVERGING
    return (lo, hi if hi > lo else lo + 1e-6), T.SEQUENTIAL


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 16), h=st.integers(1, 300), w=st.integers(1, 300),
       present=st.booleans(), shared=st.booleans(), signs=st.sampled_from(["±", "+", "mixed"]),
       nan=st.booleans())
def test_the_grid_picture_holds_every_map_where_the_grid_places_it(n, h, w, present, shared,
                                                                   signs, nan):
    """One picture: map i's colours (as its own heatmap would show them) at its origin,
    every ``step``-th cell, transparent between the maps — a palette PNG when the maps share
    one scale and have no NaN, RGBA otherwise."""
    maps = RNG.standard_normal((n, h, w)).astype(np.float32)
    if signs == "+":
        maps = np.abs(maps)
    elif signs == "mixed":
        maps[::2] = np.abs(maps[::2])       # some maps one-signed, some not: two scales
    nan = nan and h * w > 1           # (a map of NaN only has no colours to compare)
    if nan:
        maps[0, 0, 0] = np.nan
    t = T.theme(present)
    fig = _read(F.grid_figure(maps, [str(i) for i in range(n)], shared=shared, t=t))
    g = F.Grid.plan(n, h, w, 4, t)
    step = g.step
    assert (g.h + g.gap_y) % step == 0 and (g.w + g.gap_x) % step == 0
    images = [tr for tr in fig.data if tr.type == "image"]
    assert all((im.x0, im.y0, im.dx, im.dy) == (0, 0, step, step) for im in images)
    pngs = [decode(im.source) for im in images]
    pic = np.zeros(np.asarray(pngs[0]).shape[:2] + (4,), np.uint8)
    for png in pngs:                    # the pictures are drawn on top of each other
        layer = np.asarray(png.convert("RGBA"))
        assert not (pic[..., 3] & layer[..., 3]).any()      # … and never overlap
        pic[layer[..., 3] == 255] = layer[layer[..., 3] == 255]
    scales, modes = [], {}
    for i in range(n):
        z = maps[i, ::step, ::step]
        zrange, scale = _own_scale(z)
        if shared:
            finite = maps[np.isfinite(maps)]
            zrange, scale = (float(finite.min()), float(finite.max())), T.SEQUENTIAL
            zrange = (zrange[0], zrange[1] if zrange[1] > zrange[0] else zrange[0] + 1e-6)
        scales.append(scale)
        oy, ox = (v // step for v in g.origin(i))
        block = pic[oy:oy + z.shape[0], ox:ox + z.shape[1]]
        assert np.array_equal(block[..., :3], T.colour_map(z, zrange, scale))
        assert (block[..., 3] == 255).all()
    assert (pic[..., 3] == 255).sum() == n * z.size      # the rest is transparent
    groups = [sc for k, sc in enumerate(scales) if sc not in scales[:k]]
    assert len(images) == len(groups) <= 2                # one picture per colour scale
    assert [png.mode for png in pngs] == [
        "RGBA" if nan and scales[0] == sc else "P" for sc in groups]


def test_clicks_on_pictures_and_lines():
    assert clicked_cell({"x": 4.0, "y": 2.0, "curve_number": 0}, "input", 2) == (None, (2, 4))
    assert clicked_cell({"x": 7, "curve_number": 3}, "output", 1) == (3, (0, 7))
    assert clicked_cell({"curve_number": 0}, "output", 2) is None


def test_the_default_page_sends_little():
    """Photo through Conv2D(4, 3): what changes when an argument changes (output grid and
    kernel) stays under the issue's 150 kB; the whole first page under 300 kB."""
    at = run_app({})
    sizes = [len(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(sizes) == 3, sizes                   # input, kernel, output
    assert sizes[1] + sizes[2] < 150_000, sizes
    assert sum(sizes) < 300_000, sizes
    for chart in at.get("plotly_chart"):
        for tr in json.loads(chart.proto.spec)["data"]:
            for key in ("x", "y", "z", "customdata"):
                value = tr.get(key)
                if isinstance(value, dict):         # typed arrays only, never float64
                    assert value["dtype"] in ("i1", "u1", "i2", "i4", "f4"), (tr["type"], key)


def test_the_keras_code_is_drawn_only_when_asked_for():
    """A closed expander's code block is still highlighted by the browser, before the first
    picture: the code is behind a toggle (and in the download) instead."""
    at = run_app({})
    assert not at.code
    at.toggle(key="ex.code").set_value(True).run()
    assert len(at.code) == 1 and "layers.Conv2D(" in at.code[0].value


def test_a_bug_in_a_panel_is_an_error_box_and_the_page_stays(monkeypatch):
    from app.pages import explore

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(explore, "_panels", broken)
    at = run_app({})
    assert [e.value for e in at.error] == ["The Explore view failed: RuntimeError: boom"]
    assert not at.exception
    assert at.sidebar.number_input(key="arg.filters").value == 4


def _fragment_script():
    import streamlit as st

    from app.pages import guarded

    @st.fragment
    @guarded("explore")
    def part():
        st.write("before")
        raise RuntimeError("boom")

    part()
    st.write("after")


def test_a_fragment_guards_itself():
    """Streamlit reruns a fragment on its own, outside the router's guard: ``guarded``
    turns its failure into the view's error box (no exception element, the rest drawn)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_fragment_script).run()
    assert [e.value for e in at.error] == ["The Explore view failed: RuntimeError: boom"]
    assert not at.exception
    assert [m.value for m in at.markdown] == ["before", "after"]
