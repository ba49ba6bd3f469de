"""A model used as a layer of another model: one row, as ``model.summary()`` shows it.

``NestedModel(model=parsed, name=...)`` holds the inner model as a
:class:`~engine.stack.spec.Parsed`; its output shape and weights are the inner summary's
for the input it is applied to (the same code that summarizes any model). The result is
kept on the inner ``Parsed`` per input shape, so a model applied many times (or summarized
again as a row) is summarized once.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.stack.extra import ShapeLayer


@dataclass(frozen=True)
class InnerSummary:
    """What the outer row needs from the inner model: its output shape and weights."""

    output_shape: tuple
    weights: list


class NestedModel(ShapeLayer):
    """A Sequential or functional model as a layer (one input, one output)."""

    kind = "reshape"

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model

    def _inner(self, input_shape) -> InnerSummary:
        cache = self.model.__dict__.setdefault("_inner_summaries", {})
        key = tuple(input_shape)
        if key not in cache:
            try:
                cache[key] = self._summarize(key)
            except ValueError as exc:
                cache[key] = exc
        if isinstance(cache[key], ValueError):
            raise cache[key]
        return cache[key]

    def _summarize(self, input_shape) -> InnerSummary:
        from engine.stack.summary import analyze, layer_output, weight_shapes

        outputs = self.model.outputs
        if outputs is not None and len(outputs) != 1:
            raise ValueError(f"Model {self.name!r} has {len(outputs)} outputs; the shape "
                             "debugger follows nested models with one output.")
        inner = self.model.replace(input_shape=input_shape[1:], batch_size=input_shape[0])
        report = analyze(inner, receptive=False)
        bad = report.first_error
        if bad is not None:
            row = report.rows[bad]
            raise ValueError(f"In model {self.name!r}, layer {row['name']!r}: {row['error']}")
        weights = []
        for spec, row in zip(report.specs, report.rows):
            layer, arg, _ = layer_output(spec, row["name"], row["input_shapes"])
            weights += [(f"{row['name']}/{n}", s, t) for n, s, t in weight_shapes(layer, arg)]
        if not outputs:
            return InnerSummary(tuple(report.output_shape), weights)
        by_name = {r["name"]: r["output_shape"] for r in report.rows}
        out = by_name[outputs[0]] if outputs[0] in by_name else self.model.tensors[outputs[0]]
        return InnerSummary(tuple(out), weights)

    def compute_output_shape(self, input_shape):
        return self._inner(input_shape).output_shape

    def weight_shapes(self, input_shape):
        """The inner layers' weights, named ``layer/weight``."""
        return list(self._inner(input_shape).weights)

    def call(self, x, weights=None):
        raise ValueError(f"Feature maps are not computed through the nested model "
                         f"{self.name!r}.")


def _nested_class(name):
    return type(name, (NestedModel,), {"__doc__": f"Keras's ``{name}`` used as a layer."})


Sequential = _nested_class("Sequential")
Functional = _nested_class("Functional")
LAYERS = {"Sequential": Sequential, "Functional": Functional}
