"""A keras.Model subclass: layers made in __init__ (a comprehension), used in call."""
import keras
from keras import layers


class SmallCNN(keras.Model):
    """Conv blocks then a classifier."""

    def __init__(self, widths=(8, 16), num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.convs = [layers.Conv2D(w, 3, padding="same", activation="relu") for w in widths]
        self.pools = [layers.MaxPooling2D() for _ in widths]
        self.flatten = layers.Flatten()
        self.dropout = layers.Dropout(0.5)
        self.head = layers.Dense(num_classes)

    def call(self, inputs, training=False):
        x = inputs
        for conv, pool in zip(self.convs, self.pools):
            x = pool(conv(x))
        x = self.flatten(x)
        if training:
            x = self.dropout(x, training=training)
        return self.head(self.dropout(x))


model = SmallCNN(name="small_cnn")
model.build((None, 28, 28, 1))
