"""Keras 3's activations, initializers, regularizers and constraints, in pure NumPy.

Each submodule mirrors its ``keras.<kind>`` namesake: a ``get(identifier)`` that accepts what
Keras accepts (names, serialized dicts, objects, callables) and refuses what Keras refuses,
a ``serialize(obj)`` that writes what Keras writes into a layer config, and the objects
themselves. Layers go through the two helpers below:

- ``resolve(kind, identifier, argument_name)``: ``get`` with any failure re-raised as a
  ``ValueError`` naming the layer argument and the value received;
- ``serialize(kind, obj)``: the config entry for ``obj``.

``kind`` is one of ``"activation"``, ``"initializer"``, ``"regularizer"``, ``"constraint"``.
"""

from __future__ import annotations

from engine.keras_objects import activations, constraints, initializers, regularizers

__all__ = ["activations", "initializers", "regularizers", "constraints", "KINDS", "resolve",
           "serialize"]

#: kind → submodule.
KINDS = {
    "activation": activations,
    "initializer": initializers,
    "regularizer": regularizers,
    "constraint": constraints,
}


def _module(kind: str):
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}") from None


def resolve(kind: str, identifier, argument_name: str):
    """``get`` the ``kind`` object for a layer argument, or raise a ``ValueError`` saying
    ``Invalid value for argument `<argument_name>`: <reason> Received:
    <argument_name>=<identifier!r>``."""
    module = _module(kind)
    try:
        return module.get(identifier)
    except (ValueError, TypeError, KeyError) as exc:
        reason = str(exc).rstrip(".") + "."
        raise ValueError(
            f"Invalid value for argument `{argument_name}`: {reason} "
            f"Received: {argument_name}={identifier!r}"
        ) from exc


def serialize(kind: str, obj):
    """What Keras writes in a layer config for ``obj`` of this ``kind``."""
    return _module(kind).serialize(obj)
