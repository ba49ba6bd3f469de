"""Absurd-argument layers on tiny inputs: time and peak memory, each in a fresh process.

``python -m benchmarks.pathological`` prints one row per case: seconds for the call (after
a warm-up call of the same layer class on a small input, so JIT loading is not counted),
the process's peak resident memory (MB, ``ru_maxrss``) and the outcome (output shape, or
the exception's type and the start of its message). Each case runs under an address-space
limit (``--limit-gb``, default 16) and a timeout (``--timeout`` seconds, default 120), so a
regression is reported instead of exhausting the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.common import MALLOC_ENV

# (layer class, constructor arguments as Python source, input shape)
CASES = [
    ("Conv1DTranspose", "2, 2, strides=10**6", (1, 6, 2)),
    ("Conv1DTranspose", "2, kernel_size=10**6", (1, 6, 2)),
    ("Conv1DTranspose", "2, kernel_size=10**6, padding='same'", (1, 6, 2)),
    ("Conv2DTranspose", "2, kernel_size=1000", (1, 6, 6, 2)),
    ("Conv2DTranspose", "2, kernel_size=2000", (1, 6, 6, 2)),
    ("Conv1DTranspose", "1, kernel_size=10**6", (1, 1000, 1)),
    ("Conv2DTranspose", "2, 2, strides=300", (1, 6, 6, 2)),
    ("Conv3DTranspose", "2, 3, strides=(100, 100, 1)", (1, 6, 6, 6, 2)),
    ("Conv1D", "2, 3, dilation_rate=10**6, padding='same'", (1, 6, 2)),
    ("Conv2D", "2, 3, dilation_rate=10**5, padding='same'", (1, 6, 6, 2)),
    ("Conv2D", "2, 200, padding='same'", (1, 200, 200, 2)),
    ("DepthwiseConv2D", "3, dilation_rate=10**5, padding='same'", (1, 6, 6, 2)),
    ("Conv1D", "2, 3, strides=10**9, padding='same'", (1, 6, 2)),
]

CHILD = r"""
import json, resource, sys, time
import numpy as np
limit = int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from engine import layers
cls = getattr(layers, sys.argv[1])
shape = eval(sys.argv[3])
small = (1,) + (4,) * (len(shape) - 2) + (shape[-1],)
cls(1, 1)(np.ones(small, np.float32)) if 'Depthwise' not in sys.argv[1] else cls(1)(np.ones(small, np.float32))
x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
layer = eval("cls(" + sys.argv[2] + ")")
t = time.perf_counter()
try:
    y = layer(x)
    outcome = "output " + str(y.shape)
except (ValueError, MemoryError) as exc:
    outcome = type(exc).__name__ + ": " + str(exc)[:160]
dt = time.perf_counter() - t
print(json.dumps({"s": dt, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome}))
"""


def run_case(name, args, shape, limit_gb, timeout):
    """One case in a fresh interpreter → dict(s, rss_mb, outcome)."""
    cmd = [sys.executable, "-c", CHILD, name, args, repr(shape), str(int(limit_gb * 2 ** 30))]
    env = dict(MALLOC_ENV)
    env.update({k: v for k, v in __import__("os").environ.items() if k not in MALLOC_ENV})
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"s": float(timeout), "rss_mb": float("nan"), "outcome": f"timeout > {timeout} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"s": float("nan"), "rss_mb": float("nan"),
                "outcome": f"exit {done.returncode}: {tail[:160]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit-gb", type=float, default=16.0)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--json", default="", help="also write the rows to this file")
    p.add_argument("--only", default="", help="run cases whose text contains this")
    args = p.parse_args(argv)
    rows = []
    for name, kwargs, shape in CASES:
        if args.only not in f"{name}({kwargs})":
            continue
        r = run_case(name, kwargs, shape, args.limit_gb, args.timeout)
        rows.append({"case": f"{name}({kwargs}) on {shape}", **r})
        print(f"{rows[-1]['case']:<70} {r['s']:8.3f} s {r['rss_mb']:8.0f} MB  {r['outcome']}",
              flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
