"""The one place where kernels get their Numba decorator (options from engine.config)."""

from numba import njit, prange  # noqa: F401  (prange re-exported for kernels)

from engine.config import JIT_OPTIONS, PARALLEL


def jit(parallel: bool = False):
    """``@njit`` with the project's options; ``parallel`` only if enabled globally."""
    return njit(parallel=bool(parallel and PARALLEL), **JIT_OPTIONS)
