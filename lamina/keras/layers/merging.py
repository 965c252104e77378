"""Keras merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and their
function forms (``keras.layers.add([a, b])``...). Each takes a list of tensors; elementwise merges broadcast.
"""
import functools

import lamina
from lamina.errors import ArgumentError, ShapeError
from lamina.keras.layers.layer import Layer
from lamina.nn import functional as F


def _broadcast_shape(shapes, who):
    """NumPy broadcasting of shapes that may hold None (unknown sizes)."""
    ndim = max(len(s) for s in shapes)
    out = []
    for i in range(ndim):
        dims = [s[i - ndim + len(s)] for s in shapes if i - ndim + len(s) >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeError(f"{who}: inputs with shapes {[tuple(s) for s in shapes]} cannot be broadcast together")
        if known:
            out.append(known.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


class _Merge(Layer):
    """Elementwise merge of a list of at least two tensors."""
    _min_inputs, _max_inputs = 2, None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_inputs(self, inputs):
        who = f"{type(self).__name__} '{self.name}'"
        if not isinstance(inputs, (list, tuple)):
            raise ArgumentError(f"{who}: expected a list of tensors, got {type(inputs).__name__}")
        n = len(inputs)
        if n < self._min_inputs or (self._max_inputs is not None and n > self._max_inputs):
            expected = (f"exactly {self._min_inputs}" if self._max_inputs == self._min_inputs
                        else f"at least {self._min_inputs}")
            raise ArgumentError(f"{who}: expected {expected} inputs, got {n}")
        return who

    def build(self, input_shape):
        who = self._check_inputs(input_shape)
        _broadcast_shape([tuple(s) for s in input_shape], who)

    def call(self, inputs):
        who = self._check_inputs(inputs)
        _broadcast_shape([tuple(x.shape) for x in inputs], who)
        return self._merge(list(inputs))

    def compute_output_shape(self, input_shape):
        return _broadcast_shape([tuple(s) for s in input_shape], f"{type(self).__name__} '{self.name}'")

    def compute_mask(self, inputs, previous_mask=None):
        if previous_mask is None or not isinstance(previous_mask, (list, tuple)):
            return previous_mask
        masks = [m for m in previous_mask if m is not None]
        if not masks:
            return None
        return functools.reduce(lamina.logical_and, [m.to(lamina.bool) for m in masks])

    def get_config(self):
        return super().get_config()


class Add(_Merge):
    """Sum of the inputs.

    Example:
        >>> keras.layers.Add()([lamina.ones(2, 3), lamina.ones(2, 3)])
        tensor([[2., 2., 2.],
                [2., 2., 2.]])
    """

    def _merge(self, inputs):
        return functools.reduce(lambda a, b: a + b, inputs)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""
    _min_inputs = _max_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(lambda a, b: a * b, inputs)


class Average(_Merge):
    """Elementwise mean of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(lambda a, b: a + b, inputs) / len(inputs)


class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(lamina.maximum, inputs)


class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(lamina.minimum, inputs)


class Concatenate(Layer):
    """Concatenates a list of tensors along ``axis`` (the last by default); other axes must match.

    Example:
        >>> keras.layers.Concatenate()([lamina.ones(2, 3), lamina.zeros(2, 1)]).shape
        lamina.Size([2, 4])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ArgumentError(f"Concatenate: axis must be an int, got {axis!r}")
        self.axis = axis
        self.supports_masking = True

    def _check(self, shapes):
        who = f"Concatenate '{self.name}'"
        if not isinstance(shapes, (list, tuple)) or len(shapes) < 1:
            raise ArgumentError(f"{who}: expected a list of tensors")
        ndim = len(shapes[0])
        if any(len(s) != ndim for s in shapes) or not -ndim <= self.axis < ndim:
            raise ShapeError(f"{who}: inputs must have the same rank and axis {self.axis} must exist; got shapes "
                             f"{[tuple(s) for s in shapes]}")
        axis = self.axis % ndim
        for i in range(ndim):
            sizes = {s[i] for s in shapes if s[i] is not None}
            if i != axis and len(sizes) > 1:
                raise ShapeError(f"{who}: inputs must match on every axis except the concat axis {self.axis}; got "
                                 f"shapes {[tuple(s) for s in shapes]}")
        return axis

    def build(self, input_shape):
        self._check([tuple(s) for s in input_shape])

    def call(self, inputs):
        axis = self._check([tuple(x.shape) for x in inputs])
        return lamina.cat(list(inputs), dim=axis)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        axis = self._check(shapes)
        out = list(shapes[0])
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else sum(sizes)
        for i in range(len(out)):
            if out[i] is None and i != axis:
                out[i] = next((s[i] for s in shapes if s[i] is not None), None)
        return tuple(out)

    def compute_mask(self, inputs, previous_mask=None):
        if previous_mask is None or all(m is None for m in previous_mask):
            return None
        masks = []
        for x, m in zip(inputs, previous_mask):
            if m is None:
                masks.append(lamina.ones(tuple(x.shape), dtype=lamina.bool))
            elif m.ndim < x.ndim:
                masks.append(lamina.broadcast_to(lamina.unsqueeze(m.to(lamina.bool), -1), tuple(x.shape)))
            else:
                masks.append(m.to(lamina.bool))
        return lamina.any(lamina.cat(masks, dim=self.axis), dim=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(Layer):
    """Dot product of two batched tensors along ``axes`` (an int, or one axis per input), per sample.

    ``(batch, n) . (batch, n)`` with ``axes=1`` gives ``(batch, 1)``; ``(batch, t, d) . (batch, s, d)`` with
    ``axes=2`` gives ``(batch, t, s)``. ``normalize=True`` L2-normalizes both along the axes first (cosine
    similarity).
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, int) and not isinstance(axes, bool):
            pass
        elif isinstance(axes, (list, tuple)) and len(axes) == 2 and all(isinstance(a, int) for a in axes):
            axes = tuple(axes)
        else:
            raise ArgumentError(f"Dot: axes must be an int or a pair of ints, got {axes!r}")
        self.axes = axes
        self.normalize = bool(normalize)

    def _resolve(self, shape1, shape2):
        who = f"Dot '{self.name}'"
        if isinstance(self.axes, int):
            axes = (self.axes % len(shape1), self.axes % len(shape2)) if self.axes < 0 else (self.axes, self.axes)
        else:
            axes = (self.axes[0] % len(shape1), self.axes[1] % len(shape2))
        if axes[0] == 0 or axes[1] == 0 or axes[0] >= len(shape1) or axes[1] >= len(shape2):
            raise ShapeError(f"{who}: axes {self.axes} must name non-batch axes of shapes {tuple(shape1)} and "
                             f"{tuple(shape2)}")
        a, b = shape1[axes[0]], shape2[axes[1]]
        if a is not None and b is not None and a != b:
            raise ShapeError(f"{who}: the dot axes have different sizes: {a} (axis {axes[0]} of {tuple(shape1)}) "
                             f"and {b} (axis {axes[1]} of {tuple(shape2)})")
        return axes

    def _two(self, items):
        if not isinstance(items, (list, tuple)) or len(items) != 2:
            raise ArgumentError(f"Dot '{self.name}': expected a list of exactly 2 inputs")
        return items

    def build(self, input_shape):
        s1, s2 = self._two(input_shape)
        self._resolve(tuple(s1), tuple(s2))

    def call(self, inputs):
        x1, x2 = self._two(inputs)
        a1, a2 = self._resolve(tuple(x1.shape), tuple(x2.shape))
        if self.normalize:
            x1, x2 = F.normalize(x1, dim=a1), F.normalize(x2, dim=a2)
        # einsum with the batch letter shared, the dot axes contracted and the rest kept in order.
        letters = iter("bcdefghijklmnopqrstuvwxyz")
        s1 = ["a"] + [next(letters) for _ in range(x1.ndim - 1)]
        s2 = ["a"] + [next(letters) for _ in range(x2.ndim - 1)]
        s2[a2] = s1[a1]
        out = [c for i, c in enumerate(s1) if i != a1] + [c for i, c in enumerate(s2) if i not in (0, a2)]
        result = lamina.einsum(f"{''.join(s1)},{''.join(s2)}->{''.join(out)}", x1, x2)
        return result.reshape(-1, 1) if result.ndim == 1 else result

    def compute_output_shape(self, input_shape):
        s1, s2 = (list(s) for s in self._two(input_shape))
        a1, a2 = self._resolve(tuple(s1), tuple(s2))
        s1.pop(a1)
        s2.pop(a2)
        s2.pop(0)
        out = s1 + s2
        return tuple(out + [1]) if len(out) == 1 else tuple(out)

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"axes": list(self.axes) if isinstance(self.axes, tuple) else self.axes,
                       "normalize": self.normalize})
        return config


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
