"""VGG16 features with max pooling, then a small head on base.output."""
import tensorflow as tf

base = tf.keras.applications.VGG16(include_top=False, weights=None, input_shape=(48, 48, 3),
                                   pooling="max")
x = base.output
x = tf.keras.layers.Dense(64, activation="relu")(x)
x = tf.keras.layers.Dropout(0.3)(x)
out = tf.keras.layers.Dense(5, activation="softmax")(x)
model = tf.keras.Model(inputs=base.input, outputs=out)
