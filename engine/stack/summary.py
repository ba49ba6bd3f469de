"""``summarize``: a stack of layers → one row per layer, as ``model.summary()`` shows it.

Each row: ``layer`` (class name), ``name``, ``output_shape`` (batch first, ``None`` for an
unknown batch), ``params`` (``count_params()``: trainable and non-trainable together, as
the summary counts them), ``trainable_params``, ``output_shapes`` (every output of a
layer with several, e.g. an LSTM with ``return_state``, ``output_shape`` being the first;
else None), ``macs`` (multiply-adds for one example), ``error`` (``None`` or Keras's
reason), ``status`` (``"ok"``, ``"error"``, ``"skipped"`` after an earlier failure,
``"unsupported"``), ``support`` (``"engine"``, ``"pooling"``,
``"shape"``, ``"unsupported"``), ``inputs`` (names), ``input_shapes``, the receptive-field
columns ``rf_size`` / ``rf_jump`` / ``rf_start`` (per spatial axis, from
:mod:`engine.receptive`; ``None`` with ``rf_note`` saying why when not available) and
``line`` (source line of pasted code).

Shapes are computed without allocating weights: the weight shapes, parameters and
multiply-adds of engine layers come from :mod:`engine.geometry` (which runs Keras's
build-time checks, e.g. groups that do not divide the channels), the same numbers the
layers build with.

Multiply-adds count the products of one example, bias and activation excluded
(:attr:`engine.geometry.LayerGeometry.macs`): convolution ``out positions × kernel size``,
depthwise ``out positions × k × C × M``, separable depthwise + pointwise, transposed ``in
positions × kernel size`` (every input cell scatters a full kernel, cropped cells included),
UpSampling2D's non-zero interpolation weights; Dense ``positions × in × units``. Other
layers count 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from engine.geometry import geometry
from engine.layers.base import Layer as EngineLayer
from engine.receptive import receptive_field
from engine.stack.extra import ShapeLayer
from engine.stack.parse import load_model_config, parse_keras_code
from engine.stack.spec import (
    INPUT_NAME, MAX_LAYERS, LayerSpec, Parsed, as_spec, assign_names, layer_class, layer_kind,
)

RF_PARAM_LIMIT = 20_000_000   # receptive fields are not computed above this many weights


@dataclass
class Report:
    """Everything :func:`analyze` found. ``rows`` is what :func:`summarize` returns."""

    rows: list
    specs: list                   # LayerSpec with ``name`` set, in row order
    input_shape: tuple | None     # batch first (None = no input shape)
    input_name: str = INPUT_NAME
    kind: str = "sequential"
    notes: list = field(default_factory=list)
    receptive_note: str | None = None
    model_name: str | None = None  # pasted code: the model summarized …
    models: tuple = ()             # … and every model of the file (Parsed.models)

    @property
    def names(self) -> list:
        return [r["name"] for r in self.rows]

    @property
    def first_error(self) -> int | None:
        """Index of the first row that failed (error or unsupported), or None."""
        for i, r in enumerate(self.rows):
            if r["status"] in ("error", "unsupported"):
                return i
        return None

    @property
    def ok(self) -> bool:
        return self.first_error is None and self.input_shape is not None

    @property
    def total_params(self) -> int:
        return sum(r["params"] for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r["trainable_params"] for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r["macs"] or 0 for r in self.rows)

    @property
    def output_shape(self):
        return self.rows[-1]["output_shape"] if self.rows else self.input_shape


# ------------------------------------------------------------------------------ inputs

def to_parsed(source_or_specs, input_shape=None, model=None) -> Parsed:
    """Keras code, JSON config text, ``.keras`` bytes, a config dict, a :class:`Parsed` or
    a list of ``(class_name, kwargs)`` → :class:`Parsed`, with ``input_shape`` (``keras.
    Input``'s ``shape``, batch excluded; a leading ``None`` is read as the batch) taking
    precedence over the one in the source. ``model`` picks a model of pasted code by name
    (default: the one bound to ``model``, else the last built)."""
    src = source_or_specs
    if isinstance(src, Parsed):
        parsed = src
    elif isinstance(src, (bytes, bytearray)):
        head = bytes(src[:64]).lstrip()
        parsed = load_model_config(src) if src[:2] == b"PK" or head.startswith(b"{") \
            else parse_keras_code(bytes(src).decode("utf-8", errors="replace"), model)
    elif isinstance(src, str):
        parsed = load_model_config(src) if src.lstrip().startswith("{") \
            else parse_keras_code(src, model)
    elif isinstance(src, dict):
        parsed = load_model_config(src)
    elif isinstance(src, (list, tuple)):
        if len(src) > MAX_LAYERS:
            raise ValueError(f"More than {MAX_LAYERS} layers; the shape debugger is limited "
                             "to that many.")
        parsed = Parsed([as_spec(s) for s in src], None, kind="list")
    else:
        raise ValueError("Give Keras code, a model JSON config, or a list of "
                         f"(class name, kwargs) pairs. Received: {type(src).__name__}")
    if input_shape is not None:
        shape = tuple(input_shape)
        batch = parsed.batch_size
        if shape and shape[0] is None:
            batch, shape = None, shape[1:]
        for d in shape:
            if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
                raise ValueError("Input shape entries must be non-negative integers or None. "
                                 f"Received: input_shape={tuple(input_shape)}")
        parsed = parsed.replace(input_shape=shape, batch_size=batch)
    return parsed


# ------------------------------------------------------------------------------ layers

def make_layer(spec, name=None):
    """The engine layer (or shape-only stand-in) for a spec; ValueError with Keras's reason
    if the arguments are refused. ``name`` is used when the spec gives none."""
    cls = layer_class(spec[0])
    if cls is None:
        raise ValueError(f"{spec[0]} is not supported by the shape debugger.")
    kwargs = dict(spec[1])
    if name and not kwargs.get("name"):
        kwargs["name"] = name
    try:
        return cls(**kwargs)
    except TypeError as exc:   # missing / unexpected arguments: Keras raises TypeError too
        msg = str(exc).replace("__init__()", f"{spec[0]}()")
        raise ValueError(msg) from None


def layer_output(spec, name, in_shapes):
    """The layer for ``spec`` applied to ``in_shapes`` (one shape per input): ``(layer,
    arg, output shape)``, ``arg`` being what ``compute_output_shape`` was given (a shape,
    or the list for layers of several inputs). ValueError with Keras's reason."""
    layer = make_layer(spec, name)
    n_inputs = getattr(layer, "n_inputs", 1)
    if n_inputs == 1 and len(in_shapes) != 1:
        raise ValueError(f"Layer '{name}' ({spec[0]}) takes one input; it is applied "
                         f"to {len(in_shapes)}.")
    arg = list(in_shapes) if n_inputs == 0 else in_shapes[0]
    return layer, arg, tuple(layer.compute_output_shape(arg))


def weight_shapes(layer, input_shape) -> list:
    """``[(name, shape, trainable), ...]`` that ``build(input_shape)`` would create, without
    allocating anything (Keras's build-time checks run)."""
    if isinstance(layer, ShapeLayer):
        return layer.weight_shapes(input_shape)
    return [(w.name, w.shape, True) for w in geometry(layer, input_shape).weights]


def _count(shapes) -> int:
    return int(sum(math.prod(s) for _, s, _ in shapes))


def multiply_adds(layer, class_name, in_shape, out_shape, wshapes):
    """Multiply-adds for one example (see the module docstring), or None if a size is
    unknown."""
    if isinstance(layer, EngineLayer):
        return geometry(layer, (None,) + tuple(in_shape[1:])).macs
    kernels = [s for n, s, _ in wshapes if n != "bias"]
    if not kernels or class_name in ("BatchNormalization", "LayerNormalization"):
        return 0
    positions = out_shape[1:-1] if class_name == "Dense" else _spatial(layer, out_shape)
    if positions is None or None in positions:
        return None
    return math.prod(positions) * sum(math.prod(k) for k in kernels)


def _spatial(layer, shape):
    """Spatial sizes of ``shape`` for a layer with ``rank`` / ``data_format``."""
    rank = getattr(layer, "rank", 0)
    if not rank or shape is None or len(shape) != rank + 2:
        return None
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return tuple(shape[2:])
    return tuple(shape[1:-1])


# ------------------------------------------------------------------------------ analysis

def _row(spec, name, inputs):
    return {"layer": spec[0], "name": name, "output_shape": None, "params": 0,
            "trainable_params": 0, "macs": 0, "error": None, "status": "ok",
            "support": layer_kind(spec[0]), "inputs": tuple(inputs), "input_shapes": None,
            "output_shapes": None, "rf_size": None, "rf_jump": None, "rf_start": None,
            "rf_note": None,
            "line": getattr(spec, "line", None)}


def analyze(source_or_specs, input_shape=None, receptive=True, model=None) -> Report:
    """Shapes, parameters, multiply-adds and receptive fields of every layer; stops
    computing at the first layer Keras would refuse (later rows are ``"skipped"``).
    ``model`` names the model of pasted code to summarize (see :func:`to_parsed`)."""
    parsed = to_parsed(source_or_specs, input_shape, model)
    specs = [as_spec(s) for s in parsed.specs]
    if len(specs) > MAX_LAYERS:
        raise ValueError(f"More than {MAX_LAYERS} layers; the shape debugger is limited to "
                         "that many.")
    input_name = parsed.input_name or INPUT_NAME
    names = assign_names(specs, taken={input_name})
    specs = [s.replace(name=n) for s, n in zip(specs, names)]
    full_input = None if parsed.input_shape is None else (parsed.batch_size,
                                                          *parsed.input_shape)
    known = {**parsed.tensors, input_name: full_input}
    failed: dict = {}           # name → the name of the layer whose failure it inherits
    layers: dict = {}
    rows = []
    no_input = full_input is None
    for i, (spec, name) in enumerate(zip(specs, names)):
        inputs = list(spec.inputs) if spec.inputs is not None else [
            names[i - 1] if i else input_name]
        row = _row(spec, name, inputs)
        rows.append(row)
        missing = [n for n in inputs if n not in known and n not in failed]
        if missing:
            row.update(status="error", error=(
                f"Layer '{name}' is applied to {missing[0]!r}, which is not the Input or an "
                "earlier layer of the stack."))
            failed[name] = name
            continue
        upstream = [failed[n] for n in inputs if n in failed]
        if upstream:
            row.update(status="skipped", error=(
                f"Not computed: layer '{upstream[0]}' before it failed."))
            failed[name] = upstream[0]
            continue
        if no_input:
            row.update(status="skipped" if i else "error", error=(
                "No input shape: add keras.Input(shape=...) to the code or give an input "
                "shape." if i == 0 else "Not computed: the stack has no input shape."))
            failed[name] = names[0]
            continue
        if row["support"] == "unsupported":
            row.update(status="unsupported", error=(
                f"{spec[0]} is a Keras layer this shape debugger does not model: its output "
                "shape is not computed here, so the layers after it are not either."))
            failed[name] = name
            continue
        in_shapes = [known[n] for n in inputs]
        row["input_shapes"] = in_shapes
        try:
            layer, arg, out = layer_output(spec, name, in_shapes)
            n_inputs = getattr(layer, "n_inputs", 1)
            wshapes = weight_shapes(layer, arg)
        except ValueError as exc:
            row.update(status="error", error=str(exc))
            failed[name] = name
            continue
        layers[name] = layer
        known[name] = out
        params = _count(wshapes)
        several = bool(out) and isinstance(out[0], tuple)    # e.g. LSTM(return_state=True)
        shape = out[0] if several else out
        row.update(output_shape=shape, params=params,
                   output_shapes=list(out) if several else None,
                   trainable_params=_count([w for w in wshapes if w[2]]),
                   macs=multiply_adds(layer, spec[0], arg if n_inputs == 1 else None, shape,
                                      wshapes))
        row["_layer"] = layer
    report = Report(rows, specs, full_input, input_name, parsed.kind, list(parsed.notes),
                    model_name=parsed.model_name, models=parsed.models)
    if receptive:
        report.receptive_note = receptive_columns(report)
    for r in rows:
        r.pop("_layer", None)
    return report


def summarize(source_or_specs, input_shape=None, model=None) -> list:
    """One row per layer (none for the Input), in ``model.layers`` order: ``{"layer",
    "output_shape", "params", "error"}`` plus the columns described in the module
    docstring. Pasted code is read with ``ast`` only (:func:`parse_keras_code`): the rows
    of the model bound to ``model``, else of the last model built, or of the model named
    ``model``."""
    return analyze(source_or_specs, input_shape, model=model).rows


# ------------------------------------------------------------------------------ receptive

def _plain_number(v):
    """Integral fractions → int (sizes and jumps are usually whole numbers)."""
    if isinstance(v, Fraction) and v.denominator == 1:
        return int(v.numerator)
    return v


def _per_layer(table, n_layers) -> list:
    """A :class:`engine.receptive.ReceptiveTable` → ``[(sizes, jumps, starts)]`` per layer,
    each a tuple over the spatial axes."""
    out = [([], [], []) for _ in range(n_layers)]
    for row in sorted(table, key=lambda r: (r.position, r.axis)):
        for column, value in zip(out[row.position], (row.size, row.jump, row.start)):
            column.append(_plain_number(value))
    return [tuple(tuple(column) for column in entry) for entry in out]


def _pointwise(layer, class_name, in_shape) -> bool:
    """Every output cell depends on the same spatial cell of the input only."""
    kind = getattr(layer, "kind", None)
    if kind == "pointwise":
        return True
    if class_name == "Dense":
        return in_shape is not None and len(in_shape) >= 3
    return False


def receptive_columns(report: Report):
    """Fill ``rf_size`` / ``rf_jump`` / ``rf_start`` of ``report.rows`` from
    :func:`engine.receptive.receptive_field` along the chain (pointwise layers keep the
    previous values; global pooling covers the whole input). Returns a note explaining
    what is ``n/a``, or None."""
    rows = report.rows
    note = None
    if report.input_shape is None:
        return None
    chain, owners = [], []          # layers for receptive_field, and their row indices
    plan = []                       # per row: ("layer", k) / ("same", k) / ("global",) / (why,)
    rank = None
    stop = None
    conv_params = 0
    for i, r in enumerate(rows):
        layer = r.get("_layer")
        prev_name = report.input_name if i == 0 else rows[i - 1]["name"]
        if stop is not None:
            plan.append((stop,))
            continue
        if r["status"] != "ok" or layer is None:
            stop = "n/a: not computed"
            plan.append((stop,))
            continue
        if list(r["inputs"]) != [prev_name]:
            stop = "n/a after a branch or merge"
            plan.append((stop,))
            continue
        in_shape = r["input_shapes"][0]
        if len(in_shape) < 3:
            stop = "n/a: no spatial axes"
            plan.append((stop,))
            continue
        if _pointwise(layer, r["layer"], in_shape):
            plan.append(("same", len(chain) - 1))
            continue
        kind = getattr(layer, "kind", None)
        if kind == "global":
            plan.append(("global",))
            stop = "n/a after global pooling"
            continue
        if isinstance(layer, EngineLayer) and getattr(layer, "rank", 0):
            if rank is None:
                rank = layer.rank
            if layer.rank != rank:
                stop = "n/a: spatial rank changes"
                plan.append((stop,))
                continue
            fresh = make_layer(report.specs[i], r["name"])
            chain.append(fresh)
            conv_params += r["params"]
            owners.append(i)
            plan.append(("layer", len(chain) - 1))
            continue
        stop = f"n/a after {r['layer']}"
        plan.append((stop,))
    table = None
    if chain:
        if conv_params > RF_PARAM_LIMIT:
            note = "n/a: the stack is too large for the receptive-field table"
            table = None
        else:
            try:
                table = _per_layer(receptive_field(chain, report.input_shape), len(chain))
            except ValueError as exc:
                note = f"n/a: {exc}"
    for r, p in zip(rows, plan):
        if p[0] == "layer" and table is not None:
            r["rf_size"], r["rf_jump"], r["rf_start"] = table[p[1]]
        elif p[0] == "same" and table is not None and p[1] >= 0:
            r["rf_size"], r["rf_jump"], r["rf_start"] = table[p[1]]
        elif p[0] == "same" and p[1] < 0:
            n = len(_spatial_of_input(report))
            r["rf_size"], r["rf_jump"], r["rf_start"] = (1,) * n, (1,) * n, (0,) * n
        elif p[0] == "global":
            spatial = _spatial_of_input(report)
            r["rf_size"] = tuple(spatial)
            r["rf_note"] = "global: every input cell"
        else:
            r["rf_note"] = p[0] if p[0] not in ("layer", "same") else note
    return note


def _spatial_of_input(report):
    shape = report.input_shape
    fmt = None
    for r in report.rows:
        layer = r.get("_layer")
        if layer is not None and getattr(layer, "data_format", None):
            fmt = layer.data_format
            break
    if fmt == "channels_first":
        return tuple(shape[2:])
    return tuple(shape[1:-1])


def format_fraction(v) -> str:
    """``Fraction(1, 2)`` → ``"1/2"``, ``2.0`` → ``"2"``."""
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


__all__ = ["Report", "analyze", "summarize", "to_parsed", "make_layer", "layer_output",
           "weight_shapes",
           "multiply_adds", "receptive_columns", "format_fraction", "LayerSpec"]
