"""LazyModuleMixin: layers whose parameter shapes come from their first input.

A lazy layer holds ``UninitializedParameter`` / ``UninitializedBuffer`` placeholders, which ``parameters()``
lists, so an optimizer can be built before the first call. The first ``forward`` calls
``initialize_parameters(input)``, which materializes the placeholders in place (the same objects) and runs the
layer's usual initialisation; the module then becomes its regular class (``cls_to_become``), so
``LazyLinear(3)`` prints as ``Linear(in_features=..., out_features=3, bias=True)`` afterwards.

Loading a state_dict into an uninitialized lazy layer materializes it with the checkpoint's shapes.
"""
import itertools

from lamina.nn.parameter import is_lazy


class LazyModuleMixin:
    """Put first in the bases of a lazy layer: ``class LazyLinear(LazyModuleMixin, Linear)``.

    Subclasses define ``initialize_parameters(input)`` (materialize and initialise) and
    ``_infer_from_state()`` (set hyper-parameters such as ``in_features`` from the materialized shapes).
    """

    cls_to_become = None

    def has_uninitialized_params(self):
        """True while any parameter or buffer of this module is still a placeholder."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(), self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def _infer_from_state(self):
        """Set the shape hyper-parameters from materialized parameters (after a state_dict load)."""

    def _become_regular(self):
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def forward(self, *args, **kwargs):
        # Runs once: infer the shapes, turn into the regular class, then run its forward.
        self.initialize_parameters(*args, **kwargs)
        regular = self.cls_to_become
        if regular is None:
            return super().forward(*args, **kwargs)
        self.__class__ = regular
        return regular.forward(self, *args, **kwargs)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # placeholders are saved as they are (torch does the same), so state_dict() works before the first call
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            if t is None or name in self._non_persistent_buffers_set:
                continue
            destination[prefix + name] = t if (keep_vars or is_lazy(t)) else t.detach()

    def _lazy_shapes(self):
        """{name: shape} of each placeholder once materialized, None standing for the size the input decides
        (one size for the whole layer)."""
        return {}

    def _misfits(self, state_dict, prefix, errors):
        """Keys of the checkpoint whose shapes no input could give this layer's placeholders; reported in
        ``errors`` with torch's size-mismatch wording."""
        bad, inferred = set(), None
        for name, template in self._lazy_shapes().items():
            key, current = prefix + name, getattr(self, name, None)
            value = state_dict.get(key)
            if current is None or not is_lazy(current) or value is None or is_lazy(value):
                continue
            shape = tuple(getattr(value, "shape", ()))
            free = {s for s, d in zip(shape, template) if d is None}
            fits = (len(shape) == len(template) and len(free) <= 1 and all(s > 0 for s in free)
                    and all(s == d for s, d in zip(shape, template) if d is not None))
            if fits and free and inferred is not None and free != inferred:
                fits = False
            if fits:
                inferred = free or inferred
                continue
            shown = "(" + ", ".join("?" if d is None else str(d) for d in template) + ("," if len(template) == 1
                                                                                          else "") + ")"
            note = " (? is inferred from the input)" if None in template else ""
            errors.append(f"size mismatch for {key}: copying a param with shape {shape} from checkpoint, the shape "
                          f"in current model is {shown}{note}.")
            bad.add(key)
        return bad

    def _load_from_state_dict(self, state_dict, prefix, strict, missing, unexpected, errors, assign=False):
        # A placeholder in the checkpoint (saved from a lazy layer that never ran) leaves ours uninitialized.
        skipped = {prefix + name for name, t in itertools.chain(self._parameters.items(), self._buffers.items())
                   if t is not None and is_lazy(t) and is_lazy(state_dict.get(prefix + name))}
        skipped |= self._misfits(state_dict, prefix, errors)
        if skipped:
            state_dict = {k: v for k, v in state_dict.items() if k not in skipped}
        before, had_lazy = len(missing), self.has_uninitialized_params()
        super()._load_from_state_dict(state_dict, prefix, strict, missing, unexpected, errors, assign)
        missing[before:] = [k for k in missing[before:] if k not in skipped]
        if had_lazy and not self.has_uninitialized_params():
            self._infer_from_state()
            self._become_regular()
