"""App state ⇄ URL query string (DESIGN.md's format), with no Streamlit import.

Every value in the URL is a Python literal as one would write it in Keras code, parsed with
``ast.literal_eval`` (strings may be bare): ``?layer=Conv2D&filters=8&kernel_size=(3,3)&
strides=2&padding=same&input_shape=(1,64,64,3)``. :func:`parse_query` turns a query dict
into an :class:`AppState` plus a list of ``(parameter, message)`` errors — a bad or unknown
parameter is reported and falls back to its default, never raises. :func:`to_query` writes
the non-default parts back. Layer arguments are described by :func:`arg_specs` (one
:class:`ArgSpec` per Keras constructor argument, with Keras's default), shared by the
widgets, the URL and the code generator.
"""

from __future__ import annotations

import ast
import functools
import inspect
import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from engine.geometry import WEIGHTED_KINDS
from engine.keras_objects.activations import ALL_ACTIVATIONS
from engine.layers import LAYER_CLASSES
from engine.layers.reshaping import INTERPOLATIONS
from engine.literals import literal

# --------------------------------------------------------------------------- layers

LAYER_FAMILIES: dict[str, tuple[str, ...]] = {
    "Convolution": ("Conv1D", "Conv2D", "Conv3D"),
    "Separable / depthwise": ("SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D",
                              "DepthwiseConv2D"),
    "Transposed convolution": ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"),
    "Cropping": ("Cropping1D", "Cropping2D", "Cropping3D"),
    "Upsampling": ("UpSampling1D", "UpSampling2D", "UpSampling3D"),
    "Zero-padding": ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"),
}
FAMILY_OF = {name: fam for fam, names in LAYER_FAMILIES.items() for name in names}
ALL_LAYERS = tuple(FAMILY_OF)
DEFAULT_LAYER = "Conv2D"
VIEWS = ("explore", "animate", "receptive", "stack", "learn")
VIEW_LABELS = {"explore": "Explore", "animate": "Animate", "receptive": "Receptive field",
               "stack": "Stack (shape debugger)", "learn": "Learn"}


def extra_value(text, default):
    """A view's URL extra (``anim_*``, ``rf_*``) as a Python literal; bare strings stay
    strings, a missing value gives ``default``. ``ast.literal_eval`` only, never eval."""
    if text is None:
        return default
    try:
        return ast.literal_eval(text) if isinstance(text, str) else text
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text if isinstance(text, str) else default


def rank_of(layer: str) -> int:
    """The number of spatial axes of the engine layer class ``layer``."""
    return LAYER_CLASSES[layer].rank


def kind_of(layer: str) -> str:
    """The ``kind`` of the engine layer class ``layer`` (``conv``, ``separable``,
    ``depthwise``, ``transpose``, ``crop``, ``upsample``, ``pad``)."""
    return LAYER_CLASSES[layer].kind


def has_weights(layer: str) -> bool:
    return kind_of(layer) in WEIGHTED_KINDS


# --------------------------------------------------------------------------- samples

@dataclass(frozen=True)
class Sample:
    name: str
    file: str
    kind: str      # image | signal | volume
    rank: int      # the layer rank it feeds
    label: str


SAMPLES: dict[str, Sample] = {s.name: s for s in (
    Sample("photo", "photo.jpg", "image", 2, "Photo (synthetic landscape, RGB)"),
    Sample("drawing", "drawing.png", "image", 2, "Line drawing"),
    Sample("digit", "digit.png", "image", 2, "Digit 7 (28×28)"),
    Sample("sine_burst", "sine_burst.csv", "signal", 1, "Sine burst (CSV)"),
    Sample("ecg", "ecg.csv", "signal", 1, "ECG-like trace, 2 leads (CSV)"),
    Sample("audio", "audio.wav", "signal", 1, "Audio clip, 1 s at 8 kHz (WAV)"),
    Sample("volume", "volume.npy", "volume", 3, "Volume 16×32×32: sphere + cube (NPY)"),
    Sample("clip", "clip.gif", "volume", 3, "Video clip, 12 frames (GIF)"),
)}
DEFAULT_SAMPLE = {1: "sine_burst", 2: "photo", 3: "volume"}


# --------------------------------------------------------------------------- arguments

ACTIVATIONS = (None,) + tuple(ALL_ACTIVATIONS)
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                "lecun_normal", "random_normal", "random_uniform", "truncated_normal",
                "orthogonal", "variance_scaling", "zeros", "ones")
RANDOM_INITIALIZERS = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                       "lecun_uniform", "lecun_normal", "random_normal", "random_uniform",
                       "truncated_normal", "orthogonal", "variance_scaling"}
REGULARIZERS = (None, "l1", "l2", "l1l2", "orthogonal_regularizer")
CONSTRAINTS = (None, "max_norm", "non_neg", "unit_norm", "min_max_norm")
DTYPES = (None, "float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16")


@dataclass(frozen=True)
class ArgSpec:
    """One constructor argument: ``kind`` is int | tuple | opt_tuple | pairs | choice | bool
    | str; ``group`` is main | bias | init | advanced (where the widget lives)."""

    name: str
    kind: str
    default: Any
    options: tuple = ()
    min: int = 1
    group: str = "main"
    required: bool = False   # Keras has no default: the app's default is used
    rank: int = 1
    help: str = ""


HELP = {
    "filters": "Number of output channels (kernels).",
    "kernel_size": "Size of the sliding window along each spatial axis.",
    "strides": "Step of the window along each axis.",
    "padding": "valid: no padding; same: pad so that output = ⌈input / stride⌉ "
               "(TensorFlow puts the odd extra zero at the end); causal (Conv1D): pad on the left only.",
    "data_format": "Where the channel axis is: channels_last (batch, …, channels) or "
                   "channels_first (batch, channels, …). None means keras.json's setting.",
    "dilation_rate": "Spacing between kernel taps (atrous convolution).",
    "groups": "Split input channels into groups convolved separately (filters must divide).",
    "depth_multiplier": "Output channels per input channel in the depthwise step.",
    "output_padding": "Extra cells added at the end of each axis of a transposed convolution; "
                      "None lets Keras infer it. Must be < strides.",
    "activation": "Applied to the output (None = linear).",
    "use_bias": "Add a learned bias per output channel.",
    "cropping": "Cells removed (before, after) along each spatial axis.",
    "size": "Repetition (upsampling) factor along each axis.",
    "interpolation": "How new cells are filled.",
}


def _tuple_default(value, rank):
    if isinstance(value, numbers.Integral):
        return (int(value),) * rank
    return tuple(value)


def _pairs_default(value, rank):
    if isinstance(value, numbers.Integral):
        return (int(value), int(value)) if rank == 1 else ((int(value), int(value)),) * rank
    value = tuple(value)
    if rank == 1:
        return tuple(int(v) for v in value)
    return tuple((v, v) if isinstance(v, numbers.Integral) else tuple(v) for v in value)


@functools.lru_cache(maxsize=None)
def arg_specs(layer: str) -> tuple:
    """The Keras constructor arguments of ``layer`` in signature order, as widget specs."""
    rank = rank_of(layer)
    sig = inspect.signature(LAYER_CLASSES[layer].__init__)
    specs = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        name, default = p.name, p.default
        required = default is p.empty
        spec = None
        if name == "filters":
            spec = ArgSpec(name, "int", 4 if required else default, required=required)
        elif name in ("groups", "depth_multiplier"):
            spec = ArgSpec(name, "int", default)
        elif name in ("kernel_size", "strides", "dilation_rate"):
            spec = ArgSpec(name, "tuple", _tuple_default(3 if required else default, rank),
                           required=required, rank=rank)
        elif name == "size":
            if rank == 1:
                spec = ArgSpec(name, "int", default)
            else:
                spec = ArgSpec(name, "tuple", _tuple_default(default, rank), rank=rank)
        elif name == "output_padding":
            spec = ArgSpec(name, "opt_tuple", None, min=0, rank=rank)
        elif name in ("cropping",) or (name == "padding" and kind_of(layer) == "pad"):
            spec = ArgSpec(name, "pairs", _pairs_default(default, rank), min=0, rank=rank)
        elif name == "padding":
            opts = ("valid", "same", "causal") if layer == "Conv1D" else ("valid", "same")
            spec = ArgSpec(name, "choice", default, opts)
        elif name == "data_format":
            spec = ArgSpec(name, "choice", default, (None, "channels_last", "channels_first"))
        elif name == "interpolation":
            spec = ArgSpec(name, "choice", default, INTERPOLATIONS)
        elif name == "activation":
            spec = ArgSpec(name, "choice", default, ACTIVATIONS)
        elif name == "use_bias":
            spec = ArgSpec(name, "bool", default)
        elif name.endswith("_initializer"):
            spec = ArgSpec(name, "choice", default, INITIALIZERS,
                           group="bias" if name.startswith("bias") else "init")
        elif name.endswith("_regularizer"):
            spec = ArgSpec(name, "choice", default, REGULARIZERS,
                           group="bias" if name.startswith("bias") else "advanced")
        elif name.endswith("_constraint"):
            spec = ArgSpec(name, "choice", default, CONSTRAINTS,
                           group="bias" if name.startswith("bias") else "advanced")
        if spec is None:  # pragma: no cover - a new Keras argument
            continue
        specs.append(replace(spec, help=HELP.get(name, "")))
    # Keyword arguments every layer accepts (keras.layers.Layer)
    specs += [ArgSpec("name", "str", None, group="advanced", help="Layer name (None: automatic)."),
              ArgSpec("trainable", "bool", True, group="advanced"),
              ArgSpec("dtype", "choice", None, DTYPES, group="advanced",
                      help="Dtype policy (the engine computes in float32 whatever the policy).")]
    if not any(s.name == "activity_regularizer" for s in specs):
        specs.append(ArgSpec("activity_regularizer", "choice", None, REGULARIZERS,
                             group="advanced"))
    return tuple(specs)


def spec_map(layer: str) -> dict[str, ArgSpec]:
    return {s.name: s for s in arg_specs(layer)}


def default_args(layer: str) -> dict:
    return {s.name: s.default for s in arg_specs(layer)}


MAX_INT_ARG = 2 ** 31 - 1  # largest integer argument (TensorFlow's int32 shapes); widgets agree
MAX_URL_VALUE = 2_000      # characters of one URL value that are parsed at all
MAX_VIEW_VALUE = 50_000    # characters of a view's own parameter (pasted Keras code)
MAX_URL_PARAMS = 100       # parameters read from one URL


def _too_big(spec: ArgSpec, value) -> bool:
    items = value if isinstance(value, (tuple, list)) else (value,)
    flat = [w for v in items for w in (v if isinstance(v, (tuple, list)) else (v,))]
    return any(isinstance(v, numbers.Integral) and not isinstance(v, bool) and abs(v) > MAX_INT_ARG
               for v in flat)


def coerce_arg(spec: ArgSpec, value):
    """A URL / user value → the widget-ready value for ``spec``; raises ValueError with a
    message if the widgets cannot show it (the engine gives Keras's reason separately)."""
    k = spec.kind
    received = f"Received: {spec.name}={literal(value, limit=60)}"
    if k in ("int", "tuple", "opt_tuple", "pairs") and _too_big(spec, value):
        raise ValueError(f"`{spec.name}` values must be at most {MAX_INT_ARG:,} (TensorFlow's "
                         f"int32 limit). {received}")
    if k == "int":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < spec.min:
            raise ValueError(f"`{spec.name}` must be an integer ≥ {spec.min}. "
                             f"{received}")
        return int(value)
    if k in ("tuple", "opt_tuple"):
        if k == "opt_tuple" and value is None:
            return None
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = (value,) * spec.rank
        if (not isinstance(value, (tuple, list)) or len(value) != spec.rank or any(
                isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < spec.min
                for v in value)):
            raise ValueError(f"`{spec.name}` must be an integer or a tuple of {spec.rank} "
                             f"integers ≥ {spec.min}. {received}")
        return tuple(int(v) for v in value)
    if k == "pairs":
        try:
            from engine.shapes import standardize_side_pairs
            pairs = tuple(tuple(p) for p in standardize_side_pairs(value, spec.rank, spec.name))
            return pairs[0] if spec.rank == 1 else pairs
        except (ValueError, TypeError) as exc:
            raise ValueError(str(exc)) from None
    if k == "choice":
        if isinstance(value, str) and spec.name in ("padding", "data_format", "interpolation"):
            value = value.lower()
        if value not in spec.options:
            opts = ", ".join("None" if o is None else o for o in spec.options)
            raise ValueError(f"`{spec.name}` must be one of: {opts}. "
                             f"{received}")
        return value
    if k == "bool":
        if value in (0, 1) and not isinstance(value, str):
            return bool(value)
        raise ValueError(f"`{spec.name}` must be True or False. {received}")
    if k == "str":
        if value is None or isinstance(value, str):
            return value or None
        raise ValueError(f"`{spec.name}` must be a string. {received}")
    raise ValueError(f"Unsupported argument {spec.name}")  # pragma: no cover


# --------------------------------------------------------------------------- literals

def parse_literal(text: str):
    """A URL value → Python value: ``ast.literal_eval``, else the bare string (identifiers
    and other plain words), never ``eval``."""
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if text and all(ch.isalnum() or ch in "_-." for ch in text):
            return text
        raise ValueError(f"{text!r} is not a Python literal (write numbers, tuples such as "
                         "(3,3), or plain words)") from None


#: A value as the URL writes it: ``(3,3)``, ``same`` (:func:`engine.literals.literal`).
format_literal = functools.partial(literal, compact=True)


# --------------------------------------------------------------------------- state

COLOR_MODES = ("auto", "rgb", "gray")
SCALES = ("shared", "per_channel")
APP_PARAMS = ("layer", "view", "sample", "input_shape", "color", "size", "batch", "weights",
              "seed", "kernel", "scale", "cell", "present")
MAX_BATCH = 8
MAX_SIZE = 4096            # the Resize widgets' largest value per axis
MAX_KERNEL_VALUE = 1e6     # |value| of a custom kernel cell (float32 stays finite)
# URL parameters owned by the other views (passed to them in ``ViewContext.extras``)
VIEW_PARAM_PREFIXES = ("anim_", "rf_", "stack_")
VIEW_PARAMS = ("code", "example", "lesson", "n", "done")   # stack; learn (with ``seed``)


def is_view_param(key: str) -> bool:
    return key.startswith(VIEW_PARAM_PREFIXES) or key in VIEW_PARAMS


@dataclass
class AppState:
    """Everything the URL carries. ``args`` holds every argument of ``layer`` (widget-ready
    values, Keras defaults where not given)."""

    layer: str = DEFAULT_LAYER
    args: dict = field(default_factory=lambda: default_args(DEFAULT_LAYER))
    view: str = "explore"
    sample: Optional[str] = None          # None: the rank's default sample
    input_shape: Optional[tuple] = None   # synthetic input (batch first, layer's data_format)
    color: str = "auto"
    size: Optional[tuple] = None          # resize the sample's spatial axes to this
    batch: int = 1
    weights: str = "bank"                 # a preset name, "init" or "custom"
    seed: int = 0
    kernel: Optional[list] = None         # custom kernel grid (weights="custom")
    scale: str = "per_channel"
    cell: Optional[tuple] = None          # selected output cell (spatial index)
    present: bool = False                 # presentation mode (``present=1``)
    extras: dict = field(default_factory=dict)


def default_state(layer: str = DEFAULT_LAYER) -> AppState:
    return AppState(layer=layer, args=default_args(layer),
                    weights="bank" if has_weights(layer) else "init")


def _engine_reason(layer: str, name: str, value) -> Optional[str]:
    """Keras's reason for ``name=value`` on ``layer`` (constructor only), if it refuses it."""
    args = {s.name: s.default for s in arg_specs(layer) if s.required}
    args[name] = value
    try:
        LAYER_CLASSES[layer](**args)
    except ValueError as exc:
        return str(exc)
    except Exception:  # noqa: BLE001 - a wrong type Keras would also refuse
        return None
    return None


def parse_query(params: dict) -> tuple[AppState, list]:
    """Query dict (values: str or list of str; the last wins) → (state, errors). Never
    raises: each bad or unknown parameter adds ``(name, message)`` and keeps its default."""
    errors: list = []
    values: dict = {}
    view_params: dict = {}
    for key, raw in list(params.items())[:MAX_URL_PARAMS]:
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else ""
        key, raw = str(key), str(raw)
        if len(key) > 64:
            errors.append((literal(key, limit=40), "Ignored a parameter with an over-long name."))
            continue
        if is_view_param(key):  # the view parses its own parameters (e.g. pasted code)
            if len(raw) > MAX_VIEW_VALUE:
                errors.append((key, f"Ignored `{key}`: its value has {len(raw):,} characters; "
                                    f"the limit is {MAX_VIEW_VALUE:,}."))
            else:
                view_params[key] = raw
            continue
        if len(raw) > MAX_URL_VALUE:
            errors.append((key, f"Ignored `{key}`: its value has {len(raw):,} characters; the "
                                f"limit is {MAX_URL_VALUE:,}."))
            continue
        try:
            values[key] = parse_literal(raw)
        except ValueError as exc:
            errors.append((key, f"Ignored `{key}={literal(raw, limit=60)}`: {exc}."))
    if len(params) > MAX_URL_PARAMS:
        errors.append(("…", f"Only the first {MAX_URL_PARAMS} URL parameters were read."))
    layer = values.pop("layer", DEFAULT_LAYER)
    if layer not in ALL_LAYERS:
        if "layer" in params:
            match = [n for n in ALL_LAYERS if str(layer).lower() == n.lower()]
            if match:
                layer = match[0]
            else:
                shown = literal(layer, compact=True, limit=60)
                errors.append(("layer", f"Unknown layer `{shown}`; showing {DEFAULT_LAYER}. "
                                        f"Choose one of: {', '.join(ALL_LAYERS)}."))
                layer = DEFAULT_LAYER
        else:
            layer = DEFAULT_LAYER
    state = default_state(layer)
    specs = spec_map(layer)
    rank = rank_of(layer)
    for key in list(values):
        value = values.pop(key)
        if key in specs:
            try:
                state.args[key] = coerce_arg(specs[key], value)
            except ValueError as exc:
                reason = _engine_reason(layer, key, value)
                reason = str(reason or exc).rstrip(".")
                reason = reason if len(reason) <= 400 else reason[:399] + "…"
                shown = literal(value, compact=True, limit=60)
                errors.append((key, f"Ignored `{key}={shown}`: {reason}. "
                                    "Using the default instead."))
            continue
        try:
            _set_app_param(state, key, value, rank)
        except (ValueError, TypeError) as exc:
            errors.append((key, f"Ignored `{key}={literal(value, compact=True, limit=60)}`: {exc}"))
        except KeyError:
            raw = params[key]
            state.extras[key] = str(raw[-1] if raw else "") if isinstance(raw, (list, tuple)) \
                else str(raw)
    state.extras.update(view_params)
    if state.kernel is not None and "weights" not in params:
        state.weights = "custom"
    if state.sample is not None and state.input_shape is not None:
        errors.append(("sample", "Both `sample` and `input_shape` were given; using the "
                                 "synthetic input of `input_shape`."))
        state.sample = None
    return state, errors


def _set_app_param(state: AppState, key: str, value, rank: int) -> None:
    if key == "view":
        if value not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}.")
        state.view = value
    elif key == "sample":
        if not isinstance(value, str) or value not in SAMPLES:
            raise ValueError(f"unknown sample; choose one of {', '.join(SAMPLES)}.")
        if SAMPLES[value].rank != rank:
            raise ValueError(f"sample `{value}` is a {SAMPLES[value].kind} for {SAMPLES[value].rank}D "
                             f"layers, not for {state.layer}; using "
                             f"`{DEFAULT_SAMPLE[rank]}`.")
        state.sample = value
    elif key == "input_shape":
        if (not isinstance(value, tuple) or len(value) != rank + 2 or any(
                isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_INT_ARG
                for v in value)):
            raise ValueError(f"input_shape must be a tuple of {rank + 2} positive integers "
                             f"(batch first) for {state.layer}, e.g. "
                             f"{format_literal((1,) + (32,) * rank + (3,))}.")
        state.input_shape = value
    elif key == "color":
        if value not in COLOR_MODES:
            raise ValueError(f"color must be one of {', '.join(COLOR_MODES)}.")
        state.color = value
    elif key == "size":
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,) * rank
        if (not isinstance(value, tuple) or len(value) != rank
                or any(not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_SIZE
                       for v in value)):
            raise ValueError(f"size must be {rank} integers from 1 to {MAX_SIZE} (the resized "
                             "spatial size).")
        state.size = value
    elif key == "batch":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH:
            raise ValueError(f"batch must be an integer from 1 to {MAX_BATCH}.")
        state.batch = value
    elif key == "weights":
        from app.presets import preset_names

        names = preset_names(rank)
        if value not in names and value not in ("init", "custom"):
            raise ValueError(f"weights must be init, custom or a preset: {', '.join(names)}.")
        state.weights = value
    elif key == "seed":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2 ** 31:
            raise ValueError("seed must be a non-negative integer.")
        state.seed = value
    elif key == "kernel":
        import numpy as np

        try:
            arr = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            raise ValueError("kernel must be a list of numbers (a 1D list or 2D grid).") from None
        if (arr.ndim not in (1, 2) or arr.size == 0 or arr.size > 400
                or not np.all(np.isfinite(arr)) or np.abs(arr).max() > MAX_KERNEL_VALUE):
            raise ValueError("kernel must be a 1D list or a 2D grid of at most 400 numbers, "
                             f"each between -{MAX_KERNEL_VALUE:g} and {MAX_KERNEL_VALUE:g}.")
        state.kernel = arr.tolist()
    elif key == "scale":
        if value not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}.")
        state.scale = value
    elif key == "cell":
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,)
        if (not isinstance(value, tuple) or len(value) != rank
                or any(not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_INT_ARG
                       for v in value)):
            raise ValueError(f"cell must be {rank} non-negative integers (an output position).")
        state.cell = value
    elif key == "present":
        if value not in (0, 1):  # True / False are 1 / 0
            raise ValueError("present must be 1 (presentation mode) or 0.")
        state.present = bool(value)
    else:
        raise KeyError(key)


def to_query(state: AppState) -> dict:
    """State → ``{param: literal string}`` with only what differs from the defaults (plus
    ``layer``), in a stable order: layer, its arguments, then input, weights, view."""
    q = {"layer": state.layer}
    for spec in arg_specs(state.layer):
        value = state.args.get(spec.name, spec.default)
        if spec.required or value != spec.default:
            q[spec.name] = format_literal(value)
    rank = rank_of(state.layer)
    if state.input_shape is not None:
        q["input_shape"] = format_literal(tuple(state.input_shape))
    elif state.sample is not None and state.sample != DEFAULT_SAMPLE[rank]:
        q["sample"] = state.sample
    if state.color != "auto":
        q["color"] = state.color
    if state.size is not None:
        q["size"] = format_literal(tuple(state.size))
    if state.batch != 1:
        q["batch"] = str(state.batch)
    if has_weights(state.layer):
        if state.weights != "bank":
            q["weights"] = state.weights
        if state.weights == "custom" and state.kernel is not None:
            q["kernel"] = format_literal(_round_kernel(state.kernel))
        if state.seed != 0 and state.weights == "init":
            q["seed"] = str(state.seed)
    if state.scale != "per_channel":
        q["scale"] = state.scale
    if state.cell is not None:
        q["cell"] = format_literal(tuple(state.cell))
    if state.view != "explore":
        q["view"] = state.view
    if state.present:
        q["present"] = "1"
    for k, v in state.extras.items():
        q.setdefault(k, v if isinstance(v, str) else format_literal(v))
    return q


def _round_kernel(kernel):
    if isinstance(kernel, list):
        return [_round_kernel(v) for v in kernel]
    v = round(float(kernel), 4)
    return int(v) if v.is_integer() else v


def query_string(state: AppState) -> str:
    """The ``?a=b&…`` form of :func:`to_query` (for links and tests)."""
    from urllib.parse import quote

    return "?" + "&".join(f"{k}={quote(v, safe='(),[]._-')}" for k, v in to_query(state).items())


# --------------------------------------------------------------------------- kwargs

def layer_kwargs(state: AppState) -> dict:
    """Constructor kwargs exactly as one would pass them to Keras: required arguments and
    those that differ from Keras's defaults; random initializers carry the seed when the
    weights come from initializers."""
    kwargs = {}
    for spec in arg_specs(state.layer):
        value = state.args.get(spec.name, spec.default)
        if not state.args.get("use_bias", True) and spec.group == "bias":
            continue
        if spec.group in ("init", "bias") and spec.name.endswith("_initializer"):
            if state.weights == "init" and value in RANDOM_INITIALIZERS:
                kwargs[spec.name] = {"class_name": value, "config": {"seed": int(state.seed)}}
                continue
        if spec.required or value != spec.default:
            kwargs[spec.name] = value
    return kwargs
