"""Python values written back as Python literals: the one printer of the project.

Two forms of the same literal:

- code (default): what generated Keras code contains — ``(3, 3)``, ``"same"``,
  ``{"class_name": "he_normal", "config": {"seed": 5}}``, floats as ``repr`` prints them;
- ``compact=True``: what a URL carries — ``(3,3)``, a bare word for a string value
  (``same``; quoted inside containers), floats to six significant digits;
  :func:`ast.literal_eval` (or the app's bare-word rule) reads it back.

``limit`` cuts the text for messages (``…``); a value Python cannot print (an int of more
digits than ``sys.get_int_max_str_digits``) then reads ``<int too large to print>``.
"""

from __future__ import annotations

import ast
import numbers

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _bare(text: str) -> bool:
    """``text`` can stand in a URL without quotes: a plain word that reads back as itself."""
    if not text or not all(ch.isalnum() or ch in "_-." for ch in text):
        return False
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return True
    return False  # a word such as None, True or 12 would read back as another value


def _string(text: str, compact: bool, top: bool) -> str:
    if compact:
        return text if top and _bare(text) else repr(text)
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def _float(value: float, compact: bool) -> str:
    if not compact:
        return repr(value)
    text = f"{value:.6g}"
    return text if any(c in text for c in ".en") else text + ".0"


def _write(value, compact: bool, top: bool = True) -> str:
    """``top``: the value is the whole literal (only there may a compact string be bare)."""
    sep = "," if compact else ", "
    if isinstance(value, str):
        return _string(value, compact, top)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, float):
        return _float(value, compact)
    if isinstance(value, tuple):
        inner = sep.join(_write(v, compact, False) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + sep.join(_write(v, compact, False) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + sep.join(f"{_write(k, compact, False)}: {_write(v, compact, False)}"
                              for k, v in value.items()) + "}"
    return repr(value)


def literal(value, compact: bool = False, limit: int | None = None) -> str:
    """``value`` as a Python literal (see the module docstring for the two forms); with
    ``limit``, at most that many characters and never an exception."""
    if limit is None:
        return _write(value, compact)
    try:
        text = _write(value, compact)
    except ValueError:  # an int with more digits than Python will print
        return f"<{type(value).__name__} too large to print>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["literal"]
