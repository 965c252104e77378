"""Reference models: shapes, torchvision's resnet18 state_dict names and parameter count, weight tying and
causality of GPT, and a few training steps that reduce the loss."""
import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.models import GPT, LeNet5, ResNet, resnet18
from lamina.nn.blocks import BasicBlock, Bottleneck
from tests.helpers import check_error, rand

nnF = nn.functional


def _bn(name):
    return [f"{name}.weight", f"{name}.bias", f"{name}.running_mean", f"{name}.running_var",
            f"{name}.num_batches_tracked"]


def _basic_block(prefix, downsample):
    keys = [f"{prefix}.conv1.weight", *_bn(f"{prefix}.bn1"), f"{prefix}.conv2.weight", *_bn(f"{prefix}.bn2")]
    if downsample:
        keys += [f"{prefix}.downsample.0.weight", *_bn(f"{prefix}.downsample.1")]
    return keys


# torchvision.models.resnet18().state_dict().keys(), in order (torchvision is not installed here).
RESNET18_KEYS = (
    ["conv1.weight", *_bn("bn1")]
    + _basic_block("layer1.0", False) + _basic_block("layer1.1", False)
    + _basic_block("layer2.0", True) + _basic_block("layer2.1", False)
    + _basic_block("layer3.0", True) + _basic_block("layer3.1", False)
    + _basic_block("layer4.0", True) + _basic_block("layer4.1", False)
    + ["fc.weight", "fc.bias"]
)


def _train(model, batches, steps, lr, loss_fn):
    optim = lamina.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optim.zero_grad()
        loss = loss_fn(model, *batches)
        loss.backward()
        optim.step()
        losses.append(loss.item())
    return losses


# ---- ResNet --------------------------------------------------------------------------------------------------

def test_resnet18_state_dict_matches_torchvision():
    model = resnet18()
    state = model.state_dict()
    assert len(RESNET18_KEYS) == 122
    assert list(state) == RESNET18_KEYS
    assert tuple(state["conv1.weight"].shape) == (64, 3, 7, 7)
    assert tuple(state["layer2.0.downsample.0.weight"].shape) == (128, 64, 1, 1)
    assert tuple(state["fc.weight"].shape) == (1000, 512)
    # torchvision's resnet18 has 11,689,512 parameters
    assert sum(p.numel() for p in model.parameters()) == 11_689_512


def test_resnet_forward_shapes_and_options():
    lamina.manual_seed(0)
    model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5, in_channels=1)
    assert model(lamina.randn(2, 1, 32, 32)).shape == (2, 5)
    model.eval()
    assert model(lamina.randn(1, 1, 40, 40)).shape == (1, 5)
    deep = ResNet(Bottleneck, [1, 1, 1, 1], num_classes=3, zero_init_residual=True)
    assert deep.fc.in_features == 2048
    np.testing.assert_array_equal(deep.layer1[0].bn3.weight.detach().numpy(), 0)
    check_error(lambda: ResNet(BasicBlock, [2, 2, 2]), ArgumentError, "4 stages")


def test_resnet_trains():
    lamina.manual_seed(0)
    model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=3)
    x = lamina.tensor(rand(6, 3, 16, 16))
    y = lamina.tensor(np.array([0, 1, 2, 0, 1, 2]))
    losses = _train(model, (x, y), 4, 1e-3, lambda m, x, y: nnF.cross_entropy(m(x), y))
    assert losses[-1] < 0.5 * losses[0], losses


# ---- LeNet-5 -------------------------------------------------------------------------------------------------

def test_lenet5_shapes_and_parameter_count():
    model = LeNet5()
    assert model(lamina.randn(3, 1, 28, 28)).shape == (3, 10)
    assert sum(p.numel() for p in model.parameters()) == 61_706
    assert LeNet5(num_classes=4, in_channels=3)(lamina.randn(1, 3, 28, 28)).shape == (1, 4)
    assert list(model.state_dict())[:2] == ["features.0.weight", "features.0.bias"]


def test_lenet5_trains():
    lamina.manual_seed(0)
    model = LeNet5()
    x = lamina.tensor(rand(16, 1, 28, 28))
    y = lamina.tensor(np.arange(16) % 10)
    losses = _train(model, (x, y), 20, 3e-3, lambda m, x, y: nnF.cross_entropy(m(x), y))
    assert losses[-1] < 0.5 * losses[0], losses


# ---- GPT -----------------------------------------------------------------------------------------------------

def _tiny_gpt(**kw):
    lamina.manual_seed(0)
    return GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, **kw)


def test_gpt_shapes_names_and_tying():
    model = _tiny_gpt()
    idx = lamina.randint(0, 11, (3, 8))
    assert model(idx).shape == (3, 8, 11)
    logits, loss = model(idx[:, :-1], targets=idx[:, 1:])
    assert logits.shape == (3, 7, 11) and loss.shape == ()
    assert model.lm_head.weight is model.wte.weight
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names                     # shared with wte.weight, listed once
    assert names[:2] == ["wte.weight", "wpe.weight"] and "h.1.attn.in_proj_weight" in names
    keys = list(model.state_dict())
    assert "lm_head.weight" in keys and keys[-1] == "lm_head.weight"
    untied = _tiny_gpt(tie_weights=False)
    assert untied.lm_head.weight is not untied.wte.weight
    assert sum(p.numel() for p in untied.parameters()) == sum(p.numel() for p in model.parameters()) + 11 * 16


def test_gpt_is_causal():
    model = _tiny_gpt()
    a = np.array([[1, 2, 3, 4, 5, 6]])
    b = a.copy()
    b[0, 4] = 9
    la = model(lamina.tensor(a)).detach().numpy()
    lb = model(lamina.tensor(b)).detach().numpy()
    np.testing.assert_array_equal(la[0, :4], lb[0, :4])
    assert not np.allclose(la[0, 4:], lb[0, 4:])


def test_gpt_learns_a_repeating_sequence():
    model = _tiny_gpt()
    seq = np.array([[(3 * i + k) % 11 for i in range(9)] for k in range(4)])
    idx, targets = lamina.tensor(seq[:, :-1]), lamina.tensor(seq[:, 1:])
    losses = _train(model, (idx, targets), 30, 1e-2, lambda m, x, y: m(x, targets=y)[1])
    assert losses[-1] < 0.3 * losses[0], losses


def test_gpt_generate():
    model = _tiny_gpt().eval()
    lamina.manual_seed(0)
    out = model.generate(lamina.tensor(np.array([[1, 2], [3, 4]])), max_new_tokens=10, top_k=3)
    assert out.shape == (2, 12) and not out.requires_grad
    values = out.numpy()
    assert values.min() >= 0 and values.max() < 11
    np.testing.assert_array_equal(values[:, :2], [[1, 2], [3, 4]])
    lamina.manual_seed(0)
    again = model.generate(lamina.tensor(np.array([[1, 2], [3, 4]])), max_new_tokens=10, top_k=3)
    np.testing.assert_array_equal(values, again.numpy())
    greedy = model.generate(lamina.tensor(np.array([[1, 2]])), max_new_tokens=4, temperature=0)  # lamina.generate's
    np.testing.assert_array_equal(greedy.numpy(), lamina.generate(model, lamina.tensor([[1, 2]]), 4, 0).numpy())


def test_gpt_errors():
    model = _tiny_gpt()
    check_error(lambda: model(lamina.randint(0, 11, (1, 9))), ShapeError, "block size is only 8")
    check_error(lambda: model(lamina.randn(1, 4)), DTypeError, "GPT", "integer")
    check_error(lambda: GPT(11, 8, 1, 3, 16), ArgumentError, "divisible")
    check_error(lambda: model.generate(lamina.tensor(np.array([[1]])), 2, temperature=-1.0), ArgumentError,
                "temperature")


@pytest.mark.parametrize("name", ["LeNet5", "ResNet", "resnet18", "resnet34", "resnet50", "GPT"])
def test_models_namespace(name):
    import lamina.models
    assert hasattr(lamina.models, name)


@pytest.mark.parametrize("module", ["lamina.nn.rnn", "lamina.nn.attention", "lamina.nn.transformer",
                                    "lamina.nn.blocks", "lamina.models.lenet", "lamina.models.resnet",
                                    "lamina.models.gpt"])
def test_docstring_examples_run(module):
    import doctest
    import importlib
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, extraglobs={"lamina": lamina, "nn": nn}, report=False,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
