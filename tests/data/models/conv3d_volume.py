"""3D segmentation-ish stack: Conv3D, pooling, padding, cropping, upsampling."""
from keras import Input, Model, layers

shape = (16, 24, 24, 1)
inputs = Input(shape)
x = layers.ZeroPadding3D(((1, 1), (2, 2), (2, 2)))(inputs)
x = layers.Conv3D(8, 3, activation="relu")(x)
x = layers.MaxPool3D(2)(x)
x = layers.Conv3D(16, (1, 3, 3), padding="same")(x)
x = layers.UpSampling3D((2, 2, 2))(x)
x = layers.Cropping3D(((0, 0), (1, 1), (1, 1)))(x)
x = layers.Conv3DTranspose(4, 3, strides=(1, 2, 2), padding="same")(x)
x = layers.GlobalAveragePooling3D()(x)
model = Model(inputs, layers.Dense(2)(x))
