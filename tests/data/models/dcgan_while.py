"""DCGAN generator grown with a while loop, and its discriminator: two models."""
import keras
from keras import layers

latent_dim = 64
target = 32


def make_generator():
    size, filters = 4, 128
    model = keras.Sequential(name="generator")
    model.add(keras.Input(shape=(latent_dim,)))
    model.add(layers.Dense(size * size * filters))
    model.add(layers.Reshape((size, size, filters)))
    while size < target:
        filters //= 2
        size *= 2
        model.add(layers.Conv2DTranspose(filters, 4, strides=2, padding="same"))
        model.add(layers.LeakyReLU(negative_slope=0.2))
    model.add(layers.Conv2D(3, 5, padding="same", activation="sigmoid"))
    return model


def make_discriminator():
    return keras.Sequential([
        keras.Input(shape=(target, target, 3)),
        layers.Conv2D(32, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(64, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid"),
    ], name="discriminator")


generator = make_generator()
discriminator = make_discriminator()
