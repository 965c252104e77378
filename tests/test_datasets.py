"""lamina.datasets: the embedded digits, IDX and CIFAR-10 parsers on files the tests write, the text corpus."""
import gzip
import os

import numpy as np
import pytest

import lamina
from lamina.datasets import (CIFAR10, MNIST, CharTokenizer, DatasetFormatError, DatasetNotFoundError,
                             FashionMNIST, TextDataset, digits, read_idx, stdlib_corpus)
from tests.helpers import check_error


def test_digits_splits_are_fixed_and_disjoint():
    all_ = digits()
    train, test = digits("train"), digits("test")
    assert len(all_) == 1797 and len(train) + len(test) == 1797 and len(test) == 359
    image, label = train[0]
    assert image.shape == (1, 8, 8) and image.dtype == lamina.float32 and label.dtype == lamina.int64
    x = all_.tensors[0].numpy()
    assert x.min() == 0.0 and x.max() == 1.0
    assert sorted(set(all_.tensors[1].tolist())) == list(range(10))
    np.testing.assert_array_equal(digits("test").tensors[1].numpy(), test.tensors[1].numpy())


def _write_idx(path, array, code=0x08, gz=False):
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(">u1" if code == 0x08 else ">i4").tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files(tmp_path, gz):
    imgs = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28) % 256
    labels = np.array([3, 0, 9])
    suffix = ".gz" if gz else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", imgs, gz=gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, gz=gz)
    for cls in (MNIST, FashionMNIST):
        ds = cls(str(tmp_path), train=False)
        x, y = ds.tensors
        assert x.shape == (3, 1, 28, 28) and y.tolist() == [3, 0, 9]
        np.testing.assert_allclose(x.numpy()[:, 0], imgs / 255.0, rtol=1e-6)
    check_error(lambda: MNIST(str(tmp_path), train=True), DatasetNotFoundError, "train-images-idx3-ubyte",
                str(tmp_path))
    check_error(lambda: MNIST(None), DatasetNotFoundError, "never downloads")


def test_malformed_idx_files(tmp_path):
    good = tmp_path / "good"
    _write_idx(good, np.zeros((2, 3), dtype=np.int64))
    assert read_idx(good).shape == (2, 3)
    raw = good.read_bytes()
    cases = {"magic": b"\x01" + raw[1:], "type": raw[:2] + b"\x42" + raw[3:], "truncated": raw[:-1],
             "header": raw[:6], "extra": raw + b"\x00", "empty": b""}
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(DatasetFormatError):
            read_idx(p)
    imgs, labels = tmp_path / "m", tmp_path / "m"
    os.makedirs(imgs, exist_ok=True)
    _write_idx(imgs / "train-images-idx3-ubyte", np.zeros((2, 4, 4), dtype=np.int64))
    _write_idx(imgs / "train-labels-idx1-ubyte", np.array([1, 2, 3]))
    check_error(lambda: MNIST(str(imgs)), DatasetFormatError, "do not match")


def test_cifar10_binary_batches(tmp_path):
    rng = np.random.default_rng(0)
    records = rng.integers(0, 256, (4, 3073)).astype(np.uint8)
    records[:, 0] = [1, 2, 3, 4]
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    records.tofile(folder / "test_batch.bin")
    x, y = CIFAR10(str(tmp_path), train=False).tensors
    assert x.shape == (4, 3, 32, 32) and y.tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(x.numpy()[0].reshape(-1), records[0, 1:] / 255.0, rtol=1e-6)
    (folder / "test_batch.bin").write_bytes(records.tobytes()[:-5])
    check_error(lambda: CIFAR10(str(tmp_path), train=False), DatasetFormatError, "3073-byte records")
    records[0, 0] = 12
    records.tofile(folder / "test_batch.bin")
    check_error(lambda: CIFAR10(str(tmp_path), train=False), DatasetFormatError, "label 12")
    check_error(lambda: CIFAR10(str(tmp_path), train=True), DatasetNotFoundError, "data_batch_1.bin")


def test_text_corpus_tokenizer_and_windows():
    text = stdlib_corpus(20000)
    assert len(text) == 20000 and text == stdlib_corpus(20000)
    tok = CharTokenizer(text)
    ids = tok.encode(text[:100])
    assert tok.decode(ids) == text[:100] and max(ids) < tok.vocab_size
    ds = TextDataset(tok.encode(text[:50]), block_size=8)
    x, y = ds[3]
    assert len(ds) == 42 and x.tolist()[1:] == y.tolist()[:-1] and x.dtype == lamina.int64
    check_error(lambda: tok.encode("\x00"), lamina.ArgumentError, "not in the vocabulary")
