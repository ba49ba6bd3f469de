"""Figures of the Explore view: pure functions of arrays returning ``go.Figure``.

Cells are addressed by their true indices (x = column, y = row) even when a large map is
shown every ``step``-th cell, so hover values and clicks refer to the real array. Highlights
are rectangles around cells: ``window`` (input cells read by the selected output cell),
``pad`` (taps that read padding zeros), ``selected`` (the cell clicked), ``fed`` (outputs an
input cell feeds).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.geometry import AXIS_SHORT

COLORS = {"selected": "#ff2d55", "window": "#ffb000", "pad": "#00b5e2", "fed": "#ff2d55",
          "area": "#7fdd4c"}
MAX_SIDE = 192        # a map larger than this along an axis is shown every step-th cell
MAX_SHAPES = 300      # more highlighted cells than this are drawn as their bounding box
SEQ = "Viridis"
DIV = "RdBu_r"


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


def _rects(cells, kind: str, xref="x", yref="y", step: int = 1, width: float = 2.0) -> list:
    """Layout shapes outlining ``cells`` [(row, col), …] (1-D: (0, i))."""
    cells = list(cells)
    if not cells:
        return []
    color = COLORS[kind]
    dash = "dot" if kind == "pad" else None
    if len(cells) > MAX_SHAPES:
        rs = [c[0] for c in cells]
        cs = [c[1] for c in cells]
        cells_box = [(min(rs), min(cs), max(rs), max(cs))]
    else:
        cells_box = [(r, c, r, c) for r, c in cells]
    half = 0.5 * step
    return [dict(type="rect", xref=xref, yref=yref, x0=c0 - half, x1=c1 + half, y0=r0 - half,
                 y1=r1 + half, line=dict(color=color, width=width, dash=dash),
                 fillcolor="rgba(0,0,0,0)") for r0, c0, r1, c1 in cells_box]


def _finish_image_axes(fig, n_rows, n_cols, row=None, col=None):
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_yaxes(autorange="reversed", scaleanchor="x" if row is None else None,
                     showgrid=False, zeroline=False, **kw)
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain", **kw)


def image_figure(arr: np.ndarray, title: str, highlights: dict | None = None,
                 zrange=None, diverging: bool = False, area=None, height: int = 360,
                 value_text: bool = False) -> go.Figure:
    """One 2-D map (rows, cols) or RGB image (rows, cols, 3) with hover values and
    highlighted cells. ``area``: (r0, c0, r1, c1) outlined (e.g. the original input inside
    the padded one)."""
    h, w = arr.shape[:2]
    step = display_step(h, w)
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
        fig.add_trace(go.Heatmap(
            z=sub.astype(np.float32), x=xs, y=ys, zmin=lo, zmax=hi if hi > lo else lo + 1e-6,
            colorscale=DIV if diverging else SEQ, colorbar=dict(thickness=10),
            texttemplate="%{z:.3g}" if value_text else None, hoverinfo="skip"))
    fig.add_trace(click_layer(np.clip(arr, 0, 1) if arr.ndim == 3 and arr.shape[2] == 3
                              else (arr[..., 0] if arr.ndim == 3 else arr), step))
    shapes = []
    for kind, cells in (highlights or {}).items():
        shapes += _rects(cells, kind, step=step)
    if area is not None:
        r0, c0, r1, c1 = area
        shapes.append(dict(type="rect", x0=c0 - 0.5, x1=c1 + 0.5, y0=r0 - 0.5, y1=r1 + 0.5,
                           line=dict(color=COLORS["area"], width=2, dash="dash")))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), shapes=shapes, height=height,
                      margin=dict(l=10, r=10, t=40, b=10), clickmode="event+select",
                      dragmode=False)
    _finish_image_axes(fig, h, w)
    if step > 1:
        fig.add_annotation(text=f"showing every {step}th cell", xref="paper", yref="paper",
                           x=0, y=-0.02, showarrow=False, font=dict(size=10), yanchor="top")
    return fig


def grid_figure(maps: np.ndarray, titles: list, shared: bool = True,
                highlights: dict | None = None, diverging: bool = False, max_cols: int = 4,
                height_per_row: int = 250, title: str = "") -> go.Figure:
    """Feature maps ``(channels, rows, cols)`` as a grid of heatmaps; one colour scale for
    all (``shared``) or one per map. ``highlights`` apply to every map."""
    n = maps.shape[0]
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    h, w = maps.shape[1:]
    step = display_step(h, w, max_side=128 if n > 1 else MAX_SIDE)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles[:n],
                        horizontal_spacing=0.03, vertical_spacing=0.08 if rows > 1 else 0.1)
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
            colorscale=DIV if div_i else SEQ, showscale=shared and i == 0,
            colorbar=dict(thickness=10), name=label, hoverinfo="skip"), row=r + 1, col=c + 1)
        fig.add_trace(click_layer(maps[i], step, f"{label}<br>", channel=i,
                                  budget=MAX_CLICK_POINTS // n), row=r + 1, col=c + 1)
        suffix = "" if i == 0 else str(i + 1)
        for kind, cells in (highlights or {}).items():
            shapes += _rects(cells, kind, xref=f"x{suffix}", yref=f"y{suffix}", step=step)
    fig.update_layout(shapes=shapes, height=max(260, height_per_row * rows + 40),
                      margin=dict(l=10, r=10, t=50 if title else 30, b=10),
                      title=dict(text=title, font=dict(size=14)) if title else None,
                      clickmode="event+select", dragmode=False)
    for i in range(n):
        r, c = divmod(i, cols)
        fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False, row=r + 1,
                         col=c + 1, scaleanchor=f"x{'' if i == 0 else i + 1}")
        fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain", row=r + 1, col=c + 1)
    for ann in fig.layout.annotations:
        ann.font.size = 12
    return fig


def signal_figure(sig: np.ndarray, title: str, names: list | None = None,
                  highlights: dict | None = None, area=None, height: int = 300,
                  offset: int = 0) -> go.Figure:
    """A signal ``(steps, channels)`` as lines (markers when short); highlighted steps are
    shaded bands (``window``), marked with a dotted band (``pad``) or a red band."""
    steps, channels = sig.shape
    fig = go.Figure()
    mode = "lines+markers" if steps <= 128 else "lines"
    if steps > MAX_SIGNAL_POINTS:  # keep the page light: the browser gets an envelope
        title += f" · {steps:,} steps drawn as a min/max envelope"
    for c in range(min(channels, 16)):
        idx, values = envelope(sig[:, c])
        fig.add_trace(go.Scatter(x=idx - offset, y=values.astype(np.float32), mode=mode,
                                 name=names[c] if names else f"channel {c}",
                                 marker=dict(size=4),
                                 hovertemplate="step %{x}<br>value %{y:.5g}<extra>%{fullData.name}</extra>"))
    shapes = []
    for kind, cells in (highlights or {}).items():
        idx = sorted({c[1] if isinstance(c, tuple) else c for c in cells})
        if len(idx) > MAX_SHAPES:
            idx = [idx[0], idx[-1]]
            spans = [(idx[0], idx[1])]
        else:
            spans = [(i, i) for i in idx]
        for a, b in spans:
            shapes.append(dict(type="rect", xref="x", yref="paper", x0=a - 0.5, x1=b + 0.5,
                               y0=0, y1=1, line=dict(width=0 if kind != "pad" else 1,
                                                     color=COLORS[kind], dash="dot"),
                               fillcolor=COLORS[kind], opacity=0.25 if kind != "pad" else 0.15))
    if area is not None:
        a, b = area
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=a - 0.5, x1=b + 0.5, y0=0,
                           y1=1, line=dict(color=COLORS["area"], width=2, dash="dash")))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), shapes=shapes, height=height,
                      margin=dict(l=10, r=10, t=40, b=10), hovermode="closest",
                      clickmode="event+select", dragmode=False,
                      legend=dict(orientation="h", y=-0.15))
    fig.update_xaxes(title_text="step")
    return fig


def kernel_figure(kernel: np.ndarray, title: str, taps=None, pad_taps=None,
                  height: int = 300) -> go.Figure:
    """A small kernel (1-D or 2-D) with its numbers written in the cells; ``taps`` used by
    the selected output cell are outlined (``pad_taps``: those reading padding)."""
    k2 = kernel.reshape(1, -1) if kernel.ndim == 1 else kernel
    h, w = k2.shape
    m = float(np.max(np.abs(k2))) or 1.0
    fig = go.Figure(go.Heatmap(
        z=k2.astype(np.float32), x=np.arange(w), y=np.arange(h), zmin=-m, zmax=m,
        colorscale=DIV, showscale=False,
        texttemplate="%{z:.3g}" if h * w <= 121 else None, textfont=dict(size=12),
        hovertemplate="tap (%{y}, %{x})<br>weight %{z:.5g}<extra></extra>"))
    hl = {}
    if taps:
        hl["window"] = [(t[0], t[1]) if len(t) == 2 else (0, t[0]) for t in taps]
    if pad_taps:
        hl["pad"] = [(t[0], t[1]) if len(t) == 2 else (0, t[0]) for t in pad_taps]
    shapes = []
    for kind, cells in hl.items():
        shapes += _rects(cells, kind, width=3)
    fig.update_layout(title=dict(text=title, font=dict(size=14)), shapes=shapes, height=height,
                      margin=dict(l=10, r=10, t=40, b=10), dragmode=False)
    _finish_image_axes(fig, h, w)
    return fig


def layout_figure(in_shape: tuple, out_shape: tuple, data_format: str, rank: int) -> go.Figure:
    """A strip showing which axis is which in the input and output tensors."""
    names = list(AXIS_SHORT[rank])
    axes = (["batch"] + names + ["channels"] if data_format == "channels_last"
            else ["batch", "channels"] + names)
    fig = go.Figure()
    for row, (label, shape) in enumerate((("input", in_shape), ("output", out_shape))):
        for i, (ax, n) in enumerate(zip(axes, shape)):
            color = "#ffd166" if ax == "channels" else ("#cfd8dc" if ax == "batch" else "#8ecae6")
            fig.add_shape(type="rect", x0=i, x1=i + 0.95, y0=-row, y1=-row + 0.8,
                          fillcolor=color, line=dict(width=0))
            fig.add_annotation(x=i + 0.475, y=-row + 0.4, text=f"{ax}<br><b>{n}</b>",
                               showarrow=False, font=dict(size=12))
        fig.add_annotation(x=-0.1, y=-row + 0.4, text=label, showarrow=False, xanchor="right")
    fig.update_xaxes(visible=False, range=[-1.2, len(axes)])
    fig.update_yaxes(visible=False, range=[-1.1, 0.9])
    fig.update_layout(height=150, margin=dict(l=10, r=10, t=10, b=10), dragmode=False)
    return fig


def to_png(maps: np.ndarray, shared: bool = True, max_cols: int = 4, scale: int = 1) -> bytes:
    """Feature maps ``(channels, rows, cols)`` tiled into one grayscale PNG (1-px gaps)."""
    import io

    from PIL import Image

    n, h, w = maps.shape
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    canvas = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), 255, np.uint8)
    lo, hi = float(maps.min()), float(maps.max())
    for i in range(n):
        m = maps[i]
        a, b = (lo, hi) if shared else (float(m.min()), float(m.max()))
        img = np.zeros_like(m) if b <= a else (m - a) / (b - a)
        r, c = divmod(i, cols)
        canvas[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = (
            np.clip(img, 0, 1) * 255).astype(np.uint8)
    im = Image.fromarray(canvas)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()
