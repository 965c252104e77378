"""The benchmarks run (smoke mode: tiny sizes, one repeat). No timing is asserted: timings belong in benchmarks/."""
import json
import os
import subprocess
import sys

import pytest

from benchmarks import __main__ as suite
from benchmarks import memory, ops


def test_benchmark_suite_smoke(tmp_path):
    rows = suite.main(["--smoke", "--json", str(tmp_path / "r.json")])
    names = [r["workload"] for r in rows]
    assert any(n.startswith("W1") for n in names) and any(n.startswith("K-W2") for n in names)
    assert any("RSS" in n for n in names)
    assert all(r["ratio"] > 0 for r in rows)
    assert json.loads((tmp_path / "r.json").read_text())["rows"]


def test_ops_benchmark_smoke(tmp_path):
    rows = ops.main(["--quick", "--json", str(tmp_path / "ops.json")])
    assert len(rows) == 3 and all(r["ratio"] > 0 for r in rows)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak RSS is read from /proc (Linux only)")
def test_memory_rows_smoke():
    rows = memory.compare(["W2"], steps=1, runs=1, size="smoke")
    assert [r["workload"] for r in rows] == ["W2 peak RSS, whole process (MB)", "W2 peak RSS above the import (MB)"]
    assert all(r["lamina_ms"] > 0 and r["torch_ms"] > 0 for r in rows)


def test_before_after_script_runs():
    # in a subprocess: the script swaps lamina's modules in sys.modules while it runs
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-m", "benchmarks.ab", root, "--only", "W6", "--repeat", "1"], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    assert "| W6 MLP inference latency (batch 1) |" in out


def test_single_workload_script_smoke():
    from benchmarks import single
    assert single.main(["W1", "--repeat", "1", "--size", "smoke"]) > 0
