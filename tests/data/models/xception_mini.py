"""Xception-style entry flow: separable and depthwise convolutions, strided shortcuts."""
import keras
from keras import layers

entry = [(32, True), (64, True), (96, False)]


def sep_block(x, filters, downsample):
    shortcut = layers.Conv2D(filters, 1, strides=2 if downsample else 1, padding="same")(x)
    for i in range(2):
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", depth_multiplier=1 + i)(x)
        x = layers.BatchNormalization()(x)
    if downsample:
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    return layers.Add()([x, shortcut])


inputs = keras.Input(shape=(48, 48, 3))
x = layers.Conv2D(16, 3, strides=2)(inputs)
x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)
for filters, down in entry:
    x = sep_block(x, filters, down)
x = layers.SeparableConv2D(128, 3, activation="relu")(x)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(3)(x), name="xception_mini")
