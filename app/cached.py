"""Cached work shared by all views: kernel warm-up, loaded inputs, layer outputs.

``st.cache_resource`` compiles the Numba kernels once per process (they are also cached on
disk). ``st.cache_data`` keeps loaded inputs and layer results, bounded by ``max_entries``.
"""

from __future__ import annotations

import gc
import io
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app import compute
from app.context import ViewContext, weighted_layer
from engine.layers import LAYER_CLASSES


@st.cache_resource(show_spinner="Compiling the convolution kernels (first start only)…")
def warm_up() -> bool:
    """Run every kernel once on a tiny input so the first real request is fast."""
    from engine.layers import Conv2D, Conv2DTranspose, UpSampling2D

    x = np.ones((1, 4, 4, 1), np.float32)
    Conv2D(1, 2)(x)
    Conv2DTranspose(1, 2, strides=2)(x)
    for interp in ("bilinear", "bicubic", "area", "lanczos3"):
        UpSampling2D(2, interpolation=interp)(x)
    return True


@st.cache_resource(show_spinner=False)
def freeze_heap() -> bool:
    """Once per process, after the first page: collect, then move every object alive now
    (modules, Numba's and Plotly's tables, cached kernels) out of the garbage collector's
    reach (``gc.freeze``). Streamlit's ``gc.collect(2)`` after every rerun is switched off
    (``runner.postScriptGC`` in .streamlit/config.toml): scanning that heap cost ~130 ms of
    each rerun. Objects made later (sessions, results) are collected as usual."""
    gc.collect()
    gc.freeze()
    return True


@st.cache_data(max_entries=16, show_spinner=False)
def sample_array(name: str):
    return compute.load_sample(name)


@st.cache_data(max_entries=8, show_spinner=False)
def upload_array(data: bytes, name: str, rank: int):
    """An uploaded / recorded file → (array without batch, meta) for a ``rank``-D layer."""
    from engine import io as eio

    kind = {1: "signal", 2: "image", 3: "volume"}[rank]
    loaded = eio.load_any(data, name, kind=kind)
    return loaded.array, {"kind": loaded.kind, **loaded.meta}


@st.cache_data(max_entries=24, show_spinner=False)
def prepared(source_key, base: np.ndarray, rank: int, color: str, size, batch: int,
             data_format: str) -> np.ndarray:
    del source_key  # part of the cache key only
    return compute.prepare(base, rank, color, size, batch, data_format)


@st.cache_data(max_entries=8, show_spinner=False)
def synthetic_input(shape: tuple, data_format: str) -> np.ndarray:
    return compute.synthetic_input(shape, data_format)


def build_layer(layer_name: str, kwargs: dict, input_shape: tuple, weights_mode: str,
                custom=None):
    """Construct and build an engine layer; preset/custom weights set in Keras's order.
    Raises ValueError (before allocating anything) when the server budget refuses it."""
    refused = compute.cost(LAYER_CLASSES[layer_name](**kwargs), tuple(input_shape)).refused
    if refused:
        raise ValueError(refused)
    layer = weighted_layer(layer_name, kwargs, input_shape, weights_mode, custom)
    if not layer.built:
        layer.build(tuple(input_shape))
    return layer


@dataclass
class Result:
    y: np.ndarray
    weights: list
    losses: list
    seconds: float


@st.cache_data(max_entries=24, show_spinner=False)
def run_layer(layer_name: str, kwargs: dict, x: np.ndarray, weights_mode: str,
              custom=None) -> Result:
    import time

    layer = build_layer(layer_name, kwargs, x.shape, weights_mode, custom)
    t0 = time.perf_counter()
    y = layer(x)
    dt = time.perf_counter() - t0
    return Result(y, layer.get_weights(), [float(v) for v in layer.losses], dt)


#: The router's context (:class:`app.context.ViewContext`) under the name tests use.
AppViewContext = ViewContext


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


def npz_bytes(arrays: list) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{f"w{i}": a for i, a in enumerate(arrays)})
    return buf.getvalue()
