"""Process-wide settings: Numba JIT options and the Keras default data format.

JIT options are read once from the environment so that a benchmark or a debugging
session can change them without touching code:

- ``CONVLAB_JIT_CACHE`` (default ``1``): write compiled kernels to ``__pycache__``.
- ``CONVLAB_JIT_PARALLEL`` (default ``1``): let kernels use ``prange`` threads.
- ``CONVLAB_JIT_FASTMATH`` (default ``0``): allow reassociation (changes rounding).
"""

from __future__ import annotations

import json
import os
from pathlib import Path


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
PARALLEL = _flag("CONVLAB_JIT_PARALLEL", True)

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
