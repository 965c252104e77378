"""keras.optimizers against real Keras 3: the same initial weights and gradients give the same weights after
several steps, for every optimizer and option; learning-rate schedules; state; errors."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lamina  # noqa: E402
from lamina.errors import ArgumentError, ShapeError  # noqa: E402
from lamina.keras import optimizers  # noqa: E402
from lamina.keras.optimizers import schedules  # noqa: E402
from tests.helpers import check_error  # noqa: E402

# Real Keras's own Variable/tensor conversions call np.array() on objects without a `copy` argument (NumPy 2).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

rng = np.random.default_rng(3)
SHAPES = [(3, 4), (4,), ()]
W0 = [rng.normal(size=s).astype("float32") for s in SHAPES]
# gradients spanning several orders of magnitude, tiny ones included (where the epsilon placement matters)
GRADS = [[(rng.normal(size=s) * 10.0 ** rng.uniform(-5, 1)).astype("float32") for s in SHAPES] for _ in range(8)]

CASES = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"weight_decay": 0.01}),
    ("SGD", {"clipvalue": 0.1}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"clipnorm": 0.5}),
    ("Adam", {"global_clipnorm": 0.3}),
    ("Adam", {"gradient_accumulation_steps": 3}),
    ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.1, "learning_rate": 0.01}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5}),
    ("RMSprop", {"centered": True, "rho": 0.8}),
    ("Adagrad", {}),
    ("Adagrad", {"initial_accumulator_value": 0.5, "learning_rate": 0.1}),
    ("SGD", {"use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 3}),
    ("SGD", {"loss_scale_factor": 4.0}),
]


def _np(value):
    """A real-Keras variable or torch tensor as a NumPy array (Keras's own .numpy() warns under NumPy 2)."""
    value = getattr(value, "value", value)
    return value.detach().cpu().numpy()


def _run_both(name, kwargs, our_kwargs=None):
    theirs = getattr(real_keras.optimizers, name)(**kwargs)
    ours = getattr(optimizers, name)(**(our_kwargs or kwargs))
    k_vars = [real_keras.Variable(w.copy()) for w in W0]
    l_vars = [lamina.nn.Parameter(lamina.tensor(w.copy())) for w in W0]
    for grads in GRADS:
        theirs.apply([torch.tensor(g) for g in grads], k_vars)
        ours.apply([lamina.tensor(g) for g in grads], l_vars)
    return theirs, ours, k_vars, l_vars


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}{k or ''}" for n, k in CASES])
def test_updates_match_keras(name, kwargs):
    theirs, ours, k_vars, l_vars = _run_both(name, kwargs)
    for i, (ours_v, theirs_v) in enumerate(zip(l_vars, k_vars)):
        np.testing.assert_allclose(ours_v.detach().numpy(), _np(theirs_v), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}{kwargs} variable {i}")
    assert int(ours.iterations) == int(_np(theirs.iterations))
    assert len(ours.variables) == len(theirs.variables)
    np.testing.assert_allclose(float(ours.learning_rate), float(_np(theirs.learning_rate)), rtol=1e-7)


def test_keras_defaults():
    assert float(optimizers.Adam().learning_rate) == pytest.approx(1e-3)
    assert optimizers.Adam().epsilon == 1e-7 and optimizers.Adam().beta_1 == 0.9
    assert float(optimizers.SGD().learning_rate) == pytest.approx(0.01) and optimizers.SGD().momentum == 0
    r = optimizers.RMSprop()
    assert (r.rho, r.epsilon, float(r.learning_rate)) == (0.9, 1e-7, pytest.approx(1e-3))
    a = optimizers.Adagrad()
    assert (a.initial_accumulator_value, a.epsilon) == (0.1, 1e-7)
    assert optimizers.AdamW().weight_decay == 0.004
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        ours = getattr(optimizers, name)().get_config()
        theirs = getattr(real_keras.optimizers, name)().get_config()
        for key, value in theirs.items():
            if key != "name":
                assert ours[key] == pytest.approx(value) if isinstance(value, float) else ours[key] == value, \
                    (name, key)


def test_adam_epsilon_is_keras_not_torch():
    """With a tiny gradient Keras's (eps outside sqrt(v), bias correction in the step size) and torch's
    (eps added to sqrt(v_hat)) differ by orders of magnitude; we follow Keras."""
    w = lamina.nn.Parameter(lamina.zeros(1))
    optimizers.Adam(learning_rate=1.0).apply([lamina.tensor([1e-7])], [w])
    keras_step = 1.0 * np.sqrt(1 - 0.999) / (1 - 0.9) * (0.1 * 1e-7) / (np.sqrt(0.001 * 1e-14) + 1e-7)
    np.testing.assert_allclose(-float(w), keras_step, rtol=1e-4)
    torch_step = 1.0 * 1e-7 / (1e-7 + 1e-8)
    assert abs(-float(w) - torch_step) > 0.5


@pytest.mark.parametrize("schedule,kwargs", [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5, "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 10, "warmup_target": 0.2, "warmup_steps": 4}),
    ("PiecewiseConstantDecay", {"boundaries": [2, 5], "values": [0.1, 0.05, 0.01]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 6, "power": 2.0}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "cycle": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 3}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 3, "t_mul": 1.0, "m_mul": 0.5}),
])
def test_schedules_match_keras(schedule, kwargs):
    theirs = getattr(real_keras.optimizers.schedules, schedule)(**kwargs)
    ours = getattr(schedules, schedule)(**kwargs)
    for step in range(20):
        np.testing.assert_allclose(float(ours(step)), float(theirs(step)), rtol=1e-6, atol=1e-9,
                                   err_msg=f"{schedule} step {step}")
    assert ours.get_config() == theirs.get_config()


def test_optimizer_with_schedule_matches_keras():
    sched_kwargs = {"initial_learning_rate": 0.05, "decay_steps": 4}
    theirs, ours, k_vars, l_vars = _run_both(
        "SGD", {"learning_rate": real_keras.optimizers.schedules.CosineDecay(**sched_kwargs), "momentum": 0.5},
        {"learning_rate": schedules.CosineDecay(**sched_kwargs), "momentum": 0.5})
    for a, b in zip(l_vars, k_vars):
        np.testing.assert_allclose(a.detach().numpy(), _np(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(ours.learning_rate), float(_np(theirs.learning_rate)), rtol=1e-6)


def test_learning_rate_setting_and_callable():
    opt = optimizers.SGD(learning_rate=0.1)
    opt.learning_rate = 0.01
    assert float(opt.learning_rate) == pytest.approx(0.01)
    sched = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.9))
    check_error(lambda: setattr(sched, "learning_rate", 0.1), ArgumentError, "LearningRateSchedule", "not settable")
    calls = []
    fn_opt = optimizers.SGD(learning_rate=lambda: calls.append(1) or 0.5)
    w = lamina.nn.Parameter(lamina.ones(2))
    fn_opt.apply([lamina.ones(2)], [w])
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 0.5])
    assert calls


@pytest.mark.parametrize("name,kwargs", [("SGD", {"momentum": 0.9, "nesterov": True}), ("Adam", {"amsgrad": True}),
                                         ("RMSprop", {"momentum": 0.5, "centered": True}), ("Adagrad", {})])
def test_scratch_buffers_shared_across_sizes_and_dtypes(name, kwargs):
    # One optimizer updating variables of several sizes and dtypes (its scratch arrays are shared) gives exactly
    # what one optimizer per variable gives.
    values = [rng.normal(size=(5, 6)).astype("float32"), rng.normal(size=(7,)).astype("float64"),
              rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(40,)).astype("float32")]
    grads = [[rng.normal(size=v.shape).astype(v.dtype) for v in values] for _ in range(4)]
    together = [keras_variable(v) for v in values]
    opt = getattr(optimizers, name)(learning_rate=0.05, **kwargs)
    for step in grads:
        opt.apply([lamina.tensor(g) for g in step], together)
    for i, v in enumerate(values):
        alone = keras_variable(v)
        single = getattr(optimizers, name)(learning_rate=0.05, **kwargs)
        for step in grads:
            single.apply([lamina.tensor(step[i])], [alone])
        np.testing.assert_array_equal(together[i].numpy(), alone.numpy())
        assert together[i].dtype == alone.dtype


def keras_variable(value):
    from lamina.keras import Variable
    return Variable(value.copy())


def test_apply_gradients_none_gradients_and_constraints():
    a, b = lamina.nn.Parameter(lamina.ones(2)), lamina.nn.Parameter(lamina.ones(2))
    opt = optimizers.SGD(learning_rate=1.0)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(lamina.ones(2), a), (None, b)])
    np.testing.assert_allclose(a.detach().numpy(), [0.0, 0.0])
    np.testing.assert_allclose(b.detach().numpy(), [1.0, 1.0])
    # a variable's constraint is applied after the update
    from lamina.keras.backend import Variable
    v = Variable(lamina.tensor([1.0, -1.0]), name="w")
    v.constraint = lambda t: t.clamp(min=0.0)
    optimizers.SGD(learning_rate=1.0).apply([lamina.tensor([2.0, 2.0])], [v])
    np.testing.assert_allclose(v.detach().numpy(), [0.0, 0.0])


def test_exclude_from_weight_decay():
    from lamina.keras.backend import Variable
    kept, decayed = Variable(lamina.ones(2), name="bias"), Variable(lamina.ones(2), name="kernel")
    opt = optimizers.SGD(learning_rate=0.5, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply([lamina.zeros(2), lamina.zeros(2)], [kept, decayed])
    np.testing.assert_allclose(kept.detach().numpy(), [1.0, 1.0])
    np.testing.assert_allclose(decayed.detach().numpy(), [0.95, 0.95])


def test_trains_an_nn_module():
    """A Keras optimizer steps the parameters of a torch-style module."""
    lamina.manual_seed(0)
    net = lamina.nn.Sequential(lamina.nn.Linear(3, 8), lamina.nn.Tanh(), lamina.nn.Linear(8, 1))
    x = lamina.randn(32, 3)
    y = x.sum(-1, keepdim=True)
    opt = optimizers.Adam(learning_rate=0.02)
    params = list(net.parameters())
    first = None
    for _ in range(60):
        for p in params:
            p.grad = None
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.apply([p.grad for p in params], params)
        first = float(loss) if first is None else first
    assert float(loss) < 0.2 * first


def test_lookup_and_config_round_trip():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    opt = optimizers.AdamW(learning_rate=schedules.CosineDecay(0.1, 100), weight_decay=0.01)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(again, optimizers.AdamW) and again.weight_decay == 0.01
    assert isinstance(again._learning_rate, schedules.CosineDecay)
    assert optimizers.get(opt) is opt


def test_optimizer_errors():
    check_error(lambda: optimizers.get("adamax_nope"), ArgumentError, "unknown optimizer")
    check_error(lambda: optimizers.SGD(momentum=1.5), ArgumentError, "SGD", "momentum", "1.5")
    check_error(lambda: optimizers.Adam(beta_1=1.0), ArgumentError, "Adam", "beta_1")
    check_error(lambda: optimizers.Adam(clipnorm=1.0, clipvalue=1.0), ArgumentError, "only one of clipnorm")
    check_error(lambda: optimizers.Adam(foo=1), ArgumentError, "not recognized", "foo")
    check_error(lambda: optimizers.AdamW(weight_decay=None), ArgumentError, "weight_decay")
    check_error(lambda: optimizers.SGD(learning_rate="fast"), ArgumentError, "learning_rate", "'fast'")
    check_error(lambda: schedules.ExponentialDecay(0.1, 0, 0.5), ArgumentError, "decay_steps", "> 0")
    w = lamina.nn.Parameter(lamina.ones(2))
    opt = optimizers.SGD()
    check_error(lambda: opt.apply([lamina.ones(3)], [w]), ShapeError, "gradient", "(3,)", "(2,)")
    opt.apply([lamina.ones(2)], [w])
    other = lamina.nn.Parameter(lamina.ones(2))
    check_error(lambda: opt.apply([lamina.ones(2)], [other]), ArgumentError, "unknown variable")
