"""The engine's working-memory budget: one limit for every kernel call, checked before
anything is allocated.

:data:`MAX_WORK_BYTES` bounds what one call of :func:`engine.kernels.conv.conv` /
:func:`engine.kernels.conv.conv_transpose` holds at once: its output, the copies of the
input and the weights, the zero-padded or channel-expanded input, the tap tables, the packed
weights and the index arrays. :func:`engine.kernels.conv.working_memory` estimates them
from shapes alone (the same estimate the kernels use to choose their layout and to refuse).
The environment variable ``CONVLAB_MAX_WORK_BYTES`` (a number of bytes, e.g. ``8e9``)
overrides the default of 4 GiB when the engine is imported.
"""

from __future__ import annotations

import os

ENV_VAR = "CONVLAB_MAX_WORK_BYTES"
DEFAULT_MAX_WORK_BYTES = 4 * 2 ** 30


def _from_env() -> int:
    """The limit in bytes: ``$CONVLAB_MAX_WORK_BYTES`` if set, else the default."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_MAX_WORK_BYTES
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 1 or value > 2 ** 62:
        raise ValueError(f"The environment variable {ENV_VAR} must be a number of bytes between 1 "
                         f"and 2**62 (e.g. 8e9). Received {ENV_VAR}={text!r}.")
    return int(value)


MAX_WORK_BYTES = _from_env()


def fmt_bytes(n: int) -> str:
    """``1536`` → ``"1.5 KiB"``; astronomically large counts as a power of ten."""
    n = int(n)
    if n >= 2 ** 70:
        return f"≈ 10^{len(str(n)) - 1} bytes"
    for unit, size in (("EiB", 2 ** 60), ("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", 2 ** 30),
                       ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def limit_text(limit: int) -> str:
    """How the limit is named in refusals."""
    return (f"the engine's working-memory limit of {fmt_bytes(limit)} "
            f"(engine.kernels.budget.MAX_WORK_BYTES; set {ENV_VAR} to change it)")
