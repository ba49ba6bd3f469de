"""Activation layers and pooling aliases between convolutions."""
import keras
from keras import layers

acts = [layers.LeakyReLU(negative_slope=0.1), layers.PReLU(shared_axes=[1, 2]), layers.ELU(),
        layers.ReLU(max_value=6.0), layers.Softmax(axis=-1), layers.PReLU()]

model = keras.Sequential(name="zoo")
model.add(keras.Input((32, 32, 3)))
for i, act in enumerate(acts):
    model.add(layers.Conv2D(4 * (i + 1), 3, padding="same"))
    model.add(act)
    if i % 2:
        model.add(layers.MaxPool2D() if i < 3 else layers.AvgPool2D(pool_size=1))
model.add(layers.GlobalMaxPool2D())
model.add(layers.Dense(3, activation="softmax"))
