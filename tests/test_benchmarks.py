"""The benchmarks run (smoke mode: tiny sizes, one repeat). No timing is asserted: timings belong in benchmarks/."""
import json

from benchmarks import __main__ as suite
from benchmarks import ops


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
