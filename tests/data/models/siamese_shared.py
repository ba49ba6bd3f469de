"""Siamese network: one encoder model applied to two inputs (a shared nested model)."""
import keras
from keras import layers


def make_encoder(shape):
    inp = keras.Input(shape)
    x = layers.Conv2D(8, 3, activation="relu")(inp)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(16)(x)
    return keras.Model(inp, x, name="encoder")


encoder = make_encoder((28, 28, 1))
left = keras.Input((28, 28, 1), name="left")
right = keras.Input((28, 28, 1), name="right")
distance = layers.Subtract()([encoder(left), encoder(right)])
shared_dense = layers.Dense(8, activation="relu")
a = shared_dense(distance)
b = shared_dense(layers.Multiply()([encoder(left), encoder(right)]))
score = layers.Dense(1, activation="sigmoid")(layers.concatenate([a, b]))
model = keras.Model(inputs=[left, right], outputs=score)
