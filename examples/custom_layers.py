"""Custom layers and blocks in the PyTorch idiom, trained together on the embedded handwritten digits.

Shows the three levels of Lamina in user code: a layer made of operators with its own parameters, a block with
control flow in ``forward`` and a layer shared across steps, a residual block, and a block with a buffer; then
prints the module tree and ``lamina.summary(..., ops=True)`` (the operators each layer ran, with FLOPs) and trains
the model with a plain loop, printing the loss as it falls.

Run: ``python examples/custom_layers.py [--epochs N] [--out DIR] [--quick]``.
"""
import argparse
import math
import os

import lamina
import lamina.datasets
from lamina import nn
from lamina.utils.data import DataLoader

try:
    from tqdm import tqdm
except ImportError:  # the progress bar is a nicety; training works without it
    def tqdm(iterable, **kwargs):
        return iterable


# ---- a layer: operators + its own parameters -------------------------------------------------------------------

class ScaledLinear(nn.Module):
    """y = (x @ W^T + b) * s, with a learnable per-output scale s.

    Assigning an ``nn.Parameter`` to an attribute registers it, so ``parameters()``, ``state_dict()`` and the
    optimizer find it; ``forward`` only calls operators, so the backward pass comes for free.
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        bound = 1 / math.sqrt(in_features)  # torch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        self.weight = nn.Parameter(lamina.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(lamina.zeros(out_features))
        self.scale = nn.Parameter(lamina.ones(out_features))

    def forward(self, x):
        return (x @ self.weight.T + self.bias) * self.scale


# ---- a block with control flow and a shared layer ----------------------------------------------------------------

class Refine(nn.Module):
    """x <- x + tanh(shared(x)), repeated until the update is small next to x (or ``max_steps`` is reached).

    ``forward`` is ordinary Python: the loop length depends on the data, and the same Linear runs at every step
    (its parameters are listed once and receive the sum of the gradients of all its uses).
    """

    def __init__(self, width, max_steps=4, tol=0.45):
        super().__init__()
        self.shared = nn.Linear(width, width)
        self.max_steps, self.tol = max_steps, tol
        self.steps_taken = 0  # plain attributes are neither parameters nor buffers

    def forward(self, x):
        for step in range(1, self.max_steps + 1):
            update = self.shared(x).tanh()
            relative = (update.abs().mean() / (x.abs().mean() + 1e-6)).item()
            x = x + update
            if relative < self.tol:  # a data-dependent early exit: this batch needs no more refining
                break
        self.steps_taken = step
        return x


# ---- a residual block ----------------------------------------------------------------------------------------------

class Residual(nn.Module):
    """relu(x + bn(conv(relu(bn(conv(x)))))): the skip connection is just an add."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        return (out + x).relu()


# ---- a block with a buffer -------------------------------------------------------------------------------------------

class RunningCenter(nn.Module):
    """Subtracts a running mean of its inputs (over the batch), updated in training mode only.

    The mean is a buffer: saved in ``state_dict`` and moved with the model, but not trained.
    """

    def __init__(self, *shape, momentum=0.1):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("running_mean", lamina.zeros(*shape))

    def forward(self, x):
        if self.training:
            with lamina.no_grad():  # the statistic is bookkeeping, not part of the graph
                self.running_mean.mul_(1 - self.momentum).add_(x.mean(0) * self.momentum)
        return x - self.running_mean


# ---- the model: blocks made of the layers above ---------------------------------------------------------------------

class DigitsModel(nn.Module):
    """center -> conv stem -> residual block -> pool -> ScaledLinear -> Refine -> Linear head."""

    def __init__(self, width=8, hidden=32, classes=10):
        super().__init__()
        self.center = RunningCenter(1, 8, 8)
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU())
        self.residual = Residual(width)
        self.pool = nn.MaxPool2d(2)                         # 8x8 -> 4x4
        self.project = ScaledLinear(width * 4 * 4, hidden)
        self.refine = Refine(hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        x = self.pool(self.residual(self.stem(self.center(x))))
        x = self.project(x.flatten(1)).relu()
        return self.head(self.refine(x))


def accuracy(model, x, y):
    model.eval()
    with lamina.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def train(model, loader, epochs, quick):
    """A plain PyTorch-style loop; returns the mean loss of each epoch."""
    optimizer = lamina.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for epoch in range(1, epochs + 1):
        model.train()
        total = seen = 0
        steps = []  # how many refining steps each batch took: the data decides
        bar = tqdm(loader, desc=f"epoch {epoch:2d}/{epochs}", leave=False, disable=quick)
        for x, y in bar:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * y.shape[0]
            seen += y.shape[0]
            steps.append(model.refine.steps_taken)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        losses.append(total / seen)
        print(f"epoch {epoch:2d}  loss {losses[-1]:.4f}  refine steps per batch: {min(steps)}..{max(steps)}, "
              f"mean {sum(steps) / len(steps):.2f}")
    return losses


def main(epochs=15, out="out", quick=False):
    lamina.manual_seed(0)
    train_set, test_set = lamina.datasets.digits("train"), lamina.datasets.digits("test")
    if quick:
        epochs = 2
    model = DigitsModel()

    print(model)  # the module tree: every registered sub-module, in order
    print("parameters:", [name for name, _ in model.named_parameters()])
    print("buffers:   ", [name for name, _ in model.named_buffers()])
    # one forward pass on zeros, recording each layer's output shape, parameters and the operators it ran
    lamina.summary(model, input_size=(1, 1, 8, 8), ops=True)

    losses = train(model, DataLoader(train_set, batch_size=32, shuffle=True), epochs, quick)

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "custom_layers.safetensors")
    lamina.save(model.state_dict(), path)  # parameters and buffers (center.running_mean, BatchNorm statistics)
    x_test, y_test = test_set.tensors
    print(f"state_dict ({len(model.state_dict())} tensors) saved to {path}")
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}, test accuracy: {accuracy(model, x_test, y_test):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", default="out", help="folder for the checkpoint")
    parser.add_argument("--quick", action="store_true", help="two epochs, no progress bar (for the tests)")
    args = parser.parse_args()
    main(args.epochs, args.out, args.quick)
