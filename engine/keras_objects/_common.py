"""Helpers shared by the four Keras object kinds: name tables, dict configs, serialization.

Keras 3 resolves initializers, regularizers and constraints the same way
(``keras.src.saving.serialization_lib.deserialize_keras_object`` with ``module_objects``):

- a string is looked up (case-sensitively) in a table holding every class under its
  CamelCase name and under Keras's ``to_snake_case`` of that name, plus a few aliases;
- a dict needs a ``class_name`` from the same table; its ``module`` and ``registered_name``
  are otherwise ignored (a ``module`` that is present but ``None`` is refused), its
  ``config`` (missing or ``None`` means ``{}``) goes to ``cls.from_config``;
- a class is instantiated with its defaults, any other callable is returned as is.

This module is private to :mod:`engine.keras_objects`.
"""

from __future__ import annotations

import inspect
import json
import re
import types

from engine.config import keras_config_path

DEFAULT_EPSILON = 1e-7


def epsilon() -> float:
    """Keras's fuzz factor ``backend.epsilon()``: ``epsilon`` in keras.json, else 1e-7."""
    try:
        with open(keras_config_path(), encoding="utf-8") as fh:
            value = json.load(fh).get("epsilon", DEFAULT_EPSILON)
        return float(value)
    except (OSError, ValueError, TypeError, AttributeError):
        return DEFAULT_EPSILON


def to_snake_case(name: str) -> str:
    """Keras's ``keras.src.utils.naming.to_snake_case`` (``L1L2`` → ``l1l2``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def build_table(classes, aliases=None) -> dict:
    """Name → class for ``classes`` under CamelCase and snake_case names, plus ``aliases``."""
    table = {cls.__name__: cls for cls in classes}
    table.update({to_snake_case(cls.__name__): cls for cls in classes})
    table.update(aliases or {})
    return table


def known_names(table: dict) -> str:
    """The table's names, sorted, for error messages."""
    return ", ".join(sorted(table))


def to_plain(value):
    """NumPy scalars → Python scalars, tuples/lists/dicts recursively (as Keras serializes)."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(v) for v in value)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


class KerasObject:
    """Base of every built-in object here: ``get_config`` / ``from_config`` as in Keras."""

    def get_config(self) -> dict:
        """Constructor arguments as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict):
        """Rebuild an object from ``get_config()``'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        try:
            config = self.get_config()
        except NotImplementedError:
            config = {}
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{type(self).__name__}({args})"


def from_dict(config: dict, table: dict, kind: str):
    """Instantiate the object a Keras config dict describes (see the module docstring)."""
    if "class_name" not in config:
        raise ValueError(f"Unknown `config` as a `dict`, config={config}")
    class_name = config["class_name"]
    if config.get("module", "_") is None:
        raise ValueError(
            f"Cannot deserialize object of type `{class_name}`: `module` is None, which "
            "Keras reserves for unregistered custom classes."
        )
    cls = table.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise ValueError(
            f"Could not interpret {kind} identifier: {config!r}. "
            f"Known {kind}s: {known_names(table)}"
        )
    inner = config.get("config")
    inner = {} if inner is None else inner
    if not isinstance(inner, dict):
        raise ValueError(
            f"Expected 'config' to be a dict for {class_name}, instead got "
            f"{type(inner).__name__}. Full config: {config}"
        )
    try:
        return cls.from_config(inner)
    except (TypeError, KeyError) as exc:
        raise ValueError(
            f"Could not build {kind} {cls.__name__} from config={inner!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def get_object(identifier, table: dict, kind: str, from_string):
    """Keras's ``get`` for initializers, regularizers and constraints.

    ``from_string(cls)`` builds the object a bare name stands for (``cls()`` for
    regularizers and constraints, ``cls.from_config({})`` for initializers, as in Keras).
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return from_dict(identifier, table, kind)
    if isinstance(identifier, str):
        cls = table.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret {kind} identifier: {identifier!r}. "
                f"Known {kind}s: {known_names(table)}"
            )
        try:
            return from_string(cls)
        except (TypeError, KeyError) as exc:
            raise ValueError(
                f"{kind.capitalize()} {identifier!r} cannot be built from its name alone: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")


def serialize_object(obj, module: str, builtin_classes):
    """Keras's ``serialize_keras_object`` for the objects of one kind.

    Built-in classes give ``{"module": module, "class_name", "config", "registered_name":
    None}``; custom objects with ``get_config`` give their own module and class name;
    plain functions give Keras's ``{"module": "builtins", "class_name": "function",
    "config": name, "registered_name": "function"}``. ``None`` stays ``None``.
    """
    if obj is None:
        return None
    if type(obj) in builtin_classes:
        return {"module": module, "class_name": type(obj).__name__,
                "config": to_plain(obj.get_config()), "registered_name": None}
    if isinstance(obj, types.FunctionType):
        return {"module": "builtins", "class_name": "function",
                "config": obj.__name__, "registered_name": "function"}
    cls = type(obj)
    config = to_plain(obj.get_config()) if hasattr(obj, "get_config") else None
    return {"module": cls.__module__, "class_name": cls.__name__, "config": config,
            "registered_name": cls.__name__}

