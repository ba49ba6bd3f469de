"""Inception modules: branches from a dict of filter counts, concatenated."""
import keras
from keras import layers

CONFIG = {"3a": dict(b1=16, b3r=8, b3=16, b5r=4, b5=8, pool=8),
          "3b": dict(b1=24, b3r=12, b3=24, b5r=4, b5=12, pool=12)}


def conv_bn(x, filters, kernel, **kwargs):
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, **kwargs)(x)
    x = layers.BatchNormalization(scale=False)(x)
    return layers.Activation("relu")(x)


def inception(x, b1, b3r, b3, b5r, b5, pool):
    branch1 = conv_bn(x, b1, 1)
    branch3 = conv_bn(conv_bn(x, b3r, 1), b3, 3)
    branch5 = conv_bn(conv_bn(x, b5r, 1), b5, (5, 5))
    branch_pool = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    branch_pool = conv_bn(branch_pool, pool, 1)
    return layers.concatenate([branch1, branch3, branch5, branch_pool], axis=-1)


inputs = keras.Input((40, 40, 3))
x = conv_bn(inputs, 32, 3, strides=2)
for name, cfg in CONFIG.items():
    x = inception(x, **cfg)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(7)(x))
