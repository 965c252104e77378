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
