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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/ first, not the root
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from app import cached, compute, state as S, url, widgets as W  # noqa: E402
from app import sidebar_input as INPUT  # noqa: E402
from app.context import LastGood, Selection, ViewContext  # noqa: E402
from app.pages import animate, explore, guard, learn, receptive, stack  # noqa: E402
from app.presets import LABELS, custom_fits, preset_names, preset_kernel, spatial_kernels  # noqa: E402
from engine import shapes  # noqa: E402
from engine.layers import LAYER_CLASSES  # noqa: E402

PAGES = {"explore": explore, "animate": animate, "receptive": receptive, "stack": stack}


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
        ss["in.shape"] = S.format_literal(INPUT.DEFAULT_SYNTHETIC[rank])
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
        ss["in.shape"] = S.format_literal(INPUT.DEFAULT_SYNTHETIC[rank])
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
    to the argument it names: a new refused argument reruns the script once, so that its
    widgets get the error slot, see :data:`app.widgets.CULPRIT`) a fallback."""
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
        st.session_state[W.CULPRIT] = None
        return ctx
    culprit = W.blame(error, [s.name for s in S.arg_specs(state.layer)])
    if culprit != st.session_state.get(W.CULPRIT):
        # the error slot is drawn under the refused argument only: once more with it there
        st.session_state[W.CULPRIT] = culprit
        st.rerun()
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
    x, input_label, input_error, fields = INPUT.sidebar_input(layer, data_format)
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
    # The page's one style rule (a style-only st.html goes to Streamlit's event container:
    # it takes no space): every block's width rounded down to a whole pixel. A chart that
    # fills its column first draws at the width Plotly reads from CSS ("261.328px"), then
    # Streamlit hands it the column's exact width (261.328125) — a different layout, and
    # Plotly drew the whole chart again (600–1,060 DOM nodes) at most window widths (1280,
    # 1920, …; not at 1366, where Explore's columns happen to be whole pixels).
    # And the column-width measurer (app.column_width) takes no room: no element, no gap.
    st.html('<style>[data-testid="stVerticalBlock"]'
            ' { width: round(down, 100%, 1px) !important; }'
            ' .st-key-column_width { display: none; }</style>')  # column_width.KEY
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
