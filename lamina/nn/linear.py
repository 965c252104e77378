"""Linear layers: Identity, Linear, Bilinear, LazyLinear."""
import math

from lamina.errors import ShapeError
from lamina.nn import functional as F
from lamina.nn import init
from lamina.nn._layer_util import check_device, check_int, float_dtype, new_parameter
from lamina.nn.lazy import LazyModuleMixin
from lamina.nn.module import Module
from lamina.ops.nn import Linear as _LinearOp, _is_plain_linear
from lamina.nn.parameter import UninitializedParameter
from lamina.tensor import Tensor


class Identity(Module):
    """Returns its input unchanged; takes (and ignores) any constructor arguments.

    Example:
        >>> nn.Identity(54, unused="x")(lamina.randn(2, 3)).shape
        lamina.Size([2, 3])
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x W^T + b`` over the last dim of the input.

    Args:
        in_features: size of each input sample (the input's last dim).
        out_features: size of each output sample.
        bias: learn an additive bias (default True).
        device: 'cpu' (the only device).
        dtype: floating dtype of the parameters (default: lamina's default dtype).

    Attributes:
        weight: (out_features, in_features), from U(-1/sqrt(in_features), 1/sqrt(in_features)), as torch
            (kaiming_uniform_ with a=sqrt(5)).
        bias: (out_features,), from the same uniform.

    Example:
        >>> fc = nn.Linear(20, 30)
        >>> fc(lamina.randn(128, 20)).shape
        lamina.Size([128, 30])
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        self.in_features = check_int(in_features, name, "in_features")
        self.out_features = check_int(out_features, name, "out_features")
        dt = float_dtype(dtype, name)
        self.weight = new_parameter((self.out_features, self.in_features), dt)
        if bias:
            self.bias = new_parameter((self.out_features,), dt)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw weight and bias as torch does (from lamina's generator)."""
        # kaiming_uniform_(a=sqrt(5)) is U(-b, b) with b = sqrt(6 / ((1 + 5) fan_in)) = 1 / sqrt(fan_in)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if isinstance(input, Tensor):
            shape = input._data.shape  # the raw shape: building a lamina.Size per call shows in batch-1 latency
            if not shape or shape[-1] != self.in_features:
                raise ShapeError(f"expected input with {self.in_features} features (last dim), got shape {shape}")
        params = self._parameters
        if "weight" in params and "bias" in params:
            # Read from the registry: self.weight goes through Module.__getattr__ after a failed normal lookup;
            # skipping it measured 4-12% of a batch-1 MLP's latency (docs/performance.md).
            weight, bias = params["weight"], params["bias"]
            if _is_plain_linear(input, weight, bias):   # F.linear's own fast path, one call less
                return _LinearOp.apply(input, weight, bias) if bias is not None else _LinearOp.apply(input, weight)
            return F.linear(input, weight, bias)
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """``y = x1^T A x2 + b`` for each output feature.

    Args:
        in1_features, in2_features: last dims of the two inputs.
        out_features: size of each output sample.
        bias: learn an additive bias (default True).

    Attributes:
        weight: (out_features, in1_features, in2_features), U(-1/sqrt(in1_features), 1/sqrt(in1_features)).
        bias: (out_features,), from the same uniform.

    Example:
        >>> m = nn.Bilinear(20, 30, 40)
        >>> m(lamina.randn(128, 20), lamina.randn(128, 30)).shape
        lamina.Size([128, 40])
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        self.in1_features = check_int(in1_features, name, "in1_features")
        self.in2_features = check_int(in2_features, name, "in2_features")
        self.out_features = check_int(out_features, name, "out_features")
        dt = float_dtype(dtype, name)
        self.weight = new_parameter((self.out_features, self.in1_features, self.in2_features), dt)
        if bias:
            self.bias = new_parameter((self.out_features,), dt)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        for which, x, n in (("input1", input1, self.in1_features), ("input2", input2, self.in2_features)):
            if isinstance(x, Tensor) and (x.ndim == 0 or x.shape[-1] != n):
                raise ShapeError(f"expected {which} with {n} features (last dim), got shape {tuple(x.shape)}")
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """A Linear whose ``in_features`` is read from the first input's last dim.

    Until then ``weight`` and ``bias`` are UninitializedParameters (listed by ``parameters()``); the first call
    materializes them in place with Linear's initialisation and the module becomes a ``Linear``.

    Example:
        >>> fc = nn.LazyLinear(10)
        >>> opt = lamina.optim.SGD(fc.parameters(), lr=0.1)   # fine before the first call
        >>> fc(lamina.randn(4, 7)); fc
        Linear(in_features=7, out_features=10, bias=True)
    """

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        name = type(self).__name__
        check_device(device, name)
        self.in_features = 0
        self.out_features = check_int(out_features, name, "out_features")
        dt = float_dtype(dtype, name)
        self.weight = UninitializedParameter(dtype=dt)
        if bias:
            self.bias = UninitializedParameter(dtype=dt)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if not self.has_uninitialized_params():
            return
        if not isinstance(input, Tensor) or input.ndim == 0:
            raise ShapeError(f"expected an input tensor with at least 1 dim to infer in_features, got "
                             f"{getattr(input, 'shape', type(input).__name__)}")
        self.in_features = int(input.shape[-1])
        self.weight.materialize((self.out_features, self.in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()

    def _lazy_shapes(self):
        return {"weight": (self.out_features, None), "bias": (self.out_features,)}

    def _infer_from_state(self):
        self.in_features = int(self.weight.shape[1])
