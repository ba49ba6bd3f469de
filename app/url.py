"""The address bar: the app's state as query parameters, after a full run (:func:`sync`) and
after a partial rerun of a view's fragment (:func:`sync_controls`), so that a link always
restores what is on screen."""

from __future__ import annotations

import streamlit as st

from app import state as S

#: Session key of the last full run's state (what :func:`sync_controls` updates).
_LAST = "_url_state"
#: Session key that is true while a full run (not a fragment rerun) is under way.
FULL_RUN = "_full_run"


def sync(state: S.AppState) -> None:
    """Write ``state`` into the URL: changed parameters set, the app's own parameters (and a
    view's extras it no longer returns) that ``state`` leaves out removed; others kept."""
    want = S.to_query(state)
    qp = st.query_params
    current = qp.to_dict()
    own = set(S.APP_PARAMS) | {s.name for lay in S.ALL_LAYERS for s in S.arg_specs(lay)}
    own |= set(st.session_state.get("_synced_extras", ()))  # extras a view has dropped
    for k in list(current):
        if (k in own or k in state.extras) and k not in want:
            del qp[k]
    st.session_state["_synced_extras"] = tuple(state.extras)
    for k, v in want.items():
        if current.get(k) != v:
            qp[k] = v
    st.session_state[_LAST] = state


def sync_controls() -> None:
    """In a fragment rerun (a click on a cell, a view control): the selected cell and the
    colour scale into the URL, the rest as the last full run left it. Does nothing during a
    full run (the run syncs everything at its end)."""
    ss = st.session_state
    state = ss.get(_LAST)
    if ss.get(FULL_RUN) or state is None:
        return
    selection = ss.get("selection")
    state.cell = selection.output if selection else None
    state.scale = ss.get("scale", "per_channel")
    sync(state)
