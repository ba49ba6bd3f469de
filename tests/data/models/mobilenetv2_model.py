"""MobileNetV2 with its classifier on a non-default input, a pooled backbone, and one on
an odd input size (imagenet_utils.correct_pad pads differently)."""
import keras

features = keras.applications.MobileNetV2(input_shape=(64, 64, 3), include_top=False,
                                          weights=None, pooling="avg")
odd = keras.applications.MobileNetV2(input_shape=(75, 77, 3), include_top=False,
                                     weights=None, pooling="max")
model = keras.applications.MobileNetV2(input_shape=(80, 80, 3), weights=None, classes=5)
