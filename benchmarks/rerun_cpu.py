"""Server CPU of one rerun per view, without a browser: ``python -m benchmarks.rerun_cpu``.

For each scenario, Streamlit's AppTest opens the view (a shared link's query), then changes
``filters`` back and forth ``--repeat`` times; each rerun's CPU time (``time.process_time``:
every thread of this process, so the script thread and AppTest's own bookkeeping) is
recorded, and the table gives the minimum and the median, the number of elements the page
has and the bytes of its chart specs. CPU time is far less sensitive to a busy machine than
wall-clock time, so this is the quick before/after of a server-side change;
:mod:`benchmarks.browser` measures the whole process (WebSocket sends included) and what a
person waits for.

``--compare REV`` runs the same scenarios on a git revision (``git worktree``) in a second
interpreter, and prints both. Only this machine is used.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.common import add_worktree, remove_worktree

ROOT = Path(__file__).resolve().parent.parent

#: (name, query parameters of the shared link)
SCENARIOS = (
    ("explore: photo, Conv2D(4, 3)", {}),
    ("animate: Conv2D(4, 3)", {"view": "animate"}),
    ("receptive: Conv2D(4, 3)", {"view": "receptive"}),
    ("stack: example", {"view": "stack"}),
)


@dataclass
class Row:
    scenario: str
    label: str
    min_ms: float
    median_ms: float
    elements: int
    spec_kb: float


def _elements(at) -> int:
    """Every node of the main area and the sidebar (blocks and elements)."""
    def walk(node) -> int:
        children = getattr(node, "children", None)
        return 1 + (sum(walk(c) for c in children.values()) if isinstance(children, dict)
                    else 0)
    return walk(at._tree[0]) + walk(at._tree[1])


def measure(root: Path, repeat: int, only: str) -> list[dict]:
    """The scenarios on the app in ``root`` (imported from there), in this interpreter."""
    sys.path.insert(0, str(root))
    from streamlit.testing.v1 import AppTest

    from app.widgets import arg_key

    rows = []
    for name, query in SCENARIOS:
        if only not in name:
            continue
        at = AppTest.from_file(str(root / "app" / "main.py"), default_timeout=120)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        times = []
        for i in range(repeat + 2):          # the first two warm the caches of both values
            at.number_input(key=arg_key("filters")).set_value(8 if i % 2 == 0 else 4)
            c0 = time.process_time()
            at.run()
            if i >= 2:
                times.append(1000 * (time.process_time() - c0))
            if at.exception:
                raise RuntimeError(f"{name}: {at.exception[0].message}")
        spec = sum(len(c.proto.spec) for c in at.get("plotly_chart")) / 1000
        rows.append(asdict(Row(name, "", min(times), statistics.median(times),
                               _elements(at), spec)))
    return rows


def _run_side(root: Path, label: str, repeat: int, only: str) -> list[dict]:
    """:func:`measure` in a fresh interpreter for ``root`` (its modules, not this one's)."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.rerun_cpu", "--worker",
                          str(root), "--repeat", str(repeat), "--only", only],
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(root)),
                         capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    return [dict(r, label=label) for r in rows]


def _table(rows: list[dict]) -> str:
    lines = ["| scenario | code | rerun CPU ms (min) | median | elements | chart specs kB |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['scenario']} | {r['label']} | {r['min_ms']:.1f} | {r['median_ms']:.1f} | "
              f"{r['elements']} | {r['spec_kb']:.0f} |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--compare", metavar="REV", help="also measure this git revision")
    p.add_argument("--repeat", type=int, default=12)
    p.add_argument("--only", default="", help="scenarios whose name contains this text")
    p.add_argument("--worker", metavar="ROOT", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(Path(args.worker), args.repeat, args.only)))
        return
    sides = [("working tree", ROOT)]
    if args.compare:
        sides.insert(0, (args.compare, Path(add_worktree(args.compare))))
    try:
        rows = [r for label, root in sides for r in _run_side(root, label, args.repeat,
                                                             args.only)]
    finally:
        for _, root in sides:
            if root != ROOT:
                remove_worktree(root)
    rows.sort(key=lambda r: [s for s, _ in SCENARIOS].index(r["scenario"]))
    print(_table(rows))


if __name__ == "__main__":
    main()
