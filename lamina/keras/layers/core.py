"""Core Keras layers: Dense, EinsumDense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector, Identity,
Embedding.

Weights carry Keras's names and shapes (Dense ``kernel`` is ``(input_dim, units)``, Embedding ``embeddings`` is
``(input_dim, output_dim)``), so weights copied from Keras with ``set_weights`` give the same outputs; configs carry
Keras's keys so ``from_config(get_config())`` rebuilds the layer.
"""
import math
import re

import lamina
from lamina.errors import ArgumentError, IndexError_, ShapeError
from lamina.keras import activations, constraints, initializers, regularizers
from lamina.keras import ops
from lamina.keras import random as krandom
from lamina.keras.layers._args import check_positive_int, check_rate, standardize_data_format
from lamina.keras.layers.input_spec import InputSpec
from lamina.keras.layers.layer import Layer
from lamina.ops.linalg import AddMatmul
from lamina.tensor import Tensor


def _no_quantization(value, who):
    if value is not None:
        raise ArgumentError(f"{who}: quantization_config is not supported by Lamina, got {value!r}")


def _plain_affine(x, kernel, bias):
    """True for a 2-D floating input of the kernel's dtype and input size (Dense's usual call)."""
    if type(x) is not Tensor:
        return False
    a, w = x._data, kernel._data
    return (a.ndim == 2 and a.dtype == w.dtype == bias._data.dtype and a.dtype.kind == "f"
            and a.shape[1] == w.shape[0])


class Dense(Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)``, applied along the last axis.

    Args:
        units: size of the output's last axis.
        activation: an activation name or function (None: linear).
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: initializers of ``kernel`` ``(input_dim, units)`` and ``bias``.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to ``losses``.
        kernel_constraint, bias_constraint: projections applied after each optimizer step.

    Example:
        >>> layer = keras.layers.Dense(4, activation="relu")
        >>> layer(lamina.ones(2, 3)).shape
        lamina.Size([2, 4])
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = check_positive_int(units, "Dense", "units")
        _no_quantization(quantization_config, "Dense")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ShapeError(f"Dense '{self.name}': the last axis of the input must be known to build, got input "
                             f"shape {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs):
        kernel, bias = self.kernel, self.bias
        if bias is not None and _plain_affine(inputs, kernel, bias):
            # A batch of vectors: x @ kernel + bias as one operator (addmm's), one graph node as nn.Linear's;
            # the checks that addmm() would repeat are the ones _plain_affine just made.
            x = AddMatmul.apply(bias, inputs, kernel, beta=1, alpha=1)
        else:
            x = lamina.matmul(inputs, kernel)
            if bias is not None:
                x = x + bias
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        })
        return config


class EinsumDense(Layer):
    """A dense layer written as an einsum: ``einsum(equation, inputs, kernel) + bias``.

    The kernel's shape follows from the equation, the input shape and ``output_shape`` (the output without its
    batch axis; None entries are taken from the input). ``bias_axes`` names the output letters the bias spans.

    Example:
        >>> layer = keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 8), bias_axes="d")
        >>> layer(lamina.ones(2, 5, 3)).shape      # kernel (3, 8), bias (8,)
        lamina.Size([2, 5, 8])
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        _no_quantization(quantization_config, "EinsumDense")
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.full_output_shape = None

    def build(self, input_shape):
        kernel_shape, bias_shape, full_output_shape = _analyze_einsum(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape, self.name)
        self.full_output_shape = tuple(full_output_shape)
        self.kernel = self.add_weight(shape=tuple(kernel_shape), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = self.add_weight(shape=tuple(bias_shape), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if bias_shape is not None else None

    def call(self, inputs):
        x = lamina.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            x = x + self.bias
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return _analyze_einsum(self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape,
                               self.name)[2]

    def get_config(self):
        config = super().get_config()
        config.update({
            "output_shape": list(self.partial_output_shape), "equation": self.equation,
            "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        })
        return config


def _analyze_einsum(equation, bias_axes, input_shape, output_shape, name):
    """Kernel shape, bias shape and full output shape of an EinsumDense equation (Keras's rules).

    The equation is ``input,kernel->output`` with letters, optionally with ``...`` leading both the input and the
    output (left-elided) or trailing them (right-elided); elided axes pass through unchanged.
    """
    plain = re.fullmatch(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", equation)
    left = re.fullmatch(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)", equation)
    right = re.fullmatch(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.", equation)
    match = plain or left or right
    if match is None:
        raise ArgumentError(f"EinsumDense '{name}': invalid equation {equation!r}; expected 'ab,bc->ac' with "
                            "optional '...' leading (or trailing) the input and output")
    in_spec, kernel_spec, out_spec = match.groups()
    left_elided = left is not None
    elided = len(input_shape) - len(in_spec)
    full = [input_shape[0]] + list(output_shape)
    if elided > 0 and left_elided:
        for i in range(1, elided):
            full.insert(1, input_shape[i])
    elif elided > 0:
        full.extend(input_shape[len(input_shape) - elided:])
    if left_elided:
        in_map = {d: i + elided - len(input_shape) for i, d in enumerate(in_spec)}
        out_map = {d: i + elided - len(full) for i, d in enumerate(out_spec)}
    else:
        in_map = {d: i for i, d in enumerate(in_spec)}
        out_map = {d: i for i, d in enumerate(out_spec)}
    if len(full) != len(out_spec) + max(elided, 0):
        raise ShapeError(f"EinsumDense '{name}': output_shape {tuple(output_shape)} does not fit the output spec "
                         f"{out_spec!r} of {equation!r} for input shape {input_shape}")
    for d in in_spec:
        if d in out_map:
            given = full[out_map[d]]
            if given is None:
                full[out_map[d]] = input_shape[in_map[d]]
            elif given != input_shape[in_map[d]] and input_shape[in_map[d]] is not None:
                raise ShapeError(f"EinsumDense '{name}': output_shape gives axis {d!r} size {given}, but the input "
                                 f"(shape {input_shape}) has {input_shape[in_map[d]]} there")
    kernel_shape = []
    for d in kernel_spec:
        if d in in_map:
            kernel_shape.append(input_shape[in_map[d]])
        elif d in out_map:
            kernel_shape.append(full[out_map[d]])
        else:
            raise ArgumentError(f"EinsumDense '{name}': kernel axis {d!r} of {equation!r} is neither an input nor "
                                "an output axis")
    for d in out_spec:
        if d not in in_spec and d not in kernel_spec:
            raise ArgumentError(f"EinsumDense '{name}': output axis {d!r} of {equation!r} is in neither the input "
                                "nor the kernel")
    bias_shape = None
    if bias_axes is not None:
        for d in bias_axes:
            if d not in out_spec:
                raise ArgumentError(f"EinsumDense '{name}': bias axis {d!r} is not an output axis of {equation!r}")
        first = min(out_spec.find(d) for d in bias_axes)
        bias_shape = [full[out_map[d]] if d in bias_axes else 1 for d in out_spec[first:]]
        if not left_elided:
            bias_shape += [1] * max(elided, 0)
    return kernel_shape, bias_shape, tuple(full)


class Activation(Layer):
    """Applies an activation function (by name or callable) to its input.

    Example:
        >>> keras.layers.Activation("relu")(lamina.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Dropout(Layer):
    """Sets each input element to 0 with probability ``rate`` during training, scaling the rest by
    ``1 / (1 - rate)``; the identity at inference.

    Args:
        rate: the drop probability, in [0, 1].
        noise_shape: a shape broadcastable to the input's (None entries from it) to share one draw across axes,
            e.g. ``(batch, 1, features)`` drops the same features at every time step.
        seed: an int for a reproducible mask sequence of this layer alone; None draws from lamina's default
            generator (so ``lamina.manual_seed`` fixes it).
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, "Dropout")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.seed_generator = krandom.SeedGenerator(seed) if seed is not None else None
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return inputs * 0.0
        return krandom.dropout(inputs, self.rate, self.noise_shape, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed,
                       "noise_shape": None if self.noise_shape is None else list(self.noise_shape)})
        return config


class Flatten(Layer):
    """Flattens each sample to one axis: ``(batch, ...) -> (batch, prod(...))``; with ``channels_first`` the
    channels are moved last first, so the order matches a channels-last model.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, "Flatten")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = lamina.movedim(x, 1, -1)
        return x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(x.shape[0], 1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (the batch axis is kept); one entry may be -1.

    Example:
        >>> keras.layers.Reshape((3, 4))(lamina.ones(2, 12)).shape
        lamina.Size([2, 3, 4])
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target = tuple(target_shape)
        if sum(d == -1 for d in target) > 1 or any(not isinstance(d, int) or (d < 0 and d != -1) for d in target):
            raise ArgumentError(f"Reshape: target_shape must be ints with at most one -1, got {target_shape!r}")
        self.target_shape = target
        self._build_at_init()

    def call(self, inputs):
        n = math.prod(inputs.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and (known == 0 or n % known)) or (-1 not in self.target_shape and n != known):
            raise ShapeError(f"Reshape '{self.name}': cannot reshape samples of shape {tuple(inputs.shape[1:])} "
                             f"({n} elements) to target_shape {self.target_shape}")
        return inputs.reshape((inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape):
        target = list(self.target_shape)
        if -1 in target:
            rest = input_shape[1:]
            if any(d is None for d in rest):
                target[target.index(-1)] = None
            else:
                known = math.prod(d for d in target if d != -1)
                target[target.index(-1)] = math.prod(rest) // known if known else 0
        return (input_shape[0],) + tuple(target)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Permute(Layer):
    """Permutes the non-batch axes; ``dims`` counts from 1 (``(2, 1)`` swaps the two axes after the batch)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ArgumentError(f"Permute: dims must be a permutation of 1..{len(dims)} (the batch axis is not "
                                f"counted), got {dims!r}")
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        return lamina.permute(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class RepeatVector(Layer):
    """Repeats a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = check_positive_int(n, "RepeatVector", "n")
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return lamina.unsqueeze(inputs, 1).expand(inputs.shape[0], self.n, inputs.shape[1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


class Identity(Layer):
    """Returns its input unchanged (a placeholder in a model)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config()


class Embedding(Layer):
    """A lookup table: integer indices ``(batch, ...)`` -> vectors ``(batch, ..., output_dim)``.

    Args:
        input_dim: vocabulary size (indices lie in ``[0, input_dim)``).
        output_dim: size of each vector.
        embeddings_initializer: initializer of ``embeddings`` ``(input_dim, output_dim)`` (Keras's default is
            uniform on [-0.05, 0.05]).
        mask_zero: index 0 is padding: ``compute_mask`` returns ``inputs != 0``, which the layers after it (LSTM,
            GRU, attention...) use to skip those positions.

    Example:
        >>> emb = keras.layers.Embedding(10, 4, mask_zero=True)
        >>> emb(lamina.tensor([[3, 1, 0]])).shape
        lamina.Size([1, 3, 4])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, activity_regularizer=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.input_dim = check_positive_int(input_dim, "Embedding", "input_dim")
        self.output_dim = check_positive_int(output_dim, "Embedding", "output_dim")
        _no_quantization(quantization_config, "Embedding")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.autocast = False
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")

    def call(self, inputs):
        if inputs.dtype.is_floating_point or inputs.dtype == lamina.bool:
            inputs = inputs.to(lamina.int64)
        index = inputs._data
        if index.size and (index.min() < 0 or index.max() >= self.input_dim):
            bad = index.min() if index.min() < 0 else index.max()
            raise IndexError_(f"Embedding '{self.name}': index {int(bad)} is out of range for input_dim "
                             f"{self.input_dim} (valid indices are 0..{self.input_dim - 1})")
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs, previous_mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim, "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero, "quantization_config": None,
        })
        return config
