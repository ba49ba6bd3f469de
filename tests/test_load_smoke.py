"""A real server on 127.0.0.1 and three simulated users for a few seconds (the full load test
with 20+ users, 1 vs 2 processes behind nginx, is ``python -m benchmarks.load_test``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.load_test import free_ports, run_load

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server():
    port = free_ports(1)[0]
    log = open(os.devnull, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
         "--server.address", "127.0.0.1"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the app did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_three_users_get_correct_pages(server):
    report = asyncio.run(run_load(server, users=3, duration=6, timeout=120, sticky=False,
                                  think=(0.0, 0.2)))
    summary = report.summary()
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["ok"] >= 3
    assert summary["max_message_bytes"] < 50 * 1024 * 1024  # server.maxMessageSize


def test_a_bad_frame_closes_only_that_connection(server):
    """A client sending garbage is disconnected; the server keeps serving others."""
    import websockets

    async def go():
        host = server.split("//")[1]
        async with websockets.connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"],
                                      origin=server, max_size=None) as ws:
            await ws.send(b"\x00garbage\xff" * 100)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)

    asyncio.run(go())
    report = asyncio.run(run_load(server, users=1, duration=1, sticky=False))
    assert report.summary()["errors"] == 0
