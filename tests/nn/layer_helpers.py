"""One helper per kind of layer check: compare a lamina layer with its torch twin, and gradcheck it.

``check_layer(l_layer, t_layer, *inputs)`` copies torch's state_dict into the lamina layer, then compares the
repr, the forward, the gradients of the inputs and of every parameter for a random output gradient, and the
buffers after that step (running statistics).
"""
import numpy as np
import torch

import lamina
from tests.helpers import assert_close

_rng = np.random.default_rng(1234)


def load_from_torch(l_layer, t_layer):
    """Copy the torch layer's state_dict into the lamina layer (lamina tensors made from torch's numpy)."""
    state = {k: lamina.tensor(v.detach().numpy().copy()) for k, v in t_layer.state_dict().items()}
    l_layer.load_state_dict(state)
    return l_layer


def torch_repr(t_layer):
    return repr(t_layer).replace("torch.", "lamina.")


def _pair(x, grad):
    if isinstance(x, np.ndarray):
        rg = grad and x.dtype.kind == "f"
        return lamina.tensor(x.copy(), requires_grad=rg), torch.tensor(x.copy(), requires_grad=rg)
    return x, x


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check_layer(l_layer, t_layer, *inputs, grad=True, load=True, rtol=None, atol=None, grad_rtol=1e-3,
                grad_atol=1e-4, check_repr=True, forward_kwargs=None):
    """Compare ``l_layer(*inputs)`` with ``t_layer(*inputs)``: repr, output, input/parameter grads, buffers.

    Returns (lamina output, torch output).
    """
    if load:
        load_from_torch(l_layer, t_layer)
    if check_repr:
        assert repr(l_layer) == torch_repr(t_layer)
    kwargs = forward_kwargs or {}
    pairs = [_pair(x, grad) for x in inputs]
    l_out = l_layer(*[p[0] for p in pairs], **kwargs)
    t_out = t_layer(*[p[1] for p in pairs], **kwargs)
    l_flat, t_flat = _flat(l_out), _flat(t_out)
    assert len(l_flat) == len(t_flat)
    for i, (lo, to) in enumerate(zip(l_flat, t_flat)):
        assert_close(lo, to, rtol, atol, what=f"forward output {i}")
    if grad:
        l_roots, t_roots, l_gs, t_gs = [], [], [], []
        for lo, to in zip(l_flat, t_flat):
            if isinstance(to, torch.Tensor) and to.requires_grad:
                g = _rng.standard_normal(tuple(to.shape)).astype(to.detach().numpy().dtype)
                l_roots.append(lo), t_roots.append(to)
                l_gs.append(lamina.tensor(g)), t_gs.append(torch.tensor(g))
        if t_roots:
            torch.autograd.backward(t_roots, t_gs)
            lamina.autograd.backward(l_roots, l_gs)
            for i, (li, ti) in enumerate(pairs):
                if isinstance(ti, torch.Tensor) and ti.requires_grad:
                    assert_close(li.grad, ti.grad, grad_rtol, grad_atol, what=f"gradient of input {i}")
            l_params = dict(l_layer.named_parameters())
            for name, tp in t_layer.named_parameters():
                lp = l_params[name]
                if tp.grad is None:
                    assert lp.grad is None or not np.any(lp.grad.numpy()), f"{name}: torch has no gradient"
                else:
                    assert lp.grad is not None, f"{name}: lamina has no gradient"
                    assert_close(lp.grad, tp.grad, grad_rtol, grad_atol, what=f"gradient of {name}")
    compare_state(l_layer, t_layer)
    return l_out, t_out


def compare_state(l_layer, t_layer, rtol=1e-5, atol=1e-6):
    """Same state_dict keys, shapes, dtypes and values (buffers after a step included)."""
    l_state, t_state = l_layer.state_dict(), t_layer.state_dict()
    assert list(l_state) == list(t_state)
    for k in t_state:
        assert_close(l_state[k], t_state[k], rtol, atol, what=f"state {k}")


def gradcheck_layer(layer, *inputs, train=None):
    """lamina.autograd.gradcheck on the float64 layer: the inputs and every parameter are checked."""
    layer.double()
    if train is not None:
        layer.train(train)
    tensors = [lamina.tensor(x.astype(np.float64), requires_grad=True) if isinstance(x, np.ndarray)
               and x.dtype.kind == "f" else (lamina.tensor(x) if isinstance(x, np.ndarray) else x) for x in inputs]
    params = list(layer.parameters())
    n = len(tensors)
    assert lamina.autograd.gradcheck(lambda *a: layer(*a[:n]), tensors + params)
