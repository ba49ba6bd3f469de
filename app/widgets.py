"""Sidebar widgets for a layer's arguments, one per Keras argument, keys ``arg.<name>[.<i>]``.

Values live in ``st.session_state`` under those keys (seeded from the URL or the defaults
before the widgets are drawn, so no widget is given both a value and a key). Arguments that
do not apply are not drawn at all: bias settings when ``use_bias`` is off, initializers when
the weights come from a preset. Each argument gets an ``st.empty`` slot right under it where
the router puts Keras's error message when that argument is the one Keras complains about.
The arguments that do not change the forward output (regularizers, constraints, name, dtype)
are drawn only while their toggle is on (:func:`_show_advanced`).
"""

from __future__ import annotations

import re

import streamlit as st

from app.state import MAX_INT_ARG, ArgSpec, arg_specs, rank_of
from engine.geometry import AXIS_SHORT

NONE = "None"  # selectbox token for Python's None (a None value would mean "no selection")
PAIR_LABELS = {1: (("left", "right"),), 2: (("top", "bottom"), ("left", "right")),
               3: (("front", "back"), ("top", "bottom"), ("left", "right"))}


def arg_key(name: str, *idx) -> str:
    return "arg." + name + "".join(f".{i}" for i in idx)


def seed_args(layer: str, args: dict, overwrite: bool = True) -> None:
    """Write ``args`` (widget-ready values) into the widget keys of ``layer``."""
    ss = st.session_state
    for spec in arg_specs(layer):
        value = args.get(spec.name, spec.default)
        for key, v in _keys_values(spec, value):
            if overwrite or key not in ss:
                ss[key] = v


def clear_args() -> None:
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("arg.")]:
        del st.session_state[key]


def _keys_values(spec: ArgSpec, value):
    if spec.kind in ("tuple",):
        return [(arg_key(spec.name, i), int(v)) for i, v in enumerate(value)]
    if spec.kind == "opt_tuple":
        vals = value if value is not None else (0,) * spec.rank
        return [(arg_key(spec.name, "set"), value is not None)] + [
            (arg_key(spec.name, i), int(v)) for i, v in enumerate(vals)]
    if spec.kind == "pairs":
        pairs = (value,) if spec.rank == 1 else value
        return [(arg_key(spec.name, i, j), int(pairs[i][j])) for i in range(spec.rank)
                for j in range(2)]
    if spec.kind == "str":
        return [(arg_key(spec.name), value or "")]
    if spec.kind == "choice":
        return [(arg_key(spec.name), NONE if value is None else value)]
    return [(arg_key(spec.name), value)]


def read_args(layer: str) -> dict:
    """Current widget values of ``layer`` (defaults for arguments not drawn)."""
    ss = st.session_state
    out = {}
    for spec in arg_specs(layer):
        k = spec.kind
        try:
            if k == "tuple":
                out[spec.name] = tuple(int(ss[arg_key(spec.name, i)]) for i in range(spec.rank))
            elif k == "opt_tuple":
                out[spec.name] = (tuple(int(ss[arg_key(spec.name, i)]) for i in range(spec.rank))
                                  if ss.get(arg_key(spec.name, "set")) else None)
            elif k == "pairs":
                pairs = tuple(tuple(int(ss[arg_key(spec.name, i, j)]) for j in range(2))
                              for i in range(spec.rank))
                out[spec.name] = pairs[0] if spec.rank == 1 else pairs
            elif k == "str":
                out[spec.name] = (ss[arg_key(spec.name)] or "").strip() or None
            elif k == "int":
                out[spec.name] = int(ss[arg_key(spec.name)])
            elif k == "choice":
                v = ss[arg_key(spec.name)]
                out[spec.name] = None if v in (NONE, None) else v
            else:
                out[spec.name] = ss[arg_key(spec.name)]
        except (KeyError, TypeError, ValueError):
            out[spec.name] = spec.default
    return out


def _fmt_choice(name):
    def fmt(v):
        if v is None or v == NONE:
            if name == "data_format":
                from engine.config import image_data_format
                return f"None (keras.json: {image_data_format()})"
            if name == "activation":
                return "None (linear)"
            return "None"
        return str(v)
    return fmt


def _row():
    """A row of equal-width inputs: one horizontal block (``st.columns`` would add a block
    per input, each an element the browser re-renders on every rerun)."""
    return st.container(horizontal=True, wrap=False, gap="small")


#: Session key: the argument Keras refused in the previous run (``None``: none). Only that
#: argument gets an error slot under its widgets (an empty slot under every argument was an
#: element per argument for the browser to redraw on every rerun); the router reruns once
#: when the refused argument changes (:func:`app.main._context`).
CULPRIT = "arg_culprit"


def render_arg(spec: ArgSpec, layer: str, slots: dict) -> None:
    """Draw the widget(s) of one argument, and an error slot under them when it is the
    argument Keras refused last time (``slots[name]``)."""
    rank = rank_of(layer)
    axes = AXIS_SHORT[rank]
    k = spec.kind
    help_ = spec.help or None
    if k == "int":
        st.number_input(spec.name, min_value=spec.min, max_value=MAX_INT_ARG, step=1,
                        key=arg_key(spec.name), help=help_)
    elif k == "tuple":
        st.markdown(f"**{spec.name}**" + ("" if rank == 1 else " · per axis"), help=help_)
        row = _row()
        for i in range(rank):
            row.number_input(f"{spec.name} {axes[i]}", min_value=spec.min,
                             max_value=MAX_INT_ARG, step=1, key=arg_key(spec.name, i))
    elif k == "opt_tuple":
        on = st.checkbox(f"set {spec.name}", key=arg_key(spec.name, "set"), help=help_)
        if on:
            row = _row()
            for i in range(rank):
                row.number_input(f"{spec.name} {axes[i]}", min_value=0, max_value=MAX_INT_ARG,
                                 step=1, key=arg_key(spec.name, i))
        else:
            st.caption(f"{spec.name}=None: Keras infers it (see the ambiguity note).")
    elif k == "pairs":
        st.markdown(f"**{spec.name}** · (before, after) per axis", help=help_)
        for i in range(rank):
            row = _row()
            for j in range(2):
                row.number_input(f"{axes[i]}: {PAIR_LABELS[rank][i][j]}", min_value=0,
                                 max_value=MAX_INT_ARG, step=1, key=arg_key(spec.name, i, j))
    elif k == "choice":
        opts = [NONE if o is None else o for o in spec.options]
        if st.session_state.get(arg_key(spec.name)) not in opts:
            st.session_state[arg_key(spec.name)] = NONE if spec.default is None else spec.default
        st.selectbox(spec.name, opts, key=arg_key(spec.name),
                     format_func=_fmt_choice(spec.name), help=help_)
    elif k == "bool":
        st.checkbox(spec.name, key=arg_key(spec.name), help=help_)
    elif k == "str":
        st.text_input(spec.name, key=arg_key(spec.name), help=help_, placeholder="automatic")
    if spec.name == st.session_state.get(CULPRIT):
        slots[spec.name] = st.empty()


def render_args(layer: str, weights_mode: str, groups=("main", "bias", "advanced")) -> dict:
    """Draw the argument widgets of ``layer``; return ``{argument: error slot}`` (the refused
    argument's, see :data:`CULPRIT`)."""
    slots: dict = {}
    specs = arg_specs(layer)
    use_bias = bool(st.session_state.get(arg_key("use_bias"), True))
    if "main" in groups:
        for spec in specs:
            if spec.group == "main":
                render_arg(spec, layer, slots)
    if "init" in groups and weights_mode == "init":
        for spec in specs:
            if spec.group == "init" or (spec.name == "bias_initializer" and use_bias):
                render_arg(spec, layer, slots)
    if "advanced" in groups:
        adv = [s for s in specs if s.group == "advanced"
               or (s.group == "bias" and use_bias and not s.name.endswith("_initializer"))]
        if adv and _show_advanced(layer, adv):
            with st.container(border=True):
                st.caption("These do not change the forward output; regularizers add "
                           "`layer.losses`, constraints apply during training.")
                for spec in adv:
                    render_arg(spec, layer, slots)
    return slots


#: Session key of the "Regularizers, constraints, name, dtype" toggle.
ADVANCED_KEY = "w.advanced"


def _show_advanced(layer: str, adv: list) -> bool:
    """The toggle in front of the arguments that do not change the forward output. A toggle,
    not a closed expander: Streamlit draws a closed expander's content anyway, and these
    ~8 widgets cost the browser ~70–200 ms before a shared link's first picture (issue 15).
    It starts on when one of them is not at its default (e.g. a link that sets one); while
    it is off their values are kept (re-assigned, so Streamlit does not drop the state of
    widgets that are not drawn) and still apply."""
    ss = st.session_state
    if ADVANCED_KEY not in ss:
        values = read_args(layer)
        ss[ADVANCED_KEY] = any(values[s.name] != s.default for s in adv)
    if st.toggle("Regularizers, constraints, name, dtype", key=ADVANCED_KEY):
        return True
    for spec in adv:
        for key, _ in _keys_values(spec, spec.default):
            if key in ss:
                ss[key] = ss[key]
    return False


def blame(message: str, names) -> str | None:
    """The argument a Keras error message is about: the first ``name=`` / `` `name` `` of
    ``names`` in the message (``None`` if it names none)."""
    best = None
    for name in names:
        m = re.search(rf"(`{name}`|\b{name}=|argument `?{name}\b)", message)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), name)
    return best[1] if best else None
