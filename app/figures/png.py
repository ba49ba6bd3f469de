"""PNG pictures for slides, drawn with Pillow (no browser, no kaleido): pure functions of
arrays returning PNG bytes.

:func:`panel_png` is Explore's panel as conv_arithmetic draws it, for any arguments: the
input (padded when the layer pads) with the window the selected output cell reads, the
kernel with its numbers, the output with that cell, labelled with the layer's line of Keras
code and the shapes. :func:`maps_png` tiles feature maps into one grayscale picture.
Colours and outline styles are :mod:`app.theme`'s; dashed outlines are dashed here too.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app import theme as T

#: Size of :func:`panel_png`'s picture (16:9 at slide resolution).
PANEL_SIZE = (1600, 900)
_BOX = 440           # side of each picture's square
_TOP = 150           # header height (code line, shape line)
_GRID_PX = 10        # cells at least this large get grid lines
_NUMBER_PX = 44      # cells at least this large get their numbers


@dataclass(frozen=True)
class Panel:
    """One picture of the panel: ``values`` (rows, cols) or RGB (rows, cols, 3) in [0, 1];
    ``label`` under it; ``boxes``: ``{outline kind: (r0, c0, r1, c1)}``; ``numbers``: write
    the values in the cells when they are large enough; ``diverging``: signed values
    centred on 0."""

    values: np.ndarray
    label: str
    boxes: dict
    numbers: bool = False
    diverging: bool = False


#: A system font with arrows and dashes (Debian's fonts-dejavu), else Pillow's own font,
#: which lacks them: then the text is written with ASCII stand-ins.
_FONT_FILE = "DejaVuSans.ttf"
_ASCII = str.maketrans({"→": "->", "–": "-", "−": "-", "·": "*", "×": "x", "…": "..."})


def _font(size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(_FONT_FILE, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _say(text: str, font: ImageFont.FreeTypeFont) -> str:
    """``text`` as ``font`` can draw it."""
    return text if _FONT_FILE in str(getattr(font, "path", "")) else text.translate(_ASCII)


def _write(draw: ImageDraw.ImageDraw, xy, text: str, size: int, fill=T.INK, **kw) -> None:
    """Text at ``xy`` in the panel's font."""
    font = _font(size)
    draw.text(xy, _say(text, font), fill=fill, font=font, **kw)


def _rgb(values: np.ndarray, diverging: bool) -> np.ndarray:
    """A map → RGB uint8 in the app's colours (:func:`app.theme.colour_map`: signed values
    centred on 0, else over their range); RGB images as they are, clipped to [0, 1]."""
    v = np.asarray(values, np.float64)
    if v.ndim == 3:
        return (np.clip(v, 0, 1) * 255).astype(np.uint8)
    if diverging:
        m = float(np.nanmax(np.abs(v))) if v.size else 0.0
        return T.colour_map(v, (-(m or 1.0), m or 1.0), T.DIVERGING)
    lo, hi = (float(np.nanmin(v)), float(np.nanmax(v))) if v.size else (0.0, 1.0)
    return T.colour_map(v, (lo, hi if hi > lo else lo + 1.0), T.SEQUENTIAL)


def _scale(rows: int, cols: int) -> tuple[float, float]:
    """Pixels per cell (x, y) fitting a map into the square; a 1-row signal gets a band."""
    s = min(_BOX / cols, _BOX / rows)
    return s, (min(_BOX, max(s, 60.0)) if rows == 1 else s)


def _dashed(draw: ImageDraw.ImageDraw, xy: tuple, color, width: int, dash: int) -> None:
    """A rectangle outline of dashes ``dash`` px long (solid when ``dash`` is 0)."""
    x0, y0, x1, y1 = xy
    if not dash:
        draw.rectangle(xy, outline=color, width=width)
        return
    for a, b, fixed, horizontal in ((x0, x1, y0, True), (x0, x1, y1, True),
                                    (y0, y1, x0, False), (y0, y1, x1, False)):
        p = a
        while p < b:
            q = min(p + dash, b)
            seg = (p, fixed, q, fixed) if horizontal else (fixed, p, fixed, q)
            draw.line(seg, fill=color, width=width)
            p += 2 * dash


_DASH_PX = {"solid": 0, "dash": 14, "longdash": 22, "dot": 5, "dashdot": 9}


def _draw_panel(canvas: Image.Image, panel: Panel, left: int, top: int) -> None:
    """One picture in its square at (left, top), with grid, numbers, boxes and label."""
    draw = ImageDraw.Draw(canvas)
    rows, cols = panel.values.shape[:2]
    sx, sy = _scale(rows, cols)
    w, h = max(1, round(cols * sx)), max(1, round(rows * sy))
    x0, y0 = left + (_BOX - w) // 2, top + (_BOX - h) // 2
    img = Image.fromarray(_rgb(panel.values, panel.diverging)).resize(
        (w, h), Image.Resampling.NEAREST)
    canvas.paste(img, (x0, y0))
    if min(sx, sy) >= _GRID_PX:
        for c in range(cols + 1):
            draw.line((x0 + round(c * sx), y0, x0 + round(c * sx), y0 + h), fill="#FFFFFF")
        for r in range(rows + 1):
            draw.line((x0, y0 + round(r * sy), x0 + w, y0 + round(r * sy)), fill="#FFFFFF")
    if panel.numbers and min(sx, sy) >= _NUMBER_PX and panel.values.ndim == 2:
        texts = [[f"{float(v):.3g}" for v in row] for row in panel.values]
        longest = max(len(x) for row in texts for x in row)
        size = max(12, int(min(sy / 3, 0.85 * sx / (0.62 * longest))))
        for r, row in enumerate(texts):
            for c, text in enumerate(row):
                _write(draw, (x0 + (c + 0.5) * sx, y0 + (r + 0.5) * sy), text, size,
                       anchor="mm")
    draw.rectangle((x0 - 1, y0 - 1, x0 + w, y0 + h), outline="#000000", width=1)
    for kind, (r0, c0, r1, c1) in panel.boxes.items():
        o = T.OUTLINES[kind]
        _dashed(draw, (x0 + c0 * sx, y0 + r0 * sy, x0 + (c1 + 1) * sx, y0 + (r1 + 1) * sy),
                T.rgb(o.color), 5, _DASH_PX.get(o.dash, 12))
    _write(draw, (left + _BOX // 2, top + _BOX + 18), panel.label, 26, anchor="mt")


def _legend(draw: ImageDraw.ImageDraw, kinds: list, y: int) -> None:
    """Line sample + label of every outline kind drawn, in one row."""
    x = 60
    font = _font(24)
    for kind in kinds:
        o = T.OUTLINES[kind]
        _dashed(draw, (x, y, x + 60, y + 22), T.rgb(o.color), 5, _DASH_PX.get(o.dash, 12))
        _write(draw, (x + 74, y + 11), o.label, 24, anchor="lm")
        x += 74 + int(draw.textlength(o.label, font=font)) + 50


def panel_png(panels: list[Panel], header: tuple[str, str], footer: str) -> bytes:
    """Explore's panel as a :data:`PANEL_SIZE` PNG: ``panels`` (input, kernel, output — two
    when the layer has no kernel) left to right with arrows between them, ``header`` (the
    line of Keras code, the shapes) above and ``footer`` (the link sentence) below."""
    canvas = Image.new("RGB", PANEL_SIZE, "white")
    draw = ImageDraw.Draw(canvas)
    _write(draw, (60, 36), header[0], 40)
    _write(draw, (60, 94), header[1], 28, fill="#333333")
    n = len(panels)
    gap = (PANEL_SIZE[0] - n * _BOX) / (n + 1)
    for i, panel in enumerate(panels):
        left = round(gap + i * (_BOX + gap))
        _draw_panel(canvas, panel, left, _TOP)
        if i:
            _write(draw, (left - gap / 2, _TOP + _BOX // 2), "→", 60, anchor="mm")
    kinds = list(dict.fromkeys(k for p in panels for k in p.boxes))
    _legend(draw, kinds, _TOP + _BOX + 70)
    _write(draw, (60, _TOP + _BOX + 130), footer, 30)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def maps_png(maps: np.ndarray, shared: bool = True, max_cols: int = 4, scale: int = 1) -> bytes:
    """Feature maps ``(channels, rows, cols)`` tiled into one grayscale PNG (1-px gaps)."""
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
