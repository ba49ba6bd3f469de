"""Stacked GRUs (both reset_after modes) with SpatialDropout1D and GaussianNoise."""
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential()
model.add(layers.Input((40, 6)))
model.add(layers.GaussianNoise(0.1))
model.add(layers.Conv1D(16, 5, padding="same"))
model.add(layers.SpatialDropout1D(0.2))
for units, last in [(32, False), (16, False), (8, True)]:
    model.add(layers.GRU(units, return_sequences=not last, reset_after=units != 16))
model.add(layers.Dense(3))
