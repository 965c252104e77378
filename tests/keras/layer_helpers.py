"""Checks shared by the layer-set tests: run a real Keras 3 layer (torch backend, the oracle) and its lamina twin
on the same inputs with the same weights, and compare outputs, input gradients, shapes and configs."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lamina  # noqa: E402
from lamina import keras  # noqa: E402

# float32 layers: outputs and gradients within these of Keras's (sums over a few dozen terms).
RTOL, ATOL = 1e-5, 1e-5
GRAD_RTOL, GRAD_ATOL = 1e-4, 1e-5


def _np(x):
    if isinstance(x, lamina.Tensor):
        return x.detach().numpy()
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _flat(x):
    if isinstance(x, (list, tuple)):
        out = []
        for v in x:
            out.extend(_flat(v))
        return out
    return [x]


def compare(real_layer, our_layer, *inputs, call_kwargs=None, grads=True, rtol=RTOL, atol=ATOL, copy=True,
            **kwargs):
    """Build both layers on ``inputs`` (NumPy arrays, or a list of them as the first argument), copy Keras's
    weights into ours, and compare the outputs and, for float inputs, the gradients of ``sum(out * g)``.

    Returns (our outputs, Keras's outputs) flattened to lists.
    """
    call_kwargs = call_kwargs or {}

    def as_torch(a):
        t = torch.tensor(a)
        return t.requires_grad_(True) if grads and t.is_floating_point() else t

    def as_lamina(a):
        return lamina.tensor(a, requires_grad=grads and a.dtype.kind == "f")

    def convert(fn, value):
        return [fn(v) for v in value] if isinstance(value, list) else fn(value)

    t_in = [convert(as_torch, v) for v in inputs]
    l_in = [convert(as_lamina, v) for v in inputs]
    t_kwargs = {k: convert(as_torch, v) if isinstance(v, (np.ndarray, list)) and k not in ("axes",) else v
                for k, v in kwargs.items()}
    l_kwargs = {k: convert(lambda a: lamina.tensor(a), v) if isinstance(v, (np.ndarray, list)) and k not in ("axes",)
                else v for k, v in kwargs.items()}
    if copy:
        # Build both with an inference call (no state update), then copy Keras's weights into ours.
        build_kwargs = dict(call_kwargs, training=False)
        if not real_layer.built:
            real_layer(*[convert(torch.tensor, v) for v in inputs], **t_kwargs, **build_kwargs)
        if not our_layer.built:
            our_layer(*[convert(lambda a: lamina.tensor(a), v) for v in inputs], **l_kwargs, **build_kwargs)
        weights = [_np(w) for w in real_layer.get_weights()]
        assert len(weights) == len(our_layer.weights), \
            f"{len(our_layer.weights)} weights, Keras has {len(weights)}"
        for ours, w, real in zip(our_layer.weights, weights, real_layer.weights):
            assert tuple(ours.shape) == w.shape, f"weight {ours.name}: shape {tuple(ours.shape)} != Keras {w.shape}"
            assert ours.name == real.name, f"weight name {ours.name!r} != Keras {real.name!r}"
        our_layer.set_weights(weights)
    theirs = real_layer(*t_in, **t_kwargs, **call_kwargs)
    ours = our_layer(*l_in, **l_kwargs, **call_kwargs)
    o_flat, t_flat = _flat(ours), _flat(theirs)
    assert len(o_flat) == len(t_flat), f"{len(o_flat)} outputs, Keras gives {len(t_flat)}"
    for i, (a, b) in enumerate(zip(o_flat, t_flat)):
        assert tuple(a.shape) == tuple(b.shape), f"output {i}: shape {tuple(a.shape)} != Keras {tuple(b.shape)}"
        np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol, err_msg=f"output {i}")
    if grads:
        _compare_grads(_flat(l_in), _flat(t_in), o_flat, t_flat)
    return o_flat, t_flat


def _compare_grads(l_in, t_in, o_flat, t_flat):
    rng = np.random.default_rng(0)
    l_out, t_out, l_g, t_g = [], [], [], []
    for a, b in zip(o_flat, t_flat):
        if isinstance(b, torch.Tensor) and b.requires_grad and b.is_floating_point():
            g = rng.standard_normal(tuple(b.shape)).astype(np.float32)
            l_out.append(a), t_out.append(b), l_g.append(lamina.tensor(g)), t_g.append(torch.tensor(g))
    if not t_out:
        return
    torch.autograd.backward(t_out, t_g)
    lamina.autograd.backward(l_out, l_g)
    for i, (a, b) in enumerate(zip(l_in, t_in)):
        if isinstance(b, torch.Tensor) and b.requires_grad and b.grad is not None:
            assert a.grad is not None, f"input {i}: no gradient, Keras has one"
            np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=GRAD_RTOL, atol=GRAD_ATOL,
                                       err_msg=f"gradient of input {i}")


def check_config(real_layer, our_layer, ignore=()):
    """Our config has Keras's keys (but ``ignore``), and ``from_config(get_config())`` gives the same config."""
    theirs, ours = set(real_layer.get_config()) - set(ignore), set(our_layer.get_config()) - set(ignore)
    assert ours == theirs, f"config keys differ: only ours {sorted(ours - theirs)}, only Keras {sorted(theirs - ours)}"
    config = our_layer.get_config()
    clone = type(our_layer).from_config(config)
    assert _unbuilt(clone.get_config()) == _unbuilt(config)
    return clone


def _unbuilt(config):
    """A config without the build records of nested layers (a clone from config is not built yet)."""
    if isinstance(config, dict):
        return {k: _unbuilt(v) for k, v in config.items() if k != "build_config"}
    if isinstance(config, list):
        return [_unbuilt(v) for v in config]
    return config


def check_output_shape(our_layer, input_shape, expected):
    """compute_output_shape and the shape of a symbolic call, both against ``expected``."""
    assert tuple(our_layer.compute_output_shape(input_shape)) == tuple(expected)


def fresh():
    real_keras.utils.clear_session()
    keras.backend.clear_session()


__all__ = ["real_keras", "keras", "lamina", "compare", "check_config", "check_output_shape", "fresh"]
