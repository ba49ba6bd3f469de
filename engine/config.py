"""Process-wide settings: Numba JIT options and the Keras default data format.

JIT options are read once from the environment so that a benchmark or a debugging
session can change them without touching code:

- ``CONVLAB_JIT_CACHE`` (default ``1``): write compiled kernels to ``__pycache__``.
- ``CONVLAB_JIT_PARALLEL`` (default ``1``): let kernels use ``prange`` threads.
- ``CONVLAB_JIT_FASTMATH`` (default ``0``): allow reassociation (changes rounding).
- ``CONVLAB_THREADING_LAYER`` (default: Numba's priority among ``omp`` and ``tbb``): the
  Numba threading layer behind ``prange``.

Thread safety. Streamlit runs every session's script in its own Python thread, and kernels
release the GIL (``nogil=True``), so parallel kernels are entered from several threads at
once. Numba's ``workqueue`` layer does not allow that (it aborts the process on a concurrent
launch); ``omp`` and ``tbb`` do. :data:`PARALLEL` is therefore resolved lazily, on first
access (when :mod:`engine.kernels.jit` imports it, before any kernel is compiled): it picks
the first thread-safe layer that loads and sets ``numba.config.THREADING_LAYER`` to it, or,
when neither loads (e.g. no ``libgomp`` and no ``tbb``), compiles the kernels without
``parallel`` — slower, never unsafe. :data:`THREADING_LAYER` names the choice (``None``:
serial kernels). Importing this module alone does not import Numba.
"""

from __future__ import annotations

import importlib
import json
import os
import warnings
from pathlib import Path
from typing import Optional


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in {"0", "false", "no", "off", ""}


JIT_OPTIONS = {
    "cache": _flag("CONVLAB_JIT_CACHE", True),
    "nogil": True,
    "fastmath": _flag("CONVLAB_JIT_FASTMATH", False),
}
SAFE_THREADING_LAYERS = ("omp", "tbb")  # Numba layers that allow concurrent launches


def _layer_loads(name: str) -> bool:
    """Whether Numba's ``name`` threading layer can be loaded here (as Numba checks it)."""
    from numba.np.ufunc import parallel as _par

    try:
        if name == "tbb":
            _par._check_tbb_version_compatible()
            importlib.import_module("numba.np.ufunc.tbbpool")
        else:
            importlib.import_module("numba.np.ufunc.omppool")
    except (ImportError, OSError):
        return False
    return True


def select_threading_layer() -> Optional[str]:
    """Choose a thread-safe Numba threading layer and tell Numba; ``None`` if there is none.

    Order: ``CONVLAB_THREADING_LAYER`` if set, else a safe layer named in
    ``NUMBA_THREADING_LAYER``, else Numba's ``THREADING_LAYER_PRIORITY`` without
    ``workqueue``. If Numba already launched its threads (some other code ran a parallel
    function first), that layer is kept and reported, or ``None`` if it is not safe.
    """
    import numba
    from numba.np.ufunc import parallel as _par

    if _par._is_initialized:
        layer = numba.threading_layer()
        return layer if layer in SAFE_THREADING_LAYERS else None
    asked = (os.environ.get("CONVLAB_THREADING_LAYER")
             or str(numba.config.THREADING_LAYER)).strip().lower()
    if asked == "workqueue":
        warnings.warn("The workqueue threading layer is not thread-safe; convlab compiles "
                      "its kernels without parallel=True instead.", RuntimeWarning, stacklevel=2)
        return None
    if asked in SAFE_THREADING_LAYERS:
        order = [asked]
    else:  # "default", "safe", "threadsafe", "forksafe", or anything else
        order = [n for n in numba.config.THREADING_LAYER_PRIORITY if n in SAFE_THREADING_LAYERS]
    for name in order:
        if _layer_loads(name):
            numba.config.THREADING_LAYER = name
            return name
    warnings.warn("No thread-safe Numba threading layer (omp needs libgomp, tbb needs `pip "
                  "install tbb`); convlab compiles its kernels without parallel=True.",
                  RuntimeWarning, stacklevel=2)
    return None


def _resolve_parallel() -> None:
    global PARALLEL, THREADING_LAYER
    layer = select_threading_layer() if _flag("CONVLAB_JIT_PARALLEL", True) else None
    THREADING_LAYER = layer
    PARALLEL = layer is not None


def __getattr__(name: str):
    """``PARALLEL`` / ``THREADING_LAYER`` are resolved on first access (PEP 562)."""
    if name in ("PARALLEL", "THREADING_LAYER"):
        _resolve_parallel()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DATA_FORMATS = ("channels_last", "channels_first")


def keras_config_path() -> Path:
    """Where Keras keeps ``keras.json``: ``$KERAS_HOME`` or ``~/.keras``."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home) / "keras.json"
    return Path(os.path.expanduser("~")) / ".keras" / "keras.json"


def image_data_format() -> str:
    """The ``image_data_format`` Keras would use: keras.json if readable, else channels_last.

    Read on every call (it is a tiny file) so that a test or a user who edits keras.json
    sees the change, as Keras does at import time.
    """
    try:
        with open(keras_config_path(), encoding="utf-8") as fh:
            value = json.load(fh).get("image_data_format", "channels_last")
    except (OSError, ValueError, AttributeError):
        return "channels_last"
    return value if value in DATA_FORMATS else "channels_last"
