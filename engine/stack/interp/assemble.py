"""Models of the file → :class:`~engine.stack.spec.Parsed` in ``model.layers`` order.

- Sequential: its layers in order.
- Functional: Keras's ``map_graph`` (``keras/src/ops/function.py``) over the nodes that
  lead from the inputs to the outputs: operations by decreasing depth, ties by the order a
  depth-first walk from the outputs first meets them; tensor operations are not layers.
- Subclass: the layers assigned to ``self`` in ``__init__``, in that order (as Keras
  tracks them), each with its first application in ``call``.

A nested model is one row: its spec is ``("Sequential" | "Functional", {"name", "model":
Parsed})`` (:class:`engine.stack.nested.NestedModel` computes it).
"""

from __future__ import annotations

from engine.stack.interp.errors import Refused
from engine.stack.interp.values import (
    FunctionalModel, InputOp, Layer, SequentialModel, SubclassModel,
)
from engine.stack.spec import LayerSpec, Parsed


def row_spec(operation) -> LayerSpec:
    """The summary row of a layer or a nested model."""
    if isinstance(operation, Layer):
        return operation.spec
    if isinstance(operation, SubclassModel):
        raise Refused(f"Line {operation.line}: a Model subclass used as a layer of another "
                      "model is not read; summarize the subclass on its own.")
    if operation.row is None:
        kind = "Sequential" if isinstance(operation, SequentialModel) else "Functional"
        operation.row = LayerSpec(kind, {"name": operation.name,
                                         "model": to_parsed(operation)},
                                  line=operation.line, name=operation.name)
    return operation.row


def _row_inputs(operation, nodes):
    """The inputs of the operation's first application among ``nodes`` (the model's own
    graph: a layer shared with another model is read where this model applies it)."""
    mine = {id(n) for n in nodes}
    node = next((n for n in operation.applications if id(n) in mine), None)
    return None if node is None else [t.key for t in node.inputs]


def _known_tensors(nodes, row_keys) -> dict:
    """Shapes of the tensors the rows read that are not rows' first outputs."""
    out = {}
    for node in nodes:
        for t in [*node.inputs, *node.outputs]:
            if t.shape is not None and t.key not in row_keys:
                out[t.key] = t.shape
    return out


def to_parsed(model) -> Parsed:
    if isinstance(model, SequentialModel):
        return sequential_parsed(model)
    if isinstance(model, FunctionalModel):
        return functional_parsed(model)
    return subclass_parsed(model)


def sequential_parsed(model: SequentialModel) -> Parsed:
    specs = [row_spec(layer) for layer in model.layers]
    return Parsed(specs, model.input_shape, model.batch_size, "sequential",
                  model_name=model.name)


def map_graph(inputs, outputs) -> tuple:
    """Keras's ``map_graph``: ``(operations in model.layers order, nodes used)``."""
    input_ids = {id(t) for t in inputs}
    finished, in_progress, ordered, op_index = set(), set(), [], {}

    stack = [(t, False) for t in reversed(outputs)]      # a depth-first walk, no recursion
    while stack:
        tensor, children_done = stack.pop()
        node = tensor.node
        if children_done:
            finished.add(id(node))
            in_progress.discard(id(node))
            ordered.append(node)
            continue
        if node is None or id(node) in finished:
            continue
        if id(node) in in_progress:
            raise Refused(f"Line {node.line}: the graph has a cycle.")
        op_index.setdefault(id(node.operation), (len(op_index), node.operation))
        in_progress.add(id(node))
        stack.append((tensor, True))
        if node.inputs and id(tensor) not in input_ids:
            stack.extend((t, False) for t in reversed(node.inputs))
    node_depth, op_depth = {}, {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(id(node), 0), op_depth.get(id(node.operation), 0))
        op_depth[id(node.operation)] = depth
        node_depth[id(node)] = depth
        for t in node.inputs:
            if t.node is not None:
                node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    ops = sorted(op_index.values(), key=lambda item: (-op_depth[id(item[1])], item[0]))
    return [op for _, op in ops], ordered


def functional_parsed(model: FunctionalModel) -> Parsed:
    """A functional model's rows: Keras's map_graph order, tensor operations left out."""
    operations, nodes = map_graph(model.inputs, model.outputs)
    if any(node.trace is not None for node in nodes):
        raise Refused(f"Line {model.line}: a Model subclass used as a layer of another model "
                      "is not read; summarize the subclass on its own.")
    missing = [t.key for t in _graph_inputs(nodes) if all(t is not i for i in model.inputs)]
    if missing:
        raise Refused(f"Line {model.line}: the outputs depend on the input {missing[0]!r}, "
                      "which is not among the model's inputs.")
    rows = [op for op in operations if not isinstance(op, InputOp) and not isinstance(op, str)]
    specs = [row_spec(op).replace(inputs=_row_inputs(op, nodes)) for op in rows]
    _check_unique([s.name for s in specs], model.line)
    first = model.inputs[0]
    known = _known_tensors(nodes, {s.name for s in specs})
    known.pop(first.key, None)
    if is_chain(specs, first.key) and len(model.inputs) == 1:
        specs = [s.replace(inputs=None) for s in specs]
    return Parsed(specs, first.shape[1:], first.shape[0], "functional",
                  input_name=first.key, outputs=[t.key for t in model.outputs],
                  notes=_dropped_note(model, rows), tensors=known, model_name=model.name)


def _dropped_note(model, rows) -> list:
    """Layers applied to the model's inputs that do not lead to its outputs."""
    downstream = {id(t) for t in model.inputs}
    kept = {id(op) for op in rows}
    dropped = set()
    for node in model.file_nodes:
        if any(id(t) in downstream for t in node.inputs):
            downstream.update(id(t) for t in node.outputs)
            if isinstance(node.operation, Layer) and id(node.operation) not in kept:
                dropped.add(id(node.operation))
    if not dropped:
        return []
    return [f"{len(dropped)} layer(s) do not lead to the model's outputs; Keras leaves them "
            "out of the model, and so does this summary."]


def _graph_inputs(nodes):
    return [n.output for n in nodes if isinstance(n.operation, InputOp)]


def subclass_parsed(model: SubclassModel) -> Parsed:
    """A subclassed model's rows: its layers in tracking order, each at its first call."""
    if model.inputs is None:
        raise Refused(f"Line {model.line}: the Model subclass {model.cls.name!r} is never "
                      "built: call model.build((None, ...)) or apply it to keras.Input(...).")
    tracked = tracked_layers(model.attrs.values())
    used = [op for op in tracked if op.applications]
    nodes = [n for op in used for n in op.applications]
    specs = [row_spec(op).replace(inputs=_row_inputs(op, nodes)) for op in used]
    first = model.inputs[0]
    notes = [f"Layer {op.name!r} is never called in call(); it has no shape and is left out."
             for op in tracked if not op.applications]
    known = _known_tensors(nodes, set())
    known.pop(first.key, None)
    return Parsed(specs, first.shape[1:], first.shape[0], "functional",
                  input_name=first.key, outputs=[t.key for t in model.outputs],
                  notes=notes, tensors=known, model_name=model.name)


def tracked_layers(values) -> list:
    """Layers and models among ``values`` (lists and dicts looked into), in order, once."""
    out, seen = [], set()

    def walk(v):
        if isinstance(v, (Layer, SequentialModel, FunctionalModel)):
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)

    for value in values:
        walk(value)
    return out


def _check_unique(names, line):
    seen = set()
    for n in names:
        if n in seen:
            raise Refused(f"Line {line}: the name {n!r} is used 2 times in the model. All "
                          "layer names should be unique; give the layers different name=.")
        seen.add(n)


def is_chain(specs, input_name) -> bool:
    """True when every layer takes exactly the previous one's output (a Sequential)."""
    prev = input_name
    for s in specs:
        if s.inputs is None or list(s.inputs) != [prev]:
            return False
        prev = s.name
    return True


__all__ = ["is_chain", "map_graph", "row_spec", "to_parsed", "tracked_layers"]
