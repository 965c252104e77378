"""Recurrent layers: RNN, LSTM, GRU over whole sequences and their one-step cells, in torch's layout.

Speed comes from two things. The input projection ``x W_ih^T + b`` of all time steps is one GEMM before the
loop. The recurrence of one layer in one direction is one fused operator (``RNNRecurrence``, ``LSTMRecurrence``,
``GRURecurrence``): its forward loops over time on raw arrays (one GEMM and a few elementwise ops per step), its
backward walks the steps in reverse and then gets the recurrent weight gradient of all steps in one GEMM. The
autograd graph of a layer thus has a handful of nodes instead of a dozen per time step.

``nn.RNN(cell)`` runs any cell Module over a sequence instead (see ``RNN``).
"""
import math
import warnings

from lamina import dtypes as _dt
from lamina.autograd import Op
from lamina.backend import xp
from lamina.errors import ArgumentError, DTypeError, ShapeError
from lamina.nn import init
from lamina.nn._layer_util import check_device, float_dtype, new_parameter
from lamina.nn.module import Module
from lamina.ops.nn import dropout as _dropout, linear as _linear
from lamina.ops.shape import cat as _cat, stack as _stack
from lamina.tensor import Tensor


# ---- fused recurrences --------------------------------------------------------------------------------------
# Each takes the projected inputs ``xg`` (T, B, gates * H), time first, runs the recurrence in time order (or
# reversed) and returns the outputs of all steps (T, B, H_out) and the final state(s) (B, H_out).

def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _previous(seq, first, reverse):
    """The state each step started from: ``first`` for the first step processed, else the neighbour's output."""
    first = first[None]
    return xp.concatenate((seq[1:], first) if reverse else (first, seq[:-1]), axis=0)


def _weight_grad(d, inputs):
    """sum over steps and batch of d_t^T x_t, as one GEMM."""
    return d.reshape(-1, d.shape[-1]).T @ inputs.reshape(-1, inputs.shape[-1])


# NumPy's exp is SIMD-vectorised, its float32 tanh is not: both activations go through exp (about 1.6x faster).
# For pre-activations beyond about +-88 (float32) exp overflows to inf, which still gives the exact limit (0, 1 or
# -1), so the loops run under errstate(over="ignore").

def _sigmoid_of_neg_(z):
    """z <- sigmoid(-z) = 1 / (1 + exp(z)), in place."""
    xp.exp(z, out=z)
    z += 1.0
    xp.reciprocal(z, out=z)
    return z


def _tanh(x, out):
    """out <- tanh(x) = 2 / (1 + exp(-2x)) - 1."""
    xp.multiply(x, -2.0, out=out)
    xp.exp(out, out=out)
    out += 1.0
    xp.divide(2.0, out, out=out)
    out -= 1.0
    return out


class RNNRecurrence(Op):
    """h_t = act(xg_t + h_{t-1} W_hh^T) over a sequence, act = tanh or relu (the biases are inside xg)."""

    @staticmethod
    def forward(ctx, xg, w_hh, h0, reverse=False, relu=False):
        out = xp.empty(xg.shape, dtype=xg.dtype)
        w_t, h = w_hh.T, h0
        with xp.errstate(over="ignore"):
            for t in _steps(xg.shape[0], reverse):
                p = out[t]
                xp.matmul(h, w_t, out=p)
                p += xg[t]
                if relu:
                    xp.maximum(p, 0, out=p)
                else:
                    _tanh(p, p)
                h = p
        ctx.reverse, ctx.relu = reverse, relu
        ctx.save_for_backward(w_hh, h0, out)
        return out, h.copy()

    @staticmethod
    def backward(ctx, d_out, d_hn):
        w_hh, h0, out = ctx.saved_tensors
        # the activation's derivative from its output: tanh' = 1 - h^2, relu' = [h > 0]
        deriv = (out > 0).astype(out.dtype) if ctx.relu else 1.0 - out * out
        d_pre = xp.empty(out.shape, dtype=out.dtype)
        dh = xp.zeros(h0.shape, dtype=out.dtype) if d_hn is None else d_hn
        for t in _steps(out.shape[0], not ctx.reverse):
            if d_out is not None:
                dh = dh + d_out[t]
            xp.multiply(dh, deriv[t], out=d_pre[t])
            dh = d_pre[t] @ w_hh
        need = ctx.needs_input_grad
        d_w = _weight_grad(d_pre, _previous(out, h0, ctx.reverse)) if need[1] else None
        return d_pre, d_w, (dh if need[2] else None)


class LSTMRecurrence(Op):
    """The LSTM recurrence over a sequence, gates in torch's order i, f, g, o (the biases are inside xg):

        i, f, o = sigmoid(.), g = tanh(.)   of   xg_t + h_{t-1} W_hh^T
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)   (times W_hr^T when there is a projection)
    """

    @staticmethod
    def forward(ctx, xg, w_hh, h0, c0, w_hr=None, reverse=False):
        T, B, G = xg.shape
        H = G // 4
        # All four gates are sigmoids of -m * pre-activation, m = -1 on i, f, o and -2 on g, which then gives
        # tanh(x) = 2 sigmoid(2x) - 1. The factor is applied to xg and W_hh once for all steps.
        m = xp.full((4, 1), -1.0, dtype=xg.dtype)
        m[2] = -2.0
        xs = (xg.reshape(T, B, 4, H) * m).reshape(T, B, G)
        w_t = (w_hh.reshape(4, H, -1) * m[:, :, None]).reshape(G, -1).T
        acts = xp.empty(xg.shape, dtype=xg.dtype)
        acts4 = acts.reshape(T, B, 4, H)
        cs = xp.empty((T, B, H), dtype=xg.dtype)
        tcs = xp.empty((T, B, H), dtype=xg.dtype)
        out = xp.empty((T, B, h0.shape[-1]), dtype=xg.dtype)
        h, c = h0, c0
        with xp.errstate(over="ignore"):
            for t in _steps(T, reverse):
                z = acts[t]
                xp.matmul(h, w_t, out=z)
                z += xs[t]
                _sigmoid_of_neg_(z)
                i, f, g, o = acts4[t, :, 0], acts4[t, :, 1], acts4[t, :, 2], acts4[t, :, 3]
                g *= 2.0
                g -= 1.0
                c_new = cs[t]
                xp.multiply(f, c, out=c_new)
                c_new += i * g
                c = c_new
                _tanh(c, tcs[t])
                h = out[t]
                if w_hr is None:
                    xp.multiply(o, tcs[t], out=h)
                else:
                    xp.matmul(o * tcs[t], w_hr.T, out=h)
        ctx.reverse = reverse
        ctx.save_for_backward(w_hh, w_hr, h0, c0, acts, cs, tcs, out)
        return out, h.copy(), c.copy()

    @staticmethod
    def backward(ctx, d_out, d_hn, d_cn):
        w_hh, w_hr, h0, c0, acts, cs, tcs, out = ctx.saved_tensors
        T, B, G = acts.shape
        H = G // 4
        acts4 = acts.reshape(T, B, 4, H)
        i, f, g, o = acts4[:, :, 0], acts4[:, :, 1], acts4[:, :, 2], acts4[:, :, 3]
        # d gate pre-activation = d gate * act'(.): sigmoid' = s (1 - s), tanh' = 1 - g^2. With dc and dr (the
        # gradients of c_t and of o * tanh(c_t)) the four are dc*g*i', dc*c_{t-1}*f', dc*i*g', dr*tanh(c)*o'.
        # Everything but dc and dr is known before the loop: E holds those factors for all steps at once.
        c_prev = _previous(cs, c0, ctx.reverse)
        E = acts * (1.0 - acts)
        E4 = E.reshape(T, B, 4, H)
        E4[:, :, 2] = 1.0 - g * g
        E4[:, :, 0] *= g
        E4[:, :, 1] *= c_prev
        E4[:, :, 2] *= i
        E4[:, :, 3] *= tcs
        K = o * (1.0 - tcs * tcs)        # d c_t / d r_t, with r_t = o * tanh(c_t)
        d_gates = xp.empty(acts.shape, dtype=acts.dtype)
        dg4 = d_gates.reshape(T, B, 4, H)
        dh = xp.zeros(h0.shape, dtype=acts.dtype) if d_hn is None else d_hn
        dc = xp.zeros(c0.shape, dtype=acts.dtype) if d_cn is None else d_cn
        d_hs = xp.empty(out.shape, dtype=acts.dtype) if w_hr is not None else None
        for t in _steps(T, not ctx.reverse):
            if d_out is not None:
                dh = dh + d_out[t]
            if w_hr is None:
                dr = dh
            else:
                d_hs[t] = dh
                dr = dh @ w_hr
            dc = dc + dr * K[t]
            xp.multiply(E4[t, :, :3], dc[:, None, :], out=dg4[t, :, :3])
            xp.multiply(E4[t, :, 3], dr, out=dg4[t, :, 3])
            dc = dc * f[t]
            dh = d_gates[t] @ w_hh
        need = ctx.needs_input_grad
        d_w = _weight_grad(d_gates, _previous(out, h0, ctx.reverse)) if need[1] else None
        d_wr = _weight_grad(d_hs, o * tcs) if w_hr is not None and need[4] else None
        return d_gates, d_w, (dh if need[2] else None), (dc if need[3] else None), d_wr


class GRURecurrence(Op):
    """The GRU recurrence over a sequence, gates in torch's order r, z, n (b_ih is inside xg):

        r, z = sigmoid(xg_t + h_{t-1} W_hh^T + b_hh)   (their parts)
        n = tanh(xg_n + r * (h_{t-1} W_hn^T + b_hn)),   h_t = (1 - z) * n + z * h_{t-1}
    """

    @staticmethod
    def forward(ctx, xg, w_hh, b_hh, h0, reverse=False):
        T, B, G = xg.shape
        H = G // 3
        rz = xp.empty((T, B, 2 * H), dtype=xg.dtype)
        ns = xp.empty((T, B, H), dtype=xg.dtype)
        ghn = xp.empty((T, B, H), dtype=xg.dtype)
        out = xp.empty((T, B, H), dtype=xg.dtype)
        w_t, h = w_hh.T, h0
        with xp.errstate(over="ignore"):
            for t in _steps(T, reverse):
                gh = h @ w_t
                if b_hh is not None:
                    gh += b_hh
                s = rz[t]
                xp.add(xg[t, :, :2 * H], gh[:, :2 * H], out=s)
                xp.negative(s, out=s)
                _sigmoid_of_neg_(s)
                ghn[t] = gh[:, 2 * H:]
                n = ns[t]
                xp.multiply(s[:, :H], ghn[t], out=n)
                n += xg[t, :, 2 * H:]
                _tanh(n, n)
                h_new = out[t]
                xp.subtract(h, n, out=h_new)
                h_new *= s[:, H:]
                h_new += n
                h = h_new
        ctx.reverse, ctx.has_bias = reverse, b_hh is not None
        ctx.save_for_backward(w_hh, h0, rz, ns, ghn, out)
        return out, h.copy()

    @staticmethod
    def backward(ctx, d_out, d_hn):
        w_hh, h0, rz, ns, ghn, out = ctx.saved_tensors
        T, B, H = out.shape
        r, z = rz[:, :, :H], rz[:, :, H:]
        h_prev = _previous(out, h0, ctx.reverse)
        # With dh the gradient of h_t: dn_pre = dh (1 - z)(1 - n^2), dz_pre = dh (h_{t-1} - n) z (1 - z),
        # dr_pre = dn_pre * ghn * r (1 - r), d ghn = dn_pre * r; the factors are known for all steps at once.
        A_n = (1.0 - z) * (1.0 - ns * ns)
        A_z = (h_prev - ns) * z * (1.0 - z)
        A_r = ghn * r * (1.0 - r)
        d_gh = xp.empty((T, B, 3 * H), dtype=out.dtype)   # gradient of h_{t-1} W_hh^T + b_hh
        d_gh3 = d_gh.reshape(T, B, 3, H)
        d_n = xp.empty((T, B, H), dtype=out.dtype)
        dh = xp.zeros(h0.shape, dtype=out.dtype) if d_hn is None else d_hn
        for t in _steps(T, not ctx.reverse):
            if d_out is not None:
                dh = dh + d_out[t]
            xp.multiply(dh, A_n[t], out=d_n[t])
            xp.multiply(dh, A_z[t], out=d_gh3[t, :, 1])
            xp.multiply(d_n[t], A_r[t], out=d_gh3[t, :, 0])
            xp.multiply(d_n[t], r[t], out=d_gh3[t, :, 2])
            dh = dh * z[t]
            dh += d_gh[t] @ w_hh
        need = ctx.needs_input_grad
        d_xg = xp.concatenate((d_gh[:, :, :2 * H], d_n), axis=-1)
        d_w = _weight_grad(d_gh, h_prev) if need[1] else None
        d_b = d_gh.sum(axis=(0, 1)) if ctx.has_bias and need[2] else None
        return d_xg, d_w, d_b, (dh if need[3] else None)


# ---- helpers ------------------------------------------------------------------------------------------------

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _param(shape, dtype, cls):
    return new_parameter(shape, float_dtype(dtype, cls))


def _positive_int(name, value, arg):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"{name}: argument '{arg}' must be an int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ArgumentError(f"{name}: {arg} must be greater than zero, got {value}")


def _check_input(input, dims, size, weight):
    """Validate a layer's input: a floating tensor of ``dims`` dims whose last size is ``size``."""
    if not isinstance(input, Tensor):
        raise ArgumentError(f"argument 'input' must be a lamina.Tensor, got {type(input).__name__}")
    if input.ndim not in dims:
        raise ShapeError(f"Expected input to be {dims[0]}D or {dims[1]}D, got {input.ndim}D instead")
    if input._data.dtype != weight._data.dtype:
        raise DTypeError(f"input must have the dtype of the layer's parameters ({weight.dtype}), got "
                         f"{input.dtype}")
    if input.shape[-1] != size:
        raise ShapeError(f"input.size(-1) must be equal to input_size. Expected {size}, got "
                         f"{input.shape[-1]}")


def _check_state(what, hx, expected, dtype):
    if not isinstance(hx, Tensor):
        raise ArgumentError(f"{what} must be a lamina.Tensor, got {type(hx).__name__}")
    if tuple(hx.shape) != tuple(expected):
        raise ShapeError(f"Expected {what} size {tuple(expected)}, got {list(hx.shape)}")
    if hx._data.dtype != dtype:
        raise DTypeError(f"{what} must have the dtype of the input ({_dt.from_numpy(dtype)}), got "
                         f"{hx.dtype}")


def _zeros(shape, dtype):
    return Tensor._make(xp.zeros(shape, dtype=dtype))


# ---- sequence layers ----------------------------------------------------------------------------------------

class RNNBase(Module):
    """The base of RNN, LSTM and GRU: torch's arguments, parameter names and layouts.

    Parameters of layer ``k`` are ``weight_ih_l{k}`` ``(gates * hidden_size, input)``, ``weight_hh_l{k}``
    ``(gates * hidden_size, hidden or proj size)``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}``
    for an LSTM with ``proj_size``), with a ``_reverse`` suffix for the backward direction; all start as
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        check_device(device, name)
        if mode not in _GATES:
            raise ArgumentError(f"RNNBase: unknown mode {mode!r}; expected one of {', '.join(_GATES)}")
        _positive_int(name, input_size, "input_size")
        _positive_int(name, hidden_size, "hidden_size")
        _positive_int(name, num_layers, "num_layers")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ArgumentError(f"{name}: dropout should be a number in range [0, 1] representing the probability "
                                f"of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ArgumentError(f"{name}: proj_size should be a positive integer or zero to disable projections, "
                                f"got {proj_size!r}")
        if proj_size and mode != "LSTM":
            raise ArgumentError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ArgumentError(f"{name}: proj_size has to be smaller than hidden_size, got proj_size={proj_size} "
                                f"and hidden_size={hidden_size}")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size or hidden_size
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for d in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    setattr(self, base + suffix, _param(shape, dtype, name))
                    names.append(base + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch does."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def flatten_parameters(self):
        """No-op: kept for torch compatibility (cuDNN's weight layout does not exist here)."""

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def forward(self, input, hx=None):
        """Run the layer over a sequence.

        Args:
            input: ``(L, N, input_size)`` (``(N, L, input_size)`` with ``batch_first``) or unbatched
                ``(L, input_size)``.
            hx: initial state, zeros when None: ``h_0`` of shape ``(D * num_layers, N, H_out)`` (unbatched:
                ``(D * num_layers, H_out)``); for an LSTM the pair ``(h_0, c_0)``, ``c_0`` with ``hidden_size``.

        Returns:
            ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``); output is ``(L, N, D * H_out)`` (batch first
            with ``batch_first``) and holds the last layer's state at every step.
        """
        weight = self.weight_ih_l0
        _check_input(input, (2, 3), self.input_size, weight)
        batched = input.ndim == 3
        if not batched:
            x = input.unsqueeze(1)
        elif self.batch_first:
            x = input.transpose(0, 1)
        else:
            x = input
        T, B = x.shape[0], x.shape[1]
        if T == 0:
            raise ShapeError(f"Expected sequence length to be larger than 0 in RNN, got input of shape "
                             f"{tuple(input.shape)}")
        h0, c0 = self._initial_state(hx, batched, B, weight._data.dtype)
        directions = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                out, h, c = self._run_direction(x, self._all_weights[k], d == 1, h0[k], None if c0 is None
                                                else c0[k])
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if directions == 1 else _cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout, True)
        h_n = _stack(h_n, 0)
        if batched:
            output = x.transpose(0, 1) if self.batch_first else x
        else:
            output, h_n = x.squeeze(1), h_n.squeeze(1)
        if self.mode != "LSTM":
            return output, h_n
        c_n = _stack(c_n, 0)
        return output, (h_n, c_n if batched else c_n.squeeze(1))

    def _initial_state(self, hx, batched, B, dtype):
        """(h0 states, c0 states or None): lists of ``(B, H)`` tensors, one per layer and direction."""
        n = self.num_layers * (2 if self.bidirectional else 1)
        h_size = self.proj_size or self.hidden_size
        lstm = self.mode == "LSTM"
        if hx is None:
            h0 = [_zeros((B, h_size), dtype)] * n
            return h0, ([_zeros((B, self.hidden_size), dtype)] * n if lstm else None)
        if lstm:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise ArgumentError(f"hx must be a tuple (h_0, c_0) of two tensors, got "
                                    f"{type(hx).__name__}")
            states = [("hidden[0]", hx[0], h_size), ("hidden[1]", hx[1], self.hidden_size)]
        else:
            if not isinstance(hx, Tensor):
                raise ArgumentError(f"hx must be a lamina.Tensor, got {type(hx).__name__}")
            states = [("hidden", hx, h_size)]
        result = []
        for what, state, size in states:
            if isinstance(state, Tensor) and not batched and state.ndim != 2:
                raise ShapeError(f"For unbatched 2-D input, {what} should also be 2-D but got "
                                 f"{state.ndim}-D tensor")
            if isinstance(state, Tensor) and batched and state.ndim != 3:
                raise ShapeError(f"For batched 3-D input, {what} should also be 3-D but got "
                                 f"{state.ndim}-D tensor")
            expected = (n, B, size) if batched else (n, size)
            _check_state(what, state, expected, dtype)
            if not batched:
                state = state.unsqueeze(1)
            result.append(list(state.unbind(0)))
        return result[0], (result[1] if lstm else None)

    def _run_direction(self, x, names, reverse, h0, c0):
        p = self._parameters
        w_ih, w_hh = p[names[0]], p[names[1]]
        b_ih = b_hh = w_hr = None
        if self.bias:
            b_ih, b_hh = p[names[2]], p[names[3]]
        if self.proj_size:
            w_hr = p[names[-1]]
        if self.mode == "GRU":
            xg = _linear(x, w_ih, b_ih)   # b_hn sits inside r * (.), so b_hh stays out of the projection
            out, h = GRURecurrence.apply(xg, w_hh, b_hh, h0, reverse=reverse)
            return out, h, None
        xg = _linear(x, w_ih, None if b_ih is None else b_ih + b_hh)
        if self.mode == "LSTM":
            return LSTMRecurrence.apply(xg, w_hh, h0, c0, w_hr, reverse=reverse)
        out, h = RNNRecurrence.apply(xg, w_hh, h0, reverse=reverse, relu=self.mode == "RNN_RELU")
        return out, h, None


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, act = tanh or relu, stacked
    ``num_layers`` deep, optionally bidirectional, with dropout between layers.

    Args:
        input_size: features of each input step.
        hidden_size: features of the state.
        num_layers: number of stacked layers; layer k > 0 reads layer k - 1's outputs.
        nonlinearity: 'tanh' or 'relu'.
        bias: use the biases b_ih and b_hh.
        batch_first: input and output are ``(N, L, *)`` instead of ``(L, N, *)`` (not the states).
        dropout: dropout probability on the outputs of every layer but the last, in training.
        bidirectional: also run each layer backward in time; outputs of both directions are concatenated.

    **Custom cells.** ``RNN(cell, batch_first=False)`` with a Module ``cell`` runs that cell over the sequence
    instead: ``state = cell(x_t, state)`` at each step. The cell returns its new state: a tensor (which is also
    the step's output) or a tuple whose first element is the output (``(h, c)`` of LSTMCell). Layouts are
    torch's RNN layouts with one layer and one direction:

    - input ``(L, N, features)``, ``(N, L, features)`` with ``batch_first``, or unbatched ``(L, features)`` (the
      cell then sees unbatched steps);
    - ``hx``, the initial state, has a leading dim of 1: ``(1, N, H)`` (unbatched ``(1, H)``), or a tuple of such
      tensors for a tuple state. When it is not given, the state starts at zeros of size ``cell.state_size``
      (an int, or a tuple of ints for a tuple state) or else ``cell.hidden_size`` (a pair for an LSTMCell);
      a cell with neither receives None and makes its own;
    - ``forward`` returns ``(output, h_n)``: the outputs stacked over time in the input's layout, and the final
      state with the leading dim of 1 (each tensor of a tuple state).

    The cell's parameters are this module's (``cell.weight_ih``...), so it trains like any layer.

    Example:
        >>> rnn = nn.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(lamina.randn(5, 3, 10))          # (5, 3, 20), (2, 3, 20)
        >>> looped = nn.RNN(nn.GRUCell(10, 20), batch_first=True)
        >>> output, h_n = looped(lamina.randn(3, 5, 10))       # (3, 5, 20), (1, 3, 20)
    """

    def __init__(self, input_size, hidden_size=None, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        if isinstance(input_size, Module):
            given = (hidden_size, num_layers, nonlinearity, bias, dropout, bidirectional, device, dtype)
            if given != (None, 1, "tanh", True, 0.0, False, None, None) or kwargs:
                raise ArgumentError("RNN: with a cell Module as first argument, the only other argument is the "
                                    "keyword batch_first")
            Module.__init__(self)
            self.mode = "CELL"
            self.cell = input_size
            self.batch_first = bool(batch_first)
            return
        if "proj_size" in kwargs and kwargs.pop("proj_size"):
            raise ArgumentError("RNN: proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise ArgumentError(f"RNN: unexpected arguments {sorted(kwargs)}")
        if hidden_size is None:
            raise ArgumentError("RNN: missing argument 'hidden_size' (or pass a cell Module as first argument)")
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)

    def reset_parameters(self):
        if self.mode != "CELL":
            super().reset_parameters()
        elif hasattr(self.cell, "reset_parameters"):
            self.cell.reset_parameters()

    def extra_repr(self):
        if self.mode == "CELL":
            return "batch_first=True" if self.batch_first else ""
        return super().extra_repr()   # torch's repr does not show the nonlinearity either

    def forward(self, input, hx=None):
        if self.mode == "CELL":
            return self._run_cell(input, hx)
        return super().forward(input, hx)

    def _run_cell(self, input, hx):
        if not isinstance(input, Tensor):
            raise ArgumentError(f"argument 'input' must be a lamina.Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ShapeError(f"Expected input to be 2D or 3D, got {input.ndim}D instead")
        batched = input.ndim == 3
        time_dim = 1 if (self.batch_first and batched) else 0
        if input.shape[time_dim] == 0:
            raise ShapeError(f"Expected sequence length to be larger than 0, got input of shape "
                             f"{tuple(input.shape)}")
        if hx is None:
            batch = (input.shape[1 - time_dim],) if batched else ()
            state = self._zero_state(batch, input._data.dtype)
        else:
            state = _map_state(hx, _drop_layer_dim)
        outputs = []
        for x_t in input.unbind(time_dim):
            state = self.cell(x_t, state)
            out = state[0] if isinstance(state, (tuple, list)) else state
            if not isinstance(out, Tensor):
                raise ArgumentError(f"the cell must return a Tensor or a tuple whose first element is a "
                                    f"Tensor, got {type(out).__name__}")
            outputs.append(out)
        return _stack(outputs, time_dim), _map_state(state, lambda t: t.unsqueeze(0))

    def _zero_state(self, batch, dtype):
        """Zeros of the cell's ``state_size`` (or ``hidden_size``), or None when it declares neither."""
        cell = self.cell
        size = getattr(cell, "state_size", None)
        if size is None:
            size = getattr(cell, "hidden_size", None)
            if size is not None and isinstance(cell, LSTMCell):
                size = (size, size)
        if size is None:
            return None
        if isinstance(size, (tuple, list)):
            return tuple(_zeros(batch + (n,), dtype) for n in size)
        return _zeros(batch + (size,), dtype)


def _map_state(state, fn):
    """Apply ``fn`` to the tensor (or each tensor of the tuple) of a cell's state."""
    if isinstance(state, (tuple, list)):
        return tuple(fn(s) if isinstance(s, Tensor) else s for s in state)
    return fn(state) if isinstance(state, Tensor) else state


def _drop_layer_dim(t):
    if t.ndim == 0 or t.shape[0] != 1:
        raise ShapeError(f"hx: expected a leading dim of size 1 (num_layers * num_directions, as in torch's RNN "
                         f"layout), got a state of shape {tuple(t.shape)}")
    return t.squeeze(0)


class LSTM(RNNBase):
    """Long short-term memory over a sequence, torch's gates i, f, g, o:

        i, f, o = sigmoid(x W_i*^T + b_i* + h W_h*^T + b_h*),  g = tanh(same for g)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)   (then h_t W_hr^T with ``proj_size``)

    Args: as ``RNN`` (no nonlinearity), plus ``proj_size``: size of the projected state h (0: no projection).

    Example:
        >>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
        >>> output, (h_n, c_n) = lstm(lamina.randn(3, 5, 10))  # (3, 5, 20), (2, 3, 20), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit over a sequence, torch's gates r, z, n:

        r, z = sigmoid(x W_i*^T + b_i* + h W_h*^T + b_h*)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),   h_t = (1 - z) * n + z * h_{t-1}

    Args: as ``RNN`` (no nonlinearity).

    Example:
        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> output, h_n = gru(lamina.randn(5, 3, 10))          # (5, 3, 40), (2, 3, 20)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


# ---- cells --------------------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """The base of the one-step cells: ``weight_ih`` ``(gates * hidden, input)``, ``weight_hh``
    ``(gates * hidden, hidden)``, ``bias_ih``, ``bias_hh`` (None without bias), all U(-1/sqrt(hidden), ...)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        _positive_int(name, input_size, "input_size")
        _positive_int(name, hidden_size, "hidden_size")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        self.weight_ih = _param((num_chunks * hidden_size, input_size), dtype, name)
        self.weight_hh = _param((num_chunks * hidden_size, hidden_size), dtype, name)
        if bias:
            self.bias_ih = _param((num_chunks * hidden_size,), dtype, name)
            self.bias_hh = _param((num_chunks * hidden_size,), dtype, name)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _prepare(self, input, hx, n_states):
        """Batched (B, input) input and a list of ``n_states`` (B, hidden) states, and whether to unbatch."""
        _check_input(input, (1, 2), self.input_size, self.weight_ih)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        B, dtype = x.shape[0], x._data.dtype
        if hx is None:
            return x, [_zeros((B, self.hidden_size), dtype)] * n_states, batched
        if n_states == 2 and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise ArgumentError(f"hx must be a tuple (h_0, c_0) of two tensors, got {type(hx).__name__}")
        states = list(hx) if n_states == 2 else [hx]
        result = []
        for k, state in enumerate(states):
            what = "hx" if n_states == 1 else f"hx[{k}]"
            expected = (B, self.hidden_size) if batched else (self.hidden_size,)
            if isinstance(state, Tensor) and state.ndim != len(expected):
                raise ShapeError(f"Expected {what} to be {len(expected)}D for {input.ndim}D input, got "
                                 f"{state.ndim}D instead")
            _check_state(what, state, expected, dtype)
            result.append(state if batched else state.unsqueeze(0))
        return x, result, batched

    def _projection(self, x, fold_hh_bias=True):
        """x W_ih^T + b_ih (+ b_hh), as one time step ``(1, B, gates * hidden)``."""
        b = self.bias_ih
        if b is not None and fold_hh_bias:
            b = b + self.bias_hh
        return _linear(x, self.weight_ih, b).unsqueeze(0)


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, act = 'tanh' or 'relu'.

    Example:
        >>> cell = nn.RNNCell(10, 20)
        >>> h = cell(lamina.randn(3, 10))                      # (3, 20); hx defaults to zeros
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNNCell: Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, (h0,), batched = self._prepare(input, hx, 1)
        _, h = RNNRecurrence.apply(self._projection(x), self.weight_hh, h0, relu=self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``. Gates i, f, g, o as in ``LSTM``.

    Example:
        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(lamina.randn(3, 10))                   # (3, 20) each
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, (h0, c0), batched = self._prepare(input, hx, 2)
        _, h, c = LSTMRecurrence.apply(self._projection(x), self.weight_hh, h0, c0, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: gates r, z, n as in ``GRU``.

    Example:
        >>> cell = nn.GRUCell(10, 20)
        >>> h = cell(lamina.randn(3, 10), lamina.zeros(3, 20))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h0,), batched = self._prepare(input, hx, 1)
        _, h = GRURecurrence.apply(self._projection(x, fold_hh_bias=False), self.weight_hh, self.bias_hh, h0)
        return h if batched else h.squeeze(0)
