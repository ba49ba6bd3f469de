"""Issue 15 in a real browser (Debian's chromium through Playwright; the server and browser
fixtures are tests/test_browser.py's): what the speed changes must not break.

- Receptive: the map's click targets draw one marker (``maxdisplayed``), yet a click on any
  cell still picks the output whose field is centred nearest to it (and the URL follows).
- Stack: the feature-map / receptive-field section is a fragment; changing its output cell
  still redraws its caption and figure.
- Animate at a 1366 × 768 window: the chart fits its column (Streamlit does not narrow it),
  so a filters change draws it once: Streamlit's second pass changes no DOM node.
"""

from __future__ import annotations

import pytest

from app.figures.animation_grid import COLUMN_PX
from tests.test_browser import SHOTS, browser, server  # noqa: F401 - pytest fixtures

pytestmark = pytest.mark.browser


def _chart_drawn(page, n: int = 1) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('.stPlotlyChart .main-svg').length >= {n}",
        timeout=120_000)
    page.wait_for_timeout(800)


def test_receptive_map_click_picks_an_output(server, browser):  # noqa: F811 - fixtures
    page = browser.new_page(viewport={"width": 1366, "height": 1400})
    page.goto(f"{server}/?view=receptive&layer=Conv2D&filters=1&kernel_size=3"
              "&input_shape=(1,16,16,1)&rf_pos=(7,7)")
    page.get_by_text("Receptive field").first.wait_for(timeout=120_000)
    _chart_drawn(page)
    chart = page.locator(".stPlotlyChart").first
    # one SVG marker for the whole click layer, not one per cell
    assert chart.locator(".scatterlayer .trace:last-child .point").count() <= 1
    area = chart.locator(".nsewdrag").first.bounding_box()
    x, y = area["x"] + area["width"] * 0.1, area["y"] + area["height"] * 0.1
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_url(lambda u: "rf_pos=" in u and "rf_pos=(7,7)" not in u
                      and "rf_pos=(7, 7)" not in u.replace("%20", " "), timeout=60_000)
    page.screenshot(path=str(SHOTS / "convlab_receptive_clicked.png"))
    page.close()


def test_stack_fragment_redraws_its_section(server, browser):  # noqa: F811 - fixtures
    page = browser.new_page(viewport={"width": 1366, "height": 2400})
    page.goto(f"{server}/?view=stack")
    page.get_by_text("Shape debugger").first.wait_for(timeout=120_000)
    _chart_drawn(page, 3)
    page.get_by_text("output (8, 8) sees").first.wait_for(timeout=60_000)
    box = page.get_by_label("output row", exact=True)
    box.fill("3")
    box.press("Enter")
    page.get_by_text("output (3, 8) sees").first.wait_for(timeout=60_000)
    page.get_by_text("input cells that output (3, 8)").first.wait_for(timeout=60_000)
    page.close()


# Counts DOM mutations of the animate chart per Plotly react (Streamlit's chart reacts twice
# per new spec: the figure, then its JSON copy).
_REACTS = """() => {
  window.__reacts = [];
  const seen = new WeakSet();
  new MutationObserver(() => document.querySelectorAll('.js-plotly-plot').forEach(gd => {
    if (seen.has(gd) || !gd.on) return;
    seen.add(gd);
    let muts = 0;
    new MutationObserver(r => { muts += r.length; }).observe(gd,
        {subtree: true, childList: true, attributes: true});
    gd.on('plotly_react', () => { window.__reacts.push(muts); muts = 0; });
  })).observe(document, {subtree: true, childList: true});
}"""


def test_animate_chart_fits_its_column_and_is_drawn_once(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.add_init_script(f"({_REACTS})()")
    page.goto(f"{server}/?view=animate")
    page.get_by_text("Animate Conv2D").first.wait_for(timeout=120_000)
    _chart_drawn(page)
    drawn_w, column_w = page.evaluate(
        "() => { const gd = document.querySelector('.js-plotly-plot');"
        " return [gd._fullLayout.width,"
        " gd.closest('[data-testid=stVerticalBlock]').getBoundingClientRect().width]; }")
    # as wide as the page made it (not narrowed to the column), and the column holds it
    assert drawn_w <= COLUMN_PX <= column_w, (drawn_w, column_w)
    page.evaluate("() => { window.__reacts = []; }")
    box = page.get_by_label("filters", exact=True)
    box.fill("8")
    box.press("Enter")
    page.wait_for_function("window.__reacts.length >= 2", timeout=60_000)
    page.wait_for_timeout(500)
    reacts = page.evaluate("() => window.__reacts")
    assert reacts[0] > 1000 and reacts[-1] == 0, reacts  # drawn, then nothing to redo
    page.close()
