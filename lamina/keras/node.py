"""The recorded graph of the functional API: one Node per call of a layer on KerasTensors.

A Node keeps the layer (its ``operation``), the call's arguments with their KerasTensors, and the output
KerasTensors. Each output tensor's ``_keras_history`` is ``(layer, node_index, tensor_index)``, where
``node_index`` is the node's position in ``layer._inbound_nodes``: walking these histories backwards from a
model's outputs finds every node of the graph (``models/functional.py``).
"""
from lamina.errors import LaminaError
from lamina.keras.backend import KerasHistory, KerasTensor, flatten, map_structure, shape_of


class Node:
    """One call ``operation(*args, **kwargs) -> outputs`` recorded on symbolic tensors.

    Attributes:
        operation: the layer that was called.
        args, kwargs: the call's arguments; KerasTensors stand for the values they will carry.
        outputs: the output KerasTensor or nest of them.
        input_tensors, output_tensors: the flat lists of KerasTensors among the arguments and outputs.
        is_input: True for the node of an InputLayer (no input tensors).
    """

    def __init__(self, operation, args=(), kwargs=None, outputs=None):
        self.operation = operation
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.outputs = outputs
        self.input_tensors = [x for x in flatten((self.args, self.kwargs)) if isinstance(x, KerasTensor)]
        self.output_tensors = [x for x in flatten(outputs) if isinstance(x, KerasTensor)]
        self.is_input = not self.input_tensors
        operation._inbound_nodes.append(self)
        node_index = len(operation._inbound_nodes) - 1
        for x in self.input_tensors:
            if x._keras_history is not None:
                x._keras_history.operation._outbound_nodes.append(self)
        for i, x in enumerate(self.output_tensors):
            x._keras_history = KerasHistory(operation, node_index, i)

    @property
    def parent_nodes(self):
        """The nodes that produced this node's input tensors."""
        parents = []
        for x in self.input_tensors:
            history = x._keras_history
            if history is not None:
                parents.append(history.operation._inbound_nodes[history.node_index])
        return parents

    def fill_in(self, values):
        """The call's (args, kwargs) with each KerasTensor replaced by ``values[id(tensor)]``."""
        def fill(x):
            return values[id(x)] if isinstance(x, KerasTensor) else x
        return map_structure(fill, self.args), map_structure(fill, self.kwargs)

    def __repr__(self):
        return f"<Node operation={self.operation.name}, inputs={len(self.input_tensors)}>"


def symbolic_call(layer, args, kwargs):
    """Call ``layer`` on KerasTensors: build it from the symbolic shapes, infer the outputs, record a Node."""
    try:
        layer._check_input_spec(args)
        if not layer.built:
            layer._build_from_call(args, kwargs)
        outputs = layer.compute_output_spec(*args, **kwargs)
    except LaminaError as e:
        name_symbolic_failure(e, layer, args)
        raise
    # A spec may hand back an input tensor unchanged (an identity layer); each node needs outputs of its own.
    outputs = map_structure(lambda x: KerasTensor(x.shape, x.dtype) if isinstance(x, KerasTensor) else x, outputs)
    Node(layer, args, kwargs, outputs)
    return outputs


def name_symbolic_failure(error, layer, args):
    """Prefix an error raised while inferring a layer's output with the layer and its symbolic input shapes.

    The dry run went through ``Module.__call__``, which already named the layer (with the dry run's sizes); that
    prefix is replaced, keeping the path of any inner layer that failed.
    """
    if getattr(error, "_lamina_symbolic", False):
        return
    error._lamina_symbolic = True
    state = getattr(error, "_lamina_layer", None)
    if state is not None and state.get("top") is layer:
        inner = ".".join(state["path"])
        message = f"{inner} ({state['layer']}): {state['message']}" if inner else state["message"]
    else:
        message = str(error.args[0]) if error.args else ""
    shapes = shape_of(list(args)) if args else ()
    shown = shapes[0] if len(shapes) == 1 else shapes
    full = f'Layer "{layer.name}" ({type(layer).__name__}) cannot be called on input shape {shown}: {message}'
    error.args = (full,) + tuple(error.args[1:])
    if state is not None and state.get("top") is layer:
        state["message"], state["path"] = full, []  # enclosing modules add only their own path
