"""Identity, Linear, Bilinear, LazyLinear against torch; default init; errors that name the layer."""
import math

import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, LaminaError, ShapeError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import check_layer, compare_state, gradcheck_layer, load_from_torch


def test_identity():
    m = nn.Identity(54, unused_argument1=0.1)
    x = lamina.randn(2, 3)
    assert m(x) is x
    assert repr(m) == "Identity()"


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_matches_torch(bias, shape):
    check_layer(nn.Linear(3, 2, bias=bias), torch.nn.Linear(3, 2, bias=bias), rand(*shape))


def test_linear_float64_dtype_argument():
    m = nn.Linear(3, 2, dtype=lamina.float64)
    assert m.weight.dtype == lamina.float64 and m.bias.dtype == lamina.float64
    check_layer(m, torch.nn.Linear(3, 2, dtype=torch.float64), rand(4, 3, dtype=np.float64))


def test_linear_init_statistics():
    lamina.manual_seed(0)
    m = nn.Linear(400, 300)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    bound = 1 / math.sqrt(400)
    # kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)); same bound for the bias
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.mean()) < 0.02 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert np.abs(w).max() > 0.99 * bound


def test_linear_init_is_reproducible():
    lamina.manual_seed(3)
    a = nn.Linear(5, 4)
    lamina.manual_seed(3)
    b = nn.Linear(5, 4)
    assert np.array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    assert np.array_equal(a.bias.detach().numpy(), b.bias.detach().numpy())


def test_linear_gradcheck():
    gradcheck_layer(nn.Linear(3, 2), rand(2, 3))


def test_linear_bad_input_names_layer_path():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(256, 10))
    msg = check_error(lambda: net(lamina.randn(2, 4)), ShapeError, "2 (Linear(in_features=256, out_features=10",
                      "expected input with 256 features (last dim), got shape (2, 8)")
    assert msg.startswith("2 (Linear(")


def test_linear_error_in_nested_model():
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(256, 10)

        def forward(self, x):
            return self.fc(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 300), nn.ReLU())
            self.head = Head()

        def forward(self, x):
            return self.head(self.body(x))

    check_error(lambda: Net()(lamina.randn(5, 3)), ShapeError,
                "head.fc (Linear(in_features=256, out_features=10, bias=True)): expected input with 256 features "
                "(last dim), got shape (5, 300)")


def test_linear_bad_arguments():
    check_error(lambda: nn.Linear(-1, 2), ArgumentError, "Linear", "in_features", "-1")
    check_error(lambda: nn.Linear(2, 2.5), ArgumentError, "out_features")
    check_error(lambda: nn.Linear(2, 2, dtype=lamina.int64), ArgumentError, "dtype", "floating")
    check_error(lambda: nn.Linear(2, 2, device="cuda"), ArgumentError, "device")


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(bias):
    check_layer(nn.Bilinear(2, 3, 4, bias=bias), torch.nn.Bilinear(2, 3, 4, bias=bias), rand(5, 2), rand(5, 3))


def test_bilinear_init_and_gradcheck():
    lamina.manual_seed(0)
    m = nn.Bilinear(16, 3, 200)
    bound = 1 / 4
    assert np.abs(m.weight.detach().numpy()).max() <= bound and np.abs(m.weight.detach().numpy()).max() > 0.99 * bound
    assert m.weight.detach().numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    gradcheck_layer(nn.Bilinear(2, 2, 2), rand(2, 2), rand(2, 2))
    check_error(lambda: m(lamina.randn(2, 16), lamina.randn(2, 4)), ShapeError, "input2 with 3 features")


# ---- LazyLinear ---------------------------------------------------------------------------------------------

def test_lazy_linear_before_and_after_first_call():
    m = nn.LazyLinear(3)
    assert repr(m) == repr(torch.nn.LazyLinear(3)) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    params = list(m.parameters())
    assert len(params) == 2 and all(isinstance(p, nn.UninitializedParameter) for p in params)
    state = m.state_dict()   # before the first call: the placeholders, no crash
    assert list(state) == ["weight", "bias"] and isinstance(state["weight"], nn.UninitializedParameter)
    out = m(lamina.randn(4, 7))
    assert out.shape == (4, 3)
    assert type(m) is nn.Linear and repr(m) == "Linear(in_features=7, out_features=3, bias=True)"
    assert m.weight is params[0] and m.bias is params[1]        # the same objects, now materialized
    assert type(m.weight) is nn.Parameter and m.weight.shape == (3, 7)
    bound = 1 / math.sqrt(7)
    assert 0 < np.abs(m.weight.detach().numpy()).max() <= bound


def test_lazy_linear_optimizer_built_before_first_call_trains_it():
    m = nn.LazyLinear(2)
    opt_params = list(m.parameters())
    x = lamina.randn(5, 4)
    m(x).sum().backward()
    w0 = m.weight.detach().numpy().copy()
    with lamina.no_grad():
        for p in opt_params:         # a plain SGD step on the list taken before the first call
            p -= 0.1 * p.grad
    assert not np.allclose(m.weight.detach().numpy(), w0)
    assert np.allclose(m.weight.detach().numpy(), w0 - 0.1 * m.weight.grad.detach().numpy())


def test_lazy_linear_load_state_dict_materializes():
    t = torch.nn.Linear(6, 3)
    m = nn.LazyLinear(3)
    load_from_torch(m, t)
    assert type(m) is nn.Linear and m.in_features == 6
    compare_state(m, t)
    check_layer(m, t, rand(2, 6), load=False)


def test_lazy_linear_state_dict_round_trip_between_lazy_layers():
    a, b = nn.LazyLinear(2), nn.LazyLinear(2)
    b.load_state_dict(a.state_dict())          # both uninitialized: nothing to copy, no error
    assert b.has_uninitialized_params()
    a(lamina.randn(1, 3))
    b.load_state_dict(a.state_dict())
    assert np.array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())


def test_lazy_linear_dtype_and_no_bias():
    m = nn.LazyLinear(2, bias=False, dtype=lamina.float64)
    m(lamina.randn(3, 4, dtype=lamina.float64))
    assert m.weight.dtype == lamina.float64 and m.bias is None
    assert repr(m) == "Linear(in_features=4, out_features=2, bias=False)"


def test_lazy_linear_inside_model_names_layer_on_error():
    net = nn.Sequential(nn.LazyLinear(4), nn.Linear(5, 2))
    check_error(lambda: net(lamina.randn(2, 3)), LaminaError, "1 (Linear(in_features=5", "got shape (2, 4)")


def test_lazy_mlp_trains_with_optimizer_built_before_first_call():
    from lamina import optim
    lamina.manual_seed(0)
    net = nn.Sequential(nn.LazyLinear(8), nn.Tanh(), nn.LazyLinear(1))
    placeholders = list(net.parameters())
    opt = optim.SGD(net.parameters(), lr=0.1)
    x, y = lamina.randn(16, 3), lamina.randn(16, 1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = nn.MSELoss()(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    assert [id(p) for p in net.parameters()] == [id(p) for p in placeholders]
    assert repr(net[0]) == "Linear(in_features=3, out_features=8, bias=True)"


def test_lazy_linear_double_before_first_call():
    m = nn.LazyLinear(3).double()
    assert m(lamina.randn(2, 4, dtype=lamina.float64)).dtype == lamina.float64


def test_lazy_linear_deepcopy_before_first_call():
    import copy
    m = copy.deepcopy(nn.LazyLinear(3))
    assert m(lamina.randn(2, 4)).shape == (2, 3)


def test_lazy_layers_with_adam_built_before_first_call_match_torch():
    # Both optimizers see only placeholders; after the first call torch's weights are copied over and every
    # later step must agree (Adam's state is created with the materialized shapes).
    from lamina import optim
    l_net = nn.Sequential(nn.LazyLinear(6), nn.Tanh(), nn.LazyLinear(2))
    t_net = torch.nn.Sequential(torch.nn.LazyLinear(6), torch.nn.Tanh(), torch.nn.LazyLinear(2))
    l_opt, t_opt = optim.Adam(l_net.parameters(), lr=0.05), torch.optim.Adam(t_net.parameters(), lr=0.05)
    x, y = rand(8, 3), rand(8, 2)
    for step in range(5):
        l_opt.zero_grad(), t_opt.zero_grad()
        l_loss = nn.MSELoss()(l_net(lamina.tensor(x)), lamina.tensor(y))
        t_loss = torch.nn.MSELoss()(t_net(torch.tensor(x)), torch.tensor(y))
        if step == 0:
            with lamina.no_grad():
                load_from_torch(l_net, t_net)
            l_loss = nn.MSELoss()(l_net(lamina.tensor(x)), lamina.tensor(y))
        l_loss.backward(), t_loss.backward()
        l_opt.step(), t_opt.step()
        compare_state(l_net, t_net)
    assert repr(l_net) == repr(t_net)


def test_lazy_layers_in_summary_are_marked_uninitialized():
    net = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.Linear(3, 2), nn.LazyBatchNorm1d())
    out = []
    lamina.summary(net, print_fn=out.append)
    text = out[0]
    assert "│ 0 (LazyLinear)" in text and "Total params: 8 " in text
    rows = {line.split("│")[1].strip(): line.split("│")[3].strip() for line in text.splitlines()
            if line.startswith("│ ") and "(" in line.split("│")[1]}
    assert rows == {"0 (LazyLinear)": "?", "1 (ReLU)": "0", "2 (Linear)": "8", "3 (LazyBatchNorm1d)": "?"}
    assert "Uninitialized: 0 (LazyLinear), 3 (LazyBatchNorm1d)" in text
    out.clear()
    lamina.summary(net, (2, 5), print_fn=out.append)   # running it materializes them
    assert "Uninitialized" not in out[0] and "Total params: 30 " in out[0] and "?" not in out[0]
