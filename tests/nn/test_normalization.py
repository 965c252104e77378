"""BatchNorm1d/2d, LazyBatchNorm, LayerNorm, GroupNorm, RMSNorm against torch: outputs, gradients, running
statistics after training steps, train vs eval, repr, errors."""
import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, LaminaError, ShapeError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import check_layer, compare_state, gradcheck_layer, load_from_torch


def _steps(l, t, shape, n=3, scale=2.0, shift=0.5):
    """n training steps on fresh batches, then one in eval; the state is compared after each."""
    for i in range(n):
        check_layer(l, t, rand(*shape, seed=i) * scale + shift, load=(i == 0))
    l.eval(), t.eval()
    check_layer(l, t, rand(*shape, seed=99), load=False)
    l.train(), t.train()


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.3), dict(momentum=None), dict(affine=False),
                                dict(bias=False), dict(eps=1e-3)])
def test_batch_norm2d_training_steps_and_eval(kw):
    _steps(nn.BatchNorm2d(3, **kw), torch.nn.BatchNorm2d(3, **kw), (4, 3, 2, 3))


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6)])
def test_batch_norm1d(shape):
    _steps(nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3), shape)


def test_batch_norm_momentum_none_is_cumulative_average():
    l, t = nn.BatchNorm1d(2, momentum=None), torch.nn.BatchNorm1d(2, momentum=None)
    _steps(l, t, (6, 2), n=4)
    assert int(l.num_batches_tracked) == 4


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval():
    l, t = nn.BatchNorm2d(3, track_running_stats=False), torch.nn.BatchNorm2d(3, track_running_stats=False)
    assert l.running_mean is None and l.num_batches_tracked is None
    assert list(l.state_dict()) == ["weight", "bias"]
    l.eval(), t.eval()
    out, _ = check_layer(l, t, rand(4, 3, 2, 2) * 3 + 1)
    # batch statistics: each channel of the output has mean 0
    assert np.allclose(out.detach().numpy().mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_batch_norm_train_and_eval_differ():
    l = nn.BatchNorm1d(2)
    x = lamina.tensor(rand(8, 2) * 4 + 3)
    y_train = l(x).detach().numpy()
    l.eval()
    y_eval = l(x).detach().numpy()
    assert not np.allclose(y_train, y_eval)


def test_batch_norm_constant_channel_gives_zero():
    x = np.ones((4, 2, 3, 3), np.float32)
    x[:, 1] = rand(4, 3, 3)
    out = nn.BatchNorm2d(2)(lamina.tensor(x)).detach().numpy()
    assert np.all(out[:, 0] == 0) and np.all(np.isfinite(out))


def test_batch_norm_gradcheck():
    gradcheck_layer(nn.BatchNorm1d(2), rand(4, 2))
    bn = nn.BatchNorm2d(2)
    with lamina.no_grad():
        bn.weight.uniform_(0.5, 1.5)
    gradcheck_layer(bn, rand(2, 2, 2, 2))
    gradcheck_layer(nn.BatchNorm1d(2), rand(3, 2), train=False)


def test_batch_norm_reprs_and_dtype():
    for kw in [dict(), dict(affine=False), dict(momentum=None, track_running_stats=False), dict(bias=False)]:
        assert repr(nn.BatchNorm2d(8, **kw)) == repr(torch.nn.BatchNorm2d(8, **kw))
    assert repr(nn.BatchNorm1d(4)) == "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, " \
                                      "track_running_stats=True)"
    m = nn.BatchNorm1d(3, dtype=lamina.float64)
    assert m.weight.dtype == lamina.float64 and m.running_var.dtype == lamina.float64
    assert m.num_batches_tracked.dtype == lamina.int64
    check_layer(m, torch.nn.BatchNorm1d(3, dtype=torch.float64), rand(4, 3, dtype=np.float64))


def test_batch_norm_errors():
    net = nn.Sequential(nn.Conv2d(1, 4, 1), nn.BatchNorm2d(8))
    check_error(lambda: net(lamina.randn(2, 1, 3, 3)), ShapeError,
                "1 (BatchNorm2d(8, eps=1e-05", "expected input with 8 channels (dim 1), got shape (2, 4, 3, 3)")
    check_error(lambda: nn.BatchNorm2d(3)(lamina.randn(2, 3, 4)), ShapeError, "expected 4D input", "3D")
    check_error(lambda: nn.BatchNorm1d(3)(lamina.randn(1, 3)), LaminaError, "BatchNorm1d(3", "more than 1 value")
    check_error(lambda: nn.BatchNorm1d(3, eps=0), ArgumentError, "BatchNorm1d", "eps")
    check_error(lambda: nn.BatchNorm1d(3, momentum="fast"), ArgumentError, "momentum")
    bn = nn.BatchNorm1d(3)
    with pytest.raises(LaminaError):
        bn(lamina.randn(1, 3))
    assert int(bn.num_batches_tracked) == 0     # a failed call does not count as a batch


# ---- lazy ---------------------------------------------------------------------------------------------------

def test_lazy_batch_norm2d():
    m = nn.LazyBatchNorm2d()
    assert repr(m) == repr(torch.nn.LazyBatchNorm2d())
    params = list(m.parameters())
    assert len(params) == 2 and all(isinstance(p, nn.UninitializedParameter) for p in params)
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    t = torch.nn.LazyBatchNorm2d()
    x = rand(2, 5, 3, 3)
    out = m(lamina.tensor(x))
    t(torch.tensor(x))
    assert type(m) is nn.BatchNorm2d and m.num_features == 5 and m.weight is params[0]
    assert repr(m) == repr(t)
    compare_state(m, t)
    assert out.shape == (2, 5, 3, 3)


def test_lazy_batch_norm1d_load_and_options():
    t = torch.nn.BatchNorm1d(4)
    t(torch.randn(6, 4))
    m = nn.LazyBatchNorm1d()
    load_from_torch(m, t)
    assert type(m) is nn.BatchNorm1d and m.num_features == 4
    compare_state(m, t)
    m2 = nn.LazyBatchNorm1d(affine=False, track_running_stats=False)
    assert list(m2.parameters()) == [] and m2(lamina.randn(3, 2)).shape == (3, 2)
    assert repr(m2) == repr(torch.nn.BatchNorm1d(2, affine=False, track_running_stats=False))


# ---- LayerNorm, GroupNorm, RMSNorm --------------------------------------------------------------------------

@pytest.mark.parametrize("shape,kw", [(4, dict()), ((3, 4), dict()), (4, dict(elementwise_affine=False)),
                                      (4, dict(bias=False)), ([3, 4], dict(eps=1e-3))])
def test_layer_norm(shape, kw):
    l, t = nn.LayerNorm(shape, **kw), torch.nn.LayerNorm(shape, **kw)
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(0.5, 1.5)
    check_layer(l, t, rand(2, 3, 4) * 3)


def test_layer_norm_gradcheck_and_errors():
    gradcheck_layer(nn.LayerNorm(3), rand(2, 3))
    net = nn.Sequential(nn.Linear(2, 5), nn.LayerNorm(4))
    check_error(lambda: net(lamina.randn(3, 2)), ShapeError, "1 (LayerNorm((4,), eps=1e-05",
                "expected input whose last 1 dim(s) are (4,), got shape (3, 5)")
    check_error(lambda: nn.LayerNorm([]), ArgumentError, "LayerNorm", "normalized_shape")


@pytest.mark.parametrize("kw", [dict(), dict(affine=False), dict(bias=False), dict(eps=1e-3)])
def test_group_norm(kw):
    l, t = nn.GroupNorm(2, 4, **kw), torch.nn.GroupNorm(2, 4, **kw)
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(0.5, 1.5)
    check_layer(l, t, rand(3, 4, 2, 3) * 2)


def test_group_norm_gradcheck_and_errors():
    gradcheck_layer(nn.GroupNorm(2, 4), rand(2, 4, 2))
    check_error(lambda: nn.GroupNorm(3, 4), ArgumentError, "GroupNorm", "num_channels (4)", "num_groups (3)")
    check_error(lambda: nn.GroupNorm(2, 4)(lamina.randn(2, 6, 3)), ShapeError, "GroupNorm(2, 4",
                "expected input of shape (N, 4, *), got shape (2, 6, 3)")


@pytest.mark.parametrize("kw", [dict(), dict(eps=1e-3), dict(elementwise_affine=False)])
def test_rms_norm(kw):
    l, t = nn.RMSNorm([3, 4], **kw), torch.nn.RMSNorm([3, 4], **kw)
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(0.5, 1.5)
    check_layer(l, t, rand(2, 3, 4))
    gradcheck_layer(nn.RMSNorm(3), rand(2, 3))


def test_norm_reprs():
    pairs = [(nn.LayerNorm(4), torch.nn.LayerNorm(4)), (nn.LayerNorm([2, 3], bias=False),
                                                        torch.nn.LayerNorm([2, 3], bias=False)),
             (nn.LayerNorm(5, elementwise_affine=False), torch.nn.LayerNorm(5, elementwise_affine=False)),
             (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)), (nn.GroupNorm(1, 3, affine=False),
                                                              torch.nn.GroupNorm(1, 3, affine=False)),
             (nn.RMSNorm(4), torch.nn.RMSNorm(4))]
    for l, t in pairs:
        assert repr(l) == repr(t)
        assert list(l.state_dict()) == list(t.state_dict())


def test_default_state_equals_torch():
    pairs = [(nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)), (nn.BatchNorm1d(2, affine=False),
                                                           torch.nn.BatchNorm1d(2, affine=False)),
             (nn.LayerNorm([2, 3]), torch.nn.LayerNorm([2, 3])), (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)),
             (nn.RMSNorm(3), torch.nn.RMSNorm(3))]
    for l, t in pairs:
        compare_state(l, t)


def test_lazy_batch_norm_trains_with_optimizer_built_before_first_call():
    from lamina import optim
    m = nn.LazyBatchNorm2d()
    opt = optim.SGD(m.parameters(), lr=0.5)
    x = lamina.randn(4, 3, 2, 2)
    (m(x) * lamina.randn(4, 3, 2, 2)).sum().backward()
    opt.step()
    assert not np.allclose(m.weight.detach().numpy(), 1.0) and int(m.num_batches_tracked) == 1


@pytest.mark.parametrize("lazy", [False, True])
def test_batch_norm_checkpoint_without_num_batches_tracked_loads_like_torch(lazy, tmp_path):
    # A safetensors file carries no torch version metadata, so torch fills a missing num_batches_tracked with the
    # module's current count instead of calling it missing; old checkpoints and hand-made dicts rely on it.
    import safetensors.torch
    source = torch.nn.BatchNorm2d(3)
    source(torch.randn(4, 3, 2, 2))
    state = {k: v for k, v in source.state_dict().items() if k != "num_batches_tracked"}
    path = tmp_path / "bn.safetensors"
    safetensors.torch.save_file(state, str(path))
    t_bn, l_bn = (torch.nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()) if lazy else \
        (torch.nn.BatchNorm2d(3), nn.BatchNorm2d(3))
    if not lazy:
        t_bn.num_batches_tracked.fill_(7)
        l_bn.num_batches_tracked.fill_(7)
    t_result = t_bn.load_state_dict(safetensors.torch.load_file(str(path)))
    l_result = l_bn.load_state_dict(lamina.load(path))
    assert tuple(l_result) == tuple(t_result) == ([], [])
    compare_state(l_bn, t_bn)
    assert int(l_bn.num_batches_tracked) == (0 if lazy else 7)
    # the other keys are still required
    message = check_error(lambda: nn.Sequential(nn.BatchNorm1d(2)).load_state_dict({"0.weight": lamina.ones(2)}),
                          RuntimeError, '"0.bias"', '"0.running_mean"', '"0.running_var"')
    assert "num_batches_tracked" not in message
