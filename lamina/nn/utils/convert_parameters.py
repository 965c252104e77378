"""parameters_to_vector and vector_to_parameters: all parameters as one flat vector and back."""
from lamina.errors import ArgumentError, ShapeError
from lamina.ops.shape import cat, reshape
from lamina.tensor import Tensor


def parameters_to_vector(parameters):
    """Concatenate the flattened parameters into one 1-d tensor (differentiable, like torch.cat).

    Example:
        >>> vec = nn.utils.parameters_to_vector(model.parameters())
    """
    flat = []
    for p in parameters:
        if not isinstance(p, Tensor):
            raise ArgumentError(f"parameters_to_vector(): expected lamina Tensors, got {type(p).__name__}")
        flat.append(reshape(p, (-1,)))
    if not flat:
        raise ArgumentError("parameters_to_vector(): expected a non-empty iterable of parameters")
    return cat(flat)


def vector_to_parameters(vec, parameters):
    """Make the parameters views of consecutive slices of the 1-d ``vec``, in order (as torch's ``param.data =``).

    Example:
        >>> nn.utils.vector_to_parameters(vec * 0.5, model.parameters())
    """
    if not isinstance(vec, Tensor):
        raise ArgumentError(f"vector_to_parameters(): expected vec to be a lamina.Tensor, but got "
                            f"{type(vec).__name__}")
    params = list(parameters)
    total = sum(p._data.size for p in params)
    if vec._data.ndim != 1 or vec._data.size != total:
        raise ShapeError(f"vector_to_parameters(): expected a 1-d vec with {total} elements (the parameters' total), "
                         f"got shape {tuple(vec.shape)}")
    pointer = 0
    for p in params:
        n = p._data.size
        p._data = vec._data[pointer:pointer + n].reshape(p._data.shape)
        p._vc[0] += 1
        pointer += n
