"""Absurd geometry against real Keras: kernels far larger than the input, strides far
larger than the kernel, dilations far larger than the input (sizes kept small enough for
TensorFlow, which pads and scatters in full). Each configuration must be computed, and
equal Keras's output, ``compute_output_shape`` and weights (:func:`tests.keras_ref.compare`).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.keras_ref import compare

CASES = [  # (layer, kwargs, input shape)
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3000}, (1, 6, 2)),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3001, "padding": "same"}, (1, 6, 2)),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 2, "strides": 5000}, (1, 6, 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 7, "dilation_rate": 900}, (2, 5, 2)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": (60, 70)}, (1, 3, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": (40, 50),
                         "padding": "same"}, (1, 3, 3, 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": (9, 2, 33)}, (1, 2, 3, 2, 2)),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "dilation_rate": 10 ** 4, "padding": "same"},
     (1, 8, 2)),
    ("Conv1D", {"filters": 2, "kernel_size": 5, "dilation_rate": 3000, "padding": "causal"},
     (1, 9, 2)),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 300, "padding": "same"},
     (1, 6, 6, 2)),
    ("Conv2D", {"filters": 4, "kernel_size": (40, 3), "padding": "same"}, (1, 6, 5, 2)),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "strides": 10 ** 6, "padding": "same"},
     (1, 6, 6, 2)),
    ("DepthwiseConv2D", {"kernel_size": 5, "dilation_rate": (70, 90), "padding": "same",
                         "depth_multiplier": 2}, (1, 6, 6, 3)),
    ("SeparableConv1D", {"filters": 3, "kernel_size": 200, "padding": "same"}, (1, 10, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", CASES, ids=[f"{c[0]}-{i}" for i, c in
                                                          enumerate(CASES)])
def test_absurd_geometry_matches_keras(name, kwargs, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    assert compare(name, kwargs, x) == "accepted"
