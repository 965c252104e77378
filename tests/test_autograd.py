"""The autograd engine: accumulation, graph freeing, version counters, hooks, grad modes, custom Functions."""
import numpy as np
import pytest
import torch

import lamina
from lamina.autograd import GradcheckError
from lamina.errors import AutogradError, DTypeError
from tests.helpers import check_error, rand


def both(fn):
    """Run ``fn(lib)`` on lamina and torch; return both results as NumPy."""
    out = []
    for lib in (lamina, torch):
        r = fn(lib)
        out.append([None if t is None else (t.detach().numpy() if hasattr(t, "detach") else np.asarray(t))
                    for t in (r if isinstance(r, (list, tuple)) else [r])])
    return out


def assert_same(fn, rtol=1e-6):
    la, to = both(fn)
    for a, b in zip(la, to):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6)


def test_accumulation_over_shared_inputs_and_two_backwards():
    def fn(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = x * x + x.exp() * x
        (y.sum() + (y * 2).sum()).backward()
        (x * 3).sum().backward()  # accumulates
        return [x.grad]
    assert_same(fn)


def test_diamond_graph_and_reused_nodes():
    def fn(lib):
        x = lib.tensor([[0.5, -1.0], [2.0, 0.3]], requires_grad=True)
        a = x.tanh()
        b = a * a
        c = a.sigmoid() + b
        d = (c * b).sum() + a.sum()
        d.backward()
        return [x.grad]
    assert_same(fn)


def test_backward_with_gradient_and_non_scalar_error():
    x = lamina.ones(2, 3, requires_grad=True)
    y = x * 2
    check_error(lambda: y.backward(), AutogradError, "scalar outputs", "(2, 3)")
    y.backward(lamina.ones(2, 3))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))
    check_error(lambda: (x * 2).backward(lamina.ones(3)), AutogradError, "(3,)", "(2, 3)")


def test_backward_twice_through_freed_graph_raises():
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    check_error(lambda: y.backward(), AutogradError, "second time", "retain_graph=True")
    z = (x.exp()).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.array([2.0, 4.0]) + 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_backward_on_tensor_without_grad():
    check_error(lambda: lamina.ones(1).sum().backward(), AutogradError, "does not require grad")


def test_requires_grad_on_integer_tensor():
    check_error(lambda: lamina.tensor([1, 2], requires_grad=True), DTypeError, "floating point")
    check_error(lambda: lamina.tensor([1, 2]).requires_grad_(), DTypeError, "floating point")


def test_inplace_on_leaf_requiring_grad_raises():
    x = lamina.ones(3, requires_grad=True)
    check_error(lambda: x.add_(1), AutogradError, "leaf", "in-place")
    with lamina.no_grad():
        x.add_(1)  # allowed: how optimizers update parameters
    assert x.numpy(force=True).tolist() == [2.0, 2.0, 2.0]


def test_version_counter_catches_inplace_change_of_saved_tensor():
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()          # Exp saves its output
    z = y.sum() * 1.0
    w = (y * 1.0)
    y.add_(1)            # changes what Exp saved
    check_error(lambda: (w.sum() + z).backward(), AutogradError, "modified by an in-place operation", "version")


def test_inplace_on_nonleaf_gives_torch_gradients():
    def fn(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        w = lib.tensor([0.5, 0.25, -1.0], requires_grad=True)
        y = x * 2
        y += w           # Add does not save its inputs: fine
        y *= w           # Mul saves the old y: recorded on a snapshot
        y[1] = 5.0
        y.relu_()
        y.sum().backward()
        return [x.grad, w.grad]
    assert_same(fn)


def test_setitem_with_grad_values():
    def fn(lib):
        v = lib.tensor([1.0, 2.0], requires_grad=True)
        h = lib.zeros(3, 2)
        h[1] = v * 3
        h[2, 0] = v[1]
        (h * h).sum().backward()
        return [v.grad, h]
    assert_same(fn)


def test_hooks_and_retain_grad():
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: g * 10)
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda g: g + 1)
        (y * y).sum().backward()
        return [x.grad, y.grad]
    assert_same(fn)


def test_hook_handle_remove():
    x = lamina.ones(2, requires_grad=True)
    h = x.register_hook(lambda g: g * 0)
    h.remove()
    x.sum().backward()
    assert x.grad.numpy().tolist() == [1.0, 1.0]


def test_autograd_grad_does_not_touch_dot_grad():
    x = lamina.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    (gx,) = lamina.autograd.grad(y.sum(), x)
    assert x.grad is None
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0, 6.0])
    a = lamina.ones(2, requires_grad=True)
    b = a * 2
    (gb, ga) = lamina.autograd.grad((b * b).sum(), (b, a))
    np.testing.assert_allclose(gb.numpy(), [4.0, 4.0])
    np.testing.assert_allclose(ga.numpy(), [8.0, 8.0])
    unused = lamina.ones(2, requires_grad=True)
    check_error(lambda: lamina.autograd.grad((a * 2).sum(), unused), AutogradError, "not used")
    assert lamina.autograd.grad((a * 2).sum(), unused, allow_unused=True) == (None,)


def test_grad_modes_as_context_and_decorator():
    x = lamina.ones(2, requires_grad=True)
    with lamina.no_grad():
        assert not (x * 2).requires_grad
        with lamina.enable_grad():
            assert (x * 2).requires_grad

    @lamina.no_grad()
    def f(t):
        return t * 2

    @lamina.no_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    with lamina.set_grad_enabled(False):
        assert not lamina.is_grad_enabled()
    assert lamina.is_grad_enabled()
    lamina.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    lamina.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_detach_and_requires_grad_():
    x = lamina.ones(2, requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    assert (x * 2).grad_fn is not None and x.grad_fn is None
    check_error(lambda: (x * 2).requires_grad_(False), AutogradError, "leaf")


def test_detect_anomaly_names_the_operator():
    x = lamina.tensor([-1.0, 1.0], requires_grad=True)
    with lamina.autograd.detect_anomaly():
        check_error(lambda: x.log(), AutogradError, "Log", "nan")
        y = x.abs().sqrt()   # forward finite; backward at |x| = 0 would be inf, not here
        y.sum().backward()
    z = lamina.tensor([0.0], requires_grad=True)
    with lamina.autograd.detect_anomaly():
        w = z.sqrt()
        check_error(lambda: w.sum().backward(), AutogradError, "SqrtBackward", "inf")


class Cube(lamina.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class ScaledAndIndex(lamina.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        idx = x.argmax()
        ctx.mark_non_differentiable(idx)
        return x * scale, idx

    @staticmethod
    def backward(ctx, grad, grad_idx):
        assert ctx.needs_input_grad == (True, False)
        return grad * ctx.scale, None


def test_custom_function():
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    assert "CubeBackward" in repr(y)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    out, idx = ScaledAndIndex.apply(x, 2.0)
    assert not idx.requires_grad and out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 14.0])
    x64 = lamina.tensor([0.5, -1.5], dtype=lamina.float64, requires_grad=True)
    assert lamina.autograd.gradcheck(Cube.apply, (x64,))


class WrongBackward(lamina.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return grad  # wrong on purpose


def test_gradcheck_catches_a_wrong_backward():
    x = lamina.tensor([0.5, 2.0], dtype=lamina.float64, requires_grad=True)
    check_error(lambda: lamina.autograd.gradcheck(WrongBackward.apply, (x,)), GradcheckError, "input 0")
    assert lamina.autograd.gradcheck(WrongBackward.apply, (x,), raise_exception=False) is False
    check_error(lambda: lamina.autograd.gradcheck(Cube.apply, (lamina.ones(2, requires_grad=True),)),
                DTypeError, "float64")


def test_grads_of_two_leaves_never_alias():
    a = lamina.ones(3, requires_grad=True)
    b = lamina.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(5)
    assert b.grad.numpy().tolist() == [1.0, 1.0, 1.0]


def test_deep_graph_does_not_hit_recursion_limit():
    x = lamina.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 5000], rtol=1e-3)


def test_create_graph_is_a_clear_error():
    x = lamina.ones(2, requires_grad=True)
    check_error(lambda: lamina.autograd.grad((x * x).sum(), x, create_graph=True), AutogradError, "create_graph")


def test_data_is_hidden_from_the_version_counter():
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()              # Exp saves its output
        y.data.mul_(2)           # as torch: not tracked, so backward uses the changed values
        y.sum().backward()
        return [x.grad]
    assert_same(fn)
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.detach().mul_(2)           # detach() shares the version counter: caught
    check_error(lambda: y.sum().backward(), AutogradError, "ExpBackward", "in-place")


def _view_row_iadd(lib):
    x = lib.tensor([[1.0, 2.0, -1.0], [3.0, 4.0, 0.5]], requires_grad=True)
    y = x * 2
    y[:, 0] += 1                 # getitem, add_ on the view, setitem back
    y[1].mul_(lib.tensor([0.5, -1.0, 2.0]))
    (y * y).sum().backward()
    return [x.grad, y]


def _view_of_view_and_reshape(lib):
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = lib.tensor([0.5, -2.0], requires_grad=True)
    y = x * 1
    y.t()[0].add_(w)             # a view of a view, transposed
    y.view(4)[1:3].mul_(3)
    y.reshape(4).relu_()
    (y * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return [x.grad, w.grad, y]


def _view_of_plain_tensor_takes_a_grad_value(lib):
    w = lib.tensor([2.0, -1.0], requires_grad=True)
    h = lib.zeros(3, 2)
    h[1:].add_(w)                # h joins the graph through its view
    h[0] = w * 3
    (h * h).sum().backward()
    return [w.grad, h]


@pytest.mark.parametrize("fn", [_view_row_iadd, _view_of_view_and_reshape, _view_of_plain_tensor_takes_a_grad_value])
def test_inplace_on_views_inside_the_graph_gives_torch_gradients(fn):
    assert_same(fn)


def test_inplace_on_view_gradcheck():
    def f(x, w):
        y = x * 1
        y[:, 1:].mul_(w)
        y.t()[0] += w.sum()
        return y * y
    x = lamina.tensor(rand(3, 3, dtype=np.float64), requires_grad=True)
    w = lamina.tensor(rand(2, dtype=np.float64), requires_grad=True)
    assert lamina.autograd.gradcheck(f, (x, w))


def test_inplace_errors_name_the_method_and_refuse_views_of_leaves():
    leaf = lamina.ones(2, 3, requires_grad=True)
    for call, name in ((lambda: leaf.zero_(), "zero_()"), (lambda: leaf.fill_(1.0), "fill_()"),
                       (lambda: leaf.copy_(lamina.zeros(2, 3)), "copy_()"), (lambda: leaf.__setitem__(0, 1.0),
                                                                              "__setitem__()"),
                       (lambda: leaf.uniform_(), "uniform_()")):
        check_error(call, AutogradError, name, "leaf tensor that requires grad")
    check_error(lambda: leaf[0].add_(1), AutogradError, "add_()", "view of a leaf")
    check_error(lambda: leaf.t().__setitem__(0, 1.0), AutogradError, "__setitem__()", "view of a leaf")
    y = leaf * 2
    check_error(lambda: y[:1].expand(3, 3).add_(lamina.ones(3, 3, requires_grad=True)), lamina.LaminaError,
                "add_()", "expanded")


def test_scalar_mul_and_div_save_only_what_their_gradient_needs():
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x / 2
        y += 1                   # DivBackward needs neither y nor x: legal, as in torch
        z = x.clone()
        z[0] = z[1] * 3          # MulBackward by a number keeps no tensor
        u = x * lib.tensor([2.0, 3.0])
        u.mul_(2)
        (y.sum() + z.sum() + u.sum()).backward()
        return [x.grad]
    assert_same(fn)
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    d = x / (x + 1)
    d.add_(1)                    # the denominator's gradient needs x, not d
    d.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (np.array([1.0, 2.0]) + 1) ** 2, rtol=1e-6)


def test_view_taken_before_an_in_place_change_of_its_base_refuses_backward():
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    v = y[0]
    y.mul_(3)                    # v now holds the new value; its node still follows the old graph
    check_error(lambda: v.backward(), AutogradError, "IndexBackward", "view taken before", "version 0", "version 1")
    check_error(lambda: (v * 2).backward(), AutogradError, "view taken before")
    # a view used before the change, and an in-place change through the view itself, both stay correct
    def fn(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        z = x * 2
        w = z[1] * 3
        z.mul_(2)
        u = x * 2
        u[0].mul_(3)
        (w + z.sum() + u.sum()).backward()
        return [x.grad]
    assert_same(fn)


def _custom(backward):
    class Custom(lamina.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    Custom.backward = staticmethod(backward)
    return Custom


def test_function_backward_gradient_shapes_checked_or_summed_as_in_torch():
    x = lamina.randn(2, requires_grad=True)
    check_error(lambda: _custom(lambda ctx, g: lamina.ones(3)).apply(x).sum().backward(), AutogradError,
                "Custom.backward", "invalid gradient at index 0", "(3,)", "(2,)")
    for lib in (lamina, torch):       # a gradient the input broadcasts to is summed down to the input's shape
        class Wide(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return lib.ones(4, 2)

        t = lib.ones(2, requires_grad=True)
        Wide.apply(t).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), [4.0, 4.0])


def test_anomaly_in_a_function_backward_names_the_function():
    x = lamina.randn(2, requires_grad=True)
    custom = _custom(lambda ctx, g: g * float("nan"))
    with lamina.autograd.detect_anomaly():
        check_error(lambda: custom.apply(x).sum().backward(), AutogradError, "CustomBackward", "nan")


def test_grad_mode_decorator_on_a_generator_holds_inside_it():
    for lib in (lamina, torch):
        @lib.no_grad()
        def steps():
            yield lib.is_grad_enabled()
            yield lib.is_grad_enabled()

        it = steps()
        assert next(it) is False and lib.is_grad_enabled() and next(it) is False
