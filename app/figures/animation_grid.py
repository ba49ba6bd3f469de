"""Where the panels of an animation go: the panel type, rows of panels, the cell size, axes.

:class:`Panel` is one heatmap panel of an animation (one 2-D grid per frame, with its
outlines); :func:`arrange` chooses the rows of panels and the cell size (pixels) for a width
and height budget (:func:`wrap_rows`, :func:`_arrangement`), :func:`placements` gives each
panel's axis domains and :func:`axes_layout` its axes. Pure functions of sizes and the
theme (:mod:`app.theme`); :mod:`app.figures.animation` draws the traces, :mod:`app.figures.gif`
reuses :func:`wrap_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from app.theme import DIVERGING, EMPTY_CELL, INK, NORMAL, Theme

VALUE_SCALE = DIVERGING
MAX_TEXT_CELLS = 24  # tick labels on every cell up to this many cells per axis
WRAP_CELL_PX = (27, 20, 14, 10)  # the cell sizes a row of panels is tried wrapped at
# the default width budget (px): a page's full column at a 1280 px window is 820 px (906 at
# 1366, 889 with a 17 px scrollbar); a wider figure is narrowed by Streamlit's chart after its
# first draw, which redraws all of it once more (~10,000 DOM mutations, 130–270 ms)
COLUMN_PX = 816
#: The budget in presentation mode (no sidebar): the column at a 1280 px window is 1,120 px.
PRESENT_PX = 1120


@dataclass
class Panel:
    """One heatmap: ``z`` is one 2-D grid (static) or one per figure frame (dynamic)."""

    title: str
    row: int
    z: list  # list of 2-D arrays: length 1 (static) or n_frames
    zrange: tuple = (-1.0, 1.0)
    colorscale: object = field(default_factory=lambda: VALUE_SCALE)
    overlay: Optional[list] = None  # category grids: length 1 or n_frames
    boxes: Optional[list] = None  # per frame: (n, 2) cells to outline
    box: str = "tap"  # how they are outlined: a key of app.theme.OUTLINES
    window: Optional[list] = None  # per frame: (r0, c0, r1, c1) or None
    window_kind: str = "window"  # how it is outlined: a key of app.theme.OUTLINES
    col_labels: Optional[list] = None
    row_labels: Optional[list] = None
    hover: str = "value"

    @property
    def shape(self):
        return np.asarray(self.z[0]).shape


GAP_PX, TITLE_PX, VGAP_PX = 34.0, 44.0, 16.0  # between panels, above a row, between rows
MAX_CELL_PX, MIN_CELL_PX = 44.0, 6.0  # MAX_CELL_PX at the normal theme's cell numbers
MARGIN_LEFT, MARGIN_RIGHT, TITLE_TOP = 34, 16, 70
KEEP_ROWS = 0.7  # fewer rows of panels win if their cells are at least 0.7 × the largest
CHAR_EM = 0.53  # average character width, in font sizes


@dataclass
class Grid:
    """Where the panels go: ``rows`` of panels, the cell size and the plot area (pixels),
    the figure's margins (``l``, ``r``, ``t``, ``b``) and the theme."""

    rows: list
    cell_px: float
    plot_w: float
    plot_h: float
    margin: dict
    theme: Theme


def _title_px(t: Theme) -> float:
    """Room above a row of panels: their titles and column numbers."""
    return TITLE_PX + 1.6 * (t.font - NORMAL.font)


def _slot_cells(p: Panel, cell_px: float, t: Theme) -> float:
    """A panel's width in cells, widened for its title."""
    return max(p.shape[1], (len(p.title) * CHAR_EM * (t.font - 1) + 4) / cell_px)


def _row_cells(ps: list) -> int:
    return max(p.shape[0] for p in ps)


def wrap_rows(panels: list, width_of, avail: float, gap: float, merged: bool = False) -> list:
    """Panels grouped by their ``row`` (all in one when ``merged``), each group wrapped onto
    several rows where its panels (``width_of(panel)`` pixels each, ``gap`` apart) are wider
    than ``avail`` pixels."""
    rows = []
    for r in sorted({p.row for p in panels}) if not merged else [None]:
        cur, used = [], 0.0
        for p in [p for p in panels if merged or p.row == r]:
            need = width_of(p) + (gap if cur else 0)
            if cur and used + need > avail:
                rows.append(cur)
                cur, used = [], 0.0
                need -= gap
            cur.append(p)
            used += need
        rows.append(cur)
    return rows


def _cell_px(rows: list, avail: float, room_h: float, t: Theme) -> float:
    """The largest cell size at which every row fits ``avail`` pixels wide and all the rows
    ``room_h`` pixels high (between :data:`MIN_CELL_PX` and :data:`MAX_CELL_PX`, scaled to
    the theme's cell numbers)."""
    cell = MAX_CELL_PX * t.cell_text / NORMAL.cell_text
    for ps in rows:
        for _ in range(100):  # title widths in cells grow as cells shrink: iterate to a fit
            width = sum(_slot_cells(p, cell, t) for p in ps)
            fit = min(cell, (avail - GAP_PX * (len(ps) - 1)) / width)
            cell, done = fit, cell - fit < 1e-4  # then the row is < 0.01 px too wide
            if done:
                break
    cells_high = sum(_row_cells(ps) for ps in rows)
    cell = min(cell, (room_h - len(rows) * _title_px(t) - VGAP_PX * (len(rows) - 1))
               / max(cells_high, 1))
    return max(cell, MIN_CELL_PX)


def _arrangement(panels: list, avail: float, room: float, t: Theme) -> tuple:
    """``(rows, cell px)``: of the panels wrapped onto rows for each cell size tried, the
    fewest rows whose cells are at least KEEP_ROWS times the largest cells any arrangement
    gets; on a tie the panels' own rows (input and output on one, the kernels on the next)
    before mixed ones, then the larger cells. So a narrower figure keeps its arrangement
    with smaller cells rather than growing a row (at 816 px, the default Conv2D keeps
    inputs and output side by side with 24 px cells instead of three rows of 32 px)."""
    tried = [(rs, _cell_px(rs, avail, room, t), merged) for merged in (False, True)
             for rs in [wrap_rows(panels, lambda p, px=px: _slot_cells(p, px, t) * px, avail,
                                  GAP_PX, merged) for px in WRAP_CELL_PX]]
    largest = max(cell for _, cell, _ in tried)
    rows, cell, _ = min((c for c in tried if c[1] >= KEEP_ROWS * largest),
                        key=lambda c: (len(c[0]), c[2], -c[1]))
    return rows, cell


def _wrap(text: str, width: int) -> str:
    """Break each ``<br>``-separated line of a title at spaces to at most ``width`` chars
    (tags such as ``<b>`` are not counted)."""
    out = []
    for part in text.split("<br>"):
        words, cur, cur_len = part.split(" "), [], 0
        for word in words:
            visible = len(word.replace("<b>", "").replace("</b>", ""))
            if cur and cur_len + 1 + visible > width:
                out.append(" ".join(cur))
                cur, cur_len = [], 0
            cur.append(word)
            cur_len += visible + (1 if cur_len else 0)
        out.append(" ".join(cur))
    return "<br>".join(out)


def arrange(panels: list, titles: list, height: Optional[int], bottom: int, max_width: int,
          max_height: int, t: Theme, min_width: float = 300.0, above: int = 0) -> tuple:
    """``(Grid, titles wrapped to the figure's width)``; the plot is at least
    ``min_width`` pixels wide and has ``above`` pixels between the title and the panels
    (room for the controls)."""
    avail = max_width - MARGIN_LEFT - MARGIN_RIGHT
    room = max_height - TITLE_TOP - bottom - above
    rows, cell = _arrangement(panels, avail, room, t)
    plot_w = max(max(sum(_slot_cells(p, cell, t) for p in ps) * cell
                     + GAP_PX * (len(ps) - 1) for ps in rows), min(min_width, avail))
    plot_h = sum(_title_px(t) + _row_cells(ps) * cell for ps in rows) \
        + VGAP_PX * (len(rows) - 1)
    chars = max(40, int((plot_w + MARGIN_LEFT + MARGIN_RIGHT) / (CHAR_EM * t.title)))
    titles = [_wrap(text, chars) for text in titles]
    top = 34 + int(1.3 * t.title) * max(text.count("<br>") + 1 for text in titles) + above
    fig_h = int(height or (plot_h + top + bottom))
    margin = {"l": MARGIN_LEFT, "r": MARGIN_RIGHT, "t": top, "b": bottom}
    return Grid(rows, cell, plot_w, fig_h - top - bottom, margin, t), titles


def figure_layout(grid: Grid, title: str, legend: list) -> dict:
    m, t = grid.margin, grid.theme
    return {
        "width": int(grid.plot_w + m["l"] + m["r"]),
        "height": int(grid.plot_h + m["t"] + m["b"]),
        "margin": dict(m, autoexpand=False),
        "plot_bgcolor": EMPTY_CELL, "paper_bgcolor": "white",
        "font": {"size": t.font, "color": INK},
        "showlegend": bool(legend),
        "legend": {"orientation": "h", "x": 0, "y": -8 / grid.plot_h, "yanchor": "top",
                   "font": {"size": t.font - 2}},
        "title": {"text": title, "x": 0, "xref": "paper", "xanchor": "left", "y": 1,
                  "yref": "container", "yanchor": "top", "pad": {"t": 14},
                  "font": {"size": t.title}},
        "hoverlabel": {"font": {"size": t.font - 2}},
    }


def placements(grid: Grid):
    """``(panel, axis suffix, x domain, y domain)`` of every panel, rows top down."""
    cell, n, y_px = grid.cell_px, 0, 0.0
    for ps in grid.rows:
        y_px += _title_px(grid.theme)
        x_px = 0.0
        for p in ps:
            n += 1
            h, w = p.shape
            left = x_px + (_slot_cells(p, cell, grid.theme) - w) * cell / 2  # under its title
            x = [max(0.0, left / grid.plot_w), min(1.0, (left + w * cell) / grid.plot_w)]
            y = [max(0.0, 1 - (y_px + h * cell) / grid.plot_h), min(1.0, 1 - y_px / grid.plot_h)]
            yield p, "" if n == 1 else str(n), x, y
            x_px += _slot_cells(p, cell, grid.theme) * cell + GAP_PX
        y_px += _row_cells(ps) * cell + VGAP_PX


def axes_layout(p: Panel, sx: str, x: list, y: list, t: Theme) -> dict:
    """The x and y axes of one panel: domains, ranges (rows top-down), tick labels; ``type``
    "linear" written out (Plotly writes it back into the figure otherwise)."""
    h, w = p.shape
    ticks = {"size": max(9, t.font - 4)}
    xaxis = {"domain": x, "anchor": f"y{sx}", "showgrid": False, "zeroline": False,
             "side": "top", "fixedrange": True, "range": [-0.5, w - 0.5], "type": "linear",
             "constrain": "domain",
             "title": {"text": p.title, "font": {"size": t.font - 1}, "standoff": 2},
             "tickfont": ticks}
    if p.col_labels and w <= MAX_TEXT_CELLS:
        xaxis.update(tickvals=list(range(w)), ticktext=p.col_labels)
    if w > 40:
        xaxis["showticklabels"] = False
    # scaleanchor keeps cells square when Streamlit narrows the chart; constrain="domain"
    # on both axes: Plotly then narrows a domain instead of writing its own, rounded range
    # back into the figure (Streamlit's second draw of the spec would differ: a full redraw)
    yaxis = {"domain": y, "anchor": f"x{sx}", "showgrid": False, "zeroline": False,
             "fixedrange": True, "range": [h - 0.5, -0.5], "type": "linear",
             "scaleanchor": f"x{sx}", "constrain": "domain", "tickfont": ticks}
    if p.row_labels and h <= MAX_TEXT_CELLS:
        yaxis.update(tickvals=list(range(h)), ticktext=p.row_labels)
    if h == 1:
        yaxis["showticklabels"] = False
    return {f"xaxis{sx}": xaxis, f"yaxis{sx}": yaxis}
