"""Plotly figures for :mod:`engine.animate`: frames → a ``go.Figure`` that plays in the browser.

Pure functions (no Streamlit): :func:`animation_figure` draws an ``engine.animate.Animation``'s
heatmap panels (what each layer kind shows: :mod:`app.figures.animation_panels`, which the
GIF export :mod:`app.figures.gif` draws too; arranged by :mod:`app.figures.animation_grid`)
as Plotly traces whose frames play client-side under one step control
(:mod:`app.figures.animation_controls`): play / pause, step back / step forward, the speed
and a scrubber, all in the browser (the back / forward buttons are re-aimed by every
frame's layout); :func:`receptive_figure` draws contribution counts of every level of a
stack. Sizes and colours are :mod:`app.theme`'s (normal screen or presentation mode).

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

from typing import Optional

import numpy as np
import plotly.graph_objects as go

from app.figures.animation_controls import SPEEDS, control_size, controls, nav_buttons
from app.figures.animation_grid import (COLUMN_PX, MARGIN_LEFT, MARGIN_RIGHT, Panel, arrange,
                                        axes_layout, figure_layout, placements)
from app.figures.animation_panels import (CATEGORY_COLORS, CATEGORY_TEXT, MAX_CHANNEL_PANELS,
                                          cell_values, grid_slices, panels_of, tensor_panels,
                                          value_format)
from app.figures.layout import default_template, figure, inline_template, named_scale
from app.theme import COUNTS, INK, NORMAL, OUTLINES, Theme, line
from app.theme import theme as theme_of
from engine.animate import Animation, ContributionLevels, opening_step

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
    return cell_values(z), text


def _overlay_scale():
    """Discrete colours for categories 1..6 on a 0.5..6.5 range."""
    scale = []
    n = 6
    for k in range(1, n + 1):
        color = CATEGORY_COLORS.get(k, "rgba(0,0,0,0)")
        scale.append([(k - 1) / n, color])
        scale.append([k / n, color])
    return scale


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
        base.update(texttemplate="%{z:" + value_format(*p.z[-1:], *p.z[:1]) + "}",
                    textfont=text)
    return _trace(p.z, lambda z: {"z": cell_values(z)}, base, active)


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
        panels += tensor_panels(title, [np.where(cmap == 0, np.nan, cmap)], rank,
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
        h, w = grid_slices(np.zeros(out_shape), rank)[s].shape
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
