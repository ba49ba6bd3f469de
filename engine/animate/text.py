"""Numbers and cells as the captions write them."""

from __future__ import annotations

import math

import numpy as np


def fmt(v: float) -> str:
    """A value for a caption: integers as such, else 3 significant digits."""
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.3g}"


def paren(v: float) -> str:
    text = fmt(v)
    return f"({text})" if text.startswith("-") else text


def idx(cell) -> str:
    """``[2, 3]``: a cell as it is indexed."""
    return "[" + ", ".join(str(int(c)) for c in cell) + "]"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def listed(values, limit: int) -> str:
    """``1, 2.5, …``: at most ``limit`` values."""
    values = np.asarray(values).ravel()
    return ", ".join(fmt(v) for v in values[:limit]) + (", …" if values.size > limit else "")
