"""The typed data of an animation (frames, taps, per-kind metadata) and the context every
builder shares (the layer, its geometry, input and output, the frames made so far).

Arrays of cells are ``(n, rank)`` int64, spatial order; buffers are channels-last
``(*spatial, C)`` with batch dropped unless said otherwise; ``output`` buffers are in the
layer's layout with batch 1 (what ``layer(x)`` returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, NamedTuple, Optional

import numpy as np

from engine.animate.cells import cells
from engine.geometry import LayerGeometry, geometry
from engine.layers.conv import from_channels_last, to_channels_last

MAX_FRAMES = 400  # more than this and the browser animation stops being smooth
MAX_CELLS = 4096  # spatial cells of the input / output an animation may have

# Categories of the cells of ``meta.input_category`` / ``output_category`` / ``canvas_category``.
REAL = 0  # a value of the input (or of the output)
PAD = 1  # a zero added by padding (same / causal / ZeroPadding / transposed "full" padding)
STRIDE_ZERO = 2  # a zero inserted between input cells (gather view of a transposed conv)
OUTPUT_PAD = 3  # output cells beyond the full scatter (output_padding, or TF's n·s size)
UNUSED = 4  # an input cell no kernel tap ever reads
CUT = 5  # a cell removed by Cropping
CROPPED = 6  # canvas cells a transposed convolution with padding="same" cuts away
CATEGORY_NAMES = {
    REAL: "input", PAD: "padding zero", STRIDE_ZERO: "inserted zero (stride − 1)",
    OUTPUT_PAD: "output_padding", UNUSED: "never read", CUT: "cropped",
    CROPPED: "cut by same padding",
}


# --------------------------------------------------------------------------- taps

@dataclass(frozen=True)
class ConvTaps:
    """The K kernel taps of one output cell of a convolution (cell granularity).

    ``kernel_index`` ``(K, rank)``; ``input_index`` ``(K, rank)``: the input cell each tap
    reads (outside the input: padding; gather view: meaningful where ``inside``);
    ``view_index`` ``(K, rank)``: the cell of the frame's ``source`` buffer read;
    ``inside`` ``(K,)``: the tap reads a real input cell; ``x`` ``(K, C)``: the values read;
    ``products`` ``(K, C/groups, F)``: ``x · w`` per tap, channel of the group and filter."""

    kernel_index: np.ndarray
    input_index: np.ndarray
    view_index: np.ndarray
    inside: np.ndarray
    x: np.ndarray
    products: np.ndarray


@dataclass(frozen=True)
class StampTaps:
    """The K taps of one input cell's stamp (scatter view of a transposed convolution).

    ``kernel_index``, ``canvas_index``, ``output_index`` ``(K, rank)``; ``inside`` ``(K,)``:
    the tap lands inside the output; ``x`` ``(C,)``: the input cell; ``products``
    ``(K, C, F)``."""

    kernel_index: np.ndarray
    canvas_index: np.ndarray
    output_index: np.ndarray
    inside: np.ndarray
    x: np.ndarray
    products: np.ndarray


# --------------------------------------------------------------------------- frames

@dataclass(frozen=True)
class Frame:
    """One step. ``stage``: ``conv``, ``depthwise`` / ``pointwise`` (separable stages),
    ``scatter`` / ``gather``, ``finish`` (bias and activation), ``copy``, ``pad``, ``crop``,
    ``repeat`` (nearest upsampling) or ``interpolate``. ``output``: the output buffer after
    the step (layout of ``layer(x)``, float32, NaN where nothing is written yet).
    ``source``: the buffer ``in_cells`` index — ``"input"`` (``meta.input_view``) or
    ``"mid"`` (the depthwise result of a separable convolution). ``out_cells``: the output
    cells written (scatter view: inside the output).

    Optional: ``taps`` (cell granularity of the convolutions), ``value`` ``(F,)`` (what was
    written), ``in_weights`` ``(len(in_cells),)`` (interpolation weights), ``mid`` (separable:
    the depthwise buffer ``(*out, C·M)``), ``canvas`` / ``canvas_cells`` (scatter view: the
    uncropped ``(*canvas, F)`` buffer and where the stamp lands), ``cut`` (cropping: input
    cells removed so far), ``written`` (padding: output cells written so far), and on the
    last frame ``computed`` (the accumulated values, float64, layer layout) and, for the
    weighted layers, ``pre_activation``."""

    step: int
    stage: str
    caption: str
    output: np.ndarray
    source: str
    in_cells: np.ndarray
    out_cells: np.ndarray
    taps: ConvTaps | StampTaps | None = None
    value: Optional[np.ndarray] = None
    in_weights: Optional[np.ndarray] = None
    mid: Optional[np.ndarray] = None
    canvas: Optional[np.ndarray] = None
    canvas_cells: Optional[np.ndarray] = None
    cut: Optional[np.ndarray] = None
    written: Optional[np.ndarray] = None
    computed: Optional[np.ndarray] = None
    pre_activation: Optional[np.ndarray] = None


# --------------------------------------------------------------------------- metadata

@dataclass(frozen=True)
class Meta:
    """What every animation's steps share. Shapes are spatial; ``input_view`` ``(*V, C)``:
    the buffer ``in_cells`` index (the input, with its padding for convolutions, dilated and
    padded for the gather view); ``input_category`` ``(*V)`` int8 (REAL, PAD, …);
    ``input_origin``: the view cell of input cell 0, None when view cells are no input
    cells (gather view)."""

    input_shape: tuple
    output_shape: tuple
    in_channels: int
    out_channels: int
    input_view: np.ndarray
    input_category: np.ndarray
    input_origin: Optional[tuple]


@dataclass(frozen=True)
class WeightedMeta(Meta):
    """The weighted layers: ``group_map`` (per output channel, the input channels it reads),
    ``bias`` ``(F,)`` or None, the activation's name and the layer's arguments."""

    kernel_size: tuple
    strides: tuple
    dilation_rate: tuple
    padding: str
    group_map: list
    bias: Optional[np.ndarray]
    activation: str


@dataclass(frozen=True)
class ConvMeta(WeightedMeta):
    """Conv, depthwise and the gather view: ``kernel`` ``(*k, C/groups, F)`` as applied
    (depthwise: ``(*k, 1, C·M)``; gather: flipped, ``(*k, C, F)``), ``pads``
    ``(before, after)`` zeros per axis (``after`` < 0: trailing cells no window reaches),
    ``groups``, ``read_count`` ``(*V)`` (taps reading each view cell)."""

    kernel: np.ndarray
    pads: tuple
    groups: int
    read_count: np.ndarray


@dataclass(frozen=True)
class DepthwiseMeta(ConvMeta):
    depth_multiplier: int


@dataclass(frozen=True)
class SeparableMeta(DepthwiseMeta):
    """Plus ``pointwise_kernel`` ``(C·M, F)`` and ``mid_final`` ``(*out, C·M)``."""

    pointwise_kernel: np.ndarray
    mid_final: np.ndarray


@dataclass(frozen=True)
class GatherMeta(ConvMeta):
    """Gather view: ``input_positions`` ``(P_in, rank)`` (the view cell of each input cell),
    ``dilated_before`` (zeros before the dilated input), ``crop`` and ``output_padding``."""

    input_positions: np.ndarray
    dilated_before: tuple
    crop: tuple
    output_padding: Optional[tuple]


@dataclass(frozen=True)
class ScatterMeta(WeightedMeta):
    """Scatter view: ``kernel`` in Keras's layout ``(*k, F, C)``; the canvas is the full
    scatter (``full_shape``) plus any output_padding cells, ``crop`` / ``crop_after`` cells
    cut at either end give the output; ``canvas_category`` (REAL, CROPPED, OUTPUT_PAD)."""

    kernel: np.ndarray
    output_padding: Optional[tuple]
    crop: tuple
    crop_after: tuple
    full_shape: tuple
    canvas_shape: tuple
    canvas_category: np.ndarray


@dataclass(frozen=True)
class PadMeta(Meta):
    """ZeroPadding: ``padding`` (before, after) per axis, ``output_category`` (REAL / PAD)."""

    padding: tuple
    output_category: np.ndarray


@dataclass(frozen=True)
class CropMeta(Meta):
    """Cropping: ``cropping`` (before, after) per axis, ``kept`` (start, stop) per axis."""

    cropping: tuple
    kept: tuple


@dataclass(frozen=True)
class UpsampleMeta(Meta):
    """UpSampling: ``size`` per axis and the ``interpolation``."""

    size: tuple
    interpolation: str


@dataclass
class Animation:
    """What :func:`engine.animate.animate` returns.

    kind: ``conv``, ``depthwise``, ``separable``, ``transpose``, ``zeropad``, ``crop``,
    ``upsample`` or ``interpolate``; view: ``scatter`` / ``gather`` for transposed
    convolutions, else None; meta: the kind's :class:`Meta`."""

    kind: str
    layer_name: str
    rank: int
    data_format: str
    granularity: str
    view: Optional[str]
    frames: list[Frame] = field(default_factory=list)
    meta: Optional[Meta] = None

    @property
    def output(self) -> np.ndarray:
        """``layer(x)``: the last frame's output."""
        return self.frames[-1].output


class Family(NamedTuple):
    """How one layer kind is animated: ``build(ctx, view) → Animation`` and
    ``count(geom, n, view) → frames``, where ``n(sizes)`` is the number of steps over a grid
    of ``sizes`` at the chosen granularity (cells, or rows of cells)."""

    build: Callable
    count: Callable


# --------------------------------------------------------------------------- context

class Context:
    """What every builder needs: the layer, its geometry, ``x0`` / ``y0`` (input and
    ``layer(x)``, channels-last, batch dropped), the granularity asked for and the frames."""

    def __init__(self, layer, x: np.ndarray, granularity: str, max_frames: int):
        self.layer = layer
        self.fmt = layer.data_format
        self.rank = layer.rank
        self.geom: LayerGeometry = geometry(layer, x.shape)
        self.y = layer(x)
        self.x0 = to_channels_last(np.asarray(x, dtype=np.float32), self.fmt)[0]
        self.y0 = to_channels_last(self.y, self.fmt)[0]
        self.granularity = granularity
        self.max_frames = max_frames
        self.frames: list[Frame] = []

    @property
    def in_sizes(self) -> tuple:
        return tuple(self.x0.shape[:-1])

    @property
    def out_sizes(self) -> tuple:
        return tuple(self.y0.shape[:-1])

    def layout(self, buf: np.ndarray) -> np.ndarray:
        """channels-last ``(*spatial, C)`` buffer → the layer's layout, batch 1, float32."""
        return from_channels_last(np.asarray(buf, dtype=np.float32)[None], self.fmt)

    def choose(self, n_cell: int, n_row: int, unit_cell: str, unit_row: str) -> str:
        """Resolve the granularity against the frame cap (actionable message beyond it)."""
        g = self.granularity
        if g == "auto":
            g = "cell" if n_cell <= self.max_frames else "row"
        n = n_cell if g == "cell" else n_row
        if n > self.max_frames:
            hint = (f" or granularity='row' ({n_row} frames, one per {unit_row})"
                    if g == "cell" and n_row <= self.max_frames else "")
            raise ValueError(
                f"This animation would take {n} frames (one per "
                f"{unit_cell if g == 'cell' else unit_row}); the limit is {self.max_frames} "
                f"so that it plays smoothly. Shrink the input (e.g. to 8 × 8), use a larger "
                f"stride{hint}.")
        return g

    def add(self, stage: str, caption: str, out_buf: np.ndarray, in_cells, out_cells,
            source: str = "input", **extra) -> Frame:
        """Append the frame of one step (``out_buf``: channels-last output buffer)."""
        frame = Frame(len(self.frames), stage, caption, self.layout(out_buf), source,
                      cells(in_cells, self.rank), cells(out_cells, self.rank), **extra)
        self.frames.append(frame)
        return frame

    def finish_exact(self, computed_buf: np.ndarray) -> None:
        """Last frame: ``output`` = layer(x) exactly; ``computed`` keeps what the steps
        accumulated (channels-last ``computed_buf``)."""
        computed = from_channels_last(np.asarray(computed_buf, np.float64)[None], self.fmt)
        self.frames[-1] = replace(self.frames[-1], computed=computed,
                                  output=np.array(self.y, dtype=np.float32, copy=True))

    def common(self, input_view=None, input_category=None, input_origin=None) -> dict:
        """The :class:`Meta` fields; by default the view is the input itself."""
        if input_view is None:
            input_view = self.x0
            input_category = np.zeros(self.in_sizes, np.int8)
            input_origin = (0,) * self.rank
        return {"input_shape": self.in_sizes, "output_shape": self.out_sizes,
                "in_channels": int(self.x0.shape[-1]), "out_channels": int(self.y0.shape[-1]),
                "input_view": input_view, "input_category": input_category,
                "input_origin": input_origin}

    def animation(self, kind: str, granularity: str, meta: Meta, view=None) -> Animation:
        return Animation(kind, type(self.layer).__name__, self.rank, self.fmt, granularity,
                         view, self.frames, meta)
