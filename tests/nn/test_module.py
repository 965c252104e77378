"""nn.Module and the containers: registries, iteration, state_dict, hooks, modes, repr and errors."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import lamina
from lamina import nn
from lamina.errors import ShapeError
from tests.helpers import check_error


class Affine(nn.Module):
    """A layer built from operators with its own parameters and a buffer."""

    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(lamina.ones(n))
        self.bias = nn.Parameter(lamina.zeros(n))
        self.register_buffer("calls", lamina.zeros((), dtype=lamina.int64))
        self.register_buffer("scratch", lamina.zeros(n), persistent=False)
        self.fixed = lamina.randn(n)  # a plain tensor attribute: not a parameter

    def forward(self, x):
        self.calls += 1
        return x * self.weight + self.bias


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Affine(3)
        self.b = self.a            # the same layer twice
        self.blocks = nn.ModuleList([Affine(3), Affine(3)])

    def forward(self, x):
        for _ in range(2):         # control flow in forward
            x = self.a(x)
        for block in self.blocks:
            x = block(x)
        return self.b(x)


def test_registries_and_routing():
    m = Affine(3)
    assert set(m._parameters) == {"weight", "bias"}
    assert set(m._buffers) == {"calls", "scratch"}
    assert "fixed" not in m._parameters and isinstance(m.fixed, lamina.Tensor)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in m.named_buffers()] == ["calls", "scratch"]
    m.weight = None
    assert m.weight is None
    with pytest.raises(TypeError):
        m.bias = lamina.ones(3)  # a plain tensor can't replace a parameter
    del m.bias
    assert "bias" not in m._parameters


def test_shared_layers_listed_once_and_module_tree():
    m = Shared()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["a.weight", "a.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert len(list(m.parameters())) == 6
    assert [n for n, _ in m.named_modules()] == ["", "a", "blocks", "blocks.0", "blocks.1"]
    assert [n for n, _ in m.named_children()] == ["a", "blocks"]
    assert m.get_submodule("blocks.1") is m.blocks[1]
    y = m(lamina.ones(2, 3))
    assert y.shape == (2, 3) and m.a.calls.item() == 3


def test_modules_written_directly_into_underscore_modules():
    class Dyn(nn.Module):
        def __init__(self):
            super().__init__()
            for i in range(3):
                self._modules[str(i)] = nn.Module() if i else Affine(2)

    assert [n for n, _ in Dyn().named_parameters()] == ["0.weight", "0.bias"]


def test_state_dict_keys_and_round_trip():
    m = Shared()
    sd = m.state_dict()
    # torch's order: registration order, a shared layer under each of its names
    assert list(sd) == ["a.weight", "a.bias", "a.calls", "b.weight", "b.bias", "b.calls", "blocks.0.weight",
                        "blocks.0.bias", "blocks.0.calls", "blocks.1.weight", "blocks.1.bias", "blocks.1.calls"]
    assert not sd["a.weight"].requires_grad
    m2 = Shared()
    with lamina.no_grad():
        m.a.weight.mul_(3)
    result = m2.load_state_dict(m.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert m2.a.weight.tolist() == [3.0, 3.0, 3.0]


def test_load_state_dict_reports_every_problem():
    m = Affine(3)
    bad = {"weight": lamina.ones(4), "extra": lamina.ones(1)}
    msg = check_error(lambda: m.load_state_dict(bad), RuntimeError, "Missing key(s)", '"bias"', "Unexpected key(s)",
                      '"extra"', "size mismatch for weight", "[4]", "[3]")
    assert "Affine" in msg
    r = m.load_state_dict({"weight": lamina.full((3,), 2.0)}, strict=False)
    assert r.missing_keys == ["bias", "calls"] and m.weight.tolist() == [2.0] * 3


def test_train_eval_requires_grad_zero_grad_apply_to():
    m = Shared()
    assert m.training and m.blocks[0].training
    m.eval()
    assert not m.training and not m.blocks[1].training
    m.train()
    m(lamina.ones(1, 3)).sum().backward()
    assert m.a.weight.grad is not None
    m.zero_grad()
    assert m.a.weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Shared" and seen.count("Affine") == 3
    m.double()
    assert m.a.weight.dtype == lamina.float64 and m.a.calls.dtype == lamina.int64


def test_hooks():
    m = Affine(2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: out + 1)
    y = m(lamina.ones(2))
    assert y.tolist() == [3.0, 3.0]
    h1.remove(), h2.remove()
    assert m(lamina.ones(2)).tolist() == [1.0, 1.0]
    m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(kwargs), with_kwargs=True)
    m(lamina.ones(2))
    assert calls == [{}]


def test_repr_tree_like_torch():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Sequential(nn.Module(), nn.Module())

        def extra_repr(self):
            return "width=3"

    assert repr(Block()) == ("Block(\n  width=3\n  (inner): Sequential(\n    (0): Module()\n    (1): Module()\n  )\n)")


def test_sequential_list_operations():
    layers = [Affine(2) for _ in range(4)]
    s = nn.Sequential(*layers[:3])
    assert len(s) == 3 and s[0] is layers[0] and s[-1] is layers[2]
    assert isinstance(s[1:], nn.Sequential) and len(s[1:]) == 2
    s.append(layers[3])
    assert list(s._modules) == ["0", "1", "2", "3"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and s[1] is layers[2]
    s.insert(0, layers[1])
    assert s[0] is layers[1] and len(s) == 4
    s.extend([Affine(2)])
    assert len(s) == 5 and len(list(iter(s))) == 5
    named = nn.Sequential(OrderedDict(first=Affine(2), second=Affine(2)))
    assert [n for n, _ in named.named_children()] == ["first", "second"]
    assert named(lamina.ones(2)).shape == (2,)
    with pytest.raises(IndexError):
        s[10]


def test_module_dict_parameter_list_and_dict():
    d = nn.ModuleDict({"x": Affine(2), "y": Affine(2)})
    assert list(d.keys()) == ["x", "y"] and "x" in d and len(d) == 2
    assert [n for n, _ in d.named_parameters()][:2] == ["x.weight", "x.bias"]
    pl = nn.ParameterList([nn.Parameter(lamina.ones(2)), lamina.zeros(3)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter) and pl[1].requires_grad
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"a": nn.Parameter(lamina.ones(1))})
    pd["b"] = lamina.zeros(2)
    assert list(pd.keys()) == ["a", "b"] and [n for n, _ in pd.named_parameters()] == ["a", "b"]


def test_errors_name_the_layer_path():
    class Bad(nn.Module):
        def forward(self, x):
            return x @ lamina.ones(5, 2)

        def extra_repr(self):
            return "in_features=5"

    net = nn.Sequential(Affine(3), nn.Sequential(Affine(3), Bad()))
    msg = check_error(lambda: net(lamina.ones(2, 3)), ShapeError, "1.1 (Bad(in_features=5))", "(2, 3)", "(5, 2)")
    assert msg.count("Bad(") == 1


def test_assign_before_init_and_bad_names():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(lamina.ones(1))

    check_error(Early, AttributeError, "before Module.__init__() call")
    m = nn.Module()
    with pytest.raises(KeyError):
        m.register_buffer("a.b", lamina.ones(1))
    with pytest.raises(TypeError):
        m.register_parameter("w", lamina.ones(1))


# ---- containers against torch.nn: the same script on both, compared by repr ---------------------------------

def _like_torch(fn):
    """Run ``fn(nn, lib)`` with torch and with lamina; the results' reprs must agree (``torch.`` -> ``lamina.``)."""
    expected = repr(fn(torch.nn, torch)).replace("torch.", "lamina.")
    actual = repr(fn(nn, lamina))
    assert actual == expected, f"lamina:\n{actual}\ntorch:\n{expected}"


def _linears(tnn, n=5):
    return [tnn.Linear(i + 1, i + 2) for i in range(n)]


def test_sequential_insert_negative_index_like_list_and_torch():
    def script(tnn, lib):
        s = tnn.Sequential(*_linears(tnn))
        s.insert(2, tnn.ReLU())
        s.insert(-1, tnn.Tanh())           # before the last module, as list.insert
        s.insert(len(s), tnn.Sigmoid())
        s.insert(-len(s), tnn.ELU())        # the most negative index allowed: the front
        return s
    _like_torch(script)
    check_error(lambda: nn.Sequential(nn.ReLU()).insert(-2, nn.Tanh()), IndexError, "Sequential.insert", "-2")
    check_error(lambda: nn.Sequential(nn.ReLU()).insert(2, nn.Tanh()), IndexError, "index 2")


def test_sequential_repeat_and_in_place_add():
    def script(tnn, lib):
        s = tnn.Sequential(tnn.ReLU(), tnn.Linear(2, 2))
        twice, left = s * 2, 2 * s
        assert twice[1] is twice[3] and left[1] is s[1]  # repeated, not copied (torch shares them too)
        grown = tnn.Sequential(tnn.Tanh())
        before = grown
        grown += s
        assert grown is before
        s *= 3
        return twice, left, grown, s, [n for n, _ in s.named_parameters()]
    _like_torch(script)
    check_error(lambda: nn.Sequential(nn.ReLU()) * 0, ValueError, "non-positive", "0")
    check_error(lambda: nn.Sequential(nn.ReLU()) * 1.5, TypeError, "'Sequential' and 'float'")
    check_error(lambda: nn.Sequential(nn.ReLU()) + nn.ReLU(), ValueError, "Sequential", "ReLU")


def test_list_containers_hide_index_names_from_dir():
    _like_torch(lambda tnn, lib: ("0" in dir(tnn.Sequential(tnn.ReLU())), "append" in dir(tnn.Sequential()),
                                  "1" in dir(tnn.ModuleList([tnn.ReLU(), tnn.ReLU()]))))


def test_module_list_repr_compresses_repeated_children_like_torch():
    def script(tnn, lib):
        shared = tnn.Linear(2, 2)
        return tnn.Sequential(tnn.ModuleList([
            tnn.ReLU(), tnn.ReLU(), tnn.Tanh(), shared, shared, tnn.Linear(2, 2),
            tnn.Sequential(tnn.Linear(1, 1), tnn.ReLU()), tnn.Sequential(tnn.Linear(1, 1), tnn.ReLU())]),
            tnn.ModuleList([tnn.ReLU()]), tnn.ModuleList())
    _like_torch(script)
    _like_torch(lambda tnn, lib: tnn.TransformerEncoder(tnn.TransformerEncoderLayer(8, 2, 16), 3,
                                                         enable_nested_tensor=False))


def test_parameter_list_and_dict_reprs_like_torch():
    def script(tnn, lib):
        class Holder(tnn.Module):
            def __init__(self):
                super().__init__()
                self.plist = tnn.ParameterList([tnn.Parameter(lib.ones(2)), lib.zeros(3, 4),
                                                tnn.Parameter(lib.tensor(1.0))])
                self.pdict = tnn.ParameterDict({"a": tnn.Parameter(lib.ones(2)),
                                                "b": lib.zeros(3, 4, dtype=lib.float64)})
        return Holder()
    _like_torch(script)


def test_container_argument_errors_like_torch():
    check_error(lambda: nn.ModuleList().extend(nn.ReLU()), TypeError, "ModuleList.extend", "iterable", "ReLU")
    check_error(lambda: nn.ModuleList().extend(3), TypeError, "ModuleList.extend", "int")
    check_error(lambda: nn.ModuleDict().update(3), TypeError, "ModuleDict.update", "key/value pairs", "int")
    check_error(lambda: nn.ModuleDict().update([("a", nn.ReLU(), 3)]), ValueError, "ModuleDict.update",
                "element #0")


def test_strict_load_message_and_result_are_torchs():
    def attempt(tnn, lib, strict):
        model = tnn.Sequential(tnn.Linear(2, 3), tnn.Sequential(tnn.Linear(3, 1), tnn.BatchNorm1d(1)))
        state = {"0.weight": lib.ones(4, 2), "1.0.weight": lib.ones(1, 3), "1.0.bias": lib.ones(2),
                 "1.1.weight": lib.ones(1), "extra": lib.ones(1)}
        try:
            return tuple(model.load_state_dict(state, strict=strict))
        except RuntimeError as e:
            return str(e)

    for strict in (True, False):
        _like_torch(lambda tnn, lib: attempt(tnn, lib, strict))
    keys = attempt(nn, lamina, strict=True)
    assert "Missing key(s)" in keys and "size mismatch for 1.0.bias" in keys


def test_named_members_and_state_dict_of_shared_and_nested_modules_like_torch():
    def script(tnn, lib):
        class Net(tnn.Module):
            def __init__(self):
                super().__init__()
                self.scale = tnn.Parameter(lib.ones(1))
                self.alias = self.scale                       # one parameter under two names
                self.body = tnn.Sequential(tnn.Linear(2, 2), tnn.BatchNorm1d(2))
                self.head = self.body[0]                      # one layer under two paths
                self.register_buffer("step", lib.zeros(()))
                self.register_buffer("cache", lib.zeros(2), persistent=False)
                self.fixed = lib.ones(2)                      # a plain tensor: neither
                self._modules["extra"] = tnn.ReLU()           # written directly

        net = Net()
        return ([n for n, _ in net.named_parameters()], [n for n, _ in net.named_buffers()],
                [n for n, _ in net.named_modules()], [n for n, _ in net.named_children()], list(net.state_dict()),
                [n for n, _ in net.named_parameters(remove_duplicate=False)], repr(net))
    _like_torch(script)


def test_error_path_through_containers_forward_loops_over():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(5, 4)])

        def forward(self, x):
            for block in self.blocks:          # the ModuleList itself is never called
                x = block(x)
            return x

    check_error(lambda: nn.Sequential(nn.Identity(), Net())(lamina.ones(2, 4)), ShapeError,
                "1.blocks.1 (Linear(in_features=5, out_features=4, bias=True))", "(2, 4)")
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), 2)
    check_error(lambda: encoder(lamina.ones(3, 2, 5)), ShapeError, "layers.0.self_attn (MultiheadAttention")


def test_names_taken_by_plain_attributes_refused_as_in_torch():
    for lib in (lamina, torch):
        m = lib.nn.Module()
        m.x = 3
        with pytest.raises(KeyError, match="attribute 'x' already exists"):
            m.register_buffer("x", lib.ones(1))
        with pytest.raises(KeyError, match="attribute 'training' already exists"):
            m.register_parameter("training", lib.nn.Parameter(lib.ones(1)))


def test_load_state_dict_assign_keeps_dtype_refuses_lists_and_prints_like_torch():
    for lib in (lamina, torch):
        fc = lib.nn.Linear(2, 2)
        assert repr(fc.load_state_dict(fc.state_dict())) == "<All keys matched successfully>"
        fc.load_state_dict({k: v.double() for k, v in fc.state_dict().items()}, assign=True)
        assert fc.weight.dtype == lib.float64 and isinstance(fc.weight, lib.nn.Parameter)
        with pytest.raises(RuntimeError, match='While copying the parameter named "weight"'):
            fc.load_state_dict({"weight": [[1.0, 2.0], [3.0, 4.0]], "bias": [1.0, 2.0]})
        with pytest.raises(TypeError, match="floating point"):
            fc.to(lib.int32)
    reports = [lib.nn.Linear(2, 2).load_state_dict({"weight": lib.ones(2, 2)}, strict=False) for lib in (lamina, torch)]
    assert repr(reports[0]) == repr(reports[1]) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])"


@pytest.mark.parametrize("make, state, bad", [
    (lambda: nn.LazyLinear(3), {"weight": (0,), "bias": (0,)}, ["weight", "(3, ?)", "bias"]),
    (lambda: nn.LazyLinear(3), {"weight": (3, 4, 5), "bias": (3,)}, ["weight", "(3, 4, 5)"]),
    (lambda: nn.LazyLinear(3), {"weight": (2, 4), "bias": (3,)}, ["weight", "(2, 4)"]),
    (lambda: nn.LazyConv2d(4, 3), {"weight": (4, 2, 3, 2), "bias": (4,)}, ["weight", "(4, ?, 3, 3)"]),
    (lambda: nn.LazyBatchNorm1d(), {"weight": (5,), "bias": (5,), "running_mean": (6,), "running_var": (5,)},
     ["running_mean", "(6,)"]),
])
def test_lazy_layers_refuse_checkpoint_shapes_no_input_could_give(make, state, bad):
    from lamina.nn.module import StateDictError
    m = make()
    sd = {k: lamina.ones(*s) for k, s in state.items()}
    check_error(lambda: m.load_state_dict(sd, strict=False), StateDictError, "size mismatch for", *bad)


def test_lazy_layer_loads_a_checkpoint_of_fitting_shapes():
    m = nn.LazyConv2d(4, 3)
    assert repr(m.load_state_dict({"weight": lamina.ones(4, 2, 3, 3), "bias": lamina.ones(4)})) == \
        "<All keys matched successfully>"
    assert isinstance(m, nn.Conv2d) and m.in_channels == 2
