"""The stack page with model files: the other models of a file are offered, and a refused
file still shows the layers read before the refusal."""

from __future__ import annotations

from pathlib import Path

from tests.test_stack import _apptest, _texts

MODELS = Path(__file__).parent / "data" / "models"


def test_page_offers_the_other_models():
    at = _apptest({"code": (MODELS / "dcgan_while.py").read_text()})
    assert not at.exception
    box = at.selectbox(key="stack_model")
    assert list(box.options) == ["generator", "discriminator"]
    assert "Output shape: (None, 1)" in _texts(at)                 # the last model built
    box.select("generator").run()
    assert not at.exception
    assert "Output shape: (None, 32, 32, 3)" in _texts(at)


def test_page_shows_rows_before_a_refusal():
    code = ("import keras\nfrom keras import layers\ninp = keras.Input((8, 8, 1))\n"
            "x = layers.Conv2D(2, 3)(inp)\nx = layers.Lambda(lambda t: t)(x)\n")
    at = _apptest({"code": code})
    assert not at.exception
    assert any("Line 5" in e.value and "Lambda" in e.value for e in at.error)
    assert "Output shape: (None, 6, 6, 2)" in _texts(at)


def test_other_model_runs_its_own_layers():
    """The feature maps of the model picked in the code are that model's (they used to be
    computed on the model analyze picks by default, which refused the other's input)."""
    at = _apptest({"code": (MODELS / "dcgan_while.py").read_text()})
    at.selectbox(key="stack_model").select("generator").run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert "Output shape: (None, 32, 32, 3)" in _texts(at)
    rows = [text.split(" (")[0] for text in at.dataframe[0].value["Layer (type)"]]
    assert list(at.selectbox(key="stack_fm_layer").options) == rows


def test_a_sidebar_change_recomputes_nothing_of_the_stack(monkeypatch):
    """Issue 15: a sidebar argument leaves the stack as it is, so its rerun reads the
    analysis, the run and the receptive field back from the cache (``app.pages.stack``)."""
    import engine.receptive as R
    from engine import stack as S
    from tests.test_app import run_app

    at = run_app({"view": "stack"})
    calls = []
    for module, name in ((S, "analyze"), (S, "run_stack"), (S, "receptive_chain"),
                         (S, "to_url_query"), (S, "fit_input"),
                         (R.ReceptivePlan, "contribution_map")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: (
            calls.append(_name), _real(*a, **k))[1])
    before = [c.proto.spec for c in at.get("plotly_chart")]
    at.number_input(key="arg.filters").set_value(8).run()
    assert not at.exception and not at.error
    assert calls == []
    assert [c.proto.spec for c in at.get("plotly_chart")] == before   # the same pictures
    assert "Output shape: (None, 10)" in _texts(at)


def test_the_cached_analysis_follows_keras_json(tmp_path, monkeypatch):
    """Layers without a data_format read keras.json: editing it changes the stack's shapes
    on the next rerun although the code is the same (the cache is keyed by it)."""
    code = ("import keras\nfrom keras import layers\nmodel = keras.Sequential([\n"
            "    keras.Input(shape=(3, 8, 8)),\n    layers.Conv2D(2, 3),\n])\n")
    config = tmp_path / "keras.json"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    config.write_text('{"image_data_format": "channels_first"}')
    at = _apptest({"code": code})
    assert "Output shape: (None, 2, 6, 6)" in _texts(at)
    config.write_text('{"image_data_format": "channels_last"}')
    at.run()
    assert not at.exception
    assert "Output shape: (None, 1, 6, 2)" in _texts(at)
