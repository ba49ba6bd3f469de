"""Plotly figures assembled cheaply (issue 15): layouts written directly (no
``plotly.subplots``: building them through ``make_subplots`` costs tens of milliseconds of
server time per figure) and plain specs sent exactly as written (:func:`figure`, an
:class:`ExactFigure`), drawn once in the browser.

Without validation a spec goes to the browser exactly as written, so it must be written as
validation would have sent it: colour scales as lists (:func:`named_scale`), nested
properties as dicts (``font=dict(size=…)``, not ``font_size``); and without a template every
style a view shows is written in its builder (:func:`app.theme.figure_style`,
:func:`app.theme.streamlit_style`)."""

from __future__ import annotations

import copy
import functools
import math
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import is_skipped_key, to_typed_array_spec


#: Width of one character of tick text, in em: DejaVu Sans's digits (0.636 em, the widest of
#: the fonts a browser falls back to for Plotly's "Open Sans") rounded up.
TICK_CHAR_EM = 0.65
#: Pixels between an axis and its tick labels: the tick (``ticks="outside"``: 5) and
#: Plotly's gap before the label (3).
TICK_PAD = 8


def tick_margin(chars: float, size: float) -> int:
    """Pixels that tick labels of up to ``chars`` characters in ``size`` px need beside a
    vertical axis. A figure whose margins already hold its labels is laid out once: Plotly's
    ``automargin`` (kept, for a label wider than estimated) lays it out a second time when it
    has to push a margin — 15–30 ms of the browser per chart, measured in chromium."""
    return TICK_PAD + math.ceil(TICK_CHAR_EM * size * chars)


def index_tick_chars(lo: float, hi: float) -> float:
    """How many characters the longest whole-number tick label (a row or column number)
    inside [lo, hi] has, for :func:`tick_margin`; a minus sign counts as 1.3."""
    def chars(v: float) -> float:
        return len(str(abs(int(v)))) + (1.3 if int(v) < 0 else 0)
    return max(chars(lo), chars(hi))


def round_step(raw: float) -> tuple[float, int]:
    """The smallest round step (1, 2, 2.5 or 5 × 10^k) of at least ``raw`` > 0, as
    ``(mantissa, k)``."""
    k = math.floor(math.log10(raw))
    m = next(m for m in (1, 2, 2.5, 5, 10) if m * 10.0 ** k >= raw)
    return (1, k + 1) if m == 10 else (m, k)


def value_tick_chars(lo: float, hi: float, ticks: int = 10) -> float:
    """At most how many characters Plotly's tick labels on a value axis over [lo, hi] have
    (for :func:`tick_margin`): its ticks are multiples of a round step (:func:`round_step`)
    of at least (hi − lo) / ``ticks``, within the range padded by 5 %; a minus sign counts
    as 1.3 characters (it is wider than a digit)."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return 4
    m, k = round_step(span / ticks)
    decimals = max(0, -k + (1 if m == 2.5 else 0))       # 0.25, 2.5: one digit more
    whole = len(str(int(1.1 * max(abs(lo), abs(hi)))))
    return whole + (decimals + 1 if decimals else 0) + (1.3 if lo < 0 else 0)


#: The modes Streamlit's chart gives a chart shown with ``on_select`` (points) when its spec
#: has none (``dragmode=False`` counts as none) — in a second draw: a spec that has them
#: already is drawn once (:func:`figure`).
SELECTABLE = {"clickmode": "event+select", "dragmode": "pan", "hovermode": "closest"}


def figure(spec: dict) -> ExactFigure:
    """``spec`` (``{"data": […], "layout": {…}}``) as a figure sent exactly as written
    (:class:`ExactFigure`: no validation, no template, no copies: ~1 ms for a grid of maps,
    ~5 ms through ``go.Figure(spec, _validate=False)``, ~40 ms validated). Every builder that
    uses it has a test that validates its spec with ``go.Figure(spec)`` and checks that
    validation would send the same (tests/test_figure_specs.py,
    tests/test_explore_figures.py).

    Drawn once, not twice: Streamlit's chart draws a new figure, then (its theme step) draws
    a JSON copy of it again. Plotly finds that copy unchanged — and skips the second draw
    (500–1500 DOM mutations, 20–40 ms of the browser's main thread) — only when the layout
    has no template object (none is added here: every style is explicit; Streamlit's own
    theme, ``st.plotly_chart(…, theme="streamlit")``, adds one in the browser), a fixed
    ``datarevision`` (set here: a mounted chart's data never changes, Streamlit mounts a new
    chart when the spec changes), scatter ``x``/``y`` as plain lists (typed arrays there
    make every draw a full one: the builders write them so) and, for a chart shown with
    ``on_select``, the modes Streamlit would set (:data:`SELECTABLE`). Measured in chromium.
    Streamlit's chart also sets ``layout.width`` to its column's width after the first draw:
    free when the column is a whole number of pixels, a full redraw when it is not (Plotly
    read "261.328px" from CSS, then gets 261.328125): the page rounds every block down to a
    whole pixel (the style rule in ``app/main.py``); and free only if the chart did not grow
    its ranges to keep cells square (Plotly writes them back: use ``constrain="domain"``)."""
    spec["layout"]["datarevision"] = 1
    return ExactFigure(spec)


class ExactFigure(go.Figure):
    """A figure that is only its spec, sent exactly as written: Plotly's objects are never
    built, nothing is validated or copied and no template is added — ``to_dict()`` (all that
    ``st.plotly_chart`` and ``to_json`` read) returns the spec with its NumPy arrays as typed
    arrays, as Plotly's own ``to_dict`` would. A grid of maps costs ~1 ms instead of ~5 ms
    (or ~20 ms with the plain-list ``x``/``y`` that keep Plotly's second draw away, see
    :func:`figure`). It is a ``go.Figure`` only for the ``isinstance`` checks of Streamlit
    and ``plotly.io``: ``go.Figure.__init__`` is not run (even an empty figure costs 0.8 ms,
    three per Explore rerun), so ``.data``, ``.layout`` and the ``update_*`` methods do not
    work: read a spec through ``go.Figure(fig.to_dict())``, which also validates it (the
    tests do)."""

    def __init__(self, spec: dict):      # super().__init__ skipped on purpose (above)
        self._spec = _typed(spec)

    def to_dict(self) -> dict:
        return self._spec


#: Layout keys of a template that create a subplot of their own: written into a layout only
#: when it has that subplot already.
_SUBPLOTS = re.compile(r"^(polar|ternary|scene|geo|mapbox|map|smith)\d*$")


@functools.cache
def default_template() -> dict:
    """Plotly's default template (``plotly``) as a plain dict: what ``go.Figure`` puts into
    ``layout.template``, for :func:`inline_template`. One shared dict, read only:
    :func:`inline_template` copies every value it writes into a spec."""
    return pio.templates[pio.templates.default].to_plotly_json()


def inline_template(spec: dict) -> dict:
    """``spec`` (as ``go.Figure.to_dict()`` gives it) with its ``layout.template`` written
    into it wherever it sets nothing itself, and the template removed: the same picture,
    drawn once by Streamlit's chart instead of twice (:func:`figure`). Plotly's rules: the
    template's ``xaxis`` / ``yaxis`` style every x / y axis, ``<name>defaults`` every item of
    ``<name>s`` (shapes, annotations, …), ``data.<type>`` the traces of that type in
    turn."""
    layout = spec["layout"]
    template = layout.pop("template", None) or {}
    axes = _axis_names(spec)
    for key, value in template.get("layout", {}).items():
        if key in ("xaxis", "yaxis"):
            for axis in sorted(a for a in axes if a.startswith(key[0])):
                layout[axis] = _merged(layout.get(axis, {}), value)
        elif key.endswith("defaults"):
            for item in layout.get(key[:-len("defaults")] + "s", []):
                _merged(item, value)
        elif not _SUBPLOTS.match(key) or key in layout:
            layout[key] = _merged(layout[key], value) if isinstance(layout.get(key), dict) \
                else layout.get(key, copy.deepcopy(value))
    seen: dict = {}
    for trace in spec["data"]:
        kind = trace.get("type", "scatter")
        defaults = template.get("data", {}).get(kind)
        if defaults:
            _merged(trace, defaults[seen.get(kind, 0) % len(defaults)])
            seen[kind] = seen.get(kind, 0) + 1
    return spec


def _axis_names(spec: dict) -> set:
    """Every axis of a figure: in its layout, or referenced by a trace ("x2" → "xaxis2")."""
    names = {key for key in spec["layout"] if re.match(r"^[xy]axis\d*$", key)}
    for trace in spec["data"]:
        for ref in (trace.get("xaxis", "x"), trace.get("yaxis", "y")):
            names.add(ref[0] + "axis" + ref[1:])
    return names


def _merged(value: dict, defaults: dict) -> dict:
    """``value`` with every key of ``defaults`` it lacks (dicts merged key by key), in
    place."""
    for key, default in defaults.items():
        if key not in value:
            value[key] = copy.deepcopy(default)
        elif isinstance(value[key], dict) and isinstance(default, dict):
            _merged(value[key], default)
    return value


def _typed(value):
    """``value`` with every NumPy array replaced by Plotly's typed-array spec (what Plotly's
    ``to_dict`` sends), in place; lists are walked only while they hold dicts or lists —
    the ``x``/``y`` lists of thousands of numbers are left alone (Plotly's own walk,
    ``convert_to_base64``, visits every number: ~5 ms for a grid of maps)."""
    if isinstance(value, np.ndarray):
        return to_typed_array_spec(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if not is_skipped_key(key):              # an axis range stays a plain array
                value[key] = _typed(item)
    elif isinstance(value, list) and value and isinstance(value[0], (dict, list, np.ndarray)):
        value[:] = [_typed(item) for item in value]
    return value


@functools.cache
def named_scale(name: str) -> tuple:
    """Plotly's colour scale ``name`` (``"Viridis"``, ``"gray"``, …) as the ``((position,
    colour), …)`` its validation sends: the browser's own table of names differs (it has no
    Inferno, no gray, and other Viridis stops)."""
    return go.Heatmap(colorscale=name).colorscale       # validated once per name


def axis_ids(n: int) -> tuple:
    """``("x", "y")`` of subplot 1, ``("x2", "y2")`` of subplot 2, …"""
    suffix = "" if n == 1 else str(n)
    return f"x{suffix}", f"y{suffix}"


def subplot_grid(rows: int, cols: int, titles=(), h_space: float = 0.2,
                 v_space: float = 0.3) -> dict:
    """The layout of a ``rows × cols`` grid of subplots, numbered row by row from the top
    left, as ``plotly.subplots.make_subplots`` lays it out (axis domains and anchors, the
    ``titles`` as annotations above the subplots), written directly: building it through
    ``make_subplots`` costs tens of milliseconds. ``h_space`` / ``v_space``: fractions of
    the figure between columns / rows."""
    width = (1 - h_space * (cols - 1)) / cols
    height = (1 - v_space * (rows - 1)) / rows
    layout, notes = {}, []
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        x0, y1 = c * (width + h_space), 1 - r * (height + v_space)
        xa, ya = axis_ids(k + 1)
        layout["xaxis" + xa[1:]] = {"anchor": ya, "domain": [x0, x0 + width]}
        layout["yaxis" + ya[1:]] = {"anchor": xa, "domain": [max(y1 - height, 0.0), y1]}
        if k < len(titles):
            notes.append({"font": {"size": 16}, "showarrow": False, "text": titles[k],
                          "x": x0 + width / 2, "xanchor": "center", "xref": "paper",
                          "y": y1, "yanchor": "bottom", "yref": "paper"})
    layout["annotations"] = notes
    return layout
