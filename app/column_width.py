"""How wide a page column is, measured in the browser (CSS pixels).

Streamlit tells the server nothing about the window. A figure laid out wider than its
column is narrowed by Streamlit's chart after its first draw: Plotly keeps its buttons'
pixel widths but moves them closer (at a 1024 px window Animate's "◀ Back" covered
"❚❚ Pause"), keeps its font sizes in smaller cells and draws everything twice.

:func:`fit` mounts a tiny script in the column (an ``st.components.v2`` component: no
iframe, no space on the page; ``main.py``'s style rule hides its element) that measures the
column and reports it only when the figure laid out for the page's budget would not fit
(or a wider column, after a resize, gives it room again). That report reruns the page once
and the figure is laid out to fit. The last width measured is kept in the session, so a
view opened again starts at the right width, and in a cookie (:data:`COOKIE`), so a new
session in that browser — a reload, a shared link opened again — starts at it too (its
first picture without the extra layout); a window at least as wide as the budget's column
never reports (no extra rerun).
"""

from __future__ import annotations

from typing import Optional

import streamlit as st

#: The component's Streamlit key (its element carries the class ``st-key-<KEY>``).
KEY = "column_width"
#: Where the last width measured is kept (px; survives the component leaving the page).
MEASURED = "column_px"
#: A column this much wider than the figure is worth a new layout (px). Less is not: the
#: page's scroll bar coming or going changes the column by ~15 px, and with a smaller step
#: the two layouts could bounce.
GROW_PX = 32
#: The narrowest layout the figures are built for (px); a narrower column scrolls.
MIN_PX = 320
#: The browser's cookie that remembers the last column measured (px, a year), read from
#: the request that opens a session (``st.context.cookies``).
COOKIE = "convlab_column_px"

# Reports the width of the column (the Streamlit block the component sits in) when the
# figure laid out at `data.laid_out` px, for a budget of `data.budget`, does not fit it or
# could grow by GROW_PX; checked at mount and after every resize (debounced 150 ms).
_JS = """
export default function ({ parentElement, data, setStateValue }) {
  const host = parentElement.host || parentElement;
  const block = host.closest('[data-testid="stVerticalBlock"]');
  if (!block) return;
  let timer;
  const check = () => {
    const width = Math.floor(block.getBoundingClientRect().width);
    const want = Math.min(width, data.budget);
    if (width < 50) return;
    document.cookie = `${data.cookie}=${width}; path=/; max-age=31536000; SameSite=Lax`;
    if (host.__sent === width) return;
    if (want < data.laid_out || want >= data.laid_out + data.grow) {
      host.__sent = width;
      setStateValue("width", width);
    }
  };
  const observer = new ResizeObserver(() => { clearTimeout(timer); timer = setTimeout(check, 150); });
  observer.observe(block);
  check();
  return () => { clearTimeout(timer); observer.disconnect(); };
}
"""

_measurer = st.components.v2.component("convlab.column_width", js=_JS)


def width_for(budget: int, measured: Optional[int]) -> int:
    """The width (px) to lay a figure out at: its ``budget`` when the column's width is
    not known yet (``measured`` None) or holds it, else the column's width (at least
    :data:`MIN_PX`)."""
    if measured is None:
        return budget
    return max(MIN_PX, min(budget, int(measured)))


def remembered(cookie: Optional[str]) -> Optional[int]:
    """The width (px) a :data:`COOKIE` value holds: ASCII digits only, 1–9999, else None
    (AppTest's session has no browser: its cookies are not strings)."""
    if isinstance(cookie, str) and cookie.isascii() and cookie.isdigit() \
            and 0 < int(cookie) < 10_000:
        return int(cookie)
    return None


def _on_report() -> None:
    """Keep the width the browser reported (it reruns the page)."""
    report = st.session_state.get(KEY)
    width = report.get("width") if report else None
    if width:
        st.session_state[MEASURED] = int(width)


def fit(budget: int) -> int:
    """Mount the measurer in the current column and return the width (px) to lay its
    figure out at: ``budget`` or the narrower column measured by this session (or, before
    it measured, by this browser's last session)."""
    measured = st.session_state.get(MEASURED) or remembered(st.context.cookies.get(COOKIE))
    width = width_for(budget, measured)
    _measurer(key=KEY, data={"budget": budget, "laid_out": width, "grow": GROW_PX,
                             "cookie": COOKIE},
              on_width_change=_on_report, width="stretch", height="content")
    return width
