"""Sequential built from a list plus a comprehension over dilation rates."""
import keras
from keras import layers

rates = [1, 2, 4, 8]
filters = 12

model = keras.Sequential(
    [keras.Input(shape=(128, 4))]
    + [layers.Conv1D(filters, 3, dilation_rate=d, padding="causal", activation="relu")
       for d in rates]
    + [layers.GlobalMaxPooling1D(), layers.Dense(len(rates) * 2)],
    name="tcn",
)
