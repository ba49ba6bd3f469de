"""One-click fixes for the first layer of a stack that Keras refuses.

:func:`suggest_fixes` looks at the first failing row of a :class:`~engine.stack.summary.
Report` and proposes edited stacks. Every suggestion is checked by summarizing the edited
stack again: only edits after which the failing layer computes are returned, those that
make the whole stack work first. What is covered:

- a convolution or pooling window larger than its input → ``padding="same"``;
- a transposed convolution TensorFlow refuses (no consistent output size) → the
  ``output_padding`` / ``padding`` that make it consistent;
- ``output_padding >= strides`` → ``output_padding=None``; strides together with dilation
  → ``strides=1`` or ``dilation_rate=1``; ``groups`` that do not divide the channels → the
  nearest ``groups`` that does;
- a missing channel axis (``Conv2D`` on ``(28, 28)``) → input shape ``(28, 28, 1)`` or a
  ``Reshape`` before the layer;
- ``Reshape`` whose size does not match → a ``-1`` that lets Keras infer one axis;
- merges (``Concatenate`` / ``Add`` …) whose inputs differ in size — U-Net skips: the
  ``padding`` / ``output_padding`` of the decoder's ``Conv*Transpose`` that makes it match
  the encoder, else a ``Cropping`` / ``ZeroPadding`` layer before the merge; for ``Add``
  with different channel counts, the ``filters`` of the branch's last convolution.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

from engine.stack.spec import LayerSpec, Parsed, layer_kind, snake_case
from engine.stack.summary import Report, analyze, make_layer

_TRANSPOSE = ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
_WINDOWED = ("Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D",
             "DepthwiseConv1D", "DepthwiseConv2D", "MaxPooling1D", "MaxPooling2D",
             "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
_CONVS = _WINDOWED[:7] + _TRANSPOSE


@dataclass
class Fix:
    """An edited stack: ``specs`` and ``input_shape`` (batch excluded) replace the old ones."""

    title: str
    detail: str
    specs: list
    input_shape: tuple | None
    layer: str                 # name of the layer the fix is about
    complete: bool = False     # True when the whole edited stack works


def _with_kwargs(specs, i, **changes):
    kwargs = dict(specs[i][1])
    for k, v in changes.items():
        if v is ...:
            kwargs.pop(k, None)
        else:
            kwargs[k] = v
    out = list(specs)
    out[i] = specs[i].replace(kwargs=kwargs)
    return out


def _title(changes: dict, name: str) -> str:
    """``{"padding": "same"}`` → ``Set padding='same' in conv2d`` (``...`` = remove)."""
    removed = [k for k, v in changes.items() if v is ...]
    kept = ", ".join(f"{k}={v!r}" for k, v in changes.items() if v is not ...)
    parts = ([f"Set {kept}"] if kept else []) + ([f"remove {', '.join(removed)}"]
                                                  if removed else [])
    text = " and ".join(parts)
    return f"{text[0].upper()}{text[1:]} in {name}"


def _spatial(shape, data_format, rank):
    if data_format == "channels_first":
        return tuple(shape[2:2 + rank])
    return tuple(shape[1:1 + rank])


def _data_format(spec):
    try:
        return getattr(make_layer(spec), "data_format", "channels_last") or "channels_last"
    except ValueError:
        return spec[1].get("data_format") or "channels_last"


# ------------------------------------------------------------------------------ candidates

def _padding_same(report, i):
    row, spec = report.rows[i], report.specs[i]
    if "zero or negative" not in (row["error"] or "") or spec[0] not in _WINDOWED:
        return
    if spec[1].get("padding", "valid") != "same":
        yield (f"Use padding=\"same\" in {row['name']}",
               "The window is larger than the input; with 'same' padding the output keeps "
               "⌈n / stride⌉ cells.", _with_kwargs(report.specs, i, padding="same"), None)


def _strided_dilation(report, i):
    row = report.rows[i]
    if "not supported in conjunction with `dilation_rate" not in (row["error"] or ""):
        return
    yield (f"Use strides=1 in {row['name']}", "Keras cannot combine strides > 1 with "
           "dilation_rate > 1.", _with_kwargs(report.specs, i, strides=1), None)
    yield (f"Use dilation_rate=1 in {row['name']}", "Keras cannot combine strides > 1 with "
           "dilation_rate > 1.", _with_kwargs(report.specs, i, dilation_rate=1), None)


def _output_padding_too_big(report, i):
    row = report.rows[i]
    if "`output_padding` must be strictly less than" not in (row["error"] or ""):
        return
    yield (f"Remove output_padding from {row['name']}", "output_padding must be smaller "
           "than strides; without it Keras picks the size itself.",
           _with_kwargs(report.specs, i, output_padding=...), None)


def _transpose_candidates(spec, in_shape, target_spatial=None):
    """(changes, output shape) for transposed-convolution arguments that work on
    ``in_shape`` (and give ``target_spatial`` if given), fewest changes first."""
    layer0 = make_layer(spec)
    current = (layer0.padding, layer0.output_padding)
    out = []
    for padding in (layer0.padding, "valid" if layer0.padding == "same" else "same"):
        for ops in itertools.chain([None], itertools.product(*[range(s) for s in
                                                               layer0.strides])):
            if (padding, ops) == current:
                continue
            changes = {}
            if padding != layer0.padding:
                changes["padding"] = padding
            if ops != layer0.output_padding:
                changes["output_padding"] = ... if ops is None else (
                    ops[0] if len(set(ops)) == 1 else tuple(ops))
            kwargs = {k: v for k, v in spec[1].items() if changes.get(k, 0) is not ...}
            kwargs.update({k: v for k, v in changes.items() if v is not ...})
            try:
                shape = make_layer(spec.replace(kwargs=kwargs)).compute_output_shape(in_shape)
            except ValueError:
                continue
            if target_spatial is not None and \
                    _spatial(shape, layer0.data_format, layer0.rank) != tuple(target_spatial):
                continue
            out.append((changes, shape))
    out.sort(key=lambda c: (len(c[0]), "padding" in c[0]))
    unique, shapes_seen = [], set()
    for changes, shape in out:          # one suggestion per resulting shape
        if tuple(shape) not in shapes_seen:
            shapes_seen.add(tuple(shape))
            unique.append((changes, shape))
    return unique


def _transpose_consistency(report, i):
    row, spec = report.rows[i], report.specs[i]
    if spec[0] not in _TRANSPOSE or "no consistent output size" not in (row["error"] or ""):
        return
    for changes, shape in _transpose_candidates(spec, row["input_shapes"][0])[:3]:
        yield (_title(changes, row["name"]),
               f"TensorFlow accepts it; the output becomes {shape}.",
               _with_kwargs(report.specs, i, **changes), None)


def _groups(report, i):
    row, spec = report.rows[i], report.specs[i]
    err = row["error"] or ""
    if "number of groups" not in err:
        return
    groups = spec[1].get("groups", 1)
    filters = spec[1].get("filters")
    shape = row["input_shapes"][0] if row["input_shapes"] else None
    fmt = _data_format(spec)
    channels = None if shape is None else (shape[1] if fmt == "channels_first" else shape[-1])
    if not isinstance(filters, int) or not isinstance(groups, int):
        return
    g = math.gcd(filters, channels) if isinstance(channels, int) else filters
    best = max(d for d in range(1, g + 1) if g % d == 0 and d <= max(groups, 1))
    if best != groups:
        yield (f"Use groups={best} in {row['name']}",
               f"groups must divide both filters ({filters}) and the input channels "
               f"({channels}).", _with_kwargs(report.specs, i, groups=best), None)


def _channel_axis(report, i):
    row, spec = report.rows[i], report.specs[i]
    err = row["error"] or ""
    m = re.search(r"expected (?:min_)?ndim=(\d+)", err)
    if not m or not row["input_shapes"] or layer_kind(spec[0]) not in ("engine", "pooling"):
        return
    want = int(m.group(1))
    shape = row["input_shapes"][0]
    if len(shape) != want - 1:
        return
    if list(row["inputs"]) == [report.input_name] and report.input_shape is not None:
        new_shape = tuple(report.input_shape[1:]) + (1,)
        yield (f"Use input shape {new_shape}", "The layer needs a channel axis; a single "
               "channel is added at the end.", list(report.specs), new_shape)
        return
    new = LayerSpec("Reshape", {"target_shape": tuple(shape[1:]) + (1,)},
                    inputs=report.specs[i].inputs, name=_fresh_name(report, "Reshape"))
    specs = list(report.specs)
    specs[i] = specs[i].replace(inputs=None if spec.inputs is None else (new.name,))
    specs.insert(i, new)
    yield (f"Insert Reshape({tuple(shape[1:]) + (1,)}) before {row['name']}",
           "The layer needs a channel axis; a single channel is added at the end.", specs, None)


def _reshape(report, i):
    row, spec = report.rows[i], report.specs[i]
    if spec[0] != "Reshape" or "total size of the tensor" not in (row["error"] or ""):
        return
    target = tuple(spec[1].get("target_shape", ()))
    shape = row["input_shapes"][0]
    if None in shape[1:] or not target:
        return
    size = math.prod(shape[1:])
    for k in range(len(target)):
        rest = math.prod(d for j, d in enumerate(target) if j != k)
        if rest and size % rest == 0 and -1 not in target:
            new = target[:k] + (-1,) + target[k + 1:]
            yield (f"Use target_shape={new} in {row['name']}",
                   f"The input has {size} values per example; -1 lets Keras infer "
                   f"{size // rest} on that axis.",
                   _with_kwargs(report.specs, i, target_shape=new), None)
            return


def _fresh_name(report, class_name):
    base = snake_case(class_name)
    taken = {s.name for s in report.specs} | {report.input_name}
    for k in itertools.count():
        cand = base if k == 0 else f"{base}_{k}"
        if cand not in taken:
            return cand


def _producer_chain(report, name):
    """From the layer ``name`` back through single-input shape-keeping layers → indices."""
    index = {s.name: k for k, s in enumerate(report.specs)}
    out = []
    while name in index:
        k = index[name]
        out.append(k)
        r = report.rows[k]
        if r["layer"] in _TRANSPOSE or r["layer"] in _CONVS or r["layer"].startswith("UpSampling"):
            break
        if r["support"] != "shape" or len(r["inputs"]) != 1:
            break
        name = r["inputs"][0]
    return out


def _merge(report, i):
    row, spec = report.rows[i], report.specs[i]
    err = row["error"] or ""
    if "incompatible shapes" not in err and "requires inputs with matching shapes" not in err:
        return
    shapes = row["input_shapes"]
    if not shapes or len({len(s) for s in shapes}) != 1:
        return
    ndim = len(shapes[0])
    rank = ndim - 2
    if rank < 1:
        return
    fmt = "channels_last"
    for k in _producer_chain(report, row["inputs"][0]):
        fmt = _data_format(report.specs[k])
        break
    spatials = [_spatial(s, fmt, rank) for s in shapes]
    caxis = 1 if fmt == "channels_first" else ndim - 1
    # the reference: the input that is not produced by an upsampling layer (the encoder)
    def upsampled(name):
        return any(report.rows[k]["layer"] in _TRANSPOSE
                   or report.rows[k]["layer"].startswith("UpSampling")
                   for k in _producer_chain(report, name))
    order = sorted(range(len(shapes)), key=lambda j: upsampled(row["inputs"][j]))
    ref = order[0]
    target = spatials[ref]
    for j, name in enumerate(row["inputs"]):
        if j == ref:
            continue
        if spatials[j] != target:
            chain = _producer_chain(report, name)
            if chain and report.rows[chain[-1]]["layer"] in _TRANSPOSE:
                k = chain[-1]
                in_shape = report.rows[k]["input_shapes"][0]
                for changes, _ in _transpose_candidates(report.specs[k], in_shape, target)[:2]:
                    yield (_title(changes, report.rows[k]["name"]),
                           f"The decoder's {report.rows[k]['layer']} then outputs "
                           f"{target} like the skip connection from "
                           f"'{row['inputs'][ref]}'.",
                           _with_kwargs(report.specs, k, **changes), None)
            yield _resize_branch(report, i, j, spatials[j], target, fmt, rank)
        elif row["layer"] != "Concatenate" and shapes[j][caxis] != shapes[ref][caxis]:
            chain = _producer_chain(report, name)
            want = shapes[ref][caxis]
            if chain and report.rows[chain[-1]]["layer"] in _CONVS and \
                    "filters" in report.specs[chain[-1]][1]:
                k = chain[-1]
                yield (f"Use filters={want} in {report.rows[k]['name']}",
                       f"{row['layer']} needs the same number of channels ({want}) on every "
                       "input.", _with_kwargs(report.specs, k, filters=want), None)


def _resize_branch(report, i, j, have, want, fmt, rank):
    """Insert Cropping / ZeroPadding on input ``j`` of merge ``i`` so that it has ``want``."""
    diffs = [w - h for h, w in zip(have, want)]
    grow = all(d >= 0 for d in diffs)
    shrink = all(d <= 0 for d in diffs)
    if not (grow or shrink) or None in have or None in want:
        return None
    cls = f"{'ZeroPadding' if grow else 'Cropping'}{rank}D"
    pairs = tuple((abs(d) // 2, abs(d) - abs(d) // 2) for d in diffs)
    arg = pairs[0] if rank == 1 else pairs
    key = "padding" if grow else "cropping"
    kwargs = {key: arg}
    if fmt == "channels_first" and rank > 1:
        kwargs["data_format"] = "channels_first"
    name = _fresh_name(report, cls)
    src = report.rows[i]["inputs"][j]
    new = LayerSpec(cls, kwargs, inputs=(src,), name=name)
    specs = list(report.specs)
    merge = specs[i]
    inputs = list(report.rows[i]["inputs"])
    inputs[j] = name
    specs[i] = merge.replace(inputs=inputs)
    if merge.inputs is None:   # a chain: keep every other layer's implicit input explicit
        return None
    specs.insert(i, new)
    return (f"Insert {cls}({key}={arg}) on '{src}' before {report.rows[i]['name']}",
            f"Makes '{src}' {tuple(want)} like the other input.", specs, None)


_GENERATORS = (_padding_same, _strided_dilation, _output_padding_too_big,
               _transpose_consistency, _groups, _channel_axis, _reshape, _merge)


def suggest_fixes(report: Report, max_fixes: int = 4) -> list:
    """Checked fixes for ``report``'s first failing layer (see the module docstring)."""
    i = report.first_error
    if i is None or report.rows[i]["status"] != "error":
        return []
    failing = report.rows[i]["name"]
    base_shape = None if report.input_shape is None else tuple(report.input_shape[1:])
    fixes, seen = [], set()
    for gen in _GENERATORS:
        try:
            candidates = list(gen(report, i))
        except (ValueError, TypeError, KeyError, IndexError):
            continue
        for cand in candidates:
            if cand is None:
                continue
            title, detail, specs, shape = cand
            if title in seen:
                continue
            seen.add(title)
            new_shape = base_shape if shape is None else tuple(shape)
            batch = None if report.input_shape is None else report.input_shape[0]
            try:
                check = analyze(Parsed(specs, new_shape, batch, report.kind, report.input_name),
                                receptive=False)
            except ValueError:
                continue
            row = next((r for r in check.rows if r["name"] == failing), None)
            if row is None or row["status"] != "ok":
                continue
            fixes.append(Fix(title, detail, specs, new_shape, failing,
                             complete=check.first_error is None))
    fixes.sort(key=lambda f: not f.complete)
    return fixes[:max_fixes]
