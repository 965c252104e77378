"""RNN, LSTM, GRU and their cells against torch (outputs, final states, input and parameter gradients) for every
option; gradcheck in float64; nn.RNN over custom cells; errors that name the layer."""
import math
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, DTypeError, ShapeError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import load_from_torch, torch_repr
from tests.nn.seq_helpers import compare

T, B, F, H = 4, 3, 5, 6

MODES = {
    "rnn_tanh": (nn.RNN, torch.nn.RNN, {}),
    "rnn_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, torch.nn.LSTM, {}),
    "gru": (nn.GRU, torch.nn.GRU, {}),
}

OPTIONS = {
    "default": {},
    "two_layers": {"num_layers": 2},
    "bidirectional": {"bidirectional": True},
    "two_layers_bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first": {"batch_first": True},
    "no_bias": {"bias": False},
    "dropout_eval": {"num_layers": 2, "dropout": 0.5},
}


def _make(mode, **options):
    l_cls, t_cls, base = MODES[mode]
    kw = {**base, **options}
    return l_cls(F, H, **kw), t_cls(F, H, **kw)


def _state(mode, layers, batch=B, h_size=H):
    """An initial state for ``layers`` (layers * directions) layers: h0 or (h0, c0)."""
    shape = (layers, batch, h_size) if batch is not None else (layers, h_size)
    h0 = rand(*shape)
    if mode != "lstm":
        return h0
    c_shape = shape[:-1] + (H,)
    return h0, rand(*c_shape)


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("mode", list(MODES))
def test_sequence_layer_matches_torch(mode, option):
    kw = OPTIONS[option]
    l_rnn, t_rnn = _make(mode, **kw)
    if kw.get("dropout"):
        l_rnn.eval(), t_rnn.eval()
    assert repr(l_rnn) == torch_repr(t_rnn)
    x = rand(B, T, F) if kw.get("batch_first") else rand(T, B, F)
    compare(l_rnn, t_rnn, x)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_initial_state_given(mode, bidirectional):
    l_rnn, t_rnn = _make(mode, num_layers=2, bidirectional=bidirectional, batch_first=True)
    layers = 2 * (2 if bidirectional else 1)
    compare(l_rnn, t_rnn, rand(B, T, F), _state(mode, layers))


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input(mode, with_state):
    l_rnn, t_rnn = _make(mode, bidirectional=True)
    inputs = (rand(T, F),) + ((_state(mode, 2, batch=None),) if with_state else ())
    l_out, _ = compare(l_rnn, t_rnn, *inputs)
    assert tuple(l_out[0].shape) == (T, 2 * H)


@pytest.mark.parametrize("options", [{}, {"num_layers": 2, "bidirectional": True, "batch_first": True}])
def test_lstm_projection(options):
    l_rnn, t_rnn = nn.LSTM(F, H, proj_size=3, **options), torch.nn.LSTM(F, H, proj_size=3, **options)
    assert repr(l_rnn) == torch_repr(t_rnn)
    assert list(l_rnn.state_dict()) == list(t_rnn.state_dict())
    x = rand(B, T, F) if options else rand(T, B, F)
    layers = 4 if options else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "LSTM with projections is not supported with oneDNN"
        compare(l_rnn, t_rnn, x, (rand(layers, B, 3), rand(layers, B, H)))


def test_only_final_state_used():
    """Gradients flow from h_n (and c_n) alone, with the output unused."""
    l_rnn, t_rnn = _make("lstm", num_layers=2)
    load_from_torch(l_rnn, t_rnn)
    x = rand(T, B, F)
    lx, tx = lamina.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (_, (l_h, l_c)), (_, (t_h, t_c)) = l_rnn(lx), t_rnn(tx)
    (l_h.sum() + 2 * l_c.sum()).backward()
    (t_h.sum() + 2 * t_c.sum()).backward()
    np.testing.assert_allclose(lx.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(l_rnn.weight_hh_l0.grad.numpy(), t_rnn.weight_hh_l0.grad.numpy(), rtol=1e-3,
                               atol=1e-5)


def test_state_dict_keys_and_shapes_match_torch():
    for mode in MODES:
        l_rnn, t_rnn = _make(mode, num_layers=2, bidirectional=True, bias=False)
        l_state, t_state = l_rnn.state_dict(), t_rnn.state_dict()
        assert list(l_state) == list(t_state)
        assert all(tuple(l_state[k].shape) == tuple(t_state[k].shape) for k in t_state)
        assert l_rnn._flat_weights_names == t_rnn._flat_weights_names
        assert [[p.shape for p in ws] for ws in l_rnn.all_weights] == \
            [[lamina.Size(p.shape) for p in ws] for ws in t_rnn.all_weights]


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_init_is_uniform_in_one_over_sqrt_hidden(cls):
    lamina.manual_seed(0)
    layer = cls(50, 100)
    bound = 1 / math.sqrt(100)
    values = np.concatenate([p.detach().numpy().ravel() for p in layer.parameters()])
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.95 * bound and abs(values.mean()) < 0.05 * bound


def test_dropout_between_layers_train_vs_eval():
    lamina.manual_seed(0)
    lstm = nn.LSTM(F, H, num_layers=2, dropout=0.5)
    x = lamina.tensor(rand(T, B, F))
    lstm.train()
    lamina.manual_seed(1)
    a = lstm(x)[0].detach().numpy()
    lamina.manual_seed(1)
    b = lstm(x)[0].detach().numpy()
    np.testing.assert_array_equal(a, b)      # same seed, same dropout masks
    lstm.eval()
    c = lstm(x)[0].detach().numpy()
    assert not np.allclose(a, c)
    np.testing.assert_array_equal(c, lstm(x)[0].detach().numpy())


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(F, H, dropout=0.2)


def test_float64_layer():
    l_rnn, t_rnn = nn.GRU(F, H, dtype=lamina.float64), torch.nn.GRU(F, H, dtype=torch.float64)
    compare(l_rnn, t_rnn, rand(T, B, F, dtype=np.float64), fwd_rtol=1e-7, fwd_atol=1e-7, grad_rtol=1e-7,
            grad_atol=1e-7)


def test_large_inputs_stay_finite():
    """The exp-based sigmoid / tanh overflow to inf internally for huge pre-activations: results are exact."""
    l_rnn, t_rnn = _make("lstm")
    compare(l_rnn, t_rnn, rand(T, B, F) * 1e4, grad=False)
    l_rnn, t_rnn = _make("gru")
    compare(l_rnn, t_rnn, rand(T, B, F) * 1e4, grad=False)


# ---- cells -------------------------------------------------------------------------------------------------

CELLS = {
    "rnn_tanh": (nn.RNNCell, torch.nn.RNNCell, {}),
    "rnn_relu": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTMCell, torch.nn.LSTMCell, {}),
    "gru": (nn.GRUCell, torch.nn.GRUCell, {}),
}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("mode", list(CELLS))
def test_cell_matches_torch(mode, batched, with_state, bias):
    l_cls, t_cls, kw = CELLS[mode]
    l_cell, t_cell = l_cls(F, H, bias=bias, **kw), t_cls(F, H, bias=bias, **kw)
    assert repr(l_cell) == torch_repr(t_cell)
    assert list(l_cell.state_dict()) == list(t_cell.state_dict())
    x = rand(B, F) if batched else rand(F)
    inputs = [x]
    if with_state:
        shape = (B, H) if batched else (H,)
        inputs.append((rand(*shape), rand(*shape)) if mode == "lstm" else rand(*shape))
    compare(l_cell, t_cell, *inputs)


# ---- gradcheck (float64, tiny) -------------------------------------------------------------------------------

def _gradcheck(layer, x, state=None):
    layer.double()
    params = list(layer.parameters())
    x = lamina.tensor(x.astype(np.float64), requires_grad=True)
    states = [] if state is None else [lamina.tensor(s.astype(np.float64), requires_grad=True)
                                       for s in (state if isinstance(state, tuple) else (state,))]

    def fn(x, *rest):
        st = rest[:len(states)]
        hx = None if not st else (tuple(st) if len(st) == 2 else st[0])
        return layer(x, hx)

    assert lamina.autograd.gradcheck(fn, [x] + states + params)


@pytest.mark.parametrize("mode", list(CELLS))
def test_gradcheck_cell_step(mode):
    l_cls, _, kw = CELLS[mode]
    lamina.manual_seed(0)
    cell = l_cls(3, 2, **kw)
    state = (rand(2, 2), rand(2, 2)) if mode == "lstm" else rand(2, 2)
    _gradcheck(cell, rand(2, 3), state)


@pytest.mark.parametrize("mode", list(MODES))
def test_gradcheck_two_steps(mode):
    l_cls, _, kw = MODES[mode]
    lamina.manual_seed(0)
    layer = l_cls(3, 2, bidirectional=True, **kw)
    state = (rand(2, 2, 2), rand(2, 2, 2)) if mode == "lstm" else rand(2, 2, 2)
    _gradcheck(layer, rand(2, 2, 3), state)


def test_gradcheck_lstm_projection_two_layers():
    lamina.manual_seed(0)
    _gradcheck(nn.LSTM(2, 3, num_layers=2, proj_size=2), rand(2, 1, 2))


# ---- custom cells --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "gru"])
def test_rnn_over_builtin_cell_equals_fused_layer(mode, batch_first, with_state):
    """nn.RNN(cell) with nn.RNNCell / LSTMCell / GRUCell gives nn.RNN / LSTM / GRU's results and layouts with
    shared weights: outputs, final states, input and weight gradients."""
    c_cls, _, kw = CELLS[mode]
    l_cls, _, _ = MODES[mode]
    cell = c_cls(F, H, **kw)
    looped = nn.RNN(cell, batch_first=batch_first)
    fused = l_cls(F, H, batch_first=batch_first, **kw)
    fused.load_state_dict({name + "_l0": p.detach() for name, p in cell.named_parameters()})
    x = rand(B, T, F) if batch_first else rand(T, B, F)
    state = None
    if with_state:
        state = (lamina.tensor(rand(1, B, H)), lamina.tensor(rand(1, B, H))) if mode == "lstm" else \
            lamina.tensor(rand(1, B, H))
    x1, x2 = lamina.tensor(x, requires_grad=True), lamina.tensor(x, requires_grad=True)
    out1, last1 = looped(x1, state)
    out2, last2 = fused(x2, state)
    np.testing.assert_allclose(out1.detach().numpy(), out2.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(*((last1, last2) if mode == "lstm" else ((last1,), (last2,)))):
        assert a.shape == b.shape == (1, B, H)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    (out1 * out1).sum().backward()
    (out2 * out2).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(cell.weight_hh.grad.numpy(), fused.weight_hh_l0.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_rnn_over_cell_unbatched():
    cell = nn.GRUCell(F, H)
    looped = nn.RNN(cell)
    assert list(looped.state_dict()) == ["cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "cell.bias_hh"]
    fused = nn.GRU(F, H)
    fused.load_state_dict({name + "_l0": p.detach() for name, p in cell.named_parameters()})
    x, h0 = lamina.tensor(rand(T, F)), lamina.tensor(rand(1, H))
    for hx in (None, h0):
        out, h = looped(x, hx)
        ref_out, ref_h = fused(x, hx)
        assert tuple(out.shape) == (T, H) and tuple(h.shape) == (1, H)
        np.testing.assert_allclose(out.detach().numpy(), ref_out.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h.detach().numpy(), ref_h.detach().numpy(), rtol=1e-5, atol=1e-6)


class _MinimalGRUCell(nn.Module):
    """A cell that needs a state tensor: nn.RNN starts it at zeros of its ``hidden_size``."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.x_to_gates = nn.Linear(input_size, 2 * hidden_size)
        self.h_to_gates = nn.Linear(hidden_size, 2 * hidden_size, bias=False)

    def forward(self, x, h):
        z, candidate = (self.x_to_gates(x) + self.h_to_gates(h)).chunk(2, dim=-1)
        z = z.sigmoid()
        return (1 - z) * h + z * candidate.tanh()


class _TwoStateCell(nn.Module):
    """Declares ``state_size`` (Keras's convention) for a tuple state of two sizes."""
    state_size = (4, 2)

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(F + 4, 4)
        self.b = nn.Linear(4 + 2, 2)

    def forward(self, x, state):
        a = lamina.cat([x, state[0]], dim=-1)
        a = self.a(a).tanh()
        return a, self.b(lamina.cat([a, state[1]], dim=-1))


def test_rnn_over_cell_zero_initial_state():
    rnn = nn.RNN(_MinimalGRUCell(F, 16), batch_first=True)
    x = lamina.randn(2, 7, F)
    output, h_n = rnn(x)
    assert output.shape == (2, 7, 16) and h_n.shape == (1, 2, 16)
    again, _ = rnn(x, lamina.zeros(1, 2, 16))
    np.testing.assert_array_equal(output.detach().numpy(), again.detach().numpy())
    out, (a, b) = nn.RNN(_TwoStateCell())(lamina.randn(T, B, F))
    assert out.shape == (T, B, 4) and a.shape == (1, B, 4) and b.shape == (1, B, 2)


class _ReadoutCell(nn.Module):
    """A cell whose state is (output, hidden): returns a tuple whose first element is the step's output."""

    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.inp = nn.Linear(n_in, n_hidden)
        self.rec = nn.Linear(n_hidden, n_hidden, bias=False)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x, state):
        h = self.inp(x) if state is None else self.inp(x) + self.rec(state[1])
        h = h.tanh()
        return self.out(h), h


def test_rnn_over_tuple_cell_shapes():
    looped = nn.RNN(_ReadoutCell(F, 8, 2), batch_first=True)
    out, (y, h) = looped(lamina.randn(B, T, F))    # the cell declares no size: it gets None at first
    assert tuple(out.shape) == (B, T, 2) and tuple(y.shape) == (1, B, 2) and tuple(h.shape) == (1, B, 8)
    np.testing.assert_array_equal(out[:, -1].detach().numpy(), y[0].detach().numpy())
    assert repr(looped).startswith("RNN(\n  batch_first=True\n  (cell): _ReadoutCell(")


def test_custom_cell_learns_to_delay_its_input():
    """A hand-written cell run by nn.RNN learns y_t = x_{t-2}, which needs memory."""
    lamina.manual_seed(0)
    model = nn.RNN(_ReadoutCell(1, 16, 1))
    opt = lamina.optim.Adam(model.parameters(), lr=0.02)
    data = np.random.default_rng(0).uniform(-1, 1, size=(10, 32, 1)).astype(np.float32)
    x = lamina.tensor(data)
    target = lamina.tensor(np.concatenate([np.zeros((2, 32, 1), np.float32), data[:-2]]))
    losses = []
    for _ in range(150):
        opt.zero_grad()
        out, _ = model(x)
        loss = ((out - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])


# ---- errors --------------------------------------------------------------------------------------------------

def test_constructor_errors():
    check_error(lambda: nn.RNN(F, H, nonlinearity="sigmoid"), ArgumentError, "Unknown nonlinearity 'sigmoid'")
    check_error(lambda: nn.RNNCell(F, H, nonlinearity="x"), ArgumentError, "RNNCell", "Unknown nonlinearity")
    check_error(lambda: nn.GRU(F, H, proj_size=2), TypeError)
    check_error(lambda: nn.RNN(F, H, proj_size=2), ArgumentError, "only supported for LSTM")
    check_error(lambda: nn.LSTM(F, H, proj_size=H), ArgumentError, "LSTM", "proj_size has to be smaller")
    check_error(lambda: nn.LSTM(F, H, dropout=1.5), ArgumentError, "LSTM", "dropout should be a number")
    check_error(lambda: nn.GRU(F, 0), ArgumentError, "GRU", "hidden_size", "greater than zero")
    check_error(lambda: nn.LSTM(F, H, num_layers=0), ArgumentError, "num_layers")
    check_error(lambda: nn.LSTMCell(F, 2.5), ArgumentError, "LSTMCell", "hidden_size", "int")
    check_error(lambda: nn.RNN(nn.GRUCell(F, H), num_layers=2), ArgumentError, "batch_first")
    check_error(lambda: nn.LSTM(F, H, device="cuda"), ArgumentError, "LSTM", "device")


def test_forward_errors():
    lstm = nn.LSTM(F, H)
    check_error(lambda: lstm(lamina.randn(2, 3, 4, F)), ShapeError, "LSTM", "Expected input to be 2D or 3D, got 4D")
    check_error(lambda: lstm(lamina.randn(T, B, F + 1)), ShapeError, "LSTM", "Expected 5, got 6")
    check_error(lambda: lstm(lamina.randn(0, B, F)), ShapeError, "LSTM", "sequence length")
    check_error(lambda: lstm(lamina.randn(T, B, F), (lamina.zeros(1, B + 1, H), lamina.zeros(1, B, H))),
                ShapeError, "LSTM", "hidden[0]", "(1, 3, 6)", "[1, 4, 6]")
    check_error(lambda: lstm(lamina.randn(T, B, F), lamina.zeros(1, B, H)), ArgumentError, "LSTM", "(h_0, c_0)")
    check_error(lambda: lstm(lamina.randn(T, B, F, dtype=lamina.float64)), DTypeError, "LSTM", "float64")
    gru = nn.GRU(F, H)
    check_error(lambda: gru(lamina.randn(T, F), lamina.zeros(1, 1, H)), ShapeError, "GRU",
                "unbatched 2-D input, hidden should also be 2-D")
    check_error(lambda: gru(lamina.randn(T, B, F), lamina.zeros(2, B, H)), ShapeError, "GRU", "Expected hidden size")
    check_error(lambda: gru(np.zeros((T, B, F))), ArgumentError, "GRU", "lamina.Tensor")
    cell = nn.LSTMCell(F, H)
    check_error(lambda: cell(lamina.randn(B, F + 1)), ShapeError, "LSTMCell", "input_size")
    check_error(lambda: cell(lamina.randn(2, B, F)), ShapeError, "LSTMCell", "1D or 2D")
    check_error(lambda: cell(lamina.randn(B, F), (lamina.zeros(B + 1, H), lamina.zeros(B, H))), ShapeError,
                "LSTMCell", "hx[0]")
    check_error(lambda: nn.RNN(nn.GRUCell(F, H))(lamina.randn(F)), ShapeError, "RNN", "2D or 3D")
    check_error(lambda: nn.RNN(nn.GRUCell(F, H))(lamina.randn(T, B, F), lamina.zeros(B, H)), ShapeError, "RNN",
                "hx", "leading dim of size 1", "(3, 6)")
