"""Functional: a model defined as a graph of layers, ``keras.Model(inputs, outputs)``.

The graph is found by walking the ``_keras_history`` of the output tensors back to the inputs (a depth-first
search). Each node gets a depth, its distance to the outputs; running the model executes the nodes from the
deepest to depth 0, so every node runs after the nodes it depends on. A layer used at two places in the graph (a
shared layer) has two nodes and one set of weights. Layers are registered as sub-modules under keys that count
classes within the model (``dense``, ``dense_1``...), so ``state_dict`` keys (``dense.kernel``) are the same for
every instance of an architecture, whatever the global automatic layer names.
"""
import collections

from lamina import dtypes as _dt
from lamina.backend import xp
from lamina.errors import ArgumentError, LaminaError
from lamina.keras import saving
from lamina.keras.backend import KerasTensor, flatten, pack_as, sorted_keys
from lamina.keras.layers.input_layer import InputLayer
from lamina.keras.models.model import Model
from lamina.keras.node import name_symbolic_failure
from lamina.tensor import Tensor


class Functional(Model):
    """A model whose layers form a graph from ``inputs`` to ``outputs`` (one or several of each).

    Args:
        inputs: a KerasTensor from ``keras.Input``, or a list or dict of them.
        outputs: a KerasTensor computed from the inputs, or a list or dict of them.
        name: the model's name (``functional``, ``functional_1``... by default).
        trainable: False freezes every layer.

    Example:
        >>> a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
        >>> shared = keras.layers.Dense(8)
        >>> h = shared(a) + shared(b)
        >>> model = keras.Model([a, b], [keras.layers.Dense(1)(h), keras.layers.Dense(3)(h)])
    """

    _autocast_inputs = False  # each input is converted to the dtype of its keras.Input instead

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, **kwargs)
        for what, value in (("inputs", inputs), ("outputs", outputs)):
            for x in flatten(value):
                if not isinstance(x, KerasTensor):
                    raise ArgumentError(f"Model(inputs, outputs): every value of {what} must be a KerasTensor "
                                        f"(from keras.Input or a layer called on one), got {type(x).__name__}")
        d = self.__dict__
        d["_inputs_struct"] = inputs
        d["_outputs_struct"] = outputs
        d["_inputs"] = flatten(inputs)
        d["_outputs"] = flatten(outputs)
        nodes_by_depth, operations = map_graph(self._inputs, self._outputs)
        d["_nodes_by_depth"] = nodes_by_depth
        d["_operations"] = operations
        d["_nodes"] = {id(n) for nodes in nodes_by_depth.values() for n in nodes}
        d["_plan"] = [n for depth in sorted(nodes_by_depth, reverse=True) for n in nodes_by_depth[depth]
                      if not n.is_input]
        for layer in operations:
            self._register_layer(layer)
        d["output_names"] = [x._keras_history.operation.name for x in self._outputs]
        d["built"] = True
        if not trainable:
            self.trainable = False

    # ---- structure --------------------------------------------------------------------------------------
    @property
    def layers(self):
        """The layers in graph order: inputs first, then by decreasing depth."""
        return list(self._operations)

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = [x.shape for x in self._inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [x.shape for x in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # ---- running ----------------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        values = self._feed(inputs, mask)
        for node in self._plan:
            if any(id(x) not in values for x in node.input_tensors):
                continue  # a branch that does not lead to the outputs from these inputs
            args, kwargs = node.fill_in(values)
            outputs = node.operation(*args, **kwargs)
            for x, y in zip(node.output_tensors, flatten(outputs)):
                values[id(x)] = y
        return pack_as(self._outputs_struct, [values[id(x)] for x in self._outputs])

    def compute_output_spec(self, inputs, training=None, mask=None):
        values = {id(x): y for x, y in zip(self._inputs, self._flat_inputs(inputs))}
        for node in self._plan:
            if any(id(x) not in values for x in node.input_tensors):
                continue
            args, kwargs = node.fill_in(values)
            layer = node.operation
            try:
                outputs = layer.compute_output_spec(*args, **kwargs)
            except LaminaError as e:
                name_symbolic_failure(e, layer, args)
                raise
            for x, y in zip(node.output_tensors, flatten(outputs)):
                values[id(x)] = y
        return pack_as(self._outputs_struct, [values[id(x)] for x in self._outputs])

    def _flat_inputs(self, inputs):
        """The inputs in the order of ``self.inputs``, from a single value, a list/tuple or a dict."""
        if isinstance(inputs, dict):
            if isinstance(self._inputs_struct, dict):
                keys = sorted_keys(self._inputs_struct)
            else:
                keys = [x.name for x in self._inputs]
            missing = [k for k in keys if k not in inputs]
            if missing:
                raise ArgumentError(f"Model '{self.name}': missing input(s) {missing}; it expects {keys}, got "
                                    f"{list(inputs)}")
            flat = [inputs[k] for k in keys]
        elif isinstance(inputs, (list, tuple)) and len(self._inputs) > 1:
            flat = flatten(inputs)
        elif isinstance(inputs, (list, tuple)) and len(inputs) == 1 and len(self._inputs) == 1:
            flat = list(inputs)
        else:
            flat = [inputs]
        if len(flat) != len(self._inputs):
            raise ArgumentError(f"Model '{self.name}' expects {len(self._inputs)} input(s) "
                                f"{[x.name for x in self._inputs]}, but it received {len(flat)}")
        return flat

    def _feed(self, inputs, mask):
        values = {}
        masks = flatten(mask) if isinstance(mask, (list, tuple)) else [mask] * len(self._inputs)
        for x, value, m in zip(self._inputs, self._flat_inputs(inputs), masks):
            value = _convert_input(value, x.dtype)
            if m is not None and isinstance(value, Tensor):
                value._keras_mask = m
            values[id(x)] = value
        return values

    # ---- config -----------------------------------------------------------------------------------------
    def get_config(self):
        """The layers' configs and the graph: nodes in execution order, tensors as (node, output index)."""
        order = [n for depth in sorted(self._nodes_by_depth, reverse=True) for n in self._nodes_by_depth[depth]]
        position = {id(n): i for i, n in enumerate(order)}

        def encode(value):
            if isinstance(value, KerasTensor):
                history = value._keras_history
                node = history.operation._inbound_nodes[history.node_index]
                if id(node) not in position:
                    raise saving.SerializationError(f"Model '{self.name}': tensor {value.name} comes from outside "
                                                    "the model's graph, so the model cannot be saved")
                return {"__keras_tensor__": [position[id(node)], history.tensor_index]}
            if isinstance(value, (list, tuple)):
                return [encode(v) for v in value]
            if isinstance(value, dict):
                return {str(k): encode(v) for k, v in value.items()}
            return saving.serialize_keras_object(value)

        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [saving.serialize_keras_object(layer) for layer in self._operations],
            "nodes": [{"layer": n.operation.name, "args": encode(list(n.args)), "kwargs": encode(n.kwargs)}
                      for n in order],
            "inputs": encode(self._inputs_struct),
            "outputs": encode(self._outputs_struct),
        }

    def get_build_config(self):
        return None

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the layers from their configs and replay the graph's nodes."""
        with saving.custom_object_scope(dict(custom_objects or {})):
            return cls._from_config(config)

    @classmethod
    def _from_config(cls, config):
        try:
            records, nodes = config["layers"], config["nodes"]
        except (KeyError, TypeError):
            raise saving.SerializationError("a Functional config needs 'layers' and 'nodes'") from None
        layers = {}
        for record in records:
            layer = saving.deserialize_keras_object(record)
            layers[layer.name] = layer
        produced = []

        def decode(value):
            if isinstance(value, dict) and set(value) == {"__keras_tensor__"}:
                ref = value["__keras_tensor__"]
                try:
                    node_pos, index = ref
                    return produced[node_pos][index]
                except (TypeError, ValueError, IndexError):
                    raise saving.SerializationError(f"Functional config: bad tensor reference {ref!r}") from None
            if isinstance(value, list):
                return [decode(v) for v in value]
            if isinstance(value, dict) and "class_name" not in value:
                return {k: decode(v) for k, v in value.items()}
            return saving.deserialize_keras_object(value)

        for entry in nodes:
            layer = layers.get(entry.get("layer")) if isinstance(entry, dict) else None
            if layer is None:
                raise saving.SerializationError(f"Functional config: node {entry!r} names no layer of the model")
            args, kwargs = decode(entry.get("args", [])), decode(entry.get("kwargs", {}))
            if isinstance(layer, InputLayer) and not args:
                produced.append([layer.output])
            else:
                produced.append(flatten(layer(*args, **kwargs)))
        return cls(decode(config["inputs"]), decode(config["outputs"]), name=config.get("name"),
                   trainable=config.get("trainable", True))


def _convert_input(value, dtype):
    """A model input as a Tensor of the Input's dtype (NumPy arrays converted; floats cast, ints kept)."""
    if isinstance(value, xp.ndarray) or (not isinstance(value, Tensor) and isinstance(value, (list, float, int))):
        return Tensor._make(xp.asarray(value).astype(_dt.as_dtype(dtype).numpy, copy=False))
    if isinstance(value, Tensor) and value._data.dtype.kind == "f" and dtype.startswith("float") \
            and value._data.dtype.name != dtype:
        return value.to(_dt.as_dtype(dtype))
    return value


# ---- graph discovery ----------------------------------------------------------------------------------------

def map_graph(inputs, outputs):
    """The nodes by depth and the layers in order, for the graph from ``inputs`` to ``outputs``.

    Depth is the longest distance to an output (outputs have depth 0). Layers are ordered by decreasing depth,
    ties broken by the order in which the search from the outputs first met them (the order Keras prints).
    """
    ordered, first_seen = _nodes_in_order(inputs, outputs)
    in_graph = set(ordered)
    node_depth, layer_depth = {}, {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node.operation, 0))
        layer_depth[node.operation] = depth
        node_depth[node] = depth
        for parent in node.parent_nodes:
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for x in inputs:  # inputs that no output uses still belong to the model
        history = x._keras_history
        node = history.operation._inbound_nodes[history.node_index]
        if history.operation not in layer_depth and node.is_input:
            layer_depth[history.operation] = 0
            first_seen[history.operation] = -1
            node_depth[node] = 0
    nodes_by_depth = collections.defaultdict(list)
    for node, depth in node_depth.items():
        nodes_by_depth[depth].append(node)
    layers_by_depth = collections.defaultdict(list)
    for layer, depth in layer_depth.items():
        layers_by_depth[depth].append(layer)
    operations = []
    for depth in sorted(layers_by_depth, reverse=True):
        operations.extend(sorted(layers_by_depth[depth], key=lambda layer: first_seen[layer]))
    _check_computable(inputs, nodes_by_depth)
    names = [layer.name for layer in operations]
    for name in names:
        if names.count(name) > 1:
            raise ArgumentError(f'The name "{name}" is used {names.count(name)} times in the model. All layer '
                                "names should be unique.")
    return dict(nodes_by_depth), operations


def _nodes_in_order(inputs, outputs):
    """Nodes from inputs to outputs (a depth-first search from each output, post-order), and for each layer the
    order in which the search first met it. Iterative, so very deep graphs do not hit Python's recursion limit."""
    input_ids = {id(x) for x in inputs}
    finished, in_progress, ordered, first_seen = set(), set(), [], {}
    for out in outputs:
        stack = [(out, False)]
        while stack:
            tensor, expanded = stack.pop()
            history = tensor._keras_history
            if history is None:
                raise ArgumentError(f"{tensor!r} was not made by a Keras layer from keras.Input, so it cannot be "
                                    "part of a model")
            node = history.operation._inbound_nodes[history.node_index]
            if expanded:
                in_progress.discard(node)
                finished.add(node)
                ordered.append(node)
                continue
            if node in finished:
                continue
            if not node.is_input and id(tensor) in input_ids:
                finished.add(node)  # a declared input made by a layer: the graph starts here
                continue
            if node in in_progress:
                raise ArgumentError(f"{tensor!r} from layer '{history.operation.name}' is part of a cycle")
            first_seen.setdefault(history.operation, len(first_seen))
            in_progress.add(node)
            stack.append((tensor, True))
            if not node.is_input:
                stack.extend((x, False) for x in reversed(node.input_tensors))
    return ordered, first_seen


def _check_computable(inputs, nodes_by_depth):
    computable = {id(x) for x in inputs}
    done = []
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            if node.is_input and not any(id(x) in computable for x in node.output_tensors):
                raise ArgumentError(
                    f"Graph disconnected: the outputs depend on the input '{node.operation.name}', which is not "
                    "among Model(inputs=...); pass every keras.Input the outputs depend on")
            for x in node.input_tensors:
                if id(x) not in computable:
                    raise ArgumentError(
                        f"Graph disconnected: cannot find parent for tensor {x!r} at layer "
                        f"'{node.operation.name}'. The following previous layers were accessed without issue: "
                        f"{done}. Pass every keras.Input the outputs depend on in Model(inputs=...)")
            done.append(node.operation.name)
            for x in node.output_tensors:
                computable.add(id(x))
