"""Save and load tensors and nested containers of tensors in a safetensors file; never pickle.

The file is a safetensors container:

    [8 bytes: N, little-endian uint64][N bytes: UTF-8 JSON header][raw little-endian tensor bytes]

The header maps each tensor name to ``{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`` (offsets
relative to the start of the data section) and may hold ``"__metadata__"``, a map of strings to strings.

A flat ``dict[str, Tensor]`` (a ``state_dict``) is written under its own keys, so any safetensors reader opens it
and ``lamina.load`` opens a state_dict written by ``safetensors.torch.save_file``. Any other object (a tensor, an
optimizer state_dict, nested lists, tuples and dicts of tensors, numbers, strings and None) is written with
generated tensor names and its structure as JSON in ``__metadata__["lamina"]``.

Loading trusts nothing in the file: the header length is capped and checked against the file size; the header must
be a JSON object without duplicate keys; dtypes come from an allow-list; shape x itemsize must equal the byte range;
the byte ranges must tile the data section exactly. Every problem raises ``CheckpointError``. No code from the file
is ever run: there is no pickle, marshal, eval or import-by-name anywhere on this path.
"""
import io
import json
import math
import os
import sys

from lamina.backend import xp
from lamina.errors import ArgumentError, LaminaError
from lamina.nn.parameter import UninitializedBuffer, UninitializedParameter
from lamina.tensor import Tensor

__all__ = ["CheckpointError", "save", "load"]

MAX_HEADER_BYTES = 100_000_000
"""Headers longer than this are refused before anything is read (the safetensors library uses the same cap)."""

_METADATA_KEY = "__metadata__"
_LAMINA_KEY = "lamina"  # key inside __metadata__ that holds Lamina's own JSON (structure, requires_grad)
_FORMAT_VERSION = 1
_MAX_NDIM = 64  # NumPy's limit on the number of dimensions
_READ_CHUNK = 1 << 24
_MAX_DEPTH = 100  # containers nested deeper than this are refused (JSON parsing itself stops near 1000 levels)

# safetensors dtype code -> (little-endian NumPy dtype as stored, NumPy dtype of the loaded tensor)
_LOAD_DTYPES = {
    "F16": ("<f2", "float16"), "F32": ("<f4", "float32"), "F64": ("<f8", "float64"),
    "BF16": ("<u2", "float32"),  # NumPy has no bfloat16: widened exactly to float32 on load
    "I8": ("i1", "int8"), "I16": ("<i2", "int16"), "I32": ("<i4", "int32"), "I64": ("<i8", "int64"),
    "U8": ("u1", "uint8"), "BOOL": ("u1", "bool"),
}
_SAVE_DTYPES = {"float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "int16": "I16",
                "int32": "I32", "int64": "I64", "uint8": "U8", "bool": "BOOL"}
_TENSOR_FIELDS = frozenset(("dtype", "shape", "data_offsets"))


class CheckpointError(LaminaError, ValueError, RuntimeError):
    """A file that ``lamina.load`` refuses: truncated, malformed, inconsistent or not a Lamina/safetensors file."""


# ---- save ------------------------------------------------------------------------------------------------

def save(obj, f):
    """Save a tensor, a state_dict or a nested container of tensors to a safetensors file.

    Args:
        obj: a Tensor; a ``dict[str, Tensor]`` (a state_dict: written under its own keys, readable by the
            ``safetensors`` library); or nested lists, tuples and dicts (keys str, int, float, bool or None) of
            tensors, Python numbers, strings and None, such as an optimizer's state_dict.
        f: a path (str or ``os.PathLike``) or a binary file object opened for writing.

    Tensors are stored contiguous, with their exact bytes and dtype; a tensor object that appears twice is stored
    once and loads as one shared tensor. ``requires_grad`` is kept; ``.grad`` and the autograd graph are not.

    Example:
        >>> lamina.save(model.state_dict(), "model.safetensors")
        >>> model.load_state_dict(lamina.load("model.safetensors"))
    """
    if _is_flat_state_dict(obj):
        tensors = dict(obj)
        for key, t in tensors.items():
            _refuse_uninitialized(t, f"obj[{key!r}]")
        lamina_meta = {"version": _FORMAT_VERSION}
    else:
        encoder = _StructureEncoder()
        structure = encoder.encode(obj, "obj", [])
        tensors = encoder.tensors
        lamina_meta = {"version": _FORMAT_VERSION, "structure": structure}
    requires_grad = [name for name, t in tensors.items() if t.requires_grad]
    if requires_grad:
        lamina_meta["requires_grad"] = requires_grad
    metadata = None
    if len(lamina_meta) > 1:  # a flat state_dict without requires_grad needs no metadata at all
        metadata = {_LAMINA_KEY: json.dumps(lamina_meta, separators=(",", ":"), allow_nan=False)}
    header, arrays = _build_header(tensors, metadata)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as file:
            _write(file, header, arrays)
    elif hasattr(f, "write"):
        _write(f, header, arrays)
    else:
        raise ArgumentError(f"lamina.save(): expected f to be a path (str or os.PathLike) or a binary file object, "
                            f"got {type(f).__name__}")


def _refuse_uninitialized(t, where):
    if isinstance(t, (UninitializedParameter, UninitializedBuffer)):
        raise ArgumentError(f"lamina.save(): {where} is an uninitialized parameter or buffer of a lazy layer (its "
                            f"shape is not known yet); run the model on an input, or load a checkpoint into it, "
                            f"before saving")


def _is_flat_state_dict(obj):
    if not isinstance(obj, dict):
        return False
    for key, value in obj.items():
        if not (isinstance(key, str) and isinstance(value, Tensor)) or key == _METADATA_KEY or not _utf8(key):
            return False
    return True


def _utf8(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be a safetensors key
        return False
    return True


class _StructureEncoder:
    """Turns a nested object into a JSON-able node tree, collecting its tensors under generated names.

    Nodes: JSON scalars (null, true/false, int, finite float, str) stand for themselves; tagged objects stand for
    the rest: ``{"tensor": name}``, ``{"float": "nan" | "inf" | "-inf"}``, ``{"list": [...]}``,
    ``{"tuple": [...]}`` and ``{"dict": [[key, value], ...]}`` (a list of pairs, so int keys stay ints).
    """

    def __init__(self):
        self.tensors = {}
        self._names = {}  # id(tensor) -> name, so a tensor shared in two places is stored once

    def encode(self, obj, where, active):
        if isinstance(obj, Tensor):
            _refuse_uninitialized(obj, where)
            name = self._names.get(id(obj))
            if name is None:
                name = self._names[id(obj)] = str(len(self.tensors))
                self.tensors[name] = obj
            return {"tensor": name}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)):
            return _encode_number(obj, where)
        if isinstance(obj, xp.generic) and obj.dtype.kind in "biuf":
            return _encode_number(obj.item(), where)  # a NumPy scalar saves as the Python number it equals
        if isinstance(obj, (list, tuple, dict)):
            if any(obj is outer for outer in active):
                raise ArgumentError(f"lamina.save(): {where} contains itself; cannot save a cyclic structure")
            if len(active) >= _MAX_DEPTH:
                raise ArgumentError(f"lamina.save(): {where} is nested more than {_MAX_DEPTH} containers deep")
            active.append(obj)
            if isinstance(obj, dict):
                pairs = []
                for key, value in obj.items():
                    if not (key is None or isinstance(key, (bool, int, float, str))):
                        raise ArgumentError(f"lamina.save(): dict keys must be str, int, float, bool or None; "
                                            f"{where} has a key of type {type(key).__name__}: {key!r}")
                    pairs.append([_encode_number(key, where) if isinstance(key, float) else key,
                                  self.encode(value, f"{where}[{key!r}]", active)])
                node = {"dict": pairs}
            else:
                items = [self.encode(x, f"{where}[{i}]", active) for i, x in enumerate(obj)]
                node = {"tuple" if isinstance(obj, tuple) else "list": items}
            active.pop()
            return node
        raise ArgumentError(f"lamina.save(): cannot save {where} of type {type(obj).__name__}; expected a Tensor, "
                            f"a list, tuple or dict of them, a number, a string or None")


def _encode_number(x, where):
    if isinstance(x, float) and not math.isfinite(x):
        return {"float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
    return x


def _build_header(tensors, metadata):
    """The padded header bytes and the arrays in data order (larger items first, so every tensor is aligned)."""
    infos = {}
    for name, t in tensors.items():
        code = _SAVE_DTYPES.get(t._data.dtype.name)
        if code is None:
            raise ArgumentError(f"lamina.save(): tensor {name!r} has dtype {t._data.dtype}, which has no "
                                f"safetensors code")
        infos[name] = [code, list(t._data.shape), xp.ascontiguousarray(t._data)]
    offset, arrays = 0, []
    # Itemsizes are powers of two, so after the data start (8-aligned) each tensor begins on a multiple of its own.
    for name in sorted(infos, key=lambda n: -infos[n][2].itemsize):
        array = infos[name][2]
        infos[name][2] = [offset, offset + array.nbytes]
        offset += array.nbytes
        arrays.append(array)
    entries = {}
    if metadata is not None:
        entries[_METADATA_KEY] = metadata
    for name, (code, shape, offsets) in infos.items():
        entries[name] = {"dtype": code, "shape": shape, "data_offsets": offsets}
    header = json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header += b" " * (-(8 + len(header)) % 8)  # safetensors pads with spaces so the data starts 8-aligned
    return header, arrays


def _write(file, header, arrays):
    file.write(len(header).to_bytes(8, "little"))
    file.write(header)
    for array in arrays:
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)  # no copy on little-endian machines
        file.write(memoryview(array.reshape(-1).view(xp.uint8)))


# ---- load ------------------------------------------------------------------------------------------------

def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None):
    """Load an object saved by ``lamina.save``, or any safetensors file, with every byte validated first.

    Args:
        f: a path (str or ``os.PathLike``) or a binary file object opened for reading (read from its position).
        map_location: None, ``"cpu"`` or a cpu device; the only place Lamina tensors live.
        pickle_module: must be None: Lamina never unpickles.
        weights_only: accepted for torch compatibility; loading is always weights-only.
        mmap: accepted for torch compatibility; tensors are always read into memory of their own.

    Returns:
        The saved object. A safetensors file without Lamina metadata loads as a ``dict[str, Tensor]`` in header
        order; BF16 tensors are widened exactly to float32.

    Raises:
        CheckpointError: the file is not a valid checkpoint (truncated, bad header, inconsistent sizes, ...).
        OSError: the file cannot be opened or read.

    Example:
        >>> state = lamina.load("model.safetensors")
        >>> model.load_state_dict(state)
    """
    if pickle_module is not None:
        raise ArgumentError("lamina.load(): pickle_module must be None; Lamina never unpickles files")
    if map_location is not None and str(map_location).split(":")[0] != "cpu":
        raise ArgumentError(f"lamina.load(): map_location must be None or 'cpu', got {map_location!r}")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as file:
            return _Reader(file, os.fspath(f)).load()
    if hasattr(f, "read"):
        return _Reader(f, getattr(f, "name", None) or f"<{type(f).__name__}>").load()
    raise ArgumentError(f"lamina.load(): expected f to be a path (str or os.PathLike) or a binary file object, "
                        f"got {type(f).__name__}")


class _Reader:
    """Validates and reads one safetensors file; every failure becomes a CheckpointError naming the file."""

    def __init__(self, file, name):
        self.file = file
        self.name = name

    def fail(self, problem):
        raise CheckpointError(f"lamina.load(): {self.name!r} is not a valid checkpoint: {problem}")

    def load(self):
        size = self._size()
        if size < 8:
            self.fail(f"the file has {size} bytes, fewer than the 8 of the header length")
        header_len = int.from_bytes(self._read(8), "little")
        if header_len > MAX_HEADER_BYTES:
            self.fail(f"header length {header_len} exceeds the limit of {MAX_HEADER_BYTES} bytes")
        if header_len > size - 8:
            self.fail(f"header length {header_len} is larger than the {size - 8} bytes after the length field "
                      f"(truncated file?)")
        header = self._parse_header(self._read(header_len))
        metadata, entries = self._validate_header(header, size - 8 - header_len)
        arrays = self._read_data(entries)
        lamina_meta = self._lamina_metadata(metadata)
        tensors = {}
        for name, array in arrays.items():
            tensors[name] = Tensor._make(array)
        for name in self._requires_grad(lamina_meta, tensors):
            tensors[name]._requires_grad = True
        if "structure" not in lamina_meta:
            return tensors
        decoder = _StructureDecoder(tensors, self.fail)
        obj = decoder.decode(lamina_meta["structure"])
        unused = [name for name in tensors if name not in decoder.used]
        if unused:
            self.fail(f"tensor(s) {unused[:5]} are not referenced by the saved structure")
        return obj

    # -- bytes
    def _size(self):
        """Bytes from the current position to the end, found without reading; streams are buffered first."""
        file = self.file
        try:
            seekable = file.seekable()
        except (AttributeError, OSError, ValueError):
            seekable = False
        if not seekable:
            # A pipe or socket: read it all (bounded by what is really there, never by a size the file claims).
            chunks = []
            while True:
                chunk = file.read(_READ_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
            self.file = file = io.BytesIO(b"".join(chunks))
        start = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(start)
        return end - start

    def _read(self, n):
        data = self.file.read(n)
        if not isinstance(data, (bytes, bytearray)):
            raise ArgumentError(f"lamina.load(): {self.name!r} must be opened in binary mode ('rb'), its read() "
                                f"returned {type(data).__name__}")
        if len(data) != n:
            self.fail(f"unexpected end of file: wanted {n} bytes, got {len(data)} (file changed while loading?)")
        return data

    def _read_into(self, buffer):
        """Fill a uint8 array from the file; fails on a short read."""
        view, filled = memoryview(buffer), 0
        readinto = getattr(self.file, "readinto", None)
        while filled < len(view):
            if readinto is not None:
                n = readinto(view[filled:])
            else:
                chunk = self.file.read(len(view) - filled)
                n = len(chunk)
                view[filled:filled + n] = chunk
            if not n:
                self.fail("unexpected end of file inside the tensor data (file changed while loading?)")
            filled += n

    # -- header
    def _parse_header(self, raw):
        if not raw.startswith(b"{"):
            self.fail("the header does not start with '{' (not a safetensors file)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail(f"the header is not valid UTF-8 ({e.reason} at byte {e.start})")
        header = self._json(text, "the header")
        if not isinstance(header, dict):
            self.fail(f"the header is a JSON {type(header).__name__}, expected an object")
        return header

    def _json(self, text, what):
        try:
            return json.loads(text, object_pairs_hook=self._no_duplicates, parse_constant=self._no_constant)
        except CheckpointError:
            raise
        except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError; so are over-long ints
            self.fail(f"{what} is not valid JSON ({type(e).__name__}: {e})")

    def _no_duplicates(self, pairs):
        result = {}
        for key, value in pairs:
            if key in result:
                self.fail(f"duplicate key {key!r} in the header JSON")
            result[key] = value
        return result

    def _no_constant(self, name):
        self.fail(f"the header JSON contains {name}, which is not valid JSON")

    def _validate_header(self, header, data_len):
        """The metadata dict and {name: (dtype code, shape, begin, end)} in header order, all checked."""
        metadata = header.get(_METADATA_KEY, {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            self.fail(f"{_METADATA_KEY} must be an object of strings to strings")
        entries = {}
        for name, info in header.items():
            if name == _METADATA_KEY:
                continue
            entries[name] = self._validate_entry(name, info, data_len)
        # The byte ranges must tile [0, data_len) exactly: sorted by (begin, end), each starts where the last
        # ended. This one walk rules out overlaps, gaps and trailing bytes together.
        position, previous = 0, None
        for name, (_, _, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
            if begin != position:
                if begin < position:
                    self.fail(f"tensor {name!r} bytes [{begin}, {end}) overlap tensor {previous!r}, which ends "
                              f"at {position}")
                self.fail(f"gap in the data: bytes [{position}, {begin}) belong to no tensor (before {name!r})")
            position, previous = end, name
        if position != data_len:
            self.fail(f"{data_len - position} trailing bytes after the last tensor (the tensors cover {position} "
                      f"of the {data_len} data bytes)")
        return metadata, entries

    def _validate_entry(self, name, info, data_len):
        if not isinstance(info, dict) or set(info) != _TENSOR_FIELDS:
            keys = sorted(info) if isinstance(info, dict) else type(info).__name__
            self.fail(f"tensor {name!r}: expected an object with keys {sorted(_TENSOR_FIELDS)}, got {keys}")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or code not in _LOAD_DTYPES:
            self.fail(f"tensor {name!r}: unsupported dtype {code!r}; expected one of {', '.join(_LOAD_DTYPES)}")
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            self.fail(f"tensor {name!r}: shape must be a list of non-negative integers, got {shape!r}")
        if len(shape) > _MAX_NDIM:
            self.fail(f"tensor {name!r}: {len(shape)} dimensions, more than the {_MAX_NDIM} supported")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
            self.fail(f"tensor {name!r}: data_offsets must be a list of two integers, got {offsets!r}")
        begin, end = offsets
        if not 0 <= begin <= end <= data_len:
            self.fail(f"tensor {name!r}: data_offsets [{begin}, {end}] out of bounds for {data_len} data bytes")
        # Python ints do not overflow: the product is exact however large the claimed shape.
        itemsize = xp.dtype(_LOAD_DTYPES[code][0]).itemsize
        nbytes = math.prod(shape) * itemsize
        if nbytes != end - begin:
            self.fail(f"tensor {name!r}: shape {shape} of {code} needs {nbytes} bytes, data_offsets give "
                      f"{end - begin}")
        # A zero-size shape passes the byte check with any other extents; NumPy still needs them to fit in intp.
        if math.prod(max(d, 1) for d in shape) * itemsize > sys.maxsize:
            self.fail(f"tensor {name!r}: shape {shape} is too large to allocate")
        return code, tuple(shape), begin, end

    # -- data
    def _read_data(self, entries):
        """Read every tensor in file order into its own array; sizes were validated against the file size."""
        arrays = {}
        for name, (code, shape, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
            raw = xp.empty(end - begin, dtype=xp.uint8)
            self._read_into(raw)
            stored, loaded = _LOAD_DTYPES[code]
            if code == "BOOL":
                if raw.size and raw.max() > 1:
                    self.fail(f"tensor {name!r}: BOOL data holds bytes other than 0 and 1")
                array = raw.view(xp.bool_)
            elif code == "BF16":
                # bfloat16 is the upper half of a float32: shifting its bits up 16 widens it exactly.
                array = (raw.view(stored).astype(xp.uint32) << 16).view(xp.float32)
            else:
                array = raw.view(stored).astype(loaded, copy=False)  # a no-op on little-endian machines
            arrays[name] = array.reshape(shape)
        # Report in header order, as the file lists them.
        return {name: arrays[name] for name in entries}

    # -- Lamina metadata
    def _lamina_metadata(self, metadata):
        if _LAMINA_KEY not in metadata:
            return {}
        meta = self._json(metadata[_LAMINA_KEY], f"{_METADATA_KEY}[{_LAMINA_KEY!r}]")
        if not isinstance(meta, dict) or meta.get("version") != _FORMAT_VERSION:
            version = meta.get("version") if isinstance(meta, dict) else meta
            self.fail(f"unsupported Lamina format {version!r} in {_METADATA_KEY}; expected version "
                      f"{_FORMAT_VERSION}")
        unknown = set(meta) - {"version", "structure", "requires_grad"}
        if unknown:
            self.fail(f"unknown field(s) {sorted(unknown)} in the Lamina metadata")
        return meta

    def _requires_grad(self, meta, tensors):
        names = meta.get("requires_grad", [])
        if not isinstance(names, list):
            self.fail(f"requires_grad must be a list of tensor names, got {type(names).__name__}")
        for name in names:
            if not isinstance(name, str) or name not in tensors:
                self.fail(f"requires_grad names {name!r}, which is not a tensor in the file")
            if tensors[name]._data.dtype.kind != "f":
                self.fail(f"requires_grad on tensor {name!r} of dtype {tensors[name].dtype}; only floating "
                          f"tensors can require gradients")
        return names


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class _StructureDecoder:
    """The inverse of _StructureEncoder, checking every node; tensors are looked up by name, never created."""

    _TAGS = ("tensor", "float", "list", "tuple", "dict")

    def __init__(self, tensors, fail):
        self.tensors = tensors
        self.fail = fail
        self.used = set()

    def decode(self, node, depth=0):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not (isinstance(node, dict) and len(node) == 1 and next(iter(node)) in self._TAGS):
            self.fail(f"malformed structure node {_short(node)}; expected a JSON scalar or an object with one of "
                      f"the keys {self._TAGS}")
        tag, value = next(iter(node.items()))
        if tag == "tensor":
            if not isinstance(value, str) or value not in self.tensors:
                self.fail(f"the structure refers to tensor {_short(value)}, which is not in the file")
            self.used.add(value)
            return self.tensors[value]
        if tag == "float":
            if value not in ("nan", "inf", "-inf"):
                self.fail(f"malformed float node {_short(value)}; expected 'nan', 'inf' or '-inf'")
            return float(value)
        if not isinstance(value, list):
            self.fail(f"malformed {tag} node: expected a JSON array, got {_short(value)}")
        if depth >= _MAX_DEPTH:
            self.fail(f"the saved structure is nested more than {_MAX_DEPTH} containers deep")
        depth += 1
        if tag == "list":
            return [self.decode(x, depth) for x in value]
        if tag == "tuple":
            return tuple([self.decode(x, depth) for x in value])
        result = {}
        for pair in value:
            if not (isinstance(pair, list) and len(pair) == 2):
                self.fail(f"malformed dict entry {_short(pair)}; expected [key, value]")
            key = pair[0]
            if isinstance(key, dict):
                key = self.decode(key, depth)
            if not (key is None or isinstance(key, (bool, int, float, str))):
                self.fail(f"malformed dict key {_short(pair[0])}")
            if key in result:
                self.fail(f"duplicate dict key {key!r} in the saved structure")
            result[key] = self.decode(pair[1], depth)
        return result


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
