"""Animate view: watch the chosen layer build its output step by step, in the browser.

The page cuts the app's input down to a small piece (8 × 8 for 2-D, 16 for 1-D, 4 × 6 × 6
for 3-D, half that for upsampling and transposed convolutions, 1–3 channels by default,
grown until the layer runs:
:func:`engine.animate.piece_sizes`; a piece whose values look alike becomes distinct
integers: :func:`engine.animate.is_flat`), computes the steps with
:func:`engine.animate.animate` and draws them with
:func:`app.figures.animation.animation_figure`: one step control, all in the browser
(play / pause, step back / forward, speed, scrubber), opening on the first step that does
something, every step captioned in words. *GIF for slides* exports the animation
(:func:`app.figures.gif.animation_gif`). A second mode shows the receptive field of one
output cell through a stack of the same layer repeated ``n`` times (pick the cell with the
number inputs or by clicking it).

Widget keys start with ``anim_``; :data:`URL_PARAMS` are the URL parameters the page owns
(``anim_size=(8, 8)``, ``anim_ch=3``, ``anim_mode=field``, ``anim_view=gather``,
``anim_gran=row``, ``anim_filter=1``, ``anim_speed=fast`` and ``anim_step=5``: the speed and
step the animation opens with, ``anim_depth=2``, ``anim_pos=(3, 4)``); ``render`` returns
their values.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app import column_width
from app.context import ViewContext
from app.figures.animation import animation_figure, receptive_figure
from app.figures.animation_controls import SPEEDS
from app.figures.animation_grid import COLUMN_PX, PRESENT_PX
from app.figures.gif import GifLabels, animation_gif
from app.state import extra_value
from engine import animate as A
from engine import shapes
from engine.geometry import AXIS_NAMES
from engine.layers import LAYER_CLASSES
from engine.layers.conv import from_channels_last, to_channels_last
from engine.stack.export import LayerSpec, layer_call

DEFAULT_SIZES = {1: (16,), 2: (8, 8), 3: (4, 6, 6)}
#: Layers whose output is larger than their input start from a smaller piece (a 4 × 4 input
#: upsampled or transposed ×2 is an 8 × 8 or 9 × 9 output, cells large enough for numbers).
GROWING_SIZES = {1: (8,), 2: (4, 4), 3: (2, 3, 3)}
MAX_SIZE = 32  # cells per axis the page offers (more when the layer needs more)
MAX_CHANNELS = 8
MAX_DEPTH = 4  # layers in the receptive-field stack
REDUCE_METHODS = {"resample": "resample the whole input (nearest)", "centre": "centre crop",
                  "corner": "top-left crop",
                  "numbers": "distinct integers 1, 2, 3, … (easy to follow)"}
GRANULARITY_LABELS = {"auto": "auto (cells, rows if too many)",
                      "cell": "one output cell per step", "row": "one row per step"}
VIEW_LABELS = {"scatter": "scatter: each input cell stamps the kernel",
               "gather": "dilate, pad, convolve"}
MODES = {"animate": "Animation", "field": "Receptive field"}
#: The URL parameters this view owns (``render`` returns their values).
URL_PARAMS = ("anim_size", "anim_ch", "anim_mode", "anim_reduce", "anim_gran", "anim_view",
              "anim_filter", "anim_speed", "anim_step", "anim_depth", "anim_pos")
#: URL parameter → (widget key, allowed values) of the choices seeded from the URL.
_CHOICES = {"anim_mode": ("anim_mode", MODES), "anim_view": ("anim_view", VIEW_LABELS),
            "anim_gran": ("anim_granularity", GRANULARITY_LABELS),
            "anim_speed": ("anim_speed", SPEEDS), "anim_reduce": ("anim_reduce", REDUCE_METHODS)}


# --------------------------------------------------------------------------- pure helpers

def shrink_input(x: np.ndarray, rank: int, data_format: str, sizes, channels: int,
                 method: str = "resample") -> np.ndarray:
    """The first sample of ``x`` cut down to ``sizes`` cells per spatial axis and the first
    ``channels`` channels, in ``x``'s layout (batch of 1, float32).

    ``method``: ``"centre"`` (centre crop), ``"corner"`` (top-left crop), ``"resample"``
    (nearest sampling over the whole extent, so the picture stays recognisable) or
    ``"numbers"`` (:func:`engine.animate.distinct_piece`, whatever ``x`` holds).
    """
    x_last = to_channels_last(np.asarray(x, dtype=np.float32)[:1], data_format)
    spatial = x_last.shape[1:-1]
    sizes = [int(max(1, min(int(m), n))) for n, m in zip(spatial, sizes)]
    c = int(max(1, min(int(channels), x_last.shape[-1])))
    if method == "numbers":
        small = A.distinct_piece(sizes, c)[None]
    else:
        index = []
        for n, m in zip(spatial, sizes):
            if method == "resample":
                idx = np.minimum(((np.arange(m) + 0.5) * n / m).astype(np.int64), n - 1)
            elif method == "corner":
                idx = np.arange(m)
            else:
                start = (n - m) // 2
                idx = np.arange(start, start + m)
            index.append(idx)
        small = x_last[np.ix_([0], *index, np.arange(c))]
    return np.ascontiguousarray(from_channels_last(small, data_format), dtype=np.float32)


@dataclass(frozen=True)
class Piece:
    """The animation's input: ``x`` (batch of 1, the layer's layout), the method that made
    it and ``note`` (why it holds distinct integers instead of the user's values, or "")."""

    x: np.ndarray
    method: str
    note: str


def animation_piece(x: np.ndarray, rank: int, data_format: str, sizes, channels: int,
                    method: str) -> Piece:
    """:func:`shrink_input`, replaced by distinct integers when its values look alike
    (:func:`engine.animate.is_flat`)."""
    small = shrink_input(x, rank, data_format, sizes, channels, method)
    if method == "numbers" or not A.is_flat(small, x):
        return Piece(small, method, "")
    return Piece(shrink_input(x, rank, data_format, sizes, channels, "numbers"), "numbers",
                 "This piece of your input is nearly uniform, so the animation shows "
                 "distinct integers instead (choose how under *Animation input*).")


def piece_bounds(layer, input_shape) -> tuple:
    """Per axis ``(smallest size the layer runs on, default size)`` of the piece."""
    rank = layer.rank
    sizes = GROWING_SIZES if layer.kind in ("upsample", "transpose") else DEFAULT_SIZES
    smallest = A.piece_sizes(layer, input_shape, (1,) * rank)
    default = A.piece_sizes(layer, input_shape, sizes[rank])
    return tuple(zip(smallest, default))


def layer_labels(layer_name: str, kwargs: dict, x_shape: tuple, out_shape: tuple) -> GifLabels:
    """What the GIF says about the layer: its line of Keras code and the shapes."""
    return GifLabels(layer_call(LayerSpec(layer_name, dict(kwargs))),
                     f"input {tuple(x_shape)} → output {tuple(out_shape)}")


def opening(anim: A.Animation, step) -> int:
    """The figure frame the animation opens on: ``anim_step`` from the URL when it is one,
    else the first step that does something."""
    n = len(anim.frames)
    return int(step) if isinstance(step, int) and 0 <= step <= n else A.opening_step(anim)


# --------------------------------------------------------------------------- state & URL

def _seed_widgets(ctx: ViewContext, rank: int) -> None:
    """URL extras → widget state, once per session (the widgets own their state after)."""
    ss = st.session_state
    if ss.get("anim_seeded"):
        return
    ex = ctx.extras or {}
    size = extra_value(ex.get("anim_size"), None)
    if isinstance(size, int):
        size = (size,) * rank
    if isinstance(size, tuple) and len(size) == rank and all(isinstance(v, int) for v in size):
        for a, v in enumerate(size):
            ss[f"anim_size_{a}"] = max(1, v)
    ch = extra_value(ex.get("anim_ch"), None)
    if isinstance(ch, int) and ch >= 1:
        ss["anim_channels"] = ch
    for url, (key, allowed) in _CHOICES.items():
        if ex.get(url) in allowed:
            ss[key] = ex[url]
    for key, hi in (("anim_filter", 10_000), ("anim_depth", MAX_DEPTH), ("anim_step", 10_000)):
        v = extra_value(ex.get(key), None)
        if isinstance(v, int) and 0 <= v <= hi:
            ss[key] = v
    pos = extra_value(ex.get("anim_pos"), None)
    if isinstance(pos, int):
        pos = (pos,)
    if isinstance(pos, tuple) and all(isinstance(v, int) for v in pos):
        for a, v in enumerate(pos):
            ss[f"anim_pos_{a}"] = max(0, v)
    ss["anim_seeded"] = True


def url_values(rank: int) -> dict[str, str]:
    """Widget state → the values of :data:`URL_PARAMS` (those of the current mode)."""
    ss = st.session_state
    values = {
        "anim_size": str(tuple(int(ss.get(f"anim_size_{a}", 1)) for a in range(rank))),
        "anim_ch": str(int(ss.get("anim_channels", 1))),
        "anim_mode": ss.get("anim_mode", "animate"),
        "anim_reduce": ss.get("anim_reduce", "resample"),
    }
    if values["anim_mode"] == "animate":
        values.update(anim_gran=ss.get("anim_granularity", "auto"),
                      anim_filter=str(int(ss.get("anim_filter", 0))))
        for key in ("anim_speed", "anim_view"):
            if key in ss:
                values[key] = ss[key]
        if "anim_step" in ss:
            values["anim_step"] = str(int(ss["anim_step"]))
    else:
        values.update(anim_depth=str(int(ss.get("anim_depth", 1))),
                      anim_pos=str(tuple(int(ss.get(f"anim_pos_{a}", 0))
                                         for a in range(rank))))
    return values


def _clamp(key: str, lo: int, hi: int, default: int) -> None:
    """Keep a widget's stored value inside its (possibly changed) range."""
    ss = st.session_state
    v = ss.get(key, default)
    try:
        v = int(v)
    except (TypeError, ValueError):
        v = default
    ss[key] = int(min(max(v, lo), hi))


def _present() -> bool:
    """Presentation mode (``present=1``, the sidebar's toggle)."""
    return bool(st.session_state.get("present"))


# --------------------------------------------------------------------------- cached work

@st.cache_data(max_entries=8, show_spinner="Computing the steps…")
def _animation(layer_name: str, kwargs: dict, weights: list, x: np.ndarray,
               granularity: str, view: str):
    layer = LAYER_CLASSES[layer_name](**kwargs)
    layer.build(x.shape)
    if weights:
        layer.set_weights(weights)
    return A.animate(layer, x, granularity=granularity, view=view)


@st.cache_data(max_entries=4, show_spinner=False)
def _gif(layer_name: str, kwargs: dict, weights: list, x: np.ndarray, granularity: str,
         view: str, display: int, channel: int, present: bool) -> bytes:
    """The GIF of an animation (built when the download button is clicked, then cached)."""
    anim = _animation(layer_name, kwargs, weights, x, granularity, view)
    labels = layer_labels(layer_name, kwargs, x.shape, anim.output.shape)
    return animation_gif(anim, labels, display, channel, present)


@st.cache_data(max_entries=16, show_spinner=False)
def _levels(layer_name: str, kwargs: dict, depth: int, input_shape: tuple, index: tuple):
    layers = [LAYER_CLASSES[layer_name](**kwargs) for _ in range(depth)]
    return A.contribution_levels(layers, input_shape, index)


def _stable_weights(ctx: ViewContext, layer, x_small) -> list:
    """The layer's weights, kept across reruns when they come from a random initializer
    (so that changing the displayed filter does not draw new weights)."""
    weights = layer.get_weights()
    if ctx.weights_mode != "init" or not weights:
        return weights
    store = st.session_state.setdefault("anim_weights", {})
    key = hashlib.sha1(repr((ctx.layer_name, sorted(ctx.kwargs.items()), x_small.shape))
                       .encode()).hexdigest()
    if key not in store or [w.shape for w in store[key]] != [w.shape for w in weights]:
        if len(store) > 16:
            store.clear()
        store[key] = weights
    return store[key]


# --------------------------------------------------------------------------- explanations

def _pairs(pads) -> str:
    return ", ".join(f"({b}, {a})" for b, a in pads)


def _conv_lines(anim: A.Animation) -> list:
    m, kind = anim.meta, anim.kind
    pads = m.pads
    pad_text = {
        "valid": "no padding (valid)",
        "same": "`same` padding: zeros (before, after) per axis = "
                f"{_pairs([(b, max(a, 0)) for b, a in pads])}; TensorFlow puts the odd "
                "extra zero at the end",
        "causal": f"`causal` padding: {pads[0][0]} zeros on the left only, so no output "
                  "sees the future",
    }[m.padding]
    lines = [f"Input {m.input_shape} → output {m.output_shape}: {pad_text}. "
             f"Kernel {m.kernel_size}, strides {m.strides}, dilation {m.dilation_rate}"
             + (" (the gaps between the outlined taps)" if max(m.dilation_rate) > 1 else "")
             + "."]
    unused = int((m.input_category == A.UNUSED).sum())
    if unused:
        lines.append(f"{unused} input cell{'s are' if unused != 1 else ' is'} never read "
                     "(darkened, *never read* in the legend): the stride / valid padding "
                     "skips them.")
    if kind == "conv" and m.groups > 1:
        fg = len(m.group_map) // m.groups
        parts = [f"filters {k * fg}–{k * fg + fg - 1} ← channels "
                 f"{m.group_map[k * fg][0]}–{m.group_map[k * fg][-1]}"
                 for k in range(m.groups)]
        lines.append(f"groups={m.groups}: " + "; ".join(parts) + ".")
    if kind in ("depthwise", "separable"):
        lines.append(f"Depthwise: each input channel has its own {m.depth_multiplier} "
                     "kernel(s); output channel c·M + m is channel c with kernel m.")
    if kind == "separable":
        lines.append("Then the 1×1 pointwise stage mixes the depthwise channels into the "
                     "filters (the second half of the steps).")
    return lines


def _transpose_lines(anim: A.Animation) -> list:
    m = anim.meta
    if anim.view == "scatter":
        cut = (f"The canvas is cut by {m.crop} cells at the start and {m.crop_after} at "
               f"the end (*cut by same padding*) to give {m.output_shape}."
               if any(m.crop) or any(m.crop_after) else
               f"Nothing is cut ({m.padding} padding): the canvas is the output "
               f"{m.output_shape}.")
        lines = ["Scatter view: every input cell multiplies the whole kernel and adds it "
                 "into the output canvas at stride spacing; overlapping stamps sum. " + cut]
    else:
        lines = ["Gather view (the same numbers): put strides − 1 zeros between input cells "
                 f"(*inserted zero*), pad with {m.dilated_before} zeros before (*padding "
                 "zero*; the rest after), then slide the flipped kernel with stride 1."]
    if m.output_padding is not None:
        lines.append(f"output_padding={tuple(m.output_padding)} adds cells at the end of "
                     "each axis (*output_padding* when no stamp reaches them: they only get "
                     "the bias).")
    return lines


def explain(anim: A.Animation) -> str:
    """A few sentences on what the animation shows, with this configuration's numbers."""
    m, kind = anim.meta, anim.kind
    if kind in ("conv", "depthwise", "separable"):
        lines = _conv_lines(anim)
    elif kind == "transpose":
        lines = _transpose_lines(anim)
    elif kind == "zeropad":
        lines = [f"Zeros added (before, after) per axis: {_pairs(m.padding)}."]
    elif kind == "crop":
        lines = [f"Cells removed (before, after) per axis: {_pairs(m.cropping)}; the "
                 "long-dashed outline is the block the crop keeps."]
    elif kind == "upsample":
        lines = [f"Nearest upsampling repeats every cell {m.size} times."]
    else:
        lines = [f"{m.interpolation}: each output cell is a weighted sum of nearby input "
                 "cells (weights in the middle panel and in the step's caption; indices "
                 "beyond the border read the edge cell)."]
    return "  \n".join(lines)


# --------------------------------------------------------------------------- render

def _piece_widgets(ctx: ViewContext) -> tuple:
    """The *Animation input* expander: ``(sizes, channels, method)``."""
    ss, rank = st.session_state, ctx.rank
    spatial = ctx.geometry.in_spatial
    channels = ctx.geometry.in_channels
    groups = int(ctx.kwargs.get("groups", 1) or 1)
    bounds = piece_bounds(ctx.layer, tuple(ctx.x.shape))
    with st.expander("Animation input: a small piece of your input", expanded=False):
        cols = st.columns(rank + 2)
        sizes = []
        for a, (name, (lo, default)) in enumerate(zip(AXIS_NAMES[rank], bounds)):
            hi = max(lo, min(spatial[a], MAX_SIZE))
            _clamp(f"anim_size_{a}", lo, hi, default)
            sizes.append(cols[a].number_input(
                name, min_value=lo, max_value=hi, step=1, key=f"anim_size_{a}",
                help=f"At least {lo}: the smallest size this layer runs on." if lo > 1
                else None))
        options = [c for c in range(1, min(channels, MAX_CHANNELS) + 1) if c % groups == 0] \
            or [channels]
        default_ch = next((c for c in options if c >= min(channels, 3)), options[-1])
        if ss.get("anim_channels") not in options:
            ss["anim_channels"] = default_ch
        n_ch = cols[rank].selectbox("channels", options, key="anim_channels")
        method = cols[rank + 1].selectbox("values", list(REDUCE_METHODS), key="anim_reduce",
                                          format_func=REDUCE_METHODS.get)
    return sizes, n_ch, method


def render(ctx: ViewContext) -> dict[str, str]:
    """The Animate page; returns the values of its :data:`URL_PARAMS`."""
    rank = ctx.rank
    _seed_widgets(ctx, rank)
    st.subheader(f"Animate {ctx.layer_name}: every step, computed")
    picture = st.container()  # the figure comes first; the widgets that shape it below
    mode = st.radio("Show", list(MODES), key="anim_mode", format_func=MODES.get,
                    horizontal=True)
    sizes, n_ch, method = _piece_widgets(ctx)
    piece = animation_piece(ctx.x, rank, ctx.data_format, sizes, n_ch, method)
    try:
        small_ctx = ViewContext(ctx.layer_name, ctx.kwargs, piece.x, ctx.input_label,
                                weights_mode=ctx.weights_mode, custom=ctx.custom)
        layer = small_ctx.built
    except ValueError as exc:
        st.error(f"This layer cannot run on the animation input {piece.x.shape}: {exc}")
        return url_values(rank)
    out_shape = small_ctx.geometry.out_shape
    st.caption(f"Animation input {tuple(piece.x.shape)} (from {ctx.input_label}, "
               f"{tuple(ctx.x.shape)}) → output {tuple(out_shape)}. "
               + (piece.note + " " if piece.note else "")
               + "Open *Animation input* to change its size or values.")
    if mode == "animate":
        _render_animation(ctx, layer, piece.x, picture)
    else:
        _render_field(ctx, piece.x, picture)
    return url_values(rank)


def _channel_inputs(cols, kind: str, rank: int, in_channels: int, out_channels: int) -> tuple:
    """``(output channel shown, input channel shown)`` number inputs."""
    if kind in ("conv", "depthwise", "separable", "transpose"):
        _clamp("anim_filter", 0, out_channels - 1, 0)
        display = cols[2].number_input("Show output channel", 0, out_channels - 1, step=1,
                                       key="anim_filter")
        channel = 0
        if rank == 3 and in_channels > 1:
            _clamp("anim_channel", 0, in_channels - 1, 0)
            channel = cols[3].number_input("Show input channel", 0, in_channels - 1, step=1,
                                           key="anim_channel")
        return int(display), int(channel)
    _clamp("anim_filter", 0, in_channels - 1, 0)
    return 0, int(cols[2].number_input("Show channel", 0, in_channels - 1, step=1,
                                       key="anim_filter"))


def _render_animation(ctx: ViewContext, layer, x_small: np.ndarray, picture) -> None:
    """The animation's widgets here, its figure (and what it shows) in ``picture``."""
    ss, rank, kind = st.session_state, ctx.rank, ctx.kind
    cols = st.columns(4)
    granularity = cols[0].selectbox("Step size", list(GRANULARITY_LABELS),
                                    key="anim_granularity", format_func=GRANULARITY_LABELS.get)
    view = "scatter"
    if kind == "transpose":
        view = cols[1].radio("Transposed convolution as", list(VIEW_LABELS), key="anim_view",
                             format_func=VIEW_LABELS.get)
    _, _, in_channels = shapes.split_shape(x_small.shape, rank, ctx.data_format)
    _, _, out_channels = shapes.split_shape(layer.compute_output_shape(x_small.shape), rank,
                                            ctx.data_format)
    display, channel = _channel_inputs(cols, kind, rank, in_channels, out_channels)
    weights = _stable_weights(ctx, layer, x_small)
    try:
        anim = _animation(ctx.layer_name, dict(ctx.kwargs), weights, x_small, granularity,
                          view)
    except ValueError as exc:
        st.warning(f"{exc}")
        return
    present = _present()
    with picture:
        fig = animation_figure(anim, filter_index=display, channel=channel,
                               duration=SPEEDS[ss.get("anim_speed", "normal")],
                               active=opening(anim, ss.get("anim_step")),
                               max_width=column_width.fit(PRESENT_PX if present else COLUMN_PX),
                               max_height=700 if present else 1500, present=present)
        st.plotly_chart(fig, key="anim_chart", width="content", theme=None,
                        config={"displayModeBar": False, "scrollZoom": False})
        st.caption(f"{len(anim.frames)} steps ({anim.granularity} granularity; at most "
                   f"{A.MAX_FRAMES}). Above the picture: ▶ Play / ❚❚ Pause, ◀ Back / "
                   "Forward ▶ (one step), the speed and the step slider, all in your browser; "
                   "the legend names every outline and fill.")
        st.markdown(explain(anim))
        _gif_button(ctx, weights, x_small, granularity, view, display, channel, present)


def _gif_button(ctx: ViewContext, weights, x_small, granularity, view, display, channel,
                present) -> None:
    """The GIF download: built when clicked (then cached), not on every rerun."""
    build = functools.partial(_gif, ctx.layer_name, dict(ctx.kwargs), weights, x_small,
                              granularity, view, display, channel, present)
    st.download_button("Download as GIF (for slides)", data=build,
                       file_name=f"{ctx.layer_name}_animation.gif", mime="image/gif",
                       key="anim_gif", on_click="ignore",
                       help="Every step as one frame, labelled with the layer's Keras code, "
                            "its shapes and the step's caption.")


def _render_field(ctx: ViewContext, x_small: np.ndarray, picture) -> None:
    """The receptive-field mode's widgets here, its figure in ``picture``."""
    rank = ctx.rank
    _clamp("anim_depth", 1, MAX_DEPTH, 1)
    depth = st.number_input("Layers in the stack (the same layer repeated)", 1, MAX_DEPTH,
                            step=1, key="anim_depth")
    shape = tuple(x_small.shape)
    try:
        for _ in range(int(depth)):
            shape = tuple(LAYER_CLASSES[ctx.layer_name](**ctx.kwargs).compute_output_shape(shape))
    except ValueError as exc:
        st.error(f"{int(depth)} × {ctx.layer_name} does not fit the animation input: {exc}")
        return
    _, out_spatial, _ = shapes.split_shape(shape, rank, ctx.data_format)
    if min(out_spatial) <= 0:
        st.warning(f"The stack's output {shape} is empty.")
        return
    _pick_clicked_cell(rank)
    cols = st.columns(rank)
    index = []
    for a, name in enumerate(AXIS_NAMES[rank]):
        _clamp(f"anim_pos_{a}", 0, out_spatial[a] - 1, out_spatial[a] // 2)
        index.append(int(cols[a].number_input(
            f"output cell: {name[:-1]}", 0, out_spatial[a] - 1, step=1, key=f"anim_pos_{a}")))
    try:
        levels = _levels(ctx.layer_name, dict(ctx.kwargs), int(depth), tuple(x_small.shape),
                         tuple(index))
    except ValueError as exc:
        st.error(str(exc))
        return
    names = ["input"] + [f"after {ctx.layer_name} #{k}" for k in range(1, int(depth))] + \
        [f"output of layer {int(depth)}"]
    with picture:
        fig = receptive_figure(levels, names, max_width=column_width.fit(COLUMN_PX),
                               present=_present())
        st.plotly_chart(fig,
                        key="anim_rf_chart", on_select="rerun", selection_mode="points",
                        width="content", theme=None, config={"displayModeBar": False})
        _field_text(levels, tuple(index))


def _pick_clicked_cell(rank: int) -> None:
    """A click on the output level of the receptive-field figure picks the cell."""
    ss = st.session_state
    event = ss.get("anim_rf_chart")
    try:
        points = event["selection"]["points"] if event else []
    except (KeyError, TypeError):
        points = []
    if not points:
        return
    cd = points[0].get("customdata")
    if isinstance(cd, (list, tuple)) and len(cd) == rank and cd != ss.get("anim_rf_click"):
        for a, v in enumerate(cd):
            ss[f"anim_pos_{a}"] = int(v)
        ss["anim_rf_click"] = list(cd)


def _field_text(levels, index: tuple) -> None:
    cmap = levels.maps[0]
    touched = int((cmap != 0).sum())
    st.markdown(
        f"Output cell {index} depends on **{touched}** of the {cmap.size} input cells; "
        f"the counts (how many paths of all-ones kernels lead from a cell to the output, "
        f"summed over channels) add up to {float(cmap.sum()):g}, the largest is "
        f"{cmap.max():g}. Click a cell of the last panel to pick another output cell."
        + (" Upsampling interpolation weights count as they are, so counts may be fractions."
           if not np.allclose(cmap, np.round(cmap)) else ""))
    st.caption("Computed by `engine.receptive.contribution_map` (gradient with weights 1, "
               "biases 0, no activation).")
