"""``lamina.summary``: Keras's summary table for any ``nn.Module``, and the table renderer both idioms share.

``summary(module, input_size)`` runs the module once on zeros (or on an example input) with forward hooks, and
prints each sub-module that ran: its path and class, its output shape and its parameter count, then the
totals, in the layout of Keras 3's ``model.summary()``. With ``ops=True`` it also lists, under each layer, the
operators that layer ran itself (``Convolution``, ``Add``...) and their FLOPs:

- matmul / linear: ``2 * M * N * K`` (each of the M*N outputs is K multiply-adds);
- convolution: ``2 * output elements * (in_channels / groups) * kh * kw``; transposed convolution the same per
  input element;
- attention: the two matmuls, ``2 * L * S * (E + Ev)`` per batch and head;
- reductions and pooling: one per input element; views and copies (reshape, permute, cat...): 0;
- everything else (elementwise, activations, normalization): one per output element.

The table renderer reproduces the plain text that Keras prints through ``rich`` when its output is not a
terminal (``rich.table.Table(show_lines=True)`` with the heavy-head box): the same column-width arithmetic,
word wrapping, ellipsis truncation and alignment. One deliberate difference: lines are never cropped to the
terminal width (rich crops a table wider than the console).

Example:
    >>> lamina.summary(net, (1, 1, 28, 28), ops=True)
"""
import math
import shutil
import sys

from lamina import autograd
from lamina.autograd import no_grad
from lamina.backend import xp
from lamina.errors import ArgumentError
from lamina.tensor import Tensor

__all__ = ["summary"]


# ---- the table ----------------------------------------------------------------------------------------------

def column_widths(line_length, positions):
    """Keras's column widths (``int(pos * line_length)`` cumulative) as rich then fits them in ``line_length``.

    Returns the width of each cell including its one-space padding on both sides (borders excluded).
    """
    if positions[-1] > 1:  # absolute positions (Keras 2's form)
        positions = [p / line_length for p in positions]
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ArgumentError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    n = len(widths)
    max_width = line_length - (n + 1)  # the vertical borders
    cells = [min(w + 2, max_width) for w in widths]
    if sum(cells) > max_width:
        cells = _ratio_reduce(sum(cells) - max_width, [1] * n, cells, cells)
    elif sum(cells) < max_width:
        cells = [c + p for c, p in zip(cells, _ratio_distribute(max_width - sum(cells), cells))]
    return cells


def _ratio_reduce(total, ratios, maximums, values):
    # rich._ratio.ratio_reduce: take ``total`` away from ``values`` in proportion to ``ratios``.
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining, out = total, []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            taken = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _ratio_distribute(total, ratios):
    # rich._ratio.ratio_distribute without minimums: share ``total`` in proportion to ``ratios``.
    total_ratio, remaining, out = sum(ratios), total, []
    for ratio in ratios:
        share = math.ceil(ratio * remaining / total_ratio) if total_ratio > 0 else remaining
        out.append(share)
        total_ratio -= ratio
        remaining -= share
    return out


def _break_offsets(text, width):
    """Where rich breaks ``text`` to fit ``width`` without splitting words (a too-long word gets its own line)."""
    offsets, offset, position = [], 0, 0
    while position < len(text):
        start = position
        while position < len(text) and text[position].isspace():
            position += 1
        while position < len(text) and not text[position].isspace():
            position += 1
        while position < len(text) and text[position].isspace():
            position += 1
        word = text[start:position]
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width or (offset and start):
            if start:
                offsets.append(start)
            offset = len(word)
    return offsets


def wrap_cell(text, width, justify="left"):
    """The lines of one cell: wrapped at spaces, each cut to ``width`` with an ellipsis, then aligned."""
    lines = []
    for paragraph in str(text).split("\n"):
        cuts = [0] + _break_offsets(paragraph, width) + [len(paragraph)]
        for a, b in zip(cuts, cuts[1:] or [len(paragraph)]):
            line = paragraph[a:b].rstrip()
            if len(line) > width:
                line = line[:width - 1] + "…"
            if justify == "right":
                line = line.rjust(width)
            elif justify == "center":
                left = (width - len(line)) // 2
                line = (" " * left + line).ljust(width)
            else:
                line = line.ljust(width)
            lines.append(line)
    return lines or [" " * width]


def render_table(header, rows, widths, alignment, separators=None):
    """The table's lines. ``widths`` include the padding (``column_widths``); ``separators[i]`` says whether a
    rule is drawn above row i (all rows by default, as Keras's ``show_lines=True``)."""
    def rule(left, fill, middle, right):
        return left + middle.join(fill * w for w in widths) + right

    def row_lines(cells, bar, bottom=False):
        wrapped = [wrap_cell(c, w - 2, a) for c, w, a in zip(cells, widths, alignment)]
        height = max(len(w) for w in wrapped)
        # Cells are aligned to the top, header cells to the bottom (as rich does).
        wrapped = [([" " * (w - 2)] * (height - len(c)) + c) if bottom else
                   (c + [" " * (w - 2)] * (height - len(c))) for c, w in zip(wrapped, widths)]
        return [bar + bar.join(f" {parts[i]} " for parts in wrapped) + bar for i in range(height)]

    lines = [rule("┏", "━", "┳", "┓")]
    lines += row_lines(header, "┃", bottom=True)
    lines.append(rule("┡", "━", "╇", "┩"))
    for i, row in enumerate(rows):
        if i and (separators is None or separators[i]):
            lines.append(rule("├", "─", "┼", "┤"))
        lines += row_lines(row, "│")
    lines.append(rule("└", "─", "┴", "┘"))
    return lines


def default_line_length(default):
    """Keras's choice: the default, but at most the terminal width minus 4."""
    return min(default, shutil.get_terminal_size().columns - 4)


def format_shape(shape):
    """``(None, 8)`` as Keras prints it (a 1-d shape prints as ``(None)``)."""
    return f"({', '.join(str(d) for d in shape)})"


def format_shapes(structure):
    """One shape, or Keras's rendering of a list/tuple/dict of shapes: ``[(None, 3), (None, 4)]``."""
    if structure is None:
        return "?"
    if isinstance(structure, tuple) and all(d is None or isinstance(d, int) for d in structure):
        return format_shape(structure)
    flat = []

    def walk(s):
        if isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s):
            flat.append(s)
            return format_shape(s)
        if isinstance(s, list):
            return [walk(x) for x in s]
        if isinstance(s, tuple):
            return tuple(walk(x) for x in s)
        if isinstance(s, dict):
            return {k: walk(v) for k, v in s.items()}
        return "?"

    rendered = walk(structure)
    if len(flat) == 1:
        return format_shape(flat[0])
    return str(rendered).replace("'", "")


def readable_memory_size(size):
    """Keras's byte counts: ``104.00 B``, ``1.14 KB``..."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def weight_totals(weights):
    """(count, bytes) of a list of weights, each counted once."""
    unique = {id(w): w for w in weights}.values()
    count = sum(math.prod(w.shape) for w in unique)
    size = sum(math.prod(w.shape) * w._data.dtype.itemsize for w in unique)
    return int(count), size


def totals_lines(trainable, non_trainable):
    (tc, ts), (nc, ns) = weight_totals(trainable), weight_totals(non_trainable)
    return [f" Total params: {tc + nc:,} ({readable_memory_size(ts + ns)})",
            f" Trainable params: {tc:,} ({readable_memory_size(ts)})",
            f" Non-trainable params: {nc:,} ({readable_memory_size(ns)})"]


def emit(lines, print_fn):
    """Hand the text to ``print_fn`` in one call (as Keras 3 does), or write it to stdout."""
    text = "\n".join(lines) + "\n"
    if print_fn is None:
        sys.stdout.write(text)
    else:
        print_fn(text)


# ---- lamina.summary -----------------------------------------------------------------------------------------

_VIEWS = frozenset({"Reshape", "ViewDtype", "Permute", "Expand", "Index", "Narrow", "Split", "Unbind", "Flip",
                    "Roll", "Cat", "Stack", "Contiguous", "Clone", "Repeat", "Cast", "CopyFrom", "Gather",
                    "IndexSelect", "AdvancedIndex", "SetItem", "ZeroGrad"})
_PER_INPUT = frozenset({"Sum", "Mean", "Var", "Std", "AMax", "MaxDim", "ArgMax", "Prod", "LogSumExp",
                        "VectorNorm", "AllAny", "CountNonzero", "MaxPool", "AvgPool", "AdaptiveAvgPool",
                        "AdaptiveMaxPool", "Cumsum", "Cumprod", "MedianAll", "MedianDim"})


def op_flops(name, inputs, outputs, view=False):
    """FLOPs of one operator call from its class name, input arrays and output arrays (see module docstring).

    ``view`` marks an operator whose output is a view of its input (``Op._view``): no arithmetic at all.
    """
    arrays = [a for a in inputs if hasattr(a, "shape") and hasattr(a, "dtype")]
    out_elems = sum(int(math.prod(o.shape)) for o in outputs)
    if view or name in _VIEWS:
        return 0
    if name in ("Linear", "Matmul") and len(arrays) >= 2:
        return 2 * out_elems * (arrays[0].shape[-1] if arrays[0].ndim else 1)
    if name == "AddMatmul" and len(arrays) >= 3:
        return 2 * out_elems * arrays[1].shape[-1]
    if name == "Convolution" and len(arrays) >= 2:
        return 2 * out_elems * int(math.prod(arrays[1].shape[1:]))
    if name == "ConvolutionTranspose" and len(arrays) >= 2:
        return 2 * int(math.prod(arrays[0].shape)) * int(math.prod(arrays[1].shape[1:]))
    if name == "Bilinear" and len(arrays) >= 3:
        return 2 * out_elems * arrays[0].shape[-1] * arrays[1].shape[-1]
    if name == "ScaledDotProductAttention" and len(arrays) >= 3:
        q, k, v = arrays[:3]
        return 2 * int(math.prod(q.shape[:-1])) * k.shape[-2] * (q.shape[-1] + v.shape[-1])
    if name in _PER_INPUT and arrays:
        return int(math.prod(arrays[0].shape))
    return out_elems


class _Recorder:
    """Forward hooks and the operator observer of one summary run."""

    def __init__(self, module, ops):
        self.module = module
        self.ops = ops
        self.stack = []             # modules whose forward is running, innermost last
        self.order = []             # modules in the order they were first called
        self.shapes = {}            # id(module) -> output shape structure of its last call
        self.op_rows = {}           # id(module) -> [(op name, output shapes, flops)]
        self.handles = []

    def pre(self, module, args):
        if id(module) not in self.shapes:
            self.order.append(module)
            self.shapes[id(module)] = None
        self.stack.append(module)

    def post(self, module, args, output):
        if self.stack and self.stack[-1] is module:
            self.stack.pop()
        self.shapes[id(module)] = _shapes(output)

    def observe(self, cls, args, attrs):
        # Installed as lamina.autograd._op_observer: run the operator unobserved, then record it.
        autograd._op_observer = None
        try:
            out = cls.apply(*args, **attrs)
        finally:
            autograd._op_observer = self.observe
        outs = out if isinstance(out, tuple) else (out,)
        inputs = [a._data if isinstance(a, Tensor) else a for a in args]
        out_arrays = [o._data for o in outs if isinstance(o, Tensor)]
        owner = self.stack[-1] if self.stack else self.module
        self.op_rows.setdefault(id(owner), []).append(
            (cls.__name__, _shapes(out), op_flops(cls.__name__, inputs, out_arrays, getattr(cls, "_view", False))))
        return out

    def __enter__(self):
        for _, m in self.module.named_modules():
            self.handles.append(m.register_forward_pre_hook(self.pre))
            self.handles.append(m.register_forward_hook(self.post))
        if self.ops:
            autograd._op_observer = self.observe
        return self

    def __exit__(self, *exc):
        autograd._op_observer = None
        for h in self.handles:
            h.remove()


def _shapes(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, list):
        return [_shapes(o) for o in output]
    if isinstance(output, tuple):
        return tuple(_shapes(o) for o in output)
    if isinstance(output, dict):
        return {k: _shapes(v) for k, v in output.items()}
    return None


def _example_inputs(input_size, dtypes):
    """Example inputs from shapes (zeros) or tensors/arrays given as is."""
    if input_size is None:
        return None
    if isinstance(input_size, (Tensor, xp.ndarray)):
        items = [input_size]
    elif isinstance(input_size, (list, tuple)) and input_size and all(isinstance(d, int) for d in input_size):
        items = [tuple(input_size)]
    elif isinstance(input_size, (list, tuple)):
        items = list(input_size)
    else:
        raise ArgumentError(f"lamina.summary(): input_size must be a shape, a list of shapes, or example "
                            f"tensors, got {input_size!r}")
    dtypes = list(dtypes) if dtypes is not None else [None] * len(items)
    out = []
    for item, dtype in zip(items, dtypes):
        if isinstance(item, Tensor):
            out.append(item)
        elif isinstance(item, xp.ndarray):
            out.append(Tensor._make(item))
        elif isinstance(item, (list, tuple)) and all(isinstance(d, int) and d >= 0 for d in item):
            from lamina.dtypes import as_dtype
            np_dtype = as_dtype(dtype).numpy if dtype is not None else xp.float32
            out.append(Tensor._make(xp.zeros(tuple(item), dtype=np_dtype)))
        else:
            raise ArgumentError(f"lamina.summary(): each input must be a shape of non-negative ints or a tensor, "
                                f"got {item!r}")
    return out


def summary(module, input_size=None, *, ops=False, dtypes=None, depth=None, line_length=None, positions=None,
            print_fn=None):
    """Print a Keras-style table of a module's layers, output shapes and parameters (and operators with FLOPs).

    Args:
        module: any ``lamina.nn.Module`` (Keras models included).
        input_size: the input shape including the batch (``(1, 3, 32, 32)``), a list of shapes for several
            inputs, or example tensors/arrays. Without it nothing runs and output shapes show as ``?``.
        ops: also list, under each layer, the operators it ran itself and their FLOPs (and a FLOPs column).
        dtypes: dtypes of the zero inputs made from shapes (float32 by default).
        depth: show sub-modules up to this nesting depth (operators of deeper modules go to their shown
            ancestor); all by default.
        line_length, positions, print_fn: as in Keras's ``model.summary``.

    The module runs once without gradients and in eval mode (its train/eval flags are restored afterwards), so
    summarising updates no statistics and draws no dropout masks.

    Example:
        >>> lamina.summary(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), (2, 4))
    """
    from lamina.nn.module import Module
    from lamina.nn.parameter import is_lazy
    if not isinstance(module, Module):
        raise ArgumentError(f"lamina.summary(): expected an nn.Module, got {type(module).__name__}")
    inputs = _example_inputs(input_size, dtypes)
    recorder = _Recorder(module, ops)
    if inputs is not None:
        modes = {id(m): m.training for _, m in module.named_modules()}
        module.eval()
        try:
            with recorder, no_grad():
                module(*inputs)
        finally:
            for _, m in module.named_modules():
                m.__dict__["training"] = modes.get(id(m), m.training)
    rows, separators = _summary_rows(module, recorder, ops, depth, ran=inputs is not None)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["FLOPs"] if ops else [])
    alignment = ["left", "left", "right"] + (["right"] if ops else [])
    if positions is None:
        positions = [0.42, 0.70, 0.84, 1.0] if ops else [0.45, 0.80, 1.0]
    line_length = line_length or default_line_length(100 if ops else 88)
    widths = column_widths(line_length, positions)
    params = list(module.parameters())
    name = getattr(module, "name", None) if isinstance(getattr(module, "name", None), str) else None
    lines = [f'Model: "{name or type(module).__name__}"']
    lines += render_table(header, rows, widths, alignment, separators)
    lines += totals_lines([p for p in params if p.requires_grad], [p for p in params if not p.requires_grad])
    lazy = [f"{path} ({type(m).__name__})" if path else type(m).__name__ for path, m in module.named_modules()
            if any(is_lazy(t) for t in (*m._parameters.values(), *m._buffers.values()))]
    if lazy:
        lines.append(f" Uninitialized: {', '.join(lazy)} (parameter shapes are inferred on the first call; "
                     f"not counted above)")
    if ops:
        total = sum(f for ops_ in recorder.op_rows.values() for _, _, f in ops_)
        lines.append(f" Total FLOPs: {total:,}")
    emit(lines, print_fn)


def _summary_rows(module, recorder, ops, depth, ran):
    from lamina.nn.containers import ModuleDict, ModuleList
    from lamina.nn.parameter import is_lazy
    paths = {id(m): p for p, m in module.named_modules()}

    def shown(m):
        # Containers (ModuleList, ModuleDict) never run themselves: their items get the rows.
        path = paths.get(id(m), "")
        return path and (depth is None or path.count(".") < depth) and not isinstance(m, (ModuleList, ModuleDict))

    modules = [m for m in recorder.order if shown(m)]
    called = {id(m) for m in recorder.order}
    modules += [m for _, m in module.named_modules() if shown(m) and id(m) not in called]
    # Operators are listed under the nearest shown module (or the root) that ran them.
    owner_of = {}
    for p, m in module.named_modules():
        owner = m
        while owner is not module and not shown(owner):
            owner = module.get_submodule(paths[id(owner)].rpartition(".")[0])
        owner_of[id(m)] = owner
    grouped = {}
    for key, entries in recorder.op_rows.items():
        grouped.setdefault(id(owner_of.get(key, module)), []).extend(entries)
    inclusive = {}  # path -> FLOPs of the operators run inside that module, nested ones included
    for p, m in module.named_modules():
        total = sum(f for _, _, f in recorder.op_rows.get(id(m), ()))
        parts = p.split(".") if p else []
        for i in range(len(parts) + 1):
            key = ".".join(parts[:i])
            inclusive[key] = inclusive.get(key, 0) + total

    rows, separators = [], []
    order = ([module] if ops and grouped.get(id(module)) else []) + modules
    for m in order:
        path = paths.get(id(m), "") or "(root)"
        shape = format_shapes(recorder.shapes.get(id(m))) if ran else "?"
        params = list(m.parameters())
        # a lazy layer before its first call: its parameter shapes, hence their count, are not known yet
        count = "?" if any(is_lazy(p) for p in params) else f"{sum(math.prod(p.shape) for p in params):,}"
        row = [f"{path} ({type(m).__name__})", shape, count]
        if ops:
            row.append(f"{inclusive.get(paths.get(id(m), ''), 0):,}")
        rows.append(row)
        separators.append(True)
        for op_name, op_shape, flops in (grouped.get(id(m), ()) if ops else ()):
            rows.append([f"   └ {op_name}", format_shapes(op_shape), "", f"{flops:,}"])
            separators.append(False)
    return rows, separators
