"""``keras.layers``: the Layer base class and the layers built on it."""
from lamina.keras.layers.layer import Layer
from lamina.keras.layers.input_spec import InputSpec
from lamina.keras.layers.input_layer import Input, InputLayer
from lamina.keras.layers.lambda_layer import Lambda
from lamina.keras.layers.torch_module_wrapper import TorchModuleWrapper
from lamina.keras.layers import operation  # noqa: F401  (registers the implicit layers of x + y for loading)

# --- layer set ---
from lamina.keras.layers.core import (
    Activation, Dense, Dropout, EinsumDense, Embedding, Flatten, Identity, Permute, RepeatVector, Reshape,
)
from lamina.keras.layers.conv import (
    Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Convolution1D, Convolution2D, Convolution2DTranspose,
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
    SeparableConvolution2D,
)
from lamina.keras.layers.pooling import (
    AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
    MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D,
)
from lamina.keras.layers.reshaping import (
    Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
)
from lamina.keras.layers.normalization import BatchNormalization, LayerNormalization
from lamina.keras.layers.rnn import (
    GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell, StackedRNNCells, TimeDistributed,
)
from lamina.keras.layers.attention import Attention, MultiHeadAttention
from lamina.keras.layers.activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lamina.keras.layers.merging import (
    Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate, dot, maximum,
    minimum, multiply, subtract,
)
