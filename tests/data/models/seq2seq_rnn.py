"""A repeat-vector seq2seq with SimpleRNN, Masking and TimeDistributed(Dense)."""
import keras
from keras import layers

steps_in, steps_out, features = 20, 5, 3

model = keras.Sequential([
    layers.Input(shape=(steps_in, features)),
    layers.Masking(mask_value=0.0),
    layers.SimpleRNN(32),
    layers.RepeatVector(steps_out),
    layers.SimpleRNN(16, return_sequences=True, use_bias=False),
    layers.TimeDistributed(layers.Dense(features)),
])
