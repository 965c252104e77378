"""Lamina's main demo: a LeNet-style CNN trained on the embedded handwritten digits, in the PyTorch idiom.

Nothing is downloaded: the 1797 8x8 digits ship with Lamina. The script prints the model summary, trains with a
progress bar, reports the held-out accuracy, saves a checkpoint in the safe format (safetensors, never pickle),
reloads it into a fresh model to show identical predictions, and writes the loss/accuracy curves to a PNG.

Run: ``make demo`` (or ``python examples/demo.py [--epochs N] [--out DIR] [--quick]``).
"""
import argparse
import os
import time

import lamina
import lamina.datasets
from lamina import nn
from lamina.utils.data import DataLoader

try:
    from tqdm import tqdm
except ImportError:  # the progress bar is a nicety; training works without it
    def tqdm(iterable, **kwargs):
        return iterable


class DigitsNet(nn.Module):
    """LeNet's shape scaled to 8x8 inputs: two conv+pool stages, then two dense layers."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # 16 x 4 x 4
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # 32 x 2 x 2
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2),
                                        nn.Linear(64, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def evaluate(model, loader):
    """(mean loss, accuracy) over a loader, in eval mode (dropout off) and without building a graph."""
    model.eval()
    total_loss = correct = total = 0
    with lamina.no_grad():
        for x, y in loader:
            logits = model(x)
            total_loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(dim=1) == y).sum().item()
            total += y.shape[0]
    return total_loss / total, correct / total


def main(epochs=30, out="out", quick=False):
    lamina.manual_seed(0)
    train_set, test_set = lamina.datasets.digits("train"), lamina.datasets.digits("test")
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    model = DigitsNet()
    lamina.summary(model, input_size=(1, 1, 8, 8))
    optimizer = lamina.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = lamina.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = {"loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}  # val_: the held-out split
    start = time.perf_counter()
    for epoch in range(1, (2 if quick else epochs) + 1):
        model.train()
        total_loss = correct = seen = 0
        bar = tqdm(train_loader, desc=f"epoch {epoch:2d}/{epochs}", leave=False, disable=quick)
        for x, y in bar:
            optimizer.zero_grad()
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * y.shape[0]
            correct += (logits.argmax(dim=1) == y).sum().item()
            seen += y.shape[0]
            if hasattr(bar, "set_postfix"):  # refresh=False: the bar redraws at its own pace, not every batch
                bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        scheduler.step()
        val_loss, val_accuracy = evaluate(model, test_loader)
        for name, value in (("loss", total_loss / seen), ("accuracy", correct / seen), ("val_loss", val_loss),
                            ("val_accuracy", val_accuracy)):
            history[name].append(value)
        print(f"epoch {epoch:2d}  loss {history['loss'][-1]:.4f}  accuracy {history['accuracy'][-1]:.3f}  "
              f"val_loss {val_loss:.4f}  val_accuracy {val_accuracy:.3f}")
    print(f"trained in {time.perf_counter() - start:.1f} s")

    os.makedirs(out, exist_ok=True)
    checkpoint = os.path.join(out, "digits_cnn.safetensors")
    lamina.save(model.state_dict(), checkpoint)
    restored = DigitsNet()
    restored.load_state_dict(lamina.load(checkpoint))
    restored.eval(), model.eval()
    x_test = test_set.tensors[0]
    with lamina.no_grad():
        before, after = model(x_test), restored(x_test)
    # bit for bit: the same logits, hence the same predicted classes
    same = bool((before == after).all()) and bool((before.argmax(dim=1) == after.argmax(dim=1)).all())
    print(f"checkpoint saved to {checkpoint} and reloaded: identical predictions: {same}")
    try:
        from lamina.utils.plotting import plot_history
        curves = plot_history(history, os.path.join(out, "digits_curves.png"),
                              title="DigitsNet on the embedded digits (val_: the held-out split)")
        print(f"curves written to {curves}")
    except ImportError as e:
        print(f"(no curves: {e})")
    _, accuracy = evaluate(model, test_loader)
    print(f"test accuracy: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="out", help="folder for the checkpoint and the curves")
    parser.add_argument("--quick", action="store_true", help="two epochs, no progress bar (for the tests)")
    args = parser.parse_args()
    main(args.epochs, args.out, args.quick)
