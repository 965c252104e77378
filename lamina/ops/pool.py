"""Pooling and resampling: max/avg pooling, adaptive pooling, interpolate.

Layout is torch's (N, C, *spatial); 1-d pooling runs as 2-d pooling with a height of 1 and unbatched input as a
batch of one (the helpers of ``lamina.ops.conv``). Pooling builds one strided window view of the padded input and
reduces it; max pooling keeps the flat index of each maximum (torch's ``return_indices``) and its backward sends
each output gradient to that input element. Adaptive average pooling and interpolation are separable: along each
spatial axis an output element is a fixed combination of input elements, so forward and backward are per-axis
products (a window matrix, or an index/weight gather whose adjoint is a segment sum).
"""
import math

from lamina.autograd import Op
from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.ops._util import as_tensor_arg
from lamina.ops.conv import _as_4d, _check_input, _crop, _from_4d, _int_args, _is_int, _lift, _pad_hw, _show


# ---- window geometry -------------------------------------------------------------------------------------------

def _pool_out(size, k, s, p, d, ceil_mode):
    """torch's pooling output length; with ceil_mode the last window must start inside the input or left pad."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _window_pads(size_hw, kernel, stride, padding, dilation, out_hw):
    """(top, bottom, left, right): the padding plus what ceil_mode's last windows need past the right edge."""
    pads = []
    for size, k, s, p, d, o in zip(size_hw, kernel, stride, padding, dilation, out_hw):
        pads += [p, max(p, (o - 1) * s + d * (k - 1) + 1 - size - p)]
    return tuple(pads)


def _windows(xpad, kernel, stride, dilation, out_hw):
    """The (N, C, Ho, Wo, kh, kw) strided view of the windows of a padded (N, C, H, W) array."""
    s0, s1, s2, s3 = xpad.strides
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    return xp.lib.stride_tricks.as_strided(
        xpad, xpad.shape[:2] + tuple(out_hw) + (kh, kw), (s0, s1, sh * s2, sw * s3, dh * s2, dw * s3),
        writeable=False)


def _lowest(dtype):
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


# ---- operators ----------------------------------------------------------------------------------------------------

class MaxPool(Op):
    """2-d max pooling (1-d as height 1); returns the values and, with ``return_indices``, the flat index of each
    maximum in its input plane.

    Backward scatters through the winner's position in its window (one small int per output): for a fixed window
    offset the outputs map to distinct input cells, so each offset is one masked add into a strided slice.
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, one_d, batched, return_indices=False):
        x4 = x.reshape(_as_4d(x.shape, one_d, batched))
        n, c, h, w = x4.shape
        out_hw = tuple(_pool_out(*a, ceil_mode) for a in zip((h, w), kernel, stride, padding, dilation))
        pads = _window_pads((h, w), kernel, stride, padding, dilation, out_hw)
        xpad = _pad_hw(x4, pads, scratch="pad", value=_lowest(x.dtype))
        offsets = _offsets(kernel, stride, out_hw, dilation)
        values, arg = _window_max([xpad[:, :, rows, cols] for rows, cols in offsets])
        geometry = ((h, w), kernel, stride, padding, dilation, out_hw)
        outside = _outside(arg, *geometry) if any(pads) else None
        index = _flat_index(arg, *geometry, outside) if return_indices or outside is not None else None
        ctx.x_shape, ctx.layout = x.shape, (one_d, batched)
        if outside is None:
            ctx.offsets, ctx.pads = offsets, pads
            ctx.disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
            ctx.save_for_backward(arg)
        else:                                   # a winner in the padding: torch's index says where its grad goes
            ctx.offsets = None
            ctx.save_for_backward(index)
        values = _from_4d(values, one_d, batched)
        return (values, _from_4d(index, one_d, batched)) if return_indices else values

    @staticmethod
    def backward(ctx, grad, _grad_index=None):
        (saved,) = ctx.saved_tensors
        one_d, batched = ctx.layout
        if ctx.offsets is None:
            return _scatter_to_planes(grad, saved, ctx.x_shape, one_d, batched)
        n, c, h, w = _as_4d(ctx.x_shape, one_d, batched)
        top, bottom, left, right = ctx.pads
        g4 = grad.reshape(saved.shape)
        gx = xp.zeros((n, c, h + top + bottom, w + left + right), grad.dtype)
        # Multiplying by the 0/1 mask is ~10x faster than a masked ufunc (out=, where=) but turns an inf or NaN
        # gradient into NaN in the cells that lost; it writes, not adds, so it also needs disjoint windows.
        multiply = ctx.disjoint and xp.isfinite(g4).all()
        for k, (rows, cols) in enumerate(ctx.offsets):
            cells = gx[:, :, rows, cols]
            if multiply:
                xp.multiply(g4, saved == k, out=cells)
            else:
                cells += xp.where(saved == k, g4, 0)
        return _crop(gx, ctx.pads, (h, w)).reshape(ctx.x_shape)


def _window_max(candidates):
    """Elementwise max over same-shaped arrays in torch's scan order, and the position of each winner (the
    smallest unsigned int type that holds it): the first maximum, or the last NaN (torch's
    ``val > max || isnan(val)`` rule)."""
    best = xp.array(candidates[0])
    position = xp.min_scalar_type(len(candidates) - 1)
    for v in candidates[1:]:
        xp.maximum(best, v, out=best)           # NaN-propagating, like torch
    if best.dtype.kind == "f" and xp.isnan(best).any():
        best = xp.array(candidates[0])
        arg = xp.zeros(best.shape, position)
        for k, v in enumerate(candidates[1:], 1):
            wins = (v > best) | xp.isnan(v)
            xp.copyto(best, v, where=wins)
            xp.copyto(arg, k, where=wins)
        return best, arg
    # the first maximum's position = how many candidates miss before it (unmasked ops: a masked copyto is ~5x slower)
    missed = candidates[0] != best
    arg = missed.astype(position)
    for v in candidates[1:-1]:
        missed &= v != best
        arg += missed
    return best, arg


def _window_origins(kernel, stride, padding, out_hw):
    """Input row and column of each window's top-left cell (negative inside the padding)."""
    return xp.arange(out_hw[0]) * stride[0] - padding[0], xp.arange(out_hw[1]) * stride[1] - padding[1]


def _outside(arg, size_hw, kernel, stride, padding, dilation, out_hw):
    """Mask of the windows whose winner is a padding cell (a window holding only padding-level values, e.g. all
    -inf), or None when there is none."""
    (h, w), kw, (dh, dw) = size_hw, kernel[1], dilation
    first_row, first_col = _window_origins(kernel, stride, padding, out_hw)
    rows = first_row[:, None] + (arg // kw) * dh
    cols = first_col + (arg % kw) * dw
    outside = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    return outside if outside.any() else None


def _flat_index(arg, size_hw, kernel, stride, padding, dilation, out_hw, outside=None):
    """Turn window positions (i*kw + j) into torch's flat indices h*W + w of the input plane; where ``outside``,
    torch reports the first cell of the window inside the input."""
    (h, w), (kh, kw), (dh, dw) = size_hw, kernel, dilation
    first_row, first_col = _window_origins(kernel, stride, padding, out_hw)
    within = (xp.arange(kh)[:, None] * dh * w + xp.arange(kw) * dw).ravel()
    index = xp.take(within, arg) + (first_row[:, None] * w + first_col)
    if outside is not None:
        top = xp.where(first_row < 0, first_row + (-first_row + dh - 1) // dh * dh, first_row)
        left = xp.where(first_col < 0, first_col + (-first_col + dw - 1) // dw * dw, first_col)
        index = xp.where(outside, top[:, None] * w + left, index)
    return index.astype(xp.int64, copy=False)


def _scatter_to_planes(grad, index4, x_shape, one_d, batched):
    """Sum each output gradient into the input element ``index4`` (N, C, Ho, Wo) points at, per (n, c) plane."""
    n, c, h, w = _as_4d(x_shape, one_d, batched)
    planes, hw = n * c, h * w
    flat = (index4.reshape(planes, index4.shape[2] * index4.shape[3]) + (xp.arange(planes) * hw)[:, None]).ravel()
    summed = xp.bincount(flat, weights=grad.reshape(-1), minlength=planes * hw)
    return summed.astype(grad.dtype, copy=False).reshape(x_shape)


class AvgPool(Op):
    """2-d average pooling (1-d as height 1) with torch's divisor rules."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, one_d, batched):
        x4 = x.reshape(_as_4d(x.shape, one_d, batched))
        n, c, h, w = x4.shape
        ones = (1, 1)
        out_hw = tuple(_pool_out(*a, ceil_mode) for a in zip((h, w), kernel, stride, padding, ones))
        pads = _window_pads((h, w), kernel, stride, padding, ones, out_hw)
        floating = x.dtype.kind == "f"
        xpad = _pad_hw(x4 if floating else x4.astype(xp.int64), pads, scratch="pad")
        offsets = _offsets(kernel, stride, out_hw)
        total = xpad[(slice(None), slice(None)) + offsets[0]].copy()
        for rows, cols in offsets[1:]:
            total += xpad[:, :, rows, cols]
        divisor = _avg_divisor((h, w), kernel, stride, padding, out_hw, count_include_pad, divisor_override,
                               total.dtype)
        if floating:
            out = total / divisor
        else:   # torch truncates integer averages toward zero
            out = (xp.abs(total) // divisor * xp.sign(total)).astype(x.dtype)
        ctx.geometry = (x4.shape, kernel, stride, padding, pads, out_hw, count_include_pad, divisor_override, one_d,
                        batched, x.shape)
        return _from_4d(out, one_d, batched)

    @staticmethod
    def backward(ctx, grad):
        (shape4, kernel, stride, padding, pads, out_hw, count_include_pad, divisor_override, one_d, batched,
         x_shape) = ctx.geometry
        n, c, h, w = shape4
        divisor = _avg_divisor((h, w), kernel, stride, padding, out_hw, count_include_pad, divisor_override,
                               grad.dtype)
        g = grad.reshape(_as_4d(grad.shape, one_d, batched)) / divisor
        top, bottom, left, right = pads
        gx = xp.zeros((n, c, h + top + bottom, w + left + right), grad.dtype)
        for rows, cols in _offsets(kernel, stride, out_hw):
            gx[:, :, rows, cols] += g
        return gx[:, :, top:top + h, left:left + w].reshape(x_shape)


def _offsets(kernel, stride, out_hw, dilation=(1, 1)):
    """For each kernel offset (i, j), row-major, the strided (rows, cols) slices of the padded input it reads."""
    (kh, kw), (sh, sw), (ho, wo), (dh, dw) = kernel, stride, out_hw, dilation
    return [(slice(i * dh, i * dh + sh * (ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


def _avg_divisor(size_hw, kernel, stride, padding, out_hw, count_include_pad, divisor_override, dtype):
    """Per-output divisor: the window size clipped to the padded input (or to the input without
    count_include_pad), or ``divisor_override``."""
    if divisor_override is not None:
        return xp.asarray(divisor_override, dtype=dtype)
    counts = []
    for size, k, s, p, o in zip(size_hw, kernel, stride, padding, out_hw):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, size)
        counts.append(end - start)
    return (counts[0][:, None] * counts[1][None, :]).astype(dtype)


def _axis_matmul(x, m, axis):
    """Contract ``axis`` of ``x`` with ``m`` (out, in): one GEMM over all other axes."""
    moved = xp.moveaxis(x, axis, -1)
    rows = 1
    for s in moved.shape[:-1]:
        rows *= s
    out = moved.reshape(rows, moved.shape[-1]) @ m.T
    return xp.moveaxis(out.reshape(moved.shape[:-1] + (m.shape[0],)), -1, axis)


def _adaptive_bounds(size, out):
    """torch's adaptive windows along one axis: [floor(i*size/out), ceil((i+1)*size/out))."""
    i = xp.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


class AdaptiveAvgPool(Op):
    """Adaptive average pooling of the trailing spatial dims: per axis a window sum, then one divide."""

    @staticmethod
    def forward(ctx, x, out_size):
        lead = x.ndim - len(out_size)
        spatial = x.shape[lead:]
        y = x
        for k, (size, out) in enumerate(zip(spatial, out_size)):
            y = _window_sum(y, lead + k, size, out)
        ctx.sizes = (spatial, out_size)
        return y / _window_counts(spatial, out_size, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        spatial, out_size = ctx.sizes
        g = grad / _window_counts(spatial, out_size, grad.dtype)
        lead = g.ndim - len(out_size)
        for k, (size, out) in enumerate(zip(spatial, out_size)):
            g = _window_sum_adjoint(g, lead + k, size, out)
        return g


def _window_sum(x, axis, size, out):
    """Sum ``x`` over the adaptive windows along ``axis``: a reshape when they tile the axis, else a 0/1 matrix."""
    if out and size % out == 0:
        return x.reshape(x.shape[:axis] + (out, size // out) + x.shape[axis + 1:]).sum(axis=axis + 1)
    return _axis_matmul(x, _window_matrix(size, out, x.dtype), axis)


def _window_sum_adjoint(g, axis, size, out):
    if out and size % out == 0:
        return xp.repeat(g, size // out, axis=axis)
    return _axis_matmul(g, _window_matrix(size, out, g.dtype).T, axis)


def _window_matrix(size, out, dtype):
    """The (out, size) 0/1 matrix of torch's adaptive windows along one axis."""
    start, end = _adaptive_bounds(size, out)
    pos = xp.arange(size)
    return ((pos >= start[:, None]) & (pos < end[:, None])).astype(dtype)


def _window_counts(spatial, out_size, dtype):
    """Outer product of the window lengths along each axis: the divisor of each output."""
    counts = None
    for size, out in zip(spatial, out_size):
        start, end = _adaptive_bounds(size, out)
        n = (end - start).astype(dtype)
        counts = n if counts is None else counts[..., None] * n
    return counts


class AdaptiveMaxPool(Op):
    """Adaptive max pooling over (N, C, H, W) (1-d as height 1); returns (values, flat indices)."""

    @staticmethod
    def forward(ctx, x, out_hw, one_d, batched):
        x4 = x.reshape(_as_4d(x.shape, one_d, batched))
        n, c, h, w = x4.shape
        ho, wo = out_hw
        if ho == 0 or wo == 0:
            values, index = xp.empty((n, c, ho, wo), x.dtype), xp.empty((n, c, ho, wo), xp.int64)
        else:
            idx_h, idx_w = _adaptive_gather(h, ho), _adaptive_gather(w, wo)
            kh, kw = idx_h.shape[1], idx_w.shape[1]
            # Windows shorter than the longest repeat their last element, which never changes the winner.
            rows = [xp.take(x4, idx_h[:, a], axis=2) for a in range(kh)]
            values, arg = _window_max([xp.take(r, idx_w[:, b], axis=3) for r in rows for b in range(kw)])
            rows = idx_h[xp.arange(ho)[:, None], arg // kw]
            cols = idx_w[xp.arange(wo), arg % kw]
            index = (rows * w + cols).astype(xp.int64)
        ctx.x_shape, ctx.layout = x.shape, (one_d, batched)
        ctx.save_for_backward(index)
        return _from_4d(values, one_d, batched), _from_4d(index, one_d, batched)

    @staticmethod
    def backward(ctx, grad, _grad_index):
        (index,) = ctx.saved_tensors
        return _scatter_to_planes(grad, index, ctx.x_shape, *ctx.layout)


def _adaptive_gather(size, out):
    """(out, longest window) input positions of each adaptive window, the last one repeated to fill."""
    start, end = _adaptive_bounds(size, out)
    k = int((end - start).max())
    return xp.minimum(start[:, None] + xp.arange(k), end[:, None] - 1)


class Resample(Op):
    """Separable resampling of the trailing dims: along each, out[o] = w0[o] * x[i0[o]] + w1[o] * x[i1[o]]
    (nearest: out[o] = x[i0[o]]). The index arrays never decrease, which makes the adjoint a segment sum."""

    @staticmethod
    def forward(ctx, x, spec):
        plans = _resample_plans(*spec, x.dtype)
        y = x
        nd = len(plans)
        for k, (i0, w0, i1, w1) in enumerate(plans):
            axis = x.ndim - nd + k
            if w0 is None:
                y = xp.take(y, i0, axis=axis)
            else:
                shape = (-1,) + (1,) * (nd - k - 1)
                y = xp.take(y, i0, axis=axis) * w0.reshape(shape) + xp.take(y, i1, axis=axis) * w1.reshape(shape)
        ctx.spec, ctx.x_shape = spec, x.shape
        return y        # take() always copies

    @staticmethod
    def backward(ctx, grad):
        plans = _resample_plans(*ctx.spec, grad.dtype)
        g = grad
        nd = len(plans)
        for k in reversed(range(nd)):
            i0, w0, i1, w1 = plans[k]
            axis = g.ndim - nd + k
            size = ctx.x_shape[axis]
            if w0 is None:
                g = _segment_sum(g, i0, axis, size)
            else:
                shape = (-1,) + (1,) * (nd - k - 1)
                g = _segment_sum(g * w0.reshape(shape), i0, axis, size) + \
                    _segment_sum(g * w1.reshape(shape), i1, axis, size)
        return g


def _segment_sum(g, index, axis, size):
    """out[..., i, ...] = sum of g[..., o, ...] over the o with index[o] == i, along ``axis`` (the adjoint of
    ``take(x, index, axis)``). ``index`` never decreases."""
    out_len = g.shape[axis]
    if out_len and out_len % size == 0 and xp.array_equal(index, xp.arange(out_len) // (out_len // size)):
        # every input repeated r times (nearest upsampling by an integer factor): sum the repeats
        r = out_len // size
        return g.reshape(g.shape[:axis] + (size, r) + g.shape[axis + 1:]).sum(axis=axis + 1)
    if axis == g.ndim - 1 and size * out_len <= 1 << 14:
        # along the last axis slices are strided: one small GEMM with the 0/1 matrix instead
        onehot = (xp.arange(size)[:, None] == index[None, :]).astype(g.dtype)
        return _axis_matmul(g, onehot, axis)
    shape = list(g.shape)
    shape[axis] = size
    out = xp.zeros(shape, g.dtype)
    lead = (slice(None),) * axis
    for o, i in enumerate(index.tolist()):
        out[lead + (i,)] += g[lead + (o,)]
    return out


# ---- argument checks ---------------------------------------------------------------------------------------------

def _check_float(op, x):
    if x.dtype.numpy.kind != "f":
        raise DTypeError(f"{op}(): expected a floating-point input, got {x.dtype}")


def _check_numeric(op, x):
    if x.dtype.numpy.kind not in "fiu":
        raise DTypeError(f"{op}(): expected a floating-point or integer input, got {x.dtype}")


def _pool_args(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate pooling arguments; returns (input, batched, kernel, stride, padding, dilation) as nd-tuples."""
    input = as_tensor_arg(input)
    batched = _check_input(op, input, nd)
    _check_numeric(op, input)
    given = f"kernel_size={kernel_size!r}, padding={padding!r}" + ("" if dilation == 1 else f", dilation={dilation!r}")
    kernel = _int_args(kernel_size, nd, op, "kernel_size", 1)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel
    stride = _int_args(stride, nd, op, "stride", 1)
    padding = _int_args(padding, nd, op, "padding", 0)
    dilation = _int_args(dilation, nd, op, "dilation", 1)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ArgumentError(f"{op}(): argument 'padding' must be at most half of the (dilated) kernel size, got "
                                f"{given}")
    spatial = tuple(input.shape[-nd:])
    if 0 in tuple(input.shape[-nd - 1:]) or (not batched and 0 in tuple(input.shape)):
        raise ShapeError(f"{op}(): expected input with non-zero channel and spatial sizes, got input of shape "
                         f"{tuple(input.shape)}")
    out = tuple(_pool_out(s, k, st, p, d, ceil_mode)
                for s, k, st, p, d in zip(spatial, kernel, stride, padding, dilation))
    if any(o < 1 for o in out):
        raise ShapeError(f"{op}(): the window ({given}) is larger than the padded input size "
                         f"{_show(tuple(s + 2 * p for s, p in zip(spatial, padding)))}; the output size would be "
                         f"{_show(out)}")
    return input, batched, kernel, stride, padding, dilation


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    input, batched, kernel, stride, padding, dilation = _pool_args(op, nd, input, kernel_size, stride, padding,
                                                                   dilation, ceil_mode)
    return MaxPool.apply(input, kernel=_lift(kernel), stride=_lift(stride), padding=_lift(padding, 0),
                         dilation=_lift(dilation), ceil_mode=bool(ceil_mode), one_d=nd == 1, batched=batched,
                         return_indices=bool(return_indices))


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    input, batched, kernel, stride, padding, _ = _pool_args(op, nd, input, kernel_size, stride, padding, 1,
                                                            ceil_mode)
    if divisor_override is not None and (not _is_int(divisor_override) or divisor_override == 0):
        raise ArgumentError(f"{op}(): argument 'divisor_override' must be a non-zero int, got {divisor_override!r}")
    return AvgPool.apply(input, kernel=_lift(kernel), stride=_lift(stride), padding=_lift(padding, 0),
                         ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                         divisor_override=divisor_override, one_d=nd == 1, batched=batched)


def _output_size(op, nd, input, output_size, allow_none=True):
    """An nd-tuple of output sizes; None entries (2-d and up) keep the input's size."""
    vals = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(vals) == 1:
        vals = vals * nd
    spatial = tuple(input.shape[-nd:])
    ok = len(vals) == nd and all(_is_int(v) or (v is None and allow_none and nd > 1) for v in vals)
    if not ok:
        raise ArgumentError(f"{op}(): argument 'output_size' must be an int or a tuple of {nd} ints, got "
                            f"{output_size!r}")
    vals = tuple(s if v is None else v.__index__() for v, s in zip(vals, spatial))
    if any(v < 0 for v in vals):
        raise ArgumentError(f"{op}(): argument 'output_size' must be non-negative, got {_show(vals)}")
    return vals


def _adaptive_input(op, nd, input):
    input = as_tensor_arg(input)
    batched = _check_input(op, input, nd)
    shape = tuple(input.shape)
    if 0 in shape[1 if batched else 0:]:
        raise ShapeError(f"{op}(): expected input with non-zero sizes for non-batch dimensions, got input of shape "
                         f"{shape}")
    return input, batched


def _adaptive_avg_pool(op, nd, input, output_size):
    input, _ = _adaptive_input(op, nd, input)
    _check_float(op, input)
    return AdaptiveAvgPool.apply(input, out_size=_output_size(op, nd, input, output_size))


def _adaptive_max_pool(op, nd, input, output_size):
    input, batched = _adaptive_input(op, nd, input)
    _check_float(op, input)
    out = _output_size(op, nd, input, output_size)
    return AdaptiveMaxPool.apply(input, out_hw=_lift(out), one_d=nd == 1, batched=batched)


# ---- public functions --------------------------------------------------------------------------------------------

def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-d max pooling over (N, C, L) or (C, L); with ``return_indices`` also the flat index of each maximum.

    Padding (at most half the kernel) never wins the maximum; NaN does, as in torch.

    Example:
        >>> lamina.nn.functional.max_pool1d(lamina.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)
        tensor([[[3., 2.]]])
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-d max pooling over (N, C, H, W) or (C, H, W).

    Args:
        kernel_size, stride (default: kernel_size), padding, dilation: int or pair.
        ceil_mode: round the output size up (the last window may hang over the edge).
        return_indices: also return, for each output, the flat index h*W + w of its maximum in the input plane
            (what max_unpool2d takes).

    Example:
        >>> y, idx = lamina.nn.functional.max_pool2d(lamina.randn(1, 3, 8, 8), 2, return_indices=True)
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """``max_pool1d`` that always returns (output, indices)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """``max_pool2d`` that always returns (output, indices)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-d average pooling over (N, C, L) or (C, L).

    Example:
        >>> lamina.nn.functional.avg_pool1d(lamina.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)
        tensor([[[2., 1.]]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-d average pooling over (N, C, H, W) or (C, H, W).

    Args:
        kernel_size, stride (default: kernel_size), padding: int or pair.
        ceil_mode: round the output size up.
        count_include_pad: count the zero padding in the divisor (windows are still clipped to the padded input).
        divisor_override: divide every window sum by this instead.
    Integer inputs give integer averages, truncated toward zero as torch does.
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length: window i covers [floor(i*L/out), ceil((i+1)*L/out))."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling of (N, C, H, W) or (C, H, W) to ``output_size`` (int or pair; None keeps that size).

    Example:
        >>> lamina.nn.functional.adaptive_avg_pool2d(lamina.randn(2, 8, 7, 7), 1).shape
        lamina.Size([2, 8, 1, 1])
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to ``output_size``."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed output length; with ``return_indices`` also the index of each maximum."""
    out, index = _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size)
    return (out, index) if return_indices else out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of (N, C, H, W) or (C, H, W) to ``output_size`` (int or pair; None keeps that size)."""
    out, index = _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size)
    return (out, index) if return_indices else out


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool1d`` that always returns (output, indices) (what ``torch.adaptive_max_pool1d`` does)."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool2d`` that always returns (output, indices)."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size)


# ---- interpolate ---------------------------------------------------------------------------------------------------

_MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1, "bilinear": 2, "trilinear": 3}


def _nearest_plan(size, out, scale, exact):
    """Source index of each output for nearest / nearest-exact, in float32 arithmetic like torch's kernel."""
    if out == size and not exact:
        return xp.arange(out), None, None, None
    if out == 2 * size and not exact:     # torch shifts instead of scaling here, whatever the scale_factor
        return xp.arange(out) // 2, None, None, None
    f32 = xp.float32
    step = f32(1.0 / scale) if scale else f32(size) / f32(out)
    dst = xp.arange(out, dtype=f32)
    src = xp.floor((dst + f32(0.5)) * step if exact else dst * step).astype(xp.int64)
    return xp.minimum(src, size - 1), None, None, None


def _linear_plan(size, out, scale, align_corners, dtype):
    """Two source indices and weights per output for (bi/tri)linear, computed in the input's precision."""
    one = dtype.type(1)
    if align_corners:
        step = dtype.type(size - 1) / dtype.type(out - 1) if out > 1 else dtype.type(0)
        src = xp.arange(out, dtype=dtype) * step
    else:
        step = dtype.type(1.0 / scale) if scale else dtype.type(size) / dtype.type(out)
        src = xp.maximum(step * (xp.arange(out, dtype=dtype) + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), size - 1)
    lam = xp.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    i1 = i0 + (i0 < size - 1)
    return i0, (one - lam).astype(dtype), i1, lam


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resize the spatial dims of (N, C, *spatial) input by nearest or (bi/tri)linear interpolation, or area.

    Args:
        input: (N, C, L), (N, C, H, W) or (N, C, D, H, W).
        size: output spatial size (int or tuple); exactly one of ``size`` and ``scale_factor``.
        scale_factor: multiplier(s) of the spatial size (output = floor(size * scale_factor)).
        mode: 'nearest', 'nearest-exact', 'linear' (3-d), 'bilinear' (4-d), 'trilinear' (5-d) or 'area'.
        align_corners: for the linear modes, map corner pixels' centres onto each other (default False).
        recompute_scale_factor: compute the source positions from the output size instead of scale_factor.

    Example:
        >>> lamina.nn.functional.interpolate(lamina.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        lamina.Size([1, 3, 8, 8])
    """
    op = "interpolate"
    input = as_tensor_arg(input)
    if mode not in _MODES:
        raise ArgumentError(f"{op}(): mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if input.ndim not in (3, 4, 5):
        raise ShapeError(f"{op}(): expected 3-d, 4-d or 5-d input (N, C, *spatial), got input of shape "
                         f"{tuple(input.shape)}")
    nd = input.ndim - 2
    if _MODES[mode] is not None and _MODES[mode] != nd:
        raise ShapeError(f"{op}(): mode {mode!r} needs {_MODES[mode] + 2}-d input, got input of shape "
                         f"{tuple(input.shape)}")
    linear = _MODES[mode] is not None
    if align_corners is not None and not linear:
        raise ArgumentError(f"{op}(): align_corners can only be set with the linear modes (linear, bilinear, "
                            f"trilinear), got mode={mode!r}")
    if antialias:
        raise ArgumentError(f"{op}(): antialias=True is not supported, got mode={mode!r}")
    _check_float(op, input)
    spatial = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ArgumentError(f"{op}(): exactly one of size and scale_factor must be given, got size={size!r}, "
                            f"scale_factor={scale_factor!r}")
    scales = (None,) * nd
    if size is not None:
        if recompute_scale_factor:
            raise ArgumentError(f"{op}(): recompute_scale_factor is not meaningful with an explicit size")
        out = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nd
        if len(out) != nd or not all(_is_int(s) for s in out):
            raise ArgumentError(f"{op}(): argument 'size' must be an int or a tuple of {nd} ints for input of "
                                f"shape {tuple(input.shape)}, got {size!r}")
        out = tuple(s.__index__() for s in out)
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd
        if len(factors) != nd or not all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in factors):
            raise ArgumentError(f"{op}(): argument 'scale_factor' must be a number or a tuple of {nd} numbers for "
                                f"input of shape {tuple(input.shape)}, got {scale_factor!r}")
        out = tuple(int(math.floor(float(s) * float(f))) for s, f in zip(spatial, factors))
        if not recompute_scale_factor:
            scales = tuple(float(f) for f in factors)
    if any(o <= 0 for o in out):
        raise ArgumentError(f"{op}(): input and output sizes must be greater than 0, got input size {spatial} and "
                            f"output size {out}")
    if mode == "area":
        return AdaptiveAvgPool.apply(input, out_size=out)
    return Resample.apply(input, spec=(mode, spatial, out, scales, bool(align_corners)))


def _resample_plans(mode, spatial, out, scales, align_corners, dtype):
    """Per spatial axis, (i0, w0, i1, w1) for ``Resample``."""
    if _MODES[mode] is not None:
        return tuple(_linear_plan(s, o, sc, align_corners, dtype) for s, o, sc in zip(spatial, out, scales))
    exact = mode == "nearest-exact"
    return tuple(_nearest_plan(s, o, sc, exact) for s, o, sc in zip(spatial, out, scales))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of ``interpolate`` (as in torch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
