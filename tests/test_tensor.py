"""Tensor basics against torch: creation, dtypes, properties, conversions, printing, operators, RNG."""
import copy
import pickle
import re

import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ArgumentError, DTypeError, ShapeError
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


def test_random_functions_never_touch_numpy_global_state():
    import lamina.nn.functional as F
    np.random.seed(7)
    expected = np.random.rand(3)
    np.random.seed(7)
    lamina.manual_seed(0)
    lamina.rand(4), lamina.randn(2, 2), lamina.randint(0, 9, (3,)), lamina.randperm(5), lamina.ones(3).uniform_()
    F.dropout(lamina.ones(10), 0.5), lamina.bernoulli(lamina.full((4,), 0.5)), lamina.ones(3).normal_()
    np.testing.assert_array_equal(np.random.rand(3), expected)


@pytest.mark.parametrize("draw", [
    lambda g: lamina.rand(3, generator=g), lambda g: lamina.randn(2, 2, generator=g),
    lambda g: lamina.randint(0, 9, (4,), generator=g), lambda g: lamina.randint(9, (4,), generator=g),
    lambda g: lamina.randperm(6, generator=g), lambda g: lamina.normal(0.0, 1.0, (2,), generator=g),
    lambda g: lamina.empty(3).uniform_(generator=g), lambda g: lamina.empty(3).normal_(generator=g),
])
def test_generator_argument_is_repeatable_and_leaves_the_default_alone(draw):
    lamina.manual_seed(0)
    state = lamina.get_rng_state()
    a = draw(lamina.Generator().manual_seed(3))
    b = draw(lamina.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(lamina.get_rng_state().numpy(), state.numpy())
    assert lamina.Generator().manual_seed(3).initial_seed() == 3


def test_bad_creation_arguments():
    check_error(lambda: lamina.zeros(2, -1), ArgumentError, "zeros()", "negative dimension -1")
    check_error(lambda: lamina.ones(2 ** 40, 2 ** 40), ArgumentError, "ones()", "overflows")
    check_error(lambda: lamina.randn(-3), ArgumentError, "randn()", "negative")
    check_error(lambda: lamina.arange(0, 1, 0), ArgumentError, "arange()", "step")
    check_error(lambda: lamina.tensor(["a"]), DTypeError, "tensor()")
    check_error(lambda: lamina.randint(5, 2, (3,)), ArgumentError, "randint()")


def test_bad_values_for_creation_and_seeding_are_typed_errors():
    check_error(lambda: lamina.tensor([[1, 2], [3]]), ShapeError, "tensor()", "length 2 at dim 1 (got 1)")
    check_error(lambda: lamina.tensor([[[1], [2]], [[1], [2, 3]]]), ShapeError, "length 1 at dim 2 (got 2)")
    check_error(lambda: lamina.tensor([1, [2]]), ShapeError, "tensor()", "dim 1")
    check_error(lambda: lamina.full((2,), "a"), DTypeError, "full()", "fill_value", "str")
    check_error(lambda: lamina.full_like(lamina.ones(2), None), DTypeError, "full_like()", "NoneType")
    check_error(lambda: lamina.arange(float("nan")), ArgumentError, "arange()", "'end'", "nan")
    check_error(lambda: lamina.arange(0, 1, float("inf")), ArgumentError, "arange()", "'step'", "inf")
    check_error(lambda: lamina.manual_seed("a"), ArgumentError, "manual_seed()", "'a'")
    check_error(lambda: lamina.set_rng_state(lamina.ones(3)), ArgumentError, "set_rng_state()", "get_rng_state()")
    assert lamina.arange(True).tolist() == torch.arange(True).tolist()
    assert lamina.manual_seed(1.5).initial_seed() == torch.manual_seed(1.5).initial_seed()


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


def _same_layout(text):
    """A repr with its suffixes (dtype=, requires_grad=) on one line: "lamina." is one letter longer than "torch.",
    so the 80-column wrap before a suffix can differ by that letter."""
    return re.sub(r",\n +(dtype=|requires_grad=|grad_fn=)", r", \1", text)


@pytest.mark.parametrize("make", [
    lambda lib: lib.arange(2000.0).reshape(2, 1000),                  # summarised, scientific notation
    lambda lib: lib.arange(2000), lambda lib: lib.arange(1001.0) / 7,   # summarised 1-d
    lambda lib: lib.arange(1600.0).reshape(40, 40) / 3,               # summarised rows and columns
    lambda lib: lib.arange(24.0).reshape(2, 3, 4),                    # blank lines between blocks
    lambda lib: lib.arange(0, 1, 0.1), lambda lib: lib.linspace(-5, 5, 30),   # wrapped at 80 columns
    lambda lib: lib.tensor([float("nan"), float("inf"), 1.0]), lambda lib: lib.tensor([float("-inf"), 0.5]),
    lambda lib: lib.tensor([1e-8, 1e8]), lambda lib: lib.tensor([0.1, 123456.7]), lambda lib: lib.tensor([1e9, 2e9]),
    lambda lib: lib.tensor([-1.5, 2.25]), lambda lib: lib.tensor([0.0, -0.0]), lambda lib: lib.tensor(float("nan")),
    lambda lib: lib.zeros(0, dtype=lib.int64), lambda lib: lib.zeros(2, 0, dtype=lib.float64),
    lambda lib: lib.tensor([1.5, 2.0], dtype=lib.float16), lambda lib: lib.tensor([1, -20], dtype=lib.int32),
    lambda lib: lib.tensor([250, 3], dtype=lib.uint8), lambda lib: lib.arange(1200) > 600,
    lambda lib: lib.tensor([[1.0, 2.0]], dtype=lib.float64, requires_grad=True),
    lambda lib: lib.arange(30.0, requires_grad=True), lambda lib: lib.ones(7, 7, 7, 7) * 1e-5,
])
def test_repr_matches_torch_printing(make):
    assert _same_layout(repr(make(lamina))) == _same_layout(repr(make(torch)).replace("torch", "lamina"))
    assert str(make(lamina)) == repr(make(lamina))


def test_size_slices_and_sums_are_sizes():
    s = lamina.Size([2, 3, 4])
    for got, want in ((s[1:], [3, 4]), (s + (5,), [2, 3, 4, 5]), ((1,) + s, [1, 2, 3, 4]), (s * 2, [2, 3, 4] * 2)):
        assert type(got) is lamina.Size and list(got) == want
    assert s[0] == 2 and type(s[-1]) is int and repr(lamina.ones(2, 3).shape[:1]) == "lamina.Size([2])"


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


def test_more_inplace_operators_type_as_and_eq_none():
    for lib in (lamina, torch):
        x = lib.tensor([5.0, -3.0])
        ident = id(x)
        x %= 2
        assert id(x) == ident and x.tolist() == [1.0, 1.0]
        m = lib.tensor([True, False, True])
        m &= lib.tensor([True, True, False])
        m |= lib.tensor([False, True, False])
        m ^= lib.tensor([True, False, False])
        assert m.tolist() == [False, True, False]
        i = lib.tensor([6, 3])
        i &= 5
        assert i.tolist() == [4, 1]
        assert (x == None) is False and (x != None) is True  # noqa: E711 (what torch code writes)
    assert_close(lamina.ones(2).type_as(lamina.tensor([1])), torch.ones(2).type_as(torch.tensor([1])))


def test_no_pickle():
    with pytest.raises(TypeError):
        pickle.dumps(lamina.ones(2))
    y = copy.deepcopy(lamina.ones(2, requires_grad=True))
    assert y.requires_grad and y.tolist() == [1.0, 1.0]


def test_promote_types_api():
    assert lamina.promote_types(lamina.int64, lamina.float32) == lamina.float32
    assert lamina.result_type(lamina.ones(2, dtype=lamina.int32), 2.5) == lamina.float32
