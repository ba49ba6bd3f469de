"""Receptive-field view: which input cells one output cell sees, and how much each counts.

For the current layer (repeated ``n`` times, optionally followed by a second layer) the
page shows the arithmetic table per axis (Araujo et al.; every quantity named in words:
field size, step between neighbouring outputs' fields (jump), first input cell seen by
output 0 (start), effective padding, exact fractions after upsampling), the exact
contribution map of one output position over the input (all-ones kernels by default, or the layer's real weights, optionally the true
gradient at the shown input) with the field's outline and the table's theoretical box, a
sentence in words, and the theoretical-vs-effective growth with depth (Luo et al.).

Widget keys start with ``rf_``; their values are mirrored in the URL (``rf_repeat=3``,
``rf_add=maxpool``, ``rf_weights=actual``, ``rf_x=True``, ``rf_pos=(3, 4)``).
Clicking a cell of the map moves the output position to the one whose field is centred
nearest to it.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from app import column_width, theme as T
from app.figures import receptive as F
from app.state import extra_value
from engine import shapes
from engine.geometry import AXIS_NAMES, AXIS_SHORT
from engine.layers import LAYER_CLASSES
from engine.pooling import POOLING_CLASSES
from engine.receptive import (ReceptivePlan, describe_field, effective_fraction,
                              erf_growth)
from engine.receptive._table import build_table

MAX_REPEAT = 12
#: URL parameters this view owns (see :func:`url_params`).
URL_PARAMS = ("rf_repeat", "rf_add", "rf_weights", "rf_x", "rf_pos")
MAX_OUTPUT_CELLS = 4_000_000

#: second-layer menu: key → (label, class stem, kwargs); the stem gets the rank appended.
ADDITIONS = {
    "none": ("nothing", None, {}),
    "maxpool": ("MaxPooling, pool 2", "MaxPooling{r}D", {"pool_size": 2}),
    "avgpool": ("AveragePooling, pool 3, stride 2, same", "AveragePooling{r}D",
                {"pool_size": 3, "strides": 2, "padding": "same"}),
    "conv": ("Conv, kernel 3, same", "Conv{r}D", {"filters": 1, "kernel_size": 3,
                                                   "padding": "same"}),
    "dilated": ("Conv, kernel 3, dilation 2, same", "Conv{r}D",
                {"filters": 1, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}),
    "stride2": ("Conv, kernel 3, stride 2, same", "Conv{r}D",
                {"filters": 1, "kernel_size": 3, "strides": 2, "padding": "same"}),
    "upsample": ("UpSampling ×2 (nearest)", "UpSampling{r}D", {"size": 2}),
    "transpose": ("ConvTranspose, kernel 3, stride 2", "Conv{r}DTranspose",
                  {"filters": 1, "kernel_size": 3, "strides": 2}),
}
_CHANNELS_LAST_ONLY = ("UpSampling1D", "Cropping1D")

#: The arithmetic table's quantities (record key → row label in words), per layer: first
#: the layer's own numbers, then the field of the layers up to it.
QUANTITIES = {
    "output_size": "cells of this layer's output",
    "kernel": "window of this layer (cells)",
    "stride": "stride of this layer",
    "pad": "zeros this layer adds (before, after)",
    "size": "field size (cells)",
    "jump": "step between neighbouring outputs' fields (jump)",
    "start": "first input cell seen by output 0 (start)",
    "centre": "centre of output 0's field",
    "padding": "cells output 0's field reaches before the input (effective padding)",
    "exact": "cells from first to last read, over all outputs (exact size)",
    "clipped": "outputs whose field is cut (at the start, at the end)",
    "empty": "outputs that see no input cell",
    "clipped_by": "what cuts them",
}

#: Height of a dataframe row (CSS px): tables are as tall as their rows, never scrolled.
ROW_PX = 35


# --------------------------------------------------------------------------- URL extras



def _seed_widgets(ctx, rank):
    """URL → widget state, once per session (widgets own their state afterwards)."""
    ss = st.session_state
    if ss.get("rf_seeded"):
        return
    ex = ctx.extras or {}
    repeat = extra_value(ex.get("rf_repeat"), 1)
    ss["rf_repeat"] = int(repeat) if isinstance(repeat, int) and 1 <= repeat <= MAX_REPEAT else 1
    add = extra_value(ex.get("rf_add"), "none")
    ss["rf_add"] = add if add in ADDITIONS else "none"
    weights = extra_value(ex.get("rf_weights"), "ones")
    ss["rf_weights"] = weights if weights in ("ones", "actual") else "ones"
    ss["rf_x"] = bool(extra_value(ex.get("rf_x"), False))
    pos = extra_value(ex.get("rf_pos"), None)
    if isinstance(pos, int):
        pos = (pos,)
    if isinstance(pos, tuple) and len(pos) == rank and all(isinstance(p, int) for p in pos):
        for a, p in enumerate(pos):
            ss[f"rf_pos_{a}"] = max(int(p), 0)
    ss["rf_seeded"] = True


def url_params(rank: int) -> dict[str, str]:
    """Widget state → the values of :data:`URL_PARAMS` (the router puts them in the URL)."""
    ss = st.session_state
    return {
        "rf_repeat": str(ss.get("rf_repeat", 1)),
        "rf_add": ss.get("rf_add", "none"),
        "rf_weights": ss.get("rf_weights", "ones"),
        "rf_x": str(bool(ss.get("rf_x", False))),
        "rf_pos": str(tuple(int(ss.get(f"rf_pos_{a}", 0)) for a in range(rank))),
    }


# --------------------------------------------------------------------------- stack

def _addition(key, rank, data_format):
    label, stem, kwargs = ADDITIONS[key]
    if stem is None:
        return None
    name = stem.format(r=rank)
    cls = LAYER_CLASSES.get(name) or POOLING_CLASSES.get(name)
    kwargs = dict(kwargs)
    if name not in _CHANNELS_LAST_ONLY:
        kwargs["data_format"] = data_format
    elif data_format != "channels_last":
        raise ValueError(f"{name} is channels_last only in Keras; it cannot follow a "
                         "channels_first layer.")
    return cls(**kwargs)


def _make_stack(ctx, repeat, add):
    first = ctx.make_layer()
    layers = [first]
    for _ in range(1, repeat):
        layers.append(LAYER_CLASSES[ctx.layer_name](**ctx.kwargs))
    extra = _addition(add, first.rank, first.data_format)
    if extra is not None:
        layers.append(extra)
    return layers


def _plan(ctx, repeat, add):
    """(plan, table) for this configuration, kept in the session while it does not change."""
    ss = st.session_state
    signature = repr((ctx.layer_name, sorted(ctx.kwargs.items(), key=lambda kv: kv[0]),
                      repeat, add, tuple(ctx.x.shape), ctx.weights_mode, repr(ctx.custom)))
    cached = ss.get("rf._plan")
    if cached is not None and cached[0] == signature:
        return cached[1], cached[2]
    layers = _make_stack(ctx, repeat, add)
    plan = ReceptivePlan(layers, tuple(ctx.x.shape))
    if math.prod(plan.output_spatial) > MAX_OUTPUT_CELLS:
        raise ValueError(f"the stack's output has {math.prod(plan.output_spatial):,} cells; "
                         "use fewer repetitions or a smaller input.")
    table = build_table(plan.steps, plan.rank)
    ss["rf._plan"] = (signature, plan, table)
    return plan, table


# --------------------------------------------------------------------------- selection

def nearest_output(table, cell, out_spatial):
    """Per axis, the output position whose field centre (table: centre + o·jump) is nearest
    to input coordinate ``cell[axis]`` (clamped to the output); ``None`` entries are kept."""
    out = []
    for axis, c in enumerate(cell):
        if c is None:
            out.append(None)
            continue
        row = table.final(axis)
        o = round((float(c) - float(row.centre)) / float(row.jump))
        out.append(int(min(max(o, 0), out_spatial[axis] - 1)))
    return tuple(out)


def _on_click(rank, table, out_spatial):
    """A click on the input map → the output whose field centre is nearest."""
    ss = st.session_state
    try:
        points = ss["rf_plot"]["selection"]["points"]
    except (KeyError, TypeError):
        return
    if not points or points[0].get("x") is None:
        return
    p = points[0]
    cell = [float(p["x"])] if rank == 1 else [float(p["y"]), float(p["x"])]
    for axis, o in enumerate(nearest_output(table, cell, out_spatial)):
        ss[f"rf_pos_{axis}"] = o


# --------------------------------------------------------------------------- render

def _cell(r: dict, key: str) -> str:
    """One record's value of ``key`` as the table shows it."""
    if key == "exact":
        return (str(r["size_min"]) if r["size_min"] == r["size_max"]
                else f"{r['size_min']} to {r['size_max']}")
    if key == "clipped":
        return f"{r['clipped_before']}, {r['clipped_after']}"
    if key == "clipped_by":
        return _short(r["clipped_by"]) or "—"
    return str(r[key])


def axis_frame(table, axis: int) -> pd.DataFrame:
    """The arithmetic of one axis: a row per quantity (in words), a column per layer."""
    records = [r for r in table.records(text=True) if r["axis"] == axis]
    columns = {f"{r['position'] + 1}. {r['class_name']}": [_cell(r, k) for k in QUANTITIES]
               for r in records}
    return pd.DataFrame(columns, index=list(QUANTITIES.values()))


def _notes(table, names) -> list[str]:
    """The table's notes (asymmetric padding, unread cells, fractions), one per line."""
    return [f"- {r['position'] + 1}. {r['class_name']}, {names[r['axis']]}: {r['note']}"
            for r in table.records(text=True) if r["note"]]


def axis_summary(table, axis: int, name: str) -> str:
    """The whole stack's field along one axis in a sentence, with the table's numbers."""
    row = table.final(axis)
    d = row.as_dict(True)
    return (f"**Along the {name}**: each output sees {d['size']} input cells; output *o*'s "
            f"field starts at input cell {d['start']} + *o*·{d['jump']} (neighbouring outputs' "
            f"fields are {d['jump']} cell(s) apart).")


def _arithmetic(table, names) -> None:
    """The receptive-field arithmetic, axis by axis, in words."""
    st.markdown("**Arithmetic** (Araujo, Norris & Sim, Distill 2019): for the layers up to "
                "each column, output *o* reads input cells inside [start + o·jump, start + "
                "o·jump + field size − 1]; fractions appear after transposed convolutions and "
                "upsampling.")
    full = AXIS_NAMES[len(names)]
    for axis in range(len(names)):
        st.markdown(axis_summary(table, axis, full[axis]))
        st.dataframe(axis_frame(table, axis), width="stretch",
                     height=ROW_PX * (len(QUANTITIES) + 2))
    notes = _notes(table, names)
    if notes:
        st.markdown("\n".join(notes))


def _short(text, limit=3):
    parts = [p for p in text.split(", ") if p]
    if len(parts) <= limit:
        return ", ".join(parts)
    return ", ".join(parts[:limit]) + f" … (+{len(parts) - limit})"


def _stack_label(plan, repeat, add):
    first = plan.steps[0].class_name
    label = f"{first} ×{repeat}" if repeat > 1 else first
    if add != "none":
        label += f" → {plan.steps[-1].class_name}"
    out = tuple(plan.output_shape)
    return f"{label}; output shape {(None,) + out[1:]}"


def _controls():
    """Repeat / second layer / weights / at-this-input widgets → their values."""
    c1, c2 = st.columns([1, 2])
    repeat = c1.number_input("Repeat the layer", 1, MAX_REPEAT, key="rf_repeat", step=1,
                             help="Stack n copies of the current layer.")
    add = c2.selectbox("Then add", list(ADDITIONS), key="rf_add",
                       format_func=lambda k: ADDITIONS[k][0])
    weights = st.radio("Weights", ("ones", "actual"), key="rf_weights", horizontal=True,
                       format_func={"ones": "all ones (theoretical)",
                                    "actual": "the layer's weights (effective)"}.get)
    use_x = st.checkbox("at this input", key="rf_x", disabled=weights != "actual",
                        help="Gradient of the real network at the shown input: activation "
                             "derivatives and max-pooling routes at the forward values. "
                             "Off: activations count as identity.")
    return int(repeat), add, weights, use_x


def _plan_or_layer(ctx, repeat, add):
    """(plan, table) of the stack, or of the layer alone when the stack is refused (the
    reason shown); ``None`` when even the layer alone is."""
    try:
        return _plan(ctx, repeat, add)
    except ValueError as exc:
        st.error(f"This stack is not valid: {exc}")
        if repeat == 1 and add == "none":
            return None
    st.caption("Showing the layer alone instead.")
    try:
        return _plan(ctx, 1, "none")
    except ValueError as exc:
        st.error(str(exc))
        return None


def _position(plan, names) -> tuple:
    """The output position sliders (one per axis) → the output index."""
    ss = st.session_state
    rank = plan.rank
    st.markdown("**Output position**" + (" (or click the map)" if rank <= 2 else ""))
    index = []
    for a, n in enumerate(plan.output_spatial):
        key = f"rf_pos_{a}"
        if key not in ss:
            ss[key] = n // 2
        ss[key] = int(min(max(int(ss[key]), 0), n - 1))
        if n > 1:
            index.append(int(st.slider(f"output {names[a]}", 0, n - 1, key=key)))
        else:
            st.caption(f"output {names[a]}: 0 (1 cell)")
            index.append(0)
    return tuple(index)


#: The page's two columns (parts of the main column: the map, the controls) and the gap
#: between them (px, Streamlit's ``gap="small"``).
COLUMNS = (3, 2)
COLUMN_GAP_PX = 16
MAP_SHARE = COLUMNS[0] / sum(COLUMNS)


def _map_width() -> int:
    """The map's width (px): ``Theme.map_width`` where its column holds it (from a 1280 px
    window up), else the whole pixels of its column, from the main column's width that
    :func:`app.column_width.fit` measured (a 1024 px window: 564 → 328 px)."""
    full = T.theme(bool(st.session_state.get("present"))).map_width
    budget = math.ceil(full / MAP_SHARE) + COLUMN_GAP_PX
    main = column_width.fit(budget)
    return full if main >= budget else int((main - COLUMN_GAP_PX) * MAP_SHARE)


def _field_section(ctx, plan, table, index, weights, use_x, names, map_px):
    """The contribution map (``map_px`` wide) with its outline and theoretical box, and the
    sentence; the map, or ``None`` after showing why it cannot be computed."""
    ss = st.session_state
    rank = plan.rank
    x = ctx.x if (weights == "actual" and use_x) else None
    try:
        cmap = plan.contribution_map(index, weights, x)
        mask = plan.mask(index, weights, x)
        words = describe_field(plan, index=index, weights=weights, x=x, cmap=cmap, mask=mask)
    except ValueError as exc:
        st.error(str(exc))
        return None
    theory = F.theory_box(table, index)
    t = T.theme(bool(ss.get("present")))
    if rank == 3:
        box = plan.field_box(index)
        depth_default = (box[0][0] + box[0][1]) // 2 if box else plan.input_spatial[0] // 2
        if ss.get("rf_depth_for") != index:
            ss["rf_depth"] = int(depth_default)
            ss["rf_depth_for"] = index
        d = st.slider("input depth slice", 0, plan.input_spatial[0] - 1, key="rf_depth")
        fig = F.map_figure(cmap[d], mask[d], theory=theory, axis_names=names, clickable=False,
                           width=map_px, t=t)
        st.plotly_chart(fig, key="rf_plot3", theme=None, width="content",
                        config={"displaylogo": False})
    else:
        zoom = st.toggle("Zoom on the field", value=True, key="rf_zoom")
        fig = F.map_figure(cmap, mask, theory=theory, axis_names=names, zoom=zoom,
                           width=map_px, t=t)
        st.plotly_chart(fig, key="rf_plot", theme=None, width="content",
                        on_select=lambda: _on_click(rank, table, plan.output_spatial),
                        selection_mode="points", config={"displaylogo": False})
    st.markdown(words[0].upper() + words[1:])
    outside = [f"{names[a]} {lo:g}..{hi:g}" for a, (lo, hi) in enumerate(theory)]
    cut = [a for a, (lo, hi) in enumerate(theory)
           if lo < 0 or hi > plan.input_spatial[a] - 1]
    st.caption("Solid black outline, labelled “exact field”: the cells that contribute. "
               "Dashed blue box, labelled “theoretical field”: the table's box for this output "
               f"({', '.join(outside)})"
               + (f"; it reaches past the input along {', '.join(names[a] for a in cut)}, "
                  "where the padding zeros are." if cut else ".")
               + (" Weights: all ones, biases 0, activations identity; max pooling counts "
                  "as the mean of its window." if weights == "ones" else ""))
    return cmap


def _effective_section(ctx, plan, cmap) -> None:
    with st.expander("Theoretical vs effective field (Luo et al., 2016)"):
        stats = effective_fraction(cmap, 0.95)
        st.markdown(
            f"95% of this output's contribution comes from **{stats['effective_cells']}** of "
            f"its **{stats['theoretical_cells']}** contributing cells ({stats['fraction']:.0%} "
            "of them). For n "
            "stacked layers the theoretical field grows like n, the effective one like √n.")
        if st.checkbox("Show the growth with depth", key="rf_growth"):
            depths = _growth_depths(ctx, plan)
            if len(depths) >= 2:
                growth = erf_growth(lambda n: _make_stack(ctx, n, "none"),
                                    tuple(ctx.x.shape), depths, 0.95, "ones")
                t = T.theme(bool(st.session_state.get("present")))
                st.plotly_chart(F.growth_figure(growth, t=t), key="rf_growth_fig", theme=None,
                                config={"displaylogo": False})
            else:
                st.caption("The layer cannot be stacked deep enough on this input.")


def render(ctx) -> dict[str, str]:
    """The Receptive-field page; returns the values of its :data:`URL_PARAMS`."""
    rank, names = ctx.rank, AXIS_SHORT[ctx.rank]
    _seed_widgets(ctx, rank)
    st.subheader("Receptive field")
    map_px = _map_width()
    pic, side = st.columns(COLUMNS)
    with side:
        st.caption("Which input cells one output cell depends on, and how much: the exact "
                   "gradient of the output cell (summed over channels) with respect to the "
                   "input, summed over input channels.")
        repeat, add, weights, use_x = _controls()
        planned = _plan_or_layer(ctx, repeat, add)
        if planned is None:
            return {}
        plan, table = planned
        st.markdown(f"**Stack:** {_stack_label(plan, repeat, add)}")
        index = _position(plan, names)
    with pic:
        cmap = _field_section(ctx, plan, table, index, weights, use_x, names, map_px)
    if cmap is None:
        return {}
    _arithmetic(table, names)
    _effective_section(ctx, plan, cmap)
    return url_params(rank)


def _growth_depths(ctx, plan, limit=16):
    """Depths 1, 2, 4, … for which n copies of the layer fit the input."""
    depths = []
    shape = tuple(ctx.x.shape)
    layer = LAYER_CLASSES[ctx.layer_name](**ctx.kwargs)
    n = 0
    while n < limit:
        try:
            shape = tuple(layer.compute_output_shape(shape))
        except ValueError:
            break
        n += 1
        _, spatial, _ = shapes.split_shape(shape, plan.rank, plan.data_format)
        if math.prod(spatial) > MAX_OUTPUT_CELLS or min(spatial) < 1:
            break
        if n & (n - 1) == 0:
            depths.append(n)
    return depths
