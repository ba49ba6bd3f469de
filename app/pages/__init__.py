"""The views, one module per ``view=``, and what they share: :func:`guard` / :func:`guarded`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from app.state import VIEW_LABELS


@contextmanager
def guard(view: str) -> Iterator[None]:
    """A view's bug shows as an error box naming the view (the exception's type and
    message, never a traceback) instead of taking the page down: around a page's ``render``
    and around each of its fragments, which Streamlit reruns on their own. Streamlit's own
    control flow (``st.rerun``, ``st.stop``: BaseException) passes through."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - a view's bug must not take the page down
        st.error(f"The {VIEW_LABELS[view]} view failed: {type(exc).__name__}: {exc}")


def guarded(view: str) -> Callable:
    """:func:`guard` around every call of the decorated function (a page's fragment:
    ``@st.fragment`` above ``@guarded("explore")``)."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with guard(view):
                return fn(*args, **kwargs)
        return run
    return wrap
