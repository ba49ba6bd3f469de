"""The kernel cases of :mod:`benchmarks.cases` timed for the engine alone (no PyTorch).

``python -m benchmarks.engine_only [--budget S] [--repeat N] [--json FILE]`` prints, per
case, the engine path and the minimum time in ms over ``--repeat`` rounds of
:func:`benchmarks.common.time_min` — for before/after comparisons of the engine on a
machine without PyTorch. The PyTorch callables of the cases are not built.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from benchmarks import cases
from benchmarks.common import MALLOC_ENV, time_min, wait_quiet


def engine_cases():
    """:func:`benchmarks.cases.kernel_cases` without their PyTorch callables."""
    cases.torch_conv = cases.torch_conv_transpose = lambda *args, **kwargs: {}
    return cases.kernel_cases()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=1.0, help="seconds of timing per round")
    p.add_argument("--repeat", type=int, default=3, help="rounds per case (minimum kept)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default="", help="also write {case: ms} to this file")
    args = p.parse_args(argv)
    if not all(os.environ.get(k) == v for k, v in MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks.engine_only"]
                  + list(sys.argv[1:] if argv is None else argv), dict(os.environ, **MALLOC_ENV))
    import numba

    numba.set_num_threads(args.threads)
    result = {}
    for case in engine_cases():
        best = float("inf")
        for _ in range(args.repeat):
            wait_quiet(max_wait=10.0)
            best = min(best, time_min([case.engine], budget=args.budget)[0])
        result[case.name] = best
        print(f"{case.name:<40} {case.path:<18} {best:9.3f} ms", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
