"""Run the benchmark suite: ``python -m benchmarks [--smoke] [--json PATH] [--only W1,W4] [--memory]``.

Each workload runs on Lamina and on torch 2.13 in the same process, alternating run by run, and the report is the
ratio of medians lamina / torch (lower is better for Lamina). W7 times whole processes that only import.
``--memory`` adds the peak resident memory of training loops (W2 and W4, or the W1-W5 named by ``--only``), each
framework's loop in a fresh process (see benchmarks/memory.py).
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


PAUSE_S = 0.2      # seconds between samples: see time_pair


def blas_core():
    """The kernel family NumPy's OpenBLAS runs (e.g. 'SkylakeX'), or None where it is not OpenBLAS or can't say.

    OPENBLAS_CORETYPE forces a family: some machines set it to an older one (Haswell: AVX2, no AVX-512) to work
    around old OpenBLAS builds, which makes every GEMM here about 1.7x slower than what the CPU runs by itself.
    """
    import ctypes
    import glob
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return None


def _calls_per_sample(step, target_s=0.02):
    """How many back-to-back calls of ``step`` make one sample of about ``target_s`` (at least 1)."""
    t0 = time.perf_counter()
    step()
    return max(1, min(1000, int(target_s / max(time.perf_counter() - t0, 1e-7))))


def time_pair(lamina_step, torch_step, repeat, warmup, pause=PAUSE_S):
    """Median seconds per call of each step, sampled alternately so machine noise hits both alike.

    A sample runs the step ``n`` times back to back, with ``n`` chosen so that a sample lasts about 20 ms (1 for
    every training step here, ~100 for the batch-1 latency): timing one 0.1 ms call right after the other
    framework ran measures that framework's eviction of the caches more than the call itself.

    Each sample starts ``pause`` seconds after the previous one ended. Both frameworks' worker threads keep
    spinning on the cores for a while after their last parallel call (OpenBLAS's for up to ~0.1 s, torch's
    OpenMP ones for a few ms), so without the pause every sample would also time the other framework's idle
    threads competing for the 2 cores. Then one untimed call: after the other framework's sample, the first call
    finds its worker threads asleep and its weights and buffers out of the caches. That call measured up to 4x a
    steady one (torch's W1 step: 2.8 ms back to back, 4-14 ms as the first after a Lamina step), and a training
    loop pays it once, not every step.
    """
    for _ in range(warmup):
        lamina_step(), torch_step()
    n = min(_calls_per_sample(lamina_step), _calls_per_sample(torch_step))
    lam, tor = [], []
    for _ in range(repeat):
        for step, samples in ((lamina_step, lam), (torch_step, tor)):
            time.sleep(pause)
            step()
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            samples.append((time.perf_counter() - t0) / n)
    return statistics.median(lam), statistics.median(tor)


def import_cost(module, runs):
    """Median wall time and peak RSS (MB) of a fresh ``python -c 'import module'``.

    The children may write and read bytecode caches even where PYTHONDONTWRITEBYTECODE is set (as in some
    sandboxes), and one untimed run fills them first: that is the state after ``pip install``, which compiles
    every installed module, torch's included. Without caches each run would time the compiling of Lamina's
    sources (about 0.1 s here) against an already compiled torch.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True, capture_output=True)
    times, peaks = [], []
    for _ in range(runs):
        # VmHWM (peak resident set of this process image): ru_maxrss would include the parent's peak, since
        # Linux keeps it across exec.
        code = (f"import time; t = time.perf_counter(); import {module}; dt = time.perf_counter() - t; "
                "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
                "print(dt, hwm)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env=env).stdout.split()
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
    parser.add_argument("--memory", action="store_true",
                        help="also measure the peak RSS of training loops, each framework in a fresh process")
    args = parser.parse_args(argv)
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced and not args.smoke:
        print(f"note: OPENBLAS_CORETYPE={forced} forces NumPy's OpenBLAS onto that kernel family (running "
              f"{blas_core()}); to time what this CPU runs, unset it for this command alone: env -u "
              "OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks (or make bench)", file=sys.stderr)
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
    if args.memory:
        from benchmarks import memory
        loops = [w for w in ("W1", "W2", "W3", "W4", "W5") if wanted and w in wanted] or ["W2", "W4"]
        rows.extend(memory.compare(loops, steps=2 if args.smoke else 20, runs=1 if args.smoke else 3, size=size))
    # The load average says whether other processes shared the cores: with 2 BLAS/OpenMP threads per framework
    # on 2 cores, a busy neighbour slows both frameworks many times over, and not by the same factor.
    header = (f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
              f"({torch.get_num_threads()} threads), numpy {np.__version__}, OPENBLAS_NUM_THREADS="
              f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, OpenBLAS kernel {blas_core()} (OPENBLAS_CORETYPE="
              f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}), load average at the end "
              f"{os.getloadavg()[0]:.2f}")
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
