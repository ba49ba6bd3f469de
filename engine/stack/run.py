"""Run a stack on a real input: every layer's output (feature maps), within limits.

Engine layers (the 19 and engine.pooling) compute as Keras would, with weights from their
initializers; the shape-only stand-ins of :mod:`engine.stack.extra` compute in NumPy in
inference mode (Dropout is the identity, BatchNormalization uses its initial statistics).
The run stops before the first layer whose shape failed.
"""

from __future__ import annotations

import math

import numpy as np

from engine.layers.base import Layer as EngineLayer
from engine.stack.extra import ShapeLayer
from engine.stack.summary import Report, make_layer

MAX_RUN_MACS = 3_000_000_000      # multiply-adds of one run
MAX_RUN_ELEMENTS = 32_000_000     # values in any one layer output
MAX_RUN_PARAMS = 30_000_000       # weights allocated for one run


def run_cost_error(report: Report, batch: int = 1):
    """Why running ``report``'s stack would be too costly here, or None."""
    macs = sum(r["macs"] or 0 for r in report.rows if r["status"] == "ok") * batch
    if macs > MAX_RUN_MACS:
        return (f"Running this stack takes about {macs / 1e9:.1f} billion multiply-adds; the "
                f"limit here is {MAX_RUN_MACS / 1e9:.0f}. Use a smaller input shape.")
    params = sum(r["params"] for r in report.rows if r["status"] == "ok")
    if params > MAX_RUN_PARAMS:
        return (f"The stack has {params:,} weights; the limit for running it here is "
                f"{MAX_RUN_PARAMS:,}.")
    for r in report.rows:
        shape = r["output_shape"]
        if shape is not None and None not in shape[1:]:
            n = math.prod(shape[1:]) * batch
            if n > MAX_RUN_ELEMENTS:
                return (f"Layer '{r['name']}' would output {n:,} values; the limit here is "
                        f"{MAX_RUN_ELEMENTS:,}. Use a smaller input shape.")
    return None


def fit_input(arr: np.ndarray, input_shape, data_format: str = "channels_last") -> np.ndarray:
    """A channels-last sample without batch (image ``(rows, cols, C)``, signal ``(steps,
    C)``, volume ``(depth, rows, cols, C)``) → a batch of one shaped like ``input_shape``
    (batch first): spatial axes resized, channels converted (gray ↔ RGB, repeated or cut)."""
    from engine import io as eio

    shape = tuple(input_shape)
    rank = len(shape) - 2
    if rank < 1:
        raise ValueError(f"The input shape {shape} has no spatial axis to put the sample on.")
    if data_format == "channels_first":
        channels, spatial = shape[1], shape[2:]
    else:
        channels, spatial = shape[-1], shape[1:-1]
    arr = np.asarray(arr, np.float32)
    while arr.ndim < rank + 1:          # a gray image for a 3D stack: one frame
        arr = arr[None]
    while arr.ndim > rank + 1:          # a volume for a 2D stack: its middle frame
        arr = arr[arr.shape[0] // 2]
    target = tuple(s if s is not None else n for s, n in zip(spatial, arr.shape[:-1]))
    if tuple(arr.shape[:-1]) != target:
        if rank == 1:
            idx = np.linspace(0, arr.shape[0] - 1, target[0])
            arr = np.stack([np.interp(idx, np.arange(arr.shape[0]), arr[:, c])
                            for c in range(arr.shape[1])], axis=-1).astype(np.float32)
        else:
            arr = eio.resize(arr, target)
    if channels is not None and arr.shape[-1] != channels:
        if channels == 1:
            arr = eio.to_grayscale(arr)
        elif arr.shape[-1] == 1:
            arr = np.repeat(arr, channels, axis=-1)
        elif arr.shape[-1] > channels:
            arr = arr[..., :channels]
        else:
            reps = -(-channels // arr.shape[-1])
            arr = np.concatenate([arr] * reps, axis=-1)[..., :channels]
    if data_format == "channels_first":
        arr = np.moveaxis(arr, -1, 0)
    return np.ascontiguousarray(arr[None], dtype=np.float32)


def run_stack(report: Report, x: np.ndarray, seed: int = 0) -> dict:
    """``{layer name: output array}`` for every layer up to the first failure, in order.
    ``x`` is batch first and shaped like ``report.input_shape``."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if report.input_shape is None:
        raise ValueError("The stack has no input shape.")
    want = report.input_shape
    if x.ndim != len(want) or any(w is not None and w != d for w, d in
                                  zip(want[1:], x.shape[1:])):
        raise ValueError(f"The input has shape {x.shape}; the stack expects {want}.")
    problem = run_cost_error(report, x.shape[0])
    if problem:
        raise ValueError(problem)
    rng = np.random.default_rng(seed)
    values = {report.input_name: x}
    outputs = {}
    for spec, row in zip(report.specs, report.rows):
        if row["status"] != "ok":
            break
        missing = [n for n in row["inputs"] if n not in values]
        if missing:
            raise ValueError(
                f"Layer '{row['name']}' reads {missing[0]!r} (another input, a tensor "
                "operation or a later call of a shared layer): feature maps are computed for "
                "single-input chains of layers only.")
        layer = make_layer(spec, row["name"])
        ins = [values[n] for n in row["inputs"]]
        if isinstance(layer, ShapeLayer):
            if layer.n_inputs == 0:
                y = layer.call(ins)
            else:
                y = layer.call(ins[0], layer.init_weights(ins[0].shape, rng))
        elif isinstance(layer, EngineLayer):
            y = layer(ins[0])
        else:  # pragma: no cover - make_layer returns one of the two
            raise ValueError(f"Cannot run {row['layer']}.")
        values[row["name"]] = outputs[row["name"]] = np.asarray(y, np.float32)
    return outputs


def receptive_chain(report: Report, upto: int):
    """Fresh engine layers from the input to row ``upto`` for :mod:`engine.receptive`
    (pointwise layers — BatchNormalization, activations, Dropout, Dense on the channel axis
    — are left out: with all-ones weights and identity activations they change no receptive
    field). ValueError says why the row cannot be traced (a merge, Flatten, …)."""
    chain = []
    prev = report.input_name
    for i, (spec, row) in enumerate(zip(report.specs[:upto + 1], report.rows[:upto + 1])):
        if row["status"] != "ok":
            raise ValueError(f"Layer '{row['name']}' did not compute.")
        if list(row["inputs"]) != [prev]:
            raise ValueError(f"Layer '{row['name']}' is fed by a branch or a merge; receptive "
                             "fields are traced along a plain chain only.")
        prev = row["name"]
        layer = make_layer(spec, row["name"])
        in_shape = row["input_shapes"][0]
        if getattr(layer, "kind", None) == "pointwise" or (
                row["layer"] == "Dense" and len(in_shape) >= 3):
            continue
        if isinstance(layer, EngineLayer) and getattr(layer, "rank", 0):
            chain.append(layer)
            continue
        raise ValueError(f"Receptive fields cannot be traced through {row['layer']} "
                         f"('{row['name']}').")
    return chain
