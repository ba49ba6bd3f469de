"""The one place where kernels get their Numba decorator (options from engine.config)."""

from numba import njit, prange  # noqa: F401  (prange re-exported for kernels)

from engine.config import JIT_OPTIONS, PARALLEL


def jit(parallel: bool = False, inline: bool = False):
    """``@njit`` with the project's options; ``parallel`` only if enabled globally;
    ``inline``: inlined into its callers by Numba itself (``inline="always"``: one LLVM
    function for a register block's whole loop, no call with 16 vectors by memory)."""
    options = dict(JIT_OPTIONS, inline="always") if inline else JIT_OPTIONS
    return njit(parallel=bool(parallel and PARALLEL), **options)
