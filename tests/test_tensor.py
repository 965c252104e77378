"""Tensor basics against torch: creation, dtypes, properties, conversions, printing, operators, RNG."""
import copy
import pickle

import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ArgumentError, DTypeError
from tests.helpers import assert_close, check_error


@pytest.mark.parametrize("data", [1, 2.5, True, [1, 2], [1.0, 2.0], [[1, 2], [3, 4]], [True, False], [1, 2.5],
                                  np.array([1, 2], dtype=np.int32), np.array([1.0], dtype=np.float64), []])
def test_tensor_infers_dtype_like_torch(data):
    assert_close(lamina.tensor(data), torch.tensor(data))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.zeros(2, 3), lambda lib: lib.ones((2, 3), dtype=lib.float64), lambda lib: lib.full((2,), 7),
    lambda lib: lib.full((2,), 1.5), lambda lib: lib.full((2,), True), lambda lib: lib.arange(5),
    lambda lib: lib.arange(1, 2, 0.25), lambda lib: lib.arange(0, 10, 3), lambda lib: lib.arange(5, 0, -1),
    lambda lib: lib.linspace(0, 1, 5), lambda lib: lib.eye(3), lambda lib: lib.eye(2, 4, dtype=lib.int64),
    lambda lib: lib.zeros_like(lib.ones(2, dtype=lib.int32)), lambda lib: lib.ones_like(lib.ones(2)),
    lambda lib: lib.full_like(lib.ones(2), 3.0), lambda lib: lib.zeros(0, 3), lambda lib: lib.logspace(0, 2, 3),
    lambda lib: lib.empty(2, 3).shape,
])
def test_creation_like_torch(fn):
    a, b = fn(lamina), fn(torch)
    if isinstance(b, torch.Tensor):
        assert_close(a, b)
    else:
        assert tuple(a) == tuple(b)


def test_random_creation_shapes_dtypes_and_seeding():
    lamina.manual_seed(3)
    a = lamina.randn(2, 3)
    lamina.manual_seed(3)
    b = lamina.randn(2, 3)
    assert np.array_equal(a.numpy(), b.numpy()) and a.dtype == lamina.float32
    r = lamina.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1
    i = lamina.randint(3, 7, (100,))
    assert i.dtype == lamina.int64 and i.min().item() >= 3 and i.max().item() < 7
    assert sorted(lamina.randperm(10).tolist()) == list(range(10))
    g = lamina.Generator().manual_seed(1)
    g2 = lamina.Generator().manual_seed(1)
    assert np.array_equal(lamina.rand(4, generator=g).numpy(), lamina.rand(4, generator=g2).numpy())
    state = lamina.get_rng_state()
    x = lamina.rand(3)
    lamina.set_rng_state(state)
    assert np.array_equal(x.numpy(), lamina.rand(3).numpy())
    assert lamina.randn(2, dtype=lamina.float64).dtype == lamina.float64


def test_bad_creation_arguments():
    check_error(lambda: lamina.zeros(2, -1), ArgumentError, "zeros()", "negative dimension -1")
    check_error(lambda: lamina.ones(2 ** 40, 2 ** 40), ArgumentError, "ones()", "overflows")
    check_error(lambda: lamina.randn(-3), ArgumentError, "randn()", "negative")
    check_error(lambda: lamina.arange(0, 1, 0), ArgumentError, "arange()", "step")
    check_error(lambda: lamina.tensor(["a"]), DTypeError, "tensor()")
    check_error(lambda: lamina.randint(5, 2, (3,)), ArgumentError, "randint()")


def test_properties():
    x = lamina.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == lamina.Size([2, 3, 4]) and x.size(-1) == 4
    assert repr(x.shape) == "lamina.Size([2, 3, 4])"
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and x.dtype == lamina.float32
    assert x.is_leaf and not x.requires_grad and x.grad is None and str(x.device) == "cpu"
    assert x.is_floating_point() and x.is_contiguous() and x.element_size() == 4
    assert lamina.tensor(1).dtype == lamina.int64


def test_conversions():
    x = lamina.tensor([[1.5, -2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.5, -2.0], [3.0, 4.0]]
    assert lamina.tensor(2.5).item() == 2.5 and float(lamina.tensor([3.0])) == 3.0 and int(lamina.tensor(7)) == 7
    assert x.long().dtype == lamina.int64 and x.long().tolist() == [[1, -2], [3, 4]]
    assert x.to(lamina.float64).dtype == lamina.float64 and x.double().float().dtype == lamina.float32
    assert x.to("cpu") is x and x.to(lamina.float32) is x
    assert isinstance(x.numpy(), np.ndarray)
    y = lamina.ones(2, requires_grad=True)
    check_error(lambda: y.numpy(), RuntimeError, "detach().numpy()")
    assert y.detach().numpy().tolist() == [1.0, 1.0]
    check_error(lambda: x.item(), ArgumentError, "item()", "4 elements")
    n = np.arange(3.0)
    t = lamina.from_numpy(n)
    n[0] = 9
    assert t.tolist()[0] == 9 and t.dtype == lamina.float64
    assert lamina.as_tensor(t) is t


def test_bool_of_one_element_tensor_drives_python_control_flow():
    x = lamina.tensor([4.0, -3.0])
    steps = 0
    while x.abs().sum() > 1:
        x = x / 2
        steps += 1
    assert steps == 3
    check_error(lambda: bool(lamina.ones(2)), ArgumentError, "ambiguous")


def test_repr_like_torch():
    cases = [lambda lib: lib.tensor([[4.0, 6.0], [8.0, 10.0]]), lambda lib: lib.tensor([1, 10]),
             lambda lib: lib.tensor(3.14159), lambda lib: lib.tensor([1e-5, 1.0]),
             lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64), lambda lib: lib.zeros(0, 3),
             lambda lib: lib.tensor([True, False]), lambda lib: lib.ones(2, requires_grad=True)]
    for case in cases:
        assert repr(case(lamina)) == repr(case(torch)).replace("torch", "lamina")
    y = lamina.ones(2, requires_grad=True) * 2
    assert "grad_fn=<MulBackward>" in repr(y)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                                   "bool"])
def test_type_names_like_torch(dtype):
    t, l = torch.zeros(2, dtype=getattr(torch, dtype)), lamina.zeros(2, dtype=getattr(lamina, dtype))
    assert l.type() == t.type().replace("torch.", "lamina.")
    assert l.type(lamina.float64).dtype == lamina.float64


def test_python_operators_and_reflected():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    for fn in (lambda l, x: x + 1, lambda l, x: 1 + x, lambda l, x: 2 - x, lambda l, x: 2 / x, lambda l, x: 2 ** x,
               lambda l, x: x ** 2, lambda l, x: -x, lambda l, x: abs(-x), lambda l, x: x @ x, lambda l, x: x // 2,
               lambda l, x: x % 3, lambda l, x: x == 2, lambda l, x: x != 2, lambda l, x: x < 2,
               lambda l, x: x >= 2, lambda l, x: (x > 1) & (x < 4), lambda l, x: ~(x > 1)):
        assert_close(fn(lamina, lamina.tensor(a)), fn(torch, torch.tensor(a)))
    n = np.ones(2, dtype=np.float32)
    assert isinstance(n + lamina.ones(2), lamina.Tensor)


def test_inplace_python_operators():
    for lib in (lamina, torch):
        x = lib.tensor([1.0, 2.0])
        ident = id(x)
        x += 1
        x *= 3
        x /= 2
        x -= 0.5
        assert id(x) == ident
        assert x.tolist() == [2.5, 4.0]
    x = lamina.tensor([1, 2])
    check_error(lambda: x.__iadd__(1.5), DTypeError, "can't be cast")
    check_error(lambda: lamina.ones(2).add_(lamina.ones(3, 2)), RuntimeError, "shape")


def test_no_pickle():
    with pytest.raises(TypeError):
        pickle.dumps(lamina.ones(2))
    y = copy.deepcopy(lamina.ones(2, requires_grad=True))
    assert y.requires_grad and y.tolist() == [1.0, 1.0]


def test_promote_types_api():
    assert lamina.promote_types(lamina.int64, lamina.float32) == lamina.float32
    assert lamina.result_type(lamina.ones(2, dtype=lamina.int32), 2.5) == lamina.float32
