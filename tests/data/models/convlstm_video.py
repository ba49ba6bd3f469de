"""Next-frame prediction (Keras example): ConvLSTM2D stack and a Conv3D."""
import keras
from keras import layers

inp = layers.Input(shape=(None, 32, 32, 1))
x = layers.ConvLSTM2D(filters=16, kernel_size=(5, 5), padding="same",
                      return_sequences=True, activation="relu")(inp)
x = layers.BatchNormalization()(x)
x = layers.ConvLSTM2D(filters=16, kernel_size=(3, 3), padding="same",
                      return_sequences=True, activation="relu")(x)
x = layers.BatchNormalization()(x)
x = layers.ConvLSTM2D(filters=16, kernel_size=(1, 1), padding="same",
                      return_sequences=True, activation="relu")(x)
x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same")(x)
model = keras.models.Model(inp, x)

seq1d = keras.Sequential([
    keras.Input((10, 20, 3)),
    layers.ConvLSTM1D(8, 3, strides=2, return_sequences=True),
    layers.ConvLSTM1D(4, 3, dilation_rate=2),
])
vol = keras.Sequential([
    keras.Input((4, 8, 8, 8, 2)),
    layers.ConvLSTM3D(4, 3, padding="same"),
    layers.GlobalAveragePooling3D(),
])
