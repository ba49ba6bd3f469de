"""Transfer learning: augmentation Sequential, MobileNetV2 base, new head."""
import keras
from keras import layers

IMG_SIZE = (96, 96)
IMG_SHAPE = IMG_SIZE + (3,)

data_augmentation = keras.Sequential([
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.2),
], name="augment")

base_model = keras.applications.MobileNetV2(input_shape=IMG_SHAPE, include_top=False,
                                            weights=None)
base_model.trainable = False

inputs = keras.Input(shape=IMG_SHAPE)
x = data_augmentation(inputs)
x = layers.Rescaling(1.0 / 127.5, offset=-1)(x)
x = base_model(x, training=False)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dropout(0.2)(x)
outputs = layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
