"""Adagrad: per-coordinate learning rates scaled by the root of the summed squared gradients."""
from lamina.backend import xp
from lamina.optim.optimizer import (
    Optimizer, _as_float, _check, _check_flags, _effective_grad, _evaluate_closure, _increment, _new_step,
)
from lamina.tensor import Tensor


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad).

    With ``g`` the gradient (negated when maximizing, plus ``weight_decay * p``) and ``t`` the step count, each
    step does::

        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                      (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    Args:
        params: parameters or parameter groups (see Optimizer).
        lr: learning rate (default 1e-2).
        lr_decay: learning rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the sum of squared gradients (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for torch compatibility; the result is the same.
        differentiable: must be False.

    Example:
        >>> opt = lamina.optim.Adagrad(model.parameters(), lr=0.1, lr_decay=1e-4)
    """

    _state_like_param = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        name = type(self).__name__
        _check(name, _as_float(name, "lr", lr) >= 0.0, f"Invalid learning rate: {lr}", "lr >= 0")
        _check(name, _as_float(name, "lr_decay", lr_decay) >= 0.0, f"Invalid lr_decay value: {lr_decay}",
               "lr_decay >= 0")
        _check(name, _as_float(name, "weight_decay", weight_decay) >= 0.0,
               f"Invalid weight_decay value: {weight_decay}", "weight_decay >= 0")
        _check(name, _as_float(name, "initial_accumulator_value", initial_accumulator_value) >= 0.0,
               f"Invalid initial_accumulator_value value: {initial_accumulator_value}",
               "initial_accumulator_value >= 0")
        _check(name, _as_float(name, "eps", eps) >= 0.0, f"Invalid epsilon value: {eps}", "eps >= 0")
        _check_flags(name, foreach, fused, differentiable)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        # torch creates Adagrad's state up front, so state_dict() lists every parameter before the first step
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _new_step()
        state["sum"] = Tensor._make(xp.full_like(p._data, float(group["initial_accumulator_value"])))

    def step(self, closure=None):
        """Perform one Adagrad step; returns the closure's loss (or None)."""
        loss = _evaluate_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            lr_decay = float(group["lr_decay"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            maximize = group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                param = p._data
                state = self.state[p]
                if len(state) == 0:  # a group added after construction
                    self._init_state(p, group)
                a, b = self._work_arrays(param)
                step = _increment(state["step"])
                g = _effective_grad(p.grad._data, param, maximize, weight_decay, out=a)
                clr = lr / (1 + (step - 1) * lr_decay)
                s = state["sum"]._data
                xp.multiply(g, g, out=b)
                s += b
                xp.sqrt(s, out=b)
                b += eps
                xp.multiply(g, -clr, out=a)  # p + (-clr * g) / (sqrt(s) + eps)
                a /= b
                param += a
                p._vc[0] += 1
        return loss
