"""keras.applications.ResNet50 as the whole model, with its own classifier."""
from keras.applications import ResNet50

model = ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)
