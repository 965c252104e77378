"""One helper for layers with nested inputs and outputs (RNN states, attention weights, masks): run a lamina
layer and its torch twin on the same inputs with torch's state_dict loaded, and compare every output, the
gradients of every float input and of every parameter for random output gradients.
"""
import numpy as np
import torch

import lamina
from tests.helpers import assert_close
from tests.nn.layer_helpers import load_from_torch

_rng = np.random.default_rng(4321)

# Outputs go through GEMMs and reductions: RELIABILITY.md's matmul tolerance.
FWD_RTOL, FWD_ATOL = 1e-4, 1e-5
GRAD_RTOL, GRAD_ATOL = 1e-3, 1e-4


def to_pair(x, grad=True):
    """(lamina value, torch value) for a NumPy array (float ones require grad), a tuple of them or anything."""
    if isinstance(x, np.ndarray):
        rg = grad and x.dtype.kind == "f"
        return lamina.tensor(x.copy(), requires_grad=rg), torch.tensor(x.copy(), requires_grad=rg)
    if isinstance(x, tuple):
        pairs = [to_pair(v, grad) for v in x]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    return x, x


def flatten(out):
    if isinstance(out, (tuple, list)):
        return [v for o in out for v in flatten(o)]
    return [out]


def compare(l_layer, t_layer, *inputs, kwargs=None, grad=True, load=True, fwd_rtol=FWD_RTOL, fwd_atol=FWD_ATOL,
            grad_rtol=GRAD_RTOL, grad_atol=GRAD_ATOL, mask_inputs=()):
    """Compare ``l_layer(*inputs, **kwargs)`` with ``t_layer(...)``; return (lamina output, torch output).

    Float NumPy inputs (also inside tuples, like an LSTM's (h0, c0)) require grad unless their position is in
    ``mask_inputs``; ``kwargs`` values that are NumPy arrays become tensors without grad (masks).
    """
    if load:
        load_from_torch(l_layer, t_layer)
    pairs = [to_pair(x, grad and i not in mask_inputs) for i, x in enumerate(inputs)]
    kw_pairs = {k: to_pair(v, False) for k, v in (kwargs or {}).items()}
    l_out = l_layer(*[p[0] for p in pairs], **{k: p[0] for k, p in kw_pairs.items()})
    t_out = t_layer(*[p[1] for p in pairs], **{k: p[1] for k, p in kw_pairs.items()})
    l_flat, t_flat = flatten(l_out), flatten(t_out)
    assert len(l_flat) == len(t_flat), f"{len(l_flat)} outputs, torch gives {len(t_flat)}"
    for i, (lo, to) in enumerate(zip(l_flat, t_flat)):
        if to is None:
            assert lo is None, f"output {i}: torch gives None, lamina {type(lo).__name__}"
            continue
        assert_close(lo, to, fwd_rtol, fwd_atol, what=f"forward output {i}")
    if not grad:
        return l_out, t_out
    l_roots, t_roots, l_gs, t_gs = [], [], [], []
    for lo, to in zip(l_flat, t_flat):
        if isinstance(to, torch.Tensor) and to.requires_grad:
            assert lo.requires_grad
            g = _rng.standard_normal(tuple(to.shape)).astype(to.detach().numpy().dtype)
            l_roots.append(lo), t_roots.append(to)
            l_gs.append(lamina.tensor(g)), t_gs.append(torch.tensor(g))
    torch.autograd.backward(t_roots, t_gs)
    lamina.autograd.backward(l_roots, l_gs)
    l_in, t_in = flatten([p[0] for p in pairs]), flatten([p[1] for p in pairs])
    for i, (li, ti) in enumerate(zip(l_in, t_in)):
        if isinstance(ti, torch.Tensor) and ti.requires_grad:
            assert_close(li.grad, ti.grad, grad_rtol, grad_atol, what=f"gradient of input {i}")
    l_params = dict(l_layer.named_parameters())
    for name, tp in t_layer.named_parameters():
        lp = l_params[name]
        if tp.grad is None:
            assert lp.grad is None or not np.any(lp.grad.numpy()), f"{name}: torch has no gradient, lamina does"
        else:
            assert lp.grad is not None, f"{name}: lamina has no gradient"
            assert_close(lp.grad, tp.grad, grad_rtol, grad_atol, what=f"gradient of {name}")
    return l_out, t_out


def gradcheck_module(module, *inputs, params=True):
    """lamina.autograd.gradcheck of the float64 module over its float inputs (and parameters)."""
    module.double()
    tensors = []
    for x in inputs:
        if isinstance(x, np.ndarray):
            tensors.append(lamina.tensor(x.astype(np.float64) if x.dtype.kind == "f" else x,
                                         requires_grad=x.dtype.kind == "f"))
        else:
            tensors.append(x)
    extra = list(module.parameters()) if params else []
    n = len(tensors)
    assert lamina.autograd.gradcheck(lambda *a: module(*a[:n]), tensors + extra)
