"""A tiny ViT: patches by a strided Conv2D, self-attention blocks on (patches, dim)."""
import keras
from keras import layers

image_size, patch, dim, heads = 32, 8, 24, 3


def block(x):
    h = layers.LayerNormalization(epsilon=1e-6)(x)
    h = layers.MultiHeadAttention(num_heads=heads, key_dim=dim // heads)(h, h)
    x = layers.add([x, h])
    h = layers.LayerNormalization(epsilon=1e-6)(x)
    h = layers.Dense(dim * 2, activation="gelu")(h)
    h = layers.Dense(dim)(h)
    return layers.add([x, h])


inputs = keras.Input((image_size, image_size, 3))
x = layers.Conv2D(dim, patch, strides=patch)(inputs)
n_patches = x.shape[1] * x.shape[2]
x = layers.Reshape((n_patches, dim))(x)
for _ in range(2):
    x = block(x)
cross = layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=6, output_shape=10,
                                  use_bias=False)
x = cross(query=x, value=x, key=x)
x = layers.GlobalAveragePooling1D()(x)
model = keras.Model(inputs, layers.Dense(10)(x))
