"""Optimizers against torch.optim: 20 steps on the same problem for every flag combination, state_dict layout
and round trip, numerical stability, hooks, bad hyperparameters and per-step allocations."""
import itertools
import tracemalloc

import numpy as np
import pytest
import torch

import lamina
import lamina.optim as optim
from lamina.errors import ArgumentError, ShapeError
from tests.helpers import check_error

# Parameters after 20 steps: float32 runs through two autograd engines and two sets of kernels, whose last-bit
# differences (torch fuses multiply-adds) accumulate; float64 shows the formulas are the same.
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
STEPS = 20


# ---- the problem both frameworks solve: least squares on a random linear model, two parameters -----------------
def make_problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {"w": rng.standard_normal((4, 3)).astype(dtype), "b": rng.standard_normal(4).astype(dtype),
            "x": rng.standard_normal((8, 3)).astype(dtype), "y": rng.standard_normal((8, 4)).astype(dtype)}


class Side:
    """One framework's copy of the problem: its parameters, data and loss."""

    def __init__(self, lib, prob):
        self.lib = lib
        param = lamina.nn.Parameter if lib is lamina else torch.nn.Parameter
        self.w = param(lib.tensor(prob["w"].copy()))
        self.b = param(lib.tensor(prob["b"].copy()))
        self.x, self.y = lib.tensor(prob["x"]), lib.tensor(prob["y"])

    @property
    def params(self):
        return [self.w, self.b]

    def loss(self):
        return ((self.x @ self.w.T + self.b - self.y) ** 2).mean()

    def backward_step(self, opt, maximize=False):
        """zero_grad, backward of the loss (of -loss when maximizing, so the loss still falls), step."""
        opt.zero_grad()
        loss = self.loss()
        (-loss if maximize else loss).backward()
        opt.step()
        return float(loss.item())


def _np(t):
    return t.detach().numpy()


def run_against_torch(name, kwargs, dtype, steps=STEPS):
    prob = make_problem(dtype)
    ls, ts = Side(lamina, prob), Side(torch, prob)
    lopt = getattr(optim, name)(ls.params, **kwargs)
    topt = getattr(torch.optim, name)(ts.params, **kwargs)
    maximize = kwargs.get("maximize", False)
    losses = []
    for step in range(steps):
        losses.append(ls.backward_step(lopt, maximize))
        ts.backward_step(topt, maximize)
        for i, (lp, tp) in enumerate(zip(ls.params, ts.params)):
            np.testing.assert_allclose(_np(lp), _np(tp), **TOL[dtype],
                                       err_msg=f"{name}({kwargs}) {np.dtype(dtype).name}: param {i}, step {step}")
    return ls, ts, lopt, topt, losses


def _configs(grid, valid=lambda c: True):
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        config = dict(zip(keys, values))
        if valid(config):
            yield config


CONFIGS = (
    [("SGD", c) for c in _configs(
        {"lr": [0.1], "momentum": [0, 0.9], "dampening": [0, 0.5], "nesterov": [False, True],
         "weight_decay": [0, 0.1], "maximize": [False, True]},
        lambda c: not c["nesterov"] or (c["momentum"] > 0 and c["dampening"] == 0))]
    + [("Adam", c) for c in _configs(
        {"lr": [0.05], "betas": [(0.9, 0.999), (0.3, 0.5)], "weight_decay": [0, 0.1], "amsgrad": [False, True],
         "maximize": [False, True]})]
    + [("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True})]
    + [("AdamW", c) for c in _configs(
        {"lr": [0.05], "weight_decay": [0.01, 0.5], "amsgrad": [False, True], "maximize": [False, True]})]
    + [("RMSprop", c) for c in _configs(
        {"lr": [0.01], "alpha": [0.9, 0.3], "momentum": [0, 0.9], "centered": [False, True],
         "weight_decay": [0, 0.1], "maximize": [False, True]})]
    + [("Adagrad", c) for c in _configs(
        {"lr": [0.1], "lr_decay": [0, 0.1], "weight_decay": [0, 0.1], "initial_accumulator_value": [0, 0.5],
         "maximize": [False, True]})]
)


def _id(config):
    name, kwargs = config
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


# torch's CPU kernels round addcmul, lerp and add(alpha=) with a fused multiply-add; NumPy rounds the product
# and the sum separately, a last-bit difference per operation. Where the formula cancels (centered RMSprop's
# v - avg(g)^2 with a small alpha, Adam with small betas) float32 amplifies it to 1e-5..1e-3 within 20 steps, in
# torch itself between FMA and non-FMA builds too, so those configurations are compared in float64 only.
def _ill_conditioned(config):
    name, kwargs = config
    return (name == "RMSprop" and kwargs["centered"] and kwargs["alpha"] < 0.5) or \
        (name == "Adam" and kwargs.get("betas", (0.9, 0.999))[0] < 0.5)


CASES = [(c, dt) for c in CONFIGS for dt in (np.float32, np.float64) if dt is np.float64 or not _ill_conditioned(c)]


@pytest.mark.parametrize("config, dtype", CASES,
                         ids=[f"{_id(c)}-{'f32' if dt is np.float32 else 'f64'}" for c, dt in CASES])
def test_matches_torch_every_step(config, dtype):
    name, kwargs = config
    ls, ts, lopt, topt, losses = run_against_torch(name, kwargs, dtype)
    assert losses[-1] < losses[0], f"{name}({kwargs}): loss did not fall: {losses[0]} -> {losses[-1]}"
    # the state has torch's keys and values
    for lp, tp in zip(ls.params, ts.params):
        lstate, tstate = lopt.state[lp], topt.state[tp]
        assert set(lstate) == set(tstate)
        for key in tstate:
            np.testing.assert_allclose(_np(lstate[key]), tstate[key].numpy(), **TOL[dtype], err_msg=key)
            assert lstate[key].dtype == lamina.float32 if key == "step" else lstate[key].dtype == lp.dtype


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_defaults_match_torch(name):
    """Default hyperparameters (lr=1e-3 for SGD, as in torch 2.13) and the state_dict layout."""
    prob = make_problem(np.float32)
    ls, ts = Side(lamina, prob), Side(torch, prob)
    lopt, topt = getattr(optim, name)(ls.params), getattr(torch.optim, name)(ts.params)
    assert lopt.defaults == topt.defaults
    for _ in range(3):
        ls.backward_step(lopt)
        ts.backward_step(topt)
    lsd, tsd = lopt.state_dict(), topt.state_dict()
    assert lsd["param_groups"] == tsd["param_groups"]
    assert list(lsd["state"]) == list(tsd["state"])
    for index, tstate in tsd["state"].items():
        assert list(lsd["state"][index]) == list(tstate)
    for lp, tp in zip(ls.params, ts.params):
        np.testing.assert_allclose(_np(lp), _np(tp), **TOL[np.float32])


def test_param_groups_against_torch():
    """Two groups with their own lr / weight decay, and a group added after construction."""
    prob = make_problem(np.float64)
    ls, ts = Side(lamina, prob), Side(torch, prob)
    extra = np.linspace(-1, 1, 5)
    lx, tx = lamina.nn.Parameter(lamina.tensor(extra.copy())), torch.nn.Parameter(torch.tensor(extra.copy()))
    opts = []
    for lib, side, x in ((optim, ls, lx), (torch.optim, ts, tx)):
        opt = lib.SGD([{"params": [side.w]}, {"params": side.b, "lr": 0.05, "weight_decay": 0.2}],
                      lr=0.1, momentum=0.9)
        opts.append(opt)
    for step in range(10):
        if step == 4:
            opts[0].add_param_group({"params": [lx], "lr": 0.3, "nesterov": True})
            opts[1].add_param_group({"params": [tx], "lr": 0.3, "nesterov": True})
        for side, opt, x in ((ls, opts[0], lx), (ts, opts[1], tx)):
            opt.zero_grad()
            (side.loss() + (x ** 2).sum()).backward()
            opt.step()
        for lp, tp in zip(ls.params + [lx], ts.params + [tx]):
            np.testing.assert_allclose(_np(lp), _np(tp), **TOL[np.float64])
    assert opts[0].state_dict()["param_groups"] == opts[1].state_dict()["param_groups"]


ROUND_TRIP = [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
              ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
              ("AdamW", {"lr": 0.05}),
              ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
              ("Adagrad", {"lr": 0.1, "lr_decay": 0.01})]


@pytest.mark.parametrize("config", ROUND_TRIP, ids=[_id(c) for c in ROUND_TRIP])
def test_state_dict_round_trip(config):
    """Save after 10 steps, load into a fresh optimizer over copies of the parameters: both go on identically."""
    name, kwargs = config
    prob = make_problem(np.float32)
    a = Side(lamina, prob)
    opt_a = getattr(optim, name)(a.params, **kwargs)
    for _ in range(10):
        a.backward_step(opt_a)
    saved = opt_a.state_dict()
    b = Side(lamina, prob)
    b.w._data[...] = a.w._data
    b.b._data[...] = a.b._data
    opt_b = getattr(optim, name)(b.params, **kwargs)
    opt_b.load_state_dict(saved)
    assert opt_b.state_dict()["param_groups"] == saved["param_groups"]
    for _ in range(10):
        a.backward_step(opt_a)
        b.backward_step(opt_b)
        for pa, pb in zip(a.params, b.params):
            np.testing.assert_array_equal(_np(pa), _np(pb))
    # the loaded state is a copy: the two optimizers never shared arrays
    for pa, pb in zip(a.params, b.params):
        for key, value in opt_a.state[pa].items():
            assert not np.shares_memory(value._data, opt_b.state[pb][key]._data)


def test_state_dict_from_torch_layout_loads():
    """A state dict in torch's layout (converted to lamina tensors) continues torch's run."""
    prob = make_problem(np.float64)
    ls, ts = Side(lamina, prob), Side(torch, prob)
    topt = torch.optim.Adam(ts.params, lr=0.05, amsgrad=True)
    for _ in range(5):
        ts.backward_step(topt)
    tsd = topt.state_dict()
    converted = {"state": {i: {k: lamina.tensor(v.numpy().copy()) for k, v in s.items()}
                           for i, s in tsd["state"].items()},
                 "param_groups": tsd["param_groups"]}
    ls.w._data[...] = _np(ts.w)
    ls.b._data[...] = _np(ts.b)
    lopt = optim.Adam(ls.params)
    lopt.load_state_dict(converted)
    assert lopt.param_groups[0]["lr"] == 0.05 and lopt.param_groups[0]["amsgrad"]
    for _ in range(5):
        ls.backward_step(lopt)
        ts.backward_step(topt)
        for lp, tp in zip(ls.params, ts.params):
            np.testing.assert_allclose(_np(lp), _np(tp), **TOL[np.float64])


def test_load_state_dict_errors():
    prob = make_problem(np.float32)
    a = Side(lamina, prob)
    opt = optim.Adam(a.params)
    a.backward_step(opt)
    sd = opt.state_dict()
    two_groups = optim.Adam([{"params": [Side(lamina, prob).w]}, {"params": [Side(lamina, prob).b]}])
    check_error(lambda: two_groups.load_state_dict(sd), ArgumentError, "different number of parameter groups",
                "2", "1")
    one = optim.Adam([Side(lamina, prob).w])
    check_error(lambda: one.load_state_dict(sd), ArgumentError, "doesn't match the size", "1", "2")
    other = Side(lamina, make_problem(np.float32))
    swapped = optim.Adam([other.b, other.w])  # same count, shapes swapped
    check_error(lambda: swapped.load_state_dict(sd), ShapeError, "exp_avg", "(4, 3)", "(4,)")
    check_error(lambda: opt.load_state_dict({"state": {}}), ArgumentError, "param_groups")


def test_adamw_load_keeps_decoupled_decay():
    prob = make_problem(np.float32)
    adam = optim.Adam(Side(lamina, prob).params, weight_decay=0.1)
    adamw = optim.AdamW(Side(lamina, prob).params)
    adamw.load_state_dict(adam.state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True
    assert adamw.param_groups[0]["weight_decay"] == 0.1


# ---- numerical stability -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, kwargs", [("Adam", {}), ("Adam", {"amsgrad": True}), ("AdamW", {}),
                                          ("RMSprop", {"centered": True}), ("Adagrad", {})])
@pytest.mark.parametrize("value", [0.0, 1e-30])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_tiny_gradients_give_no_nan(name, kwargs, value, dtype):
    p = lamina.nn.Parameter(lamina.tensor(np.linspace(-1, 1, 6).astype(dtype)))
    opt = getattr(optim, name)([p], **kwargs)
    for _ in range(500):
        p.grad = lamina.tensor(np.full(6, value, dtype=dtype))
        opt.step()
    assert np.all(np.isfinite(_np(p)))
    for state in opt.state[p].values():
        assert np.all(np.isfinite(state._data))
    if value == 0.0 and name != "AdamW":
        np.testing.assert_array_equal(_np(p), np.linspace(-1, 1, 6).astype(dtype))


# ---- Optimizer semantics -------------------------------------------------------------------------------------
def test_params_without_grad_are_skipped():
    prob = make_problem(np.float32)
    a = Side(lamina, prob)
    opt = optim.Adam(a.params, lr=0.1)
    a.w.grad = lamina.ones(4, 3)
    opt.step()
    np.testing.assert_array_equal(_np(a.b), prob["b"])
    assert a.b not in opt.state and a.w in opt.state
    assert not np.array_equal(_np(a.w), prob["w"])


def test_step_updates_in_place_and_records_no_graph():
    a = Side(lamina, make_problem(np.float32))
    opt = optim.SGD(a.params, lr=0.1, momentum=0.9)
    data_id, version = id(a.w._data), a.w._version
    a.backward_step(opt)
    assert id(a.w._data) == data_id, "the parameter's array must be updated in place"
    assert a.w._version > version
    assert a.w.is_leaf and a.w.grad_fn is None and a.w.requires_grad
    assert opt.state[a.w]["momentum_buffer"].requires_grad is False


def test_closure_returns_loss_and_runs_with_grad():
    a = Side(lamina, make_problem(np.float32))
    opt = optim.SGD(a.params, lr=0.1)
    seen = []

    def closure():
        seen.append(lamina.is_grad_enabled())
        opt.zero_grad()
        loss = a.loss()
        loss.backward()
        return loss

    with lamina.no_grad():
        loss = opt.step(closure)
    assert seen == [True] and float(loss.item()) > 0
    assert opt.step() is None


def test_zero_grad():
    a = Side(lamina, make_problem(np.float32))
    opt = optim.SGD(a.params)
    a.loss().backward()
    grad = a.w.grad
    opt.zero_grad(set_to_none=False)
    assert a.w.grad is grad and not np.any(_np(grad)) and not np.any(_np(a.b.grad))
    opt.zero_grad()
    assert a.w.grad is None and a.b.grad is None


def test_step_hooks():
    a = Side(lamina, make_problem(np.float32))
    opt = optim.Adam(a.params)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    post = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", len(o.state))))
    a.backward_step(opt)
    assert calls == [("pre", True), ("post", 2)]
    pre.remove()
    post.remove()
    a.backward_step(opt)
    assert len(calls) == 2
    # a pre-hook may replace the arguments: here it adds a closure
    opt.register_step_pre_hook(lambda o, args, kwargs: ((), {"closure": lambda: 42.0}))
    assert opt.step() == 42.0


def test_named_parameters_and_repr():
    a = Side(lamina, make_problem(np.float32))
    opt = optim.SGD([("w", a.w), ("b", a.b)], lr=0.5)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    text = repr(opt)
    assert text.startswith("SGD (") and "lr: 0.5" in text and "Parameter Group 0" in text


def test_subclass_step_gets_hooks_once():
    class Scaled(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    a = Side(lamina, make_problem(np.float32))
    opt = Scaled(a.params, lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda *args: calls.append(1))
    a.backward_step(opt)
    assert calls == [1]


def test_step_allocates_no_array_data():
    """After the state exists, a step writes through work buffers: no new array data (RELIABILITY / perf)."""
    n = 1 << 18  # 1 MiB of float32 per array
    for name, kwargs in [("SGD", {"momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
                         ("Adam", {"amsgrad": True, "weight_decay": 0.1}), ("AdamW", {}),
                         ("RMSprop", {"momentum": 0.9, "centered": True}), ("Adagrad", {"weight_decay": 0.1})]:
        p = lamina.nn.Parameter(lamina.zeros(n))
        p.grad = lamina.ones(n)
        opt = getattr(optim, name)([p], maximize=True, **kwargs)
        opt.step()
        opt.step()
        tracemalloc.start()
        try:
            opt.step()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < n, f"{name}: a step allocated {peak} bytes (one float32 array is {4 * n})"


# ---- bad input -----------------------------------------------------------------------------------------------
def _p():
    return lamina.nn.Parameter(lamina.zeros(3))


BAD = [
    ("SGD", {"lr": -1}, "Invalid learning rate: -1"),
    ("SGD", {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    ("SGD", {"weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
    ("SGD", {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "zero dampening"),
    ("SGD", {"lr": "fast"}, "lr must be a number"),
    ("Adam", {"lr": -1}, "Invalid learning rate: -1"),
    ("Adam", {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ("Adam", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    ("Adam", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ("Adam", {"betas": (0.9,)}, "Invalid betas"),
    ("Adam", {"weight_decay": -1}, "Invalid weight_decay value: -1"),
    ("Adam", {"differentiable": True}, "differentiable=True"),
    ("AdamW", {"betas": (0.9, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
    ("AdamW", {"lr": float("nan")}, "Invalid learning rate: nan"),
    ("RMSprop", {"alpha": -0.1}, "Invalid alpha value: -0.1"),
    ("RMSprop", {"momentum": -1}, "Invalid momentum value: -1"),
    ("RMSprop", {"eps": -1}, "Invalid epsilon value: -1"),
    ("Adagrad", {"lr_decay": -1}, "Invalid lr_decay value: -1"),
    ("Adagrad", {"initial_accumulator_value": -1}, "Invalid initial_accumulator_value value: -1"),
    ("Adagrad", {"eps": -1}, "Invalid epsilon value: -1"),
]


@pytest.mark.parametrize("name, kwargs, fragment", BAD, ids=[f"{b[0]}-{b[2][:30]}" for b in BAD])
def test_bad_hyperparameters(name, kwargs, fragment):
    check_error(lambda: getattr(optim, name)([_p()], **kwargs), ArgumentError, name, fragment)
    if "must be a number" not in fragment and "betas" not in fragment and "differentiable" not in fragment:
        with pytest.raises(ValueError):  # torch raises ValueError for the same values
            getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(3))], **kwargs)


def test_bad_params():
    check_error(lambda: optim.SGD([]), ArgumentError, "SGD", "optimizer got an empty parameter list")
    check_error(lambda: optim.Adam(iter([])), ArgumentError, "empty parameter list")
    check_error(lambda: optim.SGD(_p()), ArgumentError, "iterable of Tensors or dicts", "Tensor")
    check_error(lambda: optim.SGD(3), ArgumentError, "iterable of Tensors or dicts", "int")
    check_error(lambda: optim.SGD([_p(), np.zeros(3)]), ArgumentError, "can only optimize Tensors", "ndarray")
    leaf = _p()
    check_error(lambda: optim.SGD([leaf * 2]), ArgumentError, "can't optimize a non-leaf Tensor")
    check_error(lambda: optim.SGD({_p(), _p()}), ArgumentError, "ordered collections")
    p = _p()
    check_error(lambda: optim.SGD([{"params": [p]}, {"params": [p]}]), ArgumentError,
                "some parameters appear in more than one parameter group")
    opt = optim.SGD([p])
    check_error(lambda: opt.add_param_group({"params": [p]}), ArgumentError, "more than one parameter group")
    check_error(lambda: opt.add_param_group({"lr": 0.1}), ArgumentError, "'params'")
    check_error(lambda: opt.add_param_group([_p()]), ArgumentError, "param_group must be a dict", "list")
    check_error(lambda: opt.add_param_group({"params": [("a", _p())]}), ArgumentError, "with/without names")
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p])


def test_required_hyperparameter():
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=optim.required):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            return None

    check_error(lambda: Plain([_p()]), ArgumentError, "required optimization parameter lr")
    assert Plain([{"params": [_p()], "lr": 0.1}]).param_groups[0]["lr"] == 0.1
