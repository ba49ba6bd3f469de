"""Argument normalisation and output-size arithmetic: the one place for every shape rule.

Everything here is plain Python over tuples; importing it compiles nothing. Messages reuse
Keras 3's wording (``keras/src/utils/argument_validation.py``, ``keras/src/ops/
operation_utils.py``) so that one regex matches both, and add what Keras leaves out.

Conventions: a *shape* is a tuple whose first entry is the batch (``None`` allowed); the
*spatial* dimensions are the ``rank`` entries between batch and channels (channels_last) or
after channels (channels_first). Any spatial size may be ``None`` (unknown) and is carried
through as ``None``.
"""

from __future__ import annotations

import numbers
from typing import Optional, Sequence

from engine.config import DATA_FORMATS, image_data_format

Shape = tuple


# --------------------------------------------------------------------------- arguments

MAX_DIM = 2 ** 63 - 1  # sizes beyond TensorFlow's int64 shapes are refused, not overflowed


def _as_int(value, name: str, whole) -> int:
    """One tuple element as a Python int; bools and non-integral numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"The `{name}` argument must be a tuple of integers. Received {name}={whole!r} "
            f"including element {value!r} of type {type(value).__name__}"
        )
    if isinstance(value, numbers.Integral):
        return int(value)
    if float(value).is_integer():
        return int(value)
    raise ValueError(
        f"The `{name}` argument must be a tuple of integers. Received {name}={whole!r} "
        f"including element {value!r}, which is not a whole number"
    )


def standardize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple:
    """An int or an iterable of ``n`` ints → a tuple of ``n`` ints, as Keras's helper.

    Raises ValueError naming ``name`` when the length is wrong, an element is not an
    integer, or an element is negative (or zero unless ``allow_zero``).
    """
    msg = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value!r}"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * n
    elif isinstance(value, (str, bytes)) or value is None or isinstance(value, bool):
        raise ValueError(msg)
    else:
        try:
            items = tuple(value)
        except TypeError:
            raise ValueError(msg) from None
        if len(items) != n:
            raise ValueError(msg)
        values = tuple(_as_int(v, name, value) for v in items)
    huge = sorted({v for v in values if v > MAX_DIM})
    if huge:
        raise ValueError(f"{msg}, including values larger than {MAX_DIM} (TensorFlow's int64 "
                         "limit for sizes)")
    bad = sorted({v for v in values if (v < 0 if allow_zero else v <= 0)})
    if bad:
        req = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"{msg}, including values {set(bad)} that do not satisfy `value {req}`"
        )
    return values


def standardize_padding(value, allow_causal: bool = False) -> str:
    """``"valid"`` / ``"same"`` (/ ``"causal"`` for Conv1D), case-insensitive."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(
            f"The `padding` argument must be one of {set(allowed)}. Received: padding={value!r}"
            + ("" if allow_causal or str(value).lower() != "causal"
               else " (`causal` padding is only available for Conv1D)")
        )
    return value.lower()


def standardize_data_format(value) -> str:
    """``None`` → keras.json's ``image_data_format`` (else channels_last); validated."""
    if value is None:
        return image_data_format()
    fmt = str(value).lower() if isinstance(value, str) else value
    if fmt not in DATA_FORMATS:
        raise ValueError(
            'The `data_format` argument must be one of {"channels_first", "channels_last"}. '
            f"Received: data_format={value!r}"
        )
    return fmt


def positive_int(value, name: str, allow_none: bool = False) -> Optional[int]:
    """A strictly positive integer argument such as ``filters`` or ``depth_multiplier``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or (
        not isinstance(value, numbers.Integral) and not float(value).is_integer()
    ):
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive integer. "
            f"Received {name}={value!r}."
        )
    if value <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive value. "
            f"Received {name}={value}."
        )
    if value > MAX_DIM:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected at most {MAX_DIM} (TensorFlow's "
            f"int64 limit). Received {name}={value}."
        )
    return int(value)


_ORDINALS = ("1st", "2nd", "3rd")


def standardize_side_pairs(value, rank: int, name: str, allow_negative_int: bool = False):
    """ZeroPadding / Cropping argument → ``rank`` pairs ``(before, after)`` of ints >= 0.

    Accepts what Keras accepts for the N-d layers: an int (same on every side), a tuple of
    ``rank`` ints (symmetric per axis) or of ``rank`` pairs. For rank 1 Keras uses
    ``standardize_tuple(value, 2)``: an int or one pair.
    """
    if rank == 1:
        return (standardize_tuple(value, 2, name, allow_zero=True),)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        if value > MAX_DIM:
            raise ValueError(f"`{name}` must be at most {MAX_DIM} (TensorFlow's int64 limit). "
                             f"Received: {name}={value}.")
        return ((int(value), int(value)),) * rank
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ValueError(
            f"`{name}` should be either an int, a tuple of {rank} ints or a tuple of {rank} "
            f"tuples of 2 ints ((before, after) per spatial axis). Received: {name}={value!r}."
        )
    if len(value) != rank:
        raise ValueError(f"`{name}` should have {rank} elements. Received: {name}={value!r}.")
    return tuple(
        standardize_tuple(v, 2, f"{_ORDINALS[i]} entry of {name}", allow_zero=True)
        for i, v in enumerate(value)
    )


# --------------------------------------------------------------------------- layouts

def split_shape(shape: Sequence, rank: int, data_format: str, layer: str = "layer"):
    """``shape`` → ``(batch, spatial tuple, channels)``; checks the number of dimensions."""
    shape = tuple(shape)
    if len(shape) != rank + 2:
        kind = {1: "(batch, steps, channels)", 2: "(batch, rows, cols, channels)",
                3: "(batch, depth, rows, cols, channels)"}[rank]
        if data_format == "channels_first":
            kind = kind.replace(", channels)", ")").replace("(batch, ", "(batch, channels, ")
        raise ValueError(
            f"Input 0 of layer \"{layer}\" is incompatible with the layer: expected "
            f"ndim={rank + 2} {kind}, found ndim={len(shape)}. Full shape received: {shape}"
        )
    for d in shape:
        if d is not None and (not isinstance(d, numbers.Integral) or d < 0):
            raise ValueError(f"Shape entries must be non-negative integers or None. Received: {shape}")
    if data_format == "channels_last":
        return shape[0], tuple(shape[1:-1]), shape[-1]
    return shape[0], tuple(shape[2:]), shape[1]


def join_shape(batch, spatial: Sequence, channels, data_format: str) -> Shape:
    """Inverse of :func:`split_shape`."""
    if data_format == "channels_last":
        return (batch, *spatial, channels)
    return (batch, channels, *spatial)


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


# --------------------------------------------------------------------------- convolution

def effective_kernel(k: int, d: int) -> int:
    """Extent of a dilated kernel: ``d·(k − 1) + 1``."""
    return d * (k - 1) + 1


def conv_output_length(n: Optional[int], k: int, s: int, d: int, padding: str) -> Optional[int]:
    """Keras/TF output length: valid ⌊(n − d(k−1) − 1)/s⌋ + 1; same and causal ⌈n/s⌉."""
    if n is None:
        return None
    if padding == "valid":
        return (n - effective_kernel(k, d)) // s + 1
    return (n + s - 1) // s


def conv_padding(n: int, k: int, s: int, d: int, padding: str) -> tuple:
    """Zeros added ``(before, after)`` along one axis, exactly as TensorFlow pads.

    same: total ``max((⌈n/s⌉ − 1)·s + d(k−1) + 1 − n, 0)``, before = total // 2 (the odd
    extra zero goes at the end); causal: ``d(k−1)`` before, none after; valid: none. For
    valid, ``after`` is negative when the last rows are never reached by the kernel.
    """
    ke = effective_kernel(k, d)
    if padding == "valid":
        out = (n - ke) // s + 1
        return 0, (out - 1) * s + ke - n
    if padding == "causal":
        return ke - 1, 0
    out = (n + s - 1) // s
    total = max((out - 1) * s + ke - n, 0)
    return total // 2, total - total // 2


def compute_conv_output_shape(input_shape, filters, kernel_size, strides, padding,
                              data_format, dilation_rate, layer="conv"):
    """Output shape of a (grouped / depthwise) convolution, or Keras's ValueError."""
    rank = len(kernel_size)
    batch, spatial, _ = split_shape(input_shape, rank, data_format, layer)
    out = tuple(conv_output_length(n, k, s, d, padding)
                for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate))
    if any(o is not None and o <= 0 for o in out):
        bad = [i for i, o in enumerate(out) if o is not None and o <= 0]
        i = bad[0]
        raise ValueError(
            "Computed output size would be zero or negative. Received "
            f"`inputs shape={tuple(input_shape)}`, `kernel_size={tuple(kernel_size)}`, "
            f"`dilation_rate={tuple(dilation_rate)}`, `strides={tuple(strides)}`, "
            f"`padding={padding}`. Along spatial axis {i} the input has {spatial[i]} "
            f"positions but the dilated kernel spans "
            f"{effective_kernel(kernel_size[i], dilation_rate[i])}: use padding='same', a "
            "smaller kernel_size or dilation_rate, or a larger input."
        )
    return join_shape(batch, out, filters, data_format)


def conv_transpose_output_length(n: Optional[int], k: int, s: int, d: int, padding: str,
                                 output_padding: Optional[int]) -> Optional[int]:
    """Keras's transposed-convolution output length (TensorFlow backend).

    valid: ``(n−1)·s + ke + op`` with ``op`` defaulting to ``max(ke, s) − ke``;
    same: ``n·s`` without output_padding, else ``(n−1)·s + ke % 2 + op``
    (``ke = d(k−1) + 1``).
    """
    if n is None:
        return None
    ke = effective_kernel(k, d)
    if padding == "valid":
        op = max(ke, s) - ke if output_padding is None else output_padding
        return (n - 1) * s + ke + op
    if output_padding is None:
        return n * s
    return (n - 1) * s + ke % 2 + output_padding


def conv_transpose_padding(n_in: int, n_out: int, k: int, s: int, d: int, padding: str) -> int:
    """Cells of the full ``(n_in−1)·s + ke`` scatter cut from the start (TensorFlow's rule).

    TensorFlow computes a transposed convolution as the input-gradient of a forward
    convolution whose input has ``n_out`` cells; that convolution pads ``before`` zeros
    (:func:`conv_padding`), so output cell ``o`` receives input cell ``i`` through tap ``t``
    when ``o = i·s + t·d − before``.
    """
    return conv_padding(n_out, k, s, d, padding)[0]


def check_conv_transpose_consistent(n_in: int, n_out: int, k: int, s: int, d: int,
                                    padding: str, axis: int) -> None:
    """TensorFlow refuses a transposed convolution whose forward twin does not map the
    output size back to the input size (e.g. ``same``, even kernel, ``output_padding=0``)."""
    back = conv_output_length(n_out, k, s, d, padding)
    if back != n_in:
        raise ValueError(
            f"This transposed convolution has no consistent output size along spatial axis "
            f"{axis}: it would produce {n_out} cells, but a forward convolution "
            f"(kernel_size={k}, strides={s}, dilation_rate={d}, padding='{padding}') of "
            f"{n_out} cells gives {back}, not the input's {n_in}, so TensorFlow refuses it "
            "(Conv2DBackpropInput size mismatch). Change output_padding (or padding)."
        )


def compute_conv_transpose_output_shape(input_shape, filters, kernel_size, strides, padding,
                                        output_padding, data_format, dilation_rate,
                                        layer="conv_transpose"):
    """Output shape of a transposed convolution, checked as TensorFlow checks it."""
    rank = len(kernel_size)
    batch, spatial, _ = split_shape(input_shape, rank, data_format, layer)
    ops = output_padding if output_padding is not None else (None,) * rank
    args = list(zip(spatial, kernel_size, strides, dilation_rate, ops))
    out = [conv_transpose_output_length(n, k, s, d, padding, op) for n, k, s, d, op in args]
    if any(o is not None and o < 0 for o in out):  # an empty input axis with output_padding
        raise ValueError(
            f"The input of layer \"{layer}\" has an empty spatial axis, which a transposed "
            f"convolution with output_padding={tuple(output_padding)} cannot map to a valid "
            f"size. Received input_shape={tuple(input_shape)}")
    if 0 not in out:  # an empty output (same, even kernel, 1-cell input) is not checked by TF
        for axis, ((n, k, s, d, _), length) in enumerate(zip(args, out)):
            if n is not None:
                check_conv_transpose_consistent(n, length, k, s, d, padding, axis)
    return join_shape(batch, out, filters, data_format)
