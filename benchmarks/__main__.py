"""Run the benchmark suite: ``python -m benchmarks [--smoke] [--json PATH] [--only W1,W4]``.

Each workload runs on Lamina and on torch 2.13 in the same process, alternating run by run, and the report is the
ratio of medians lamina / torch (lower is better for Lamina). W7 times whole processes that only import.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import lamina
from benchmarks.workloads import WORKLOADS


def time_pair(lamina_step, torch_step, repeat, warmup):
    for _ in range(warmup):
        lamina_step(), torch_step()
    lam, tor = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        lamina_step()
        t1 = time.perf_counter()
        torch_step()
        t2 = time.perf_counter()
        lam.append(t1 - t0)
        tor.append(t2 - t1)
    return statistics.median(lam), statistics.median(tor)


def import_cost(module, runs):
    """Median wall time and peak RSS (MB) of a fresh ``python -c 'import module'``."""
    times, peaks = [], []
    for _ in range(runs):
        # VmHWM (peak resident set of this process image): ru_maxrss would include the parent's peak, since
        # Linux keeps it across exec.
        code = (f"import time; t = time.perf_counter(); import {module}; dt = time.perf_counter() - t; "
                "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
                "print(dt, hwm)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0]))
        peaks.append(int(out[1]) / 1024)
    return statistics.median(times), statistics.median(peaks)


def keras_rows(size, repeat, warmup):
    """W1 and W2 in the Keras idiom (compile + train_on_batch) against the same models in the torch idiom."""
    from benchmarks.keras_workloads import KERAS_WORKLOADS
    rows = []
    for name, (keras_build, torch_idiom_build) in KERAS_WORKLOADS.items():
        k, t = time_pair(keras_build(size), torch_idiom_build(lamina, size), repeat, warmup)
        rows.append({"workload": name, "lamina_ms": k * 1e3, "torch_ms": t * 1e3, "ratio": k / t,
                     "note": "keras idiom / torch idiom, both lamina"})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and one repeat: checks that it runs")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument("--only", help="comma-separated workload prefixes, e.g. W1,W4")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    size = "smoke" if args.smoke else "full"
    repeat = args.repeat or (1 if args.smoke else 15)
    warmup = 1 if args.smoke else 3
    wanted = None if not args.only else tuple(args.only.split(","))
    rows = []
    for name, build in WORKLOADS.items():
        if wanted and not name.startswith(wanted):
            continue
        l, t = time_pair(build(lamina, size), build(torch, size), repeat, warmup)
        rows.append({"workload": name, "lamina_ms": l * 1e3, "torch_ms": t * 1e3, "ratio": l / t})
    if not wanted or "W7" in wanted:
        runs = 1 if args.smoke else 5
        (lt, lm), (tt, tm) = import_cost("lamina", runs), import_cost("torch", runs)
        rows.append({"workload": "W7 import time (s)", "lamina_ms": lt * 1e3, "torch_ms": tt * 1e3, "ratio": lt / tt})
        rows.append({"workload": "W7 import peak RSS (MB)", "lamina_ms": lm, "torch_ms": tm, "ratio": lm / tm,
                     "note": "MB, not ms"})
    if not wanted or "K" in wanted:
        rows.extend(keras_rows(size, repeat, warmup))
    header = (f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
              f"({torch.get_num_threads()} threads), numpy {np.__version__}")
    print(header)
    print("| workload | lamina | torch | lamina / torch |\n|---|---:|---:|---:|")
    for r in rows:
        unit = "MB" if "RSS" in r["workload"] else "ms"
        print(f"| {r['workload']} | {r['lamina_ms']:.2f} {unit} | {r['torch_ms']:.2f} {unit} | {r['ratio']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": header, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
