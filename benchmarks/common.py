"""Timing and environment helpers shared by the benchmark scripts.

Measurements follow one protocol: same process, PyTorch and Numba both limited to the same
number of threads (2 unless ``--threads``), glibc told not to return freed memory to the
kernel (``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``: otherwise every large
output is a fresh ``mmap`` and its page faults dominate small timings), a warm-up call,
then the engine and the competitor timed in alternation and the *minimum* kept (the
machine may be shared; the minimum is the least disturbed run).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_worktree(rev: str) -> str:
    """A checkout of git revision ``rev`` in a new temporary folder (``git worktree``), for
    the before side of a ``--compare``; :func:`remove_worktree` deletes it."""
    path = tempfile.mkdtemp(prefix="convlab-rev-")
    subprocess.run(["git", "worktree", "add", "--detach", path, rev], cwd=ROOT, check=True,
                   capture_output=True)
    return path


def remove_worktree(path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT,
                   capture_output=True)


def ensure_malloc_env(argv=None):
    """Re-execute the interpreter with :data:`MALLOC_ENV` set (glibc reads it at start)."""
    if all(os.environ.get(k) == v for k, v in MALLOC_ENV.items()):
        return
    env = dict(os.environ, **MALLOC_ENV)
    args = [sys.executable, "-m", "benchmarks.run"] + list(sys.argv[1:] if argv is None else argv)
    os.execve(sys.executable, args, env)


def set_threads(n):
    import numba
    import torch

    torch.set_num_threads(n)
    numba.set_num_threads(n)


def _cpu_busy(interval):
    """Fraction of all CPUs busy during ``interval`` seconds (None if unknown)."""
    def snap():
        with open("/proc/stat", encoding="ascii") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait
    try:
        t0, i0 = snap()
        time.sleep(interval)
        t1, i1 = snap()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(max_wait=60.0, busy=0.15, interval=0.5):
    """Wait (at most ``max_wait`` s) until other processes leave the CPUs alone: on a
    shared machine a competing process preempts one of our threads and a parallel kernel
    waits a whole scheduler slice. Returns False if the machine never went quiet."""
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait:
        load = _cpu_busy(interval)
        if load is None or load < busy:
            return True
    return False


def time_min(fns, budget=1.0, min_rounds=5, max_rounds=200):
    """Run each callable of ``fns`` once to warm up, then in alternation until
    ``budget`` seconds are spent (at least ``min_rounds``); return the minimum times in ms
    (``None`` where ``fns`` has ``None``)."""
    live = [f for f in fns if f is not None]
    for f in live:
        f()
    best = [float("inf")] * len(fns)
    start = time.perf_counter()
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() - start < budget):
        for i, f in enumerate(fns):
            if f is None:
                continue
            t = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t)
        rounds += 1
    return [None if f is None else b * 1e3 for f, b in zip(fns, best)]


def machine_summary():
    import numba
    import numpy as np
    import torch

    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"cpu: {cpu} ({os.cpu_count()} logical); numpy {np.__version__}, numba "
            f"{numba.__version__} (threading layer {numba.threading_layer()}, "
            f"{numba.get_num_threads()} threads), torch {torch.__version__} "
            f"({torch.get_num_threads()} threads); "
            + " ".join(f"{k}={os.environ.get(k, 'unset')}" for k in MALLOC_ENV))


def table(headers, rows):
    """Plain-text table with right-aligned numeric columns."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(headers, widths)))
    out = [line, "-" * len(line)]
    for r in cells:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:.0f}"
        if value >= 10:
            return f"{value:.1f}"
        if value >= 0.1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value)
