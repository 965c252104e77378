"""keras.losses and keras.metrics against real Keras 3 (torch backend): values, reductions, sample weights,
from_logits, label smoothing, gradients, metric state, names and lookups."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lamina  # noqa: E402
from lamina.errors import ArgumentError, IndexError_, ShapeError  # noqa: E402
from lamina.keras import losses, metrics  # noqa: E402
from tests.helpers import check_error  # noqa: E402

# Real Keras's own Variable/tensor conversions call np.array() on objects without a `copy` argument (NumPy 2).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

rng = np.random.default_rng(7)
N, C = 6, 4
Y01 = rng.integers(0, 2, (N, C)).astype("float32")
PROB = rng.uniform(0.02, 0.98, (N, C)).astype("float32")
LOGITS = rng.normal(size=(N, C)).astype("float32") * 3
LABELS = rng.integers(0, C, (N,))
ONE_HOT = np.eye(C, dtype="float32")[LABELS]
SOFTMAX = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype("float32")
SW = rng.uniform(0, 2, (N,)).astype("float32")

LOSS_CASES = [
    ("MeanSquaredError", {}, Y01, PROB),
    ("MeanAbsoluteError", {}, Y01, PROB),
    ("MeanAbsolutePercentageError", {}, Y01 + 1, PROB),
    ("MeanSquaredLogarithmicError", {}, Y01, PROB),
    ("CosineSimilarity", {}, Y01, LOGITS),
    ("Huber", {}, Y01, LOGITS),
    ("Huber", {"delta": 0.3}, Y01, LOGITS),
    ("LogCosh", {}, Y01, LOGITS),
    ("Hinge", {}, Y01, LOGITS),
    ("SquaredHinge", {}, Y01, LOGITS),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS),
    ("KLDivergence", {}, ONE_HOT, SOFTMAX),
    ("Poisson", {}, Y01, PROB),
    ("BinaryCrossentropy", {}, Y01, PROB),
    ("BinaryCrossentropy", {"from_logits": True}, Y01, LOGITS),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, Y01, PROB),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, Y01, LOGITS),
    ("CategoricalCrossentropy", {}, ONE_HOT, SOFTMAX),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROB),  # unnormalised scores are renormalised
    ("CategoricalCrossentropy", {"from_logits": True}, ONE_HOT, LOGITS),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, ONE_HOT, SOFTMAX),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, LABELS, SOFTMAX),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS[:, None], LOGITS),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def _id(case):
    return f"{case[0]}{case[1] or ''}"


@pytest.mark.parametrize("case", LOSS_CASES, ids=[_id(c) for c in LOSS_CASES])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_loss_classes_match_keras(case, weighted):
    name, kwargs, y_true, y_pred = case
    sw = SW if weighted else None
    for reduction in REDUCTIONS:
        expected = getattr(real_keras.losses, name)(reduction=reduction, **kwargs)(y_true, y_pred, sample_weight=sw)
        ours = getattr(losses, name)(reduction=reduction, **kwargs)(y_true, y_pred, sample_weight=sw)
        assert isinstance(ours, lamina.Tensor)
        np.testing.assert_allclose(ours.numpy(), np.asarray(expected), rtol=2e-6, atol=1e-6,
                                   err_msg=f"{name}{kwargs} reduction={reduction}")


@pytest.mark.parametrize("case", LOSS_CASES, ids=[_id(c) for c in LOSS_CASES])
def test_loss_gradients_match_keras(case):
    """d loss / d y_pred through lamina's autograd equals torch's autograd through real Keras."""
    name, kwargs, y_true, y_pred = case
    t_pred = torch.tensor(y_pred, requires_grad=True)
    getattr(real_keras.losses, name)(**kwargs)(y_true, t_pred, sample_weight=SW).backward()
    l_pred = lamina.tensor(y_pred, requires_grad=True)
    getattr(losses, name)(**kwargs)(y_true, l_pred, sample_weight=SW).backward()
    np.testing.assert_allclose(l_pred.grad.numpy(), t_pred.grad.numpy(), rtol=1e-4, atol=1e-6)


FUNCTIONS = ["mean_squared_error", "mean_absolute_error", "mean_squared_logarithmic_error", "huber", "log_cosh",
             "hinge", "squared_hinge", "poisson", "binary_crossentropy"]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_loss_functions_return_per_sample_values(fn):
    expected = getattr(real_keras.losses, fn)(Y01, PROB)
    ours = getattr(losses, fn)(Y01, PROB)
    assert tuple(ours.shape) == (N,)
    np.testing.assert_allclose(ours.numpy(), np.asarray(expected), rtol=2e-6, atol=1e-6)


def test_crossentropy_functions_with_options():
    pairs = [
        (losses.categorical_crossentropy(ONE_HOT, LOGITS, from_logits=True, label_smoothing=0.1),
         real_keras.losses.categorical_crossentropy(ONE_HOT, LOGITS, from_logits=True, label_smoothing=0.1)),
        (losses.sparse_categorical_crossentropy(LABELS, SOFTMAX),
         real_keras.losses.sparse_categorical_crossentropy(LABELS, SOFTMAX)),
        (losses.binary_crossentropy(Y01, LOGITS, from_logits=True, label_smoothing=0.3),
         real_keras.losses.binary_crossentropy(Y01, LOGITS, from_logits=True, label_smoothing=0.3)),
    ]
    for ours, expected in pairs:
        np.testing.assert_allclose(ours.numpy(), np.asarray(expected), rtol=2e-6, atol=1e-6)


def test_sparse_crossentropy_ignore_class():
    labels = LABELS.copy()
    labels[:2] = -1
    expected = real_keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(labels, LOGITS)
    ours = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(labels, LOGITS)
    np.testing.assert_allclose(float(ours), float(expected), rtol=1e-6)


@pytest.mark.parametrize("shape,axis", [((6, 4), -1), ((2, 3, 5), -1), ((2, 5, 3), 1), ((5,), -1)],
                         ids=["batch", "sequence", "classes on axis 1", "unbatched"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"])
def test_sparse_crossentropy_from_logits_fused_matches_keras(shape, axis, reduction):
    # Logits without weights take the fused cross_entropy; with weights, the per-sample values are reduced.
    logits = rng.normal(size=shape).astype("float32") * 3
    class_axis = axis % len(shape)
    labels = rng.integers(0, shape[class_axis], tuple(s for i, s in enumerate(shape) if i != class_axis))
    for sw in (None, np.ones(labels.shape, "float32") if labels.ndim else None):
        t_pred = torch.tensor(logits, requires_grad=True)
        theirs = real_keras.losses.SparseCategoricalCrossentropy(from_logits=True, axis=axis, reduction=reduction)
        expected = theirs(labels, t_pred, sample_weight=sw)
        ours_fn = losses.SparseCategoricalCrossentropy(from_logits=True, axis=axis, reduction=reduction)
        l_pred = lamina.tensor(logits, requires_grad=True)
        ours = ours_fn(lamina.tensor(labels), l_pred, sample_weight=sw)
        np.testing.assert_allclose(ours.detach().numpy(), expected.detach().numpy(), rtol=2e-6, atol=1e-6)
        g = rng.normal(size=tuple(expected.shape)).astype("float32")
        expected.backward(torch.tensor(g))
        ours.backward(lamina.tensor(g))
        np.testing.assert_allclose(l_pred.grad.numpy(), t_pred.grad.numpy(), rtol=1e-5, atol=1e-6)
    fused = losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, lamina.tensor(LOGITS, requires_grad=True))
    assert type(fused.grad_fn).__name__.startswith("CrossEntropy")  # one operator, not log_softmax + gather


def test_binary_crossentropy_rank_matching_and_stability():
    # (N,) labels against (N, 1) predictions, as a Dense(1, sigmoid) model gives them
    y = Y01[:, 0]
    p = PROB[:, :1]
    expected = real_keras.losses.BinaryCrossentropy()(y, p)
    np.testing.assert_allclose(float(losses.BinaryCrossentropy()(y, p)), float(expected), rtol=1e-6)
    # probabilities of exactly 0 and 1 are clipped; logits of +-400 are stable
    assert np.isfinite(float(losses.binary_crossentropy([1.0, 0.0], [0.0, 1.0]).mean()))
    big = lamina.tensor([[400.0], [-400.0]], requires_grad=True)
    value = losses.BinaryCrossentropy(from_logits=True)([[0.0], [1.0]], big)
    value.backward()
    assert np.isfinite(float(value)) and np.all(np.isfinite(big.grad.numpy()))


def test_custom_loss_subclass_and_wrapper():
    class Quartic(losses.Loss):
        def call(self, y_true, y_pred):
            return ((y_pred - y_true) ** 4).mean(-1)

    value = Quartic(reduction="sum")(Y01, PROB)
    np.testing.assert_allclose(float(value), float(((PROB - Y01) ** 4).mean(-1).sum()), rtol=1e-6)
    assert Quartic().name == "quartic"
    wrapped = losses.LossFunctionWrapper(losses.huber, delta=0.5, name="h")
    np.testing.assert_allclose(float(wrapped(Y01, LOGITS)), float(real_keras.losses.Huber(delta=0.5)(Y01, LOGITS)),
                               rtol=1e-6)
    assert wrapped.get_config()["delta"] == 0.5


def test_loss_names_configs_and_lookup():
    assert losses.MeanSquaredError().name == real_keras.losses.MeanSquaredError().name
    assert losses.Huber().name == real_keras.losses.Huber().name == "huber_loss"
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    bce = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    config = bce.get_config()
    assert config["from_logits"] is True and config["label_smoothing"] == 0.1
    again = losses.deserialize(losses.serialize(bce))
    assert isinstance(again, losses.BinaryCrossentropy) and again.from_logits
    assert losses.get(None) is None
    fn = lambda y_true, y_pred: y_pred  # noqa: E731
    assert losses.get(fn) is fn


def test_loss_errors():
    check_error(lambda: losses.get("nope"), ArgumentError, "unknown loss", "'nope'")
    check_error(lambda: losses.MeanSquaredError(reduction="avg"), ArgumentError, "reduction", "'avg'")
    check_error(lambda: losses.categorical_crossentropy(ONE_HOT[:, :3], SOFTMAX), ShapeError,
                "categorical_crossentropy", "(6, 3)", "(6, 4)")
    check_error(lambda: losses.sparse_categorical_crossentropy(LABELS[:4], SOFTMAX), ShapeError,
                "sparse_categorical_crossentropy", "(4,)")
    check_error(lambda: losses.sparse_categorical_crossentropy(LABELS + C, SOFTMAX), IndexError_,
                "[0, 4)")
    check_error(lambda: losses.MeanSquaredError()(Y01, PROB, sample_weight=np.ones(5)), ShapeError,
                "sample_weight")


# ---- metrics ------------------------------------------------------------------------------------------------

BINARY_TRUE = rng.integers(0, 2, (8, 3)).astype("float32")
BINARY_PRED = rng.uniform(0, 1, (8, 3)).astype("float32")
CLS = rng.integers(0, 5, (8,))
CLS_LOGITS = rng.normal(size=(8, 5)).astype("float32")
CLS_ONE_HOT = np.eye(5, dtype="float32")[CLS]
MSW = rng.uniform(0, 2, (8,)).astype("float32")

METRIC_CASES = [
    ("Accuracy", {}, (BINARY_TRUE > 0.5).astype("float32"), (BINARY_PRED > 0.5).astype("float32")),
    ("BinaryAccuracy", {}, BINARY_TRUE, BINARY_PRED),
    ("BinaryAccuracy", {"threshold": 0.3}, BINARY_TRUE, BINARY_PRED),
    ("CategoricalAccuracy", {}, CLS_ONE_HOT, CLS_LOGITS),
    ("SparseCategoricalAccuracy", {}, CLS, CLS_LOGITS),
    ("SparseCategoricalAccuracy", {}, CLS[:, None], CLS_LOGITS),
    ("TopKCategoricalAccuracy", {"k": 2}, CLS_ONE_HOT, CLS_LOGITS),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, CLS, CLS_LOGITS),
    ("MeanSquaredError", {}, BINARY_TRUE, BINARY_PRED),
    ("MeanAbsoluteError", {}, BINARY_TRUE, BINARY_PRED),
    ("RootMeanSquaredError", {}, BINARY_TRUE, BINARY_PRED),
    ("Precision", {}, BINARY_TRUE, BINARY_PRED),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, BINARY_TRUE, BINARY_PRED),
    ("Precision", {"class_id": 1}, BINARY_TRUE, BINARY_PRED),
    ("Precision", {"top_k": 1}, BINARY_TRUE, BINARY_PRED),
    ("Recall", {}, BINARY_TRUE, BINARY_PRED),
    ("Recall", {"thresholds": 0.3}, BINARY_TRUE, BINARY_PRED),
    ("TruePositives", {}, BINARY_TRUE, BINARY_PRED),
    ("FalsePositives", {}, BINARY_TRUE, BINARY_PRED),
    ("TrueNegatives", {"thresholds": [0.4, 0.6]}, BINARY_TRUE, BINARY_PRED),
    ("FalseNegatives", {}, BINARY_TRUE, BINARY_PRED),
    ("BinaryCrossentropy", {}, BINARY_TRUE, BINARY_PRED),
    ("CategoricalCrossentropy", {"from_logits": True}, CLS_ONE_HOT, CLS_LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, CLS, CLS_LOGITS),
    ("CosineSimilarity", {}, BINARY_TRUE, BINARY_PRED),
    ("Hinge", {}, BINARY_TRUE, BINARY_PRED - 0.5),
    ("KLDivergence", {}, CLS_ONE_HOT, np.abs(CLS_LOGITS)),
]


@pytest.mark.parametrize("case", METRIC_CASES, ids=[_id(c) for c in METRIC_CASES])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_metrics_match_keras_over_batches(case, weighted):
    name, kwargs, y_true, y_pred = case
    theirs, ours = getattr(real_keras.metrics, name)(**kwargs), getattr(metrics, name)(**kwargs)
    for part in (slice(0, 3), slice(3, 8)):  # state accumulates over two batches of different sizes
        sw = MSW[part] if weighted else None
        theirs.update_state(y_true[part], y_pred[part], sample_weight=sw)
        ours.update_state(y_true[part], y_pred[part], sample_weight=sw)
    result = ours.result()
    assert isinstance(result, lamina.Tensor) and result.dtype == lamina.float32
    np.testing.assert_allclose(result.numpy(), np.asarray(theirs.result()), rtol=2e-6, atol=1e-6)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(ours.result().numpy(), np.asarray(theirs.result()))


def test_mean_and_sum_metrics():
    for cls in ("Mean", "Sum"):
        ours, theirs = getattr(metrics, cls)(), getattr(real_keras.metrics, cls)()
        for values, weights in (([1.0, 2.0, 3.0], None), (np.ones((2, 3)) * 4, [1.0, 0.0]), (5.0, None),
                                (np.arange(6.0).reshape(2, 3), np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 1.0]]))):
            ours.update_state(values, sample_weight=weights)
            theirs.update_state(values, sample_weight=weights)
        np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
    # a 0-d tensor with a number as weight (fit's loss tracker) adds value * weight and weight, as arrays would
    fast, general, theirs = metrics.Mean(), metrics.Mean(), real_keras.metrics.Mean()
    for value, weight in ((2.5, 4), (0.1, 3.0), (7.0, 0)):
        fast.update_state(lamina.tensor(np.float32(value)), sample_weight=weight)
        general.update_state(np.float32(value), sample_weight=np.float32(weight))
        theirs.update_state(np.float32(value), sample_weight=weight)
    assert float(fast.result()) == float(general.result())
    np.testing.assert_allclose(float(fast.result()), float(theirs.result()), rtol=1e-6)
    assert float(fast.count.numpy()) == 7.0
    m = metrics.Mean()
    assert float(m.result()) == 0.0  # no NaN before the first update
    assert float(m([2.0, 4.0])) == 3.0  # __call__ updates and returns the result


def test_metric_variables_names_and_directions():
    p = metrics.Precision()
    assert [v.name for v in p.variables] == ["true_positives", "false_positives"]
    assert all(not v.requires_grad for v in p.variables)
    assert metrics.Accuracy().name == "accuracy" and metrics.SparseCategoricalAccuracy().name == \
        real_keras.metrics.SparseCategoricalAccuracy().name
    assert metrics.BinaryAccuracy()._direction == "up" and metrics.MeanSquaredError()._direction == "down"
    assert metrics.get("mse").name == "mean_squared_error"
    assert isinstance(metrics.get("accuracy"), metrics.Accuracy)
    assert metrics.get("binary_accuracy") is metrics.binary_accuracy
    again = metrics.deserialize(metrics.serialize(metrics.BinaryAccuracy(threshold=0.7)))
    assert again.threshold == 0.7


def test_custom_metric_subclass():
    class CountPositive(metrics.Metric):
        def __init__(self, name="count_positive"):
            super().__init__(name=name)
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.count.assign(self.count + (lamina.as_tensor(y_pred) > 0).float().sum())

        def result(self):
            return self.count

    m = CountPositive()
    m.update_state(None, np.array([1.0, -1.0, 2.0]))
    m.update_state(None, np.array([3.0]))
    assert float(m.result()) == 3.0
    m.reset_state()
    assert float(m.result()) == 0.0


def test_metric_functions_match_keras():
    for fn, args in (("binary_accuracy", (BINARY_TRUE, BINARY_PRED)),
                     ("categorical_accuracy", (CLS_ONE_HOT, CLS_LOGITS)),
                     ("sparse_categorical_accuracy", (CLS, CLS_LOGITS)),
                     ("top_k_categorical_accuracy", (CLS_ONE_HOT, CLS_LOGITS)),
                     ("sparse_top_k_categorical_accuracy", (CLS, CLS_LOGITS))):
        np.testing.assert_allclose(getattr(metrics, fn)(*args).numpy(),
                                   np.asarray(getattr(real_keras.metrics, fn)(*args)), err_msg=fn)


def test_metric_errors():
    check_error(lambda: metrics.get("nope"), ArgumentError, "unknown metric", "'nope'")
    check_error(lambda: metrics.Precision(thresholds=1.5), ArgumentError, "Precision", "[0, 1]")
    check_error(lambda: metrics.Mean().update_state(np.ones((4, 2)), sample_weight=np.ones(3)), ShapeError,
                "sample_weight")
