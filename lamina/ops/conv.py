"""Convolution and padding: conv1d/conv2d, conv_transpose1d/conv_transpose2d, unfold/fold, pad.

Layout is torch's: input (N, C, H, W), weight (out_channels, in_channels / groups, kh, kw). A 1-d operator runs
as its 2-d twin with a height of 1, and an unbatched input as a batch of one, so there is one kernel per operator.

A stride-1 convolution with one group and at least 16 channels in and out runs as shifted GEMMs over a
channel-major copy of the padded image (see the section below): no im2col copy. Any other is im2col + GEMM: pad
once, copy one strided window view into ``cols`` (N, C*kh*kw, Ho*Wo), then one matrix product per group. The
operators are fused (not composed from pad/unfold/matmul) because the composition would record and keep the
kh*kw-times larger window tensor for backward. Backward keeps only the input (as torch does) and rebuilds what
the weight gradient needs; the input gradient is the transposed convolution, itself a stride-1 convolution when
the stride is 1 (a GEMM and a col2im scatter of kh*kw strided adds otherwise). The transposed convolution is the
same pair of kernels swapped.

Measured choices (docs/performance.md): ``cols`` and the shifted GEMMs' blocks are built in per-thread scratch
buffers, so they are still in cache when the GEMM reads them and no fresh memory is faulted in (that cost as much
as the copy). Splitting the copies over threads gained nothing next to the multithreaded GEMMs; the shifted GEMMs
over a channels-last layout ran as fast but its NCHW <-> NHWC transposes cost ten times the channel-major copy.
"""
import threading

from lamina.autograd import Op
from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.ops._util import as_tensor_arg

# ---- scratch memory --------------------------------------------------------------------------------------------

_scratch_local = threading.local()
_SCRATCH_MAX = 256 << 20    # bytes; larger temporaries are allocated fresh instead of being kept


def _scratch(slot, shape, dtype):
    """An uninitialised array from this thread's reusable buffer ``slot``, for a temporary that dies before the
    kernel using it returns (never for a result). The buffer grows to the largest request and is kept."""
    buffers = _scratch_local.__dict__
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= n
    if nbytes > _SCRATCH_MAX:
        return xp.empty(shape, dtype)
    buf = buffers.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = buffers[slot] = xp.empty(max(nbytes, 1), xp.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


# ---- raw-array kernels (4-d, NCHW) -------------------------------------------------------------------------------

def _pad_hw(x, pads, scratch=None, value=0):
    """Pad the last two axes with ``value`` by ``pads`` = (top, bottom, left, right); negative amounts crop.

    May return ``x`` itself; with ``scratch`` (a slot name) the padded copy is a temporary in scratch memory.
    """
    if not any(pads):
        return x
    x, (top, bottom, left, right) = _crop_negative(x, pads)
    if not (top or bottom or left or right):
        return x
    h, w = x.shape[-2:]
    shape = x.shape[:-2] + (h + top + bottom, w + left + right)
    if scratch is None:
        out = xp.zeros(shape, x.dtype) if value == 0 else xp.full(shape, value, x.dtype)
    else:
        out = _scratch(scratch, shape, x.dtype)
        _fill_outside(out, top, top + h, left, left + w, value)
    out[..., top:top + h, left:left + w] = x
    return out


def _crop_negative(x, pads):
    """x cropped by the negative amounts of ``pads`` = (top, bottom, left, right), and the padding left to do."""
    top, bottom, left, right = pads
    h, w = x.shape[-2:]
    x = x[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    return x, (max(top, 0), max(bottom, 0), max(left, 0), max(right, 0))


def _fill_outside(buf, r0, r1, c0, c1, value=0):
    """Set a (..., Hp, Wp) buffer to ``value`` outside rows r0:r1 and columns c0:c1."""
    buf[..., :r0, :] = value
    buf[..., r1:, :] = value
    buf[..., r0:r1, :c0] = value
    buf[..., r0:r1, c1:] = value


def _grid(size, k, stride, dilation):
    """Number of window positions along one axis of a padded input: floor((size - d*(k-1) - 1) / s) + 1."""
    return (size - dilation * (k - 1) - 1) // stride + 1


def _conv_grid(hw, kernel, stride, pads, dilation):
    """(Ho, Wo) of a convolution of an (H, W) input padded by ``pads``."""
    return (_grid(hw[0] + pads[0] + pads[1], kernel[0], stride[0], dilation[0]),
            _grid(hw[1] + pads[2] + pads[3], kernel[1], stride[1], dilation[1]))


def _windows(xpad, kernel, stride, dilation, grid):
    """The (N, C, kh, kw, Ho, Wo) strided view with view[n, c, i, j, h, w] = xpad[n, c, h*sh + i*dh, w*sw + j*dw]."""
    s0, s1, s2, s3 = xpad.strides
    (sh, sw), (dh, dw) = stride, dilation
    return xp.lib.stride_tricks.as_strided(xpad, xpad.shape[:2] + tuple(kernel) + tuple(grid),
                                           (s0, s1, dh * s2, dw * s3, sh * s2, sw * s3), writeable=False)


def _unfold(x, kernel, stride, pads, dilation, grid=None):
    """im2col as a new array: x (N, C, H, W) -> (cols (N, C*kh*kw, Ho*Wo), (Ho, Wo)); ``grid`` may ask for fewer
    windows than fit."""
    grid = grid or _conv_grid(x.shape[2:], kernel, stride, pads, dilation)
    windows = _windows(_pad_hw(x, pads, scratch="pad"), kernel, stride, dilation, grid)
    cols = xp.empty(windows.shape, x.dtype)
    xp.copyto(cols, windows)
    n, c = x.shape[:2]
    return cols.reshape(n, c * kernel[0] * kernel[1], grid[0] * grid[1]), grid


_CHUNK_BYTES = 8 << 20      # im2col is built this much at a time, so it is still in cache when its GEMM reads it


def _im2col_chunks(x, kernel, stride, pads, dilation, grid, samples_inner=False):
    """Yield (batch slice, im2col of those samples) over x (N, C, H, W), a few samples at a time in scratch memory.

    Each chunk is (m, C*kh*kw, Ho*Wo), or with ``samples_inner`` (C*kh*kw, m*Ho*Wo) for a GEMM that also sums over
    the samples. A 1x1 stride-1 kernel's im2col is the image itself (no copy).
    """
    xpad = _pad_hw(x, pads, scratch="pad")
    n, c = xpad.shape[:2]
    rows, length = c * kernel[0] * kernel[1], grid[0] * grid[1]
    windows = _windows(xpad, kernel, stride, dilation, grid)
    step = max(1, _CHUNK_BYTES // max(1, rows * length * xpad.itemsize))
    direct = tuple(kernel) == (1, 1) and stride == (1, 1) and tuple(grid) == xpad.shape[2:]
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        view = windows[lo:hi]
        if samples_inner:
            view = view.transpose(1, 2, 3, 0, 4, 5)
            if direct and hi - lo == 1:
                yield slice(lo, hi), xpad[lo].reshape(rows, length)
                continue
        elif direct:
            yield slice(lo, hi), xpad[lo:hi].reshape(hi - lo, rows, length)
            continue
        cols = _scratch("cols", view.shape, xpad.dtype)
        xp.copyto(cols, view)
        yield slice(lo, hi), cols.reshape((rows, (hi - lo) * length) if samples_inner else (hi - lo, rows, length))


def _fold_into(img, cols, kernel, stride, dilation, grid):
    """col2im, the adjoint of im2col: add each column of cols (N, C*kh*kw, Ho*Wo) onto the padded image pixel
    (N, C, Hp, Wp) it was copied from."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, grid
    n, c = img.shape[:2]
    c6 = cols.reshape(n, c, kh, kw, ho, wo)
    for i in range(kh if ho and wo else 0):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            img[:, :, rows, j * dw:j * dw + sw * (wo - 1) + 1:sw] += c6[:, :, i, j]


def _crop(img, pads, out_hw):
    top, _, left, _ = pads
    if img.shape[2:] == tuple(out_hw):
        return img
    return xp.ascontiguousarray(img[:, :, top:top + out_hw[0], left:left + out_hw[1]])


def _fold(cols, channels, out_hw, kernel, stride, pads, dilation, grid):
    """col2im as a new (N, C, H, W) array, the adjoint of ``_unfold``."""
    top, bottom, left, right = pads
    img = xp.zeros((cols.shape[0], channels, out_hw[0] + top + bottom, out_hw[1] + left + right), cols.dtype)
    _fold_into(img, cols, kernel, stride, dilation, grid)
    return _crop(img, pads, out_hw)


def _group_matmul(a, b, groups, out=None):
    """Per-group products: a (G, M, K) with b (N, G*K, L) -> (N, G*M, L), optionally into ``out``."""
    if groups == 1:
        return xp.matmul(a[0], b, out=out)
    n, k, length = b.shape
    if out is not None:
        out = out.reshape(n, groups, a.shape[1], length)
    return xp.matmul(a, b.reshape(n, groups, k // groups, length), out=out).reshape(n, groups * a.shape[1], length)


# ---- shifted GEMMs over a channel-major image (stride 1, one group) ---------------------------------------------
#
# Lay the padded image out channel-major, as a (C, N*Hp*Wp) matrix X with columns (n, h, w). With stride 1, output
# column (n, h, w) of the convolution, taken on the padded grid, is the sum over taps (i, j) of W[:, :, i, j] @
# X[:, column + i*dh*Wp + j*dw]: one GEMM per tap over a contiguous block of X's columns, with no im2col copy.
# Columns whose window runs over a sample's right or bottom edge compute garbage and are dropped; every kept column
# reads inside its own sample. (C, N) is the cheap transpose of (N, C, H, W): the H*W blocks stay contiguous.

_SHIFT_MIN_CHANNELS = 16    # thinner GEMMs (K or M below this) lose to im2col
_SHIFT_COLUMNS = 4096       # output columns per block, so that the tap sums stay in cache
_SHIFT_ROWS = 576           # rows (kernel rows * out channels) of one stacked GEMM
_SHIFT_WGRAD_COLUMNS = 8192  # columns per block of the weight gradient


def _use_shifted(x, other, out_channels, kernel, stride, groups):
    """Whether the shifted GEMMs apply to a convolution of x with ``kernel`` into ``out_channels``; ``other`` is the
    second array of the product (the weight, or the output gradient)."""
    return (tuple(stride) == (1, 1) and groups == 1 and kernel[0] * kernel[1] > 1
            and min(out_channels, x.shape[1]) >= _SHIFT_MIN_CHANNELS and x.dtype.kind == "f" and other.dtype == x.dtype)


def _channel_major(x, pads, rows, slot):
    """x (N, C, H, W) padded by ``pads`` (negative amounts crop) to ``rows`` (Hp, Wp) at least (extra rows and
    columns are zeros), as the (C, N*Hp*Wp) channel-major matrix X in scratch memory; returns (X, Wp)."""
    x, (top, _, left, _) = _crop_negative(x, pads)
    n, c, h, w = x.shape
    hp, wp = rows
    buf = _scratch(slot, (c, n, hp, wp), x.dtype)
    _fill_outside(buf, top, top + h, left, left + w)
    buf[:, :, top:top + h, left:left + w] = x.transpose(1, 0, 2, 3)
    return buf.reshape(c, n * hp * wp), wp


def _column_shifts(cols, start, span, kw, dw):
    """The (kw*C, span) matrix of X's columns start + j*dw ... for each kernel column j, rows (j, c): X itself when
    kw is 1, else a copy in scratch memory."""
    if kw == 1:
        return cols[:, start:start + span]
    shifted = _scratch("shift_cols", (kw, cols.shape[0], span), cols.dtype)
    for j in range(kw):
        shifted[j] = cols[:, start + j * dw:start + j * dw + span]
    return shifted.reshape(kw * cols.shape[0], span)


def _padded_size(hw, pads):
    return hw[0] + pads[0] + pads[1], hw[1] + pads[2] + pads[3]


def _conv_shifted(x, weight, pads, dilation, grid, bias=None, cols=None):
    """``_conv_gemm`` for stride 1 and one group, by shifted GEMMs (see above).

    A block of output columns takes one GEMM per group of kernel rows: the weights as a (rows*O, kw*C) matrix
    (rows (i, o), columns (j, c)) times the block's columns of X copied once per kernel column j, shifted by j;
    then the sum of each kernel row's product shifted by its row offset. The copies and products are block-sized
    and stay in cache; a tall, deep GEMM runs faster than one per tap and leaves kh-1 sums instead of kh*kw-1.
    """
    n = x.shape[0]
    o, c, kh, kw = weight.shape
    hp, wp = _padded_size(x.shape[2:], pads)
    if cols is None:                         # else the caller's channel-major copy of x so padded
        cols, wp = _channel_major(x, pads, (hp, wp), "pad")
    (dh, dw) = dilation
    row_step = dh * wp                       # the column offset from one kernel row to the next
    length = cols.shape[1] - (kh - 1) * row_step - (kw - 1) * dw    # every kept output column is below this
    taps = weight.transpose(2, 0, 3, 1).reshape(kh * o, kw * c)
    group = max(1, _SHIFT_ROWS // o)         # kernel rows per GEMM
    block = max(_SHIFT_COLUMNS, 2 * (kh - 1) * row_step)
    out = _scratch("shift_out", (o, cols.shape[1]), x.dtype)
    for lo in range(0, length, block):
        hi = min(lo + block, length)
        acc, pending = out[:, lo:hi], None
        for first in range(0, kh, group):
            rows = min(group, kh - first)
            span = hi - lo + (rows - 1) * row_step
            shifted = _column_shifts(cols, lo + first * row_step, span, kw, dw)
            prod = _scratch("shift_prod", (rows * o, span), x.dtype)
            xp.matmul(taps[first * o:(first + rows) * o], shifted, out=prod)
            for k in range(rows):
                part = prod[k * o:(k + 1) * o, k * row_step:k * row_step + hi - lo]
                if pending is None:
                    pending = part
                elif pending is not acc:
                    xp.add(pending, part, out=acc)
                    pending = acc
                else:
                    acc += part
            if pending is not acc:      # the next group's GEMM reuses the product buffer
                acc[...] = pending
                pending = acc
    ho, wo = grid
    y = xp.empty((n, o, ho, wo), x.dtype)
    kept = out.reshape(o, n, hp, wp)[:, :, :ho, :wo].transpose(1, 0, 2, 3)
    if bias is None:
        y[...] = kept
    else:                                   # the bias joins the copy out: one pass over y less
        xp.add(kept, bias[:, None, None], out=y)
    return y


def _weight_grad_shifted(g, x, kernel, pads, dilation, grad_cols=None):
    """``_weight_grad`` for stride 1 and one group: the output gradient's columns times X's columns shifted by each
    tap, summed over the columns. ``grad_cols`` may bring g on X's padded grid already (zeros off its positions).

    A block of columns at a time: X's block copied once per kernel column j (as for the forward), then one
    (O, block) @ (block, kw*C) GEMM per kernel row: a wider product than one per tap, on data still in cache.
    """
    n, o, ho, wo = g.shape
    (kh, kw), (dh, dw) = kernel, dilation
    hp, wp = _padded_size(x.shape[2:], pads)
    cols, wp = _channel_major(x, pads, (hp, wp), "pad")
    if grad_cols is None:
        grad_cols, _ = _channel_major(g, (0, hp - ho, 0, wp - wo), (hp, wp), "shift_grad")
    c, row_step = cols.shape[0], dh * wp
    length = cols.shape[1] - (kh - 1) * row_step - (kw - 1) * dw
    dtype = xp.result_type(g, x)
    total = xp.zeros((kh, o, kw * c), dtype)
    part = _scratch("shift_wpart", (o, kw * c), dtype)
    block = max(_SHIFT_WGRAD_COLUMNS, 2 * (kh - 1) * row_step)
    for lo in range(0, length, block):
        hi = min(lo + block, length)
        shifted = _column_shifts(cols, lo, hi - lo + (kh - 1) * row_step, kw, dw)
        grad_block = grad_cols[:, lo:hi]
        for i in range(kh):
            xp.matmul(grad_block, shifted[:, i * row_step:i * row_step + hi - lo].T, out=part)
            total[i] += part
    return total.reshape(kh, o, kw, c).transpose(1, 3, 0, 2).reshape(1, o, -1)


def _conv_backward_shifted(g, x, weight, pads, dilation):
    """Both gradients (gx, gw) of a stride-1, one-group convolution whose output has its input's size, from one
    channel-major copy of g; None where that does not apply.

    The input gradient convolves g padded by the kernel extent minus the forward padding, which then lies on the
    padded input's grid; the weight gradient needs g on that grid too, shifted to its top-left corner: a column
    offset into the same copy, whose padding holds the zeros off g's positions.
    """
    n, o, ho, wo = g.shape
    _, c, kh, kw = weight.shape
    (dh, dw), (h, w) = dilation, x.shape[2:]
    if not (_use_shifted(x, g, o, (kh, kw), (1, 1), 1) and _use_shifted(g, weight, c, (kh, kw), (1, 1), 1)
            and (ho, wo) == (h, w)):
        return None
    hp, wp = _padded_size((h, w), pads)
    top, left = dh * (kh - 1) - pads[0], dw * (kw - 1) - pads[2]
    adj_pads = (top, hp - ho - top, left, wp - wo - left)
    grad_cols, _ = _channel_major(g, adj_pads, (hp, wp), "shift_grad")
    flipped = weight.transpose(1, 0, 2, 3)[..., ::-1, ::-1]
    gx = _conv_shifted(g, flipped, adj_pads, dilation, (h, w), cols=grad_cols)
    gw = _weight_grad_shifted(g, x, (kh, kw), pads, dilation, grad_cols=grad_cols[:, top * wp + left:])
    return gx, gw


# ---- im2col + GEMM -------------------------------------------------------------------------------------------------

def _conv_gemm(x, weight, stride, pads, dilation, groups, grid=None, bias=None):
    """Convolution (cross-correlation, as in torch) of x (N, C, H, W) with weight (O, C/G, kh, kw) -> (N, O, Ho, Wo),
    plus ``bias`` (O,) if given; ``grid`` = (Ho, Wo) may ask for fewer output positions than fit."""
    n = x.shape[0]
    o, cg, kh, kw = weight.shape
    ho, wo = grid = grid or _conv_grid(x.shape[2:], (kh, kw), stride, pads, dilation)
    if _use_shifted(x, weight, o, (kh, kw), stride, groups) and n and ho and wo:
        return _conv_shifted(x, weight, pads, dilation, grid, bias)
    y = xp.empty((n, o, ho, wo), xp.result_type(x, weight))     # owns its memory: no copy when it becomes a .grad
    y3, wm = y.reshape(n, o, ho * wo), weight.reshape(groups, o // groups, cg * kh * kw)
    for batch, cols in _im2col_chunks(x, (kh, kw), stride, pads, dilation, grid):
        _group_matmul(wm, cols, groups, out=y3[batch])
    if bias is not None:
        y += bias[:, None, None]
    return y


def _conv_transpose_gemm(g, weight, out_hw, stride, pads, dilation, groups):
    """The adjoint of ``_conv_gemm`` in its input: g (N, O, Ho, Wo) -> (N, C, H, W) with (H, W) = ``out_hw``.

    This is conv2d's input gradient and conv_transpose2d's forward.
    """
    n, o, ho, wo = g.shape
    _, cg, kh, kw = weight.shape
    (dh, dw), (h, w) = dilation, out_hw
    if stride == (1, 1):
        # With stride 1 the adjoint is again a stride-1 convolution: of g, zero-padded by the dilated kernel extent
        # minus the forward padding, with the kernel flipped and its in/out channels swapped within each group.
        flipped = weight.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
        flipped = flipped.reshape(groups * cg, o // groups, kh, kw)
        top, left = dh * (kh - 1) - pads[0], dw * (kw - 1) - pads[2]
        adj_pads = (top, h + dh * (kh - 1) - ho - top, left, w + dw * (kw - 1) - wo - left)
        return _conv_gemm(g, flipped, (1, 1), adj_pads, dilation, groups)
    # Otherwise: cols = W^T g, then col2im, a chunk of samples at a time.
    top, bottom, left, right = pads
    img = xp.zeros((n, groups * cg, h + top + bottom, w + left + right), xp.result_type(g, weight))
    a = weight.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1)
    g3, rows = g.reshape(n, o, ho * wo), groups * cg * kh * kw
    step = max(1, _CHUNK_BYTES // max(1, rows * ho * wo * img.itemsize))
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        cols = _scratch("cols", (hi - lo, rows, ho * wo), img.dtype)
        _group_matmul(a, g3[lo:hi], groups, out=cols)
        _fold_into(img[lo:hi], cols, (kh, kw), stride, dilation, (ho, wo))
    return _crop(img, pads, out_hw)


def _weight_grad(g, x, kernel, stride, pads, dilation, groups):
    """Weight gradient of ``_conv_gemm`` from the output gradient g (N, O, Ho, Wo) and the input x: the sum over
    samples and positions of g times the im2col of x, as (G, O/G, C/G*kh*kw); one GEMM per chunk of samples."""
    if _use_shifted(x, g, g.shape[1], kernel, stride, groups) and g.size:
        return _weight_grad_shifted(g, x, tuple(kernel), pads, dilation)
    n, o, ho, wo = g.shape
    og, length = o // groups, ho * wo
    total = xp.zeros((groups, og, x.shape[1] // groups * kernel[0] * kernel[1]), xp.result_type(g, x))
    for batch, cols in _im2col_chunks(x, kernel, stride, pads, dilation, (ho, wo), samples_inner=True):
        m = batch.stop - batch.start
        gm = g[batch].reshape(m, o, length)
        gm = gm[0] if m == 1 else gm.transpose(1, 0, 2).reshape(o, m * length)
        total += xp.matmul(gm.reshape(groups, og, m * length),
                           cols.reshape(groups, total.shape[2], m * length).transpose(0, 2, 1))
    return total


def _as_4d(shape, one_d, batched):
    """The NCHW shape an operator works on: 1-d data gets a height of 1, unbatched data a batch of 1."""
    if one_d:
        shape = shape[:-1] + (1,) + shape[-1:]
    return shape if batched else (1,) + shape


def _reshaped(a, shape):
    """``a`` in ``shape``, without making a view when it already has it (a view would be copied into .grad)."""
    return a if a.shape == tuple(shape) else a.reshape(shape)


def _as_3d(shape):
    """(N, rows, L) for a batched or unbatched im2col matrix."""
    return shape if len(shape) == 3 else (1,) + shape


def _from_4d(a, one_d, batched):
    if one_d:
        a = a[:, :, 0]
    return a if batched else a[0]


# ---- operators ----------------------------------------------------------------------------------------------------

class Convolution(Op):
    """conv1d/conv2d on (N, C, H, W) arrays; ``pads`` = (top, bottom, left, right)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, pads, dilation, groups, one_d, batched):
        x4 = x.reshape(_as_4d(x.shape, one_d, batched))
        w4 = weight.reshape(_as_4d(weight.shape, one_d, True))
        y = _conv_gemm(x4, w4, stride, pads, dilation, groups, bias=bias)
        needs = ctx.needs_input_grad
        if needs:
            ctx.geometry = (stride, pads, dilation, groups, one_d, batched)
            ctx.kernel, ctx.x_shape, ctx.w_shape = w4.shape[2:], x.shape, weight.shape
            ctx.save_for_backward(x if needs[1] else None, weight if needs[0] else None)
        return _from_4d(y, one_d, batched)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, pads, dilation, groups, one_d, batched = ctx.geometry
        needs = ctx.needs_input_grad
        g = grad.reshape(_as_4d(grad.shape, one_d, batched))
        gx = gw = gb = None
        both = None
        if needs[0] and needs[1] and stride == (1, 1) and groups == 1:
            both = _conv_backward_shifted(g, x.reshape(_as_4d(x.shape, one_d, batched)),
                                          weight.reshape(_as_4d(weight.shape, one_d, True)), pads, dilation)
        if both is not None:
            gx, gw = _reshaped(both[0], ctx.x_shape), both[1].reshape(ctx.w_shape)
            needs = (False, False) + tuple(needs[2:])
        if needs[1]:
            x4 = x.reshape(_as_4d(x.shape, one_d, batched))
            gw = _weight_grad(g, x4, ctx.kernel, stride, pads, dilation, groups).reshape(ctx.w_shape)
        if needs[0]:
            w4 = weight.reshape(_as_4d(weight.shape, one_d, True))
            x_hw = _as_4d(ctx.x_shape, one_d, batched)[2:]
            gx = _reshaped(_conv_transpose_gemm(g, w4, x_hw, stride, pads, dilation, groups), ctx.x_shape)
        if needs[2]:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb


class ConvolutionTranspose(Op):
    """conv_transpose1d/conv_transpose2d: the adjoint of ``Convolution`` in its input, plus a bias."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, pads, dilation, groups, out_hw, one_d, batched):
        x4 = x.reshape(_as_4d(x.shape, one_d, batched))
        w4 = weight.reshape(_as_4d(weight.shape, one_d, True))
        y = _conv_transpose_gemm(x4, w4, out_hw, stride, pads, dilation, groups)
        if bias is not None:
            y += bias[:, None, None]
        needs = ctx.needs_input_grad
        if needs:
            ctx.geometry = (stride, pads, dilation, groups, one_d, batched)
            ctx.x_shape = x.shape
            ctx.save_for_backward(x if needs[1] else None, weight)
        return _from_4d(y, one_d, batched)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, pads, dilation, groups, one_d, batched = ctx.geometry
        needs = ctx.needs_input_grad
        g = grad.reshape(_as_4d(grad.shape, one_d, batched))
        w4 = weight.reshape(_as_4d(weight.shape, one_d, True))
        x_shape4 = _as_4d(ctx.x_shape, one_d, batched)
        gx = gw = gb = None
        # Both gradients are those of a convolution of g with w whose output is x: on x's grid of windows.
        if needs[0]:
            gx = _reshaped(_conv_gemm(g, w4, stride, pads, dilation, groups, x_shape4[2:]), ctx.x_shape)
        if needs[1]:
            gw = _weight_grad(x.reshape(x_shape4), g, w4.shape[2:], stride, pads, dilation, groups)
            gw = gw.reshape(weight.shape)
        if needs[2]:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb


class Unfold(Op):
    """im2col as an operator: (N, C, H, W) -> (N, C*kh*kw, L)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation, batched):
        x4 = x.reshape(_as_4d(x.shape, False, batched))
        cols, grid = _unfold(x4, kernel, stride, pads, dilation)
        ctx.args = (x4.shape[1], x4.shape[2:], kernel, stride, pads, dilation, grid, x.shape)
        return cols if batched else cols[0]

    @staticmethod
    def backward(ctx, grad):
        channels, hw, kernel, stride, pads, dilation, grid, x_shape = ctx.args
        g = grad.reshape(_as_3d(grad.shape))
        return _fold(g, channels, hw, kernel, stride, pads, dilation, grid).reshape(x_shape)


class Fold(Op):
    """col2im as an operator: (N, C*kh*kw, L) -> (N, C, H, W), summing overlapping blocks."""

    @staticmethod
    def forward(ctx, cols, channels, out_hw, kernel, stride, pads, dilation, grid, batched):
        c3 = cols.reshape(_as_3d(cols.shape))
        ctx.args = (kernel, stride, pads, dilation, grid, cols.shape)
        y = _fold(c3, channels, out_hw, kernel, stride, pads, dilation, grid)
        return y if batched else y[0]

    @staticmethod
    def backward(ctx, grad):
        kernel, stride, pads, dilation, grid, cols_shape = ctx.args
        g = grad.reshape(_as_4d(grad.shape, False, len(cols_shape) == 3))
        cols, _ = _unfold(g, kernel, stride, pads, dilation, grid=grid)
        return cols.reshape(cols_shape)


# ---- argument checks ---------------------------------------------------------------------------------------------

def _is_int(v):
    return hasattr(v, "__index__") and not isinstance(v, bool)


def _ntuple(value, n, op, name):
    """An int, or a sequence of 1 or ``n`` ints, as an ``n``-tuple of ints (torch's _single/_pair)."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(vals) == 1:
        vals = vals * n
    if len(vals) != n or not all(_is_int(v) for v in vals):
        raise ArgumentError(f"{op}(): argument '{name}' must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(v.__index__() for v in vals)


def _int_args(value, n, op, name, low):
    """``_ntuple`` plus a lower bound (1: positive, 0: non-negative); errors show the value as given."""
    vals = _ntuple(value, n, op, name)
    if any(v < low for v in vals):
        raise ArgumentError(f"{op}(): argument '{name}' must be {'positive' if low else 'non-negative'}, got "
                            f"{value!r}")
    return vals


def _show(values):
    return values[0] if len(values) == 1 else values


def _check_input(op, x, nd, what="input"):
    """Inputs are (N, C, *spatial) or unbatched (C, *spatial); returns True when batched."""
    if x.ndim not in (nd + 1, nd + 2):
        raise ShapeError(f"{op}(): expected {nd + 1}-d (unbatched) or {nd + 2}-d (batched) {what}, got {what} of "
                         f"shape {tuple(x.shape)}")
    return x.ndim == nd + 2


def _check_dtypes(op, tensors):
    """All of ``tensors`` (name -> Tensor or None) share one numeric, non-bool dtype."""
    present = [(name, t) for name, t in tensors if t is not None]
    for name, t in present:
        if t.dtype.numpy.kind not in "fiu":
            raise DTypeError(f"{op}(): argument '{name}' must be a floating-point or integer tensor, got {t.dtype}")
    first_name, first = present[0]
    for name, t in present[1:]:
        if t.dtype != first.dtype:
            raise DTypeError(f"{op}(): expected '{name}' to have the dtype of '{first_name}' ({first.dtype}), "
                             f"got {t.dtype}")


def _check_groups(op, groups):
    if not _is_int(groups) or groups <= 0:
        raise ArgumentError(f"{op}(): argument 'groups' must be a positive int, got {groups!r}")
    return groups.__index__()


def _check_bias(op, bias, channels, weight_shape):
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ShapeError(f"{op}(): expected bias of shape ({channels},) for weight of shape {tuple(weight_shape)}, "
                         f"got bias of shape {tuple(bias.shape)}")


def _check_kernel_fits(op, spatial, pads, kernel, dilation):
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pads))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < e for p, e in zip(padded, extent)):
        raise ShapeError(f"{op}(): kernel size {_show(kernel)} (dilated extent {_show(extent)}) is larger than the "
                         f"padded input size {_show(padded)} (input {_show(spatial)})")


def _pads_4d(pads):
    """(lo, hi) per spatial dim -> (top, bottom, left, right); a 1-d op has no height padding."""
    return (0, 0) + pads[0] if len(pads) == 1 else pads[0] + pads[1]


def _lift(values, fill=1):
    """A per-spatial-dim tuple of a 1-d op as the 2-d tuple its kernel uses."""
    return (fill,) + values if len(values) == 1 else values


def _conv_nd(op, nd, input, weight, bias, stride, padding, dilation, groups):
    input, weight = as_tensor_arg(input), as_tensor_arg(weight)
    bias = None if bias is None else as_tensor_arg(bias)
    batched = _check_input(op, input, nd)
    if weight.ndim != nd + 2:
        raise ShapeError(f"{op}(): expected a {nd + 2}-d weight (out_channels, in_channels/groups, kernel "
                         f"size...), got weight of shape {tuple(weight.shape)}")
    _check_dtypes(op, (("input", input), ("weight", weight), ("bias", bias)))
    raw_stride, stride = stride, _int_args(stride, nd, op, "stride", 1)
    dilation = _int_args(dilation, nd, op, "dilation", 1)
    groups = _check_groups(op, groups)
    w_shape, x_shape = tuple(weight.shape), tuple(input.shape)
    kernel = w_shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ArgumentError(f"{op}(): padding='same' is not supported for strided convolutions, got "
                                    f"stride={raw_stride!r}")
            # torch puts the odd pixel of an even total padding at the end
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            pads = tuple((t // 2, t - t // 2) for t in totals)
        else:
            raise ArgumentError(f"{op}(): argument 'padding' must be 'valid', 'same', an int or a tuple of {nd} "
                                f"ints, got {padding!r}")
    else:
        padding = _int_args(padding, nd, op, "padding", 0)
        pads = tuple((p, p) for p in padding)
    out_channels, group_channels = w_shape[:2]
    if out_channels % groups:
        raise ArgumentError(f"{op}(): groups={groups} must divide the out_channels of weight of shape {w_shape}, "
                            f"which has {out_channels}")
    channels = x_shape[1 if batched else 0]
    if group_channels * groups != channels:
        raise ShapeError(f"{op}(): weight of shape {w_shape} with groups={groups} expects input with "
                         f"{group_channels * groups} channels, got input of shape {x_shape} with {channels} channels")
    _check_bias(op, bias, out_channels, w_shape)
    _check_kernel_fits(op, x_shape[-nd:], pads, kernel, dilation)
    return Convolution.apply(input, weight, bias, stride=_lift(stride), pads=_pads_4d(pads),
                             dilation=_lift(dilation), groups=groups, one_d=nd == 1, batched=batched)


def _conv_transpose_nd(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    input, weight = as_tensor_arg(input), as_tensor_arg(weight)
    bias = None if bias is None else as_tensor_arg(bias)
    batched = _check_input(op, input, nd)
    if weight.ndim != nd + 2:
        raise ShapeError(f"{op}(): expected a {nd + 2}-d weight (in_channels, out_channels/groups, kernel "
                         f"size...), got weight of shape {tuple(weight.shape)}")
    _check_dtypes(op, (("input", input), ("weight", weight), ("bias", bias)))
    given = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    stride = _int_args(stride, nd, op, "stride", 1)
    dilation = _int_args(dilation, nd, op, "dilation", 1)
    padding = _int_args(padding, nd, op, "padding", 0)
    output_padding = _int_args(output_padding, nd, op, "output_padding", 0)
    groups = _check_groups(op, groups)
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise ArgumentError(f"{op}(): output_padding must be smaller than either stride or dilation, got "
                                f"output_padding={given['output_padding']!r}, stride={given['stride']!r}, "
                                f"dilation={given['dilation']!r}")
    w_shape, x_shape = tuple(weight.shape), tuple(input.shape)
    in_channels, group_out = w_shape[:2]
    if in_channels % groups:
        raise ArgumentError(f"{op}(): groups={groups} must divide the in_channels of weight of shape {w_shape}, "
                            f"which has {in_channels}")
    channels = x_shape[1 if batched else 0]
    if channels != in_channels:
        raise ShapeError(f"{op}(): weight of shape {w_shape} expects input with {in_channels} channels, got input "
                         f"of shape {x_shape} with {channels} channels")
    _check_bias(op, bias, group_out * groups, w_shape)
    kernel = w_shape[2:]
    out = tuple((s - 1) * st - 2 * p + d * (k - 1) + o + 1
                for s, st, p, d, k, o in zip(x_shape[-nd:], stride, padding, dilation, kernel, output_padding))
    if any(o < 1 for o in out):
        raise ShapeError(f"{op}(): padding={given['padding']!r} is too large for input of shape {x_shape}: the "
                         f"output size would be {_show(out)}")
    return ConvolutionTranspose.apply(
        input, weight, bias, stride=_lift(stride), pads=_pads_4d(tuple((p, p) for p in padding)),
        dilation=_lift(dilation), groups=groups, out_hw=_lift(out), one_d=nd == 1, batched=batched)


# ---- public functions --------------------------------------------------------------------------------------------

def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution (cross-correlation) over (N, C_in, L) or unbatched (C_in, L) input.

    Args:
        input: (N, C_in, L) or (C_in, L).
        weight: (C_out, C_in / groups, k).
        bias: optional (C_out,).
        stride, dilation: int or 1-tuple, positive.
        padding: int, 1-tuple, 'valid' or 'same' (stride 1 only).
        groups: splits the channels into groups convolved separately.
    Returns:
        (N, C_out, L_out) with L_out = floor((L + 2*padding - dilation*(k-1) - 1) / stride) + 1.

    Example:
        >>> y = lamina.nn.functional.conv1d(lamina.randn(2, 3, 10), lamina.randn(4, 3, 3), padding=1)
    """
    return _conv_nd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation) over (N, C_in, H, W) or unbatched (C_in, H, W) input.

    Args:
        input: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_out, C_in / groups, kh, kw).
        bias: optional (C_out,).
        stride, dilation: int or pair, positive.
        padding: int, pair, 'valid' or 'same' (stride 1 only; an odd total puts the extra pixel at the end).
        groups: splits the channels into groups convolved separately (groups == C_in: depthwise).
    Returns:
        (N, C_out, H_out, W_out), H_out = floor((H + 2*padding - dilation*(kh-1) - 1) / stride) + 1.

    Example:
        >>> y = lamina.nn.functional.conv2d(lamina.randn(8, 3, 32, 32), lamina.randn(16, 3, 3, 3), padding=1)
    """
    return _conv_nd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-d transposed convolution: the gradient of conv1d with respect to its input, plus a bias.

    Args:
        input: (N, C_in, L) or (C_in, L).
        weight: (C_in, C_out / groups, k).
        output_padding: extra size added at the end of the output; smaller than stride or dilation.
    Returns:
        (N, C_out, (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1).
    """
    return _conv_transpose_nd("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                              groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-d transposed convolution ("deconvolution"): the gradient of conv2d with respect to its input.

    Args:
        input: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_in, C_out / groups, kh, kw).
        bias: optional (C_out,).
        stride, padding, dilation: as for the conv2d this is the adjoint of.
        output_padding: extra rows/columns at the end of the output; smaller than stride or dilation.
    Returns:
        (N, C_out, H_out, W_out), H_out = (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1.

    Example:
        >>> up = lamina.nn.functional.conv_transpose2d(lamina.randn(1, 8, 4, 4), lamina.randn(8, 3, 2, 2), stride=2)
    """
    return _conv_transpose_nd("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                              groups, dilation)


def _fold_geometry(op, kernel_size, dilation, padding, stride):
    kernel = _int_args(kernel_size, 2, op, "kernel_size", 1)
    dilation = _int_args(dilation, 2, op, "dilation", 1)
    padding = _int_args(padding, 2, op, "padding", 0)
    stride = _int_args(stride, 2, op, "stride", 1)
    return kernel, dilation, padding, stride


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks (im2col): (N, C, H, W) -> (N, C*kh*kw, L), L the number of block positions.

    Example:
        >>> cols = lamina.nn.functional.unfold(lamina.randn(2, 3, 8, 8), kernel_size=3)   # (2, 27, 36)
    """
    op = "unfold"
    input = as_tensor_arg(input)
    batched = _check_input(op, input, 2)
    kernel, dilation, padding, stride = _fold_geometry(op, kernel_size, dilation, padding, stride)
    _check_kernel_fits(op, tuple(input.shape[-2:]), tuple((p, p) for p in padding), kernel, dilation)
    return Unfold.apply(input, kernel=kernel, stride=stride, pads=(padding[0],) * 2 + (padding[1],) * 2,
                        dilation=dilation, batched=batched)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding blocks into an image (col2im), summing overlaps: the adjoint of ``unfold``.

    Args:
        input: (N, C*kh*kw, L) or (C*kh*kw, L), L the number of block positions in ``output_size``.
        output_size: (H, W) of the result.
    Returns:
        (N, C, H, W).
    """
    op = "fold"
    input = as_tensor_arg(input)
    if input.ndim not in (2, 3):
        raise ShapeError(f"{op}(): expected 2-d (unbatched) or 3-d (batched) input, got input of shape "
                         f"{tuple(input.shape)}")
    batched = input.ndim == 3
    out_hw = _int_args(output_size, 2, op, "output_size", 0)
    kernel, dilation, padding, stride = _fold_geometry(op, kernel_size, dilation, padding, stride)
    rows, length = input.shape[-2:]
    k = kernel[0] * kernel[1]
    if rows % k:
        raise ShapeError(f"{op}(): expected input.size({-2 + input.ndim}) to be divisible by the product of "
                         f"kernel_size {kernel} ({k}), got {rows} (input of shape {tuple(input.shape)})")
    grid = tuple(_grid(s + 2 * p, kk, st, d) for s, p, kk, st, d in zip(out_hw, padding, kernel, stride, dilation))
    if grid[0] < 1 or grid[1] < 1 or grid[0] * grid[1] != length:
        raise ShapeError(f"{op}(): output_size={out_hw}, kernel_size={kernel}, dilation={dilation}, "
                         f"padding={padding}, stride={stride} give {max(grid[0], 0)} * {max(grid[1], 0)} blocks, "
                         f"but input of shape {tuple(input.shape)} has {length}")
    return Fold.apply(input, channels=rows // k, out_hw=out_hw, kernel=kernel, stride=stride,
                      pads=(padding[0],) * 2 + (padding[1],) * 2, dilation=dilation, grid=grid, batched=batched)


# ---- pad -----------------------------------------------------------------------------------------------------------

def _overlap(shape, pairs):
    """Index tuples (into the input, into the padded output) of the region padding copies unchanged."""
    src, dst = [], []
    for n, (before, after) in zip(shape, pairs):
        lo, hi = max(-before, 0), n - max(-after, 0)
        length = max(hi - lo, 0)
        src.append(slice(lo, lo + length))
        dst.append(slice(max(before, 0), max(before, 0) + length))
    return tuple(src), tuple(dst)


def _source_positions(n, before, after, mode):
    """For each output position along one padded axis, the input position it copies (reflect/replicate/circular)."""
    positions = [_source_position(o, n, before, after, mode) for o in range(n + before + after)]
    return xp.asarray(positions, dtype=xp.intp)


def _source_position(o, n, before, after, mode):
    """The input position output position ``o`` copies. Reflect and replicate mirror/extend the original edges;
    circular wraps around what is left after cropping negative amounts, as torch does."""
    p = o - before
    if mode == "reflect":
        p = abs(p)
        return 2 * (n - 1) - p if p > n - 1 else p
    if mode == "replicate":
        return min(max(p, 0), n - 1)
    lo = max(-before, 0)
    return (o - max(before, 0)) % (n - lo - max(-after, 0)) + lo


class Pad(Op):
    """Padding of the trailing dims; ``pairs`` = (before, after) for every dim of the input."""

    @staticmethod
    def forward(ctx, x, pairs, mode, value):
        ctx.pairs, ctx.mode, ctx.shape = pairs, mode, x.shape
        if mode == "constant":
            shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pairs))
            out = xp.zeros(shape, x.dtype) if not value else xp.full(shape, value, x.dtype)
            src, dst = _overlap(x.shape, pairs)
            out[dst] = x[src]
            return out
        out = x
        for axis, (before, after) in enumerate(pairs):
            if before or after:
                out = xp.take(out, _source_positions(x.shape[axis], before, after, mode), axis=axis)
        return out if out is not x else x.copy()

    @staticmethod
    def backward(ctx, grad):
        pairs, mode, shape = ctx.pairs, ctx.mode, ctx.shape
        if mode == "constant":
            gx = xp.zeros(shape, grad.dtype)
            src, dst = _overlap(shape, pairs)
            gx[src] = grad[dst]
            return gx
        g = grad
        for axis in reversed(range(len(shape))):
            before, after = pairs[axis]
            if before or after:
                g = _gather_adjoint(g, axis, shape[axis], before, after, mode)
        return g


def _gather_adjoint(g, axis, n, before, after, mode):
    """Sum ``g`` along ``axis`` back onto the ``n`` input positions the padded positions were copied from."""
    m = g.shape[axis]
    gx = xp.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1:], g.dtype)
    lead = (slice(None),) * axis
    lo, hi = max(before, 0), min(before + n, m)       # output positions that hold the input unchanged
    if hi > lo:
        gx[lead + (slice(lo - before, hi - before),)] = g[lead + (slice(lo, hi),)]
    for o in [*range(0, min(lo, m)), *range(max(hi, lo), m)]:
        gx[lead + (_source_position(o, n, before, after, mode),)] += g[lead + (o,)]
    return gx


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the trailing dims of ``input``.

    Args:
        input: a tensor.
        pad: (left, right) amounts for the last dim, then the second-to-last, ...: ``(1, 1, 2, 2)`` pads W by 1
            and H by 2 on each side.
        mode: 'constant' (fill with ``value``, default 0, any number of dims), 'reflect' (mirror without
            repeating the edge), 'replicate' (repeat the edge) or 'circular' (wrap around); the last three pad the
            last 1 to 3 dims of a batched or unbatched input.
        value: fill value for 'constant'.

    Example:
        >>> lamina.nn.functional.pad(lamina.ones(1, 2, 2), (1, 1), value=0.0).shape
        lamina.Size([1, 2, 4])
    """
    op = "pad"
    input = as_tensor_arg(input)
    amounts = tuple(pad) if isinstance(pad, (tuple, list)) else pad
    if not isinstance(amounts, tuple) or not all(_is_int(a) for a in amounts):
        raise ArgumentError(f"{op}(): argument 'pad' must be a tuple of ints, got {pad!r}")
    amounts = tuple(a.__index__() for a in amounts)
    if len(amounts) % 2:
        raise ArgumentError(f"{op}(): padding length must be divisible by 2, got pad={amounts}")
    k, ndim, shape = len(amounts) // 2, input.ndim, tuple(input.shape)
    if k > ndim:
        raise ArgumentError(f"{op}(): padding length must be at most twice the input dimension, got pad of length "
                            f"{len(amounts)} for a {ndim}-d input")
    if mode not in _PAD_MODES:
        raise ArgumentError(f"{op}(): mode must be one of {', '.join(map(repr, _PAD_MODES))}, got {mode!r}")
    pairs = [(0, 0)] * ndim
    for i in range(k):
        pairs[ndim - 1 - i] = (amounts[2 * i], amounts[2 * i + 1])
    pairs = tuple(pairs)
    if value is not None and not (isinstance(value, (int, float)) or hasattr(value, "__float__")):
        raise ArgumentError(f"{op}(): argument 'value' must be a number, got {type(value).__name__} {value!r}")
    if mode == "constant":
        for axis, (n, (a, b)) in enumerate(zip(shape, pairs)):
            if n + a + b < 0:
                raise ArgumentError(f"{op}(): padding ({a}, {b}) of dimension {axis} (size {n}) gives a negative "
                                    f"size {n + a + b}")
        return Pad.apply(input, pairs=pairs, mode=mode, value=0 if value is None else value)
    if value is not None and value != 0:
        raise ArgumentError(f"{op}(): padding mode {mode!r} doesn't take a value argument, got value={value!r}")
    if not 1 <= k <= 3 or k not in (ndim - 1, ndim - 2):
        raise ArgumentError(f"{op}(): {mode} padding of the last {k} dims needs a {k + 1}-d (unbatched) or "
                            f"{k + 2}-d (batched) input, got input of shape {shape}")
    if 0 in shape[ndim - k:] or (mode != "circular" and 0 in shape[ndim - k - 1:]):   # torch's rule
        what = "padded dims" if mode == "circular" else "channel and padded dims"
        raise ArgumentError(f"{op}(): {mode} padding needs non-empty {what}, got input of shape {shape}")
    for axis in range(ndim - k, ndim):
        n, (a, b) = shape[axis], pairs[axis]
        if mode == "reflect" and (a >= n or b >= n):
            raise ArgumentError(f"{op}(): reflect padding ({a}, {b}) must be less than the size {n} of dimension "
                                f"{axis} (input of shape {shape})")
        kept = n - max(-a, 0) - max(-b, 0)
        if mode == "circular" and (a > kept or b > kept):
            raise ArgumentError(f"{op}(): circular padding ({a}, {b}) must be at most the size {kept} left of "
                                f"dimension {axis} (input of shape {shape}); it would wrap around more than once")
        if n + a + b < 0:
            raise ArgumentError(f"{op}(): padding ({a}, {b}) of dimension {axis} (size {n}) gives a negative size "
                                f"{n + a + b}")
    return Pad.apply(input, pairs=pairs, mode=mode, value=0)
