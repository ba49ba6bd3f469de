"""A subclassed model with a helper method and residual sums, built on keras.Input."""
import keras
from keras import layers


class ResidualMLP(keras.Model):
    def __init__(self, width, depth):
        super().__init__()
        self.stem = layers.Dense(width)
        self.blocks = []
        for i in range(depth):
            self.blocks.append(layers.Dense(width, activation="relu", name=f"block_{i}"))
        self.norm = layers.LayerNormalization()
        self.out = layers.Dense(1)

    def residual(self, x, block):
        return x + block(x)

    def call(self, inputs):
        x = self.stem(inputs)
        for block in self.blocks:
            x = self.residual(x, block)
        return self.out(self.norm(x))


model = ResidualMLP(32, depth=3)
outputs = model(keras.Input(shape=(12,)))
