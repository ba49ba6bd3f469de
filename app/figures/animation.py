"""Plotly figures for :mod:`engine.animate`: frames → a ``go.Figure`` that plays in the browser.

Pure functions (no Streamlit): :func:`animation_figure` turns an ``engine.animate.Animation``
into heatmap panels (input with its padding, kernel, output; arranged by
:mod:`app.figures.animation_grid`) whose Plotly frames play client-side under one step
control (:mod:`app.figures.animation_controls`): play / pause, step back / step forward,
the speed and a scrubber, all in the browser (the back / forward buttons are re-aimed by
every frame's layout); :func:`receptive_figure` draws contribution counts of every level
of a stack. Sizes and colours are :mod:`app.theme`'s (normal screen or
presentation mode); :func:`kind_panels` is what the GIF export (:mod:`app.figures.gif`)
draws too.

Conventions: every panel is a heatmap of one 2-D grid (a 1-D signal is a 1-row grid, a 3-D
volume is a row of depth slices), rows top-down, cells square, values written in the cells
while the grid is small. Cells that are not input values (padding zeros, zeros inserted
between input cells, output_padding, cropped cells, cells never read) are drawn on top in
flat colours (:data:`CATEGORY_COLORS`, named in the legend). The kernel taps of the current
step are outlined in solid black (dilation leaves visible gaps between them), the kernel's
window in dashed orange, the output cells being written in solid green
(:data:`app.theme.OUTLINES`).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
import plotly.graph_objects as go

from app.figures.animation_controls import SPEEDS, control_size, controls, nav_buttons
from app.figures.animation_grid import (COLUMN_PX, MARGIN_LEFT, MARGIN_RIGHT, VALUE_SCALE,
                                        Panel, arrange, axes_layout, figure_layout,
                                        placements)
from app.figures.layout import default_template, figure, inline_template, named_scale
from app.theme import (COUNTS, DIVERGING, FILLS, INK, NORMAL, OUTLINES, SEQUENTIAL,
                       Theme, line)
from app.theme import theme as theme_of
from engine.animate import (
    CATEGORY_NAMES, CROPPED, CUT, OUTPUT_PAD, PAD, REAL, STRIDE_ZERO, UNUSED, Animation,
    ContributionLevels, ConvTaps, Frame, opening_step,
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


def _z(arr: np.ndarray) -> list:
    """2-D float array → nested lists with None for NaN (rounded to keep the JSON small)."""
    a = np.round(np.asarray(arr, dtype=np.float64), 5)
    return np.where(np.isfinite(a), a, None).tolist()


def _d3_format(*arrays) -> str:
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

def _grid_slices(arr: np.ndarray, rank: int) -> list:
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


def _tensor_panels(title: str, values_per_frame: list, rank: int, row: int, zrange=(-1, 1),
                   overlay=None, boxes=None, window=None, box="tap", window_kind="window",
                   offset=None, colorscale=VALUE_SCALE, hover="value") -> list:
    """Panels of one tensor (channel already chosen): 1 panel, or 1 per depth slice.

    ``values_per_frame``: list of spatial arrays (length 1 = static); ``overlay``: list of
    spatial category arrays; ``boxes``: per frame ``(n, rank)`` cells, outlined as ``box`` (a
    key of :data:`app.theme.OUTLINES`); ``window``: per frame
    ``(lo, hi)`` spatial corners (inclusive) or None; ``offset``: per axis index shift for
    tick labels (padding shown with negative indices).
    """
    first = _grid_slices(values_per_frame[0], rank)
    n = len(first)
    z = _per_slice(values_per_frame, rank, n, lambda v: _grid_slices(v, rank))
    overlays = _per_slice(overlay, rank, n, lambda o: _grid_slices(o, rank))
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


# --------------------------------------------------------------------------- assembly

MAX_CELL_OUTLINES = 30  # outline cells one by one up to this many, else their union


def _rect_path(cells: np.ndarray):
    """Line path outlining ``(row, col)`` cells: each cell (few cells, e.g. kernel taps, so
    that dilation gaps show) or the boundary of their union (many cells)."""
    cells = np.asarray(cells, np.int64).reshape(-1, 2)
    xs, ys = [], []
    if len(cells) <= MAX_CELL_OUTLINES:
        for r, c in cells.tolist():
            xs += [c - .5, c + .5, c + .5, c - .5, c - .5, None]
            ys += [r - .5, r - .5, r + .5, r + .5, r - .5, None]
        return xs, ys
    r0, c0 = cells.min(axis=0) - 1
    h, w = cells.max(axis=0) - (r0, c0) + 2
    grid = np.zeros((h, w), bool)
    grid[cells[:, 0] - r0, cells[:, 1] - c0] = True

    def runs(mask):  # (start, stop) of the True runs of a 1-D mask
        d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
        return zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))

    for i in range(h - 1):  # horizontal boundaries between grid rows i and i + 1
        for a, b in runs(grid[i] != grid[i + 1]):
            y = float(r0 + i + .5)
            xs += [float(c0 + a - .5), float(c0 + b - .5), None]
            ys += [y, y, None]
    for j in range(w - 1):  # vertical boundaries between grid columns j and j + 1
        for a, b in runs(grid[:, j] != grid[:, j + 1]):
            x = float(c0 + j + .5)
            xs += [x, x, None]
            ys += [float(r0 + a - .5), float(r0 + b - .5), None]
    return xs, ys


def _window_path(win):
    if win is None:
        return [], []
    r0, c0, r1, c1 = (float(v) for v in win)
    return ([c0 - .5, c1 + .5, c1 + .5, c0 - .5, c0 - .5],
            [r0 - .5, r0 - .5, r1 + .5, r1 + .5, r0 - .5])


def _overlay_grid(cat: np.ndarray):
    cat = np.asarray(cat)
    z = np.where(cat > 0, cat, np.nan).astype(np.float64)
    text = [[CATEGORY_TEXT.get(int(v), "") if v > 0 else "" for v in row]
            for row in cat.tolist()]
    return _z(z), text


def _overlay_scale():
    """Discrete colours for categories 1..6 on a 0.5..6.5 range."""
    scale = []
    n = 6
    for k in range(1, n + 1):
        color = CATEGORY_COLORS.get(k, "rgba(0,0,0,0)")
        scale.append([(k - 1) / n, color])
        scale.append([k / n, color])
    return scale


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


# --------------------------------------------------------------------------- traces

def _trace(seq: list, make, base: dict, active: int) -> tuple:
    """``(trace, updater)``: ``base`` plus ``make(value)`` of the shown frame; the updater
    ``i → make(seq[i])`` is None for a static ``seq`` (length 1)."""
    if len(seq) == 1:
        return dict(base, **make(seq[0])), None
    return dict(base, **make(seq[active])), lambda i: make(seq[i])


def _hover_cells(p: Panel) -> list:
    h, w = p.shape
    cols = p.col_labels or [str(j) for j in range(w)]
    rows = p.row_labels if p.row_labels and len(p.row_labels) == h else \
        [str(i) for i in range(h)]
    return [[f"[{c}]" if h == 1 else f"[{r}, {c}]" for c in cols] for r in rows]


def _heat_trace(p: Panel, axes: dict, text: Optional[dict], active: int) -> tuple:
    base = {"type": "heatmap", **axes, "colorscale": p.colorscale, "zmin": p.zrange[0],
            "zmax": p.zrange[1], "showscale": False, "xgap": 1, "ygap": 1,
            "hovertemplate": f"%{{customdata}} {p.hover} %{{z:.4g}}<extra>{p.title}</extra>",
            "hoverongaps": False, "customdata": _hover_cells(p)}
    if text:
        base.update(texttemplate="%{z:" + _d3_format(*p.z[-1:], *p.z[:1]) + "}",
                    textfont=text)
    return _trace(p.z, lambda z: {"z": _z(z)}, base, active)


def _overlay_trace(p: Panel, axes: dict, text: Optional[dict], active: int) -> tuple:
    base = {"type": "heatmap", **axes, "colorscale": _overlay_scale(), "zmin": 0.5,
            "zmax": 6.5, "showscale": False, "xgap": 1, "ygap": 1, "hoverinfo": "skip",
            "hoverongaps": False}
    if text:
        base.update(texttemplate="%{text}", textfont=dict(text, color=INK))

    def make(cat):
        z, labels = _overlay_grid(cat)
        return {"z": z, "text": labels}

    return _trace(p.overlay, make, base, active)


def _line_trace(seq: list, path, axes: dict, style: dict, active: int) -> tuple:
    base = {"type": "scatter", "mode": "lines", **axes, "hoverinfo": "skip", "line": style,
            "showlegend": False}

    def make(value):
        xs, ys = path(value)
        return {"x": xs, "y": ys}

    return _trace(seq, make, base, active)


def cell_text_size(cell_px: float, t: Theme) -> int:
    """The size of the numbers written in cells of ``cell_px`` pixels."""
    return max(7, min(t.cell_text, int(cell_px * 0.38)))


def _panel_traces(p: Panel, sx: str, cell_px: float, show_values: Optional[bool],
                  active: int, t: Theme) -> list:
    """The ``(trace, updater)`` pairs of one panel: values, category overlay, outlined
    cells, dashed window."""
    axes = {"xaxis": f"x{sx}", "yaxis": f"y{sx}"}
    text_on = show_values if show_values is not None else cell_px >= t.min_cell_px
    text = {"size": cell_text_size(cell_px, t)} if text_on else None
    out = [_heat_trace(p, axes, text, active)]
    if p.overlay is not None:
        out.append(_overlay_trace(p, axes, text, active))
    if p.boxes is not None:
        out.append(_line_trace(p.boxes, _rect_path, axes, line(p.box, t), active))
    if p.window is not None:
        out.append(_line_trace(p.window, _window_path, axes, line(p.window_kind, t), active))
    return out


def _legend_traces(legend: list, t: Theme) -> list:
    """Legend-only entries: squares for the cell fills, line samples for the outlines."""
    out = []
    for key in legend:
        entry = {"type": "scatter", "x": [None], "y": [None], "name": key.label,
                 "showlegend": True, "xaxis": "x", "yaxis": "y"}
        if key.dash is None:
            entry.update(mode="markers", marker={"symbol": "square", "size": t.font,
                                                 "color": key.color,
                                                 "line": {"color": "#888", "width": 1}})
        else:
            entry.update(mode="lines", line={"color": key.color, "dash": key.dash,
                                             "width": t.outline_width})
        out.append(entry)
    return out


def _frames(traces: list, dynamic: list, titles: list) -> list:
    """One Plotly frame per title, updating the ``dynamic`` ``(trace index, updater)`` and
    re-aiming the step buttons (menu 1; menu 0 stays as it is)."""
    idx = [t for t, _ in dynamic]
    n = len(titles)
    return [{"name": str(i), "traces": idx,
             "layout": {"title": {"text": title},
                        "updatemenus": [{}, {"buttons": nav_buttons(i, n)}]},
             "data": [dict(fn(i), type=traces[t]["type"]) for t, fn in dynamic]}
            for i, title in enumerate(titles)]


def _assemble(panels: list, titles: list, duration: int, active: int,
              show_values: Optional[bool], height: Optional[int], legend: list,
              t: Theme = NORMAL, max_width: int = COLUMN_PX, max_height: int = 1500,
              with_controls: bool = True, extra: tuple = ()) -> go.Figure:
    """Panels → a figure: ``titles`` (one per frame, ``active`` shown first), with the
    step control (:func:`controls`) when ``with_controls``; ``extra`` traces last."""
    size = control_size(t, max_width - MARGIN_LEFT - MARGIN_RIGHT) if with_controls else None
    bottom = 16 + int(2.2 * t.font) * bool(legend)
    grid, titles = arrange(panels, titles, height, bottom, max_width, max_height, t,
                         size.width if size else 300.0, size.height if size else 0)
    layout = figure_layout(grid, titles[min(active, len(titles) - 1)], legend)
    traces, dynamic = [], []
    for p, sx, x, y in placements(grid):
        layout.update(axes_layout(p, sx, x, y, t))
        for trace, update in _panel_traces(p, sx, grid.cell_px, show_values, active, t):
            if update is not None:
                dynamic.append((len(traces), update))
            traces.append(trace)
    traces += _legend_traces(legend, t) + list(extra)
    if size is None:
        return _fast_figure(traces, layout, [])
    menus, slider, notes = controls(len(titles), active, duration, t, grid, size)
    layout.update(updatemenus=menus, sliders=[slider], annotations=notes)
    return _fast_figure(traces, layout, _frames(traces, dynamic, titles))


def _fast_figure(traces: list, layout: dict, frames: list) -> go.Figure:
    """The traces, layout and frames sent as written (:func:`app.figures.layout.figure`:
    validating them cost 20–90 ms per rerun; tests/test_animate.py validates every kind and
    checks that validation would send the same), with Plotly's default template written
    into the spec (:func:`app.figures.layout.inline_template`: the same picture, drawn once
    in the browser instead of twice)."""
    layout["template"] = default_template()
    return figure(inline_template({"data": traces, "layout": layout, "frames": frames}))


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
        panels += _tensor_panels(f"{in_title} · ch {chans[ci]}", [m.input_view[..., chans[ci]]],
                                 rank, 0, **_vs(m.input_view), overlay=[m.input_category],
                                 boxes=_per_frame(anim, lambda fr: fr.in_cells, empty),
                                 window=_windows(anim), offset=m.input_origin)
    word = "channel" if anim.kind == "depthwise" else "filter"
    last = anim.frames[-1]
    panels += _tensor_panels(f"output · {word} {f}", _output_frames(anim, f), rank,
                             _ROWS[rank]["output"], **_vs(last.output[0], last.computed[0]),
                             boxes=_per_frame(anim, lambda fr: fr.out_cells, empty),
                             box="write")
    for ci in shown:
        panels += _tensor_panels(
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
        panels += _tensor_panels(
            f"input{' (padded)' if (m.input_category == PAD).any() else ''} · ch {c}",
            [m.input_view[..., c]], rank, 0, **_vs(m.input_view), overlay=[m.input_category],
            boxes=_per_frame(anim, lambda fr: cells(fr, "depthwise", "in_cells"), empty),
            window=_windows(anim, "depthwise"), offset=m.input_origin)
    nan_mid = np.full(m.mid_final.shape, np.nan)
    mid_boxes = _per_frame(anim, lambda fr: fr.out_cells if fr.stage == "depthwise" else
                           cells(fr, "pointwise", "in_cells"), empty)
    for j in mids:
        panels += _tensor_panels(
            f"depthwise · ch {j}", _per_frame(anim, lambda fr: (
                nan_mid if fr.mid is None else fr.mid)[..., j], nan_mid[..., j]),
            rank, 2, **_vs(m.mid_final), boxes=mid_boxes, box="write")
    panels += _tensor_panels(
        f"output · filter {f}", _output_frames(anim, f), rank, 3,
        **_vs(anim.frames[-1].output[0]), box="write",
        boxes=_per_frame(anim, lambda fr: cells(fr, "pointwise", "out_cells"), empty))
    for j in mids:
        panels += _tensor_panels(f"kernel ch {j // m.depth_multiplier}, m "
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
        panels += _tensor_panels(f"input · ch {c}", [m.input_view[..., c]], rank, 0,
                                 **_vs(m.input_view),
                                 boxes=_per_frame(anim, lambda fr: fr.in_cells, empty))
    canvas = _scatter_canvas(anim, f)
    panels += _tensor_panels(
        f"output canvas · filter {f} (dashed: kept)", canvas, rank, _ROWS[rank]["output"],
        **_vs(anim.frames[-1].canvas[..., f], canvas[-1]), overlay=[m.canvas_category],
        boxes=_per_frame(anim, lambda fr: fr.canvas_cells if fr.canvas_cells is not None
                         else empty, empty),
        window=[region] * len(canvas), window_kind="output", box="write", offset=m.crop)
    for c in chans:
        panels += _tensor_panels(f"kernel [{'…, ' if rank > 1 else ''}{f}, {c}]",
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
    panels = _tensor_panels(f"input · ch {c}", [x0], rank, 0, **rng,
                            boxes=_per_frame(anim, lambda fr: fr.in_cells, empty),
                            **input_extra)
    panels += middle or []
    panels += _tensor_panels(f"output · ch {c}", _output_frames(anim, c), rank,
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
    weights = _tensor_panels(
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


def animation_figure(anim: Animation, filter_index: int = 0, channel: int = 0,
                     duration: int = SPEEDS["normal"], active: Optional[int] = None,
                     show_values: Optional[bool] = None, height: Optional[int] = None,
                     max_width: int = COLUMN_PX, max_height: int = 1500,
                     present: bool = False) -> go.Figure:
    """The animation of ``anim`` as a Plotly figure with frames.

    ``filter_index``: which output channel to draw (filters of a convolution);
    ``channel``: which input channel (3-D convolutions, reshaping layers); ``duration``: ms
    per frame when Play is pressed (the speed buttons change it in the browser);
    ``active``: the frame shown first (0 = the empty start frame, ``k`` = after step
    ``k``; default: :func:`engine.animate.opening_step`, the first step that does
    something); ``show_values``: write values in cells (default: when cells are at least
    the theme's ``min_cell_px``); ``max_width``: figure width budget in pixels (rows of
    panels wrap to keep cells readable), ``max_height`` its height budget; ``present``:
    presentation mode's sizes (:func:`app.theme.theme`), one input channel (cells large
    enough for their numbers) and the caption without the formula line. Frame ``k + 1``
    of the figure is ``anim.frames[k]``.
    """
    panels, titles, legend = panels_of(anim, filter_index, channel,
                                       1 if present else MAX_CHANNEL_PANELS)
    if present:  # the caption only: the formula line would push the picture down
        titles = [text.split("<br>", 1)[0] for text in titles]
    active = opening_step(anim) if active is None else active
    active = int(np.clip(active, 0, len(titles) - 1))
    return _assemble(panels, titles, int(duration), active, show_values, height, legend,
                     theme_of(present), max_width=max_width, max_height=max_height)


# --------------------------------------------------------------------------- receptive field

_WRITE = OUTLINES["write"].color


def _level_panels(maps: list, names: list, index: tuple) -> tuple:
    """The panels of every level (counts, the output cell in green) and the index of the
    first panel of the output level."""
    rank = len(index)
    panels, first_out = [], 0
    for k, cmap in enumerate(maps):
        last = k == len(maps) - 1
        nz = cmap[cmap != 0]
        title = names[k] if last else f"{names[k]} · {int((cmap != 0).sum())} cells"
        first_out = len(panels)
        panels += _tensor_panels(title, [np.where(cmap == 0, np.nan, cmap)], rank,
                                 0 if rank == 2 else k,
                                 (0.0, float(np.abs(nz).max()) if nz.size else 1.0),
                                 colorscale=[[0, _WRITE], [1, _WRITE]] if last
                                 else named_scale(COUNTS),
                                 boxes=[np.asarray([index])] if last else None,
                                 box="write", hover="count")
    return panels, first_out


def _pick_targets(first_out: int, n_panels: int, out_shape: tuple) -> list:
    """Invisible markers, one per output cell, ``customdata`` = the cell (spatial order):
    axis ``n + 1`` is panel ``n``, the output level's panels come last. ``maxdisplayed=1``:
    the browser draws one marker per trace, yet hovers and clicks every one."""
    rank = len(out_shape)
    traces = []
    for s, panel in enumerate(range(first_out, n_panels)):
        sx = "" if panel == 0 else str(panel + 1)
        h, w = _grid_slices(np.zeros(out_shape), rank)[s].shape
        rr, cc = (a.ravel() for a in np.meshgrid(range(h), range(w), indexing="ij"))
        lead = [s] if rank == 3 else []
        custom = [lead + ([int(r)] if rank >= 2 else []) + [int(c)] for r, c in zip(rr, cc)]
        traces.append(dict(
            type="scatter", x=cc.tolist(), y=rr.tolist(), mode="markers",
            marker={"size": 14, "color": "rgba(0,0,0,0)", "symbol": "square",
                    "maxdisplayed": 1},
            customdata=custom, hovertemplate="pick output cell %{customdata}<extra></extra>",
            xaxis=f"x{sx}", yaxis=f"y{sx}", showlegend=False, name="pick"))
    return traces


def receptive_figure(levels: ContributionLevels, names: Optional[list] = None,
                     show_values: Optional[bool] = None, max_width: int = COLUMN_PX,
                     present: bool = False) -> go.Figure:
    """Contribution counts of every level of a stack (from
    :func:`engine.animate.contribution_levels`): input first, the chosen output cell last.
    The output level carries invisible markers (one per cell, ``customdata`` = the cell's
    index) so that a click can pick the cell."""
    maps, index = levels.maps, levels.index
    names = names or ["input" if k == 0 else f"after layer {k}" for k in range(len(maps))]
    panels, first_out = _level_panels(maps, names, index)
    return _assemble(panels, [f"Receptive field of output cell {list(index)} "
                              f"(counts: how many paths reach each cell)"], 0, 0,
                     show_values, None, [], theme_of(present), max_width=max_width,
                     with_controls=False,
                     extra=tuple(_pick_targets(first_out, len(panels), maps[-1].shape)))
