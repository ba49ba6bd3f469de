"""app.column_width: a figure laid out for its budget, or for the narrower column the
browser measured (the browser side: tests/test_speed_views_browser.py at 1024 px)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st_

from app import column_width as CW
from app.figures.animation_grid import COLUMN_PX, PRESENT_PX
from tests.test_app import APP


@given(budget=st_.integers(CW.MIN_PX, 2000), measured=st_.one_of(st_.none(), st_.integers(0, 4000)))
def test_width_for_never_exceeds_the_budget_or_a_measured_column(budget, measured):
    width = CW.width_for(budget, measured)
    assert CW.MIN_PX <= width <= budget
    if measured is None or measured >= budget:
        assert width == budget
    elif measured >= CW.MIN_PX:
        assert width == measured


def _page(measured, **query):
    """The app run for the shared link ``query`` with ``measured`` px already reported by
    the browser (None: nothing measured yet)."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    if measured is not None:
        at.session_state[CW.MEASURED] = measured
    at.run()
    assert not at.exception, at.exception
    return at


def _layouts(measured, **query) -> list:
    """Every Plotly chart's layout on that page, in page order."""
    return [json.loads(c.proto.spec)["layout"]
            for c in _page(measured, **query).get("plotly_chart")]


def _animate(measured, **query):
    """The Animate chart's layout with ``measured`` px already reported by the browser."""
    (layout,) = _layouts(measured, view="animate", **query)
    return layout


@pytest.mark.parametrize("measured, query, width, rows", [
    (None, {}, COLUMN_PX, 1), (906, {}, COLUMN_PX, 1), (564, {}, 564, 2),
    (864, {"present": "1"}, 864, 2), (None, {"present": "1"}, PRESENT_PX, 1),
    (440, {"anim_mode": "field"}, 440, 0)])
def test_animate_is_laid_out_for_the_measured_column(measured, query, width, rows):
    """No width measured, or a column wider than the budget: the budget; a narrower column:
    its width, the step control's speed buttons then on a second row."""
    layout = _animate(measured, **query)
    assert layout["width"] <= width, layout["width"]
    if measured is not None and measured < width + 40:     # the column decides the width
        assert layout["width"] > width - 40, layout["width"]
    menus = layout.get("updatemenus", [])
    assert len({round(m["y"], 6) for m in menus}) == rows, menus


def test_the_page_style_hides_the_measurer_by_its_key():
    """main.py's style rule (a literal: st.html gets no built strings) names CW.KEY."""
    from pathlib import Path
    assert f".st-key-{CW.KEY} {{ display: none; }}" in Path(APP).read_text()


def _explore_column_weights(measured, **query):
    """The weights of every st.columns column on the default Explore page (Conv2D, kernel
    shown) with ``measured`` px already reported by the browser."""
    at = _page(measured, **query)
    assert at.get("plotly_chart"), "no panels drawn"
    return [c.weight for c in at.columns]


@pytest.mark.parametrize("measured, query, one_row", [
    (None, {}, True), (906, {}, True), (816, {}, True), (564, {}, False),
    (1180, {"present": "1"}, True), (960, {"present": "1"}, False)])
def test_explore_panels_take_two_rows_in_a_narrow_column(measured, query, one_row):
    """Input, padded input, kernel, output in one row ([3, 2.6, 2.4, 4]) where the column
    holds explore.ROW_PX, else two rows of two equal columns (the kernel's column wider
    than the kernel figure: at 1024 px it was squeezed to ~100 px and its title cut)."""
    from app.pages.explore import ROW_PX
    weights = [round(w, 4) for w in _explore_column_weights(measured, **query)]

    def has(run):               # st.columns normalises its weights to sum 1 per row
        return any(weights[i:i + len(run)] == run for i in range(len(weights)))
    assert has([0.25, 0.2167, 0.2, 0.3333]) == one_row, weights
    assert has([0.5] * 4) == (not one_row), weights
    if not one_row:
        assert measured < ROW_PX[bool(query)]


@pytest.mark.parametrize("measured, query, width", [
    (None, {}, 480), (906, {}, 480), (816, {}, 480), (564, {}, 328),
    (None, {"present": "1"}, 660), (960, {"present": "1"}, 566)])
def test_receptive_map_is_laid_out_for_the_measured_column(measured, query, width):
    """Theme.map_width where the map's column (3 of 5 parts of the main column, less the
    16 px gap) holds it, else that column's whole pixels."""
    layouts = _layouts(measured, view="receptive", **query)
    assert layouts[0]["width"] == width, [lay.get("width") for lay in layouts]


@pytest.mark.parametrize("measured, width", [(None, COLUMN_PX), (906, COLUMN_PX), (564, 564)])
def test_learn_animation_is_laid_out_for_the_measured_column(measured, width):
    """The lesson's live animation: at most COLUMN_PX wide, or the narrower main column."""
    layouts = _layouts(measured, view="learn")
    animated = [lay for lay in layouts if lay.get("updatemenus")]
    assert animated and all(width - 40 < lay["width"] <= width for lay in animated), [
        lay.get("width") for lay in layouts]


@pytest.mark.parametrize("cookie, width", [("564", 564), ("0", None), ("", None), (None, None),
                                           ("12345", None), ("-5", None), ("5e2", None),
                                           ("564; x=1", None), ("９", None)])
def test_a_remembered_width_is_whole_pixels_or_nothing(cookie, width):
    """The cookie is the browser's text: only plain digits 1–9999 count."""
    assert CW.remembered(cookie) == width
