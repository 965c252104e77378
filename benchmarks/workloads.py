"""The benchmark workloads, each written once against the torch-style API shared by lamina and torch.

A workload is ``build(lib, size) -> step``: it makes a model, data and optimizer with ``lib`` (lamina or torch)
and returns a zero-argument function that runs one timed unit of work (a train step, a forward pass).
``size`` is 'full' for the measured configuration or 'smoke' for a seconds-long check.
"""
import numpy as np


def _data(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _labels(n, classes, seed):
    return np.random.default_rng(seed).integers(0, classes, n)


def _train_step(lib, model, optimizer, x, y, loss_fn):
    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def _seed(lib):
    lib.manual_seed(0)


def mlp(lib, hidden=512):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def w1_mlp_sgd(lib, size):
    """W1: MLP 784-512-512-10, SGD with momentum, train step, batch 128."""
    _seed(lib)
    batch, hidden = (128, 512) if size == "full" else (8, 16)
    model = mlp(lib, hidden)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = lib.tensor(_data((batch, 784), 1)), lib.tensor(_labels(batch, 10, 2))
    return _train_step(lib, model, opt, x, y, lib.nn.functional.cross_entropy)


def cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def w2_cnn_adam(lib, size):
    """W2: CNN (conv 32, conv 64, pooling, two dense layers), Adam, train step, batch 64 of 1x28x28."""
    _seed(lib)
    batch = 64 if size == "full" else 2
    model = cnn(lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    x, y = lib.tensor(_data((batch, 1, 28, 28), 1)), lib.tensor(_labels(batch, 10, 2))
    return _train_step(lib, model, opt, x, y, lib.nn.functional.cross_entropy)


def residual_block(lib, channels):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x):
            out = self.bn1(self.conv1(x)).relu()
            return (self.bn2(self.conv2(out)) + x).relu()

    return Block()


def w3_resnet_blocks(lib, size):
    """W3: a stack of 2 residual basic blocks (64 channels), forward and backward, batch 32 of 32x32."""
    _seed(lib)
    batch, channels, hw = (32, 64, 32) if size == "full" else (2, 4, 8)
    model = lib.nn.Sequential(residual_block(lib, channels), residual_block(lib, channels))
    x = lib.tensor(_data((batch, channels, hw, hw), 1), requires_grad=True)

    def step():
        model.zero_grad()
        x.grad = None
        model(x).sum().backward()
    return step


class _GPTParts:
    pass


def gpt_mini(lib, vocab=96, d=128, heads=4, layers=2, context=64):
    nn = lib.nn

    class GPTMini(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(context, d)
            layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0, batch_first=True,
                                               norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False) if lib.__name__ == "torch" \
                else nn.TransformerEncoder(layer, layers)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(context))

        def forward(self, ids):
            t = ids.shape[1]
            h = self.tok(ids) + self.pos(lib.arange(t))
            h = self.blocks(h, mask=self.mask[:t, :t], is_causal=True)
            return self.head(self.norm(h))

    return GPTMini()


def w4_gpt_mini(lib, size):
    """W4: GPT-mini (2 pre-norm TransformerEncoderLayers, d=128, 4 heads, context 64, vocab 96), AdamW, batch 16."""
    _seed(lib)
    batch, d, context = (16, 128, 64) if size == "full" else (2, 16, 8)
    model = gpt_mini(lib, d=d, context=context)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
    ids = lib.tensor(_labels(batch * context, 96, 1).reshape(batch, context))
    target = lib.tensor(_labels(batch * context, 96, 2).reshape(batch, context))

    def loss_fn(logits, y):
        return lib.nn.functional.cross_entropy(logits.reshape(-1, 96), y.reshape(-1))
    return _train_step(lib, model, opt, ids, target, loss_fn)


def w5_lstm(lib, size):
    """W5: LSTM (1 layer, input 64, hidden 256, 35 steps), train step with SGD, batch 32."""
    _seed(lib)
    batch, hidden, steps = (32, 256, 35) if size == "full" else (2, 8, 5)
    nn = lib.nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(64, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 64)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out)

    model = Model()
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    x, y = lib.tensor(_data((batch, steps, 64), 1)), lib.tensor(_data((batch, steps, 64), 2))
    return _train_step(lib, model, opt, x, y, lib.nn.functional.mse_loss)


def w6_mlp_latency(lib, size):
    """W6: MLP 784-512-512-10 inference latency at batch 1."""
    _seed(lib)
    model = mlp(lib, 512 if size == "full" else 16).eval()
    x = lib.tensor(_data((1, 784), 1))

    def step():
        with lib.no_grad():
            return model(x)
    return step


WORKLOADS = {"W1 MLP train step (SGD momentum, batch 128)": w1_mlp_sgd,
             "W2 CNN train step (Adam, batch 64)": w2_cnn_adam,
             "W3 residual blocks fwd+bwd (64 ch, batch 32, 32x32)": w3_resnet_blocks,
             "W4 GPT-mini train step (AdamW, batch 16)": w4_gpt_mini,
             "W5 LSTM train step (hidden 256, 35 steps, batch 32)": w5_lstm,
             "W6 MLP inference latency (batch 1)": w6_mlp_latency}
