"""Shape-only stand-ins for Keras's recurrent layers and layer wrappers.

SimpleRNN, LSTM, GRU (``(batch, steps, features)`` → ``(batch, units)`` or, with
``return_sequences``, ``(batch, steps, units)``), ConvLSTM1D/2D/3D (a convolution per step,
output sizes from :mod:`engine.shapes`), and the wrappers Bidirectional and TimeDistributed,
whose inner layer is a layer spec (from pasted code) or a Keras config dict (from JSON).
Weights are listed in Keras's order; ``return_state=True`` (several outputs) is refused.
"""

from __future__ import annotations

import numbers

from engine import shapes
from engine.stack.extra import ShapeLayer, ShapeOnly, _check_ndim
from engine.stack.signatures import REQUIRED, KerasSignature

_INITIALIZERS = (("kernel_initializer", "glorot_uniform"),
                 ("recurrent_initializer", "orthogonal"), ("bias_initializer", "zeros"))
_PENALTIES = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "activity_regularizer", "kernel_constraint", "recurrent_constraint",
              "bias_constraint")
_RUN = (("return_sequences", False), ("return_state", False), ("go_backwards", False),
        ("stateful", False), ("unroll", False))


# accepted by Keras's RNN base class (model configs carry it)
_RNN_KEYWORDS = (("zero_output_for_mask", False),)


def _none(names):
    return tuple((n, None) for n in names)


def _positive_units(value, what="units"):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"Received an invalid value for argument `{what}`, expected a "
                         f"positive integer, got {value!r}.")
    return int(value)


def _one_output(options):
    if options.get("return_state"):
        raise ValueError("return_state=True gives several outputs; the shape debugger follows "
                         "one output per layer here. Remove return_state to see the shapes.")


def sequence_and_states(shapes):
    """``(sequence shape, initial state shapes)`` from one shape or ``[sequence, *states]``
    (an RNN called with ``initial_state=``)."""
    shapes = tuple(shapes)
    if shapes and isinstance(shapes[0], (tuple, list)):
        return tuple(shapes[0]), [tuple(s) for s in shapes[1:]]
    return shapes, []


class _Recurrent(ShapeOnly, KerasSignature, ShapeLayer):
    """Base of SimpleRNN / LSTM / GRU: ``gates`` blocks of ``units`` in every weight,
    ``states`` state vectors (returned after the output with ``return_state``). Applied to
    ``[sequence, *initial_states]`` (``n_inputs = 0``) or to the sequence alone."""

    gates = 1
    states = 1
    kind = "reshape"
    n_inputs = 0

    def __init__(self, *args, **kwargs):
        options = self.bind_options(args, kwargs)
        super().__init__(**kwargs)
        self.units = _positive_units(options["units"])
        self.use_bias = bool(options["use_bias"])
        self.return_sequences = bool(options["return_sequences"])
        self.return_state = bool(options["return_state"])
        self.options = options

    def compute_output_shape(self, input_shape):
        sequence, initial = sequence_and_states(input_shape)
        _check_ndim(self, sequence, ndim=3)
        state = (sequence[0], self.units)
        if initial and (len(initial) != self.states or any(s[1:] != state[1:] for s in initial)):
            raise ValueError(f"Layer {self.name!r} expects {self.states} initial state(s) of "
                             f"shape {state}; received: {initial}")
        out = (sequence[0], sequence[1], self.units) if self.return_sequences else state
        return [out] + [state] * self.states if self.return_state else out

    def bias_shape(self):
        return (self.gates * self.units,)

    def weight_shapes(self, input_shape):
        sequence, _ = sequence_and_states(input_shape)
        g = self.gates * self.units
        out = [("kernel", (sequence[-1], g), True), ("recurrent_kernel", (self.units, g), True)]
        if self.use_bias:
            out.append(("bias", self.bias_shape(), True))
        return out


class SimpleRNN(_Recurrent):
    """``SimpleRNN(units)``: kernel ``(features, units)``, recurrent ``(units, units)``."""

    PARAMETERS = ((("units", REQUIRED), ("activation", "tanh"), ("use_bias", True))
                  + _INITIALIZERS + _none(_PENALTIES)
                  + (("dropout", 0.0), ("recurrent_dropout", 0.0))
                  + _RUN + (("seed", None),) + _RNN_KEYWORDS)


class LSTM(_Recurrent):
    """``LSTM(units)``: four gates."""

    gates = 4
    states = 2
    PARAMETERS = ((("units", REQUIRED), ("activation", "tanh"),
                   ("recurrent_activation", "sigmoid"), ("use_bias", True))
                  + _INITIALIZERS + (("unit_forget_bias", True),) + _none(_PENALTIES)
                  + (("dropout", 0.0), ("recurrent_dropout", 0.0), ("seed", None)) + _RUN
                  + (("use_cudnn", "auto"),) + _RNN_KEYWORDS)


class GRU(_Recurrent):
    """``GRU(units, reset_after=True)``: three gates; with reset_after the bias is
    ``(2, 3·units)`` (input and recurrent biases)."""

    gates = 3
    PARAMETERS = ((("units", REQUIRED), ("activation", "tanh"),
                   ("recurrent_activation", "sigmoid"), ("use_bias", True))
                  + _INITIALIZERS + _none(_PENALTIES)
                  + (("dropout", 0.0), ("recurrent_dropout", 0.0), ("seed", None)) + _RUN
                  + (("reset_after", True), ("use_cudnn", "auto")) + _RNN_KEYWORDS)

    def bias_shape(self):
        if self.options["reset_after"]:
            return (2, 3 * self.units)
        return (3 * self.units,)


class _ConvLSTM(ShapeOnly, KerasSignature, ShapeLayer):
    """``ConvLSTM{n}D(filters, kernel_size, strides, padding, dilation_rate)`` over
    ``(batch, steps, *spatial, channels)`` (channels_last) or ``(batch, steps, channels,
    *spatial)``; the recurrent convolution keeps the output size (padding same)."""

    kind = "reshape"
    PARAMETERS = ((("filters", REQUIRED), ("kernel_size", REQUIRED), ("strides", 1),
                   ("padding", "valid"), ("data_format", None), ("dilation_rate", 1),
                   ("activation", "tanh"), ("recurrent_activation", "sigmoid"),
                   ("use_bias", True)) + _INITIALIZERS + (("unit_forget_bias", True),)
                  + _none(_PENALTIES)
                  + (("dropout", 0.0), ("recurrent_dropout", 0.0), ("seed", None))
                  + _RUN[:4])

    def __init__(self, *args, **kwargs):
        options = self.bind_options(args, kwargs)
        super().__init__(**kwargs)
        _one_output(options)
        self.filters = _positive_units(options["filters"], "filters")
        self.kernel_size = shapes.standardize_tuple(options["kernel_size"], self.rank,
                                                    "kernel_size")
        self.strides = shapes.standardize_tuple(options["strides"], self.rank, "strides")
        self.dilation_rate = shapes.standardize_tuple(options["dilation_rate"], self.rank,
                                                      "dilation_rate")
        self.padding = shapes.standardize_padding(options["padding"])
        self.data_format = shapes.standardize_data_format(options["data_format"])
        self.use_bias = bool(options["use_bias"])
        self.return_sequences = bool(options["return_sequences"])

    def _step_shape(self, input_shape):
        _check_ndim(self, input_shape, ndim=self.rank + 3)
        return (input_shape[0],) + tuple(input_shape[2:])

    def compute_output_shape(self, input_shape):
        step = self._step_shape(input_shape)
        out = shapes.compute_conv_output_shape(step, self.filters, self.kernel_size,
                                               self.strides, self.padding, self.data_format,
                                               self.dilation_rate, self.name)
        if self.return_sequences:
            return (out[0], input_shape[1]) + tuple(out[1:])
        return tuple(out)

    def weight_shapes(self, input_shape):
        step = self._step_shape(input_shape)
        channels = step[shapes.channel_axis(self.data_format)]
        g = 4 * self.filters
        out = [("kernel", self.kernel_size + (channels, g), True),
               ("recurrent_kernel", self.kernel_size + (self.filters, g), True)]
        if self.use_bias:
            out.append(("bias", (g,), True))
        return out


ConvLSTM1D = type("ConvLSTM1D", (_ConvLSTM,), {"rank": 1, "__doc__": "Keras's ConvLSTM1D."})
ConvLSTM2D = type("ConvLSTM2D", (_ConvLSTM,), {"rank": 2, "__doc__": "Keras's ConvLSTM2D."})
ConvLSTM3D = type("ConvLSTM3D", (_ConvLSTM,), {"rank": 3, "__doc__": "Keras's ConvLSTM3D."})


def inner_layer(value, owner):
    """The layer a wrapper holds: a layer spec (pasted code) or a Keras config dict."""
    from engine.stack.spec import as_spec
    from engine.stack.summary import make_layer

    if isinstance(value, dict) and "class_name" in value:
        value = (value["class_name"], value.get("config") or {})
    try:
        spec = as_spec(value)
    except ValueError:
        raise ValueError(f"{owner} wraps a layer: give it a layer such as layers.LSTM(8). "
                         f"Received: {value!r}") from None
    return make_layer(spec)


def _inner_weights(layer, input_shape):
    from engine.stack.summary import weight_shapes

    return weight_shapes(layer, input_shape)


class Bidirectional(ShapeOnly, ShapeLayer):
    """``Bidirectional(rnn, merge_mode="concat")``: a forward and a backward copy."""

    kind = "reshape"
    MODES = ("sum", "mul", "ave", "concat")

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if merge_mode not in self.MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should "
                             f"be one of {{\"sum\", \"mul\", \"ave\", \"concat\"}}. "
                             "(merge_mode=None gives two outputs, which the shape debugger "
                             "does not follow.)")
        self.forward = inner_layer(layer, "Bidirectional")
        self.backward = self.forward if backward_layer is None else inner_layer(
            backward_layer, "Bidirectional")
        _one_output({"return_state": getattr(self.forward, "return_state", False)})
        self.merge_mode = merge_mode

    def compute_output_shape(self, input_shape):
        """The forward layer's shape, its last size doubled by concat (as Keras says it,
        even for a backward layer of another size)."""
        fwd = self.forward.compute_output_shape(input_shape)
        self.backward.compute_output_shape(input_shape)
        if self.merge_mode != "concat":
            return tuple(fwd)
        return tuple(fwd[:-1]) + (2 * fwd[-1],)

    def weight_shapes(self, input_shape):
        return (_inner_weights(self.forward, input_shape)
                + _inner_weights(self.backward, input_shape))


class TimeDistributed(ShapeOnly, ShapeLayer):
    """``TimeDistributed(layer)``: the layer on every step of ``(batch, steps, …)``."""

    kind = "reshape"

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = inner_layer(layer, "TimeDistributed")

    def _step_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with "
                             f"at least 3 dimensions, received: {tuple(input_shape)}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def compute_output_shape(self, input_shape):
        out = self.layer.compute_output_shape(self._step_shape(input_shape))
        return (input_shape[0], input_shape[1]) + tuple(out[1:])

    def weight_shapes(self, input_shape):
        return _inner_weights(self.layer, self._step_shape(input_shape))


LAYERS = {cls.__name__: cls for cls in (SimpleRNN, LSTM, GRU, ConvLSTM1D, ConvLSTM2D,
                                        ConvLSTM3D, Bidirectional, TimeDistributed)}
