"""SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from lamina.backend import xp
from lamina.optim.optimizer import (
    Optimizer, _as_float, _check, _check_flags, _effective_grad, _evaluate_closure,
)
from lamina.tensor import Tensor


class SGD(Optimizer):
    """Stochastic gradient descent (torch.optim.SGD).

    With ``d = grad + weight_decay * p`` (``-grad`` when maximizing), each step does::

        b = d                                     on the first step (momentum != 0)
        b = momentum * b + (1 - dampening) * d    afterwards
        d = d + momentum * b   (nesterov)   or   d = b
        p = p - lr * d

    Args:
        params: parameters or parameter groups (see Optimizer).
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for torch compatibility; the result is the same.
        differentiable: must be False.

    Example:
        >>> opt = lamina.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    _state_like_param = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        name = type(self).__name__
        _check(name, _as_float(name, "lr", lr) >= 0.0, f"Invalid learning rate: {lr}", "lr >= 0")
        _check(name, _as_float(name, "momentum", momentum) >= 0.0, f"Invalid momentum value: {momentum}",
               "momentum >= 0")
        _check(name, _as_float(name, "weight_decay", weight_decay) >= 0.0,
               f"Invalid weight_decay value: {weight_decay}", "weight_decay >= 0")
        _as_float(name, "dampening", dampening)
        _check(name, not nesterov or (momentum > 0 and dampening == 0),
               f"Nesterov momentum requires a momentum and zero dampening, got momentum={momentum}, "
               f"dampening={dampening}", "momentum > 0 and dampening == 0 with nesterov=True")
        _check_flags(name, foreach, fused, differentiable)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one SGD step; returns the closure's loss (or None)."""
        loss = _evaluate_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov, maximize = group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                param = p._data
                a, b = self._work_arrays(param)
                d = _effective_grad(p.grad._data, param, maximize, weight_decay, out=a)
                if momentum != 0:
                    state = self.state[p]
                    buf_t = state.get("momentum_buffer")
                    if buf_t is None:
                        buf = d.copy()
                        state["momentum_buffer"] = Tensor._make(buf)
                    else:
                        buf = buf_t._data
                        buf *= momentum
                        if dampening == 0:
                            buf += d
                        else:
                            xp.multiply(d, 1 - dampening, out=b)
                            buf += b
                    if nesterov:
                        xp.multiply(buf, momentum, out=b)
                        b += d
                        d = b
                    else:
                        d = buf
                # p += (-lr) * d, through a scratch array (d may be the momentum buffer or the grad itself)
                xp.multiply(d, -lr, out=a)
                param += a
                p._vc[0] += 1
        return loss
