"""Before / after in one run: ``python -m benchmarks.compare BEFORE_DIR [--rounds N] [run.py
options]``.

``BEFORE_DIR`` holds a copy of an earlier ``engine/`` package (e.g. ``cp -r engine
/tmp/before/`` before editing). Each round runs :mod:`benchmarks.run` (``--skip cold`` unless
given otherwise) once on the earlier engine and once on this one, in alternation, each in
its own interpreter with PyTorch timed alongside; the table keeps, per case, the minimum
engine time of each side and the minimum PyTorch time over all runs, and prints
``torch / engine`` for both (> 1: the engine is faster). The benchmark code itself is this
checkout's for both sides (``BEFORE_DIR`` gets symlinks to ``benchmarks/`` and ``tests/``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from benchmarks.common import MALLOC_ENV, table

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _link(before):
    for name in ("benchmarks", "tests"):
        dst = os.path.join(before, name)
        if not os.path.lexists(dst):
            os.symlink(os.path.join(HERE, name), dst)


def _run(cwd, extra, out):
    env = dict(os.environ, **MALLOC_ENV)
    subprocess.run([sys.executable, "-m", "benchmarks.run", "--json", out] + extra, cwd=cwd,
                   env=env, check=True, stdout=subprocess.DEVNULL)
    with open(out, encoding="utf-8") as fh:
        return json.load(fh)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("before")
    p.add_argument("--rounds", type=int, default=2)
    args, extra = p.parse_known_args(argv)
    if "--skip" not in extra:
        extra += ["--skip", "cold"]
    before = os.path.abspath(args.before)
    if not os.path.isdir(os.path.join(before, "engine")):
        p.error(f"{before} has no engine/ package")
    _link(before)
    best = {}  # (table, case) -> {"before": ms, "after": ms, "torch": ms, "path": (b, a)}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for side, cwd in (("before", before), ("after", HERE)):
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
    for tab in ("kernels", "layers"):
        rows = [[case, e["path"].get("before", "-"), e["path"].get("after", "-"), e["torch"],
                 e.get("before"), e.get("after"), e["torch"] / e["before"],
                 e["torch"] / e["after"]]
                for (t, case), e in best.items() if t == tab]
        if rows:
            print(f"{tab}: min over {args.rounds} alternating rounds")
            print(table(["case", "path before", "path after", "torch ms", "before ms",
                         "after ms", "before ×", "after ×"], rows))
            print()


if __name__ == "__main__":
    main()
