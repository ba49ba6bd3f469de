"""Receptive-field figures: contribution map with mask outline and theoretical box, and the
theoretical-vs-effective growth chart. Pure functions returning ``go.Figure``, in
:mod:`app.theme`'s colour-blind-safe palette and sizes (``t``); every outline has its own
colour, dash style and label (the exact field: solid black; the theoretical box: dashed
blue). Each is one plain spec sent exactly as written, without a template, drawn once
(:func:`app.figures.layout.figure`; tests/test_figure_specs.py validates them)."""

from __future__ import annotations

import math

import numpy as np

from app import theme as T
from app.figures.layout import (SELECTABLE, figure, index_tick_chars, named_scale, tick_margin,
                                value_tick_chars)
from engine.geometry import AXIS_SHORT

_MAX_EDGES = 20000  # above this the outline is drawn as the bounding box only
MAX_CLICK_POINTS = 20_000


def theory_box(table, index):
    """Per axis the real interval ``[start + o·jump, start + o·jump + size − 1]`` (floats)
    that the arithmetic table promises for output ``index`` (it may reach into padding)."""
    out = []
    for axis, o in enumerate(index):
        row = table.final(axis)
        lo = row.start + o * row.jump
        out.append((float(lo), float(lo + row.size - 1)))
    return tuple(out)


def _outline(mask):
    """Cell-edge segments around the True cells of a 2-D mask, as x/y lists with None gaps
    (x = column, y = row, cells centred on integers); ``None`` if too many."""
    m = np.pad(np.asarray(mask, bool), 1)
    xs, ys = [], []
    h = m[1:, :] != m[:-1, :]
    v = m[:, 1:] != m[:, :-1]
    if h.sum() + v.sum() > _MAX_EDGES:
        return None
    for r, c in zip(*np.nonzero(h)):  # between original rows r-1 and r, column c-1
        xs += [c - 1.5, c - 0.5, None]
        ys += [r - 0.5, r - 0.5, None]
    for r, c in zip(*np.nonzero(v)):  # between original columns c-1 and c, row r-1
        x = c - 0.5
        xs += [x, x, None]
        ys += [r - 1.5, r - 0.5, None]
    return xs, ys


def _zoom(mask, theory, shape, margin=2):
    """Axis ranges that frame the field (and its theoretical box) with a margin."""
    ranges = []
    for axis, n in enumerate(shape):
        proj = np.asarray(mask).any(axis=tuple(a for a in range(mask.ndim) if a != axis))
        hits = np.flatnonzero(proj)
        lo, hi = (hits[0], hits[-1]) if hits.size else (0, n - 1)
        if theory is not None:
            lo, hi = min(lo, theory[axis][0]), max(hi, theory[axis][1])
        span = hi - lo + 1
        pad = max(margin, 0.15 * span)
        ranges.append((lo - pad - 0.5, hi + pad + 0.5))
    return ranges


def _label(kind: str, t: T.Theme) -> dict:
    """A shape's label: the outline's name in its colour."""
    o = T.OUTLINES[kind]
    return dict(text=o.label, textposition="top left", font=dict(size=t.font, color=o.color))


def _box(x0, x1, y0, y1, **style) -> dict:
    """A layout rectangle (data coordinates unless ``style`` sets the references)."""
    return dict(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, **style)


def _bounds(mask: np.ndarray) -> tuple | None:
    """``(r0, r1, c0, c1)``: the first and last row and column of a 2-D ``mask`` holding a
    cell (inclusive); ``None`` when it is empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])) if rows.size else None


def _field_block(cmap: np.ndarray, mask: np.ndarray) -> tuple:
    """``(block, row0, col0)``: the smallest block of ``cmap`` (2-D) holding every cell of
    ``mask``, blank (NaN) outside it, as float32 (what the browser receives: the rest of the
    map is blank anyway); a 1 × 1 blank block when the mask is empty."""
    bounds = _bounds(mask)
    if bounds is None:
        return np.full((1, 1), np.nan, np.float32), 0, 0
    r0, r1, c0, c1 = bounds[0], bounds[1] + 1, bounds[2], bounds[3] + 1
    block = np.where(mask[r0:r1, c0:c1], cmap[r0:r1, c0:c1], np.nan).astype(np.float32)
    return block, r0, c0


def _bar_parts(cmap, mask, theory, axis_names, zoom, t) -> tuple:
    """1-D: ``(traces, shapes, x axis, y axis)`` of the contribution bars."""
    pos = np.flatnonzero(mask)
    traces = [dict(type="bar", x=pos, y=cmap[pos].astype(np.float32),
                   name="contribution", width=0.9, marker=dict(color=T.OKABE_ITO["sky"]),
                   hovertemplate=f"{axis_names[0]} %{{x}}<br>contribution %{{y:.6g}}"
                                 "<extra></extra>")]
    column = dict(xref="x", yref="y domain", y0=0, y1=1)
    shapes = []
    if theory is not None:
        lo, hi = theory[0]
        shapes.append(_box(lo - 0.5, hi + 0.5, **column, line=T.line("theory", t),
                           fillcolor="rgba(0,114,178,0.06)", label=_label("theory", t)))
    shapes.append(_box(-0.5, cmap.size - 0.5, **column, fillcolor="rgba(0,0,0,0)",
                       layer="below", line=dict(color=T.OKABE_ITO["grey"], width=1)))
    ranges = _zoom(mask, theory, cmap.shape) if zoom else [(-0.5, cmap.size - 0.5)]
    traces.append(_click_targets(ranges, cmap.shape, axis_names))
    return (traces, shapes, dict(range=list(ranges[0]), title=axis_names[0]),
            dict(title="contribution"))


def _field_outline(mask, t) -> tuple:
    """``(traces, shapes)`` outlining the exact field: its cell edges, or its bounding box
    (a labelled shape) when they are too many."""
    edges = _outline(mask)
    if edges is not None:
        return [dict(type="scatter", x=edges[0], y=edges[1], mode="lines", hoverinfo="skip",
                     line=T.line("field", t), name=T.OUTLINES["field"].label,
                     showlegend=True)], []
    bounds = _bounds(mask)
    if bounds is None:
        return [], []
    r0, r1, c0, c1 = bounds
    return [], [_box(c0 - 0.5, c1 + 0.5, r0 - 0.5, r1 + 0.5, line=T.line("field", t),
                     label=_label("field", t))]


def _heat_parts(cmap, mask, theory, axis_names, zoom, t) -> tuple:
    """2-D: ``(traces, shapes, x axis, y axis)`` of the map, its outlines and boxes."""
    block, r0, c0 = _field_block(cmap, mask)
    h, w = cmap.shape
    traces = [dict(type="heatmap", z=block, x0=c0, y0=r0, colorscale=named_scale(T.SEQUENTIAL),
                   colorbar=dict(title=dict(text="contribution", side="right"), thickness=16),
                   hoverongaps=False,
                   hovertemplate=f"{axis_names[-2]} %{{y}}, {axis_names[-1]} %{{x}}"
                                 "<br>contribution %{z:.6g}<extra></extra>", name="map")]
    shapes = [_box(-0.5, w - 0.5, -0.5, h - 0.5, line=dict(color=T.OKABE_ITO["grey"], width=1),
                   layer="below")]
    lines, boxes = _field_outline(mask, t)
    traces += lines
    shapes += boxes
    if theory is not None:
        (tr0, tr1), (tc0, tc1) = theory[-2:]
        shapes.append(_box(tc0 - 0.5, tc1 + 0.5, tr0 - 0.5, tr1 + 0.5, line=T.line("theory", t),
                           label=_label("theory", t), name=T.OUTLINES["theory"].label,
                           showlegend=True))
    ranges = _zoom(mask, theory, cmap.shape) if zoom else [(-0.5, h - 0.5), (-0.5, w - 0.5)]
    traces.append(_click_targets(ranges, cmap.shape, axis_names))
    return (traces, shapes, dict(title=axis_names[-1], constrain="domain", range=list(ranges[1])),
            dict(autorange=False, scaleanchor="x", constrain="domain", title=axis_names[-2],
                 range=[ranges[0][1], ranges[0][0]]))


def _margins(cmap: np.ndarray, yaxis: dict, t: T.Theme) -> dict:
    """Margins that already hold the axis titles and tick labels (row numbers in the y
    axis's range, or 1-D contributions), so that Plotly's ``automargin`` (kept, for a label
    wider than estimated) lays the chart out once (:func:`app.figures.layout.tick_margin`)."""
    if "range" in yaxis:
        chars = index_tick_chars(*yaxis["range"])
    else:
        finite = cmap[np.isfinite(cmap)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        chars = value_tick_chars(min(0.0, lo), hi)
    title = math.ceil(1.5 * t.font)
    return dict(l=title + tick_margin(chars, t.font - 2), r=10, t=t.title + 30,
                b=math.ceil(2.7 * t.font) + 10)


def map_figure(cmap, mask, *, theory=None, axis_names=AXIS_SHORT[2], title=None,
               zoom=True, clickable=True, width=None, t: T.Theme = T.NORMAL):
    """Contribution map over the input (1-D: bars; 2-D: heatmap; pass a 2-D slice for 3-D),
    cells outside the field left blank, the field's outline (cell edges) solid black and
    labelled, and the theoretical box of the arithmetic table dashed blue and labelled (it
    may extend into padding). ``zoom``: frame the field instead of the whole input.
    ``clickable``: shown with ``on_select`` (its modes: :data:`app.figures.layout.SELECTABLE`);
    otherwise dragging does nothing. ``width``: the figure's width in px (default
    ``t.map_width``; a narrower column passes its own).

    One plain spec (:func:`app.figures.layout.figure`): the heatmap carries only the block of
    cells around the field (float32), the click targets their cells as plain lists."""
    cmap = np.asarray(cmap, np.float64)
    mask = np.asarray(mask, bool)
    parts = _bar_parts if cmap.ndim == 1 else _heat_parts
    traces, shapes, xaxis, yaxis = parts(cmap, mask, theory, axis_names, zoom, t)
    for axis in (xaxis, yaxis):
        axis.update(automargin=True, tickfont=dict(size=t.font - 2, color=T.INK),
                    title=dict(text=axis["title"], font=dict(size=t.font)))
    layout = dict(title=dict(text=title), width=width or t.map_width,
                  height=t.panel_height + 120,
                  margin=_margins(cmap, yaxis, t),
                  legend=dict(orientation="h", x=0, y=1, yanchor="bottom",
                              font=dict(size=t.font)),
                  shapes=shapes, xaxis=xaxis, yaxis=yaxis, **T.figure_style(t),
                  **(SELECTABLE if clickable else dict(clickmode="event+select", dragmode=False)))
    if cmap.ndim == 1:
        layout["bargap"] = 0.05
    return figure(dict(data=traces, layout=layout))


def _click_targets(ranges, shape, axis_names) -> dict:
    """Invisible square markers on the cell centres in view (Streamlit reports clicks on
    scatter points, not on heatmap cells); every ``step``-th cell when there are too many.
    ``maxdisplayed=1``: the browser draws one of them, yet hovers and clicks every one;
    ``x``/``y`` are plain lists (drawn once, see :func:`app.figures.layout.figure`)."""
    axes = []
    for (lo, hi), n in zip(ranges, shape):
        a, b = max(int(np.ceil(lo)), 0), min(int(np.floor(hi)), n - 1)
        axes.append(np.arange(a, b + 1))
    cells = int(np.prod([len(a) for a in axes]))
    step = max(1, int(np.ceil((cells / MAX_CLICK_POINTS) ** (1 / len(axes)))))
    axes = [a[::step] for a in axes]
    if len(axes) == 1:
        xs, ys = axes[0], np.zeros(len(axes[0]), np.int8)
        hover = f"{axis_names[0]} %{{x}}<extra></extra>"
    else:
        yy, xx = np.meshgrid(axes[0], axes[1], indexing="ij")
        xs, ys = xx.ravel(), yy.ravel()
        hover = f"{axis_names[-2]} %{{y}}, {axis_names[-1]} %{{x}}<extra></extra>"
    span = max((hi - lo) for lo, hi in ranges)
    size = max(4, min(30, int(420 / max(span / step, 1))))
    return dict(type="scatter", x=xs.tolist(), y=ys.tolist(), mode="markers",
                hovertemplate=hover, name="cells",
                marker=dict(size=size, opacity=0, symbol="square", color="black",
                            maxdisplayed=1),
                showlegend=False)


def growth_figure(growth, title="Theoretical vs effective field width", t: T.Theme = T.NORMAL):
    """Width (cells ** (1/rank)) of the theoretical and the effective field against depth,
    log–log, with the fitted exponents in the legend (dashed with squares vs solid with
    circles, not colour alone)."""
    depth = [r["depth"] for r in growth.rows]
    effective = (f"effective, {growth.rows[0]['mass']:.0%} of the mass "
                 f"(∝ n^{growth.effective_exponent:.2f})" if growth.rows else "effective")
    data = [dict(type="scatter", x=depth, y=[r["theoretical_width"] for r in growth.rows],
                 mode="lines+markers", line=T.line("theory", t),
                 marker=dict(symbol="square", size=6 + t.outline_width),
                 name=f"theoretical (∝ n^{growth.theoretical_exponent:.2f})"),
            dict(type="scatter", x=depth, y=[r["effective_width"] for r in growth.rows],
                 mode="lines+markers",
                 line=dict(color=T.OKABE_ITO["vermilion"], width=t.outline_width),
                 marker=dict(symbol="circle", size=6 + t.outline_width), name=effective)]
    layout = dict(xaxis=dict(type="log", title=dict(text="layers n")),
                  yaxis=dict(type="log", title=dict(text="width (cells)")),
                  title=dict(text=title, font=dict(size=t.title)), height=t.panel_height + 60,
                  margin=dict(l=10, r=10, t=t.title + 26, b=10),
                  legend=dict(orientation="h", y=-0.25), **T.figure_style(t))
    return figure(dict(data=data, layout=layout))
