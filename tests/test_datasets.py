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


def test_digits_bad_arguments():
    check_error(lambda: digits("valid"), lamina.ArgumentError, "split", "'valid'")
    check_error(lambda: digits("train", test_fraction=1.5), lamina.ArgumentError, "test_fraction", "1.5")


def test_mnist_missing_files_say_what_to_put_where(tmp_path):
    for cls, name in ((MNIST, "MNIST"), (FashionMNIST, "FashionMNIST")):
        for path in (None, str(tmp_path / "nowhere")):
            check_error(lambda: cls(path), DatasetNotFoundError, name, "train-images-idx3-ubyte",
                        "t10k-labels-idx1-ubyte", "path=")
    # torchvision's layout (<path>/MNIST/raw/...) is found too
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), dtype=np.int64))
    _write_idx(raw / "t10k-labels-idx1-ubyte", np.array([4, 5]))
    assert MNIST(str(tmp_path), train=False).tensors[1].tolist() == [4, 5]
    check_error(lambda: FashionMNIST(str(tmp_path), train=False), DatasetNotFoundError, "t10k-images-idx3-ubyte")


def test_malformed_mnist_contents(tmp_path):
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 4, 4), dtype=np.int64))
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([1, 12]))
    check_error(lambda: MNIST(str(tmp_path)), DatasetFormatError, "0..9", "12")
    # images and labels swapped: a 1-d file where images belong
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.array([1, 2]))
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((2, 4, 4), dtype=np.int64))
    check_error(lambda: MNIST(str(tmp_path)), DatasetFormatError, "(N, H, W)")


def test_corrupt_gzip_idx_is_a_format_error(tmp_path):
    good = tmp_path / "x.gz"
    _write_idx(good, np.arange(40, dtype=np.int64).reshape(2, 20), gz=True)
    assert read_idx(good).shape == (2, 20)
    raw = good.read_bytes()
    (tmp_path / "truncated.gz").write_bytes(raw[:len(raw) // 2])
    (tmp_path / "garbage.gz").write_bytes(raw[:10] + bytes(len(raw) - 10))
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    for name in ("truncated.gz", "garbage.gz", "plain.gz"):
        check_error(lambda: read_idx(tmp_path / name), DatasetFormatError, name)
    check_error(lambda: read_idx(tmp_path / "absent"), DatasetNotFoundError, "absent")


def test_cifar10_missing_and_empty(tmp_path):
    for path in (None, str(tmp_path / "nowhere")):
        check_error(lambda: CIFAR10(path), DatasetNotFoundError, "data_batch_1.bin", "test_batch.bin", "binary")
    (tmp_path / "test_batch.bin").write_bytes(b"")
    check_error(lambda: CIFAR10(str(tmp_path), train=False), DatasetFormatError, "0 bytes")
    # the pickled Python version's files are not read, however named
    (tmp_path / "test_batch.bin").unlink()
    (tmp_path / "test_batch").write_bytes(b"\x80\x04pickled")
    check_error(lambda: CIFAR10(str(tmp_path), train=False), DatasetNotFoundError, "test_batch.bin")


def test_text_corpus_and_tokenizer_errors():
    text = stdlib_corpus(5000, modules=["json/decoder.py"])
    assert text.startswith('"""Implementation of JSONDecoder') and len(text) == 5000
    check_error(lambda: stdlib_corpus(100, modules=["no_such_module.py"]), DatasetNotFoundError,
                "no_such_module.py")
    check_error(lambda: stdlib_corpus(0), lamina.ArgumentError, "max_chars")
    tok = CharTokenizer("abc")
    check_error(lambda: tok.decode([0, 3]), lamina.ArgumentError, "[3]", "0..2")
    check_error(lambda: TextDataset([1, 2, 3], block_size=3), lamina.ArgumentError, "block_size=3")
