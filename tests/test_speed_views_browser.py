"""Issue 15 in a real browser (Debian's chromium through Playwright; the server and browser
fixtures are tests/test_browser.py's): what the speed changes must not break.

- Receptive: the map's click targets draw one marker (``maxdisplayed``), yet a click on any
  cell still picks the output whose field is centred nearest to it (and the URL follows).
- Stack: the feature-map / receptive-field section is a fragment; changing its output cell
  still redraws its caption and figure.
- Animate at 1024, 1280 and 1366 px windows (1024 and 1280 in presentation mode), the
  receptive map at 1024, 1280 and 1366, Explore's charts at 1024, 1280, 1366 and 1920:
  each chart fits its column (Streamlit does not narrow it), so a change draws it once:
  Streamlit's second pass changes no DOM node. Learn's lesson animation at 1024 px: no overlapping buttons.
"""

from __future__ import annotations

import pytest

from app import column_width, theme as T
from app.figures.animation_grid import COLUMN_PX, PRESENT_PX
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


# Counts DOM mutations per Plotly react of every chart, as [chart's Streamlit key (its
# place on the page when it has none), mutations] (Streamlit's chart reacts twice per new
# spec: the figure, then its copy with Streamlit's width and modes; a new spec is a new chart
# element: Streamlit's id hashes it).
_REACTS = """() => {
  window.__reacts = [];
  const seen = new WeakSet();
  new MutationObserver(() => document.querySelectorAll('.js-plotly-plot').forEach(gd => {
    if (seen.has(gd) || !gd.on) return;
    seen.add(gd);
    let muts = 0;
    const watch = new MutationObserver(r => { muts += r.length; });
    watch.observe(gd, {subtree: true, childList: true, attributes: true, characterData: true});
    gd.on('plotly_react', () => {    // takeRecords: two reacts may run in one task
      muts += watch.takeRecords().length;
      const keyed = gd.closest('[class*="st-key-"]');
      const key = keyed ? keyed.className.match(/st-key-(\\S+)/)[1]
                        : [...document.querySelectorAll('.js-plotly-plot')].indexOf(gd);
      window.__reacts.push([key, muts]);
      muts = 0; });
  })).observe(document, {subtree: true, childList: true});
}"""

#: At most this many DOM nodes change in a pass with nothing to redo (Plotly sometimes
#: touches one); a redraw changes hundreds.
_NOTHING = 10

#: The first chart's drawn width and the width of the column that holds it (px).
_WIDTHS = """() => { const gd = document.querySelector('.js-plotly-plot');
  return [gd._fullLayout.width,
          gd.closest('[data-testid=stVerticalBlock]').getBoundingClientRect().width]; }"""


def _reacts_after(page, change, done: str = "window.__reacts.length >= 2") -> dict:
    """``{chart's key: [DOM mutations per Plotly react]}`` caused by ``change()``, once
    the JavaScript condition ``done`` holds and the page is quiet."""
    page.evaluate("() => { window.__reacts = []; }")
    change()
    page.wait_for_function(done, timeout=60_000)
    page.wait_for_timeout(1500)
    reacts = {}
    for place, muts in page.evaluate("() => window.__reacts"):
        reacts.setdefault(place, []).append(muts)
    return reacts


#: The Animate chart's step-control row: every button's [left, top, right] and the
#: "Speed:" label's [left, right] (CSS px).
_CONTROLS = """() => [
  [...document.querySelectorAll('.updatemenu-button')].map(b => {
    const r = b.querySelector('rect').getBoundingClientRect(); return [r.left, r.top, r.right]; }),
  [...document.querySelectorAll('.annotation-text')].filter(a => a.textContent === 'Speed:')
    .map(a => { const r = a.getBoundingClientRect(); return [r.left, r.right]; })[0]]"""


def _rows(buttons: list) -> list:
    """The step control's buttons ([left, top, right] each) grouped by row, top first."""
    rows: dict = {}
    for b in buttons:
        rows.setdefault(round(b[1]), []).append(b)
    return [rows[top] for top in sorted(rows)]


@pytest.mark.parametrize("window, present", [(1280, False), (1366, False), (1280, True),
                                             (1024, False), (1024, True)],
                         ids=["1280", "1366", "1280-present", "1024", "1024-present"])
def test_animate_chart_fits_its_column_and_is_drawn_once(server, browser, window,  # noqa: F811
                                                         present):
    """The Animate chart is as wide as its budget (COLUMN_PX, PRESENT_PX in presentation
    mode) where its column holds that (from a 1280 px window up: opened without a second
    layout), else as wide as the column the browser measured (app.column_width: laid out
    again once); Streamlit never narrows it (a narrowed chart is drawn twice, ~10,000 DOM
    nodes, and its buttons overlapped). Its step control: play / pause, back / forward,
    then "Speed:" right before its buttons, on one row where it fits, none overlapping."""
    page = browser.new_page(viewport={"width": window, "height": 768})
    page.add_init_script(f"({_REACTS})()")
    page.goto(f"{server}/?view=animate" + ("&present=1" if present else ""))
    page.get_by_text("Animate Conv2D").first.wait_for(timeout=120_000)
    _chart_drawn(page)
    page.wait_for_timeout(1500)
    opened = [m for key, m in page.evaluate("() => window.__reacts") if key == "anim_chart"]
    drawn_w, column_w = page.evaluate(_WIDTHS)
    budget = PRESENT_PX if present else COLUMN_PX
    if window >= 1280:
        assert drawn_w <= budget <= column_w, (drawn_w, column_w)
        assert sum(m > 1000 for m in opened) == 1, opened     # laid out once
    else:
        assert column_w - column_width.GROW_PX < drawn_w <= column_w < budget, (drawn_w, column_w)
    buttons, label = page.evaluate(_CONTROLS)
    rows = _rows(buttons)
    assert len(buttons) == 8 and len(rows) == (1 if window >= 1280 else 2), buttons
    for row in rows:                                          # no overlap
        assert all(a[2] <= b[0] for a, b in zip(row, row[1:])), row
    speed = buttons[4:]                          # after play / pause and back / forward
    assert 0 < speed[0][0] - label[1] < 30, (buttons, label)  # "Speed:" right before them
    assert label[0] > (buttons[3][2] if len(rows) == 1 else rows[0][0][0] - 1), (buttons, label)
    column_right = page.evaluate("() => document.querySelector('.js-plotly-plot')"
                                 ".closest('[data-testid=stVerticalBlock]')"
                                 ".getBoundingClientRect().right")
    assert max(right for _, _, right in buttons) <= column_right + 1, (buttons, column_right)
    if not present:             # (presentation mode collapses the sidebar)
        box = page.get_by_label("filters", exact=True)
        reacts = _reacts_after(page, lambda: (box.fill("8"), box.press("Enter")))["anim_chart"]
        assert reacts[0] > 1000 and reacts[-1] < _NOTHING, reacts  # drawn, then nothing to redo
    page.close()


@pytest.mark.parametrize("window", [1024, 1280, 1366])
def test_receptive_map_fits_its_column_and_is_drawn_once(server, browser, window):  # noqa: F811
    """The receptive map has a fixed whole-pixel width that its column (484 px at 1280,
    535.6 at 1366) holds: Streamlit gives it that width at once, so a click on another
    output draws the new map once (a map filling the fractional column was drawn twice:
    ~940 DOM nodes more). At 1024 px the column (~329 px) is narrower than
    ``Theme.map_width``: the map is laid out at the column's whole pixels instead
    (app.pages.receptive._map_width, once app.column_width has measured it)."""
    page = browser.new_page(viewport={"width": window, "height": 768})
    page.add_init_script(f"({_REACTS})()")
    page.goto(f"{server}/?view=receptive&rf_pos=(95,127)")
    page.get_by_text("Output position").first.wait_for(timeout=120_000)
    _chart_drawn(page)
    if window < 1280:                           # laid out again for the measured column
        page.wait_for_function("document.querySelector('.js-plotly-plot')._fullLayout.width"
                               f" < {T.NORMAL.map_width}", timeout=60_000)
        page.wait_for_timeout(1500)
    drawn_w, column_w = page.evaluate(_WIDTHS)
    if window >= 1280:
        assert drawn_w == T.NORMAL.map_width <= column_w, (drawn_w, column_w)
    else:
        assert column_w - 2 <= drawn_w <= column_w, (drawn_w, column_w)
    area = page.locator(".stPlotlyChart").first.locator(".nsewdrag").first.bounding_box()
    x, y = area["x"] + area["width"] * 0.2, area["y"] + area["height"] * 0.2
    page.mouse.move(x, y)
    reacts = _reacts_after(page, lambda: page.mouse.click(x, y),
                           "!location.search.includes('rf_pos=%2895')")["rf_plot"]
    # the new map drawn, then Streamlit's second pass finds nothing to redo
    assert len(reacts) >= 2 and reacts[-1] < _NOTHING, reacts
    page.close()


@pytest.mark.parametrize("window", [1024, 1280, 1366, 1920])
def test_explore_charts_are_drawn_once(server, browser, window):  # noqa: F811 - fixtures
    """A kernel_size change in Explore redraws the kernel and output charts once at common
    window widths: the page rounds every block to whole pixels (app/main.py's style rule),
    the kernel panel fits its column, the output grid keeps square cells without growing
    its ranges — otherwise Streamlit's second pass redrew them (600–1,060 DOM nodes each).
    A filters change leaves the kernel's and the input's charts alone (their specs do not
    change: the kernel's shape is written above its chart, not in it)."""
    page = browser.new_page(viewport={"width": window, "height": 768})
    page.add_init_script(f"({_REACTS})()")
    page.goto(f"{server}/")
    page.get_by_text("Output shape:").first.wait_for(timeout=120_000)
    _chart_drawn(page, 3)
    box = page.get_by_label("kernel_size rows", exact=True)
    reacts = _reacts_after(page, lambda: (box.fill("5"), box.press("Enter")),
                           "window.__reacts.filter(r => r[0] === 'ex-out_fig').length >= 2")
    assert all(r[-1] < _NOTHING for r in reacts.values()), reacts
    assert len(reacts.get("ex-k_fig", [])) >= 2 and len(reacts["ex-out_fig"]) >= 2, reacts
    page.get_by_text("Kernel (5, 3, 3, 4)").first.wait_for(timeout=60_000)
    box = page.get_by_label("filters", exact=True)
    reacts = _reacts_after(page, lambda: (box.fill("8"), box.press("Enter")),
                           "window.__reacts.filter(r => r[0] === 'ex-out_fig').length >= 2")
    assert set(reacts) == {"ex-out_fig"} and reacts["ex-out_fig"][-1] < _NOTHING, reacts
    page.get_by_text("Kernel (5, 3, 3, 8)").first.wait_for(timeout=60_000)
    page.close()


#: Explore's panels: [chart key, drawn width, its column's width, top] per chart, and the
#: Reset button's label [shown width, needed width] (CSS px).
_PANELS = """() => [
  [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
    const keyed = gd.closest('[class*="st-key-"]');
    return [keyed ? keyed.className.match(/st-key-(\\S+)/)[1] : '', gd._fullLayout.width,
            gd.closest('[data-testid=stColumn]').getBoundingClientRect().width,
            Math.round(gd.getBoundingClientRect().top)]; }),
  (() => { const p = document.querySelector('.st-key-ex-reset button p');
           return [p.clientWidth, p.scrollWidth]; })()]"""


@pytest.mark.parametrize("window, rows", [(1024, 2), (1366, 1)])
def test_explore_panels_fit_their_columns(server, browser, window, rows):  # noqa: F811
    """At 1024 px (a 564 px main column) the four panels take two rows, so the kernel's
    column holds the kernel figure (it was squeezed to ~100 px, its title cut) and every
    chart fits its column; at 1366 px they stay in one row. The Reset button shows its
    whole label (it was cut to "R…" at 1024)."""
    page = browser.new_page(viewport={"width": window, "height": 768})
    page.goto(f"{server}/")
    page.get_by_text("Output shape:").first.wait_for(timeout=120_000)
    _chart_drawn(page, 3)
    page.wait_for_function("document.querySelector('.js-plotly-plot')"
                           ".closest('[data-testid=stColumn]').getBoundingClientRect().width"
                           + (" > 250" if rows == 2 else " < 250"), timeout=60_000)
    page.wait_for_timeout(1500)
    charts, (shown, needed) = page.evaluate(_PANELS)
    by_key = {key: (drawn, column, top) for key, drawn, column, top in charts}
    assert by_key["ex-k_fig"][0] == T.NORMAL.kernel_width, charts
    assert all(drawn <= column + 1 for _, drawn, column, _ in charts), charts
    tops = sorted({top for _, _, _, top in charts})
    assert (max(tops) - min(tops) > 150) == (rows == 2), charts
    assert needed <= shown, (shown, needed)
    page.screenshot(path=str(SHOTS / f"convlab_explore_{window}x768.png"))
    page.close()


def test_learn_animation_fits_a_1024_window(server, browser):  # noqa: F811 - fixtures
    """The lesson's live animation at a 1024 px window: laid out for the measured column
    (app.column_width), its step buttons in rows, none overlapping, all inside the column
    (at its 816 px budget "◀ Back" covered "❚❚ Pause" and the caption ran past the edge)."""
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(f"{server}/?view=learn")
    page.get_by_text("The lesson's example, live").first.wait_for(timeout=120_000)
    _chart_drawn(page)
    page.wait_for_function("document.querySelector('.js-plotly-plot')._fullLayout.width"
                           f" < {COLUMN_PX}", timeout=60_000)
    page.wait_for_timeout(1500)
    drawn_w, column_w = page.evaluate(_WIDTHS)
    assert column_w - column_width.GROW_PX < drawn_w <= column_w, (drawn_w, column_w)
    buttons, _ = page.evaluate(_CONTROLS)
    for row in _rows(buttons):
        assert all(a[2] <= b[0] for a, b in zip(row, row[1:])), row
    right = page.evaluate("() => document.querySelector('.js-plotly-plot')"
                          ".closest('[data-testid=stVerticalBlock]').getBoundingClientRect().right")
    assert max(r for _, _, r in buttons) <= right + 1, (buttons, right)
    page.close()


def test_a_new_session_starts_at_the_column_the_browser_measured(server, browser):  # noqa: F811
    """app.column_width keeps the last column measured in a cookie: at 1024 px the first
    open lays Explore out once more for the 564 px column; a new session in that browser
    (a reload, a shared link opened again) draws its first picture in two rows already."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    first_layout = """() => { const gd = document.querySelector('.js-plotly-plot');
      return gd.closest('[data-testid=stColumn]').getBoundingClientRect().width; }"""
    widths = []
    for _ in range(2):
        page = context.new_page()
        page.goto(f"{server}/")
        page.wait_for_function("document.querySelector('.stPlotlyChart .main-svg')",
                               timeout=120_000)
        widths.append(page.evaluate(first_layout))
        page.wait_for_function(f"({first_layout})() > 250", timeout=60_000)  # two rows
        page.close()
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    context.close()
    assert column_width.remembered(cookies.get(column_width.COOKIE)) is not None, cookies
    assert widths[0] < 250 < widths[1], widths      # one row first, then two at once
