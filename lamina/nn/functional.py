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
from lamina.ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, pad, unfold
from lamina.ops.pool import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices, adaptive_max_pool2d, adaptive_max_pool2d_with_indices, avg_pool1d, avg_pool2d,
    interpolate, max_pool1d, max_pool1d_with_indices, max_pool2d, max_pool2d_with_indices, upsample,
    upsample_bilinear, upsample_nearest,
)
# --- nn ---
from lamina.ops.nn import (
    alpha_dropout, bilinear, cosine_similarity, dropout, dropout1d, dropout2d, dropout3d, embedding,
    feature_alpha_dropout, linear, log_softmax, normalize, pairwise_distance, softmax, softmin,
)
from lamina.ops.normalization import batch_norm, group_norm, instance_norm, layer_norm, rms_norm
from lamina.ops.attention import scaled_dot_product_attention
# --- loss ---
from lamina.ops.loss import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, gaussian_nll_loss, kl_div, nll_loss,
    poisson_nll_loss,
)
from lamina.ops.loss_distance import (
    cosine_embedding_loss, hinge_embedding_loss, huber_loss, l1_loss, margin_ranking_loss, mse_loss,
    smooth_l1_loss, soft_margin_loss,
)
