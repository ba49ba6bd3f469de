"""scripts/warm_kernels.py: the setup step that compiles the kernels of the app's first pages.

The check itself is the script's ``--check`` (Streamlit's AppTest opens the default page of
every view and a few shared links in the process that ran the warm-up, and lists every
kernel signature a page reaches that the warm-up did not). It runs in a subprocess so that
kernels other tests compiled in this process play no part. ``make test`` warms the cache
before the tests, so both subprocesses mostly load it (a few seconds); after a kernel source
changed the first one compiles again.
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "warm_kernels.py"


def _module():
    spec = importlib.util.spec_from_file_location("warm_kernels", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def test_progress_line_per_step():
    warm = _module()
    out = io.StringIO()
    calls = []
    steps = (("first kernels", lambda: calls.append(1)), ("second kernels", lambda: calls.append(2)))
    assert warm.run_steps(steps, out=out) == 0
    text = out.getvalue()
    assert calls == [1, 2]
    assert "first kernels (1/2)… nothing to compile" in text
    assert "second kernels (2/2)… nothing to compile" in text
    assert "done in" in text


def test_every_step_has_a_label():
    warm = _module()
    labels = [label for label, _ in warm.STEPS]
    assert len(set(labels)) == len(labels) >= 4
    assert all(callable(step) for _, step in warm.STEPS)


def test_the_first_pages_compile_nothing_the_warm_up_did_not():
    done = _run("--check")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "page (default): covered" in done.stdout
    assert "view=receptive" in done.stdout and "view=stack" in done.stdout


@pytest.mark.skipif(os.environ.get("CONVLAB_JIT_CACHE", "1").strip().lower()
                    in {"0", "false", "no", "off", ""}, reason="the Numba cache is off")
def test_a_second_run_only_loads_the_cache():
    _run()  # compiles whatever is not cached yet
    again = _run()
    assert again.returncode == 0, again.stderr[-3000:]
    assert "(0 compiled)" in again.stdout, again.stdout
