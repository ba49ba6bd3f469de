"""One cold-start measurement in this (fresh) interpreter; prints a JSON line.

``python -m benchmarks.cold "Conv2D(16, 3, padding='same')" "(1, 64, 64, 3)"``: time to
import :mod:`engine.layers`, the first call of the layer (build + Numba compile or cache
load + run) and a second call. The parent (:mod:`benchmarks.run`) points
``NUMBA_CACHE_DIR`` at an empty directory for the cold run and reuses it for the warm run.
"""

from __future__ import annotations

import ast
import json
import sys
import time


def construct(ctor: str, classes: dict):
    """``"Conv2D(16, 3, padding='same')"`` → that layer, read with :mod:`ast` (a class name
    from ``classes`` called with literal arguments only; nothing is evaluated)."""
    call = ast.parse(ctor, mode="eval").body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id in classes):
        raise ValueError(f"not a layer constructor: {ctor!r}")
    args = [ast.literal_eval(a) for a in call.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    return classes[call.func.id](*args, **kwargs)


def main(ctor: str, shape: str, threads: int = 2) -> None:
    t0 = time.perf_counter()
    import numba
    import numpy as np

    from engine import layers

    t1 = time.perf_counter()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    x = np.random.default_rng(0).standard_normal(ast.literal_eval(shape)).astype(np.float32)
    layer = construct(ctor, layers.LAYER_CLASSES)
    t2 = time.perf_counter()
    layer(x)
    t3 = time.perf_counter()
    layer(x)
    t4 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "first_call_s": t3 - t2, "second_call_s": t4 - t3}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2)
