"""Animate view: watch the chosen layer build its output step by step, in the browser.

The page shrinks the app's input to a few cells per axis (animations need small inputs:
8 × 8 for 2-D, 16 for 1-D, 4 × 6 × 6 for 3-D, 1–3 channels by default), computes the steps
with :func:`engine.animate.animate` and draws them with
:func:`app.figures.animation.animation_figure`, whose Plotly frames play client-side (play,
pause, speed buttons, a slider to scrub or step). A second mode shows the receptive field of
one output cell through a stack of the same layer repeated ``n`` times (pick the cell with
the number inputs or by clicking it).

Widget keys start with ``anim_``; their values are mirrored in the URL (``anim_size=(8, 8)``,
``anim_ch=3``, ``anim_mode=field``, ``anim_view=gather``, ``anim_gran=row``,
``anim_filter=1``, ``anim_speed=fast``, ``anim_depth=2``, ``anim_pos=(3, 4)``).
"""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import streamlit as st

from app.state import extra_value

from app.figures.animation import SPEEDS, animation_figure, receptive_figure
from engine import animate as A
from engine.layers import LAYER_CLASSES
from engine.layers.conv import from_channels_last, to_channels_last

DEFAULT_SIZES = {1: (16,), 2: (8, 8), 3: (4, 6, 6)}
MAX_SIZE = 32  # cells per axis the page offers
MAX_CHANNELS = 8
MAX_DEPTH = 4  # layers in the receptive-field stack
REDUCE_METHODS = {"resample": "resample the whole input (nearest)", "centre": "centre crop",
                  "corner": "top-left crop"}
GRANULARITY_LABELS = {"auto": "auto (cells, rows if too many)",
                      "cell": "one output cell per step", "row": "one row per step"}
VIEW_LABELS = {"scatter": "scatter: each input cell stamps the kernel",
               "gather": "dilate, pad, convolve"}
MODES = {"animate": "Animation", "field": "Receptive field"}


# --------------------------------------------------------------------------- pure helpers

def shrink_input(x: np.ndarray, rank: int, data_format: str, sizes, channels: int,
                 method: str = "resample") -> np.ndarray:
    """The first sample of ``x`` cut down to ``sizes`` cells per spatial axis and the first
    ``channels`` channels, in ``x``'s layout (batch of 1, float32).

    ``method``: ``"centre"`` (centre crop), ``"corner"`` (top-left crop) or ``"resample"``
    (nearest sampling over the whole extent, so the picture stays recognisable).
    """
    x_last = to_channels_last(np.asarray(x, dtype=np.float32)[:1], data_format)
    spatial = x_last.shape[1:-1]
    index = []
    for n, m in zip(spatial, sizes):
        m = int(max(1, min(int(m), n)))
        if method == "resample":
            idx = np.minimum(((np.arange(m) + 0.5) * n / m).astype(np.int64), n - 1)
        elif method == "corner":
            idx = np.arange(m)
        else:
            start = (n - m) // 2
            idx = np.arange(start, start + m)
        index.append(idx)
    c = int(max(1, min(int(channels), x_last.shape[-1])))
    small = x_last[np.ix_([0], *index, np.arange(c))]
    return np.ascontiguousarray(from_channels_last(small, data_format), dtype=np.float32)


def _data_format(layer_name: str, kwargs: dict) -> str:
    try:
        return getattr(LAYER_CLASSES[layer_name](**kwargs), "data_format", "channels_last")
    except ValueError:
        return "channels_last"


def _split(x: np.ndarray, rank: int, data_format: str):
    if data_format == "channels_last":
        return tuple(x.shape[1:-1]), int(x.shape[-1])
    return tuple(x.shape[2:]), int(x.shape[1])




# --------------------------------------------------------------------------- state & URL

def _seed_widgets(ctx, rank: int) -> None:
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
            ss[f"anim_size_{a}"] = max(1, min(v, MAX_SIZE))
    ch = extra_value(ex.get("anim_ch"), None)
    if isinstance(ch, int) and ch >= 1:
        ss["anim_channels"] = ch
    for key, url, allowed in (("anim_mode", "anim_mode", MODES),
                              ("anim_view", "anim_view", VIEW_LABELS),
                              ("anim_granularity", "anim_gran", GRANULARITY_LABELS),
                              ("anim_speed", "anim_speed", SPEEDS),
                              ("anim_reduce", "anim_reduce", REDUCE_METHODS)):
        value = ex.get(url)
        if value in allowed:
            ss[key] = value
    for key, url, hi in (("anim_filter", "anim_filter", 10_000),
                         ("anim_depth", "anim_depth", MAX_DEPTH)):
        v = extra_value(ex.get(url), None)
        if isinstance(v, int) and 0 <= v <= hi:
            ss[key] = v
    pos = extra_value(ex.get("anim_pos"), None)
    if isinstance(pos, int):
        pos = (pos,)
    if isinstance(pos, tuple) and all(isinstance(v, int) for v in pos):
        for a, v in enumerate(pos):
            ss[f"anim_pos_{a}"] = max(0, v)
    ss["anim_seeded"] = True


def _write_url(rank: int) -> None:
    """Widget state → the router's URL extras (``st.session_state["extras"]``)."""
    ss = st.session_state
    extras = ss.get("extras")
    if not isinstance(extras, dict):
        return
    values = {
        "anim_size": str(tuple(int(ss.get(f"anim_size_{a}", 1)) for a in range(rank))),
        "anim_ch": str(int(ss.get("anim_channels", 1))),
        "anim_mode": ss.get("anim_mode", "animate"),
        "anim_reduce": ss.get("anim_reduce", "resample"),
    }
    if values["anim_mode"] == "animate":
        values.update(anim_gran=ss.get("anim_granularity", "auto"),
                      anim_speed=ss.get("anim_speed", "normal"),
                      anim_filter=str(int(ss.get("anim_filter", 0))))
        if "anim_view" in ss:
            values["anim_view"] = ss["anim_view"]
    else:
        values.update(anim_depth=str(int(ss.get("anim_depth", 1))),
                      anim_pos=str(tuple(int(ss.get(f"anim_pos_{a}", 0))
                                         for a in range(rank))))
    for k, v in values.items():
        if extras.get(k) != v:
            extras[k] = v


def _clamp(key: str, lo: int, hi: int, default: int) -> None:
    """Keep a widget's stored value inside its (possibly changed) range."""
    ss = st.session_state
    v = ss.get(key, default)
    try:
        v = int(v)
    except (TypeError, ValueError):
        v = default
    ss[key] = int(min(max(v, lo), hi))


# --------------------------------------------------------------------------- cached work

@st.cache_data(max_entries=8, show_spinner="Computing the steps…")
def _animation(layer_name: str, kwargs: dict, weights: list, x: np.ndarray,
               granularity: str, view: str):
    layer = LAYER_CLASSES[layer_name](**kwargs)
    layer.build(x.shape)
    if weights:
        layer.set_weights(weights)
    return A.animate(layer, x, granularity=granularity, view=view)


@st.cache_data(max_entries=16, show_spinner=False)
def _levels(layer_name: str, kwargs: dict, depth: int, input_shape: tuple, index: tuple):
    layers = [LAYER_CLASSES[layer_name](**kwargs) for _ in range(depth)]
    return A.contribution_levels(layers, input_shape, index)


def _stable_weights(ctx, layer, x_small) -> list:
    """The layer's weights, kept across reruns when they come from a random initializer
    (so that changing the displayed filter does not draw new weights)."""
    weights = layer.get_weights()
    if getattr(ctx, "weights_mode", "init") != "init" or not weights:
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


def explain(anim: A.Animation) -> str:
    """A few sentences on what the animation shows, with this configuration's numbers."""
    m = anim.meta
    kind = anim.kind
    lines = []
    if kind in ("conv", "depthwise", "separable"):
        pads = m.pads
        pad_text = {
            "valid": "no padding (valid)",
            "same": "`same` padding: zeros (before, after) per axis = "
                    f"{_pairs([(b, max(a, 0)) for b, a in pads])}; TensorFlow puts the odd "
                    "extra zero at the end",
            "causal": f"`causal` padding: {pads[0][0]} zeros on the left only, so no output sees the future",
        }[m.padding]
        lines.append(f"Input {m.input_shape} → output {m.output_shape}: {pad_text}. "
                     f"Kernel {m.kernel_size}, strides {m.strides}, "
                     f"dilation {m.dilation_rate}"
                     + (" (the gaps between the outlined taps)" if max(m.dilation_rate) > 1
                        else "") + ".")
        unused = int((m.input_category == A.UNUSED).sum())
        if unused:
            lines.append(f"{unused} input cell{'s are' if unused != 1 else ' is'} never read "
                         "(darkened): the stride / valid padding skips them.")
        if kind == "conv" and m.groups > 1:
            g = m.groups
            fg = len(m.group_map) // g
            parts = [f"filters {k * fg}–{k * fg + fg - 1} ← channels "
                     f"{m.group_map[k * fg][0]}–{m.group_map[k * fg][-1]}"
                     for k in range(g)]
            lines.append(f"groups={g}: " + "; ".join(parts) + ".")
        if kind in ("depthwise", "separable"):
            lines.append(f"Depthwise: each input channel has its own {m.depth_multiplier} "
                         "kernel(s); output channel c·M + m is channel c with kernel m.")
        if kind == "separable":
            lines.append("Then the 1×1 pointwise stage mixes the depthwise channels into the "
                         "filters (the second half of the steps).")
    elif kind == "transpose":
        crop = m.crop
        if anim.view == "scatter":
            lines.append("Scatter view: every input cell multiplies the whole kernel and adds "
                         "it into the output canvas at stride spacing; overlapping stamps sum. "
                         f"The canvas is cut by {crop} cells at the start and "
                         f"{m.crop_after} at the end (grey) to give {m.output_shape}.")
        else:
            lines.append("Gather view (the same numbers): put strides − 1 zeros between input "
                         f"cells (yellow), pad with {m.dilated_before} zeros before "
                         "(grey; the rest after), then slide the flipped kernel with stride 1.")
        op = m.output_padding
        if op is not None:
            lines.append(f"output_padding={tuple(op)} adds cells at the end of each axis "
                         "(pink when no stamp reaches them: they only get the bias).")
    elif kind == "zeropad":
        lines.append(f"Zeros added (before, after) per axis: {_pairs(m.padding)}.")
    elif kind == "crop":
        lines.append(f"Cells removed (before, after) per axis: {_pairs(m.cropping)}.")
    elif kind == "upsample":
        lines.append(f"Nearest upsampling repeats every cell {m.size} times.")
    else:
        lines.append(f"{m.interpolation}: each output cell is a weighted sum of nearby input "
                     "cells (weights shown in the middle panel; indices beyond the border "
                     "read the edge cell).")
    return "  \n".join(lines)


# --------------------------------------------------------------------------- render

def render(ctx) -> None:
    layer_name = ctx.layer_name
    cls = LAYER_CLASSES[layer_name]
    rank = cls.rank
    fmt = _data_format(layer_name, ctx.kwargs)
    _seed_widgets(ctx, rank)
    ss = st.session_state
    st.subheader(f"Animate {layer_name}: every step, computed")

    spatial, channels = _split(ctx.x, rank, fmt)
    groups = int(ctx.kwargs.get("groups", 1) or 1)
    with st.expander("Animation input: a small piece of your input", expanded=False):
        cols = st.columns(rank + 2)
        sizes = []
        for a in range(rank):
            hi = max(1, min(spatial[a], MAX_SIZE))
            _clamp(f"anim_size_{a}", 1, hi, min(spatial[a], DEFAULT_SIZES[rank][a]))
            sizes.append(cols[a].number_input(
                ["length", "rows", "columns"][a] if rank == 1 else
                (["rows", "columns"][a] if rank == 2 else ["depth", "rows", "columns"][a]),
                min_value=1, max_value=hi, step=1, key=f"anim_size_{a}"))
        options = [c for c in range(1, min(channels, MAX_CHANNELS) + 1) if c % groups == 0] \
            or [channels]
        default_ch = next((c for c in options if c >= min(channels, 3)), options[-1])
        if ss.get("anim_channels") not in options:
            ss["anim_channels"] = default_ch
        n_ch = cols[rank].selectbox("channels", options, key="anim_channels")
        method = cols[rank + 1].selectbox("how", list(REDUCE_METHODS), key="anim_reduce",
                                          format_func=REDUCE_METHODS.get)
    x_small = shrink_input(ctx.x, rank, fmt, sizes, n_ch, method)
    small_ctx = copy.copy(ctx)
    small_ctx.x = x_small
    try:
        layer = small_ctx.make_layer()
        if not layer.built:
            layer.build(x_small.shape)
        out_shape = layer.compute_output_shape(x_small.shape)
    except ValueError as exc:
        st.error(f"This layer cannot run on the animation input {x_small.shape}: {exc}")
        _write_url(rank)
        return
    st.caption(f"Animation input {tuple(x_small.shape)} (from {ctx.input_label}, "
               f"{tuple(ctx.x.shape)}) → output {tuple(out_shape)}. Open *Animation input* "
               "to change its size.")

    mode = st.radio("Mode", list(MODES), key="anim_mode", format_func=MODES.get,
                    horizontal=True, label_visibility="collapsed")
    if mode == "animate":
        _render_animation(ctx, layer, x_small, rank, fmt)
    else:
        _render_field(ctx, x_small, out_shape, rank, fmt)
    _write_url(rank)


def _render_animation(ctx, layer, x_small, rank, fmt) -> None:
    ss = st.session_state
    kind = LAYER_CLASSES[ctx.layer_name].kind
    is_transpose = kind == "transpose"
    weighted = kind in ("conv", "depthwise", "separable", "transpose")
    cols = st.columns(4)
    granularity = cols[0].selectbox("Step size", list(GRANULARITY_LABELS),
                                    key="anim_granularity", format_func=GRANULARITY_LABELS.get)
    view = "scatter"
    if is_transpose:
        view = cols[1].radio("View", list(VIEW_LABELS), key="anim_view",
                             format_func=VIEW_LABELS.get)
    out_channels = int(layer.compute_output_shape(x_small.shape)[-1 if fmt == "channels_last"
                                                                   else 1])
    _, in_channels = _split(x_small, rank, fmt)
    if weighted:
        _clamp("anim_filter", 0, out_channels - 1, 0)
        display = cols[2].number_input("Show output channel", 0, out_channels - 1, step=1,
                                       key="anim_filter")
        channel = 0
        if rank == 3 and in_channels > 1:
            _clamp("anim_channel", 0, in_channels - 1, 0)
            channel = cols[2].number_input("Show input channel", 0, in_channels - 1, step=1,
                                           key="anim_channel")
    else:
        _clamp("anim_filter", 0, in_channels - 1, 0)
        channel = cols[2].number_input("Show channel", 0, in_channels - 1, step=1,
                                       key="anim_filter")
        display = 0
    if ss.get("anim_speed") not in SPEEDS:
        ss["anim_speed"] = "normal"
    speed = cols[3].select_slider("Speed", list(SPEEDS), key="anim_speed")

    weights = _stable_weights(ctx, layer, x_small)
    try:
        anim = _animation(ctx.layer_name, dict(ctx.kwargs), weights, x_small, granularity,
                          view)
    except ValueError as exc:
        st.warning(f"{exc}")
        return
    n = len(anim.frames)
    _clamp("anim_step", 0, n, 0)
    step = st.slider("Step (or use ▶ Play / the slider under the figure, in the browser)",
                     0, n, key="anim_step",
                     help="0 is the empty start; the last step adds bias and activation.")
    fig = animation_figure(anim, filter_index=int(display), channel=int(channel),
                           duration=SPEEDS[speed], active=int(step), max_width=1000)
    st.plotly_chart(fig, key="anim_chart", width="content",
                    config={"displayModeBar": False, "scrollZoom": False})
    st.caption(f"{n} steps ({anim.granularity} granularity; at most {A.MAX_FRAMES}). "
               "Black outlines: the cells read in this step (kernel taps); dashed orange: "
               "the kernel's window; green: the cells written.")
    st.markdown(explain(anim))


def _render_field(ctx, x_small, out_shape, rank, fmt) -> None:
    ss = st.session_state
    _clamp("anim_depth", 1, MAX_DEPTH, 1)
    depth = st.number_input("Layers in the stack (the same layer repeated)", 1, MAX_DEPTH,
                            step=1, key="anim_depth")
    # output shape of the stack
    shape = tuple(x_small.shape)
    try:
        for _ in range(int(depth)):
            probe = LAYER_CLASSES[ctx.layer_name](**ctx.kwargs)
            shape = tuple(probe.compute_output_shape(shape))
    except ValueError as exc:
        st.error(f"{int(depth)} × {ctx.layer_name} does not fit the animation input: {exc}")
        return
    out_spatial = _spatial_of(shape, rank, fmt)
    if min(out_spatial) <= 0:
        st.warning(f"The stack's output {shape} is empty.")
        return
    # a click on the output level picks the cell
    event = ss.get("anim_rf_chart")
    points = []
    try:
        points = event["selection"]["points"] if event else []
    except (KeyError, TypeError):
        points = []
    if points:
        cd = points[0].get("customdata")
        if isinstance(cd, (list, tuple)) and len(cd) == rank and cd != ss.get("anim_rf_click"):
            for a, v in enumerate(cd):
                ss[f"anim_pos_{a}"] = int(v)
            ss["anim_rf_click"] = list(cd)
    cols = st.columns(rank)
    index = []
    for a in range(rank):
        _clamp(f"anim_pos_{a}", 0, out_spatial[a] - 1, out_spatial[a] // 2)
        index.append(int(cols[a].number_input(
            f"output cell, axis {a}", 0, out_spatial[a] - 1, step=1, key=f"anim_pos_{a}")))
    try:
        levels = _levels(ctx.layer_name, dict(ctx.kwargs), int(depth), tuple(x_small.shape),
                         tuple(index))
    except ValueError as exc:
        st.error(str(exc))
        return
    names = ["input"] + [f"after {ctx.layer_name} #{k}" for k in range(1, int(depth))] + \
        [f"output of layer {int(depth)}"]
    fig = receptive_figure(levels, names)
    st.plotly_chart(fig, key="anim_rf_chart", on_select="rerun", selection_mode="points",
                    width="content", config={"displayModeBar": False})
    cmap = levels.maps[0]
    touched = int((cmap != 0).sum())
    total = float(cmap.sum())
    st.markdown(
        f"Output cell {tuple(index)} depends on **{touched}** of the {cmap.size} input cells; "
        f"the counts (how many paths of all-ones kernels lead from a cell to the output, "
        f"summed over channels) add up to {total:g}, the largest is {cmap.max():g}. "
        "Click a cell of the last panel to pick another output cell."
        + (" Upsampling interpolation weights count as they are, so counts may be fractions."
           if not np.allclose(cmap, np.round(cmap)) else ""))
    st.caption("Computed by `engine.receptive.contribution_map` (gradient with weights 1, "
               "biases 0, no activation).")


def _spatial_of(shape, rank, fmt):
    return tuple(shape[1:-1]) if fmt == "channels_last" else tuple(shape[2:])
