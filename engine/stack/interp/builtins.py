"""The builtins a model file may call: pure functions of plain values, bounded in size."""

from __future__ import annotations

from engine.stack.interp.limits import MAX_COLLECTION, LimitExceeded


def _bounded(values, line):
    """Materialize an iterable of at most MAX_COLLECTION items."""
    if isinstance(values, range) and len(values) > MAX_COLLECTION:
        raise LimitExceeded(f"Line {line}: a range of more than {MAX_COLLECTION:,} items "
                            "(limit MAX_COLLECTION).")
    out = []
    for v in values:
        out.append(v)
        if len(out) > MAX_COLLECTION:
            raise LimitExceeded(f"Line {line}: more than {MAX_COLLECTION:,} items "
                                "(limit MAX_COLLECTION).")
    return out


def _range(*args):
    for a in args:
        if isinstance(a, bool) or not isinstance(a, int):
            raise TypeError(f"range() takes integers; got {a!r}")
    return range(*args)


def _print(*args, **kwargs):
    return None


PURE = {
    "len": len, "range": _range, "min": min, "max": max, "int": int, "float": float,
    "str": str, "bool": bool, "abs": abs, "round": round, "sum": sum, "any": any, "all": all,
    "print": _print,
}
# builtins whose result holds the items of an iterable: materialized within the limits
COLLECTING = {"tuple": tuple, "list": list, "dict": dict, "set": set, "zip": zip,
              "enumerate": enumerate, "reversed": reversed, "sorted": sorted}
NAMES = frozenset(PURE) | frozenset(COLLECTING)
# builtins that only count or arrange items: they may hold layers, tensors and models
STRUCTURAL = frozenset({"len", "tuple", "list", "zip", "enumerate", "reversed", "print"})


def call_builtin(name, args, kwargs, line):
    """``name(*args, **kwargs)`` for a builtin of :data:`NAMES`; TypeError / ValueError as
    Python raises them."""
    if name in PURE:
        return PURE[name](*args, **kwargs)
    materialized = [_bounded(a, line) if hasattr(a, "__iter__") and not isinstance(
        a, (str, dict)) else a for a in args]
    result = COLLECTING[name](*materialized, **kwargs)
    if name in ("zip", "enumerate", "reversed"):
        return _bounded(result, line)
    return result
