"""Receptive-field figures: contribution map with mask outline and theoretical box, and the
theoretical-vs-effective growth chart. Pure functions returning ``go.Figure``, in
:mod:`app.theme`'s colour-blind-safe palette and sizes (``t``); every outline has its own
colour, dash style and label (the exact field: solid black; the theoretical box: dashed
blue)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app import theme as T
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


def map_figure(cmap, mask, *, theory=None, axis_names=AXIS_SHORT[2], title=None,
               zoom=True, t: T.Theme = T.NORMAL):
    """Contribution map over the input (1-D: bars; 2-D: heatmap; pass a 2-D slice for 3-D),
    cells outside the field left blank, the field's outline (cell edges) solid black and
    labelled, and the theoretical box of the arithmetic table dashed blue and labelled (it
    may extend into padding)."""
    cmap = np.asarray(cmap, np.float64)
    mask = np.asarray(mask, bool)
    fig = go.Figure()
    if cmap.ndim == 1:
        pos = np.arange(cmap.size)
        fig.add_bar(x=pos[mask], y=cmap[mask], name="contribution", width=0.9,
                    marker_color=T.OKABE_ITO["sky"],
                    hovertemplate=f"{axis_names[0]} %{{x}}<br>contribution %{{y:.6g}}"
                                  "<extra></extra>")
        if theory is not None:
            lo, hi = theory[0]
            fig.add_vrect(x0=lo - 0.5, x1=hi + 0.5, line=T.line("theory", t),
                          fillcolor="rgba(0,114,178,0.06)", label=_label("theory", t))
        fig.add_vrect(x0=-0.5, x1=cmap.size - 0.5, line_color=T.OKABE_ITO["grey"], line_width=1,
                      fillcolor="rgba(0,0,0,0)", layer="below")
        ranges = _zoom(mask, theory, cmap.shape) if zoom else [(-0.5, cmap.size - 0.5)]
        fig.update_xaxes(range=list(ranges[0]))
        fig.add_trace(_click_targets(ranges, cmap.shape, axis_names, y=0.0))
        fig.update_layout(xaxis_title=axis_names[0], yaxis_title="contribution",
                          bargap=0.05)
    else:
        z = np.where(mask, cmap, np.nan)
        fig.add_heatmap(z=z, colorscale=T.SEQUENTIAL, colorbar=dict(title="contribution"),
                        hovertemplate=f"{axis_names[-2]} %{{y}}, {axis_names[-1]} %{{x}}"
                                      "<br>contribution %{z:.6g}<extra></extra>",
                        hoverongaps=False, name="map")
        h, w = cmap.shape
        fig.add_shape(type="rect", x0=-0.5, y0=-0.5, x1=w - 0.5, y1=h - 0.5,
                      line=dict(color=T.OKABE_ITO["grey"], width=1), layer="below")
        edges = _outline(mask)
        if edges is None:
            rows = np.flatnonzero(mask.any(axis=1))
            cols = np.flatnonzero(mask.any(axis=0))
            if rows.size:
                fig.add_shape(type="rect", x0=cols[0] - 0.5, x1=cols[-1] + 0.5,
                              y0=rows[0] - 0.5, y1=rows[-1] + 0.5, line=T.line("field", t),
                              label=_label("field", t))
        else:
            fig.add_scatter(x=edges[0], y=edges[1], mode="lines", hoverinfo="skip",
                            line=T.line("field", t), name=T.OUTLINES["field"].label,
                            showlegend=True)
        if theory is not None:
            (r0, r1), (c0, c1) = theory[-2:]
            fig.add_shape(type="rect", x0=c0 - 0.5, x1=c1 + 0.5, y0=r0 - 0.5, y1=r1 + 0.5,
                          line=T.line("theory", t), label=_label("theory", t),
                          name=T.OUTLINES["theory"].label, showlegend=True)
        fig.update_yaxes(autorange=False, scaleanchor="x", title=axis_names[-2])
        fig.update_xaxes(title=axis_names[-1], constrain="domain")
        ranges = _zoom(mask, theory, cmap.shape) if zoom else [(-0.5, h - 0.5), (-0.5, w - 0.5)]
        fig.update_yaxes(range=[ranges[0][1], ranges[0][0]])
        fig.update_xaxes(range=list(ranges[1]))
        fig.add_trace(_click_targets(ranges, cmap.shape, axis_names))
    fig.update_layout(title=title, height=t.panel_height + 120,
                      margin=dict(l=10, r=10, t=t.title + 30, b=10),
                      legend=dict(orientation="h", x=0, y=1, yanchor="bottom",
                                  font=dict(size=t.font)),
                      clickmode="event+select", dragmode=False, **T.figure_style(t))
    for update in (fig.update_xaxes, fig.update_yaxes):
        update(automargin=True, tickfont=dict(size=t.font - 2, color=T.INK),
               title_font=dict(size=t.font))
    return fig


def _click_targets(ranges, shape, axis_names, y=None):
    """Invisible square markers on the cell centres in view (Streamlit reports clicks on
    scatter points, not on heatmap cells); every ``step``-th cell when there are too many."""
    axes = []
    for (lo, hi), n in zip(ranges, shape):
        a, b = max(int(np.ceil(lo)), 0), min(int(np.floor(hi)), n - 1)
        axes.append(np.arange(a, b + 1))
    cells = int(np.prod([len(a) for a in axes]))
    step = max(1, int(np.ceil((cells / MAX_CLICK_POINTS) ** (1 / len(axes)))))
    axes = [a[::step] for a in axes]
    if len(axes) == 1:
        xs, ys = axes[0], np.full(len(axes[0]), y)
        hover = f"{axis_names[0]} %{{x}}<extra></extra>"
    else:
        yy, xx = np.meshgrid(axes[0], axes[1], indexing="ij")
        xs, ys = xx.ravel(), yy.ravel()
        hover = f"{axis_names[-2]} %{{y}}, {axis_names[-1]} %{{x}}<extra></extra>"
    span = max((hi - lo) for lo, hi in ranges)
    size = max(4, min(30, int(420 / max(span / step, 1))))
    return go.Scatter(x=xs, y=ys, mode="markers", hovertemplate=hover, name="cells",
                      marker=dict(size=size, opacity=0, symbol="square", color="black"),
                      showlegend=False)


def growth_figure(growth, title="Theoretical vs effective field width", t: T.Theme = T.NORMAL):
    """Width (cells ** (1/rank)) of the theoretical and the effective field against depth,
    log–log, with the fitted exponents in the legend (dashed with squares vs solid with
    circles, not colour alone)."""
    depth = [r["depth"] for r in growth.rows]
    fig = go.Figure()
    fig.add_scatter(x=depth, y=[r["theoretical_width"] for r in growth.rows],
                    mode="lines+markers", line=T.line("theory", t),
                    marker=dict(symbol="square", size=6 + t.outline_width),
                    name=f"theoretical (∝ n^{growth.theoretical_exponent:.2f})")
    fig.add_scatter(x=depth, y=[r["effective_width"] for r in growth.rows],
                    mode="lines+markers",
                    line=dict(color=T.OKABE_ITO["vermilion"], width=t.outline_width),
                    marker=dict(symbol="circle", size=6 + t.outline_width),
                    name=f"effective, {growth.rows[0]['mass']:.0%} of the mass "
                         f"(∝ n^{growth.effective_exponent:.2f})" if growth.rows else "effective")
    fig.update_xaxes(type="log", title="layers n")
    fig.update_yaxes(type="log", title="width (cells)")
    fig.update_layout(title=dict(text=title, font=dict(size=t.title)),
                      height=t.panel_height + 60,
                      margin=dict(l=10, r=10, t=t.title + 26, b=10),
                      legend=dict(orientation="h", y=-0.25), **T.figure_style(t))
    return fig
