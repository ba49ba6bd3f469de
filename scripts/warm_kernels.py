"""Compile (or load) the Numba kernels the app's first pages need, ahead of time.

    .venv/bin/python scripts/warm_kernels.py          # what `make run` / `make test` do once

The engine's kernels are compiled with ``cache=True`` (:data:`engine.config.JIT_OPTIONS`)
into ``__pycache__`` next to their sources (or ``NUMBA_CACHE_DIR``). On a fresh clone that
cache is empty and the first page would wait for the compiler (15–30 s on two cores). This
script runs the real layers, receptive-field maps and shape-debugger stacks with the
arguments, weights and inputs the default pages and shared links use — every layer class
with the app's defaults on its rank's default sample and on a tiny input, every
interpolation, the receptive view's three weightings, every shipped stack example — so
that every kernel those reach is compiled and written to the cache, one progress line per
step. Run again, it only loads the cache (about a second plus imports): it is idempotent.

Which kernels a call reaches is the engine's business (paths depend on shapes), so nothing
here names a kernel; ``tests/test_warm_kernels.py`` checks that after this script the app's
default pages compile nothing new.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

TINY_SPATIAL = {1: (9,), 2: (6, 7), 3: (4, 5, 6)}


# --------------------------------------------------------------------------- inputs

def default_input(rank: int) -> np.ndarray:
    """The rank's default sample, prepared as the app prepares it (batch 1, channels last)."""
    from app import compute
    from app.state import DEFAULT_SAMPLE

    base, _meta = compute.load_sample(DEFAULT_SAMPLE[rank])
    return compute.prepare(base, rank, "auto", None, 1, "channels_last")


def tiny_input(rank: int, channels: int = 1) -> np.ndarray:
    """A few cells per axis (the app's own start-up warm-up and small shared links)."""
    shape = (1,) + TINY_SPATIAL[rank] + (channels,)
    return np.linspace(0, 1, int(np.prod(shape)), dtype=np.float32).reshape(shape)


def inputs_for(rank: int) -> list:
    return [default_input(rank), tiny_input(rank), tiny_input(rank, 3)]


# --------------------------------------------------------------------------- layers

def run_layer(name: str, x: np.ndarray, **overrides) -> None:
    """One layer as the explore page computes it: the app's default arguments (plus
    ``overrides``) and default weights (the preset bank, else the initializers)."""
    from app.context import weighted_layer
    from app.state import default_args, has_weights

    kwargs = {**default_args(name), **overrides}
    layer = weighted_layer(name, kwargs, tuple(x.shape), "bank" if has_weights(name) else "init")
    layer(x)


def run_family(family: str) -> None:
    """Every layer of an app family on its rank's inputs, with the defaults and with
    ``strides=2, padding="same"``."""
    from app.state import LAYER_FAMILIES, rank_of

    for name in LAYER_FAMILIES[family]:
        for x in inputs_for(rank_of(name)):
            run_layer(name, x)
            run_layer(name, x, strides=2, padding="same")


def run_reshaping() -> None:
    """Upsampling (every interpolation), cropping and zero-padding layers."""
    from app.state import LAYER_FAMILIES, rank_of
    from engine.layers.reshaping import INTERPOLATIONS

    for family in ("Upsampling", "Cropping", "Zero-padding"):
        for name in LAYER_FAMILIES[family]:
            for x in inputs_for(rank_of(name)):
                run_layer(name, x)
    for interpolation in INTERPOLATIONS:
        for x in inputs_for(2):
            run_layer("UpSampling2D", x, interpolation=interpolation)


# --------------------------------------------------------------------------- other views

def run_receptive() -> None:
    """The receptive view's map and mask of the centre cell, for each weighting, per rank."""
    from app.context import weighted_layer
    from app.state import LAYER_FAMILIES, default_args, rank_of
    from engine.receptive import ReceptivePlan

    for name in LAYER_FAMILIES["Convolution"]:
        x = default_input(rank_of(name))
        layer = weighted_layer(name, default_args(name), tuple(x.shape), "bank")
        plan = ReceptivePlan([layer], tuple(x.shape))
        centre = tuple(n // 2 for n in plan.output_spatial)
        for weights, given in (("ones", None), ("actual", None), ("actual", x)):
            plan.contribution_map(centre, weights, given)
            plan.mask(centre, weights, given)


def run_stacks() -> None:
    """Every shipped shape-debugger example on its rank's default sample, with the
    receptive field of its last traceable layer (what the stack view shows)."""
    from app import compute
    from app.state import DEFAULT_SAMPLE
    from engine import receptive, stack
    from engine.stack_examples import EXAMPLES

    for example in EXAMPLES.values():
        report = stack.analyze(example["code"], None, receptive=False)
        shape = tuple(report.input_shape)
        rank = len(shape) - 2
        if rank not in DEFAULT_SAMPLE:
            continue
        base, _meta = compute.load_sample(DEFAULT_SAMPLE[rank])
        x = stack.fit_input(base, (1,) + shape[1:], _data_format(report))
        outputs = stack.run_stack(report, x)
        _stack_field(report, x, outputs, receptive, stack)


def _data_format(report) -> str:
    for spec in report.specs:
        if spec[1].get("data_format") in ("channels_first", "channels_last"):
            return spec[1]["data_format"]
    return "channels_last"


def _stack_field(report, x, outputs, receptive, stack) -> None:
    """Contribution map of the centre cell of the last layer the receptive field traces."""
    for i in reversed(range(len(report.rows))):
        row = report.rows[i]
        if row["name"] not in outputs or row["output_shape"] is None:
            continue
        try:
            chain = stack.receptive_chain(report, i)
        except ValueError:
            continue
        if not chain:
            continue
        out = outputs[row["name"]].shape
        spatial = out[2:] if _data_format(report) == "channels_first" else out[1:-1]
        centre = tuple(int(n // 2) for n in spatial)
        receptive.contribution_map(chain, tuple(x.shape), centre)
        return


# --------------------------------------------------------------------------- steps

STEPS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("convolution kernels", lambda: run_family("Convolution")),
    ("separable and depthwise kernels", lambda: run_family("Separable / depthwise")),
    ("transposed convolution kernels", lambda: run_family("Transposed convolution")),
    ("upsampling, cropping and padding kernels", run_reshaping),
    ("receptive-field kernels", run_receptive),
    ("shape-debugger kernels", run_stacks),
)


class CompileCounter:
    """Counts Numba compilations (``numba:compile`` events; a cache load sends none)."""

    def __init__(self):
        from numba.core import event

        self.count = 0
        listener = self

        class _Listener(event.Listener):
            def on_start(self, ev):
                listener.count += 1

            def on_end(self, ev):
                pass

        self._listener = _Listener()
        event.register("numba:compile", self._listener)

    def close(self) -> None:
        from numba.core import event

        event.unregister("numba:compile", self._listener)


def cache_location() -> str:
    return os.environ.get("NUMBA_CACHE_DIR") or str(ROOT / "engine" / "kernels" / "__pycache__")


def run_steps(steps=STEPS, out=sys.stdout) -> int:
    """Run ``steps`` with a progress line each; the number of kernels compiled."""
    t0 = time.perf_counter()
    print(f"warm_kernels: Numba kernels for the app's first pages (cache: {cache_location()})",
          file=out, flush=True)
    counter = CompileCounter()
    try:
        for i, (label, step) in enumerate(steps, 1):
            before, t = counter.count, time.perf_counter()
            print(f"  {label} ({i}/{len(steps)})… ", end="", file=out, flush=True)
            step()
            n, dt = counter.count - before, time.perf_counter() - t
            print(f"compiled {n} in {dt:.1f} s" if n else f"nothing to compile ({dt:.1f} s)",
                  file=out, flush=True)
    finally:
        counter.close()
    total = time.perf_counter() - t0
    print(f"warm_kernels: done in {total:.1f} s ({counter.count} compiled)", file=out, flush=True)
    return counter.count


# --------------------------------------------------------------------------- --check

#: The links ``--check`` opens: every view's default page, the README's shared link and one
#: layer of every family at another rank.
CHECK_PAGES = (
    "", "view=animate", "view=receptive", "view=stack", "view=learn",
    "view=receptive&rf_weights=actual&rf_x=True",
    "layer=Conv2DTranspose&filters=4&kernel_size=3&strides=2&input_shape=(1,28,28,1)",
    "layer=Conv1D", "layer=Conv3D", "layer=SeparableConv2D", "layer=DepthwiseConv1D",
    "layer=Conv3DTranspose", "layer=UpSampling2D&interpolation=bilinear",
    "layer=Cropping3D", "layer=ZeroPadding1D",
)


def reached() -> dict:
    """``{kernel: set of signatures}`` over every Numba dispatcher of ``engine.kernels``."""
    from numba.core.dispatcher import Dispatcher

    out = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("engine.kernels") and module is not None:
            for attr, value in vars(module).items():
                if isinstance(value, Dispatcher):
                    out[f"{name}.{attr}"] = {str(s) for s in value.signatures}
    return out


def check_pages(pages=CHECK_PAGES, timeout: float = 300.0) -> dict:
    """Open each page in Streamlit's AppTest after :func:`run_steps` (same process) →
    ``{page: ["kernel(signature)", ...]}`` for the kernel signatures a page reaches that
    the warm-up did not (empty: the warm-up covers the pages). Cache state plays no part:
    it compares signatures reached, compiled or loaded."""
    import urllib.parse

    from streamlit.testing.v1 import AppTest

    warmed, missing = reached(), {}
    for page in pages:
        before = reached()
        at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=timeout)
        for key, value in urllib.parse.parse_qsl(page):
            at.query_params[key] = value
        at.run()
        if at.exception:
            raise ValueError(f"page {page!r} raised: {at.exception[0].value}")
        new = [f"{k}{sorted(v - warmed.get(k, set()))}" for k, v in reached().items()
               if v - before.get(k, set()) and v - warmed.get(k, set())]
        print(f"  page {page or '(default)'}: "
              + (f"{len(new)} kernel(s) not warmed" if new else "covered"), flush=True)
        if new:
            missing[page or "(default)"] = new
    return missing


def main(argv=None) -> int:
    """Entry point: warm every step (``--check``: then also check the pages); exit 1 when
    a step fails or a page reaches a kernel the steps did not."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="then open the app's first pages headlessly (Streamlit's AppTest) "
                         "and list the kernels they reach that the warm-up did not")
    args = ap.parse_args(argv)
    try:
        run_steps()
        missing = check_pages() if args.check else {}
    except ValueError as exc:
        print(f"\nwarm_kernels: a step failed: {exc}", file=sys.stderr)
        return 1
    for page, kernels in missing.items():
        print(f"warm_kernels: {page!r} reaches kernels the warm-up does not: "
              f"{'; '.join(kernels)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
