"""Linear algebra against torch: matmul family, addmm/baddbmm, outer, einsum, tensordot; shapes, dtypes, errors."""
import numpy as np
import pytest
import torch

import lamina
from lamina.errors import ArgumentError, DTypeError, ShapeError
from tests.helpers import check_error, check_op, rand

MATMUL_TOL = dict(rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("sa,sb", [
    ((3,), (3,)),                    # dot
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),                  # 1-D left: promoted to a row, then squeezed
    ((2, 3), (3,)),                  # 1-D right: a column
    ((2, 2, 3), (2, 3, 4)),          # batched
    ((2, 1, 2, 3), (3, 3, 4)),       # batch dims broadcast
    ((3, 2, 3), (3, 4)),             # batch against a matrix (a Linear layer)
    ((2, 3), (4, 3, 2)),             # matrix against a batch
    ((3,), (2, 3, 4)),
    ((2, 2, 3), (3,)),
    ((1, 2, 3), (5, 3, 1)),
    ((0, 3), (3, 4)),                # zero-size
    ((2, 0), (0, 4)),
    ((0,), (0,)),
    ((2, 0, 3), (3, 4)),
])
def test_matmul(sa, sb):
    check_op(lambda L, a, b: L.matmul(a, b), rand(*sa), rand(*sb), **MATMUL_TOL)


def test_matmul_forms_and_dtypes():
    a, b = rand(3, 4, dtype=np.float64), rand(4, 2, dtype=np.float64)
    check_op(lambda L, a, b: a @ b, a, b)
    check_op(lambda L, a, b: a.matmul(b), a, b)
    check_op(lambda L, a, b: L.matmul(a, b), rand(2, 3, dtype=np.int64, low=-5, high=5),
             rand(3, 2, dtype=np.int64, low=-5, high=5))
    check_op(lambda L, a, b: L.matmul(a, b), rand(2, 3, dtype=np.int32, low=-5, high=5),
             rand(3, dtype=np.int32, low=-5, high=5))
    check_op(lambda L, a, b: L.matmul(a, b), rand(4, 3).astype(np.float16), rand(3, 2).astype(np.float16),
             grad=False, rtol=1e-2, atol=1e-2)
    check_op(lambda L, a, b: L.matmul(a, b), rand(2, 3) * 1e4, rand(3, 2) * 1e4, gradcheck=False, **MATMUL_TOL)


def test_matmul_gradient_needed_for_one_side_only():
    a = lamina.tensor(rand(3, 4), requires_grad=True)
    b = lamina.tensor(rand(4, 2))
    (a @ b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.numpy().sum(1), (3, 4)), rtol=1e-6)
    assert b.grad is None


@pytest.mark.parametrize("name,fn,shapes", [
    ("mm", lambda L, a, b: L.mm(a, b), [(2, 3), (3, 4)]),
    ("mm-method", lambda L, a, b: a.mm(b), [(3, 3), (3, 1)]),
    ("bmm", lambda L, a, b: L.bmm(a, b), [(2, 3, 4), (2, 4, 5)]),
    ("bmm-empty-batch", lambda L, a, b: L.bmm(a, b), [(0, 3, 4), (0, 4, 5)]),
    ("mv", lambda L, a, b: L.mv(a, b), [(2, 3), (3,)]),
    ("dot", lambda L, a, b: L.dot(a, b), [(4,), (4,)]),
    ("vdot", lambda L, a, b: L.vdot(a, b), [(4,), (4,)]),
    ("dot-method", lambda L, a, b: a.dot(b), [(0,), (0,)]),
    ("outer", lambda L, a, b: L.outer(a, b), [(3,), (4,)]),
    ("ger", lambda L, a, b: L.ger(a, b), [(3,), (2,)]),
])
def test_strict_products(name, fn, shapes):
    check_op(fn, *(rand(*s) for s in shapes), **MATMUL_TOL)


def test_outer_promotes():
    check_op(lambda L, a, b: L.outer(a, b), rand(3), rand(2, dtype=np.int64, low=-3, high=3))
    check_op(lambda L, a, b: L.outer(a, b), rand(3), rand(2, dtype=np.float64))
    check_op(lambda L, a, b: L.outer(a, b), rand(3, dtype=np.int64, low=-3, high=3), rand(2, dtype=bool))


@pytest.mark.parametrize("op,sc,sa,sb", [
    ("addmm", (2, 4), (2, 3), (3, 4)),
    ("addmm", (4,), (2, 3), (3, 4)),
    ("addmm", (2, 1), (2, 3), (3, 4)),
    ("addmm", (), (2, 3), (3, 4)),
    ("baddbmm", (2, 2, 4), (2, 2, 3), (2, 3, 4)),
    ("baddbmm", (1, 4), (2, 2, 3), (2, 3, 4)),
])
@pytest.mark.parametrize("coef", [{}, dict(beta=0.5, alpha=2.0), dict(beta=0, alpha=-1)], ids=str)
def test_addmm_baddbmm(op, sc, sa, sb, coef):
    check_op(lambda L, c, a, b: getattr(L, op)(c, a, b, **coef), rand(*sc), rand(*sa), rand(*sb), **MATMUL_TOL)


def test_addmm_beta_zero_ignores_nan():
    c = np.full((2, 2), np.nan, np.float32)
    check_op(lambda L, c, a, b: L.addmm(c, a, b, beta=0), c, rand(2, 3), rand(3, 2), gradcheck=False, **MATMUL_TOL)


# ---- einsum -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                 # implicit output
    ("ba", [(3, 2)]),                            # implicit output is sorted: a transpose
    ("Ba", [(3, 2)]),                            # upper case sorts first
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ii->i", [(3, 3)]),                         # diagonal
    ("ii", [(3, 3)]),                            # trace
    ("iij,j->ij", [(2, 2, 3), (3,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(4,), (4,)]),
    ("ij,k->j", [(2, 3), (4,)]),                 # k summed in its own operand only
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bi,i->b", [(5, 3), (1,)]),                 # size-1 subscript broadcasts
    ("...ij,...jk", [(5, 3, 2), (2, 4)]),        # ellipsis
    ("...ij,...jk->...ik", [(2, 1, 3, 2), (3, 2, 4)]),
    ("...i,...i->...", [(5, 1, 3), (4, 3)]),     # ellipsis dims broadcast
    ("...ij->ij", [(4, 3, 2)]),                  # ellipsis summed away
    ("ij...", [(2, 3, 4)]),
    ("i j -> j i", [(2, 3)]),                    # spaces
    (",->", [(), ()]),
    ("i,->i", [(3,), ()]),
    ("ij,jk->ik", [(0, 3), (3, 4)]),
    ("ij,jk->ik", [(2, 0), (0, 4)]),
])
def test_einsum(eq, shapes):
    check_op(lambda L, *ops: L.einsum(eq, *ops), *(rand(*s) for s in shapes), **MATMUL_TOL)


def test_einsum_list_and_dtypes():
    check_op(lambda L, a, b: L.einsum("ij,jk->ik", [a, b]), rand(2, 3), rand(3, 2), **MATMUL_TOL)
    check_op(lambda L, a, b: L.einsum("i,i->i", a, b), rand(3), rand(3, dtype=np.float64))
    check_op(lambda L, a, b: L.einsum("i,i->i", a, b), rand(3), rand(3, dtype=np.int64, low=-3, high=3))
    check_op(lambda L, a, b: L.einsum("ij,ij->ij", a, b), rand(2, 3, dtype=bool), rand(2, 3, dtype=bool))


@pytest.mark.parametrize("eq,n", [("ij->i", 1), ("ij->", 1), ("ii->i", 1), ("ii->", 1), ("ij->ji", 1), ("ij,jk->ik", 2),
                                  ("ij,ij->i", 2), ("ij,ij->ij", 2), ("i,i->", 2)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, bool])
def test_einsum_integer_and_bool_dtypes_like_torch(eq, n, dtype):
    a = np.array([[1, 2], [3, 0]]).astype(dtype)
    ops = [a if "i" * 2 in eq or "j" in eq.split("->")[0] else a[0]] * n
    if dtype is bool and n > 1 and set(eq.split("->")[0]) - set(eq.split("->")[1] + ","):
        check_error(lambda: lamina.einsum(eq, *[lamina.tensor(o) for o in ops]), DTypeError, "einsum()", "bool")
        return
    check_op(lambda L, *t: L.einsum(eq, *t), *ops, grad=False)


def test_einsum_one_operand_returns_a_copy():
    x = lamina.tensor(rand(2, 3))
    y = lamina.einsum("ij->ji", x)      # NumPy would hand back a view; an in-place change of y must not reach x
    assert not np.shares_memory(y.detach().numpy(), x.detach().numpy())


@pytest.mark.parametrize("dims,sa,sb", [
    (2, (3, 4, 5), (4, 5, 2)),
    (1, (3, 4), (4, 5)),
    (0, (3,), (2,)),
    (([0, 1], [1, 0]), (3, 4, 2), (4, 3, 2)),
    ([[1], [0]], (3, 4), (4, 5)),
    (([-1], [0]), (3, 4), (4, 5)),
])
def test_tensordot(dims, sa, sb):
    check_op(lambda L, a, b: L.tensordot(a, b, dims=dims), rand(*sa), rand(*sb), **MATMUL_TOL)


# ---- invariants -------------------------------------------------------------------------------------------

def _leaf(array):
    """A leaf tensor that keeps ``array``'s strides (lamina.tensor() would make it contiguous)."""
    return lamina.Tensor._make(array, array.dtype.kind == "f")


@pytest.mark.parametrize("name,fn", [
    ("matmul", lambda L, a, b: L.matmul(a, b)),
    ("mm", lambda L, a, b: L.mm(a, b)),
    ("einsum", lambda L, a, b: L.einsum("ij,jk->ik", a, b)),
    ("einsum-diag", lambda L, a, b: L.einsum("ii,ij->ij", a, b)),
    ("tensordot", lambda L, a, b: L.tensordot(a, b, 1)),
    ("addmm", lambda L, a, b: L.addmm(b, a, b)),
])
def test_non_contiguous_inputs(name, fn):
    base_a, base_b = rand(4, 4), rand(4, 4)
    a, b = _leaf(base_a.T), _leaf(base_b[:, ::-1])
    ta = torch.tensor(base_a).T.requires_grad_()
    tb = torch.tensor(base_b[:, ::-1].copy()).requires_grad_()
    out, expected = fn(lamina, a, b), fn(torch, ta, tb)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rand(*expected.shape)
    out.backward(lamina.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(a.detach().numpy(), base_a.T)


# ---- errors -----------------------------------------------------------------------------------------------

def _t(*shape, dtype=np.float32):
    return lamina.tensor(rand(*shape, dtype=dtype))


def test_matmul_errors():
    check_error(lambda: lamina.matmul(_t(2, 3), _t(4, 5)), ShapeError, "matmul()", "(2, 3)", "(4, 5)", "3 != 4")
    check_error(lambda: lamina.matmul(_t(3), _t(4)), ShapeError, "matmul()", "(3,)", "(4,)")
    check_error(lambda: lamina.matmul(_t(2, 3), _t(4)), ShapeError, "matmul()", "3 != 4")
    check_error(lambda: lamina.matmul(_t(), _t(3)), ShapeError, "matmul()", "at least 1-D", "0-D")
    check_error(lambda: lamina.matmul(_t(2, 2, 3), _t(3, 3, 4)), ShapeError, "matmul()", "batch", "(2,)", "(3,)")
    check_error(lambda: lamina.matmul(_t(2, 3), _t(3, 2, dtype=np.float64)), DTypeError, "matmul()", "float32",
                "float64")
    check_error(lambda: lamina.matmul(_t(2, 3, dtype=bool), _t(3, 2, dtype=bool)), DTypeError, "matmul()", "bool")
    check_error(lambda: lamina.matmul(rand(2, 2), _t(2, 2)), ArgumentError, "matmul()", "'input'", "ndarray")


def test_strict_product_errors():
    check_error(lambda: lamina.mm(_t(3), _t(3, 2)), ShapeError, "mm()", "2-D", "(3,)")
    check_error(lambda: lamina.mm(_t(2, 3), _t(4, 5)), ShapeError, "mm()", "(2, 3)", "(4, 5)")
    check_error(lambda: lamina.bmm(_t(3, 4), _t(2, 4, 5)), ShapeError, "bmm()", "3-D", "(3, 4)")
    check_error(lambda: lamina.bmm(_t(2, 3, 4), _t(3, 4, 5)), ShapeError, "bmm()", "batch", "2 != 3")
    check_error(lambda: lamina.bmm(_t(2, 3, 4), _t(2, 5, 5)), ShapeError, "bmm()", "4 != 5")
    check_error(lambda: lamina.mv(_t(3, 2), _t(2, 1)), ShapeError, "mv()", "(2, 1)")
    check_error(lambda: lamina.mv(_t(3, 2), _t(3)), ShapeError, "mv()", "2 != 3")
    check_error(lambda: lamina.dot(_t(3, 1), _t(3)), ShapeError, "dot()", "1-D", "(3, 1)")
    check_error(lambda: lamina.dot(_t(3), _t(4)), ShapeError, "dot()", "(3,)", "(4,)")
    check_error(lambda: lamina.dot(_t(3), _t(3, dtype=np.float64)), DTypeError, "dot()", "float64")
    check_error(lambda: lamina.outer(_t(3), _t(3, 2)), ShapeError, "outer()", "(3, 2)")
    check_error(lambda: lamina.addmm(_t(5, 3), _t(2, 4), _t(4, 3)), ShapeError, "addmm()", "(5, 3)", "(2, 3)")
    check_error(lambda: lamina.addmm(_t(3), _t(2, 4), _t(4, 3), alpha="2"), ArgumentError, "addmm()", "'alpha'")
    check_error(lambda: lamina.baddbmm(_t(3), _t(2, 4), _t(4, 3)), ShapeError, "baddbmm()", "3-D")


def test_einsum_errors():
    a, b = _t(2, 3), _t(4, 5)
    check_error(lambda: lamina.einsum("ij,jk->ik", a, b), ShapeError, "einsum()", "subscript j", "4", "3")
    check_error(lambda: lamina.einsum("ij,jk->ik", a), ArgumentError, "einsum()", "fewer operands")
    check_error(lambda: lamina.einsum("ij->ij", a, b), ArgumentError, "einsum()", "more operands")
    check_error(lambda: lamina.einsum("ijk", a), ShapeError, "einsum()", "(3)", "(2)", "operand 0")
    check_error(lambda: lamina.einsum("ii->i", a), ShapeError, "einsum()", "repeated", "2 != 3")
    check_error(lambda: lamina.einsum("ij->ik", a), ArgumentError, "einsum()", "output subscript k")
    check_error(lambda: lamina.einsum("ij->ii", a), ArgumentError, "einsum()", "more than once")
    check_error(lambda: lamina.einsum("i.j", a), ArgumentError, "einsum()", "'.'")
    check_error(lambda: lamina.einsum("i1", a), ArgumentError, "einsum()", "'1'", "[a-zA-Z]")
    check_error(lambda: lamina.einsum("ij->j->i", a), ArgumentError, "einsum()", "'->'")
    check_error(lambda: lamina.einsum("...i,...i", _t(5, 2, 3), _t(4, 3)), ShapeError, "einsum()", "ellipsis")
    check_error(lambda: lamina.einsum(3, a), ArgumentError, "einsum()", "'equation'")
    check_error(lambda: lamina.einsum("ij"), ArgumentError, "einsum()", "at least one operand")


def test_tensordot_errors():
    a, b = _t(3, 4), _t(5, 5)
    check_error(lambda: lamina.tensordot(a, b, 1), ShapeError, "tensordot()", "size 4", "size 5")
    check_error(lambda: lamina.tensordot(a, _t(4, 5), 3), ArgumentError, "tensordot()", "'dims'", "3")
    check_error(lambda: lamina.tensordot(a, _t(4, 5), -1), ArgumentError, "tensordot()", ">= 0", "-1")
    check_error(lambda: lamina.tensordot(a, _t(4, 5), ([1], [0, 1])), ArgumentError, "tensordot()", "same length")
    check_error(lambda: lamina.tensordot(a, _t(4, 5, dtype=np.float64), 1), DTypeError, "tensordot()", "float64")
    check_error(lambda: lamina.tensordot(a, _t(4, 5), "x"), ArgumentError, "tensordot()", "'dims'")
