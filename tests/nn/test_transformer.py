"""Transformer encoder/decoder layers, their stacks and nn.Transformer against torch; causal masks; gradcheck."""
import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, ShapeError
from lamina.nn.transformer import _detect_is_causal_mask
from tests.helpers import check_error, rand
from tests.nn.layer_helpers import torch_repr
from tests.nn.seq_helpers import compare

D, HEADS, FF, L, S, N = 8, 2, 16, 4, 5, 2


def _seq(length, batch_first):
    return rand(N, length, D) if batch_first else rand(length, N, D)


def _causal(n):
    return torch.nn.Transformer.generate_square_subsequent_mask(n).numpy()


def _kpm(n):
    m = np.zeros((N, n), dtype=bool)
    m[0, -1] = True
    m[1, -2:] = True
    return m


OPTIONS = {
    "default": {},
    "norm_first": {"norm_first": True},
    "gelu": {"activation": "gelu"},
    "callable_activation": {"activation": "callable"},
    "batch_first": {"batch_first": True},
    "no_bias": {"bias": False},
    "eps": {"layer_norm_eps": 1e-3, "norm_first": True, "activation": "gelu"},
}


def _options(name):
    kw = dict(OPTIONS[name])
    if kw.get("activation") == "callable":
        return {**kw, "activation": lamina.nn.functional.silu}, {**kw, "activation": torch.nn.functional.silu}
    return kw, kw


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_encoder_layer_matches_torch(option, train):
    l_kw, t_kw = _options(option)
    # dropout 0 in training mode (random masks cannot match torch's); the default 0.1 in eval mode
    dropout = 0.0 if train else 0.1
    l_layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout, **l_kw)
    t_layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout, **t_kw)
    l_layer.train(train), t_layer.train(train)
    if option != "callable_activation":
        assert repr(l_layer) == torch_repr(t_layer)
    assert list(l_layer.state_dict()) == list(t_layer.state_dict())
    compare(l_layer, t_layer, _seq(L, l_kw.get("batch_first", False)))


MASKS = {
    "src_mask": lambda: {"src_mask": rand(L, L)},
    "causal": lambda: {"src_mask": _causal(L), "is_causal": True},
    "kpm": lambda: {"src_key_padding_mask": _kpm(L)},
    "both": lambda: {"src_mask": _causal(L) > -1, "src_key_padding_mask": _kpm(L)},
}


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("mask", list(MASKS))
def test_encoder_layer_masks(mask, norm_first):
    l_layer = nn.TransformerEncoderLayer(D, HEADS, FF, 0.0, batch_first=True, norm_first=norm_first)
    t_layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, 0.0, batch_first=True, norm_first=norm_first)
    compare(l_layer, t_layer, _seq(L, True), kwargs=MASKS[mask]())


def test_encoder_layer_module_activation_is_registered():
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, activation=nn.GELU())
    t_layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, activation=torch.nn.GELU())
    assert repr(layer) == torch_repr(t_layer)
    assert "activation" in dict(layer.named_children())


@pytest.mark.parametrize("option", ["default", "norm_first", "gelu", "batch_first", "no_bias"])
def test_decoder_layer_matches_torch(option):
    l_kw, t_kw = _options(option)
    l_layer = nn.TransformerDecoderLayer(D, HEADS, FF, 0.0, **l_kw)
    t_layer = torch.nn.TransformerDecoderLayer(D, HEADS, FF, 0.0, **t_kw)
    assert repr(l_layer) == torch_repr(t_layer)
    assert list(l_layer.state_dict()) == list(t_layer.state_dict())
    bf = l_kw.get("batch_first", False)
    compare(l_layer, t_layer, _seq(L, bf), _seq(S, bf))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_masks(norm_first):
    l_layer = nn.TransformerDecoderLayer(D, HEADS, FF, 0.1, batch_first=True, norm_first=norm_first).eval()
    t_layer = torch.nn.TransformerDecoderLayer(D, HEADS, FF, 0.1, batch_first=True, norm_first=norm_first).eval()
    kwargs = {"tgt_mask": _causal(L), "tgt_is_causal": True, "memory_mask": rand(L, S),
              "tgt_key_padding_mask": _kpm(L).astype(np.float32) * -1e9,
              "memory_key_padding_mask": _kpm(S).astype(np.float32) * -1e9}
    compare(l_layer, t_layer, _seq(L, True), _seq(S, True), kwargs=kwargs)


def test_encoder_stack_matches_torch():
    l_layer = nn.TransformerEncoderLayer(D, HEADS, FF, 0.0, batch_first=True)
    t_layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, 0.0, batch_first=True)
    l_enc = nn.TransformerEncoder(l_layer, 2, norm=nn.LayerNorm(D))
    t_enc = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(D), enable_nested_tensor=False)
    keys = list(l_enc.state_dict())
    assert keys == list(t_enc.state_dict())
    assert keys[0] == "layers.0.self_attn.in_proj_weight" and keys[-1] == "norm.bias"
    # deep copies: the layers are distinct modules with equal initial values
    assert l_enc.layers[0] is not l_enc.layers[1] and l_enc.layers[0].linear1.weight is not \
        l_enc.layers[1].linear1.weight
    np.testing.assert_array_equal(l_enc.layers[0].linear1.weight.detach().numpy(),
                                  l_enc.layers[1].linear1.weight.detach().numpy())
    compare(l_enc, t_enc, _seq(L, True), kwargs={"mask": _causal(L) < 0, "src_key_padding_mask": _kpm(L)})
    compare(l_enc, t_enc, _seq(L, True), kwargs={"mask": _causal(L)})


def test_decoder_stack_matches_torch():
    l_dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, HEADS, FF, 0.0), 2, norm=nn.LayerNorm(D))
    t_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, HEADS, FF, 0.0), 2,
                                        norm=torch.nn.LayerNorm(D))
    assert list(l_dec.state_dict()) == list(t_dec.state_dict())
    compare(l_dec, t_dec, _seq(L, False), _seq(S, False),
            kwargs={"tgt_mask": _causal(L), "memory_key_padding_mask": _kpm(S)})


# torch's own constructor warns that its nested-tensor fast path needs batch_first: not about Lamina
@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first):
    kw = dict(d_model=D, nhead=HEADS, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=FF, dropout=0.0,
              batch_first=batch_first)
    l_model, t_model = nn.Transformer(**kw), torch.nn.Transformer(**kw)
    assert list(l_model.state_dict()) == list(t_model.state_dict())
    kwargs = {"tgt_mask": _causal(L), "src_key_padding_mask": _kpm(S), "memory_key_padding_mask": _kpm(S)}
    compare(l_model, t_model, _seq(S, batch_first), _seq(L, batch_first), kwargs=kwargs)


def test_transformer_init_is_xavier():
    lamina.manual_seed(0)
    model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=64)
    w = model.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (16 + 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_generate_square_subsequent_mask():
    for n in (1, 4):
        mask = nn.Transformer.generate_square_subsequent_mask(n)
        np.testing.assert_array_equal(mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(n).numpy())
        assert mask.dtype == lamina.float32
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=lamina.float64).dtype == lamina.float64


def test_detect_is_causal_mask():
    causal = nn.Transformer.generate_square_subsequent_mask(4)
    assert _detect_is_causal_mask(causal, None, 4)
    assert _detect_is_causal_mask(lamina.tensor(np.triu(np.ones((4, 4), bool), 1)), None, 4)
    assert not _detect_is_causal_mask(lamina.zeros(4, 4), None, 4)
    assert not _detect_is_causal_mask(causal, None, 5)
    assert not _detect_is_causal_mask(causal, False, 4)
    assert _detect_is_causal_mask(None, True, 4)


def test_dropout_train_vs_eval():
    lamina.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.3)
    x = lamina.tensor(_seq(L, False))
    lamina.manual_seed(1)
    a = layer(x).detach().numpy()
    lamina.manual_seed(1)
    np.testing.assert_array_equal(a, layer(x).detach().numpy())
    layer.eval()
    b = layer(x).detach().numpy()
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(b, layer(x).detach().numpy())


@pytest.mark.parametrize("norm_first", [False, True])
def test_gradcheck_encoder_layer(norm_first):
    lamina.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, 4, dropout=0.0, norm_first=norm_first, activation="gelu").double()
    x = lamina.tensor(rand(3, 1, 4).astype(np.float64), requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=lamina.float64)
    params = list(layer.parameters())
    assert lamina.autograd.gradcheck(lambda x, *p: layer(x, src_mask=mask), [x] + params)


def test_gradcheck_decoder_layer():
    lamina.manual_seed(0)
    layer = nn.TransformerDecoderLayer(4, 2, 4, dropout=0.0).double()
    x = lamina.tensor(rand(2, 1, 4).astype(np.float64), requires_grad=True)
    mem = lamina.tensor(rand(3, 1, 4).astype(np.float64), requires_grad=True)
    assert lamina.autograd.gradcheck(lambda x, m: layer(x, m), [x, mem])


def test_errors():
    check_error(lambda: nn.TransformerEncoderLayer(D, HEADS, activation="swish"), ArgumentError,
                "TransformerEncoderLayer", "relu/gelu")
    check_error(lambda: nn.TransformerEncoderLayer(D, 3), ArgumentError, "divisible")
    check_error(lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(D, HEADS), 0), ArgumentError,
                "num_layers")
    model = nn.Transformer(d_model=D, nhead=HEADS, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF)
    check_error(lambda: model(lamina.randn(S, N, D), lamina.randn(L, N + 1, D)), ShapeError, "batch number")
    check_error(lambda: model(lamina.randn(S, N, D), lamina.randn(L, N, D + 1)), ShapeError, "d_model")
    layer = nn.TransformerEncoderLayer(D, HEADS, FF)
    message = check_error(lambda: layer(lamina.randn(L, N, D + 2)), ShapeError, "self_attn")
    assert message.startswith("self_attn (MultiheadAttention()")
