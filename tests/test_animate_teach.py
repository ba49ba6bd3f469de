"""Issue 12 for the Animate view: the default piece always runs, small pieces have distinct
values, the animation opens on a step that does something and has one step control (in the
browser), every step is captioned in words with the geometry's cells, the GIF export decodes
into one frame per step, presentation mode takes the theme's sizes, and the page owns its
URL parameters."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from app import state as S, theme as T
from app.figures import animation as F
from app.figures import animation_controls as C
from app.figures.gif import GifLabels, animation_gif
from app.pages import animate as P
from app.theme import NORMAL, PRESENT
from engine import animate as A
from engine.geometry import geometry, input_link, output_link
from engine.layers import LAYER_CLASSES

#: The app's default input of each rank (app/main.py's synthetic default).
APP_INPUT = {1: (1, 128, 2), 2: (1, 64, 64, 3), 3: (1, 16, 32, 32, 1)}
#: Beyond the app's defaults: windows that do not fit the default piece.
EXTRA = {"Conv3D dilation 2": ("Conv3D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2}),
         "Conv2D 5 dilation 3": ("Conv2D", {"filters": 1, "kernel_size": 5,
                                            "dilation_rate": 3}),
         "Cropping2D 6": ("Cropping2D", {"cropping": ((6, 5), (0, 0))}),
         "Conv1D 9 dilation 3": ("Conv1D", {"filters": 1, "kernel_size": 9,
                                            "dilation_rate": 3})}
CASES = {name: (name, S.layer_kwargs(S.default_state(name))) for name in LAYER_CLASSES}
CASES.update(EXTRA)


def _input(name: str, kwargs: dict, seed: int = 0) -> np.ndarray:
    layer = LAYER_CLASSES[name](**kwargs)
    rank = layer.rank
    shape = APP_INPUT[rank]
    if layer.data_format == "channels_first":
        shape = (shape[0], shape[-1]) + shape[1:-1]
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _default_animation(name: str, kwargs: dict, view: str = "scatter") -> A.Animation:
    """What the page animates by default: the default piece of the app's input."""
    x = _input(name, kwargs)
    layer = LAYER_CLASSES[name](**kwargs)
    sizes = [d for _, d in P.piece_bounds(layer, x.shape)]
    piece = P.animation_piece(x, layer.rank, layer.data_format, sizes, 3, "resample")
    layer.build(piece.x.shape)
    return A.animate(layer, piece.x, view=view)


# --------------------------------------------------------------------------- the piece

@pytest.mark.parametrize("case", sorted(CASES))
def test_every_layer_animates_with_its_default_piece(case):
    name, kwargs = CASES[case]
    anim = _default_animation(name, kwargs)
    assert 2 <= len(anim.frames) <= A.MAX_FRAMES or anim.kind in ("crop", "zeropad")
    assert anim.output.size > 0 and not np.isnan(anim.output).any()


def test_piece_grows_to_the_smallest_size_that_runs():
    from engine.layers import Conv3D, Cropping2D, Conv2D
    conv3d = Conv3D(2, 3, dilation_rate=2)
    assert A.piece_sizes(conv3d, (1, 16, 32, 32, 1), (4, 6, 6)) == (5, 6, 6)
    assert A.piece_sizes(conv3d, (1, 16, 32, 32, 1), (1, 1, 1)) == (5, 5, 5)
    crop = Cropping2D(((6, 5), (0, 0)))
    assert A.piece_sizes(crop, (1, 64, 64, 3), (8, 8)) == (12, 8)
    # never beyond the user's input (which the layer runs on)
    assert A.piece_sizes(Conv2D(1, 3), (1, 5, 4, 1), (8, 8)) == (5, 4)


def test_page_bounds_make_the_widgets_minimum():
    from engine.layers import Conv3D
    bounds = P.piece_bounds(Conv3D(2, 3, dilation_rate=2), (1, 16, 32, 32, 1))
    assert bounds == ((5, 5), (5, 6), (5, 6))


def test_flat_pieces_become_distinct_integers():
    flat = np.full((1, 64, 64, 1), 0.5, np.float32)
    piece = P.animation_piece(flat, 2, "channels_last", (2, 2), 1, "resample")
    assert piece.method == "numbers" and piece.note
    values = piece.x.ravel()
    assert sorted(values) == [1, 2, 3, 4]
    # nearest and bilinear now look different
    from engine.layers import UpSampling2D
    near = UpSampling2D(2)(piece.x)
    bil = UpSampling2D(2, interpolation="bilinear")(piece.x)
    assert not np.allclose(near, bil)
    # a piece with distinct values stays as it is
    ramp = np.arange(64 * 64, dtype=np.float32).reshape(1, 64, 64, 1)
    assert P.animation_piece(ramp, 2, "channels_last", (4, 4), 1, "resample").method == "resample"


def test_distinct_piece_has_unlike_neighbours():
    grid = A.distinct_piece((8, 8), 2)
    assert grid.shape == (8, 8, 2)
    for c in range(2):
        assert sorted(grid[..., c].ravel()) == list(range(1, 65))
    assert (np.diff(grid[..., 0], axis=1) != 1).all()  # not a plain ramp


# --------------------------------------------------------------------------- opening

@pytest.mark.parametrize("case", sorted(CASES))
def test_animation_opens_on_a_step_that_does_something(case):
    name, kwargs = CASES[case]
    anim = _default_animation(name, kwargs)
    spec = json.loads(F.animation_figure(anim).to_json())
    active = spec["layout"]["sliders"][0]["active"]
    assert active == A.opening_step(anim) >= 1
    frame = anim.frames[active - 1]
    assert len(frame.in_cells) or len(frame.out_cells)  # something is outlined
    written = ~np.isnan(frame.output)
    if anim.kind == "crop":  # cells cut on the input (the output comes last)
        assert frame.cut.any() or written.all()
    elif anim.kind == "separable":
        assert not np.isnan(frame.mid).all()
    else:
        assert written.any()
    # the figure's first picture is that step: its title is the step's caption
    assert frame.caption.split(":")[0] in spec["layout"]["title"]["text"].replace("<br>", " ")


# --------------------------------------------------------------------------- captions

_RANGE = re.compile(r"(steps|depths|rows|columns) (\d+)–(\d+)")
_SINGULAR = {"steps": "step", "depths": "depth", "rows": "row", "columns": "column"}


def _said(link: str) -> str:
    """The ranges of a link sentence as a caption says them (``row 3`` for ``rows 3–3``)."""
    parts = [f"{_SINGULAR[n]} {a}" if a == b else f"{n} {a}–{b}"
             for n, a, b in _RANGE.findall(link)]
    return ", ".join(parts)


CAPTION_CASES = {
    "Conv2D same": ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "same"},
                    (1, 5, 6, 2), "scatter"),
    "Conv1D causal dilated": ("Conv1D", {"filters": 1, "kernel_size": 3, "padding": "causal",
                                         "dilation_rate": 2}, (1, 9, 1), "scatter"),
    "Conv3D strided": ("Conv3D", {"filters": 1, "kernel_size": 2, "strides": 2},
                       (1, 4, 4, 5, 1), "scatter"),
    "Depthwise": ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2},
                  (1, 5, 5, 2), "scatter"),
    "Separable": ("SeparableConv1D", {"filters": 2, "kernel_size": 3}, (1, 7, 2), "scatter"),
    "Transpose scatter": ("Conv2DTranspose", {"filters": 1, "kernel_size": 3, "strides": 2,
                                              "padding": "same"}, (1, 3, 4, 1), "scatter"),
    "Transpose gather": ("Conv2DTranspose", {"filters": 1, "kernel_size": 3, "strides": 2},
                         (1, 3, 3, 1), "gather"),
    "Bilinear": ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (1, 3, 3, 1),
                 "scatter"),
    "Bicubic": ("UpSampling2D", {"size": (2, 3), "interpolation": "bicubic"}, (1, 3, 3, 1),
                "scatter"),
    "Nearest 3D": ("UpSampling3D", {"size": 2}, (1, 2, 2, 2, 1), "scatter"),
    "Cropping": ("Cropping2D", {"cropping": ((1, 2), (0, 1))}, (1, 6, 6, 1), "scatter"),
    "ZeroPadding": ("ZeroPadding1D", {"padding": (1, 2)}, (1, 5, 1), "scatter"),
}


def _caption_animation(case):
    name, kwargs, shape, view = CAPTION_CASES[case]
    layer = LAYER_CLASSES[name](**kwargs)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    return layer, x, A.animate(layer, x, view=view, granularity="cell")


@pytest.mark.parametrize("case", sorted(CAPTION_CASES))
def test_every_caption_names_the_cells_of_the_geometry(case):
    layer, x, anim = _caption_animation(case)
    geom = geometry(layer, x.shape)
    for fr in anim.frames:
        assert fr.caption and fr.caption[0].isupper() and "[" not in fr.caption.split(":")[0]
        if fr.stage in ("conv", "depthwise", "gather", "interpolate"):
            cell = tuple(int(v) for v in fr.out_cells[0])
            link = output_link(geom, cell)
            assert _said(link) and f"reads input {_said(link)}" in fr.caption, (link,
                                                                               fr.caption)
        elif fr.stage in ("scatter", "repeat"):
            cell = tuple(int(v) for v in fr.in_cells[0])
            link = input_link(geom, cell)
            assert f"feeds output {_said(link)}" in fr.caption, (link, fr.caption)


@pytest.mark.parametrize("case", ["Conv2D same", "Depthwise", "Transpose gather"])
def test_conv_captions_count_products_and_sum(case):
    layer, x, anim = _caption_animation(case)
    for fr in anim.frames[:-1]:
        if fr.stage == "pointwise":
            continue
        n = fr.taps.products.shape[0] * fr.taps.products.shape[1]
        assert f"{n} products" in fr.caption
        first = A.text.fmt(fr.value[0])
        assert (f"sum {first}" if fr.value.size == 1 else f"sums {first}") in fr.caption


@pytest.mark.parametrize("case", ["Bilinear", "Bicubic"])
def test_interpolation_captions_print_their_weights(case):
    _, _, anim = _caption_animation(case)
    for fr in anim.frames:
        shown = ", ".join(A.text.fmt(w) for w in fr.in_weights[:6])
        assert f"weights {shown}" in fr.caption


def test_caption_wording_example():
    from engine.layers import Conv2D
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1) / 10
    layer = Conv2D(1, 3, kernel_initializer="ones", use_bias=False)
    cap = A.animate(layer, x).frames[0].caption
    assert cap == ("Output row 0, column 0 reads input rows 0–2, columns 0–2: 9 products, "
                   "sum 5.4")


# --------------------------------------------------------------------------- step control

@pytest.mark.parametrize("t", [T.NORMAL, T.PRESENT], ids=["normal", "present"])
def test_step_control_keeps_one_row_within_the_page_budget(t):
    """Play / pause, back / forward and the speed fit one row of the Animate page's width
    budget (the column at a 1280 px window): the picture stays where it is on the first
    screen; a narrow figure puts the speed on a second row, no wider than asked."""
    from app.figures.animation_grid import COLUMN_PX, MARGIN_LEFT, MARGIN_RIGHT, PRESENT_PX
    budget = (PRESENT_PX if t.present else COLUMN_PX) - MARGIN_LEFT - MARGIN_RIGHT
    size = C.control_size(t, budget)
    assert size.one_row and size.width <= budget
    narrow = C.control_size(t, size.width - 1)
    assert not narrow.one_row and narrow.width <= size.width - 1
    assert narrow.height > size.height


def test_one_step_control_in_the_browser():
    from engine.layers import Conv2D
    x = np.random.default_rng(2).standard_normal((1, 4, 4, 1)).astype(np.float32)
    anim = A.animate(Conv2D(1, 3, padding="same"), x)
    spec = json.loads(F.animation_figure(anim).to_json())
    menus = spec["layout"]["updatemenus"]
    labels = [[b["label"] for b in m["buttons"]] for m in menus]
    assert labels == [[C.PLAY, C.PAUSE], [C.BACK, C.FORWARD], list(C.SPEEDS)]
    # the speed buttons set the Play button's duration in the browser
    for b, ms in zip(menus[2]["buttons"], C.SPEEDS.values()):
        assert b["method"] == "relayout" and b["args"] == [C.PLAY_DURATION, ms]
    assert C.PLAY_DURATION == "updatemenus[0].buttons[0].args[1].frame.duration"
    # every frame re-aims step back / forward at its neighbours (and leaves menu 0 alone)
    n = len(spec["frames"])
    for i, fr in enumerate(spec["frames"]):
        ups = fr["layout"]["updatemenus"]
        assert ups[0] == {}
        back, fwd = (b["args"][0][0] for b in ups[1]["buttons"])
        assert (int(back), int(fwd)) == (max(i - 1, 0), min(i + 1, n - 1))
    # the scrubber is the slider; the "Speed:" label names the speed buttons
    assert spec["layout"]["sliders"][0]["currentvalue"]["prefix"] == "step "
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["Speed:"]


def test_presentation_mode_takes_the_theme():
    from engine.layers import Conv2D
    x = np.random.default_rng(3).standard_normal((1, 5, 5, 1)).astype(np.float32)
    anim = A.animate(Conv2D(1, 3), x)
    for present, t in ((False, NORMAL), (True, PRESENT)):
        spec = json.loads(F.animation_figure(anim, present=present).to_json())
        assert spec["layout"]["font"]["size"] == t.font
        assert spec["layout"]["title"]["font"]["size"] == t.title
        widths = {d["line"]["width"] for d in spec["data"] if d.get("mode") == "lines"
                  and not d.get("showlegend")}
        assert widths == {t.outline_width}
        sizes = {d["textfont"]["size"] for d in spec["data"] if d.get("textfont")}
        assert sizes and max(sizes) <= t.cell_text


# --------------------------------------------------------------------------- GIF

@pytest.mark.parametrize("case", ["Conv2D same", "Transpose scatter", "Transpose gather",
                                  "Bilinear", "Cropping", "Nearest 3D", "Separable"])
def test_gif_decodes_into_one_frame_per_step(case):
    name, kwargs, shape, _ = CAPTION_CASES[case]
    layer, x, anim = _caption_animation(case)
    labels = P.layer_labels(name, kwargs, x.shape, anim.output.shape)
    assert labels.code.startswith(f"layers.{name}(")
    data = animation_gif(anim, labels)
    im = Image.open(io.BytesIO(data))
    assert im.format == "GIF" and im.n_frames == len(anim.frames)
    sizes = set()
    for k in range(im.n_frames):
        im.seek(k)
        sizes.add(im.size)
    assert len(sizes) == 1


def test_gif_labels_use_the_keras_code_printer():
    labels = P.layer_labels("Conv3D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2},
                            (1, 5, 6, 6, 1), (1, 1, 2, 2, 2))
    assert labels == GifLabels("layers.Conv3D(2, 3, dilation_rate=2)",
                               "input (1, 5, 6, 6, 1) → output (1, 1, 2, 2, 2)")


# --------------------------------------------------------------------------- page

def _page_script(layer_name, kwargs, shape, extras):
    import numpy as np

    from app.context import ViewContext
    from app.pages.animate import render

    import streamlit as st

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    st.session_state["returned"] = render(ViewContext(layer_name, kwargs, x,
                                                      input_label="test", extras=extras))


def test_page_conv3d_dilation_runs_and_returns_its_url_params():
    from streamlit.testing.v1 import AppTest
    kwargs = {"filters": 2, "kernel_size": 3, "dilation_rate": 2}
    at = AppTest.from_function(_page_script, args=("Conv3D", kwargs, (1, 16, 32, 32, 1),
                                                   {"anim_speed": "fast"}),
                               default_timeout=120)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Animation input (1, 5, 6, 6, 1)" in " ".join(c.value for c in at.caption)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["sliders"][0]["active"] == 1  # opens on the first step
    play = spec["layout"]["updatemenus"][0]["buttons"][0]["args"][1]
    assert play["frame"]["duration"] == C.SPEEDS["fast"]
    returned = at.session_state["returned"]
    assert set(returned) <= set(P.URL_PARAMS)
    assert returned["anim_size"] == "(5, 6, 6)" and returned["anim_speed"] == "fast"
    assert not at.get("slider") and not at.get("select_slider")  # one step control only
    assert at.get("download_button")


def test_page_opens_on_the_url_step():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_function(_page_script, args=("Conv2D", {"filters": 1, "kernel_size": 3},
                                                   (1, 12, 12, 1), {"anim_step": "4"}),
                               default_timeout=120)
    at.run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["sliders"][0]["active"] == 4
    assert at.session_state["returned"]["anim_step"] == "4"


def test_page_uses_the_one_list_of_axis_names():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_function(_page_script, args=("Conv3D", {"filters": 1, "kernel_size": 2},
                                                   (1, 6, 8, 8, 1), {}), default_timeout=120)
    at.run()
    labels = [n.label for n in at.number_input][:3]
    assert labels == ["depths", "rows", "columns"]
