"""One helper per kind of check (STYLE.md item 9): compare an operator with torch, and check its errors.

``check_op`` runs one lambda on both frameworks, ``fn(lib, *tensors)`` with ``lib`` = lamina or torch, and
compares the forward (shape, dtype, values), the backward of a random output gradient, and finally
``lamina.autograd.gradcheck`` in float64.
"""
import numpy as np
import pytest
import torch

import lamina

_rng = np.random.default_rng(0)

# Tolerances from RELIABILITY.md.
FORWARD_TOL = {np.dtype(np.float32): (1.3e-6, 1e-5), np.dtype(np.float64): (1e-7, 1e-7),
               np.dtype(np.float16): (1e-3, 1e-3)}


def rand(*shape, dtype=np.float32, low=-1.0, high=1.0, seed=None):
    """Uniform random values in [low, high) as a NumPy array (ints: integers in [low, high))."""
    rng = _rng if seed is None else np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return rng.integers(int(low), int(high), size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    return rng.uniform(low, high, size=shape).astype(dtype)


def _to_pair(x, requires_grad):
    """The same input for both frameworks: (lamina value, torch value)."""
    if isinstance(x, np.ndarray):
        rg = requires_grad and x.dtype.kind == "f"
        lt = lamina.tensor(x.copy(), requires_grad=rg)
        tt = torch.tensor(x.copy(), requires_grad=rg)
        return lt, tt
    return x, x


def _flatten(out):
    if isinstance(out, (tuple, list)):
        result = []
        for o in out:
            result.extend(_flatten(o))
        return result
    return [out]


def _dtype_name(t):
    return str(t.dtype).split(".")[-1]


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().numpy() if isinstance(t, lamina.Tensor) else np.asarray(t)


def assert_close(actual, expected, rtol=None, atol=None, what="output"):
    """Compare a lamina tensor (or value) with a torch tensor: shape, dtype, values."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, lamina.Tensor), f"{what}: expected a Tensor, got {type(actual).__name__}"
        assert tuple(actual.shape) == tuple(expected.shape), \
            f"{what}: shape {tuple(actual.shape)} != torch's {tuple(expected.shape)}"
        assert _dtype_name(actual) == _dtype_name(expected), \
            f"{what}: dtype {actual.dtype} != torch's {expected.dtype}"
    a, e = _np(actual), _np(expected)
    if e.dtype.kind in "iub":
        np.testing.assert_array_equal(a, e, err_msg=what)
        return
    d_rtol, d_atol = FORWARD_TOL.get(e.dtype, (1e-6, 1e-6))
    np.testing.assert_allclose(a, e, rtol=d_rtol if rtol is None else rtol, atol=d_atol if atol is None else atol,
                               equal_nan=True, err_msg=what)


def check_op(fn, *inputs, torch_fn=None, grad=True, gradcheck=True, rtol=None, atol=None, grad_rtol=1e-3,
             grad_atol=1e-4, gradcheck_atol=1e-5, gradcheck_rtol=1e-3):
    """Compare ``fn(lamina, *inputs)`` with ``(torch_fn or fn)(torch, *inputs)``: forward, backward, gradcheck.

    Args:
        fn: ``fn(lib, *tensors)``; float NumPy inputs become requires_grad tensors, other inputs pass as is.
        torch_fn: the torch side, when its API differs.
        grad: compare gradients of every float input for a random output gradient.
        gradcheck: run lamina.autograd.gradcheck on float64 copies of the inputs (keep them small).
    Returns:
        The lamina output.
    """
    pairs = [_to_pair(x, grad) for x in inputs]
    l_in = [p[0] for p in pairs]
    t_in = [p[1] for p in pairs]
    l_out = fn(lamina, *l_in)
    t_out = (torch_fn or fn)(torch, *t_in)
    l_flat, t_flat = _flatten(l_out), _flatten(t_out)
    assert len(l_flat) == len(t_flat), f"{len(l_flat)} outputs, torch gives {len(t_flat)}"
    for i, (lo, to) in enumerate(zip(l_flat, t_flat)):
        assert_close(lo, to, rtol, atol, what=f"forward output {i}")

    if grad:
        _check_backward(l_in, t_in, l_flat, t_flat, grad_rtol, grad_atol)
    if grad and gradcheck:
        _check_gradcheck(fn, inputs, gradcheck_atol, gradcheck_rtol)
    return l_out


def _check_backward(l_in, t_in, l_flat, t_flat, rtol, atol):
    l_outs, t_outs, l_grads, t_grads = [], [], [], []
    for lo, to in zip(l_flat, t_flat):
        if isinstance(to, torch.Tensor) and to.requires_grad:
            g = _rng.standard_normal(tuple(to.shape)).astype(_np(to).dtype)
            assert isinstance(lo, lamina.Tensor) and lo.requires_grad, "torch's output requires grad, lamina's not"
            l_outs.append(lo), t_outs.append(to)
            l_grads.append(lamina.tensor(g)), t_grads.append(torch.tensor(g))
    if not t_outs:
        return
    torch.autograd.backward(t_outs, t_grads)
    lamina.autograd.backward(l_outs, l_grads)
    for i, (li, ti) in enumerate(zip(l_in, t_in)):
        if not (isinstance(ti, torch.Tensor) and ti.requires_grad):
            continue
        if ti.grad is None:
            assert li.grad is None or not np.any(_np(li.grad)), f"input {i}: torch gives no gradient, lamina does"
            continue
        assert li.grad is not None, f"input {i}: lamina gives no gradient, torch does"
        assert_close(li.grad, ti.grad, rtol, atol, what=f"gradient of input {i}")


def _check_gradcheck(fn, inputs, atol, rtol):
    args = []
    for x in inputs:
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            assert x.size <= 400, "gradcheck: keep float inputs at most 400 elements (or pass gradcheck=False)"
            args.append(lamina.tensor(x.astype(np.float64), requires_grad=True))
        elif isinstance(x, np.ndarray):
            args.append(lamina.tensor(x))
        else:
            args.append(x)
    assert lamina.autograd.gradcheck(lambda *a: fn(lamina, *a), args, atol=atol, rtol=rtol)


def check_error(fn, exc_type, *fragments):
    """``fn()`` must raise ``exc_type`` with every fragment in its message; returns the message."""
    with pytest.raises(exc_type) as info:
        fn()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in error message {message!r}"
    return message
