"""``lamina.nn``: layers and blocks in the PyTorch idiom, over one Module class.

``lamina.nn.functional`` holds the operators; everything here is a Module with torch's name, arguments,
default initialisation and state_dict keys.
"""
from lamina.nn import functional
from lamina.nn.parameter import Parameter, UninitializedParameter, UninitializedBuffer
from lamina.nn.module import Module, StateDictError
from lamina.nn.containers import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
# --- init ---
from lamina.nn import init
# --- linear ---
from lamina.nn.linear import Identity, Linear, Bilinear, LazyLinear
# --- conv ---
from lamina.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, LazyConv1d, LazyConv2d
# --- pooling ---
from lamina.nn.pooling import (
    MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
)
from lamina.nn.upsampling import Upsample
# --- normalization ---
from lamina.nn.normalization import (
    BatchNorm1d, BatchNorm2d, BatchNorm3d, LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LayerNorm, GroupNorm,
    RMSNorm,
)
# --- dropout ---
from lamina.nn.dropout import Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout
# --- activation ---
from lamina.nn.activation import (
    ReLU, ReLU6, LeakyReLU, ELU, SELU, CELU, GELU, SiLU, Mish, Sigmoid, Tanh, Softplus, Hardtanh, Hardsigmoid,
    Hardswish, LogSigmoid, Softsign, Softmax, Softmin, LogSoftmax, Softmax2d, Threshold, PReLU, Tanhshrink,
    Hardshrink, Softshrink,
)
# --- sparse ---
from lamina.nn.sparse import Embedding
# --- flatten ---
from lamina.nn.flatten import Flatten, Unflatten
# --- loss ---
from lamina.nn.loss import (
    L1Loss, MSELoss, SmoothL1Loss, HuberLoss, NLLLoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss,
)
# --- rnn ---
from lamina.nn.rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell
# --- attention ---
from lamina.nn.attention import MultiheadAttention
# --- transformer ---
from lamina.nn.transformer import (
    TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder, Transformer,
)
from lamina.nn import blocks
# --- utils ---
from lamina.nn import utils
from lamina.nn.lazy import LazyModuleMixin
