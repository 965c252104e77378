"""Time one workload on Lamina alone (torch not imported): ``python -m benchmarks.single W5 [--repeat 9]``.

For A/B runs of the process environment, e.g. the allocator tuning (docs/performance.md):
``LAMINA_TUNE_MALLOC=0 python -m benchmarks.single W5`` against ``python -m benchmarks.single W5``, run in
alternation. Prints the median milliseconds per step.
"""
import argparse
import statistics
import time

import lamina
from benchmarks.workloads import WORKLOADS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", help="a workload prefix such as W5")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--size", default="full", choices=["full", "smoke"])
    args = parser.parse_args(argv)
    build = next(b for name, b in WORKLOADS.items() if name.startswith(args.workload + " "))
    step = build(lamina, args.size)
    for _ in range(3):
        step()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1e3
    print(f"{args.workload} lamina alone: {ms:.2f} ms per step (median of {args.repeat})")
    return ms


if __name__ == "__main__":
    main()
