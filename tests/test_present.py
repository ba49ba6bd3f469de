"""Presentation mode (``present=1``, or the sidebar toggle): the views render with
app.theme's presentation sizes and palette, the URL carries it, and the state parses it."""

from __future__ import annotations

import json

import pytest

from app import state as S
from app import theme as T
from tests.test_app import errors, run_app, shape_text


def _chart_layouts(at) -> list[dict]:
    return [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]


def _q(at, key):
    value = dict(at.query_params).get(key)
    return value[-1] if isinstance(value, list) else value


def test_present_from_the_url_renders_large():
    at = run_app({"layer": "Conv2D", "padding": "same", "input_shape": "(1,12,12,1)",
                  "present": "1"})
    assert shape_text(at) == "Output shape: (1, 12, 12, 4)"
    assert not errors(at)
    assert at.sidebar.toggle(key="present").value is True
    assert not any("<style>" in m.value for m in at.markdown)   # no HTML injected
    layouts = _chart_layouts(at)
    assert len(layouts) >= 4
    assert all(lay["font"]["size"] == T.PRESENT.font for lay in layouts)
    assert all(lay["title"]["font"]["size"] == T.PRESENT.title for lay in layouts
               if lay.get("title", {}).get("text"))
    assert _q(at, "present") == "1"


def test_normal_mode_uses_normal_sizes_and_no_page_style():
    at = run_app({"layer": "Conv2D", "input_shape": "(1,12,12,1)"})
    assert at.sidebar.toggle(key="present").value is False
    assert not any("<style>" in m.value for m in at.markdown)
    assert all(lay["font"]["size"] == T.NORMAL.font for lay in _chart_layouts(at))
    assert _q(at, "present") is None


def test_the_toggle_writes_present_to_the_url():
    at = run_app({"layer": "Conv1D", "padding": "causal"})
    at.sidebar.toggle(key="present").set_value(True).run()
    assert _q(at, "present") == "1"
    assert shape_text(at) == "Output shape: (1, 512, 4)"
    at.sidebar.toggle(key="present").set_value(False).run()
    assert _q(at, "present") is None


@pytest.mark.parametrize("view", ["receptive", "animate", "stack", "learn"])
def test_every_view_renders_in_presentation_mode(view):
    at = run_app({"layer": "Conv2D", "view": view, "input_shape": "(1,16,16,1)",
                  "present": "1"})
    assert at.radio(key="view").value == view


def test_figures_use_the_colour_blind_safe_palette():
    at = run_app({"layer": "Cropping2D", "cropping": "((1,2),(3,0))",
                  "input_shape": "(1,8,8,1)", "present": "1"})
    safe = {o.color.lower() for o in T.OUTLINES.values()}
    shapes = [s for lay in _chart_layouts(at) for s in lay.get("shapes", [])
              if s["line"].get("width", 1)]  # outlines (not the layout strip's fills)
    assert shapes
    for s in shapes:  # every outline: a palette colour, a dash style and a label
        assert s["line"]["color"].lower() in safe
        assert "dash" in s["line"] and s.get("name")
    crop = [s for s in shapes if s.get("name") == T.OUTLINES["crop"].label]
    assert crop and crop[0]["line"]["dash"] == T.OUTLINES["crop"].dash
    assert crop[0]["label"]["text"] == T.OUTLINES["crop"].label


def test_present_in_the_state():
    state, errs = S.parse_query({"present": "1"})
    assert state.present and not errs
    assert S.to_query(state)["present"] == "1"
    assert "present" not in S.to_query(S.parse_query({"present": "0"})[0])
    state, errs = S.parse_query({"present": "loud"})
    assert not state.present and errs and errs[0][0] == "present"
