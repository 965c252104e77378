"""A checkpoint saved by PyTorch (safetensors) loaded into the same model written with Lamina.

Trains a small CNN with torch on the embedded digits, saves its ``state_dict`` with ``safetensors.torch.save_file``,
builds the same architecture in Lamina (same layer names, so the keys match), loads the file with ``lamina.load``
and compares the two models' predictions. torch is not a Lamina dependency: without torch and safetensors
installed, the script says what it would do and exits.

Run: ``python examples/torch_checkpoint.py [--epochs N] [--out DIR] [--quick]`` (needs ``pip install torch
safetensors`` to run fully).
"""
import argparse
import os

import lamina
import lamina.datasets
from lamina import nn


def lamina_cnn():
    """The Lamina side. Module names and nesting decide the state_dict keys ('features.0.weight', ...), so the
    architecture mirrors the torch one exactly; Lamina's layers use torch's parameter layouts (Conv2d weights
    (out, in, kh, kw), Linear weights (out, in)), so the tensors load as they are."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),                      # 32 x 2 x 2
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def torch_cnn(torch):
    """The same network written with torch.nn, line for line."""
    tnn = torch.nn
    return tnn.Sequential(
        tnn.Conv2d(1, 16, 3, padding=1), tnn.BatchNorm2d(16), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(128, 64), tnn.ReLU(), tnn.Linear(64, 10),
    )


def train_with_torch(torch, model, x, y, epochs):
    """A few epochs of Adam in torch, so the checkpoint holds a trained model (and BatchNorm running stats)."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for epoch in range(epochs):
        for batch in torch.randperm(len(y)).split(32):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        print(f"torch epoch {epoch + 1}: last batch loss {loss.item():.4f}")
    model.eval()


def main(epochs=5, out="out", quick=False):
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError as e:
        print(f"torch or safetensors is not installed ({e}).\n"
              "With them, this script would train a small CNN in torch, save its state_dict with "
              "safetensors.torch.save_file, load that file into the same CNN written with Lamina "
              "(model.load_state_dict(lamina.load(path))) and check that both give the same predictions.\n"
              "Install them with: pip install torch safetensors")
        return None

    train_set, test_set = lamina.datasets.digits("train"), lamina.datasets.digits("test")
    # Lamina tensors -> NumPy -> torch: only the data crosses, no framework objects
    x_train, y_train = (torch.from_numpy(t.numpy()) for t in train_set.tensors)
    x_test_lamina, y_test_lamina = test_set.tensors
    x_test = torch.from_numpy(x_test_lamina.numpy())

    torch.manual_seed(0)
    reference = torch_cnn(torch)
    train_with_torch(torch, reference, x_train, y_train, 1 if quick else epochs)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "torch_cnn.safetensors")
    save_file(reference.state_dict(), path)
    print(f"torch saved {len(reference.state_dict())} tensors to {path}")

    # The Lamina side: a fresh model, the torch checkpoint loaded by key. lamina.load reads any safetensors file
    # (and never unpickles anything); strict loading fails loudly on a missing or unexpected key.
    model = lamina_cnn()
    model.load_state_dict(lamina.load(path))
    model.eval()  # BatchNorm uses the running statistics torch saved

    with torch.no_grad():
        expected = reference(x_test).numpy()
    with lamina.no_grad():
        got = model(x_test_lamina).numpy()
    max_diff = float(abs(got - expected).max())
    same_argmax = bool((got.argmax(1) == expected.argmax(1)).all())
    accuracy = float((got.argmax(1) == y_test_lamina.numpy()).mean())
    print(f"logits of {len(got)} test images: max abs difference torch vs Lamina {max_diff:.2e}")
    print(f"Lamina test accuracy with torch's weights: {accuracy:.3f}")
    print(f"identical argmax: {same_argmax}")
    return max_diff, same_argmax


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs of torch training before saving")
    parser.add_argument("--out", default="out", help="folder for the checkpoint")
    parser.add_argument("--quick", action="store_true", help="one epoch of torch training (for the tests)")
    args = parser.parse_args()
    main(args.epochs, args.out, args.quick)
