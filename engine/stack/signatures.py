"""Stand-ins whose constructor is a Keras signature written as data.

A class deriving from :class:`KerasSignature` lists ``PARAMETERS`` — Keras's ``(name,
default)`` pairs in order, :data:`REQUIRED` for none — and gets a constructor with exactly
that signature (``inspect.signature`` shows it, so positional arguments of pasted code are
named as Keras names them); the values land in ``self.options``.
"""

from __future__ import annotations

import inspect

REQUIRED = inspect.Parameter.empty
_P = inspect.Parameter


def _signature(parameters) -> inspect.Signature:
    params = [_P("self", _P.POSITIONAL_OR_KEYWORD)]
    params += [_P(n, _P.POSITIONAL_OR_KEYWORD, default=d) for n, d in parameters]
    return inspect.Signature(params + [_P("kwargs", _P.VAR_KEYWORD)])


class KerasSignature:
    """Mixin: ``PARAMETERS`` → the constructor's signature and ``self.options``."""

    PARAMETERS: tuple = ()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "PARAMETERS" not in cls.__dict__:
            return
        inherited = cls.__init__

        def __init__(self, *args, **kwargs):
            inherited(self, *args, **kwargs)

        __init__.__signature__ = _signature(cls.PARAMETERS)
        __init__.__doc__ = inherited.__doc__
        cls.__init__ = __init__

    def bind_options(self, args, kwargs) -> dict:
        """Keras's values for ``PARAMETERS`` from ``args`` / ``kwargs`` (taken out of
        ``kwargs``; what is left are the base layer's keywords), defaults filled in."""
        names = [n for n, _ in self.PARAMETERS]
        owner = type(self).__name__
        if len(args) > len(names):
            raise ValueError(f"{owner}() takes at most {len(names)} positional arguments; "
                             f"{len(args)} were given")
        options = dict(zip(names, args))
        for name, default in self.PARAMETERS:
            if name in kwargs:
                if name in options:
                    raise ValueError(f"{owner}() got multiple values for argument {name!r}")
                options[name] = kwargs.pop(name)
            elif name not in options:
                if default is REQUIRED:
                    raise ValueError(f"{owner}() missing required argument {name!r}")
                options[name] = default
        return options
