"""Benchmark cases: the engine's kernels and layers next to the same work in PyTorch.

A case builds, on a fixed random input, the callables to time: ``engine`` (required),
``torch`` variants (NCHW and, where PyTorch has one, its channels-last memory format), and
``naive`` (tests/naive.py's float64 NumPy reference, only where it is quick), plus
``check()`` → the largest difference between engine and PyTorch relative to
``max(1, |y|)`` (a sanity check that both compute the same thing).

Keras's "same" padding can be asymmetric and its transposed convolution crops the full
scatter differently from PyTorch's ``padding``; the PyTorch callables pad with ``F.pad`` /
crop with a view so that both produce the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from engine import shapes
from engine.kernels import conv as kconv

RNG_SEED = 20240611


@dataclass
class Case:
    name: str
    engine: Callable
    torch: dict = field(default_factory=dict)
    naive: Optional[Callable] = None
    check: Optional[Callable] = None
    path: str = ""


def _rng():
    return np.random.default_rng(RNG_SEED)


def _torch():
    import torch
    import torch.nn.functional as F

    return torch, F


def _to_nchw(x):
    torch, _ = _torch()
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))


def _channels_last(t):
    torch, _ = _torch()
    fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(t.dim())
    return None if fmt is None else t.contiguous(memory_format=fmt)


def _rel_err(y, ref):
    y = np.asarray(y, np.float64)
    ref = np.asarray(ref, np.float64)
    return float(np.max(np.abs(y - ref)) / max(1.0, float(np.max(np.abs(ref)))))


def _no_grad(fn):
    torch, _ = _torch()

    def run():
        with torch.no_grad():
            return fn()
    return run


# --------------------------------------------------------------------------- torch ops

def torch_conv(x, w, b, strides, dilation, padding, groups=1):
    """PyTorch callables (by memory format) computing engine.kernels.conv's result for
    Keras padding ``padding``; x channels-last numpy, w Keras layout ``(*k, C/g, F)``."""
    torch, F = _torch()
    rank = x.ndim - 2
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    pads = [shapes.conv_padding(n, k, s, d, padding)
            for n, k, s, d in zip(x.shape[1:-1], w.shape[:rank], strides, dilation)]
    pads = [(p0, max(p1, 0)) for p0, p1 in pads]
    wt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(np.moveaxis(w, -1, 0), -1, 1)))
    bt = None if b is None else torch.from_numpy(b)
    symmetric = all(p0 == p1 for p0, p1 in pads)
    flat = [p for pair in reversed(pads) for p in pair]  # F.pad: last axis first

    def make(xt):
        if symmetric:
            return _no_grad(lambda: conv(xt, wt, bt, strides, [p for p, _ in pads], dilation,
                                         groups))
        return _no_grad(lambda: conv(F.pad(xt, flat), wt, bt, strides, 0, dilation, groups))

    xt = _to_nchw(x)
    out = {"nchw": make(xt)}
    xcl = _channels_last(xt)
    if xcl is not None:
        out["channels_last"] = make(xcl)
    return out


def torch_conv_transpose(x, w, b, strides, dilation, pads, out_spatial):
    """PyTorch callables for engine.kernels.conv_transpose; w Keras layout ``(*k, F, C)``."""
    torch, F = _torch()
    rank = x.ndim - 2
    convt = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]
    ks = w.shape[:rank]
    full = [(n - 1) * s + d * (k - 1) + 1 for n, s, d, k in zip(x.shape[1:-1], strides,
                                                                 dilation, ks)]
    extra = [max(0, p + o - f) for p, o, f in zip(pads, out_spatial, full)]
    crop = (slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(pads, out_spatial))
    # torch weight (C_in, C_out, *k) = Keras (*k, F, C) → (C, F, *k)
    wt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(np.moveaxis(w, -1, 0), -1, 1)))
    bt = None if b is None else torch.from_numpy(b)

    def make(xt):
        return _no_grad(lambda: convt(xt, wt, bt, strides, 0, extra, 1, dilation)[crop])

    xt = _to_nchw(x)
    out = {"nchw": make(xt)}
    xcl = _channels_last(xt)
    if xcl is not None:
        out["channels_last"] = make(xcl)
    return out


def _torch_result(fn):
    y = fn()
    return np.moveaxis(y.contiguous().numpy(), 1, -1)


# --------------------------------------------------------------------------- kernels

def conv_case(name, spatial, channels, filters, kernel, strides=1, padding="same", groups=1,
              dilation=1, batch=1, naive=False):
    rank = len(spatial)
    ks = (kernel,) * rank if isinstance(kernel, int) else tuple(kernel)
    st = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    dl = (dilation,) * rank if isinstance(dilation, int) else tuple(dilation)
    rng = _rng()
    x = rng.standard_normal((batch, *spatial, channels), dtype=np.float32)
    w = (rng.standard_normal(ks + (channels // groups, filters), dtype=np.float32)
         / np.sqrt(np.prod(ks) * channels / groups)).astype(np.float32)
    b = rng.standard_normal(filters, dtype=np.float32)
    out = [shapes.conv_output_length(n, k, s, d, padding)
           for n, k, s, d in zip(spatial, ks, st, dl)]
    pads = [shapes.conv_padding(n, k, s, d, padding)[0] for n, k, s, d in zip(spatial, ks, st, dl)]

    def engine():
        return kconv.conv(x, w, b, st, dl, pads, out, groups)

    tfns = torch_conv(x, w, b, st, dl, padding, groups)
    ref = None
    if naive:
        from tests.naive import conv_nd

        ref = lambda: conv_nd(x, w, st, dl, padding, groups) + b  # noqa: E731

    def check():
        return _rel_err(engine(), _torch_result(tfns["nchw"]))

    return Case(name, engine, tfns, ref, check, kconv.path(w.shape, groups, out_width=out[-1]))


def transpose_case(name, spatial, channels, filters, kernel, strides=2, padding="same",
                   dilation=1, batch=1, naive=False):
    rank = len(spatial)
    ks = (kernel,) * rank if isinstance(kernel, int) else tuple(kernel)
    st = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    dl = (dilation,) * rank if isinstance(dilation, int) else tuple(dilation)
    rng = _rng()
    x = rng.standard_normal((batch, *spatial, channels), dtype=np.float32)
    w = (rng.standard_normal(ks + (filters, channels), dtype=np.float32)
         / np.sqrt(np.prod(ks) * channels)).astype(np.float32)
    b = rng.standard_normal(filters, dtype=np.float32)
    out = [shapes.conv_transpose_output_length(n, k, s, d, padding, None)
           for n, k, s, d in zip(spatial, ks, st, dl)]
    pads = [shapes.conv_transpose_padding(n, o, k, s, d, padding)
            for n, o, k, s, d in zip(spatial, out, ks, st, dl)]

    def engine():
        return kconv.conv_transpose(x, w, b, st, dl, pads, out)

    tfns = torch_conv_transpose(x, w, b, st, dl, pads, out)
    ref = None
    if naive:
        from tests.naive import conv_transpose_nd

        ref = lambda: conv_transpose_nd(x, w, st, dl, out, pads) + b  # noqa: E731

    def check():
        return _rel_err(engine(), _torch_result(tfns["nchw"]))

    return Case(name, engine, tfns, ref, check,
                kconv.path(w.shape, transposed=True, out_width=out[-1] // st[-1]))


def kernel_cases():
    return [
        conv_case("conv2d 512x512x3→16 k3 same", (512, 512), 3, 16, 3),
        conv_case("conv2d 56x56x128→128 k3 same", (56, 56), 128, 128, 3),
        conv_case("conv2d 28x28x256→256 k3 same", (28, 28), 256, 256, 3),
        conv_case("conv2d 14x14x512→512 k3 same", (14, 14), 512, 512, 3),
        conv_case("conv2d 7x7x512→512 k3 same", (7, 7), 512, 512, 3),
        conv_case("conv2d 112x112x32→64 k3 s2 same", (112, 112), 32, 64, 3, strides=2),
        conv_case("conv2d 28x28x4→4 k3 s2 same", (28, 28), 4, 4, 3, strides=2, naive=True),
        conv_case("conv2d 64x64x16→16 k3 dil2 same", (64, 64), 16, 16, 3, dilation=2),
        conv_case("grouped 56x56x64→64 g4 k3 same", (56, 56), 64, 64, 3, groups=4),
        conv_case("depthwise 112x112x32 k3 same", (112, 112), 32, 32, 3, groups=32),
        conv_case("depthwise x2 56x56x32 k3 same", (56, 56), 32, 64, 3, groups=32),
        conv_case("pointwise 112x112x32→64 1x1", (112, 112), 32, 64, 1),
        conv_case("conv3d 16x32x32x8→16 k3 same", (16, 32, 32), 8, 16, 3),
        conv_case("conv1d 16000x1→16 k9 same", (16000,), 1, 16, 9, naive=True),
        conv_case("conv1d 4000x32→32 k5 causal", (4000,), 32, 32, 5, padding="causal"),
        transpose_case("tconv2d 64x64x32→16 k3 s2 same", (64, 64), 32, 16, 3),
        transpose_case("tconv2d 28x28x4→4 k3 s2 valid", (28, 28), 4, 4, 3, padding="valid",
                       naive=True),
        transpose_case("tconv2d 16x16x64→32 k4 s2 same", (16, 16), 64, 32, 4),
        transpose_case("tconv3d 8x16x16x16→8 k3 s2 same", (8, 16, 16), 16, 8, 3),
        transpose_case("tconv1d 4000x16→8 k9 s4 same", (4000,), 16, 8, 9, strides=4),
    ]


# --------------------------------------------------------------------------- layers

def _layer_conv_torch(layer, x):
    """PyTorch callables for a built engine conv-family layer (weights copied)."""
    weights = {w.name: w.value for w in layer._weights}
    rank = layer.rank
    name = type(layer).__name__
    b = weights.get("bias")
    if "Transpose" in name:
        spatial = x.shape[1:-1]
        out = [shapes.conv_transpose_output_length(n, k, s, d, layer.padding, None)
               for n, k, s, d in zip(spatial, layer.kernel_size, layer.strides,
                                     layer.dilation_rate)]
        pads = [shapes.conv_transpose_padding(n, o, k, s, d, layer.padding)
                for n, o, k, s, d in zip(spatial, out, layer.kernel_size, layer.strides,
                                         layer.dilation_rate)]
        return torch_conv_transpose(x, weights["kernel"], b, layer.strides, layer.dilation_rate,
                                    pads, out)
    if name.startswith("Depthwise"):
        k = weights["kernel"]
        grouped = k.reshape(k.shape[:rank] + (1, k.shape[-2] * k.shape[-1]))
        return torch_conv(x, grouped, b, layer.strides, layer.dilation_rate, layer.padding,
                          groups=x.shape[-1])
    if name.startswith("Separable"):
        torch, F = _torch()
        k = weights["depthwise_kernel"]
        grouped = k.reshape(k.shape[:rank] + (1, k.shape[-2] * k.shape[-1]))
        depth = torch_conv(x, grouped, None, layer.strides, layer.dilation_rate, layer.padding,
                           groups=x.shape[-1])
        pw = weights["pointwise_kernel"]
        pwt = torch.from_numpy(np.ascontiguousarray(
            np.moveaxis(np.moveaxis(pw, -1, 0), -1, 1)))
        conv = {1: F.conv1d, 2: F.conv2d}[rank]
        bt = None if b is None else torch.from_numpy(b)
        return {fmt: _no_grad(lambda fn=fn: conv(fn(), pwt, bt)) for fmt, fn in depth.items()}
    return torch_conv(x, weights["kernel"], b, layer.strides, layer.dilation_rate,
                      layer.padding, layer.groups)


def _layer_path(layer, x):
    """engine.kernels.conv.path of a built conv-family layer ("-" for the others)."""
    weights = {w.name: w.value for w in layer._weights}
    name = type(layer).__name__
    kernel = weights.get("kernel", weights.get("depthwise_kernel"))
    if kernel is None:
        return "-"
    width = layer.compute_output_shape(x.shape)[-2]  # channels_last
    if "Transpose" in name:
        return kconv.path(kernel.shape, transposed=True, out_width=width // layer.strides[-1])
    if name.startswith(("Depthwise", "Separable")):
        k = kernel.shape
        return kconv.path(k[:-2] + (1, k[-2] * k[-1]), groups=k[-2], out_width=width)
    return kconv.path(kernel.shape, layer.groups, out_width=width)


def layer_case(name, make_layer, shape, torch_fns=None, relu=False):
    rng = _rng()
    x = rng.standard_normal(shape, dtype=np.float32)
    layer = make_layer()
    layer(x)  # build

    def engine():
        return layer(x)

    tfns = torch_fns(layer, x) if torch_fns else _layer_conv_torch(layer, x)
    if relu:
        torch, _ = _torch()
        tfns = {k: _no_grad(lambda fn=fn: torch.relu(fn())) for k, fn in tfns.items()}

    def check():
        return _rel_err(engine(), _torch_result(tfns["nchw"]))

    return Case(name, engine, tfns, None, check, _layer_path(layer, x))


def _upsample_torch(mode):
    def build(layer, x):
        torch, F = _torch()
        xt = _to_nchw(x)
        kw = {} if mode == "nearest" else {"align_corners": False}
        out = {"nchw": _no_grad(lambda: F.interpolate(xt, scale_factor=layer.size, mode=mode,
                                                      **kw))}
        xcl = _channels_last(xt)
        if xcl is not None:
            out["channels_last"] = _no_grad(lambda: F.interpolate(
                xcl, scale_factor=layer.size, mode=mode, **kw))
        return out
    return build


def _zeropad_torch(layer, x):
    torch, F = _torch()
    flat = [p for pair in reversed(layer.padding) for p in pair]
    xt = _to_nchw(x)
    return {"nchw": _no_grad(lambda: F.pad(xt, flat)),
            "channels_last": _no_grad(lambda: F.pad(_channels_last(xt), flat))}


def _crop_torch(layer, x):
    xt = _to_nchw(x)
    index = (slice(None), slice(None)) + tuple(
        slice(a, n - b) for (a, b), n in zip(layer.cropping, x.shape[1:-1]))
    return {"nchw": _no_grad(lambda: xt[index].contiguous())}


def layer_cases():
    from engine import layers as L

    return [
        layer_case("Conv1D(16, 9, same) 16000x1", lambda: L.Conv1D(16, 9, padding="same"),
                   (1, 16000, 1)),
        layer_case("Conv2D(16, 3, same) 512x512x3", lambda: L.Conv2D(16, 3, padding="same"),
                   (1, 512, 512, 3)),
        layer_case("Conv2D(128, 3, same, relu) 56x56x128",
                   lambda: L.Conv2D(128, 3, padding="same", activation="relu"),
                   (1, 56, 56, 128), relu=True),
        layer_case("Conv2D(256, 3, same) 28x28x256", lambda: L.Conv2D(256, 3, padding="same"),
                   (1, 28, 28, 256)),
        # issue 15's Conv2D targets (with 512x512x3 and 56x56x128 above)
        layer_case("Conv2D(64, 3, same) 224x224x64", lambda: L.Conv2D(64, 3, padding="same"),
                   (1, 224, 224, 64)),
        layer_case("Conv2D(128, 3, same) 56x56x128", lambda: L.Conv2D(128, 3, padding="same"),
                   (1, 56, 56, 128)),
        layer_case("Conv2D(512, 3, same) 14x14x512", lambda: L.Conv2D(512, 3, padding="same"),
                   (1, 14, 14, 512)),
        layer_case("Conv2D(512, 3, same) 7x7x512", lambda: L.Conv2D(512, 3, padding="same"),
                   (1, 7, 7, 512)),
        layer_case("Conv2D(64, 3, s2, same) 112x112x32",
                   lambda: L.Conv2D(64, 3, strides=2, padding="same"), (1, 112, 112, 32)),
        layer_case("Conv2D(256, 1) 56x56x256", lambda: L.Conv2D(256, 1), (1, 56, 56, 256)),
        layer_case("Conv3D(16, 3, same) 16x32x32x8", lambda: L.Conv3D(16, 3, padding="same"),
                   (1, 16, 32, 32, 8)),
        layer_case("DepthwiseConv1D(5, same) 4000x32",
                   lambda: L.DepthwiseConv1D(5, padding="same"), (1, 4000, 32)),
        layer_case("DepthwiseConv2D(3, same) 112x112x32",
                   lambda: L.DepthwiseConv2D(3, padding="same"), (1, 112, 112, 32)),
        layer_case("SeparableConv1D(64, 5, same) 4000x32",
                   lambda: L.SeparableConv1D(64, 5, padding="same"), (1, 4000, 32)),
        layer_case("SeparableConv2D(64, 3, same) 112x112x32",
                   lambda: L.SeparableConv2D(64, 3, padding="same"), (1, 112, 112, 32)),
        layer_case("Conv1DTranspose(8, 9, s4, same) 4000x16",
                   lambda: L.Conv1DTranspose(8, 9, strides=4, padding="same"), (1, 4000, 16)),
        layer_case("Conv2DTranspose(16, 3, s2, same) 64x64x32",
                   lambda: L.Conv2DTranspose(16, 3, strides=2, padding="same"),
                   (1, 64, 64, 32)),
        layer_case("Conv2DTranspose(4, 3, s2) 28x28x4",
                   lambda: L.Conv2DTranspose(4, 3, strides=2), (1, 28, 28, 4)),
        layer_case("Conv3DTranspose(8, 3, s2, same) 8x16x16x16",
                   lambda: L.Conv3DTranspose(8, 3, strides=2, padding="same"),
                   (1, 8, 16, 16, 16)),
        layer_case("UpSampling2D(2, bilinear) 128x128x16",
                   lambda: L.UpSampling2D(2, interpolation="bilinear"), (1, 128, 128, 16),
                   _upsample_torch("bilinear")),
        layer_case("UpSampling2D(2, nearest) 128x128x16", lambda: L.UpSampling2D(2),
                   (1, 128, 128, 16), _upsample_torch("nearest")),
        layer_case("ZeroPadding2D(2) 112x112x32", lambda: L.ZeroPadding2D(2),
                   (1, 112, 112, 32), _zeropad_torch),
        layer_case("Cropping2D(4) 112x112x32", lambda: L.Cropping2D(4), (1, 112, 112, 32),
                   _crop_torch),
    ]


# --------------------------------------------------------------------------- cold start

# layer constructor source and input shape, run in a fresh interpreter by benchmarks.cold
COLD_LAYERS = {
    "Conv1D": ("Conv1D(16, 9, padding='same')", (1, 1000, 1)),
    "Conv2D": ("Conv2D(16, 3, padding='same')", (1, 64, 64, 3)),
    "Conv2D deep": ("Conv2D(64, 3, padding='same')", (1, 32, 32, 64)),
    "Conv3D": ("Conv3D(8, 3, padding='same')", (1, 8, 16, 16, 4)),
    "DepthwiseConv2D": ("DepthwiseConv2D(3, padding='same')", (1, 64, 64, 16)),
    "DepthwiseConv2D x2": ("DepthwiseConv2D(3, depth_multiplier=2)", (1, 32, 32, 8)),
    "SeparableConv2D": ("SeparableConv2D(32, 3, padding='same')", (1, 64, 64, 16)),
    "Conv2DTranspose": ("Conv2DTranspose(16, 3, strides=2, padding='same')", (1, 32, 32, 8)),
    "Conv3DTranspose": ("Conv3DTranspose(8, 3, strides=2)", (1, 4, 8, 8, 4)),
    "UpSampling2D bilinear": ("UpSampling2D(2, interpolation='bilinear')", (1, 32, 32, 8)),
}
