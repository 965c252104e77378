"""Before/after: time two checkouts of Lamina (and torch) on the same workloads in one process, alternating.

    python -m benchmarks.ab /path/to/old/checkout [--only W6,W1] [--repeat 30]

Each checkout's ``lamina`` package is imported under its own set of ``sys.modules`` entries; before each timed call
the entries of the version about to run are put back, so the few imports that Lamina does inside functions resolve
to that version too. The steps run round-robin (old, new, torch), so machine noise hits all three alike. The report
gives each median and the ratios new / old and new / torch; a ratio below 1 means the new checkout is faster.
"""
import argparse
import importlib
import os
import statistics
import sys
import time

import torch

from benchmarks.__main__ import PAUSE_S, _calls_per_sample, blas_core
from benchmarks.workloads import WORKLOADS


def _load(root):
    """Import the ``lamina`` under ``root`` and return its modules (removed again from sys.modules)."""
    for name in [m for m in sys.modules if m == "lamina" or m.startswith("lamina.")]:
        del sys.modules[name]
    sys.path.insert(0, root)
    try:
        lib = importlib.import_module("lamina")
    finally:
        sys.path.remove(root)
    mods = {m: sys.modules[m] for m in sys.modules if m == "lamina" or m.startswith("lamina.")}
    for name in mods:
        del sys.modules[name]
    return lib, mods


def _activate(mods):
    for name in [m for m in sys.modules if m == "lamina" or m.startswith("lamina.")]:
        del sys.modules[name]
    sys.modules.update(mods)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="root of the old checkout (the folder that holds lamina/)")
    parser.add_argument("--new", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        help="root of the new checkout (default: this one)")
    parser.add_argument("--only", help="comma-separated workload prefixes, e.g. W1,W6")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pause", type=float, default=PAUSE_S, help="seconds of sleep before each sample")
    args = parser.parse_args(argv)
    before = {m: sys.modules[m] for m in sys.modules if m == "lamina" or m.startswith("lamina.")}
    try:
        return _compare(args, {"old": _load(os.path.abspath(args.old)), "new": _load(os.path.abspath(args.new))})
    finally:
        _activate(before)  # leave the caller's lamina (if any) in place


def _compare(args, versions):
    wanted = None if not args.only else tuple(args.only.split(","))
    print(f"threads: torch {torch.get_num_threads()}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OpenBLAS kernel {blas_core()}")
    print("| workload | old (ms) | new (ms) | torch (ms) | new / old | old / torch | new / torch |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for name, build in WORKLOADS.items():
        if wanted and not name.startswith(wanted):
            continue
        steps = []
        for key in ("old", "new"):
            lib, mods = versions[key]
            _activate(mods)
            steps.append((mods, build(lib, "full")))
        steps.append((None, build(torch, "full")))
        n = min(_calls_per_sample(step) for _, step in steps)  # calls per sample, as in the suite
        times = [[], [], []]
        for i in range(args.repeat + 3):
            for k, (mods, step) in enumerate(steps):
                if mods is not None:
                    _activate(mods)
                time.sleep(args.pause)   # let the other steps' idle worker threads go quiet (benchmarks/__main__.py)
                step()                   # and wake this one's, with its data back in the caches
                t0 = time.perf_counter()
                for _ in range(n):
                    step()
                if i >= 3:  # the first rounds warm up
                    times[k].append((time.perf_counter() - t0) / n)
        old, new, tor = (statistics.median(t) for t in times)
        rows.append({"workload": name, "old_ms": old * 1e3, "new_ms": new * 1e3, "torch_ms": tor * 1e3})
        print(f"| {name} | {old * 1e3:.3f} | {new * 1e3:.3f} | {tor * 1e3:.3f} | {new / old:.2f} | {old / tor:.2f} "
              f"| {new / tor:.2f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
