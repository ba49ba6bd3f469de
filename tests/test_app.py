"""The Streamlit app under ``streamlit.testing.v1.AppTest``: every layer shows the right
``Output shape:``, widgets and the URL drive the same state, bad input never crashes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import state as S
from app.presets import layer_weights, preset_kernel
from engine.layers import LAYER_CLASSES

APP = str(Path(__file__).resolve().parent.parent / "app" / "main.py")


def run_app(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    return at


def shape_text(at: AppTest) -> str:
    texts = [m.value for m in at.markdown if "Output shape:" in m.value]
    assert texts, "no 'Output shape:' text on the page"
    return texts[0].replace("### ", "")


def errors(at: AppTest) -> list:
    return [e.value for e in at.error]


# --------------------------------------------------------------------------- Keras's rules,
# written out independently of the engine (checked against the literal shapes below)

def keras_shape(layer: str, kw: dict, shape: tuple) -> tuple:
    rank = S.rank_of(layer)
    batch, *sp, c = shape

    def tup(v, default):
        v = kw.get(v, default)
        return (v,) * rank if isinstance(v, int) else tuple(v)

    def pairs(v, default):
        v = kw.get(v, default)
        if isinstance(v, int):
            return [(v, v)] * rank
        if rank == 1:
            return [tuple(v)]
        return [(p, p) if isinstance(p, int) else tuple(p) for p in v]

    kind = S.kind_of(layer)
    if kind in ("conv", "separable", "depthwise", "transpose"):
        k, s, d = tup("kernel_size", 3), tup("strides", 1), tup("dilation_rate", 1)
        pad = kw.get("padding", "valid")
        out = []
        for n, ki, si, di in zip(sp, k, s, d):
            ke = di * (ki - 1) + 1
            if kind == "transpose":
                out.append(n * si if pad == "same" else (n - 1) * si + max(ke, si))
            elif pad == "valid":
                out.append((n - ke) // si + 1)
            else:
                out.append(math.ceil(n / si))
        ch = c * kw.get("depth_multiplier", 1) if kind == "depthwise" else kw["filters"]
        return (batch, *out, ch)
    if kind == "crop":
        return (batch, *[n - a - b for n, (a, b) in zip(sp, pairs("cropping", 1))], c)
    if kind == "pad":
        return (batch, *[n + a + b for n, (a, b) in zip(sp, pairs("padding", 1))], c)
    return (batch, *[n * f for n, f in zip(sp, tup("size", 2))], c)


CASES = [  # layer, URL arguments, input_shape, the shape worked out by hand
    ("Conv1D", dict(filters=3, kernel_size=5, strides=2, padding="causal"), (2, 50, 2), (2, 25, 3)),
    ("Conv2D", dict(filters=4, kernel_size=(3, 3), strides=2), (1, 64, 64, 3), (1, 31, 31, 4)),
    ("Conv3D", dict(filters=2, kernel_size=(3, 3, 3), strides=(1, 2, 2), padding="same"),
     (1, 8, 16, 16, 1), (1, 8, 8, 8, 2)),
    ("SeparableConv1D", dict(filters=5, kernel_size=3, depth_multiplier=2), (1, 40, 3), (1, 38, 5)),
    ("SeparableConv2D", dict(filters=6, kernel_size=(3, 5), strides=(2, 2), padding="same"),
     (1, 33, 20, 2), (1, 17, 10, 6)),
    ("DepthwiseConv1D", dict(kernel_size=4, depth_multiplier=3, dilation_rate=2), (1, 30, 2),
     (1, 24, 6)),
    ("DepthwiseConv2D", dict(kernel_size=(3, 3), strides=2), (1, 28, 28, 3), (1, 13, 13, 3)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2), (1, 28, 1), (1, 57, 2)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2), (1, 28, 28, 1), (1, 57, 57, 4)),
    ("Conv3DTranspose", dict(filters=1, kernel_size=(2, 2, 2), strides=2), (1, 4, 5, 6, 2),
     (1, 8, 10, 12, 1)),
    ("Cropping1D", dict(cropping=(2, 3)), (1, 20, 2), (1, 15, 2)),
    ("Cropping2D", dict(cropping=((1, 2), (3, 4))), (1, 16, 16, 3), (1, 13, 9, 3)),
    ("Cropping3D", dict(cropping=1), (1, 6, 8, 10, 1), (1, 4, 6, 8, 1)),
    ("UpSampling1D", dict(size=3), (1, 10, 2), (1, 30, 2)),
    ("UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), (1, 8, 8, 1), (1, 16, 24, 1)),
    ("UpSampling3D", dict(size=2), (1, 3, 4, 5, 1), (1, 6, 8, 10, 1)),
    ("ZeroPadding1D", dict(padding=(1, 4)), (1, 10, 1), (1, 15, 1)),
    ("ZeroPadding2D", dict(padding=((0, 1), (2, 3))), (1, 5, 5, 3), (1, 6, 10, 3)),
    ("ZeroPadding3D", dict(padding=2), (1, 2, 3, 4, 1), (1, 6, 7, 8, 1)),
]


def test_cases_cover_every_layer():
    assert sorted(c[0] for c in CASES) == sorted(LAYER_CLASSES)


@pytest.mark.parametrize("layer,kw,shape,want", CASES, ids=[c[0] for c in CASES])
def test_rules_agree_with_hand_numbers_and_engine(layer, kw, shape, want):
    assert keras_shape(layer, kw, shape) == want
    assert tuple(LAYER_CLASSES[layer](**kw).compute_output_shape(shape)) == want


@pytest.mark.parametrize("layer,kw,shape,want", CASES, ids=[c[0] for c in CASES])
def test_every_layer_from_url(layer, kw, shape, want):
    params = {"layer": layer, "input_shape": S.format_literal(shape)}
    params.update({k: S.format_literal(v) for k, v in kw.items()})
    at = run_app(params)
    assert shape_text(at) == f"Output shape: {want}"
    assert not errors(at), errors(at)
    # the URL written back by the app reproduces the same state
    again = run_app(dict(at.query_params))
    assert shape_text(again) == f"Output shape: {want}"


def test_first_open_shows_a_result():
    at = run_app()
    # default: Conv2D(4, 3) with the bank of presets on the 192×256 photo
    assert shape_text(at) == "Output shape: (1, 190, 254, 4)"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters"] == "112"  # 3·3·3·4 + 4
    assert "Multiply-adds" in metrics
    assert any("⌊(192 + 0 + 0 − 1·(3 − 1) − 1) / 1⌋ + 1 = 190" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) >= 3
    assert not errors(at)


def test_brief_url_and_widget_change():
    at = run_app({"layer": "Conv2D", "filters": "4", "kernel_size": "(3,3)", "strides": "2",
                  "input_shape": "(1,64,64,3)"})
    assert shape_text(at) == "Output shape: (1, 31, 31, 4)"
    at.number_input(key="arg.filters").set_value(8).run()
    assert shape_text(at) == "Output shape: (1, 31, 31, 8)"
    at.selectbox(key="arg.padding").set_value("same").run()
    assert shape_text(at) == "Output shape: (1, 32, 32, 8)"
    assert at.query_params["padding"] == ["same"] or at.query_params["padding"] == "same"
    # TensorFlow's same padding: 64 + 0 + 1 − 3 (odd extra zero at the end)
    assert any("⌊(64 + 0 + 1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 32" in m.value for m in at.markdown)
    assert any("TensorFlow puts the odd zero at the end" in m.value for m in at.markdown)


def test_per_axis_tuple_widgets():
    at = run_app({"layer": "Conv2D", "input_shape": "(1,20,30,1)"})
    at.number_input(key="arg.kernel_size.1").set_value(5).run()
    at.number_input(key="arg.strides.0").set_value(2).run()
    assert shape_text(at) == "Output shape: (1, 9, 26, 4)"
    q = dict(at.query_params)
    assert _q(q, "kernel_size") == "(3,5)" and _q(q, "strides") == "(2,1)"


def _q(q, k):
    v = q[k]
    return v[-1] if isinstance(v, list) else v


def test_layer_picker_switches_family_and_rank():
    at = run_app()
    at.selectbox(key="family").set_value("Transposed convolution").run()
    assert at.radio(key="layer").value == "Conv2DTranspose"
    assert shape_text(at) == "Output shape: (1, 194, 258, 4)"  # (192 − 1)·1 + 3
    at.radio(key="layer").set_value("Conv1DTranspose").run()
    # a 1-D layer gets the 1-D default sample (sine burst, 512 steps)
    assert shape_text(at) == "Output shape: (1, 514, 4)"
    at.selectbox(key="family").set_value("Upsampling").run()
    assert at.radio(key="layer").value == "UpSampling1D"
    assert shape_text(at) == "Output shape: (1, 1024, 1)"
    at.radio(key="layer").set_value("UpSampling3D").run()
    assert shape_text(at) == "Output shape: (1, 32, 64, 64, 1)"
    assert not errors(at)


def test_invalid_combination_shows_keras_reason_and_keeps_result():
    at = run_app({"layer": "Conv2D", "input_shape": "(1,32,32,3)"})
    at.number_input(key="arg.strides.0").set_value(2).run()
    assert shape_text(at) == "Output shape: (1, 15, 30, 4)"
    at.number_input(key="arg.dilation_rate.0").set_value(2).run()
    msgs = errors(at)
    assert any("`strides > 1` not supported in conjunction with `dilation_rate > 1`" in m
               for m in msgs), msgs
    # one error, right under the argument the message names first (after strides' inputs,
    # before the next argument), and the last good result kept
    assert sum("not supported" in e.value for e in at.sidebar.error) == 1
    order = _sidebar_order(at)
    error_at = next(i for i, (kind, what) in enumerate(order)
                    if kind == "error" and "not supported" in what)
    assert order.index(("number_input", "arg.strides.1")) < error_at \
        < order.index(("selectbox", "arg.padding")), order
    assert shape_text(at) == "Output shape: (1, 15, 30, 4)"
    at.number_input(key="arg.dilation_rate.0").set_value(1).run()
    assert not errors(at)
    # only a refused argument has an error slot: none is left among the sidebar's elements
    assert not any(kind == "empty" for kind, _ in _sidebar_order(run_app({})))


def _sidebar_order(at) -> list:
    """The sidebar's elements in page order, as (type, key or text)."""
    out = []

    def walk(node):
        for child in node.children.values():
            what = getattr(child, "key", None) or str(getattr(child, "value", ""))[:80]
            out.append((child.type, what))
            if hasattr(child, "children"):
                walk(child)
    walk(at.sidebar)
    return out


def test_engine_errors_at_build_time():
    at = run_app({"layer": "Conv2D", "groups": "2", "input_shape": "(1,8,8,3)"})
    assert any("groups" in m for m in errors(at))
    assert "Output shape:" in shape_text(at)
    at = run_app({"layer": "Cropping2D", "cropping": "((5,5),(0,0))",
                  "input_shape": "(1,8,8,1)"})
    assert any("cropping" in m for m in errors(at))
    at = run_app({"layer": "Conv2D", "kernel_size": "(9,9)", "input_shape": "(1,4,4,1)"})
    assert any("zero or negative" in m for m in errors(at))


def test_bad_url_parameters_fall_back_to_defaults():
    at = run_app({"layer": "Bogus", "filters": "abc(", "kernel_size": "(3,3,3)",
                  "input_shape": "(1,2)", "view": "nowhere", "weights": "nope"})
    msgs = " ".join(errors(at))
    for name in ("layer", "filters", "kernel_size", "input_shape", "view", "weights"):
        assert f"`{name}`" in msgs, name
    assert shape_text(at) == "Output shape: (1, 190, 254, 4)"
    at = run_app({"layer": "Conv2D", "strides": "0", "input_shape": "(1,10,10,1)"})
    assert any("strides" in m and "value > 0" in m for m in errors(at))
    assert shape_text(at) == "Output shape: (1, 8, 8, 4)"


def test_unknown_parameter_is_reported_and_kept():
    at = run_app({"layer": "Conv1D", "frobnicate": "1"})
    assert any("frobnicate" in w.value for w in at.warning)
    assert _q(dict(at.query_params), "frobnicate") == "1"


def test_samples_colour_resize_batch():
    at = run_app({"layer": "Conv2D", "sample": "digit"})
    assert shape_text(at) == "Output shape: (1, 26, 26, 4)"
    at = run_app({"layer": "Conv2D", "sample": "photo", "color": "gray", "size": "(32,40)",
                  "batch": "3"})
    assert shape_text(at) == "Output shape: (3, 30, 38, 4)"
    assert any("(3, 32, 40, 1)" in c.value for c in at.caption)
    at = run_app({"layer": "Conv3D", "sample": "clip", "color": "rgb"})
    assert shape_text(at) == "Output shape: (1, 10, 46, 46, 4)"
    at = run_app({"layer": "Conv1D", "sample": "ecg"})
    assert shape_text(at) == "Output shape: (1, 998, 4)"
    at = run_app({"layer": "Conv1D", "sample": "audio"})
    assert shape_text(at) == "Output shape: (1, 7998, 4)"


def test_channels_first_layout():
    at = run_app({"layer": "Conv2D", "filters": "8", "data_format": "channels_first",
                  "input_shape": "(1,3,32,32)"})
    assert shape_text(at) == "Output shape: (1, 8, 30, 30)"
    assert any("channels_first" in c.value and "(batch, channels, rows, cols)" in c.value
               for c in at.caption)


def test_transpose_ambiguity_is_explained():
    at = run_app({"layer": "Conv2DTranspose", "strides": "2", "input_shape": "(1,28,28,1)"})
    assert shape_text(at) == "Output shape: (1, 57, 57, 4)"
    assert any("maps 28 back from any of 57, 58 cells; output_padding (0 … 1) chooses among "
               "them, and without it Keras picks 57" in m.value for m in at.markdown)
    at = run_app({"layer": "Conv2DTranspose", "strides": "2", "output_padding": "(1,1)",
                  "padding": "same", "input_shape": "(1,28,28,1)"})
    assert shape_text(at) == "Output shape: (1, 56, 56, 4)"


def test_weights_modes():
    for weights in ("identity", "init", "sobel_x"):
        at = run_app({"layer": "Conv2D", "weights": weights, "seed": "3",
                      "input_shape": "(1,16,16,1)"})
        assert shape_text(at) == "Output shape: (1, 14, 14, 4)"
    at = run_app({"layer": "Conv2D", "kernel": "[[0,0,0],[0,2,0],[0,0,0]]",
                  "input_shape": "(1,16,16,1)"})
    assert at.selectbox(key="w.mode").value == "custom"
    assert _q(dict(at.query_params), "kernel") == "[[0,0,0],[0,2,0],[0,0,0]]"


def test_the_kernel_grid_editor_is_drawn_only_when_asked_for():
    """A closed expander's table would still cost the browser its table component on every
    page: the editor is behind a toggle, on by itself for a custom kernel."""
    at = run_app({})
    assert at.sidebar.toggle(key="w.edit").value is False and not at.get("dataframe")
    at.sidebar.toggle(key="w.edit").set_value(True).run()
    assert len(at.get("dataframe")) == 1 and not at.exception
    at = run_app({"layer": "Conv2D", "kernel": "[[0,0,0],[0,2,0],[0,0,0]]",
                  "input_shape": "(1,16,16,1)"})
    assert at.sidebar.toggle(key="w.edit").value is True and len(at.get("dataframe")) == 1


def test_the_advanced_arguments_are_drawn_only_when_asked_for():
    """A closed expander's widgets would still cost the browser ~150 ms before a link's
    first picture: regularizers, constraints, name and dtype are behind a toggle, on by
    itself when a link sets one of them; hidden, their values are kept and still apply."""
    at = run_app({})
    assert at.sidebar.toggle(key="w.advanced").value is False
    assert not [w for w in at.sidebar.selectbox if w.key == "arg.kernel_regularizer"]
    at.sidebar.toggle(key="w.advanced").set_value(True).run()
    assert at.selectbox(key="arg.kernel_regularizer").value == "None" and not at.exception
    at = run_app({"layer": "Conv2D", "kernel_regularizer": "l2", "name": "conv_a",
                  "input_shape": "(1,16,16,1)"})
    assert at.sidebar.toggle(key="w.advanced").value is True
    assert at.selectbox(key="arg.kernel_regularizer").value == "l2"
    at.sidebar.toggle(key="w.advanced").set_value(False).run()
    at.number_input(key="arg.filters").set_value(8).run()      # two runs with them hidden
    assert not at.exception and shape_text(at) == "Output shape: (1, 14, 14, 8)"
    assert _q(dict(at.query_params), "kernel_regularizer") == "l2"
    assert _q(dict(at.query_params), "name") == "conv_a"
    at.sidebar.toggle(key="w.advanced").set_value(True).run()
    assert at.selectbox(key="arg.kernel_regularizer").value == "l2"
    assert at.text_input(key="arg.name").value == "conv_a"


def test_cell_selection_from_url():
    at = run_app({"layer": "Conv2D", "strides": "2", "input_shape": "(1,9,9,1)",
                  "cell": "(1,2)"})
    assert any("output cell (1, 2)" in m.value for m in at.markdown)


@pytest.mark.parametrize("view", ["animate", "receptive", "stack"])
def test_other_views_never_crash(view):
    at = run_app({"layer": "Conv2D", "view": view, "input_shape": "(1,16,16,1)"})
    assert at.radio(key="view").value == view


def test_large_request_is_refused():
    at = run_app({"layer": "Conv2D", "filters": "512", "kernel_size": "(9,9)",
                  "input_shape": "(1,1024,1024,3)"})
    assert shape_text(at) == "Output shape: (1, 1016, 1016, 512)"
    assert any("Refused" in m and "limit" in m for m in errors(at))


# --------------------------------------------------------------------------- pure parts

def test_url_round_trip_of_states():
    rng = np.random.default_rng(1)
    for layer in S.ALL_LAYERS:
        st0 = S.default_state(layer)
        specs = S.spec_map(layer)
        if "strides" in specs:
            st0.args["strides"] = tuple(int(v) for v in rng.integers(1, 4, S.rank_of(layer)))
        if "padding" in specs and specs["padding"].kind == "choice":
            st0.args["padding"] = "same"
        if "activation" in specs:
            st0.args["activation"] = "relu"
        st0.batch = 2
        st0.scale = "shared"
        back, errs = S.parse_query(S.to_query(st0))
        assert not errs, errs
        assert back.args == st0.args and back.layer == layer and back.batch == 2
        assert back.scale == "shared"


def test_literal_parsing_never_evaluates():
    assert S.parse_literal("(3,3)") == (3, 3)
    assert S.parse_literal("same") == "same"
    assert S.parse_literal("None") is None
    with pytest.raises(ValueError):
        S.parse_literal("__import__('os').system('true')")
    state, errs = S.parse_query({"filters": "__import__('os')"})
    assert errs and state.args["filters"] == 4


def test_presets_have_textbook_values():
    np.testing.assert_array_equal(preset_kernel("sobel_x", (3, 3)),
                                  [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(preset_kernel("laplacian", (3, 3)),
                                  [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(preset_kernel("sharpen", (3, 3)),
                                  [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(preset_kernel("emboss", (3, 3)),
                                  [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    np.testing.assert_array_equal(preset_kernel("difference", (3,)), [-1, 0, 1])
    assert preset_kernel("gaussian", (5, 5)).sum() == pytest.approx(1)
    assert preset_kernel("sobel_z", (3, 3, 3)).shape == (3, 3, 3)


def test_identity_preset_gives_channel_mean():
    x = np.random.default_rng(0).random((1, 6, 7, 3)).astype(np.float32)
    for name, kw in (("Conv2D", dict(filters=2, kernel_size=3, padding="same")),
                     ("Conv2DTranspose", dict(filters=2, kernel_size=3, padding="same")),
                     ("SeparableConv2D", dict(filters=2, kernel_size=3, padding="same"))):
        layer = LAYER_CLASSES[name](**kw)
        layer.build(x.shape)
        layer.set_weights(layer_weights(layer, "identity"))
        np.testing.assert_allclose(layer(x)[..., 0], x.mean(-1), atol=1e-6)
    layer = LAYER_CLASSES["DepthwiseConv2D"](3, padding="same")
    layer.build(x.shape)
    layer.set_weights(layer_weights(layer, "identity"))
    np.testing.assert_allclose(layer(x), x, atol=1e-6)


@pytest.mark.parametrize("layer,kw,mode", [
    ("Conv2D", dict(filters=3, kernel_size=(3, 3), strides=2, padding="same"), "bank"),
    ("SeparableConv1D", dict(filters=2, kernel_size=3, depth_multiplier=2), "gaussian"),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2), "init"),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), "init"),
])
def test_keras_code_reproduces_the_output(layer, kw, mode, tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")
    del keras
    from app.cached import build_layer
    from app.codegen import keras_code

    rank = S.rank_of(layer)
    x = np.random.default_rng(2).random((1,) + (9,) * rank + (2,)).astype(np.float32)
    if S.has_weights(layer) and mode == "init":
        kw = dict(kw, kernel_initializer={"class_name": "he_normal", "config": {"seed": 5}})
    eng = build_layer(layer, kw, x.shape, mode)
    y = eng(x)
    code = keras_code(layer, kw, x.shape, y.shape, eng.get_weights() or None)
    np.save(tmp_path / "input.npy", x)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "snippet.py", "exec"), scope)  # noqa: S102 - our own generated code
    np.testing.assert_allclose(np.asarray(scope["y"]), y, rtol=1e-4, atol=1e-4)


def test_receptive_table_speaks_in_words():
    from app.pages.receptive import QUANTITIES

    at = run_app({"layer": "Conv2D", "view": "receptive", "input_shape": "(1,16,16,1)",
                  "rf_repeat": "2"})
    frames = [d.value for d in at.main.dataframe]
    assert len(frames) == 2  # one per axis: rows, then columns
    for frame in frames:
        assert list(frame.index) == list(QUANTITIES.values())
        assert list(frame.columns) == ["1. Conv2D", "2. Conv2D"]
        assert frame.loc["field size (cells)"].tolist() == ["3", "5"]
        assert frame.loc["step between neighbouring outputs' fields (jump)"].tolist() == ["1", "1"]
    text = " ".join(m.value for m in at.markdown)
    for jargon in ("jump S", "start u₀", "eff. padding P"):
        assert jargon not in text and all(jargon not in str(f.index) for f in frames)
    assert "**Along the rows**: each output sees 5 input cells" in text
    # "95% of the contribution comes from k of them (p% of …)" says what p is a share of
    assert "of the field's 25 cells)" in text
