"""lamina.save / lamina.load: bit-identical round trips, safetensors interoperability, and a malformed-file suite
in which every bad checkpoint raises CheckpointError and nothing from the file ever runs."""
import ast
import io
import json
import os
import pathlib
import pickle
import time

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import lamina
from lamina import nn
from lamina.errors import ArgumentError, LaminaError
from lamina.serialization import CheckpointError
from tests.helpers import check_error, rand

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
SHAPES = [(), (0,), (1, 0, 3), (5,), (2, 3, 4)]


def _array(shape, dtype, seed=0):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rand(*shape, dtype=dtype, seed=seed)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rand(*shape, dtype=dtype, low=max(info.min, -2 ** 62), high=min(info.max, 2 ** 62), seed=seed)
    values = rand(*shape, dtype=dtype, low=-1e3, high=1e3, seed=seed)
    special = np.array([np.nan, -np.inf, np.inf, -0.0, np.finfo(dtype).tiny, np.finfo(dtype).max], dtype=dtype)
    flat = values.reshape(-1)
    flat[:min(flat.size, special.size)] = special[:flat.size]
    return values


def _round_trip(obj):
    buffer = io.BytesIO()
    lamina.save(obj, buffer)
    buffer.seek(0)
    return lamina.load(buffer)


def _assert_bit_identical(loaded, original):
    assert isinstance(loaded, lamina.Tensor)
    assert loaded.dtype == original.dtype and tuple(loaded.shape) == tuple(original.shape)
    assert loaded.numpy().tobytes() == np.ascontiguousarray(original.detach().numpy()).tobytes()


def _assert_same(loaded, original):
    """Equal structure, container types, key types and leaf values; tensors bit-identical."""
    assert type(loaded) is type(original) or (isinstance(original, dict) and type(loaded) is dict), \
        f"{type(loaded).__name__} != {type(original).__name__}"
    if isinstance(original, lamina.Tensor):
        _assert_bit_identical(loaded, original)
    elif isinstance(original, dict):
        assert list(loaded) == list(original)
        assert [type(k) for k in loaded] == [type(k) for k in original]
        for key in original:
            _assert_same(loaded[key], original[key])
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original)
        for a, b in zip(loaded, original):
            _assert_same(a, b)
    elif isinstance(original, float) and np.isnan(original):
        assert np.isnan(loaded)
    else:
        assert loaded == original and type(loaded) is type(original)


# ---- round trips -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_tensor_round_trip_is_bit_identical(dtype, shape):
    t = lamina.tensor(_array(shape, dtype))
    _assert_bit_identical(_round_trip(t), t)
    state = {"x": t, "y": lamina.tensor(_array(shape, dtype, seed=1))}
    loaded = _round_trip(state)
    _assert_same(loaded, state)


def test_nan_payloads_and_signed_zero_survive():
    bits = np.array([0x7FC00001, 0xFFC12345, 0x80000000, 0x7F800000], dtype=np.uint32)
    t = lamina.tensor(bits.view(np.float32))
    assert _round_trip(t).numpy().view(np.uint32).tolist() == bits.tolist()


@pytest.mark.parametrize("make", [
    lambda a: a.T, lambda a: a[:, ::2], lambda a: a[::-1], lambda a: a[1:, 1:3].T,
], ids=["transpose", "step", "negative-stride", "slice-transpose"])
def test_non_contiguous_tensors_save_contiguous(make):
    base = lamina.tensor(rand(4, 5))
    view = lamina.Tensor._make(make(base.numpy()))
    assert not view.is_contiguous()
    loaded = _round_trip({"v": view})["v"]
    assert loaded.is_contiguous()
    _assert_bit_identical(loaded, view)


def test_module_state_dict_round_trip_and_load_state_dict():
    model = _lamina_net()
    state = model.state_dict()
    loaded = _round_trip(state)
    _assert_same(loaded, state)
    fresh = _lamina_net()
    fresh.load_state_dict(loaded)
    for key, value in fresh.state_dict().items():
        _assert_bit_identical(value, state[key])


def test_optimizer_like_state_dict_round_trip():
    p0, p1 = lamina.tensor(rand(3, 2)), lamina.tensor(rand(4))
    state = {
        "state": {
            0: {"step": lamina.tensor(5.0), "exp_avg": lamina.zeros_like(p0), "exp_avg_sq": p0 * p0},
            1: {"step": lamina.tensor(5.0), "exp_avg": p1, "momentum_buffer": None},
        },
        "param_groups": [{
            "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False,
            "maximize": False, "foreach": None, "capturable": False, "params": [0, 1], "name": "group0",
            "max_lr": float("inf"), "min_lr": float("-inf"), "initial_lr": float("nan"), "neg_zero": -0.0,
            "big": 2 ** 70, "nested": [(1, [2, (3.5, None)]), {}], "empty": ((), []),
        }],
    }
    loaded = _round_trip(state)
    _assert_same(loaded, state)
    assert list(loaded["state"]) == [0, 1] and isinstance(loaded["param_groups"][0]["betas"], tuple)
    assert str(loaded["param_groups"][0]["neg_zero"]) == "-0.0"


def test_training_resumes_bit_identically_from_a_checkpoint_file(tmp_path):
    # model, optimizer and scheduler state in one nested file; the resumed run equals the uninterrupted one
    def make():
        lamina.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
        opt = lamina.optim.AdamW([{"params": model[0].parameters()},
                                  {"params": list(model[1].parameters()) + list(model[3].parameters()), "lr": 0.01}],
                                 lr=0.05, amsgrad=True)
        return model, opt, lamina.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    x, y = lamina.tensor(rand(16, 3)), lamina.tensor(rand(16, 2))

    def step(model, opt, sched):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()

    model, opt, sched = make()
    for _ in range(3):
        step(model, opt, sched)
    path = tmp_path / "checkpoint.safetensors"
    lamina.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "epoch": 3}, path)
    checkpoint = lamina.load(path)
    resumed, r_opt, r_sched = make()
    resumed.load_state_dict(checkpoint["model"])
    r_opt.load_state_dict(checkpoint["optimizer"])
    r_sched.load_state_dict(checkpoint["scheduler"])
    assert checkpoint["epoch"] == 3 and r_opt.param_groups[1]["lr"] == opt.param_groups[1]["lr"]
    for _ in range(4):
        step(model, opt, sched)
        step(resumed, r_opt, r_sched)
        for key, value in model.state_dict().items():
            _assert_bit_identical(resumed.state_dict()[key], value)


@pytest.mark.parametrize("obj", [
    [], (), {}, None, 3, 2.5, "text", True,
    {1: "int key", "1": "str key", 2.5: "float key", None: "none key", False: "bool key"},
    [lamina.tensor(1), (lamina.tensor([1.0, 2.0]), {"k": [lamina.tensor([[True]])]})],
    {"__metadata__": lamina.tensor(1.0)},  # a reserved name: stored with a structure, not as a flat key
    {"unicode ключ ✓": lamina.tensor([1, 2])},
], ids=lambda o: type(o).__name__)
def test_nested_objects_round_trip(obj):
    _assert_same(_round_trip(obj), obj)


def test_shared_tensor_stays_shared_and_requires_grad_is_kept():
    w = lamina.tensor(rand(2, 2), requires_grad=True)
    loaded = _round_trip({"a": w, "b": [w], "c": lamina.tensor([1, 2])})
    assert loaded["a"] is loaded["b"][0]
    assert loaded["a"].requires_grad and not loaded["c"].requires_grad and loaded["a"].is_leaf
    flat = _round_trip({"w": w, "v": lamina.ones(2)})
    assert flat["w"].requires_grad and not flat["v"].requires_grad


def test_numpy_scalars_save_as_python_numbers():
    loaded = _round_trip({"a": np.float32(0.5), "b": np.int64(3), "c": np.bool_(True)})
    assert loaded == {"a": 0.5, "b": 3, "c": True}


def test_loaded_tensors_are_writable_and_independent():
    t = lamina.tensor(rand(3))
    loaded = _round_trip(t)
    loaded.numpy()[0] = 42.0
    assert t.numpy()[0] != 42.0 and loaded.numpy().flags.writeable


def test_paths_and_file_objects(tmp_path):
    t = lamina.tensor(rand(2, 3))
    for target in (str(tmp_path / "a.safetensors"), tmp_path / "b.safetensors"):
        lamina.save({"t": t}, target)
        _assert_bit_identical(lamina.load(target)["t"], t)
    path = tmp_path / "c.safetensors"
    with open(path, "wb") as f:
        lamina.save(t, f)
    with open(path, "rb") as f:
        _assert_bit_identical(lamina.load(f), t)
    # A file object is read from its current position.
    buffer = io.BytesIO()
    buffer.write(b"prefix")
    lamina.save(t, buffer)
    buffer.seek(6)
    _assert_bit_identical(lamina.load(buffer), t)


class _Stream:
    """A non-seekable binary stream (a pipe) with only read()."""

    def __init__(self, data):
        self._buffer = io.BytesIO(data)

    def read(self, n=-1):
        return self._buffer.read(min(n, 7) if n and n > 0 else n)  # short reads, as pipes give

    def seekable(self):
        return False


def test_non_seekable_stream():
    t = lamina.tensor(rand(10, 3))
    buffer = io.BytesIO()
    lamina.save({"t": t, "n": [1, None]}, buffer)
    loaded = lamina.load(_Stream(buffer.getvalue()))
    _assert_bit_identical(loaded["t"], t)
    with pytest.raises(CheckpointError):
        lamina.load(_Stream(buffer.getvalue()[:-3]))


def test_save_rejects_what_it_cannot_store():
    check_error(lambda: lamina.save({"f": lambda: 0}, io.BytesIO()), ArgumentError,
                "lamina.save()", "obj['f']", "function")
    check_error(lambda: lamina.save([{"k": {1, 2}}], io.BytesIO()), ArgumentError, "obj[0]['k']", "set")
    check_error(lambda: lamina.save({(1, 2): lamina.ones(1)}, io.BytesIO()), ArgumentError, "key", "tuple")
    check_error(lambda: lamina.save(np.ones(2), io.BytesIO()), ArgumentError, "ndarray")
    cyclic = [1]
    cyclic.append(cyclic)
    check_error(lambda: lamina.save(cyclic, io.BytesIO()), ArgumentError, "contains itself")
    deep = []
    for _ in range(99):
        deep = [deep]
    _assert_same(_round_trip(deep), deep)  # 100 nested lists are allowed, 101 are not
    check_error(lambda: lamina.save([deep], io.BytesIO()), ArgumentError, "nested more than 100")
    check_error(lambda: lamina.save(lamina.ones(1), 3), ArgumentError, "lamina.save()", "int")


def test_save_refuses_uninitialized_lazy_parameters():
    # A lazy layer that never ran has no shapes yet: saving it would write empty tensors that load into nothing.
    net = nn.Sequential(nn.Linear(2, 3), nn.LazyLinear(4), nn.LazyBatchNorm1d())
    buffer = io.BytesIO()
    check_error(lambda: lamina.save(net.state_dict(), buffer), ArgumentError, "lamina.save()", "obj['1.weight']",
                "uninitialized", "lazy layer")
    check_error(lambda: lamina.save({"model": net.state_dict()}, buffer), ArgumentError,
                "obj['model']['1.weight']", "uninitialized")
    check_error(lambda: lamina.save([net[2].running_mean], buffer), ArgumentError, "obj[0]", "uninitialized")
    assert buffer.getvalue() == b""  # nothing written
    net(lamina.randn(5, 2))
    restored = nn.Sequential(nn.Linear(2, 3), nn.LazyLinear(4), nn.LazyBatchNorm1d())
    restored.load_state_dict(_round_trip(net.state_dict()))
    assert repr(restored) == repr(net)
    _assert_same(restored.state_dict(), net.state_dict())


def test_load_arguments():
    buffer = io.BytesIO()
    lamina.save(lamina.ones(2), buffer)
    buffer.seek(0)
    assert lamina.load(buffer, map_location="cpu", weights_only=True).shape == (2,)
    check_error(lambda: lamina.load(io.BytesIO(), pickle_module=pickle), ArgumentError, "pickle_module")
    check_error(lambda: lamina.load(io.BytesIO(), map_location="cuda"), ArgumentError, "map_location")
    check_error(lambda: lamina.load(42), ArgumentError, "lamina.load()", "int")
    check_error(lambda: lamina.load(io.StringIO("{}" * 10)), ArgumentError, "binary mode")
    with pytest.raises(FileNotFoundError):
        lamina.load("/nonexistent/dir/model.safetensors")


def test_header_layout_is_standard():
    buffer = io.BytesIO()
    lamina.save({"b": lamina.ones(3, dtype=lamina.int8), "a": lamina.ones(2, dtype=lamina.float64)}, buffer)
    raw = buffer.getvalue()
    n = int.from_bytes(raw[:8], "little")
    assert (8 + n) % 8 == 0  # data starts 8-aligned
    header = json.loads(raw[8:8 + n])
    assert list(header) == ["b", "a"]  # a flat state_dict needs no metadata; keys in the dict's order
    assert header["a"] == {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}  # wider items first: aligned
    assert header["b"] == {"dtype": "I8", "shape": [3], "data_offsets": [16, 19]}
    assert list(lamina.load(io.BytesIO(raw))) == ["b", "a"]


# ---- interoperability with the safetensors library ----------------------------------------------------

def test_safetensors_numpy_reads_lamina_files(tmp_path):
    state = {name: lamina.tensor(_array((2, 3), name, seed=i)) for i, name in enumerate(DTYPES)}
    state["scalar"] = lamina.tensor(2.5)
    state["empty"] = lamina.zeros(0, 4)
    lamina.save(state, tmp_path / "m.safetensors")
    loaded = safetensors.numpy.load_file(str(tmp_path / "m.safetensors"))
    assert set(loaded) == set(state)
    for key, t in state.items():
        assert loaded[key].dtype == t.numpy().dtype and loaded[key].tobytes() == t.numpy().tobytes()
    assert set(safetensors.numpy.load(_bytes(state))) == set(state)  # from bytes too


def test_safetensors_torch_reads_lamina_files(tmp_path):
    state = {"w": lamina.tensor(rand(3, 4)), "h": lamina.tensor(rand(2, dtype=np.float16)),
             "i": lamina.tensor([1, -2], dtype=lamina.int64), "m": lamina.tensor([True, False])}
    lamina.save(state, tmp_path / "m.safetensors")
    loaded = safetensors.torch.load_file(str(tmp_path / "m.safetensors"))
    for key, t in state.items():
        assert str(loaded[key].dtype) == f"torch.{t.dtype.name}"
        assert loaded[key].numpy().tobytes() == t.numpy().tobytes()


def test_nested_lamina_file_is_still_valid_safetensors(tmp_path):
    lamina.save({"state": {0: lamina.ones(2)}, "groups": [(0.9, 0.99)]}, tmp_path / "o.safetensors")
    with safetensors.safe_open(str(tmp_path / "o.safetensors"), framework="np") as f:
        assert list(f.keys()) == ["0"]
        assert "lamina" in f.metadata()


def test_lamina_reads_safetensors_numpy_files(tmp_path):
    arrays = {name: _array((3, 2), name, seed=i) for i, name in enumerate(DTYPES)}
    arrays["zero_d"] = np.array(7, dtype=np.int32)
    arrays["zero_size"] = np.zeros((2, 0), dtype=np.float32)
    safetensors.numpy.save_file(arrays, str(tmp_path / "n.safetensors"), metadata={"format": "np"})
    loaded = lamina.load(tmp_path / "n.safetensors")
    assert set(loaded) == set(arrays)
    for key, a in arrays.items():
        assert loaded[key].numpy().dtype == a.dtype and loaded[key].shape == a.shape
        assert loaded[key].numpy().tobytes() == a.tobytes()


class _Affine(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(lamina.zeros(n_out, n_in))
        self.bias = nn.Parameter(lamina.zeros(n_out))


class _Norm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(lamina.ones(n))
        self.bias = nn.Parameter(lamina.zeros(n))
        self.register_buffer("running_mean", lamina.zeros(n))
        self.register_buffer("running_var", lamina.ones(n))
        self.register_buffer("num_batches_tracked", lamina.tensor(0))


def _lamina_net():
    net = nn.Sequential(_Affine(3, 4), _Norm(4))
    with lamina.no_grad():
        net[0].weight.numpy(force=True)[...] = rand(4, 3)
        net[1].running_mean.numpy()[...] = rand(4)
    return net


def test_torch_state_dict_via_safetensors_loads_into_a_lamina_model(tmp_path):
    torch.manual_seed(0)
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    twin.train()
    twin(torch.randn(8, 3))  # running statistics and num_batches_tracked move away from their defaults
    safetensors.torch.save_file(twin.state_dict(), str(tmp_path / "t.safetensors"), metadata={"format": "pt"})
    state = lamina.load(tmp_path / "t.safetensors")
    assert all(isinstance(v, lamina.Tensor) for v in state.values())
    model = _lamina_net()
    model.load_state_dict(state)
    for key, value in model.state_dict().items():
        expected = twin.state_dict()[key]
        assert str(expected.dtype) == f"torch.{value.dtype.name}"
        assert value.numpy().tobytes() == expected.numpy().tobytes(), key


def test_bf16_loads_widened_to_float32(tmp_path):
    values = torch.tensor([1.0, -2.5, 3.140625, 1e38, -1e-38, float("inf"), float("nan"), 0.0, -0.0],
                          dtype=torch.bfloat16)
    safetensors.torch.save_file({"b": values, "m": values.reshape(3, 3).clone()}, str(tmp_path / "bf.safetensors"))
    loaded = lamina.load(tmp_path / "bf.safetensors")
    assert loaded["b"].dtype == lamina.float32 and loaded["m"].shape == (3, 3)
    assert loaded["b"].numpy().tobytes() == values.float().numpy().tobytes()
    assert loaded["m"].numpy().tobytes() == values.float().numpy().tobytes()


# ---- malformed checkpoints ---------------------------------------------------------------------------

def _bytes(obj):
    buffer = io.BytesIO()
    lamina.save(obj, buffer)
    return buffer.getvalue()


def _file(header, data=b"", length=None):
    """A safetensors file from a header (dict -> JSON, str, or raw bytes), its data and an optional length field."""
    if isinstance(header, dict):
        header = json.dumps(header)
    if isinstance(header, str):
        header = header.encode("utf-8")
    n = len(header) if length is None else length
    return n.to_bytes(8, "little") + header + data


def _t(dtype="F32", shape=(1,), offsets=(0, 4)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def _nested(structure, tensors=None, data=b"", **extra):
    lamina_meta = json.dumps({"version": 1, "structure": structure, **extra})
    return _file({"__metadata__": {"lamina": lamina_meta}, **(tensors or {})}, data)


_VALID = _bytes({"w": lamina.tensor(rand(2, 3)), "state": {0: {"step": 3, "buf": lamina.tensor([1, 2, 3])}},
                 "betas": (0.9, 0.999), "flags": lamina.tensor([True, False])})


def _flip(data, index, mask=0xFF):
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


MALFORMED = {
    "empty file": (b"", "fewer than the 8"),
    "shorter than the length field": (b"\x10\x00\x00", "fewer than the 8"),
    "truncated header": (_VALID[:40], "larger than the"),
    "truncated data": (_VALID[:-5], "out of bounds"),
    "truncated by one byte": (_VALID[:-1], "out of bounds"),
    "bit-flipped header": (_flip(_VALID, 8), "does not start with '{'"),
    "bit-flipped header JSON": (_file('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]]}', b"\0" * 4),
                                "not valid JSON"),
    "header length huge": (_file(b"{}", length=2 ** 64 - 1), "exceeds the limit"),
    "header length just over the cap": (_file(b"{}", length=100_000_001), "exceeds the limit"),
    "header length > file": (_file(b"{}", length=1000), "larger than the"),
    "header length zero": (_file(b"{}", length=0) + b"{}", "does not start with '{'"),
    "header not JSON": (_file(b"{not json at all}"), "not valid JSON"),
    "header JSON array": (_file(b"[1, 2]"), "does not start with '{'"),
    "header JSON trailing garbage": (_file(b"{} {}"), "not valid JSON"),
    "header invalid UTF-8": (_file(b'{"\xff\xfe": 1}'), "not valid UTF-8"),
    "header NaN constant": (_file(b'{"a": NaN}'), "NaN"),
    "header nested too deeply": (_file(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "not valid JSON"),
    "header int too long": (_file(b'{"a": ' + b"9" * 5000 + b"}"), "not valid JSON"),
    "duplicate tensor keys": (_file('{"a": %s, "a": %s}' % (json.dumps(_t()), json.dumps(_t())), b"\0" * 4),
                              "duplicate key 'a'"),
    "duplicate field in tensor": (_file('{"a": {"dtype": "F32", "dtype": "F32", "shape": [1], '
                                        '"data_offsets": [0, 4]}}', b"\0" * 4), "duplicate key 'dtype'"),
    "duplicate metadata key": (_file('{"__metadata__": {"x": "1", "x": "2"}}'), "duplicate key 'x'"),
    "tensor entry not an object": (_file({"a": [1, 2]}), "expected an object"),
    "tensor entry missing field": (_file({"a": {"dtype": "F32", "shape": [1]}}, b"\0" * 4), "expected an object"),
    "tensor entry extra field": (_file({"a": {**_t(), "strides": [1]}}, b"\0" * 4), "expected an object"),
    "unknown dtype": (_file({"a": _t("F8_E4M3", (4,))}, b"\0" * 4), "unsupported dtype 'F8_E4M3'"),
    "dtype U16": (_file({"a": _t("U16", (2,))}, b"\0" * 4), "unsupported dtype 'U16'"),
    "dtype lowercase": (_file({"a": _t("f32")}, b"\0" * 4), "unsupported dtype"),
    "dtype not a string": (_file({"a": _t(7)}, b"\0" * 4), "unsupported dtype"),
    "negative shape": (_file({"a": _t(shape=(-1,))}, b"\0" * 4), "non-negative integers"),
    "float shape": (_file({"a": _t(shape=(1.0,))}, b"\0" * 4), "non-negative integers"),
    "bool shape": (_file({"a": _t(shape=(True,))}, b"\0" * 4), "non-negative integers"),
    "string shape": (_file({"a": _t(shape=("1",))}, b"\0" * 4), "non-negative integers"),
    "shape not a list": (_file({"a": {**_t(), "shape": 1}}, b"\0" * 4), "non-negative integers"),
    "too many dimensions": (_file({"a": _t(shape=(1,) * 65)}, b"\0" * 4), "dimensions"),
    "shape/byte-length mismatch": (_file({"a": _t(shape=(2,))}, b"\0" * 4), "needs 8 bytes"),
    "shape product overflow": (_file({"a": _t(shape=(2 ** 40, 2 ** 40, 2 ** 40, 2 ** 40))}, b"\0" * 4),
                               "needs"),
    "shape product wraps to the byte length in 64 bits": (_file({"a": _t("U8", (2 ** 32, 2 ** 32 + 4), (0, 0))}),
                                                          "needs"),
    "zero-size shape too large": (_file({"a": _t("F32", (0, 2 ** 62), (0, 0))}), "too large"),
    "offsets out of bounds": (_file({"a": _t(shape=(25,), offsets=(0, 100))}, b"\0" * 4), "out of bounds"),
    "offsets negative": (_file({"a": _t(offsets=(-4, 0))}, b"\0" * 4), "out of bounds"),
    "offsets reversed": (_file({"a": _t(shape=(0,), offsets=(4, 0))}, b"\0" * 4), "out of bounds"),
    "offsets not integers": (_file({"a": _t(offsets=(0.0, 4.0))}, b"\0" * 4), "two integers"),
    "offsets three values": (_file({"a": _t(offsets=(0, 4, 8))}, b"\0" * 4), "two integers"),
    "offsets huge": (_file({"a": _t(shape=(2 ** 62,), offsets=(0, 2 ** 64))}, b"\0" * 4), "out of bounds"),
    "overlapping offsets": (_file({"a": _t(shape=(2,), offsets=(0, 8)), "b": _t(shape=(2,), offsets=(4, 12))},
                                  b"\0" * 12), "overlap"),
    "same offsets twice": (_file({"a": _t(), "b": _t()}, b"\0" * 4), "overlap"),
    "gap between tensors": (_file({"a": _t(), "b": _t(offsets=(8, 12))}, b"\0" * 12), "gap"),
    "gap before the first tensor": (_file({"a": _t(offsets=(4, 8))}, b"\0" * 8), "gap"),
    "trailing bytes": (_file({"a": _t()}, b"\0" * 8), "trailing bytes"),
    "data without tensors": (_file({}, b"\0"), "trailing bytes"),
    "BOOL byte not 0 or 1": (_file({"a": _t("BOOL", (2,), (0, 2))}, b"\x01\x02"), "0 and 1"),
    "metadata not an object": (_file({"__metadata__": [1]}), "strings to strings"),
    "metadata value not a string": (_file({"__metadata__": {"format": 1}}), "strings to strings"),
    "lamina metadata not JSON": (_file({"__metadata__": {"lamina": "{oops"}}), "not valid JSON"),
    "lamina metadata wrong version": (_file({"__metadata__": {"lamina": '{"version": 99}'}}), "version"),
    "lamina metadata unknown field": (_file({"__metadata__": {"lamina": '{"version": 1, "code": "x"}'}}),
                                      "unknown field"),
    "metadata references a missing tensor": (_nested({"tensor": "7"}, {"0": _t()}, b"\0" * 4), "not in the file"),
    "metadata tensor name not a string": (_nested({"tensor": 0}, {"0": _t()}, b"\0" * 4), "not in the file"),
    "tensor not referenced by the structure": (_nested({"list": [1]}, {"0": _t()}, b"\0" * 4), "not referenced"),
    "structure node with unknown tag": (_nested({"call": ["os.system", "ls"]}), "malformed structure node"),
    "structure node with two tags": (_nested({"list": [], "tuple": []}), "malformed structure node"),
    "structure raw JSON list": (_nested([1, 2]), "malformed structure node"),
    "structure list not an array": (_nested({"list": 3}), "expected a JSON array"),
    "structure bad float": (_nested({"float": "1e5"}), "malformed float"),
    "structure dict entry not a pair": (_nested({"dict": [[1]]}), "expected [key, value]"),
    "structure dict key a container": (_nested({"dict": [[{"list": []}, 1]]}), "malformed dict key"),
    "structure duplicate dict key": (_nested({"dict": [[1, "a"], [1, "b"]]}), "duplicate dict key 1"),
    "structure nested too deeply": (_file({"__metadata__": {"lamina": '{"version": 1, "structure": '
                                                                      + '{"list": [' * 101 + "]}" * 101 + "}"}}),
                                    "nested more than 100"),
    "requires_grad on a missing tensor": (_nested(None, requires_grad=["3"]), "not a tensor in the file"),
    "requires_grad on an integer tensor": (_nested({"tensor": "0"}, {"0": _t("I32")}, b"\0" * 4,
                                                   requires_grad=["0"]), "only floating"),
    "torch zip checkpoint": (None, "exceeds the limit"),  # filled in below: a torch.save file is not accepted
}


def _torch_zip():
    buffer = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buffer)
    return buffer.getvalue()


MALFORMED["torch zip checkpoint"] = (_torch_zip(), "exceeds the limit")


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_checkpoint_raises_checkpoint_error(case, tmp_path):
    data, fragment = MALFORMED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    message = check_error(lambda: lamina.load(path), CheckpointError, fragment, "lamina.load()", str(path))
    assert len(message) < 1000
    # The same bytes from a file object give the same error.
    check_error(lambda: lamina.load(io.BytesIO(data)), CheckpointError, fragment, "<BytesIO>")


def test_checkpoint_error_is_typed():
    assert issubclass(CheckpointError, LaminaError)
    assert issubclass(CheckpointError, RuntimeError) and issubclass(CheckpointError, ValueError)


class _Exploit:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_payload_is_rejected_and_never_runs(protocol, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(marker), protocol=protocol)
    for data in (payload,
                 _file(payload),  # a consistent length field in front of the pickle
                 _file({"__metadata__": {"lamina": payload.decode("latin-1")}})):  # pickle bytes in metadata
        path = tmp_path / "evil.safetensors"
        path.write_bytes(data)
        with pytest.raises(CheckpointError):
            lamina.load(path)
        with pytest.raises(CheckpointError):
            lamina.load(io.BytesIO(data))
    assert not marker.exists()


def test_loader_source_has_no_unsafe_code():
    """Guard: the loader imports no deserializer that can run code and calls no eval/exec/import-by-name."""
    source = pathlib.Path(lamina.serialization.__file__).read_text()
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "compile", "__import__", "getattr", "globals"} or \
                node.func.id == "getattr" and isinstance(node.args[1], ast.Constant), ast.unparse(node)
    assert imported <= {"io", "json", "math", "os", "sys", "lamina"}, imported


def test_random_byte_flips_raise_only_checkpoint_error():
    rng = np.random.default_rng(1234)
    valid = _VALID
    header_end = 8 + int.from_bytes(valid[:8], "little")
    outcomes = {"loaded": 0, "rejected": 0}
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        data = bytearray(valid)
        kind = rng.integers(4)
        if kind == 0:  # flips anywhere
            for i in rng.integers(0, len(data), size=rng.integers(1, 4)):
                data[i] ^= 1 << int(rng.integers(8))
        elif kind == 1:  # flips inside the header, where the checks are
            for i in rng.integers(0, header_end, size=rng.integers(1, 4)):
                data[i] = int(rng.integers(256))
        elif kind == 2:  # truncation
            data = data[:rng.integers(0, len(data))]
        else:  # an inserted or deleted byte in the header
            i = int(rng.integers(8, header_end))
            data = data[:i] + data[i + 1:] if rng.integers(2) else data[:i] + bytes([rng.integers(256)]) + data[i:]
        try:
            lamina.load(io.BytesIO(bytes(data)))
            outcomes["loaded"] += 1
        except CheckpointError:
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 100 and outcomes["loaded"] > 0, outcomes
