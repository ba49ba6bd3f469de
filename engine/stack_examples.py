"""Example stacks for the shape debugger, as the Keras code people paste.

``EXAMPLES[key]`` is a dict with ``title``, ``about`` (one sentence: what to look at) and
``code`` (Keras 3 code that :func:`engine.stack.parse_keras_code` reads and that builds in
real Keras — the tests check both, layer by layer, against ``model.summary()``).
"""

from __future__ import annotations

VGG_BLOCK = '''\
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(64, 64, 3)),
    layers.Conv2D(32, 3, padding="same", activation="relu"),
    layers.Conv2D(32, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, padding="same", activation="relu"),
    layers.Conv2D(64, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dropout(0.5),
    layers.Dense(10, activation="softmax"),
])
'''

UNET = '''\
import keras
from keras import layers

inputs = keras.Input(shape=(64, 64, 1))
c1 = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
c1 = layers.Conv2D(16, 3, padding="same", activation="relu")(c1)
p1 = layers.MaxPooling2D(2)(c1)
c2 = layers.Conv2D(32, 3, padding="same", activation="relu")(p1)
c2 = layers.Conv2D(32, 3, padding="same", activation="relu")(c2)
p2 = layers.MaxPooling2D(2)(c2)
b = layers.Conv2D(64, 3, padding="same", activation="relu")(p2)
u2 = layers.Conv2DTranspose(32, 2, strides=2, padding="same")(b)
u2 = layers.Concatenate()([u2, c2])
c3 = layers.Conv2D(32, 3, padding="same", activation="relu")(u2)
u1 = layers.Conv2DTranspose(16, 2, strides=2, padding="same")(c3)
u1 = layers.Concatenate()([u1, c1])
c4 = layers.Conv2D(16, 3, padding="same", activation="relu")(u1)
outputs = layers.Conv2D(1, 1, activation="sigmoid")(c4)
model = keras.Model(inputs, outputs)
'''

UNET_ODD = '''\
import keras
from keras import layers

# 100 → 50 → 25 → 12 on the way down; 12 → 24 on the way up does not meet the 25.
inputs = keras.Input(shape=(100, 100, 1))
c1 = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
p1 = layers.MaxPooling2D(2)(c1)
c2 = layers.Conv2D(32, 3, padding="same", activation="relu")(p1)
p2 = layers.MaxPooling2D(2)(c2)
c3 = layers.Conv2D(64, 3, padding="same", activation="relu")(p2)
p3 = layers.MaxPooling2D(2)(c3)
b = layers.Conv2D(128, 3, padding="same", activation="relu")(p3)
u3 = layers.Conv2DTranspose(64, 3, strides=2, padding="same")(b)
u3 = layers.Concatenate()([u3, c3])
c4 = layers.Conv2D(64, 3, padding="same", activation="relu")(u3)
u2 = layers.Conv2DTranspose(32, 3, strides=2, padding="same")(c4)
u2 = layers.Concatenate()([u2, c2])
c5 = layers.Conv2D(32, 3, padding="same", activation="relu")(u2)
u1 = layers.Conv2DTranspose(16, 3, strides=2, padding="same")(c5)
u1 = layers.Concatenate()([u1, c1])
outputs = layers.Conv2D(1, 1, activation="sigmoid")(u1)
model = keras.Model(inputs, outputs)
'''

DCGAN_GENERATOR = '''\
import tensorflow as tf
from tensorflow.keras import layers

# The generator of TensorFlow's DCGAN tutorial: 100 numbers → a 28×28 image.
model = tf.keras.Sequential()
model.add(tf.keras.Input(shape=(100,)))
model.add(layers.Dense(7 * 7 * 256, use_bias=False))
model.add(layers.BatchNormalization())
model.add(layers.LeakyReLU())
model.add(layers.Reshape((7, 7, 256)))
model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
model.add(layers.BatchNormalization())
model.add(layers.LeakyReLU())
model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
model.add(layers.BatchNormalization())
model.add(layers.LeakyReLU())
model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                 activation="tanh"))
'''

WAVENET = '''\
import keras
from keras import layers

# Causal dilated convolutions: the receptive field doubles at every layer.
model = keras.Sequential([
    keras.Input(shape=(1024, 1)),
    layers.Conv1D(16, 2, padding="causal", dilation_rate=1, activation="tanh"),
    layers.Conv1D(16, 2, padding="causal", dilation_rate=2, activation="tanh"),
    layers.Conv1D(16, 2, padding="causal", dilation_rate=4, activation="tanh"),
    layers.Conv1D(16, 2, padding="causal", dilation_rate=8, activation="tanh"),
    layers.Conv1D(16, 2, padding="causal", dilation_rate=16, activation="tanh"),
    layers.Conv1D(16, 2, padding="causal", dilation_rate=32, activation="tanh"),
    layers.Conv1D(16, 2, padding="causal", dilation_rate=64, activation="tanh"),
    layers.Conv1D(16, 2, padding="causal", dilation_rate=128, activation="tanh"),
    layers.Conv1D(1, 1),
])
'''

MOBILENET = '''\
import keras
from keras import layers

# MobileNet's depthwise-separable blocks: depthwise 3×3 → BN → ReLU6 → pointwise 1×1.
model = keras.Sequential([
    keras.Input(shape=(96, 96, 3)),
    layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False),
    layers.BatchNormalization(),
    layers.ReLU(6.0),
    layers.DepthwiseConv2D(3, padding="same", use_bias=False),
    layers.BatchNormalization(),
    layers.ReLU(6.0),
    layers.Conv2D(64, 1, use_bias=False),
    layers.BatchNormalization(),
    layers.ReLU(6.0),
    layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False),
    layers.BatchNormalization(),
    layers.ReLU(6.0),
    layers.Conv2D(128, 1, use_bias=False),
    layers.BatchNormalization(),
    layers.ReLU(6.0),
    layers.SeparableConv2D(128, 3, padding="same", use_bias=False),
    layers.BatchNormalization(),
    layers.ReLU(6.0),
    layers.GlobalAveragePooling2D(),
    layers.Dense(10, activation="softmax"),
])
'''

C3D = '''\
import keras
from keras import layers

# C3D-style video stack (scaled down): 16 frames of 32×32 RGB.
model = keras.Sequential([
    keras.Input(shape=(16, 32, 32, 3)),
    layers.Conv3D(16, 3, padding="same", activation="relu"),
    layers.MaxPooling3D(pool_size=(1, 2, 2)),
    layers.Conv3D(32, 3, padding="same", activation="relu"),
    layers.MaxPooling3D(pool_size=2),
    layers.Conv3D(64, 3, padding="same", activation="relu"),
    layers.Conv3D(64, 3, padding="same", activation="relu"),
    layers.MaxPooling3D(pool_size=2),
    layers.GlobalAveragePooling3D(),
    layers.Dense(101, activation="softmax"),
])
'''

RESNET_DEF = '''\
import keras
from keras import layers


def residual_block(x, filters, stride=1):
    """Two 3×3 convolutions; a 1×1 projection when the shape changes."""
    shortcut = x
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(shortcut)
    return layers.ReLU()(layers.add([x, shortcut]))


inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(16, 3, padding="same")(inputs)
for stage, filters in enumerate([16, 32, 64]):
    for block in range(2):
        x = residual_block(x, filters, stride=2 if block == 0 and stage > 0 else 1)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
'''

EXAMPLES = {
    "vgg_block": {"title": "VGG block", "code": VGG_BLOCK,
                  "about": "Two 3×3 convolutions per stage, then pooling: the receptive field "
                           "grows by 2 per conv and the jump doubles per pool."},
    "unet": {"title": "U-Net (Conv2DTranspose + skips)", "code": UNET,
             "about": "Encoder/decoder with Concatenate skips; every size is a power of 2, "
                      "so the decoder meets the encoder exactly."},
    "unet_odd": {"title": "U-Net on a 100×100 input (broken)", "code": UNET_ODD,
                 "about": "25 pools to 12, and 12 upsamples to 24: the first skip fails. "
                          "The fix suggestions change the transposed convolution."},
    "dcgan_generator": {"title": "DCGAN generator", "code": DCGAN_GENERATOR,
                        "about": "Dense → Reshape → three Conv2DTranspose: 7 → 7 → 14 → 28."},
    "wavenet": {"title": "WaveNet-style dilated causal Conv1D", "code": WAVENET,
                "about": "Causal padding keeps the length; dilations 1…128 give a receptive "
                         "field of 256 samples."},
    "mobilenet": {"title": "MobileNet depthwise-separable blocks", "code": MOBILENET,
                  "about": "DepthwiseConv2D + 1×1 Conv2D cost a fraction of a full 3×3 "
                           "convolution's parameters and multiply-adds."},
    "c3d": {"title": "C3D-style Conv3D stack", "code": C3D,
            "about": "3D convolutions over (frames, rows, cols); the first pooling keeps the "
                     "time axis."},
    "resnet_def": {"title": "ResNet from def residual_block (loops)", "code": RESNET_DEF,
                   "about": "A function and two loops build 6 residual blocks; the "
                            "projection shortcut appears where the shape changes."},
}
