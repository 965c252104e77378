"""Shape operators against torch: forward, backward, gradcheck, views sharing memory, and typed errors."""
import numpy as np
import pytest

import lamina
from lamina.errors import ArgumentError, AutogradError, DimError, DTypeError, IndexError_, ShapeError
from tests.helpers import check_error, check_op, rand

X = rand(2, 3, 4)


# ---- reshape / view ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,new", [
    ((2, 3, 4), (6, 4)),
    ((2, 3, 4), (-1,)),
    ((2, 3, 4), (4, -1, 2)),
    ((2, 3, 4), (1, 24, 1)),
    ((), (1,)),
    ((), ()),
    ((1,), ()),
    ((1, 1), (-1,)),
    ((0, 3), (3, 0)),
    ((0, 3), (-1, 3)),
    ((1, 0, 3), (-1,)),
])
def test_reshape(shape, new):
    check_op(lambda L, x: L.reshape(x, new), rand(*shape))
    check_op(lambda L, x: x.reshape(*new) if new else x.reshape(new), rand(*shape), gradcheck=False)


def test_reshape_of_transposed_copies_and_is_right():
    check_op(lambda L, x: x.transpose(0, 2).reshape(4, -1), X)
    check_op(lambda L, x: x.t().reshape(-1), rand(3, 5, dtype=np.float64))


def test_reshape_views_when_possible():
    a = lamina.arange(6.0)
    v = a.reshape(2, 3)
    a[4] = 40.0
    assert v[1, 1].item() == 40.0
    c = a.reshape(2, 3).t().reshape(-1)  # strides forbid a view: a copy
    a[0] = -1.0
    assert c[0].item() == 0.0


@pytest.mark.parametrize("new", [(4, 6), (2, -1, 3), (24,), (-1, 1, 4)])
def test_view(new):
    check_op(lambda L, x: x.view(*new), X)
    check_op(lambda L, x: x.view(new), X)


def test_view_as_and_reshape_as():
    check_op(lambda L, x, y: x.view_as(y), X, rand(6, 4))
    check_op(lambda L, x, y: x.reshape_as(y), X, rand(4, 6))


def test_view_of_non_contiguous_when_strides_allow():
    check_op(lambda L, x: x.transpose(0, 1).view(3, 2, 2, 2), X)
    check_op(lambda L, x: x[:, 1:].view(2, 8), X)


def test_view_dtype():
    check_op(lambda L, x: x.view(L.int32), X, grad=False)
    check_op(lambda L, x: x.view(L.float16), X, grad=False)
    check_op(lambda L, x: x.view(L.float64), X, grad=False)
    y = lamina.tensor(X, requires_grad=True).view(lamina.int32)
    assert not y.requires_grad
    check_error(lambda: lamina.tensor(X).transpose(1, 2).view(lamina.float64), ShapeError, "view()", "last")
    check_error(lambda: lamina.tensor(1.0).view(lamina.float64), ShapeError, "0-d")


def test_view_errors():
    x = lamina.tensor(X)
    check_error(lambda: x.transpose(0, 1).view(24), ShapeError, "view()", "[3, 2, 4]", "[24]", "reshape")
    check_error(lambda: x.view(5, -1), ShapeError, "view()", "[5, -1]", "size 24")


@pytest.mark.parametrize("call,exc,frags", [
    (lambda x: x.reshape(5, -1), ShapeError, ["reshape()", "[5, -1]", "size 24", "[2, 3, 4]"]),
    (lambda x: x.reshape(5, 5), ShapeError, ["[5, 5]", "size 24"]),
    (lambda x: x.reshape(-1, -1), ArgumentError, ["only one dimension can be inferred"]),
    (lambda x: x.reshape(-2, 12), ArgumentError, ["invalid shape dimension -2"]),
    (lambda x: x.reshape(2.0, 12), ArgumentError, ["'shape'", "float"]),
    (lambda x: x.reshape(0, -1), ShapeError, ["[0, -1]", "size 24"]),
    (lambda x: lamina.zeros(0, 3).reshape(0, -1), ShapeError, ["0 elements", "ambiguous"]),
])
def test_reshape_errors(call, exc, frags):
    check_error(lambda: call(lamina.tensor(X)), exc, *frags)


# ---- flatten / unflatten / squeeze / unsqueeze -------------------------------------------------------------

@pytest.mark.parametrize("shape,start,end", [
    ((2, 3, 4), 0, -1), ((2, 3, 4), 1, -1), ((2, 3, 4), 0, 1), ((2, 3, 4), -2, -1), ((2, 3, 4), 1, 1),
    ((), 0, -1), ((5,), 0, 0), ((2, 0, 3), 1, 2),
])
def test_flatten(shape, start, end):
    check_op(lambda L, x: L.flatten(x, start, end), rand(*shape))
    check_op(lambda L, x: x.flatten(start_dim=start, end_dim=end), rand(*shape), gradcheck=False)


def test_flatten_non_contiguous_and_errors():
    check_op(lambda L, x: x.transpose(0, 2).flatten(1), X)
    check_error(lambda: lamina.tensor(X).flatten(2, 1), ArgumentError, "flatten()", "start_dim", "end_dim")
    check_error(lambda: lamina.tensor(X).flatten(0, 3), DimError, "flatten()", "3")


@pytest.mark.parametrize("dim,sizes", [(1, (3, 1)), (-1, (2, -1)), (0, [1, 2]), (2, (2, 1, 2))])
def test_unflatten(dim, sizes):
    check_op(lambda L, x: L.unflatten(x, dim, sizes), X)
    check_op(lambda L, x: x.unflatten(dim, sizes), X, gradcheck=False)


def test_unflatten_errors():
    x = lamina.tensor(X)
    check_error(lambda: x.unflatten(1, (2, 2)), ShapeError, "unflatten()", "[2, 2]", "dim 1 (3)")
    check_error(lambda: x.unflatten(1, ()), ArgumentError, "non-empty")
    check_error(lambda: x.unflatten(1, (-1, -1)), ArgumentError, "only one dimension")
    check_error(lambda: x.unflatten(3, (1, 3)), DimError, "unflatten()")


@pytest.mark.parametrize("shape,dim", [
    ((2, 1, 3, 1), None), ((2, 1, 3, 1), 1), ((2, 1, 3, 1), -1), ((2, 1, 3, 1), 0), ((2, 1, 3, 1), (1, 3)),
    ((2, 1, 3, 1), (0, -1)), ((1, 1), None), ((), None), ((), 0), ((1, 0, 1), None), ((), (0,)),
])
def test_squeeze(shape, dim):
    check_op(lambda L, x: L.squeeze(x) if dim is None else L.squeeze(x, dim), rand(*shape))
    check_op(lambda L, x: x.squeeze() if dim is None else x.squeeze(dim), rand(*shape), gradcheck=False)


@pytest.mark.parametrize("shape,dim", [((2, 3), 0), ((2, 3), 2), ((2, 3), -1), ((2, 3), -3), ((), 0), ((), -1),
                                       ((0,), 1)])
def test_unsqueeze(shape, dim):
    check_op(lambda L, x: L.unsqueeze(x, dim), rand(*shape))


def test_squeeze_unsqueeze_errors():
    x = lamina.tensor(X)
    check_error(lambda: x.squeeze(3), DimError, "squeeze()", "3")
    check_error(lambda: x.squeeze((0, 0)), ArgumentError, "multiple times")
    check_error(lambda: x.unsqueeze(4), DimError, "unsqueeze()", "4", "[-4, 3]")
    check_error(lambda: lamina.tensor(1.0).unsqueeze(-2), DimError, "[-1, 0]")
    check_error(lambda: x.unsqueeze(1.5), ArgumentError, "'dim'")


# ---- permute / transpose / t / movedim ---------------------------------------------------------------------

@pytest.mark.parametrize("dims", [(2, 0, 1), (0, 1, 2), (-1, -3, 1), (1, 2, 0)])
def test_permute(dims):
    check_op(lambda L, x: L.permute(x, dims), X)
    check_op(lambda L, x: x.permute(*dims), X, gradcheck=False)
    check_op(lambda L, x: x.transpose(0, 1).permute(dims), X, gradcheck=False)


def test_permute_0d_and_T():
    check_op(lambda L, x: L.permute(x, ()), rand())
    check_op(lambda L, x: x.permute(1, 0), rand(3, 0))
    check_op(lambda L, x: x.mT, X)
    check_op(lambda L, x: x.T, rand(3, 4))


@pytest.mark.parametrize("d0,d1", [(0, 1), (0, -1), (2, 2), (-1, -2)])
def test_transpose_and_aliases(d0, d1):
    check_op(lambda L, x: L.transpose(x, d0, d1), X)
    check_op(lambda L, x: L.swapaxes(x, d0, d1), X, gradcheck=False)
    check_op(lambda L, x: L.swapdims(x, d0, d1), X, gradcheck=False)
    check_op(lambda L, x: x.transpose(d0, d1), X, gradcheck=False)


@pytest.mark.parametrize("shape", [(), (4,), (3, 4), (0, 2)])
def test_t(shape):
    check_op(lambda L, x: L.t(x), rand(*shape))
    check_op(lambda L, x: x.t(), rand(*shape), gradcheck=False)


@pytest.mark.parametrize("src,dst", [(0, -1), (-1, 0), ((0, 1), (2, 0)), ([2], [1]), ((0, 1, 2), (2, 1, 0))])
def test_movedim(src, dst):
    check_op(lambda L, x: L.movedim(x, src, dst), X)
    check_op(lambda L, x: L.moveaxis(x, src, dst), X, gradcheck=False)
    check_op(lambda L, x: x.movedim(src, dst), X, gradcheck=False)


def test_permute_family_errors():
    x = lamina.tensor(X)
    check_error(lambda: x.permute(0, 1), ArgumentError, "permute()", "3-d", "(0, 1)")
    check_error(lambda: x.permute(0, 0, 1), ArgumentError, "permutation", "(0, 0, 1)")
    check_error(lambda: x.permute(0, 1, 5), DimError, "permute()", "5")
    check_error(lambda: x.transpose(0, 3), DimError, "transpose()", "3")
    check_error(lambda: x.t(), ShapeError, "t()", "3-D", "[2, 3, 4]")
    check_error(lambda: x.movedim((0, 1), (1,)), ArgumentError, "movedim()", "same number")
    check_error(lambda: x.movedim((0, 0), (1, 2)), ArgumentError, "repeated dim", "source")
    check_error(lambda: x.movedim(0, 3), DimError, "movedim()")


# ---- expand / broadcast_to / repeat / tile -----------------------------------------------------------------

@pytest.mark.parametrize("shape,size", [
    ((3, 1), (3, 4)), ((3, 1), (2, 3, 4)), ((3, 1), (2, -1, 5)), ((1,), (0,)), ((), (2, 3)), ((), ()),
    ((2, 3), (2, 3)), ((1, 3, 1), (4, 3, 2)), ((2, 1), (3, 0, 2, 5)),
])
def test_expand(shape, size):
    check_op(lambda L, x: x.expand(*size) if size else x.expand(size), rand(*shape))
    check_op(lambda L, x: x.expand(size), rand(*shape), gradcheck=False)
    check_op(lambda L, x: L.broadcast_to(x, [s if s != -1 else shape[i - len(size) + len(shape)]
                                             for i, s in enumerate(size)]), rand(*shape), gradcheck=False)


def test_expand_as_and_non_contiguous():
    check_op(lambda L, x, y: x.expand_as(y), rand(1, 4), rand(3, 4))
    check_op(lambda L, x: x.t().expand(2, 4, 3), rand(3, 4))


def test_expand_errors():
    x = lamina.tensor(X)
    check_error(lambda: x.expand(3, 3, 4), ShapeError, "expand()", "(3)", "(2)", "dimension 0", "[2, 3, 4]")
    check_error(lambda: x.expand(3, 4), ShapeError, "number of sizes provided (2)", "(3)")
    check_error(lambda: x.expand(-1, 2, 3, 4), ArgumentError, "leading", "-1")
    check_error(lambda: x.expand(2, 3, -2), ArgumentError, "invalid size -2")
    check_error(lambda: lamina.broadcast_to(x, (2, 5, 4)), ShapeError, "broadcast_to()", "(5)", "(3)")
    check_error(lambda: lamina.zeros(1, 1).expand(2 ** 62, 2 ** 62), ArgumentError, "expand()", "overflows")


@pytest.mark.parametrize("shape,reps", [
    ((2, 3), (2, 1)), ((2, 3), (1, 3)), ((2, 3), (2, 2, 2)), ((3,), (4,)), ((), (3,)), ((), ()),
    ((2, 3), (0, 2)), ((0, 2), (2, 3)), ((2, 1, 3), (1, 4, 1)),
])
def test_repeat(shape, reps):
    check_op(lambda L, x: x.repeat(*reps) if reps else x.repeat(reps), rand(*shape))
    check_op(lambda L, x: x.repeat(reps), rand(*shape), gradcheck=False)


@pytest.mark.parametrize("shape,reps", [((2, 3), (2,)), ((2, 3), (2, 1, 2)), ((), (2, 2)), ((2, 3), ()),
                                        ((3,), (0,))])
def test_tile(shape, reps):
    check_op(lambda L, x: L.tile(x, reps), rand(*shape))
    check_op(lambda L, x: x.tile(*reps) if reps else x.tile(()), rand(*shape), gradcheck=False)


def test_repeat_tile_non_contiguous_and_errors():
    check_op(lambda L, x: x.t().repeat(2, 1, 3), rand(3, 4))
    x = lamina.tensor(X)
    check_error(lambda: x.repeat(2), ShapeError, "repeat()", "(1)", "(3)")
    check_error(lambda: x.repeat(-1, 1, 1), ArgumentError, "non-negative", "-1")
    check_error(lambda: x.tile((-1,)), ArgumentError, "tile()", "-1")
    check_error(lambda: x.repeat(2 ** 40, 2 ** 20, 1), ArgumentError, "repeat()", "overflows")


# ---- cat / stack / hstack / vstack -------------------------------------------------------------------------

@pytest.mark.parametrize("shapes,dim", [
    (((2, 3), (4, 3)), 0), (((2, 3), (2, 1), (2, 0)), 1), (((2, 3), (2, 5)), -1), (((3,), (2,)), 0),
    (((1, 2, 3), (1, 2, 3), (1, 2, 3)), -2), (((0, 3), (2, 3)), 0), (((2, 3),), 0),
])
def test_cat(shapes, dim):
    arrays = [rand(*s) for s in shapes]
    check_op(lambda L, *xs: L.cat(list(xs), dim), *arrays)
    check_op(lambda L, *xs: L.cat(xs, dim=dim), *arrays, gradcheck=False)
    check_op(lambda L, *xs: L.concat(xs, dim), *arrays, gradcheck=False)
    check_op(lambda L, *xs: L.concatenate(xs, axis=dim), *arrays, gradcheck=False)


def test_cat_promotes_dtypes():
    check_op(lambda L, a, b: L.cat([a, b]), rand(2, 3), rand(1, 3, dtype=np.float64))
    check_op(lambda L, a, b: L.cat([a, b], 1), rand(2, 3), rand(2, 2, dtype=np.int64, low=-5, high=5))
    check_op(lambda L, a, b: L.cat([a, b]), rand(2, dtype=np.int32, high=9), rand(3, dtype=bool))


def test_cat_skips_legacy_empty_1d():
    check_op(lambda L, a, b, c: L.cat([a, b, c], 1), rand(2, 3), rand(0), rand(2, 2))
    check_op(lambda L, a, b: L.cat([a, b]), rand(0), rand(0, dtype=np.float64))
    check_op(lambda L, a, b: L.cat([a, b]), X, rand(0, dtype=np.float64), gradcheck=False)


def test_cat_non_contiguous():
    check_op(lambda L, a, b: L.cat([a.t(), b], 0), rand(3, 2), rand(4, 3))


def test_cat_errors():
    x = lamina.tensor(X)
    check_error(lambda: lamina.cat([x, lamina.zeros(2, 4, 4)], 2), ShapeError, "cat()", "dimension 2",
                "expected size 3 but got size 4", "[2, 3, 4]", "[2, 4, 4]")
    check_error(lambda: lamina.cat([x, lamina.zeros(3, 4)]), ShapeError, "same number of dimensions", "3 and 2")
    check_error(lambda: lamina.cat([]), ArgumentError, "non-empty")
    check_error(lambda: lamina.cat([x, X]), DTypeError, "element 1", "ndarray")
    check_error(lambda: lamina.cat(x), DTypeError, "tuple or list")
    check_error(lambda: lamina.cat([lamina.tensor(1.0), lamina.tensor(2.0)]), ShapeError, "zero-dimensional")
    check_error(lambda: lamina.cat([x, x], 3), DimError, "cat()", "3")


@pytest.mark.parametrize("shape,dim,n", [((2, 3), 0, 2), ((2, 3), 2, 3), ((2, 3), -1, 2), ((2, 3), -3, 1),
                                         ((), 0, 3), ((0, 2), 1, 2)])
def test_stack(shape, dim, n):
    arrays = [rand(*shape) for _ in range(n)]
    check_op(lambda L, *xs: L.stack(xs, dim), *arrays)


def test_stack_promotes_non_contiguous_and_errors():
    check_op(lambda L, a, b: L.stack([a.t(), b], 1), rand(3, 2), rand(2, 3, dtype=np.float64))
    x = lamina.tensor(X)
    check_error(lambda: lamina.stack([x, lamina.zeros(2, 4, 4)]), ShapeError, "stack()", "[2, 3, 4] at entry 0",
                "[2, 4, 4] at entry 1")
    check_error(lambda: lamina.stack([x, x], 4), DimError, "stack()", "4", "[-4, 3]")
    check_error(lambda: lamina.stack([]), ArgumentError, "non-empty")


@pytest.mark.parametrize("shapes", [((), (2,)), ((3,), (2,)), ((2, 3), (2, 1)), ((2, 3, 1), (2, 2, 1))])
def test_hstack(shapes):
    check_op(lambda L, *xs: L.hstack(xs), *[rand(*s) for s in shapes])


@pytest.mark.parametrize("shapes", [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 3, 1), (1, 3, 1))])
def test_vstack(shapes):
    check_op(lambda L, *xs: L.vstack(xs), *[rand(*s) for s in shapes])


# ---- split / chunk / unbind / narrow ------------------------------------------------------------------------

@pytest.mark.parametrize("shape,arg,dim", [
    ((5, 3), 2, 0), ((5, 3), 5, 0), ((5, 3), 7, 0), ((5, 3), 1, -1), ((5, 3), [1, 4], 0), ((5, 3), (3, 0, 0), 1),
    ((0, 3), 2, 0), ((0, 3), 0, 0), ((2, 6), [6], 1),
])
def test_split(shape, arg, dim):
    check_op(lambda L, x: L.split(x, arg, dim), rand(*shape))
    check_op(lambda L, x: x.split(arg, dim=dim), rand(*shape), gradcheck=False)


def test_split_gradient_through_some_pieces():
    check_op(lambda L, x: x.split(2)[1] * 2.0, rand(5, 3))
    check_op(lambda L, x: x.t().split([1, 2, 1], 1)[2], rand(4, 5))


@pytest.mark.parametrize("n,chunks", [(5, 3), (5, 4), (6, 3), (2, 5), (0, 3), (1, 1)])
def test_chunk(n, chunks):
    check_op(lambda L, x: L.chunk(x, chunks), rand(n, 2))
    check_op(lambda L, x: x.chunk(chunks, -1), rand(2, n), gradcheck=False)


@pytest.mark.parametrize("shape,dim", [((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 0), 0), ((0, 2), 0), ((4,), 0)])
def test_unbind(shape, dim):
    check_op(lambda L, x: L.unbind(x, dim), rand(*shape))
    check_op(lambda L, x: x.unbind(dim)[-1] if shape[dim] else x.unbind(dim), rand(*shape), gradcheck=False)


def test_iterating_a_tensor_uses_unbind():
    check_op(lambda L, x: [r * 1.0 for r in x][1], rand(3, 2))


@pytest.mark.parametrize("dim,start,length", [(0, 0, 1), (1, 1, 2), (-1, -2, 2), (2, 4, 0), (1, -3, 3)])
def test_narrow(dim, start, length):
    check_op(lambda L, x: L.narrow(x, dim, start, length), X)
    check_op(lambda L, x: x.narrow(dim, start, length), X, gradcheck=False)


def test_split_family_errors():
    x = lamina.tensor(X)
    check_error(lambda: x.split([1, 1], 1), ShapeError, "split()", "sum exactly to 3", "[1, 1]")
    check_error(lambda: x.split([2, -1, 2], 1), ArgumentError, "non-negative")
    check_error(lambda: x.split(0, 1), ArgumentError, "split_size", "0")
    check_error(lambda: x.split(-1), ArgumentError, "split_size", "-1")
    check_error(lambda: lamina.tensor(1.0).split(1), DimError, "0-d")
    check_error(lambda: x.chunk(0), ArgumentError, "chunk()", "greater than 0", "0")
    check_error(lambda: x.unbind(3), DimError, "unbind()")
    check_error(lambda: lamina.tensor(1.0).unbind(0), DimError, "no dimensions")
    check_error(lambda: x.narrow(0, -3, 1), IndexError_, "narrow()", "start -3", "size 2")
    check_error(lambda: x.narrow(0, 1, 5), ArgumentError, "start (1) + length (5)", "size 2")
    check_error(lambda: x.narrow(0, 1, -1), ArgumentError, "length", "non-negative")
    check_error(lambda: lamina.tensor(1.0).narrow(0, 0, 1), DimError, "0-d")


# ---- flip / roll / tril / triu / contiguous ----------------------------------------------------------------

@pytest.mark.parametrize("shape,dims", [((2, 3, 4), (0,)), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1,)),
                                        ((2, 3, 4), ()), ((), (0,)), ((0, 3), (1,)), ((5,), [0])])
def test_flip(shape, dims):
    check_op(lambda L, x: L.flip(x, dims), rand(*shape))
    check_op(lambda L, x: x.flip(*dims) if dims else x.flip(()), rand(*shape), gradcheck=False)


def test_flip_copies_and_errors():
    a = lamina.arange(3.0)
    f = a.flip(0)
    a[0] = 9.0
    assert f.tolist() == [2.0, 1.0, 0.0]
    check_op(lambda L, x: x.t().flip(0), rand(3, 4))
    check_error(lambda: lamina.tensor(X).flip(0, 0), ArgumentError, "multiple times")
    check_error(lambda: lamina.tensor(X).flip(3), DimError, "flip()")


@pytest.mark.parametrize("shape,shifts,dims", [
    ((2, 3, 4), 1, None), ((2, 3, 4), -5, None), ((2, 3, 4), 1, 0), ((2, 3, 4), (1, -2), (0, 2)),
    ((2, 3, 4), (7,), (-1,)), ((5,), 2, 0), ((), 3, None), ((0, 3), 1, 1), ((2, 3, 4), (1, 1), (1, 1)),
])
def test_roll(shape, shifts, dims):
    check_op(lambda L, x: L.roll(x, shifts, dims), rand(*shape))
    check_op(lambda L, x: x.roll(shifts, dims), rand(*shape), gradcheck=False)


def test_roll_non_contiguous_and_errors():
    check_op(lambda L, x: x.t().roll(1), rand(3, 4))
    x = lamina.tensor(X)
    check_error(lambda: x.roll((1, 2), (0,)), ArgumentError, "roll()", "align", "[1, 2]", "[0]")
    check_error(lambda: x.roll((1, 2)), ArgumentError, "single int")
    check_error(lambda: x.roll(1, 3), DimError, "roll()")


@pytest.mark.parametrize("shape,diagonal", [((4, 4), 0), ((3, 5), 1), ((3, 5), -1), ((2, 3, 4), 2), ((4, 3), -5),
                                            ((0, 3), 0)])
def test_tril_triu(shape, diagonal):
    check_op(lambda L, x: L.tril(x, diagonal), rand(*shape))
    check_op(lambda L, x: L.triu(x, diagonal), rand(*shape))
    check_op(lambda L, x: x.t().tril(diagonal=diagonal), rand(*shape[::-1][:2]), gradcheck=False)


def test_tril_bool_and_errors():
    check_op(lambda L, x: L.tril(x), rand(3, 3, dtype=bool), grad=False)
    check_op(lambda L, x: L.triu(x, 1), rand(3, 3, dtype=np.int64, high=9), grad=False)
    check_error(lambda: lamina.tril(lamina.zeros(3)), ShapeError, "tril()", "at least 2", "[3]")
    check_error(lambda: lamina.triu(lamina.tensor(1.0)), ShapeError, "triu()")


def test_contiguous():
    x = lamina.tensor(X, requires_grad=True)
    assert x.contiguous() is x
    y = x.transpose(0, 2)
    assert not y.is_contiguous()
    assert y.contiguous().is_contiguous()
    check_op(lambda L, x: x.transpose(0, 2).contiguous(), X)


# ---- views share memory and the version counter ------------------------------------------------------------

@pytest.mark.parametrize("make,pos,base_key", [
    (lambda a: a.reshape(3, 2), (2, 1), (1, 2)),
    (lambda a: a.view(-1), (5,), (1, 2)),
    (lambda a: a.t(), (2, 1), (1, 2)),
    (lambda a: a.transpose(0, 1), (2, 1), (1, 2)),
    (lambda a: a.permute(1, 0), (2, 1), (1, 2)),
    (lambda a: a.unsqueeze(0), (0, 1, 2), (1, 2)),
    (lambda a: a[1:], (0, 2), (1, 2)),
    (lambda a: a[1], (2,), (1, 2)),
    (lambda a: a[:, ::2], (1, 1), (1, 2)),
    (lambda a: a.flatten(), (5,), (1, 2)),
    (lambda a: a.narrow(1, 1, 2), (1, 1), (1, 2)),
    (lambda a: a.split(1)[1], (0, 2), (1, 2)),
    (lambda a: a.unbind(1)[2], (1,), (1, 2)),
    (lambda a: a.movedim(0, 1), (2, 1), (1, 2)),
    (lambda a: a[:1].expand(4, 3), (3, 0), (0, 0)),
])
def test_views_see_writes_to_the_base(make, pos, base_key):
    a = lamina.arange(6.0).reshape(2, 3)
    v = make(a)
    a[base_key] = 100.0
    assert v[pos].item() == 100.0
    assert v._version == a._version == 1


def test_write_through_a_view_reaches_the_base():
    a = lamina.zeros(2, 3)
    a.t()[2, 0] = 7.0
    a[1][1] = 5.0
    assert a.tolist() == [[0.0, 0.0, 7.0], [0.0, 5.0, 0.0]]


def test_inplace_on_base_after_view_saved_for_backward_is_caught():
    x = lamina.tensor(rand(3), requires_grad=True)
    y = x * 1.0
    v = y.view(3)
    z = v * v  # saves v, which shares y's version counter
    y[0] = 2.0
    check_error(lambda: z.sum().backward(), AutogradError, "modified by an in-place operation")


def test_out_of_place_ops_leave_inputs_unchanged():
    x = lamina.tensor(X)
    before = X.copy()
    for f in (lambda t: t.flip(0), lambda t: t.roll(1), lambda t: t.repeat(1, 2, 1), lambda t: lamina.cat([t, t]),
              lambda t: t.tril(), lambda t: t.transpose(0, 1).reshape(-1)):
        f(x)
    np.testing.assert_array_equal(x.numpy(), before)


@pytest.mark.parametrize("fn", [
    lambda L, x: x.reshape(shape=(4, 6)), lambda L, x: x.view(size=(6, 4)), lambda L, x: x.permute(dims=(2, 0, 1)),
    lambda L, x: x[:, :1].expand(size=(2, 5, 4)), lambda L, x: x.repeat(repeats=(1, 2, 1)),
    lambda L, x: x.tile(dims=(2,)), lambda L, x: x.flip(dims=(0, 2)), lambda L, x: x.view(dtype=L.int32),
])
def test_size_methods_take_torch_keywords(fn):
    check_op(fn, X, grad=fn(lamina, lamina.tensor(X)).dtype == lamina.float32)
    check_error(lambda: lamina.tensor(X).reshape(24, shape=(24,)), TypeError, "reshape()", "shape=")
