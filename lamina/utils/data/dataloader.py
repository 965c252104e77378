"""DataLoader: batches from a dataset, through a sampler and a collate function, as in torch."""
import numbers

import numpy

from lamina.errors import ArgumentError, ShapeError
from lamina.tensor import Tensor
from lamina.utils.data.dataset import IterableDataset
from lamina.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler


def default_convert(data):
    """NumPy arrays and scalars become tensors, recursively through tuples (which become lists, as in torch), lists
    and dicts; everything else stays as it is."""
    if isinstance(data, (numpy.ndarray, numpy.generic)) and data.dtype.kind in "fiub":
        return Tensor._make(numpy.asarray(data))
    if isinstance(data, dict):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, tuple):  # a list, as torch returns
        return [default_convert(v) for v in data]
    if isinstance(data, list):
        return type(data)(default_convert(v) for v in data)
    return data


def default_collate(batch):
    """Stack a list of samples into a batch: tensors and arrays are stacked along a new first dimension, numbers
    become a 1-d tensor, strings stay a list, and tuples, lists and dicts are collated field by field."""
    from lamina.creation import tensor
    if len(batch) == 0:
        raise ArgumentError("default_collate: the batch is empty")
    first = batch[0]
    if isinstance(first, (Tensor, numpy.ndarray)):
        kind = Tensor if isinstance(first, Tensor) else numpy.ndarray
        for i, sample in enumerate(batch):
            if not isinstance(sample, kind):
                raise ArgumentError(f"default_collate: expected {kind.__name__} as element {i} of the batch, like "
                                    f"element 0, but got {type(sample).__name__}")
        if kind is numpy.ndarray and first.dtype.kind not in "biuf":  # strings, objects: as torch refuses them
            raise ArgumentError(f"default_collate: NumPy arrays of dtype {first.dtype} cannot become tensors")
        arrays = [t._data for t in batch] if kind is Tensor else batch
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ShapeError(f"default_collate: stack expects each {kind.__name__} to be equal size, got shapes "
                             f"{sorted(shapes)}")
        return Tensor._make(numpy.stack(arrays))
    if isinstance(first, numpy.generic):
        if first.dtype.kind not in "biuf":
            raise ArgumentError(f"default_collate: NumPy scalars of dtype {first.dtype} cannot become tensors")
        return Tensor._make(numpy.array(batch))
    if isinstance(first, bool):
        return tensor(batch)
    if isinstance(first, numbers.Integral):
        return tensor(batch)
    if isinstance(first, numbers.Real):
        from lamina.dtypes import float64
        return tensor(batch, dtype=float64)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, dict):
        return {k: default_collate([sample[k] for sample in batch]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(first, (list, tuple)):
        if len({len(sample) for sample in batch}) != 1:
            raise ShapeError("default_collate: each element in the batch should be of equal size")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise ArgumentError(f"default_collate: batch must contain tensors, NumPy arrays, numbers, dicts or lists; "
                        f"found {type(first).__name__}")


class DataLoader:
    """Iterate over a dataset in batches.

    Args:
        dataset: a map-style Dataset (``__getitem__``/``__len__``) or an IterableDataset.
        batch_size: samples per batch (None yields single samples, converted but not collated).
        shuffle: visit a map-style dataset in a new random order each epoch (framework generator).
        sampler, batch_sampler: custom visiting order (exclusive with shuffle / batch_size options).
        drop_last: drop the last incomplete batch.
        collate_fn: how a list of samples becomes a batch (default_collate).
        generator: the generator used for shuffling.

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 generator=None, prefetch_factor=None, persistent_workers=False):
        if num_workers < 0:
            raise ArgumentError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                       or batch_size <= 0):
            raise ArgumentError(f"DataLoader: batch_size should be a positive integer or None, got {batch_size!r}")
        self.dataset, self.batch_size, self.drop_last, self.generator = dataset, batch_size, drop_last, generator
        self.num_workers = num_workers  # batches are produced in this process; accepted for compatibility
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle or sampler is not None or batch_sampler is not None:
                raise ArgumentError("DataLoader with IterableDataset: expected unspecified shuffle, sampler and "
                                    "batch_sampler options")
        if sampler is not None and shuffle:
            raise ArgumentError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ArgumentError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                "sampler, and drop_last")
        if batch_size is None and drop_last:
            raise ArgumentError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                                "exclusive with drop_last")
        if batch_sampler is not None:
            batch_size = None
            self.batch_size = None
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_sampler is None and batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn or (default_collate if (batch_size is not None or batch_sampler is not None)
                                         else default_convert)

    def __iter__(self):
        if self._iterable:
            yield from self._iter_stream()
        elif self.batch_sampler is not None:
            for indices in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in indices])
        else:
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)
