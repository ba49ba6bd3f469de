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
"layout": …}``) and wraps it once (:func:`app.figures.layout.figure`: sent exactly as
written and drawn once; validated in the tests, not on every rerun) — Plotly's incremental
API (``make_subplots``, ``update_xaxes`` per subplot) and its validation cost 50–150 ms of
server time per figure.
In the browser, a map is a PNG picture coloured here exactly as Plotly colours a heatmap
(:func:`app.theme.colour_map`; Chromium decodes it natively, where a heatmap is painted cell
by cell in JavaScript), drawn at most ``MAX_SIDE`` cells per side; only maps small enough to
carry their numbers stay heatmaps. A grid of feature maps is one pair of axes with the maps
side by side (every subplot's axes cost the browser ~25 ms). Clicks land on at most
``MAX_CLICK_POINTS`` invisible targets per figure that carry the exact values (``float32``):
a scatter trace with ``marker.maxdisplayed=1``, so that the browser draws one marker yet
hover and click work on every point (36,864 drawn SVG markers took Chromium 1.1 s; 17 ms).
"""

from __future__ import annotations

import base64
import functools
import io
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from app import theme as T
from app.figures.layout import (SELECTABLE, figure, index_tick_chars, named_scale, round_step,
                                tick_margin, value_tick_chars)

MAX_SIDE = 192        # a map larger than this along an axis is shown every step-th cell
MAX_SHAPES = 300      # more highlighted cells than this are drawn as their bounding box
MAX_NUMBERED = 24     # maps with more cells than this per side never carry numbers
PANEL_WIDTH = 0.55    # a panel's plot width / its height, side by side at 1366 px (estimate)
MAX_CLICK_POINTS = 4_096   # invisible click targets per figure (7–8 bytes each)
GRID_CLICK_POINTS = 3_072  # … in a grid of maps (16 bytes each: channel, row, column, value)
MAX_SIGNAL_POINTS = 4_000  # points per trace; a longer signal is drawn as its min/max envelope


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

def _index(values: np.ndarray) -> list:
    """Cell indices as a plain list: scatter ``x``/``y`` (see
    :func:`app.figures.layout.figure`)."""
    return values.astype(np.int64).tolist()


def _targets(h: int, w: int, step: int, budget: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows and columns (index grids) of the click targets of an ``h × w`` map drawn every
    ``step``-th cell: every ``step``-th cell or sparser, at most ``budget``; and the size of
    one target in pixels."""
    ostep = step * max(1, math.ceil(math.sqrt(-(-h // step) * -(-w // step) / budget)))
    yy, xx = np.mgrid[0:h:ostep, 0:w:ostep]
    return yy, xx, max(4, min(24, 360 // max(h // ostep, w // ostep, 1)))


def _clicks(x: np.ndarray, y: np.ndarray, custom: np.ndarray, hover: str, size: int,
            **extra) -> dict:
    """The invisible scatter trace of click targets at cells (``x`` = column, ``y`` = row,
    plain lists: see :func:`app.figures.layout.figure`) carrying ``custom`` (typed) and the
    ``hover`` template. ``marker.maxdisplayed=1``: the browser draws one marker, hover and
    clicks find all."""
    return dict(type="scatter", x=_index(x), y=_index(y), mode="markers", customdata=custom,
                showlegend=False, hovertemplate=hover + "<extra></extra>",
                marker=dict(size=size, opacity=0, symbol="square", color="black",
                            maxdisplayed=1), **extra)


def click_layer(values: np.ndarray, step: int, budget: int = MAX_CLICK_POINTS) -> dict:
    """Invisible click targets on cell centres (:func:`_targets`): Streamlit reports clicks
    on scatter points (not on pictures or heatmap cells), so these carry the clicks and the
    hover text (row, column, the exact value or RGB). ``values``: the full-resolution map
    (rows, cols) or RGB image (rows, cols, 3) in [0, 1]."""
    yy, xx, size = _targets(*values.shape[:2], step, budget)
    v = values[yy, xx]
    if v.ndim == 3:
        custom = np.round(np.clip(v, 0, 1).reshape(-1, 3) * 255).astype(np.uint8)
        what = "RGB (%{customdata[0]}, %{customdata[1]}, %{customdata[2]})"
    else:
        custom, what = v.ravel().astype(np.float32), "value %{customdata:.5g}"
    return _clicks(xx.ravel(), yy.ravel(), custom, f"row %{{y}}, col %{{x}}<br>{what}", size)


def _finite_range(z: np.ndarray, diverging: bool) -> tuple[float, float]:
    """(lo, hi) of the finite values (symmetric about 0 when ``diverging``); never empty."""
    finite = z[np.isfinite(z)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if diverging:
        m = max(abs(lo), abs(hi), 1e-12)
        lo, hi = -m, m
    return lo, (hi if hi > lo else lo + 1e-6)


def png_source(picture: np.ndarray, palette: np.ndarray | None = None,
               transparent: int | None = None) -> str:
    """A picture as a ``data:image/png`` URI (Pillow): ``(h, w, 3)`` uint8 RGB, ``(h, w,
    4)`` RGBA, or ``(h, w)`` uint8 indices into ``palette`` (``(256, 3)`` uint8; a third of
    the bytes, and a seventh of an RGB map's PNG), ``transparent``: the index drawn as
    nothing. The same picture is encoded once (a rerun that leaves a map unchanged, a click
    on a cell)."""
    picture = np.ascontiguousarray(picture, np.uint8)
    return _png(picture.tobytes(), picture.shape,
                None if palette is None else np.ascontiguousarray(palette, np.uint8).tobytes(),
                transparent)


@functools.lru_cache(maxsize=64)
def _png(pixels: bytes, shape: tuple, palette: bytes | None, transparent: int | None) -> str:
    """:func:`png_source` of a picture given as its bytes (the cache key)."""
    mode = "P" if palette is not None else {3: "RGB", 4: "RGBA"}[shape[2]]
    im = Image.frombytes(mode, (shape[1], shape[0]), pixels)
    if palette is not None:
        im.putpalette(palette)
    buf = io.BytesIO()
    extra = {} if transparent is None else {"transparency": transparent}
    im.save(buf, format="PNG", compress_level=6, **extra)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _image(source: str, step: int, origin: tuple[int, int] = (0, 0)) -> dict:
    """An image trace (``source``: :func:`png_source`) whose pixel (i, j) is centred on
    cell (origin + step·(i, j))."""
    return dict(type="image", source=source, x0=origin[1], dx=step, y0=origin[0], dy=step,
                hoverinfo="skip")


def _map_source(z: np.ndarray, zrange: tuple[float, float], scale) -> str:
    """A map coloured as a Plotly heatmap over ``zrange`` would be, as a palette PNG."""
    return png_source(T.colour_index(z, zrange), T.palette(scale))


def _heatmap(z: np.ndarray, step: int, zrange: tuple[float, float], scale, t: T.Theme,
             **extra) -> dict:
    """A heatmap of the exact values ``z`` (float32) over ``zrange``, every ``step``-th cell,
    with the theme's colour bar; hover is the click layer's."""
    lo, hi = zrange
    return dict(type="heatmap", z=z.astype(np.float32), x0=0, dx=step, y0=0, dy=step,
                zmin=lo, zmax=hi, hoverinfo="skip",
                colorscale=named_scale(scale) if isinstance(scale, str) else scale,
                colorbar=dict(thickness=10, tickfont=dict(size=t.font - 2)), **extra)


def _colour_bar(zrange: tuple[float, float], scale, t: T.Theme) -> dict:
    """The colour bar of pictures coloured over ``zrange``: an invisible two-cell heatmap at
    cell (0, 0) whose scale Plotly draws (in real values)."""
    return _heatmap(np.array([list(zrange)]), 1, zrange, scale, t, opacity=0)


def picture(z: np.ndarray, step: int, zrange: tuple[float, float], scale,
            t: T.Theme, numbers: bool = False) -> list[dict]:
    """The traces that draw one map ``z`` (rows, cols: every ``step``-th cell of the real
    one) coloured over ``zrange``: a heatmap with the numbers written in its cells when
    ``numbers``, else a PNG picture and its colour bar. Hover is the click layer's."""
    if numbers:
        return [_heatmap(z, step, zrange, scale, t, texttemplate="%{z:.2g}",
                         textfont=dict(size=t.cell_text))]
    return [_image(_map_source(z, zrange, scale), step), _colour_bar(zrange, scale, t)]


# --------------------------------------------------------------------------- outlines

def _rects(cells, kind: str, t: T.Theme, step: int = 1, legend: bool = True,
           origin: tuple[int, int] = (0, 0)) -> list:
    """Layout shapes outlining ``cells`` [(row, col), …] (1-D: (0, i)), placed at
    ``origin`` (a map's corner in a grid), in the outline style of ``kind`` (colour, dash,
    width); the first one carries the legend label. More than ``MAX_SHAPES`` cells: their
    bounding box."""
    cells = list(cells)
    if not cells:
        return []
    if len(cells) > MAX_SHAPES:
        rs = [c[0] for c in cells]
        cs = [c[1] for c in cells]
        boxes = [(min(rs), min(cs), max(rs), max(cs))]
    else:
        boxes = [(r, c, r, c) for r, c in cells]
    half, (oy, ox) = 0.5 * step, origin
    return [dict(type="rect", xref="x", yref="y", x0=ox + c0 - half, x1=ox + c1 + half,
                 y0=oy + r0 - half, y1=oy + r1 + half, line=T.line(kind, t),
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


def _outlines(highlights: dict | None, t: T.Theme, step: int = 1, legend: bool = True,
              origin: tuple[int, int] = (0, 0)) -> list:
    """The shapes of every ``{outline kind: cells}`` highlight."""
    return [s for kind, cells in (highlights or {}).items()
            for s in _rects(cells, kind, t, step, legend, origin)]


# --------------------------------------------------------------------------- layout

def _legend(t: T.Theme) -> dict:
    """The outline legend: one row under the picture (line sample + label)."""
    return dict(orientation="h", x=0, y=0, yanchor="bottom", yref="container",
                font=dict(size=t.font - 1), bgcolor="rgba(255,255,255,0.8)")


def _margins(t: T.Theme, title: bool = True) -> dict:
    """Margins that leave room for the title and the outline legend."""
    return dict(l=10, r=10, t=2 * t.title + 20 if title else 10, b=t.font * 3 + 24)


def _image_axes(t: T.Theme, shape: tuple, step: int = 1, ticks: tuple = (True, True)) -> dict:
    """``xaxis`` / ``yaxis`` / ``margin`` of a picture of ``shape`` = (rows, cols) cells
    drawn every ``step``-th cell: rows downwards, square cells (y scaled to x), no grid, the
    ranges the picture's edges (no padding for the click targets' markers), whole row and
    column numbers (every one on a side of at most 10 cells); ``ticks``: (x, y) tick labels
    shown, the left margin sized for the longest row number
    (:func:`app.figures.layout.tick_margin`)."""
    def edge(side: int) -> float:                 # the last drawn cell's far edge
        return step * -(-side // step) - step / 2

    def axis(show: bool, side: int) -> dict:
        return dict(showgrid=False, zeroline=False, showticklabels=show,
                    ticks="outside" if show else "", automargin=True,
                    tickfont=dict(size=t.font - 2, color=T.INK), range=[-step / 2, edge(side)],
                    **(dict(dtick=1) if side <= 10 and step == 1 else {}))
    rows, cols = shape
    y = axis(ticks[1], rows)
    y["range"].reverse()
    left = tick_margin(index_tick_chars(-step / 2, edge(rows)), t.font - 2) if ticks[1] else 0
    return dict(xaxis=dict(axis(ticks[0], cols), constrain="domain"),
                yaxis=dict(y, scaleanchor="x", constrain="domain"),
                margin=dict(_margins(t), l=10 + left))


def _layout(title: str, t: T.Theme, shapes: list, height: int, **extra) -> dict:
    """The layout every Explore figure shares (title, size, legend, clicks select). The
    modes are the ones Streamlit's chart sets for a clickable chart (``dragmode`` "pan",
    ``hovermode`` "closest"): a spec that already has them is drawn once, not twice."""
    layout = dict(title=dict(text=title, font=dict(size=t.title)), shapes=shapes,
                  height=height, margin=_margins(t), legend=_legend(t), showlegend=True,
                  **SELECTABLE, **T.figure_style(t))
    layout.update(extra)          # e.g. the axes and margin of a picture
    return layout


# --------------------------------------------------------------------------- figures

def image_figure(arr: np.ndarray, title: str, highlights: dict | None = None,
                 zrange=None, diverging: bool = False, boxes: dict | None = None,
                 clickable: bool = True, t: T.Theme = T.NORMAL) -> go.Figure:
    """One 2-D map (rows, cols) or RGB image (rows, cols, 3) with hover values, highlighted
    cells (``{outline kind: cells}``) and labelled boxes (``{outline kind: (r0, c0, r1,
    c1)}``, e.g. ``area``: the original input inside the padded one, ``crop``: the window a
    Cropping layer keeps). Small maps carry their numbers. ``clickable=False``: hover only
    (no drag, no selection)."""
    h, w = arr.shape[:2]
    step = display_step(h, w)
    if step > 1:
        title += f"<br><sup>drawn: 1 of every {step} cells per axis</sup>"
    rgb = arr.ndim == 3 and arr.shape[2] == 3
    full = np.clip(arr, 0, 1) if rgb else (arr[..., 0] if arr.ndim == 3 else arr)
    sub = full[::step, ::step]
    if rgb:
        traces = [_image(png_source(np.round(sub * 255).astype(np.uint8)), step)]
    else:
        numbers = max(h, w) <= MAX_NUMBERED and T.show_numbers(
            h, w, PANEL_WIDTH * t.panel_height, t.panel_height, t)
        zrange = zrange if zrange is not None else _finite_range(sub, diverging)
        traces = picture(sub, step, zrange, T.DIVERGING if diverging else T.SEQUENTIAL, t,
                         numbers=numbers)
    shapes = _outlines(highlights, t, step) + [_box(b, k, t) for k, b in (boxes or {}).items()]
    layout = _layout(title, t, shapes, t.panel_height, **_image_axes(t, (h, w), step))
    if not clickable:
        layout.update(dragmode=False, clickmode="none")
    return figure(dict(data=[click_layer(full, step)] + traces, layout=layout))


def nice_ticks(lo: float, hi: float, n: int = 3) -> np.ndarray:
    """About ``n`` round values (steps of 1, 2, 2.5 or 5 × 10^k) inside [lo, hi]."""
    if hi <= lo:
        return np.array([lo])
    m, k = round_step((hi - lo) / n)
    step = m * 10.0 ** k
    return np.arange(math.ceil(lo / step) * step, hi + step * 1e-9, step)


@dataclass(frozen=True)
class Grid:
    """Where the maps of :func:`grid_figure` sit on its one pair of axes, in cells: map
    ``i`` (row-major, ``cols`` per row) has its cell (0, 0) at :meth:`origin`; ``gap_x`` /
    ``gap_y`` cells separate the maps (room for the next row's titles). Every map is drawn
    every ``step``-th cell, and the maps' pitch (size + gap) is a whole number of steps: the
    maps fit in one picture (:func:`grid_picture`)."""

    n: int
    cols: int
    rows: int
    h: int
    w: int
    gap_x: int
    gap_y: int
    step: int

    @classmethod
    def plan(cls, n: int, h: int, w: int, max_cols: int, t: T.Theme) -> "Grid":
        """The grid of ``n`` maps of ``h × w`` cells, gaps sized for the theme's type at the
        panel's estimated width (``PANEL_WIDTH`` · 1.3 · panel height)."""
        cols = min(n, max_cols)
        rows = math.ceil(n / cols)
        px = min(1.3 * PANEL_WIDTH * t.panel_height / (cols * w),
                 (t.panel_height - 2 * t.title) / (rows * h))      # pixels per cell
        step = display_step(h, w, max_side=grid_side(cols))

        def gap(side: int, least: int) -> int:      # ≥ least, side + gap a multiple of step
            return least + (-(side + least)) % step
        return cls(n, cols, rows, h, w, gap(w, math.ceil(10 / px)),
                   gap(h, math.ceil((t.font + 10) / px)), step)

    def origin(self, i: int) -> tuple[int, int]:
        r, c = divmod(i, self.cols)
        return r * (self.h + self.gap_y), c * (self.w + self.gap_x)

    @property
    def size(self) -> tuple[int, int]:
        """(rows, cols) of cells the whole grid spans, gaps included."""
        return (self.rows * self.h + (self.rows - 1) * self.gap_y,
                self.cols * self.w + (self.cols - 1) * self.gap_x)

    def bottom(self, i: int) -> bool:
        """Whether map ``i`` has no map under it (its column numbers are shown)."""
        return i + self.cols >= self.n


def grid_picture(pictures: dict[int, np.ndarray], g: Grid, gap: int) -> np.ndarray:
    """Maps' pictures (``{map index: (ceil(h / step), ceil(w / step))`` palette indices or
    ``(…, …, 4)`` RGBA, uint8``}``) placed as :class:`Grid` places them, in one picture whose
    pixel (i, j) is cell (step·i, step·j) of the grid; ``gap`` fills the rest."""
    first = next(iter(pictures.values()))
    (ph, pw), step = first.shape[:2], g.step
    out = np.full(((g.rows - 1) * (g.h + g.gap_y) // step + ph,
                   (g.cols - 1) * (g.w + g.gap_x) // step + pw) + first.shape[2:], gap, np.uint8)
    for i, pic in pictures.items():
        oy, ox = (v // step for v in g.origin(i))
        out[oy:oy + ph, ox:ox + pw] = pic
    return out


def _grid_images(maps: list[np.ndarray], ranges: list[tuple], scales: list, g: Grid) -> list:
    """The image traces of a grid's maps, each map coloured as a heatmap over its range with
    its scale: one picture per colour scale (one or two, not one per map: every trace costs
    the browser's Plotly ~3 ms per draw), transparent between its maps — a palette PNG whose
    index 255 (NaN's colour otherwise) is transparent, or RGBA when a map has NaN."""
    traces = []
    for scale in [sc for k, sc in enumerate(scales) if sc not in scales[:k]]:
        indices = {i: T.colour_index(z, zrange)
                   for i, (z, zrange, sc) in enumerate(zip(maps, ranges, scales)) if sc == scale}
        if all((idx < 255).all() for idx in indices.values()):
            source = png_source(grid_picture(indices, g, 255), T.palette(scale), transparent=255)
        else:
            rgba = {i: np.dstack([T.palette(scale)[idx], np.full(idx.shape, 255, np.uint8)])
                    for i, idx in indices.items()}
            source = png_source(grid_picture(rgba, g, 0))
        traces.append(_image(source, g.step))
    return traces


def grid_clicks(maps: np.ndarray, g: Grid) -> dict:
    """One click layer for all the maps ``(channels, rows, cols)`` of a :class:`Grid`: at
    most ``GRID_CLICK_POINTS`` targets in all, each carrying (channel, row, col, value) as
    float32 ``customdata`` (:func:`grid_pick`; the hover names the channel)."""
    yy, xx, size = _targets(g.h, g.w, g.step, GRID_CLICK_POINTS // g.n)
    rows, cols = yy.ravel(), xx.ravel()
    custom, x, y = [], [], []
    for i in range(g.n):
        oy, ox = g.origin(i)
        custom.append(np.column_stack([np.full(rows.size, i), rows, cols, maps[i, rows, cols]]))
        x.append(cols + ox)
        y.append(rows + oy)
    return _clicks(np.concatenate(x), np.concatenate(y),
                   np.concatenate(custom).astype(np.float32),
                   "channel %{customdata[0]}<br>row %{customdata[1]}, col %{customdata[2]}"
                   "<br>value %{customdata[3]:.5g}", size)


def grid_pick(point: dict) -> tuple[int, int, int] | None:
    """(channel, row, col) of a click on :func:`grid_figure` as Streamlit reports it (its
    ``customdata`` is (channel, row, col, value): a list or — from a typed array — an object
    keyed "0", "1", …); ``None`` for a point without them."""
    custom = point.get("customdata")
    if isinstance(custom, dict):   # a typed-array row arrives as {"0": …, "1": …, …}
        custom = [custom.get(str(k)) for k in range(len(custom))]
    if not isinstance(custom, (list, tuple)) or len(custom) < 3 or None in custom[:3]:
        return None
    return tuple(int(round(float(v))) for v in custom[:3])


def _map_range(z: np.ndarray, shared_range, diverging: bool) -> tuple[tuple, bool]:
    """A grid map's colour range and whether it is diverging: the shared one, or its own
    (diverging when it has both signs)."""
    if shared_range is not None:
        return shared_range, diverging
    own = bool(np.nanmin(z) < 0 < np.nanmax(z)) if z.size else False
    return _finite_range(z, own), own


def _grid_ticks(g: Grid, t: T.Theme) -> dict:
    """The x axis of a grid: column numbers under the maps of the bottom row only."""
    vals, text = [], []
    for i in range(g.n):
        if g.bottom(i):
            ticks = nice_ticks(0, g.w - 1)
            vals += list(g.origin(i)[1] + ticks)
            text += [f"{v:g}" for v in ticks]
    return dict(tickmode="array", tickvals=vals, ticktext=text, showgrid=False,
                zeroline=False, ticks="outside", range=[-0.5, g.size[1] - 0.5],
                constrain="domain", tickfont=dict(size=t.font - 2, color=T.INK))


def grid_figure(maps: np.ndarray, titles: list, shared: bool = True,
                highlights: dict | None = None, diverging: bool = False, max_cols: int = 4,
                title: str = "", t: T.Theme = T.NORMAL) -> go.Figure:
    """Feature maps ``(channels, rows, cols)`` side by side on one pair of axes (:class:`Grid`),
    in one picture per colour scale (:func:`_grid_images`) with one click layer
    (:func:`grid_clicks`): at most four traces for any number of maps; one colour scale for all (``shared``, with its colour bar) or one per
    map. ``highlights`` (cells of one map) are outlined on every map. Column numbers only
    under the bottom row (hover says row, column and value); cells stay square by narrowing
    the plot area (``constrain="domain"``: grown ranges would be written back into the
    browser's layout and make Streamlit's second pass redraw the chart) and a click anywhere
    in it selects the nearest cell of the nearest map (:func:`grid_pick`)."""
    n, h, w = maps.shape
    g = Grid.plan(n, h, w, max_cols, t)
    step = g.step
    shared_range = _finite_range(maps, diverging) if shared else None
    pictures, ranges, scales, shapes, notes = [], [], [], [], []
    for i in range(n):
        origin = g.origin(i)
        pictures.append(maps[i, ::step, ::step])
        zrange, div = _map_range(pictures[-1], shared_range, diverging)
        ranges.append(zrange)
        scales.append(T.DIVERGING if div else T.SEQUENTIAL)
        shapes += _outlines(highlights, t, step, legend=i == 0, origin=origin)
        notes.append(dict(text=titles[i] if i < len(titles) else f"channel {i}",
                          x=origin[1] + (w - 1) / 2, y=origin[0] - 0.5, xanchor="center",
                          yanchor="bottom", showarrow=False, font=dict(size=t.font)))
    traces = [grid_clicks(maps, g)] + _grid_images(pictures, ranges, scales, g)
    if shared:
        traces.append(_colour_bar(shared_range, T.DIVERGING if diverging else T.SEQUENTIAL, t))
    height = max((t.panel_height - 2 * t.title) // g.rows, 80) * g.rows + 2 * t.title + 40
    layout = _layout(title, t, shapes, height, annotations=notes, hoverdistance=-1,
                     xaxis=_grid_ticks(g, t),
                     yaxis=dict(range=[g.size[0] - 0.5, -0.5 - g.gap_y], scaleanchor="x",
                                constrain="domain", showgrid=False, zeroline=False,
                                showticklabels=False, ticks=""))
    layout["margin"] = dict(_margins(t), t=(t.title + 16 if title else 0) + 10,
                            b=3 * t.font + 10)
    if title:
        layout["title"] = dict(text=title, font=dict(size=t.title), y=1, yref="container",
                               yanchor="top", pad=dict(t=8))
    else:
        del layout["title"]
    return figure(dict(data=traces, layout=layout))


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
        # y as a plain list of the float32 values (exact), not a typed array: drawn once
        data.append(dict(type="scatter", x=_index(idx - offset),
                         y=values.astype(np.float32).astype(np.float64).tolist(), mode=mode,
                         name=names[c] if names else f"channel {c}",
                         showlegend=channels > 1, marker=dict(size=4 + t.outline_width),
                         line=dict(width=t.outline_width / 2 + 1),
                         hovertemplate="step %{x}<br>value %{y:.5g}"
                                       "<extra>%{fullData.name}</extra>"))
    items = (min(channels, 16) if channels > 1 else 0) + len(highlights or {}) + len(boxes or {})
    legend_px = math.ceil(items / 2) * int(1.7 * t.font)
    tick = dict(tickfont=dict(size=t.font - 2, color=T.INK), automargin=True)
    finite = sig[np.isfinite(sig)]
    chars = value_tick_chars(float(finite.min()), float(finite.max())) if finite.size else 1
    layout = _layout(title, t, _signal_shapes(highlights, boxes, t),
                     t.panel_height + legend_px,
                     xaxis=dict(tick, title=dict(text="step")), yaxis=tick)
    layout["margin"] = dict(_margins(t), l=10 + tick_margin(chars, t.font - 2),
                            b=3 * t.font + legend_px + 22)
    return figure(dict(data=data, layout=layout))


def kernel_figure(kernel: np.ndarray, taps=None, pad_taps=None,
                  t: T.Theme = T.NORMAL) -> go.Figure:
    """A small kernel (1-D or 2-D) with its numbers written in the cells; ``taps`` used by
    the selected output cell are outlined (``pad_taps``: those reading padding). No title
    (the page writes the kernel's shape above it): the spec depends on the shown taps only."""
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
    axes = _image_axes(t, (h, w))
    axes["xaxis"]["dtick"] = axes["yaxis"]["dtick"] = 1
    no_title = _margins(t)["t"] - _margins(t, title=False)["t"]
    layout = _layout("", t, shapes, t.panel_height - no_title, width=t.kernel_width, **axes)
    layout["margin"]["t"] = _margins(t, title=False)["t"]
    layout.update(dragmode=False, clickmode="none")
    return figure(dict(data=[trace], layout=layout))
