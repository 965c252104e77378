"""The implicit layers that arithmetic on KerasTensors records: ``x + y`` adds an ``add (Add)`` node.

They carry Keras's operation class names (``Add``, ``Subtract``, ``Multiply``, ``TrueDivide``, ``Matmul``,
``Negative``), and are saved under ``ops>Name`` so they never collide with layers of the same class name.
"""
from lamina.keras.backend import KerasTensor
from lamina.keras.layers.layer import Layer


class _Operation(Layer):
    """A layer without weights applying one fixed tensor function to its arguments."""

    def get_config(self):
        return {"name": self.name}


class Add(_Operation):
    _registered_name = "ops>Add"

    def call(self, x1, x2):
        return x1 + x2


class Subtract(_Operation):
    _registered_name = "ops>Subtract"

    def call(self, x1, x2):
        return x1 - x2


class Multiply(_Operation):
    _registered_name = "ops>Multiply"

    def call(self, x1, x2):
        return x1 * x2


class TrueDivide(_Operation):
    _registered_name = "ops>TrueDivide"

    def call(self, x1, x2):
        return x1 / x2


class Matmul(_Operation):
    _registered_name = "ops>Matmul"

    def call(self, x1, x2):
        return x1 @ x2


class Negative(_Operation):
    _registered_name = "ops>Negative"

    def call(self, x):
        return -x


_BY_NAME = {"add": Add, "subtract": Subtract, "multiply": Multiply, "true_divide": TrueDivide, "matmul": Matmul,
            "negative": Negative}


def apply(name, *operands):
    """Record ``name(*operands)`` on KerasTensors (Python numbers may stand in for some operands)."""
    if not any(isinstance(x, KerasTensor) for x in operands):
        raise TypeError(f"{name}: expected at least one KerasTensor operand")
    return _BY_NAME[name]()(*operands)
