"""MultiheadAttention against torch for every option and mask kind; gradcheck; fully masked rows; errors."""
import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, DTypeError, ShapeError
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import torch_repr
from tests.nn.seq_helpers import compare

E, HEADS, L, S, N = 8, 2, 3, 4, 2


class _SelfAttention:
    """Calls ``mha(x, x, x, **kwargs)`` so self-attention (the packed projection path) is compared."""

    def __init__(self, mha):
        self.mha = mha

    def __call__(self, x, **kwargs):
        return self.mha(x, x, x, **kwargs)

    def __getattr__(self, name):
        return getattr(self.mha, name)


def _pair(**kw):
    return nn.MultiheadAttention(E, HEADS, **kw), torch.nn.MultiheadAttention(E, HEADS, **kw)


def _seq(length, batch_first, features=E, batched=True):
    if not batched:
        return rand(length, features)
    return rand(N, length, features) if batch_first else rand(length, N, features)


OPTIONS = {
    "default": {},
    "batch_first": {"batch_first": True},
    "no_bias": {"bias": False},
    "kdim_vdim": {"kdim": 3, "vdim": 5},
    "bias_kv_zero_attn": {"add_bias_kv": True, "add_zero_attn": True},
    "dropout_eval": {"dropout": 0.5},
}


@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_cross_attention_matches_torch(option, need_weights, average):
    kw = OPTIONS[option]
    l_mha, t_mha = _pair(**kw)
    assert repr(l_mha) == torch_repr(t_mha)
    assert list(l_mha.state_dict()) == list(t_mha.state_dict())
    if kw.get("dropout"):
        l_mha.eval(), t_mha.eval()
    bf = kw.get("batch_first", False)
    q = _seq(L, bf)
    k = _seq(S, bf, kw.get("kdim", E))
    v = _seq(S, bf, kw.get("vdim", E))
    compare(l_mha, t_mha, q, k, v, kwargs={"need_weights": need_weights, "average_attn_weights": average})


@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_matches_torch(batch_first):
    l_mha, t_mha = _pair(batch_first=batch_first)
    compare(_SelfAttention(l_mha), _SelfAttention(t_mha), _seq(L, batch_first))


def _bool_attn_mask():
    m = np.zeros((L, S), dtype=bool)
    m[0, 1:3] = True
    m[2, 0] = True
    return m


def _bool_attn_mask_3d():
    m = rand(N * HEADS, L, S) > 0.4
    m[:, :, 2] = False   # no fully masked row: torch gives NaN there
    return m


def _kpm(dtype=bool):
    m = np.zeros((N, S), dtype=bool)
    m[0, -1] = True
    m[1, :2] = True
    return m if dtype is bool else np.where(m, -1e9, 0.0).astype(np.float32) + rand(N, S)


MASKS = {
    "attn_bool": lambda: {"attn_mask": _bool_attn_mask()},
    "attn_float": lambda: {"attn_mask": rand(L, S)},
    "attn_3d": lambda: {"attn_mask": rand(N * HEADS, L, S)},
    "attn_3d_bool": lambda: {"attn_mask": _bool_attn_mask_3d()},
    "kpm_bool": lambda: {"key_padding_mask": _kpm()},
    "kpm_float": lambda: {"key_padding_mask": _kpm(float)},
    "both_bool": lambda: {"attn_mask": _bool_attn_mask(), "key_padding_mask": _kpm()},
    "both_float": lambda: {"attn_mask": rand(L, S), "key_padding_mask": _kpm(float)},
}


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask", list(MASKS))
def test_masks_match_torch(mask, need_weights):
    l_mha, t_mha = _pair()
    kwargs = {**MASKS[mask](), "need_weights": need_weights}
    compare(l_mha, t_mha, _seq(L, False), _seq(S, False), _seq(S, False), kwargs=kwargs)


def test_masks_with_bias_kv_and_zero_attn():
    l_mha, t_mha = _pair(add_bias_kv=True, add_zero_attn=True, batch_first=True)
    kwargs = {"attn_mask": rand(N * HEADS, L, S), "key_padding_mask": _kpm(float)}
    compare(l_mha, t_mha, _seq(L, True), _seq(S, True), _seq(S, True), kwargs=kwargs)


@pytest.mark.parametrize("need_weights", [True, False])
def test_causal_hint_matches_torch(need_weights):
    l_mha, t_mha = _pair(batch_first=True)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(L).numpy()
    kwargs = {"attn_mask": causal, "is_causal": True, "need_weights": need_weights}
    compare(_SelfAttention(l_mha), _SelfAttention(t_mha), _seq(L, True), kwargs=kwargs)


@pytest.mark.parametrize("need_weights", [True, False])
def test_unbatched_matches_torch(need_weights):
    l_mha, t_mha = _pair()
    kwargs = {"need_weights": need_weights, "key_padding_mask": np.array([False, True, False, False]),
              "attn_mask": _bool_attn_mask_3d()[:HEADS], "average_attn_weights": False}
    l_out, _ = compare(l_mha, t_mha, _seq(L, False, batched=False), _seq(S, False, batched=False),
                       _seq(S, False, batched=False), kwargs=kwargs)
    assert tuple(l_out[0].shape) == (L, E)


def test_float64():
    l_mha = nn.MultiheadAttention(E, HEADS, dtype=lamina.float64)
    t_mha = torch.nn.MultiheadAttention(E, HEADS, dtype=torch.float64)
    x = [_seq(n, False).astype(np.float64) for n in (L, S, S)]
    compare(l_mha, t_mha, *x, fwd_rtol=1e-7, fwd_atol=1e-7, grad_rtol=1e-7, grad_atol=1e-7)


def test_fully_masked_row_gives_zeros_not_nan():
    """torch gives NaN with need_weights=True (and zeros without); Lamina gives zero weights in both paths."""
    mha = nn.MultiheadAttention(E, HEADS, batch_first=True)
    x = lamina.tensor(rand(N, S, E), requires_grad=True)
    kpm = lamina.tensor(np.array([[True] * S, [False] * S]))
    for need_weights in (True, False):
        out, w = mha(x, x, x, key_padding_mask=kpm, need_weights=need_weights)
        assert np.isfinite(out.detach().numpy()).all()
        np.testing.assert_allclose(out[0].detach().numpy(), np.broadcast_to(mha.out_proj.bias.detach().numpy(),
                                                                              (S, E)), atol=1e-6)
        if need_weights:
            np.testing.assert_array_equal(w[0].detach().numpy(), 0.0)
            np.testing.assert_allclose(w[1].detach().numpy().sum(-1), 1.0, rtol=1e-6)
        out.sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
        assert all(np.isfinite(p.grad.numpy()).all() for p in mha.parameters())
        x.grad = None


def test_dropout_train_vs_eval():
    lamina.manual_seed(0)
    mha = nn.MultiheadAttention(E, HEADS, dropout=0.5)
    q = lamina.tensor(_seq(L, False))
    lamina.manual_seed(3)
    out_a, w_a = mha(q, q, q)
    lamina.manual_seed(3)
    out_b, w_b = mha(q, q, q)
    np.testing.assert_array_equal(out_a.detach().numpy(), out_b.detach().numpy())
    mha.eval()
    out_c, w_c = mha(q, q, q)
    assert not np.allclose(out_a.detach().numpy(), out_c.detach().numpy())
    np.testing.assert_allclose(w_c.detach().numpy().sum(-1), 1.0, rtol=1e-5)
    # the returned weights are the dropped-out ones, as torch returns them
    assert (w_a.detach().numpy() == 0).any() or not np.allclose(w_a.detach().numpy().sum(-1), 1.0)


def test_gradcheck_tiny():
    lamina.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, add_bias_kv=True).double()
    q = lamina.tensor(rand(2, 1, 4).astype(np.float64), requires_grad=True)
    k = lamina.tensor(rand(3, 1, 3).astype(np.float64), requires_grad=True)
    v = lamina.tensor(rand(3, 1, 2).astype(np.float64), requires_grad=True)
    mask = lamina.tensor(np.array([[False, True, False], [False, False, False]]))
    params = list(mha.parameters())

    def fn(q, k, v, *p):
        return mha(q, k, v, attn_mask=mask, average_attn_weights=False)

    assert lamina.autograd.gradcheck(fn, [q, k, v] + params)

    def fused(q, k, v, *p):
        return mha(q, k, v, attn_mask=mask, need_weights=False)[0]

    assert lamina.autograd.gradcheck(fused, [q, k, v] + params)


def test_init_like_torch():
    lamina.manual_seed(0)
    mha = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = np.sqrt(6 / (64 + 3 * 64))   # xavier_uniform_ of the (3E, E) packed weight
    w = mha.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    np.testing.assert_array_equal(mha.in_proj_bias.detach().numpy(), 0)
    np.testing.assert_array_equal(mha.out_proj.bias.detach().numpy(), 0)
    assert type(mha.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(mha.out_proj, nn.Linear)
    separate = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    assert separate.in_proj_weight is None and separate.in_proj_bias is None
    assert [n for n, _ in separate.named_parameters()] == ["q_proj_weight", "k_proj_weight", "v_proj_weight",
                                                           "out_proj.weight"]


def test_errors():
    check_error(lambda: nn.MultiheadAttention(5, 2), ArgumentError, "embed_dim must be divisible by num_heads")
    check_error(lambda: nn.MultiheadAttention(4, 2, dropout=2.0), ArgumentError, "dropout")
    mha = nn.MultiheadAttention(E, HEADS)
    q, kv = lamina.randn(L, N, E), lamina.randn(S, N, E)
    check_error(lambda: mha(lamina.randn(L, N, E + 1), kv, kv), ShapeError, "MultiheadAttention",
                "embedding dimension of 8")
    check_error(lambda: mha(q, lamina.randn(S + 1, N, E), kv), ShapeError, "key shape", "value shape")
    check_error(lambda: mha(q[0], kv, kv), ShapeError, "2-D query", "key and value to be 2-D")
    check_error(lambda: mha(lamina.randn(1, L, N, E), kv, kv), ShapeError, "4-D query")
    check_error(lambda: mha(q, kv, kv, attn_mask=lamina.zeros(L, S + 1)), ShapeError, "2D attn_mask",
                "(3, 4)")
    check_error(lambda: mha(q, kv, kv, attn_mask=lamina.zeros(5, L, S)), ShapeError, "(4, 3, 4)")
    check_error(lambda: mha(q, kv, kv, attn_mask=lamina.zeros(L, S, dtype=lamina.int64)), DTypeError,
                "only bool and floating types of attn_mask")
    check_error(lambda: mha(q, kv, kv, key_padding_mask=lamina.zeros(N, S + 1, dtype=lamina.bool)), ShapeError,
                "key_padding_mask", "(2, 4)")
    check_error(lambda: mha(q, kv, kv, is_causal=True), ArgumentError, "Need attn_mask if specifying the is_causal")
    check_error(lambda: mha(q.double(), kv, kv), DTypeError, "query", "float64")
