"""EfficientNetB0 base on an odd input size (correct_pad differs) with a new head."""
import keras
from keras import layers
from keras.applications import EfficientNetB0

base = EfficientNetB0(include_top=False, weights=None, input_shape=(65, 71, 3))
x = layers.GlobalAveragePooling2D(name="avg")(base.output)
x = layers.BatchNormalization()(x)
x = layers.Dropout(0.2, name="top_dropout")(x)
outputs = layers.Dense(4, activation="softmax", name="pred")(x)
model = keras.Model(base.input, outputs, name="EfficientNet")
