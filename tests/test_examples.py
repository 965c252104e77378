"""Every runnable example works in its quick mode and says what it did; the demo and the RNN example keep their
promises in their default runs; the README's code runs."""
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py"))

# What each example's quick run must print (in order) and write under --out.
PROMISES = {
    "char_gpt.py": (["corpus: 50,000 characters of Python", "GPT with", "held-out loss", "---- temperature 0.5",
                     "---- temperature 1.0", "---- temperature 1.5", "identical logits: True"],
                    ["char_gpt.safetensors"]),
    "custom_layers.py": (["DigitsModel(", "parameters:", "project.scale", "buffers:", "center.running_mean",
                          "Total FLOPs", "epoch  1  loss", "refine steps per batch", "test accuracy: "],
                         ["custom_layers.safetensors"]),
    "custom_rnn_cell.py": (["ParityNet(", "Model: \"parity_rnn\"", "nn.RNN(MinimalGRUCell)",
                            "keras.layers.RNN(KerasMinimalGRUCell)", "final accuracies on 128 held-out"],
                           ["parity_nn_rnn.safetensors", "parity_keras_rnn.weights.safetensors"]),
    "demo.py": (["Model: \"DigitsNet\"", "Total params: 13,706", "epoch  1", "epoch  2", "identical predictions: True",
                 "curves written to", "test accuracy: "],
                ["digits_cnn.safetensors", "digits_curves.png"]),
    "keras_cnn.py": (["Model: \"digits_cnn\"", "Total params: 13,706", "trained 2 epochs", "curves written to",
                      "identical predictions: True", "test accuracy: "],
                     ["digits_cnn.keras", "digits_cnn_best.keras", "keras_cnn_curves.png"]),
    "torch_checkpoint.py": (["torch saved 13 tensors", "max abs difference torch vs Lamina", "identical argmax: True"],
                            ["torch_cnn.safetensors"]),
}


def _run(args, cwd, timeout=600):
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def _in_order(out, fragments):
    position = 0
    for fragment in fragments:
        found = out.find(fragment, position)
        assert found >= 0, f"{fragment!r} missing (or out of order) in the output:\n{out[-3000:]}"
        position = found + len(fragment)


def test_every_example_has_promises():
    assert sorted(PROMISES) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_quick(name, tmp_path):
    out = _run([str(ROOT / "examples" / name), "--quick", "--out", str(tmp_path / "out")], cwd=tmp_path)
    lines, files = PROMISES[name]
    _in_order(out, lines)
    for f in files:
        assert (tmp_path / "out" / f).stat().st_size > 0, f"{name} did not write {f}"
    assert not (tmp_path / "out" / "__pycache__").exists()


def _final_accuracy(out):
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy: (0\.\d{3}|1\.000)", last)
    assert match, f"last line is {last!r}"
    return float(match.group(1))


def test_demo_default_run_reaches_the_promised_accuracy(tmp_path):
    out = _run([str(ROOT / "examples" / "demo.py"), "--out", str(tmp_path)], cwd=tmp_path)
    assert _final_accuracy(out) >= 0.97
    assert "identical predictions: True" in out and "epoch 30" in out
    assert f"curves written to {tmp_path / 'digits_curves.png'}" in out
    assert (tmp_path / "digits_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the checkpoint is a safetensors file: 8-byte header length, then a JSON header
    raw = (tmp_path / "digits_cnn.safetensors").read_bytes()
    assert raw[8:9] == b"{" and int.from_bytes(raw[:8], "little") < len(raw)


def test_demo_is_repeatable(tmp_path):
    runs = [_run([str(ROOT / "examples" / "demo.py"), "--quick", "--out", str(tmp_path / str(i))], cwd=tmp_path)
            for i in range(2)]
    epochs = [[line for line in out.splitlines() if line.startswith(("epoch", "test accuracy"))] for out in runs]
    assert len(epochs[0]) == 3 and epochs[0] == epochs[1]


def test_custom_rnn_cell_learns_in_both_idioms(tmp_path):
    out = _run([str(ROOT / "examples" / "custom_rnn_cell.py"), "--out", str(tmp_path)], cwd=tmp_path)
    last = out.strip().splitlines()[-1]
    match = re.search(r"nn.RNN (\d\.\d+), keras.layers.RNN (\d\.\d+)$", last)
    assert match, last
    assert float(match.group(1)) >= 0.95 and float(match.group(2)) >= 0.95, last


def test_torch_checkpoint_without_torch_explains_and_exits(tmp_path):
    # torch and safetensors made unimportable: the script must say what it would do, not crash
    code = ("import runpy, sys; sys.modules['torch'] = None; sys.modules['safetensors'] = None; "
            f"sys.argv = ['torch_checkpoint.py', '--quick', '--out', {str(tmp_path)!r}]; "
            f"runpy.run_path({str(ROOT / 'examples' / 'torch_checkpoint.py')!r}, run_name='__main__')")
    out = _run(["-c", code], cwd=tmp_path)
    assert "torch or safetensors is not installed" in out and "pip install torch safetensors" in out
    assert not list(tmp_path.iterdir())


def test_plot_history_writes_a_png(tmp_path):
    from lamina.utils.plotting import plot_history
    path = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}, tmp_path / "c.png")
    assert pathlib.Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_readme_code_runs(tmp_path, monkeypatch):
    """Each ```python block of the README runs on its own, as a reader would paste it."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(blocks):
        assert len(block.strip().splitlines()) <= 25, f"README block {i} is no longer a taste"
        try:
            exec(compile(block, f"README.md[block {i}]", "exec"), {"__name__": "__readme__"})
        except Exception as e:  # noqa: BLE001  (report which block failed)
            raise AssertionError(f"README.md: code block {i} failed: {type(e).__name__}: {e}") from e
    quick_start = re.search(r"## Quick start\n\n```\n(.*?)```", readme, flags=re.S).group(1)
    assert [line.split("#")[0].strip() for line in quick_start.strip().splitlines()] == ["make demo", "make test"]


def test_plot_history_takes_a_keras_history_and_refuses_nothing_to_plot(tmp_path):
    import lamina
    from lamina.utils.plotting import plot_history

    class History:  # what Keras's fit returns: .history, a dict of lists
        history = {"loss": [0.9, 0.4, 0.2], "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.5, 0.7, 0.85]}

    assert plot_history(History(), tmp_path / "h.png", title="t").read_bytes()[:4] == b"\x89PNG"
    for bad in ({}, {"val_loss": [1.0]}, {"loss": []}, [1.0, 0.5]):
        with pytest.raises(lamina.ArgumentError, match="plot_history"):
            plot_history(bad, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_without_matplotlib_plotting_names_the_extra_and_the_demo_still_runs(tmp_path):
    code = ("import runpy, sys; sys.modules['matplotlib'] = None; "
            "from lamina.utils.plotting import plot_history, MissingDependencyError\n"
            "try:\n    plot_history({'loss': [1.0]}, 'x.png')\n"
            "except MissingDependencyError as e:\n    print('error:', e)\n"
            f"sys.argv = ['demo.py', '--quick', '--out', {str(tmp_path / 'out')!r}]\n"
            f"runpy.run_path({str(ROOT / 'examples' / 'demo.py')!r}, run_name='__main__')")
    out = _run(["-c", code], cwd=tmp_path)
    assert "error: plot_history() needs matplotlib: pip install 'lamina[plot]'" in out
    assert "(no curves: plot_history() needs matplotlib" in out and not (tmp_path / "out" / "digits_curves.png").exists()
    assert out.strip().splitlines()[-1].startswith("test accuracy: ")
