"""The 19 Keras convolutional-family layers (``keras.layers.X`` names and arguments)."""

from engine.layers.base import Layer
from engine.layers.conv import (
    Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
)
from engine.layers.reshaping import (
    Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D, UpSampling3D,
    ZeroPadding1D, ZeroPadding2D, ZeroPadding3D,
)

LAYER_CLASSES = {
    cls.__name__: cls
    for cls in (
        Conv1D, Conv2D, Conv3D, SeparableConv1D, SeparableConv2D, DepthwiseConv1D,
        DepthwiseConv2D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose,
        Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D, UpSampling3D,
        ZeroPadding1D, ZeroPadding2D, ZeroPadding3D,
    )
}

__all__ = ["Layer", "LAYER_CLASSES", *LAYER_CLASSES]
