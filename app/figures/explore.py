"""Figures of the Explore view: pure functions of arrays returning ``go.Figure``.

Cells are addressed by their true indices (x = column, y = row) even when a large map is
shown every ``step``-th cell, so hover values and clicks refer to the real array. Highlights
are rectangles around cells: ``window`` (input cells read by the selected output cell),
``pad`` (taps that read padding zeros), ``selected`` (the cell clicked), ``fed`` (outputs an
input cell feeds), each drawn in :mod:`app.theme`'s outline style (colour, dash and a legend
label, never colour alone); boxes (``area``: the original input inside the padded one,
``crop``: what a Cropping layer keeps) are labelled on the picture. Every builder takes the
theme (``t``: normal screen or presentation mode).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app import theme as T

MAX_SIDE = 192        # a map larger than this along an axis is shown every step-th cell
MAX_SHAPES = 300      # more highlighted cells than this are drawn as their bounding box
MAX_NUMBERED = 24     # maps with more cells than this per side never carry numbers
PANEL_WIDTH = 0.55    # a panel's plot width / its height, side by side at 1366 px (estimate)


def display_step(*sides: int, max_side: int = MAX_SIDE) -> int:
    return max(1, math.ceil(max(sides) / max_side))


MAX_CLICK_POINTS = 40_000  # invisible click targets per figure
MAX_SIGNAL_POINTS = 4_000  # points per trace; a longer signal is drawn as its min/max envelope


def envelope(values: np.ndarray, max_points: int = MAX_SIGNAL_POINTS):
    """``(indices, values)`` of a long 1-D signal reduced to about ``max_points`` points:
    the minimum and the maximum of each of ``max_points / 2`` buckets, in order, so that
    every peak stays visible. Short signals are returned whole."""
    n = values.shape[0]
    if n <= max_points:
        return np.arange(n), values
    k = -(-n // max(max_points // 2, 1))          # cells per bucket
    m = -(-n // k)                                 # buckets
    padded = np.concatenate([values, np.full(m * k - n, values[-1], values.dtype)])
    grid = padded.reshape(m, k)
    base = np.arange(m) * k
    idx = np.unique(np.clip(np.concatenate([grid.argmin(1) + base, grid.argmax(1) + base]),
                            0, n - 1))
    return idx, values[idx]


def click_layer(values: np.ndarray, step: int, label: str = "", channel: int = 0,
                budget: int = MAX_CLICK_POINTS) -> go.Scatter:
    """Invisible markers on the cell centres: Streamlit reports clicks on scatter points
    (not on heatmap cells), so these carry the clicks and the hover text. ``values``: the
    full-resolution map (rows, cols) or (rows, cols, 3)."""
    h, w = values.shape[:2]
    ostep = step * max(1, math.ceil(math.sqrt((h // step + 1) * (w // step + 1) / budget)))
    yy, xx = np.mgrid[0:h:ostep, 0:w:ostep]
    v = values[::ostep, ::ostep]
    if v.ndim == 3:
        val = np.round(v.reshape(-1, v.shape[-1]) * 255).astype(int)
        custom = np.column_stack([val, np.full(len(val), channel)])
        hover = f"{label}row %{{y}}, col %{{x}}<br>RGB (%{{customdata[0]}}, %{{customdata[1]}}, %{{customdata[2]}})<extra></extra>"
    else:
        custom = np.column_stack([v.ravel().astype(np.float64), np.full(v.size, channel)])
        hover = f"{label}row %{{y}}, col %{{x}}<br>value %{{customdata[0]:.5g}}<extra></extra>"
    return go.Scatter(x=xx.ravel(), y=yy.ravel(), mode="markers", customdata=custom,
                      marker=dict(size=max(4, min(24, 360 // max(h // ostep, w // ostep, 1))),
                                  opacity=0, symbol="square", color="black"),
                      hovertemplate=hover, showlegend=False)


def _rects(cells, kind: str, t: T.Theme, xref="x", yref="y", step: int = 1,
           legend: bool = True) -> list:
    """Layout shapes outlining ``cells`` [(row, col), …] (1-D: (0, i)) in the outline style
    of ``kind`` (colour, dash, width); the first one carries the legend label."""
    cells = list(cells)
    if not cells:
        return []
    if len(cells) > MAX_SHAPES:
        rs = [c[0] for c in cells]
        cs = [c[1] for c in cells]
        boxes = [(min(rs), min(cs), max(rs), max(cs))]
    else:
        boxes = [(r, c, r, c) for r, c in cells]
    half = 0.5 * step
    return [dict(type="rect", xref=xref, yref=yref, x0=c0 - half, x1=c1 + half, y0=r0 - half,
                 y1=r1 + half, line=T.line(kind, t), fillcolor="rgba(0,0,0,0)",
                 name=T.OUTLINES[kind].label, showlegend=legend and i == 0,
                 legendgroup=kind)
            for i, (r0, c0, r1, c1) in enumerate(boxes)]


def _box(box, kind: str, t: T.Theme) -> dict:
    """A labelled outline around the block ``box`` = (r0, c0, r1, c1) of cells."""
    r0, c0, r1, c1 = box
    return dict(type="rect", x0=c0 - 0.5, x1=c1 + 0.5, y0=r0 - 0.5, y1=r1 + 0.5,
                line=T.line(kind, t), name=T.OUTLINES[kind].label, showlegend=True,
                legendgroup=kind,
                label=dict(text=T.OUTLINES[kind].label, textposition="top left",
                           font=dict(size=t.font, color=T.OUTLINES[kind].color)))


def _legend(t: T.Theme) -> dict:
    """The outline legend: one row under the picture (line sample + label)."""
    return dict(orientation="h", x=0, y=0, yanchor="bottom", yref="container",
                font=dict(size=t.font - 1), bgcolor="rgba(255,255,255,0.8)")


def _finish_image_axes(fig, t: T.Theme, row=None, col=None, ticks: tuple = (True, True),
                       fill: bool = False):
    """Rows downwards, square cells, no grid; ``ticks``: (x, y) tick labels shown;
    ``fill``: the plot area fills its whole domain (the ranges grow to keep cells square),
    so that a click anywhere in it reaches the nearest cell."""
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_yaxes(autorange="reversed", scaleanchor="x" if row is None else None,
                     constrain="range" if fill else "domain", showgrid=False, zeroline=False, showticklabels=ticks[1],
                     ticks="outside" if ticks[1] else "", automargin=True,
                     tickfont=dict(size=t.font - 2, color=T.INK), **kw)
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain",
                     showticklabels=ticks[0], ticks="outside" if ticks[0] else "",
                     automargin=True, tickfont=dict(size=t.font - 2, color=T.INK), **kw)


def _margins(t: T.Theme, title: bool = True) -> dict:
    """Margins that leave room for the title and the outline legend."""
    return dict(l=10, r=10, t=2 * t.title + 20 if title else 10, b=t.font * 3 + 10)


def image_figure(arr: np.ndarray, title: str, highlights: dict | None = None,
                 zrange=None, diverging: bool = False, boxes: dict | None = None,
                 t: T.Theme = T.NORMAL) -> go.Figure:
    """One 2-D map (rows, cols) or RGB image (rows, cols, 3) with hover values, highlighted
    cells (``{outline kind: cells}``) and labelled boxes (``{outline kind: (r0, c0, r1,
    c1)}``, e.g. ``area``: the original input inside the padded one, ``crop``: the window a
    Cropping layer keeps). Small maps carry their numbers."""
    h, w = arr.shape[:2]
    step = display_step(h, w)
    if step > 1:
        title += f"<br><sup>drawn: 1 of every {step} cells per axis</sup>"
    sub = arr[::step, ::step]
    ys = np.arange(0, h, step)
    xs = np.arange(0, w, step)
    fig = go.Figure()
    if arr.ndim == 3 and arr.shape[2] == 3:
        rgb = np.clip(sub, 0, 1)
        fig.add_trace(go.Image(z=(rgb * 255).astype(np.uint8), x0=0, dx=step, y0=0, dy=step,
                               hoverinfo="skip"))
    else:
        if arr.ndim == 3:
            sub = sub[..., 0]
        lo, hi = zrange if zrange is not None else (float(np.min(sub)), float(np.max(sub)))
        if diverging:
            m = max(abs(lo), abs(hi), 1e-12)
            lo, hi = -m, m
        numbers = max(h, w) <= MAX_NUMBERED and T.show_numbers(
            h, w, PANEL_WIDTH * t.panel_height, t.panel_height, t)
        fig.add_trace(go.Heatmap(
            z=sub.astype(np.float32), x=xs, y=ys, zmin=lo, zmax=hi if hi > lo else lo + 1e-6,
            colorscale=T.DIVERGING if diverging else T.SEQUENTIAL,
            colorbar=dict(thickness=10, tickfont=dict(size=t.font - 2)),
            texttemplate="%{z:.2g}" if numbers else None,
            textfont=dict(size=t.cell_text), hoverinfo="skip"))
    fig.add_trace(click_layer(np.clip(arr, 0, 1) if arr.ndim == 3 and arr.shape[2] == 3
                              else (arr[..., 0] if arr.ndim == 3 else arr), step))
    shapes = []
    for kind, cells in (highlights or {}).items():
        shapes += _rects(cells, kind, t, step=step)
    shapes += [_box(box, kind, t) for kind, box in (boxes or {}).items()]
    fig.update_layout(title=dict(text=title, font=dict(size=t.title)), shapes=shapes,
                      height=t.panel_height, margin=_margins(t), clickmode="event+select",
                      dragmode=False, legend=_legend(t), showlegend=True, **T.figure_style(t))
    _finish_image_axes(fig, t)
    return fig


def _grid_spacing(rows: int, height: int, t: T.Theme) -> float:
    """Vertical gap between grid rows (a fraction of the plot) that fits the next row's
    title above it and this row's tick numbers below it."""
    if rows == 1:
        return 0.1
    gap_px = t.title + t.font + 14
    return min(0.3, gap_px / max(height - 40, 1))


def grid_figure(maps: np.ndarray, titles: list, shared: bool = True,
                highlights: dict | None = None, diverging: bool = False, max_cols: int = 4,
                title: str = "", t: T.Theme = T.NORMAL) -> go.Figure:
    """Feature maps ``(channels, rows, cols)`` as a grid of heatmaps; one colour scale for
    all (``shared``) or one per map. ``highlights`` apply to every map. Column numbers only
    under the bottom row (hover says row and column), with room for every map's title above
    it; a click anywhere in a map selects the nearest cell."""
    n = maps.shape[0]
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    h, w = maps.shape[1:]
    step = display_step(h, w, max_side=128 if n > 1 else MAX_SIDE)
    per_row = max((t.panel_height - 2 * t.title) // rows, 80)
    height = per_row * rows + 2 * t.title + 40
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles[:n],
                        horizontal_spacing=0.04,
                        vertical_spacing=_grid_spacing(rows, height, t))
    lo, hi = float(np.min(maps)), float(np.max(maps))
    if diverging:
        m = max(abs(lo), abs(hi), 1e-12)
        lo, hi = -m, m
    ys = np.arange(0, h, step)
    xs = np.arange(0, w, step)
    shapes = []
    for i in range(n):
        r, c = divmod(i, cols)
        z = maps[i, ::step, ::step].astype(np.float32)
        zlo, zhi = (lo, hi) if shared else (float(z.min()), float(z.max()))
        div_i = diverging if shared else bool(z.min() < 0 < z.max())
        if div_i and not shared:
            m = max(abs(zlo), abs(zhi), 1e-12)
            zlo, zhi = -m, m
        label = titles[i] if i < len(titles) else f"channel {i}"
        fig.add_trace(go.Heatmap(
            z=z, x=xs, y=ys, zmin=zlo, zmax=zhi if zhi > zlo else zlo + 1e-6,
            colorscale=T.DIVERGING if div_i else T.SEQUENTIAL, showscale=shared and i == 0,
            colorbar=dict(thickness=10, tickfont=dict(size=t.font - 2)), name=label,
            hoverinfo="skip"), row=r + 1, col=c + 1)
        fig.add_trace(click_layer(maps[i], step, f"{label}<br>", channel=i,
                                  budget=MAX_CLICK_POINTS // n), row=r + 1, col=c + 1)
        suffix = "" if i == 0 else str(i + 1)
        for kind, cells in (highlights or {}).items():
            shapes += _rects(cells, kind, t, xref=f"x{suffix}", yref=f"y{suffix}", step=step,
                             legend=i == 0)
    margin = dict(_margins(t), t=(t.title + 16 if title else 0) + t.font + 14)
    fig.update_layout(shapes=shapes, height=height, margin=margin,
                      title=dict(text=title, font=dict(size=t.title), y=1, yref="container",
                                 yanchor="top", pad=dict(t=8)) if title else None,
                      clickmode="event+select", dragmode=False, legend=_legend(t),
                      showlegend=True, hoverdistance=-1, **T.figure_style(t))
    for i in range(n):
        r, c = divmod(i, cols)
        bottom = r == rows - 1 or i + cols >= n
        _finish_image_axes(fig, t, row=r + 1, col=c + 1, ticks=(bottom, False), fill=True)
        fig.update_yaxes(scaleanchor=f"x{'' if i == 0 else i + 1}", row=r + 1, col=c + 1)
    for ann in fig.layout.annotations:
        ann.font.size = t.font
    return fig


def signal_figure(sig: np.ndarray, title: str, names: list | None = None,
                  highlights: dict | None = None, boxes: dict | None = None,
                  offset: int = 0, t: T.Theme = T.NORMAL) -> go.Figure:
    """A signal ``(steps, channels)`` as lines (markers when short); highlighted steps are
    bands outlined in their outline style (``{kind: cells}``); ``boxes``: labelled spans
    ``{kind: (first, last)}`` (the original input, the window a crop keeps)."""
    steps, channels = sig.shape
    fig = go.Figure()
    mode = "lines+markers" if steps <= 128 else "lines"
    if steps > MAX_SIGNAL_POINTS:  # keep the page light: the browser gets an envelope
        title += f" · {steps:,} steps drawn as a min/max envelope"
    for c in range(min(channels, 16)):
        idx, values = envelope(sig[:, c])
        fig.add_trace(go.Scatter(x=idx - offset, y=values.astype(np.float32), mode=mode,
                                 name=names[c] if names else f"channel {c}",
                                 showlegend=channels > 1,
                                 marker=dict(size=4 + t.outline_width),
                                 line=dict(width=t.outline_width / 2 + 1),
                                 hovertemplate="step %{x}<br>value %{y:.5g}<extra>%{fullData.name}</extra>"))
    shapes = []
    for kind, cells in (highlights or {}).items():
        idx = sorted({c[1] if isinstance(c, tuple) else c for c in cells})
        spans = [(idx[0], idx[-1])] if len(idx) > MAX_SHAPES else [(i, i) for i in idx]
        color = T.OUTLINES[kind].color
        shapes += [dict(type="rect", xref="x", yref="paper", x0=a - 0.5, x1=b + 0.5, y0=0,
                        y1=1, line=T.line(kind, t), fillcolor=color, opacity=0.3,
                        name=T.OUTLINES[kind].label, showlegend=j == 0, legendgroup=kind)
                   for j, (a, b) in enumerate(spans)]
    for kind, (a, b) in (boxes or {}).items():
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=a - 0.5, x1=b + 0.5, y0=0,
                           y1=1, line=T.line(kind, t), name=T.OUTLINES[kind].label,
                           showlegend=True, legendgroup=kind,
                           label=dict(text=T.OUTLINES[kind].label, textposition="top left",
                                      font=dict(size=t.font,
                                                color=T.OUTLINES[kind].color))))
    items = (min(channels, 16) if channels > 1 else 0) + len(highlights or {}) + len(boxes or {})
    legend_px = math.ceil(items / 2) * int(1.7 * t.font)
    fig.update_layout(title=dict(text=title, font=dict(size=t.title)), shapes=shapes,
                      height=t.panel_height + legend_px,
                      margin=dict(_margins(t), b=3 * t.font + legend_px + 10),
                      hovermode="closest", clickmode="event+select", dragmode=False,
                      legend=_legend(t), showlegend=True, **T.figure_style(t))
    fig.update_xaxes(title_text="step", tickfont=dict(size=t.font - 2, color=T.INK),
                     automargin=True)
    fig.update_yaxes(tickfont=dict(size=t.font - 2, color=T.INK), automargin=True)
    return fig


def kernel_figure(kernel: np.ndarray, title: str, taps=None, pad_taps=None,
                  t: T.Theme = T.NORMAL) -> go.Figure:
    """A small kernel (1-D or 2-D) with its numbers written in the cells; ``taps`` used by
    the selected output cell are outlined (``pad_taps``: those reading padding)."""
    k2 = kernel.reshape(1, -1) if kernel.ndim == 1 else kernel
    h, w = k2.shape
    m = float(np.max(np.abs(k2))) or 1.0
    fig = go.Figure(go.Heatmap(
        z=k2.astype(np.float32), x=np.arange(w), y=np.arange(h), zmin=-m, zmax=m,
        colorscale=T.DIVERGING, showscale=False,
        texttemplate="%{z:.3g}" if h * w <= 121 else None,
        textfont=dict(size=t.cell_text, color=T.INK),
        hovertemplate="tap (%{y}, %{x})<br>weight %{z:.5g}<extra></extra>"))
    hl = {}
    if taps:
        hl["window"] = [(tp[0], tp[1]) if len(tp) == 2 else (0, tp[0]) for tp in taps]
    if pad_taps:
        hl["pad"] = [(tp[0], tp[1]) if len(tp) == 2 else (0, tp[0]) for tp in pad_taps]
    shapes = []
    for kind, cells in hl.items():
        shapes += _rects(cells, kind, t)
    fig.update_layout(title=dict(text=title, font=dict(size=t.title)), shapes=shapes,
                      height=t.panel_height, margin=_margins(t), dragmode=False,
                      legend=_legend(t), showlegend=True, **T.figure_style(t))
    _finish_image_axes(fig, t)
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(dtick=1)
    return fig
