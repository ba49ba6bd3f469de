"""The shape debugger's totals and its shape chart, as a newcomer reads them: a metric never
cut by Streamlit ("100,009,…" at a 1024 px window), the chart titled, both axes named."""

from __future__ import annotations

from hypothesis import given, strategies as st_

from app import compute
from app.figures import stack as FS

UNITS = {"M": 10**6, "G": 10**9, "T": 10**12}


@given(st_.integers(0, 10**16))
def test_metric_count_is_whole_or_a_close_rounded_value_that_fits(n):
    shown = compute.metric_count(n)
    if n < 10**7:
        assert shown == f"{n:,}"
        return
    value, unit = shown.split(" ")
    assert len(shown) <= compute.METRIC_CHARS or unit == "T", shown
    assert abs(float(value.replace(",", "")) * UNITS[unit] - n) <= 0.0005 * n, shown


def test_the_shape_chart_names_what_it_draws():
    rows = [{"name": "conv", "status": "ok", "output_shape": (None, 8, 8, 4)},
            {"name": "flat", "status": "ok", "output_shape": (None, 256)},
            {"name": "bad", "status": "error", "output_shape": None}]
    layout = FS.shape_flow_figure(rows).to_dict()["layout"]
    assert "Output shape per layer" in layout["title"]["text"]
    assert layout["yaxis"]["title"]["text"] and layout["yaxis2"]["title"]["text"]
    assert layout["yaxis"]["rangemode"] == "tozero" and layout["yaxis2"]["type"] == "log"
    assert layout["legend"]["yanchor"] == "bottom" and layout["legend"]["y"] >= 1  # above
