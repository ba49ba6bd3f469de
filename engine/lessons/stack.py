"""Layers of an exercise: built from ``(class name, kwargs)`` and written as Keras code by
the project's one printer (:func:`engine.stack.export.layer_call`)."""

from __future__ import annotations

from engine.layers import LAYER_CLASSES
from engine.pooling import POOLING_CLASSES
from engine.stack.export import LayerSpec, layer_call


class Blank:
    """The argument a question asks for: printed as ``?`` in the code line."""

    def __repr__(self) -> str:
        return "?"


BLANK = Blank()


def make_layer(class_name: str, kwargs: dict):
    """An engine layer (the 19, or pooling) from its Keras class name and arguments."""
    cls = LAYER_CLASSES.get(class_name) or POOLING_CLASSES[class_name]
    return cls(**kwargs)


def code_line(class_name: str, kwargs: dict) -> str:
    """``layers.Conv2D(8, 3, strides=2, padding="same")``: only non-default arguments."""
    return layer_call(LayerSpec(class_name, dict(kwargs)))


__all__ = ["BLANK", "code_line", "make_layer"]
