"""Classic U-Net: encoder loop stores skips, decoder loop walks them reversed."""
import keras
from keras import layers


def conv_block(x, filters, name):
    for i in range(2):
        x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i + 1}")(x)
        x = layers.ReLU(name=f"{name}_relu{i + 1}")(x)
    return x


def build_unet(input_shape=(48, 48, 1), depth_filters=(8, 16, 32), classes=2):
    inputs = keras.Input(input_shape, name="image")
    skips = []
    x = inputs
    for level, filters in enumerate(depth_filters):
        x = conv_block(x, filters, f"down{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = conv_block(x, depth_filters[-1] * 2, "bottleneck")
    for level, (filters, skip) in enumerate(zip(reversed(depth_filters), reversed(skips))):
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"up{level}")(x)
        x = layers.Concatenate(name=f"concat{level}")([x, skip])
        x = conv_block(x, filters, f"dec{level}")
    outputs = layers.Conv2D(classes, 1, activation="softmax", name="mask")(x)
    return keras.Model(inputs, outputs, name="unet")


model = build_unet()
