"""``summarize``: a stack of layers → one row per layer, as ``model.summary()`` shows it.

Each row: ``layer`` (class name), ``name``, ``output_shape`` (batch first, ``None`` for an
unknown batch), ``params`` (``count_params()``: trainable and non-trainable together, as
the summary counts them), ``trainable_params``, ``macs`` (multiply-adds for one example),
``error`` (``None`` or Keras's reason), ``status`` (``"ok"``, ``"error"``, ``"skipped"``
after an earlier failure, ``"unsupported"``), ``support`` (``"engine"``, ``"pooling"``,
``"shape"``, ``"unsupported"``), ``inputs`` (names), ``input_shapes``, the receptive-field
columns ``rf_size`` / ``rf_jump`` / ``rf_start`` (per spatial axis, from
:mod:`engine.receptive`; ``None`` with ``rf_note`` saying why when not available) and
``line`` (source line of pasted code).

Shapes are computed without allocating weights: engine layers are built with a recording
``add_weight`` so that the weight shapes (and Keras's build-time checks, e.g. groups that
do not divide the channels) are exactly the engine's.

Multiply-adds count the products of weighted layers for one example, bias and activation
excluded: convolution ``out positions × kernel size``, depthwise ``out positions × k × C ×
M``, separable depthwise + pointwise, transposed ``in positions × kernel size`` (every
input cell scatters a full kernel, cropped cells included), Dense ``positions × in ×
units``. Other layers count 0.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from fractions import Fraction

from engine.layers.base import Layer as EngineLayer
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

def to_parsed(source_or_specs, input_shape=None) -> Parsed:
    """Keras code, JSON config text, ``.keras`` bytes, a config dict, a :class:`Parsed` or
    a list of ``(class_name, kwargs)`` → :class:`Parsed`, with ``input_shape`` (``keras.
    Input``'s ``shape``, batch excluded; a leading ``None`` is read as the batch) taking
    precedence over the one in the source."""
    src = source_or_specs
    if isinstance(src, Parsed):
        parsed = src
    elif isinstance(src, (bytes, bytearray)):
        head = bytes(src[:64]).lstrip()
        parsed = load_model_config(src) if src[:2] == b"PK" or head.startswith(b"{") \
            else parse_keras_code(bytes(src).decode("utf-8", errors="replace"))
    elif isinstance(src, str):
        parsed = load_model_config(src) if src.lstrip().startswith("{") \
            else parse_keras_code(src)
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
        parsed = Parsed(parsed.specs, shape, batch, parsed.kind, parsed.input_name,
                        parsed.outputs, parsed.notes)
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


def weight_shapes(layer, input_shape) -> list:
    """``[(name, shape, trainable), ...]`` that ``build(input_shape)`` would create, without
    allocating anything (Keras's build-time checks run)."""
    if isinstance(layer, ShapeLayer):
        return layer.weight_shapes(input_shape)
    recorded = []

    def add_weight(name, shape, initializer=None, regularizer=None, constraint=None):
        recorded.append((name, tuple(int(d) for d in shape), True))

    layer.add_weight = add_weight
    try:
        layer._build(tuple(input_shape))
    finally:
        del layer.add_weight
    return recorded


def _count(shapes) -> int:
    return int(sum(math.prod(s) for _, s, _ in shapes))


def _spatial(layer, shape):
    """Spatial sizes of ``shape`` for a layer with ``rank`` / ``data_format``."""
    rank = getattr(layer, "rank", 0)
    if not rank or shape is None or len(shape) != rank + 2:
        return None
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return tuple(shape[2:])
    return tuple(shape[1:-1])


def multiply_adds(layer, class_name, in_shape, out_shape, wshapes):
    """Multiply-adds for one example (see the module docstring), or None if a size is
    unknown."""
    kernels = [s for n, s, _ in wshapes if n != "bias"]
    if not kernels:
        return 0
    if class_name == "Dense":
        positions = out_shape[1:-1]
    elif "Transpose" in class_name:
        positions = _spatial(layer, in_shape)
    elif class_name in ("BatchNormalization", "LayerNormalization"):
        return 0
    else:
        positions = _spatial(layer, out_shape)
    if positions is None or None in positions:
        return None
    return math.prod(positions) * sum(math.prod(k) for k in kernels)


# ------------------------------------------------------------------------------ analysis

def _row(spec, name, inputs):
    return {"layer": spec[0], "name": name, "output_shape": None, "params": 0,
            "trainable_params": 0, "macs": 0, "error": None, "status": "ok",
            "support": layer_kind(spec[0]), "inputs": tuple(inputs), "input_shapes": None,
            "rf_size": None, "rf_jump": None, "rf_start": None, "rf_note": None,
            "line": getattr(spec, "line", None)}


def analyze(source_or_specs, input_shape=None, receptive=True) -> Report:
    """Shapes, parameters, multiply-adds and receptive fields of every layer; stops
    computing at the first layer Keras would refuse (later rows are ``"skipped"``)."""
    parsed = to_parsed(source_or_specs, input_shape)
    specs = [as_spec(s) for s in parsed.specs]
    if len(specs) > MAX_LAYERS:
        raise ValueError(f"More than {MAX_LAYERS} layers; the shape debugger is limited to "
                         "that many.")
    input_name = parsed.input_name or INPUT_NAME
    names = assign_names(specs, taken={input_name})
    specs = [s.replace(name=n) for s, n in zip(specs, names)]
    full_input = None if parsed.input_shape is None else (parsed.batch_size,
                                                          *parsed.input_shape)
    known = {input_name: full_input}
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
            layer = make_layer(spec, name)
            n_inputs = getattr(layer, "n_inputs", 1)
            if n_inputs == 1 and len(in_shapes) != 1:
                raise ValueError(f"Layer '{name}' ({spec[0]}) takes one input; it is applied "
                                 f"to {len(in_shapes)}.")
            arg = in_shapes if n_inputs == 0 else in_shapes[0]
            out = tuple(layer.compute_output_shape(arg))
            wshapes = weight_shapes(layer, arg) if n_inputs == 1 else []
        except ValueError as exc:
            row.update(status="error", error=str(exc))
            failed[name] = name
            continue
        layers[name] = layer
        known[name] = out
        params = _count(wshapes)
        row.update(output_shape=out, params=params,
                   trainable_params=_count([w for w in wshapes if w[2]]),
                   macs=multiply_adds(layer, spec[0], arg if n_inputs == 1 else None, out,
                                      wshapes))
        row["_layer"] = layer
    report = Report(rows, specs, full_input, input_name, parsed.kind, list(parsed.notes))
    if receptive:
        report.receptive_note = receptive_columns(report)
    for r in rows:
        r.pop("_layer", None)
    return report


def summarize(source_or_specs, input_shape=None) -> list:
    """One row per layer (none for the Input), in ``model.layers`` order: ``{"layer",
    "output_shape", "params", "error"}`` plus the columns described in the module
    docstring. Pasted code is parsed with ``ast`` only (:func:`parse_keras_code`)."""
    return analyze(source_or_specs, input_shape).rows


# ------------------------------------------------------------------------------ receptive

def _receptive_module():
    try:
        receptive = importlib.import_module("engine.receptive")
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return None, f"n/a: engine.receptive is not available ({type(exc).__name__})"
    if not hasattr(receptive, "receptive_field"):
        return None, "n/a: engine.receptive has no receptive_field()"
    return receptive, None


def _pick(entry, *keys):
    for k in keys:
        if isinstance(entry, dict) and k in entry:
            return entry[k]
        if hasattr(entry, k):
            return getattr(entry, k)
    return None


def _plain_number(v):
    """Integral fractions → int (sizes and jumps are usually whole numbers)."""
    if isinstance(v, Fraction) and v.denominator == 1:
        return int(v.numerator)
    return v


def _normalize_rf(result, n_layers, rank):
    """engine.receptive.receptive_field's table → [(size, jump, start)] per layer, each a
    tuple per spatial axis. The table is a list of rows (one per layer and axis) with
    ``position``, ``axis``, ``size``, ``jump``, ``start``."""
    try:
        items = list(result)
    except TypeError:
        return None
    per_layer: dict = {}
    for entry in items:
        pos, axis = _pick(entry, "position"), _pick(entry, "axis")
        size, jump, start = (_pick(entry, k) for k in ("size", "jump", "start"))
        if None in (pos, axis, size, jump, start):
            return None
        per_layer.setdefault(pos, {})[axis] = tuple(_plain_number(v)
                                                    for v in (size, jump, start))
    if sorted(per_layer) != list(range(n_layers)):
        return None
    out = []
    for pos in range(n_layers):
        axes = [per_layer[pos][a] for a in sorted(per_layer[pos])]
        out.append(tuple(tuple(a[k] for a in axes) for k in range(3)))
    return out


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
    module, note = _receptive_module()
    if module is None:
        for r in rows:
            r["rf_note"] = note
        return note
    if report.input_shape is None:
        return None
    chain, owners = [], []          # layers for receptive_field, and their row indices
    plan = []                       # per row: ("layer", k) / ("same", k) / ("global",) / (why,)
    prev = INPUT_NAME
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
    del prev
    table = None
    if chain:
        if conv_params > RF_PARAM_LIMIT:
            note = "n/a: the stack is too large for the receptive-field table"
            table = None
        else:
            try:
                result = module.receptive_field(chain, report.input_shape)
                table = _normalize_rf(result, len(chain), rank)
                if table is None:
                    note = "n/a: unrecognised engine.receptive result"
            except Exception as exc:  # noqa: BLE001 - the table is a bonus, never a crash
                note = f"n/a: engine.receptive failed ({type(exc).__name__}: {exc})"
                table = None
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


__all__ = ["Report", "analyze", "summarize", "to_parsed", "make_layer", "weight_shapes",
           "multiply_adds", "receptive_columns", "format_fraction", "LayerSpec"]
