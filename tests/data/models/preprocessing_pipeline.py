"""Preprocessing and augmentation layers in front of a small CNN."""
import keras
from keras import layers

model = keras.Sequential([
    keras.Input((120, 100, 3)),
    layers.Resizing(72, 72),
    layers.CenterCrop(64, 64),
    layers.Rescaling(1.0 / 255),
    layers.Normalization(),
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
    layers.RandomZoom(0.1),
    layers.RandomTranslation(0.1, 0.1),
    layers.RandomContrast(0.2),
    layers.RandomBrightness(0.2),
    layers.RandomCrop(56, 56),
    layers.Conv2D(8, 3),
    layers.Normalization(axis=None, mean=0.5, variance=0.25),
    layers.GlobalAveragePooling2D(),
    layers.Dense(2),
])
