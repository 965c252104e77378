"""A PyTorch script runs on Lamina by changing its imports, and computes the same thing.

The scripts below are ordinary torch code. The first: a custom Module with a shared layer and a buffer,
Sequential, nn.init through apply(), parameter access, an optimizer with a scheduler, state_dict round trip. The
second: lazy layers materialized by a checkpoint, ModuleList/ModuleDict, frozen parameters, parameter groups from
named_parameters, gradient clipping, AdamW with OneCycleLR, torch.save/torch.load of a checkpoint file. Each runs
twice: as written with torch, and with its imports pointed at lamina. Same initial weights (copied through
state_dict), same data: same losses.
"""
import numpy as np

import lamina
import torch

SCRIPT = '''
import torch
from torch import nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.MaxPool2d(2), nn.Flatten())
        self.shared = nn.Linear(64, 64)
        self.head = nn.Linear(64, 3)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        h = self.features(x)
        for _ in range(2):
            h = F.relu(self.shared(h)) + h
        self.steps += 1
        return self.head(h)


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


model = Net()
model.apply(init_weights)
model.load_state_dict(initial_state)        # identical starting weights on both sides
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
losses = []
for step in range(6):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())
model.eval()
with torch.no_grad():
    predictions = model(x).argmax(dim=1)
state = model.state_dict()
clone = Net()
clone.load_state_dict(state)
clone.eval()
same = bool((clone(x) == model(x)).all())
'''


def _run(lib, initial_state, x, y):
    code = SCRIPT.replace("import torch\n", f"import {lib.__name__} as torch\n").replace(
        "from torch import nn", f"from {lib.__name__} import nn").replace(
        "import torch.nn.functional as F", f"import {lib.__name__}.nn.functional as F")
    namespace = {"initial_state": {k: lib.tensor(v) for k, v in initial_state.items()},
                 "x": lib.tensor(x), "y": lib.tensor(y)}
    exec(compile(code, f"<script on {lib.__name__}>", "exec"), namespace)
    return namespace


def test_torch_script_runs_on_lamina_by_changing_imports():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    # take torch's freshly initialised weights as the common starting point
    exec_ns = {}
    exec(compile(SCRIPT.split("model = Net()")[0], "<defs>", "exec"), exec_ns)
    torch.manual_seed(0)
    seed_model = exec_ns["Net"]()
    initial = {k: v.detach().numpy().copy() for k, v in seed_model.state_dict().items()}
    t = _run(torch, initial, x, y)
    l_ = _run(lamina, initial, x, y)
    assert t["n_params"] == l_["n_params"]
    np.testing.assert_allclose(l_["losses"], t["losses"], rtol=2e-4, atol=2e-5)
    assert l_["losses"][-1] < l_["losses"][0]
    assert l_["predictions"].tolist() == t["predictions"].tolist()
    assert list(l_["state"].keys()) == list(t["state"].keys())
    assert l_["same"] and t["same"]
    assert l_["model"].steps.item() == t["model"].steps.item() == 8


SCRIPT_LAZY = '''
import torch
from torch import nn
import torch.nn.functional as F


class Encoder(nn.Module):
    """Lazy layers, a ModuleList and a ModuleDict of heads, dropout, parameter groups and a frozen part."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.LazyConv2d(6, 3, padding=1), nn.LazyBatchNorm2d(), nn.GELU())
        self.blocks = nn.ModuleList([nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.ReLU()) for _ in range(2)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.heads = nn.ModuleDict({"cls": nn.LazyLinear(3), "aux": nn.Linear(6, 1)})
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h) + h
        h = self.drop(self.pool(h).flatten(1))
        return self.heads["cls"](h), self.heads["aux"](h).squeeze(1)


model = Encoder()
model.load_state_dict(initial_state)      # materializes the lazy layers with the checkpoint's shapes
for p in model.heads["aux"].parameters():
    p.requires_grad_(False)               # frozen
decay = [p for n, p in model.named_parameters() if p.requires_grad and n.endswith("weight")]
no_decay = [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith("weight")]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=1e-2)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-2, total_steps=8)
model.eval()                              # dropout off: both frameworks compute the same thing
losses, lrs, norms = [], [], []
for step in range(8):
    optimizer.zero_grad()
    logits, aux = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.1) + 0.1 * F.mse_loss(aux, t)
    loss.backward()
    norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())
    lrs.append(scheduler.get_last_lr()[0])
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": 8}, checkpoint_path)
checkpoint = torch.load(checkpoint_path)
restored = Encoder()
restored.load_state_dict(checkpoint["model"])
restored.eval()
with torch.no_grad():
    same = bool((restored(x)[0] == model(x)[0]).all())
frozen_unchanged = bool((model.heads["aux"].weight == initial_state["heads.aux.weight"]).all())
n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
'''


def test_torch_script_with_lazy_layers_and_checkpoint_file_runs_on_lamina(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 2, 5, 5)).astype(np.float32)
    y, t = rng.integers(0, 3, 6), rng.standard_normal(6).astype(np.float32)
    defs = {}
    exec(compile(SCRIPT_LAZY.split("model = Encoder()")[0], "<defs>", "exec"), defs)
    torch.manual_seed(0)
    seed_model = defs["Encoder"]()
    seed_model(torch.tensor(x))           # torch's lazy layers take their shapes from this first call
    initial = {k: v.detach().numpy().copy() for k, v in seed_model.state_dict().items()}
    results = {}
    for lib in (torch, lamina):
        code = SCRIPT_LAZY.replace("import torch\n", f"import {lib.__name__} as torch\n").replace(
            "from torch import nn", f"from {lib.__name__} import nn").replace(
            "import torch.nn.functional as F", f"import {lib.__name__}.nn.functional as F")
        namespace = {"initial_state": {k: lib.tensor(v) for k, v in initial.items()}, "x": lib.tensor(x),
                     "y": lib.tensor(y), "t": lib.tensor(t),
                     "checkpoint_path": str(tmp_path / f"{lib.__name__}.ckpt")}
        exec(compile(code, f"<script on {lib.__name__}>", "exec"), namespace)
        results[lib] = namespace
    tr, lr = results[torch], results[lamina]
    # torch leaves a lazy layer's in_channels/in_features at 0 when a checkpoint materializes it; lamina infers them
    expected = repr(tr["model"]).replace("Conv2d(0, 6", "Conv2d(2, 6").replace("BatchNorm2d(0,", "BatchNorm2d(6,")
    expected = expected.replace("in_features=0,", "in_features=6,")
    assert repr(lr["model"]) == expected
    assert lr["n_trainable"] == tr["n_trainable"]
    np.testing.assert_allclose(lr["losses"], tr["losses"], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(lr["norms"], tr["norms"], rtol=2e-4, atol=2e-5)
    assert lr["lrs"] == tr["lrs"]
    assert lr["losses"][-1] < lr["losses"][0]
    assert lr["same"] and tr["same"] and lr["frozen_unchanged"] and tr["frozen_unchanged"]
    assert lr["checkpoint"]["step"] == 8 and list(lr["checkpoint"]["model"]) == list(tr["checkpoint"]["model"])
