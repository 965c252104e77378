"""``lamina.nn.functional``: torch.nn.functional's operators, each a re-export of an operator in ``lamina.ops``."""
# --- elementwise ---
from lamina.ops.elementwise import sigmoid, tanh
from lamina.ops.activation import (
    relu, relu6, hardtanh, leaky_relu, elu, selu, celu, gelu, silu, softplus, mish, logsigmoid, hardsigmoid,
    hardswish, softsign, threshold, tanhshrink, hardshrink, softshrink,
)
# --- reduce ---
# --- linalg ---
# --- shape ---
# --- index ---
from lamina.ops.index import one_hot
# --- conv ---
# --- nn ---
from lamina.ops.nn import (
    alpha_dropout, bilinear, cosine_similarity, dropout, dropout1d, dropout2d, dropout3d, embedding,
    feature_alpha_dropout, linear, log_softmax, normalize, pairwise_distance, softmax, softmin,
)
from lamina.ops.normalization import batch_norm, group_norm, instance_norm, layer_norm, rms_norm
from lamina.ops.attention import scaled_dot_product_attention
# --- loss ---
from lamina.ops.loss import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div, l1_loss, mse_loss,
    nll_loss, smooth_l1_loss,
)
