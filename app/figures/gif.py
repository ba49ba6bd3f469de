"""Any animation as an animated GIF for slides, drawn with Pillow (pure: no Streamlit).

Every GIF frame is one step of the animation: on top the layer as its line of Keras code,
the input and output shapes, ``step k / n`` and the step's caption in words (from
:mod:`engine.animate`); below, the same panels the Plotly figure shows
(:func:`app.figures.animation_panels.panels_of`: input with its padding, kernel, output), in the
theme's colours and outline styles (:mod:`app.theme`), values written in the cells when they
are large enough.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.figures.animation_panels import CATEGORY_COLORS, CATEGORY_TEXT, panels_of
from app.figures.animation_panels import fmt as cell_fmt
from app.figures.animation_grid import wrap_rows
from app import theme as T
from app.theme import EMPTY_CELL, INK, OUTLINES, Theme, theme
from engine.animate import Animation

WIDTH, MAX_HEIGHT = 960, 720  # pixels of a GIF frame (present: 4/3 of both)
MARGIN, GAP, MAX_OUTLINED = 16, 24, 30
DASHES = {"solid": None, "dash": (8, 5), "dot": (2, 4), "dashdot": (8, 4, 2, 4),
          "longdash": (14, 5)}
STEP_MS, LAST_MS = 700, 2500  # per step; the last step stays on screen longer


@dataclass(frozen=True)
class GifLabels:
    """What every frame says about the layer: ``code`` (``layers.Conv2D(2, 3)``, from the
    project's one Keras-code printer) and ``shapes`` (``input (1, 8, 8, 3) → output …``)."""

    code: str
    shapes: str


# --------------------------------------------------------------------------- colours

_rgb = T.rgb
_EMPTY = _rgb(EMPTY_CELL)


def _cell_colours(z: np.ndarray, zrange: tuple, scale) -> np.ndarray:
    """``(h, w, 3)`` uint8 colours of the values ``z`` (NaN: the empty grey), as on screen
    (:func:`app.theme.colour_map`)."""
    lo, hi = zrange
    return T.colour_map(np.asarray(z, np.float64), (lo, hi if hi > lo else lo + 1.0), scale)


def _blend(base: tuple, rgba: tuple) -> tuple:
    a = rgba[3] / 255 if len(rgba) == 4 else 1.0
    return tuple(int(round(b * (1 - a) + c * a)) for b, c in zip(base, rgba[:3]))


def _ink_on(rgb) -> tuple:
    """Black or white text, whichever reads on ``rgb``."""
    r, g, b = (int(v) for v in rgb)
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


# --------------------------------------------------------------------------- text

@lru_cache(maxsize=8)
def _font(size: int, mono: bool = False):
    """DejaVu (Sans or Sans Mono) at ``size`` when the system has it, else Pillow's own."""
    try:
        return ImageFont.truetype("DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _header(labels: GifLabels, step: int, n: int, caption: str, t: Theme,
            width: int) -> list:
    """``(text, font)`` lines of a frame's header."""
    body = _font(t.font)
    chars = max(30, int((width - 2 * MARGIN) / (0.55 * t.font)))
    lines = [(labels.code, _font(t.title, mono=True)),
             (f"{labels.shapes} · step {step} / {n}", body)]
    return lines + [(line, body) for line in textwrap.wrap(caption, chars)]


# --------------------------------------------------------------------------- layout

@dataclass(frozen=True)
class _Placed:
    panel: object
    x: int
    y: int


def _slot(p, cell: float, t: Theme) -> float:
    """A panel's width: its cells, or its title when that is wider."""
    return max(p.shape[1] * cell, _font(t.font - 1).getlength(p.title) + 8)


def _rows(panels: list, cell: float, width: int, t: Theme) -> list:
    """Panels grouped by their ``row`` and wrapped to ``width`` pixels."""
    return wrap_rows(panels, lambda p: _slot(p, cell, t), width, GAP)


def _place(panels: list, cell: float, avail: float, top: int, t: Theme) -> tuple:
    """``(placed panels, height)`` at cells of ``cell`` pixels."""
    placed, y, title_h = [], top, t.font + 10
    for ps in _rows(panels, cell, avail, t):
        y += title_h
        x = MARGIN
        for p in ps:
            placed.append(_Placed(p, x, y))
            x += int(_slot(p, cell, t)) + GAP
        y += int(max(p.shape[0] for p in ps) * cell) + GAP // 2
    return placed, y + MARGIN


def _layout(panels: list, t: Theme, width: int, max_height: int, top: int) -> tuple:
    """``(placed panels, cell px, height)``: the largest cell (at most 4 × the theme's cell
    numbers) at which every row fits ``width`` and the frame ``max_height`` when it can."""
    avail = width - 2 * MARGIN
    cell = float(t.cell_text * 4)
    while True:
        rows = _rows(panels, cell, avail, t)
        widest = max(sum(_slot(p, cell, t) for p in ps) + GAP * (len(ps) - 1) for ps in rows)
        if widest > avail:
            cell = max(6.0, cell * avail / widest)
            continue
        placed, height = _place(panels, cell, avail, top, t)
        if height <= max_height or cell <= 6.0:
            return placed, cell, height
        cell = max(6.0, cell * 0.9)


# --------------------------------------------------------------------------- drawing

def _dashed(draw: ImageDraw.ImageDraw, p0, p1, kind: str, width: int, colour) -> None:
    """An axis-aligned line in the dash style ``kind`` of :data:`app.theme.OUTLINES`."""
    pattern = DASHES.get(kind)
    if pattern is None:
        draw.line([p0, p1], fill=colour, width=width)
        return
    (x0, y0), (x1, y1) = p0, p1
    length = abs(x1 - x0) + abs(y1 - y0)
    dx, dy = (np.sign(x1 - x0), np.sign(y1 - y0))
    pos, k = 0.0, 0
    while pos < length:
        seg = min(pattern[k % len(pattern)], length - pos)
        if k % 2 == 0:
            a = (x0 + dx * pos, y0 + dy * pos)
            b = (x0 + dx * (pos + seg), y0 + dy * (pos + seg))
            draw.line([a, b], fill=colour, width=width)
        pos += seg
        k += 1


def _rect(draw, box, kind: str, width: int) -> None:
    o = OUTLINES[kind]
    x0, y0, x1, y1 = box
    colour = _rgb(o.color)
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)),
                 ((x0, y1), (x0, y0))):
        _dashed(draw, a, b, o.dash, width, colour)


def _edges(cells: np.ndarray) -> list:
    """The unit edges ``((r0, c0), (r1, c1))`` (cell corners) around a set of cells."""
    have = {tuple(c) for c in cells.tolist()}
    out = []
    for r, c in have:
        for (dr, dc), edge in (((-1, 0), ((r, c), (r, c + 1))),
                               ((1, 0), ((r + 1, c), (r + 1, c + 1))),
                               ((0, -1), ((r, c), (r + 1, c))),
                               ((0, 1), ((r, c + 1), (r + 1, c + 1)))):
            if (r + dr, c + dc) not in have:
                out.append(edge)
    return out


def _outline(draw, cells, origin, cell: float, kind: str, width: int) -> None:
    """Outline ``(row, col)`` cells: each one (few cells), else their union."""
    cells = np.asarray(cells, np.int64).reshape(-1, 2)
    ox, oy = origin
    if len(cells) <= MAX_OUTLINED:
        for r, c in cells.tolist():
            _rect(draw, (ox + c * cell, oy + r * cell, ox + (c + 1) * cell,
                         oy + (r + 1) * cell), kind, width)
        return
    o = OUTLINES[kind]
    for (r0, c0), (r1, c1) in _edges(cells):
        _dashed(draw, (ox + c0 * cell, oy + r0 * cell), (ox + c1 * cell, oy + r1 * cell),
                o.dash, width, _rgb(o.color))


def _pick(seq, i: int):
    """Item ``i`` of a per-figure-frame list (static lists have one item)."""
    return None if seq is None else seq[0] if len(seq) == 1 else seq[i]


def _draw_cells(draw, p, i: int, at: _Placed, cell: float, t: Theme) -> None:
    z = np.asarray(_pick(p.z, i), np.float64)
    colours = _cell_colours(z, p.zrange, p.colorscale)
    cat = _pick(p.overlay, i)
    numbers = cell >= t.min_cell_px
    font = _font(max(7, min(t.cell_text, int(cell * 0.38))))
    for r in range(z.shape[0]):
        for c in range(z.shape[1]):
            rgb = tuple(int(v) for v in colours[r, c])
            label = cell_fmt(z[r, c])
            k = 0 if cat is None else int(np.asarray(cat)[r, c])
            if k > 0:
                rgb = _blend(rgb, _rgb(CATEGORY_COLORS[k]))
                label = CATEGORY_TEXT.get(k, "") or label
            x0, y0 = at.x + c * cell, at.y + r * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=rgb)
            if numbers and label:
                draw.text((x0 + cell / 2, y0 + cell / 2), label, fill=_ink_on(rgb), font=font,
                          anchor="mm")


def _static(p) -> bool:
    """The panel's cells do not change between frames (its outlines may)."""
    return len(p.z) == 1 and (p.overlay is None or len(p.overlay) == 1)


def _draw_outlines(draw, at: _Placed, i: int, cell: float, t: Theme) -> None:
    """The cells outlined at figure frame ``i`` and the window."""
    p = at.panel
    width = max(2, int(round(t.outline_width)))
    boxes = _pick(p.boxes, i)
    if boxes is not None and len(boxes):
        _outline(draw, boxes, (at.x, at.y), cell, p.box, width)
    win = _pick(p.window, i)
    if win is not None:
        r0, c0, r1, c1 = (float(v) for v in win)
        _rect(draw, (at.x + c0 * cell, at.y + r0 * cell, at.x + (c1 + 1) * cell,
                     at.y + (r1 + 1) * cell), p.window_kind, width)


def _base(placed: list, cell: float, t: Theme, size: tuple) -> Image.Image:
    """What every frame shares: the panel titles and the cells of the static panels."""
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    for at in placed:
        draw.text((at.x, at.y - 4), at.panel.title, fill=_rgb(INK), font=_font(t.font - 1),
                  anchor="ls")
        if _static(at.panel):
            _draw_cells(draw, at.panel, 0, at, cell, t)
    return im


def frame_images(anim: Animation, labels: GifLabels, filter_index: int = 0,
                 channel: int = 0, present: bool = False) -> list:
    """One RGB image per step of ``anim`` (the figure's frames 1…n), all the same size."""
    t = theme(present)
    width, max_height = (WIDTH * 4 // 3, MAX_HEIGHT * 4 // 3) if present else \
        (WIDTH, MAX_HEIGHT)
    panels = panels_of(anim, filter_index, channel)[0]
    n = len(anim.frames)
    headers = [_header(labels, k + 1, n, fr.caption, t, width)
               for k, fr in enumerate(anim.frames)]
    top = MARGIN + max(sum(int(font.size * 1.35) for _, font in h) for h in headers) + 8
    placed, cell, height = _layout(panels, t, width, max_height, top)
    base = _base(placed, cell, t, (width, height))
    images = []
    for k, header in enumerate(headers):
        im = base.copy()
        draw = ImageDraw.Draw(im)
        y = MARGIN
        for text, font in header:
            draw.text((MARGIN, y), text, fill=_rgb(INK), font=font)
            y += int(font.size * 1.35)
        for at in placed:
            if not _static(at.panel):
                _draw_cells(draw, at.panel, k + 1, at, cell, t)
            _draw_outlines(draw, at, k + 1, cell, t)
        images.append(im)
    return images


def _palette(im: Image.Image) -> Image.Image:
    """A palette image: the exact theme colours (white, ink, every outline) first, then
    the most frequent colours of ``im``."""
    exact = [(255, 255, 255), _rgb(INK), _EMPTY] + [_rgb(o.color) for o in OUTLINES.values()]
    exact = list(dict.fromkeys(exact))
    adaptive = im.quantize(colors=256 - len(exact), dither=Image.Dither.NONE)
    rest = adaptive.getpalette()[: 3 * (256 - len(exact))]
    pal = Image.new("P", (1, 1))
    pal.putpalette([v for rgb in exact for v in rgb] + rest)
    return pal


def animation_gif(anim: Animation, labels: GifLabels, filter_index: int = 0,
                  channel: int = 0, present: bool = False, step_ms: int = STEP_MS) -> bytes:
    """The animated GIF of ``anim`` (loops; one frame per step, the last held longer). All
    frames share the last frame's palette, so that the GIF stores only what changes."""
    frames = frame_images(anim, labels, filter_index, channel, present)
    palette = _palette(frames[-1])
    images = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in frames]
    out = io.BytesIO()
    durations = [step_ms] * (len(images) - 1) + [LAST_MS]
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=durations)
    return out.getvalue()
