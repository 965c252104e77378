"""RMSprop: gradient divided by a running root-mean-square, optionally centered and with momentum."""
from lamina.backend import xp
from lamina.optim.optimizer import (
    Optimizer, _as_float, _check, _check_flags, _effective_grad, _evaluate_closure, _increment, _lerp_,
    _new_step,
)
from lamina.tensor import Tensor


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop).

    With ``g`` the gradient (negated when maximizing, plus ``weight_decay * p``), each step does::

        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v) + eps                     or, centered:
        m_g = lerp(m_g, g, 1 - alpha);  avg = sqrt(v - m_g * m_g) + eps
        b = momentum * b + g / avg;  p = p - lr * b      (momentum > 0)
        p = p - lr * g / avg                             (otherwise)

    Args:
        params: parameters or parameter groups (see Optimizer).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance instead of its second moment.
        maximize: maximize the objective instead of minimizing it.
        capturable, foreach: accepted for torch compatibility; the result is the same.
        differentiable: must be False.

    Example:
        >>> opt = lamina.optim.RMSprop(model.parameters(), lr=1e-3, momentum=0.9, centered=True)
    """

    _state_like_param = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        name = type(self).__name__
        _check(name, _as_float(name, "lr", lr) >= 0.0, f"Invalid learning rate: {lr}", "lr >= 0")
        _check(name, _as_float(name, "eps", eps) >= 0.0, f"Invalid epsilon value: {eps}", "eps >= 0")
        _check(name, _as_float(name, "momentum", momentum) >= 0.0, f"Invalid momentum value: {momentum}",
               "momentum >= 0")
        _check(name, _as_float(name, "weight_decay", weight_decay) >= 0.0,
               f"Invalid weight_decay value: {weight_decay}", "weight_decay >= 0")
        _check(name, _as_float(name, "alpha", alpha) >= 0.0, f"Invalid alpha value: {alpha}", "alpha >= 0")
        _check_flags(name, foreach, None, differentiable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one RMSprop step; returns the closure's loss (or None)."""
        loss = _evaluate_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            alpha = float(group["alpha"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            momentum = float(group["momentum"])
            centered, maximize = group["centered"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["square_avg"] = Tensor._make(xp.zeros_like(param))
                    if momentum > 0:
                        state["momentum_buffer"] = Tensor._make(xp.zeros_like(param))
                    if centered:
                        state["grad_avg"] = Tensor._make(xp.zeros_like(param))
                a, b = self._work_arrays(param)
                _increment(state["step"])
                g = _effective_grad(p.grad._data, param, maximize, weight_decay, out=a)

                v = state["square_avg"]._data
                v *= alpha
                xp.multiply(g, 1 - alpha, out=b)  # torch's addcmul order: v + ((1 - alpha) * g) * g
                b *= g
                v += b
                if centered:
                    g_avg = state["grad_avg"]._data
                    _lerp_(g_avg, g, 1 - alpha, work=b)
                    xp.negative(g_avg, out=b)  # v + (-g_avg) * g_avg, then the square root
                    b *= g_avg
                    b += v
                    xp.sqrt(b, out=b)
                else:
                    xp.sqrt(v, out=b)
                b += eps

                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    xp.divide(g, b, out=b)
                    buf += b
                    xp.multiply(buf, -lr, out=a)
                else:
                    xp.multiply(g, -lr, out=a)  # p + (-lr * g) / avg
                    a /= b
                param += a
                p._vc[0] += 1
        return loss
