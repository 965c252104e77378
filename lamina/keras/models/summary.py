"""``model.summary()``: Keras 3's table of layers, output shapes, parameter counts (and connections).

The text is the one Keras prints when its output is not a terminal (rich's plain rendering), character for
character: the same defaults (line length 88 for a sequential-like model, 108 with the "Connected to" column of a
branching graph, +12 with ``show_trainable``, at most the terminal width minus 4), the same column positions,
wrapping and totals with byte sizes. ``print_fn`` receives the whole text in one call, as in Keras 3.

Output shapes come from the layer's last node in a functional graph; otherwise (a subclassed model) from the
first real call of the layer, or ``compute_output_shape`` of its build shape; ``?`` before that. One difference
from Keras: lines wider than the terminal are not cropped (see ``lamina/summary.py``).
"""
import re

from lamina.errors import ArgumentError
from lamina.keras.backend import KerasTensor, map_structure
from lamina.keras.layers.layer import Layer
from lamina.summary import (
    column_widths, default_line_length, emit, format_shapes, render_table, totals_lines, weight_totals,
    readable_memory_size,
)


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Print (or pass to ``print_fn``) the summary of a Keras model; see ``Model.summary``."""
    from lamina.keras.models.functional import Functional
    if isinstance(model, Functional):
        layers = list(model._operations)
        sequential_like = _is_sequential_like(model)
        relevant = model._nodes
    else:
        layers = _summary_layers(model)
        sequential_like, relevant = True, None
    if sequential_like:
        default, default_positions = 88, [0.45, 0.80, 1.0]
        header, alignment = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        alignment = ["left", "left", "right", "left"]
    positions = list(positions or default_positions)
    if show_trainable:
        default += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        alignment.append("center")
    line_length = line_length or default_line_length(default)
    widths = column_widths(line_length, positions)

    names = _attribute_names(model)
    rows = []

    def add_rows(layer, level):
        prefix = "   " * level + "└ " if level else ""
        rows.append(_fields(layer, prefix, names, sequential_like, relevant, show_trainable))
        nested = getattr(layer, "layers", None) if isinstance(layer, Layer) else None
        if expand_nested and nested:
            for sub in nested:
                add_rows(sub, level + 1)

    start, stop = _layer_range(layers, layer_range)
    for layer in layers[start:stop]:
        add_rows(layer, 0)

    lines = [f'Model: "{model.name}"'] + render_table(header, rows, widths, alignment)
    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    optimizer_vars = _optimizer_variables(model)
    if optimizer_vars:
        (tc, ts), (nc, ns), (oc, os_) = (weight_totals(trainable), weight_totals(non_trainable),
                                         weight_totals(optimizer_vars))
        lines += [f" Total params: {tc + nc + oc:,} ({readable_memory_size(ts + ns + os_)})"]
        lines += totals_lines(trainable, non_trainable)[1:]
        lines.append(f" Optimizer params: {oc:,} ({readable_memory_size(os_)})")
    else:
        lines += totals_lines(trainable, non_trainable)
    emit(lines, print_fn)


def _summary_layers(model):
    """The rows of a Sequential (its layers) or a subclassed model (its direct sub-modules, lists flattened)."""
    if hasattr(model, "_child_modules") and type(model).__name__ != "Sequential":
        return model._child_modules()
    return list(model.layers)


def _attribute_names(model):
    return {id(m): name for name, m in model.named_modules() if name}


def _fields(layer, prefix, names, sequential_like, relevant, show_trainable):
    if isinstance(layer, Layer):
        name = layer.name
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
    else:
        name = names.get(id(layer), type(layer).__name__.lower())
        params = f"{sum(p.numel() for p in layer.parameters()):,}"
    fields = [f"{prefix}{name} ({type(layer).__name__})", _output_shape(layer), params]
    if not sequential_like:
        fields.append(_connections(layer, relevant))
    if show_trainable:
        weights = list(layer.parameters())
        if not weights:
            fields.append("-")
        elif isinstance(layer, Layer):
            fields.append("Y" if layer.trainable else "N")
        else:
            fields.append("Y" if any(w.requires_grad for w in weights) else "N")
    return fields


def _output_shape(layer):
    if not isinstance(layer, Layer):
        return "?"
    if layer._inbound_nodes:
        outputs = layer._inbound_nodes[-1].outputs
        return format_shapes(map_structure(lambda x: x.shape if isinstance(x, KerasTensor) else None, outputs))
    if layer._output_shape_record is not None:
        return format_shapes(layer._output_shape_record)
    if layer._build_shapes_dict and type(layer).compute_output_shape is not Layer.compute_output_shape:
        try:
            return format_shapes(layer.compute_output_shape(*layer._build_shapes_dict.values()))
        except Exception:  # a shape function that cannot handle the recorded shape: show "?" like Keras
            return "?"
    return "?"


def _connections(layer, relevant):
    parts = []
    for node in getattr(layer, "_inbound_nodes", ()):
        if relevant is not None and id(node) not in relevant:
            continue
        for x in node.input_tensors:
            history = x._keras_history
            parts.append(f"{history.operation.name}[{history.node_index}][{history.tensor_index}]")
    return ", ".join(parts) or "-"


def _is_sequential_like(model):
    """Keras's rule: one node per depth, each with at most one input, and no layer used twice."""
    nodes = []
    for depth_nodes in model._nodes_by_depth.values():
        if len(depth_nodes) > 1 or (len(depth_nodes) == 1 and len(depth_nodes[0].input_tensors) > 1):
            return False
        nodes.extend(depth_nodes)
    node_ids = {id(n) for n in nodes}
    for layer in model.layers:
        if sum(1 for n in layer._inbound_nodes if id(n) in node_ids) > 1:
            return False
    return True


def _optimizer_variables(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        return []
    variables = getattr(optimizer, "variables", None)
    if callable(variables):
        variables = variables()
    return [v for v in (variables or []) if hasattr(v, "shape") and hasattr(v, "_data")]


def _layer_range(layers, layer_range):
    """[first, last + 1] of the layers whose names match ``layer_range = (start_regex, end_regex)``."""
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2 or not all(isinstance(x, str) for x in layer_range):
        raise ArgumentError(f"summary(): layer_range must be two layer names (or regexes), got {layer_range!r}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], _name(layer))]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], _name(layer))]
    if not lower or not upper:
        raise ArgumentError(f"summary(): layer_range {layer_range!r} matches no layer names in the model")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _name(layer):
    return layer.name if isinstance(layer, Layer) else type(layer).__name__.lower()

