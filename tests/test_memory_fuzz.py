"""Fuzzing the engine's working memory under an address-space limit (hypothesis).

Random geometry over the whole argument space — kernel sizes, strides and dilations up to
10^9, valid / same / causal padding, 1 to 3 spatial axes, grouped, depthwise and transposed
convolutions — through :func:`engine.kernels.conv.check_budget`, the kernels and the
layers. Each example is refused with a ValueError naming the argument, or computed; a
computed output is checked cell by cell (a few random cells) against the definition.

The fuzz runs in a subprocess that imports the engine only (no TensorFlow, no app) with
``CONVLAB_MAX_WORK_BYTES`` = :data:`FUZZ_BUDGET` and ``RLIMIT_AS`` = its own address space
after warm-up plus :data:`HEADROOM` (Numba/LLVM and the thread pool reserve a few hundred MB
of address space up front, so a fixed limit would be either loose or fragile). An
allocation the budget does not foresee then raises MemoryError there, and this test fails
with the example, instead of the machine running out of memory.
``CONVLAB_FUZZ_EXAMPLES`` scales the example count (default 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

FUZZ_BUDGET = 64 * 2 ** 20  # bytes per kernel call inside the fuzz process
HEADROOM = 4 * FUZZ_BUDGET + 256 * 2 ** 20  # address space beyond the warmed-up process
EXAMPLES = max(1, int(1000 * float(os.environ.get("CONVLAB_FUZZ_EXAMPLES", "1"))))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIG = 10 ** 9
NAMES = ("kernel_size", "strides", "dilation_rate", "filters", "groups", "input", "output")


def brute_force_axis(o, n_in, k, s, d, pad, transposed):
    """(tap, input index) pairs of output ``o`` along one axis, from the definition."""
    t = np.arange(k, dtype=np.int64)
    if transposed:
        q = o + pad - t * d
        ok = (q % s == 0) & (q >= 0) & (q // s < n_in)
        return t[ok], q[ok] // s
    i = o * s - pad + t * d
    ok = (i >= 0) & (i < n_in)
    return t[ok], i[ok]


def check_cells(x, w, y, strides, dilation, pads, transposed, groups, rng):
    """A few random output cells of ``y`` against the definition (float64)."""
    rank = x.ndim - 2
    ks = w.shape[:rank]
    wt = np.swapaxes(w, -1, -2) if transposed else w  # (*K, C // groups, F)
    cg, n_filters = wt.shape[-2], wt.shape[-1]
    fg = n_filters // groups
    for _ in range(4):
        cell = tuple(int(rng.integers(n)) for n in y.shape[:-1])
        pairs = [brute_force_axis(o, n, k, s, d, p, transposed) for o, n, k, s, d, p in zip(
            cell[1:], x.shape[1:-1], ks, strides, dilation, pads)]
        ref = np.zeros(n_filters)
        grids = np.meshgrid(*[np.arange(len(t)) for t, _ in pairs], indexing="ij")
        taps = tuple(pairs[a][0][g.ravel()] for a, g in enumerate(grids))
        src = tuple(pairs[a][1][g.ravel()] for a, g in enumerate(grids))
        xs = x[(cell[0],) + src].astype(np.float64)  # (taps, C)
        ws = wt[taps].astype(np.float64)  # (taps, cg, F)
        for g in range(groups):
            ref[g * fg:(g + 1) * fg] = np.einsum(
                "tc,tcf->f", xs[:, g * cg:(g + 1) * cg], ws[:, :, g * fg:(g + 1) * fg])
        np.testing.assert_allclose(y[cell], ref, rtol=1e-4, atol=1e-4 * (1 + np.abs(ref).max()))


def geometry(draw, st):
    """One random kernel call: (transposed, x shape, w shape, strides, dilation, pads, out,
    groups) or None when Keras's output-size rules give an empty output."""
    from engine import shapes

    rank = draw(st.integers(1, 3))
    transposed = draw(st.booleans())
    size = st.one_of(st.integers(1, 4), st.integers(1, 4), st.integers(1, 60),
                     st.integers(1, BIG), st.sampled_from([10 ** 3, 10 ** 6, BIG]))
    kernel = tuple(draw(size) for _ in range(rank))
    strides = tuple(draw(size) for _ in range(rank))
    dilation = tuple(draw(size) for _ in range(rank))
    spatial = tuple(draw(st.integers(1, 8)) for _ in range(rank))
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"] + (["causal"] if rank == 1 else [])))
    if transposed:
        padding = "same" if padding == "causal" else padding
        out = [shapes.conv_transpose_output_length(n, k, s, d, padding, None)
               for n, k, s, d in zip(spatial, kernel, strides, dilation)]
        pads = [shapes.conv_transpose_padding(n, o, k, s, d, padding)
                for n, o, k, s, d in zip(spatial, out, kernel, strides, dilation)]
        filters, groups = draw(st.integers(1, 3)), 1
    else:
        out = [shapes.conv_output_length(n, k, s, d, padding)
               for n, k, s, d in zip(spatial, kernel, strides, dilation)]
        pads = [shapes.conv_padding(n, k, s, d, padding)[0]
                for n, k, s, d in zip(spatial, kernel, strides, dilation)]
        groups = draw(st.sampled_from([1, 1, channels]))
        filters = groups * draw(st.integers(1, 3))
    if min(out) <= 0:
        return None
    return transposed, (batch,) + spatial + (channels,), kernel, filters, strides, dilation, \
        pads, out, groups


def run(examples: int) -> dict:
    """The fuzz itself (inside the limited subprocess): returns counts."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from engine.kernels import conv as K

    stats = {"examples": 0, "empty": 0, "refused": 0, "computed": 0, "checked": 0}
    rng = np.random.default_rng(0)

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def fuzz(data):
        stats["examples"] += 1
        g = geometry(data.draw, st)
        if g is None:
            stats["empty"] += 1
            return
        transposed, xs, kernel, filters, strides, dilation, pads, out, groups = g
        try:
            K.check_budget(transposed, xs[0], xs[1:-1], xs[-1], kernel, filters, strides,
                           dilation, pads, out, groups)
        except ValueError as exc:
            msg = str(exc)
            assert ("limit" in msg or "64-bit" in msg) and any(n in msg for n in NAMES), msg
            stats["refused"] += 1
            return
        x = rng.standard_normal(xs).astype(np.float32)
        if transposed:
            w = rng.standard_normal(kernel + (filters, xs[-1])).astype(np.float32)
            y = K.conv_transpose(x, w, None, strides, dilation, pads, out)
        else:
            w = rng.standard_normal(kernel + (xs[-1] // groups, filters)).astype(np.float32)
            y = K.conv(x, w, None, strides, dilation, pads, out, groups)
        assert y.shape == (xs[0],) + tuple(out) + (filters,) and y.dtype == np.float32
        stats["computed"] += 1
        if max(kernel) <= 10 ** 5:
            check_cells(x, w, y, strides, dilation, pads, transposed, groups, rng)
            stats["checked"] += 1

    fuzz()
    return stats


LAYERS = ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
          "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")


def run_layers(examples: int) -> dict:
    """The layers with absurd arguments (inside the limited subprocess): a ValueError, or
    the output ``compute_output_shape`` announced (weights over the budget are refused by
    ``build`` before they are allocated)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from engine.layers import LAYER_CLASSES

    stats = {"layers": 0, "layer_refused": 0, "layer_computed": 0}
    size = st.one_of(st.integers(1, 3), st.integers(1, 3), st.integers(1, BIG),
                     st.sampled_from([10 ** 3, 10 ** 6, BIG]))

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(LAYERS), data=st.data())
    def fuzz(name, data):
        stats["layers"] += 1
        cls = LAYER_CLASSES[name]
        kwargs = {"kernel_size": data.draw(size), "strides": data.draw(size),
                  "dilation_rate": data.draw(st.one_of(st.just(1), size)),
                  "padding": data.draw(st.sampled_from(["valid", "same"]))}
        if not name.startswith("Depthwise"):
            kwargs["filters"] = data.draw(st.integers(1, 3))
        if not name.endswith("Transpose") and not name.startswith("Conv"):
            kwargs["depth_multiplier"] = data.draw(st.integers(1, 2))
        shape = (1,) + tuple(data.draw(st.integers(1, 8)) for _ in range(cls.rank)) + (2,)
        try:
            layer = cls(**kwargs)
            out = tuple(layer.compute_output_shape(shape))
        except ValueError:
            stats["layer_refused"] += 1
            return
        try:
            y = layer(np.ones(shape, np.float32))
        except ValueError as exc:
            assert "limit" in str(exc) or "64-bit" in str(exc), str(exc)
            stats["layer_refused"] += 1
            return
        assert y.shape == out
        stats["layer_computed"] += 1

    fuzz()
    return stats


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def child(examples: int) -> None:
    """Subprocess entry: warm up, cap the address space, fuzz, print the counts as JSON."""
    import resource

    from engine.kernels import conv as K

    x = np.ones((1, 9, 9, 3), np.float32)
    K.conv(x, np.ones((3, 3, 3, 20), np.float32), None, (1, 1), (1, 1), (1, 1), (9, 9))
    K.conv(x, np.ones((3, 3, 1, 3), np.float32), None, (1, 1), (1, 1), (1, 1), (9, 9), 3)
    K.conv_transpose(x, np.ones((3, 3, 2, 3), np.float32), None, (2, 2), (1, 1), (1, 1),
                     (18, 18))
    limit = _address_space() + HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    stats = run(examples)
    stats.update(run_layers(examples // 2))
    stats["limit_mb"] = limit // 2 ** 20
    stats["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(stats))


def test_kernels_under_an_address_space_limit():
    env = dict(os.environ, CONVLAB_MAX_WORK_BYTES=str(FUZZ_BUDGET), PYTHONPATH=ROOT)
    code = f"from tests.test_memory_fuzz import child; child({EXAMPLES})"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    # the strategies reach both outcomes, and most computed outputs are checked
    assert stats["refused"] >= EXAMPLES // 20 and stats["computed"] >= EXAMPLES // 5, stats
    assert stats["checked"] >= stats["computed"] // 2, stats
    assert stats["layer_computed"] >= EXAMPLES // 10 and stats["layer_refused"] >= EXAMPLES // 20, \
        stats
