"""WaveNet-style stack: a loop over dilation rates, gated activations, skip sums."""
import keras
from keras import layers

DILATIONS = [2 ** i for i in range(6)]
RESIDUAL, SKIP = 16, 32


def wavenet(steps=256, channels=1, out_classes=8):
    inputs = keras.Input(shape=(steps, channels))
    x = layers.Conv1D(RESIDUAL, 2, padding="causal", name="causal_in")(inputs)
    skips = []
    for i, rate in enumerate(DILATIONS):
        tanh = layers.Conv1D(RESIDUAL, 2, dilation_rate=rate, padding="causal",
                             activation="tanh", name=f"filter_{i}")(x)
        sigm = layers.Conv1D(RESIDUAL, 2, dilation_rate=rate, padding="causal",
                             activation="sigmoid", name=f"gate_{i}")(x)
        z = layers.Multiply(name=f"gated_{i}")([tanh, sigm])
        skips.append(layers.Conv1D(SKIP, 1, name=f"skip_{i}")(z))
        x = layers.add([x, layers.Conv1D(RESIDUAL, 1, name=f"res_{i}")(z)])
    out = layers.Activation("relu")(layers.add(skips))
    out = layers.Conv1D(SKIP, 1, activation="relu")(out)
    out = layers.Conv1D(out_classes, 1, activation="softmax")(out)
    return keras.Model(inputs, out, name="wavenet")


model = wavenet()
