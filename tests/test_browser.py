"""A real browser: Debian's chromium driven by Playwright against ``streamlit run``.

The fixture starts the app on a free port and waits for ``/_stcore/health``; Playwright
launches ``/usr/bin/chromium`` (never a downloaded browser). The test opens a shared link,
reads the output shape, changes an argument in the sidebar and reads the new shape.
Screenshots go to ``$CONVLAB_SCREENSHOTS`` (default: the system temp dir).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("CONVLAB_SCREENSHOTS", tempfile.gettempdir()))

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make chromium)")
    pytest.importorskip("playwright.sync_api")
    port = _free_port()
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read().decode(errors="replace"))
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not become healthy within 120 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


def _charts_drawn(page, n: int = 4) -> None:
    """Wait until Plotly has drawn the input, padded input, kernel and output charts."""
    page.wait_for_function(
        f"document.querySelectorAll('.stPlotlyChart .main-svg').length >= {n}",
        timeout=60_000)
    page.wait_for_timeout(800)


def test_shared_link_then_change_an_argument(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 2200})
    page.goto(f"{server}/?layer=Conv2D&filters=4&kernel_size=(3,3)&strides=2"
              "&input_shape=(1,64,64,3)")
    page.get_by_text("Output shape: (1, 31, 31, 4)").wait_for(timeout=120_000)
    _charts_drawn(page)
    page.screenshot(path=str(SHOTS / "convlab_shared_link.png"))

    # change filters in the sidebar: 4 → 8
    box = page.get_by_label("filters", exact=True)
    box.fill("8")
    box.press("Enter")
    page.get_by_text("Output shape: (1, 31, 31, 8)").wait_for(timeout=60_000)
    # and padding → same: ⌈64 / 2⌉ = 32
    page.get_by_role("combobox", name="padding").click()
    page.get_by_role("option", name="same", exact=True).click()
    page.get_by_text("Output shape: (1, 32, 32, 8)").wait_for(timeout=60_000)
    _charts_drawn(page)
    page.wait_for_url(lambda u: "padding=same" in u and "filters=8" in u, timeout=30_000)
    page.screenshot(path=str(SHOTS / "convlab_after_change.png"))

    # linked views: clicking an output cell selects it (default: the centre cell)
    linked = page.locator("p", has_text="Linked:")
    assert "output cell (16, 16)" in linked.inner_text()
    charts = page.locator(".stPlotlyChart")
    out = charts.nth(charts.count() - 1)
    out.scroll_into_view_if_needed()
    plot = out.locator(".nsewdrag").first        # the plot area: the maps, square cells
    bb = plot.bounding_box()
    x, y = bb["x"] + bb["width"] * 0.06, bb["y"] + bb["height"] * 0.12
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_function(
        "() => [...document.querySelectorAll('p')].some(p => p.innerText.includes('Linked:')"
        " && !p.innerText.includes('(16, 16)'))", timeout=30_000)
    page.wait_for_url("**cell=**", timeout=30_000)
    # a map in the grid's last column (4 of 8 maps per row): its channel's kernel is shown
    _charts_drawn(page)
    bb = plot.bounding_box()
    x, y = bb["x"] + bb["width"] * 0.9, bb["y"] + bb["height"] * 0.65
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_function(
        "() => /\\(filter [37],/.test(document.body.innerText)",
        timeout=30_000)

    # the URL now restores the same state in a fresh page
    fresh = browser.new_page(viewport={"width": 1400, "height": 1200})
    fresh.goto(page.url)
    fresh.get_by_text("Output shape: (1, 32, 32, 8)").wait_for(timeout=60_000)
    fresh.close()
    page.close()


def test_presentation_mode_first_screen(server, browser):
    """present=1 at a projector's 1366×768: the sidebar starts collapsed and the pictures
    (input, padded input, kernel, output) start inside the first screen."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{server}/?layer=Conv2D&padding=same&input_shape=(1,12,12,1)&present=1")
    page.get_by_text("Output shape: (1, 12, 12, 4)").wait_for(timeout=120_000)
    _charts_drawn(page)
    page.screenshot(path=str(SHOTS / "convlab_present_1366x768.png"))
    sidebar = page.locator('[data-testid="stSidebar"]').bounding_box()
    assert sidebar is None or sidebar["x"] + sidebar["width"] <= 0, sidebar
    charts = page.locator(".stPlotlyChart")
    first = charts.first.bounding_box()
    assert first["y"] < 768 and first["y"] + first["height"] <= 768, first
    out = charts.nth(3).bounding_box()  # the output, beside the input and the kernel
    assert out["y"] < 768, out
    # presentation type: the figures' text is theme.PRESENT's size
    sizes = page.eval_on_selector_all(".stPlotlyChart .gtitle",
                                      "els => els.map(e => parseFloat(e.style.fontSize))")
    assert sizes and min(sizes) >= 20, sizes
    page.close()
