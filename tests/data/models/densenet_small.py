"""DenseNet blocks: every layer sees the concatenation of all before it."""
import keras
from keras import layers

GROWTH = 8


def dense_layer(x, *, growth=GROWTH, bottleneck=4):
    y = layers.BatchNormalization()(x)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(bottleneck * growth, 1, use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    return layers.Conv2D(growth, 3, padding="same", use_bias=False)(y)


def dense_block(x, n_layers):
    features = [x]
    for _ in range(n_layers):
        x = layers.Concatenate()(features) if len(features) > 1 else features[0]
        features.append(dense_layer(x))
    return layers.Concatenate()(features)


def transition(x, reduction=0.5):
    channels = int(x.shape[-1] * reduction)
    x = layers.BatchNormalization()(x)
    x = layers.Conv2D(channels, 1, use_bias=False)(x)
    return layers.AveragePooling2D(2, strides=2)(x)


inputs = keras.Input((32, 32, 3))
x = layers.Conv2D(2 * GROWTH, 3, padding="same", use_bias=False)(inputs)
blocks = [3, 3]
for i, n in enumerate(blocks):
    x = dense_block(x, n)
    if i != len(blocks) - 1:
        x = transition(x)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
