"""What an animation of :mod:`engine.animate` shows, as panels (no Plotly): each layer
kind's input with its padding or inserted zeros, kernel, intermediate and output grids per
frame, their step titles in words and formulas, and the legend's flat fills
(:func:`panels_of`; :mod:`app.figures.animation` draws them as a Plotly figure,
:mod:`app.figures.gif` as an animated GIF). Panels are :class:`app.figures.animation_grid.Panel`:
one 2-D grid each (a 1-D signal is a 1-row grid, a 3-D volume a row of depth slices).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

from app.figures.animation_grid import VALUE_SCALE, Panel
from app.figures.layout import named_scale
from app.theme import DIVERGING, FILLS, OUTLINES, SEQUENTIAL
from engine.animate import (
    CATEGORY_NAMES, CROPPED, CUT, OUTPUT_PAD, PAD, REAL, STRIDE_ZERO, UNUSED, Animation,
    ConvTaps, Frame,
)

MAX_CHANNEL_PANELS = 3  # input channels drawn side by side (presentation mode: 1)
MAX_MID_PANELS = 6

#: The theme's fill of each cell category (:data:`engine.animate.CATEGORY_NAMES` names them).
CATEGORY_COLORS = {PAD: FILLS["pad"], STRIDE_ZERO: FILLS["inserted"],
                   OUTPUT_PAD: FILLS["output_pad"], UNUSED: FILLS["unused"], CUT: FILLS["cut"],
                   CROPPED: FILLS["cropped"]}
CATEGORY_TEXT = {PAD: "0", STRIDE_ZERO: "0", OUTPUT_PAD: "", UNUSED: "", CUT: "", CROPPED: ""}
SEQUENTIAL_SCALE = named_scale(SEQUENTIAL)


# --------------------------------------------------------------------------- formatting

def fmt(v) -> str:
    """A cell value in 2–4 characters where possible (``""`` for NaN)."""
    if v is None:
        return ""
    v = float(v)
    if not math.isfinite(v):
        return ""
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e5:
        return str(int(v))
    a = abs(v)
    if a >= 1000:
        return f"{v:.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.01:
        return f"{v:.2f}"
    if a >= 1e-4:
        return f"{v:.2g}"
    return f"{v:.0e}"


def cell_values(arr: np.ndarray) -> list:
    """2-D float array → nested lists with None for NaN (rounded to keep the JSON small)."""
    a = np.round(np.asarray(arr, dtype=np.float64), 5)
    return np.where(np.isfinite(a), a, None).tolist()


def value_format(*arrays) -> str:
    """A d3 number format for the values written in a panel's cells, from their magnitude."""
    vals = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return ".2f"
    if np.all(vals == np.round(vals)) and np.abs(vals).max() < 1e5:
        return "d"
    m = np.abs(vals).max()
    return ".0f" if m >= 100 else ".1f" if m >= 10 else ".2f"


# --------------------------------------------------------------------------- panels

def grid_slices(arr: np.ndarray, rank: int) -> list:
    """A spatial array → list of 2-D grids (1 for rank ≤ 2, one per depth slice for 3-D)."""
    arr = np.asarray(arr)
    if rank == 1:
        return [arr[None, :]]
    if rank == 2:
        return [arr]
    return [arr[d] for d in range(arr.shape[0])]


def _cells_by_slice(cells, rank: int, n_slices: int) -> list:
    """``(n, rank)`` cells → per slice an ``(m, 2)`` array of (row, col)."""
    cells = np.asarray(cells, np.int64).reshape(-1, rank)
    if rank == 1:
        return [np.stack([np.zeros(len(cells), np.int64), cells[:, 0]], axis=1)]
    if rank == 2:
        return [cells]
    return [cells[cells[:, 0] == d][:, 1:] for d in range(n_slices)]


def _symmetric_range(*arrays) -> tuple:
    m = 0.0
    for a in arrays:
        a = np.asarray(a, np.float64)
        if a.size and np.isfinite(a).any():
            m = max(m, float(np.nanmax(np.abs(a))))
    m = m or 1.0
    return (-m, m)


def _value_scale(*arrays):
    """(zrange, colorscale) for a panel of values: blue–white–red centred on 0 when the values
    have both signs, a light-to-dark sequential scale over their range otherwise (images)."""
    vals = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])
    vals = vals[np.isfinite(vals)]
    if vals.size == 0 or vals.min() < 0 < vals.max() or (vals.max() <= 0 and vals.min() < 0):
        return _symmetric_range(vals), VALUE_SCALE
    lo, hi = float(vals.min()), float(vals.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 1.0, hi + 1.0
    return (lo, hi), SEQUENTIAL_SCALE


def _vs(*arrays) -> dict:
    zrange, colorscale = _value_scale(*arrays)
    return {"zrange": zrange, "colorscale": colorscale}


def _labels(n: int, offset: int) -> list:
    return [str(i - offset) for i in range(n)]


def _slice_window(win, rank: int, s: int) -> Optional[tuple]:
    """A window ``(lo, hi)`` (spatial corners, inclusive) → ``(r0, c0, r1, c1)`` on slice
    ``s`` of the panel grids, None when it misses the slice."""
    if win is None:
        return None
    lo, hi = np.asarray(win[0]), np.asarray(win[1])
    if rank == 1:
        return 0, lo[0], 0, hi[0]
    if rank == 2:
        return lo[0], lo[1], hi[0], hi[1]
    return (lo[1], lo[2], hi[1], hi[2]) if lo[0] <= s <= hi[0] else None


def _per_slice(seq: Optional[list], rank: int, n_slices: int, split) -> list:
    """Per slice, the list ``[split(item)[s] for item in seq]`` (None lists for no seq)."""
    if seq is None:
        return [None] * n_slices
    parts = [split(item) for item in seq]
    return [[p[s] for p in parts] for s in range(n_slices)]


def _blank_printed(z: list, overlay: Optional[list]) -> list:
    """The value grids with the cells whose overlay prints its own ``0`` (padding,
    inserted zeros) set to NaN, so that one number shows per cell."""
    if overlay is None:
        return z
    printed = [k for k, text in CATEGORY_TEXT.items() if text]
    n = max(len(z), len(overlay))
    return [np.where(np.isin(overlay[min(i, len(overlay) - 1)], printed), np.nan,
                     z[min(i, len(z) - 1)]) for i in range(n)]


def tensor_panels(title: str, values_per_frame: list, rank: int, row: int, zrange=(-1, 1),
                   overlay=None, boxes=None, window=None, box="tap", window_kind="window",
                   offset=None, colorscale=VALUE_SCALE, hover="value") -> list:
    """Panels of one tensor (channel already chosen): 1 panel, or 1 per depth slice.

    ``values_per_frame``: list of spatial arrays (length 1 = static); ``overlay``: list of
    spatial category arrays; ``boxes``: per frame ``(n, rank)`` cells, outlined as ``box`` (a
    key of :data:`app.theme.OUTLINES`); ``window``: per frame
    ``(lo, hi)`` spatial corners (inclusive) or None; ``offset``: per axis index shift for
    tick labels (padding shown with negative indices).
    """
    first = grid_slices(values_per_frame[0], rank)
    n = len(first)
    z = _per_slice(values_per_frame, rank, n, lambda v: grid_slices(v, rank))
    overlays = _per_slice(overlay, rank, n, lambda o: grid_slices(o, rank))
    outlined = _per_slice(boxes, rank, n, lambda b: _cells_by_slice(b, rank, n))
    windows = _per_slice(window, rank, n, lambda w: [_slice_window(w, rank, s)
                                                     for s in range(n)])
    off = tuple(offset) if offset is not None else (0,) * rank
    panels = []
    for s in range(n):
        name = title if rank < 3 else f"{title} · d={s - off[0]}" if s == 0 else \
            f"d={s - off[0]}"
        h, w = first[s].shape
        panels.append(Panel(
            title=name, row=row, z=_blank_printed(z[s], overlays[s]), zrange=zrange,
            colorscale=colorscale,
            overlay=overlays[s], boxes=outlined[s], box=box, window=windows[s],
            window_kind=window_kind,
            col_labels=_labels(w, off[-1]), row_labels=_labels(h, off[-2]) if rank >= 2 else
            [""], hover=hover))
    return panels


def _bbox(cells) -> Optional[tuple]:
    cells = np.asarray(cells)
    if cells.size == 0:
        return None
    return cells.min(axis=0), cells.max(axis=0)


# --------------------------------------------------------------------------- legend

class LegendKey(NamedTuple):
    """One legend entry: a flat fill (``dash`` None, a square) or an outline (a line)."""

    label: str
    color: str
    dash: Optional[str] = None


def outline_key(kind: str) -> LegendKey:
    """The legend entry of the outline ``kind`` of :data:`app.theme.OUTLINES`."""
    o = OUTLINES[kind]
    return LegendKey(o.label, o.color, o.dash)


# --------------------------------------------------------------------------- per kind

# which row of panels each tensor goes to: 1-D signals stacked (output under input),
# 2-D grids side by side, 3-D volumes one row of slices each
_ROWS = {1: {"input": 0, "output": 1, "kernel": 2},
         2: {"input": 0, "output": 0, "kernel": 1},
         3: {"input": 0, "output": 2, "kernel": 1}}


def _legend_for(*cats) -> list:
    seen = []
    for cat in cats:
        for k in sorted(int(v) for v in np.unique(np.asarray(cat))):
            if k > 0 and k not in [s for s, _ in seen]:
                seen.append((k, CATEGORY_COLORS[k]))
    return [LegendKey(CATEGORY_NAMES[k], color) for k, color in seen]


def _out_channel(frame: Frame, data_format: str, c: int) -> np.ndarray:
    """A frame's output buffer (layer layout, batch 1) → spatial array of channel ``c``."""
    y = frame.output[0]
    return y[..., c] if data_format == "channels_last" else y[c]


def _output_frames(anim: Animation, c: int) -> list:
    """Channel ``c`` of the output: empty at the start, then after each step."""
    return [np.full(anim.meta.output_shape, np.nan)] + [
        _out_channel(fr, anim.data_format, c) for fr in anim.frames]


def _per_frame(anim: Animation, fn, start) -> list:
    """``start`` for the empty start frame, then ``fn(frame)`` for every step."""
    return [start] + [fn(fr) for fr in anim.frames]


def _step_titles(anim: Animation, start: str, extra=lambda fr: "") -> list:
    """The start title, then per step ``<b>Layer</b> — step k/n: caption`` + ``extra(frame)``."""
    head, n = f"<b>{anim.layer_name}</b> — ", len(anim.frames)
    return [head + start] + [f"{head}step {fr.step + 1}/{n}: {fr.caption}{extra(fr)}"
                             for fr in anim.frames]


def _tap_formula(taps: ConvTaps, weight, f: int, pairs: list, max_terms: int = 8) -> str:
    """``x·w + … = total`` of one output cell for filter ``f``: ``pairs`` lists the
    ``(input channel of x, channel of the kernel)`` read, ``weight(k, ci, f)`` the kernel."""
    terms = [f"{_paren(taps.x[k][c])}·{_paren(weight(k, ci, f))}"
             for k in range(taps.products.shape[0]) for c, ci in pairs]
    shown = " + ".join(terms[:max_terms])
    if len(terms) > max_terms:
        shown += f" + … ({len(terms)} terms)"
    return f"{shown} = <b>{float(taps.products[:, :, f].sum()):.4g}</b>"


def _cell_formula(fr: Frame, label: str, weight, f: int, pairs: list, stage=None) -> str:
    """``<br>label: y[cell] = formula`` for a cell-granularity frame (of ``stage``), else ""."""
    if not isinstance(fr.taps, ConvTaps) or (stage and fr.stage != stage):
        return ""
    cell = ", ".join(str(int(v)) for v in fr.out_cells[0])
    return f"<br>{label}[{cell}] = {_tap_formula(fr.taps, weight, f, pairs)}"


def _paren(v) -> str:
    text = fmt(v) or "0"
    return f"({text})" if text.startswith("-") else text


def _shown_channels(n: int, channel: int, rank: int, limit: int) -> list:
    """The channels drawn: the chosen one for 3-D volumes, else the first few."""
    if rank == 3:
        return [int(np.clip(channel, 0, n - 1))]
    return list(range(min(n, limit)))


def _windows(anim: Animation, stage=None) -> list:
    """Per figure frame the window (bounding box) of the taps read, cell steps only."""
    return _per_frame(anim, lambda fr: _bbox(fr.in_cells) if fr.taps is not None and (
        stage is None or fr.stage == stage) else None, None)


def _conv_like(anim: Animation, f: int, channel: int, limit: int):
    """Conv, depthwise and the gather view: padded input, output, kernel per channel."""
    m, rank = anim.meta, anim.rank
    f = int(np.clip(f, 0, m.kernel.shape[-1] - 1))
    chans = m.group_map[f]
    shown = _shown_channels(len(chans), channel, rank, limit)
    gather = anim.kind == "transpose"
    empty = np.zeros((0, rank))
    in_title = "dilated + padded input" if gather else \
        f"input{' (padded)' if (m.input_category == PAD).any() else ''}"
    panels = []
    for ci in shown:
        panels += tensor_panels(f"{in_title} · ch {chans[ci]}", [m.input_view[..., chans[ci]]],
                                 rank, 0, **_vs(m.input_view), overlay=[m.input_category],
                                 boxes=_per_frame(anim, lambda fr: fr.in_cells, empty),
                                 window=_windows(anim), offset=m.input_origin)
    word = "channel" if anim.kind == "depthwise" else "filter"
    last = anim.frames[-1]
    panels += tensor_panels(f"output · {word} {f}", _output_frames(anim, f), rank,
                             _ROWS[rank]["output"], **_vs(last.output[0], last.computed[0]),
                             boxes=_per_frame(anim, lambda fr: fr.out_cells, empty),
                             box="write")
    for ci in shown:
        panels += tensor_panels(
            f"{'flipped kernel' if gather else 'kernel'} [{'…, ' if rank > 1 else ''}{ci}, {f}]",
            [m.kernel[..., ci, f]], rank, _ROWS[rank]["kernel"], **_vs(m.kernel))
    extra = ""
    if len(chans) > len(shown):
        extra = f" (showing {len(shown)} of the {len(chans)} input channels filter {f} reads)"
    if anim.kind == "conv" and m.groups > 1:
        extra += f" · groups={m.groups}: filter {f} reads input channels {chans}"
    flat = m.kernel.reshape(-1, m.kernel.shape[-2], m.kernel.shape[-1])
    pairs = [(c, ci) for ci, c in enumerate(chans)]
    titles = _step_titles(anim, f"start: the output is empty{extra}", lambda fr: _cell_formula(
        fr, f"{word} {f}: y", lambda k, ci, ff: flat[k, ci, ff], f, pairs)
        + (extra if fr.step == 0 else ""))
    return panels, titles, _legend_for(m.input_category)


def _separable_panels(anim: Animation, f: int, chans: list, mids: list) -> list:
    """Input, depthwise result, output, depthwise kernels and pointwise weights."""
    m, rank = anim.meta, anim.rank
    empty = np.zeros((0, rank))

    def cells(fr, stage, attr):
        return getattr(fr, attr) if fr.stage == stage else empty

    panels = []
    for c in chans:
        panels += tensor_panels(
            f"input{' (padded)' if (m.input_category == PAD).any() else ''} · ch {c}",
            [m.input_view[..., c]], rank, 0, **_vs(m.input_view), overlay=[m.input_category],
            boxes=_per_frame(anim, lambda fr: cells(fr, "depthwise", "in_cells"), empty),
            window=_windows(anim, "depthwise"), offset=m.input_origin)
    nan_mid = np.full(m.mid_final.shape, np.nan)
    mid_boxes = _per_frame(anim, lambda fr: fr.out_cells if fr.stage == "depthwise" else
                           cells(fr, "pointwise", "in_cells"), empty)
    for j in mids:
        panels += tensor_panels(
            f"depthwise · ch {j}", _per_frame(anim, lambda fr: (
                nan_mid if fr.mid is None else fr.mid)[..., j], nan_mid[..., j]),
            rank, 2, **_vs(m.mid_final), boxes=mid_boxes, box="write")
    panels += tensor_panels(
        f"output · filter {f}", _output_frames(anim, f), rank, 3,
        **_vs(anim.frames[-1].output[0]), box="write",
        boxes=_per_frame(anim, lambda fr: cells(fr, "pointwise", "out_cells"), empty))
    for j in mids:
        panels += tensor_panels(f"kernel ch {j // m.depth_multiplier}, m "
                                 f"{j % m.depth_multiplier}", [m.kernel[..., 0, j]], rank, 1,
                                 **_vs(m.kernel))
    pw = m.pointwise_kernel
    panels.append(Panel(title=f"pointwise weights → filter {f}", row=3, z=[pw[:, f][None, :]],
                         **_vs(pw), col_labels=[str(i) for i in range(pw.shape[0])],
                         row_labels=[""]))
    return panels


def _separable(anim: Animation, f: int, channel: int, limit: int):
    m = anim.meta
    pw, mult = m.pointwise_kernel, m.depth_multiplier
    f = int(np.clip(f, 0, pw.shape[-1] - 1))
    chans = list(range(min(m.in_channels, limit)))
    mids = [c * mult + k for c in chans for k in range(mult)][:MAX_MID_PANELS]
    flat = m.kernel.reshape(-1, m.kernel.shape[-1])
    j = mids[0]

    def formula(fr):
        return (_cell_formula(fr, f"depthwise ch {j}: mid", lambda k, ci, ff: flat[k, ff], j,
                              [(j // mult, 0)], "depthwise")
                + _cell_formula(fr, f"filter {f}: Σ mid·pointwise = y",
                                lambda k, ci, ff: pw[ci, ff], f,
                                [(c, c) for c in range(pw.shape[0])], "pointwise"))

    titles = _step_titles(anim, f"start: depthwise stage ({m.in_channels} channel"
                          f"{'s' if m.in_channels != 1 else ''} × depth_multiplier {mult}), "
                          "then 1×1 pointwise", formula)
    return _separable_panels(anim, f, chans, mids), titles, _legend_for(m.input_category)


def _scatter_canvas(anim: Animation, f: int) -> list:
    """The canvas of filter ``f`` per figure frame; the finish frame shows the cropped
    output (bias and activation) in place."""
    m = anim.meta
    frames = _per_frame(anim, lambda fr: fr.canvas[..., f], np.full(m.canvas_shape, np.nan))
    fin = np.full(m.canvas_shape, np.nan)
    if min(m.output_shape) > 0:
        fin[tuple(slice(c, c + o) for c, o in zip(m.crop, m.output_shape))] = \
            _out_channel(anim.frames[-1], anim.data_format, f)
    frames[-1] = fin
    return frames


def _scatter_note(m) -> str:
    notes = []
    if m.padding == "same" and (any(m.crop) or any(m.crop_after)):
        notes.append(f"same padding cuts {m.crop} cells at the start and {m.crop_after} at "
                     "the end")
    if m.output_padding is not None and any(m.output_padding):
        notes.append(f"output_padding={tuple(m.output_padding)} adds cells past the last stamp")
    return "; ".join(notes) if notes else "no cropping"


def _stamp_text(fr: Frame, f: int, w_first: Optional[float]) -> str:
    """``<br>filter f: stamp = …: y[cell] += v, …`` of a cell step."""
    taps = fr.taps
    vals = taps.products[:, :, f].sum(axis=1)
    terms = [f"y[{', '.join(str(int(v)) for v in taps.output_index[k])}] += {fmt(vals[k])}"
             for k in range(min(len(vals), 6))]
    more = f", … ({len(vals)} taps)" if len(vals) > 6 else ""
    return (f"<br>filter {f}: stamp = Σ_c x[c]·w[t, {f}, c]"
            + (f" (x = {fmt(taps.x[0])}, w[0] = {fmt(w_first)})" if w_first is not None else "")
            + ": " + ", ".join(terms) + more)


def _scatter(anim: Animation, f: int, channel: int, limit: int):
    """Scatter view: input, the uncropped canvas (dashed: the output), kernels."""
    m, rank = anim.meta, anim.rank
    w = m.kernel  # (*k, F, C)
    f = int(np.clip(f, 0, w.shape[-2] - 1))
    chans = _shown_channels(m.in_channels, channel, rank, limit)
    empty = np.zeros((0, rank))
    out_shape = np.asarray(m.output_shape)
    crop = np.asarray(m.crop)
    region = (crop, crop + out_shape - 1) if out_shape.min() > 0 else None
    panels = []
    for c in chans:
        panels += tensor_panels(f"input · ch {c}", [m.input_view[..., c]], rank, 0,
                                 **_vs(m.input_view),
                                 boxes=_per_frame(anim, lambda fr: fr.in_cells, empty))
    canvas = _scatter_canvas(anim, f)
    panels += tensor_panels(
        f"output canvas · filter {f} (dashed: kept)", canvas, rank, _ROWS[rank]["output"],
        **_vs(anim.frames[-1].canvas[..., f], canvas[-1]), overlay=[m.canvas_category],
        boxes=_per_frame(anim, lambda fr: fr.canvas_cells if fr.canvas_cells is not None
                         else empty, empty),
        window=[region] * len(canvas), window_kind="output", box="write", offset=m.crop)
    for c in chans:
        panels += tensor_panels(f"kernel [{'…, ' if rank > 1 else ''}{f}, {c}]",
                                 [w[..., f, c]], rank, _ROWS[rank]["kernel"], **_vs(w))
    note = _scatter_note(m)
    w_first = float(w.reshape(-1, *w.shape[-2:])[0, f, 0]) if m.in_channels == 1 else None

    def extra(fr):
        if fr.taps is not None:
            return _stamp_text(fr, f, w_first)
        if fr.stage == "finish":
            return f"<br>output = canvas cut to {tuple(int(v) for v in out_shape)} ({note})"
        return ""

    titles = _step_titles(anim, "start: every input cell will stamp x·kernel onto the canvas "
                          f"({note})", extra)
    return panels, titles, _legend_for(m.canvas_category)


# --------------------------------------------------------------------------- reshaping

def _reshape_panels(anim: Animation, c: int, input_extra: dict, output_extra: dict,
                    middle: Optional[list] = None) -> list:
    """Input, (optional middle panels,) output of channel ``c``, cells read and written."""
    m, rank = anim.meta, anim.rank
    x0 = m.input_view[..., c]
    rng = _vs(x0, anim.frames[-1].output[0])
    empty = np.zeros((0, rank))
    panels = tensor_panels(f"input · ch {c}", [x0], rank, 0, **rng,
                            boxes=_per_frame(anim, lambda fr: fr.in_cells, empty),
                            **input_extra)
    panels += middle or []
    panels += tensor_panels(f"output · ch {c}", _output_frames(anim, c), rank,
                             0 if rank == 2 else 2, **rng, box="write",
                             boxes=_per_frame(anim, lambda fr: fr.out_cells, empty),
                             **output_extra)
    return panels


def _crop(anim: Animation, c: int):
    m = anim.meta
    overlays = _per_frame(anim, lambda fr: np.where(fr.cut, CUT, REAL).astype(np.int8),
                          np.full(m.input_shape, REAL, np.int8))
    kept = None
    if all(b > a for a, b in m.kept):
        kept = (np.array([a for a, _ in m.kept]), np.array([b - 1 for _, b in m.kept]))
    panels = _reshape_panels(anim, c, {"overlay": overlays, "box": "cut",
                                       "window": [kept] * (len(anim.frames) + 1),
                                       "window_kind": "crop"}, {})
    start = "start: cropping " + ", ".join(map(str, m.cropping)) + " (before, after) per axis"
    return panels, start, [LegendKey(CATEGORY_NAMES[CUT], CATEGORY_COLORS[CUT]),
                           outline_key("crop"), outline_key("cut")]


def _zeropad(anim: Animation, c: int):
    m = anim.meta
    overlays = _per_frame(
        anim, lambda fr: np.where(fr.written & (m.output_category == PAD), PAD, REAL)
        .astype(np.int8), np.zeros(m.output_shape, np.int8))
    panels = _reshape_panels(anim, c, {}, {"overlay": overlays,
                                           "offset": tuple(b for b, _ in m.padding)})
    start = "start: padding " + ", ".join(map(str, m.padding)) + " (before, after) per axis"
    return panels, start, [LegendKey(CATEGORY_NAMES[PAD], CATEGORY_COLORS[PAD])]


def _upsample(anim: Animation, c: int):
    start = f"start: nearest upsampling repeats every cell {anim.meta.size} times"
    return _reshape_panels(anim, c, {}, {}), start, []


def _weights_grid(fr: Frame, shape) -> np.ndarray:
    grid = np.full(shape, np.nan)
    if fr.in_weights is not None:
        grid[tuple(fr.in_cells.T)] = fr.in_weights
    return grid


def _interpolate(anim: Animation, c: int):
    m = anim.meta
    weights = tensor_panels(
        "weights of the current cell",
        _per_frame(anim, lambda fr: _weights_grid(fr, m.input_shape),
                   np.full(m.input_shape, np.nan)),
        anim.rank, 1, (-1.0, 1.0), colorscale=DIVERGING, hover="weight")
    start = (f"start: {m.interpolation} resize ×{m.size} — each output cell is a weighted sum "
             "of source cells (indices clamped at the border)")
    return _reshape_panels(anim, c, {}, {}, weights), start, []


_RESHAPING = {"crop": _crop, "zeropad": _zeropad, "upsample": _upsample,
              "interpolate": _interpolate}


def _reshape_family(anim: Animation, f: int, channel: int, limit: int):
    """ZeroPadding, Cropping, UpSampling (nearest and interpolated): channel ``channel``."""
    c = int(np.clip(channel, 0, anim.meta.in_channels - 1))
    panels, start, legend = _RESHAPING[anim.kind](anim, c)
    return panels, _step_titles(anim, start), legend


def kind_panels(anim: Animation):
    """``(anim, filter_index, channel, max input channels drawn) → (panels, titles,
    legend)`` of ``anim``'s kind: what the figure (and the GIF export) draws."""
    if anim.kind in ("conv", "depthwise") or anim.view == "gather":
        return _conv_like
    return {"separable": _separable, "transpose": _scatter}.get(anim.kind, _reshape_family)


def panels_of(anim: Animation, filter_index: int = 0, channel: int = 0,
              max_channels: int = MAX_CHANNEL_PANELS) -> tuple:
    """``(panels, titles, legend)`` of ``anim``: one title per figure frame (the empty
    start first), the legend with the outlines every animation draws; at most
    ``max_channels`` input channels side by side."""
    panels, titles, legend = kind_panels(anim)(anim, filter_index, channel, max_channels)
    drawn = {p.box for p in panels if p.boxes is not None} | \
        {p.window_kind for p in panels if p.window is not None}
    return panels, titles, legend + [outline_key(k) for k in ("tap", "window", "write")
                                     if k in drawn]
