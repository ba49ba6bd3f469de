"""Before / after in one run: ``python -m benchmarks.compare BEFORE_DIR [--rounds N] [run.py
options]``.

``BEFORE_DIR`` holds a copy of an earlier ``engine/`` package (e.g. ``cp -r engine
/tmp/before/`` before editing). Each round runs :mod:`benchmarks.run` (``--skip cold`` unless
given otherwise) once on the earlier engine and once on this one, in alternation, each in
its own interpreter with PyTorch timed alongside; the table keeps, per case, the minimum
engine time of each side and the minimum PyTorch time over all runs, and prints
``torch / engine`` for both (> 1: the engine is faster). The benchmark code itself is this
checkout's for both sides (each side runs in a staging directory of symlinks: its
``engine/``, this checkout's ``benchmarks/`` and ``tests/``).

``--interleave N`` (for a busy shared machine, where whole runs minutes apart see different
loads): one long-lived worker per side builds the cases once (``--only``, ``--skip``,
``--threads`` as for :mod:`benchmarks.run`), then single calls alternate — before, after,
PyTorch (in either worker, NCHW and channels-last) — N turns per case, SETTLE seconds
apart (a worker's idle thread pools spin for a while after each call and would slow the
other's next call), each turn BURST calls back to back (the first wakes the pools up);
minimum of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.common import MALLOC_ENV, table

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER_ENV = "CONVLAB_COMPARE_WORKER"  # --interleave worker's (only, skip, threads)
SETTLE = 0.05  # seconds between interleaved calls: idle thread pools spin-wait before sleeping
BURST = 4  # calls per interleaved turn, timed one by one (the first after SETTLE wakes pools)


def _stage(engine_root):
    """A directory whose ``engine`` is ``engine_root``'s and whose ``benchmarks`` and
    ``tests`` are this checkout's (symlinks): the same benchmark code on both sides, even
    when ``engine_root`` is a full copy with its own (older) ones. Its path depends on
    ``engine_root`` only, so that Numba's cache (keyed by source path) is reused."""
    key = hashlib.sha1(os.path.abspath(engine_root).encode()).hexdigest()[:12]
    stage = os.path.join(tempfile.gettempdir(), "convlab-compare", key)
    os.makedirs(stage, exist_ok=True)
    for name, root in (("engine", engine_root), ("benchmarks", HERE), ("tests", HERE)):
        dst = os.path.join(stage, name)
        if not os.path.lexists(dst):
            os.symlink(os.path.join(os.path.abspath(root), name), dst)
    return stage


def _run(cwd, extra, out):
    env = dict(os.environ, **MALLOC_ENV)
    subprocess.run([sys.executable, "-m", "benchmarks.run", "--json", out] + extra, cwd=cwd,
                   env=env, check=True, stdout=subprocess.DEVNULL)
    with open(out, encoding="utf-8") as fh:
        return json.load(fh)


def _worker(only, skip, threads):
    """Worker side of ``--interleave``: build the cases, warm them up, print their names
    and paths as one JSON line, then per input line ``case callable`` (callable 0: engine,
    1: torch NCHW, 2: torch channels-last) run it BURST times and print the least time in
    ms."""
    from benchmarks import cases as C
    from benchmarks.common import set_threads

    set_threads(threads)
    cases = []
    if "kernels" not in skip:
        cases += [("kernels", c) for c in C.kernel_cases() if only in c.name]
    if "layers" not in skip:
        cases += [("layers", c) for c in C.layer_cases() if only in c.name]
    fns = []
    for _, c in cases:
        row = [c.engine, c.torch.get("nchw"), c.torch.get("channels_last") or c.torch["nchw"]]
        for f in row:
            f()
        fns.append(row)
    print(json.dumps([[tab, c.name, c.path] for tab, c in cases]), flush=True)
    for line in sys.stdin:
        i, which = map(int, line.split())
        best = float("inf")
        for _ in range(BURST):  # back to back: the pools are awake after the first
            t = time.perf_counter()
            fns[i][which]()
            best = min(best, time.perf_counter() - t)
        print(best * 1e3, flush=True)


def _interleaved(stages, extra, reps):
    """``--interleave``: per case, ``reps`` alternations of single calls (see above)."""
    q = argparse.ArgumentParser()
    q.add_argument("--only", default="")
    q.add_argument("--skip", default="")
    q.add_argument("--threads", type=int, default=2)
    opts, _ = q.parse_known_args(extra)
    skip = set(filter(None, opts.skip.split(",")))
    env = dict(os.environ, **MALLOC_ENV)
    # the worker's options in the environment: argparse takes "--only=a b" for a positional
    env[WORKER_ENV] = json.dumps([opts.only, sorted(skip), opts.threads])
    cmd = [sys.executable, "-m", "benchmarks.compare", "--worker"]
    workers = {side: subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
               for side, cwd in stages.items()}
    names = {side: json.loads(w.stdout.readline()) for side, w in workers.items()}

    def call(side, i, which):
        time.sleep(SETTLE)  # the other worker's idle OpenMP / TBB threads stop spinning
        w = workers[side]
        w.stdin.write(f"{i} {which}\n")
        w.stdin.flush()
        return float(w.stdout.readline())

    best = {}
    for i, (tab, case, path) in enumerate(names["after"]):
        e = best.setdefault((tab, case), {"path": {"before": names["before"][i][2],
                                                  "after": path},
                                          "before": float("inf"), "after": float("inf"),
                                          "torch": float("inf")})
        for r in range(reps):
            e["before"] = min(e["before"], call("before", i, 0))
            e["after"] = min(e["after"], call("after", i, 0))
            e["torch"] = min(e["torch"], call("before" if r % 2 else "after", i, 1 + r % 2))
        print(f"  {case}: before {e['before']:.3f} ms, after {e['after']:.3f} ms, torch "
              f"{e['torch']:.3f} ms", file=sys.stderr, flush=True)
    for w in workers.values():
        w.stdin.close()
        w.wait()
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("before", nargs="?")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--interleave", type=int, default=0,
                   help="alternate single calls this many times per case (see above)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args, extra = p.parse_known_args(argv)
    if args.worker:
        only, skip, threads = json.loads(os.environ[WORKER_ENV])
        return _worker(only, set(skip), threads)
    if args.before is None:
        p.error("BEFORE_DIR is required")
    if "--skip" not in extra:
        extra += ["--skip", "cold"]
    before = os.path.abspath(args.before)
    if not os.path.isdir(os.path.join(before, "engine")):
        p.error(f"{before} has no engine/ package")
    with tempfile.TemporaryDirectory() as tmp:
        stages = {"before": _stage(before), "after": _stage(HERE)}
        if args.interleave:
            best = _interleaved(stages, extra, args.interleave)
            _print(best, f"min over {args.interleave} interleaved calls")
            return
        best = {}  # (table, case) -> {"before": ms, "after": ms, "torch": ms, "path": (b, a)}
        for r in range(args.rounds):
            for side, cwd in stages.items():
                print(f"round {r + 1}/{args.rounds}: {side}", file=sys.stderr, flush=True)
                res = _run(cwd, extra, os.path.join(tmp, f"{side}.json"))
                for tab, rows in res.items():
                    for row in rows:
                        e = best.setdefault((tab, row["case"]), {"path": {}})
                        e[side] = min(e.get(side, float("inf")), row["engine ms"])
                        torch = min(t for t in (row["torch ms"], row["torch CL ms"])
                                    if t is not None)
                        e["torch"] = min(e.get("torch", float("inf")), torch)
                        e["path"][side] = row["path"]
    _print(best, f"min over {args.rounds} alternating rounds")


def _print(best, how):
    """The before / after table of :func:`main`."""
    for tab in ("kernels", "layers"):
        rows = [[case, e["path"].get("before", "-"), e["path"].get("after", "-"), e["torch"],
                 e.get("before"), e.get("after"), e["torch"] / e["before"],
                 e["torch"] / e["after"]]
                for (t, case), e in best.items() if t == tab]
        if rows:
            print(f"{tab}: {how}")
            print(table(["case", "path before", "path after", "torch ms", "before ms",
                         "after ms", "before ×", "after ×"], rows))
            print()


if __name__ == "__main__":
    main()
