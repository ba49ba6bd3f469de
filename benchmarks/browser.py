"""What a person waits for, in a real browser: ``python -m benchmarks.browser``.

For each scenario, Debian's chromium (Playwright, headless) opens a shared link against
``streamlit run app/main.py`` and records:

- ``first picture s``: navigation start → the first Plotly chart of the page drawn (its
  SVG in the DOM) — what the issue's "first picture" is — in a new browser context, i.e.
  with an empty HTTP cache (every one of Streamlit's scripts fetched);
- ``first picture warm s``: the same for a link opened again in a browser that has opened
  the app before (one browser context: its HTTP cache warm, a new tab per open): median
  of ``--repeat`` opens after one unmeasured one — what "opening a shared link with a warm
  cache" waits for;
- ``open s``: navigation start → the page's last Plotly chart drawn and stable (no DOM
  change in the charts for 400 ms), with the expected ``Output shape`` text on screen;
- ``input→picture ms``: for an interaction (typing a new ``filters`` and Enter), the time from
  the keydown event (``performance.now()`` in the page) to the last chart mutation of the
  rerun — i.e. until the new picture is drawn (median of ``--repeat``);
- ``open kB`` / ``open server CPU ms``: WebSocket bytes received and server CPU for the
  open (the CPU includes serving Streamlit's static files and starting the session);
- ``browser CPU ms``: main-thread task time of the page for that interaction (Chromium's
  ``TaskDuration`` metric over CDP; median): what React and Plotly cost, less sensitive to
  a busy machine than the wall-clock latency;
- ``kB sent``: WebSocket bytes the server sent for that interaction (median);
- ``server CPU ms``: user + system CPU time of the server process for that interaction
  (``/proc/<pid>/stat``; median).

``--compare REV`` measures ``REV`` (a git revision, checked out with ``git worktree`` in a
temporary folder and run with ``PYTHONPATH`` pointing at it) and the working tree in the same
run, alternating, and prints both rows with the ratio. ``--cold`` also measures the very first
page of a fresh server with an empty Numba cache (``NUMBA_CACHE_DIR`` set to a new folder).
Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import add_worktree, remove_worktree

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@dataclass(frozen=True)
class Scenario:
    """A shared link, the text that proves it rendered, and an optional ``filters`` change
    with the text that proves the rerun finished."""

    name: str
    query: str
    ready_text: str
    new_filters: str | None = None
    changed_text: str | None = None
    warm: bool = False    # also measure the first picture with the HTTP cache warm


SCENARIOS = (
    Scenario("explore: photo, Conv2D(4, 3)", "", "Output shape:", "8", "Output shape:",
             warm=True),
    Scenario("animate: Conv2D(4, 3)", "?view=animate", "Animate Conv2D", warm=True),
    Scenario("animate: Conv2D(4, 3), filters", "?view=animate", "Animate Conv2D", "8",
             "Animate Conv2D"),
    Scenario("receptive: Conv2D(4, 3)", "?view=receptive", "Receptive field", "8",
             "Receptive field"),
    Scenario("stack: example", "?view=stack", "Shape debugger"),
    Scenario("stack: example, filters", "?view=stack", "Shape debugger", "8", "Shape debugger"),
)

_OBSERVER = """() => {
  window.__last = performance.now(); window.__keydown = null;
  document.addEventListener('keydown', () => { window.__keydown = performance.now(); },
                            true);
  window.__first = null;
  new MutationObserver(() => {
    window.__last = performance.now();
    if (window.__first === null && document.querySelector('.stPlotlyChart .main-svg'))
      window.__first = window.__last;
  })
    .observe(document, {subtree: true, childList: true, attributes: true,
                        characterData: true});
}"""


# --------------------------------------------------------------------------- server

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run app/main.py`` from ``root`` on a free loopback port."""

    def __init__(self, root: Path, cache_dir: str | None = None):
        self.port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(root), PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        if cache_dir:
            env["NUMBA_CACHE_DIR"] = cache_dir
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port",
             str(self.port), "--server.headless", "true", "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not become healthy within 120 s")

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --------------------------------------------------------------------------- browser

#: The window every page opens in (``--width`` changes its width: e.g. 1024 for a
#: laptop with the sidebar open, where the column measurer lays the views out again).
VIEWPORT = {"width": 1366, "height": 768}


class Probe:
    """One Chromium page with a WebSocket byte counter and a DOM-mutation clock (``browser``:
    a browser — the page gets a context, i.e. an HTTP cache, of its own — or a context)."""

    def __init__(self, browser):
        from playwright.sync_api import Browser

        # a context's pages share its viewport (set when it was made) and its HTTP cache
        self.page = browser.new_page(viewport=VIEWPORT) if isinstance(browser, Browser) \
            else browser.new_page()
        self.received = 0
        self.page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda payload: self._count(payload)))
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")

    def task_seconds(self) -> float:
        """Main-thread task time of the page so far (Chromium's ``TaskDuration``)."""
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "TaskDuration")

    def _count(self, payload) -> None:
        self.received += len(payload)

    def settle(self, quiet_ms: int = 400, timeout_s: float = 60.0) -> float:
        """Wait until the page has not changed for ``quiet_ms``; the last change's time."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            last, now = self.page.evaluate("() => [window.__last, performance.now()]")
            if now - last >= quiet_ms:
                return last
            self.page.wait_for_timeout(100)
        raise TimeoutError("the page kept changing")

    def _navigate(self, url: str, ready: str, drawn: str) -> None:
        """Go to ``url`` with the DOM-mutation clock installed; wait until ``ready`` is on
        screen and the JavaScript condition ``drawn`` holds."""
        self.page.add_init_script(f"({_OBSERVER})()")
        self.page.goto(url)
        self.page.get_by_text(ready).first.wait_for(timeout=120_000)
        self.page.wait_for_function(drawn, timeout=120_000)

    def open(self, url: str, ready: str) -> float:
        """Seconds from navigation start to the settled page (:meth:`first_picture`: to the
        first chart)."""
        self._navigate(url, ready,
                       "document.querySelectorAll('.stPlotlyChart .main-svg, .stCode').length > 0")
        return self.settle() / 1000.0

    def open_first(self, url: str, ready: str) -> float:
        """Seconds from navigation start to the first chart drawn, once ``ready`` is on
        screen and a chart drawn (nothing waits for the page to settle)."""
        self._navigate(url, ready, "window.__first !== null")
        return self.first_picture()

    def first_picture(self) -> float | None:
        """Seconds from navigation start to the first chart drawn (``None``: no chart)."""
        first = self.page.evaluate("() => window.__first")
        return None if first is None else first / 1000.0

    def change_filters(self, value: str, server: Server) -> tuple[float, int, float, float]:
        """(ms from keydown to the last redraw, bytes received, server CPU s, browser
        main-thread s)."""
        box = self.page.get_by_label("filters", exact=True)
        box.fill(value)
        self.settle()
        cpu0, bytes0, task0 = server.cpu_seconds(), self.received, self.task_seconds()
        box.press("Enter")
        self.page.wait_for_timeout(200)
        last = self.settle()
        keydown = self.page.evaluate("() => window.__keydown")
        return (last - keydown, self.received - bytes0, server.cpu_seconds() - cpu0,
                self.task_seconds() - task0)

    def close(self) -> None:
        self.page.close()


@dataclass
class Result:
    scenario: str
    label: str
    open_s: float
    first_s: float | None = None
    warm_s: float | None = None        # first picture, HTTP cache warm (median)
    open_kb: float | None = None       # WebSocket bytes of the open (after compression)
    open_cpu_ms: float | None = None   # server CPU of the open (static files, session, run)
    latency_ms: float | None = None
    browser_ms: float | None = None    # the page's main-thread task time for the interaction
    kb: float | None = None
    cpu_ms: float | None = None


def warm_first_pictures(browser, servers: dict, sc: Scenario, repeat: int) -> dict:
    """Label → first picture (s) of ``repeat`` opens of ``sc``'s link, each server in a
    browser context of its own after one unmeasured open there (which fills its HTTP
    cache): a new tab per open, the previous one closed (its session ends), the servers
    alternating open by open (ABBA…), 0.5 s of quiet before each."""
    contexts = {label: browser.new_context(viewport=VIEWPORT) for label in servers}
    times = {label: [] for label in servers}
    order = list(servers)
    try:
        for i in range(repeat + 1):
            for label in (order if i % 2 else order[::-1]):
                time.sleep(0.5)
                probe = Probe(contexts[label])
                try:
                    first = probe.open_first(servers[label].url + "/" + sc.query,
                                             sc.ready_text)
                finally:
                    probe.close()
                if i:
                    times[label].append(first)
    finally:
        for context in contexts.values():
            context.close()
    return times


def measure(browser, server: Server, sc: Scenario, label: str, repeat: int,
            warm_s: float | None = None) -> tuple[Result, list]:
    """The scenario opened once in a new page, then ``repeat`` filters changes: the open's
    :class:`Result` and the changes' ``(ms, bytes, server s, browser s)``
    (:meth:`Probe.change_filters`); :func:`with_changes` writes their medians in."""
    probe = Probe(browser)
    try:
        cpu0 = server.cpu_seconds()
        opened = probe.open(server.url + "/" + sc.query, sc.ready_text)
        result = Result(sc.name, label, opened, probe.first_picture(), warm_s,
                        probe.received / 1000, (server.cpu_seconds() - cpu0) * 1000)
        if sc.new_filters is None:
            return result, []
        return result, [probe.change_filters(v, server)
                        for _, v in zip(range(repeat), [sc.new_filters, "4"] * repeat)]
    finally:
        probe.close()


def with_changes(result: Result, runs: list) -> Result:
    """``result`` with the medians of the changes ``runs`` (none: unchanged)."""
    if runs:
        result.latency_ms = statistics.median(r[0] for r in runs)
        result.browser_ms = statistics.median(r[3] for r in runs) * 1000
        result.kb = statistics.median(r[1] for r in runs) / 1000
        result.cpu_ms = statistics.median(r[2] for r in runs) * 1000
    return result


def measure_rounds(browser, servers: dict, sc: Scenario, repeat: int, rounds: int,
                   warm: dict) -> list[Result]:
    """Every tree measured ``rounds`` times in alternation (A B A B …: a slow moment of the
    machine hits both sides), each round an open and ``repeat`` changes; per tree the
    first round's open and the median of all its changes."""
    opens, runs = {}, {label: [] for label in servers}
    for _ in range(rounds):
        for label, server in servers.items():
            result, changes = measure(browser, server, sc, label, repeat,
                                      statistics.median(warm[label]) if label in warm
                                      else None)
            opens.setdefault(label, result)
            runs[label] += changes
    return [with_changes(opens[label], runs[label]) for label in servers]


# --------------------------------------------------------------------------- runs

def _fmt(v, spec) -> str:
    return "—" if v is None else format(v, spec)


def _table(results: list[Result]) -> str:
    head = ("| scenario | code | first picture s | first picture warm s | open s | open kB | "
            "open server CPU ms | input→picture ms | browser CPU ms | kB sent | server CPU ms |")
    rows = [head, "|" + "---|" * 11]
    for r in results:
        rows.append(f"| {r.scenario} | {r.label} | {_fmt(r.first_s, '.2f')} | "
                    f"{_fmt(r.warm_s, '.2f')} | {r.open_s:.2f} | "
                    f"{_fmt(r.open_kb, '.0f')} | {_fmt(r.open_cpu_ms, '.0f')} | "
                    f"{_fmt(r.latency_ms, '.0f')} | {_fmt(r.browser_ms, '.0f')} | "
                    f"{_fmt(r.kb, '.0f')} | "
                    f"{_fmt(r.cpu_ms, '.0f')} |")
    return "\n".join(rows)


def cold_start(root: Path, label: str, browser) -> str:
    cache = tempfile.mkdtemp(prefix="convlab-numba-")
    server = Server(root, cache_dir=cache)
    try:
        probe = Probe(browser)
        opened = probe.open(server.url + "/", "Output shape:")
        probe.close()
        return f"{label}: first page with an empty Numba cache {opened:.1f} s after navigation"
    finally:
        server.stop()
        shutil.rmtree(cache, ignore_errors=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--compare", metavar="REV", help="also measure this git revision")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rounds", type=int, default=1,
                   help="measure the trees this many times in alternation (changes pooled)")
    p.add_argument("--cold", action="store_true")
    p.add_argument("--only", default="", help="scenarios whose name contains this text")
    p.add_argument("--no-tree", action="store_true",
                   help="with --compare: measure only the revision")
    p.add_argument("--no-warm", action="store_true",
                   help="skip the warm-cache opens (first picture warm s)")
    p.add_argument("--width", type=int, default=VIEWPORT["width"],
                   help="the browser window's width in CSS px (height 768)")
    args = p.parse_args(argv)
    VIEWPORT["width"] = args.width
    from playwright.sync_api import sync_playwright

    roots = [] if args.no_tree and args.compare else [("working tree", ROOT)]
    if args.compare:
        roots.insert(0, (args.compare, Path(add_worktree(args.compare))))
    servers = {label: Server(root) for label, root in roots}
    results, notes, loads = [], [], [os.getloadavg()[0]]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for sc in SCENARIOS:
                if args.only not in sc.name:
                    continue
                print(f"measuring {sc.name}", file=sys.stderr, flush=True)
                for label, _ in roots:
                    measure(browser, servers[label], sc, label, 1)  # warm caches
                warm = (warm_first_pictures(browser, servers, sc, args.repeat)
                        if sc.warm and not args.no_warm else {})
                results += measure_rounds(browser, servers, sc, args.repeat, args.rounds,
                                          warm)
                loads.append(os.getloadavg()[0])
            if args.cold:
                notes = [cold_start(root, label, browser) for label, root in roots]
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
        for label, root in roots:
            if root != ROOT:
                remove_worktree(root)
    print(_table(results))
    print(f"load average (1 min) during the run: {min(loads):.1f}–{max(loads):.1f}")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
