"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay and the AMSGrad variant."""
from lamina.backend import xp
from lamina.optim.optimizer import (
    Optimizer, _as_float, _check, _check_flags, _effective_grad, _evaluate_closure, _increment, _lerp_,
    _new_step,
)
from lamina.tensor import Tensor


class Adam(Optimizer):
    """Adam (torch.optim.Adam).

    With ``g`` the gradient (negated when maximizing; plus ``weight_decay * p`` unless the decay is decoupled)
    and ``t`` the step count, each step does::

        m = beta1 * m + (1 - beta1) * g          (as lerp(m, g, 1 - beta1))
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                   (amsgrad; then v_max replaces v below)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    With ``decoupled_weight_decay`` (AdamW) the decay is ``p = p * (1 - lr * weight_decay)`` before the rest.

    Args:
        params: parameters or parameter groups (see Optimizer).
        lr: learning rate (default 1e-3).
        betas: decay rates of the first and second moment averages (default (0.9, 0.999)), each in [0, 1).
        eps: added to the denominator (default 1e-8).
        weight_decay: weight decay (default 0).
        amsgrad: use the running maximum of the second moment (AMSGrad).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: apply the decay to the weights directly, as AdamW does.
        foreach, fused, capturable: accepted for torch compatibility; the result is the same.
        differentiable: must be False.

    Example:
        >>> opt = lamina.optim.Adam(model.parameters(), lr=3e-4, betas=(0.9, 0.98))
    """

    _state_like_param = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        name = type(self).__name__
        _check(name, _as_float(name, "lr", lr) >= 0.0, f"Invalid learning rate: {lr}", "lr >= 0")
        _check(name, _as_float(name, "eps", eps) >= 0.0, f"Invalid epsilon value: {eps}", "eps >= 0")
        _check(name, isinstance(betas, (tuple, list)) and len(betas) == 2, f"Invalid betas: {betas!r}",
               "a pair (beta1, beta2)")
        betas = tuple(_as_float(name, f"betas[{i}]", b) for i, b in enumerate(betas))
        for i, b in enumerate(betas):
            _check(name, 0.0 <= b < 1.0, f"Invalid beta parameter at index {i}: {b}", f"0 <= betas[{i}] < 1")
        _check(name, _as_float(name, "weight_decay", weight_decay) >= 0.0,
               f"Invalid weight_decay value: {weight_decay}", "weight_decay >= 0")
        _check_flags(name, foreach, fused, differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one Adam step; returns the closure's loss (or None)."""
        loss = _evaluate_closure(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["exp_avg"] = Tensor._make(xp.zeros_like(param))
                    state["exp_avg_sq"] = Tensor._make(xp.zeros_like(param))
                    if amsgrad:
                        state["max_exp_avg_sq"] = Tensor._make(xp.zeros_like(param))
                a, b = self._work_arrays(param)
                step = _increment(state["step"])
                if weight_decay != 0 and decoupled:
                    param *= 1 - lr * weight_decay
                    g = _effective_grad(p.grad._data, param, maximize, 0.0, out=a)
                else:
                    g = _effective_grad(p.grad._data, param, maximize, weight_decay, out=a)

                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                _lerp_(m, g, 1 - beta1, work=b)
                v *= beta2
                xp.multiply(g, 1 - beta2, out=b)  # torch's addcmul order: v + ((1 - beta2) * g) * g
                b *= g
                v += b

                bias_correction1 = 1 - beta1 ** step
                bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
                step_size = lr / bias_correction1
                if amsgrad:
                    v_max = state["max_exp_avg_sq"]._data
                    xp.maximum(v_max, v, out=v_max)
                    v = v_max
                # denom = sqrt(v) / sqrt(1 - beta2^t) + eps; eps is added after the bias correction, as torch does
                xp.sqrt(v, out=b)
                b /= bias_correction2_sqrt
                b += eps
                # p += (-step_size * m) / denom (g is no longer needed, so a is free)
                xp.multiply(m, -step_size, out=a)
                a /= b
                param += a
                p._vc[0] += 1
        return loss


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay, ``p = p * (1 - lr * weight_decay)``.

    Takes Adam's arguments, with ``weight_decay`` defaulting to 1e-2.

    Example:
        >>> opt = lamina.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW's decay is decoupled whatever the saved groups say
            group["decoupled_weight_decay"] = True
