"""The shape debugger on real model files (tests/data/models/*.py): every model of every
file, summarized from its source by the ast interpreter, equals Keras's own model built by
running the file — per layer: class, output shape and ``count_params``."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras  # noqa: E402

from engine.stack import analyze, load_model_config, parse_keras_code  # noqa: E402

CORPUS = sorted((Path(__file__).parent / "data" / "models").glob("*.py"))
MAX_SUMMARY_SECONDS = 1.0


@functools.lru_cache(maxsize=None)
def run_file(path):
    """Run our own corpus file in Keras, once per session (test-only; the engine never
    executes code)."""
    namespace = {"__name__": "__main__"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102
    return namespace


def _ours(row):
    """A row's output shape; all of them (a tuple) for a layer of several outputs."""
    return tuple(row["output_shapes"]) if row["output_shapes"] else row["output_shape"]


def _shape(output):
    """A layer output's shape; a tuple of shapes for a layer of several outputs."""
    if isinstance(output, (list, tuple)):
        return tuple(tuple(t.shape) for t in output)
    return tuple(output.shape)


def _subclass_shapes(model, input_shape):
    """Output shape of each layer's first call in a subclassed model's call()."""
    shapes = {}
    for layer in model.layers:
        original = layer.call

        def wrapped(*args, _layer=layer, _call=original, **kwargs):
            out = _call(*args, **kwargs)
            shapes.setdefault(id(_layer), (None,) + tuple(out.shape[1:]))
            return out
        layer.call = wrapped
    model(np.zeros((1,) + tuple(input_shape[1:]), np.float32))
    for layer in model.layers:
        del layer.call
    return [shapes.get(id(layer)) for layer in model.layers]


def keras_rows(model, report):
    """``[(class, output shape, count_params)]`` of Keras's ``model.layers`` (Inputs
    excluded)."""
    layers = [lyr for lyr in model.layers if type(lyr).__name__ != "InputLayer"]
    if isinstance(model, keras.Sequential) or type(model).__name__ == "Functional":
        shapes = [_shape(lyr.output) for lyr in layers]
    else:
        shapes = _subclass_shapes(model, report.input_shape)
    return [(type(lyr).__name__, s, lyr.count_params()) for lyr, s in zip(layers, shapes)]


@pytest.fixture(scope="module")
def compared():
    """Layers compared per file (filled by the test below, reported at the end)."""
    return {}


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_file_matches_keras(path, compared):
    source = path.read_text()
    labels = parse_keras_code(source).models
    assert labels, "every corpus file builds a model"
    namespace = run_file(path)
    for label in labels:
        start = time.perf_counter()
        report = analyze(source, model=label)
        elapsed = time.perf_counter() - start
        assert elapsed < MAX_SUMMARY_SECONDS, (label, elapsed)
        ours = [(r["layer"], _ours(r), r["params"]) for r in report.rows]
        assert all(r["status"] == "ok" for r in report.rows), [
            (r["name"], r["error"]) for r in report.rows if r["status"] != "ok"]
        theirs = keras_rows(namespace[label], report)
        assert ours == theirs, label
        assert report.total_params == namespace[label].count_params()
        compared[(path.stem, label)] = len(ours)


# what the model-config reader (model.to_json()) does not follow, model by model
CONFIG_UNREAD = {
    ("multi_io", "model"): "several inputs",
    ("ops_functional", "model"): "tensor operations are serialized as layers",
    ("regularized_ops", "functional"): "tensor operations are serialized as layers",
    ("transformer_timeseries", "model"): "tensor operations are serialized as layers",
    ("seq2seq_lstm", "model"): "layers with several outputs",
    ("seq2seq_lstm", "decoder_model"): "layers with several outputs",
    ("seq2seq_lstm", "encoder_model"): "layers with several outputs",
    ("seq2seq_lstm", "states"): "layers with several outputs",
    ("siamese_shared", "model"): "a model applied twice",
}


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_configs_read_back(path):
    """The same Keras models through model.to_json() → load_model_config: nested models,
    recurrent layers, wrappers and attention read from configs too."""
    namespace = run_file(path)
    for label in parse_keras_code(path.read_text()).models:
        model = namespace[label]
        if (path.stem, label) in CONFIG_UNREAD or not (
                isinstance(model, keras.Sequential) or type(model).__name__ == "Functional"):
            continue
        report = analyze(load_model_config(model.to_json()))
        ours = [(r["layer"], _ours(r), r["params"]) for r in report.rows]
        assert ours == keras_rows(model, report), label


def test_corpus_size(compared):
    """At least 25 files; the figure for the report (run after the files)."""
    assert len(CORPUS) >= 25
    if compared:
        print(f"\ncorpus: {len(CORPUS)} files, {len(compared)} models, "
              f"{sum(compared.values())} layers compared with Keras")
