"""The bounded interpreter behind engine.stack.parse_keras_code: the Python it reads, the
models it assembles, what it refuses (line + construct, nothing executed) and its limits.
Shapes here are checked against Keras in tests/test_stack_corpus.py."""

from __future__ import annotations

import os
import time

import pytest

from engine.stack import MAX_LAYERS, MAX_SOURCE_BYTES, analyze, parse_keras_code, summarize
from engine.stack.interp import limits

HEAD = "import keras\nfrom keras import layers\n"


def shapes(code, **kw):
    return [r["output_shape"] for r in summarize(HEAD + code, **kw)]


# ------------------------------------------------------------------------------ Python read

def test_values_operators_and_control_flow():
    code = """
IMG = (16, 16)
shape = IMG + (3,)
a, (b, *rest) = 2, [3, 4, 5]
a += 1
n = a * b - len(rest) ** 2 // 2 % 5
name = "blk" + str(n) * 2
flags = [i for i in range(10) if i % 3 == 0 and not i > 6]
table = {k: v for k, v in zip("xyz", reversed(range(3)))}
uniq = {x % 2 for x in flags}
total = sum([abs(-2), round(2.6), int("3"), int(float(1.5)), max(1, 5), min([4, 9])])
label = "small" if total < 5 else ("mid" if total <= 13 else "big")
count = 0
while True:
    count += 1
    if count >= 3:
        break
for i, f in enumerate(flags):
    if i == 1:
        continue
    elif f > 100:
        pass
else:
    count += 10
model = keras.Sequential([keras.Input(shape), layers.Conv2D(n + count + table["x"], 3,
                          name=f"{name}_{label}_{len(uniq):02d}")])
"""
    parsed = parse_keras_code(HEAD + code)
    spec = parsed.specs[0]
    # n = 3*3 - 4//2 % 5 = 7; count = 13; table["x"] = 2
    assert spec.kwargs == {"filters": 22, "kernel_size": 3, "name": "blk77_big_02"}
    assert parsed.input_shape == (16, 16, 3)


def test_functions_defaults_star_args_and_recursion():
    code = """
def widths(n, base=4, *extra, scale=1, **named):
    out = [base * 2 ** i * scale for i in range(n)]
    return out + list(extra) + [named.get("last", 1)]

def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)

def block(x, filters, *, kernel=3, **kwargs):
    return layers.Conv2D(filters, kernel, padding="same", **kwargs)(x)

inp = keras.Input((8, 8, 1))
x = inp
for w in widths(2, 2, 5, scale=depth(3), last=7):
    x = block(x, w, activation="relu")
model = keras.Model(inp, x)
"""
    parsed = parse_keras_code(HEAD + code)
    assert [s.kwargs["filters"] for s in parsed.specs] == [6, 12, 5, 7]
    assert parsed.specs[0].kwargs["activation"] == "relu"


def test_tensor_shapes_are_readable():
    code = """
inp = keras.Input((10, 12, 3))
x = layers.Conv2D(4, 3)(inp)
rows, cols, ch = x.shape[1:]
y = layers.Reshape((rows * cols, x.shape[-1]))(x)
z = layers.Dense(keras.ops.shape(y)[1] + x.ndim)(y)
model = keras.Model(inp, z)
"""
    assert shapes(code) == [(None, 8, 10, 4), (None, 80, 4), (None, 80, 84)]


def test_sequential_forms_and_names():
    code = """
blocks = [layers.Dense(8), layers.Dense(4)]
model = keras.Sequential(name="mlp")
model.add(layers.Dense(16, input_shape=(3,)))
for layer in blocks:
    model.add(layer)
"""
    report = analyze(HEAD + code)
    assert report.model_name == "model" and report.models == ("model",)
    assert [r["output_shape"] for r in report.rows] == [(None, 16), (None, 8), (None, 4)]


def test_several_models_selection():
    code = """
a = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
b = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(1)])
"""
    parsed = parse_keras_code(HEAD + code)
    assert parsed.models == ("a", "b") and parsed.model_name == "b"      # the last built
    assert len(analyze(HEAD + code, model="a").rows) == 1
    with pytest.raises(ValueError, match="No model 'c'"):
        analyze(HEAD + code, model="c")
    bound = parse_keras_code(HEAD + "model = keras.Sequential([keras.Input((4,)), "
                             "layers.Dense(2)])\n" + code)
    assert bound.model_name == "model"                                   # bound to `model`


def test_shared_layers_nested_models_and_tensor_ops():
    code = """
inner = keras.Sequential([layers.Dense(6), layers.Dense(5)], name="inner")
i1, i2 = keras.Input((4,)), keras.Input((4,))
shared = layers.Dense(4)
a, b = shared(i1), shared(i2)
m = inner(a + b * 2.0)
out = layers.concatenate([m, inner(a)])
model = keras.Model([i1, i2], out)
"""
    report = analyze(HEAD + code)
    assert [(r["layer"], r["output_shape"], r["params"]) for r in report.rows] == [
        ("Dense", (None, 4), 20), ("Sequential", (None, 5), 65), ("Concatenate", (None, 10), 0)]


def test_subclass_model_rows_in_tracking_order():
    code = """
class Net(keras.Model):
    def __init__(self, units):
        super().__init__(name="net")
        self.head = layers.Dense(units)
        self.body = [layers.Dense(8), layers.Dense(8)]
        self.unused = layers.Dense(1)

    def call(self, x):
        for layer in self.body:
            x = layer(x)
        return self.head(x)

model = Net(3)
model.build((None, 5))
"""
    report = analyze(HEAD + code)
    assert [(r["output_shape"], r["params"]) for r in report.rows] == [
        ((None, 3), 27), ((None, 8), 48), ((None, 8), 72)]
    assert any("never called" in n for n in report.notes)


def test_failed_layer_row_then_skipped_rows():
    code = """
inp = keras.Input((9, 9, 1))
x = layers.Conv2D(4, 11)(inp)
x = layers.Flatten()(x)
model = keras.Model(inp, x)
"""
    rows = summarize(HEAD + code)
    assert rows[0]["status"] == "error" and "negative" in rows[0]["error"]
    assert rows[1]["status"] == "skipped"


def test_backbone_arguments_are_checked():
    with pytest.raises(ValueError, match="weights=None"):
        parse_keras_code("import keras\nm = keras.applications.ResNet50()")
    with pytest.raises(ValueError, match="at least 32x32"):
        parse_keras_code("import keras\nm = keras.applications.VGG16(weights=None, "
                         "input_shape=(16, 16, 3))")
    with pytest.raises(ValueError, match="static"):
        parse_keras_code("import keras\nm = keras.applications.VGG16(weights=None, "
                         "input_shape=(None, None, 3))")
    with pytest.raises(ValueError, match="Line 2.*not shipped.*ResNet50"):
        parse_keras_code("import keras\nm = keras.applications.DenseNet121(weights=None)")
    pooled = summarize("import keras\nm = keras.applications.VGG16(weights=None, "
                       "include_top=False, pooling='avg')")
    assert pooled[-1]["output_shape"] == (None, 512)


# ------------------------------------------------------------------------------ refusals

REFUSED = [
    ("import os", 1, "importing 'os'"),
    ("from subprocess import run", 1, "subprocess"),
    ("from . import layers", 1, "importing from"),
    ("from keras.layers import *", 1, "import *"),
    ("import keras\nkeras.utils.get_file('x', 'y')", 2, "keras.utils"),
    ("import keras\nx = keras.backend.clear_session()", 2, "keras.backend"),
    ("import numpy as np\nx = np.zeros(3)", 2, "numpy.zeros"),
    ("layers.Conv2D(8, 3, activation=tf.nn.relu)", 1, "tensorflow.nn"),
    ("open('/etc/passwd')", 1, "open"),
    ("exec('x = 1')", 1, "exec"),
    ("eval('1')", 1, "eval"),
    ("__import__('os')", 1, "__import__"),
    ("getattr(layers, 'Conv2D')", 1, "getattr"),
    ("x = (1).__class__", 1, "__class__"),
    ("s = '{0.__class__}'.format(1)", 1, "format field"),
    ("class Block(keras.layers.Layer):\n    pass", 1, "not a keras.Model subclass"),
    ("class Thing:\n    pass", 1, "not a keras.Model subclass"),
    ("class M(keras.Model):\n    x = 1", 2, "in a class body"),
    ("f = lambda x: x", 1, "lambda"),
    ("layers.Lambda(lambda x: x)", 1, "lambda"),
    ("with open('f') as fh:\n    pass", 1, "with statement"),
    ("try:\n    pass\nexcept Exception:\n    pass", 1, "try statement"),
    ("global x", 1, "global statement"),
    ("x = 1\ndel x", 2, "del statement"),
    ("raise ValueError('no')", 1, "raise statement"),
    ("def g():\n    yield 1\ng()", 2, "yield"),
    ("x = (i for i in range(3))", 1, "generator expression"),
    ("@decorate\ndef f():\n    pass", 1, "decorator"),
    ("x = keras.Input((4,))\ny = x[:, 0]", 2, "indexing a tensor"),
    ("x = keras.Input((4,))\nif x:\n    pass", 2, "truth value of a tensor"),
    ("model = keras.Sequential([layers.Dense(2)])\nmodel.fit(1)", 2, "'fit'"),
    ("x = undefined_name + 1", 1, "undefined_name"),
    ("x = b'bytes'", 1, "bytes constant"),
    ("x = [1] @ [2]", 1, "MatMult"),
]


@pytest.mark.parametrize("code, line, construct", REFUSED,
                         ids=[c[2] for c in REFUSED])
def test_refusals_name_line_and_construct(code, line, construct):
    marker = "/tmp/convlab_interp_pwned"
    with pytest.raises(ValueError) as info:
        parse_keras_code(HEAD + code + f"\nopen({marker!r}, 'w')")
    message = str(info.value)
    assert message.startswith(f"Line {line + 2}:"), message
    assert construct.lower() in message.lower(), message
    assert "not accepted" in message
    assert not os.path.exists(marker)


def test_refusal_keeps_the_rows_read_before_it():
    code = """
def build():
    inp = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3)(inp)
    x = layers.MaxPooling2D()(x)
    x = layers.Lambda(lambda t: t * 2)(x)
    return keras.Model(inp, x)

model = build()
"""
    with pytest.raises(ValueError, match="Line 8: a Lambda layer") as info:
        parse_keras_code(HEAD + code)
    partial = info.value.partial
    assert [r["output_shape"] for r in summarize(partial)] == [(None, 14, 14, 8),
                                                              (None, 7, 7, 8)]
    with pytest.raises(ValueError) as info:
        parse_keras_code(HEAD + "m = keras.Sequential([keras.Input((3,)), layers.Dense(2)])"
                         "\nm.fit(1)")
    assert [r["output_shape"] for r in summarize(info.value.partial)] == [(None, 2)]


# ------------------------------------------------------------------------------ limits

def test_source_size_limit():
    with pytest.raises(ValueError, match="MAX_SOURCE_BYTES"):
        parse_keras_code("#" * (MAX_SOURCE_BYTES + 1))


@pytest.mark.parametrize("code, limit", [
    ("for i in range(5000):\n    for j in range(5000):\n        pass", "MAX_STEPS"),
    ("while True:\n    pass", "MAX_LOOP_ITERATIONS"),
    ("x = [i for i in range(20000)]", "MAX_LOOP_ITERATIONS"),
    ("def f(n):\n    return f(n + 1)\nf(0)", "MAX_CALL_DEPTH"),
    ("x = [0] * 200000", "MAX_COLLECTION"),
    ("x = list(range(1000000))", "MAX_COLLECTION"),
    ("x = 'ab' * 60000", "MAX_COLLECTION"),
    ("x = 10 ** 20", "MAX_NUMBER"),
    ("x = 2 ** 4000", "Pow"),
    ("x = 10 ** 6 * 10 ** 7", "MAX_NUMBER"),
    ("for i in range(2001):\n    layers.ReLU()", "MAX_LAYERS_CREATED"),
    (f"model = keras.Sequential([layers.ReLU() for _ in range({MAX_LAYERS + 1})])",
     "MAX_LAYERS"),
])
def test_limits_are_named_and_fast(code, limit):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=limit):
        parse_keras_code(HEAD + code)
    assert time.perf_counter() - start < 1.0


def test_wall_time_limit(monkeypatch):
    monkeypatch.setattr(limits, "MAX_SECONDS", 0.0)
    with pytest.raises(ValueError, match="MAX_SECONDS"):
        parse_keras_code(HEAD + "x = 1\ny = 2")


# ------------------------------------------------------------------------------ fuzz

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FRAGMENTS = ["x", "y", " = ", "(", ")", "[", "]", ", ", ".", "shape", "layers.Dense(3)",
             "keras.Input((4, 4))", "layers.add", "for i in range(3):\n    ", "\n",
             "def f(a, *b, **c):\n    return ", "1", "-2", " + ", " * ", " ** ", "'s'",
             "f'{x}'", "model", "keras.Model", "keras.Sequential", "[0]", "[1:]", " if ",
             " else ", "lambda", "while x:\n    ", "len(", "zip(", "{", "}", ": ",
             "class M(keras.Model):\n    def call(self, t):\n        return ", "self",
             "super().__init__()", ".append(", "x.shape[-1]", "__class__", "import os"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25))
def test_any_code_is_read_or_refused(parts):
    code = HEAD + "".join(parts)
    start = time.perf_counter()
    try:
        summarize(code)
    except ValueError:
        pass
    assert time.perf_counter() - start < 1.5


def test_keras_objects_and_ops():
    code = """
from keras import regularizers, ops
class Old(keras.Model):
    def __init__(self):
        super(Old, self).__init__()
        self.d = layers.Dense(3, activation=keras.activations.relu,
                              kernel_regularizer=regularizers.l1_l2(l1=0.1),
                              kernel_initializer=keras.initializers.RandomNormal(0.0, 0.5))

    def call(self, x):
        return ops.concatenate([self.d(x), ops.tanh(x) / 2], axis=-1)

model = Old()
model.build((None, 4))
"""
    parsed = parse_keras_code(HEAD + code)
    assert parsed.specs[0].kwargs == {
        "units": 3, "activation": "relu",
        "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.1}},
        "kernel_initializer": {"class_name": "RandomNormal",
                               "config": {"mean": 0.0, "stddev": 0.5}}}
    assert summarize(HEAD + code)[0]["params"] == 15
    with pytest.raises(ValueError, match="Line 4: keras.layers.Dense where a tensor is"):
        parse_keras_code(HEAD + "x = keras.Input((3,))\ny = ops.relu(layers.Dense)")
