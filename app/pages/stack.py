"""Stack view — the shape debugger: build or paste a model, see every layer's output shape,
parameters, multiply-adds and receptive field, where it fails and why, with one-click fixes;
run it on a real input to see each layer's feature maps and an output cell's receptive field.

The stack lives in ``st.session_state["stack_src"]`` as Keras code: examples, the builder's
buttons, a loaded model config and the fixes all rewrite that code, and the URL carries it
(``?view=stack&code=…``). Pasted code is parsed with ``ast`` (engine.stack), never executed.
"""

from __future__ import annotations

import ast

import numpy as np
import streamlit as st

import engine.receptive as R
from app.figures import stack as F
from app.pages import guarded
from engine import stack as S
from engine.geometry import AXIS_SINGULAR
from engine.stack import edit as E
from engine.stack.interp.errors import Refused
from engine.stack_examples import EXAMPLES

MODES = {"examples": "Examples", "code": "Paste Keras code", "build": "Build",
         "config": "Model JSON / .keras"}
DEFAULT_EXAMPLE = "vgg_block"
#: The URL parameters this view owns (``render`` returns their values).
URL_PARAMS = ("code", "example")
SAMPLE_BY_RANK = {1: ("sine_burst", "ecg", "audio"), 2: ("photo", "digit", "drawing"),
                  3: ("volume", "clip")}


# --------------------------------------------------------------------------- state

def _set_code(code: str, clear_override: bool = True) -> None:
    ss = st.session_state
    ss["stack_src"] = code
    ss["stack_code_editor"] = code
    ss["stack_version"] = ss.get("stack_version", 0) + 1
    if clear_override:
        ss["stack_input_override"] = ""


def _init(ctx) -> None:
    ss = st.session_state
    if "stack_src" in ss:
        return
    code = ctx.extras.get("code")
    example = ctx.extras.get("example")
    if code:
        ss["stack_mode"] = "code"
    elif example in EXAMPLES:
        code = EXAMPLES[example]["code"]
        ss["stack_example"] = example
    else:
        code = EXAMPLES[DEFAULT_EXAMPLE]["code"]
        ss["stack_example"] = DEFAULT_EXAMPLE
    _set_code(code)


def _current_layer_code(ctx) -> str:
    spec = S.LayerSpec(ctx.layer_name, dict(ctx.kwargs))
    return S.to_keras_code([spec], tuple(ctx.x.shape[1:]))


# --------------------------------------------------------------------------- callbacks

def _on_example() -> None:
    _set_code(EXAMPLES[st.session_state["stack_example"]]["code"])


def _on_editor() -> None:
    ss = st.session_state
    ss["stack_src"] = ss.get("stack_code_editor", "")
    ss["stack_version"] = ss.get("stack_version", 0) + 1


def _apply_specs(specs, input_shape, batch=None) -> None:
    _set_code(S.to_keras_code(specs, input_shape, batch), clear_override=False)


def _on_edit(op: str, index: int) -> None:
    ss = st.session_state
    try:
        parsed = S.parse_keras_code(ss["stack_src"])
        specs = parsed.specs
        if op == "up":
            specs = E.move(specs, index, -1, parsed.input_name)
        elif op == "down":
            specs = E.move(specs, index, +1, parsed.input_name)
        elif op == "dup":
            specs = E.duplicate(specs, index, parsed.input_name)
        elif op == "del":
            specs = E.remove(specs, index, parsed.input_name)
        elif op == "args":
            version = ss.get("stack_version", 0)
            text = ss.get(f"stack_args_{index}_{version}", "")
            cls = specs[index][0]
            new = S.parse_keras_code(f"[layers.{cls}({text})]").specs[0]
            specs = E.replace_kwargs(specs, index, new[1], parsed.input_name)
        _apply_specs(specs, parsed.input_shape, parsed.batch_size)
        ss["stack_build_error"] = None
    except ValueError as exc:
        ss["stack_build_error"] = str(exc)


def _on_add() -> None:
    ss = st.session_state
    try:
        parsed = S.parse_keras_code(ss["stack_src"])
        cls = ss.get("stack_add_class", "Conv2D")
        text = ss.get("stack_add_args", "")
        new = S.parse_keras_code(f"[layers.{cls}({text})]").specs[0]
        specs = E.insert(parsed.specs, len(parsed.specs), new, parsed.input_name)
        _apply_specs(specs, parsed.input_shape, parsed.batch_size)
        ss["stack_build_error"] = None
    except ValueError as exc:
        ss["stack_build_error"] = str(exc)


def _on_build_input() -> None:
    ss = st.session_state
    try:
        parsed = S.parse_keras_code(ss["stack_src"])
        shape = _literal_shape(ss.get("stack_build_input", ""))
        _apply_specs(parsed.specs, shape, parsed.batch_size)
        ss["stack_build_error"] = None
    except ValueError as exc:
        ss["stack_build_error"] = str(exc)


def _on_load_config() -> None:
    ss = st.session_state
    up = ss.get("stack_upload")
    text = ss.get("stack_json", "")
    try:
        data = up.getvalue() if up is not None else text
        if not data:
            raise ValueError("Upload a .keras / .json file or paste model.to_json() output.")
        parsed = S.load_model_config(data)
        _apply_specs(parsed.specs, parsed.input_shape, parsed.batch_size)
        ss["stack_config_error"] = None
        ss["stack_mode"] = "code"
    except ValueError as exc:
        ss["stack_config_error"] = str(exc)


def _on_fix(index: int) -> None:
    ss = st.session_state
    fix = ss.get("stack_fixes", [])[index]
    _set_code(S.to_keras_code(fix.specs, fix.input_shape))


def _on_current_layer(code: str) -> None:
    _set_code(code)
    st.session_state["stack_mode"] = "build"


# --------------------------------------------------------------------------- helpers

def _literal_shape(text: str):
    """``(28, 28, 1)`` → tuple (batch excluded; a leading None is the batch); '' → None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"The input shape must be a tuple like (28, 28, 1). Received: {text}") \
            from None
    if isinstance(value, int):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)
            for d in value):
        raise ValueError(f"The input shape must be a tuple of sizes. Received: {text}")
    value = tuple(value)
    if value and value[0] is None and len(value) > 1:
        value = value[1:]
    return value


def _data_format(report) -> str:
    for spec in report.specs:
        fmt = spec[1].get("data_format")
        if fmt in ("channels_first", "channels_last"):
            return fmt
    from engine.config import image_data_format
    return image_data_format()


@st.cache_data(max_entries=4, show_spinner=False)
def _run(code: str, override, x: np.ndarray):
    report = S.analyze(code, override, receptive=False)
    return S.run_stack(report, x)


@st.cache_data(max_entries=8, show_spinner=False)
def _sample(name: str):
    from app import compute
    return compute.load_sample(name)


def _input_for(report, ctx, source: str, sample: str):
    """A batch-of-one input shaped like the stack's input."""
    shape = tuple(report.input_shape)
    fmt = _data_format(report)
    rank = len(shape) - 2
    if source == "random" or rank < 1:
        fixed = tuple(16 if d is None else d for d in shape[1:])
        return np.random.default_rng(0).random((1,) + fixed, dtype=np.float32)
    if source == "current" and getattr(ctx, "x", None) is not None and ctx.x.ndim == rank + 2:
        base = ctx.x[0]
        if ctx.data_format == "channels_first":
            base = np.moveaxis(base, 0, -1)
    else:
        base, _meta = _sample(sample)
    return S.fit_input(base, (1,) + tuple(shape[1:]), fmt)


# --------------------------------------------------------------------------- sections

def _source_widgets(ctx) -> None:
    ss = st.session_state
    if ss.get("stack_mode") not in MODES:
        ss["stack_mode"] = "examples"
    mode = st.radio("Start from", list(MODES), key="stack_mode", format_func=MODES.get,
                    horizontal=True)
    if mode == "examples":
        if ss.get("stack_example") not in EXAMPLES:
            ss["stack_example"] = DEFAULT_EXAMPLE
        key = st.selectbox("Example", list(EXAMPLES), key="stack_example",
                           format_func=lambda k: EXAMPLES[k]["title"], on_change=_on_example)
        st.caption(EXAMPLES[key]["about"])
        if st.session_state.get("stack_src") is None:
            _set_code(EXAMPLES[key]["code"])
    elif mode == "code":
        if ss.get("stack_code_editor") != ss.get("stack_src"):
            ss["stack_code_editor"] = ss.get("stack_src", "")
        st.text_area("Keras code (read with Python's ast, never executed)", key="stack_code_editor",
                     height=320, on_change=_on_editor,
                     help="keras.Sequential([...]), a list of layers.Conv2D(...) calls, or a "
                          "functional chain x = layers.Conv2D(...)(x) with keras.Input(shape=...).")
    elif mode == "build":
        _builder()
    else:
        st.file_uploader("A .keras file (only its config.json is read) or model.to_json() "
                         "saved as .json", type=["keras", "json"], key="stack_upload")
        st.text_area("…or paste the JSON of model.to_json()", key="stack_json", height=120)
        st.button("Load the model's layers", key="stack_load", on_click=_on_load_config)
        if ss.get("stack_config_error"):
            st.error(ss["stack_config_error"])
    layer_code = _current_layer_code(ctx) if getattr(ctx, "layer_name", None) else None
    if layer_code:
        st.button(f"Start from the current layer ({ctx.layer_name} on "
                  f"{tuple(ctx.x.shape[1:])})", key="stack_from_layer",
                  on_click=_on_current_layer, args=(layer_code,))


def _builder() -> None:
    ss = st.session_state
    try:
        parsed = S.parse_keras_code(ss["stack_src"])
    except ValueError as exc:
        st.error(f"The current code cannot be edited with the builder: {exc}")
        return
    version = ss.get("stack_version", 0)
    shape_key = "stack_build_input"
    if ss.get("_stack_build_seen") != version:
        ss[shape_key] = "" if parsed.input_shape is None else str(tuple(parsed.input_shape))
        ss["_stack_build_seen"] = version
    st.text_input("Input shape (batch excluded)", key=shape_key, on_change=_on_build_input)
    graph = any(s.inputs is not None for s in parsed.specs)
    for i, spec in enumerate(parsed.specs):
        call = S.to_keras_code([spec]).splitlines()[-2].strip().rstrip(",")
        inner = call[call.index("(") + 1:-1]
        cols = st.columns([3, 6, 1, 1, 1, 1])
        label = spec[0] + (f" ← {', '.join(spec.inputs)}" if spec.inputs else "")
        cols[0].markdown(f"**{i + 1}. {label}**")
        key = f"stack_args_{i}_{version}"
        if key not in ss:
            ss[key] = inner
        cols[1].text_input("arguments", key=key, label_visibility="collapsed",
                           on_change=_on_edit, args=("args", i))
        cols[2].button("↑", key=f"stack_up_{i}", on_click=_on_edit, args=("up", i),
                       disabled=i == 0 or graph, help="Move up")
        cols[3].button("↓", key=f"stack_down_{i}", on_click=_on_edit, args=("down", i),
                       disabled=i == len(parsed.specs) - 1 or graph, help="Move down")
        cols[4].button("⧉", key=f"stack_dup_{i}", on_click=_on_edit, args=("dup", i),
                       help="Duplicate")
        cols[5].button("✕", key=f"stack_del_{i}", on_click=_on_edit, args=("del", i),
                       help="Remove")
    cols = st.columns([3, 6, 2])
    options = sorted(S.SUPPORTED)
    if ss.get("stack_add_class") not in options:
        ss["stack_add_class"] = "Conv2D"
    cols[0].selectbox("Layer", options, key="stack_add_class")
    cols[1].text_input("Arguments, as in Keras", key="stack_add_args",
                       placeholder="32, 3, padding=\"same\", activation=\"relu\"")
    cols[2].button("Add layer", key="stack_add", on_click=_on_add)
    if ss.get("stack_build_error"):
        st.error(ss["stack_build_error"])


def _summary_section(report):
    first = report.first_error
    if first is None:
        st.markdown(f"Output shape: {F.shape_text(report.output_shape)}")
    else:
        st.markdown(f"Output shape: ? — layer {first + 1} (`{report.rows[first]['name']}`) "
                    "fails")
    c1, c2, c3 = st.columns(3)
    c1.metric("Total params" if first is None else "Params (layers computed)",
              f"{report.total_params:,}")
    c2.metric("Trainable params", f"{report.trainable_params:,}")
    c3.metric("Multiply-adds (one example)", f"{report.total_macs:,}")
    frame = F.summary_frame(report.rows)
    # a Styler costs tens of milliseconds to send: only when there are rows to paint
    st.dataframe(frame if first is None else F.highlight_styler(frame, first),
                 hide_index=True, width="stretch")
    if report.receptive_note:
        st.caption(f"Receptive field columns: {report.receptive_note}.")
    else:
        st.caption("Receptive field: size, jump (cumulative stride) and start per spatial "
                   "axis, in input cells (Araujo et al., Distill 2019).")
    for note in report.notes:
        st.caption(note)
    if first is not None:
        row = report.rows[first]
        where = f" (line {row['line']})" if row.get("line") else ""
        st.error(f"Layer {first + 1}, `{row['name']}` ({row['layer']}){where}: {row['error']}")
        fixes = S.suggest_fixes(report) if row["status"] == "error" else []
        st.session_state["stack_fixes"] = fixes
        if fixes:
            st.markdown("**Suggested fixes** (each checked: the layer then builds)")
        for k, fix in enumerate(fixes):
            cols = st.columns([4, 6])
            cols[0].button(f"Fix: {fix.title}", key=f"stack_fix_{k}", on_click=_on_fix,
                           args=(k,))
            cols[1].caption(fix.detail + (" The whole stack then builds." if fix.complete
                                          else " Later layers may still fail."))
    elif report.rows:
        st.plotly_chart(F.shape_flow_figure(report.rows), key="stack_flow")


def _export_section(report) -> str:
    """The export expander; returns the clean Keras code (what the URL carries)."""
    with st.expander("Export: Keras code and a shareable link"):
        code = S.to_keras_code(report.specs, None if report.input_shape is None
                               else tuple(report.input_shape[1:]),
                               None if report.input_shape is None else report.input_shape[0],
                               report.input_name)
        st.code(code, language="python")
        st.download_button("Download model.py", code, file_name="model.py",
                           key="stack_download")
        query = S.to_url_query(report.specs, None if report.input_shape is None
                               else tuple(report.input_shape[1:]))
        base = (st.context.url or "").split("?")[0]
        st.code(f"{base}?{query}", language=None)
        st.caption("The address bar carries this stack too.")
    return code


@st.fragment
@guarded("stack")
def _run_section(report, ctx) -> None:
    """Feature maps and an output cell's receptive field on a real input. A fragment: its
    widgets (input, layer, channels, output cell; none of them in the URL) rerun only this
    section, not the sidebar and the summary above."""
    ss = st.session_state
    st.subheader("Feature maps and receptive fields")
    if report.input_shape is None or not report.rows or report.rows[0]["status"] != "ok":
        st.info("Give the stack an input shape (and fix its first layer) to run it.")
        return
    problem = S.run_cost_error(report)
    if problem:
        st.info(problem)
        return
    rank = len(report.input_shape) - 2
    sources = {"sample": "Shipped sample", "current": "The sidebar's input",
               "random": "Random numbers"}
    if rank < 1:
        st.info("The input has no spatial axes (e.g. a latent vector): random numbers are used.")
        source, sample = "random", None
    else:
        cols = st.columns(2)
        source = cols[0].radio("Input", list(sources), key="stack_input_source",
                               format_func=sources.get, horizontal=True)
        sample = None
        if source == "sample":
            names = SAMPLE_BY_RANK.get(rank, SAMPLE_BY_RANK[2])
            if ss.get("stack_sample") not in names:
                ss["stack_sample"] = names[0]
            sample = cols[1].selectbox("Sample", names, key="stack_sample")
    try:
        x = _input_for(report, ctx, source, sample or SAMPLE_BY_RANK.get(rank, ("photo",))[0])
        with st.spinner("Running the stack…"):
            outputs = _run(ss["stack_src"], _override(), x)
    except ValueError as exc:
        st.warning(f"Cannot run the stack: {exc}")
        return
    names = list(outputs)
    if not names:
        return
    fmt = _data_format(report)
    if ss.get("stack_fm_layer") not in names:
        ss["stack_fm_layer"] = names[min(len(names) - 1, 0)]
    cols = st.columns([3, 2])
    name = cols[0].selectbox("Layer", names, key="stack_fm_layer")
    maxc = cols[1].slider("Channels shown", 1, 32, 8, key="stack_fm_channels")
    y = outputs[name][0]
    row = next(r for r in report.rows if r["name"] == name)
    layer_fmt = fmt if len(y.shape) > 1 else "channels_last"
    st.plotly_chart(F.feature_maps_figure(y, layer_fmt, maxc,
                                          f"{name}: output {F.shape_text(row['output_shape'])}"),
                    key="stack_fm_fig")
    _receptive_section(report, x, fmt, outputs)


def _override():
    try:
        return _literal_shape(st.session_state.get("stack_input_override", ""))
    except ValueError:
        return None


@st.fragment
@guarded("stack")
def _receptive_section(report, x, fmt, outputs) -> None:
    """An output cell's receptive field over the input. A fragment inside
    :func:`_run_section`'s: picking the layer or the cell reruns only this section (the
    feature maps above stay as they are)."""
    ss = st.session_state
    traceable = []
    for i, r in enumerate(report.rows):
        try:
            chain = S.receptive_chain(report, i)
        except ValueError:
            continue
        if chain and r["output_shape"] is not None and len(r["output_shape"]) >= 3:
            traceable.append((i, chain))
    st.markdown("**Receptive field of one output cell**")
    if not traceable:
        st.info("No layer of this stack can be traced back to the input along a plain chain "
                "of convolution / pooling / padding / upsampling layers.")
        return
    labels = {i: report.rows[i]["name"] for i, _ in traceable}
    if ss.get("stack_rf_layer") not in labels:
        ss["stack_rf_layer"] = traceable[-1][0]
    i = st.selectbox("Output of layer", list(labels), key="stack_rf_layer",
                     format_func=labels.get)
    if report.rows[i]["name"] not in outputs:
        return
    chain = dict(traceable)[i]
    out = outputs[report.rows[i]["name"]].shape     # the real output (sizes known)
    spatial = out[2:] if fmt == "channels_first" else out[1:-1]
    cols = st.columns(len(spatial))
    index = []
    axis_names = AXIS_SINGULAR[len(spatial)]
    for a, (c, n) in enumerate(zip(cols, spatial)):
        key = f"stack_rf_pos_{a}"
        if key not in ss or ss[key] > n - 1:
            ss[key] = int(n // 2)
        index.append(int(c.number_input(f"output {axis_names[a]}", 0, max(int(n) - 1, 0),
                                        key=key)))
    try:
        cmap = R.contribution_map(chain, tuple(x.shape), tuple(index))
        text = R.describe_field(chain, tuple(x.shape), tuple(index))
    except ValueError as exc:
        st.warning(str(exc))
        return
    if text:
        st.caption(text)
    where = index[0] if len(index) == 1 else tuple(index)
    st.plotly_chart(F.receptive_overlay_figure(x[0], cmap, fmt,
                                               f"input cells that output {where} of "
                                               f"{labels[i]} sees"), key="stack_rf_fig")


# --------------------------------------------------------------------------- page

def render(ctx) -> dict:
    """The stack view. ``ctx`` is :class:`app.context.ViewContext` (its layer and input are
    offered as a starting point; ``ctx.extras["code"]`` / ``["example"]`` seed the stack).
    Returns the values of :data:`URL_PARAMS`: the code as typed, or its clean export."""
    _init(ctx)
    ss = st.session_state
    st.header("Shape debugger")
    st.caption("Describe a stack of layers; see each layer's output shape, parameters, "
               "multiply-adds and receptive field exactly as Keras would, and where it fails.")
    _source_widgets(ctx)
    st.text_input("Input shape override (batch excluded, e.g. (128, 128, 3); empty = from "
                  "the code)", key="stack_input_override")
    try:
        override = _literal_shape(ss.get("stack_input_override", ""))
    except ValueError as exc:
        st.error(str(exc))
        override = None
    try:
        report = S.analyze(ss["stack_src"], override)
        if len(report.models) > 1:           # several models in the code: offer the others
            if ss.get("stack_model") not in report.models:
                ss["stack_model"] = report.model_name
            choice = st.selectbox("Model of the code", report.models, key="stack_model")
            if choice != report.model_name:
                report = S.analyze(ss["stack_src"], override, model=choice)
    except ValueError as exc:
        st.markdown("Output shape: (none — the stack could not be read)")
        st.error(f"Cannot read the stack: {exc}")
        partial = exc.partial if isinstance(exc, Refused) else None
        if partial is not None and partial.specs:
            st.caption("The layers read before that line:")
            _summary_section(S.analyze(partial, override))
        return {"code": ss["stack_src"]}
    if report.input_shape is None:
        st.warning("No input shape: add keras.Input(shape=...) to the code or fill the "
                   "override above.")
    _summary_section(report)
    code = _export_section(report)
    _run_section(report, ctx)
    return {"code": code}
