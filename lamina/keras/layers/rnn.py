"""Keras recurrent layers: the cells SimpleRNNCell / LSTMCell / GRUCell, the generic ``RNN(cell)`` loop, the
layers SimpleRNN / LSTM / GRU, and the wrappers Bidirectional and TimeDistributed.

Weights follow Keras exactly, so they transfer with ``set_weights``: ``kernel`` ``(input_dim, k * units)``,
``recurrent_kernel`` ``(units, k * units)`` and ``bias``, with the gates concatenated in Keras's order: LSTM
``i, f, c, o`` (input, forget, cell candidate, output), GRU ``z, r, h`` (update, reset, candidate). GRU's default
``reset_after=True`` applies the reset gate after the recurrent matmul and has a ``(2, 3 * units)`` bias (input
bias, recurrent bias); ``reset_after=False`` is the original GRU with a ``(3 * units,)`` bias.

``RNN(cell)`` runs any cell that has ``state_size`` (an int or a list of ints) and ``call(inputs, states)``
returning ``(output, new_states)``. Masked time steps (a mask from Embedding's ``mask_zero``) keep the previous
state and repeat the previous output (zeros with ``zero_output_for_mask=True``). ``go_backwards`` reads the
sequence from the end and, like Keras, returns the sequence of outputs in that reversed order. ``unroll`` is
accepted and ignored: the loop is always a Python loop over time steps.
"""
import copy

import lamina
from lamina.errors import ArgumentError, ShapeError
from lamina.keras import activations, constraints, initializers, regularizers, saving
from lamina.keras import random as krandom
from lamina.keras.backend import flatten, pack_as
from lamina.keras.layers._args import check_positive_int, check_rate
from lamina.keras.layers.input_spec import InputSpec
from lamina.keras.layers.layer import Layer
from lamina.tensor import Tensor


# ---- cells ------------------------------------------------------------------------------------------------------
class _Cell(Layer):
    """Shared by the built-in cells: weights' arguments, dropout masks (one per sequence, as in Keras) and the
    split of a step into an input projection (done for the whole sequence at once by RNN) and the recurrence."""
    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)  # Keras's kernel-fusion switch; the results are the same
        super().__init__(**kwargs)
        who = type(self).__name__
        self.units = check_positive_int(units, who, "units")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, check_rate(dropout, who, "dropout")))
        self.recurrent_dropout = min(1.0, max(0.0, check_rate(recurrent_dropout, who, "recurrent_dropout")))
        self.seed = seed
        self.seed_generator = krandom.SeedGenerator(seed) if seed is not None else None
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    def _build_kernels(self, input_dim):
        k = self._gates * self.units
        self.kernel = self.add_weight(shape=(input_dim, k), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, k), initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ShapeError(f"{type(self).__name__} '{self.name}': the feature axis of the input must be known, "
                             f"got input shape {tuple(input_shape)}")
        self._build_kernels(input_shape[-1])
        self.bias = self.add_weight(shape=(self._gates * self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None

    # The dropout masks are drawn once per sequence (the same units dropped at every step) and cleared by RNN.
    def _mask_for(self, like, rate, attribute):
        mask = getattr(self, attribute)
        if mask is None:
            ones = lamina.ones(tuple(like.shape), dtype=like.dtype)
            mask = krandom.dropout(ones, rate, seed=self.seed_generator)
            self.__dict__[attribute] = mask
        return mask

    def get_dropout_mask(self, step_input):
        return self._mask_for(step_input, self.dropout, "_dropout_mask") if self.dropout > 0 else None

    def get_recurrent_dropout_mask(self, state):
        return self._mask_for(state, self.recurrent_dropout, "_recurrent_dropout_mask") \
            if self.recurrent_dropout > 0 else None

    def reset_dropout_mask(self):
        self.__dict__["_dropout_mask"] = None

    def reset_recurrent_dropout_mask(self):
        self.__dict__["_recurrent_dropout_mask"] = None

    def _input_dropout(self, inputs, training):
        if training and self.dropout > 0:
            return inputs * self.get_dropout_mask(inputs)
        return inputs

    def _state_dropout(self, h, training):
        if training and self.recurrent_dropout > 0:
            return h * self.get_recurrent_dropout_mask(h)
        return h

    def project(self, inputs):
        """``inputs @ kernel`` (+ the input bias) for any leading shape: the part of a step that does not depend
        on the state, which RNN computes for all time steps in one matmul."""
        x = lamina.matmul(inputs, self.kernel)
        bias = self._input_bias()
        return x + bias if bias is not None else x

    def _input_bias(self):
        return self.bias

    def call(self, inputs, states, training=False):
        return self.recurrent_step(self.project(self._input_dropout(inputs, training)), states, training)

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [lamina.zeros((batch_size, n), dtype=self.dtype) for n in sizes]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
        })
        return config


def _first_state(states):
    return states[0] if isinstance(states, (list, tuple)) else states


class SimpleRNNCell(_Cell):
    """``h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)``; the output is ``h``.

    Example:
        >>> layer = keras.layers.RNN(keras.layers.SimpleRNNCell(4))
        >>> layer(lamina.ones(2, 5, 3)).shape
        lamina.Size([2, 4])
    """
    _gates = 1

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def recurrent_step(self, projected, states, training=False):
        h_prev = self._state_dropout(_first_state(states), training)
        h = self.activation(projected + lamina.matmul(h_prev, self.recurrent_kernel))
        return h, [h]


class LSTMCell(_Cell):
    """One LSTM step with Keras's gate order ``i, f, c, o``:

    ``i, f, o = recurrent_activation(...)``, ``c = f * c_prev + i * activation(z_c)``, ``h = o * activation(c)``,
    where each ``z = x @ kernel_gate + h_prev @ recurrent_kernel_gate + bias_gate``. States ``[h, c]``.

    Args:
        unit_forget_bias: initialize the forget gate's bias to 1 (and the rest with ``bias_initializer``).
    """
    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ShapeError(f"LSTMCell '{self.name}': the feature axis of the input must be known, got input "
                             f"shape {tuple(input_shape)}")
        self._build_kernels(input_shape[-1])
        if not self.use_bias:
            self.bias = None
            return
        initializer = self.bias_initializer
        if self.unit_forget_bias:
            units, base = self.units, self.bias_initializer

            def initializer(shape, dtype=None):
                # [i | f | c, o]: the forget gate starts at 1 so the cell remembers by default.
                parts = [base((units,), dtype), lamina.ones(units, dtype=lamina.float32), base((2 * units,), dtype)]
                return lamina.cat([p.to(parts[0].dtype) for p in parts])
        self.bias = self.add_weight(shape=(4 * self.units,), initializer=initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")

    def recurrent_step(self, projected, states, training=False):
        h_prev, c_prev = states[0], states[1]
        z = projected + lamina.matmul(self._state_dropout(h_prev, training), self.recurrent_kernel)
        z_i, z_f, z_c, z_o = lamina.chunk(z, 4, dim=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update({"recurrent_activation": activations.serialize(self.recurrent_activation),
                       "unit_forget_bias": self.unit_forget_bias})
        return config


class GRUCell(_Cell):
    """One GRU step with Keras's gate order ``z, r, h``: ``h = z * h_prev + (1 - z) * candidate``.

    With ``reset_after=True`` (Keras's default, cuDNN-compatible) the candidate is
    ``activation(x @ W_h + b_h + r * (h_prev @ U_h + rb_h))`` and ``bias`` is ``(2, 3 * units)``: row 0 for the
    input side, row 1 for the recurrent side. With ``reset_after=False`` it is
    ``activation(x @ W_h + b_h + (r * h_prev) @ U_h)`` and ``bias`` is ``(3 * units,)``.
    """
    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ShapeError(f"GRUCell '{self.name}': the feature axis of the input must be known, got input shape "
                             f"{tuple(input_shape)}")
        self._build_kernels(input_shape[-1])
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self.bias = self.add_weight(shape=shape, initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def recurrent_step(self, projected, states, training=False):
        h_prev = _first_state(states)
        h_rec = self._state_dropout(h_prev, training)
        u = self.units
        x_z, x_r, x_h = lamina.chunk(projected, 3, dim=-1)
        if self.reset_after:
            inner = lamina.matmul(h_rec, self.recurrent_kernel)
            if self.bias is not None:
                inner = inner + self.bias[1]
            r_z, r_r, r_h = lamina.chunk(inner, 3, dim=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            candidate = self.activation(x_h + r * r_h)
        else:
            inner = lamina.matmul(h_rec, self.recurrent_kernel[:, :2 * u])
            r_z, r_r = lamina.chunk(inner, 2, dim=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            candidate = self.activation(x_h + lamina.matmul(r * h_rec, self.recurrent_kernel[:, 2 * u:]))
        h = z * h_prev + (1 - z) * candidate
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.update({"recurrent_activation": activations.serialize(self.recurrent_activation),
                       "reset_after": self.reset_after})
        return config


class StackedRNNCells(Layer):
    """Several cells run one after the other at each time step (``RNN([cell1, cell2])``)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            _check_cell(cell)
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(tuple(input_shape))
            input_shape = (input_shape[0], _output_size(cell))

    def get_initial_state(self, batch_size=None):
        return [_initial_state(cell, batch_size, self.dtype) for cell in self.cells]

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, state in zip(self.cells, states):
            nested = isinstance(state, (list, tuple))
            inputs, state = _call_cell(cell, inputs, list(state) if nested else [state], training)
            new_states.append(state if nested else _first_state(state))
        return inputs, new_states

    def get_config(self):
        config = super().get_config()
        config["cells"] = [saving.serialize_keras_object(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        cells = [saving.deserialize_keras_object(c) for c in config.pop("cells")]
        return cls(cells, **config)


def _check_cell(cell):
    if not callable(getattr(cell, "call", None)) and not callable(cell):
        raise ArgumentError(f"RNN: the cell must have a call(inputs, states) method, got {cell!r}")
    state_size = getattr(cell, "state_size", None)
    if state_size is None or not isinstance(state_size, (int, list, tuple)):
        raise ArgumentError(f"RNN: the cell {type(cell).__name__} must have a state_size attribute (an int or a "
                            f"list of ints, one per state), got {state_size!r}")


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state_size = cell.state_size
    return state_size[0] if isinstance(state_size, (list, tuple)) else state_size


def _initial_state(cell, batch_size, dtype):
    fn = getattr(cell, "get_initial_state", None)
    if fn is not None:
        state = fn(batch_size=batch_size)
        return list(state) if isinstance(state, (list, tuple)) else [state]
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [lamina.zeros((batch_size, n), dtype=dtype) for n in sizes]


def _call_cell(cell, inputs, states, training):
    """One step of any cell: built-in and Layer cells through ``call`` (no per-step __call__ overhead)."""
    if isinstance(cell, Layer):
        if "training" in cell._call_args():
            output, new_states = cell.call(inputs, states, training=training)
        else:
            output, new_states = cell.call(inputs, states)
    else:
        output, new_states = (cell.call if hasattr(cell, "call") else cell)(inputs, states)
    if not isinstance(new_states, (list, tuple)):
        new_states = [new_states]
    return output, list(new_states)


# ---- the loop -----------------------------------------------------------------------------------------------------
class RNN(Layer):
    """Runs a cell over the time axis of ``(batch, timesteps, features)`` inputs.

    Args:
        cell: a cell (``state_size`` + ``call(inputs, states) -> (output, new_states)``), or a list of cells
            (stacked).
        return_sequences: return every step's output ``(batch, timesteps, units)``, not just the last.
        return_state: also return the final states: ``(output, *states)``.
        go_backwards: process the sequence from the end (the returned sequence is in processing order).
        stateful: keep the final states of a batch as the initial states of the next (``reset_states()``
            clears them); the batch size must not change.
        unroll: accepted for Keras compatibility; has no effect.
        zero_output_for_mask: masked steps output zeros instead of repeating the previous output.

    Example:
        >>> class MinimalCell(keras.layers.Layer):
        ...     def __init__(self, units, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.units, self.state_size = units, units
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight(shape=(input_shape[-1] + self.units, self.units), name="w")
        ...     def call(self, inputs, states):
        ...         h = lamina.tanh(lamina.cat([inputs, states[0]], -1) @ self.w)
        ...         return h, [h]
        >>> keras.layers.RNN(MinimalCell(8))(lamina.ones(2, 5, 3)).shape
        lamina.Size([2, 8])
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        _check_cell(cell)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        state_size = cell.state_size
        self.state_size = [state_size] if isinstance(state_size, int) else list(state_size)
        self.states = None
        self.input_spec = InputSpec(min_ndim=3)

    def build(self, sequences_shape):
        step_shape = (sequences_shape[0],) + tuple(sequences_shape[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)

    def get_initial_state(self, batch_size):
        return _initial_state(self.cell, batch_size, self.dtype)

    def reset_states(self):
        """Forget the states kept by a stateful layer."""
        self.__dict__["states"] = None

    reset_state = reset_states

    def call(self, sequences, initial_state=None, mask=None, training=False):
        batch, steps = sequences.shape[0], sequences.shape[1]
        if initial_state is None and self.stateful and self.states is not None:
            if self.states[0].shape[0] != batch:
                raise ShapeError(f"RNN '{self.name}': a stateful RNN needs the same batch size on every call: the "
                                 f"states have {self.states[0].shape[0]} rows, the input has {batch}")
            initial_state = self.states
        if initial_state is None:
            states = self.get_initial_state(batch)
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            states = [s if isinstance(s, Tensor) else lamina.tensor(s) for s in states]
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        cell = self.cell
        fast = isinstance(cell, _Cell) and not (training and cell.dropout > 0)
        # The input projection of the built-in cells is one matmul over all steps.
        projected = cell.project(sequences) if fast else None
        if isinstance(cell, _Cell) and training:
            cell.get_recurrent_dropout_mask(flatten(states)[0])
        if mask is not None:
            mask = mask.to(lamina.bool)
            if mask.ndim != 2 or tuple(mask.shape) != (batch, steps):
                raise ShapeError(f"RNN '{self.name}': the mask must have shape (batch, timesteps) = "
                                 f"{(batch, steps)}, got {tuple(mask.shape)}")
        outputs, prev_output = [], None
        try:
            for t in order:
                if fast:
                    output, new_states = cell.recurrent_step(projected[:, t], states, training)
                else:
                    output, new_states = _call_cell(cell, sequences[:, t], states, training)
                if mask is not None:
                    keep = mask[:, t].reshape(batch, 1)
                    if prev_output is None:
                        prev_output = lamina.zeros_like(output)
                    fill = lamina.zeros_like(output) if self.zero_output_for_mask else prev_output
                    output = lamina.where(keep, output, fill)
                    flat_old, flat_new = flatten(states), flatten(new_states)
                    new_states = pack_as(new_states, [lamina.where(keep, n, o) for n, o in zip(flat_new, flat_old)])
                states, prev_output = new_states, output
                if self.return_sequences or not outputs:
                    outputs.append(output)
                else:
                    outputs[0] = output
        finally:
            if isinstance(cell, _Cell):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()
        if self.stateful:
            self.__dict__["states"] = [s.detach() for s in flatten(states)]
        result = lamina.stack(outputs, dim=1) if self.return_sequences else outputs[-1]
        if self.return_state:
            return (result,) + tuple(flatten(states))
        return result

    def compute_output_shape(self, sequences_shape):
        batch, length = sequences_shape[0], sequences_shape[1]
        size = _output_size(self.cell)
        output = (batch, length, size) if self.return_sequences else (batch, size)
        if self.return_state:
            return (output,) + tuple((batch, n) for n in flatten(self.state_size))
        return output

    def compute_mask(self, inputs, previous_mask=None):
        mask = flatten(previous_mask)[0] if previous_mask is not None else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(flatten(self.state_size))
        return output_mask

    def _rnn_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self):
        config = super().get_config()
        config.update(self._rnn_config())
        config["cell"] = saving.serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        cell = saving.deserialize_keras_object(config.pop("cell"))
        return cls(cell, **config)


class _RNNLayer(RNN):
    """SimpleRNN, LSTM and GRU: an RNN over their own cell, configured by the cell's arguments."""
    _cell_class = None
    _cell_args = ()

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, activity_regularizer=None, name=None, dtype=None,
                 trainable=True, **cell_kwargs):
        layer_kwargs = {k: cell_kwargs.pop(k) for k in ("input_shape", "input_dim") if k in cell_kwargs}
        unknown = set(cell_kwargs) - set(self._cell_args)
        if unknown:
            raise ArgumentError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                                f"{ {k: cell_kwargs[k] for k in sorted(unknown)} }")
        cell = self._cell_class(units, name=f"{name}_cell" if name else None, dtype=dtype, trainable=trainable,
                                **cell_kwargs)
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, unroll, zero_output_for_mask,
                         activity_regularizer=activity_regularizer, name=name, dtype=dtype, trainable=trainable,
                         **layer_kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def __getattr__(self, name):
        # units, activation, kernel_initializer, ...: the cell's hyper-parameters, as Keras's properties.
        if name in type(self)._cell_args or name in ("units", "recurrent_activation"):
            cell = self.__dict__.get("_modules", {}).get("cell")
            if cell is not None:
                return getattr(cell, name)
        return super().__getattr__(name)

    def get_config(self):
        config = Layer.get_config(self)
        config.update(self._rnn_config())
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_COMMON_CELL_ARGS = ("activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
                     "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
                     "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed",
                     "implementation")


class SimpleRNN(_RNNLayer):
    """A fully connected RNN: ``h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    Example:
        >>> keras.layers.SimpleRNN(4, return_sequences=True)(lamina.ones(2, 5, 3)).shape
        lamina.Size([2, 5, 4])
    """
    _cell_class = SimpleRNNCell
    _cell_args = _COMMON_CELL_ARGS

    def get_config(self):
        config = super().get_config()
        if config.get("seed") is None:
            config.pop("seed", None)  # Keras's SimpleRNN config has no seed
        return config


class LSTM(_RNNLayer):
    """Long short-term memory over a sequence, with Keras's weights and gate order (see LSTMCell).

    Example:
        >>> out, h, c = keras.layers.LSTM(4, return_state=True)(lamina.ones(2, 5, 3))
    """
    _cell_class = LSTMCell
    _cell_args = _COMMON_CELL_ARGS + ("recurrent_activation", "unit_forget_bias")


class GRU(_RNNLayer):
    """Gated recurrent unit over a sequence (see GRUCell; ``reset_after=True`` by default as in Keras)."""
    _cell_class = GRUCell
    _cell_args = _COMMON_CELL_ARGS + ("recurrent_activation", "reset_after")


# ---- wrappers -----------------------------------------------------------------------------------------------------
def _copy_layer(layer, **changes):
    """A new layer like ``layer`` with some config entries changed (from its config; a deep copy if the config
    cannot rebuild it, e.g. an RNN over an unregistered custom cell)."""
    config = layer.get_config()
    config.update(changes)
    try:
        return type(layer).from_config(config)
    except Exception:  # noqa: BLE001  (any failure to rebuild from config: fall back to a copy)
        clone = copy.deepcopy(layer)
        for key, value in changes.items():
            clone.__dict__[key] = value
        return clone


class Bidirectional(Layer):
    """Runs an RNN layer forwards and a copy of it backwards, and merges their outputs.

    Args:
        layer: an RNN layer (LSTM, GRU, SimpleRNN, RNN); its copy with ``go_backwards=True`` is the backward
            layer, unless ``backward_layer`` is given.
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (a list of both outputs).

    With ``return_sequences`` the backward outputs are flipped back into time order before merging. With
    ``return_state`` the result is ``(output, *forward_states, *backward_states)``.

    Example:
        >>> keras.layers.Bidirectional(keras.layers.LSTM(4))(lamina.ones(2, 5, 3)).shape
        lamina.Size([2, 8])
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ArgumentError(f"Bidirectional: layer must be a keras Layer, got {type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ArgumentError(f"Bidirectional: backward_layer must be a keras Layer, got "
                                f"{type(backward_layer).__name__}")
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ArgumentError(f"Bidirectional: merge_mode must be one of 'sum', 'mul', 'ave', 'concat', None; "
                                f"got {merge_mode!r}")
        super().__init__(**kwargs)
        base = layer.name[len("forward_"):] if layer.name.startswith("forward_") else layer.name
        self.forward_layer = _copy_layer(layer, name=f"forward_{base}")
        if backward_layer is None:
            back = layer.name[len("backward_"):] if layer.name.startswith("backward_") else layer.name
            backward_layer = _copy_layer(layer, name=f"backward_{back}", go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ArgumentError("Bidirectional: the forward and backward layers must have different go_backwards")
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(self.forward_layer, attribute) != getattr(self.backward_layer, attribute):
                raise ArgumentError(f"Bidirectional: the forward and backward layers must have the same "
                                    f"{attribute}")
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self._initial_weights = weights

    def build(self, sequences_shape):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(tuple(sequences_shape))
        if self._initial_weights:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self.__dict__["_initial_weights"] = None

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        kwargs = {"mask": mask, "training": training}
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = lamina.flip(y_rev, (1,))
        if self.merge_mode == "concat":
            output = lamina.cat([y, y_rev], dim=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output + states) if self.merge_mode is None else (output,) + states
        return output

    def compute_output_shape(self, sequences_shape):
        shape = self.forward_layer.compute_output_shape(tuple(sequences_shape))
        state_shapes = ()
        if self.return_state:
            shape, state_shapes = shape[0], tuple(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (None if shape[-1] is None else shape[-1] * 2,)
        elif self.merge_mode is None:
            shape = (shape, shape)
        if self.return_state:
            head = shape if self.merge_mode is None else (shape,)
            return tuple(head) + state_shapes + state_shapes
        return shape

    def compute_mask(self, inputs, previous_mask=None):
        mask = flatten(previous_mask)[0] if previous_mask is not None else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            state_masks = [None] * (len(flatten(self.forward_layer.state_size)) * 2)
            return ([output_mask, output_mask] if self.merge_mode is None else [output_mask]) + state_masks
        return [output_mask, output_mask] if self.merge_mode is None else output_mask

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self):
        config = super().get_config()
        config.update({"merge_mode": self.merge_mode,
                       "layer": saving.serialize_keras_object(self.forward_layer),
                       "backward_layer": saving.serialize_keras_object(self.backward_layer)})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = saving.deserialize_keras_object(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = saving.deserialize_keras_object(backward)
        return cls(layer, backward_layer=backward, **config)


class TimeDistributed(Layer):
    """Applies a layer to every time step (axis 1) of its input, one step at a time as in Keras, so a
    BatchNormalization or Dropout inside sees each step as its own batch.

    Example:
        >>> keras.layers.TimeDistributed(keras.layers.Dense(8))(lamina.ones(2, 5, 3)).shape
        lamina.Size([2, 5, 8])
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ArgumentError(f"TimeDistributed: layer must be a keras Layer, got {type(layer).__name__}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)

    def _step_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ShapeError(f"TimeDistributed '{self.name}': expected an input of rank >= 3 (batch, time, ...), got "
                             f"shape {tuple(input_shape)}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(self._step_shape(input_shape))

    def call(self, inputs, training=None, mask=None):
        kwargs = {}
        args = self.layer._call_args()
        if "training" in args:
            kwargs["training"] = training
        outputs = []
        for t in range(inputs.shape[1]):
            if "mask" in args and mask is not None:
                kwargs["mask"] = mask[:, t]
            outputs.append(self.layer.call(inputs[:, t], **kwargs))
        return lamina.stack(outputs, dim=1)

    def compute_output_shape(self, input_shape):
        step = self.layer.compute_output_shape(self._step_shape(input_shape))
        return (step[0], input_shape[1]) + tuple(step[1:])

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask

    def get_config(self):
        config = super().get_config()
        config["layer"] = saving.serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = saving.deserialize_keras_object(config.pop("layer"))
        return cls(layer, **config)
