"""The step control of an animation figure: play / pause, step back / forward, speed, scrubber.

All of it runs in the browser (Plotly ``animate`` / ``relayout`` buttons and a slider):
:func:`control_size` is the room it takes above the panels, :func:`controls` its menus,
label and slider for an :class:`app.figures.animation_grid.Grid`, :func:`nav_buttons`
the step buttons as seen from one frame (every frame's layout re-aims them).
"""

from __future__ import annotations

from typing import NamedTuple

from app.figures.animation_grid import Grid
from app.theme import INK, Theme

SPEEDS = {"slow": 900, "normal": 450, "fast": 150, "fastest": 40}  # ms per frame
PLAY, PAUSE = "▶ Play", "❚❚ Pause"
BACK, FORWARD = "◀ Back", "Forward ▶"  # one step each; short: the row fits 816 px
#: Where the Play button's frame duration lives (the speed buttons set it).
PLAY_DURATION = "updatemenus[0].buttons[0].args[1].frame.duration"
#: Pixels between the step buttons and the speed label, and between the label and its buttons.
GROUP_GAP, LABEL_GAP = 32, 6


def _go(names, ms: int) -> list:
    """``animate`` args: play ``names`` (None: from the current frame on) at ``ms`` per frame."""
    return [names, {"frame": {"duration": ms, "redraw": True}, "fromcurrent": True,
                    "transition": {"duration": 0}, "mode": "immediate"}]


def _button_px(labels, t: Theme) -> float:
    """Approximate width of a row of buttons."""
    return sum(len(label) * 0.66 * t.font + 20 for label in labels)


def nav_buttons(i: int, n_frames: int) -> list:
    """Step back / step forward as seen from figure frame ``i``: every frame's layout
    re-aims them at its neighbours, so that stepping stays in the browser."""
    return [{"label": BACK, "method": "animate", "args": _go([str(max(i - 1, 0))], 0)},
            {"label": FORWARD, "method": "animate",
             "args": _go([str(min(i + 1, n_frames - 1))], 0)}]


class ControlSize(NamedTuple):
    """The room the step control takes above the plot: ``width`` and ``height`` pixels;
    ``one_row``: the speed buttons sit on the row of the step buttons."""

    width: float
    height: int
    one_row: bool


def _button_h(t: Theme) -> int:
    return int(t.font * 1.2 + 14)


def _label_px(t: Theme) -> float:
    return 0.62 * t.font * 6 + LABEL_GAP  # "Speed:" and the gap before its buttons


def _slider_h(t: Theme) -> int:
    return 46 + int(1.5 * t.font)


class RowPx(NamedTuple):
    """Where the step control's groups start on its one row (pixels from the plot's left
    edge): ``nav`` back / forward, ``speed`` the "Speed:" label, ``end`` the row's end."""

    nav: float
    speed: float
    end: float


def _row_px(t: Theme) -> RowPx:
    nav = _button_px([PLAY, PAUSE], t) + 16
    speed = nav + _button_px([BACK, FORWARD], t) + GROUP_GAP
    return RowPx(nav, speed, speed + _label_px(t) + _button_px(SPEEDS, t))


def control_size(t: Theme, avail: float) -> ControlSize:
    """Play / pause, step back / forward and the speed on one row when ``avail`` pixels
    allow it, else the speed on a second row; the scrubber under them."""
    play_w, nav_w = _button_px([PLAY, PAUSE], t), _button_px([BACK, FORWARD], t)
    speed_w = _label_px(t) + _button_px(SPEEDS, t)
    one = _row_px(t).end
    one_row = one <= avail
    height = (1 if one_row else 2) * (_button_h(t) + 8) + _slider_h(t)
    return ControlSize(one if one_row else max(play_w + nav_w + 24, speed_w), height, one_row)


def controls(n_frames: int, active: int, duration: int, t: Theme, grid: Grid,
             size: ControlSize) -> tuple:
    """``(updatemenus, slider, annotations)`` of the one step control, between the title
    and the panels (visible with the picture on the first screen): menu 0 play / pause,
    menu 1 step back / step forward (re-aimed by every frame), menu 2 the speed (the
    closest to ``duration`` active; it sets the Play button's frame duration), a
    ``Speed:`` label, and the scrubber (``step k / n``) under them."""
    btn_h, px = _button_h(t), _row_px(t)

    def paper_y(px_above: float) -> float:  # pixels above the plot area → paper y
        return 1 + px_above / grid.plot_h

    row_y = paper_y(size.height)
    # the speed group left-aligned after the step buttons (or under them on a second row):
    # label, then its buttons, so that the label sits next to them whatever their real width
    speed_px = px.speed if size.one_row else 0.0
    speed_y = row_y if size.one_row else paper_y(size.height - btn_h - 8)
    row = {"type": "buttons", "direction": "left", "yanchor": "top", "pad": {"t": 0},
           "font": {"size": t.font}, "showactive": False}
    speeds = list(SPEEDS.values())
    menus = [
        dict(row, x=0.0, y=row_y, xanchor="left",
             buttons=[{"label": PLAY, "method": "animate", "args": _go(None, duration)},
                      {"label": PAUSE, "method": "animate", "args": _go([None], 0)}]),
        dict(row, x=px.nav / grid.plot_w, y=row_y, xanchor="left",
             buttons=nav_buttons(active, n_frames)),
        dict(row, x=(speed_px + _label_px(t)) / grid.plot_w, y=speed_y, xanchor="left",
             showactive=True,
             active=min(range(len(speeds)), key=lambda k: abs(speeds[k] - duration)),
             buttons=[{"label": name, "method": "relayout", "args": [PLAY_DURATION, ms]}
                      for name, ms in SPEEDS.items()]),
    ]
    label = {"text": "Speed:", "xref": "paper", "yref": "paper", "showarrow": False,
             "x": speed_px / grid.plot_w, "xanchor": "left",
             "y": speed_y, "yanchor": "top", "yshift": -(btn_h - 1.3 * t.font) / 2,
             "font": {"size": t.font}}
    slider = _slider(n_frames, active, t, paper_y(_slider_h(t) - 4))
    return menus, slider, [label]


def _slider(n_frames: int, active: int, t: Theme, y: float) -> dict:
    """The scrubber at paper ``y`` (tick labels hidden beyond 40 frames)."""
    many = n_frames > 12
    return {
        "active": active, "x": 0.0, "len": 1.0, "y": y, "yanchor": "top",
        "pad": {"t": 0, "b": 0},
        "currentvalue": {"prefix": "step ", "suffix": f" / {n_frames - 1}",
                         "font": {"size": t.font, "color": INK}},
        "ticklen": 0 if many else 4, "minorticklen": 0 if many else 2,
        "font": {"size": max(9, t.font - 4), "color": "rgba(0,0,0,0)" if many else "#555"},
        "transition": {"duration": 0},
        "steps": [{"label": str(i), "method": "animate", "args": _go([str(i)], 0)}
                  for i in range(n_frames)],
    }
