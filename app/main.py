"""convlab's entry point and router: ``streamlit run app/main.py``.

The sidebar (layer picker, arguments, input, weights) is shared by every view. Its state is
seeded from the URL on the first run of a session (:func:`app.state.parse_query`) and
written back to the URL after every run (:func:`app.state.to_query`), so a link restores
the view. The router builds one :class:`app.context.ViewContext` (layer, data_format,
geometry, cost, weights) and calls ``app/pages/<view>.py``'s ``render(ctx)``, which returns
the values of the URL parameters the page owns.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/ first, not the root
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from app import cached, compute, state as S, theme as T, url, widgets as W  # noqa: E402
from app.context import Selection, ViewContext  # noqa: E402
from app.pages import animate, explore, guard, learn, receptive, stack  # noqa: E402
from app.presets import LABELS, custom_fits, preset_names, preset_kernel, spatial_kernels  # noqa: E402
from engine import io as eio  # noqa: E402
from engine import shapes  # noqa: E402
from engine.geometry import AXIS_SHORT  # noqa: E402
from engine.layers import LAYER_CLASSES  # noqa: E402

SOURCES = {"sample": "Shipped sample", "synthetic": "Synthetic (choose a shape)",
           "upload": "Upload a file", "camera": "Camera", "mic": "Microphone"}
#: Per rank, the file types the uploader accepts: engine.io's extensions, without the dot.
UPLOAD_TYPES = {rank: [e.lstrip(".") for e in exts] for rank, exts in (
    (1, eio.SIGNAL_EXTENSIONS), (2, eio.IMAGE_EXTENSIONS), (3, eio.VOLUME_EXTENSIONS))}
UPLOAD_LABELS = {1: "Signal", 2: "Image", 3: "Volume"}
PAGES = {"explore": explore, "animate": animate, "receptive": receptive, "stack": stack}
DEFAULT_SYNTHETIC = {1: (1, 128, 2), 2: (1, 64, 64, 3), 3: (1, 16, 32, 32, 1)}


# --------------------------------------------------------------------------- session seeding

def _seed_from_state(state: S.AppState) -> None:
    ss = st.session_state
    ss["layer"] = state.layer
    ss["family"] = S.FAMILY_OF[state.layer]
    W.clear_args()
    W.seed_args(state.layer, state.args)
    rank = S.rank_of(state.layer)
    ss["view"] = state.view
    if state.input_shape is not None:
        ss["in.source"] = "synthetic"
        ss["in.shape"] = S.format_literal(tuple(state.input_shape))
    else:
        ss["in.source"] = "sample"
        ss["in.shape"] = S.format_literal(DEFAULT_SYNTHETIC[rank])
    ss["in.sample"] = state.sample or S.DEFAULT_SAMPLE[rank]
    ss["in.color"] = state.color
    ss["in.resize"] = state.size is not None
    ss["in.size"] = tuple(state.size) if state.size else None
    ss["in.batch"] = state.batch
    ss["w.mode"] = state.weights
    ss["w.seed"] = state.seed
    ss["w.kernel"] = state.kernel
    ss["w.grid_version"] = ss.get("w.grid_version", 0) + 1
    ss["scale"] = state.scale
    ss["selection"] = Selection("output", tuple(state.cell)) if state.cell else None
    ss["extras"] = dict(state.extras)
    ss["present"] = state.present


def _init_session() -> None:
    ss = st.session_state
    if ss.get("_init"):
        return
    state, errors = S.parse_query(st.query_params.to_dict())
    _seed_from_state(state)
    ss["url_errors"] = errors
    ss["_init"] = True
    ss["last_good"] = None


def _on_layer_change() -> None:
    ss = st.session_state
    _switch_layer(ss["layer"])


def _on_family_change() -> None:
    ss = st.session_state
    fam = ss["family"]
    old = ss.get("layer", S.DEFAULT_LAYER)
    rank = S.rank_of(old)
    options = S.LAYER_FAMILIES[fam]
    same_rank = [n for n in options if S.rank_of(n) == rank]
    ss["layer"] = same_rank[0] if same_rank else options[min(1, len(options) - 1)]
    _switch_layer(ss["layer"], old)


def _switch_layer(new: str, old: str | None = None) -> None:
    """New layer: its Keras defaults; a new rank also gets that rank's default input."""
    ss = st.session_state
    old = old or ss.get("_layer_prev", S.DEFAULT_LAYER)
    W.clear_args()
    W.seed_args(new, S.default_args(new))
    if S.rank_of(new) != S.rank_of(old):
        rank = S.rank_of(new)
        if ss.get("in.source") in ("upload", "camera", "mic"):
            ss["in.source"] = "sample"
        ss["in.sample"] = S.DEFAULT_SAMPLE[rank]
        ss["in.shape"] = S.format_literal(DEFAULT_SYNTHETIC[rank])
        ss["in.resize"] = False
        ss["in.size"] = None
        ss["w.kernel"] = None
        if ss.get("w.mode") not in preset_names(rank) + ("init",):
            ss["w.mode"] = "bank"
    if S.has_weights(new) and ss.get("w.mode") not in preset_names(S.rank_of(new)) + (
            "init", "custom"):
        ss["w.mode"] = "bank"
    ss["selection"] = None
    ss["w.grid_version"] = ss.get("w.grid_version", 0) + 1
    ss["_layer_prev"] = new


# --------------------------------------------------------------------------- sidebar

def sidebar_layer() -> str:
    ss = st.session_state
    st.sidebar.header("Layer")
    st.sidebar.selectbox("Family", list(S.LAYER_FAMILIES), key="family",
                         on_change=_on_family_change)
    options = S.LAYER_FAMILIES[ss["family"]]
    if ss.get("layer") not in options:
        ss["layer"] = options[0]
        _switch_layer(ss["layer"])
    st.sidebar.radio("Layer (1D / 2D / 3D)", options, key="layer", horizontal=True,
                     on_change=_on_layer_change)
    ss["_layer_prev"] = ss["layer"]
    return ss["layer"]


def sidebar_input(layer: str, data_format: str):
    """Input widgets → (x or None, label, error or None, state fields)."""
    ss = st.session_state
    rank = S.rank_of(layer)
    sb = st.sidebar
    sb.header("Input")
    sources = ["sample", "synthetic", "upload"] + (["camera"] if rank == 2 else []) + (
        ["mic"] if rank == 1 else [])
    if ss.get("in.source") not in sources:
        ss["in.source"] = "sample"
    source = sb.radio("Source", sources, key="in.source", format_func=SOURCES.get,
                      horizontal=True)
    fields = {"sample": None, "input_shape": None, "color": "auto", "size": None, "batch": 1}
    base, label, key, meta = None, "", None, {}
    err = None
    try:
        if source == "synthetic":
            text = sb.text_input("input_shape (batch first, in data_format)", key="in.shape",
                                 help="e.g. (1, 64, 64, 3) for channels_last 2D; values are "
                                      "smooth waves plus a bright box.")
            try:
                shape = S.parse_literal(text)
            except ValueError as exc:
                raise eio.InputError(str(exc)) from None
            if (not isinstance(shape, tuple) or len(shape) != rank + 2
                    or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in shape)):
                raise eio.InputError(f"input_shape must be {rank + 2} positive integers, batch "
                                     f"first, e.g. {S.format_literal(DEFAULT_SYNTHETIC[rank])}.")
            fields["input_shape"] = shape
            x = cached.synthetic_input(shape, data_format)
            return x, f"synthetic {shape}", None, fields
        if source == "sample":
            names = [n for n, s in S.SAMPLES.items() if s.rank == rank]
            if ss.get("in.sample") not in names:
                ss["in.sample"] = S.DEFAULT_SAMPLE[rank]
            name = sb.selectbox("Sample", names, key="in.sample",
                                format_func=lambda n: S.SAMPLES[n].label)
            base, meta = cached.sample_array(name)
            label, key = f"sample: {name}", ("sample", name)
            fields["sample"] = name
        elif source == "upload":
            up = sb.file_uploader(
                f"{UPLOAD_LABELS[rank]} ({', '.join(t.upper() for t in UPLOAD_TYPES[rank])})",
                type=UPLOAD_TYPES[rank], key="in.upload")
            if up is None:
                sb.info("Choose a file; until then the default sample is used.")
            else:
                data = up.getvalue()
                base, meta = cached.upload_array(data, up.name, rank)
                label, key = f"upload: {up.name}", ("upload", up.name, len(data))
                ss["last_upload"] = (base, meta, label, key)
            if base is None and ss.get("last_upload") and ss["last_upload"][0].ndim == rank + 1:
                base, meta, label, key = ss["last_upload"]
        elif source == "camera":
            pic = sb.camera_input("Take a picture", key="in.camera")
            if pic is not None:
                data = pic.getvalue()
                base, meta = cached.upload_array(data, "camera.jpg", rank)
                label, key = "camera", ("camera", hash(data))
        elif source == "mic":
            rec = sb.audio_input("Record a sound", key="in.mic", sample_rate=8000)
            if rec is not None:
                data = rec.getvalue()
                base, meta = cached.upload_array(data, "recording.wav", rank)
                label, key = "microphone", ("mic", hash(data))
    except eio.InputError as exc:
        err = str(exc)
        sb.error(err)
    if base is None:
        base, meta = cached.sample_array(S.DEFAULT_SAMPLE[rank])
        label, key = f"sample: {S.DEFAULT_SAMPLE[rank]}", ("sample", S.DEFAULT_SAMPLE[rank])
    # colour, size, batch
    if meta.get("kind") in ("image", "volume"):
        color = sb.radio("Colour", S.COLOR_MODES, key="in.color", horizontal=True,
                         format_func={"auto": "as loaded", "rgb": "RGB",
                                      "gray": "grayscale"}.get)
    else:
        color = "auto"
    spatial = tuple(base.shape[:-1])
    size = None
    if sb.checkbox("Resize", key="in.resize",
                   help="Resize the spatial axes (bilinear; box-averaged when shrinking)."):
        cur = ss.get("in.size") or spatial
        if len(cur) != rank:
            cur = spatial
        cols = sb.columns(rank)
        vals = []
        for i, c in enumerate(cols):
            k = f"in.size.{i}"
            if k not in ss:
                ss[k] = min(max(int(cur[i]), 1), S.MAX_SIZE)
            vals.append(int(c.number_input(f"{AXIS_SHORT[rank][i]}", min_value=1,
                                           max_value=S.MAX_SIZE, step=1, key=k)))
        size = tuple(vals)
        ss["in.size"] = size
    else:
        for i in range(3):
            ss.pop(f"in.size.{i}", None)
    batch = int(sb.number_input("Batch size", min_value=1, max_value=S.MAX_BATCH, step=1,
                                key="in.batch",
                                help="Items after the first are flipped / shifted copies."))
    fields.update(color=color, size=size, batch=batch)
    try:
        x = cached.prepared(key, base, rank, color, size, batch, data_format)
    except eio.InputError as exc:
        # over the input budget (or a bad size): shrink to the largest size that fits
        c = base.shape[-1]
        per_cell = batch * (1 if color == "gray" else (3 if color == "rgb" and c == 1 else c))
        fit = compute.fit_size(spatial, per_cell)
        if size is None:
            sb.info(f"This input ({' × '.join(map(str, spatial))}, batch {batch}) is larger "
                    f"than the server's budget of {compute.MAX_INPUT_ELEMENTS:,} values, so it "
                    f"is shown downscaled to {' × '.join(map(str, fit))}. Keras would compute "
                    "the same layer at full size, only slower.")
        else:
            sb.error(str(exc))
            err = err or str(exc)
        try:
            x = cached.prepared(key, base, rank, color, None if fit == spatial else fit, batch,
                                data_format)
            # an automatic fit stays out of the URL (a link does not carry uploads)
            fields["size"] = None if size is None or fit == spatial else fit
        except eio.InputError as exc2:  # should not happen: fall back to the default sample
            err = err or str(exc2)
            base, meta = cached.sample_array(S.DEFAULT_SAMPLE[rank])
            x = cached.prepared(("sample", S.DEFAULT_SAMPLE[rank]), base, rank, "auto", None, 1,
                                data_format)
            fields.update(size=None, batch=1, color="auto")
    return x, label, err, fields


def sidebar_weights(layer: str, args: dict) -> tuple[str, object]:
    ss = st.session_state
    rank = S.rank_of(layer)
    sb = st.sidebar
    sb.header("Weights")
    modes = preset_names(rank) + ("init", "custom")
    if ss.get("w.mode") not in modes:
        ss["w.mode"] = "bank"
    mode = sb.selectbox("Kernel values", modes, key="w.mode", format_func=LABELS.get,
                        help="Presets make the output meaningful; biases are zero with presets.")
    ks = tuple(args.get("kernel_size") or (3,) * rank)
    if mode == "init":
        sb.number_input("seed", min_value=0, max_value=2 ** 31 - 1, step=1, key="w.seed",
                        help="Seed of every random initializer (reproducible weights).")
    custom = ss.get("w.kernel")
    if mode == "custom" and not custom_fits(custom, ks):
        custom = spatial_kernels("bank", ks, 1)[0].tolist()
        ss["w.kernel"] = custom
    # a toggle, not an expander: Streamlit draws a closed expander's content, and the grid
    # editor costs the browser ~100 ms on every page (its table component)
    if (mode != "init" and rank <= 2 and np.prod(ks) <= 121
            and sb.toggle("Edit the kernel grid", key="w.edit", value=mode == "custom")):
        with sb.container(border=True):
            if mode == "custom":
                base = np.asarray(custom, np.float32).reshape(ks)
            else:
                base = spatial_kernels(mode, ks, 1)[0] if mode != "bank" else preset_kernel(
                    "sobel_x" if rank == 2 else "moving_average", ks)
            grid = base.reshape(1, -1) if rank == 1 else base
            import pandas as pd

            df = pd.DataFrame(grid.astype(float), columns=[str(j) for j in range(grid.shape[1])])
            key = f"w.grid.{ss.get('w.grid_version', 0)}"
            ss["w.grid_base"] = grid.tolist()
            st.caption("Editing a value makes this the kernel of every filter (mode: custom), "
                       "divided by the number of input channels.")
            st.data_editor(df, key=key, hide_index=False, on_change=_on_grid_edit, args=(key,))
    return mode, (custom if mode == "custom" else None)


def _on_grid_edit(key: str) -> None:
    ss = st.session_state
    edits = ss.get(key) or {}
    grid = np.asarray(ss.get("w.grid_base"), np.float64)
    for row, cols in (edits.get("edited_rows") or {}).items():
        for col, val in cols.items():
            try:
                v = float(val) if val is not None else 0.0
                if math.isfinite(v) and abs(v) <= S.MAX_KERNEL_VALUE:
                    grid[int(row), int(col)] = v
            except (ValueError, TypeError, IndexError, OverflowError):
                pass
    ss["w.kernel"] = (grid.ravel() if grid.shape[0] == 1 and S.rank_of(ss["layer"]) == 1
                      else grid).tolist()
    ss["w.mode"] = "custom"
    ss["w.grid_version"] = ss.get("w.grid_version", 0) + 1


# --------------------------------------------------------------------------- budget

ANIMATE_MAX_SIDE = 32  # the Animate view shrinks its input to at most this many cells per axis


def budget_refusal(view: str, layer: str, kwargs: dict, x_shape: tuple) -> str | None:
    """The server budget (:mod:`app.compute`) for ``view``: why it refuses, or ``None``.

    Explore checks its own (after showing the shapes); Stack has no tensors. Animate works
    on an input shrunk to :data:`ANIMATE_MAX_SIDE` cells per axis, so that is what is
    estimated; Receptive works on the real input."""
    if view in ("explore", "stack"):
        return None
    try:
        obj = LAYER_CLASSES[layer](**kwargs)
        shape = tuple(x_shape)
        if view == "animate":
            batch, spatial, c = shapes.split_shape(shape, obj.rank, obj.data_format)
            spatial = tuple(min(n, ANIMATE_MAX_SIDE) for n in spatial)
            shape = shapes.join_shape(1, spatial, c, obj.data_format)
        return compute.cost(obj, shape).refused
    except ValueError:
        return None  # the view reports Keras's reason itself


# --------------------------------------------------------------------------- main

def render_view(view: str, ctx: ViewContext) -> None:
    """``render(ctx)`` of the page of ``view``; the values it returns for the URL parameters
    it declares (``URL_PARAMS``) go into the URL, the ones it leaves out are dropped."""
    params = None
    with guard(view):
        params = PAGES[view].render(ctx)
    if params is None:     # the page failed (guard said so)
        return
    extras = st.session_state["extras"]
    for key in PAGES[view].URL_PARAMS:   # what the page owns: its values, or dropped
        extras.pop(key, None)
        if params and key in params:
            extras[key] = params[key]


def exercise_link(ex) -> str:
    """The app URL that shows an exercise's (first) layer on its input in the exercise's
    view, written by :func:`app.state.query_string` like every other link."""
    name, kwargs = ex.layers[0]
    query = {"layer": name, **{k: S.format_literal(v) for k, v in kwargs.items()},
             "input_shape": S.format_literal(tuple(ex.input_shape)), "view": ex.view}
    return S.query_string(S.parse_query(query)[0])


def render_learn(state: S.AppState) -> None:
    """The Learn view. Its exercise set is the URL's ``seed`` (the app's one seed
    parameter); ``lesson``, ``n`` and ``done`` are its own URL parameters."""
    ss = st.session_state
    params, errors = learn.read_params({**ss["extras"], "seed": str(state.seed)})
    for message in errors:
        st.error(message)
    out = learn.render(params, link=exercise_link)
    ss["extras"].update({k: out[k] for k in learn.URL_PARAMS if k in out and k != "seed"})
    state.seed = int(out["seed"])
    ss["_pending_seed"] = state.seed   # the sidebar's seed widget follows on the next run


def _header(state: S.AppState) -> None:
    """Title, URL messages and the parameters no view knows."""
    ss = st.session_state
    if state.present:   # a projector: the picture, not the banner, gets the first screen
        st.subheader("convlab")
    else:
        st.title("convlab")
        st.caption("Every Keras convolutional layer, computed exactly by a NumPy/Numba "
                   "engine. Change anything in the sidebar; the link in your address bar "
                   "restores this view.")
    for name, msg in ss.get("url_errors", []):
        st.error(f"URL parameter `{name}`: {msg}")
    if ss.get("url_errors") and st.button("Dismiss URL messages"):
        ss["url_errors"] = []
        st.rerun()
    unknown = [k for k in state.extras if state.view == "explore" and not S.is_view_param(k)]
    if unknown:
        st.warning("Unknown URL parameter(s) ignored by this view: "
                   + ", ".join(f"`{k}`" for k in unknown))


@dataclass(frozen=True)
class LastGood:
    """The last configuration Keras accepted (kept in the session without its arrays)."""

    layer_name: str
    kwargs: dict
    weights_mode: str
    custom: list | None
    x_shape: tuple


def _fallback_context(state: S.AppState, x, input_label: str, error: str) -> ViewContext | None:
    """After Keras refused the sidebar's configuration: the last valid one on this input,
    else the layer with its default arguments, else ``None`` (``ctx.error`` says why)."""
    extras = st.session_state["extras"]
    last = st.session_state.get("last_good")
    if last is not None and last.layer_name == state.layer and last.x_shape == x.shape:
        st.caption("Showing the last valid configuration below; fix the argument to update.")
        return ViewContext(last.layer_name, last.kwargs, x, input_label,
                           weights_mode=last.weights_mode, custom=last.custom, extras=extras,
                           error=error)
    st.caption("Showing this layer with its default arguments below.")
    dstate = S.AppState(layer=state.layer, args=S.default_args(state.layer),
                        weights=state.weights, seed=state.seed, kernel=None)
    mode = ("bank" if state.weights == "custom" else state.weights) \
        if S.has_weights(state.layer) else "init"
    try:
        return ViewContext(state.layer, S.layer_kwargs(dstate), x, input_label,
                           weights_mode=mode, extras=extras, error=error)
    except ValueError:
        return None


def _context(state: S.AppState, x, input_label: str, slots: dict) -> ViewContext | None:
    """The view context of the sidebar's configuration, or after Keras's refusal (shown next
    to the argument it names) a fallback."""
    mode = state.weights if S.has_weights(state.layer) else "init"
    custom = state.kernel if mode == "custom" else None
    kwargs = S.layer_kwargs(state)
    try:
        ctx = ViewContext(state.layer, kwargs, x, input_label, weights_mode=mode,
                          custom=custom, extras=st.session_state["extras"])
    except ValueError as exc:
        error = str(exc)
    else:
        st.session_state["last_good"] = LastGood(state.layer, kwargs, mode, custom, x.shape)
        return ctx
    culprit = W.blame(error, [s.name for s in S.arg_specs(state.layer)])
    slot = slots.get(culprit)
    (slot if slot is not None else st.sidebar).error(error)
    where = f" (argument `{culprit}`)" if culprit else ""
    st.error(f"Keras refuses this configuration{where}: {error}")
    return _fallback_context(state, x, input_label, error)


def _views(state: S.AppState, ctx: ViewContext | None) -> None:
    """The view picker and the chosen view (after the server's budget for it)."""
    view = st.radio("View", S.VIEWS, key="view", horizontal=True,
                    format_func=S.VIEW_LABELS.get, label_visibility="collapsed")
    state.view = view
    if view == "learn":
        render_learn(state)
        return
    if ctx is None:
        st.info("Nothing to show until the configuration is valid; the error above says why.")
        if view == "explore":
            # the required text still appears so that the page always states a shape
            st.markdown("Output shape: (none — invalid configuration)")
        return
    refusal = budget_refusal(view, ctx.layer_name, ctx.kwargs, tuple(ctx.x.shape))
    if refusal:
        st.error(f"Refused: {refusal}")
        st.caption("The Explore view still shows the output shape and the formulas.")
    else:
        render_view(view, ctx)


def _sidebar(ss) -> tuple[S.AppState, np.ndarray, str, str | None, dict]:
    """Every sidebar widget → (state, input, its label, input error, error slots)."""
    if "_pending_seed" in ss:
        ss["w.seed"] = ss.pop("_pending_seed")
    st.sidebar.toggle("Presentation mode", key="present",
                      help="Large type and cell numbers for a projector; the link gets "
                           "present=1 (it opens with the sidebar collapsed).")
    layer = sidebar_layer()
    st.sidebar.header("Arguments")
    with st.sidebar:
        slots = W.render_args(layer, ss.get("w.mode", "bank"), groups=("main",))
    args = W.read_args(layer)
    try:
        data_format = shapes.standardize_data_format(args.get("data_format"))
    except ValueError:
        data_format = "channels_last"
    x, input_label, input_error, fields = sidebar_input(layer, data_format)
    mode, custom = sidebar_weights(layer, args) if S.has_weights(layer) else ("init", None)
    with st.sidebar:
        if S.has_weights(layer):
            slots.update(W.render_args(layer, mode, groups=("init",)))
        slots.update(W.render_args(layer, mode, groups=("advanced",)))
    selection = ss.get("selection")
    state = S.AppState(layer=layer, args=W.read_args(layer), view=ss.get("view", "explore"),
                       sample=fields["sample"], input_shape=fields["input_shape"],
                       color=fields["color"], size=fields["size"], batch=fields["batch"],
                       weights=mode if S.has_weights(layer) else "bank",
                       seed=int(ss.get("w.seed", 0) or 0), kernel=custom,
                       scale=ss.get("scale", "per_channel"),
                       cell=selection.output if selection else None,
                       present=bool(ss.get("present")), extras=ss.get("extras", {}))
    return state, x, input_label, input_error, slots


def main() -> None:
    cached.warm_up()
    _init_session()
    ss = st.session_state
    ss[url.FULL_RUN] = True        # a view's fragment reruns sync the URL themselves
    st.html(T.PAGE_CSS)
    try:
        state, x, input_label, input_error, slots = _sidebar(ss)
        _header(state)
        ctx = _context(state, x, input_label, slots)
        if input_error:
            st.warning(f"Input problem: {input_error} (your last input is kept).")
        _views(state, ctx)
        state.scale = ss.get("scale", "per_channel")
        selection = ss.get("selection")
        state.cell = selection.output if selection else None
        url.sync(state)
    finally:
        ss[url.FULL_RUN] = False
    cached.freeze_heap()


if __name__ == "__main__":
    st.set_page_config(page_title="convlab · Keras convolution explorer", page_icon="🔳",
                       layout="wide", initial_sidebar_state=(
                           "collapsed" if st.query_params.get("present") in ("1", "True")
                           else "auto"))
    # One page: the router dispatches on ?view=…, and declaring the navigation stops
    # Streamlit from turning app/pages/*.py into pages of their own.
    st.navigation([st.Page(main, title="convlab", default=True)], position="hidden").run()
