"""Figures of the Learn view (pure functions returning ``go.Figure``; no Streamlit), each
one plain spec sent exactly as written, without a template (:func:`app.figures.layout.figure`;
tests/test_figure_specs.py validates them; every colour is explicit).

- :func:`cells_figure`: the input grid of a click-the-cells exercise; chosen cells filled
  and marked ``●``, the right cells outlined once revealed (never colour alone); invisible
  markers on the cell centres carry clicks and box / lasso selections.
- :func:`counts_figure`: integer maps side by side (lesson 10: how many kernel placements
  overlap each output cell), every cell labelled with its number.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.figures.layout import axis_ids, figure, named_scale, subplot_grid
from app.theme import COUNTS, OKABE_ITO

CHOSEN, OUTLINE = OKABE_ITO["blue"], OKABE_ITO["vermilion"]
EMPTY = "#F2F2F2"
MAX_GRID_SIDE = 64  # cells per side a click grid shows


def _grid_shape(in_spatial) -> tuple:
    """(rows, columns) of the grid: a 1-D input is one row."""
    return (1, int(in_spatial[0])) if len(in_spatial) == 1 else tuple(map(int, in_spatial))


def _rc(cell) -> tuple:
    return (0, int(cell[0])) if len(cell) == 1 else (int(cell[0]), int(cell[1]))


def _outline(cells) -> list:
    """Layout rectangles around ``cells`` (grid coordinates)."""
    return [dict(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                 line=dict(color=OUTLINE, width=3)) for r, c in map(_rc, cells)]


def _axis(title: str, cells: int, reverse: bool = False, **style) -> dict:
    """A grid axis over ``cells`` cells (a tick per cell up to 16), optionally top-down."""
    axis = dict(title=dict(text=title), range=[cells - 0.5, -0.5] if reverse else
                [-0.5, cells - 0.5], showgrid=False, zeroline=False, constrain="domain",
                **style)
    if cells <= 16:
        axis["dtick"] = 1
    return axis


def cells_figure(in_spatial, chosen=(), answer=None, height: int = 360) -> go.Figure:
    """The input cells of an exercise as a grid to click (2-D: rows × columns; 1-D: one row).

    ``chosen``: cells picked so far (filled and marked); ``answer``: the right cells, outlined
    when given (the reveal). The click layer draws one marker (``maxdisplayed``) yet hovers,
    clicks and box-selects every cell; its ``x``/``y`` are plain lists (drawn once, see
    :func:`app.figures.layout.figure`)."""
    rows, cols = _grid_shape(in_spatial)
    if max(rows, cols) > MAX_GRID_SIDE:
        raise ValueError(f"a click grid shows at most {MAX_GRID_SIDE} cells per side")
    z = np.zeros((rows, cols), np.uint8)
    for r, c in map(_rc, chosen):
        if 0 <= r < rows and 0 <= c < cols:
            z[r, c] = 1
    text = np.where(z > 0, "●", "")
    yy, xx = np.mgrid[0:rows, 0:cols]
    hover = "column %{x}<extra></extra>" if len(in_spatial) == 1 else \
        "row %{y}, column %{x}<extra></extra>"
    data = [dict(type="heatmap", z=z, zmin=0, zmax=1, colorscale=[[0, EMPTY], [1, CHOSEN]],
                 showscale=False, text=text, texttemplate="%{text}",
                 textfont=dict(color="white", size=14), xgap=1, ygap=1, hoverinfo="skip"),
            dict(type="scatter", x=xx.ravel().tolist(), y=yy.ravel().tolist(), mode="markers",
                 showlegend=False,
                 marker=dict(size=max(6, min(28, 480 // max(rows, cols))), symbol="square",
                             opacity=0, color="black", maxdisplayed=1),
                 hovertemplate=hover)]
    layout = dict(height=height if rows > 1 else 140, margin=dict(l=40, r=10, t=10, b=30),
                  shapes=_outline(answer) if answer is not None else [],
                  xaxis=_axis("column" if rows > 1 else "step", cols),
                  yaxis=_axis("row" if rows > 1 else "", rows, reverse=True, scaleanchor="x",
                              visible=rows > 1))
    return figure(dict(data=data, layout=layout))


def counts_figure(maps, titles, height: int = 380) -> go.Figure:
    """Integer (or exact) maps side by side, each cell labelled with its value (each map
    on its own colour scale, so that unevenness within it shows)."""
    layout = subplot_grid(1, len(maps), list(titles), h_space=0.08)
    data = []
    for i, m in enumerate(maps, start=1):
        m = np.asarray(m, dtype=np.float64)
        x, y = axis_ids(i)
        layout["yaxis" + y[1:]]["autorange"] = "reversed"
        data.append(dict(type="heatmap", z=m.astype(np.float32), zmin=0,
                         zmax=float(m.max()) or 1.0, colorscale=named_scale(COUNTS),
                         showscale=False, text=np.vectorize(lambda v: f"{v:g}")(m),
                         texttemplate="%{text}",
                         xgap=1, ygap=1, xaxis=x, yaxis=y,
                         hovertemplate="row %{y}, column %{x}: %{z:g}<extra></extra>"))
    layout.update(height=height, margin=dict(l=30, r=10, t=60, b=30))
    return figure(dict(data=data, layout=layout))


__all__ = ["cells_figure", "counts_figure"]
