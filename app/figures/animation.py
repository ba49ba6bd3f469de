"""Plotly figures for :mod:`engine.animate`: frames → a ``go.Figure`` that plays in the browser.

Pure functions (no Streamlit): :func:`animation_figure` turns an ``engine.animate.Animation``
into heatmap panels (input with its padding, kernel, output) whose Plotly frames play
client-side, with play / pause buttons, speed buttons and a slider to scrub or step;
:func:`receptive_figure` draws contribution counts of every level of a stack.

Conventions: every panel is a heatmap of one 2-D grid (a 1-D signal is a 1-row grid, a 3-D
volume is a row of depth slices), rows top-down, cells square, values written in the cells
while the grid is small. Cells that are not input values (padding zeros, zeros inserted
between input cells, output_padding, cropped cells, cells never read) are drawn on top in
flat colours (:data:`CATEGORY_COLORS`). The kernel taps of the current step are outlined in
black (dilation leaves visible gaps between them), the kernel's window in dashed orange, the
output cells being written in green.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import plotly.graph_objects as go

from engine.animate import (
    CATEGORY_NAMES, CROPPED, CUT, OUTPUT_PAD, PAD, REAL, STRIDE_ZERO, UNUSED, Animation,
)

SPEEDS = {"slow": 900, "normal": 450, "fast": 150, "fastest": 40}  # ms per frame
MAX_TEXT_CELLS = 24  # tick labels on every cell up to this many cells per axis
MIN_TEXT_CELL_PX = 25  # write values in the cells when they are at least this large
WRAP_CELL_PX = 27  # a row of panels wraps when its cells would get smaller than this
MAX_CHANNEL_PANELS = 3
MAX_MID_PANELS = 6

CATEGORY_COLORS = {
    PAD: "rgb(214, 214, 214)",
    STRIDE_ZERO: "rgb(255, 236, 150)",
    OUTPUT_PAD: "rgba(236, 150, 225, 0.75)",
    UNUSED: "rgba(40, 40, 40, 0.45)",
    CUT: "rgba(110, 110, 110, 0.75)",
    CROPPED: "rgba(120, 120, 120, 0.55)",
}
CATEGORY_TEXT = {PAD: "0", STRIDE_ZERO: "0", OUTPUT_PAD: "", UNUSED: "", CUT: "", CROPPED: ""}
TAP_COLOR = "#111111"
WINDOW_COLOR = "#f28e2b"
WRITE_COLOR = "#2ca02c"
VALUE_SCALE = "RdBu_r"
SEQUENTIAL_SCALE = "Blues"


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

@dataclass
class _Panel:
    """One heatmap: ``z`` is one 2-D grid (static) or one per figure frame (dynamic)."""

    title: str
    row: int
    z: list  # list of 2-D arrays: length 1 (static) or n_frames
    zrange: tuple = (-1.0, 1.0)
    colorscale: object = VALUE_SCALE
    overlay: Optional[list] = None  # category grids: length 1 or n_frames
    boxes: Optional[list] = None  # per frame: (n, 2) cells to outline
    box_color: str = TAP_COLOR
    window: Optional[list] = None  # per frame: (r0, c0, r1, c1) or None
    col_labels: Optional[list] = None
    row_labels: Optional[list] = None
    hover: str = "value"

    @property
    def shape(self):
        return np.asarray(self.z[0]).shape


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


def _tensor_panels(title: str, values_per_frame: list, rank: int, row: int, zrange=(-1, 1),
                   overlay=None, boxes=None, window=None, box_color=TAP_COLOR,
                   offset=None, colorscale=VALUE_SCALE, hover="value") -> list:
    """Panels of one tensor (channel already chosen): 1 panel, or 1 per depth slice.

    ``values_per_frame``: list of spatial arrays (length 1 = static); ``overlay``: list of
    spatial category arrays; ``boxes``: per frame ``(n, rank)`` cells; ``window``: per frame
    ``(lo, hi)`` spatial corners (inclusive) or None; ``offset``: per axis index shift for
    tick labels (padding shown with negative indices).
    """
    first = _grid_slices(values_per_frame[0], rank)
    n_slices = len(first)
    slices_z = [[_grid_slices(v, rank)[s] for v in values_per_frame] for s in range(n_slices)]
    slices_ov = None
    if overlay is not None:
        slices_ov = [[_grid_slices(o, rank)[s] for o in overlay] for s in range(n_slices)]
    slices_boxes = None
    if boxes is not None:
        per = [_cells_by_slice(b, rank, n_slices) for b in boxes]
        slices_boxes = [[p[s] for p in per] for s in range(n_slices)]
    slices_win = None
    if window is not None:
        slices_win = [[] for _ in range(n_slices)]
        for w in window:
            for s in range(n_slices):
                if w is None:
                    slices_win[s].append(None)
                    continue
                lo, hi = (np.asarray(w[0]), np.asarray(w[1]))
                if rank == 1:
                    slices_win[s].append((0, lo[0], 0, hi[0]))
                elif rank == 2:
                    slices_win[s].append((lo[0], lo[1], hi[0], hi[1]))
                elif lo[0] <= s <= hi[0]:
                    slices_win[s].append((lo[1], lo[2], hi[1], hi[2]))
                else:
                    slices_win[s].append(None)
    off = tuple(offset) if offset is not None else (0,) * rank
    panels = []
    for s in range(n_slices):
        name = title
        if rank == 3:
            name = f"{title} · d={s - off[0]}" if s == 0 else f"d={s - off[0]}"
        h, w = first[s].shape
        panels.append(_Panel(
            title=name, row=row, z=slices_z[s], zrange=zrange, colorscale=colorscale,
            overlay=None if slices_ov is None else slices_ov[s],
            boxes=None if slices_boxes is None else slices_boxes[s], box_color=box_color,
            window=None if slices_win is None else slices_win[s],
            col_labels=_labels(w, off[-1]),
            row_labels=_labels(h, off[-2]) if rank >= 2 else [""],
            hover=hover,
        ))
    return panels


def _bbox(cells) -> Optional[tuple]:
    cells = np.asarray(cells)
    if cells.size == 0:
        return None
    return cells.min(axis=0), cells.max(axis=0)


# --------------------------------------------------------------------------- assembly

def _wrap(text: str, width: int) -> str:
    """Break each ``<br>``-separated line of a title at spaces to at most ``width`` chars
    (tags such as ``<b>`` are not counted)."""
    out = []
    for line in text.split("<br>"):
        words, cur, cur_len = line.split(" "), [], 0
        for word in words:
            visible = len(word.replace("<b>", "").replace("</b>", ""))
            if cur and cur_len + 1 + visible > width:
                out.append(" ".join(cur))
                cur, cur_len = [], 0
            cur.append(word)
            cur_len += visible + (1 if cur_len else 0)
        out.append(" ".join(cur))
    return "<br>".join(out)


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


def _pick(seq, i):
    return seq[0] if len(seq) == 1 else seq[i]


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


def _assemble(panels: list, titles: list, duration: int, active: int,
              show_values: Optional[bool], height: Optional[int], legend: list,
              max_width: int = 900, max_height: int = 1500,
              controls: bool = True) -> go.Figure:
    n_frames = len(titles)
    # rows of panels; a row too wide for readable cells wraps onto several rows
    gap_px, title_px, vgap_px = 34.0, 44.0, 16.0
    left, right, top, bottom = 34, 16, 70, (172 if controls else 16 + 24 * bool(legend))
    avail = max_width - left - right

    def slot_cells(p, cell):  # a panel's width in cells, widened for its title
        return max(p.shape[1], (len(p.title) * 6.4 + 4) / cell)

    rows = []
    for r in sorted({p.row for p in panels}):
        cur, used = [], 0.0
        for p in [p for p in panels if p.row == r]:
            need = slot_cells(p, WRAP_CELL_PX) * WRAP_CELL_PX + (gap_px if cur else 0)
            if cur and used + need > avail:
                rows.append(cur)
                cur, used = [], 0.0
                need -= gap_px
            cur.append(p)
            used += need
        rows.append(cur)
    heights = [max(p.shape[0] for p in ps) for ps in rows]
    cell_px = 44.0
    for ps in rows:
        for _ in range(3):  # the title widths depend on the cell size: iterate
            width = sum(slot_cells(p, cell_px) for p in ps)
            cell_px = min(cell_px, (avail - gap_px * (len(ps) - 1)) / width)
    cell_px = min(cell_px, (max_height - top - bottom - len(rows) * title_px
                            - vgap_px * (len(rows) - 1)) / max(sum(heights), 1))
    cell_px = max(cell_px, 6.0)
    row_px = [sum(slot_cells(p, cell_px) for p in ps) * cell_px + gap_px * (len(ps) - 1)
              for ps in rows]
    plot_w = max(max(row_px), 300.0)
    plot_h = sum(title_px + h * cell_px for h in heights) + vgap_px * (len(rows) - 1)
    fig_w = int(plot_w + left + right)
    chars = max(40, int(fig_w / 6.6))
    titles = [_wrap(t, chars) for t in titles]
    top = 34 + 17 * max(t.count("<br>") + 1 for t in titles)
    fig_h = int(height or (plot_h + top + bottom))
    plot_h = fig_h - top - bottom

    def below(px):  # paper y of a point ``px`` pixels below the plot area
        return -px / plot_h

    layout: dict = {
        "width": fig_w,
        "height": fig_h,
        "margin": {"l": left, "r": right, "t": top, "b": bottom, "autoexpand": False},
        "plot_bgcolor": "#f1f1f1",
        "showlegend": bool(legend),
        "legend": {"orientation": "h", "x": 0, "y": below(8), "yanchor": "top",
                   "font": {"size": 11}},
        "title": {"text": titles[min(active, n_frames - 1)], "x": 0, "xref": "paper",
                  "xanchor": "left", "y": 1, "yref": "container", "yanchor": "top",
                  "pad": {"t": 14}, "font": {"size": 13}},
        "hoverlabel": {"font": {"size": 11}},
    }
    traces: list = []
    dynamic: list = []  # (trace index, function frame -> trace update)

    def add(trace, updater=None):
        traces.append(trace)
        if updater is not None:
            dynamic.append((len(traces) - 1, updater))

    y_px = 0.0  # from the top of the plot area
    axis_n = 0
    for ps, row_h in zip(rows, heights):
        y_px += title_px
        x_px = 0.0
        for p in ps:
            axis_n += 1
            sx = "" if axis_n == 1 else str(axis_n)
            h, w = p.shape
            x0, x1 = x_px / plot_w, (x_px + w * cell_px) / plot_w
            x_px += slot_cells(p, cell_px) * cell_px + gap_px
            y1 = 1 - y_px / plot_h
            y0 = 1 - (y_px + h * cell_px) / plot_h
            text_on = show_values if show_values is not None else cell_px >= MIN_TEXT_CELL_PX
            font_size = max(7, min(13, int(cell_px * 0.33)))
            layout[f"xaxis{sx}"] = {
                "domain": [max(0.0, x0), min(1.0, x1)], "anchor": f"y{sx}",
                "showgrid": False, "zeroline": False, "side": "top", "fixedrange": True,
                "title": {"text": p.title, "font": {"size": 12}, "standoff": 2},
                "tickfont": {"size": 9}, "range": [-0.5, w - 0.5],
                **({"tickvals": list(range(w)), "ticktext": p.col_labels}
                   if p.col_labels and w <= MAX_TEXT_CELLS else {}),
                **({"showticklabels": False} if w > 40 else {}),
            }
            layout[f"yaxis{sx}"] = {
                "domain": [max(0.0, y0), min(1.0, y1)], "anchor": f"x{sx}",
                "showgrid": False, "zeroline": False, "fixedrange": True,
                "range": [h - 0.5, -0.5], "scaleanchor": f"x{sx}", "constrain": "domain",
                "tickfont": {"size": 9},
                **({"tickvals": list(range(h)), "ticktext": p.row_labels}
                   if p.row_labels and h <= MAX_TEXT_CELLS else {}),
                **({"showticklabels": False} if h == 1 else {}),
            }
            axes = {"xaxis": f"x{sx}", "yaxis": f"y{sx}"}
            zmin, zmax = p.zrange
            cols_l = p.col_labels or [str(j) for j in range(w)]
            rows_l = p.row_labels if p.row_labels and len(p.row_labels) == h else \
                [str(i) for i in range(h)]
            where = [[f"[{cl}]" if h == 1 else f"[{rl}, {cl}]" for cl in cols_l]
                     for rl in rows_l]
            hover = f"%{{customdata}} {p.hover} %{{z:.4g}}<extra>{p.title}</extra>"

            def heat_update(i, p=p):
                return {"z": _z(_pick(p.z, i))}

            heat = {"type": "heatmap", **axes, "colorscale": p.colorscale, "zmin": zmin,
                    "zmax": zmax, "showscale": False, "xgap": 1, "ygap": 1,
                    "hovertemplate": hover, "hoverongaps": False, "customdata": where,
                    **heat_update(active if len(p.z) > 1 else 0)}
            if text_on:
                heat.update(texttemplate="%{z:" + _d3_format(*p.z[-1:], *p.z[:1]) + "}",
                            textfont={"size": font_size})
            add(heat, heat_update if len(p.z) > 1 else None)
            if p.overlay is not None:
                def ov_update(i, p=p):
                    z, text = _overlay_grid(_pick(p.overlay, i))
                    return {"z": z, "text": text}

                ov = {"type": "heatmap", **axes, "colorscale": _overlay_scale(),
                      "zmin": 0.5, "zmax": 6.5, "showscale": False, "xgap": 1, "ygap": 1,
                      "hoverinfo": "skip", "hoverongaps": False,
                      **ov_update(active if len(p.overlay) > 1 else 0)}
                if text_on:
                    ov.update(texttemplate="%{text}",
                              textfont={"size": font_size, "color": "#555"})
                add(ov, ov_update if len(p.overlay) > 1 else None)
            if p.boxes is not None:
                def box_update(i, p=p):
                    xs, ys = _rect_path(_pick(p.boxes, i))
                    return {"x": xs, "y": ys}

                add({"type": "scatter", "mode": "lines", **axes, "hoverinfo": "skip",
                     "line": {"color": p.box_color, "width": 2.2}, "showlegend": False,
                     **box_update(active if len(p.boxes) > 1 else 0)},
                    box_update if len(p.boxes) > 1 else None)
            if p.window is not None:
                def win_update(i, p=p):
                    xs, ys = _window_path(_pick(p.window, i))
                    return {"x": xs, "y": ys}

                add({"type": "scatter", "mode": "lines", **axes, "hoverinfo": "skip",
                     "line": {"color": WINDOW_COLOR, "width": 2.5, "dash": "dash"},
                     "showlegend": False, **win_update(active if len(p.window) > 1 else 0)},
                    win_update if len(p.window) > 1 else None)
        y_px += row_h * cell_px + vgap_px

    for name, color in legend:  # legend-only entries for the cell categories
        traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                       "marker": {"symbol": "square", "size": 12, "color": color,
                                  "line": {"color": "#888", "width": 1}},
                       "name": name, "showlegend": True, "xaxis": "x", "yaxis": "y"})

    if not controls:
        return _fast_figure(traces, layout, [])
    idx = [t for t, _ in dynamic]
    frames = []
    for i in range(n_frames):
        frames.append({
            "name": str(i),
            "data": [dict(fn(i), type=traces[t]["type"]) for t, fn in dynamic],
            "traces": idx,
            "layout": {"title": {"text": titles[i]}},
        })

    def play(ms):
        return [None, {"frame": {"duration": ms, "redraw": True}, "fromcurrent": True,
                       "transition": {"duration": 0}, "mode": "immediate"}]

    pause = [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
                      "transition": {"duration": 0}}]
    layout["updatemenus"] = [
        {"type": "buttons", "direction": "left", "showactive": False,
         "x": 0.0, "xanchor": "left", "y": 0, "yanchor": "top", "pad": {"t": 48, "r": 6},
         "buttons": [{"label": "▶ Play", "method": "animate", "args": play(duration)},
                     {"label": "❚❚ Pause", "method": "animate", "args": pause}]},
        {"type": "buttons", "direction": "left", "showactive": True,
         "active": min(range(len(SPEEDS)), key=lambda k: abs(list(SPEEDS.values())[k] - duration)),
         "x": 1.0, "xanchor": "right", "y": 0, "yanchor": "top", "pad": {"t": 48},
         "buttons": [{"label": name, "method": "animate", "args": play(ms)}
                     for name, ms in SPEEDS.items()]},
    ]
    many = n_frames > 40
    layout["sliders"] = [{
        "active": active, "x": 0.0, "len": 1.0, "y": 0, "yanchor": "top",
        "pad": {"t": 90, "b": 4},
        "currentvalue": {"prefix": "step ", "suffix": f" / {n_frames - 1}",
                         "font": {"size": 12, "color": "#333"}},
        "ticklen": 0 if many else 4,
        "font": {"size": 9, "color": "rgba(0,0,0,0)" if many else "#555"},
        "transition": {"duration": 0},
        "steps": [{"label": str(i), "method": "animate",
                   "args": [[str(i)], {"mode": "immediate", "transition": {"duration": 0},
                                       "frame": {"duration": 0, "redraw": True}}]}
                  for i in range(n_frames)],
    }]
    return _fast_figure(traces, layout, frames)


def _fast_figure(traces: list, layout: dict, frames: list) -> go.Figure:
    """``go.Figure`` with the traces and layout validated as usual and the frames attached
    as plain dicts: validating hundreds of frames trace by trace costs more than a second
    and adds nothing (they only update ``z`` / ``x`` / ``y`` of traces validated above)."""
    fig = go.Figure(data=traces, layout=layout)
    objs = []
    for frame in frames:
        obj = go.Frame(name=frame["name"], traces=frame["traces"])
        obj._props["data"] = frame["data"]
        obj._props["layout"] = frame["layout"]
        objs.append(obj)
    fig._frame_objs = tuple(objs)
    return fig


# --------------------------------------------------------------------------- per kind

# which row of panels each tensor goes to: 1-D signals stacked (output under input),
# 2-D grids side by side, 3-D volumes one row of slices each
_ROWS = {1: {"input": 0, "output": 1, "kernel": 2},
         2: {"input": 0, "output": 0, "kernel": 1},
         3: {"input": 0, "output": 2, "kernel": 1}}


def _legend_for(*cats) -> list:
    seen = []
    for cat in cats:
        if cat is None:
            continue
        for k in sorted(int(v) for v in np.unique(np.asarray(cat))):
            if k > 0 and k not in [s for s, _ in seen]:
                seen.append((k, CATEGORY_COLORS[k]))
    return [(CATEGORY_NAMES[k], color) for k, color in seen]


def _out_channel(frame, fmt, c):
    """A frame's output buffer (layer layout, batch 1) → spatial array of channel ``c``."""
    y = frame["output"][0]
    return y[..., c] if fmt == "channels_last" else y[c]


def _tap_formula(frame, kernel_lookup, f, chans_local, max_terms=8) -> str:
    """``x·w + …`` of the current cell for filter ``f`` from the frame's taps."""
    taps = frame.get("taps")
    if not taps or "products" not in taps:
        return ""
    prods = np.asarray(taps["products"])  # (K, cg, F)
    terms = []
    for k in range(prods.shape[0]):
        for ci in chans_local:
            xv = taps["x"][k][ci] if taps["x"].ndim > 1 else taps["x"][ci]
            terms.append(f"{_paren(xv)}·{_paren(kernel_lookup(k, ci, f))}")
    total = float(prods[:, :, f].sum())
    shown = " + ".join(terms[:max_terms])
    if len(terms) > max_terms:
        shown += f" + … ({len(terms)} terms)"
    return f"{shown} = <b>{total:.4g}</b>"


def _paren(v) -> str:
    text = fmt(v) or "0"
    return f"({text})" if text.startswith("-") else text


def _conv_like(anim: Animation, f: int, channel: int):
    m = anim.meta
    fr = anim.frames
    rank = anim.rank
    kernel = m["kernel"]  # (*k, cg, F)
    n_filters = kernel.shape[-1]
    f = int(np.clip(f, 0, n_filters - 1))
    chans = m["group_map"][f]
    cg = len(chans)
    shown_local = list(range(min(cg, MAX_CHANNEL_PANELS)))
    if rank == 3:
        shown_local = [int(np.clip(channel, 0, cg - 1))]
    view = m["input_view"]
    cat = m["input_category"]
    origin = m.get("input_origin")
    out_frames = [np.full(m["output_shape"], np.nan)] + [_out_channel(x, anim.data_format, f)
                                                        for x in fr]
    in_range = _vs(view)
    out_range = _vs(fr[-1]["output"][0], fr[-1].get("computed", np.zeros(1))[0])
    k_range = _vs(kernel)
    boxes = [np.zeros((0, rank))] + [x["in_cells"] for x in fr]
    windows = [None] + [(_bbox(x["in_cells"]) if x.get("taps") is not None else None)
                        for x in fr]
    out_boxes = [np.zeros((0, rank))] + [x["out_cells"] for x in fr]
    panels = []
    gather = anim.kind == "transpose"
    for j, ci in enumerate(shown_local):
        c = chans[ci]
        if gather:
            title = f"dilated + padded input · ch {c}"
        else:
            title = f"input{' (padded)' if cat.min() == PAD or (cat == PAD).any() else ''} · ch {c}"
        panels += _tensor_panels(title, [view[..., c]], rank, 0,
                                 **in_range, overlay=[cat], boxes=boxes, window=windows,
                                 offset=origin)
    out_title = f"output · filter {f}" if anim.kind == "conv" or gather else \
        f"output · channel {f}"
    rows = _ROWS[rank]
    panels += _tensor_panels(out_title, out_frames, rank, rows["output"], **out_range,
                             boxes=out_boxes, box_color=WRITE_COLOR)
    kname = "flipped kernel" if gather else "kernel"
    for ci in shown_local:
        panels += _tensor_panels(f"{kname} [{'…, ' if rank > 1 else ''}{ci}, {f}]",
                                 [kernel[..., ci, f]], rank, rows["kernel"], **k_range)
    extra = ""
    if cg > len(shown_local):
        extra = f" (showing {len(shown_local)} of the {cg} input channels filter {f} reads)"
    if m.get("groups", 1) > 1 and anim.kind == "conv":
        extra += f" · groups={m['groups']}: filter {f} reads input channels {chans}"

    def lookup(k, ci, ff):
        return kernel.reshape(-1, kernel.shape[-2], kernel.shape[-1])[k, ci, ff]

    titles = [f"<b>{anim.layer_name}</b> — start: the output is empty{extra}"]
    for x in fr:
        t = f"<b>{anim.layer_name}</b> — step {x['step'] + 1}/{len(fr)}: {x['caption']}"
        formula = _tap_formula(x, lookup, f, list(range(cg)))
        if formula:
            cell = ", ".join(str(int(v)) for v in x["out_cells"][0])
            t += f"<br>{'filter' if anim.kind == 'conv' or gather else 'channel'} {f}: " \
                 f"y[{cell}] = {formula}"
        t += extra if x is fr[0] else ""
        titles.append(t)
    legend = _legend_for(cat)
    return panels, titles, legend


def _separable(anim: Animation, f: int, channel: int):
    m = anim.meta
    fr = anim.frames
    rank = anim.rank
    kernel = m["kernel"]  # grouped depthwise (*k, 1, C·M)
    pw = m["pointwise_kernel"]  # (C·M, F)
    mult = m["depth_multiplier"]
    n_filters = pw.shape[-1]
    f = int(np.clip(f, 0, n_filters - 1))
    c_in = anim.meta["in_channels"]
    chans = list(range(min(c_in, MAX_CHANNEL_PANELS)))
    mids = [c * mult + k for c in chans for k in range(mult)][:MAX_MID_PANELS]
    view, cat, origin = m["input_view"], m["input_category"], m["input_origin"]
    nan_mid = np.full(m["output_shape"] + (kernel.shape[-1],), np.nan)
    mid_frames = [nan_mid] + [x.get("mid", nan_mid) for x in fr]
    out_frames = [np.full(m["output_shape"], np.nan)] + [_out_channel(x, anim.data_format, f)
                                                        for x in fr]
    empty = np.zeros((0, rank))
    in_boxes = [empty] + [x["in_cells"] if x["stage"] == "depthwise" else empty for x in fr]
    in_win = [None] + [(_bbox(x["in_cells"]) if x["stage"] == "depthwise"
                        and x.get("taps") is not None else None) for x in fr]
    mid_boxes = [empty] + [x["out_cells"] if x["stage"] == "depthwise" else
                           (x["in_cells"] if x["stage"] == "pointwise" else empty) for x in fr]
    out_boxes = [empty] + [x["out_cells"] if x["stage"] == "pointwise" else empty for x in fr]
    in_range = _vs(view)
    mid_range = _vs(m["mid_final"])
    out_range = _vs(fr[-1]["output"][0])
    k_range = _vs(kernel)
    panels = []
    for c in chans:
        panels += _tensor_panels(f"input{' (padded)' if (cat == PAD).any() else ''} · ch {c}",
                                 [view[..., c]], rank, 0, **in_range, overlay=[cat],
                                 boxes=in_boxes, window=in_win, offset=origin)
    for j in mids:
        panels += _tensor_panels(f"depthwise · ch {j}", [mf[..., j] for mf in mid_frames],
                                 rank, 2, **mid_range, boxes=mid_boxes, box_color=WRITE_COLOR)
    panels += _tensor_panels(f"output · filter {f}", out_frames, rank, 3, **out_range,
                             boxes=out_boxes, box_color=WRITE_COLOR)
    for j in mids:
        panels += _tensor_panels(f"kernel ch {j // mult}, m {j % mult}",
                                 [kernel[..., 0, j]], rank, 1, **k_range)
    pw_grid = pw[:, f][None, :] if rank == 1 else pw[:, f][None, :]
    panels.append(_Panel(title=f"pointwise weights → filter {f}", row=3,
                         z=[pw_grid], **_vs(pw),
                         col_labels=[str(i) for i in range(pw.shape[0])], row_labels=[""]))
    flat_k = kernel.reshape(-1, kernel.shape[-1])
    titles = [f"<b>{anim.layer_name}</b> — start: depthwise stage ({c_in} channel"
              f"{'s' if c_in != 1 else ''} × depth_multiplier {mult}), then 1×1 pointwise"]
    for x in fr:
        t = f"<b>{anim.layer_name}</b> — step {x['step'] + 1}/{len(fr)}: {x['caption']}"
        taps = x.get("taps")
        if taps is not None and x["stage"] == "depthwise":
            j = mids[0]
            formula = _tap_formula(x, lambda k, ci, ff: flat_k[k, ff], j, [0])
            cell = ", ".join(str(int(v)) for v in x["out_cells"][0])
            t += f"<br>depthwise ch {j}: mid[{cell}] = {formula}"
        elif taps is not None and x["stage"] == "pointwise":
            formula = _tap_formula(x, lambda k, ci, ff: pw[ci, ff], f,
                                   list(range(pw.shape[0])))
            cell = ", ".join(str(int(v)) for v in x["out_cells"][0])
            t += f"<br>filter {f}: y[{cell}] = Σ mid·pointwise = {formula}"
        titles.append(t)
    return panels, titles, _legend_for(cat)


def _scatter(anim: Animation, f: int, channel: int):
    m = anim.meta
    fr = anim.frames
    rank = anim.rank
    w = m["kernel"]  # (*k, F, C)
    n_filters = w.shape[-2]
    f = int(np.clip(f, 0, n_filters - 1))
    c_in = m["in_channels"]
    chans = list(range(min(c_in, MAX_CHANNEL_PANELS)))
    if rank == 3:
        chans = [int(np.clip(channel, 0, c_in - 1))]
    x0 = m["input_view"]
    crop = np.asarray(m["crop"])
    out_shape = np.asarray(m["output_shape"])
    nan_canvas = np.full(m["canvas_shape"], np.nan)
    canvas_frames = [nan_canvas] + [x["canvas"][..., f] for x in fr]
    empty = np.zeros((0, rank))
    in_boxes = [empty] + [x["in_cells"] for x in fr]
    stamp_boxes = [empty] + [x.get("canvas_cells", empty) for x in fr]
    region = (crop, crop + out_shape - 1) if out_shape.min() > 0 else None
    windows = [region] * (len(fr) + 1)
    panels = []
    for c in chans:
        panels += _tensor_panels(f"input · ch {c}", [x0[..., c]], rank, 0,
                                 **_vs(x0), boxes=in_boxes)
    row_canvas = _ROWS[rank]["output"]
    last = fr[-1]
    # the finish frame: the canvas shows the cropped output with bias and activation
    fin = np.full(m["canvas_shape"], np.nan)
    if out_shape.min() > 0:
        fin[tuple(slice(c, c + o) for c, o in zip(crop, out_shape))] = \
            _out_channel(last, anim.data_format, f)
    canvas_frames[-1] = fin
    panels += _tensor_panels(
        f"output canvas · filter {f} (dashed: kept)", canvas_frames, rank, row_canvas,
        **_vs(last["canvas"][..., f], fin), overlay=[m["canvas_category"]],
        boxes=stamp_boxes, window=windows, box_color=WRITE_COLOR, offset=tuple(crop))
    k_range = _vs(w)
    for c in chans:
        panels += _tensor_panels(f"kernel [{'…, ' if rank > 1 else ''}{f}, {c}]",
                                 [w[..., f, c]], rank, _ROWS[rank]["kernel"], **k_range)
    flat = w.reshape(-1, w.shape[-2], w.shape[-1])
    op = m.get("output_padding")
    notes = []
    if m["padding"] == "same" and (crop.any() or any(m["crop_after"])):
        notes.append(f"same padding cuts {tuple(int(v) for v in crop)} cells at the start and "
                     f"{m['crop_after']} at the end")
    if op is not None and any(op):
        notes.append(f"output_padding={tuple(op)} adds cells past the last stamp")
    note = ("; ".join(notes)) if notes else "no cropping"
    titles = [f"<b>{anim.layer_name}</b> — start: every input cell will stamp x·kernel "
              f"onto the canvas ({note})"]
    for x in fr:
        t = f"<b>{anim.layer_name}</b> — step {x['step'] + 1}/{len(fr)}: {x['caption']}"
        taps = x.get("taps")
        if taps is not None:
            vals = np.asarray(taps["products"])[:, :, f].sum(axis=1)
            xi = taps["x"]
            terms = []
            for k in range(min(len(vals), 6)):
                cell = ", ".join(str(int(v)) for v in taps["output_index"][k])
                terms.append(f"y[{cell}] += {fmt(vals[k])}")
            more = f", … ({len(vals)} taps)" if len(vals) > 6 else ""
            t += (f"<br>filter {f}: stamp = Σ_c x[c]·w[t, {f}, c]"
                  + (f" (x = {fmt(xi[0])}, w[0] = {fmt(flat[0, f, 0])})" if c_in == 1 else "")
                  + ": " + ", ".join(terms) + more)
        elif x["stage"] == "finish":
            t += f"<br>output = canvas cut to {tuple(int(v) for v in out_shape)} ({note})"
        titles.append(t)
    return panels, titles, _legend_for(m["canvas_category"])


def _reshape_family(anim: Animation, f: int, channel: int):
    """ZeroPadding, Cropping, UpSampling (nearest and interpolated)."""
    m = anim.meta
    fr = anim.frames
    rank = anim.rank
    c = int(np.clip(channel, 0, m["in_channels"] - 1))
    x0 = m["input_view"][..., c]
    empty = np.zeros((0, rank))
    out_frames = [np.full(m["output_shape"], np.nan)] + [_out_channel(x, anim.data_format, c)
                                                        for x in fr]
    rng = _vs(x0, fr[-1]["output"][0])
    in_boxes = [empty] + [x["in_cells"] for x in fr]
    out_boxes = [empty] + [x["out_cells"] for x in fr]
    panels = []
    legend = []
    out_row = 0 if rank == 2 else 2
    extra_row = 1
    if anim.kind == "crop":
        cuts = [np.zeros(m["input_shape"], bool)] + [x["cut"] for x in fr]
        overlays = [np.where(cut, CUT, REAL).astype(np.int8) for cut in cuts]
        panels += _tensor_panels(f"input · ch {c}", [x0], rank, 0, **rng, overlay=overlays,
                                 boxes=in_boxes, box_color=WINDOW_COLOR)
        panels += _tensor_panels(f"output · ch {c}", out_frames, rank, out_row, **rng,
                                 boxes=out_boxes, box_color=WRITE_COLOR)
        legend = [(CATEGORY_NAMES[CUT], CATEGORY_COLORS[CUT])]
        crops = m["cropping"]
        start = "start: cropping " + ", ".join(f"{p}" for p in crops) + " (before, after) per axis"
    elif anim.kind == "zeropad":
        cat = m["output_category"]
        overlays = [np.zeros(m["output_shape"], np.int8)] + [
            np.where(x["written"] & (cat == PAD), PAD, REAL).astype(np.int8) for x in fr]
        panels += _tensor_panels(f"input · ch {c}", [x0], rank, 0, **rng, boxes=in_boxes)
        offset = tuple(p[0] for p in m["padding"])
        panels += _tensor_panels(f"output · ch {c}", out_frames, rank, out_row, **rng,
                                 overlay=overlays, boxes=out_boxes, box_color=WRITE_COLOR,
                                 offset=offset)
        legend = [(CATEGORY_NAMES[PAD], CATEGORY_COLORS[PAD])]
        start = "start: padding " + ", ".join(f"{p}" for p in m["padding"]) + \
            " (before, after) per axis"
    elif anim.kind == "upsample":
        panels += _tensor_panels(f"input · ch {c}", [x0], rank, 0, **rng, boxes=in_boxes)
        panels += _tensor_panels(f"output · ch {c}", out_frames, rank, out_row, **rng,
                                 boxes=out_boxes, box_color=WRITE_COLOR)
        start = f"start: nearest upsampling repeats every cell {m['size']} times"
    else:  # interpolate
        weights = [np.full(m["input_shape"], np.nan)]
        for x in fr:
            wgrid = np.full(m["input_shape"], np.nan)
            if x.get("in_weights") is not None:
                wgrid[tuple(np.asarray(x["in_cells"]).T)] = x["in_weights"]
            weights.append(wgrid)
        panels += _tensor_panels(f"input · ch {c}", [x0], rank, 0, **rng, boxes=in_boxes)
        panels += _tensor_panels("weights of the current cell", weights, rank, extra_row,
                                 (-1.0, 1.0), colorscale="PiYG", hover="weight")
        panels += _tensor_panels(f"output · ch {c}", out_frames, rank, out_row, **rng,
                                 boxes=out_boxes, box_color=WRITE_COLOR)
        start = (f"start: {m['interpolation']} resize ×{m['size']} — each output cell is a "
                 "weighted sum of source cells (indices clamped at the border)")
    titles = [f"<b>{anim.layer_name}</b> — {start}"]
    titles += [f"<b>{anim.layer_name}</b> — step {x['step'] + 1}/{len(fr)}: {x['caption']}"
               for x in fr]
    return panels, titles, legend


def animation_figure(anim: Animation, filter_index: int = 0, channel: int = 0,
                     duration: int = SPEEDS["normal"], active: int = 0,
                     show_values: Optional[bool] = None, height: Optional[int] = None,
                     max_width: int = 900) -> go.Figure:
    """The animation of ``anim`` as a Plotly figure with frames.

    ``filter_index``: which output channel to draw (filters of a convolution);
    ``channel``: which input channel (3-D convolutions, reshaping layers); ``duration``: ms
    per frame when Play is pressed (the speed buttons change it in the browser);
    ``active``: the frame shown first (0 = the empty start frame, ``k`` = after step
    ``k``); ``show_values``: write values in cells (default: when cells are at least
    :data:`MIN_TEXT_CELL_PX` pixels); ``max_width``: figure width budget in pixels (rows of
    panels wrap to keep cells readable). Frame ``k + 1`` of the figure is
    ``anim.frames[k]``.
    """
    if anim.kind in ("conv", "depthwise") or (anim.kind == "transpose" and anim.view == "gather"):
        panels, titles, legend = _conv_like(anim, filter_index, channel)
    elif anim.kind == "separable":
        panels, titles, legend = _separable(anim, filter_index, channel)
    elif anim.kind == "transpose":
        panels, titles, legend = _scatter(anim, filter_index, channel)
    else:
        panels, titles, legend = _reshape_family(anim, filter_index, channel)
    legend += [("kernel taps / cells read", TAP_COLOR), ("cells written", WRITE_COLOR)]
    active = int(np.clip(active, 0, len(titles) - 1))
    return _assemble(panels, titles, int(duration), active, show_values, height, legend,
                     max_width=max_width)


# --------------------------------------------------------------------------- receptive field

def receptive_figure(levels: dict, names: Optional[list] = None,
                     show_values: Optional[bool] = None, max_width: int = 900) -> go.Figure:
    """Contribution counts of every level of a stack (from
    :func:`engine.animate.contribution_levels`): input first, the chosen output cell last.
    The output level carries invisible markers (one per cell, ``customdata`` = the cell's
    index) so that a click can pick the cell."""
    maps = levels["maps"]
    index = levels["index"]
    rank = len(index)
    names = names or ([("input" if k == 0 else f"after layer {k}") for k in range(len(maps))])
    panels = []
    for k, cmap in enumerate(maps):
        last = k == len(maps) - 1
        row = k if rank != 2 else 0
        nz = cmap[cmap != 0]
        m = float(np.abs(nz).max()) if nz.size else 1.0
        z = np.where(cmap == 0, np.nan, cmap)
        title = names[k]
        if last:
            first_out = len(panels)
        if not last:
            cells = int((cmap != 0).sum())
            title += f" · {cells} cells"
        panels += _tensor_panels(title, [z], rank, row if rank < 3 else k, (0.0, m),
                                 colorscale="YlOrRd" if not last else [[0, "#2ca02c"],
                                                                        [1, "#2ca02c"]],
                                 boxes=[np.asarray([index])] if last else None,
                                 box_color=WRITE_COLOR, hover="count")
    fig = _assemble(panels, [f"Receptive field of output cell {list(index)} "
                             f"(counts: how many paths reach each cell)"], 0, 0,
                    show_values, None, [], max_width=max_width, controls=False)
    # click targets on the output level (one invisible marker per cell)
    out_panels = range(first_out, len(panels))  # axis n+1 is panel n (rows in level order)
    out_shape = maps[-1].shape
    axis_ids = []
    for i in out_panels:
        axis_ids.append("" if i == 0 else str(i + 1))
    for s, sx in enumerate(axis_ids):
        grid = _grid_slices(np.zeros(out_shape), rank)[s]
        rr, cc = np.meshgrid(range(grid.shape[0]), range(grid.shape[1]), indexing="ij")
        if rank == 1:
            custom = [[int(c)] for c in cc.ravel()]
        elif rank == 2:
            custom = [[int(r), int(c)] for r, c in zip(rr.ravel(), cc.ravel())]
        else:
            custom = [[s, int(r), int(c)] for r, c in zip(rr.ravel(), cc.ravel())]
        fig.add_trace(go.Scatter(
            x=cc.ravel().tolist(), y=rr.ravel().tolist(), mode="markers",
            marker={"size": 14, "color": "rgba(0,0,0,0)", "symbol": "square"},
            customdata=custom, hovertemplate="pick output cell %{customdata}<extra></extra>",
            xaxis=f"x{sx}", yaxis=f"y{sx}", showlegend=False, name="pick"))
    return fig
