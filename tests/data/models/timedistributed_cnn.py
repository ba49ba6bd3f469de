"""Video classifier: a CNN per frame with TimeDistributed, then an LSTM."""
import keras
from keras import layers

FRAMES, H, W = 8, 32, 32

frames = keras.Input((FRAMES, H, W, 3))
x = layers.TimeDistributed(layers.Conv2D(8, 3, activation="relu"))(frames)
x = layers.TimeDistributed(layers.MaxPooling2D(2))(x)
x = layers.TimeDistributed(layers.Conv2D(16, 3, activation="relu"))(x)
x = layers.TimeDistributed(layers.GlobalAveragePooling2D())(x)
x = layers.LSTM(32)(x)
x = layers.Dense(10, activation="softmax")(x)
model = keras.Model(frames, x)
