"""Lamina's interim demo: a two-layer network written with raw operators, trained on an embedded dataset.

The dataset is three interleaved spirals generated from a fixed seed, so nothing is downloaded. The model is
just tensors and operators: matmul, add, relu, logsumexp; autograd supplies the gradients and a hand-written
SGD step updates the weights. Run: ``make demo`` (or ``python examples/demo.py``).
"""
import math

import lamina


def spirals(n_per_class=200, classes=3, noise=0.2, generator=None):
    """Points on ``classes`` interleaved spirals: features (N, 2) float32 and one-hot labels (N, classes)."""
    g = generator.np
    xs, ys = [], []
    for c in range(classes):
        r = [i / n_per_class for i in range(n_per_class)]
        for i, radius in enumerate(r):
            angle = c * 2 * math.pi / classes + 4.0 * radius + noise * g.standard_normal()
            xs.append([radius * math.sin(angle), radius * math.cos(angle)])
            ys.append([1.0 if k == c else 0.0 for k in range(classes)])
    return lamina.tensor(xs), lamina.tensor(ys)


def main(steps=300, hidden=64, lr=1.0, log_every=30):
    g = lamina.Generator().manual_seed(0)
    x, y = spirals(generator=g)
    w1 = (lamina.randn(2, hidden, generator=g) * math.sqrt(2 / 2)).requires_grad_()
    b1 = lamina.zeros(hidden, requires_grad=True)
    w2 = (lamina.randn(hidden, 3, generator=g) * math.sqrt(1 / hidden)).requires_grad_()
    b2 = lamina.zeros(3, requires_grad=True)
    params = [w1, b1, w2, b2]
    print(f"training a 2-{hidden}-3 network written with raw operators on {x.shape[0]} spiral points")
    for step in range(steps + 1):
        logits = (x @ w1 + b1).relu() @ w2 + b2
        log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
        loss = -(y * log_probs).sum(dim=1).mean()
        loss.backward()
        with lamina.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        if step % log_every == 0:
            accuracy = (logits.argmax(dim=1) == y.argmax(dim=1)).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")
    return loss.item()


if __name__ == "__main__":
    main()
