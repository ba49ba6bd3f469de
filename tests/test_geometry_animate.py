"""One geometry: for every animated layer kind, both data formats, every interpolation and
both views of a transposed convolution, the input cells the animation's frames read for an
output cell are the cells of :mod:`engine.geometry` (``LayerGeometry.cell_taps`` and
``sources``) and the support of :mod:`engine.receptive`'s exact contribution map."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import animate as A
from engine.geometry import geometry
from engine.layers import LAYER_CLASSES
from engine.receptive import contribution_map, receptive_field_mask
from tests.test_animate import _valid

INTERPOLATIONS = ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"]
SIGNED = ("bicubic", "lanczos3", "lanczos5")  # taps of both signs: their sums can cancel
FORMATS = ["channels_last", "channels_first"]


# --------------------------------------------------------------------------- cases

def _conv_kwargs(draw, kind, rank, name):
    strided = draw(st.booleans())
    kwargs = {"kernel_size": tuple(draw(st.integers(1, 3)) for _ in range(rank)),
              "strides": tuple(draw(st.integers(1, 3)) for _ in range(rank)) if strided else 1,
              "dilation_rate": 1 if strided else tuple(draw(st.integers(1, 2))
                                                       for _ in range(rank)),
              "padding": draw(st.sampled_from(["valid", "same"]
                                              + (["causal"] if name == "Conv1D" else [])))}
    if kind in ("conv", "separable", "transpose"):
        kwargs["filters"] = draw(st.integers(1, 2))
    if kind in ("depthwise", "separable"):
        kwargs["depth_multiplier"] = draw(st.integers(1, 2))
    if kind == "transpose" and strided and draw(st.booleans()):
        kwargs["output_padding"] = tuple(draw(st.integers(0, s - 1)) for s in kwargs["strides"])
    return kwargs


def _reshape_kwargs(draw, kind, rank, sizes):
    if kind == "pad":
        return {"padding": tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2)))
                                 for _ in range(rank))}
    if kind == "crop":
        pairs = []
        for n in sizes:
            b = draw(st.integers(0, n - 1))
            pairs.append((b, draw(st.integers(0, n - 1 - b))))
        return {"cropping": tuple(pairs)}
    return {"size": tuple(draw(st.integers(1, 3)) for _ in range(rank))}


NAMES = {"conv": "Conv{}D", "depthwise": "DepthwiseConv{}D", "separable": "SeparableConv{}D",
         "transpose": "Conv{}DTranspose", "pad": "ZeroPadding{}D", "crop": "Cropping{}D",
         "upsample": "UpSampling{}D"}


#: What the property runs over: every animated kind, both views of a transposed convolution,
#: every interpolation of UpSampling2D (with nearest upsampling of every rank).
FAMILIES = ([(kind, None) for kind in ("conv", "depthwise", "separable", "pad", "crop")]
            + [("transpose", view) for view in A.TRANSPOSE_VIEWS]
            + [("upsample", method) for method in INTERPOLATIONS])


@st.composite
def cases(draw, kind, variant, fmt):
    """``(name, kwargs, input shape)`` of one layer of ``kind``; ``variant``: the
    interpolation of an upsampling."""
    if kind == "upsample" and variant != "nearest":
        rank = 2
    else:
        rank = draw(st.sampled_from([1, 2] if kind in ("depthwise", "separable") else [1, 2, 3]))
    name = NAMES[kind].format(rank)
    sizes = tuple(draw(st.integers(1, {1: 9, 2: 6, 3: 4}[rank])) for _ in range(rank))
    if kind in ("pad", "crop", "upsample"):
        kwargs = _reshape_kwargs(draw, kind, rank, sizes)
    else:
        kwargs = _conv_kwargs(draw, kind, rank, name)
    if kind == "upsample" and rank == 2:
        kwargs["interpolation"] = variant
    if kwargs.get("padding") != "causal" and name not in ("Cropping1D", "UpSampling1D"):
        kwargs["data_format"] = fmt
    channels = draw(st.integers(1, 2))
    fmt = kwargs.get("data_format", "channels_last")
    shape = (1, *sizes, channels) if fmt == "channels_last" else (1, channels, *sizes)
    return name, kwargs, shape


def _build(name, kwargs, shape):
    """The conformance-valid layer of ``tests.test_animate``, with all-ones weights."""
    layer = _valid(name, kwargs, shape)
    if layer is not None:
        layer.set_weights([np.ones(w.shape, np.float32) for w in layer.get_weights()])
    return layer


# --------------------------------------------------------------------------- reading frames

def _matches(cells, cell) -> np.ndarray:
    return np.all(cells == np.asarray(cell)[None], axis=1)


def _taps_read(anim, cell) -> set:
    """Conv, depthwise, separable (depthwise stage), gather view: the taps of the cell's
    frame that read a real input cell."""
    frames = [fr for fr in anim.frames if fr.stage in ("conv", "depthwise", "gather")
              and len(fr.out_cells) == 1 and _matches(fr.out_cells, cell).all()]
    assert len(frames) == 1
    taps = frames[0].taps
    return set(map(tuple, taps.input_index[taps.inside]))


def _frames_feeding(anim, cell) -> set:
    """Scatter view and nearest upsampling: the input cells of the frames writing the cell."""
    return {tuple(c) for fr in anim.frames if fr.stage in ("scatter", "repeat")
            and _matches(fr.out_cells, cell).any() for c in fr.in_cells}


def _copied(anim, cell) -> set:
    """Padding and cropping: the copy frame pairs input and output cells in order."""
    fr = next(fr for fr in anim.frames if fr.stage == "copy")
    return set(map(tuple, fr.in_cells[_matches(fr.out_cells, cell)]))


def _weighted(anim, cell) -> set:
    """Interpolation: the source cells of the cell's frame with a non-zero weight."""
    fr = next(fr for fr in anim.frames if _matches(fr.out_cells, cell).all())
    return set(map(tuple, fr.in_cells[fr.in_weights != 0]))


READ = {"conv": _taps_read, "depthwise": _taps_read, "separable": _taps_read,
        "zeropad": _copied, "crop": _copied, "upsample": _frames_feeding,
        "interpolate": _weighted}


def animation_sources(anim, cell) -> set:
    if anim.kind == "transpose":
        return (_taps_read if anim.view == "gather" else _frames_feeding)(anim, cell)
    return READ[anim.kind](anim, cell)


def geometry_sources(geom, cell) -> set:
    """The product over axes of the taps inside the input with a non-zero weight."""
    per_axis = [{t.position for t in taps if t.inside and t.weight != 0}
                for taps in geom.cell_taps(cell)]
    return set(itertools.product(*per_axis))


def receptive_sources(layer, shape, cell) -> set:
    if getattr(layer, "interpolation", None) in SIGNED:
        support = receptive_field_mask([layer], shape, cell)
    else:
        support = contribution_map([layer], shape, cell) != 0
    return set(map(tuple, np.argwhere(support)))


# --------------------------------------------------------------------------- the property

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind,variant", FAMILIES, ids=[f"{k}-{v}" for k, v in FAMILIES])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
@given(data=st.data())
def test_animation_geometry_and_receptive_field_read_the_same_cells(kind, variant, fmt, data):
    name, kwargs, shape = data.draw(cases(kind, variant, fmt))
    layer = _build(name, kwargs, shape)
    assume(layer is not None)
    geom = geometry(layer, shape)
    cell = tuple(data.draw(st.integers(0, n - 1)) for n in geom.out_spatial)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    view = variant if kind == "transpose" else "scatter"
    anim = A.animate(layer, x, granularity="cell", view=view, max_frames=10**6)
    ours = animation_sources(anim, cell)
    assert ours == geometry_sources(geom, cell), (name, kwargs, cell)
    assert ours == receptive_sources(layer, shape, cell), (name, kwargs, cell)
    box = geom.sources(cell)
    if ours:
        hull = tuple(zip(np.min(list(ours), axis=0), np.max(list(ours), axis=0)))
        assert box == tuple((int(a), int(b)) for a, b in hull)
    else:
        assert box is None


def test_families_cover_every_animated_kind():
    assert {kind for kind, _ in FAMILIES} == set(A.FAMILIES)
