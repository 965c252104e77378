"""MultiHeadAttention, Attention and the merging layers against real Keras 3 (torch backend)."""
import numpy as np
import pytest

from tests.helpers import check_error, rand
from tests.keras.layer_helpers import check_config, compare, keras, lamina, real_keras

L, R = keras.layers, real_keras.layers
TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(), dict(value_dim=3, use_bias=False), dict(output_shape=5),
                                    dict(output_shape=(2, 3))])
def test_multi_head_attention(kwargs):
    q, v = rand(2, 4, 6, seed=1), rand(2, 5, 6, seed=2)
    ours, theirs = L.MultiHeadAttention(2, 3, **kwargs), R.MultiHeadAttention(2, 3, **kwargs)
    out, _ = compare(theirs, ours, q, v, **TOL)
    names = [w.name for w in ours.weights]
    assert names[:2] == ["kernel", "bias"] or names[0] == "kernel"
    assert tuple(ours.query_dense.kernel.shape) == (6, 2, 3)
    assert tuple(ours.value_dense.kernel.shape) == (6, 2, kwargs.get("value_dim", 3))
    assert ours.compute_output_shape(q.shape, v.shape) == tuple(out[0].shape)
    check_config(theirs, ours)


def test_multi_head_attention_key_scores_and_masks():
    q, v, k = rand(2, 4, 6, seed=3), rand(2, 5, 6, seed=4), rand(2, 5, 7, seed=5)
    ours, theirs = L.MultiHeadAttention(3, 2), R.MultiHeadAttention(3, 2)
    compare(theirs, ours, q, v, key=k, **TOL)
    out, _ = compare(theirs, ours, q, v, key=k, copy=False, call_kwargs=dict(return_attention_scores=True), **TOL)
    assert tuple(out[1].shape) == (2, 3, 4, 5)
    np.testing.assert_allclose(out[1].detach().numpy().sum(-1), 1, rtol=1e-5)
    mask = rand(2, 4, 5, seed=6) > -0.5
    mask[:, :, 0] = True  # every query sees at least one value here
    compare(theirs, ours, q, v, key=k, copy=False, attention_mask=mask, **TOL)
    # self-attention with a causal mask
    ours2, theirs2 = L.MultiHeadAttention(2, 4), R.MultiHeadAttention(2, 4)
    compare(theirs2, ours2, q, q, call_kwargs=dict(use_causal_mask=True), **TOL)
    out, _ = compare(theirs2, ours2, q, q, copy=False,
                     call_kwargs=dict(use_causal_mask=True, return_attention_scores=True), **TOL)
    scores = out[1].detach().numpy()
    assert np.all(scores[..., np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0)


def test_multi_head_attention_fully_masked_rows_and_keras_masks():
    mha = L.MultiHeadAttention(2, 2)
    q = lamina.tensor(rand(1, 3, 4, seed=7))
    mask = lamina.tensor(np.array([[[True, True], [False, False], [True, False]]]))
    out = mha(q, lamina.tensor(rand(1, 2, 4, seed=8)), attention_mask=mask)
    assert np.all(np.isfinite(out.detach().numpy()))
    # Embedding masks of query and value flow into the attention mask, as in Keras
    idx = np.array([[1, 2, 0], [3, 0, 0]])
    r_emb, r_mha = R.Embedding(5, 4, mask_zero=True), R.MultiHeadAttention(2, 2)
    o_emb, o_mha = L.Embedding(5, 4, mask_zero=True), L.MultiHeadAttention(2, 2)
    r_x = r_emb(idx)
    r_out = r_mha(r_x, r_x)
    o_emb.build((None, 3))
    o_emb.set_weights(r_emb.get_weights())
    o_x = o_emb(lamina.tensor(idx))
    o_mha(o_x, o_x)
    o_mha.set_weights(r_mha.get_weights())
    ours = o_mha(o_x, o_x)
    # Rows of padding queries see no value at all: Lamina gives zero attention there (Keras's explicit path);
    # Keras's fused torch path returns other values for them. The real rows agree.
    keep = idx != 0
    np.testing.assert_allclose(ours.detach().numpy()[keep], real_keras.ops.convert_to_numpy(r_out)[keep],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours._keras_mask.numpy(), keep)


def test_multi_head_attention_symbolic_and_errors():
    q = keras.Input((4, 6))
    v = keras.Input((5, 6))
    out, scores = L.MultiHeadAttention(2, 3, output_shape=8)(q, v, return_attention_scores=True)
    assert out.shape == (None, 4, 8) and scores.shape == (None, 2, 4, 5)
    model = keras.Model([q, v], out)
    assert tuple(model([lamina.ones(2, 4, 6), lamina.ones(2, 5, 6)]).shape) == (2, 4, 8)
    check_error(lambda: L.MultiHeadAttention(0, 2), lamina.ArgumentError, "num_heads")
    check_error(lambda: L.MultiHeadAttention(2, 2)(lamina.ones(1, 3, 4), lamina.ones(1, 5, 4),
                                                   key=lamina.ones(1, 4, 4)), lamina.ShapeError, "value and key")


def test_multi_head_attention_dropout_and_2d_attention_axes():
    mha = L.MultiHeadAttention(2, 2, dropout=0.5, seed=1)
    x = lamina.tensor(rand(2, 3, 4, seed=9))
    a = mha(x, x, training=False).detach().numpy()
    np.testing.assert_allclose(mha(x, x, training=False).detach().numpy(), a)
    assert not np.allclose(mha(x, x, training=True).detach().numpy(), a)
    img = rand(2, 3, 4, 5, seed=10)
    compare(R.MultiHeadAttention(2, 3, attention_axes=(1, 2)), L.MultiHeadAttention(2, 3, attention_axes=(1, 2)),
            img, img, **TOL)


@pytest.mark.parametrize("kwargs", [dict(), dict(use_scale=True), dict(score_mode="concat"),
                                    dict(score_mode="concat", use_scale=True)])
def test_attention(kwargs):
    q, v, k = rand(2, 3, 4, seed=11), rand(2, 5, 4, seed=12), rand(2, 5, 4, seed=13)
    ours, theirs = L.Attention(**kwargs), R.Attention(**kwargs)
    compare(theirs, ours, [q, v], **TOL)
    compare(theirs, ours, [q, v, k], copy=False, call_kwargs=dict(return_attention_scores=True), **TOL)
    compare(theirs, ours, [q, q], copy=False, call_kwargs=dict(use_causal_mask=True), **TOL)
    masks = [np.array([[1, 1, 0], [1, 0, 0]], bool), np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)]
    compare(theirs, ours, [q, v], copy=False, mask=masks, **TOL)
    assert ours.compute_output_shape([(None, 3, 4), (None, 5, 6)]) == (None, 3, 6)
    check_config(theirs, ours)


def test_attention_errors_and_symbolic():
    check_error(lambda: L.Attention()(lamina.ones(1, 2, 3)), lamina.ArgumentError, "Attention", "[query, value]")
    check_error(lambda: L.Attention(score_mode="add"), lamina.ArgumentError, "score_mode", "'add'")
    q, v = keras.Input((3, 4)), keras.Input((5, 4))
    assert L.Attention()([q, v]).shape == (None, 3, 4)


# ---- merging --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
def test_elementwise_merges(name):
    a, b, c = rand(2, 3, seed=14), rand(2, 3, seed=15), rand(2, 3, seed=16)
    inputs = [a, b] if name == "Subtract" else [a, b, c]
    ours, theirs = getattr(L, name)(), getattr(R, name)()
    compare(theirs, ours, inputs, **TOL)
    compare(theirs, ours, [a, rand(1, 3, seed=17)], **TOL)  # broadcasting
    assert ours.compute_output_shape([(None, 3), (None, 3)]) == (None, 3)
    check_config(theirs, ours)
    fn = getattr(L, name.lower())
    np.testing.assert_allclose(fn([lamina.tensor(a), lamina.tensor(b)]).detach().numpy(),
                               real_keras.ops.convert_to_numpy(getattr(R, name.lower())([a, b])), rtol=1e-6)


def test_concatenate_and_masks():
    a, b = rand(2, 3, 4, seed=18), rand(2, 3, 2, seed=19)
    compare(R.Concatenate(), L.Concatenate(), [a, b], **TOL)
    compare(R.Concatenate(axis=1), L.Concatenate(axis=1), [a, rand(2, 5, 4, seed=20)], **TOL)
    assert L.Concatenate().compute_output_shape([(None, 3, 4), (None, 3, 2)]) == (None, 3, 6)
    check_config(R.Concatenate(axis=1), L.Concatenate(axis=1))
    check_error(lambda: L.Concatenate()([lamina.ones(2, 3), lamina.ones(3, 3)]), lamina.ShapeError, "concat axis")
    x = keras.Input((3, 4))
    y = keras.Input((3, 2))
    assert L.concatenate([x, y]).shape == (None, 3, 6)
    # masks: Add keeps positions unmasked in every input
    add = L.Add()
    m1, m2 = lamina.tensor([[True, False]]), lamina.tensor([[True, True]])
    np.testing.assert_array_equal(add.compute_mask(None, [m1, m2]).numpy(), [[True, False]])
    check_error(lambda: L.Subtract()([lamina.ones(1), lamina.ones(1), lamina.ones(1)]), lamina.ArgumentError,
                "exactly 2")
    check_error(lambda: L.Add()([lamina.ones(2, 3), lamina.ones(2, 4)]), lamina.ShapeError, "broadcast")


@pytest.mark.parametrize("axes,normalize,shapes", [(1, False, [(2, 4), (2, 4)]), (1, True, [(2, 4), (2, 4)]),
                                                   (2, False, [(2, 3, 4), (2, 5, 4)]),
                                                   ((1, 2), False, [(2, 3, 4), (2, 5, 3)]),
                                                   (-1, True, [(2, 3, 4), (2, 5, 4)])])
def test_dot(axes, normalize, shapes):
    ours, theirs = L.Dot(axes, normalize=normalize), R.Dot(axes, normalize=normalize)
    inputs = [rand(*s, seed=21 + i) for i, s in enumerate(shapes)]
    out, _ = compare(theirs, ours, inputs, **TOL)
    assert ours.compute_output_shape(shapes) == tuple(out[0].shape)
    check_config(theirs, ours)
    check_error(lambda: L.Dot(1)([lamina.ones(2, 4), lamina.ones(2, 5)]), lamina.ShapeError, "dot axes", "4", "5")
