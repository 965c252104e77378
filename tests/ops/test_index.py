"""Indexing operators against torch: getitem/setitem, gather/scatter, index_*, masks, one_hot, sort/topk."""
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ArgumentError, AutogradError, DimError, DTypeError, IndexError_, ShapeError
from tests.helpers import check_error, check_op, rand

X = rand(2, 3, 4)
X4 = rand(5, 2, 3, 4, seed=1)
MASK = rand(2, 3, dtype=bool, seed=2)


def _idx(*values, dtype=np.int64):
    return np.array(values, dtype=dtype)


# ---- getitem: basic keys are views -------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    0, -1, (1, 2), (1, -1, 3), slice(None), slice(1, None), slice(None, None, 2), (slice(None), slice(0, 3, 2)),
    (Ellipsis, 1), (None, 0), (slice(None), None, Ellipsis, None), Ellipsis, (), (0, Ellipsis, 0),
    (slice(5, 1),), (slice(-2, None), slice(None, -1)), (1, slice(0, 0)), (slice(1, 100, 3),),
], ids=repr)
def test_getitem_basic(key):
    check_op(lambda L, x: x[key], X)


def test_getitem_0d_and_zero_size():
    check_op(lambda L, x: x[None], rand())
    check_op(lambda L, x: x[...], rand())
    check_op(lambda L, x: x[()], rand())
    check_op(lambda L, x: x[1:, :0], rand(3, 0))
    check_op(lambda L, x: x[:, 0:0], rand(3, 0))
    check_op(lambda L, x: x[0, 0, 0] * 2.0, X)


def test_getitem_index_tensors_that_are_scalars():
    check_op(lambda L, x, i: x[i], X, np.array(1))
    check_op(lambda L, x, i: x[:, i], X, np.array(-1, dtype=np.int32))
    check_op(lambda L, x: x[True], X)
    check_op(lambda L, x: x[False], X)
    check_op(lambda L, x, b: x[b, 0], X, np.array(True))


def test_getitem_basic_result_is_a_view():
    a = lamina.zeros(3, 4)
    v = a[1:, ::2]
    a[2, 2] = 3.0
    assert v[1, 1].item() == 3.0
    s = a[1, 2]
    a[1, 2] = 4.0
    assert s.item() == 4.0


# ---- getitem: advanced keys --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    [0, 1, 0],
    [[1, 0], [1, 1]],
    (slice(None), [2, 0, 2, 2]),
    (slice(None), [-1, 0], slice(1, 3)),
    ([0, 1], slice(None), [3, 2]),
    ([0, 1], [2, 1]),
    ([[0], [1]], [0, 2, 1]),
    (0, [0, 0, 2]),
    ([1, 0], 1, [0, 3]),
    (Ellipsis, [3, 3, 0]),
    (slice(None), [0, 1], None),
    ([], ),
    (slice(None), []),
    ([True, False],),
    ([[True, False, True], [False, False, True]],),
], ids=repr)
def test_getitem_advanced(key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about list keys it reads as tuples
        check_op(lambda L, x: x[key], X)


def test_getitem_index_arrays_and_tensors():
    check_op(lambda L, x, i: x[i], X, _idx(1, 0, 1, 1))
    check_op(lambda L, x, i: x[:, i], X, _idx(2, -3, 2, dtype=np.int32))
    check_op(lambda L, x, i, j: x[i, :, j], X, _idx(0, 1, 1), _idx(3, 0, 3))
    check_op(lambda L, x, i: x[..., i], X, _idx([0, 1], [3, 3]).reshape(2, 2))
    check_op(lambda L, x: x[np.array([1, 1, 0])], X, torch_fn=lambda T, x: x[torch.tensor([1, 1, 0])])


def test_getitem_ints_are_applied_first_like_torch():
    # NumPy would put the broadcast dim first here (0 and [0, 1] are both advanced for NumPy); torch selects
    # with the int first, so the index dim stays in place.
    check_op(lambda L, x: x[:, [0, 1], :, 0], X4)
    check_op(lambda L, x: x[0, :, [1, 0, 2]], X4)
    check_op(lambda L, x: x[[0, 4], :, [1, 2], 1], X4)


@pytest.mark.parametrize("make", [
    lambda L, x, m: x[m],
    lambda L, x, m: x[m, 1:],
    lambda L, x, m: x[:, m[0]],
    lambda L, x, m: x[1, m[1]],
    lambda L, x, m: x[None, m],
])
def test_getitem_masks(make):
    check_op(make, X, MASK)


def test_getitem_mask_and_index_mixed_and_uint8():
    mask = rand(3, dtype=bool, seed=3) | np.eye(3, dtype=bool)[0]
    check_op(lambda L, x, m, i: x[m, i], rand(3, 4), mask, _idx(0))
    check_op(lambda L, x, m, i: x[i[None], m], rand(4, 3), mask, _idx(3))
    check_op(lambda L, x, i: x[True, i], X, _idx(0))
    check_op(lambda L, x, i: x[i, True, i], X, _idx(0, 1))
    check_op(lambda L, x, i: x[i, :, True], X, _idx(1))
    check_op(lambda L, x, i: x[:, True, i], X, _idx(1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates uint8 masks
        check_op(lambda L, x, m: x[m], X, _idx(1, 0, dtype=np.uint8))


@pytest.mark.parametrize("rows,picks", [(50, 5), (6, 40), (1, 7)])
def test_getitem_duplicate_indices_accumulate(rows, picks):
    # rows > 4 * picks takes the sort-and-segment-sum path, the others the bincount path
    idx = np.random.default_rng(4).integers(0, rows, picks)
    idx[: picks // 2] = idx[0]
    check_op(lambda L, x, i: x[i], rand(rows, 3, dtype=np.float64), idx, gradcheck=rows * 3 <= 400)
    check_op(lambda L, x, i: x[:, i], rand(2, rows), idx, gradcheck=False)


def test_getitem_duplicates_in_several_index_arrays():
    i, j = _idx(0, 1, 0, 0), _idx(2, 1, 2, 2)
    check_op(lambda L, x, i, j: x[i, j], X, i, j)             # adjacent: merged into one axis
    check_op(lambda L, x, i, j: x[i, :, j[:, None]], X, i, _idx(3, 3, 0, 3))  # separated: NumPy's add.at path
    check_op(lambda L, x, i: x[i, i], rand(3, 3, 2), _idx(1, 1, 2))


def test_getitem_non_contiguous_input():
    check_op(lambda L, x, i: x.transpose(0, 2)[i, 1:], X, _idx(3, 1, 3))
    check_op(lambda L, x, m: x.t()[m], rand(3, 2), MASK)


def test_getitem_float64_and_int_tensors():
    check_op(lambda L, x, i: x[i, ::2], rand(4, 5, dtype=np.float64), _idx(3, 0, 3))
    check_op(lambda L, x: x[[1, 0], 1:], rand(3, 4, dtype=np.int64, low=-9, high=9), grad=False)
    check_op(lambda L, x, m: x[m], rand(2, 3, dtype=bool), MASK, grad=False)


@pytest.mark.parametrize("key,exc,frags", [
    (5, IndexError_, ["index 5 is out of bounds for dimension 0 with size 2"]),
    ((0, -4), IndexError_, ["index -4", "dimension 1 with size 3"]),
    ((slice(None), [0, 3]), IndexError_, ["index 3", "dimension 1 with size 3"]),
    ((Ellipsis, [-5]), IndexError_, ["index -5", "dimension 2 with size 4"]),
    ((0, 0, 0, 0), IndexError_, ["too many indices", "dimension 3"]),
    (1.0, IndexError_, ["only integers", "float"]),
    ("a", IndexError_, ["only integers", "str"]),
    (slice(None, None, -1), ArgumentError, ["step must be greater than zero"]),
    (slice(None, None, 0), ArgumentError, ["step must be greater than zero"]),
    (slice(0.5, None), IndexError_, ["slice indices"]),
    ((Ellipsis, 0, Ellipsis), IndexError_, ["single ellipsis"]),
    (np.ones((3, 4), bool), IndexError_, ["mask [3, 4]", "[2, 3]", "dimension 0"]),
    ((slice(None), np.ones((2, 4), bool)), IndexError_, ["mask [2, 4]", "[3, 4]", "dimension 1"]),
    (([0, 1], slice(None), [0, 1, 2]), IndexError_, ["shape mismatch", "[2], [3]"]),
    (np.array([0.0]), IndexError_, ["long, int, byte or bool", "float"]),
    (np.array([0], dtype=np.int16), IndexError_, ["long, int, byte or bool"]),
], ids=repr)
def test_getitem_errors(key, exc, frags):
    check_error(lambda: lamina.tensor(X)[key], exc, *frags)


def test_getitem_errors_with_tensor_keys():
    x = lamina.tensor(X)
    check_error(lambda: x[lamina.tensor([0.0])], IndexError_, "long, int, byte or bool")
    check_error(lambda: x[lamina.tensor([2])], IndexError_, "index 2", "size 2")
    check_error(lambda: lamina.tensor(1.0)[0], IndexError_, "too many indices", "dimension 0")


# ---- setitem (out of place) and Tensor.__setitem__ -----------------------------------------------------------

def _assign(key):
    """x[key] = v on a non-leaf copy, the same way on both frameworks."""
    def fn(L, x, v=None):
        y = x * 1.0 if x.dtype.is_floating_point else x.clone()
        y[key] = v
        return y
    return fn


@pytest.mark.parametrize("key,vshape", [
    (0, ()), (1, (3, 4)), (1, (4,)), ((slice(None), 1), (2, 1)), ((Ellipsis, 2), (1, 1, 2, 3)),
    ((slice(None), [0, 2]), (2, 2, 4)), (([1, 0], slice(1, 3), [0, 1]), (2,)), ((0, [2, 0]), (4,)),
    ((slice(None), slice(None, None, 2), None), (2, 2, 1, 4)), ((), (3, 4)), (None, (2, 3, 4)),
], ids=repr)
def test_setitem(key, vshape):
    check_op(_assign(key), X, rand(*vshape))


def test_setitem_with_numbers_masks_and_dtypes():
    check_op(lambda L, x: _assign((0, 1))(L, x, 5.0), X)
    check_op(lambda L, x, m: _assign(m)(L, x, -1.0), X, MASK)
    check_op(lambda L, x, m, v: _assign(m)(L, x, v), X, MASK, rand(4))
    check_op(lambda L, x, m, v: _assign(m)(L, x, v), X, MASK, rand(int(MASK.sum()), 4))
    check_op(lambda L, x, v: _assign(1)(L, x, v), X, rand(3, 4, dtype=np.float64))  # cast in, grad cast back
    check_op(lambda L, x, v: _assign([0, 1])(L, x, v), rand(3, 2, dtype=np.int64, high=9),
             rand(2, 1, dtype=np.int64, high=9), grad=False)
    check_op(lambda L, x: _assign(1)(L, x, 2.7), rand(3, dtype=np.int64, high=9), grad=False)
    check_op(lambda L, x, v: _assign((slice(None), 1))(L, x.t(), v), rand(4, 3), rand(3))


def test_setitem_function_is_out_of_place():
    x = lamina.tensor(X)
    y = lamina.ops.setitem(x, (0, slice(None)), lamina.ones(4))
    np.testing.assert_array_equal(x.numpy(), X)
    assert y[0].tolist() == [[1.0] * 4] * 3
    check_op(lambda L, x, v: L.ops.setitem(x, (slice(None), [2, 0]), v), X, rand(2, 2, 4),
             torch_fn=lambda T, x, v: _assign((slice(None), [2, 0]))(T, x, v))


def test_setitem_with_duplicate_indices_gives_value_every_gradient():
    # the written value is unspecified with duplicates, so only the gradients are compared
    x = lamina.tensor(rand(4), requires_grad=True)
    v = lamina.tensor(rand(3), requires_grad=True)
    y = lamina.ops.setitem(x, [1, 1, 2], v)
    g = rand(4)
    y.backward(lamina.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g * np.array([1, 0, 0, 1]))
    np.testing.assert_allclose(v.grad.numpy(), g[[1, 1, 2]])


def test_setitem_errors():
    x = lamina.tensor(X)
    check_error(lambda: x.__setitem__(0, lamina.ones(4, 3)), ShapeError, "value tensor of shape [4, 3]",
                "indexing result of shape [3, 4]")
    check_error(lambda: x.__setitem__((slice(None), [0, 1]), lamina.ones(3)), ShapeError, "[3]", "[2, 2, 4]")
    check_error(lambda: x.__setitem__(2, 1.0), IndexError_, "index 2", "size 2")
    check_error(lambda: x.__setitem__(slice(None, None, -1), 1.0), ArgumentError, "step")


# ---- gather / scatter / scatter_add / take_along_dim ---------------------------------------------------------

@pytest.mark.parametrize("shape,dim,index", [
    ((3, 4), 0, [[0, 1, 2, 0], [2, 2, 1, 0]]),
    ((3, 4), 1, [[0, 0], [3, 1], [2, 2]]),
    ((3, 4), -1, [[3], [3]]),
    ((2, 3, 4), 1, np.zeros((2, 5, 4), np.int64)),
    ((2, 3, 4), 2, [[[1, 1, 1]], [[0, 3, 2]]]),
    ((), 0, 0),
    ((), 0, [0, 0]),
    ((3, 4), 1, np.zeros((3, 0), np.int64)),
    ((0, 4), 1, np.zeros((0, 2), np.int64)),
], ids=repr)
def test_gather(shape, dim, index):
    index = np.array(index, np.int64)
    check_op(lambda L, x, i: L.gather(x, dim, i), rand(*shape), index)
    check_op(lambda L, x, i: x.gather(dim, i), rand(*shape), index, gradcheck=False)


def test_gather_int32_index_non_contiguous_and_float64():
    check_op(lambda L, x, i: x.t().gather(0, i), rand(3, 4), _idx([3, 0, 0], [1, 1, 2], dtype=np.int32))
    check_op(lambda L, x, i: L.gather(x, 0, i), rand(6, 2, dtype=np.float64), _idx([5, 5], [5, 0], [0, 5]))


def test_gather_errors():
    x = lamina.tensor(rand(3, 4))
    check_error(lambda: lamina.gather(x, 0, lamina.tensor([[0.0]])), DTypeError, "gather()", "int64", "float32")
    check_error(lambda: lamina.gather(x, 0, lamina.tensor([0, 1])), ShapeError, "same number of dimensions")
    check_error(lambda: lamina.gather(x, 0, lamina.tensor([[0, 1, 2, 0, 0]])), ShapeError, "size 5", "dimension 1",
                "size 4")
    check_error(lambda: lamina.gather(x, 1, lamina.tensor([[4]])), IndexError_, "index 4", "dimension 1", "size 4")
    check_error(lambda: lamina.gather(x, 0, lamina.tensor([[-1]])), IndexError_, "index -1")
    check_error(lambda: lamina.gather(x, 2, lamina.tensor([[0]])), DimError, "gather()")
    check_error(lambda: lamina.gather(x, 0, [[0]]), DTypeError, "Tensor")


@pytest.mark.parametrize("dim,index", [
    (0, [[0, 1, 2, 0], [2, 0, 1, 1]]),
    (1, [[3, 1], [0, 2], [1, 0]]),
    (-1, [[0], [1]]),
], ids=repr)
def test_scatter_src(dim, index):
    index = np.array(index, np.int64)  # no duplicate target: with duplicates the written value is unspecified
    check_op(lambda L, x, i, s: L.scatter(x, dim, i, s), rand(3, 4), index, rand(*index.shape))
    check_op(lambda L, x, i, s: x.scatter(dim, i, src=s), rand(3, 4), index, rand(*index.shape),
             gradcheck=False)


def test_scatter_value_and_reduce():
    i = _idx([0, 1, 2, 0], [2, 0, 1, 1])
    check_op(lambda L, x, i: L.scatter(x, 0, i, 2.5), rand(3, 4), i)
    check_op(lambda L, x, i: x.scatter(0, i, value=-1.0), rand(3, 4), i, gradcheck=False)
    # torch has no derivative for reduce=..., so only the forward is compared
    dup = _idx([0, 0, 2, 0], [0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates reduce= with a src tensor
        for reduce in ("add", "multiply"):
            check_op(lambda L, x, i, s: L.scatter(x, 0, i, s, reduce=reduce), rand(3, 4), dup, rand(2, 4),
                     grad=False)
            check_op(lambda L, x, i: L.scatter(x, 0, i, 3.0, reduce=reduce), rand(3, 4), dup, grad=False)
    check_op(lambda L, x, i, s: L.scatter(x, 1, i, s), rand(2, 3, dtype=np.int64, high=9), _idx([2], [0]),
             rand(2, 1, dtype=np.int64, high=9), grad=False)


def test_scatter_src_larger_than_index_gradcheck():
    # torch's own backward fails here (shape mismatch); ours gives zeros to the unused part of src
    x = lamina.tensor(rand(3, 4, dtype=np.float64), requires_grad=True)
    s = lamina.tensor(rand(3, 5, dtype=np.float64), requires_grad=True)
    i = lamina.tensor(_idx([0, 1], [2, 0]))
    assert lamina.autograd.gradcheck(lambda x, s: lamina.scatter(x, 0, i, s), (x, s))


def test_scatter_multiply_has_no_derivative():
    x = lamina.tensor(rand(3), requires_grad=True)
    y = lamina.scatter(x * 1.0, 0, lamina.tensor([0]), 2.0, reduce="multiply")
    check_error(lambda: y.sum().backward(), AutogradError, "reduce='multiply'")


@pytest.mark.parametrize("shape,dim,index", [
    ((3, 4), 0, [[0, 0, 2, 0], [0, 0, 1, 1], [2, 2, 2, 2]]),
    ((3, 4), 1, [[3, 3], [0, 0], [1, 3]]),
    ((2, 3, 4), -2, np.zeros((2, 3, 4), np.int64)),
    ((5,), 0, [4, 4, 4, 0]),
], ids=repr)
def test_scatter_add(shape, dim, index):
    index = np.array(index, np.int64)
    check_op(lambda L, x, i, s: L.scatter_add(x, dim, i, s), rand(*shape), index, rand(*index.shape))
    check_op(lambda L, x, i, s: x.scatter_add(dim, i, s), rand(*shape), index, rand(*index.shape),
             gradcheck=False)


def test_scatter_add_large_and_inplace_method():
    # many targets, few sources: the add.at path; many sources: the bincount path
    check_op(lambda L, x, i, s: L.scatter_add(x, 0, i, s), rand(200), np.array([3, 3, 150]), rand(3),
             gradcheck=False)
    check_op(lambda L, x, i, s: L.scatter_add(x, 0, i, s), rand(4), np.arange(300) % 4, rand(300),
             gradcheck=False)
    check_op(lambda L, x, i, s: (x * 1.0).scatter_add_(1, i, s), rand(2, 3), _idx([0, 0], [2, 1]), rand(2, 2))
    check_op(lambda L, x, i, s: (x * 1.0).scatter_(1, i, s), rand(2, 3), _idx([0, 1], [2, 1]), rand(2, 2))


def test_scatter_errors():
    x = lamina.tensor(rand(3, 4))
    i = lamina.tensor(_idx([0, 1]))
    check_error(lambda: lamina.scatter(x, 0, i, lamina.zeros(1, 2, dtype=lamina.float64)), DTypeError,
                "scatter()", "float32", "float64")
    check_error(lambda: lamina.scatter(x, 0, lamina.tensor([[5]]), 1.0), IndexError_, "index 5", "size 3")
    check_error(lambda: lamina.scatter(x, 0, i, lamina.zeros(1, 1)), ShapeError, "src", "size 1")
    check_error(lambda: lamina.scatter(x, 0, i, lamina.zeros(2)), ShapeError, "same number of dimensions")
    check_error(lambda: lamina.scatter(x, 0, i, 1.0, reduce="mean"), ArgumentError, "'reduce'", "'mean'")
    check_error(lambda: lamina.scatter(x, 0, i), ArgumentError, "exactly one")
    check_error(lambda: lamina.scatter_add(x, 0, i, 1.0), DTypeError, "scatter_add()", "'src'")
    check_error(lambda: lamina.scatter_add(x, 0, lamina.tensor([[0.5]]), lamina.zeros(1, 1)), DTypeError, "int64")


@pytest.mark.parametrize("shape,ishape,dim", [((3, 4), (3, 2), 1), ((3, 4), (1, 4), 0), ((2, 1, 4), (1, 3, 2), 2),
                                              ((3, 4), (5,), None), ((), (), None)])
def test_take_along_dim(shape, ishape, dim):
    n = int(np.prod(shape)) if dim is None else (shape[dim] if shape else 1)
    index = rand(*ishape, dtype=np.int64, low=0, high=n)
    check_op(lambda L, x, i: L.take_along_dim(x, i, dim), rand(*shape), index)
    check_op(lambda L, x, i: x.take_along_dim(i, dim), rand(*shape), index, gradcheck=False)


def test_take_along_dim_with_argsort_and_errors():
    check_op(lambda L, x: L.take_along_dim(x, L.argsort(x, dim=1), dim=1), rand(3, 5))
    x = lamina.tensor(rand(3, 4))
    check_error(lambda: lamina.take_along_dim(x, lamina.tensor([0]), 1), ShapeError, "same number of dimensions")
    check_error(lambda: lamina.take_along_dim(x, lamina.tensor([[0], [1]]), 1), ShapeError, "[3, 4]", "[2, 1]")


# ---- index_select / index_add / index_copy / index_fill ------------------------------------------------------

@pytest.mark.parametrize("shape,dim,index", [
    ((4, 3), 0, [3, 0, 3, 3]), ((4, 3), 1, [2]), ((4, 3), -1, []), ((2, 3, 4), 2, [0, 0, 1, 3, 3]),
    ((4, 3), 0, 2), ((), 0, [0]), ((), 0, 0), ((40, 2), 0, [7, 7, 1]),
], ids=repr)
def test_index_select(shape, dim, index):
    index = np.array(index, np.int64)
    check_op(lambda L, x, i: L.index_select(x, dim, i), rand(*shape, dtype=np.float64), index,
             gradcheck=int(np.prod(shape)) <= 40)
    check_op(lambda L, x, i: x.index_select(dim, i), rand(*shape), index, gradcheck=False)


def test_index_select_non_contiguous_int32_and_errors():
    check_op(lambda L, x, i: x.t().index_select(0, i), rand(3, 4), _idx(3, 1, 3, dtype=np.int32))
    x = lamina.tensor(rand(4, 3))
    check_error(lambda: x.index_select(0, lamina.tensor([4])), IndexError_, "index 4", "size 4")
    check_error(lambda: x.index_select(0, lamina.tensor([-1])), IndexError_, "index -1")
    check_error(lambda: x.index_select(0, lamina.tensor([[1]])), ShapeError, "vector", "[1, 1]")
    check_error(lambda: x.index_select(0, lamina.tensor([1.0])), DTypeError, "int64")
    check_error(lambda: x.index_select(2, lamina.tensor([1])), DimError, "index_select()")


@pytest.mark.parametrize("dim,index,alpha", [(0, [0, 0, 3], 1), (1, [2, 0], 2.5), (-1, [1, 1, 1, 1], -1)])
def test_index_add(dim, index, alpha):
    index = np.array(index, np.int64)
    sshape = [4, 3]
    sshape[dim] = len(index)
    check_op(lambda L, x, i, s: L.index_add(x, dim, i, s, alpha=alpha), rand(4, 3), index, rand(*sshape))


@pytest.mark.parametrize("dim,index", [(0, [3, 0]), (1, [2]), (-1, [0, 2, 1])])
def test_index_copy_and_fill(dim, index):
    index = np.array(index, np.int64)
    sshape = [4, 3]
    sshape[dim] = len(index)
    check_op(lambda L, x, i, s: L.index_copy(x, dim, i, s), rand(4, 3), index, rand(*sshape))
    check_op(lambda L, x, i: L.index_fill(x, dim, i, -2.0), rand(4, 3), index)
    check_op(lambda L, x, i, v: L.index_fill(x, dim, i, v), rand(4, 3), index, rand())
    check_op(lambda L, x, i: (x * 1.0).index_fill_(dim, i, 7.0), rand(4, 3), index)


def test_index_ops_on_0d():
    check_op(lambda L, x, i, s: L.index_copy(x, 0, i, s), rand(), _idx(0), rand())
    check_op(lambda L, x, i: L.index_fill(x, 0, i, 3.0), rand(), np.array(0))
    check_op(lambda L, x, i, s: L.index_add(x, 0, i, s), rand(), _idx(0), rand())


def test_index_family_errors():
    x = lamina.tensor(rand(4, 3))
    i = lamina.tensor([0, 1])
    check_error(lambda: lamina.index_add(x, 0, i, lamina.ones(3, 3)), ShapeError, "index_add()", "[2, 3]", "[3, 3]")
    check_error(lambda: lamina.index_add(x, 0, i, lamina.ones(2, 3, dtype=lamina.float64)), DTypeError,
                "same dtype")
    check_error(lambda: lamina.index_copy(x, 0, lamina.tensor([4]), lamina.ones(1, 3)), IndexError_, "index 4")
    check_error(lambda: lamina.index_fill(x, 0, i, lamina.ones(2)), ShapeError, "0-d")
    check_error(lambda: lamina.index_fill(x, 0, lamina.tensor([0.0]), 1.0), DTypeError, "int64")


# ---- masked_select / nonzero / one_hot ---------------------------------------------------------------------

@pytest.mark.parametrize("xshape,mshape", [((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)),
                                           ((), (4,)), ((0, 3), (3,))])
def test_masked_select(xshape, mshape):
    check_op(lambda L, x, m: L.masked_select(x, m), rand(*xshape), rand(*mshape, dtype=bool, seed=5))
    check_op(lambda L, x, m: x.masked_select(m), rand(*xshape), rand(*mshape, dtype=bool, seed=5), gradcheck=False)


def test_masked_select_errors():
    x = lamina.tensor(rand(2, 3))
    check_error(lambda: lamina.masked_select(x, lamina.tensor([1, 0, 1])), DTypeError, "bool", "int64")
    check_error(lambda: lamina.masked_select(x, lamina.tensor([True, False])), ShapeError, "[2, 3]", "[2]")


@pytest.mark.parametrize("x", [rand(3, 4, dtype=np.int64, low=-1, high=2), np.array(0.0), np.array(2),
                               np.zeros((0, 2)), rand(5, dtype=bool)], ids=lambda a: str(a.shape))
def test_nonzero(x):
    check_op(lambda L, x: L.nonzero(x), x, grad=False)
    check_op(lambda L, x: L.nonzero(x, as_tuple=True), x, grad=False)
    check_op(lambda L, x: x.nonzero(), x, grad=False)
    check_op(lambda L, x: L.argwhere(x), x, grad=False)


@pytest.mark.parametrize("labels,n", [([0, 2, 1], 3), ([0, 2, 1], -1), ([[1, 0], [0, 3]], 5), (2, 3), ([], 4)])
def test_one_hot(labels, n):
    check_op(lambda L, t: L.nn.functional.one_hot(t, n), np.array(labels, np.int64), grad=False)


def test_one_hot_errors():
    F = lamina.nn.functional
    check_error(lambda: F.one_hot(lamina.tensor([1, 5]), 3), IndexError_, "class value 5", "num_classes=3")
    check_error(lambda: F.one_hot(lamina.tensor([-1]), 3), IndexError_, "non-negative", "-1")
    check_error(lambda: F.one_hot(lamina.tensor([1], dtype=lamina.int32), 3), DTypeError, "int64", "int32")
    check_error(lambda: F.one_hot(lamina.tensor([], dtype=lamina.int64)), ArgumentError, "empty")
    check_error(lambda: F.one_hot(lamina.tensor([1]), -3), ArgumentError, "num_classes", "-3")


# ---- sort / argsort / topk ---------------------------------------------------------------------------------

TIES = np.array([[3.0, 1.0, 3.0, 2.0, 1.0], [0.0, 0.0, -1.0, 5.0, 0.0]], np.float32)


@pytest.mark.parametrize("shape,dim,descending", [((3, 5), -1, False), ((3, 5), 0, True), ((2, 3, 4), 1, True),
                                                  ((6,), 0, False), ((), 0, False), ((0, 3), 1, True)])
def test_sort(shape, dim, descending):
    check_op(lambda L, x: L.sort(x, dim, descending), rand(*shape))
    check_op(lambda L, x: x.sort(dim=dim, descending=descending), rand(*shape), gradcheck=False)
    check_op(lambda L, x: L.argsort(x, dim, descending), rand(*shape), grad=False)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_ties_nan_and_ints(descending):
    check_op(lambda L, x: L.sort(x, descending=descending, stable=True), TIES, gradcheck=False)  # ties: no FD
    check_op(lambda L, x: L.argsort(x, dim=0, descending=descending, stable=True), TIES, grad=False)
    nan = np.array([1.0, np.nan, -2.0, 0.5], np.float32)
    check_op(lambda L, x: L.sort(x, descending=descending), nan, gradcheck=False)
    check_op(lambda L, x: L.sort(x, descending=descending, stable=True), rand(7, dtype=np.int64, high=3),
             grad=False)
    check_op(lambda L, x: x.t().sort(descending=descending, stable=True), TIES, gradcheck=False)


@pytest.mark.parametrize("shape,k,dim,largest", [((3, 5), 2, -1, True), ((3, 5), 3, 0, False),
                                                 ((2, 3, 4), 4, 2, True), ((6,), 0, 0, True), ((6,), 6, 0, False),
                                                 ((), 1, 0, True), ((200,), 5, 0, True), ((3, 100), 7, 1, False)])
def test_topk(shape, k, dim, largest):
    x = rand(*shape, dtype=np.float64)  # continuous values: no ties, so the order is defined
    check_op(lambda L, x: L.topk(x, k, dim, largest), x, gradcheck=x.size <= 60)
    check_op(lambda L, x: x.topk(k, dim=dim, largest=largest, sorted=True), x.astype(np.float32), gradcheck=False)


def test_topk_nan_non_contiguous_and_errors():
    nan = np.random.default_rng(6).permutation(40).astype(np.float32)
    nan[7] = np.nan
    check_op(lambda L, x: L.topk(x, 3), nan, gradcheck=False)
    check_op(lambda L, x: L.topk(x, 3, largest=False), nan, gradcheck=False)
    check_op(lambda L, x: x.t().topk(2), rand(5, 3))
    x = lamina.tensor(rand(3, 4))
    check_error(lambda: x.topk(5), ArgumentError, "topk()", "k (5)", "size 4")
    check_error(lambda: x.topk(-1), ArgumentError, "k (-1)")
    check_error(lambda: x.topk(1, dim=2), DimError, "topk()")
    check_error(lambda: x.sort(dim=2), DimError, "sort()")
