"""Blocks: short compositions of layers that show how models are built. Each has a forward; its backward comes
from the operators it runs.

- ``BasicBlock`` and ``Bottleneck``: ResNet's residual blocks (torchvision's names: conv1, bn1, ..., downsample),
  showing a skip connection ``relu(F(x) + x)``.
- ``InceptionBlock``: GoogLeNet's block, showing parallel branches concatenated along channels.
- ``GPTBlock``: GPT-2's pre-norm transformer block (ln_1, attn, ln_2, mlp), showing residual streams around
  causal self-attention and an MLP.
"""
from lamina.errors import ArgumentError
from lamina.nn.activation import GELU, ReLU
from lamina.nn.attention import MultiheadAttention
from lamina.nn.containers import Sequential
from lamina.nn.conv import Conv2d
from lamina.nn.dropout import Dropout
from lamina.nn.linear import Linear
from lamina.nn.module import Module
from lamina.nn.normalization import BatchNorm2d, LayerNorm
from lamina.nn.pooling import MaxPool2d
from lamina.backend import xp
from lamina.ops.shape import cat as _cat
from lamina.tensor import Tensor


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding, no bias (a BatchNorm follows)."""
    return Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups, bias=False,
                  dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution, no bias."""
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(Module):
    """ResNet-18/34's residual block: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    ``downsample`` (a module, typically conv1x1 + BatchNorm) maps ``x`` to the output's shape when the stride or
    the channel count changes; otherwise the shortcut is the identity.

    Example:
        >>> block = nn.blocks.BasicBlock(64, 64)
        >>> block(lamina.randn(2, 64, 8, 8)).shape
        lamina.Size([2, 64, 8, 8])
    """
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ArgumentError("BasicBlock only supports groups=1 and base_width=64, got "
                                f"groups={groups} and base_width={base_width}")
        if dilation > 1:
            raise ArgumentError(f"BasicBlock: dilation > 1 is not supported, got {dilation}")
        norm_layer = norm_layer or BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(Module):
    """ResNet-50/101/152's residual block: 1x1 (reduce) -> 3x3 (stride here, as torchvision's "ResNet V1.5")
    -> 1x1 (expand by ``expansion`` = 4), each with BatchNorm, plus the shortcut.

    Example:
        >>> block = nn.blocks.Bottleneck(256, 64)                   # 256 -> 64 -> 64 -> 256 channels
        >>> block(lamina.randn(2, 256, 8, 8)).shape
        lamina.Size([2, 256, 8, 8])
    """
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class BasicConv2d(Module):
    """Conv (no bias) -> BatchNorm (eps 0.001) -> ReLU: the unit GoogLeNet's branches are made of."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = BatchNorm2d(out_channels, eps=0.001)
        self.relu = ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class InceptionBlock(Module):
    """GoogLeNet's Inception module: four parallel branches on the same input, concatenated along channels.

    branch1: 1x1 conv; branch2: 1x1 reduce then 3x3; branch3: 1x1 reduce then 5x5 (as in the paper;
    torchvision uses a 3x3 here); branch4: 3x3 max-pool (stride 1) then 1x1 projection. Every branch keeps the
    spatial size, so the output has ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels.

    Example:
        >>> block = nn.blocks.InceptionBlock(192, 64, 96, 128, 16, 32, 32)    # GoogLeNet's inception (3a)
        >>> block(lamina.randn(1, 192, 28, 28)).shape
        lamina.Size([1, 256, 28, 28])
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                  BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                  BasicConv2d(ch5x5red, ch5x5, kernel_size=5, padding=2))
        self.branch4 = Sequential(MaxPool2d(kernel_size=3, stride=1, padding=1),
                                  BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return _cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class GPTBlock(Module):
    """GPT-2's pre-norm transformer block: ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``.

    ``attn`` is causal multi-head self-attention (each position sees itself and earlier ones) on ``(N, T, C)``
    input; ``mlp`` is Linear(C, 4C) -> GELU -> Linear(4C, C) -> Dropout. Normalizing before each sub-block
    (rather than after the residual sum) keeps the residual stream an identity path, which trains deep stacks
    without warm-up tricks.

    Example:
        >>> block = nn.blocks.GPTBlock(n_embd=32, n_head=4)
        >>> block(lamina.randn(2, 10, 32)).shape
        lamina.Size([2, 10, 32])
    """

    def __init__(self, n_embd, n_head, dropout=0.0, bias=True):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = MultiheadAttention(n_embd, n_head, dropout=dropout, bias=bias, batch_first=True)
        self.ln_2 = LayerNorm(n_embd, bias=bias)
        self.mlp = Sequential(Linear(n_embd, 4 * n_embd, bias=bias), GELU(), Linear(4 * n_embd, n_embd, bias=bias),
                              Dropout(dropout))
        self.resid_dropout = Dropout(dropout)

    def forward(self, x):
        T = x.shape[-2]
        # MultiheadAttention wants the mask with the is_causal hint (as torch); the fused kernel then applies
        # causality itself and never reads it.
        causal = Tensor._make(xp.triu(xp.ones((T, T), dtype=bool), k=1))
        h = self.ln_1(x)
        x = x + self.resid_dropout(self.attn(h, h, h, attn_mask=causal, is_causal=True, need_weights=False)[0])
        return x + self.mlp(self.ln_2(x))
