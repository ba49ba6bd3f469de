"""VAE-style file: layers shared between the full model and a generator, and an encoder
model cut from the same graph (Keras-2 era example, sampling replaced by an add)."""
from tensorflow import keras
from tensorflow.keras import layers

original_dim, intermediate_dim, latent_dim = 784, 64, 2

x = keras.Input(shape=(original_dim,))
h = layers.Dense(intermediate_dim, activation="relu")(x)
z_mean = layers.Dense(latent_dim)(h)
z_log_var = layers.Dense(latent_dim)(h)
z = layers.add([z_mean, z_log_var])

decoder_h = layers.Dense(intermediate_dim, activation="relu")
decoder_mean = layers.Dense(original_dim, activation="sigmoid")
x_decoded_mean = decoder_mean(decoder_h(z))
vae = keras.Model(x, x_decoded_mean, name="vae")

encoder = keras.Model(x, z_mean, name="encoder")

decoder_input = keras.Input(shape=(latent_dim,))
generator = keras.Model(decoder_input, decoder_mean(decoder_h(decoder_input)),
                        name="generator")
