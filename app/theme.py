"""One palette and one set of sizes for every figure and page (pure: no Streamlit calls;
:func:`streamlit_style` reads the line colours of Streamlit's Plotly template).

Colours are the Okabe–Ito colour-blind-safe set; every outline also has its own dash style
and a text label, so that nothing is told by colour alone. ``Theme`` holds the sizes of the
normal screen and of presentation mode (``present=1``: a projector at 1366×768 seen from the
back of a room: larger type and cell numbers, thicker outlines, high contrast).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from plotly import colors as plotly_colors

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with every common form of
#: colour blindness.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermilion": "#D55E00",
             "purple": "#CC79A7", "grey": "#999999"}


@dataclass(frozen=True)
class Outline:
    """How one kind of highlighted cell is drawn: colour, Plotly dash style, legend label."""

    color: str
    dash: str
    label: str


#: The roles a highlighted cell can have, in every view.
OUTLINES = {
    "selected": Outline(OKABE_ITO["vermilion"], "solid", "selected cell"),
    "window": Outline(OKABE_ITO["orange"], "dash", "kernel window"),
    "read": Outline(OKABE_ITO["orange"], "dash", "cells read"),
    "fed": Outline(OKABE_ITO["vermilion"], "dot", "cells it feeds"),
    "pad": Outline(OKABE_ITO["sky"], "dashdot", "zero padding"),
    "crop": Outline(OKABE_ITO["purple"], "longdash", "kept by the crop"),
    "write": Outline(OKABE_ITO["green"], "solid", "cell being written"),
    "theory": Outline(OKABE_ITO["blue"], "dash", "theoretical field"),
    "area": Outline(OKABE_ITO["black"], "dash", "original input"),
    "field": Outline(OKABE_ITO["black"], "solid", "exact field"),
    "tap": Outline(OKABE_ITO["black"], "solid", "cells read in this step (kernel taps)"),
    "cut": Outline(OKABE_ITO["vermilion"], "dot", "cells cut in this step"),
    "output": Outline(OKABE_ITO["purple"], "longdash", "canvas cells kept as the output"),
}

#: Flat fills drawn over cells that hold no value of the input (a legend names each one;
#: padding and inserted cells also print their 0): padding zeros, zeros inserted between
#: input cells, output_padding cells, cells never read, cells removed by cropping or by a
#: transposed convolution's same padding.
FILLS = {
    "pad": "rgba(86, 180, 233, 0.45)",         # sky
    "inserted": "rgba(240, 228, 66, 0.7)",     # yellow
    "output_pad": "rgba(204, 121, 167, 0.6)",  # purple
    "unused": "rgba(0, 0, 0, 0.45)",           # black, translucent
    "cut": "rgba(153, 153, 153, 0.85)",        # grey
    "cropped": "rgba(153, 153, 153, 0.55)",    # grey, lighter
}

#: Continuous scales: sequential values, signed values (centred on 0), weights and counts.
SEQUENTIAL = "Cividis"
DIVERGING = [[0.0, OKABE_ITO["blue"]], [0.5, "#F7F7F7"], [1.0, OKABE_ITO["vermilion"]]]
COUNTS = "Viridis"
#: Text and lines on a white background (high contrast in both modes).
INK = OKABE_ITO["black"]
#: The background of a cell that holds no value yet (an animation's output before its step).
EMPTY_CELL = "#F1F1F1"


@dataclass(frozen=True)
class Theme:
    """Sizes in CSS pixels / Plotly units."""

    font: int = 13          # figure text
    title: int = 14         # panel titles
    cell_text: int = 10     # numbers written inside cells
    min_cell_px: int = 22   # cells narrower than this get no number
    outline_width: float = 2.0
    panel_height: int = 300
    #: The kernel panel's fixed width: Streamlit's least chart width, within its column
    #: from a 1280 px window up (152 px there).
    kernel_width: int = 150
    #: The receptive map's fixed width: within its column from a 1280 px window up (484 px
    #: there, 535.6 at 1366); its cells are square and its height fixed, so a wider column
    #: would only add blank space. A chart that fills a column of fractional width is drawn
    #: twice by Streamlit (first without a width, then with it: ~940 DOM nodes again).
    map_width: int = 480
    present: bool = False   # presentation mode


NORMAL = Theme()
PRESENT = Theme(font=20, title=22, cell_text=16, min_cell_px=34, outline_width=4.0,
                panel_height=390, kernel_width=210, map_width=660, present=True)



def theme(present: bool) -> Theme:
    """The sizes for presentation mode (``present=True``) or the normal screen."""
    return PRESENT if present else NORMAL


def line(kind: str, t: Theme = NORMAL) -> dict:
    """Plotly ``line`` of the outline ``kind`` (colour, dash and width)."""
    o = OUTLINES[kind]
    return dict(color=o.color, dash=o.dash, width=t.outline_width)


#: Line colours of channels, in order: Plotly's default sequence, set explicitly so that a
#: figure without a template (app.figures.layout.figure) keeps them.
LINE_COLOURS = tuple(plotly_colors.qualitative.Plotly)


def figure_style(t: Theme = NORMAL) -> dict:
    """Plotly layout arguments every figure shares: white background, black text in the
    theme's sizes, the channel line colours."""
    return dict(font=dict(size=t.font, color=INK), paper_bgcolor="white",
                plot_bgcolor="white", hoverlabel=dict(font=dict(size=t.font)),
                colorway=list(LINE_COLOURS))


@lru_cache(maxsize=1)
def _streamlit_colours() -> tuple:
    """The line colours of Streamlit's Plotly template, placeholders (``#000001`` …) that
    its chart component replaces by the app theme's categorical colours."""
    from streamlit.elements.lib import streamlit_plotly_theme as S

    return tuple(getattr(S, f"CATEGORY_{i}") for i in range(10))


def streamlit_style() -> dict:
    """Plotly layout arguments of a figure shown in Streamlit's theme (``st.plotly_chart``'s
    default ``theme="streamlit"``: the Stack and Learn views) that came from Streamlit's
    Plotly template until the figures had none (:func:`app.figures.layout.figure`): its line
    colours. Fonts, backgrounds, grid and margins Streamlit's chart adds in the browser."""
    return dict(colorway=list(_streamlit_colours()))


def show_numbers(rows: int, cols: int, width_px: float, height_px: float,
                 t: Theme = NORMAL) -> bool:
    """Whether cells of a ``rows × cols`` map drawn in ``width_px × height_px`` are large
    enough to carry their numbers."""
    return min(width_px / max(cols, 1), height_px / max(rows, 1)) >= t.min_cell_px


# --------------------------------------------------------------------------- colour maps

def rgb(text: str) -> tuple:
    """``rgb(1, 2, 3)`` / ``rgba(…)`` / ``#010203`` → ``(r, g, b[, a·255])`` ints."""
    if text.startswith("#"):
        return tuple(int(text[k:k + 2], 16) for k in (1, 3, 5))
    parts = [float(v) for v in text[text.index("(") + 1:text.index(")")].split(",")]
    out = [int(round(v)) for v in parts[:3]]
    return tuple(out + [int(round(parts[3] * 255))]) if len(parts) == 4 else tuple(out)


def colour_index(z: np.ndarray, zrange: tuple[float, float]) -> np.ndarray:
    """``z`` over ``zrange`` as indices into :func:`palette`: 0–254 from low to high, 255
    for NaN (uint8, same shape)."""
    lo, hi = zrange
    nan = np.isnan(z)
    u = np.clip((np.where(nan, lo, z).astype(np.float64) - lo) / ((hi - lo) or 1.0), 0, 1)
    idx = np.round(u * 254).astype(np.uint8)
    idx[nan] = 255
    return idx


@lru_cache(maxsize=16)
def _palette(key) -> np.ndarray:
    scale = key if isinstance(key, str) else [list(p) for p in key]
    sampled = plotly_colors.sample_colorscale(scale, list(np.linspace(0.0, 1.0, 255)))
    return np.array([rgb(c)[:3] for c in sampled] + [rgb(EMPTY_CELL)[:3]], np.uint8)


def palette(scale) -> np.ndarray:
    """``(256, 3)`` uint8: 255 colours of a Plotly colour scale (a name or a list of ``(t,
    colour)``) sampled as Plotly interpolates it, then :data:`EMPTY_CELL` (for NaN)."""
    return _palette(scale if isinstance(scale, str) else tuple(tuple(p) for p in scale))


def colour_map(z: np.ndarray, zrange: tuple[float, float], scale) -> np.ndarray:
    """The colours a Plotly heatmap of ``z`` over ``zrange`` with ``scale`` shows, as an
    ``(h, w, 3)`` uint8 RGB picture (NaN: :data:`EMPTY_CELL`)."""
    return palette(scale)[colour_index(z, zrange)]
