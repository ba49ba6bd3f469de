"""Pictures have fixed margins instead of Plotly's ``automargin`` (which lays a chart out
twice: 15–30 ms of the browser per chart): drawn by plotly.js in chromium, every row number
of a picture or kernel fits in its margin — not cut at the figure's edge, not over the
picture — for short and tall maps, on a normal screen and in presentation mode. Chromium
here falls back to DejaVu Sans, the widest of the usual fonts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly
import pytest

from app import theme as T
from app.figures import explore as F
from tests.test_browser import browser  # noqa: F401 - pytest fixture

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

#: The row numbers' extent and the picture's left edge (its domain may be narrowed to keep
#: cells square), relative to the figure (px).
MEASURE = """async ([spec, width]) => {
  const gd = document.createElement('div'); document.body.replaceChildren(gd);
  spec.layout.width = width;
  await Plotly.newPlot(gd, spec.data, spec.layout);
  const box = gd.getBoundingClientRect();
  const labels = [...gd.querySelectorAll('.ytick text')].map(n => n.getBoundingClientRect());
  return {left: Math.min(...labels.map(r => r.left - box.left)),
          right: Math.max(...labels.map(r => r.right - box.left)),
          plot: gd._fullLayout._size.l + gd._fullLayout.xaxis.domain[0] * gd._fullLayout._size.w,
          n: labels.length};
}"""


@pytest.fixture(scope="module")
def page(browser):  # noqa: F811 - fixture
    page = browser.new_page()
    page.add_script_tag(path=str(PLOTLY_JS))
    yield page
    page.close()


@pytest.mark.parametrize("present", [False, True], ids=["normal", "present"])
@pytest.mark.parametrize("rows", [1, 9, 10, 99, 100, 999, 1000])
@pytest.mark.parametrize("wide", [False, True], ids=["tall", "wide"])
def test_row_numbers_fit_their_margin(page, rows, wide, present):
    """A wide picture fills the width (its row numbers sit at the margin's edge), a tall
    one is narrowed to keep its cells square."""
    t = T.theme(present)
    figures = [F.image_figure(np.zeros((rows, 4 * rows + 3 if wide else 7), np.float32),
                              "map", t=t)]
    if rows <= 16:
        figures.append(F.kernel_figure(np.ones((rows, 3), np.float32), "kernel", t=t))
    for fig in figures:
        spec = json.loads(fig.to_json())
        assert not spec["layout"]["yaxis"]["automargin"]
        got = page.evaluate(MEASURE, [spec, 260])
        assert got["n"] >= 1
        assert got["left"] >= 0, got                 # not cut at the figure's left edge
        assert got["right"] <= got["plot"], got      # not over the picture
