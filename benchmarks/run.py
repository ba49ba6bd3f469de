"""convlab engine vs PyTorch CPU (and the NumPy reference): ``python -m benchmarks.run``.

Prints three tables:

1. kernels (engine.kernels.conv called directly) — case, engine path, engine ms, PyTorch ms
   in NCHW and channels-last memory format, tests/naive.py ms (small cases only), the ratio
   best-PyTorch / engine (> 1: the engine is faster) and the largest engine–PyTorch
   difference relative to ``max(1, |y|)``;
2. layers through the public API (engine.layers, weights copied into the PyTorch ops);
3. cold start: per layer, a fresh interpreter with an empty Numba cache (compile) and
   again with the cache it left (load): import time and first-call time.

Protocol (see benchmarks/common.py): 2 threads for both libraries, glibc malloc kept from
returning memory (the script re-executes itself with the variables set), minimum over
alternating runs, each case started once the CPUs are idle (up to a minute's wait; the
machine may be shared). Options: ``--threads N``, ``--budget SECONDS`` per case, ``--only TEXT``
(case-name filter), ``--skip kernels,layers,cold``, ``--json FILE`` (the rows of the first two
tables, for :mod:`benchmarks.compare`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from benchmarks.common import (ensure_malloc_env, machine_summary, set_threads, table, time_min,
                               wait_quiet)


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--budget", type=float, default=1.5, help="seconds of timing per case")
    p.add_argument("--only", default="", help="run cases whose name contains this text")
    p.add_argument("--skip", default="", help="comma list of: kernels, layers, cold")
    p.add_argument("--json", default="", help="also write the kernel / layer rows to this file")
    return p.parse_args(argv)


def run_cases(cases, budget):
    rows = []
    for case in cases:
        if not wait_quiet():
            print(f"  (machine busy: {case.name} measured anyway)", file=sys.stderr)
        fns = [case.engine, case.torch.get("nchw"), case.torch.get("channels_last"), case.naive]
        engine_ms, nchw, cl, naive = time_min(fns, budget=budget,
                                              max_rounds=20 if case.naive else 200)
        best = min(t for t in (nchw, cl) if t is not None)
        rows.append([case.name, case.path or "-", engine_ms, nchw, cl, naive,
                     best / engine_ms, f"{case.check():.1e}"])
        print(f"  {case.name}: engine {engine_ms:.3f} ms, torch {best:.3f} ms", file=sys.stderr)
    return rows


HEAD = ["case", "path", "engine ms", "torch ms", "torch CL ms", "naive ms", "torch/engine",
        "max rel diff"]


def cold_start(threads):
    from benchmarks.cases import COLD_LAYERS

    rows = []
    env = dict(os.environ, NUMBA_NUM_THREADS=str(max(threads, 1)))
    for name, (ctor, shape) in COLD_LAYERS.items():
        with tempfile.TemporaryDirectory(prefix="convlab-numba-") as cache:
            env["NUMBA_CACHE_DIR"] = cache
            shape = repr(tuple(shape))
            res = []
            for _ in ("cold", "warm"):
                wait_quiet()
                out = subprocess.run([sys.executable, "-m", "benchmarks.cold", ctor, shape,
                                      str(threads)], env=env, capture_output=True, text=True,
                                     cwd=os.path.dirname(os.path.dirname(__file__)) or ".")
                if out.returncode != 0:
                    raise RuntimeError(f"cold start of {name} failed:\n{out.stderr}")
                res.append(json.loads(out.stdout.strip().splitlines()[-1]))
        rows.append([f"{name}  {shape}", res[0]["import_s"], res[0]["first_call_s"],
                     res[1]["import_s"], res[1]["first_call_s"], res[1]["second_call_s"] * 1e3])
        print(f"  {name}: cold {res[0]['first_call_s']:.2f} s, warm "
              f"{res[1]['first_call_s']:.3f} s", file=sys.stderr)
    return rows


def main(argv=None):
    args = _args(argv)
    ensure_malloc_env(argv)
    set_threads(args.threads)
    skip = set(filter(None, args.skip.split(",")))
    print(machine_summary())
    print()
    from benchmarks import cases as C

    results = {}
    if "kernels" not in skip:
        cases = [c for c in C.kernel_cases() if args.only in c.name]
        print("Kernels (engine.kernels.conv), times in ms, min over alternating runs")
        results["kernels"] = run_cases(cases, args.budget)
        print(table(HEAD, results["kernels"]))
        print()
    if "layers" not in skip:
        try:
            cases = [c for c in C.layer_cases() if args.only in c.name]
        except ImportError as exc:  # engine.layers not importable (work in progress)
            print(f"Layers skipped: {exc}")
        else:
            print("Layers (engine.layers public API; same weights in PyTorch)")
            results["layers"] = run_cases(cases, args.budget)
            print(table(HEAD, results["layers"]))
            print()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({k: [dict(zip(HEAD, r)) for r in rows] for k, rows in results.items()},
                      fh, indent=1)
    if "cold" not in skip:
        print("Cold start (fresh interpreter; Numba cache empty = compile, then warm = load)")
        print(table(["layer  input shape", "import s", "cold 1st call s", "import s (warm)",
                     "warm 1st call s", "2nd call ms"], cold_start(args.threads)))


if __name__ == "__main__":
    main()
