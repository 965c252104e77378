"""Learning-rate schedulers against torch.optim.lr_scheduler: the lr (and momentum) sequences over 30 steps for
each scheduler and its options, state_dict round trips, and typed errors for bad arguments."""
import warnings

import numpy as np
import pytest
import torch

import lamina
import lamina.optim as optim
from lamina.errors import ArgumentError
from tests.helpers import check_error

STEPS = 30


def make_optimizers(kind="SGD", groups=2):
    """The same optimizer in both frameworks: ``groups`` param groups with lrs 0.1, 0.01, ... (no gradients, so
    ``step()`` changes nothing but lets the scheduler know the optimizer stepped first)."""
    pairs = []
    for lib in (lamina, torch):
        params = [{"params": [lib.nn.Parameter(lib.zeros(2))], "lr": 0.1 / 10 ** i} for i in range(groups)]
        kwargs = {"momentum": 0.9} if kind == "SGD" else {}
        pairs.append(getattr(lib.optim, kind)(params, **kwargs))
    return pairs


def _hyper(opt):
    """What the schedulers set, per group: lr, and momentum or beta1."""
    return [(g["lr"], g.get("momentum"), g["betas"][0] if "betas" in g else None) for g in opt.param_groups]


def assert_same_schedule(make, kind="SGD", groups=2, steps=STEPS, metrics=None):
    """Build the scheduler with ``make(lib, opt)`` on both sides and compare every step exactly."""
    lopt, topt = make_optimizers(kind, groups)
    lsched, tsched = make(lamina, lopt), make(torch, topt)
    assert lsched.get_last_lr() == tsched.get_last_lr(), "after construction"
    assert _hyper(lopt) == _hyper(topt), "after construction"
    for step in range(steps):
        lopt.step()
        topt.step()
        if metrics is None:
            lsched.step()
            tsched.step()
        else:
            lsched.step(metrics[step])
            tsched.step(metrics[step])
        assert lsched.get_last_lr() == tsched.get_last_lr(), f"step {step}"
        assert _hyper(lopt) == _hyper(topt), f"step {step}"
        assert getattr(lsched, "last_epoch", None) == getattr(tsched, "last_epoch", None)
    return lopt, lsched


def S(lib):
    return lib.optim.lr_scheduler


SCHEDULES = {
    "StepLR": lambda lib, o: S(lib).StepLR(o, step_size=3),
    "StepLR-gamma": lambda lib, o: S(lib).StepLR(o, step_size=5, gamma=0.5),
    "MultiStepLR": lambda lib, o: S(lib).MultiStepLR(o, milestones=[3, 7, 7, 15], gamma=0.3),
    "ExponentialLR": lambda lib, o: S(lib).ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda lib, o: S(lib).CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR-eta_min": lambda lib, o: S(lib).CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "LinearLR": lambda lib, o: S(lib).LinearLR(o),
    "LinearLR-options": lambda lib, o: S(lib).LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=8),
    "LinearLR-decay": lambda lib, o: S(lib).LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=20),
    "ConstantLR": lambda lib, o: S(lib).ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda lib, o: S(lib).PolynomialLR(o, total_iters=10, power=2.0),
    "LambdaLR": lambda lib, o: S(lib).LambdaLR(o, lr_lambda=lambda e: 0.95 ** e),
    "LambdaLR-per-group": lambda lib, o: S(lib).LambdaLR(o, lr_lambda=[lambda e: 1 / (e + 1), lambda e: e % 4]),
    "MultiplicativeLR": lambda lib, o: S(lib).MultiplicativeLR(o, lr_lambda=lambda e: 0.9),
    "SequentialLR": lambda lib, o: S(lib).SequentialLR(
        o, [S(lib).LinearLR(o, start_factor=0.1, total_iters=4), S(lib).CosineAnnealingLR(o, T_max=10)],
        milestones=[5]),
    "SequentialLR-three": lambda lib, o: S(lib).SequentialLR(
        o, [S(lib).ConstantLR(o, factor=0.3, total_iters=2), S(lib).ExponentialLR(o, gamma=0.8),
            S(lib).StepLR(o, step_size=4)], milestones=[3, 10]),
    "ChainedScheduler": lambda lib, o: S(lib).ChainedScheduler(
        [S(lib).ConstantLR(o, factor=0.1, total_iters=2), S(lib).ExponentialLR(o, gamma=0.9)]),
    "OneCycleLR": lambda lib, o: S(lib).OneCycleLR(o, max_lr=0.5, total_steps=STEPS),
    "OneCycleLR-linear": lambda lib, o: S(lib).OneCycleLR(o, max_lr=[0.5, 0.05], total_steps=STEPS + 5,
                                                          anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-three-phase": lambda lib, o: S(lib).OneCycleLR(o, max_lr=0.5, epochs=3, steps_per_epoch=10,
                                                               three_phase=True, div_factor=10.0),
    "OneCycleLR-no-momentum": lambda lib, o: S(lib).OneCycleLR(o, max_lr=0.5, total_steps=STEPS,
                                                               cycle_momentum=False, final_div_factor=100.0),
    "CyclicLR": lambda lib, o: S(lib).CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-triangular2": lambda lib, o: S(lib).CyclicLR(o, base_lr=[0.01, 0.001], max_lr=0.1, step_size_up=3,
                                                           step_size_down=5, mode="triangular2"),
    "CyclicLR-exp_range": lambda lib, o: S(lib).CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                                         mode="exp_range", gamma=0.95),
    "CosineAnnealingWarmRestarts": lambda lib, o: S(lib).CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda lib, o: S(lib).CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                                           eta_min=0.001),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name):
    opt, _ = assert_same_schedule(SCHEDULES[name])
    assert all("initial_lr" in g for g in opt.param_groups)


@pytest.mark.parametrize("name", ["OneCycleLR", "OneCycleLR-three-phase", "CyclicLR"])
def test_momentum_cycling_with_adam_betas(name):
    opt, _ = assert_same_schedule(SCHEDULES[name], kind="Adam")
    assert opt.param_groups[0]["betas"][1] == 0.999


def test_two_schedulers_on_one_optimizer_compose():
    lopt, topt = make_optimizers()
    scheds = [(S(lib).StepLR(o, step_size=4, gamma=0.5), S(lib).CosineAnnealingLR(o, T_max=12))
              for lib, o in ((lamina, lopt), (torch, topt))]
    for step in range(STEPS):
        lopt.step()
        topt.step()
        for s in scheds[0] + scheds[1]:
            s.step()
        assert _hyper(lopt) == _hyper(topt), f"step {step}"


PLATEAU = {
    "min-rel": dict(),
    "min-abs-cooldown": dict(threshold_mode="abs", threshold=0.05, patience=2, cooldown=2, factor=0.5),
    "max-rel": dict(mode="max", patience=1, factor=0.3),
    "max-abs-min_lr": dict(mode="max", threshold_mode="abs", patience=0, min_lr=[0.02, 0.0005]),
    "min_lr-eps": dict(patience=0, min_lr=0.005, eps=1e-3),
}


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_on_plateau_matches_torch(name):
    rng = np.random.default_rng(1)
    # improving, then a plateau with noise, a dip and a long flat stretch
    metrics = list(np.linspace(1.0, 0.5, 8)) + list(0.5 + 0.01 * rng.standard_normal(10)) + [0.3] + [0.3] * 11
    kwargs = PLATEAU[name]
    lopt, sched = assert_same_schedule(lambda lib, o: S(lib).ReduceLROnPlateau(o, **kwargs), metrics=metrics)
    assert lopt.param_groups[0]["lr"] < 0.1, "the plateau must have reduced the lr"


def test_deprecated_epoch_argument_uses_closed_form():
    for make in (SCHEDULES["StepLR"], SCHEDULES["MultiStepLR"], SCHEDULES["ExponentialLR"],
                 SCHEDULES["CosineAnnealingLR"], SCHEDULES["LinearLR-options"], SCHEDULES["LambdaLR"]):
        lopt, topt = make_optimizers()
        lsched, tsched = make(lamina, lopt), make(torch, topt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (4, 9, 2, 15):
                lopt.step()
                topt.step()
                lsched.step(epoch)
                tsched.step(epoch)
                assert lsched.get_last_lr() == tsched.get_last_lr()
        with pytest.warns(UserWarning, match="deprecated"):
            lsched.step(3)


def test_warm_restarts_fractional_epochs():
    lopt, topt = make_optimizers()
    lsched = S(lamina).CosineAnnealingWarmRestarts(lopt, T_0=4, T_mult=2)
    tsched = S(torch).CosineAnnealingWarmRestarts(topt, T_0=4, T_mult=2)
    for epoch in np.arange(0, 20, 0.25):
        lsched.step(float(epoch))
        tsched.step(float(epoch))
        assert lsched.get_last_lr() == tsched.get_last_lr(), epoch


ROUND_TRIP = ["StepLR", "MultiStepLR", "CosineAnnealingLR-eta_min", "LinearLR-options", "LambdaLR",
              "SequentialLR", "ChainedScheduler", "OneCycleLR", "CyclicLR", "CosineAnnealingWarmRestarts-mult"]


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_state_dict_round_trip(name):
    """Save optimizer and scheduler after 10 steps, restore both into fresh objects: the schedules continue
    identically."""
    make = SCHEDULES[name]
    opt_a = make_optimizers()[0]
    sched_a = make(lamina, opt_a)
    for _ in range(10):
        opt_a.step()
        sched_a.step()
    saved_opt, saved_sched = opt_a.state_dict(), sched_a.state_dict()
    assert "optimizer" not in saved_sched
    opt_b = make_optimizers()[0]
    sched_b = make(lamina, opt_b)
    opt_b.load_state_dict(saved_opt)  # after creating the scheduler, as torch prescribes
    sched_b.load_state_dict(saved_sched)
    assert sched_b.get_last_lr() == sched_a.get_last_lr()
    for step in range(10):
        for opt, sched in ((opt_a, sched_a), (opt_b, sched_b)):
            opt.step()
            sched.step()
        assert _hyper(opt_a) == _hyper(opt_b), f"step {step}"
        assert getattr(sched_a, "last_epoch", None) == getattr(sched_b, "last_epoch", None)


def test_plateau_state_dict_round_trip():
    opt_a = make_optimizers()[0]
    sched_a = S(lamina).ReduceLROnPlateau(opt_a, patience=1, cooldown=1)
    for m in [1.0, 0.9, 0.95, 0.96, 0.97]:
        sched_a.step(m)
    opt_b = make_optimizers()[0]
    sched_b = S(lamina).ReduceLROnPlateau(opt_b)
    opt_b.load_state_dict(opt_a.state_dict())
    sched_b.load_state_dict(sched_a.state_dict())
    for m in [0.97, 0.98, 0.5, 0.6, 0.7, 0.8]:
        sched_a.step(m)
        sched_b.step(m)
        assert sched_a.get_last_lr() == sched_b.get_last_lr()


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "LambdaLR"])
def test_state_dict_keys_match_torch(name):
    lopt, topt = make_optimizers()
    lsd, tsd = SCHEDULES[name](lamina, lopt).state_dict(), SCHEDULES[name](torch, topt).state_dict()
    assert set(lsd) == set(tsd)
    for key in ("base_lrs", "last_epoch", "_step_count", "_last_lr"):
        assert lsd[key] == tsd[key]


def test_lambda_state_saves_callable_objects():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = make_optimizers(groups=1)[0]
    decay = Decay()
    sched = S(lamina).LambdaLR(opt, decay)
    decay.rate = 0.25
    saved = sched.state_dict()
    assert saved["lr_lambdas"] == [{"rate": 0.25}]
    other = Decay()
    S(lamina).LambdaLR(make_optimizers(groups=1)[0], other).load_state_dict(saved)
    assert other.rate == 0.25


def test_resume_with_last_epoch():
    lopt, topt = make_optimizers()
    for o in (lopt, topt):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    ls = S(lamina).CosineAnnealingLR(lopt, T_max=10, last_epoch=4)
    ts = S(torch).CosineAnnealingLR(topt, T_max=10, last_epoch=4)
    for _ in range(8):
        lopt.step()
        topt.step()
        ls.step()
        ts.step()
        assert ls.get_last_lr() == ts.get_last_lr()


def test_warnings_like_torch():
    opt = make_optimizers()[0]
    sched = S(lamina).StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    opt = make_optimizers()[0]
    sched = S(lamina).StepLR(opt, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()


def _opt():
    return make_optimizers()[0]


def test_bad_arguments():
    L = S(lamina)
    check_error(lambda: L.StepLR("sgd", 3), ArgumentError, "StepLR", "Optimizer", "str")
    check_error(lambda: L.StepLR(_opt(), 0), ArgumentError, "StepLR", "step_size", "0")
    check_error(lambda: L.LinearLR(_opt(), start_factor=0), ArgumentError, "LinearLR", "Starting multiplicative")
    check_error(lambda: L.LinearLR(_opt(), end_factor=1.5), ArgumentError, "Ending multiplicative", "1.5")
    check_error(lambda: L.ConstantLR(_opt(), factor=2), ArgumentError, "ConstantLR", "between 0 and 1")
    check_error(lambda: L.CosineAnnealingLR(_opt(), T_max=0), ArgumentError, "T_max", "0")
    check_error(lambda: L.LambdaLR(_opt(), [lambda e: 1.0]), ArgumentError, "expected 2 lr_lambdas", "got 1")
    check_error(lambda: L.MultiplicativeLR(_opt(), 0.9), ArgumentError, "lr_lambda should be a function", "float")
    check_error(lambda: L.StepLR(_opt(), 3, last_epoch=5), ArgumentError, "initial_lr", "param_groups[0]")
    o = _opt()
    check_error(lambda: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[]), ArgumentError,
                "SequentialLR", "number of milestones")
    check_error(lambda: L.SequentialLR(o, [L.StepLR(_opt(), 2)], milestones=[]), ArgumentError,
                "same optimizer")
    check_error(lambda: L.SequentialLR(o, [L.ReduceLROnPlateau(o)], milestones=[]), ArgumentError,
                "ReduceLROnPlateau")
    check_error(lambda: L.ChainedScheduler([]), ArgumentError, "at least one scheduler")
    check_error(lambda: L.ReduceLROnPlateau(_opt(), factor=1.0), ArgumentError, "Factor should be < 1.0")
    check_error(lambda: L.ReduceLROnPlateau(_opt(), mode="avg"), ArgumentError, "mode 'avg' is unknown")
    check_error(lambda: L.ReduceLROnPlateau(_opt(), threshold_mode="pct"), ArgumentError, "threshold mode")
    check_error(lambda: L.ReduceLROnPlateau(_opt(), min_lr=[0.1]), ArgumentError, "expected 2 min_lrs", "got 1")
    check_error(lambda: L.ReduceLROnPlateau(_opt()).step("low"), ArgumentError, "metrics must be a number")
    check_error(lambda: L.OneCycleLR(_opt(), max_lr=0.1), ArgumentError, "total_steps OR (epochs AND")
    check_error(lambda: L.OneCycleLR(_opt(), max_lr=0.1, total_steps=0), ArgumentError, "total_steps", "0")
    check_error(lambda: L.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=1.5), ArgumentError,
                "pct_start", "1.5")
    check_error(lambda: L.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, anneal_strategy="exp"), ArgumentError,
                "anneal_strategy", "'exp'")
    check_error(lambda: L.OneCycleLR(_opt(), max_lr=[0.1], total_steps=10), ArgumentError, "max_lr", "2")
    check_error(lambda: L.OneCycleLR(optim.Adagrad([lamina.nn.Parameter(lamina.zeros(1))]), max_lr=0.1,
                                     total_steps=5), ArgumentError, "momentum or beta1", "Adagrad")
    check_error(lambda: L.CyclicLR(_opt(), 0.01, 0.1, mode="sine"), ArgumentError, "mode 'sine' is invalid")
    check_error(lambda: L.CosineAnnealingWarmRestarts(_opt(), T_0=0), ArgumentError, "T_0", "0")
    check_error(lambda: L.CosineAnnealingWarmRestarts(_opt(), T_0=2, T_mult=0), ArgumentError, "T_mult", "0")
    o = _opt()
    sched = L.OneCycleLR(o, max_lr=0.1, total_steps=3)
    for _ in range(3):
        o.step()
        sched.step()
    check_error(sched.step, ArgumentError, "Tried to step 4 times", "total steps is 3")
