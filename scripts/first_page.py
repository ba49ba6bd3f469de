"""What a newcomer waits for: open a running convlab in Debian's chromium and time the picture.

    .venv/bin/python scripts/first_page.py --url http://127.0.0.1:8501 --opens 3
    .venv/bin/python scripts/first_page.py --url http://127.0.0.1:8501 --path \
        "/?layer=Conv2DTranspose&filters=4&kernel_size=3&strides=2&input_shape=(1,28,28,1)"

Each open is a new browser context (a new Streamlit session, as another student opening the
same link) and reports, from navigation start (``performance.timeOrigin``):

- ``first picture``: the first Plotly chart drawn (its ``.main-svg`` in the DOM);
- ``shape text``: the ``Output shape:`` line on screen;
- ``settled``: the last DOM change before the page stayed unchanged for 400 ms.

The first open against a server that was just started (``make run``) is the newcomer's very
first page: the first script run of the process (imports, the app's kernel warm-up, loading
or compiling Numba kernels) is inside it. Later opens are "a shared link with a warm cache".
Only loopback addresses are contacted; every wait is bounded (``--timeout``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.browser import ARGS, CHROMIUM  # noqa: E402

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Records the first time a Plotly chart is in the DOM and the time of every DOM change.
_OBSERVER = """() => {
  window.__first = null; window.__last = performance.now();
  new MutationObserver(() => {
    const now = performance.now();
    window.__last = now;
    if (window.__first === null && document.querySelector('.stPlotlyChart .main-svg')) {
      window.__first = now;
    }
  }).observe(document, {subtree: true, childList: true, attributes: true,
                        characterData: true});
}"""


def _settled(page, quiet_ms: float, timeout_s: float) -> float:
    """Milliseconds (page clock) of the last DOM change once the page is quiet for
    ``quiet_ms``; raises TimeoutError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        last, now = page.evaluate("() => [window.__last, performance.now()]")
        if now - last >= quiet_ms:
            return last
        page.wait_for_timeout(100)
    raise TimeoutError(f"the page kept changing for {timeout_s:.0f} s")


def open_once(browser, url: str, ready: str, timeout_s: float) -> dict:
    """One new session on ``url``: seconds to first picture, shape text and settled."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.add_init_script(f"({_OBSERVER})()")
        page.goto(url, timeout=timeout_s * 1000)
        page.get_by_text(ready).first.wait_for(timeout=timeout_s * 1000)
        shape_ms = page.evaluate("() => performance.now()")
        page.wait_for_function("window.__first !== null", timeout=timeout_s * 1000)
        first_ms = page.evaluate("() => window.__first")
        settled_ms = _settled(page, 400, timeout_s)
        return {"first_picture_s": round(first_ms / 1000, 2),
                "shape_text_s": round(shape_ms / 1000, 2),
                "settled_s": round(settled_ms / 1000, 2)}
    finally:
        context.close()


def main(argv=None) -> int:
    """Open ``--url`` + ``--path`` ``--opens`` times and print one line (and JSON) per open."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--path", default="/", help="path and query of the link to open")
    ap.add_argument("--opens", type=int, default=3, help="new sessions, one after another")
    ap.add_argument("--ready", default="Output shape:", help="text that proves the page ran")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per wait")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    if urllib.parse.urlparse(args.url).hostname not in LOOPBACK:
        ap.error("first_page only opens loopback addresses")
    from playwright.sync_api import Error as BrowserError
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            for i in range(args.opens):
                try:
                    r = open_once(browser, args.url.rstrip("/") + args.path, args.ready,
                                  args.timeout)
                except (BrowserError, TimeoutError) as exc:
                    print(f"open {i + 1} failed: {str(exc).splitlines()[0]}", file=sys.stderr)
                    return 1
                results.append(r)
                print(f"open {i + 1}: first picture {r['first_picture_s']:.2f} s, shape text "
                      f"{r['shape_text_s']:.2f} s, settled {r['settled_s']:.2f} s", flush=True)
        finally:
            browser.close()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
