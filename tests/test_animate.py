"""engine.animate (frames are computed, complete, monotone, counted by the arithmetic),
app.figures.animation (Plotly frames, controls) and the Animate page (AppTest, every layer).

The frame counts are re-derived here from the output shape and the layer's arguments, not
from :func:`engine.animate.count_frames` (which is checked against them).
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import animate as A
from engine.layers import LAYER_CLASSES

BIG = 10**6  # frame cap for the property tests (the cap itself has its own tests)
BIAS = {"class_name": "RandomNormal", "config": {"stddev": 1.0, "seed": 3}}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _spatial(shape, rank, fmt):
    return tuple(shape[1:-1]) if fmt == "channels_last" else tuple(shape[2:])


def expected_frames(layer, x, y, granularity, view):
    """Frame count from the arithmetic (module docstring of engine.animate)."""
    fmt = getattr(layer, "data_format", "channels_last")
    n_in = _spatial(x.shape, layer.rank, fmt)
    n_out = _spatial(y.shape, layer.rank, fmt)

    def n(sizes):
        return math.prod(sizes) if granularity == "cell" else math.prod(sizes[:-1])

    kind = layer.kind
    if kind in ("conv", "depthwise"):
        return n(n_out) + 1
    if kind == "separable":
        return 2 * n(n_out) + 1
    if kind == "transpose":
        return (n(n_out) if view == "gather" else n(n_in)) + 1
    if kind == "pad":
        return 1 + sum(v > 0 for pair in layer.padding for v in pair)
    if kind == "crop":
        return sum(v > 0 for pair in layer.cropping for v in pair) + 1
    if layer.interpolation == "nearest":
        return n(n_in)
    return n(n_out)


def check_animation(layer, x, granularity="cell", view="scatter"):
    """Everything the contract promises, for one layer and input."""
    y = layer(x)
    anim = A.animate(layer, x, granularity=granularity, view=view, max_frames=BIG)
    frames = anim.frames
    # counts
    assert len(frames) == expected_frames(layer, x, y, anim.granularity, view)
    assert len(frames) == A.count_frames(layer, x.shape, anim.granularity, view)
    # shapes, layout, steps
    for i, fr in enumerate(frames):
        assert fr.step == i
        assert fr.output.shape == y.shape and fr.output.dtype == np.float32
        assert fr.in_cells.ndim == 2 and fr.in_cells.shape[1] == layer.rank
        assert fr.out_cells.ndim == 2 and fr.out_cells.shape[1] == layer.rank
        assert isinstance(fr.caption, str) and fr.caption
    # monotone filling: once written a cell is never NaN again
    written = np.zeros(y.shape, bool)
    for fr in frames:
        now = ~np.isnan(fr.output)
        assert not np.any(written & ~now), f"a cell went back to NaN at step {fr['step']}"
        written = now
    # the last frame is layer(x) exactly, and what the steps computed agrees with it
    last = frames[-1]
    assert np.array_equal(last.output, y)
    tol = 1e-5 * max(1.0, float(np.abs(y).max()) if y.size else 1.0)
    np.testing.assert_allclose(last.computed, y, rtol=1e-5, atol=tol)
    return anim, y


# --------------------------------------------------------------------------- strategies

@st.composite
def conv_cases(draw):
    kind = draw(st.sampled_from(["conv", "depthwise", "separable", "transpose"]))
    rank = draw(st.sampled_from([1, 2] if kind in ("depthwise", "separable") else [1, 2, 3]))
    name = {"conv": f"Conv{rank}D", "depthwise": f"DepthwiseConv{rank}D",
            "separable": f"SeparableConv{rank}D", "transpose": f"Conv{rank}DTranspose"}[kind]
    max_n = {1: 9, 2: 6, 3: 4}[rank]
    sizes = tuple(draw(st.integers(1, max_n)) for _ in range(rank))
    channels = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    strided = draw(st.booleans())
    strides = tuple(draw(st.integers(1, 3)) for _ in range(rank)) if strided else 1
    dilation = 1 if strided else tuple(draw(st.integers(1, 2)) for _ in range(rank))
    paddings = ["valid", "same"] + (["causal"] if name == "Conv1D" else [])
    kwargs = {"kernel_size": kernel, "strides": strides, "dilation_rate": dilation,
              "padding": draw(st.sampled_from(paddings)),
              "activation": draw(st.sampled_from([None, "relu", "tanh"])),
              "use_bias": draw(st.booleans()), "bias_initializer": BIAS}
    if name not in ("Conv1D",) or kwargs["padding"] != "causal":
        kwargs["data_format"] = draw(st.sampled_from(["channels_last", "channels_first"]))
    filters = draw(st.integers(1, 3))
    if kind == "conv":
        groups = draw(st.sampled_from([1, channels]))
        if filters % groups:
            filters = groups * draw(st.integers(1, 2))
        kwargs.update(filters=filters, groups=groups)
    elif kind == "depthwise":
        kwargs["depth_multiplier"] = draw(st.integers(1, 2))
    elif kind == "separable":
        kwargs.update(filters=filters, depth_multiplier=draw(st.integers(1, 2)))
    else:
        kwargs["filters"] = filters
        if strided and draw(st.booleans()):
            s = kwargs["strides"]
            kwargs["output_padding"] = tuple(draw(st.integers(0, si - 1)) for si in s)
    fmt = kwargs.get("data_format", "channels_last")
    shape = (1, *sizes, channels) if fmt == "channels_last" else (1, channels, *sizes)
    return name, kwargs, shape, draw(st.sampled_from(["cell", "row"])), \
        draw(st.sampled_from(["scatter", "gather"])), draw(st.integers(0, 2**16))


@st.composite
def reshape_cases(draw):
    family = draw(st.sampled_from(["ZeroPadding", "Cropping", "UpSampling"]))
    rank = draw(st.sampled_from([1, 2, 3]))
    name = f"{family}{rank}D"
    max_n = {1: 10, 2: 7, 3: 4}[rank]
    sizes = tuple(draw(st.integers(1, max_n)) for _ in range(rank))
    channels = draw(st.integers(1, 3))
    kwargs = {}
    if name not in ("Cropping1D", "UpSampling1D"):
        kwargs["data_format"] = draw(st.sampled_from(["channels_last", "channels_first"]))
    if family == "ZeroPadding":
        pairs = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank))
        kwargs["padding"] = pairs[0] if rank == 1 else pairs
    elif family == "Cropping":
        pairs = []
        for n in sizes:
            b = draw(st.integers(0, max(0, n - 1)))
            a = draw(st.integers(0, max(0, n - 1 - b)))
            pairs.append((b, a))
        kwargs["cropping"] = tuple(pairs[0]) if rank == 1 else tuple(pairs)
    else:
        size = tuple(draw(st.integers(1, 3)) for _ in range(rank))
        kwargs["size"] = size[0] if rank == 1 else size
        if rank == 2:
            kwargs["interpolation"] = draw(st.sampled_from(
                ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"]))
    fmt = kwargs.get("data_format", "channels_last")
    shape = (1, *sizes, channels) if fmt == "channels_last" else (1, channels, *sizes)
    return name, kwargs, shape, draw(st.sampled_from(["cell", "row"])), draw(st.integers(0, 2**16))


def _valid(name, kwargs, shape):
    try:
        layer = LAYER_CLASSES[name](**kwargs)
        out = layer.compute_output_shape(shape)
        layer.build(shape)
    except ValueError:
        return None
    if any(d == 0 for d in out):
        return None
    return layer


# --------------------------------------------------------------------------- property tests

@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(conv_cases())
def test_conv_family_frames_are_computed(case):
    name, kwargs, shape, granularity, view, seed = case
    layer = _valid(name, kwargs, shape)
    assume(layer is not None)
    x = _rng(seed).standard_normal(shape).astype(np.float32)
    anim, y = check_animation(layer, x, granularity, view)
    frames = anim.frames
    assert frames[-1].stage == "finish"
    if granularity == "cell" and anim.kind in ("conv", "depthwise") or \
            (anim.kind == "transpose" and view == "gather" and granularity == "cell"):
        # each step writes one cell with the sum of its products; padding taps read 0
        for fr in frames[:-1]:
            taps = fr.taps
            assert fr.out_cells.shape == (1, layer.rank)
            np.testing.assert_allclose(taps.products.sum(axis=(0, 1)), fr.value,
                                       rtol=1e-12, atol=1e-12)
            assert np.all(taps.x[~taps.inside] == 0)
            written = fr.output[0]
            cell = tuple(fr.out_cells[0])
            got = written[cell] if anim.data_format == "channels_last" else \
                written[(slice(None),) + cell]
            np.testing.assert_allclose(got, fr.value.astype(np.float32), rtol=0, atol=0)
    if anim.kind in ("conv", "depthwise"):
        # tap geometry: input = out·stride + k·dilation − pad_before
        m = anim.meta
        before = np.array([p[0] for p in m.pads])
        for fr in frames[:-1]:
            if fr.taps is None:
                continue
            t = fr.taps
            expect = fr.out_cells[0] * np.array(m.strides) + \
                t.kernel_index * np.array(m.dilation_rate) - before
            assert np.array_equal(t.input_index, expect)
    if anim.kind == "separable":
        n_cells = (len(frames) - 1) // 2
        for fr in frames[:n_cells]:
            assert fr.stage == "depthwise" and np.isnan(fr.output).all()
        assert all(fr.stage == "pointwise" for fr in frames[n_cells:-1])
        assert not np.isnan(frames[-2].mid).any()
    if anim.kind == "transpose" and view == "scatter":
        # the canvas cut by crop, plus bias and activation, is the output
        m = anim.meta
        canvas = np.nan_to_num(frames[-2].canvas if len(frames) > 1 else 0.0)
        if len(frames) > 1:
            cut = canvas[tuple(slice(c, c + o) for c, o in zip(m.crop, m.output_shape))]
            pre = frames[-1].pre_activation
            pre_last = pre[0] if anim.data_format == "channels_last" else \
                np.moveaxis(pre[0], 0, -1)
            bias = m.bias if m.bias is not None else 0.0
            np.testing.assert_allclose(cut + bias, pre_last, rtol=1e-12, atol=1e-12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(reshape_cases())
def test_reshaping_frames_are_computed(case):
    name, kwargs, shape, granularity, seed = case
    layer = _valid(name, kwargs, shape)
    assume(layer is not None)
    x = _rng(seed).standard_normal(shape).astype(np.float32)
    anim, y = check_animation(layer, x, granularity)
    if anim.kind == "interpolate" and anim.granularity == "cell":
        for fr in anim.frames:
            w = fr.in_weights
            assert len(w) == len(fr.in_cells)
            if len(w):
                assert abs(w.sum() - 1.0) < 1e-4  # every method's weights sum to 1


# --------------------------------------------------------------------------- specific cases

def test_conv2d_16x16_counts_and_timing():
    from engine.layers import Conv2D
    x = _rng(1).standard_normal((1, 16, 16, 3)).astype(np.float32)
    for padding, cells in (("same", 256), ("valid", 196)):
        layer = Conv2D(4, 3, padding=padding)
        layer(x)  # compile / warm up
        t0 = time.perf_counter()
        anim = A.animate(layer, x)
        t1 = time.perf_counter()
        assert len(anim.frames) == cells + 1 and anim.granularity == "cell"
        from app.figures.animation import animation_figure
        t2 = time.perf_counter()
        fig = animation_figure(anim)
        t3 = time.perf_counter()
        assert len(json.loads(fig.to_json())["frames"]) == cells + 2
        print(f"\nConv2D 16x16x3 3x3 {padding}: {len(anim.frames)} frames, engine "
              f"{1000 * (t1 - t0):.1f} ms, figure {1000 * (t3 - t2):.1f} ms")
    check_animation(layer, x)


def test_same_padding_is_tensorflows_asymmetric_and_causal_left_only():
    from engine.layers import Conv1D, Conv2D
    x = _rng(2).standard_normal((1, 6, 6, 1)).astype(np.float32)
    anim, _ = check_animation(Conv2D(1, 2, padding="same"), x)
    assert anim.meta.pads == ((0, 1), (0, 1))  # the odd extra zero at the end
    cat = anim.meta.input_category
    assert cat.shape == (7, 7) and (cat[-1] == A.PAD).all() and (cat[:-1, :-1] == A.REAL).all()
    x1 = _rng(3).standard_normal((1, 8, 1)).astype(np.float32)
    anim, _ = check_animation(Conv1D(1, 3, padding="causal", dilation_rate=2), x1)
    assert anim.meta.pads == ((4, 0),)
    assert list(anim.meta.input_category) == [A.PAD] * 4 + [A.REAL] * 8
    # the first output cell reads 2 padding zeros and input cell 0
    taps = anim.frames[0].taps
    assert list(taps.input_index[:, 0]) == [-4, -2, 0]
    assert list(taps.inside) == [False, False, True]


def test_dilation_gaps_and_unread_cells():
    from engine.layers import Conv2D
    x = _rng(4).standard_normal((1, 7, 7, 1)).astype(np.float32)
    anim, _ = check_animation(Conv2D(1, 3, dilation_rate=2), x)
    cells = anim.frames[0].in_cells
    assert sorted(map(tuple, cells)) == [(r, c) for r in (0, 2, 4) for c in (0, 2, 4)]
    anim, _ = check_animation(Conv2D(1, 1, strides=3), x)  # stride > kernel skips cells
    assert (anim.meta.input_category == A.UNUSED).sum() == 49 - 9


def test_groups_map_filters_to_channels():
    from engine.layers import Conv2D
    x = _rng(5).standard_normal((1, 5, 5, 4)).astype(np.float32)
    anim, _ = check_animation(Conv2D(6, 3, groups=2), x)
    assert anim.meta.group_map == [[0, 1]] * 3 + [[2, 3]] * 3
    assert anim.frames[0].taps.products.shape == (9, 2, 6)


def test_transposed_views_agree_and_show_output_padding():
    from engine.layers import Conv2DTranspose
    x = _rng(6).standard_normal((1, 3, 4, 2)).astype(np.float32)
    layer = Conv2DTranspose(2, 3, strides=2, output_padding=1, bias_initializer=BIAS)
    scatter, y = check_animation(layer, x, view="scatter")
    gather, _ = check_animation(layer, x, view="gather")
    assert len(scatter.frames) == 3 * 4 + 1
    assert len(gather.frames) == y.shape[1] * y.shape[2] + 1
    np.testing.assert_allclose(scatter.frames[-1].computed, gather.frames[-1].computed,
                               rtol=1e-12, atol=1e-12)
    # output_padding: the last row / column are past every stamp
    assert (scatter.meta.canvas_category[-1] == A.OUTPUT_PAD).all()
    cat = gather.meta.input_category
    assert (cat[-1] == A.OUTPUT_PAD).all() and (cat == A.STRIDE_ZERO).any()
    # the gather view's dilated input holds the input at stride spacing
    view = gather.meta.input_view
    pos = gather.meta.input_positions
    assert np.array_equal(view[tuple(pos.T)], x[0].reshape(-1, 2))
    # overlapping stamps: some canvas cell receives several stamps (partial sums)
    counts = np.zeros(scatter.meta.canvas_shape, int)
    for fr in scatter.frames[:-1]:
        np.add.at(counts, tuple(fr.canvas_cells.T), 1)
    assert counts.max() >= 2


def test_transposed_same_padding_is_cropped():
    from engine.layers import Conv1DTranspose
    x = _rng(7).standard_normal((1, 4, 1)).astype(np.float32)
    anim, y = check_animation(Conv1DTranspose(1, 4, strides=2, padding="same"), x)
    m = anim.meta
    assert y.shape[1] == 8 and m.canvas_shape == (10,)
    assert m.crop == (1,) and m.crop_after == (1,)
    assert list(m.canvas_category) == [A.CROPPED] + [A.REAL] * 8 + [A.CROPPED]


def test_zeropadding_and_cropping_sides():
    from engine.layers import Cropping2D, ZeroPadding2D
    x = _rng(8).standard_normal((1, 4, 5, 1)).astype(np.float32)
    anim, y = check_animation(ZeroPadding2D(((1, 2), (0, 3))), x)
    assert [fr.stage for fr in anim.frames] == ["copy", "pad", "pad", "pad"]
    assert [len(fr.out_cells) for fr in anim.frames[1:]] == [8, 16, 12]
    assert "top: +1 row" in anim.frames[1].caption
    anim, y = check_animation(Cropping2D(((1, 0), (2, 1))), x)
    assert [fr.stage for fr in anim.frames] == ["crop", "crop", "crop", "copy"]
    assert anim.frames[1].cut.sum() == 5 + 2 * 3 and anim.frames[2].cut.sum() == 14
    assert np.isnan(anim.frames[2].output).all()


def test_upsampling_nearest_repeats_blocks():
    from engine.layers import UpSampling3D
    x = _rng(9).standard_normal((1, 2, 2, 3, 1)).astype(np.float32)
    anim, _ = check_animation(UpSampling3D((2, 1, 2)), x)
    assert len(anim.frames) == 12 and all(len(fr.out_cells) == 4 for fr in anim.frames)


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos3", "lanczos5", "area"])
def test_interpolation_sources_and_weights(method):
    from engine.layers import UpSampling2D
    x = _rng(10).standard_normal((1, 3, 4, 2)).astype(np.float32)
    anim, y = check_animation(UpSampling2D((2, 3), interpolation=method), x)
    assert len(anim.frames) == 6 * 12
    fr = anim.frames[7]
    vals = x[0][tuple(fr.in_cells.T)]
    np.testing.assert_allclose(fr.in_weights @ vals.astype(np.float64),
                               fr.output[0][tuple(fr.out_cells[0])], rtol=1e-5, atol=1e-6)


def test_frame_cap_message_and_auto_rows():
    from engine.layers import Conv2D
    x = _rng(11).standard_normal((1, 30, 30, 1)).astype(np.float32)
    layer = Conv2D(1, 3, padding="same")
    with pytest.raises(ValueError, match=r"901 frames.*limit is 400.*Shrink the input.*row"):
        A.animate(layer, x, granularity="cell")
    anim = A.animate(layer, x)  # auto: one frame per row
    assert anim.granularity == "row" and len(anim.frames) == 31
    with pytest.raises(ValueError, match="animations take at most"):
        A.animate(layer, np.zeros((1, 70, 70, 1), np.float32))
    with pytest.raises(ValueError, match="batch of one"):
        A.animate(layer, np.zeros((2, 5, 5, 1), np.float32))


def test_contribution_levels_counts():
    from engine.layers import Conv2D, UpSampling1D
    lv = A.contribution_levels([Conv2D(2, 3), Conv2D(1, 3)], (1, 8, 8, 1), (2, 2))
    row = np.array([1, 2, 3, 2, 1])
    expect = np.zeros((8, 8))
    expect[2:7, 2:7] = 2 * np.outer(row, row)  # 2 filters in between: two paths each
    np.testing.assert_allclose(lv.maps[0], expect)
    assert lv.maps[-1][2, 2] == 1 and lv.maps[-1].sum() == 1
    assert lv.maps[1].shape == (6, 6) and (lv.maps[1] != 0).sum() == 9
    lv = A.contribution_levels([UpSampling1D(3)], (1, 5, 1), (7,))
    assert list(lv.maps[0]) == [0, 0, 1, 0, 0]


def test_contribution_levels_match_engine_receptive():
    from engine.receptive import contribution_map
    from engine.layers import Conv2DTranspose, Conv2D, UpSampling2D
    for layers, shape, index in (
            ([Conv2D(2, 3, strides=2, padding="same"), Conv2D(1, 3, dilation_rate=2)],
             (1, 12, 12, 2), (1, 1)),
            ([Conv2DTranspose(1, 3, strides=2), Conv2D(1, 2)], (1, 4, 4, 1), (3, 4)),
            ([UpSampling2D(2, interpolation="bilinear")], (1, 4, 4, 1), (3, 2))):
        ours = A.contribution_levels(layers, shape, index)
        theirs = [contribution_map(layers[k:], (1,) + ours.shapes[k][1:], index)
                  for k in range(len(layers))] + [ours.maps[-1]]
        for a, b in zip(ours.maps, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- figures

FIGURE_CASES = [
    ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     (1, 10, 2), {}),
    ("Conv2D", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (1, 7, 7, 2), {}),
    ("Conv3D", {"filters": 2, "kernel_size": 2}, (1, 3, 4, 4, 1), {}),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, (1, 5, 5, 2), {}),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 3}, (1, 8, 2), {}),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
     (1, 3, 3, 1), {"view": "scatter"}),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1},
     (1, 3, 3, 1), {"view": "gather"}),
    ("Conv3DTranspose", {"filters": 1, "kernel_size": 2, "strides": 2}, (1, 2, 2, 2, 1), {}),
    ("ZeroPadding3D", {"padding": 1}, (1, 2, 3, 3, 1), {}),
    ("Cropping1D", {"cropping": (1, 2)}, (1, 8, 1), {}),
    ("UpSampling2D", {"size": 2, "interpolation": "bicubic"}, (1, 3, 3, 1), {}),
    ("UpSampling1D", {"size": 3}, (1, 5, 2), {}),
]


@pytest.mark.parametrize("name,kwargs,shape,opts", FIGURE_CASES,
                         ids=[c[0] + str(i) for i, c in enumerate(FIGURE_CASES)])
def test_animation_figure(name, kwargs, shape, opts):
    from app.figures.animation import animation_figure
    from app.figures.animation_controls import SPEEDS
    from app.figures.animation_grid import COLUMN_PX
    layer = LAYER_CLASSES[name](**kwargs)
    x = _rng(12).standard_normal(shape).astype(np.float32)
    anim = A.animate(layer, x, **opts)
    fig = animation_figure(anim, filter_index=1, channel=0, duration=SPEEDS["fast"], active=2)
    spec = json.loads(fig.to_json())
    assert spec["layout"]["width"] <= COLUMN_PX  # the default max_width: never a pixel wider
    frames = spec["frames"]
    assert len(frames) == len(anim.frames) + 1  # + the empty start frame
    n_traces = len(spec["data"])
    for fr in frames:
        assert fr["traces"] and max(fr["traces"]) < n_traces
        assert len(fr["data"]) == len(fr["traces"])
        for idx, d in zip(fr["traces"], fr["data"]):
            assert d["type"] == spec["data"][idx]["type"]
        assert fr["layout"]["title"]["text"]
    labels = [b["label"] for m in spec["layout"]["updatemenus"] for b in m["buttons"]]
    assert "▶ Play" in labels and "❚❚ Pause" in labels and set(SPEEDS) <= set(labels)
    steps = spec["layout"]["sliders"][0]["steps"]
    assert [s["args"][0][0] for s in steps] == [f["name"] for f in frames]
    assert spec["layout"]["sliders"][0]["active"] == 2
    play = spec["layout"]["updatemenus"][0]["buttons"][0]["args"][1]
    assert play["frame"]["duration"] == SPEEDS["fast"]
    # the last frame shows layer(x) in the output heatmap of the chosen channel
    heat = [i for i, t in enumerate(spec["data"]) if t["type"] == "heatmap"]
    assert heat


def _panel_rows(spec: dict) -> list:
    """The panels' rows, top down: each a list of the titles of the panels on it."""
    rows: dict = {}
    for key, ax in spec["layout"].items():
        if key.startswith("yaxis") and "domain" in ax:
            rows.setdefault(round(ax["domain"][1], 3), []).append(key)
    return [rows[top] for top in sorted(rows, reverse=True)]


@pytest.mark.parametrize("name,kwargs,shape", [
    ("Conv2D", {"filters": 4, "kernel_size": 3}, (1, 8, 8, 3)),   # the app's default
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (1, 16, 1)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3}, (1, 4, 4, 3)),
])
def test_a_narrower_figure_keeps_its_rows_of_panels(name, kwargs, shape):
    """At the animate page's budget (COLUMN_PX, 816 px) the panels take no more rows than at
    1000 px (the default: input and output side by side), with smaller cells, and the
    figure is no wider than asked (a pixel more and Streamlit's chart narrows it: a second draw)."""
    from app.figures.animation import animation_figure
    from app.figures.animation_grid import COLUMN_PX
    anim = A.animate(LAYER_CLASSES[name](**kwargs), _rng(3).random(shape, np.float32))
    wide, narrow = (json.loads(animation_figure(anim, max_width=w).to_json())
                    for w in (1000, COLUMN_PX))
    assert len(_panel_rows(narrow)) <= len(_panel_rows(wide))
    if name == "Conv2D":
        assert [len(r) for r in _panel_rows(narrow)] == [len(r) for r in _panel_rows(wide)]
    assert narrow["layout"]["width"] <= COLUMN_PX and wide["layout"]["width"] <= 1000


def test_figure_marks_padding_and_taps():
    from app.figures.animation import animation_figure
    from engine.layers import Conv2D
    x = _rng(13).standard_normal((1, 4, 4, 1)).astype(np.float32)
    anim = A.animate(Conv2D(1, 3, padding="same"), x)
    spec = json.loads(animation_figure(anim, active=1).to_json())
    overlay = [t for t in spec["data"] if t["type"] == "heatmap" and t.get("zmin") == 0.5]
    z = np.array(overlay[0]["z"], dtype=float)
    assert np.isnan(z[1:5, 1:5]).all() and (z[0] == A.PAD).all()  # the padding ring
    lines = [t for t in spec["data"] if t["type"] == "scatter" and t.get("mode") == "lines"]
    assert lines and any(len(t["x"]) == 9 * 6 for t in lines)  # 9 outlined taps


@pytest.mark.parametrize("present, images", [(False, False), (True, False), (False, True)],
                         ids=["normal", "present", "images"])
@pytest.mark.parametrize("name,kwargs,shape,opts", FIGURE_CASES,
                         ids=[c[0] + str(i) for i, c in enumerate(FIGURE_CASES)])
def test_animation_spec_is_what_validation_sends(name, kwargs, shape, opts, present, images):
    """Animation figures go to the browser unvalidated (``_fast_figure``): Plotly's full
    validation of the same spec — traces, layout, every frame — accepts it and sends the same
    (tests/test_figure_specs.py's check: a skipped coercion, e.g. a colour-scale name or
    ``font_size``, would differ). ``images``: non-negative inputs (a photo), drawn with the
    sequential scale instead of the diverging one."""
    import plotly.graph_objects as go
    from app.figures.animation import animation_figure
    from tests.test_figure_specs import _sent
    layer = LAYER_CLASSES[name](**kwargs)
    x = _rng(12).standard_normal(shape).astype(np.float32)
    anim = A.animate(layer, np.abs(x) if images else x, **opts)
    fig = animation_figure(anim, filter_index=0, channel=0, active=1, present=present)
    assert _sent(fig) == _sent(go.Figure(fig.to_dict()))


def test_receptive_figure_is_what_validation_sends():
    import plotly.graph_objects as go
    from app.figures.animation import receptive_figure
    from engine.layers import Conv2D
    from tests.test_figure_specs import _sent
    fig = receptive_figure(A.contribution_levels([Conv2D(1, 3), Conv2D(1, 3)], (1, 7, 7, 1),
                                                 (1, 2)))
    assert _sent(fig) == _sent(go.Figure(fig.to_dict()))


def test_receptive_figure_has_click_targets():
    from app.figures.animation import receptive_figure
    from engine.layers import Conv2D
    lv = A.contribution_levels([Conv2D(1, 3), Conv2D(1, 3)], (1, 7, 7, 1), (1, 2))
    spec = json.loads(receptive_figure(lv).to_json())
    picks = [t for t in spec["data"] if t.get("name") == "pick"]
    assert len(picks) == 1 and len(picks[0]["customdata"]) == 9
    assert picks[0]["xaxis"] == "x3"  # the output level is the third panel


# --------------------------------------------------------------------------- page

def _page_script(layer_name, kwargs, shape, extras):
    import numpy as np

    from app.context import ViewContext
    from app.pages.animate import render

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    render(ViewContext(layer_name, kwargs, x, input_label="test", extras=extras))


PAGE_CASES = {
    "Conv1D": ({"filters": 2, "kernel_size": 3, "padding": "causal"}, (1, 40, 2)),
    "Conv2D": ({"filters": 2, "kernel_size": 3, "padding": "same"}, (1, 20, 24, 3)),
    "Conv3D": ({"filters": 2, "kernel_size": 3, "padding": "same"}, (1, 8, 9, 9, 2)),
    "SeparableConv1D": ({"filters": 2, "kernel_size": 3}, (1, 30, 2)),
    "SeparableConv2D": ({"filters": 2, "kernel_size": 3}, (1, 12, 12, 2)),
    "DepthwiseConv1D": ({"kernel_size": 3, "depth_multiplier": 2}, (1, 20, 3)),
    "DepthwiseConv2D": ({"kernel_size": 3}, (1, 12, 12, 3)),
    "Conv1DTranspose": ({"filters": 2, "kernel_size": 3, "strides": 2}, (1, 20, 1)),
    "Conv2DTranspose": ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
                        (1, 12, 12, 1)),
    "Conv3DTranspose": ({"filters": 1, "kernel_size": 2, "strides": 2}, (1, 4, 4, 4, 1)),
    "Cropping1D": ({"cropping": (2, 1)}, (1, 20, 1)),
    "Cropping2D": ({"cropping": ((1, 2), (0, 1))}, (1, 12, 12, 3)),
    "Cropping3D": ({}, (1, 6, 8, 8, 1)),
    "UpSampling1D": ({"size": 2}, (1, 20, 1)),
    "UpSampling2D": ({"size": 2, "interpolation": "bilinear"}, (1, 12, 12, 1)),
    "UpSampling3D": ({"size": 2}, (1, 4, 4, 4, 1)),
    "ZeroPadding1D": ({"padding": (1, 2)}, (1, 20, 1)),
    "ZeroPadding2D": ({"padding": 1}, (1, 12, 12, 3)),
    "ZeroPadding3D": ({"padding": 1}, (1, 4, 5, 5, 1)),
}


def _charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_page_cases_cover_every_layer():
    assert set(PAGE_CASES) == set(LAYER_CLASSES)


@pytest.mark.parametrize("layer_name", sorted(PAGE_CASES))
def test_page_renders_animation(layer_name):
    from streamlit.testing.v1 import AppTest
    kwargs, shape = PAGE_CASES[layer_name]
    at = AppTest.from_function(_page_script, args=(layer_name, kwargs, shape, {}),
                               default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    charts = _charts(at)
    assert len(charts) == 1 and len(charts[0]["frames"]) >= 2
    # the animation input was shrunk to the defaults
    assert "Animation input (1," in " ".join(c.value for c in at.caption)


def test_page_widgets_step_view_and_field_mode():
    from streamlit.testing.v1 import AppTest
    kwargs = {"filters": 2, "kernel_size": 3, "strides": 2}
    at = AppTest.from_function(
        _page_script, args=("Conv2DTranspose", kwargs, (1, 10, 10, 2),
                            {"anim_view": "gather", "anim_size": "(3, 4)", "anim_ch": "1"}),
        default_timeout=120)
    at.run()
    assert not at.exception
    spec = _charts(at)[0]
    assert len(spec["frames"]) == 7 * 9 + 2  # gather: one step per output cell of 7 × 9
    at.session_state["anim_step"] = 5  # the step the animation opens on (anim_step=5)
    at.run()
    assert _charts(at)[0]["layout"]["sliders"][0]["active"] == 5
    at.number_input(key="anim_filter").set_value(1).run()
    at.radio(key="anim_view").set_value("scatter").run()
    assert not at.exception
    assert len(_charts(at)[0]["frames"]) == 3 * 4 + 2
    at.radio(key="anim_mode").set_value("field").run()
    assert not at.exception
    at.number_input(key="anim_depth").set_value(2).run()
    at.number_input(key="anim_pos_0").set_value(3).run()
    assert not at.exception and not at.error
    spec = _charts(at)[0]
    assert not spec.get("frames") and any(t.get("name") == "pick" for t in spec["data"])
    assert any("depends on" in m.value for m in at.markdown)


def test_page_frame_cap_falls_back_to_rows_and_warns():
    from streamlit.testing.v1 import AppTest
    kwargs = {"filters": 1, "kernel_size": 3, "padding": "same"}
    at = AppTest.from_function(_page_script, args=("Conv2D", kwargs, (1, 40, 40, 1),
                                                   {"anim_size": "(30, 30)"}),
                               default_timeout=120)
    at.run()
    assert not at.exception
    assert len(_charts(at)[0]["frames"]) == 30 + 2  # rows
    at.selectbox(key="anim_granularity").set_value("cell").run()
    assert not at.exception and any("limit is 400" in w.value for w in at.warning)


def test_shrink_input_layouts():
    from app.pages.animate import shrink_input
    x = np.arange(2 * 10 * 12 * 4, dtype=np.float32).reshape(2, 10, 12, 4)
    small = shrink_input(x, 2, "channels_last", (4, 6), 2, "centre")
    assert small.shape == (1, 4, 6, 2)
    np.testing.assert_array_equal(small[0], x[0, 3:7, 3:9, :2])
    xf = np.moveaxis(x, -1, 1)
    small_f = shrink_input(xf, 2, "channels_first", (4, 6), 2, "centre")
    np.testing.assert_array_equal(np.moveaxis(small_f, 1, -1), small)
    res = shrink_input(x, 2, "channels_last", (5, 3), 1, "resample")
    np.testing.assert_array_equal(res[0, :, :, 0], x[0][np.ix_([1, 3, 5, 7, 9], [2, 6, 10])][..., 0])
    assert shrink_input(x, 2, "channels_last", (99, 99), 9, "corner").shape == (1, 10, 12, 4)
