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
