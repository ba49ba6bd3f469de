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
    # a class (issue 15): 30 users, 5–15 s think, 2 processes behind nginx, 20 minutes
    python -m benchmarks.load_test --cluster 2 --users 30 --think 5,15 --arrival 15 \
        --duration 1200 --json soak.json
    python -m benchmarks.load_test --capacity --think 5,15        # users one core holds

Every run prints p50 / p90 / p95 / p99 to ``script_finished`` for new sessions and for
reruns, errors and throughput. ``--cluster N`` starts N processes behind nginx with
``deploy/run_cluster.sh`` on free loopback ports, warms each, loads them through nginx and
samples the RSS of every app process every ``--sample-every`` seconds (first, last, max, and
the least-squares slope in MB per 10 minutes over the run and over its second half, once the
caches have filled); it ends with a verdict against the issue's targets (``--p95``,
``--flat-mb``, no error). ``--url`` loads a running app or nginx (``--run-dir`` = the
cluster script's ``-d`` to sample its processes). ``--compare`` starts its own clusters (one
process: measured directly and through nginx; two processes: through nginx). ``--capacity``
pins one process with one Numba thread (and its nginx) to one core and the load generator to
the others, runs ``--ramp`` user counts for ``--step`` seconds each and reports the most users
with p95 ≤ ``--p95`` for both new sessions and reruns and no error. Only 127.0.0.1 is ever
contacted; every run stops by itself (``--duration`` plus at most three ``--timeout`` for the
requests in flight; cluster start and stop are bounded too).
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


def _session_errors() -> tuple:
    """What a failed connection, handshake, message or timeout raises."""
    from google.protobuf.message import DecodeError
    from websockets.exceptions import WebSocketException

    return (OSError, EOFError, TimeoutError, asyncio.TimeoutError, WebSocketException,
            DecodeError)


SESSION_ERRORS = _session_errors()


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
    except SESSION_ERRORS as exc:  # every failure of the connection is a counted error
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


# --------------------------------------------------------------------------- memory

def rss_mb(pid: int) -> float | None:
    """Resident set size of process ``pid`` in MB (``/proc/<pid>/status``); None if gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def slope_per_10min(points: list) -> float | None:
    """Least-squares slope of ``[(seconds, MB), ...]`` in MB per 10 minutes."""
    if len(points) < 2:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mm = sum(m for _, m in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return None
    return 600 * sum((t - mt) * (m - mm) for t, m in points) / var


def memory_stats(points: list) -> dict:
    """First, last and max MB, and the slope over the run and over its second half
    (after the caches have filled, where "flat" is judged)."""
    if not points:
        return {}
    mbs = [m for _, m in points]

    def r(v):
        return None if v is None else round(v, 1)

    return {"first_mb": r(mbs[0]), "last_mb": r(mbs[-1]), "max_mb": r(max(mbs)),
            "slope_mb_per_10min": r(slope_per_10min(points)),
            "second_half_slope_mb_per_10min": r(slope_per_10min(points[len(points) // 2:]))}


@dataclass
class MemorySampler:
    """RSS of every app process (``{label: pid}``) every ``interval`` seconds."""

    pids: dict
    interval: float = 15.0
    samples: list = field(default_factory=list)   # (seconds since start, {label: MB})

    def sample(self, t: float) -> None:
        self.samples.append((round(t, 1), {k: rss_mb(p) for k, p in self.pids.items()}))

    async def run(self, t0: float, stop_at: float) -> None:
        """Sample from now until ``stop_at`` (``time.perf_counter()`` clock)."""
        while True:
            self.sample(time.perf_counter() - t0)
            left = stop_at - time.perf_counter()
            if left <= 0:
                return
            await asyncio.sleep(min(self.interval, left))

    def summary(self) -> dict:
        per = {label: memory_stats([(t, m[label]) for t, m in self.samples
                                    if m.get(label) is not None]) for label in self.pids}
        total = [(t, sum(m.values())) for t, m in self.samples
                 if m and all(v is not None for v in m.values())]
        return {"interval_s": self.interval, "samples": len(self.samples), "processes": per,
                "total": memory_stats(total), "series": self.samples}


# --------------------------------------------------------------------------- the load

@dataclass
class Report:
    target: str
    users: int
    duration: float
    outcomes: list = field(default_factory=list)
    wall: float = 0.0
    memory: MemorySampler | None = None

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
        out = {
            "target": self.target, "users": self.users, "duration_s": round(self.wall, 1),
            "requests": len(self.outcomes), "ok": len(ok), "errors": len(errors),
            "throughput_per_s": round(len(ok) / self.wall, 2) if self.wall else 0.0,
            **{f"first_p{p}": pct(first, p) for p in PERCENTILES},
            **{f"rerun_p{p}": pct(rerun, p) for p in PERCENTILES},
            "max_message_bytes": max((o.max_message for o in self.outcomes), default=0),
            "backends": backends,
            # users whose sessions did not all land on one process (sticky sessions broken)
            "sticky_violations": sum(len(b) > 1 for b in seen.values()),
            "error_samples": sorted({o.error for o in errors})[:5],
        }
        out["scenarios"] = scenario_stats(ok)
        if self.memory is not None:
            out["memory"] = self.memory.summary()
        return out


def scenario_stats(ok: list) -> dict:
    """``{scenario label: {n, new_p50, new_p95, rerun_p95}}`` over successful sessions."""
    by: dict = {}
    for o in ok:
        by.setdefault(o.label, []).append(o)
    return {label: {"n": len(v), "new_p50": pct(sorted(o.first for o in v), 50),
                    "new_p95": pct(sorted(o.first for o in v), 95),
                    "rerun_p95": pct(sorted(o.rerun for o in v), 95)}
            for label, v in sorted(by.items())}


PERCENTILES = (50, 90, 95, 99)


def pct(values: list, p: float):
    if not values:
        return None
    k = (len(values) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 3)


async def run_load(base: str, users: int, duration: float, timeout: float = 120.0,
                   seed: int = 0, think: tuple = (0.2, 1.0), max_requests: int = 100_000,
                   sticky: bool = True, arrival: float | None = None,
                   pids: dict | None = None, sample_every: float = 15.0) -> Report:
    """``users`` concurrent users against ``base`` for ``duration`` seconds, arriving
    uniformly over ``arrival`` seconds (default: within 2 s); with ``pids`` (``{label:
    pid}``) the RSS of those processes is sampled every ``sample_every`` seconds. Bounded:
    no session starts after ``duration``, each script run waits at most ``timeout``."""
    report = Report(base, users, duration)
    rng = random.Random(seed)
    serial = iter(range(seed * 1_000_000, seed * 1_000_000 + max_requests))
    arrival = min(2.0, duration / 10) if arrival is None else min(arrival, duration)
    t_start = time.perf_counter()
    stop_at = t_start + duration

    async def user(uid: int):
        urng = random.Random(rng.random())
        await asyncio.sleep(urng.uniform(0, arrival))  # staggered arrivals
        cookie = ""
        if sticky:
            try:
                cookie, _ = await asyncio.to_thread(_get_cookie, base, timeout)
            except (OSError, http.client.HTTPException) as exc:
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
            await asyncio.sleep(min(urng.uniform(*think), max(stop_at - time.perf_counter(), 0)))

    tasks = [user(i) for i in range(users)]
    if pids:
        report.memory = MemorySampler(dict(pids), sample_every)
        tasks.append(report.memory.run(t_start, stop_at))
    limit = duration + arrival + 3 * timeout + 30  # the last sessions in flight, bounded
    await asyncio.wait_for(asyncio.gather(*tasks), limit)
    if report.memory is not None:
        report.memory.sample(time.perf_counter() - t_start)
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
    """``deploy/run_cluster.sh`` with N processes on free loopback ports, in a temp dir;
    ``cpus`` pins the processes (and their nginx) to those cores, ``threads`` sets
    ``NUMBA_NUM_THREADS`` / ``OMP_NUM_THREADS`` (default: the script's cores / N)."""

    def __init__(self, n: int, cpus: set | None = None, threads: int | None = None):
        self.n, self.cpus, self.threads = n, cpus, threads
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

    def _env(self) -> dict:
        env = {**os.environ, "PYTHON": sys.executable}
        if self.threads:
            env["NUMBA_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(self.threads)
        return env

    def __enter__(self):
        cpus = self.cpus
        subprocess.run([str(ROOT / "deploy" / "run_cluster.sh"), "start", "-n", str(self.n),
                        "-p", str(self.listen), "-b", str(self.app_ports[0]), "-d", self.dir],
                       check=True, env=self._env(), timeout=180,
                       preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        return self

    def __exit__(self, *exc):
        subprocess.run([str(ROOT / "deploy" / "run_cluster.sh"), "stop", "-d", self.dir],
                       check=False, env=self._env(), timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.listen}"

    def app_url(self, i: int = 0) -> str:
        return f"http://127.0.0.1:{self.app_ports[i]}"

    def pids(self) -> dict:
        return pids_in(self.dir)


def pids_in(run_dir: str) -> dict:
    """``{"app:<port>": pid}`` from the ``app-<port>.pid`` files deploy/run_cluster.sh wrote."""
    out = {}
    for f in sorted(Path(run_dir).glob("app-*.pid")):
        try:
            out[f"app:{f.stem.split('-', 1)[1]}"] = int(f.read_text().strip())
        except (OSError, ValueError):
            continue
    return out


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


# --------------------------------------------------------------------------- capacity

def capacity(ramp: list, step: float, think: tuple, target: float, timeout: float,
             seed: int = 0, sample_every: float = 15.0) -> dict:
    """Users one app process on one core holds with p95 ≤ ``target`` for new sessions and
    for reruns: one process with one Numba thread behind nginx, both pinned to the last
    core this process may use (the load generator runs on the others), ``ramp`` users for
    ``step`` seconds each, stopping at the first step over the target or with an error."""
    mine = sorted(os.sched_getaffinity(0))
    server = {mine[-1]}
    os.sched_setaffinity(0, set(mine[:-1]) or server)
    steps = []
    try:
        with Cluster(1, cpus=server, threads=1) as one:
            warm_up(one.app_url())
            for users in ramp:
                r = asyncio.run(run_load(one.nginx_url, users, step, timeout, seed + users,
                                         think, arrival=min(think[1], step / 4),
                                         pids=one.pids(), sample_every=sample_every)).summary()
                worst = max((v for v in (r["first_p95"], r["rerun_p95"]) if v is not None),
                            default=None)
                r["held"] = r["errors"] == 0 and worst is not None and worst <= target
                r["target"] = f"1 process, core {mine[-1]}, {users} users"
                steps.append(r)
                print(f"capacity: {users:3d} users: new p95 {r['first_p95']} s, rerun p95 "
                      f"{r['rerun_p95']} s, errors {r['errors']}, {r['ok']} sessions → "
                      f"{'held' if r['held'] else 'over the target'}", flush=True)
                if not r["held"]:
                    break
    finally:
        os.sched_setaffinity(0, set(mine))
    held = max((r["users"] for r in steps if r["held"]), default=0)
    return {"users_held": held, "target_p95_s": target, "step_s": step, "steps": steps,
            "server_core": mine[-1], "generator_cores": mine[:-1] or mine[-1:]}


# --------------------------------------------------------------------------- output

def print_table(rows: list) -> None:
    cols = [("target", 34), ("users", 5), ("requests", 8), ("errors", 6),
            ("throughput_per_s", 6)] + [
        (f"{kind}_p{p}", 9) for kind in ("first", "rerun") for p in PERCENTILES]
    heads = {"throughput_per_s": "req/s", **{
        f"{kind}_p{p}": f"{'new' if kind == 'first' else 'rerun'} p{p}"
        for kind in ("first", "rerun") for p in PERCENTILES}}
    print("  ".join(heads.get(c, c).rjust(w) for c, w in cols))
    for r in rows:
        print("  ".join(str(r[c] if r[c] is not None else "-").rjust(w) for c, w in cols))
    print("(latencies in seconds to script_finished; 'new' = a new session opened from a URL,"
          " 'rerun' = the same session again; req/s = sessions completed per second)")


def print_memory(row: dict) -> None:
    mem = row.get("memory")
    if not mem:
        return
    print(f"{row['target']}: RSS every {mem['interval_s']:.0f} s ({mem['samples']} samples), "
          "MB first / last / max, slope MB per 10 min (whole run; second half):")
    for label, st in list(mem["processes"].items()) + [("all processes", mem["total"])]:
        if st:
            print(f"  {label:>14}: {st['first_mb']} / {st['last_mb']} / {st['max_mb']}, "
                  f"slope {st['slope_mb_per_10min']}; {st['second_half_slope_mb_per_10min']}")


def verdict(row: dict, target: float, flat_mb: float) -> bool:
    """Print and return whether a class run meets the issue's targets: p95 ≤ ``target``
    for new sessions and reruns, no error, and every process's RSS slope over the second
    half of the run at most ``flat_mb`` MB per 10 minutes."""
    checks = [(f"new p95 {row['first_p95']} s ≤ {target}",
               row["first_p95"] is not None and row["first_p95"] <= target),
              (f"rerun p95 {row['rerun_p95']} s ≤ {target}",
               row["rerun_p95"] is not None and row["rerun_p95"] <= target),
              (f"errors {row['errors']} = 0", row["errors"] == 0)]
    mem = row.get("memory")
    if mem:
        slopes = [s.get("second_half_slope_mb_per_10min") for s in mem["processes"].values()]
        worst = max((s for s in slopes if s is not None), default=None)
        checks.append((f"memory slope (second half, worst process) {worst} MB / 10 min ≤ "
                       f"{flat_mb}", worst is not None and worst <= flat_mb))
    print(f"{row['target']}: " + "; ".join(f"{text} {'✓' if ok else '✗'}"
                                          for text, ok in checks))
    return all(ok for _, ok in checks)


# --------------------------------------------------------------------------- main

def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--url", help="an app or nginx already running on 127.0.0.1")
    mode.add_argument("--cluster", type=int, metavar="N",
                      help="start N processes behind nginx (deploy/run_cluster.sh), load "
                           "them through nginx and sample every process's RSS")
    mode.add_argument("--compare", action="store_true",
                      help="start 1- and 2-process clusters (deploy/run_cluster.sh) and compare")
    mode.add_argument("--capacity", action="store_true",
                      help="ramp users on one process pinned to one core until p95 > --p95")
    ap.add_argument("--users", type=int, default=24)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--think", default="0.2,1.0",
                    help="seconds a user waits between sessions: MIN,MAX (default 0.2,1.0: "
                         "a stress test; 5,15 is closer to students reading the page)")
    ap.add_argument("--arrival", type=float, default=None,
                    help="users arrive uniformly over this many seconds (default 2)")
    ap.add_argument("--run-dir", help="with --url: deploy/run_cluster.sh's -d directory, "
                                      "to sample the RSS of the processes it started")
    ap.add_argument("--sample-every", type=float, default=15.0, help="seconds between RSS samples")
    ap.add_argument("--p95", type=float, default=0.5, help="target p95 in seconds")
    ap.add_argument("--flat-mb", type=float, default=10.0,
                    help="'flat' memory: RSS slope over the second half at most this many MB "
                         "per 10 minutes per process")
    ap.add_argument("--ramp", default="4,8,12,16,20,24,28,32,40,48",
                    help="--capacity: user counts to try, in order")
    ap.add_argument("--step", type=float, default=60.0, help="--capacity: seconds per step")
    ap.add_argument("--json", help="also write the summaries to this file")
    return ap


def _compare(args, think) -> list:
    rows = []
    with Cluster(1) as one:
        warm_up(one.app_url())
        r = asyncio.run(run_load(one.app_url(), args.users, args.duration, args.timeout,
                                 args.seed, think, sticky=False, arrival=args.arrival)).summary()
        r["target"] = "1 process, direct"
        rows.append(r)
        r = asyncio.run(run_load(one.nginx_url, args.users, args.duration, args.timeout,
                                 args.seed + 1, think, arrival=args.arrival)).summary()
        r["target"] = "1 process behind nginx"
        rows.append(r)
    with Cluster(2) as two:
        for i in range(2):
            warm_up(two.app_url(i))
        r = asyncio.run(run_load(two.nginx_url, args.users, args.duration, args.timeout,
                                 args.seed + 2, think, arrival=args.arrival)).summary()
        r["target"] = "2 processes behind nginx"
        rows.append(r)
    return rows


def _cluster(args, think) -> dict:
    with Cluster(args.cluster) as cluster:
        for i in range(args.cluster):
            warm_up(cluster.app_url(i))
        r = asyncio.run(run_load(cluster.nginx_url, args.users, args.duration, args.timeout,
                                 args.seed, think, arrival=args.arrival, pids=cluster.pids(),
                                 sample_every=args.sample_every)).summary()
    r["target"] = f"{args.cluster} process{'es' if args.cluster > 1 else ''} behind nginx"
    return r


def main(argv=None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    think = tuple(float(v) for v in args.think.split(","))
    if args.url and urllib.parse.urlparse(args.url).hostname not in ("127.0.0.1", "localhost",
                                                                     "::1"):
        ap.error("the load test only talks to the loopback address")
    if args.capacity:
        result = capacity([int(v) for v in args.ramp.split(",")], args.step, think, args.p95,
                          args.timeout, args.seed, args.sample_every)
        print(f"one process on one core holds {result['users_held']} users at p95 ≤ "
              f"{args.p95} s ({think[0]:g}–{think[1]:g} s think, {args.step:.0f} s per step)")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        return 0 if result["users_held"] else 1
    if args.compare:
        rows = _compare(args, think)
    elif args.cluster:
        rows = [_cluster(args, think)]
    else:
        warm_up(args.url)
        rows = [asyncio.run(run_load(args.url, args.users, args.duration, args.timeout,
                                     args.seed, think, arrival=args.arrival,
                                     pids=pids_in(args.run_dir) if args.run_dir else None,
                                     sample_every=args.sample_every)).summary()]
    print_table(rows)
    good = True
    for r in rows:
        print(f"{r['target']}: backends {r['backends']} (sticky violations "
              f"{r['sticky_violations']}), biggest message "
              f"{r['max_message_bytes'] / 1e6:.2f} MB" + (
                  f", errors: {r['error_samples']}" if r["errors"] else ""))
        slow = sorted(r["scenarios"].items(), key=lambda kv: -(kv[1]["new_p95"] or 0))[:4]
        print(f"{r['target']}: slowest scenarios (new p95 / rerun p95 s, sessions): " + ", ".join(
            f"{k} {v['new_p95']} / {v['rerun_p95']} ({v['n']})" for k, v in slow))
        print_memory(r)
        good &= r["errors"] == 0 and r["sticky_violations"] == 0
        if not args.compare:
            good &= verdict(r, args.p95, args.flat_mb)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
