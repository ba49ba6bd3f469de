"""Keras objects as arguments (activations, regularizers, initializers, constraints), and
keras.ops element-wise functions between layers; a subclass built with input_shape=."""
import keras
from keras import layers, ops, regularizers

L2 = regularizers.l2(1e-4)


def conv(x, filters, **kwargs):
    return layers.Conv2D(filters, 3, padding="same", kernel_regularizer=L2,
                         kernel_initializer=keras.initializers.HeNormal(seed=0), **kwargs)(x)


inputs = keras.Input((24, 24, 3))
x = conv(inputs, 8, activation=keras.activations.relu)
y = ops.sigmoid(conv(x, 8, bias_constraint=keras.constraints.MaxNorm(2.0)))
x = ops.multiply(x, y)
x = layers.SeparableConv2D(16, 3, depthwise_regularizer=regularizers.l1_l2(l1=1e-5),
                           activation=keras.activations.gelu)(x)
x = ops.relu(layers.GlobalAveragePooling2D()(x))
functional = keras.Model(inputs, layers.Dense(3, kernel_regularizer=regularizers.L1(0.01))(x))


class Tiny(keras.Model):
    def __init__(self):
        super().__init__(name="tiny")
        self.dense = layers.Dense(4, activation=keras.activations.tanh)
        self.out = layers.Dense(2)

    def call(self, inputs):
        return self.out(ops.relu(self.dense(inputs)) * 2.0)


model = Tiny()
model.build(input_shape=(None, 6))
