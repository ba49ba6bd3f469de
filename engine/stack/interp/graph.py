"""The file's computation graph: layers are created and named, applied to tensors, and
their output shapes computed by the layers themselves (:func:`engine.stack.summary.
layer_output`), exactly as the summary will compute them again.

A layer's first application produces the tensor named after the layer (its row in the
summary); later applications and tensor operations (``x + y``) produce tensors named
``name@k`` / ``op@k`` whose shapes are handed to the summary (``Parsed.tensors``).
"""

from __future__ import annotations

from engine.stack.extra import Concatenate, _Merge
from engine.stack.interp.errors import Refused
from engine.stack.interp.limits import MAX_LAYERS_CREATED, LimitExceeded
from engine.stack.interp.values import InputOp, Layer, Node, Tensor
from engine.stack.spec import LayerSpec, snake_case


def layer_output(spec, in_shapes) -> tuple:
    """The output shape of ``spec`` applied to ``in_shapes`` (ValueError: Keras's reason)."""
    from engine.stack.summary import layer_output as summary_layer_output

    return summary_layer_output(spec, spec.name, list(in_shapes))[2]


class Graph:
    """Every layer, input and application in the file."""

    def __init__(self):
        self.nodes: list = []
        self.taken: set = set()
        self.uids: dict = {}
        self.layer_count = 0
        self.trace = None            # the SubclassModel whose call() is running

    # ------------------------------------------------------------------ names
    def unique_name(self, base: str) -> str:
        """Keras's default name: ``base``, ``base_1``, … (one counter per base)."""
        while True:
            k = self.uids.get(base, 0)
            self.uids[base] = k + 1
            name = base if k == 0 else f"{base}_{k}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def name_for(self, given, class_name: str) -> str:
        if isinstance(given, str) and given:
            self.taken.add(given)
            return given
        return self.unique_name(snake_case(class_name))

    # ------------------------------------------------------------------ creation
    def new_layer(self, class_name, kwargs, line, args=()) -> Layer:
        self.layer_count += 1
        if self.layer_count > MAX_LAYERS_CREATED:
            raise LimitExceeded(f"Line {line}: the code creates more than "
                                f"{MAX_LAYERS_CREATED:,} layers (limit MAX_LAYERS_CREATED).")
        name = self.name_for(kwargs.get("name"), class_name)
        return Layer(LayerSpec(class_name, kwargs, line=line, args=args, name=name), line)

    def new_input(self, shape, batch, name, line) -> Tensor:
        name = self.name_for(name, "InputLayer" if not name else name)
        tensor = Tensor((batch,) + tuple(shape), name)
        self._record(InputOp(name), [], tensor, line)
        return tensor

    def _record(self, operation, inputs, outputs, line) -> Node:
        outputs = outputs if isinstance(outputs, list) else [outputs]
        node = Node(operation, list(inputs), outputs, line, self.trace)
        for t in outputs:
            t.node = node
        self.nodes.append(node)
        return node

    # ------------------------------------------------------------------ application
    def apply(self, layer, spec, inputs, line) -> Tensor:
        """``layer`` (a :class:`Layer` or a model, whose row spec is ``spec``) applied to
        ``inputs``; a failure of its first application is the row's error (later rows are
        skipped), a failure of a later application stops the reading."""
        first = not layer.applications
        key = spec.name if first else f"{spec.name}@{len(layer.applications)}"
        upstream = next((t.failed for t in inputs if t.failed), None)
        if upstream:
            outs = [Tensor(None, spec.name if first else upstream, failed=upstream)]
        else:
            try:
                outs = _output_tensors(layer_output(spec, [t.shape for t in inputs]), key)
            except ValueError as exc:
                if not first:
                    raise Refused(f"Line {line}: layer {spec.name!r} applied again: {exc}") \
                        from None
                outs = [Tensor(None, spec.name, failed=spec.name)]
        layer.applications.append(self._record(layer, inputs, outs, line))
        return outs[0] if len(outs) == 1 else list(outs)

    def operation(self, what, inputs, line) -> Tensor:
        """A tensor operation (``x + y``, ``ops.concatenate``): no row, a shape."""
        upstream = next((t.failed for t in inputs if t.failed), None)
        key = f"{what}@{len(self.nodes)}"
        if upstream:
            return self._record(what, inputs, Tensor(None, upstream, upstream), line).output
        try:
            shape = operation_shape(what, [t.shape for t in inputs])
        except ValueError as exc:
            raise Refused(f"Line {line}: {what} of tensors of shapes "
                          f"{[t.shape for t in inputs]}: {exc}") from None
        return self._record(what, inputs, Tensor(shape, key), line).output


def _output_tensors(shape, key) -> list:
    """One tensor for a shape; ``key:0``, ``key:1``… for a layer of several outputs (its
    row shows them all, the tensors are read by these names)."""
    if shape and isinstance(shape[0], tuple):
        return [Tensor(s, f"{key}:{i}") for i, s in enumerate(shape)]
    return [Tensor(shape, key)]


def operation_shape(what, shapes) -> tuple:
    """Shapes of ``add`` / ``subtract`` / ``multiply`` / ``divide`` / ``maximum`` /
    ``minimum`` (Keras's broadcasting, as the merge layers) and ``concatenate:axis``; a
    ``scale`` by a number and the element-wise ``same`` ops keep the shape."""
    if what in ("scale", "same"):
        return tuple(shapes[0])
    if what.startswith("concatenate"):
        axis = int(what.split(":")[1]) if ":" in what else -1
        return Concatenate(axis=axis).compute_output_shape(shapes)
    return _Merge().compute_output_shape(shapes)
