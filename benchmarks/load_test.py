"""Load test: simulated students driving convlab over Streamlit's WebSocket, on 127.0.0.1.

Each simulated user behaves like a browser tab opening shared links: it (optionally) fetches
``/`` to get nginx's sticky cookie, then, until the time is up, opens a session on
``/_stcore/stream``, sends a ``rerun_script`` BackMsg whose ``query_string`` describes a
layer, an input and its arguments (different per user and per request, with unique sizes or
seeds so that no two requests share a cached result), reads ForwardMsgs until
``script_finished``, checks the page, sends one more rerun of the same session (what a widget
change costs when the result is cached), closes, thinks for a moment and starts again.

A request counts as an **error** when the connection fails or times out, the script does not
finish successfully, the page holds an exception, an error box, or no ``Output shape:`` text,
or the shape shown differs from the engine's ``compute_output_shape`` for that request.

Usage (from the repository root, with the project's venv)::

    python -m benchmarks.load_test --url http://127.0.0.1:8501 --users 24 --duration 60
    python -m benchmarks.load_test --compare --users 24 --duration 60   # 1 vs 2 processes

``--compare`` starts its own clusters with ``deploy/run_cluster.sh`` on free loopback ports
(one process: measured directly and through nginx; two processes: through nginx), runs the
same load on each, stops them, and prints latency percentiles, errors and throughput. Only
127.0.0.1 is ever contacted; every run stops by itself (``--duration`` plus at most
``--timeout`` for the requests in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHAPE_RE = re.compile(r"Output shape: (\([^)]*\))")


# --------------------------------------------------------------------------- requests

@dataclass
class Request:
    query: dict
    expected: tuple
    label: str

    @property
    def query_string(self) -> str:
        return urllib.parse.urlencode(self.query, safe="(),")


def _fmt(v) -> str:
    from app.state import format_literal

    return format_literal(v)


SCENARIOS = (
    # (label, layer, kwargs, input: ("synthetic", batch, spatial range per axis, channels)
    #  or ("sample", name), weights are random initializers with a unique seed)
    ("conv2d-photo-same", "Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same"},
     ("sample", "photo")),
    ("conv2d-photo-5x5-s2", "Conv2D", {"filters": 16, "kernel_size": 5, "strides": 2},
     ("sample", "photo")),
    ("depthwise-photo", "DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2},
     ("sample", "photo")),
    ("separable-synthetic", "SeparableConv2D", {"filters": 8, "kernel_size": 3},
     ("synthetic", 1, (48, 128), 3)),
    ("transpose-synthetic", "Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2},
     ("synthetic", 1, (16, 64), 2)),
    ("conv2d-batch-synthetic", "Conv2D", {"filters": 6, "kernel_size": 3, "padding": "same"},
     ("synthetic", 2, (32, 96), 3)),
    ("upsample-bilinear", "UpSampling2D", {"size": 2, "interpolation": "bilinear"},
     ("synthetic", 1, (24, 96), 3)),
    ("zeropad-2d", "ZeroPadding2D", {"padding": ((1, 2), (3, 0))}, ("synthetic", 1, (16, 96), 1)),
    ("conv1d-ecg", "Conv1D", {"filters": 8, "kernel_size": 7, "padding": "causal"},
     ("sample", "ecg")),
    ("conv1d-synthetic", "Conv1D", {"filters": 4, "kernel_size": 5, "dilation_rate": 2},
     ("synthetic", 1, (200, 2000), 2)),
    ("conv3d-volume", "Conv3D", {"filters": 4, "kernel_size": 3, "padding": "same"},
     ("sample", "volume")),
    ("conv3d-synthetic", "Conv3D", {"filters": 2, "kernel_size": 3},
     ("synthetic", 1, (6, 20), 1)),
)


def make_request(rng: random.Random, serial: int) -> Request:
    from app.compute import load_sample
    from app.state import has_weights
    from engine.layers import LAYER_CLASSES

    label, layer, kwargs, source = SCENARIOS[rng.randrange(len(SCENARIOS))]
    rank = LAYER_CLASSES[layer].rank
    query = {"layer": layer, **{k: _fmt(v) for k, v in kwargs.items()}}
    if source[0] == "sample":
        arr, _ = load_sample(source[1])
        shape = (1,) + tuple(arr.shape)
        query["sample"] = source[1]
    else:
        _, batch, (lo, hi), channels = source
        shape = (batch,) + tuple(rng.randint(lo, hi) for _ in range(rank)) + (channels,)
        query["input_shape"] = _fmt(shape)
    if has_weights(layer):
        query["weights"] = "init"
        query["seed"] = str(1 + serial)  # a result nobody has computed yet
    expected = tuple(LAYER_CLASSES[layer](**kwargs).compute_output_shape(shape))
    return Request(query, expected, label)


# --------------------------------------------------------------------------- one session

@dataclass
class Outcome:
    label: str
    ok: bool
    user: int = -1
    first: float | None = None      # seconds to script_finished, new session
    rerun: float | None = None      # seconds to script_finished, same session again
    error: str = ""
    backend: str = ""
    max_message: int = 0
    received: int = 0


def _page_problems(msgs, request: Request) -> str:
    from streamlit.proto.Alert_pb2 import Alert

    shapes, problems = [], []
    for msg in msgs:
        if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
            continue
        el = msg.delta.new_element
        kind = el.WhichOneof("type")
        if kind == "markdown":
            shapes += SHAPE_RE.findall(el.markdown.body)
        elif kind == "exception":
            problems.append(f"exception: {el.exception.type}: {el.exception.message[:200]}")
        elif kind == "alert" and el.alert.format == Alert.ERROR:
            problems.append(f"error box: {el.alert.body[:200]}")
    if problems:
        return "; ".join(problems)
    if not shapes:
        return "no 'Output shape:' text"
    if shapes[0] != str(request.expected):
        return f"shape {shapes[0]} != expected {request.expected}"
    return ""


async def _run_script(ws, query_string: str, timeout: float):
    """Send one rerun; return (seconds, messages, status, biggest message size)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    back = BackMsg()
    back.rerun_script.query_string = query_string
    back.rerun_script.page_script_hash = ""
    t0 = time.perf_counter()
    await ws.send(back.SerializeToString())
    msgs, biggest, received = [], 0, 0
    deadline = t0 + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError(f"no script_finished within {timeout:.0f} s")
        raw = await asyncio.wait_for(ws.recv(), left)
        biggest = max(biggest, len(raw))
        received += len(raw)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        msgs.append(msg)
        if msg.WhichOneof("type") == "script_finished":
            status = msg.script_finished
            if status in (ForwardMsg.FINISHED_EARLY_FOR_RERUN,):
                continue
            return time.perf_counter() - t0, msgs, status, biggest, received


async def one_session(base: str, request: Request, cookie: str, timeout: float) -> Outcome:
    import websockets
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    url = urllib.parse.urlparse(base)
    ws_url = f"ws://{url.netloc}/_stcore/stream"
    out = Outcome(request.label, False)
    headers = {"Cookie": cookie} if cookie else {}
    try:
        async with websockets.connect(ws_url, subprotocols=["streamlit"],
                                      additional_headers=headers, origin=f"http://{url.netloc}",
                                      max_size=None, open_timeout=timeout,
                                      close_timeout=5, ping_interval=None) as ws:
            out.backend = (ws.response.headers.get("X-Convlab-Backend", "") if ws.response
                           else "")
            dt, msgs, status, big, rec = await _run_script(ws, request.query_string, timeout)
            out.first, out.max_message, out.received = dt, big, rec
            if status != ForwardMsg.FINISHED_SUCCESSFULLY:
                out.error = f"script finished with status {status}"
                return out
            problem = _page_problems(msgs, request)
            if problem:
                out.error = problem
                return out
            dt, msgs, status, big, rec = await _run_script(ws, request.query_string, timeout)
            out.rerun = dt
            out.max_message = max(out.max_message, big)
            out.received += rec
            problem = _page_problems(msgs, request)
            if status != ForwardMsg.FINISHED_SUCCESSFULLY or problem:
                out.error = f"rerun: {problem or f'status {status}'}"
                return out
            out.ok = True
    except Exception as exc:  # noqa: BLE001 - every failure is a counted error
        out.error = f"{type(exc).__name__}: {exc}"[:300]
    return out


def _get_cookie(base: str, timeout: float) -> tuple[str, str]:
    """GET / like a browser: nginx's sticky cookie (if any) and the answering backend."""
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        resp.read()
        cookies = [h.split(";", 1)[0] for k, h in resp.getheaders() if k.lower() == "set-cookie"]
        return "; ".join(cookies), resp.getheader("X-Convlab-Backend") or ""
    finally:
        conn.close()


# --------------------------------------------------------------------------- the load

@dataclass
class Report:
    target: str
    users: int
    duration: float
    outcomes: list = field(default_factory=list)
    wall: float = 0.0

    def summary(self) -> dict:
        ok = [o for o in self.outcomes if o.ok]
        first = sorted(o.first for o in ok)
        rerun = sorted(o.rerun for o in ok)
        errors = [o for o in self.outcomes if not o.ok]
        backends: dict = {}
        seen: dict = {}
        for o in self.outcomes:
            backends[o.backend or "direct"] = backends.get(o.backend or "direct", 0) + 1
            if o.backend:
                seen.setdefault(o.user, set()).add(o.backend)
        return {
            "target": self.target, "users": self.users, "duration_s": round(self.wall, 1),
            "requests": len(self.outcomes), "ok": len(ok), "errors": len(errors),
            "throughput_per_s": round(len(ok) / self.wall, 2) if self.wall else 0.0,
            "first_p50": pct(first, 50), "first_p90": pct(first, 90), "first_p99": pct(first, 99),
            "rerun_p50": pct(rerun, 50), "rerun_p90": pct(rerun, 90), "rerun_p99": pct(rerun, 99),
            "max_message_bytes": max((o.max_message for o in self.outcomes), default=0),
            "backends": backends,
            # users whose sessions did not all land on one process (sticky sessions broken)
            "sticky_violations": sum(len(b) > 1 for b in seen.values()),
            "error_samples": sorted({o.error for o in errors})[:5],
        }


def pct(values: list, p: float):
    if not values:
        return None
    k = (len(values) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 3)


async def run_load(base: str, users: int, duration: float, timeout: float = 120.0,
                   seed: int = 0, think: tuple = (0.2, 1.0), max_requests: int = 100_000,
                   sticky: bool = True) -> Report:
    """``users`` concurrent users against ``base`` for ``duration`` seconds."""
    report = Report(base, users, duration)
    rng = random.Random(seed)
    serial = iter(range(seed * 1_000_000, seed * 1_000_000 + max_requests))
    t_start = time.perf_counter()
    stop_at = t_start + duration

    async def user(uid: int):
        urng = random.Random(rng.random())
        await asyncio.sleep(urng.uniform(0, min(2.0, duration / 10)))  # staggered arrivals
        cookie = ""
        if sticky:
            try:
                cookie, _ = await asyncio.to_thread(_get_cookie, base, timeout)
            except OSError as exc:
                report.outcomes.append(Outcome("GET /", False, error=f"GET /: {exc}"))
                return
        while time.perf_counter() < stop_at:
            try:
                n = next(serial)
            except StopIteration:
                return
            request = make_request(urng, n)
            outcome = await one_session(base, request, cookie, timeout)
            outcome.user = uid
            report.outcomes.append(outcome)
            await asyncio.sleep(urng.uniform(*think))

    await asyncio.gather(*(user(i) for i in range(users)))
    report.wall = time.perf_counter() - t_start
    return report


def warm_up(base: str, timeout: float = 300.0) -> None:
    """One request per scenario so that compilation and sample loading are not measured."""
    async def go():
        rng = random.Random(12345)
        for i in range(len(SCENARIOS)):
            label, *_ = SCENARIOS[i]
            req = None
            while req is None or req.label != label:
                req = make_request(rng, 10 ** 8 + i)
            out = await one_session(base, req, "", timeout)
            if not out.ok:
                raise RuntimeError(f"warm-up request {label} failed: {out.error}")
    asyncio.run(go())


# --------------------------------------------------------------------------- clusters

def free_ports(n: int) -> list:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Cluster:
    """``deploy/run_cluster.sh`` with N processes on free loopback ports, in a temp dir."""

    def __init__(self, n: int):
        self.n = n
        self.dir = tempfile.mkdtemp(prefix="convlab-cluster-")
        ports = free_ports(n + 1)
        self.listen, self.app_ports = ports[0], None
        # consecutive app ports: find a free run
        for _ in range(50):
            base = random.randint(20000, 60000 - n)
            if all(_port_free(base + i) for i in range(n)):
                self.app_ports = [base + i for i in range(n)]
                break
        if self.app_ports is None:
            raise RuntimeError("no free ports")

    def __enter__(self):
        subprocess.run([str(ROOT / "deploy" / "run_cluster.sh"), "start", "-n", str(self.n),
                        "-p", str(self.listen), "-b", str(self.app_ports[0]), "-d", self.dir],
                       check=True, env={**os.environ, "PYTHON": sys.executable})
        return self

    def __exit__(self, *exc):
        subprocess.run([str(ROOT / "deploy" / "run_cluster.sh"), "stop", "-d", self.dir],
                       check=False, env={**os.environ, "PYTHON": sys.executable})
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.listen}"

    def app_url(self, i: int = 0) -> str:
        return f"http://127.0.0.1:{self.app_ports[i]}"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def print_table(rows: list) -> None:
    cols = [("target", 34), ("users", 5), ("requests", 8), ("errors", 6),
            ("throughput_per_s", 10), ("first_p50", 9), ("first_p90", 9), ("first_p99", 9),
            ("rerun_p50", 9), ("rerun_p90", 9), ("rerun_p99", 9)]
    heads = {"throughput_per_s": "req/s", "first_p50": "new p50", "first_p90": "new p90",
             "first_p99": "new p99", "rerun_p50": "rerun p50", "rerun_p90": "rerun p90",
             "rerun_p99": "rerun p99"}
    print("  ".join(heads.get(c, c).rjust(w) for c, w in cols))
    for r in rows:
        print("  ".join(str(r[c] if r[c] is not None else "-").rjust(w) for c, w in cols))
    print("(latencies in seconds to script_finished; 'new' = a new session opened from a URL,"
          " 'rerun' = the same session again; req/s = sessions completed per second)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="an app or nginx already running on 127.0.0.1")
    ap.add_argument("--compare", action="store_true",
                    help="start 1- and 2-process clusters (deploy/run_cluster.sh) and compare")
    ap.add_argument("--users", type=int, default=24)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--think", default="0.2,1.0",
                    help="seconds a user waits between sessions: MIN,MAX (default 0.2,1.0: "
                         "a stress test; 5,15 is closer to students reading the page)")
    ap.add_argument("--json", help="also write the summaries to this file")
    args = ap.parse_args(argv)
    think = tuple(float(v) for v in args.think.split(","))
    if not args.url and not args.compare:
        ap.error("give --url or --compare")
    rows = []
    if args.url:
        host = urllib.parse.urlparse(args.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            ap.error("the load test only talks to the loopback address")
        warm_up(args.url)
        rows.append(asyncio.run(run_load(args.url, args.users, args.duration, args.timeout,
                                         args.seed, think)).summary())
    if args.compare:
        with Cluster(1) as one:
            warm_up(one.app_url())
            r = asyncio.run(run_load(one.app_url(), args.users, args.duration, args.timeout,
                                     args.seed, think, sticky=False)).summary()
            r["target"] = "1 process, direct"
            rows.append(r)
            r = asyncio.run(run_load(one.nginx_url, args.users, args.duration, args.timeout,
                                     args.seed + 1, think)).summary()
            r["target"] = "1 process behind nginx"
            rows.append(r)
        with Cluster(2) as two:
            for i in range(2):
                warm_up(two.app_url(i))
            r = asyncio.run(run_load(two.nginx_url, args.users, args.duration, args.timeout,
                                     args.seed + 2, think)).summary()
            r["target"] = "2 processes behind nginx"
            rows.append(r)
    print_table(rows)
    for r in rows:
        print(f"{r['target']}: backends {r['backends']} (sticky violations "
              f"{r['sticky_violations']}), biggest message "
              f"{r['max_message_bytes'] / 1e6:.2f} MB" + (
                  f", errors: {r['error_samples']}" if r["errors"] else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["errors"] == 0 and r["sticky_violations"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
