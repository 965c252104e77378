"""nn.blocks against torch twins written here (torchvision is not installed): outputs, gradients, BatchNorm
buffers after a step, state_dict names; GPTBlock's causality."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import lamina
from lamina import nn
from lamina.nn.blocks import BasicBlock, Bottleneck, GPTBlock, InceptionBlock
from tests.helpers import rand
from tests.nn.layer_helpers import compare_state
from tests.nn.seq_helpers import compare


# ---- torch twins, written the way torchvision / nanoGPT write them --------------------------------------------

class TorchBasicBlock(tnn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + identity)


class TorchBottleneck(tnn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class TorchBasicConv2d(tnn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = tnn.BatchNorm2d(cout, eps=0.001)
        self.relu = tnn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class TorchInception(tnn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = TorchBasicConv2d(cin, c1, kernel_size=1)
        self.branch2 = tnn.Sequential(TorchBasicConv2d(cin, c3r, kernel_size=1),
                                      TorchBasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(TorchBasicConv2d(cin, c5r, kernel_size=1),
                                      TorchBasicConv2d(c5r, c5, kernel_size=5, padding=2))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1), TorchBasicConv2d(cin, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TorchGPTBlock(tnn.Module):
    def __init__(self, n_embd, n_head, dropout=0.0, bias=True):
        super().__init__()
        self.ln_1 = tnn.LayerNorm(n_embd, bias=bias)
        self.attn = tnn.MultiheadAttention(n_embd, n_head, dropout=dropout, bias=bias, batch_first=True)
        self.ln_2 = tnn.LayerNorm(n_embd, bias=bias)
        self.mlp = tnn.Sequential(tnn.Linear(n_embd, 4 * n_embd, bias=bias), tnn.GELU(),
                                  tnn.Linear(4 * n_embd, n_embd, bias=bias), tnn.Dropout(dropout))
        self.resid_dropout = tnn.Dropout(dropout)

    def forward(self, x):
        T = x.shape[-2]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        h = self.ln_1(x)
        x = x + self.resid_dropout(self.attn(h, h, h, attn_mask=mask, is_causal=True, need_weights=False)[0])
        return x + self.mlp(self.ln_2(x))


def _downsamples(cin, cout, stride):
    return (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)),
            tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout)))


BN_KEYS = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def _bn(name):
    return [f"{name}.{k}" for k in BN_KEYS]


# ---- residual blocks -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shortcut", ["identity", "downsample"])
def test_basic_block_matches_torch(shortcut, train):
    if shortcut == "identity":
        l_block, t_block = BasicBlock(4, 4), TorchBasicBlock(4, 4)
    else:
        l_ds, t_ds = _downsamples(4, 6, 2)
        l_block, t_block = BasicBlock(4, 6, 2, l_ds), TorchBasicBlock(4, 6, 2, t_ds)
    expected = ["conv1.weight"] + _bn("bn1") + ["conv2.weight"] + _bn("bn2")
    if shortcut == "downsample":
        expected += ["downsample.0.weight"] + _bn("downsample.1")
    assert list(l_block.state_dict()) == expected
    l_block.train(train), t_block.train(train)
    compare(l_block, t_block, rand(2, 4, 6, 6))
    compare_state(l_block, t_block, rtol=1e-5, atol=1e-5)     # running statistics after the step


@pytest.mark.parametrize("stride", [1, 2])
def test_bottleneck_matches_torch(stride):
    l_ds, t_ds = _downsamples(8, 16, stride)
    l_block, t_block = Bottleneck(8, 4, stride, l_ds), TorchBottleneck(8, 4, stride, t_ds)
    assert list(l_block.state_dict()) == ["conv1.weight"] + _bn("bn1") + ["conv2.weight"] + _bn("bn2") + \
        ["conv3.weight"] + _bn("bn3") + ["downsample.0.weight"] + _bn("downsample.1")
    l_out, _ = compare(l_block, t_block, rand(2, 8, 6, 6))
    assert tuple(l_out.shape) == (2, 16, 6 // stride, 6 // stride)
    compare_state(l_block, t_block, rtol=1e-5, atol=1e-5)


def test_inception_block_matches_torch():
    l_block, t_block = InceptionBlock(6, 2, 3, 4, 2, 3, 2), TorchInception(6, 2, 3, 4, 2, 3, 2)
    assert list(l_block.state_dict()) == list(t_block.state_dict())
    assert list(l_block.state_dict())[:6] == ["branch1.conv.weight"] + _bn("branch1.bn")
    l_out, _ = compare(l_block, t_block, rand(2, 6, 5, 5))
    assert tuple(l_out.shape) == (2, 2 + 4 + 3 + 2, 5, 5)


# ---- GPT block -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
def test_gpt_block_matches_torch(bias):
    l_block, t_block = GPTBlock(8, 2, bias=bias), TorchGPTBlock(8, 2, bias=bias)
    expected = ["ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
                "attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.0.weight", "mlp.0.bias", "mlp.2.weight",
                "mlp.2.bias"]
    if not bias:
        expected = [k for k in expected if "bias" not in k]
    assert list(l_block.state_dict()) == expected
    compare(l_block, t_block, rand(2, 5, 8))


def test_gpt_block_is_causal():
    """Changing a later token leaves every earlier position's output unchanged."""
    block = GPTBlock(8, 2)
    x = rand(1, 6, 8)
    y = x.copy()
    y[0, 4] += 1.0
    a = block(lamina.tensor(x)).detach().numpy()
    b = block(lamina.tensor(y)).detach().numpy()
    np.testing.assert_array_equal(a[0, :4], b[0, :4])
    assert not np.allclose(a[0, 4:], b[0, 4:])


def test_gpt_block_dropout_train_vs_eval():
    lamina.manual_seed(0)
    block = GPTBlock(8, 2, dropout=0.3)
    x = lamina.tensor(rand(2, 4, 8))
    a = block(x).detach().numpy()
    block.eval()
    b = block(x).detach().numpy()
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(b, block(x).detach().numpy())


def test_gpt_block_gradcheck():
    lamina.manual_seed(0)
    block = GPTBlock(4, 2).double()
    x = lamina.tensor(rand(1, 3, 4).astype(np.float64), requires_grad=True)
    assert lamina.autograd.gradcheck(lambda x, *p: block(x), [x] + list(block.parameters()))


def test_blocks_exported():
    assert nn.blocks.BasicBlock is BasicBlock and nn.blocks.GPTBlock is GPTBlock
    assert BasicBlock.expansion == 1 and Bottleneck.expansion == 4


@pytest.mark.parametrize("make", [lambda: BasicBlock(2, 2), lambda: Bottleneck(4, 1),
                                  lambda: BasicBlock(2, 3, 2, nn.Sequential(nn.Conv2d(2, 3, 1, 2, bias=False),
                                                                            nn.BatchNorm2d(3))),
                                  lambda: InceptionBlock(2, 1, 1, 1, 1, 1, 1)],
                         ids=["basic", "bottleneck", "basic-downsample", "inception"])
def test_conv_blocks_gradcheck(make):
    # Training mode: BatchNorm normalises with the batch statistics, so the gradient flows through them too.
    lamina.manual_seed(0)
    block = make().double()
    x = lamina.tensor(rand(2, block.conv1.in_channels if hasattr(block, "conv1") else 2, 3, 3).astype(np.float64),
                      requires_grad=True)
    assert lamina.autograd.gradcheck(lambda x, *p: block(x), [x] + list(block.parameters()))
