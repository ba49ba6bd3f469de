"""Run the app's first pages once, headlessly, as soon as a freshly started server answers.

    .venv/bin/python scripts/prime_app.py --port 8501 &   # what `make run` does

Streamlit runs ``app/main.py`` only when a browser opens a session, so without this the
first person to open the app waits for that process's first script run: importing NumPy,
Numba, Plotly and the engine, loading the kernels from the Numba cache (compiled by
``scripts/warm_kernels.py`` at setup) and computing the default picture. This script opens
one session per link in :data:`LINKS` over Streamlit's own WebSocket protocol (the default
page first), waits for ``script_finished`` and closes it, then prints one line. Only a
loopback address is contacted; every wait is bounded; a failure only prints a note (the app
keeps running either way).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import urllib.request

#: The default page first (what ``make run``'s newcomer opens), then the other views.
LINKS = ("", "view=animate", "view=receptive", "view=stack", "view=learn")


def wait_healthy(base: str, timeout: float) -> bool:
    """Poll ``/_stcore/health`` until it answers ``ok`` or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


async def run_page(host: str, query: str, timeout: float) -> None:
    """One session on ``ws://host/_stcore/stream``: one script run of ``?query``."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    back = BackMsg()
    back.rerun_script.query_string = query
    back.rerun_script.page_script_hash = ""
    async with websockets.connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"],
                                  origin=f"http://{host}", max_size=None, open_timeout=timeout,
                                  close_timeout=5, ping_interval=None) as ws:
        await ws.send(back.SerializeToString())
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.01))
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            if (msg.WhichOneof("type") == "script_finished"
                    and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN):
                return


async def prime(host: str, timeout: float) -> float:
    """Every link of :data:`LINKS` in turn; seconds until the default page was done."""
    t0 = time.perf_counter()
    first = None
    for query in LINKS:
        await run_page(host, query, timeout)
        first = first if first is not None else time.perf_counter() - t0
    return first


def _errors() -> tuple:
    from google.protobuf.message import DecodeError
    from websockets.exceptions import WebSocketException

    return OSError, EOFError, TimeoutError, asyncio.TimeoutError, WebSocketException, DecodeError


def main(argv=None) -> int:
    """Wait for the server, prime it, print what happened; always exit 0 (a note on failure)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8501)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per wait")
    args = ap.parse_args(argv)
    host = f"127.0.0.1:{args.port}"
    if not wait_healthy(f"http://{host}", args.timeout):
        print(f"prime_app: no server on {host} within {args.timeout:.0f} s", file=sys.stderr)
        return 0
    t0 = time.perf_counter()
    try:
        first = asyncio.run(prime(host, args.timeout))
    except _errors() as exc:
        print(f"prime_app: could not prepare the first page ({type(exc).__name__}: {exc}); "
              "it will be computed when it is opened", file=sys.stderr)
        return 0
    print(f"  convlab is ready: first page prepared in {first:.1f} s, all views in "
          f"{time.perf_counter() - t0:.1f} s — open http://localhost:{args.port}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
