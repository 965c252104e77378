"""lamina.utils.data against torch.utils.data: datasets, samplers, DataLoader and collation."""
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import lamina
import lamina.utils.data as lud
from lamina.errors import ArgumentError, ShapeError
from tests.helpers import check_error


def _pair(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return (lud.TensorDataset(lamina.tensor(x), lamina.tensor(y)),
            tud.TensorDataset(torch.tensor(x), torch.tensor(y)))


def _batches(loader):
    out = []
    for batch in loader:
        out.append([b.numpy() if hasattr(b, "numpy") else b for b in
                    (batch if isinstance(batch, (list, tuple)) else [batch])])
    return out


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (10, False), (None, False)])
def test_sequential_loader_matches_torch(batch_size, drop_last):
    ld, td = _pair()
    a = lud.DataLoader(ld, batch_size=batch_size, drop_last=drop_last)
    b = tud.DataLoader(td, batch_size=batch_size, drop_last=drop_last)
    assert len(a) == len(b)
    for xa, xb in zip(_batches(a), _batches(b)):
        for u, v in zip(xa, xb):
            np.testing.assert_array_equal(u, v)


def test_shuffle_is_a_permutation_and_repeatable_with_seed():
    ld, _ = _pair(20)
    lamina.manual_seed(0)
    first = np.concatenate([y.numpy() for _, y in lud.DataLoader(ld, batch_size=6, shuffle=True)])
    lamina.manual_seed(0)
    again = np.concatenate([y.numpy() for _, y in lud.DataLoader(ld, batch_size=6, shuffle=True)])
    assert sorted(first.tolist()) == list(range(20)) and first.tolist() != list(range(20))
    assert first.tolist() == again.tolist()
    g = lamina.Generator().manual_seed(5)
    loader = lud.DataLoader(ld, batch_size=20, shuffle=True, generator=g)
    e1, e2 = next(iter(loader))[1].tolist(), next(iter(loader))[1].tolist()
    assert e1 != e2  # a new order each epoch


def test_default_collate_structures():
    samples = [{"x": np.ones(2, dtype=np.float32), "y": 1, "name": "a", "pair": (1.5, lamina.zeros(2))},
               {"x": np.zeros(2, dtype=np.float32), "y": 2, "name": "b", "pair": (2.5, lamina.ones(2))}]
    batch = lud.default_collate(samples)
    ref = tud.default_collate([{**s, "pair": (s["pair"][0], torch.tensor(s["pair"][1].numpy()))} for s in samples])
    assert batch["x"].shape == (2, 2) and batch["y"].tolist() == ref["y"].tolist()
    assert batch["y"].dtype == lamina.int64 and batch["name"] == ["a", "b"]
    assert batch["pair"][0].dtype == lamina.float64 and batch["pair"][1].shape == (2, 2)
    check_error(lambda: lud.default_collate([lamina.zeros(2), lamina.zeros(3)]), ShapeError, "equal size")


def test_subset_concat_random_split():
    ld, _ = _pair(10)
    sub = lud.Subset(ld, [3, 1])
    assert sub[0][1].item() == 3 and len(sub) == 2
    cat = lud.ConcatDataset([sub, ld])
    assert len(cat) == 12 and cat[2][1].item() == 0 and cat[-1][1].item() == 9
    parts = lud.random_split(ld, [0.7, 0.3], generator=lamina.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    parts = lud.random_split(ld, [5, 5])
    assert [len(p) for p in parts] == [5, 5]
    check_error(lambda: lud.random_split(ld, [3, 3]), ArgumentError, "does not equal")


def test_iterable_dataset_and_samplers():
    class Stream(lud.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in lud.DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    check_error(lambda: lud.DataLoader(Stream(), shuffle=True), ArgumentError, "IterableDataset")
    bs = lud.BatchSampler(lud.SequentialSampler(range(5)), 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    w = lud.WeightedRandomSampler([0.0, 1.0, 0.0], 5)
    assert list(w) == [1] * 5
    assert sorted(lud.SubsetRandomSampler([4, 2, 9])) == [2, 4, 9]
    r = lud.RandomSampler(range(4), replacement=True, num_samples=10)
    assert len(list(r)) == 10


def test_bad_arguments():
    ld, _ = _pair()
    check_error(lambda: lud.DataLoader(ld, batch_size=0), ArgumentError, "batch_size")
    check_error(lambda: lud.DataLoader(ld, shuffle=True, sampler=lud.SequentialSampler(ld)), ArgumentError,
                "mutually exclusive")
    check_error(lambda: lud.TensorDataset(lamina.zeros(3), lamina.zeros(4)), ShapeError, "size mismatch")


def _structure(x):
    """A comparable description of a (collated) batch: containers by type, tensors by shape, dtype and values."""
    if hasattr(x, "numpy") and hasattr(x, "shape"):
        return ("tensor", tuple(x.shape), str(x.dtype).split(".")[-1], x.numpy().tolist())
    if isinstance(x, dict):
        return {k: _structure(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_structure(v) for v in x])
    return x


def _both(samples):
    """The samples for Lamina, and the same with Lamina tensors replaced by torch tensors for the reference."""
    def to_torch(x):
        if isinstance(x, lamina.Tensor):
            return torch.from_numpy(x.numpy().copy())
        if isinstance(x, dict):
            return {k: to_torch(v) for k, v in x.items()}
        if isinstance(x, tuple) and hasattr(x, "_fields"):
            return type(x)(*(to_torch(v) for v in x))
        if isinstance(x, (list, tuple)):
            return type(x)(to_torch(v) for v in x)
        return x
    return samples, [to_torch(s) for s in samples]


Point = __import__("collections").namedtuple("Point", "x y")

COLLATE_CASES = {
    "tuples of arrays and ints": [(np.ones(2, np.float32), 1), (np.zeros(2, np.float32), 2)],
    "lists of numbers": [[1.0, 2, True], [3.5, 4, False]],
    "numpy scalars": [np.float32(1.5), np.float32(2.5)],
    "numpy ints": [np.int64(1), np.int64(7)],
    "0-d arrays": [np.array(1.0), np.array(2.0)],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "nested dicts and lists": [{"a": [1, (2.0, np.ones(3, np.int32))], "s": "u"},
                               {"a": [3, (4.0, np.zeros(3, np.int32))], "s": "v"}],
    "tensors": [lamina.arange(6).reshape(2, 3), lamina.ones(2, 3, dtype=lamina.int64)],
    "dicts of tensors": [{"img": lamina.zeros(1, 2), "label": 3}, {"img": lamina.ones(1, 2), "label": 4}],
}


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(case):
    ours, theirs = _both(COLLATE_CASES[case])
    assert _structure(lud.default_collate(ours)) == _structure(tud.default_collate(theirs))
    assert _structure(lud.default_convert(ours[0])) == _structure(tud.default_convert(theirs[0]))


def test_default_collate_bad_batches():
    check_error(lambda: lud.default_collate([np.ones(2), np.ones(3)]), ShapeError, "equal size", "(2,)", "(3,)")
    check_error(lambda: lud.default_collate([lamina.ones(2), 3]), ArgumentError, "element 1", "int")
    check_error(lambda: lud.default_collate([np.array(["a"]), np.array(["b"])]), ArgumentError, "<U1")
    check_error(lambda: lud.default_collate([None, None]), ArgumentError, "NoneType")
    check_error(lambda: lud.default_collate([[1, 2], [3]]), ShapeError, "equal size")
    check_error(lambda: lud.default_collate([]), ArgumentError, "empty")


@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (4, True), (None, False)])
def test_sampler_and_drop_last_match_torch(batch_size, drop_last):
    order = [9, 0, 4, 4, 7, 2, 1]  # any iterable with a length is a sampler, repeats allowed
    ld, td = _pair()
    a = lud.DataLoader(ld, batch_size=batch_size, sampler=order, drop_last=drop_last)
    b = tud.DataLoader(td, batch_size=batch_size, sampler=order, drop_last=drop_last)
    assert len(a) == len(b)
    got, want = _batches(a), _batches(b)
    assert len(got) == len(want)
    for xa, xb in zip(got, want):
        for u, v in zip(xa, xb):
            np.testing.assert_array_equal(u, v)


def test_batch_sampler_and_collate_fn():
    ld, _ = _pair()
    loader = lud.DataLoader(ld, batch_sampler=[[0, 1, 2], [9], [5, 5]])
    assert len(loader) == 3 and [y.tolist() for _, y in loader] == [[0, 1, 2], [9], [5, 5]]
    seen = []
    loader = lud.DataLoader(range(7), batch_size=3, collate_fn=lambda batch: seen.append(batch) or sum(batch))
    assert list(loader) == [3, 12, 6] and seen == [[0, 1, 2], [3, 4, 5], [6]]
    check_error(lambda: lud.DataLoader(ld, batch_size=4, batch_sampler=[[0]]), ArgumentError, "mutually exclusive")
    check_error(lambda: lud.DataLoader(ld, batch_size=None, drop_last=True), ArgumentError, "drop_last")


def test_shuffle_with_drop_last_uses_the_framework_generator():
    ld, _ = _pair(10)
    loader = lud.DataLoader(ld, batch_size=3, shuffle=True, drop_last=True,
                            generator=lamina.Generator().manual_seed(1))
    batches = [y.tolist() for _, y in loader]
    assert len(loader) == 3 and [len(b) for b in batches] == [3, 3, 3] and len(set(sum(batches, []))) == 9
    again = lud.DataLoader(ld, batch_size=3, shuffle=True, drop_last=True, generator=lamina.Generator().manual_seed(1))
    assert [y.tolist() for _, y in again] == batches
    # the global NumPy state is neither used nor disturbed
    np.random.seed(0)
    before = np.random.random()
    np.random.seed(0)
    lamina.manual_seed(3)
    list(lud.DataLoader(ld, batch_size=3, shuffle=True))
    assert np.random.random() == before


def test_iterable_dataset_drop_last_and_no_batching():
    class Stream(lud.IterableDataset):
        def __iter__(self):
            return iter(np.arange(7, dtype=np.float32).reshape(7, 1))

    batches = list(lud.DataLoader(Stream(), batch_size=3, drop_last=True))
    assert [b.shape for b in batches] == [(3, 1), (3, 1)]
    singles = list(lud.DataLoader(Stream(), batch_size=None))
    assert len(singles) == 7 and isinstance(singles[0], lamina.Tensor) and singles[0].shape == (1,)


def test_stack_dataset_and_repeatable_random_split():
    ld, _ = _pair(6)
    stacked = lud.StackDataset(ld, lud.Subset(ld, [5, 4, 3, 2, 1, 0]))
    (x0, y0), (x1, y1) = stacked[1]
    assert len(stacked) == 6 and y0.item() == 1 and y1.item() == 4
    named = lud.StackDataset(a=ld, b=ld)
    assert sorted(named[2]) == ["a", "b"]
    check_error(lambda: lud.StackDataset(ld, lud.Subset(ld, [0])), ShapeError, "same length")

    def split(seed):
        return [p.indices for p in lud.random_split(range(20), [0.5, 0.25, 0.25],
                                                    generator=lamina.Generator().manual_seed(seed))]
    assert split(3) == split(3) != split(4)
    assert [len(p) for p in split(3)] == [10, 5, 5] and sorted(sum(split(3), [])) == list(range(20))
