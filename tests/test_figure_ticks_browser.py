"""Explore's pictures, kernels and signals and the receptive view's maps are laid out once: their margins already hold
their tick labels, so Plotly's ``automargin`` (kept for a label wider than estimated) has
nothing to push — a push lays a chart out a second time, 15–30 ms of the browser per chart.
Drawn by plotly.js in chromium (which falls back to DejaVu Sans here, the widest of the
usual fonts): the margins come out exactly as the spec sets them and every label is inside
the figure and beside (not over) the plot, for short and tall maps, small and large values,
on a normal screen and in presentation mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly
import pytest

from app import theme as T
from app.figures import explore as F
from app.figures import receptive as R
from tests.test_browser import browser  # noqa: F401 - pytest fixture

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

#: Draw a spec at ``width`` px; its margins as laid out, the y labels' extent, the plot's
#: left edge (a picture's domain may be narrowed to keep cells square), the x labels' and
#: the x title's bottom and the legend's top, relative to the figure (px).
MEASURE = """async ([spec, width]) => {
  const gd = document.createElement('div'); document.body.replaceChildren(gd);
  spec.layout.width = width;
  await Plotly.newPlot(gd, spec.data, spec.layout);
  const box = gd.getBoundingClientRect(), size = gd._fullLayout._size;
  const rel = n => { const r = n.getBoundingClientRect();
                     return {left: r.left - box.left, right: r.right - box.left,
                             bottom: r.bottom - box.top, top: r.top - box.top}; };
  const y = [...gd.querySelectorAll('.ytick text')].map(rel);
  const x = [...gd.querySelectorAll('.xtick text')].map(rel);
  const title = gd.querySelector('.xtitle'), legend = gd.querySelector('.legend');
  return {l: size.l, b: size.b, n: y.length,
          left: Math.min(...y.map(r => r.left)), right: Math.max(...y.map(r => r.right)),
          plot: size.l + gd._fullLayout.xaxis.domain[0] * size.w,
          ticks: Math.max(...x.map(r => r.bottom)),
          title: title ? rel(title).bottom : null,
          legend: legend ? rel(legend).top : box.height, height: box.height};
}"""


@pytest.fixture(scope="module")
def page(browser):  # noqa: F811 - fixture
    page = browser.new_page()
    page.add_script_tag(path=str(PLOTLY_JS))
    yield page
    page.close()


def _drawn(page, fig, width: int, once: bool = True) -> dict:
    spec = json.loads(fig.to_json())
    got = page.evaluate(MEASURE, [spec, width])
    margin = spec["layout"]["margin"]
    if once:
        assert (got["l"], got["b"]) == (margin["l"], margin["b"]), got     # nothing pushed
    assert got["n"] >= 1 and 0 <= got["left"] and got["right"] <= got["plot"], got
    return got


@pytest.mark.parametrize("present", [False, True], ids=["normal", "present"])
@pytest.mark.parametrize("rows", [1, 9, 10, 99, 100, 999, 1000])
@pytest.mark.parametrize("wide", [False, True], ids=["tall", "wide"])
def test_pictures_are_laid_out_once_with_their_row_numbers(page, rows, wide, present):
    """A wide picture fills the width (its row numbers sit at the margin's edge), a tall
    one is narrowed to keep its cells square. In presentation mode, the large column
    numbers of a picture 400 or more columns wide do not fit side by side in a narrow
    panel: Plotly turns them and pushes the bottom margin (a second layout, as before)."""
    t = T.theme(present)
    cols = 4 * rows + 3 if wide else 7
    _drawn(page, F.image_figure(np.zeros((rows, cols), np.float32), "map",
                                highlights={"read": [(0, 0)]}, t=t), 260,
           once=not (present and cols >= 400))
    if rows <= 16:
        _drawn(page, F.kernel_figure(np.ones((rows, 3), np.float32), taps=[(0, 0)],
                                     t=t), t.kernel_width)


@pytest.mark.parametrize("present", [False, True], ids=["normal", "present"])
@pytest.mark.parametrize("lo, hi", [(0, 1), (-1, 1), (-0.001, 0.002), (0, 5000),
                                    (-123456, 5), (3, 3)])
@pytest.mark.parametrize("channels", [1, 3])
def test_signals_are_laid_out_once_with_their_values(page, lo, hi, channels, present):
    """A 1-D signal: its value labels left of the plot, the "step" title under the step
    numbers and above the legend, inside the figure."""
    sig = np.linspace(lo, hi, 40 * channels, dtype=np.float32).reshape(40, channels)
    got = _drawn(page, F.signal_figure(sig, "signal", highlights={"read": [(0, 3)]},
                                       t=T.theme(present)), 420)
    assert got["ticks"] <= got["title"] <= got["legend"] <= got["height"], got


@pytest.mark.parametrize("present", [False, True], ids=["normal", "present"])
@pytest.mark.parametrize("shape, field", [((64, 64), (20, 30, 25, 40)),
                                          ((500, 500), (100, 300, 150, 420)),
                                          ((9, 9), (0, 8, 0, 8)), ((64,), (10, 40)),
                                          ((3000,), (100, 2500))])
@pytest.mark.parametrize("zoom", [True, False])
def test_receptive_maps_are_laid_out_once(page, shape, field, zoom, present):
    """The receptive view's contribution map (2-D heatmap with row and column numbers, or
    1-D bars of small contributions), framed on the field or whole."""
    rng = np.random.default_rng(0)
    cmap, mask = np.zeros(shape), np.zeros(shape, bool)
    if len(shape) == 2:
        r0, r1, c0, c1 = field
        mask[r0:r1, c0:c1] = True
        theory, names = ((r0 - 2.0, r1 + 1.0), (c0 - 3.0, c1 + 0.0)), ("rows", "cols")
    else:
        mask[field[0]:field[1]] = True
        theory, names = ((field[0] - 2.0, field[1] + 1.0),), ("steps",)
    cmap[mask] = rng.random(int(mask.sum())) * 1e-3
    _drawn(page, R.map_figure(cmap, mask, theory=theory, axis_names=names, title="field",
                              zoom=zoom, t=T.theme(present)), 540)


#: Draw a spec at ``width`` px, then hand Plotly a fresh copy of the same spec, as Streamlit's
#: chart does after its first draw: how many DOM nodes that second pass changed.
REDRAW = """async ([spec, width]) => {
  const gd = document.createElement('div'); document.body.replaceChildren(gd);
  const copy = () => { const s = JSON.parse(JSON.stringify(spec)); s.layout.width = width;
                       return s; };
  const first = copy(); await Plotly.newPlot(gd, first.data, first.layout);
  let changed = 0;
  const watch = new MutationObserver(r => { changed += r.length; });
  watch.observe(gd, {subtree: true, childList: true, attributes: true});
  const again = copy(); await Plotly.react(gd, again.data, again.layout);
  await new Promise(r => setTimeout(r, 0));
  watch.disconnect();
  return changed;
}"""


@pytest.mark.parametrize("present", [False, True], ids=["normal", "present"])
@pytest.mark.parametrize("maps, cols", [(1, 2), (4, 2), (8, 4), (16, 4)])
@pytest.mark.parametrize("width", [290, 474.66, 700])
def test_output_grid_is_drawn_once(page, maps, cols, width, present):
    """Explore's output grid keeps its cells square by narrowing its plot area
    (``constrain="domain"``), not by growing its ranges: Plotly writes grown ranges back into
    the chart's layout, so Streamlit's second pass (a fresh copy of the spec) differed from
    it and redrew the whole chart (470–918 DOM nodes, ~30 ms, on every other change)."""
    grids = np.random.default_rng(0).standard_normal((maps, 190, 254)).astype(np.float32)
    fig = F.grid_figure(grids, [f"filter {i}" for i in range(maps)], max_cols=cols,
                        highlights={"selected": [(95, 127)]}, t=T.theme(present))
    assert page.evaluate(REDRAW, [json.loads(fig.to_json()), width]) == 0
