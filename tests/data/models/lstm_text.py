"""Text classifier: Embedding, stacked bidirectional LSTMs."""
import keras
from keras import layers

max_features = 2000
embedding_dim = 32

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(max_features, embedding_dim)(inputs)
x = layers.Bidirectional(layers.LSTM(24, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(16), merge_mode="sum")(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
