"""Explore view: input, padded input, kernel and every output channel, linked cell to cell.

The page opens on the picture: a small ``Output shape: (…)`` line (with why the batch is a
number here and ``None`` in Keras's summary), then input → (padded input) → kernel → output
side by side in the first screen, the link in words (:func:`engine.geometry.output_link` /
``input_link``), then where every number comes from (:mod:`engine.geometry.explain`: per
axis the textbook formula with the user's numbers and why, the channels, the parameter and
multiply-add breakdowns term by term) and downloads (the panel as a PNG for slides, .npy,
Keras code). Presentation mode (``present=1``) draws every figure in
:data:`app.theme.PRESENT`'s sizes. Clicking an output cell outlines the input cells and
kernel taps that produced it (padding included); clicking an input cell outlines every
output cell it feeds. Which cells those are is the geometry's (:mod:`engine.geometry`).
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from app import cached, column_width, compute, url
from app import theme as T
from app.codegen import keras_code
from app.context import Selection, ViewContext
from app.explore_links import (CONV_KINDS, Links, crop_box, input_depth, kernel_spatial, links,
                               marks, plane, selection_for, span)
from app.figures import explore as F
from app.figures import png as PNG
from app.pages import guarded
from app.presets import kernel_labels
from engine.geometry import AXIS_SHORT, LayerGeometry
from engine.geometry.explain import (axis_derivations, breakdown_text, channels_text,
                                     mac_terms, param_terms)
from engine.stack.export import LayerSpec, layer_call

SLOW_MACS = 300_000_000
MAX_CHANNELS_SHOWN = 16
#: URL parameters this view owns (the selected cell, ``cell=``, is the app's).
URL_PARAMS: tuple[str, ...] = ()


# --------------------------------------------------------------------------- selection state

def clicked_cell(point: dict, where: str, rank: int) -> tuple[int | None, tuple] | None:
    """(output channel or ``None``, (row, col)) of a Plotly click as Streamlit reports it:
    on a line plot (1-D: the trace is the channel), on a picture (x = column, y = row), or
    on the output's grid of maps (:func:`app.figures.explore.grid_pick`); ``None`` when the
    point is not a cell."""
    if where == "output" and rank > 1:
        picked = F.grid_pick(point)
        return None if picked is None else (picked[0], picked[1:])
    if point.get("x") is None:
        return None
    col = int(round(float(point["x"])))
    row = int(round(float(point["y"]))) if point.get("y") is not None and rank > 1 else 0
    channel = point.get("curve_number") if where == "output" else None
    return channel, (row, col)


def _on_select(fig_key: str, where: str, rank: int) -> None:
    """Plotly click → the selected output (or input) cell (and the output channel)."""
    ss = st.session_state
    try:
        p = ss.get(fig_key)["selection"]["points"][0]
    except (KeyError, TypeError, IndexError):
        return
    picked = clicked_cell(p, where, rank)
    if picked is None:
        return
    channel, (row, col) = picked
    depth = int(ss.get("ex.depth" if where == "output" else "ex.in_depth", 0) or 0)
    ss["selection"] = Selection(where, {1: (col,), 2: (row, col), 3: (depth, row, col)}[rank])
    if channel is not None:
        ss["ex.ch"] = int(channel)


def _on_depth() -> None:
    """The output depth slider moves a selected output cell with it."""
    ss = st.session_state
    sel = ss.get("selection")
    if sel is not None and sel.where == "output":
        ss["selection"] = Selection("output", (int(ss["ex.depth"]),) + tuple(sel.cell[1:]))


def _clear_selection() -> None:
    st.session_state["selection"] = None


def _show(fig, key=None, where=None, rank=None):
    """A figure as its builder styled it (theme=None: app.theme's colours and sizes), clickable
    when ``where`` says which side a click selects; as wide as its column, or its own
    ``layout.width`` in pixels when it has one (then drawn once, at that width)."""
    fixed = fig.to_dict()["layout"].get("width")      # an ExactFigure: its spec, no copy
    width = "stretch" if fixed is None else int(fixed)
    if where is None:
        st.plotly_chart(fig, key=key, theme=None, width=width, config={"displaylogo": False})
    else:
        st.plotly_chart(fig, key=key, on_select=lambda: _on_select(key, where, rank),
                        selection_mode="points", theme=None, width=width,
                        config={"displaylogo": False})


# --------------------------------------------------------------------------- sections

def batch_text(batch: int) -> str:
    """Why the page shows a batch size where Keras's summary prints ``None``."""
    return (f"Batch {batch}: Keras's model.summary() prints None for the batch: any batch size "
            f"works; this page runs {batch} example{'s' if batch != 1 else ''}.")


def _headline(ctx: ViewContext) -> None:
    """The output shape (small, first), where the input comes from and the batch."""
    c1, c2 = st.columns([2, 5])
    c1.markdown(f"Output shape: {ctx.geometry.out_shape}")
    c2.caption(f"Input {tuple(ctx.x.shape)} from {ctx.input_label}. "
               f"{batch_text(ctx.x.shape[0])}"
               + (" (This is the last valid configuration.)" if ctx.error else ""))


def _axis_lines(g: LayerGeometry) -> list[str]:
    """One markdown block per spatial axis: size in → out, the formula with the numbers,
    and why (:func:`engine.geometry.explain.axis_derivations`)."""
    return [f"**{d.axis}**: {d.n_in} → {d.n_out}  \n`{d.formula}`  \n{d.words}"
            for d in axis_derivations(g)]


def _terms_markdown(terms: list, total_name: str) -> str:
    """The breakdown sum, then what every term's factors are."""
    lines = [breakdown_text(terms, total_name)]
    lines += [f"- {t.text}: {t.meaning}" for t in terms]
    return "\n".join(lines)


def _shape_derivation(ctx: ViewContext) -> None:
    """The output shape axis by axis: batch, every spatial axis, channels."""
    g = ctx.geometry
    st.markdown("\n\n".join(    # one element, not one per axis: each costs the browser ~1 ms
        [f"**Output shape {g.out_shape}**, axis by axis "
         f"({ctx.data_format}: {compute.layout_words(ctx.data_format, ctx.rank)})",
         f"**batch**: {g.batch} → {g.batch} — {batch_text(g.batch)}"]
        + _axis_lines(g)
        + [f"**channels**: {g.in_channels} → {g.out_channels} — {channels_text(g)}"]))


def _count_derivations(ctx: ViewContext) -> None:
    """Parameters, multiply-adds and output values, each with its breakdown in words."""
    g, cost = ctx.geometry, ctx.cost
    st.metric("Parameters", f"{cost.params:,}", help="Keras's count_params() for this input.")
    st.markdown(_terms_markdown(param_terms(g), "parameters"))
    st.metric("Multiply-adds", compute.fmt_count(cost.macs).split(" (")[0],
              help=f"{cost.macs:,} multiply-adds ≈ {2 * cost.macs:,} FLOPs for this input "
                   f"(batch {g.batch}).")
    if cost.macs:
        st.markdown(_terms_markdown(mac_terms(g), "multiply-adds")
                    + f"\n\nOne multiply-add is 2 FLOPs: ≈ {compute.fmt_count(2 * cost.macs)} "
                      "FLOPs.")
    else:
        st.markdown("Not counted: the output is over the server's budget."
                    if g.macs else "0 multiply-adds: this layer only moves or copies cells.")
    st.metric("Output values", f"{cost.out_elements:,}")
    st.markdown("·".join(map(str, g.out_shape))
                + f" = {cost.out_elements:,} values (every axis of the output shape multiplied).")


def _derivations(ctx: ViewContext) -> None:
    """Where every number on the page comes from, beside the number."""
    st.markdown("#### Where every number comes from")
    left, right = st.columns([3, 2])
    with left:
        _shape_derivation(ctx)
    with right:
        _count_derivations(ctx)
    fmt = ctx.data_format
    with st.expander(f"data_format: {fmt}", expanded=False):
        st.caption(compute.data_format_note(fmt, ctx.rank, tuple(ctx.x.shape)))
        st.markdown(layout_table(fmt, ctx.rank, tuple(ctx.x.shape), ctx.geometry.out_shape))


def layout_table(data_format: str, rank: int, in_shape: tuple, out_shape: tuple) -> str:
    """Which axis is which in the input and output tensors, as a markdown table."""
    axes = compute.layout_axes(data_format, rank)
    rows = [f"| {label} | " + " | ".join(map(str, shape)) + " |"
            for label, shape in (("input", in_shape), ("output", out_shape))]
    return "\n".join(["| tensor | " + " | ".join(axes) + " |",
                      "| --- |" + " --- |" * len(axes)] + rows)


def _run(ctx: ViewContext):
    """The layer's output (cached), or ``None`` after showing why it cannot run."""
    args = (ctx.layer_name, ctx.kwargs, ctx.x, ctx.weights_mode, ctx.custom)
    try:
        if ctx.cost.macs > SLOW_MACS:
            with st.status(f"Computing {compute.fmt_count(ctx.cost.macs)} multiply-adds…",
                           expanded=False) as status:
                res = cached.run_layer(*args)
                status.update(label="Done", state="complete")
        else:
            res = cached.run_layer(*args)
    except ValueError as exc:
        st.error(str(exc))
        return None
    return res


def _timing(res, t0: float) -> None:
    """Engine time and the regularization penalties, under the pictures."""
    st.caption(f"Engine time {1000 * res.seconds:.1f} ms (this rerun: "
               f"{1000 * (time.perf_counter() - t0):.1f} ms, cached results are reused).")
    if res.losses:
        st.caption("layer.losses (regularization penalties): "
                   + ", ".join(f"{v:.6g}" for v in res.losses))


def _theme() -> T.Theme:
    """Presentation mode's sizes when ``present=1``, else the normal ones."""
    return T.theme(bool(st.session_state.get("present")))


def _controls(ctx: ViewContext) -> tuple[int, Selection, int | None]:
    """Batch item, colour scale, depth slice, selection line → (item, selection, depth)."""
    ss, g = st.session_state, ctx.geometry
    # the batch item and depth slider get a column only when shown (an empty column is an
    # element redrawn on every rerun); the scale's column takes their room instead
    batch, deep = ctx.x.shape[0] > 1, ctx.rank == 3
    # the reset column holds its button's label in a 564 px main column (a 1024 px window:
    # with 2 of 15 parts it was cut to "R…")
    names = ["scale"] + ["batch"] * batch + ["depth"] * deep + ["linked", "reset"]
    widths = {"scale": 5 + 2 * (not batch) + 3 * (not deep), "batch": 2, "depth": 3,
              "linked": 5, "reset": 3}
    col = dict(zip(names, st.columns([widths[n] for n in names], vertical_alignment="center")))
    b = 0
    col["scale"].radio("Output colour scale", ("shared", "per_channel"), key="scale",
                       horizontal=True,
                       format_func={"shared": "shared", "per_channel": "per channel"}.get,
                       help="Colours of the output maps: one scale shared by every channel, "
                            "or one scale per channel.")
    if batch:
        b = int(col["batch"].number_input("Batch item", 0, ctx.x.shape[0] - 1, 0,
                                          key="ex.item"))
    sel = selection_for(g, ss.get("selection"))
    depth = None
    if deep:
        if sel.where == "output":
            ss["ex.depth"] = sel.cell[0]
        elif not 0 <= ss.get("ex.depth", -1) < g.out_spatial[0]:
            ss["ex.depth"] = g.out_spatial[0] // 2
        depth = col["depth"].slider("Output depth slice", 0, g.out_spatial[0] - 1,
                                    key="ex.depth", on_change=_on_depth)
    col["linked"].markdown(f"**Linked:** {sel.where} cell {sel.cell} — click any cell of the "
                           "input or the output.")
    col["reset"].button("Reset", on_click=_clear_selection, key="ex.reset",
                        help="Select the centre output cell again.")
    return b, sel, depth


def _first_channels(shown: np.ndarray) -> tuple[np.ndarray, str]:
    """An image panel's values: RGB or one channel as they are, else channel 0 (and say so)."""
    if shown.shape[-1] in (1, 3):
        return shown, ""
    return shown[..., :1], f"Showing input channel 0 of {shown.shape[-1]}."


def _input_boxes(ctx: ViewContext, in_depth) -> dict:
    """Labelled boxes on the input panel: the crop window of a Cropping layer."""
    if ctx.kind != "crop":
        return {}
    box = crop_box(ctx.geometry, ctx.rank, in_depth)
    return {} if box is None else {"crop": box}


def _input_panel(ctx: ViewContext, item: np.ndarray, lk: Links, in_depth, why: str) -> None:
    rank, t = ctx.rank, _theme()
    title = f"Input {tuple(ctx.x.shape)}"
    highlights = {marks(lk)[0]: plane(lk.inputs, rank, in_depth)}
    boxes = _input_boxes(ctx, in_depth)
    if rank == 1:
        fig = F.signal_figure(item, title, highlights=highlights, boxes=boxes, t=t)
        note = ""
    else:
        shown = item if rank == 2 else item[in_depth]
        if rank == 3:
            title += f"<br>depth {in_depth}"
        shown, note = _first_channels(shown)
        fig = F.image_figure(shown, title, highlights=highlights, boxes=boxes, t=t)
    _show(fig, "ex.in_fig", "input", rank)
    words = [w for w in (why, note) if w]
    if ctx.kind == "crop":
        words.append("The labelled box is the window the layer keeps: the output is exactly "
                     "the cells inside it." if boxes else
                     f"Depth {in_depth} is cropped away: no cell of it reaches the output.")
    if words:
        st.caption(" ".join(words))


def _conv_padded_panel(ctx: ViewContext, item, lk: Links, in_depth) -> None:
    layer, rank, g, t = ctx.layer, ctx.rank, ctx.geometry, _theme()
    pads = compute.padded_pads(g)
    if not any(b or a for b, a in pads):
        st.markdown(f"**Padded input** · padding='{layer.padding}': no zeros added")
        st.caption("With valid padding the kernel only visits full windows: the input is "
                   "used as it is (the derivations below say which cells are never reached).")
        return
    padded = np.pad(item, list(pads) + [(0, 0)])
    title = f"Padded input<br>{tuple(padded.shape)}"
    depth = None if rank < 3 else in_depth + pads[0][0]
    highlights = {marks(lk)[0]: plane(lk.padded, rank, depth)}
    if rank == 1:
        area = (pads[0][0], pads[0][0] + g.in_spatial[0] - 1)
        fig = F.signal_figure(padded, title, highlights=highlights, boxes={"area": area}, t=t)
    else:
        shown = padded if rank == 2 else padded[depth]
        (r0, _), (c0, _) = pads[-2:]
        area = (r0, c0, r0 + g.in_spatial[-2] - 1, c0 + g.in_spatial[-1] - 1)
        fig = F.image_figure(_first_channels(shown)[0], title, highlights=highlights,
                             boxes={"area": area}, clickable=False, t=t)
    _show(fig, "ex.pad_fig")
    st.caption(f"padding='{layer.padding}'. Inside the dashed box labelled “original input”: "
               "the input; outside it: zeros, "
               + ("on the left only (causal)." if layer.padding == "causal" else
                  "per axis (before, after) " + ", ".join(map(str, pads)) + "."))


def _transpose_panel(ctx: ViewContext, item, in_depth) -> None:
    z, place = compute.transpose_view(ctx.geometry, item)
    title = f"Zero-inserted, padded<br>input {tuple(z.shape)}"
    t = _theme()
    if ctx.rank == 1:
        fig = F.signal_figure(z, title, t=t)
    else:
        shown = z if ctx.rank == 2 else z[min(max(place[0][0] + in_depth * place[0][1], 0),
                                              z.shape[0] - 1)]
        fig = F.image_figure(_first_channels(shown)[0], title, clickable=False, t=t)
    _show(fig, "ex.pad_fig")
    st.caption("A transposed convolution equals a stride-1 convolution with the flipped "
               "kernel over the input with strides − 1 zeros inserted between cells and "
               "dilation·(k − 1) − padding zeros around.")


def _middle_panel(ctx: ViewContext, item, lk: Links, in_depth) -> None:
    """What the layer does to the input before the kernel: padding, zero insertion,
    cropping window or upsampling method (the kernel, or that there is none, below)."""
    kind, layer = ctx.kind, ctx.layer
    if kind in CONV_KINDS:
        _conv_padded_panel(ctx, item, lk, in_depth)
    elif kind == "transpose":
        _transpose_panel(ctx, item, in_depth)
    elif kind == "pad":
        st.markdown("**ZeroPadding** adds zeros around the input: the output (right) is the "
                    "padded input.")
    elif kind == "crop":
        st.markdown("**Cropping** keeps the cells inside the labelled box on the input:")
        st.caption(", ".join(f"{name}: {-b} removed before, {-a} after" for name, (b, a)
                             in zip(AXIS_SHORT[ctx.rank], ctx.geometry.pads)))
    else:
        st.markdown(f"**Upsampling** × {layer.size} · interpolation='{layer.interpolation}'")
        st.caption("nearest repeats each cell; the other methods blend neighbours "
                   "(TensorFlow's tf.image.resize numbers).")
    if not ctx.weights:
        st.markdown("**No kernel**: this layer has no weights (0 parameters).")


def _kernel_panel(ctx: ViewContext, lk: Links) -> None:
    weights, rank, t = ctx.weights, ctx.rank, _theme()
    k, label = kernel_spatial(ctx.kind, ctx.layer, weights,
                              int(st.session_state.get("ex.ch", 0) or 0))
    # the shape is written above the figure, not in it: an argument that leaves the shown
    # taps alone (filters, strides, padding…) leaves the figure's spec, so Streamlit keeps
    # the drawn chart instead of mounting and drawing a new one
    shape = tuple(weights[0].shape)
    if rank == 3:
        mid = k.shape[0] // 2
        st.markdown(f"**Kernel {shape}** · depth tap {mid}")
        fig = F.kernel_figure(k[mid], taps=[tp[1:] for tp in lk.taps if tp[0] == mid],
                              pad_taps=[tp[1:] for tp in lk.pad_taps if tp[0] == mid], t=t)
    else:
        st.markdown(f"**Kernel {shape}**")
        fig = F.kernel_figure(k, taps=lk.taps, pad_taps=lk.pad_taps, t=t)
    _show(fig, "ex.k_fig")
    st.caption(f"{label}." + (" Values from the preset, divided by the input channels."
                              if ctx.weights_mode not in ("init", "custom") else ""))


def _channel_names(ctx: ViewContext, n: int) -> list:
    """Per output channel: a title short enough for its map (``0: Sobel x``; only the
    number when there are more than 4 maps) and its full name (the preset's)."""
    if ctx.weights_mode not in ("init", "custom") and ctx.kind in ("conv", "transpose"):
        full = [f"{i}: {lab}" for i, lab in enumerate(kernel_labels(ctx.weights_mode,
                                                                   ctx.rank, n))]
    else:
        full = [f"channel {i}" for i in range(n)]
    if n > 4:
        return [(str(i), name) for i, name in enumerate(full)]
    return [(name.split(" (")[0], name) for name in full]


def _output_panel(ctx: ViewContext, out_item: np.ndarray, lk: Links, depth) -> None:
    rank, n_ch, t = ctx.rank, out_item.shape[-1], _theme()
    shape = tuple(ctx.geometry.out_shape)
    title = f"Output {shape}" + (f"<br>depth {depth}" if rank == 3 else "")
    named = _channel_names(ctx, min(n_ch, MAX_CHANNELS_SHOWN))
    names = [short for short, _ in named]
    highlights = {marks(lk)[1]: plane(lk.outputs, rank, depth)}
    if rank == 1:
        fig = F.signal_figure(out_item[:, :MAX_CHANNELS_SHOWN], title, names=names,
                              highlights=highlights, t=t)
    else:
        st.markdown(f"**{title.replace('<br>', ' · ')}**")
        shown = out_item if rank == 2 else out_item[depth]
        n = min(n_ch, MAX_CHANNELS_SHOWN)
        fig = F.grid_figure(np.moveaxis(shown[..., :MAX_CHANNELS_SHOWN], -1, 0), names,
                            shared=st.session_state.get("scale") == "shared",
                            highlights=highlights, max_cols=2 if n <= 4 else 4,
                            diverging=bool(out_item.min() < 0 < out_item.max()), t=t)
    _show(fig, "ex.out_fig", "output", rank)
    notes = [f"Every channel: showing the first {MAX_CHANNELS_SHOWN} of {n_ch}."
             if n_ch > MAX_CHANNELS_SHOWN else f"Every channel ({n_ch})."]
    if not named[0][1].startswith("channel"):
        notes.append("Maps: " + "; ".join(full for _, full in named) + ".")
    if rank == 3 and lk.where == "input":
        ds = sorted({o[0] for o in lk.outputs})
        if ds and depth not in ds:
            notes.append(f"Input cell {lk.inputs[0]} feeds output {span(ds, 'depth')}; "
                         "move the depth slider to see them.")
    st.caption(" ".join(notes))


#: The narrowest main column (px) that holds the four panels in one row, the kernel's
#: column at least ``Theme.kernel_width`` wide (normal, presentation mode): 816 px from a
#: 1280 px window up; a narrower column (a 1024 px window: 564 px) gets two rows.
ROW_PX = {False: 800, True: 1100}


def _panel_widths(ctx: ViewContext) -> list:
    """Column widths of input, (padded input or note), (kernel), output in one row. On a
    1366 px screen the kernel's column holds the kernel figure's fixed width
    (``Theme.kernel_width``, in presentation mode too): a narrower column would squeeze it,
    and Streamlit would draw it twice (at the column's width, then at 150 px)."""
    if ctx.weights:
        return [3, 2.6, 2.4, 4]
    return [4, 2, 5]


def _panel_columns(ctx: ViewContext) -> list:
    """One place per panel: in one row where the main column holds :data:`ROW_PX` (or its
    width is not measured yet), else two rows (input, padded input; kernel and output, or
    the output alone across the column), measured by :func:`app.column_width.fit`."""
    budget = ROW_PX[_theme().present]
    if column_width.fit(budget) >= budget:
        return list(st.columns(_panel_widths(ctx)))
    return list(st.columns(2)) + (list(st.columns(2)) if ctx.weights else [st.container()])


def _panels(ctx: ViewContext, item, out_item, lk: Links, in_depth, why: str, depth) -> None:
    """Input → (padded input) → kernel → output, side by side in the first screen (two rows
    in a narrow column)."""
    cols = _panel_columns(ctx)
    with cols[0]:
        _input_panel(ctx, item, lk, in_depth, why)
    with cols[1]:
        _middle_panel(ctx, item, lk, in_depth)
    if ctx.weights:
        with cols[2]:
            _kernel_panel(ctx, lk)
    with cols[-1]:
        _output_panel(ctx, out_item, lk, depth)


def png_panels(ctx: ViewContext, item, out_item, lk: Links, in_depth, depth,
               ch: int = 0) -> list:
    """The pictures of :func:`app.figures.png.panel_png`: the input (padded when the layer
    pads, the read window and the original input / crop window outlined), the kernel, output
    channel ``ch`` with the selected cell. ``item`` / ``out_item``: one batch item, channels
    last; ``in_depth`` / ``depth``: the shown slices (3-D)."""
    rank, g = ctx.rank, ctx.geometry
    ch %= out_item.shape[-1]
    pads = compute.padded_pads(g)

    def plane2d(arr, d):  # (…spatial, channels) → (rows, cols[, 3])
        arr = arr[None] if rank == 1 else (arr if rank == 2 else arr[d])
        return arr if arr.shape[-1] == 3 else arr[..., 0]

    def hull(cells):
        return (min(c[0] for c in cells), min(c[1] for c in cells),
                max(c[0] for c in cells), max(c[1] for c in cells)) if cells else None

    padded = any(b or a for b, a in pads)
    shown_in = np.pad(item, list(pads) + [(0, 0)]) if padded else item
    d_in = None if rank < 3 else in_depth + pads[0][0]
    boxes = {}
    read = hull(plane(lk.padded if padded else lk.inputs, rank, d_in))
    if padded:
        r0, c0 = (0, pads[0][0]) if rank == 1 else (pads[-2][0], pads[-1][0])
        boxes["area"] = (r0, c0, r0 + (1 if rank == 1 else g.in_spatial[-2]) - 1,
                         c0 + g.in_spatial[-1] - 1)
    crop = crop_box(g, rank, in_depth) if ctx.kind == "crop" else None
    if crop is not None:
        boxes["crop"] = (0, crop[0], 0, crop[1]) if rank == 1 else crop
    if read is not None:
        boxes[marks(lk)[0]] = read
    panels = [PNG.Panel(plane2d(shown_in, d_in), f"Input {tuple(ctx.x.shape)}", boxes)]
    if ctx.weights:
        k, _ = kernel_spatial(ctx.kind, ctx.layer, ctx.weights, ch)
        k = k[k.shape[0] // 2] if rank == 3 else k
        panels.append(PNG.Panel(k.reshape(1, -1) if rank == 1 else k,
                                f"Kernel {tuple(ctx.weights[0].shape)}", {}, numbers=True,
                                diverging=True))
    out = plane2d(out_item[..., ch:ch + 1], depth)
    sel = hull(plane(lk.outputs, rank, depth))
    panels.append(PNG.Panel(out, f"Output {g.out_shape} · channel {ch}",
                            {marks(lk)[1]: sel} if sel else {},
                            diverging=bool(out.min() < 0 < out.max())))
    return panels


def panel_picture(ctx: ViewContext, item, out_item, lk: Links, in_depth, depth,
                  ch: int = 0) -> bytes:
    """Explore's panel as a PNG for slides (:func:`png_panels`), headed by the layer's line
    of Keras code and the shapes, with the link sentence under it."""
    header = (layer_line(ctx.layer_name, ctx.kwargs),
              f"input {tuple(ctx.x.shape)} → output {ctx.geometry.out_shape}")
    return PNG.panel_png(png_panels(ctx, item, out_item, lk, in_depth, depth, ch), header,
                         lk.sentence)


def _downloads(ctx: ViewContext, res, item, out_item: np.ndarray, lk: Links, in_depth,
               depth) -> None:
    name, rank, y = ctx.layer_name, ctx.rank, res.y
    st.markdown("#### Download and reproduce")
    shown = out_item if rank == 2 else (out_item[depth] if rank == 3 else out_item[None])
    shared = st.session_state.get("scale") == "shared"

    def maps() -> bytes:  # built only when the button is clicked (not on every rerun)
        arr = np.moveaxis(shown, -1, 0) if rank >= 2 else np.moveaxis(
            np.broadcast_to(shown, (32,) + shown.shape[1:]), -1, 0)
        return PNG.maps_png(arr, shared=shared, scale=max(1, 256 // max(arr.shape[1:])))

    ch = int(st.session_state.get("ex.ch", 0) or 0)

    def panel() -> bytes:   # runs on another thread when clicked: no session state there
        return panel_picture(ctx, item, out_item, lk, in_depth, depth, ch)

    note = ("" if ctx.weights_mode != "init" else
            "Keras's seeded initializers draw other numbers than the engine's: "
            "set_weights makes them identical")
    code = keras_code(name, ctx.kwargs, tuple(ctx.x.shape), tuple(y.shape),
                      res.weights or None, note)
    row = st.container(horizontal=True)      # one block (columns: one block per button)
    # downloads are callables: Streamlit builds the file when it is asked for
    row.download_button("Panel PNG (slides)", panel, file_name=f"{name}_panel.png",
                        mime="image/png", key="dl.panel",
                        help="Input with the window, kernel and output, labelled with the "
                             "layer's line of Keras code and the shapes.")
    row.download_button("Output PNG", maps, file_name=f"{name}_output.png", mime="image/png",
                        key="dl.png")
    row.download_button("Output .npy", lambda: cached.npy_bytes(y),
                        file_name=f"{name}_output.npy", mime="application/octet-stream",
                        key="dl.npy")
    row.download_button("Input .npy", lambda: cached.npy_bytes(ctx.x), file_name="input.npy",
                        mime="application/octet-stream", key="dl.in")
    row.download_button("Keras code", code, file_name=f"{name.lower()}_keras.py",
                        mime="text/x-python", key="dl.code")
    if res.weights:
        row.download_button("weights.npz", lambda: cached.npz_bytes(res.weights),
                            file_name="weights.npz", mime="application/octet-stream",
                            key="dl.w")
    # a toggle, not an expander: an expander's content is drawn (and highlighted: ~170 ms of
    # the browser before the first picture of a shared link) even while it is closed
    if st.toggle("Show the Keras code for this layer", key="ex.code"):
        st.code(code if len(code) < 60_000 else code[:60_000] + "\n# … (download the file)",
                language="python")


def layer_line(name: str, kwargs: dict) -> str:
    """The layer as one line of Keras code: ``layers.Conv2D(4, 3, strides=2)``."""
    return layer_call(LayerSpec(name, dict(kwargs)))


# --------------------------------------------------------------------------- page

def render(ctx: ViewContext) -> dict[str, str]:
    """The Explore page: the shape, then the pictures, then where every number comes from;
    returns the values of its :data:`URL_PARAMS` (none)."""
    _headline(ctx)
    if ctx.cost.refused:
        st.error(f"Refused: {ctx.cost.refused}")
        _derivations(ctx)
        return {}
    res = _run(ctx)
    if res is None:
        _derivations(ctx)
        return {}
    _linked(ctx, res)
    return {}


@st.fragment
@guarded("explore")
def _linked(ctx: ViewContext, res) -> None:
    """Everything that follows the selected cell: the controls, the pictures, the link in
    words, the derivations and the downloads. A Streamlit fragment: a click on a cell or a
    control reruns only this part (not the sidebar), and writes the cell and the colour
    scale into the URL itself (:func:`app.url.sync_controls`)."""
    t0 = time.perf_counter()
    b, sel, depth = _controls(ctx)
    lk = links(ctx.geometry, sel)
    in_depth, why = input_depth(ctx.geometry, sel, lk)
    st.session_state["ex.in_depth"] = in_depth
    item = compute.to_last(ctx.x, ctx.data_format)[b]
    out_item = compute.to_last(res.y, ctx.data_format)[b]
    _panels(ctx, item, out_item, lk, in_depth, why, depth)
    st.markdown(lk.sentence)
    _timing(res, t0)
    _derivations(ctx)
    _downloads(ctx, res, item, out_item, lk, in_depth, depth)
    url.sync_controls()
