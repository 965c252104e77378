"""model.summary() against real Keras 3's text, the rich-free table renderer against rich, and lamina.summary."""
import numpy as np
import pytest
import rich.console
import rich.table

import lamina
import lamina.nn as nn
import lamina.nn.functional as F
from lamina import keras
from lamina.summary import column_widths, op_flops, render_table
from tests.keras.keras_helpers import Dense, both, fresh, real_keras, summary_text


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    # Keras caps the default width at the terminal's minus 4; a fixed COLUMNS makes both sides agree.
    monkeypatch.setenv("COLUMNS", "200")
    keras.backend.clear_session()


def _branching(lib, D):
    x = lib.Input((8,), name="x")
    y = lib.Input((4,))
    h, h2 = D(16)(x), D(16)(y)
    s = real_keras.layers.Add()([h, h2]) if lib is real_keras else h + h2
    return lib.Model([x, y], [D(1, name="out1")(s), D(3)(s)])


def _chain(lib, D):
    x = lib.Input((8,))
    return lib.Model(x, D(2)(D(4)(x)))


def _sequential(lib, D):
    return lib.Sequential([lib.Input((5,)), D(3), D(2, trainable=False)])


def _nested(lib, D):
    inner = lib.Sequential([D(3), D(2)])
    inner(np.zeros((5, 4), "float32"))
    x = lib.Input((6,))
    return lib.Model(x, inner(D(4)(x)))


def _subclassed(lib, D, call=True):
    class Sub(lib.Model):
        def __init__(self):
            super().__init__()
            self.d1 = D(4)
            self.d2 = D(2)

        def call(self, x):
            return self.d2(self.d1(x))

    model = Sub()
    if call:
        model(np.zeros((3, 6), "float32"))
    return model


def _shared(lib, D):
    a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
    shared = D(2, name="shared")
    return lib.Model([a, b], [shared(a), shared(b)])


def _nested_functional(lib, D):
    i = lib.Input((4,), name="inner_in")
    inner = lib.Model(i, D(3, name="inner_dense")(i), name="inner_model")
    x = lib.Input((4,), name="outer_in")
    a, b = inner(x), D(3)(x)
    return lib.Model(x, real_keras.layers.Add()([a, b]) if lib is real_keras else a + b)


def _long_names(lib, D):
    x = lib.Input((4,), name="a_really_long_input_name_that_will_not_fit_in_the_column_at_all")
    return lib.Model(x, D(3, name="dense_with_a_very_long_name_indeed_yes")(x))


def _dict_outputs(lib, D):
    x = lib.Input((4,), name="x")
    return lib.Model(x, {"a": D(2, name="a")(x), "b": D(3, name="b")(x)})


def _subclassed_stateless_unbuilt(lib, D):
    # Keras builds weightless layers at construction: "0", not "0 (unbuilt)", before the first call.
    class WithDropout(lib.Model):
        def __init__(self):
            super().__init__()
            self.d1 = D(4)
            self.dropout = lib.layers.Dropout(0.5)
            self.act = lib.layers.ReLU()

        def call(self, x):
            return self.act(self.dropout(self.d1(x)))

    return WithDropout()


def _dict_unsorted(lib, D):
    # Keras flattens dicts by sorted key: inputs "a" before "b" and layer "alpha" before "zeta".
    a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")
    h = D(4)(a)
    h2 = D(4)(b)
    s = real_keras.layers.Add()([h, h2]) if lib is real_keras else h + h2
    return lib.Model({"b": b, "a": a}, {"zeta": D(1, name="zeta")(s), "alpha": D(2, name="alpha")(s)})


def _subclassed_list(lib, D):
    class SubList(lib.Model):
        def __init__(self):
            super().__init__()
            self.blocks = []
            for units in (3, 4):
                self.blocks.append(D(units))
            self.head = D(1)

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    model = SubList()
    model(np.zeros((2, 5), "float32"))
    return model


CASES = [
    ("functional branching", _branching, {}),
    ("functional narrow", _branching, {"line_length": 90}),
    ("functional trainable column", _branching, {"show_trainable": True}),
    ("functional chain", _chain, {}),
    ("functional shared layer", _shared, {}),
    ("sequential", _sequential, {}),
    ("sequential narrow trainable", _sequential, {"show_trainable": True, "line_length": 70}),
    ("sequential positions", _sequential, {"positions": [0.3, 0.7, 1.0]}),
    ("nested", _nested, {}),
    ("nested expanded", _nested, {"expand_nested": True}),
    ("subclassed after call", _subclassed, {}),
    ("subclassed before call", lambda lib, D: _subclassed(lib, D, call=False), {}),
    ("layer range", _branching, {"layer_range": ["dense", "add"]}),
    ("nested functional", _nested_functional, {}),
    ("nested functional expanded", _nested_functional, {"expand_nested": True}),
    ("long names wrap", _long_names, {"line_length": 60}),
    ("dict outputs", _dict_outputs, {}),
    ("dict inputs and outputs in sorted key order", _dict_unsorted, {}),
    ("subclassed with weightless layers before call", _subclassed_stateless_unbuilt, {}),
    ("subclassed with a list of layers", _subclassed_list, {"show_trainable": True}),
]


@pytest.mark.parametrize("name,build,kwargs", CASES, ids=[c[0] for c in CASES])
def test_summary_text_matches_keras(name, build, kwargs):
    theirs, ours = both(build, **kwargs)
    assert ours == theirs


def _cnn(lib):
    layers = lib.layers
    x = lib.Input((28, 28, 1))
    h = layers.Conv2D(8, 3, activation="relu")(x)
    h = layers.MaxPooling2D()(layers.BatchNormalization()(h))
    h = layers.Dropout(0.5)(layers.Flatten()(h))
    return lib.Model(x, layers.Dense(10, activation="softmax")(h))


def _sequential_cnn(lib):
    layers = lib.layers
    return lib.Sequential([lib.Input((32, 32, 3)), layers.Conv2D(16, 3, padding="same"), layers.ReLU(),
                           layers.GlobalAveragePooling2D(), layers.Dense(4)])


def _recurrent(lib):
    layers = lib.layers
    x = lib.Input((None,), dtype="int32")
    h = layers.GRU(4)(layers.LSTM(16, return_sequences=True)(layers.Embedding(100, 8)(x)))
    return lib.Model(x, layers.Dense(1)(h))


def _attention_block(lib):
    layers = lib.layers
    x = lib.Input((16,))
    h = layers.LayerNormalization()(layers.Add()([x, layers.Dense(16, activation="relu")(x)]))
    tokens = layers.Reshape((4, 4))(h)
    a = layers.MultiHeadAttention(2, 4)(tokens, tokens)
    return lib.Model(x, layers.Concatenate()([layers.Flatten()(a), h]))


@pytest.mark.parametrize("build", [_cnn, _sequential_cnn, _recurrent, _attention_block],
                         ids=["cnn", "sequential cnn", "recurrent", "attention block"])
def test_summary_with_the_layer_set_matches_keras(build):
    fresh()
    theirs = summary_text(build(real_keras))
    fresh()
    assert summary_text(build(keras)) == theirs


def test_summary_totals_lines_exact():
    fresh()
    model = keras.Sequential([keras.Input((300,)), Dense(1000), Dense(10, trainable=False)])
    text = summary_text(model)
    assert text.endswith(" Total params: 311,010 (1.19 MB)\n Trainable params: 301,000 (1.15 MB)\n"
                         " Non-trainable params: 10,010 (39.10 KB)\n")


def test_summary_of_unbuilt_sequential():
    theirs, ours = both(lambda lib, D: lib.Sequential([D(3), D(2)]))
    assert ours == theirs and "0 (unbuilt)" in ours and "│ ?" in ours


def test_multi_output_layer_shapes_match_keras():
    def two_way(lib):
        class TwoWay(lib.layers.Layer):
            def call(self, x):
                return [x * 1.0, x * 2.0]
        return TwoWay(name="two_way")

    def build(lib, D):
        x = lib.Input((3,))
        a, b = two_way(lib)(x)
        return lib.Model(x, [D(1)(a), b])

    theirs, ours = both(build)
    assert "[(None, 3), (None, 3)]" in ours
    assert ours == theirs


def test_print_fn_default_writes_stdout(capsys):
    fresh()
    model = keras.Sequential([keras.Input((2,)), Dense(1)])
    model.summary()
    assert capsys.readouterr().out == summary_text(model)


# ---- the renderer against rich itself ---------------------------------------------------------------------------

def _rich(header, rows, line_length, positions, alignment):
    widths, current = [], 0
    for pos in positions:
        widths.append(int(pos * line_length) - current)
        current += widths[-1]
    columns = [rich.table.Column(h, justify=a, width=w) for h, a, w in zip(header, alignment, widths)]
    table = rich.table.Table(*columns, width=line_length, show_lines=True)
    for row in rows:
        table.add_row(*[rich.markup.escape(c) for c in row])
    console = rich.console.Console(highlight=False, force_terminal=False, color_system=None, width=400)
    with console.capture() as cap:
        console.print(table)
    return cap.get().rstrip("\n").split("\n")


@pytest.mark.parametrize("line_length", [40, 57, 88, 108, 133])
def test_renderer_matches_rich(line_length):
    import rich.markup  # noqa: F401  (used by _rich)
    rng = np.random.default_rng(line_length)
    words = ["dense", "conv2d_transpose_12", "(None, 28, 28, 64)", "x[0][0],", "Y", "-", "a", "",
             "extraordinarily_long_layer_name_without_spaces_at_all", "1,234,567", "└"]
    header = ["Layer (type)", "Output Shape", "Param #", "Connected to", "Trainable"]
    positions = [0.27, 0.5, 0.67, 0.9, 1.0]
    alignment = ["left", "left", "right", "left", "center"]
    rows = [[" ".join(rng.choice(words, size=rng.integers(1, 5))) for _ in header] for _ in range(6)]
    ours = render_table(header, rows, column_widths(line_length, positions), alignment)
    assert ours == _rich(header, rows, line_length, positions, alignment)


# ---- lamina.summary ------------------------------------------------------------------------------------------

class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.body = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(8 * 13 * 13, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))
        x = self.body(x)
        x = F.max_pool2d(x, 2)
        return self.fc(x.flatten(1))


def test_lamina_summary_table_for_a_module():
    net = SmallCNN()
    out = []
    lamina.summary(net, (2, 1, 28, 28), print_fn=out.append)
    text = out[0]
    assert text.startswith('Model: "SmallCNN"\n')
    for row in ["│ conv (Conv2d)", "│ (2, 4, 26, 26)", "│ body (Sequential)", "│ body.0 (Conv2d)", "│ body.1 (ReLU)",
                "│ fc (Linear)", "│ (2, 10)"]:
        assert row in text
    total = sum(p.numel() for p in net.parameters())
    assert f" Total params: {total:,} ({total * 4 / 1024:.2f} KB)" in text
    assert net.training  # restored after the eval-mode run


def test_lamina_summary_ops_and_flops():
    net = SmallCNN()
    lamina.manual_seed(3)
    expected_next = lamina.rand(2)
    lamina.manual_seed(3)
    out = []
    lamina.summary(net, (2, 1, 28, 28), ops=True, print_fn=out.append)
    assert np.array_equal(lamina.rand(2).numpy(), expected_next.numpy())  # eval mode: no dropout draws
    text = out[0]
    conv1 = 2 * (2 * 4 * 26 * 26) * (1 * 3 * 3)
    conv2 = 2 * (2 * 8 * 26 * 26) * (4 * 3 * 3)
    fc = 2 * 2 * 10 * (8 * 13 * 13)
    assert "FLOPs" in text.split("\n")[2]
    lines = text.split("\n")
    conv_row = next(i for i, line in enumerate(lines) if "│ conv (Conv2d)" in line)
    assert "└ Convolution" in lines[conv_row + 1] and f"{conv1:,}" in lines[conv_row + 1]
    assert any("└ Convolution" in line and f"{conv2:,}" in line for line in lines)
    assert any("└ Linear" in line and f"{fc:,}" in line for line in lines)
    assert any("└ MaxPool" in line for line in lines)
    root = next(line for line in lines if "(root) (SmallCNN)" in line)
    assert root  # the root's own operators (relu, max_pool2d, flatten) get a row of their own
    total = int(lines[-2].split(":")[1].replace(",", "")) if lines[-1] == "" else None
    assert total is not None and total >= conv1 + conv2 + fc
    assert lamina.autograd._op_observer is None


def test_lamina_summary_without_input_and_errors():
    out = []
    lamina.summary(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), print_fn=out.append)
    assert "│ 0 (Linear)" in out[0] and "│ ?" in out[0]
    with pytest.raises(lamina.ArgumentError, match="nn.Module"):
        lamina.summary("net")
    with pytest.raises(lamina.ArgumentError, match="input_size"):
        lamina.summary(nn.Linear(2, 2), "big")


def test_lamina_summary_of_keras_model_and_depth():
    fresh()
    model = keras.Sequential([keras.Input((4,)), Dense(3), Dense(2)])
    out = []
    lamina.summary(model, (5, 4), print_fn=out.append)
    assert 'Model: "sequential"' in out[0] and "│ dense (Dense)" in out[0] and "│ (5, 3)" in out[0]
    out = []
    net = SmallCNN()
    lamina.summary(net, (1, 1, 28, 28), depth=1, ops=True, print_fn=out.append)
    assert "body.0" not in out[0] and "body (Sequential)" in out[0]


def test_op_flops_formulas():
    a, b = np.zeros((4, 5)), np.zeros((5, 6))
    assert op_flops("Matmul", [a, b], [np.zeros((4, 6))]) == 2 * 4 * 6 * 5
    w = np.zeros((3, 5))
    assert op_flops("Linear", [a, w], [np.zeros((4, 3))]) == 2 * 4 * 3 * 5
    x, k = np.zeros((1, 2, 8, 8)), np.zeros((6, 1, 3, 3))  # groups=2: 1 input channel per group
    assert op_flops("Convolution", [x, k, None], [np.zeros((1, 6, 6, 6))]) == 2 * 216 * 9
    assert op_flops("Relu", [a], [a]) == 20 and op_flops("Reshape", [a], [a]) == 0
    assert op_flops("Sum", [a], [np.zeros(())]) == 20
