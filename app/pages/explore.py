"""Explore view: input, padded input, kernel and every output channel, linked cell to cell.

The headline is the exact text ``Output shape: (…)`` with the parameter count and the
multiply-add count; below it the formula of every axis with the user's numbers, the
teaching traps (TensorFlow's ``same`` padding, transposed-convolution ambiguity), the
panels, and downloads (PNG, .npy, Keras code). Clicking an output cell outlines the input
window (padding included) and kernel taps that produced it; clicking an input cell outlines
every output cell it feeds.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import streamlit as st

from app import cached, compute
from app.codegen import keras_code
from app.figures import explore as F
from app.presets import kernel_labels
from app.state import kind_of, rank_of
from engine.layers import LAYER_CLASSES

SLOW_MACS = 300_000_000


# --------------------------------------------------------------------------- selection

def _on_select(fig_key: str, target: str, rank: int) -> None:
    """Plotly click → selected output (``cell``) or input (``in_cell``) position."""
    ss = st.session_state
    ev = ss.get(fig_key)
    try:
        points = ev["selection"]["points"]
    except (KeyError, TypeError):
        return
    if not points:
        return
    p = points[0]
    x = p.get("x")
    y = p.get("y")
    if x is None:
        return
    col = int(round(float(x)))
    row = int(round(float(y))) if y is not None and rank > 1 else 0
    depth = int(ss.get("ex.depth", 0)) if target == "cell" else int(ss.get("ex.in_depth", 0))
    pos = {1: (col,), 2: (row, col), 3: (depth, row, col)}[rank]
    if target == "cell":
        ss["cell"] = pos
        ss["in_cell"] = None
        custom = p.get("customdata")
        curve = p.get("curve_number")
        if isinstance(custom, (list, tuple)) and custom and rank != 1:
            ss["ex.ch"] = int(custom[-1])
        elif curve is not None and rank == 1:
            ss["ex.ch"] = int(curve)
    else:
        ss["in_cell"] = pos
        ss["cell"] = None


def _clear_selection() -> None:
    st.session_state["cell"] = None
    st.session_state["in_cell"] = None


# --------------------------------------------------------------------------- helpers

def _product(per_axis):
    return list(itertools.product(*per_axis))


def _sources(layer, spatial_in, spatial_out, cell):
    """Input cells (in range), padded-panel cells and kernel taps for an output cell."""
    per_axis = [compute.sources_1d(layer, a, spatial_in[a], spatial_out[a], cell[a])
                for a in range(len(cell))]
    window, pad_taps, taps, padded = [], [], [], []
    kind = kind_of(type(layer).__name__)
    pads = compute.display_pads(layer, spatial_in, spatial_out)
    for combo in _product(per_axis):
        idx = tuple(i for i, _ in combo)
        tap = tuple(t for _, t in combo)
        if any(i is None for i in idx):
            if kind in ("conv", "separable", "depthwise"):
                pad_taps.append(tap)
                padded.append(tuple(cell[a] * layer.strides[a] + tap[a] * layer.dilation_rate[a]
                                    for a in range(len(cell))))
            continue
        window.append(idx)
        if tap[0] is not None:
            taps.append(tap)
        if kind in ("conv", "separable", "depthwise"):
            padded.append(tuple(i + pads[a][0] for a, i in enumerate(idx)))
    return window, padded, taps, pad_taps


def _targets(layer, spatial_in, spatial_out, cell):
    per_axis = [compute.targets_1d(layer, a, spatial_in[a], spatial_out[a], cell[a])
                for a in range(len(cell))]
    outs, taps = [], []
    for combo in _product(per_axis):
        outs.append(tuple(o for o, _ in combo))
        if combo and combo[0][1] is not None:
            taps.append(tuple(t for _, t in combo))
    return outs, taps


def _plane(cells, rank, depth=None):
    """N-d cells → (row, col) cells of the shown 2-D plane (1-D: (0, i))."""
    if rank == 1:
        return [(0, c[0]) for c in cells]
    if rank == 2:
        return [tuple(c) for c in cells]
    return [(c[1], c[2]) for c in cells if depth is None or c[0] == depth]


def _kernel_spatial(layer, weights, ch: int):
    """The spatial kernel behind output channel ``ch`` (input channel 0) and its label."""
    kind = kind_of(type(layer).__name__)
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


def _show(fig, key=None, on_select=None, args=None):
    if on_select is None:
        st.plotly_chart(fig, key=key, config={"displaylogo": False})
    else:
        st.plotly_chart(fig, key=key, on_select=lambda: on_select(*args),
                        selection_mode="points", config={"displaylogo": False})


# --------------------------------------------------------------------------- render

def render(ctx) -> None:
    ss = st.session_state
    name = ctx.layer_name
    rank = rank_of(name)
    kind = kind_of(name)
    x = ctx.x
    weights_mode = getattr(ctx, "weights_mode", "init")
    custom = getattr(ctx, "custom", None)
    try:
        probe = LAYER_CLASSES[name](**ctx.kwargs)
        out_shape = tuple(probe.compute_output_shape(tuple(x.shape)))
    except ValueError as exc:
        st.error(str(exc))
        return
    fmt = probe.data_format
    cost = compute.cost(probe, x.shape, out_shape)

    # ---------------------------------------------------------------- headline
    st.markdown(f"### Output shape: {out_shape}")
    keras_none = (None,) + out_shape[1:]
    c1, c2, c3 = st.columns(3)
    c1.metric("Parameters", f"{cost.params:,}", help="Keras's count_params() for this input.")
    c2.metric("Multiply-adds", compute.fmt_count(cost.macs).split(" (")[0],
              help=f"{cost.macs:,} multiply-adds ≈ {2 * cost.macs:,} FLOPs for this input "
                   f"(batch {x.shape[0]}).")
    c3.metric("Output values", f"{cost.out_elements:,}")
    st.caption(f"Input {tuple(x.shape)} from {ctx.input_label} · parameter count "
               f"{cost.params:,} · {compute.fmt_count(cost.macs)} multiply-adds "
               f"(≈ {compute.fmt_count(2 * cost.macs)} FLOPs) · in a model, Keras's summary "
               f"would print {keras_none}.")
    if ctx.extras.get("error"):
        st.caption("(This is the last valid configuration.)")

    # ---------------------------------------------------------------- formulas and traps
    infos = compute.axis_infos(probe, tuple(x.shape))
    rows = "\n".join(f"| {i.name} | {i.n_in} | {i.n_out} | {i.formula} |" for i in infos)
    st.markdown("| axis | input | output | formula |\n| --- | --- | --- | --- |\n" + rows)
    for i in infos:
        if i.note:
            st.info(f"**{i.name}**: {i.note}")
    with st.expander(f"data_format: {fmt}", expanded=False):
        st.caption(compute.data_format_note(fmt, rank, tuple(x.shape)))
        st.plotly_chart(F.layout_figure(tuple(x.shape), out_shape, fmt, rank),
                        key="ex.layout", config={"displayModeBar": False})

    refused = cost.refused
    if refused:
        st.error(f"Refused: {refused}")
        return

    # ---------------------------------------------------------------- compute
    t0 = time.perf_counter()
    try:
        if cost.macs > SLOW_MACS:
            with st.status(f"Computing {compute.fmt_count(cost.macs)} multiply-adds…",
                           expanded=False) as status:
                res = cached.run_layer(name, ctx.kwargs, x, weights_mode, custom)
                status.update(label="Done", state="complete")
        else:
            res = cached.run_layer(name, ctx.kwargs, x, weights_mode, custom)
    except ValueError as exc:
        st.error(str(exc))
        return
    wall = time.perf_counter() - t0
    y = res.y
    st.caption(f"Engine time {1000 * res.seconds:.1f} ms (this rerun: {1000 * wall:.1f} ms, "
               "cached results are reused).")
    if res.losses:
        st.caption("layer.losses (regularization penalties): "
                   + ", ".join(f"{v:.6g}" for v in res.losses))

    xl = compute.to_last(x, fmt)
    yl = compute.to_last(y, fmt)
    sp_in = tuple(xl.shape[1:-1])
    sp_out = tuple(yl.shape[1:-1])

    # ---------------------------------------------------------------- controls
    cols = st.columns([1, 1, 1, 2])
    b = 0
    if x.shape[0] > 1:
        b = int(cols[0].number_input("Batch item", 0, x.shape[0] - 1, 0, key="ex.item"))
    cols[1].radio("Colour scale", ("shared", "per_channel"), key="scale", horizontal=True,
                  format_func={"shared": "shared", "per_channel": "per channel"}.get)
    cell = ss.get("cell")
    in_cell = ss.get("in_cell")
    if cell is not None and len(cell) != rank:
        cell = None
    if in_cell is not None and len(in_cell) != rank:
        in_cell = None
    if cell is None and in_cell is None:
        cell = tuple(n // 2 for n in sp_out)
    if cell is not None:
        cell = tuple(min(max(int(c), 0), n - 1) for c, n in zip(cell, sp_out))
    if in_cell is not None:
        in_cell = tuple(min(max(int(c), 0), n - 1) for c, n in zip(in_cell, sp_in))
    depth = in_depth = None
    if rank == 3:
        dflt = cell[0] if cell is not None else sp_out[0] // 2
        if ss.get("ex.depth") is None or ss.get("ex.depth") >= sp_out[0]:
            ss["ex.depth"] = dflt
        depth = cols[2].slider("Output depth slice", 0, sp_out[0] - 1, key="ex.depth")
        if cell is not None and cell[0] != depth:
            cell = (depth,) + cell[1:]
    sel_text = (f"output cell {cell}" if cell is not None else f"input cell {in_cell}")
    cols[3].markdown(f"**Linked:** {sel_text}. Click a cell of the output (or of the input) "
                     "to see where it comes from (or what it feeds).")
    cols[3].button("Reset selection", on_click=_clear_selection, key="ex.reset")

    # ---------------------------------------------------------------- links
    hl_in, hl_pad, hl_out, taps, pad_taps = {}, {}, {}, [], []
    if cell is not None:
        window, padded, taps, pad_taps = _sources(probe, sp_in, sp_out, cell)
        if rank == 3:
            depths = sorted({c[0] for c in window})
            in_depth = depths[len(depths) // 2] if depths else min(cell[0], sp_in[0] - 1)
            if depths:
                st.caption(f"Input depth slices {depths[0]}…{depths[-1]} feed output cell "
                           f"{cell}; the input panel shows slice {in_depth}.")
        hl_in = {"window": _plane(window, rank, in_depth)}
        hl_pad = {"window": _plane(padded, rank, None if rank < 3 else None)}
        if rank == 3:
            pads3 = compute.display_pads(probe, sp_in, sp_out)
            hl_pad = {"window": [(p[1], p[2]) for p in padded
                                 if p[0] == (in_depth or 0) + pads3[0][0]]}
        hl_out = {"selected": _plane([cell], rank, depth)}
    else:
        outs, taps = _targets(probe, sp_in, sp_out, in_cell)
        if rank == 3:
            in_depth = in_cell[0]
            ds = sorted({o[0] for o in outs})
            if ds:
                if depth not in ds:
                    st.caption(f"Input cell {in_cell} feeds output depth slices {ds[0]}…{ds[-1]}; "
                               f"move the depth slider to see them.")
        hl_in = {"selected": _plane([in_cell], rank, in_depth)}
        hl_out = {"fed": _plane(outs, rank, depth)}
        pads = compute.display_pads(probe, sp_in, sp_out)
        hl_pad = {"selected": _plane([tuple(i + pads[a][0] for a, i in enumerate(in_cell))],
                                     rank, None)} if rank < 3 else {}
    if rank == 3 and in_depth is None:
        in_depth = sp_in[0] // 2

    # ---------------------------------------------------------------- panels
    st.markdown("#### Input → kernel → output")
    top = st.columns(3)
    item = xl[b]
    with top[0]:
        title = f"Input {tuple(x.shape)}"
        if rank == 1:
            fig = F.signal_figure(item, title, highlights=hl_in)
        else:
            plane = item if rank == 2 else item[in_depth]
            if rank == 3:
                title += f" · depth {in_depth}"
            shown = plane if plane.shape[-1] in (1, 3) else plane[..., :1]
            fig = F.image_figure(shown, title, highlights=hl_in)
            if plane.shape[-1] not in (1, 3):
                st.caption(f"Showing input channel 0 of {plane.shape[-1]}.")
        _show(fig, "ex.in_fig", _on_select, ("ex.in_fig", "in_cell", rank))
    with top[1]:
        _padded_panel(probe, kind, rank, item, sp_in, sp_out, hl_pad, in_depth)
    with top[2]:
        _kernel_panel(probe, kind, res.weights, taps, pad_taps, weights_mode, rank)

    st.markdown(f"#### Output {tuple(y.shape)} · every channel")
    shared = ss.get("scale", "per_channel") == "shared"
    out_item = yl[b]
    n_ch = out_item.shape[-1]
    max_ch = 16
    if n_ch > max_ch:
        st.caption(f"Showing the first {max_ch} of {n_ch} channels.")
    names = [f"channel {i}" for i in range(min(n_ch, max_ch))]
    if weights_mode not in ("init", "custom") and kind in ("conv", "transpose"):
        labels = kernel_labels(weights_mode, rank, min(n_ch, max_ch))
        names = [f"{i}: {lab}" for i, lab in enumerate(labels)]
    diverging = bool(out_item.min() < 0 < out_item.max())
    if rank == 1:
        fig = F.signal_figure(out_item[:, :max_ch], f"Output {tuple(y.shape)}", names=names,
                              highlights=hl_out, height=340)
    else:
        plane = out_item if rank == 2 else out_item[depth]
        maps = np.moveaxis(plane[..., :max_ch], -1, 0)
        fig = F.grid_figure(maps, names, shared=shared, highlights=hl_out, diverging=diverging)
    _show(fig, "ex.out_fig", _on_select, ("ex.out_fig", "cell", rank))

    # ---------------------------------------------------------------- downloads
    st.markdown("#### Download and reproduce")
    plane = out_item if rank == 2 else (out_item[depth] if rank == 3 else out_item[None, :, :])

    def png() -> bytes:  # built only when the button is clicked (not on every rerun)
        maps = np.moveaxis(plane, -1, 0) if rank >= 2 else np.moveaxis(
            np.broadcast_to(plane, (32,) + plane.shape[1:]), -1, 0)
        return F.to_png(maps, shared=shared, scale=max(1, 256 // max(maps.shape[1:])))

    weights_note = ("" if weights_mode != "init" else
                    "Keras's seeded initializers draw other numbers than the engine's: "
                    "set_weights makes them identical")
    kw = dict(ctx.kwargs)
    code = keras_code(name, kw, tuple(x.shape), tuple(y.shape),
                      res.weights if res.weights else None, weights_note)
    d = st.columns(5)
    # downloads are callables: Streamlit builds the file when it is asked for
    d[0].download_button("Output PNG", png, file_name=f"{name}_output.png", mime="image/png",
                         key="dl.png")
    d[1].download_button("Output .npy", lambda: cached.npy_bytes(y),
                         file_name=f"{name}_output.npy", mime="application/octet-stream",
                         key="dl.npy")
    d[2].download_button("Input .npy", lambda: cached.npy_bytes(x), file_name="input.npy",
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


def _padded_panel(layer, kind, rank, item, sp_in, sp_out, hl, in_depth):
    if kind in ("conv", "separable", "depthwise"):
        pads = compute.display_pads(layer, sp_in, sp_out)
        if not any(b or a for b, a in pads):
            st.markdown(f"**Padded input** · padding='{layer.padding}': no zeros added")
            st.caption("With valid padding the kernel only visits full windows: the input is "
                       "used as is (see the formula for cells that are never reached).")
            return
        width = [(b, a) for b, a in pads] + [(0, 0)]
        padded = np.pad(item, width)
        title = f"Padded input {tuple(padded.shape)} · padding='{layer.padding}'"
        if rank == 1:
            fig = F.signal_figure(padded, title, highlights=hl,
                                  area=(pads[0][0], pads[0][0] + sp_in[0] - 1))
        else:
            plane = padded if rank == 2 else padded[in_depth + pads[0][0]]
            off = pads[-2:]
            area = (off[0][0], off[1][0], off[0][0] + sp_in[-2] - 1, off[1][0] + sp_in[-1] - 1)
            shown = plane if plane.shape[-1] in (1, 3) else plane[..., :1]
            fig = F.image_figure(shown, title, highlights=hl, area=area)
        _show(fig, "ex.pad_fig")
        st.caption("Green dashed box: the original input; everything outside it is zeros. "
                   + ("Causal padding adds them on the left only." if layer.padding == "causal"
                      else "Padding per axis (before, after): "
                      + ", ".join(str(p) for p in pads)
                      + " — TensorFlow puts an odd extra zero after (bottom/right)."))
    elif kind == "transpose":
        z, place = compute.transpose_view(layer, item, sp_out)
        title = f"Zero-inserted, padded input {tuple(z.shape)}"
        if rank == 1:
            fig = F.signal_figure(z, title)
        else:
            plane = z if rank == 2 else z[min(max(place[0][0] + in_depth * place[0][1], 0),
                                              z.shape[0] - 1)]
            shown = plane if plane.shape[-1] in (1, 3) else plane[..., :1]
            fig = F.image_figure(shown, title)
        _show(fig, "ex.pad_fig")
        st.caption("A transposed convolution equals a stride-1 convolution with the flipped "
                   "kernel over the input with strides − 1 zeros inserted between cells and "
                   "dilation·(k − 1) − padding zeros around.")
    elif kind == "pad":
        st.markdown("**Padded input** = the output of this layer (below).")
    elif kind == "crop":
        st.markdown("**Cropping** keeps the cells inside the window:")
        st.caption(", ".join(f"{compute.AXIS_NAMES[rank][a]}: {b} before, {e} after"
                             for a, (b, e) in enumerate(layer.cropping)))
    else:
        interp = getattr(layer, "interpolation", "nearest")
        st.markdown(f"**Upsampling** × {layer.size} · interpolation='{interp}'")
        st.caption("nearest repeats each cell; the other methods blend neighbours "
                   "(TensorFlow's tf.image.resize numbers).")


def _kernel_panel(layer, kind, weights, taps, pad_taps, weights_mode, rank):
    if kind not in ("conv", "separable", "depthwise", "transpose") or not weights:
        st.markdown("**No kernel**: this layer has no weights (0 parameters).")
        return
    ss = st.session_state
    ch = int(ss.get("ex.ch", 0) or 0)
    k, label = _kernel_spatial(layer, weights, ch)
    shape = tuple(weights[0].shape)
    title = f"Kernel {shape}"
    if rank == 3:
        mid = k.shape[0] // 2
        tap_d = [t for t in taps if t[0] == mid]
        fig = F.kernel_figure(k[mid], title + f" · depth tap {mid}",
                              taps=[t[1:] for t in tap_d],
                              pad_taps=[t[1:] for t in pad_taps if t[0] == mid])
    else:
        fig = F.kernel_figure(k, title, taps=[t if rank == 2 else (0, t[0]) for t in taps],
                              pad_taps=[t if rank == 2 else (0, t[0]) for t in pad_taps])
    _show(fig, "ex.k_fig")
    st.caption(f"{label}. Orange: taps that read input cells; blue dotted: taps that read "
               "padding zeros." + (" Values from the preset, divided by the input channels."
                                   if weights_mode not in ("init", "custom") else ""))
