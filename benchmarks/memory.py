"""Peak memory of a training loop, each framework in a fresh process.

``python -m benchmarks --memory`` calls :func:`compare`; one measurement by hand is
``python -m benchmarks.memory lamina W2 20``. The child imports only the framework it measures (never both),
builds the workload, runs ``steps`` steps and reads from ``/proc/self/status``:

- ``VmHWM``: the peak resident set of the whole process (interpreter + framework + model + loop);
- ``VmRSS`` just before the model is built, so ``peak - base`` is what building and running the loop added on top
  of the imported framework (torch's import alone is several times Lamina's, which the total hides).

Linux only (``/proc``); elsewhere ``compare`` returns no rows.
"""
import os
import statistics
import subprocess
import sys


def _status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure(lib_name, workload, steps, size="full"):
    """Run ``steps`` steps of ``workload`` (a prefix such as 'W2') with ``lib_name``; return (base, peak) in MB."""
    import importlib

    lib = importlib.import_module(lib_name)
    from benchmarks.workloads import WORKLOADS

    build = next(b for name, b in WORKLOADS.items() if name.startswith(workload + " "))
    base = _status_mb("VmRSS")
    step = build(lib, size)
    for _ in range(steps):
        step()
    return base, _status_mb("VmHWM")


def _run_child(lib_name, workload, steps, size):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-m", "benchmarks.memory", lib_name, workload, str(steps), size],
                         capture_output=True, text=True, check=True, env=env, cwd=root).stdout.split()
    return float(out[0]), float(out[1])


def compare(workloads=("W2", "W4"), steps=20, runs=3, size="full"):
    """Rows of peak RSS for each workload: lamina's and torch's loop, each in ``runs`` fresh processes (medians)."""
    if not os.path.exists("/proc/self/status"):
        return []
    rows = []
    for w in workloads:
        result = {}
        for lib_name in ("lamina", "torch"):
            samples = [_run_child(lib_name, w, steps, size) for _ in range(runs)]
            base = statistics.median(s[0] for s in samples)
            peak = statistics.median(s[1] for s in samples)
            result[lib_name] = (base, peak)
        (lb, lp), (tb, tp) = result["lamina"], result["torch"]
        rows.append({"workload": f"{w} peak RSS, whole process (MB)", "lamina_ms": lp, "torch_ms": tp,
                     "ratio": lp / tp, "note": f"MB, not ms; {steps} steps, fresh process per framework"})
        rows.append({"workload": f"{w} peak RSS above the import (MB)", "lamina_ms": lp - lb, "torch_ms": tp - tb,
                     "ratio": (lp - lb) / (tp - tb), "note": "MB, not ms; model + data + loop only"})
    return rows


if __name__ == "__main__":
    lib_name, workload, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    base, peak = measure(lib_name, workload, steps, sys.argv[4] if len(sys.argv) > 4 else "full")
    print(f"{base:.2f} {peak:.2f}")
