"""What a stack is made of: layer specs, the parse result, names, limits.

A *spec* is ``(class_name, kwargs)`` exactly as one would write ``keras.layers.X(**kwargs)``.
:class:`LayerSpec` is that 2-tuple (so ``name, kwargs = spec`` works and it compares equal to
a plain tuple) carrying three optional attributes for graphs and messages: ``inputs`` (the
names of the layers, or of the Input, it is applied to; ``None`` = the previous layer, as in
``Sequential``), ``line`` (source line) and ``args`` (positional arguments that could not be
named, for Keras layers the engine does not know).
"""

from __future__ import annotations

import re

from engine.layers import LAYER_CLASSES
from engine.pooling import POOLING_CLASSES as _POOLING
from engine.stack import extra, nested, preprocessing, recurrent

MAX_SOURCE_BYTES = 100_000     # pasted code or JSON text
MAX_LAYERS = 300               # layers in one stack (EfficientNetB0 has 239)
MAX_ARCHIVE_BYTES = 50_000_000  # a .keras file (only config.json is read)
MAX_CONFIG_BYTES = 5_000_000   # config.json inside it
INPUT_NAME = "input_layer"     # Keras 3's default name for ``keras.Input``

# Keras 3 spells some layers twice; the class (and model.summary()) uses the first name.
ALIASES = {
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "Convolution1DTranspose": "Conv1DTranspose", "Convolution2DTranspose": "Conv2DTranspose",
    "Convolution3DTranspose": "Conv3DTranspose", "SeparableConvolution1D": "SeparableConv1D",
    "SeparableConvolution2D": "SeparableConv2D", "MaxPool1D": "MaxPooling1D",
    "MaxPool2D": "MaxPooling2D", "MaxPool3D": "MaxPooling3D", "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D", "AvgPool3D": "AveragePooling3D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D", "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D", "GlobalMaxPool3D": "GlobalMaxPooling3D",
}

# keras.layers.add([...]) and friends: functional helpers that build a merge layer.
MERGE_HELPERS = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply",
                 "average": "Average", "maximum": "Maximum", "minimum": "Minimum",
                 "concatenate": "Concatenate"}

# Shape-only stand-ins: the basic layers, recurrent layers and wrappers, embedding /
# attention / preprocessing, and nested models (one row each).
SHAPE_LAYERS = {**extra.SHAPE_LAYERS, **recurrent.LAYERS, **preprocessing.LAYERS,
                **nested.LAYERS}

# Other layers of Keras 3's ``keras.layers``: accepted by the parser, shown as unsupported
# (their output shapes are not computed here).
OTHER_KERAS_LAYERS = frozenset("""
AdaptiveAveragePooling1D AdaptiveAveragePooling2D AdaptiveAveragePooling3D AdaptiveMaxPooling1D
AdaptiveMaxPooling2D AdaptiveMaxPooling3D AdditiveAttention Attention AugMix AutoContrast
Bidirectional CategoryEncoding CenterCrop ContrastLimitedAdaptiveHistogramEqualization ConvLSTM1D
ConvLSTM2D ConvLSTM3D CutMix Discretization Dot EinsumDense Embedding Equalization GRU
GroupNormalization GroupQueryAttention HashedCrossing Hashing IntegerLookup LSTM Masking
MelSpectrogram MixUp MultiHeadAttention Normalization PReLU RMSNormalization RandAugment
RandomBrightness RandomColorDegeneration RandomColorJitter RandomContrast RandomCrop
RandomElasticTransform RandomErasing RandomFlip RandomGaussianBlur RandomGrayscale RandomHue
RandomInvert RandomPerspective RandomPosterization RandomRotation RandomSaturation
RandomSharpness RandomShear RandomTranslation RandomZoom RepeatVector Resizing SimpleRNN
Solarization STFTSpectrogram TimeDistributed UnitNormalization
""".split()) - frozenset(SHAPE_LAYERS)

# engine.pooling: pooling as engine layers (shapes, receptive fields, NumPy values)
POOLING_CLASSES = {k: v for k, v in _POOLING.items() if k not in ALIASES}

# (nested models are rows of the summary, not layers one adds to a stack)
SUPPORTED = (frozenset(LAYER_CLASSES) | frozenset(SHAPE_LAYERS) | frozenset(POOLING_CLASSES)) \
    - frozenset(nested.LAYERS)
KNOWN_LAYERS = SUPPORTED | OTHER_KERAS_LAYERS | frozenset(ALIASES)


def canonical(class_name: str) -> str:
    return ALIASES.get(class_name, class_name)


def layer_kind(class_name: str) -> str:
    """``"engine"`` (one of the 19), ``"pooling"`` (engine.pooling), ``"shape"`` (a
    shape-only stand-in of :mod:`engine.stack.extra`) or ``"unsupported"``."""
    name = canonical(class_name)
    if name in LAYER_CLASSES:
        return "engine"
    if name in POOLING_CLASSES:
        return "pooling"
    if name in SHAPE_LAYERS:
        return "shape"
    return "unsupported"


def layer_class(class_name: str):
    """The class that stands for Keras's ``class_name`` here, or None (unsupported)."""
    name = canonical(class_name)
    return LAYER_CLASSES.get(name) or POOLING_CLASSES.get(name) or SHAPE_LAYERS.get(name)


class LayerSpec(tuple):
    """``(class_name, kwargs)`` plus ``inputs``, ``line`` and ``args`` attributes."""

    def __new__(cls, class_name, kwargs=None, inputs=None, line=None, args=(), name=None):
        self = super().__new__(cls, (canonical(str(class_name)), dict(kwargs or {})))
        self.inputs = None if inputs is None else tuple(inputs)
        self.line = line
        self.args = tuple(args)
        self.name = name
        return self

    def __getnewargs__(self):
        return (self[0], self[1], self.inputs, self.line, self.args, self.name)

    def __reduce__(self):
        return (LayerSpec, self.__getnewargs__())

    @property
    def class_name(self) -> str:
        return self[0]

    @property
    def kwargs(self) -> dict:
        return self[1]

    def replace(self, class_name=None, kwargs=None, inputs=..., line=..., args=...,
                name=...):
        """A copy with some fields changed (``inputs=None`` means "the previous layer")."""
        return LayerSpec(self[0] if class_name is None else class_name,
                         dict(self[1]) if kwargs is None else kwargs,
                         self.inputs if inputs is ... else inputs,
                         self.line if line is ... else line,
                         self.args if args is ... else args,
                         self.name if name is ... else name)

    def __repr__(self):
        extra = "" if self.inputs is None else f", inputs={list(self.inputs)}"
        return f"LayerSpec({self[0]!r}, {self[1]!r}{extra})"


def as_spec(item) -> LayerSpec:
    """A ``LayerSpec`` from a spec, a ``(name, kwargs)`` pair or a bare class name."""
    if isinstance(item, LayerSpec):
        return item
    if isinstance(item, str):
        return LayerSpec(item, {})
    if isinstance(item, dict) and "class_name" in item:
        return LayerSpec(item["class_name"], item.get("kwargs") or item.get("config") or {},
                         item.get("inputs"))
    try:
        name, kwargs = item
    except (TypeError, ValueError):
        raise ValueError(f"A layer spec is a (class name, kwargs) pair. Received: {item!r}") \
            from None
    if not isinstance(name, str) or not isinstance(kwargs, dict):
        raise ValueError(f"A layer spec is a (class name, kwargs) pair. Received: {item!r}")
    return LayerSpec(name, kwargs)


class Parsed(tuple):
    """``(specs, input_shape)``; ``input_shape`` excludes the batch as in
    ``keras.Input(shape=...)`` (``None`` when the code gives none). Attributes:
    ``batch_size``, ``kind`` (``"sequential"``, ``"functional"`` or ``"list"``),
    ``input_name``, ``outputs`` (names), ``notes`` (what was ignored or assumed),
    ``tensors`` (shapes, batch first, of the tensors the layers read that are not another
    layer's first output: further inputs, a shared layer's later applications, tensor
    operations such as ``x + y``), ``model_name`` and ``models`` (the names of all the
    models of the file, this one included, for pasted code)."""

    def __new__(cls, specs, input_shape=None, batch_size=None, kind="sequential",
                input_name=INPUT_NAME, outputs=None, notes=(), tensors=None,
                model_name=None, models=()):
        self = super().__new__(cls, (list(specs), None if input_shape is None
                                     else tuple(input_shape)))
        self.batch_size = batch_size
        self.kind = kind
        self.input_name = input_name
        self.outputs = None if outputs is None else tuple(outputs)
        self.notes = list(notes)
        self.tensors = dict(tensors or {})
        self.model_name = model_name
        self.models = tuple(models)
        return self

    def __reduce__(self):
        return (Parsed, (self[0], self[1], self.batch_size, self.kind, self.input_name,
                         self.outputs, self.notes, self.tensors, self.model_name,
                         self.models))

    def replace(self, **changes) -> "Parsed":
        """A copy with some attributes changed (``specs``, ``input_shape`` included)."""
        fields = {"specs": self.specs, "input_shape": self.input_shape,
                  "batch_size": self.batch_size, "kind": self.kind,
                  "input_name": self.input_name, "outputs": self.outputs,
                  "notes": self.notes, "tensors": self.tensors,
                  "model_name": self.model_name, "models": self.models}
        fields.update(changes)
        return Parsed(**fields)

    @property
    def specs(self) -> list:
        return self[0]

    @property
    def input_shape(self):
        return self[1]


def snake_case(name: str) -> str:
    """``Conv2DTranspose`` → ``conv2d_transpose``, as Keras names layers."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def given_name(spec):
    """``kwargs["name"]``, else the spec's ``name`` attribute, else None."""
    n = spec[1].get("name")
    if isinstance(n, str) and n:
        return n
    n = getattr(spec, "name", None)
    return n if isinstance(n, str) and n else None


def assign_names(specs, taken=()) -> list:
    """One unique name per spec: its given name (:func:`given_name`), else Keras's default
    (``conv2d``, ``conv2d_1``, … counted per class within the stack)."""
    used = set(taken)
    for s in specs:
        n = given_name(s)
        if n:
            used.add(n)
    counters: dict = {}
    names = []
    for s in specs:
        n = given_name(s)
        if n:
            names.append(n)
            continue
        base = snake_case(s[0])
        while True:
            k = counters.get(base, 0)
            counters[base] = k + 1
            cand = base if k == 0 else f"{base}_{k}"
            if cand not in used:
                break
        used.add(cand)
        names.append(cand)
    return names
