"""engine.stack: parsing (ast only, refusals), summaries equal to Keras's, fixes, export,
configs, runs. Keras (TensorFlow backend) is the reference for every shape and count."""

from __future__ import annotations

import io
import json
import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import keras  # noqa: E402

from engine.stack import (  # noqa: E402
    MAX_LAYERS, LayerSpec, analyze, fit_input, load_model_config, parse_keras_code,
    receptive_chain, run_stack, suggest_fixes, summarize, to_keras_code, to_url_query,
)
from engine.stack.export import from_url_params  # noqa: E402
from engine.stack_examples import EXAMPLES  # noqa: E402


# ------------------------------------------------------------------------------ Keras side

def keras_rows(report):
    """Build ``report``'s stack in real Keras, layer by layer, and run each layer eagerly on
    zeros: ``[(class, output shape without batch, count_params) or ("error", exc)]`` up to
    and including the first layer Keras refuses."""
    shape = tuple(report.input_shape[1:])
    symbolic = {report.input_name: keras.Input(shape=shape)}
    eager = {report.input_name: np.zeros((1,) + shape, np.float32)}
    out = []
    for spec, row in zip(report.specs, report.rows):
        kwargs = dict(spec[1])
        kwargs.setdefault("name", row["name"])
        try:
            layer = getattr(keras.layers, spec[0])(**kwargs)
            ins = [symbolic[n] for n in row["inputs"]]
            vals = [eager[n] for n in row["inputs"]]
            multi = spec[0] in ("Add", "Subtract", "Multiply", "Average", "Maximum",
                                "Minimum", "Concatenate")
            t = layer(ins if multi else ins[0])
            y = np.asarray(layer(vals if multi else vals[0]))
        except Exception as exc:  # Keras refuses with many exception types
            out.append(("error", exc))
            return out
        assert tuple(t.shape[1:]) == tuple(y.shape[1:]), (spec, t.shape, y.shape)
        symbolic[row["name"]], eager[row["name"]] = t, y
        out.append((spec[0], tuple(t.shape[1:]), layer.count_params()))
    return out


def assert_matches_keras(report):
    ours = report.rows
    theirs = keras_rows(report)
    for i, k in enumerate(theirs):
        row = ours[i]
        ctx = (f"layer {i} {row['name']} ({row['layer']} {report.specs[i][1]}) on "
               f"{row['input_shapes']}")
        if k[0] == "error":
            assert row["status"] == "error", f"Keras refused ({k[1]!r:.300}); we gave {row} {ctx}"
            return "refused"
        assert row["status"] == "ok", f"we refused ({row['error']}) but Keras accepted {ctx}"
        assert row["layer"] == k[0]
        assert tuple(row["output_shape"][1:]) == k[1], ctx
        assert row["output_shape"][0] is None
        assert row["params"] == k[2], ctx
    assert len(theirs) == len(ours)
    return "accepted"


def keras_model_from_code(code):
    """Our example code is plain Keras: build it for real (test-only, our own strings)."""
    namespace: dict = {}
    exec(compile(code, "<example>", "exec"), namespace)  # noqa: S102
    return namespace["model"]


# ------------------------------------------------------------------------------ examples

@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_examples_match_keras_summary(key):
    code = EXAMPLES[key]["code"]
    report = analyze(code)
    if key == "unet_odd":
        with pytest.raises(ValueError, match="Concatenate"):
            keras_model_from_code(code)
        assert report.rows[report.first_error]["layer"] == "Concatenate"
        assert "matching shapes" in report.rows[report.first_error]["error"]
        assert assert_matches_keras(report) == "refused"
        return
    model = keras_model_from_code(code)
    layers = [lyr for lyr in model.layers if type(lyr).__name__ != "InputLayer"]
    assert [r["layer"] for r in report.rows] == [type(lyr).__name__ for lyr in layers]
    assert [r["output_shape"] for r in report.rows] == [tuple(lyr.output.shape) for lyr in layers]
    assert [r["params"] for r in report.rows] == [lyr.count_params() for lyr in layers]
    assert report.total_params == model.count_params()
    assert report.ok
    assert assert_matches_keras(report) == "accepted"


def test_summarize_contract():
    rows = summarize(EXAMPLES["vgg_block"]["code"])
    assert rows[0]["layer"] == "Conv2D"
    assert rows[0]["output_shape"] == (None, 64, 64, 32)
    assert rows[0]["params"] == 3 * 3 * 3 * 32 + 32
    assert rows[0]["error"] is None
    assert rows[0]["macs"] == 64 * 64 * 3 * 3 * 3 * 32
    assert {"rf_size", "rf_jump", "rf_start"} <= set(rows[0])
    rows = summarize([("Conv2D", {"filters": 4, "kernel_size": 3})], input_shape=(8, 8, 2))
    assert rows[0]["output_shape"] == (None, 6, 6, 4)
    rows = summarize([("Conv2D", {"filters": 4, "kernel_size": 3})], input_shape=(None, 8, 8, 2))
    assert rows[0]["output_shape"] == (None, 6, 6, 4)


def test_batch_norm_counts_all_four_vectors():
    rows = summarize("[layers.Conv2D(8, 3), layers.BatchNormalization()]", (10, 10, 3))
    assert rows[1]["params"] == 4 * 8 and rows[1]["trainable_params"] == 2 * 8


def test_multiply_adds():
    rows = summarize("""[layers.Conv2DTranspose(4, 3, strides=2),
                         layers.SeparableConv2D(8, 3, depth_multiplier=2, use_bias=False),
                         layers.DepthwiseConv2D(3), layers.Flatten(), layers.Dense(5)]""",
                     (5, 5, 2))
    assert rows[0]["macs"] == 5 * 5 * 3 * 3 * 4 * 2          # input positions × kernel
    out = rows[1]["output_shape"]
    assert rows[1]["macs"] == out[1] * out[2] * (3 * 3 * 4 * 2 + 8 * 8)
    out = rows[2]["output_shape"]
    assert rows[2]["macs"] == out[1] * out[2] * 3 * 3 * 8
    assert rows[4]["macs"] == rows[3]["output_shape"][1] * 5
    assert rows[3]["macs"] == 0


def test_error_then_skipped():
    rows = summarize("[layers.Conv2D(4, 7), layers.Conv2D(4, 3)]", (5, 5, 1))
    assert rows[0]["status"] == "error" and "zero or negative" in rows[0]["error"]
    assert rows[1]["status"] == "skipped" and rows[1]["output_shape"] is None


def test_unsupported_layer_is_marked():
    # (LSTM, the layer this test used, is supported now: UnitNormalization is not)
    rows = summarize("[layers.Conv1D(4, 3), layers.UnitNormalization(), layers.Dense(2)]",
                     (20, 1))
    assert rows[0]["status"] == "ok"
    assert rows[1]["status"] == "unsupported" and "UnitNormalization" in rows[1]["error"]
    assert rows[2]["status"] == "skipped"


def test_no_input_shape():
    rows = summarize("[layers.Conv2D(4, 3)]")
    assert rows[0]["status"] == "error" and "input shape" in rows[0]["error"]


# ------------------------------------------------------------------------------ random chains

RANK_LAYERS = {
    1: ["Conv1D", "Conv1DTranspose", "SeparableConv1D", "DepthwiseConv1D", "MaxPooling1D",
        "AveragePooling1D", "ZeroPadding1D", "Cropping1D", "UpSampling1D"],
    2: ["Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D", "MaxPooling2D",
        "AveragePooling2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D"],
}
POINTWISE = ["BatchNormalization", "ReLU", "LeakyReLU", "Dropout", "Activation", "Dense"]


@st.composite
def layer_spec(draw, rank):
    name = draw(st.sampled_from(RANK_LAYERS[rank] + POINTWISE))
    small = st.integers(1, 4)
    if name in POINTWISE:
        kwargs = {"BatchNormalization": {}, "ReLU": {}, "LeakyReLU": {"negative_slope": 0.1},
                  "Dropout": {"rate": 0.25}, "Activation": {"activation": "tanh"},
                  "Dense": {"units": draw(small)}}[name]
        return name, kwargs
    if "Pooling" in name:
        return name, {"pool_size": draw(small), "strides": draw(st.none() | small),
                      "padding": draw(st.sampled_from(["valid", "same"]))}
    if name.startswith(("ZeroPadding", "Cropping")):
        key = "padding" if name.startswith("Zero") else "cropping"
        return name, {key: draw(st.integers(0, 2))}
    if name.startswith("UpSampling"):
        return name, {"size": draw(st.integers(1, 3))}
    kwargs = {"kernel_size": draw(small), "strides": draw(st.integers(1, 3)),
              "padding": draw(st.sampled_from(["valid", "same"]))}
    if draw(st.booleans()):
        kwargs["dilation_rate"] = draw(st.integers(1, 3))
    if "Depthwise" not in name:
        kwargs["filters"] = draw(small)
    if "Transpose" in name and draw(st.booleans()):
        kwargs["output_padding"] = draw(st.integers(0, 2))
    if name in ("Conv1D", "Conv2D") and draw(st.booleans()):
        kwargs["groups"] = draw(st.integers(1, 2))
    return name, kwargs


@st.composite
def random_chain(draw):
    rank = draw(st.sampled_from([1, 2]))
    shape = tuple(draw(st.integers(1, 12)) for _ in range(rank)) + (draw(st.integers(1, 3)),)
    specs = draw(st.lists(layer_spec(rank), min_size=1, max_size=5))
    tail = draw(st.sampled_from([[], [("Flatten", {}), ("Dense", {"units": 3})],
                                 [(f"GlobalAveragePooling{rank}D", {})]]))
    return specs + tail, shape


@settings(max_examples=50, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(random_chain())
def test_random_chains_match_keras(case):
    specs, shape = case
    report = analyze(specs, shape)
    assert_matches_keras(report)


def test_functional_graph_order_matches_keras():
    code = """
inputs = keras.Input(shape=(16, 16, 3))
a = layers.Conv2D(8, 3, padding="same")(inputs)
b = layers.Conv2D(8, 1)(inputs)
b = layers.BatchNormalization()(b)
s = layers.Add()([a, b])
unused = layers.Conv2D(2, 1)(s)
out = layers.GlobalMaxPooling2D()(s)
model = keras.Model(inputs=inputs, outputs=out)
"""
    report = analyze(code)
    model = keras_model_from_code("import keras\nfrom keras import layers\n" + code)
    names = [type(lyr).__name__ for lyr in model.layers[1:]]
    assert [r["layer"] for r in report.rows] == names
    assert [r["output_shape"] for r in report.rows] == [tuple(lyr.output.shape)
                                                         for lyr in model.layers[1:]]
    assert any("do not lead" in n for n in report.notes)


# ------------------------------------------------------------------------------ parsing

def test_parse_forms():
    seq = parse_keras_code("""
import tensorflow as tf
model = tf.keras.Sequential()
model.add(tf.keras.layers.Conv2D(8, (3, 3), input_shape=(28, 28, 1)))
model.add(tf.keras.layers.MaxPool2D())
model.summary()
""")
    specs, shape = seq
    assert shape == (28, 28, 1)
    assert specs == [("Conv2D", {"filters": 8, "kernel_size": (3, 3)}), ("MaxPooling2D", {})]
    bare = parse_keras_code("""
from keras.layers import Conv1D, Input
n = 16
Input(shape=(100, 2))
Conv1D(n * 2, 5, padding="causal")
Conv1D(-(-4), 3)
""")
    assert bare.input_shape == (100, 2)
    assert bare.specs == [("Conv1D", {"filters": 32, "kernel_size": 5, "padding": "causal"}),
                          ("Conv1D", {"filters": 4, "kernel_size": 3})]
    listed = parse_keras_code(
        "[keras.layers.ZeroPadding2D(1), layers.Cropping2D(((1, 0), (0, 1)))]")
    assert listed.input_shape is None and len(listed.specs) == 2
    fn = parse_keras_code("""
import keras
inp = keras.Input((32, 32, 3))
conv = keras.layers.Conv2D(4, 3, padding="same")
x = conv(inp)
y = keras.layers.ReLU()(keras.layers.Conv2D(4, 1)(inp))
z = keras.layers.add([x, y])
m = keras.Model(inp, z)
""")
    assert [s[0] for s in fn.specs] == ["Conv2D", "Conv2D", "ReLU", "Add"]
    assert fn.specs[-1].inputs is not None and len(fn.specs[-1].inputs) == 2


@pytest.mark.parametrize("code, what", [
    ("__import__('os').system('touch /tmp/convlab_pwned')", "__import__"),
    ("layers.Conv2D(8, 3, name=__import__('os').getcwd())", "__import__"),
    ("layers.Conv2D(8, 3).kernel", "attribute"),
    ("keras.utils.get_file('x', 'y')", "keras.utils.get_file"),
    ("layers.Lambda(lambda x: x)", "lambda"),
    # comprehensions, f-strings, subscripts, def and for are read now (issue 14): these
    # cases test constructs that stay refused
    ("(layers.Conv2D(i, 3) for i in range(3))", "generator expression"),
    ("layers.Conv2D(f'{open(\"/etc/passwd\").read()}', 3)", "open"),
    ("x = keras.Input((4,))\ny = x[:, 0]", "indexing a tensor"),
    ("import os", "importing 'os'"),
    ("from subprocess import run", "subprocess"),
    ("layers.Conv2D(8, 3, activation=tf.nn.relu)", "attribute"),
    ("layers.Conv2D(8, 3, **{'filters': 2})", "**kwargs"),
    ("layers.Conv2D(2 ** 4000, 3)", "Pow"),
    ("eval('1')", "eval"),
    ("x = keras.layers.Conv2D.__init__", "attribute"),
    ("@decorate\ndef f():\n    pass", "decorator"),
    ("with open('/etc/passwd') as f:\n    pass", "with statement"),
    ("model = keras.Sequential([layers.Dense(2)])\nmodel.fit(1)", "fit"),
    ("layers.Conv2D(8, 3)(x)", "x"),
])
def test_refused_without_executing(code, what, tmp_path):
    marker = "/tmp/convlab_pwned"
    if os.path.exists(marker):
        os.remove(marker)
    with pytest.raises(ValueError, match="Line 1|Line 2") as info:
        parse_keras_code(code)
    assert what.lower() in str(info.value).lower()
    assert not os.path.exists(marker)


def test_limits():
    with pytest.raises(ValueError, match="kB"):
        parse_keras_code("#" * 200_000)
    many = "[" + ",".join(["layers.ReLU()"] * (MAX_LAYERS + 1)) + "]"
    with pytest.raises(ValueError, match=str(MAX_LAYERS)):
        parse_keras_code(many)
    with pytest.raises(ValueError):
        parse_keras_code("layers.Conv2D(" + "[" * 500 + "]" * 500 + ", 3)")
    with pytest.raises(ValueError, match="syntax"):
        parse_keras_code("layers.Conv2D(8, 3")


# ------------------------------------------------------------------------------ configs

def _keras_model(key):
    return keras_model_from_code(EXAMPLES[key]["code"])


@pytest.mark.parametrize("key", ["mobilenet", "unet", "dcgan_generator"])
def test_json_config_roundtrip(key):
    model = _keras_model(key)
    report = analyze(model.to_json())
    layers = [lyr for lyr in model.layers if type(lyr).__name__ != "InputLayer"]
    assert [r["output_shape"] for r in report.rows] == [tuple(lyr.output.shape) for lyr in layers]
    assert [r["params"] for r in report.rows] == [lyr.count_params() for lyr in layers]
    assert [r["name"] for r in report.rows] == [lyr.name for lyr in layers]


def test_keras_file_config_only(tmp_path):
    model = _keras_model("wavenet")
    path = tmp_path / "m.keras"
    model.save(path)
    data = path.read_bytes()
    parsed = load_model_config(data)
    assert parsed.input_shape == (1024, 1)
    assert [r["params"] for r in summarize(parsed)] == [lyr.count_params() for lyr in model.layers]
    # an archive without config.json, and a config bomb, are refused
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model.weights.h5", b"x")
    with pytest.raises(ValueError, match="config.json"):
        load_model_config(buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", b" " * 6_000_000)
    with pytest.raises(ValueError, match="larger"):
        load_model_config(buf.getvalue())
    with pytest.raises(ValueError, match="JSON"):
        load_model_config("{not json")
    with pytest.raises(ValueError, match="layers"):
        load_model_config(json.dumps({"class_name": "Sequential", "config": {}}))


# ------------------------------------------------------------------------------ fixes

def _keras_accepts(specs, input_shape):
    report = analyze(specs, input_shape, receptive=False)
    return assert_matches_keras(report) == "accepted"


def test_unet_fix_makes_decoder_meet_encoder():
    report = analyze(EXAMPLES["unet_odd"]["code"])
    fixes = suggest_fixes(report)
    assert fixes and fixes[0].complete
    assert "conv2d_transpose" in fixes[0].title
    assert any("ZeroPadding2D" in f.title for f in fixes)
    for fix in fixes:
        assert _keras_accepts(fix.specs, fix.input_shape)


@pytest.mark.parametrize("code, shape, expect", [
    ("[layers.Conv2D(8, 5), layers.Conv2D(8, 5)]", (6, 6, 4), "padding='same'"),
    ("[layers.MaxPooling2D(4)]", (3, 3, 1), "padding='same'"),
    ("[layers.Conv2DTranspose(8, 2, strides=2, padding='same', output_padding=0)]",
     (6, 6, 4), "output_padding"),
    ("[layers.Conv2D(8, 3, strides=2, dilation_rate=2)]", (9, 9, 1), "strides=1"),
    ("[layers.Conv2D(8, 3, groups=3)]", (9, 9, 4), "groups=2"),
    ("[layers.Conv2D(8, 3)]", (28, 28), "(28, 28, 1)"),
    ("[layers.Flatten(), layers.Reshape((5, 5, 4))]", (10, 10, 2), "-1"),
    ("[layers.Conv2DTranspose(8, 3, strides=2, output_padding=2)]", (4, 4, 1),
     "output_padding"),
])
def test_fixes_are_accepted_by_keras(code, shape, expect):
    report = analyze(code, shape)
    assert report.first_error is not None
    fixes = suggest_fixes(report)
    assert any(expect in f.title.replace('"', "'") for f in fixes), [f.title for f in fixes]
    for fix in fixes:
        assert _keras_accepts(fix.specs, fix.input_shape), fix.title


def test_add_channel_fix():
    code = """
inputs = keras.Input(shape=(8, 8, 3))
a = layers.Conv2D(8, 3, padding="same")(inputs)
b = layers.Conv2D(4, 1)(inputs)
s = layers.Add()([a, b])
"""
    fixes = suggest_fixes(analyze(code))
    assert any("filters=" in f.title for f in fixes)
    for fix in fixes:
        assert _keras_accepts(fix.specs, fix.input_shape)


# ------------------------------------------------------------------------------ export

@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_export_roundtrip(key):
    parsed = parse_keras_code(EXAMPLES[key]["code"])
    code = to_keras_code(parsed.specs, parsed.input_shape)
    before = [(r["layer"], r["output_shape"], r["params"], r["status"])
              for r in summarize(parsed)]
    after = [(r["layer"], r["output_shape"], r["params"], r["status"]) for r in summarize(code)]
    assert before == after
    if key != "unet_odd":
        model = keras_model_from_code(code)
        assert model.count_params() == sum(r[2] for r in after)
    query = to_url_query(parsed.specs, parsed.input_shape)
    assert query.startswith("view=stack&code=")
    from urllib.parse import parse_qs
    params = parse_qs(query)
    assert summarize(from_url_params(params)) == summarize(code)


def test_export_drops_defaults():
    parsed = load_model_config(_keras_model("vgg_block").to_json())
    code = to_keras_code(parsed.specs, parsed.input_shape)
    assert "glorot_uniform" not in code and "DTypePolicy" not in code
    assert 'layers.Conv2D(32, 3, padding="same", activation="relu")' in code


# ------------------------------------------------------------------------------ runs

@pytest.mark.parametrize("key", ["vgg_block", "unet", "wavenet", "mobilenet", "c3d",
                                 "dcgan_generator"])
def test_run_shapes(key):
    report = analyze(EXAMPLES[key]["code"])
    x = np.random.default_rng(0).random((1,) + tuple(report.input_shape[1:]), np.float32)
    outputs = run_stack(report, x)
    assert list(outputs) == report.names
    for r in report.rows:
        assert outputs[r["name"]].shape[1:] == r["output_shape"][1:]
        assert np.isfinite(outputs[r["name"]]).all()


def test_run_matches_keras_for_shape_only_layers():
    code = """[layers.MaxPooling2D(3, strides=2, padding="same"),
               layers.AveragePooling2D(2, padding="same"), layers.ReLU(0.5, 0.1),
               layers.LeakyReLU(0.2), layers.BatchNormalization(), layers.Flatten()]"""
    report = analyze(code, (7, 7, 2))
    x = np.random.default_rng(1).normal(size=(1, 7, 7, 2)).astype(np.float32)
    ours = run_stack(report, x)
    model = keras.Sequential([keras.Input((7, 7, 2))] + [
        getattr(keras.layers, s[0])(**s[1]) for s in report.specs])
    np.testing.assert_allclose(ours[report.names[-1]], np.asarray(model(x)), atol=1e-5)


def test_fit_input():
    img = np.random.default_rng(0).random((40, 30, 3)).astype(np.float32)
    assert fit_input(img, (None, 16, 16, 1)).shape == (1, 16, 16, 1)
    assert fit_input(img[..., :1], (None, 3, 20, 20), "channels_first").shape == (1, 3, 20, 20)
    sig = np.random.default_rng(0).random((500, 1)).astype(np.float32)
    assert fit_input(sig, (None, 128, 2)).shape == (1, 128, 2)
    assert fit_input(img, (None, 4, 8, 8, 3)).shape == (1, 4, 8, 8, 3)


def test_receptive_chain_skips_pointwise_and_stops_at_merges():
    report = analyze(EXAMPLES["mobilenet"]["code"])
    chain = receptive_chain(report, 8)
    assert [type(c).__name__ for c in chain] == ["Conv2D", "DepthwiseConv2D", "Conv2D"]
    report = analyze(EXAMPLES["unet"]["code"])
    with pytest.raises(ValueError, match="merge"):
        receptive_chain(report, len(report.rows) - 1)


def test_receptive_columns_from_engine():
    rows = summarize(EXAMPLES["wavenet"]["code"])
    assert rows[-2]["rf_size"] == (256,)
    assert rows[-1]["rf_size"] == (256,)
    rows = summarize(EXAMPLES["vgg_block"]["code"])
    assert rows[0]["rf_size"] == (3, 3) and rows[1]["rf_size"] == (5, 5)
    assert rows[2]["rf_jump"] in ((2, 2), (2.0, 2.0))


def test_layer_spec_behaves_like_a_pair():
    spec = LayerSpec("MaxPool2D", {"pool_size": 2}, inputs=["a"])
    name, kwargs = spec
    assert (name, kwargs) == ("MaxPooling2D", {"pool_size": 2}) and spec.inputs == ("a",)
    import pickle
    assert pickle.loads(pickle.dumps(spec)).inputs == ("a",)


# ------------------------------------------------------------------------------ editing

def test_edit_operations():
    from engine.stack import edit
    parsed = parse_keras_code(EXAMPLES["vgg_block"]["code"])
    specs = edit.duplicate(parsed.specs, 0)
    assert [s[0] for s in specs[:3]] == ["Conv2D", "Conv2D", "Conv2D"] and len(specs) == 11
    specs = edit.move(specs, 3, -1)
    assert specs[2][0] == "MaxPooling2D"
    specs = edit.remove(specs, 2)
    assert len(specs) == 10
    specs = edit.insert(specs, 1, ("BatchNormalization", {}))
    assert specs[1][0] == "BatchNormalization"
    assert analyze(specs, parsed.input_shape).ok
    graph = parse_keras_code(EXAMPLES["unet"]["code"]).specs
    with pytest.raises(ValueError, match="before the layer it reads"):
        edit.move(graph, 8, -1)
    fewer = edit.remove(graph, 7)            # the transposed conv: its input takes its place
    report = analyze(fewer, (64, 64, 1))
    assert report.rows[7]["layer"] == "Concatenate" and report.rows[7]["status"] == "error"
    dup = edit.duplicate(graph, 0)
    assert analyze(dup, (64, 64, 1)).ok


# ------------------------------------------------------------------------------ the page

def _page():
    import numpy as np
    import streamlit as st

    from app.context import ViewContext
    from app.pages import stack

    x = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    ctx = ViewContext("Conv2D", {"filters": 4, "kernel_size": 3}, x,
                      extras=dict(st.session_state.get("test_extras", {})))
    stack.render(ctx)


def _apptest(extras=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, default_timeout=180)
    if extras:
        at.session_state["test_extras"] = extras
    return at.run()


def _texts(at):
    return [m.value for m in at.markdown]


def test_page_examples_fix_and_run():
    at = _apptest()
    assert not at.exception
    assert "Output shape: (None, 10)" in _texts(at)
    assert at.dataframe                                   # the summary table
    assert len(at.get("plotly_chart")) >= 2               # flow + feature maps (+ receptive)
    at.selectbox(key="stack_example").select("unet_odd").run()
    assert not at.exception
    assert any("Concatenate" in e.value for e in at.error)
    fixes = [b for b in at.button if b.key and b.key.startswith("stack_fix_")]
    assert fixes
    fixes[0].click().run()
    assert not at.exception and not at.error
    assert "Output shape: (None, 100, 100, 1)" in _texts(at)
    for key in ("wavenet", "c3d", "dcgan_generator", "mobilenet"):
        at.selectbox(key="stack_example").select(key).run()
        assert not at.exception, key
        assert not at.error, (key, [e.value for e in at.error])


def test_page_refuses_code_without_running_it():
    at = _apptest({"code": "__import__('os').system('touch /tmp/convlab_page_pwned')"})
    assert not at.exception
    assert any("__import__" in e.value for e in at.error)
    assert not os.path.exists("/tmp/convlab_page_pwned")
    assert any(t.startswith("Output shape:") for t in _texts(at))


def test_page_url_code_and_builder():
    code = to_keras_code([("Conv1D", {"filters": 4, "kernel_size": 3})], (50, 2))
    at = _apptest({"code": code})
    assert "Output shape: (None, 48, 4)" in _texts(at)
    at.radio(key="stack_mode").set_value("build").run()
    assert not at.exception
    at.button(key="stack_dup_0").click().run()
    assert "Output shape: (None, 46, 4)" in _texts(at)
    at.selectbox(key="stack_add_class").select("GlobalMaxPooling1D").run()
    at.button(key="stack_add").click().run()
    assert "Output shape: (None, 4)" in _texts(at)
    at.button(key="stack_del_0").click().run()
    assert "Output shape: (None, 4)" in _texts(at)
    at.button(key="stack_from_layer").click().run()
    assert "Output shape: (None, 30, 30, 4)" in _texts(at)
    at.text_input(key="stack_input_override").set_value("(10, 10, 3)").run()
    assert "Output shape: (None, 8, 8, 4)" in _texts(at)


def test_page_loads_model_json():
    model = _keras_model("dcgan_generator")
    at = _apptest()
    at.radio(key="stack_mode").set_value("config").run()
    at.text_area(key="stack_json").set_value(model.to_json()).run()
    at.button(key="stack_load").click().run()
    assert not at.exception
    assert "Output shape: (None, 28, 28, 1)" in _texts(at)
