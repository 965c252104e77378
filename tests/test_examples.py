"""Every runnable example works in its quick mode, and the demo's promises hold."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_quick(name, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), "--quick", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]


def test_demo_checkpoint_and_curves(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py"), "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600).stdout
    assert "identical predictions: True" in out
    assert out.strip().splitlines()[-1].startswith("test accuracy: ")
    assert (tmp_path / "digits_cnn.safetensors").exists() and (tmp_path / "digits_curves.png").exists()
    assert "Total params: 13,706" in out


def test_plot_history_writes_a_png(tmp_path):
    from lamina.utils.plotting import plot_history
    path = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}, tmp_path / "c.png")
    assert pathlib.Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
