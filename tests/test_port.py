"""A PyTorch script runs on Lamina by changing its imports, and computes the same thing.

The script below is ordinary torch code: a custom Module with a shared layer and a buffer, Sequential, a lazy
layer, nn.init through apply(), parameter access, an optimizer with a scheduler, state_dict round trip. It is run
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
