"""Operator timings, Lamina against torch 2.13 in the same process.

Each case is timed alternately on the two frameworks (so machine noise hits both alike), with the suite's pause
and untimed call before each sample, and the median of the repeats is reported with the ratio lamina / torch.
Both use their default threading (all cores).

    python benchmarks/ops.py             # full sizes, markdown table
    python benchmarks/ops.py --json out.json
    python benchmarks/ops.py --quick     # tiny sizes, one repeat: a smoke test, not a measurement
"""
import argparse
import json
import os
import platform
import sys

import numpy as np
import torch

import lamina

if __package__ in (None, ""):       # run as a script: make the benchmarks package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def compare(lamina_fn, torch_fn, repeat, warmup=2):
    """Median seconds of each function, sampled alternately as the suite does (benchmarks/__main__.py time_pair:
    a pause and one untimed call before each sample)."""
    from benchmarks.__main__ import PAUSE_S, time_pair
    return time_pair(lamina_fn, torch_fn, repeat, warmup, pause=PAUSE_S if repeat > 1 else 0)


def case_matmul(n):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    la, lb, ta, tb = lamina.tensor(a), lamina.tensor(b), torch.tensor(a), torch.tensor(b)
    return f"matmul {n}x{n} forward", lambda: la @ lb, lambda: ta @ tb


def _train_step(lib, x, params, fn):
    def step():
        for p in params:
            p.grad = None
        out = fn(lib, x, *params)
        out.backward(lib.ones_like(out) if out.ndim else None)
    return step


def case_conv2d(n, c, hw):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((c, c, 3, 3)) * 0.05).astype(np.float32)
    fn = (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1))
    steps = []
    for lib in (lamina, torch):
        params = [lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)]
        steps.append(_train_step(lib, params[0], params[1:], lambda lib_, x_, w_: fn(lib_, x_, w_)))
    return f"conv2d fwd+bwd N={n} {c}->{c} {hw}x{hw} k3 p1", steps[0], steps[1]


def case_cross_entropy(n, classes):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((n, classes)).astype(np.float32)
    target = rng.integers(0, classes, n)
    steps = []
    for lib in (lamina, torch):
        x = lib.tensor(logits, requires_grad=True)
        t = lib.tensor(target)
        steps.append(_train_step(lib, x, [], lambda lib_, x_: lib_.nn.functional.cross_entropy(x_, t)))
    return f"cross_entropy fwd+bwd ({n}, {classes})", steps[0], steps[1]


def run(quick=False):
    if quick:
        cases, repeat = [case_matmul(32), case_conv2d(2, 4, 8), case_cross_entropy(16, 10)], 1
    else:
        cases, repeat = [case_matmul(1024), case_conv2d(32, 64, 32), case_cross_entropy(4096, 1000)], 15
    rows = []
    for name, lamina_fn, torch_fn in cases:
        t_l, t_t = compare(lamina_fn, torch_fn, repeat, warmup=1 if quick else 3)
        rows.append({"case": name, "lamina_ms": t_l * 1e3, "torch_ms": t_t * 1e3, "ratio": t_l / t_t})
    return rows


def markdown(rows):
    lines = ["| case | lamina (ms) | torch (ms) | lamina / torch |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['lamina_ms']:.2f} | {r['torch_ms']:.2f} | {r['ratio']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (smoke test)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    rows = run(args.quick)
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, numpy {np.__version__}, "
          f"torch {torch.__version__}")
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "torch": torch.__version__, "numpy": np.__version__}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
