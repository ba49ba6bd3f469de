"""More keras.applications backbones: VGG19, ResNet50V2, MobileNet (classes in a Conv2D
and a Reshape) and Xception (minimum size 71), as models and as a nested layer."""
import keras
from keras import layers
from keras.applications import ResNet50V2, VGG19, Xception
from keras.applications.mobilenet import MobileNet

vgg = VGG19(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
resnet = ResNet50V2(weights=None, input_shape=(64, 64, 3), classes=4)
mobilenet = MobileNet(weights=None, input_shape=(96, 96, 3), classes=3, dropout=0.2)
xception = Xception(include_top=False, weights=None, input_shape=(71, 80, 3))

inputs = keras.Input((71, 80, 3))
x = xception(inputs)
x = layers.GlobalMaxPooling2D()(x)
model = keras.Model(inputs, layers.Dense(2)(x))
