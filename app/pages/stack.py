"""Stack view — the shape debugger: build or paste a model, see every layer's output shape,
parameters, multiply-adds and receptive field, where it fails and why, with one-click fixes;
run it on a real input to see each layer's feature maps and an output cell's receptive field.

The stack lives in ``st.session_state["stack_src"]`` as Keras code: examples, the builder's
buttons, a loaded model config and the fixes all rewrite that code, and the URL carries it
(``?view=stack&code=…``). Pasted code is parsed with ``ast`` (engine.stack), never executed.

What is computed from the code (the analysis and its export, the run, receptive fields) is
cached by the code (:func:`_analysis`, :func:`_run`, :func:`_field`): a sidebar argument
reruns the page (issue 15) but recomputes nothing of the stack.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
import streamlit as st

import engine.receptive as R
from app import compute
from app.figures import stack as F
from app.pages import guarded
from engine import stack as S
from engine.config import image_data_format
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
    """The stack's data_format: the first layer's that names one, else keras.json's."""
    for spec in report.specs:
        fmt = spec[1].get("data_format")
        if fmt in ("channels_first", "channels_last"):
            return fmt
    return image_data_format()


@dataclass(frozen=True)
class Analysis:
    """A stack's report and what the page derives from it, computed once per stack (see
    :func:`_analysis`): a rerun that leaves the stack as it is (a sidebar argument, a widget
    of another section) reads it back instead of analysing the code again."""

    key: tuple         # what it is computed from: :func:`_analysis`'s arguments
    report: S.Report
    code: str          # the clean Keras code of the export (what the URL carries)
    query: str         # the shareable link's query string
    traceable: tuple   # row indices whose output traces back to the input along a chain
    data_format: str   # the stack's (:func:`_data_format`)


def _traceable(report) -> tuple:
    """Rows with spatial axes whose receptive field :func:`S.receptive_chain` can trace."""
    rows = []
    for i, r in enumerate(report.rows):
        try:
            chain = S.receptive_chain(report, i)
        except ValueError:
            continue
        if chain and r["output_shape"] is not None and len(r["output_shape"]) >= 3:
            rows.append(i)
    return tuple(rows)


@st.cache_data(max_entries=16, show_spinner=False)
def _analysis(code: str, override, model, keras_format: str) -> Analysis:
    """:func:`engine.stack.analyze` of ``code`` (with the input-shape ``override``, the
    ``model`` of the code; ``None``: the one analyze picks) and its export. ``keras_format``:
    keras.json's ``image_data_format``, which layers without a data_format read (part of
    the cache key only). ValueError: the code cannot be read (not cached)."""
    report = S.analyze(code, override, model=model)
    shape = None if report.input_shape is None else tuple(report.input_shape[1:])
    batch = None if report.input_shape is None else report.input_shape[0]
    return Analysis((code, override, model, keras_format), report,
                    S.to_keras_code(report.specs, shape, batch, report.input_name),
                    S.to_url_query(report.specs, shape), _traceable(report),
                    _data_format(report))


@st.cache_data(max_entries=16, show_spinner=False)
def _field(key: tuple, row: int, input_shape: tuple, index: tuple):
    """(contribution map: float64 array of the input's spatial shape, the sentence that
    describes it) of output cell ``index`` of row ``row`` of the stack :func:`_analysis`
    computes from ``key`` (its arguments), on an input of ``input_shape`` (batch first).
    ValueError: the index or the shape is refused (not cached)."""
    chain = S.receptive_chain(_analysis(*key).report, row)
    plan = R.ReceptivePlan(chain, input_shape)
    cmap = plan.contribution_map(index)
    return cmap, R.describe_field(plan, index=index, cmap=cmap)


@st.cache_data(max_entries=4, show_spinner="Running the stack…")
def _run(key: tuple, x: np.ndarray) -> dict:
    """``{layer name: output}`` of the stack :func:`_analysis` computes from ``key`` (its
    arguments) on ``x`` (batch first); ValueError: it cannot run (not cached)."""
    return S.run_stack(_analysis(*key).report, x)


@st.cache_data(max_entries=8, show_spinner=False)
def _sample_input(name: str, input_shape: tuple, data_format: str) -> np.ndarray:
    """The shipped sample ``name`` fitted to ``input_shape`` (batch first; float32)."""
    from app import compute
    base, _meta = compute.load_sample(name)
    return S.fit_input(base, input_shape, data_format)


def _input_for(analysis: Analysis, ctx, source: str, sample: str):
    """A batch-of-one input shaped like the stack's input."""
    shape = tuple(analysis.report.input_shape)
    fmt = analysis.data_format
    rank = len(shape) - 2
    if source == "random" or rank < 1:
        fixed = tuple(16 if d is None else d for d in shape[1:])
        return np.random.default_rng(0).random((1,) + fixed, dtype=np.float32)
    if source == "current" and getattr(ctx, "x", None) is not None and ctx.x.ndim == rank + 2:
        base = ctx.x[0]
        if ctx.data_format == "channels_first":
            base = np.moveaxis(base, 0, -1)
        return S.fit_input(base, (1,) + shape[1:], fmt)
    return _sample_input(sample, (1,) + shape[1:], fmt)


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
    counts = (("Total params" if first is None else "Params (layers computed)",
               report.total_params), ("Trainable params", report.trainable_params),
              ("Multiply-adds (one example)", report.total_macs))
    for col, (label, n) in zip((c1, c2, c3), counts):
        shown = compute.metric_count(n)
        col.metric(label, shown)
        if shown != f"{n:,}":                   # rounded: the whole count under it
            col.caption(f"exactly {n:,}")
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


def _export_section(analysis: Analysis) -> None:
    """The export expander: the clean Keras code, its download and the shareable link."""
    with st.expander("Export: Keras code and a shareable link"):
        st.code(analysis.code, language="python")
        st.download_button("Download model.py", analysis.code, file_name="model.py",
                           key="stack_download")
        base = (st.context.url or "").split("?")[0]
        st.code(f"{base}?{analysis.query}", language=None)
        st.caption("The address bar carries this stack too.")


@st.fragment
@guarded("stack")
def _run_section(analysis: Analysis, ctx) -> None:
    """Feature maps and an output cell's receptive field on a real input. A fragment: its
    widgets (input, layer, channels, output cell; none of them in the URL) rerun only this
    section, not the sidebar and the summary above."""
    ss = st.session_state
    report = analysis.report
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
        x = _input_for(analysis, ctx, source, sample or SAMPLE_BY_RANK.get(rank, ("photo",))[0])
        outputs = _run(analysis.key, x)
    except ValueError as exc:
        st.warning(f"Cannot run the stack: {exc}")
        return
    names = list(outputs)
    if not names:
        return
    fmt = analysis.data_format
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
    _receptive_section(analysis, x, outputs)


@st.fragment
@guarded("stack")
def _receptive_section(analysis: Analysis, x, outputs) -> None:
    """An output cell's receptive field over the input ``x`` (batch first). A fragment
    inside :func:`_run_section`'s: picking the layer or the cell reruns only this section
    (the feature maps above stay as they are)."""
    ss = st.session_state
    report, fmt = analysis.report, analysis.data_format
    st.markdown("**Receptive field of one output cell**")
    if not analysis.traceable:
        st.info("No layer of this stack can be traced back to the input along a plain chain "
                "of convolution / pooling / padding / upsampling layers.")
        return
    labels = {i: report.rows[i]["name"] for i in analysis.traceable}
    if ss.get("stack_rf_layer") not in labels:
        ss["stack_rf_layer"] = analysis.traceable[-1]
    i = st.selectbox("Output of layer", list(labels), key="stack_rf_layer",
                     format_func=labels.get)
    if report.rows[i]["name"] not in outputs:
        return
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
        cmap, text = _field(analysis.key, i, tuple(x.shape), tuple(index))
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
    keras_format = image_data_format()
    try:
        analysis = _analysis(ss["stack_src"], override, None, keras_format)
        report = analysis.report
        if len(report.models) > 1:           # several models in the code: offer the others
            if ss.get("stack_model") not in report.models:
                ss["stack_model"] = report.model_name
            choice = st.selectbox("Model of the code", report.models, key="stack_model")
            if choice != report.model_name:
                analysis = _analysis(ss["stack_src"], override, choice, keras_format)
                report = analysis.report
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
    _export_section(analysis)
    _run_section(analysis, ctx)
    return {"code": analysis.code}
