"""The server's budget: absurd arguments, shapes and URLs are refused with a message (and a
suggestion) before anything is allocated or computed; the page stays usable."""

from __future__ import annotations

import time

import numpy as np
import plotly.graph_objects as go
import pytest

from app import compute
from engine.geometry import geometry
from engine.geometry.explain import axis_derivations
from app import state as S
from engine.layers import LAYER_CLASSES


def cost_of(layer_name, kwargs, shape):
    layer = LAYER_CLASSES[layer_name](**kwargs)
    return compute.cost(layer, shape, layer.compute_output_shape(shape))


@pytest.mark.parametrize("layer,kwargs,shape,words", [
    ("Conv2D", {"filters": 10 ** 9, "kernel_size": 3}, (1, 64, 64, 3), ("weights", "filters")),
    ("Conv2D", {"filters": 4, "kernel_size": 10 ** 6, "padding": "same"}, (1, 64, 64, 3),
     ("weights", "kernel_size")),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 10 ** 8},
     (1, 32, 32, 3), ("weights", "depth_multiplier")),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 10 ** 9}, (1, 64, 64, 3),
     ("output values", "Resize")),
    ("UpSampling3D", {"size": 1000}, (1, 8, 8, 8, 1), ("output values", "upsampling")),
    ("ZeroPadding2D", {"padding": 100_000}, (1, 8, 8, 1), ("output values",)),
    # (a huge dilation no longer needs a padded copy: the kernels skip taps that read only
    # padding; a transposed kernel of 2000² still needs 433 MB of tap segments)
    ("Conv2DTranspose", {"filters": 1, "kernel_size": 2000}, (1, 6, 6, 2),
     ("working copy", "kernel_size")),
    ("Conv2D", {"filters": 512, "kernel_size": 9}, (1, 1024, 1024, 3),
     ("output values",)),
    ("Conv2D", {"filters": 64, "kernel_size": 9}, (1, 512, 512, 16), ("multiply-adds",)),
])
def test_budget_refuses_with_a_suggestion(layer, kwargs, shape, words):
    t0 = time.perf_counter()
    msg = cost_of(layer, kwargs, shape).refused
    assert msg, "expected a refusal"
    for w in words:
        assert w in msg, msg
    assert "limit" in msg and len(msg) < 400
    assert time.perf_counter() - t0 < 1.0  # estimated from shapes, nothing computed


def test_reasonable_requests_pass_the_budget():
    for layer, kwargs, shape in [
        ("Conv2D", {"filters": 4, "kernel_size": 3}, (1, 3024, 4032, 1)),  # a phone photo, gray
        ("Conv2D", {"filters": 32, "kernel_size": 7}, (1, 1024, 1024, 3)),
        ("Conv3D", {"filters": 8, "kernel_size": 3, "padding": "same"}, (1, 64, 64, 64, 1)),
        ("DepthwiseConv2D", {"kernel_size": 5, "depth_multiplier": 4}, (2, 256, 256, 16)),
        ("UpSampling2D", {"size": 4, "interpolation": "lanczos5"}, (1, 256, 256, 3)),
        ("Conv1DTranspose", {"filters": 8, "kernel_size": 16, "strides": 4}, (1, 100_000, 2)),
    ]:
        assert cost_of(layer, kwargs, shape).refused is None, (layer, kwargs, shape)


def test_astronomical_counts_are_printable():
    c = compute.Cost(params=10 ** 80, macs=10 ** 400, out_elements=10 ** 90, in_elements=1,
                     work_elements=10 ** 100)
    assert "10^80" in c.refused
    c = compute.Cost(params=1, macs=10 ** 400, out_elements=1, in_elements=1)
    assert "10^400" in c.refused


def test_input_budget_and_fit():
    base = np.zeros((3024, 4032, 3), np.float32)  # a 12 MP phone photo
    with pytest.raises(compute.eio.InputError, match="Resize"):
        compute.prepare(base, 2, "auto", None, 1, "channels_last")
    fit = compute.fit_size(base.shape[:2], 3)
    assert np.prod(fit) * 3 <= compute.MAX_INPUT_ELEMENTS
    assert abs(fit[1] / fit[0] - 4032 / 3024) < 0.01
    x = compute.prepare(base, 2, "auto", fit, 1, "channels_last")
    assert x.shape == (1, *fit, 3)
    with pytest.raises(compute.eio.InputError, match="batch"):
        compute.prepare(np.zeros((1000, 1000, 3), np.float32), 2, "auto", None, 8,
                        "channels_last")
    assert compute.fit_size((5, 5), 1) == (5, 5)
    assert compute.fit_size((10 ** 9, 2), 1, limit=100) == (100, 1)
    assert compute.fit_size((3, 10 ** 6, 10 ** 6), 2, limit=1000) == (1, 22, 22)


def test_transpose_formula_with_huge_strides_is_instant():
    layer = LAYER_CLASSES["Conv2DTranspose"](4, 3, strides=10 ** 9)
    t0 = time.perf_counter()
    infos = axis_derivations(geometry(layer, (1, 4, 4, 1)))
    assert time.perf_counter() - t0 < 0.5
    assert "…" in infos[0].words


def test_views_never_build_over_budget_weights():
    from app.cached import AppViewContext
    from app.main import budget_refusal

    x = np.zeros((1, 8, 8, 3), np.float32)
    ctx = AppViewContext("Conv2D", {"filters": 10 ** 9, "kernel_size": 3}, x, "synthetic",
                         weights_mode="bank")
    with pytest.raises(ValueError, match="weights"):
        ctx.make_layer()
    assert "weights" in budget_refusal("animate", "Conv2D", {"filters": 10 ** 9,
                                                             "kernel_size": 3}, x.shape)
    # Animate works on at most 32 cells per axis: a big input alone is not refused there
    big = (1, 4000, 3000, 3)
    kw = {"filters": 64, "kernel_size": 7}
    assert budget_refusal("animate", "Conv2D", kw, big) is None
    assert "multiply-adds" in budget_refusal("receptive", "Conv2D", kw, big) or \
        "output values" in budget_refusal("receptive", "Conv2D", kw, big)
    assert budget_refusal("explore", "Conv2D", kw, big) is None  # explore reports it itself


def test_url_integers_are_capped_for_the_widgets():
    state, errors = S.parse_query({"filters": str(2 ** 31), "kernel_size": "(3,2147483648)",
                                   "size": "(5000,5000)", "cell": str(10 ** 12),
                                   "kernel": "[[1e300]]", "input_shape": "(1,2147483648,4,1)"})
    assert {k for k, _ in errors} == {"filters", "kernel_size", "size", "cell", "kernel",
                                      "input_shape"}
    assert state.args["filters"] == 4 and state.size is None and state.cell is None
    assert S.coerce_arg(S.spec_map("Conv2D")["filters"], S.MAX_INT_ARG) == S.MAX_INT_ARG


def test_url_size_limits():
    state, errors = S.parse_query({"filters": "9" * 3000, "name": "x" * 3000,
                                   "code": "layers.Conv2D(8, 3)\n" * 100,
                                   **{f"p{i}": "1" for i in range(150)}})
    msgs = " ".join(m for _, m in errors)
    assert "3,000 characters" in msgs and "first 100" in msgs
    assert state.extras.get("code", "").startswith("layers.Conv2D")  # code is kept verbatim
    assert all(len(m) < 600 for _, m in errors)


def test_engine_refuses_sizes_beyond_int64():
    for make in (lambda: LAYER_CLASSES["UpSampling2D"](10 ** 20),
                 lambda: LAYER_CLASSES["Conv2D"](10 ** 20, 3),
                 lambda: LAYER_CLASSES["Conv1D"](2, 2 ** 63)):
        with pytest.raises(ValueError, match="int64"):
            make()
    with pytest.raises(ValueError, match="empty spatial axis"):
        LAYER_CLASSES["Conv2DTranspose"](1, 1, strides=2, output_padding=0).compute_output_shape(
            (1, 0, 3, 1))


# --------------------------------------------------------------------------- the app

ABSURD_URLS = [
    ({"layer": "Conv2D", "filters": "1000000000"}, "Refused"),
    ({"layer": "Conv2D", "kernel_size": "1000000", "padding": "same"}, "Refused"),
    ({"layer": "Conv2D", "kernel_size": "1000000"}, "zero or negative"),
    ({"layer": "Conv2D", "filters": "-3", "strides": "abc"}, "Ignored"),
    ({"layer": "Conv2D", "filters": "9" * 4000}, "characters"),
    ({"layer": "Conv2DTranspose", "strides": "1000000000"}, "Refused"),
    ({"layer": "Conv2DTranspose", "filters": "1", "kernel_size": "2000",
      "input_shape": "(1,6,6,2)"}, "working copy"),
    ({"layer": "UpSampling2D", "size": "100000"}, "Refused"),
    ({"layer": "Conv2D", "input_shape": "(1,100000,100000,3)"}, "limit"),
    ({"layer": "Conv2D", "size": "(4096,4096)", "batch": "8"}, "Tick Resize"),
    ({"layer": "Conv2D", "filters": "100000000", "view": "animate"}, "Refused"),
    ({"layer": "DepthwiseConv2D", "depth_multiplier": "100000000", "view": "receptive"},
     "Refused"),
    ({"layer": "Conv2D", "sample": "[[0,1]]", "cell": "(99999999,99999999)"}, "sample"),
    ({"layer": "Conv2D", "activation": "__import__('os').system('true')"}, "activation"),
]


@pytest.mark.parametrize("params,expect", ABSURD_URLS, ids=[str(i) for i in range(len(ABSURD_URLS))])
def test_absurd_urls_show_a_message_and_the_page_stays_usable(params, expect):
    from tests.test_app import errors, run_app

    t0 = time.perf_counter()
    at = run_app(params)  # asserts no exception
    assert time.perf_counter() - t0 < 60
    msgs = " ".join(errors(at) + [i.value for i in at.info] + [w.value for w in at.warning])
    assert expect in msgs, msgs[:500]
    assert all("Traceback" not in m for m in errors(at))
    # still usable: change a widget and rerun
    at.radio(key="view").set_value("explore").run()
    assert not at.exception


def test_absurd_widget_values():
    from tests.test_app import errors, run_app, shape_text

    at = run_app({"layer": "Conv2D", "input_shape": "(1,32,32,3)"})
    at.number_input(key="arg.filters").set_value(1_000_000_000).run()
    assert not at.exception
    assert any("Refused" in m and "filters" in m for m in errors(at))
    assert shape_text(at) == "Output shape: (1, 30, 30, 1000000000)"
    at.number_input(key="arg.filters").set_value(4).run()
    at.number_input(key="arg.kernel_size.0").set_value(1_000_000).run()
    assert any("zero or negative" in m for m in errors(at))
    at.number_input(key="arg.kernel_size.0").set_value(3).run()
    for text in ("(1, 'a', 3)", "abc", "(1,64,64)", "(0,8,8,3)", "(1,99999,99999,3)", "(" * 300):
        at.text_input(key="in.shape").set_value(text).run()
        assert not at.exception, text
        assert errors(at), text  # the input problem is reported …
        assert shape_text(at).startswith("Output shape: (1,")  # … and a page is still shown
    at.text_input(key="in.shape").set_value("(1,16,16,3)").run()
    assert shape_text(at) == "Output shape: (1, 14, 14, 4)" and not errors(at)


def test_long_signals_are_drawn_as_an_envelope():
    from app.figures.explore import MAX_SIGNAL_POINTS, envelope, signal_figure

    rng = np.random.default_rng(3)
    sig = rng.standard_normal(1_000_003).astype(np.float32)
    sig[123_457] = 50.0  # a single spike must survive
    idx, vals = envelope(sig)
    assert len(idx) <= MAX_SIGNAL_POINTS + 2 and np.all(np.diff(idx) > 0)
    assert vals.max() == 50.0 and vals.min() == sig.min()
    np.testing.assert_array_equal(vals, sig[idx])
    short = sig[:100]
    np.testing.assert_array_equal(envelope(short)[1], short)
    fig = go.Figure(signal_figure(np.stack([sig, -sig], -1), "t").to_dict())
    assert all(len(tr.x) <= MAX_SIGNAL_POINTS + 2 for tr in fig.data)
    assert "envelope" in fig.layout.title.text


def test_a_million_step_signal_page_stays_small():
    import json

    from tests.test_app import run_app, shape_text

    at = run_app({"layer": "Conv1D", "filters": "16", "input_shape": "(1,1000000,2)"})
    assert shape_text(at) == "Output shape: (1, 999998, 16)"
    charts = at.get("plotly_chart")
    assert charts
    assert max(len(c.proto.spec) for c in charts) < 5_000_000
    assert all(len(tr.get("x", [])) <= 5000 for c in charts
               for tr in json.loads(c.proto.spec).get("data", []))
