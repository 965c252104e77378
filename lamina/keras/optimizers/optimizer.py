"""Keras 3's optimizers over lamina parameters: the base class and the update rules.

A Keras optimizer is given gradients and variables (``apply(grads, variables)``); on its first call it builds
one slot variable per parameter and per kind of state (``momentum``, ``velocity``...). Every step then
clips the gradients (``clipnorm``, ``clipvalue`` or ``global_clipnorm``), decays the weights
(``weight_decay``: ``w -= w * weight_decay * lr``), runs the update rule of the subclass, applies variable
constraints and counts the step in ``iterations``. The learning rate is a float, a schedule called with
``iterations``, or a callable of no argument.

The rules are Keras's, which differ from torch's: Adam adds ``epsilon`` (1e-7) to ``sqrt(v)`` *after* folding
the bias corrections into the step size, SGD keeps ``m = momentum * m - lr * g`` and adds it, RMSprop adds
``epsilon`` under the square root. Updates run in place on the parameters' arrays, in float32 with Keras's
order of operations.

Any lamina Tensor with a ``.grad`` can be a variable, so a Keras optimizer also trains an ``nn.Module``.

Example:
    >>> opt = keras.optimizers.Adam(learning_rate=1e-3)
    >>> loss = loss_fn(y, model(x)); loss.backward()
    >>> params = list(model.parameters())
    >>> opt.apply([p.grad for p in params], params)
"""
import re
import warnings

from lamina.autograd import no_grad
from lamina.backend import xp
from lamina.errors import ArgumentError, ShapeError
from lamina.keras.backend import Variable, to_snake_case, unique_name
from lamina.keras.optimizers import schedules as _schedules
from lamina.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) or \
        (isinstance(value, (xp.floating, xp.integer)))


def _array(x):
    return x._data if isinstance(x, Tensor) else xp.asarray(x)


def _scalar_f32(x):
    if isinstance(x, Tensor):
        x = x._data
    return xp.float32(xp.asarray(x))


class Optimizer:
    """Base class of Keras optimizers (``keras.optimizers.Optimizer``).

    Args:
        learning_rate: a float, a ``LearningRateSchedule`` or a callable returning the rate.
        weight_decay: if set, each step first does ``w -= w * weight_decay * lr`` (decoupled decay).
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global L2 norm (at most one clip option).
        use_ema: keep an exponential moving average of the weights (copied into them at the end of ``fit``).
        ema_momentum: the moving average's momentum.
        ema_overwrite_frequency: copy the average into the weights every this many steps.
        loss_scale_factor: the loss is multiplied by it before backward and the gradients divided by it.
        gradient_accumulation_steps: update only every this many calls, with the mean of the gradients.
        name: the optimizer's name.

    Subclasses set hyperparameters, create state in ``build(variables)`` with ``add_optimizer_variables`` and
    implement ``update_step(gradient, variable, learning_rate)`` on raw arrays.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        who = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            raise ArgumentError(f"keras.optimizers.{who}: argument(s) not recognized: {sorted(kwargs)}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ArgumentError(f"keras.optimizers.{who}: only one of clipnorm, clipvalue and global_clipnorm can be "
                                f"set; got clipnorm={clipnorm}, clipvalue={clipvalue}, "
                                f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ArgumentError(f"keras.optimizers.{who}: gradient_accumulation_steps must be an integer >= 2, got "
                                f"{gradient_accumulation_steps}")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ArgumentError(f"keras.optimizers.{who}: ema_momentum must be in [0, 1], got {ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ArgumentError(f"keras.optimizers.{who}: ema_overwrite_frequency must be an integer >= 1 or "
                                    f"None, got {ema_overwrite_frequency}")
        if weight_decay is not None and not _is_number(weight_decay):
            raise ArgumentError(f"keras.optimizers.{who}: weight_decay must be a float or None, got {weight_decay!r}")
        self.name = name or unique_name(to_snake_case(who))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._index = {}  # id(variable) -> position in _trainable_variables
        self._iterations = self._new_variable(xp.zeros((), dtype=xp.int64), "iteration")
        self._learning_rate = None
        self._set_learning_rate(learning_rate, initial=True)

    # ---- variables -------------------------------------------------------------------------------------------
    def _new_variable(self, array, name):
        variable = Variable(Tensor._make(array), trainable=False, name=name)
        variable.path = f"{self.name}/{name}"
        self._variables.append(variable)
        return variable

    @property
    def variables(self):
        """The optimizer's own variables: the step counter, the learning rate (when a float) and the slots."""
        return list(self._variables)

    @property
    def iterations(self):
        """The number of updates applied so far (a 0-d int64 Tensor)."""
        if self.gradient_accumulation_steps:
            return Tensor._make(self._iterations._data // self.gradient_accumulation_steps)
        return self._iterations

    def _step_count(self):
        count = int(self._iterations._data)
        return count // self.gradient_accumulation_steps if self.gradient_accumulation_steps else count

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", name=None):
        """A new optimizer variable of ``shape`` filled by ``initializer`` ('zeros', 'ones' or a number)."""
        dtype = xp.dtype(dtype or xp.float32)
        if initializer in ("zeros", None):
            array = xp.zeros(shape, dtype=dtype)
        elif initializer == "ones":
            array = xp.ones(shape, dtype=dtype)
        elif _is_number(initializer):
            array = xp.full(shape, initializer, dtype=dtype)
        else:
            raise ArgumentError(f"{type(self).__name__}.add_variable(): unknown initializer {initializer!r}")
        return self._new_variable(array, name or "var")

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A variable shaped like ``reference_variable``, named after its path (``dense/kernel_momentum``)."""
        ref_name = getattr(reference_variable, "path", None) or getattr(reference_variable, "name", None) or "var"
        ref_name = str(ref_name).replace("/", "_").replace(":", "_")
        variable = self.add_variable(tuple(reference_variable.shape), initializer=initializer,
                                     dtype=reference_variable._data.dtype, name=f"{ref_name}_{name or 'var'}")
        return variable

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per trainable variable for each name in ``name`` (a string gives one list, a list of names a
        tuple of lists)."""
        names = [name] if isinstance(name, str) else list(name)
        slots = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, slot_name in enumerate(names):
                slots[i].append(self.add_variable_from_reference(variable, slot_name, initializer))
        return slots[0] if isinstance(name, str) else slots

    def build(self, variables):
        """Create the state for ``variables`` (called by the first ``apply``)."""
        variables = list(variables)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = self.add_optimizer_variables(variables, "gradient_accumulator")
        self._index = {id(v): i for i, v in enumerate(variables)}
        self._trainable_variables = variables
        self.built = True

    def _get_variable_index(self, variable):
        return self._index[id(variable)]

    # ---- learning rate ---------------------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (a 0-d float32 Tensor); settable unless it is a schedule."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        self._set_learning_rate(value)

    def _set_learning_rate(self, value, initial=False):
        who = type(self).__name__
        if isinstance(value, _schedules.LearningRateSchedule) or (callable(value) and not isinstance(value, Tensor)):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise ArgumentError(f"keras.optimizers.{who}: this optimizer was created with a LearningRateSchedule as "
                                "its learning_rate, so the rate is not settable; create it with a float "
                                "learning_rate to set it")
        if isinstance(value, Tensor) and value.numel() == 1:
            value = float(value)
        if not _is_number(value):
            raise ArgumentError(f"keras.optimizers.{who}: learning_rate must be a float, a LearningRateSchedule or a "
                                f"callable returning the rate; got {value!r}")
        if isinstance(self._learning_rate, Variable):
            self._learning_rate._data[...] = value
            self._learning_rate._vc[0] += 1
        else:
            self._learning_rate = self._new_variable(xp.asarray(value, dtype=xp.float32), "learning_rate")

    def _current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return _as_tensor(lr(self._iterations))
        if isinstance(lr, Variable):
            return lr
        return _as_tensor(lr())

    # ---- applying gradients ----------------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``[(gradient, variable), ...]``; returns ``iterations``."""
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """One optimization step: update ``trainable_variables`` in place from ``grads``.

        Args:
            grads: one gradient (Tensor or array, or None to skip that variable) per variable.
            trainable_variables: the variables; may be omitted after ``build``.
        """
        grads = list(grads)
        if not grads:
            return
        who = type(self).__name__
        if trainable_variables is None:
            if not self.built:
                raise ArgumentError(f"{who}.apply(): without variables the optimizer must already be built; call "
                                    "optimizer.build(trainable_variables) first")
            if len(grads) != len(self._trainable_variables):
                raise ArgumentError(f"{who}.apply(): got {len(grads)} gradients for the "
                                    f"{len(self._trainable_variables)} variables the optimizer tracks")
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if len(grads) != len(trainable_variables):
                raise ArgumentError(f"{who}.apply(): got {len(grads)} gradients for {len(trainable_variables)} "
                                    "variables")
            if not self.built:
                self.build(trainable_variables)
        index = self._index
        with no_grad():
            # one pass over the pairs: the variables are known, the gradients are arrays of their shapes
            arrays, variables, missing, constrained = [], [], [], False
            for g, v in zip(grads, trainable_variables):
                if id(v) not in index:
                    raise ArgumentError(f"{who}.apply(): unknown variable {_var_name(v)}; the optimizer can only "
                                        "update the variables it was built with (create a new optimizer, or "
                                        "compile() again, for a new set)")
                if g is None:
                    missing.append(_var_name(v))
                    continue
                g = _array(g)
                data = v._data
                if g.shape != data.shape:
                    raise ShapeError(f"{who}.apply(): the gradient of {_var_name(v)} has shape {tuple(g.shape)}, "
                                     f"the variable {tuple(data.shape)}")
                arrays.append(g if g.dtype == data.dtype else g.astype(data.dtype))
                variables.append(v)
                constrained = constrained or getattr(v, "constraint", None) is not None
            if not variables:
                raise ArgumentError(f"{who}.apply(): no gradients provided for any variable")
            if missing:
                warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss. If using "
                              "`model.compile()`, did you forget to provide a `loss` argument?", stacklevel=2)
            if self.loss_scale_factor is not None:
                arrays = [g / self.loss_scale_factor for g in arrays]
            self._apply_step(arrays, variables)
            if constrained:
                for v in variables:
                    constraint = getattr(v, "constraint", None)
                    if constraint is not None:
                        v._data[...] = _array(constraint(v))
                        v._vc[0] += 1
            self._iterations._data += 1
            self._iterations._vc[0] += 1

    def _apply_step(self, grads, variables):
        if self.gradient_accumulation_steps:
            steps = self.gradient_accumulation_steps
            accumulators = [self._accumulated_gradients[self._get_variable_index(v)]._data for v in variables]
            if (int(self._iterations._data) + 1) % steps != 0:
                for acc, g in zip(accumulators, grads):
                    acc += g
                return
            grads = [(g + acc) / g.dtype.type(steps) for g, acc in zip(grads, accumulators)]
            for acc in accumulators:
                acc[...] = 0
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(variables)
        lr = _scalar_f32(self._current_learning_rate())
        for g, v in zip(grads, variables):
            self.update_step(g, v, lr)
            v._vc[0] += 1
        if self.use_ema:
            self._update_moving_average()
            if self.ema_overwrite_frequency and (self._step_count() + 1) % self.ema_overwrite_frequency == 0:
                self._overwrite_with_moving_average(self._trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable._data`` in place from the ``gradient`` array at ``learning_rate`` (float32)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step()")

    def _work_arrays(self, like, count=2):
        """``count`` scratch arrays shaped like ``like``, views of flat buffers kept between steps.

        The update steps write their temporaries into these (``out=``) instead of allocating new arrays: for large
        weights each fresh temporary costs page faults, more than the arithmetic. Variables are updated one after
        the other, so one set of buffers, as large as the largest variable of each dtype, serves them all; the
        views for each shape are kept too (until a buffer grows), since making them costs more than a small
        variable's update.
        """
        d = self.__dict__
        views = d.setdefault("_work_views", {})
        key = (like.dtype, like.shape)
        found = views.get(key)
        if found is not None and len(found) >= count:
            return found
        buffers = d.setdefault("_work", {}).setdefault(like.dtype, [])
        n = like.size
        for i in range(count):
            if i == len(buffers) or buffers[i].size < n:
                if i == len(buffers):
                    buffers.append(xp.empty(n, dtype=like.dtype))
                else:
                    buffers[i] = xp.empty(n, dtype=like.dtype)
                for k in [k for k in views if k[0] == like.dtype]:
                    del views[k]  # views of the old, smaller buffer: let it go
        found = views[key] = [buffers[i][:n].reshape(like.shape) for i in range(count)]
        return found

    def scale_loss(self, loss):
        """The loss multiplied by ``loss_scale_factor`` (unchanged when it is None)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ---- clipping and weight decay ---------------------------------------------------------------------------
    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            clipnorm = xp.float32(self.clipnorm)
            out = []
            for g in grads:
                norm = xp.sqrt(xp.sum(xp.square(g)))
                # g * clipnorm / max(norm, clipnorm): unchanged when the norm is small enough
                out.append(g * clipnorm / xp.maximum(norm, clipnorm).astype(g.dtype))
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            norm = xp.sqrt(sum(xp.sum(xp.square(g), dtype=xp.float32) for g in grads))
            clip = xp.float32(self.global_clipnorm)
            scale = clip * xp.minimum(xp.float32(1.0) / norm, xp.float32(1.0) / clip)
            return [g * scale.astype(g.dtype) for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            return [xp.clip(g, -self.clipvalue, self.clipvalue).astype(g.dtype) for g in grads]
        return grads

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables (or those whose name matches one of ``var_names``) from weight decay."""
        if self.built:
            raise ArgumentError(f"{type(self).__name__}.exclude_from_weight_decay() can only be configured before "
                                "the optimizer is built")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in getattr(self, "_exclude_ids", ()):
            return False
        pattern = getattr(self, "_exclude_pattern", None)
        name = getattr(variable, "name", None)
        return not (pattern is not None and name is not None and pattern.search(name))

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        lr = _scalar_f32(self._current_learning_rate())
        factor = xp.float32(1) - xp.float32(self.weight_decay) * lr
        for v in variables:
            if self._use_weight_decay(v):
                v._data *= factor.astype(v._data.dtype)

    # ---- moving average of the weights -----------------------------------------------------------------------
    def _update_moving_average(self):
        # the first step copies the weights; later ones blend with ema_momentum
        momentum = self.ema_momentum if self._step_count() != 0 else 0.0
        for v, average in zip(self._trainable_variables, self._model_variables_moving_average):
            average._data *= momentum
            average._data += (1 - momentum) * v._data

    def _overwrite_with_moving_average(self, variables):
        for v, average in zip(variables, self._model_variables_moving_average):
            v._data[...] = average._data
            v._vc[0] += 1

    def finalize_variable_values(self, var_list):
        """Copy the moving averages into the weights when ``use_ema`` (``fit`` calls this at its end)."""
        if self.use_ema:
            self._overwrite_with_moving_average(var_list)

    # ---- state ------------------------------------------------------------------------------------------------
    def set_weights(self, weights):
        """Set the optimizer's variables (in ``variables`` order) from arrays."""
        if not self.built:
            raise ArgumentError(f"{type(self).__name__}.set_weights(): the optimizer is not built yet; call "
                                "optimizer.build(trainable_variables) first")
        for variable, weight in zip(self._variables, weights):
            weight = _array(weight)
            if tuple(weight.shape) != tuple(variable._data.shape):
                raise ShapeError(f"{type(self).__name__}.set_weights(): variable {variable.path} has shape "
                                 f"{tuple(variable._data.shape)}, the weight {tuple(weight.shape)}")
            variable._data[...] = weight
            variable._vc[0] += 1

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        elif isinstance(lr, Variable):
            lr = float(lr._data)
        else:
            lr = float(_scalar_f32(lr()))
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency, "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, learning_rate={float(self.learning_rate):g}>"


def _as_tensor(value):
    if isinstance(value, Tensor):
        return value
    return Tensor._make(xp.asarray(value, dtype=xp.float32))


def _var_name(variable):
    return getattr(variable, "path", None) or getattr(variable, "name", None) or f"<tensor {tuple(variable.shape)}>"


def _check_range(who, name, value, low, high, closed_high=False):
    ok = low <= value <= high if closed_high else low <= value < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ArgumentError(f"keras.optimizers.{who}: {name} must be in [{low}, {high}{bracket}, got {value!r}")


class SGD(Optimizer):
    """Gradient descent with optional momentum (``keras.optimizers.SGD``).

    Without momentum ``w -= lr * g``. With momentum, Keras's form (not torch's)::

        m = momentum * m - lr * g
        w += m                              (nesterov: w += momentum * m - lr * g)

    Args:
        learning_rate: default 0.01.
        momentum: in [0, 1], default 0.
        nesterov: use Nesterov momentum.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            loss_scale_factor, gradient_accumulation_steps, name: as in ``Optimizer``.

    Example:
        >>> opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
        if not _is_number(momentum) or not 0 <= momentum <= 1:
            raise ArgumentError(f"keras.optimizers.SGD: momentum must be a float in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum != 0 else []

    def update_step(self, gradient, variable, learning_rate):
        w = variable._data
        lr = learning_rate.astype(w.dtype)
        a, b = self._work_arrays(w)
        xp.multiply(gradient, lr, out=a)                    # lr * g
        if self.momentum == 0:
            w -= a
            return
        momentum = w.dtype.type(self.momentum)
        m = self.momentums[self._get_variable_index(variable)]._data
        m *= momentum
        m -= a                                              # m = momentum * m - lr * g
        if self.nesterov:
            w -= a
            xp.multiply(m, momentum, out=b)
            w += b                                          # w += momentum * m - lr * g
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (``keras.optimizers.Adam``), with Keras's epsilon placement::

        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        alpha = lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        w -= alpha * m / (sqrt(v) + epsilon)

    (torch adds ``eps`` to ``sqrt(v_hat)`` instead, so the two differ when ``v`` is tiny.)

    Args:
        learning_rate: default 0.001.
        beta_1, beta_2: moment decay rates, default 0.9 and 0.999.
        epsilon: default 1e-7.
        amsgrad: use the running maximum of ``v``.
        weight_decay, ...: as in ``Optimizer``.

    Example:
        >>> opt = keras.optimizers.Adam(learning_rate=3e-4)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
        who = type(self).__name__
        _check_range(who, "beta_1", beta_1, 0.0, 1.0)
        _check_range(who, "beta_2", beta_2, 0.0, 1.0)
        if epsilon < 0:
            raise ArgumentError(f"keras.optimizers.{who}: epsilon must be >= 0, got {epsilon!r}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(variables, "velocity_hat")

    def update_step(self, gradient, variable, learning_rate):
        w = variable._data
        f = w.dtype.type
        index = self._get_variable_index(variable)
        m, v = self._momentums[index]._data, self._velocities[index]._data
        step = f(self._step_count() + 1)
        beta_1, beta_2 = f(self.beta_1), f(self.beta_2)
        alpha = learning_rate.astype(w.dtype) * xp.sqrt(f(1) - beta_2 ** step) / (f(1) - beta_1 ** step)
        a, b = self._work_arrays(w)
        m *= beta_1
        xp.multiply(gradient, f(1 - self.beta_1), out=a)
        m += a                                              # m += (1 - beta_1) * g
        v *= beta_2
        xp.multiply(gradient, gradient, out=a)
        a *= f(1 - self.beta_2)
        v += a                                              # v += (1 - beta_2) * g * g
        if self.amsgrad:
            v_hat = self._velocity_hats[index]._data
            xp.maximum(v_hat, v, out=v_hat)
            v = v_hat
        xp.multiply(m, alpha, out=a)
        xp.sqrt(v, out=b)
        b += f(self.epsilon)
        a /= b
        w -= a                                              # w -= m * alpha / (sqrt(v) + epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay, ``w -= w * weight_decay * lr`` before each step
    (``keras.optimizers.AdamW``; ``weight_decay`` defaults to 0.004).

    Example:
        >>> opt = keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01)
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if weight_decay is None:
            raise ArgumentError("keras.optimizers.AdamW: weight_decay must be a float, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)


class RMSprop(Optimizer):
    """RMSprop (``keras.optimizers.RMSprop``)::

        v = rho * v + (1 - rho) * g * g
        denominator = v + epsilon                  (centered: v - avg_g ** 2 + epsilon)
        increment = lr * g / sqrt(denominator)
        w -= increment                             (momentum: mom = momentum * mom + increment; w -= mom)

    Args:
        learning_rate: default 0.001.
        rho: default 0.9.
        momentum: default 0.
        epsilon: default 1e-7 (inside the square root, unlike torch).
        centered: normalise by the variance of the gradient instead of its second moment.
        weight_decay, ...: as in ``Optimizer``.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
        _check_range("RMSprop", "rho", rho, 0.0, 1.0, closed_high=True)
        if momentum < 0:
            raise ArgumentError(f"keras.optimizers.RMSprop: momentum must be >= 0, got {momentum!r}")
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        self._momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum > 0 else []
        self._average_gradients = self.add_optimizer_variables(variables, "average_gradient") \
            if self.centered else []

    def update_step(self, gradient, variable, learning_rate):
        w = variable._data
        f = w.dtype.type
        index = self._get_variable_index(variable)
        velocity = self._velocities[index]._data
        a, denominator = self._work_arrays(w)
        velocity *= f(self.rho)
        xp.multiply(gradient, gradient, out=a)
        a *= f(1 - self.rho)
        velocity += a                                       # v = rho * v + (1 - rho) * g * g
        xp.add(velocity, f(self.epsilon), out=denominator)
        if self.centered:
            average = self._average_gradients[index]._data
            average *= f(self.rho)
            xp.multiply(gradient, f(1 - self.rho), out=a)
            average += a
            xp.multiply(average, average, out=a)
            denominator -= a
        increment = xp.multiply(gradient, learning_rate.astype(w.dtype), out=a)
        xp.sqrt(denominator, out=denominator)
        increment /= denominator                            # lr * g / sqrt(denominator)
        if self.momentum > 0:
            mom = self._momentums[index]._data
            mom *= f(self.momentum)
            mom += increment
            w -= mom
        else:
            w -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad (``keras.optimizers.Adagrad``): ``acc += g * g; w -= lr * g / sqrt(acc + epsilon)``.

    Args:
        learning_rate: default 0.001.
        initial_accumulator_value: the starting value of ``acc``, default 0.1.
        epsilon: default 1e-7.
        weight_decay, ...: as in ``Optimizer``.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
        if initial_accumulator_value < 0:
            raise ArgumentError("keras.optimizers.Adagrad: initial_accumulator_value must be >= 0, got "
                                f"{initial_accumulator_value!r}")
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self._accumulators = self.add_optimizer_variables(variables, "accumulator",
                                                          initializer=float(self.initial_accumulator_value))

    def update_step(self, gradient, variable, learning_rate):
        w = variable._data
        f = w.dtype.type
        accumulator = self._accumulators[self._get_variable_index(variable)]._data
        a, b = self._work_arrays(w)
        xp.multiply(gradient, gradient, out=a)
        accumulator += a
        xp.add(accumulator, f(self.epsilon), out=b)
        xp.sqrt(b, out=b)
        xp.multiply(gradient, learning_rate.astype(w.dtype), out=a)
        a /= b
        w -= a                                              # w -= lr * g / sqrt(acc + epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
