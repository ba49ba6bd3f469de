"""Explore view: input, padded input, kernel and every output channel, linked cell to cell.

The headline is the exact text ``Output shape: (…)`` with the parameter count and the
multiply-add count; below it the formula of every axis with the user's numbers, the
teaching traps (TensorFlow's ``same`` padding, transposed-convolution ambiguity), the
panels, the link in words (:func:`engine.geometry.output_link` / ``input_link``) and
downloads (PNG, .npy, Keras code). Clicking an output cell outlines the input cells and
kernel taps that produced it (padding included); clicking an input cell outlines every
output cell it feeds. Which cells those are is the geometry's (:mod:`engine.geometry`).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app import cached, compute
from app.codegen import keras_code
from app.context import Selection, ViewContext
from app.figures import explore as F
from app.presets import kernel_labels
from engine.geometry import AXIS_SHORT, LayerGeometry, input_link, output_link

SLOW_MACS = 300_000_000
MAX_CHANNELS_SHOWN = 16
#: URL parameters this view owns (the selected cell, ``cell=``, is the app's).
URL_PARAMS: tuple[str, ...] = ()
_CONV_KINDS = ("conv", "separable", "depthwise")


# --------------------------------------------------------------------------- links (pure)

@dataclass(frozen=True)
class Links:
    """What a selection highlights, in spatial cells of each panel, and the sentence that
    says it (``Output cell (r, c) reads input rows a–b, columns c–d``)."""

    where: str        # what is selected: "output" or "input"
    sentence: str
    inputs: list      # input cells read (output selected), or the selected input cell
    padded: list      # cells of the padded-input panel (convolutions only)
    outputs: list     # the selected output cell, or the output cells an input cell feeds
    taps: list        # kernel taps that read input cells
    pad_taps: list    # kernel taps that read padding zeros


def selection_for(g: LayerGeometry, selection: Selection | None) -> Selection:
    """``selection`` inside ``g`` (clamped per axis); the centre output cell when there is
    none or it has another rank."""
    if selection is None or len(selection.cell) != g.rank:
        return Selection("output", tuple(n // 2 for n in g.out_spatial))
    sizes = g.out_spatial if selection.where == "output" else g.in_spatial
    return Selection(selection.where,
                     tuple(min(max(int(c), 0), n - 1) for c, n in zip(selection.cell, sizes)))


def _output_links(g: LayerGeometry, cell: tuple) -> Links:
    before = [b for b, _ in compute.padded_pads(g)]
    inputs, padded, taps, pad_taps = set(), [], [], []
    for combo in itertools.product(*g.cell_taps(cell)):
        position = tuple(t.position for t in combo)
        inside = all(t.inside for t in combo)
        if inside and all(t.weight != 0 for t in combo):
            inputs.add(position)
        if g.kind in _CONV_KINDS:
            padded.append(tuple(p + b for p, b in zip(position, before)))
        if combo and combo[0].tap is not None:
            (taps if inside else pad_taps).append(tuple(t.tap for t in combo))
    return Links("output", output_link(g, cell), sorted(inputs), padded, [cell], taps, pad_taps)


def _input_links(g: LayerGeometry, cell: tuple) -> Links:
    before = [b for b, _ in compute.padded_pads(g)]
    outputs, taps = [], []
    for combo in itertools.product(*(op.feeds(i) for op, i in zip(g.axes, cell))):
        outputs.append(tuple(o for o, _ in combo))
        if combo[0][1] is not None:
            taps.append(tuple(t for _, t in combo))
    padded = [tuple(i + b for i, b in zip(cell, before))] if g.kind in _CONV_KINDS else []
    return Links("input", input_link(g, cell), [cell], padded, outputs, taps, [])


def links(g: LayerGeometry, selection: Selection) -> Links:
    """The cells and taps that ``selection`` (inside ``g``) links, and the sentence."""
    if selection.where == "output":
        return _output_links(g, selection.cell)
    return _input_links(g, selection.cell)


def plane(cells, rank: int, depth: int | None = None) -> list:
    """N-d cells → (row, col) cells of the shown 2-D plane (1-D: (0, i); 3-D: those at
    ``depth``)."""
    if rank == 1:
        return [(0, c[0]) for c in cells]
    if rank == 2:
        return [tuple(c) for c in cells]
    return [(c[1], c[2]) for c in cells if c[0] == depth]


def kernel_spatial(kind: str, layer, weights, ch: int):
    """The spatial kernel behind output channel ``ch`` (input channel 0) and its label."""
    w = weights[0]
    if kind == "conv":
        f = ch % w.shape[-1]
        g = f // (w.shape[-1] // layer.groups)
        return w[..., 0, f], f"kernel[..., 0, {f}] (filter {f}, group {g}, input channel 0)"
    if kind == "depthwise":
        m = w.shape[-1]
        c, mm = divmod(ch % (w.shape[-2] * m), m)
        return w[..., c, mm], f"depthwise kernel[..., {c}, {mm}] (input channel {c})"
    if kind == "separable":
        m = w.shape[-1]
        return w[..., 0, ch % m], (f"depthwise_kernel[..., 0, {ch % m}] (then a 1×1 pointwise "
                                   f"kernel {tuple(weights[1].shape)} mixes channels)")
    f = ch % w.shape[-2]
    return w[..., f, 0], f"kernel[..., {f}, 0] (filter {f}, input channel 0)"


# --------------------------------------------------------------------------- selection state

def _on_select(fig_key: str, where: str, rank: int) -> None:
    """Plotly click → the selected output (or input) cell."""
    ss = st.session_state
    try:
        p = ss.get(fig_key)["selection"]["points"][0]
    except (KeyError, TypeError, IndexError):
        return
    if p.get("x") is None:
        return
    col = int(round(float(p["x"])))
    row = int(round(float(p["y"]))) if p.get("y") is not None and rank > 1 else 0
    depth = int(ss.get("ex.depth" if where == "output" else "ex.in_depth", 0) or 0)
    ss["selection"] = Selection(where, {1: (col,), 2: (row, col), 3: (depth, row, col)}[rank])
    custom, curve = p.get("customdata"), p.get("curve_number")
    if where == "output" and isinstance(custom, (list, tuple)) and custom and rank != 1:
        ss["ex.ch"] = int(custom[-1])
    elif where == "output" and curve is not None and rank == 1:
        ss["ex.ch"] = int(curve)


def _on_depth() -> None:
    """The output depth slider moves a selected output cell with it."""
    ss = st.session_state
    sel = ss.get("selection")
    if sel is not None and sel.where == "output":
        ss["selection"] = Selection("output", (int(ss["ex.depth"]),) + tuple(sel.cell[1:]))


def _clear_selection() -> None:
    st.session_state["selection"] = None


def _show(fig, key=None, where=None, rank=None):
    if where is None:
        st.plotly_chart(fig, key=key, config={"displaylogo": False})
    else:
        st.plotly_chart(fig, key=key, on_select=lambda: _on_select(key, where, rank),
                        selection_mode="points", config={"displaylogo": False})


# --------------------------------------------------------------------------- sections

def _headline(ctx: ViewContext) -> None:
    cost, out_shape = ctx.cost, ctx.geometry.out_shape
    st.markdown(f"### Output shape: {out_shape}")
    c1, c2, c3 = st.columns(3)
    c1.metric("Parameters", f"{cost.params:,}", help="Keras's count_params() for this input.")
    c2.metric("Multiply-adds", compute.fmt_count(cost.macs).split(" (")[0],
              help=f"{cost.macs:,} multiply-adds ≈ {2 * cost.macs:,} FLOPs for this input "
                   f"(batch {ctx.x.shape[0]}).")
    c3.metric("Output values", f"{cost.out_elements:,}")
    st.caption(f"Input {tuple(ctx.x.shape)} from {ctx.input_label} · parameter count "
               f"{cost.params:,} · {compute.fmt_count(cost.macs)} multiply-adds "
               f"(≈ {compute.fmt_count(2 * cost.macs)} FLOPs) · in a model, Keras's summary "
               f"would print {(None,) + out_shape[1:]}.")
    if ctx.error:
        st.caption("(This is the last valid configuration.)")


def _formulas(ctx: ViewContext) -> None:
    infos = compute.axis_infos(ctx.layer, tuple(ctx.x.shape))
    rows = "\n".join(f"| {i.name} | {i.n_in} | {i.n_out} | {i.formula} |" for i in infos)
    st.markdown("| axis | input | output | formula |\n| --- | --- | --- | --- |\n" + rows)
    for i in infos:
        if i.note:
            st.info(f"**{i.name}**: {i.note}")
    fmt = ctx.data_format
    with st.expander(f"data_format: {fmt}", expanded=False):
        st.caption(compute.data_format_note(fmt, ctx.rank, tuple(ctx.x.shape)))
        st.plotly_chart(F.layout_figure(tuple(ctx.x.shape), ctx.geometry.out_shape, fmt,
                                        ctx.rank), key="ex.layout",
                        config={"displayModeBar": False})


def _run(ctx: ViewContext):
    """The layer's output (cached), or ``None`` after showing why it cannot run."""
    t0 = time.perf_counter()
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
    st.caption(f"Engine time {1000 * res.seconds:.1f} ms (this rerun: "
               f"{1000 * (time.perf_counter() - t0):.1f} ms, cached results are reused).")
    if res.losses:
        st.caption("layer.losses (regularization penalties): "
                   + ", ".join(f"{v:.6g}" for v in res.losses))
    return res


def _controls(ctx: ViewContext) -> tuple[int, Selection, int | None]:
    """Batch item, colour scale, depth slice, selection line → (item, selection, depth)."""
    ss, g = st.session_state, ctx.geometry
    cols = st.columns([1, 1, 1, 2])
    b = 0
    if ctx.x.shape[0] > 1:
        b = int(cols[0].number_input("Batch item", 0, ctx.x.shape[0] - 1, 0, key="ex.item"))
    cols[1].radio("Colour scale", ("shared", "per_channel"), key="scale", horizontal=True,
                  format_func={"shared": "shared", "per_channel": "per channel"}.get)
    sel = selection_for(g, ss.get("selection"))
    depth = None
    if ctx.rank == 3:
        if sel.where == "output":
            ss["ex.depth"] = sel.cell[0]
        elif not 0 <= ss.get("ex.depth", -1) < g.out_spatial[0]:
            ss["ex.depth"] = g.out_spatial[0] // 2
        depth = cols[2].slider("Output depth slice", 0, g.out_spatial[0] - 1, key="ex.depth",
                               on_change=_on_depth)
    cols[3].markdown(f"**Linked:** {sel.where} cell {sel.cell}. Click a cell of the output (or "
                     "of the input) to see where it comes from (or what it feeds).")
    cols[3].button("Reset selection", on_click=_clear_selection, key="ex.reset")
    return b, sel, depth


def _input_depth(g: LayerGeometry, sel: Selection, lk: Links) -> int | None:
    """The input depth slice shown (3-D): the selected input cell's, or the middle of the
    depths the selected output cell reads."""
    if g.rank != 3:
        return None
    if sel.where == "input":
        return sel.cell[0]
    depths = sorted({c[0] for c in lk.inputs})
    if depths:
        st.caption(f"Input depth slices {depths[0]}…{depths[-1]} feed output cell {sel.cell}; "
                   f"the input panel shows slice {depths[len(depths) // 2]}.")
        return depths[len(depths) // 2]
    return min(sel.cell[0], g.in_spatial[0] - 1)


def _marks(lk: Links) -> tuple[str, str]:
    """Highlight styles (input side, output side): the selected cell is red, what it links
    to is orange (read) or red (fed)."""
    return ("window", "selected") if lk.where == "output" else ("selected", "fed")


def _input_panel(ctx: ViewContext, item: np.ndarray, lk: Links, in_depth) -> None:
    rank = ctx.rank
    title = f"Input {tuple(ctx.x.shape)}"
    highlights = {_marks(lk)[0]: plane(lk.inputs, rank, in_depth)}
    if rank == 1:
        fig = F.signal_figure(item, title, highlights=highlights)
    else:
        shown = item if rank == 2 else item[in_depth]
        if rank == 3:
            title += f" · depth {in_depth}"
        if shown.shape[-1] not in (1, 3):
            st.caption(f"Showing input channel 0 of {shown.shape[-1]}.")
            shown = shown[..., :1]
        fig = F.image_figure(shown, title, highlights=highlights)
    _show(fig, "ex.in_fig", "input", rank)


def _conv_padded_panel(ctx: ViewContext, item, lk: Links, in_depth) -> None:
    layer, rank, g = ctx.layer, ctx.rank, ctx.geometry
    pads = compute.padded_pads(g)
    if not any(b or a for b, a in pads):
        st.markdown(f"**Padded input** · padding='{layer.padding}': no zeros added")
        st.caption("With valid padding the kernel only visits full windows: the input is "
                   "used as is (see the formula for cells that are never reached).")
        return
    padded = np.pad(item, list(pads) + [(0, 0)])
    title = f"Padded input {tuple(padded.shape)} · padding='{layer.padding}'"
    depth = None if rank < 3 else in_depth + pads[0][0]
    highlights = {_marks(lk)[0]: plane(lk.padded, rank, depth)}
    if rank == 1:
        fig = F.signal_figure(padded, title, highlights=highlights,
                              area=(pads[0][0], pads[0][0] + g.in_spatial[0] - 1))
    else:
        shown = padded if rank == 2 else padded[depth]
        (r0, _), (c0, _) = pads[-2:]
        area = (r0, c0, r0 + g.in_spatial[-2] - 1, c0 + g.in_spatial[-1] - 1)
        fig = F.image_figure(shown if shown.shape[-1] in (1, 3) else shown[..., :1], title,
                             highlights=highlights, area=area)
    _show(fig, "ex.pad_fig")
    st.caption("Green dashed box: the original input; everything outside it is zeros. "
               + ("Causal padding adds them on the left only." if layer.padding == "causal"
                  else "Padding per axis (before, after): " + ", ".join(map(str, pads))
                  + " — TensorFlow puts an odd extra zero after (bottom/right)."))


def _transpose_panel(ctx: ViewContext, item, in_depth) -> None:
    z, place = compute.transpose_view(ctx.geometry, item)
    title = f"Zero-inserted, padded input {tuple(z.shape)}"
    if ctx.rank == 1:
        fig = F.signal_figure(z, title)
    else:
        shown = z if ctx.rank == 2 else z[min(max(place[0][0] + in_depth * place[0][1], 0),
                                              z.shape[0] - 1)]
        fig = F.image_figure(shown if shown.shape[-1] in (1, 3) else shown[..., :1], title)
    _show(fig, "ex.pad_fig")
    st.caption("A transposed convolution equals a stride-1 convolution with the flipped "
               "kernel over the input with strides − 1 zeros inserted between cells and "
               "dilation·(k − 1) − padding zeros around.")


def _middle_panel(ctx: ViewContext, item, lk: Links, in_depth) -> None:
    """What the layer does to the input before the kernel: padding, zero insertion,
    cropping window or upsampling method."""
    kind, layer = ctx.kind, ctx.layer
    if kind in _CONV_KINDS:
        _conv_padded_panel(ctx, item, lk, in_depth)
    elif kind == "transpose":
        _transpose_panel(ctx, item, in_depth)
    elif kind == "pad":
        st.markdown("**Padded input** = the output of this layer (below).")
    elif kind == "crop":
        st.markdown("**Cropping** keeps the cells inside the window:")
        st.caption(", ".join(f"{name}: {-b} before, {-a} after" for name, (b, a)
                             in zip(AXIS_SHORT[ctx.rank], ctx.geometry.pads)))
    else:
        st.markdown(f"**Upsampling** × {layer.size} · interpolation='{layer.interpolation}'")
        st.caption("nearest repeats each cell; the other methods blend neighbours "
                   "(TensorFlow's tf.image.resize numbers).")


def _kernel_panel(ctx: ViewContext, lk: Links) -> None:
    weights, rank = ctx.weights, ctx.rank
    if not weights:
        st.markdown("**No kernel**: this layer has no weights (0 parameters).")
        return
    k, label = kernel_spatial(ctx.kind, ctx.layer, weights,
                              int(st.session_state.get("ex.ch", 0) or 0))
    title = f"Kernel {tuple(weights[0].shape)}"
    if rank == 3:
        mid = k.shape[0] // 2
        fig = F.kernel_figure(k[mid], title + f" · depth tap {mid}",
                              taps=[t[1:] for t in lk.taps if t[0] == mid],
                              pad_taps=[t[1:] for t in lk.pad_taps if t[0] == mid])
    else:
        fig = F.kernel_figure(k, title, taps=lk.taps, pad_taps=lk.pad_taps)
    _show(fig, "ex.k_fig")
    st.caption(f"{label}. Orange: taps that read input cells; blue dotted: taps that read "
               "padding zeros." + (" Values from the preset, divided by the input channels."
                                   if ctx.weights_mode not in ("init", "custom") else ""))


def _channel_names(ctx: ViewContext, n: int) -> list:
    if ctx.weights_mode not in ("init", "custom") and ctx.kind in ("conv", "transpose"):
        return [f"{i}: {lab}" for i, lab in enumerate(kernel_labels(ctx.weights_mode,
                                                                    ctx.rank, n))]
    return [f"channel {i}" for i in range(n)]


def _output_panel(ctx: ViewContext, out_item: np.ndarray, lk: Links, depth) -> None:
    rank, n_ch = ctx.rank, out_item.shape[-1]
    shape = tuple(ctx.geometry.out_shape)
    st.markdown(f"#### Output {shape} · every channel")
    if n_ch > MAX_CHANNELS_SHOWN:
        st.caption(f"Showing the first {MAX_CHANNELS_SHOWN} of {n_ch} channels.")
    names = _channel_names(ctx, min(n_ch, MAX_CHANNELS_SHOWN))
    highlights = {_marks(lk)[1]: plane(lk.outputs, rank, depth)}
    if rank == 1:
        fig = F.signal_figure(out_item[:, :MAX_CHANNELS_SHOWN], f"Output {shape}", names=names,
                              highlights=highlights, height=340)
    else:
        shown = out_item if rank == 2 else out_item[depth]
        fig = F.grid_figure(np.moveaxis(shown[..., :MAX_CHANNELS_SHOWN], -1, 0), names,
                            shared=st.session_state.get("scale") == "shared",
                            highlights=highlights,
                            diverging=bool(out_item.min() < 0 < out_item.max()))
    _show(fig, "ex.out_fig", "output", rank)
    if rank == 3 and lk.where == "input":
        ds = sorted({o[0] for o in lk.outputs})
        if ds and depth not in ds:
            st.caption(f"Input cell {lk.inputs[0]} feeds output depth slices {ds[0]}…{ds[-1]}; "
                       "move the depth slider to see them.")


def _downloads(ctx: ViewContext, res, out_item: np.ndarray, depth) -> None:
    name, rank, y = ctx.layer_name, ctx.rank, res.y
    st.markdown("#### Download and reproduce")
    shown = out_item if rank == 2 else (out_item[depth] if rank == 3 else out_item[None])
    shared = st.session_state.get("scale") == "shared"

    def png() -> bytes:  # built only when the button is clicked (not on every rerun)
        maps = np.moveaxis(shown, -1, 0) if rank >= 2 else np.moveaxis(
            np.broadcast_to(shown, (32,) + shown.shape[1:]), -1, 0)
        return F.to_png(maps, shared=shared, scale=max(1, 256 // max(maps.shape[1:])))

    note = ("" if ctx.weights_mode != "init" else
            "Keras's seeded initializers draw other numbers than the engine's: "
            "set_weights makes them identical")
    code = keras_code(name, ctx.kwargs, tuple(ctx.x.shape), tuple(y.shape),
                      res.weights or None, note)
    d = st.columns(5)
    # downloads are callables: Streamlit builds the file when it is asked for
    d[0].download_button("Output PNG", png, file_name=f"{name}_output.png", mime="image/png",
                         key="dl.png")
    d[1].download_button("Output .npy", lambda: cached.npy_bytes(y),
                         file_name=f"{name}_output.npy", mime="application/octet-stream",
                         key="dl.npy")
    d[2].download_button("Input .npy", lambda: cached.npy_bytes(ctx.x), file_name="input.npy",
                         mime="application/octet-stream", key="dl.in")
    d[3].download_button("Keras code", code, file_name=f"{name.lower()}_keras.py",
                         mime="text/x-python", key="dl.code")
    if res.weights:
        d[4].download_button("weights.npz", lambda: cached.npz_bytes(res.weights),
                             file_name="weights.npz", mime="application/octet-stream",
                             key="dl.w")
    with st.expander("Keras code for this layer"):
        st.code(code if len(code) < 60_000 else code[:60_000] + "\n# … (download the file)",
                language="python")


# --------------------------------------------------------------------------- page

def render(ctx: ViewContext) -> dict[str, str]:
    """The Explore page; returns the values of its :data:`URL_PARAMS` (none)."""
    _headline(ctx)
    _formulas(ctx)
    if ctx.cost.refused:
        st.error(f"Refused: {ctx.cost.refused}")
        return {}
    res = _run(ctx)
    if res is None:
        return {}
    b, sel, depth = _controls(ctx)
    lk = links(ctx.geometry, sel)
    in_depth = _input_depth(ctx.geometry, sel, lk)
    st.session_state["ex.in_depth"] = in_depth
    item = compute.to_last(ctx.x, ctx.data_format)[b]
    st.markdown("#### Input → kernel → output")
    top = st.columns(3)
    with top[0]:
        _input_panel(ctx, item, lk, in_depth)
    with top[1]:
        _middle_panel(ctx, item, lk, in_depth)
    with top[2]:
        _kernel_panel(ctx, lk)
    out_item = compute.to_last(res.y, ctx.data_format)[b]
    _output_panel(ctx, out_item, lk, depth)
    st.markdown(lk.sentence)
    _downloads(ctx, res, out_item, depth)
    return {}
