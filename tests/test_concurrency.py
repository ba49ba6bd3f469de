"""Many sessions computing at once must all get their own, correct results.

Streamlit runs each session's script in its own thread and the kernels release the GIL, so
parallel Numba kernels are entered from many threads at the same time. That is only safe on
a thread-safe threading layer (``omp`` / ``tbb``; ``workqueue`` aborts the process), which
:mod:`engine.config` selects. Here many Python threads call layers with different inputs
and arguments at once, and every result must equal the one computed alone.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from engine import config
from engine.layers import (Conv1D, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
                           DepthwiseConv2D, SeparableConv1D, UpSampling2D, ZeroPadding2D)

# Each configuration takes a different kernel path (see engine.kernels.conv.path):
CONFIGS = [
    ("filters", lambda: Conv2D(8, 3, padding="same", activation="relu"), (2, 23, 19, 3)),
    ("filters-padded", lambda: Conv2D(16, 5, strides=2), (1, 31, 29, 4)),
    ("matmul", lambda: Conv2D(512, 3), (1, 9, 10, 64)),
    ("channels", lambda: DepthwiseConv2D(3, depth_multiplier=1), (2, 17, 15, 5)),
    ("channels-expanded", lambda: Conv2D(6, 3, groups=3, dilation_rate=2), (1, 20, 18, 6)),
    ("transpose", lambda: Conv2DTranspose(4, 3, strides=2), (1, 12, 11, 3)),
    ("transpose-3d", lambda: Conv3DTranspose(2, 2, strides=(1, 2, 2)), (1, 4, 5, 6, 2)),
    ("conv3d", lambda: Conv3D(4, 3, padding="same"), (1, 6, 7, 8, 2)),
    ("separable-1d", lambda: SeparableConv1D(5, 4, depth_multiplier=2), (3, 40, 3)),
    ("causal-1d", lambda: Conv1D(3, 5, padding="causal", dilation_rate=2), (2, 33, 2)),
    ("bilinear", lambda: UpSampling2D((2, 3), interpolation="bilinear"), (2, 9, 7, 3)),
    ("bicubic", lambda: UpSampling2D(2, interpolation="bicubic"), (1, 8, 8, 2)),
    ("zeropad", lambda: ZeroPadding2D(((1, 2), (0, 3))), (1, 5, 6, 2)),
]
THREADS = 8
ROUNDS = 6  # calls per configuration, each with its own input


def _jobs():
    """(layer, input, expected output) computed one at a time, single-threaded."""
    rng = np.random.default_rng(7)
    jobs = []
    for name, make, shape in CONFIGS:
        layer = make()
        layer.build(shape)
        weights = [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]
        layer.set_weights(weights)
        for r in range(ROUNDS):
            x = rng.standard_normal(shape).astype(np.float32)
            jobs.append((f"{name}#{r}", layer, x, layer(x)))
    return jobs


def test_a_thread_safe_threading_layer_is_used():
    import numba

    Conv2D(2, 3)(np.ones((1, 8, 8, 1), np.float32))  # launch the threading layer
    if not config.PARALLEL:
        pytest.skip("kernels compiled serially: no thread-safe layer on this machine")
    assert config.THREADING_LAYER in config.SAFE_THREADING_LAYERS
    assert numba.threading_layer() == config.THREADING_LAYER


def test_concurrent_layer_calls_match_serial_results():
    jobs = _jobs()
    order = np.random.default_rng(1).permutation(len(jobs))
    barrier = threading.Barrier(THREADS)
    seen_threads = set()

    def run(i):
        name, layer, x, want = jobs[i]
        if i in order[:THREADS]:
            barrier.wait(timeout=60)  # the first calls start together
        seen_threads.add(threading.get_ident())
        got = layer(x)
        return name, got, want

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(run, order))
    assert len(seen_threads) > 1
    for name, got, want in results:
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_concurrent_fresh_layers_and_io():
    """Layers built inside the threads (weights, names, plan caches) and loaders running
    side by side: each thread checks its own result against a serial reference."""
    import io as _io

    from PIL import Image

    from engine import io as eio

    def work(seed):
        rng = np.random.default_rng(seed)
        h, w = int(rng.integers(8, 40)), int(rng.integers(8, 40))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        buf = _io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        arr = eio.load_image(buf.getvalue(), f"{seed}.png")
        layer = Conv2D(int(rng.integers(1, 20)), int(rng.integers(1, 5)), padding="same",
                       kernel_initializer={"class_name": "he_normal", "config": {"seed": seed}})
        y = layer(arr[None])
        return seed, arr, layer.get_weights(), y

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(48)))
    for seed, arr, weights, y in results:
        ref = Conv2D(weights[0].shape[-1], weights[0].shape[0], padding="same")
        ref.build((1,) + arr.shape)
        ref.set_weights(weights)
        np.testing.assert_array_equal(ref(arr[None]), y, err_msg=str(seed))
        _, again, w2, _ = work(seed)
        np.testing.assert_array_equal(again, arr)
        np.testing.assert_array_equal(w2[0], weights[0])  # seeded initializers: reproducible


def test_every_kernel_releases_the_gil():
    import importlib
    import pkgutil

    import engine
    from numba.core.dispatcher import Dispatcher

    found = []
    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, Dispatcher) and obj.__module__ == info.name:
                found.append((info.name, name, obj.targetoptions.get("nogil")))
    assert len(found) >= 10
    assert [f for f in found if f[2] is not True] == []


def test_two_sessions_compute_at_the_same_time():
    """While one thread is inside the engine's kernels, another thread keeps running Python
    at (nearly) its own speed: the kernels release the GIL. (If they held it, the second
    thread would stop dead for the kernels' whole duration — a few percent of its speed.)"""
    import time

    import numba

    x = np.random.default_rng(0).random((1, 192, 192, 16), dtype=np.float32)
    layer = Conv2D(32, 5)
    layer(x[:, :16, :16])

    def python_rate(seconds):
        n, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            n += 1
        return n / seconds

    def rate_during_kernels():
        done = threading.Event()

        def work():
            numba.set_num_threads(1)
            for _ in range(6):
                layer(x)
            done.set()

        t = threading.Thread(target=work)
        n, t0 = 0, time.perf_counter()
        t.start()
        while not done.is_set():
            n += 1
        rate = n / (time.perf_counter() - t0)
        t.join()
        return rate

    ratios = [rate_during_kernels() / python_rate(0.2) for _ in range(3)]
    assert max(ratios) > 0.3, ratios
