"""convlab engine: Keras 3's convolutional layer family, exactly, in NumPy + Numba.

Never imports Streamlit or Plotly. Modules: ``shapes`` (all arithmetic), ``kernels``
(``@njit`` only), ``layers`` (the Keras API), ``keras_objects`` (activations, initializers,
regularizers, constraints).
"""
