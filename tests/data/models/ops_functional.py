"""Functional code with keras.ops on tensors: shapes read from tensors, ops not layers."""
import keras
from keras import layers, ops

inputs = keras.Input((16, 16, 8))
channels = ops.shape(inputs)[-1]
a = layers.Conv2D(channels, 3, padding="same")(inputs)
b = layers.Conv2D(channels, 1)(inputs)
x = ops.add(a, b) * 0.5
x = ops.concatenate([x, inputs], axis=-1)
x = layers.Conv2D(x.shape[-1] // 2, 3, strides=2)(x)
scale = layers.Dense(x.shape[-1], activation="sigmoid")(layers.GlobalAveragePooling2D()(x))
x = layers.Multiply()([x, layers.Reshape((1, 1, x.shape[-1]))(scale)])
model = keras.Model(inputs, layers.Flatten()(x))
