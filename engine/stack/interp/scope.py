"""Variables: a chain of scopes (a function's locals → where it was defined → the file)."""

from __future__ import annotations

_MISSING = object()


class Scope:
    """Names bound in one scope, and the scope names are looked up in next."""

    def __init__(self, parent: "Scope | None" = None):
        self.vars: dict = {}
        self.parent = parent

    def lookup(self, name):
        """The value bound to ``name`` here or in an enclosing scope; KeyError if none."""
        scope = self
        while scope is not None:
            value = scope.vars.get(name, _MISSING)
            if value is not _MISSING:
                return value
            scope = scope.parent
        raise KeyError(name)

    def bind(self, name, value) -> None:
        self.vars[name] = value
