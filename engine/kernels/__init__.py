"""Compiled kernels (Numba ``@njit`` only). Wrappers here take validated, contiguous,
channels-last float32 arrays; all argument checking lives in :mod:`engine.shapes` and the
layers, except the working-memory budget (:mod:`engine.kernels.budget`), which the
convolution wrappers check from shapes before allocating. Every kernel works on 3 spatial
axes; 1D and 2D callers add unit axes."""
