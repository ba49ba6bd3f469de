"""Hand-derived shape arithmetic (engine.shapes), independent of Keras."""

import pytest

from engine import shapes


@pytest.mark.parametrize("n,k,s,d,padding,expected", [
    (64, 3, 2, 1, "valid", 31),      # ⌊(64 − 3)/2⌋ + 1
    (64, 3, 2, 1, "same", 32),       # ⌈64/2⌉
    (5, 3, 1, 2, "valid", 1),        # dilated kernel spans 5
    (1, 1, 1, 1, "valid", 1),
    (1, 3, 1, 1, "same", 1),
    (7, 2, 3, 1, "valid", 2),        # stride > kernel
    (10, 3, 1, 4, "causal", 10),
    (None, 3, 1, 1, "valid", None),
])
def test_conv_output_length(n, k, s, d, padding, expected):
    assert shapes.conv_output_length(n, k, s, d, padding) == expected


def test_same_padding_puts_the_odd_pixel_at_the_end():
    # Even kernel, stride 1: one zero in total, TensorFlow puts it after (bottom/right).
    assert shapes.conv_padding(6, 2, 1, 1, "same") == (0, 1)
    assert shapes.conv_padding(6, 4, 1, 1, "same") == (1, 2)
    # Stride 2 on an even input with a 3×3 kernel: total 1, again at the end.
    assert shapes.conv_padding(64, 3, 2, 1, "same") == (0, 1)
    assert shapes.conv_padding(65, 3, 2, 1, "same") == (1, 1)
    assert shapes.conv_padding(10, 3, 1, 2, "causal") == (4, 0)


@pytest.mark.parametrize("n,k,s,padding,op,expected", [
    (28, 3, 2, "valid", None, 57),   # (28 − 1)·2 + 3: the classic "why not 56"
    (28, 3, 2, "same", None, 56),
    (28, 3, 2, "valid", 1, 58),
    (28, 3, 2, "same", 1, 56),       # (28 − 1)·2 + 3 % 2 + 1
    (4, 1, 3, "valid", None, 12),    # stride > kernel: output_padding defaults to s − k
])
def test_conv_transpose_output_length(n, k, s, padding, op, expected):
    assert shapes.conv_transpose_output_length(n, k, s, 1, padding, op) == expected


def test_conv_transpose_inconsistent_size_is_refused():
    # same, even kernel, output_padding=0: 9 → 16, but ⌈16/2⌉ = 8 ≠ 9 (TensorFlow refuses).
    with pytest.raises(ValueError, match="output_padding"):
        shapes.compute_conv_transpose_output_shape(
            (1, 9, 9, 2), 3, (2, 2), (2, 2), "same", (0, 0), "channels_last", (1, 1))


def test_compute_conv_output_shape_messages():
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        shapes.compute_conv_output_shape((1, 2, 2, 1), 4, (3, 3), (1, 1), "valid",
                                         "channels_last", (1, 1))
    assert shapes.compute_conv_output_shape((None, 3, None, 5), 4, (3, 3), (1, 1), "valid",
                                            "channels_first", (1, 1)) == (None, 4, None, 3)


@pytest.mark.parametrize("value,n,name,expected", [
    (3, 2, "kernel_size", (3, 3)),
    ((1, 2, 3), 3, "strides", (1, 2, 3)),
    ([2.0, 3], 2, "kernel_size", (2, 3)),
])
def test_standardize_tuple_accepts(value, n, name, expected):
    assert shapes.standardize_tuple(value, n, name) == expected


@pytest.mark.parametrize("value,n,allow_zero", [
    ((3, 3), 3, False), (0, 2, False), ((-1, 2), 2, True), ("3", 1, False),
    ((2.5, 2), 2, False), (None, 2, False), (True, 2, False),
])
def test_standardize_tuple_refuses_naming_the_argument(value, n, allow_zero):
    with pytest.raises(ValueError, match="`strides`"):
        shapes.standardize_tuple(value, n, "strides", allow_zero)


def test_padding_and_data_format():
    assert shapes.standardize_padding("SAME") == "same"
    assert shapes.standardize_padding("causal", allow_causal=True) == "causal"
    for bad in ("causal", 0, None, "full"):
        with pytest.raises(ValueError, match="padding"):
            shapes.standardize_padding(bad)
    with pytest.raises(ValueError, match="data_format"):
        shapes.standardize_data_format("NHWC")


def test_side_pairs():
    assert shapes.standardize_side_pairs(2, 2, "cropping") == ((2, 2), (2, 2))
    assert shapes.standardize_side_pairs((1, 2), 2, "cropping") == ((1, 1), (2, 2))
    assert shapes.standardize_side_pairs(((1, 2), (3, 4), 0), 3, "padding") == (
        (1, 2), (3, 4), (0, 0))
    assert shapes.standardize_side_pairs((1, 2), 1, "cropping") == ((1, 2),)
    with pytest.raises(ValueError, match="cropping"):
        shapes.standardize_side_pairs(-1, 2, "cropping")
    with pytest.raises(ValueError, match="should have 2 elements"):
        shapes.standardize_side_pairs((1, 2, 3), 2, "padding")


def test_data_format_default_reads_keras_json(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert shapes.standardize_data_format(None) == "channels_last"
    (tmp_path / "keras.json").write_text('{"image_data_format": "channels_first"}')
    assert shapes.standardize_data_format(None) == "channels_first"
    (tmp_path / "keras.json").write_text("not json")
    assert shapes.standardize_data_format(None) == "channels_last"
