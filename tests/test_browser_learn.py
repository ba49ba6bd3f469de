"""The Learn view in a real browser: a teacher's link, one exercise answered right and one
wrong by typing, one answered by clicking cells on the grid (Debian's chromium through
Playwright; the server and browser fixtures are tests/test_browser.py's)."""

from __future__ import annotations

import pytest

from engine.lessons import exercises
from tests.test_browser import SHOTS, browser, server  # noqa: F401 - pytest fixtures

pytestmark = pytest.mark.browser

LESSON, SEED, N = 2, 0, 3


def _click_cells(page, chart, cells, rows, cols):
    """Click the centre of each grid cell (row 0 at the top) and wait for each rerun to
    write it into the answer box."""
    area = chart.locator(".nsewdrag").first.bounding_box()
    for r, c in cells:
        page.mouse.click(area["x"] + (c + 0.5) * area["width"] / cols,
                         area["y"] + (r + 0.5) * area["height"] / rows)
        page.wait_for_timeout(1500)


def test_exercises_typed_and_clicked(server, browser):  # noqa: F811 - fixtures
    typed, wrong, clicked = exercises(LESSON, SEED, N)
    assert clicked.grid is not None and len(clicked.grid.in_spatial) == 2
    page = browser.new_page(viewport={"width": 1366, "height": 2400})
    page.goto(f"{server}/?view=learn&lesson={LESSON}&seed={SEED}&n={N}")
    page.get_by_text(f"{LESSON}. ").first.wait_for(timeout=120_000)
    page.get_by_text(typed.code_text).first.wait_for(timeout=60_000)
    answers = page.get_by_label("Your answer")
    checks = page.get_by_role("button", name="Check")

    answers.nth(0).fill(typed.answer_text)
    answers.nth(0).press("Enter")
    checks.nth(0).click()
    page.get_by_text("Correct", exact=True).first.wait_for(timeout=60_000)

    answers.nth(1).fill("strides=99" if "strides" in wrong.answer_text else "(1, 2, 3)")
    answers.nth(1).press("Enter")
    checks.nth(1).click()
    page.get_by_text("Not quite").first.wait_for(timeout=60_000)

    rows, cols = clicked.grid.in_spatial
    chart = page.locator(".stPlotlyChart").last
    chart.scroll_into_view_if_needed()
    _click_cells(page, chart, sorted(clicked.answer), rows, cols)
    checks.nth(2).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('p')].filter(p => p.innerText.trim() === "
        "'Correct').length >= 2", timeout=60_000)
    page.screenshot(path=str(SHOTS / "convlab_learn.png"), full_page=True)
    page.close()
