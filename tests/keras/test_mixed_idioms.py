"""Both idioms in one model: Keras layers inside an nn.Module trained torch-style with lamina.optim, and
nn.Modules inside a Keras Model trained with fit; checked against torch and against real Keras with a torch
module inside."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lamina  # noqa: E402
from lamina import keras, nn  # noqa: E402
from lamina.nn import functional as F  # noqa: E402
from lamina.utils.data import DataLoader, TensorDataset  # noqa: E402

# Real Keras's own Variable/tensor conversions call np.array() on objects without a `copy` argument (NumPy 2).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

rng = np.random.default_rng(2)
X = rng.normal(size=(48, 5)).astype("float32")
Y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5]).astype("int64")  # 3 classes


class KerasInTorch(nn.Module):
    """A torch-style block whose first layer is a Keras Dense."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(8, activation="relu")
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.dense(x))


def test_keras_layer_inside_nn_module_trained_with_lamina_optim():
    lamina.manual_seed(0)
    net = KerasInTorch()
    net(lamina.tensor(X[:2]))  # builds the Keras layer
    names = [name for name, _ in net.named_parameters()]
    assert names == ["dense.kernel", "dense.bias", "head.weight", "head.bias"]
    assert set(net.state_dict()) == set(names)

    # one SGD step equals torch's on the same weights (the Dense kernel is (in, out), torch's weight (out, in))
    kernel, bias, head_w, head_b = (p.detach().numpy().copy() for p in net.parameters())
    t_dense, t_head = torch.nn.Linear(5, 8), torch.nn.Linear(8, 3)
    with torch.no_grad():
        t_dense.weight.copy_(torch.tensor(kernel.T))
        t_dense.bias.copy_(torch.tensor(bias))
        t_head.weight.copy_(torch.tensor(head_w))
        t_head.bias.copy_(torch.tensor(head_b))
    t_params = [t_dense.weight, t_dense.bias, t_head.weight, t_head.bias]
    t_opt = torch.optim.SGD(t_params, lr=0.1, momentum=0.9)
    opt = lamina.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        t_opt.zero_grad()
        torch.nn.functional.cross_entropy(t_head(torch.relu(t_dense(torch.tensor(X)))), torch.tensor(Y)).backward()
        t_opt.step()
        opt.zero_grad()
        F.cross_entropy(net(lamina.tensor(X)), lamina.tensor(Y)).backward()
        opt.step()
    np.testing.assert_allclose(net.dense.kernel.detach().numpy(), t_dense.weight.detach().numpy().T, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(net.head.weight.detach().numpy(), t_head.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)

    # and it learns, with a Keras loss object in the torch-style loop
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = lamina.optim.Adam(net.parameters(), lr=0.05)
    first = float(loss_fn(Y, net(lamina.tensor(X))))
    for _ in range(40):
        opt.zero_grad()
        loss = loss_fn(Y, net(lamina.tensor(X)))
        loss.backward()
        opt.step()
    assert float(loss) < 0.5 * first


class TorchInKeras(keras.Model):
    """A subclassed Keras model holding a torch-style block (with dropout) and a Keras head."""

    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.5))
        self.head = keras.layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.head(self.block(x))


def test_nn_module_inside_keras_model_trained_with_fit():
    keras.utils.set_random_seed(1)
    model = TorchInKeras()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = model.block[0].weight.detach().numpy().copy()
    history = model.fit(X, Y, batch_size=16, epochs=15, verbose=0)
    # the torch-style Linear is trained by the Keras optimizer, alongside the Keras Dense
    assert not np.allclose(model.block[0].weight.detach().numpy(), before)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    names = [getattr(v, "path", "") for v in model.trainable_weights]
    assert len(names) == 4 and names[2].endswith("/kernel") and names[3].endswith("/bias")
    # fit switched the module to training mode (dropout active); predict runs it in eval mode (deterministic)
    assert not model.block.training
    np.testing.assert_array_equal(model.predict(X, verbose=0), model.predict(X, verbose=0))
    model.train()
    noisy = [model(lamina.tensor(X), training=True).detach().numpy() for _ in range(2)]
    assert not np.allclose(noisy[0], noisy[1])


def test_torch_module_in_keras_sequential_matches_real_keras():
    """keras.Sequential([nn.Linear, ...]) against real Keras with the same torch.nn.Linear inside."""
    lin_w = rng.normal(size=(6, 5)).astype("float32") * 0.4
    lin_b = np.zeros(6, dtype="float32")
    t_linear = torch.nn.Linear(5, 6)
    with torch.no_grad():
        t_linear.weight.copy_(torch.tensor(lin_w))
        t_linear.bias.copy_(torch.tensor(lin_b))
    theirs = real_keras.Sequential([real_keras.Input((5,)), real_keras.layers.TorchModuleWrapper(t_linear),
                                    real_keras.layers.Activation("relu"),
                                    real_keras.layers.Dense(3, activation="softmax")])
    linear = nn.Linear(5, 6)
    linear.load_state_dict({"weight": lamina.tensor(lin_w), "bias": lamina.tensor(lin_b)})
    ours = keras.Sequential([keras.Input((5,)), linear, keras.layers.Activation("relu"),
                             keras.layers.Dense(3, activation="softmax")])
    theirs.predict(X[:1], verbose=0)  # Keras builds the layers after a torch module on the first call
    ours.layers[-1].set_weights(theirs.layers[-1].get_weights())
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h_theirs = theirs.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h_ours = ours.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for key in h_theirs.history:
        np.testing.assert_allclose(h_ours.history[key], h_theirs.history[key], rtol=1e-4, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(linear.weight.detach().numpy(), t_linear.weight.detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_keras_model_trained_by_a_torch_style_optimizer():
    """compile() takes a lamina.optim optimizer; fit then equals a hand-written torch-style loop."""
    def make():
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(3)])
        return model

    keras.utils.set_random_seed(3)
    fitted = make()
    weights = fitted.get_weights()
    manual = make()
    manual.set_weights(weights)
    fitted.compile(optimizer=lamina.optim.SGD(fitted.parameters(), lr=0.1, momentum=0.5),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fitted.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    opt = lamina.optim.SGD(manual.parameters(), lr=0.1, momentum=0.5)
    loader = DataLoader(TensorDataset(lamina.tensor(X), lamina.tensor(Y)), batch_size=16)
    for _ in range(2):
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(manual(xb), yb).backward()
            opt.step()
    for a, b in zip(fitted.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_keras_model_inside_nn_module_and_dataloader_fit():
    """A whole Keras model used as a sub-module of a torch-style network, and that network's Keras parts
    trained with fit on a DataLoader through a wrapping Keras model."""
    backbone = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh")])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.backbone(x))

    net = Net()
    assert any(name.startswith("backbone.") for name, _ in net.named_parameters())

    class Wrapper(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, x):
            return self.inner(x)

    model = Wrapper(net)
    model.compile(optimizer=keras.optimizers.Adam(0.03),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    loader = DataLoader(TensorDataset(lamina.tensor(X), lamina.tensor(Y)), batch_size=12, shuffle=True)
    history = model.fit(loader, epochs=12, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.7
