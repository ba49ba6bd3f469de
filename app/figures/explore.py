"""Figures of the Explore view: pure functions of arrays returning ``go.Figure``.

Cells are addressed by their true indices (x = column, y = row) even when a large map is
shown every ``step``-th cell, so hover values and clicks refer to the real array. Highlights
are rectangles around cells: ``window`` (input cells read by the selected output cell),
``pad`` (taps that read padding zeros), ``selected`` (the cell clicked), ``fed`` (outputs an
input cell feeds), each drawn in :mod:`app.theme`'s outline style (colour, dash and a legend
label, never colour alone); boxes (``area``: the original input inside the padded one,
``crop``: what a Cropping layer keeps) are labelled on the picture. Every builder takes the
theme (``t``: normal screen or presentation mode).

What a person waits for (issue 15): every builder assembles one plain spec (``{"data": …,
"layout": …}``, subplots as explicit axis domains) and validates it once with
``go.Figure(spec)`` — Plotly's incremental API (``make_subplots``, ``update_xaxes`` per
subplot, ``add_trace(row=…)``) cost 50–150 ms of server time per figure. What is sent is
small: a map is drawn at most ``MAX_SIDE`` cells per side (fewer per map in a grid of many
maps), its colours are sent as 256 levels (``uint8``, the colour bar still labelled in real
values) once it has more than ``EXACT_CELLS`` drawn cells and no numbers written in it, and
clicks land on at most ``MAX_CLICK_POINTS`` invisible targets per figure that carry the
exact values (``float32``) for the hover. The targets are a scatter trace with
``marker.maxdisplayed=1``: the browser draws one of them, yet hover and click work on every
one (36,864 drawn SVG markers took Chromium 1.1 s; with ``maxdisplayed`` 17 ms).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from app import theme as T

MAX_SIDE = 192        # a map larger than this along an axis is shown every step-th cell
MAX_SHAPES = 300      # more highlighted cells than this are drawn as their bounding box
MAX_NUMBERED = 24     # maps with more cells than this per side never carry numbers
PANEL_WIDTH = 0.55    # a panel's plot width / its height, side by side at 1366 px (estimate)
EXACT_CELLS = 1024    # drawn maps with more cells (and no numbers) send 256 colour levels
MAX_CLICK_POINTS = 4_096   # invisible click targets per figure
MAX_SIGNAL_POINTS = 4_000  # points per trace; a longer signal is drawn as its min/max envelope
GRID_GAP = 0.04       # horizontal gap between the maps of a grid (fraction of the width)


def display_step(*sides: int, max_side: int = MAX_SIDE) -> int:
    """Every how many cells a map with these side lengths is drawn (1: every cell)."""
    return max(1, math.ceil(max(sides) / max_side))


def grid_side(cols: int) -> int:
    """The most cells drawn per side of one map in a grid of ``cols`` columns: 192 alone,
    128 for two columns, 76 for four (a map about 80 px wide on a laptop screen)."""
    return 2 * MAX_SIDE // (cols + 1)


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


# --------------------------------------------------------------------------- traces

def _index(values: np.ndarray) -> np.ndarray:
    """Cell indices in the smallest integer type that holds them (sent as typed arrays)."""
    small = values.size == 0 or (values.min() >= -2 ** 15 and values.max() < 2 ** 15)
    return values.astype(np.int16 if small else np.int32)


def _axes(suffix: str) -> dict:
    """The ``xaxis`` / ``yaxis`` references of subplot ``suffix`` ('' for the first)."""
    return dict(xaxis=f"x{suffix}", yaxis=f"y{suffix}")


def click_layer(values: np.ndarray, step: int, label: str = "", suffix: str = "",
                budget: int = MAX_CLICK_POINTS) -> dict:
    """Invisible click targets on cell centres, every ``step``-th cell or sparser so that
    there are at most ``budget``: Streamlit reports clicks on scatter points (not on heatmap
    cells), so these carry the clicks and the hover text (row, column, the exact value or
    RGB). ``values``: the full-resolution map (rows, cols) or RGB image (rows, cols, 3) in
    [0, 1]. ``marker.maxdisplayed=1``: the browser draws one marker, hover and clicks still
    find every point."""
    h, w = values.shape[:2]
    ostep = step * max(1, math.ceil(math.sqrt(-(-h // step) * -(-w // step) / budget)))
    yy, xx = np.mgrid[0:h:ostep, 0:w:ostep]
    v = values[::ostep, ::ostep]
    if v.ndim == 3:
        custom = np.round(np.clip(v, 0, 1).reshape(-1, 3) * 255).astype(np.uint8)
        hover = (f"{label}row %{{y}}, col %{{x}}<br>RGB (%{{customdata[0]}}, "
                 "%{customdata[1]}, %{customdata[2]})<extra></extra>")
    else:
        custom = v.ravel().astype(np.float32)
        hover = f"{label}row %{{y}}, col %{{x}}<br>value %{{customdata:.5g}}<extra></extra>"
    size = max(4, min(24, 360 // max(h // ostep, w // ostep, 1)))
    return dict(type="scatter", x=_index(xx.ravel()), y=_index(yy.ravel()), mode="markers",
                customdata=custom, hovertemplate=hover, showlegend=False,
                marker=dict(size=size, opacity=0, symbol="square", color="black",
                            maxdisplayed=1), **_axes(suffix))


def _finite_range(z: np.ndarray, diverging: bool) -> tuple[float, float]:
    """(lo, hi) of the finite values (symmetric about 0 when ``diverging``); never empty."""
    finite = z[np.isfinite(z)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if diverging:
        m = max(abs(lo), abs(hi), 1e-12)
        lo, hi = -m, m
    return lo, (hi if hi > lo else lo + 1e-6)


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About ``n`` round values (steps of 1, 2, 2.5 or 5 × 10^k) inside [lo, hi]."""
    raw = (hi - lo) / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    ticks = np.arange(math.ceil(lo / step) * step, hi + step * 1e-6, step)
    return ticks[(ticks >= lo - step * 1e-6) & (ticks <= hi + step * 1e-6)]


def heatmap(z: np.ndarray, step: int, zrange: tuple[float, float], colorscale,
            t: T.Theme, numbers: bool = False, showscale: bool = True,
            suffix: str = "") -> dict:
    """One drawn map ``z`` (rows, cols: every ``step``-th cell of the real one) coloured over
    ``zrange``. Exact ``float32`` values when its numbers are written in the cells or it is
    small; else 256 colour levels (``uint8``) with the colour bar's ticks at round real
    values. Hover is the click layer's (this trace is skipped)."""
    lo, hi = zrange
    colorbar = dict(thickness=10, tickfont=dict(size=t.font - 2))
    if numbers or z.size <= EXACT_CELLS:
        values, zmin, zmax = z.astype(np.float32), lo, hi
    else:
        scaled = np.nan_to_num((z.astype(np.float64) - lo) / (hi - lo), nan=0.0)
        values, zmin, zmax = np.round(np.clip(scaled, 0, 1) * 255).astype(np.uint8), 0, 255
        ticks = nice_ticks(lo, hi)
        colorbar.update(tickvals=(ticks - lo) / (hi - lo) * 255,
                        ticktext=[f"{v:.3g}" for v in ticks])
    return dict(type="heatmap", z=values, x0=0, dx=step, y0=0, dy=step, zmin=zmin,
                zmax=zmax, colorscale=colorscale, showscale=showscale, colorbar=colorbar,
                texttemplate="%{z:.2g}" if numbers else None,
                textfont=dict(size=t.cell_text), hoverinfo="skip", **_axes(suffix))


# --------------------------------------------------------------------------- outlines

def _rects(cells, kind: str, t: T.Theme, suffix: str = "", step: int = 1,
           legend: bool = True) -> list:
    """Layout shapes outlining ``cells`` [(row, col), …] (1-D: (0, i)) of subplot
    ``suffix`` in the outline style of ``kind`` (colour, dash, width); the first one carries
    the legend label. More than ``MAX_SHAPES`` cells: their bounding box."""
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
    return [dict(type="rect", xref=f"x{suffix}", yref=f"y{suffix}", x0=c0 - half,
                 x1=c1 + half, y0=r0 - half, y1=r1 + half, line=T.line(kind, t),
                 fillcolor="rgba(0,0,0,0)", name=T.OUTLINES[kind].label,
                 showlegend=legend and i == 0, legendgroup=kind)
            for i, (r0, c0, r1, c1) in enumerate(boxes)]


def _box(box, kind: str, t: T.Theme) -> dict:
    """A labelled outline around the block ``box`` = (r0, c0, r1, c1) of cells."""
    r0, c0, r1, c1 = box
    return dict(type="rect", x0=c0 - 0.5, x1=c1 + 0.5, y0=r0 - 0.5, y1=r1 + 0.5,
                line=T.line(kind, t), name=T.OUTLINES[kind].label, showlegend=True,
                legendgroup=kind,
                label=dict(text=T.OUTLINES[kind].label, textposition="top left",
                           font=dict(size=t.font, color=T.OUTLINES[kind].color)))


def _outlines(highlights: dict | None, t: T.Theme, step: int = 1, suffix: str = "",
              legend: bool = True) -> list:
    """The shapes of every ``{outline kind: cells}`` highlight."""
    return [s for kind, cells in (highlights or {}).items()
            for s in _rects(cells, kind, t, suffix, step, legend)]


# --------------------------------------------------------------------------- layout

def _legend(t: T.Theme) -> dict:
    """The outline legend: one row under the picture (line sample + label)."""
    return dict(orientation="h", x=0, y=0, yanchor="bottom", yref="container",
                font=dict(size=t.font - 1), bgcolor="rgba(255,255,255,0.8)")


def _margins(t: T.Theme, title: bool = True) -> dict:
    """Margins that leave room for the title and the outline legend."""
    return dict(l=10, r=10, t=2 * t.title + 20 if title else 10, b=t.font * 3 + 10)


def _image_axes(t: T.Theme, ticks: tuple = (True, True), fill: bool = False,
                suffix: str = "") -> dict:
    """``xaxis…`` / ``yaxis…`` of one image subplot: rows downwards, square cells (y scaled
    to x), no grid; ``ticks``: (x, y) tick labels shown; ``fill``: the plot area fills its
    whole domain (the ranges grow to keep cells square), so that a click anywhere in it
    reaches the nearest cell."""
    def axis(show: bool) -> dict:
        return dict(showgrid=False, zeroline=False, showticklabels=show,
                    ticks="outside" if show else "", automargin=True,
                    tickfont=dict(size=t.font - 2, color=T.INK))
    return {f"xaxis{suffix}": dict(axis(ticks[0]), constrain="domain"),
            f"yaxis{suffix}": dict(axis(ticks[1]), autorange="reversed",
                                   scaleanchor=f"x{suffix}",
                                   constrain="range" if fill else "domain")}


def _layout(title: str, t: T.Theme, shapes: list, height: int, **extra) -> dict:
    """The layout every Explore figure shares (title, size, legend, clicks select)."""
    return dict(title=dict(text=title, font=dict(size=t.title)), shapes=shapes,
                height=height, margin=_margins(t), clickmode="event+select",
                dragmode=False, legend=_legend(t), showlegend=True, **T.figure_style(t),
                **extra)


# --------------------------------------------------------------------------- figures

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
    rgb = arr.ndim == 3 and arr.shape[2] == 3
    full = np.clip(arr, 0, 1) if rgb else (arr[..., 0] if arr.ndim == 3 else arr)
    sub = full[::step, ::step]
    if rgb:
        picture = dict(type="image", z=np.round(sub * 255).astype(np.uint8), x0=0, dx=step,
                       y0=0, dy=step, hoverinfo="skip")
    else:
        numbers = max(h, w) <= MAX_NUMBERED and T.show_numbers(
            h, w, PANEL_WIDTH * t.panel_height, t.panel_height, t)
        zrange = zrange if zrange is not None else _finite_range(sub, diverging)
        picture = heatmap(sub, step, zrange, T.DIVERGING if diverging else T.SEQUENTIAL, t,
                          numbers=numbers)
    shapes = _outlines(highlights, t, step) + [_box(b, k, t) for k, b in (boxes or {}).items()]
    return go.Figure(dict(data=[picture, click_layer(full, step)],
                          layout=_layout(title, t, shapes, t.panel_height,
                                         **_image_axes(t))))


def _grid_spacing(rows: int, height: int, t: T.Theme) -> float:
    """Vertical gap between grid rows (a fraction of the plot) that fits the next row's
    title above it and this row's tick numbers below it."""
    if rows == 1:
        return 0.1
    gap_px = t.title + t.font + 14
    return min(0.3, gap_px / max(height - 40, 1))


def grid_domains(n: int, cols: int, vgap: float) -> list[tuple[tuple, tuple]]:
    """Per map (row-major): its ``(x domain, y domain)`` in a grid of ``cols`` columns with
    ``GRID_GAP`` between columns and ``vgap`` between rows (row 0 at the top)."""
    rows = math.ceil(n / cols)
    w = (1 - GRID_GAP * (cols - 1)) / cols
    h = (1 - vgap * (rows - 1)) / rows
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        top = 1 - r * (h + vgap)
        out.append(((c * (w + GRID_GAP), c * (w + GRID_GAP) + w), (top - h, top)))
    return out


def grid_channel(curve_number: int) -> int:
    """The map (channel) a click on trace ``curve_number`` of :func:`grid_figure` is in:
    every map adds its heatmap, then its click layer."""
    return curve_number // 2


def _map_range(z: np.ndarray, shared_range, diverging: bool) -> tuple[tuple, bool]:
    """A grid map's colour range and whether it is diverging: the shared one, or its own
    (diverging when it has both signs)."""
    if shared_range is not None:
        return shared_range, diverging
    own = bool(np.nanmin(z) < 0 < np.nanmax(z)) if z.size else False
    return _finite_range(z, own), own


def grid_figure(maps: np.ndarray, titles: list, shared: bool = True,
                highlights: dict | None = None, diverging: bool = False, max_cols: int = 4,
                title: str = "", t: T.Theme = T.NORMAL) -> go.Figure:
    """Feature maps ``(channels, rows, cols)`` as a grid of heatmaps; one colour scale for
    all (``shared``) or one per map. ``highlights`` apply to every map. Column numbers only
    under the bottom row (hover says row and column), with room for every map's title above
    it; a click anywhere in a map selects the nearest cell (its channel:
    :func:`grid_channel`)."""
    n = maps.shape[0]
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    h, w = maps.shape[1:]
    step = display_step(h, w, max_side=grid_side(cols))
    per_row = max((t.panel_height - 2 * t.title) // rows, 80)
    height = per_row * rows + 2 * t.title + 40
    shared_range = _finite_range(maps, diverging) if shared else None
    data, shapes, axes, notes = [], [], {}, []
    for i, (xd, yd) in enumerate(grid_domains(n, cols, _grid_spacing(rows, height, t))):
        suffix = "" if i == 0 else str(i + 1)
        z = maps[i, ::step, ::step]
        zrange, div = _map_range(z, shared_range, diverging)
        label = titles[i] if i < len(titles) else f"channel {i}"
        data += [heatmap(z, step, zrange, T.DIVERGING if div else T.SEQUENTIAL, t,
                         showscale=shared and i == 0, suffix=suffix),
                 click_layer(maps[i], step, f"{label}<br>", suffix,
                             budget=MAX_CLICK_POINTS // n)]
        shapes += _outlines(highlights, t, step, suffix, legend=i == 0)
        bottom = i // cols == rows - 1 or i + cols >= n
        ax = _image_axes(t, ticks=(bottom, False), fill=True, suffix=suffix)
        ax[f"xaxis{suffix}"].update(domain=xd, anchor=f"y{suffix}")
        ax[f"yaxis{suffix}"].update(domain=yd, anchor=f"x{suffix}")
        axes.update(ax)
        notes.append(dict(text=label, x=(xd[0] + xd[1]) / 2, y=yd[1], xref="paper",
                          yref="paper", xanchor="center", yanchor="bottom", showarrow=False,
                          font=dict(size=t.font)))
    layout = _layout(title, t, shapes, height, annotations=notes, hoverdistance=-1, **axes)
    layout["margin"] = dict(_margins(t), t=(t.title + 16 if title else 0) + t.font + 14)
    layout["title"] = (dict(text=title, font=dict(size=t.title), y=1, yref="container",
                            yanchor="top", pad=dict(t=8)) if title else None)
    return go.Figure(dict(data=data, layout=layout))


def _signal_shapes(highlights: dict | None, boxes: dict | None, t: T.Theme) -> list:
    """Highlighted steps as translucent outlined bands, labelled spans for ``boxes``."""
    shapes = []
    for kind, cells in (highlights or {}).items():
        idx = sorted({c[1] if isinstance(c, tuple) else c for c in cells})
        spans = [(idx[0], idx[-1])] if len(idx) > MAX_SHAPES else [(i, i) for i in idx]
        shapes += [dict(type="rect", xref="x", yref="paper", x0=a - 0.5, x1=b + 0.5, y0=0,
                        y1=1, line=T.line(kind, t), fillcolor=T.OUTLINES[kind].color,
                        opacity=0.3, name=T.OUTLINES[kind].label, showlegend=j == 0,
                        legendgroup=kind)
                   for j, (a, b) in enumerate(spans)]
    for kind, (a, b) in (boxes or {}).items():
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=a - 0.5, x1=b + 0.5, y0=0,
                           y1=1, line=T.line(kind, t), name=T.OUTLINES[kind].label,
                           showlegend=True, legendgroup=kind,
                           label=dict(text=T.OUTLINES[kind].label, textposition="top left",
                                      font=dict(size=t.font,
                                                color=T.OUTLINES[kind].color))))
    return shapes


def signal_figure(sig: np.ndarray, title: str, names: list | None = None,
                  highlights: dict | None = None, boxes: dict | None = None,
                  offset: int = 0, t: T.Theme = T.NORMAL) -> go.Figure:
    """A signal ``(steps, channels)`` as lines (markers when short); highlighted steps are
    bands outlined in their outline style (``{kind: cells}``); ``boxes``: labelled spans
    ``{kind: (first, last)}`` (the original input, the window a crop keeps)."""
    steps, channels = sig.shape
    mode = "lines+markers" if steps <= 128 else "lines"
    if steps > MAX_SIGNAL_POINTS:  # keep the page light: the browser gets an envelope
        title += f" · {steps:,} steps drawn as a min/max envelope"
    data = []
    for c in range(min(channels, 16)):
        idx, values = envelope(sig[:, c])
        data.append(dict(type="scatter", x=_index(idx - offset),
                         y=values.astype(np.float32), mode=mode,
                         name=names[c] if names else f"channel {c}",
                         showlegend=channels > 1, marker=dict(size=4 + t.outline_width),
                         line=dict(width=t.outline_width / 2 + 1),
                         hovertemplate="step %{x}<br>value %{y:.5g}"
                                       "<extra>%{fullData.name}</extra>"))
    items = (min(channels, 16) if channels > 1 else 0) + len(highlights or {}) + len(boxes or {})
    legend_px = math.ceil(items / 2) * int(1.7 * t.font)
    tick = dict(tickfont=dict(size=t.font - 2, color=T.INK), automargin=True)
    layout = _layout(title, t, _signal_shapes(highlights, boxes, t),
                     t.panel_height + legend_px, hovermode="closest",
                     xaxis=dict(tick, title=dict(text="step")), yaxis=tick)
    layout["margin"] = dict(_margins(t), b=3 * t.font + legend_px + 10)
    return go.Figure(dict(data=data, layout=layout))


def kernel_figure(kernel: np.ndarray, title: str, taps=None, pad_taps=None,
                  t: T.Theme = T.NORMAL) -> go.Figure:
    """A small kernel (1-D or 2-D) with its numbers written in the cells; ``taps`` used by
    the selected output cell are outlined (``pad_taps``: those reading padding)."""
    k2 = kernel.reshape(1, -1) if kernel.ndim == 1 else kernel
    h, w = k2.shape
    m = float(np.max(np.abs(k2))) or 1.0
    trace = dict(type="heatmap", z=k2.astype(np.float32), zmin=-m, zmax=m,
                 colorscale=T.DIVERGING, showscale=False,
                 texttemplate="%{z:.3g}" if h * w <= 121 else None,
                 textfont=dict(size=t.cell_text, color=T.INK),
                 hovertemplate="tap (%{y}, %{x})<br>weight %{z:.5g}<extra></extra>")

    def cells(tps):
        return [(tp[0], tp[1]) if len(tp) == 2 else (0, tp[0]) for tp in tps or ()]
    shapes = _outlines({k: v for k, v in (("window", cells(taps)), ("pad", cells(pad_taps)))
                        if v}, t)
    axes = _image_axes(t)
    axes["xaxis"]["dtick"] = axes["yaxis"]["dtick"] = 1
    layout = _layout(title, t, shapes, t.panel_height, **axes)
    del layout["clickmode"]
    return go.Figure(dict(data=[trace], layout=layout))
