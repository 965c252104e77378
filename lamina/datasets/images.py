"""Image datasets as TensorDatasets of (images (N, C, H, W) float32 in [0, 1], labels int64)."""
import gzip
import os
import zlib

import numpy

from lamina.errors import ArgumentError, LaminaError
from lamina.tensor import Tensor
from lamina.utils.data import TensorDataset

_DATA = os.path.join(os.path.dirname(__file__), "data")


class DatasetNotFoundError(LaminaError, FileNotFoundError):
    """The files of a local-file dataset are not where the user said they would be."""


class DatasetFormatError(LaminaError, ValueError):
    """A dataset file that does not have the expected format."""


def _dataset(images, labels):
    return TensorDataset(Tensor._make(images), Tensor._make(labels))


def digits(split="all", test_fraction=0.2, seed=0):
    """The 1797 8x8 handwritten digits embedded in Lamina (UCI, as bundled with scikit-learn).

    Args:
        split: 'all', 'train' or 'test'; the split is a fixed shuffle by ``seed``, ``test_fraction`` held out.
    Returns:
        A TensorDataset of images (N, 1, 8, 8) float32 in [0, 1] and labels (N,) int64.

    Example:
        >>> train = lamina.datasets.digits("train")
        >>> image, label = train[0]
    """
    if split not in ("all", "train", "test"):
        raise ArgumentError(f"digits(): split must be 'all', 'train' or 'test', got {split!r}")
    if not 0 < test_fraction < 1:
        raise ArgumentError(f"digits(): test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    with gzip.open(os.path.join(_DATA, "digits.csv.gz"), "rt") as f:
        table = numpy.loadtxt(f, delimiter=",", dtype=numpy.int64)
    images = (table[:, :64].reshape(-1, 1, 8, 8) / 16.0).astype(numpy.float32)
    labels = table[:, 64]
    if split != "all":
        order = numpy.random.Generator(numpy.random.PCG64(seed)).permutation(len(labels))
        n_test = int(round(len(labels) * test_fraction))
        chosen = order[:n_test] if split == "test" else order[n_test:]
        images, labels = images[chosen], labels[chosen]
    return _dataset(images, labels)


_IDX_TYPES = {0x08: numpy.uint8, 0x09: numpy.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (MNIST's format; optionally gzipped) into a NumPy array, validating its header."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DatasetNotFoundError(f"read_idx(): no file {path}") from None
    except (OSError, EOFError, zlib.error) as e:  # also a gzip file that is truncated or corrupt
        raise DatasetFormatError(f"read_idx(): cannot read {path}: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetFormatError(f"read_idx(): {path} is not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES or ndim == 0:
        raise DatasetFormatError(f"read_idx(): {path} has an unknown data type 0x{code:02x} or no dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetFormatError(f"read_idx(): {path} is truncated inside its header")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    dtype = numpy.dtype(_IDX_TYPES[code])
    count = 1
    for d in dims:
        count *= d
    if len(raw) - header != count * dtype.itemsize:
        raise DatasetFormatError(f"read_idx(): {path} declares shape {tuple(dims)} ({count * dtype.itemsize} "
                                 f"bytes of data) but holds {len(raw) - header} bytes")
    return numpy.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


_IDX_FILES = ("train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
              "t10k-labels-idx1-ubyte (gzipped or not)")


def _find(folder, name, dataset):
    # the folder itself, or torchvision's layout under it (<path>/MNIST/raw/...)
    for where in (folder, os.path.join(folder, dataset, "raw")):
        for candidate in (name, name + ".gz"):
            p = os.path.join(where, candidate)
            if os.path.isfile(p):
                return p
    raise DatasetNotFoundError(
        f"{dataset}: {name} (or {name}.gz) not found in {folder!r}. Put the four IDX files {_IDX_FILES} in that "
        f"folder and pass it as path=.")


def _mnist_like(path, train, dataset):
    if path is None or not os.path.isdir(path):
        raise DatasetNotFoundError(
            f"{dataset}: path={path!r} is not a folder. Lamina never downloads: put the four IDX files "
            f"{_IDX_FILES} in a folder and pass it as {dataset}(path=...).")
    prefix = "train" if train else "t10k"
    images = read_idx(_find(path, f"{prefix}-images-idx3-ubyte", dataset))
    labels = read_idx(_find(path, f"{prefix}-labels-idx1-ubyte", dataset))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(f"{dataset}: images {images.shape} and labels {labels.shape} do not match "
                                 "(expected (N, H, W) and (N,))")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetFormatError(f"{dataset}: labels must lie in 0..9, found {labels.min()}..{labels.max()}")
    return _dataset((images[:, None] / 255.0).astype(numpy.float32), labels.astype(numpy.int64))


def MNIST(path, train=True):
    """MNIST from the four IDX files in folder ``path``: a TensorDataset of (N, 1, 28, 28) images and labels."""
    return _mnist_like(path, train, "MNIST")


def FashionMNIST(path, train=True):
    """Fashion-MNIST (same IDX files and layout as MNIST) from folder ``path``."""
    return _mnist_like(path, train, "FashionMNIST")


_CIFAR_RECORD = 1 + 3 * 32 * 32


def CIFAR10(path, train=True):
    """CIFAR-10 from the *binary* batches (``data_batch_1.bin`` .. ``_5.bin``, ``test_batch.bin``) in ``path``.

    The pickled Python version is never read (Lamina does not unpickle). Images are (N, 3, 32, 32) in [0, 1].
    """
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    files = ("data_batch_1.bin .. data_batch_5.bin and test_batch.bin (the 'CIFAR-10 binary version', not the "
             "Python one)")
    if path is None or not os.path.isdir(path):
        raise DatasetNotFoundError(f"CIFAR10: path={path!r} is not a folder. Lamina never downloads: put the files "
                                   f"{files} in a folder and pass it as CIFAR10(path=...).")
    folder = path
    if os.path.isdir(os.path.join(path, "cifar-10-batches-bin")):
        folder = os.path.join(path, "cifar-10-batches-bin")
    images, labels = [], []
    for name in names:
        p = os.path.join(folder, name)
        if not os.path.isfile(p):
            raise DatasetNotFoundError(f"CIFAR10: {name} not found in {folder!r}. Put the files {files} in that "
                                       "folder.")
        raw = numpy.fromfile(p, dtype=numpy.uint8)
        if raw.size == 0 or raw.size % _CIFAR_RECORD:
            raise DatasetFormatError(f"CIFAR10: {p} holds {raw.size} bytes, not a whole number of "
                                     f"{_CIFAR_RECORD}-byte records")
        records = raw.reshape(-1, _CIFAR_RECORD)
        if records[:, 0].max() > 9:
            raise DatasetFormatError(f"CIFAR10: {p} has a label {records[:, 0].max()} outside 0..9")
        labels.append(records[:, 0].astype(numpy.int64))
        images.append(records[:, 1:].reshape(-1, 3, 32, 32))
    return _dataset((numpy.concatenate(images) / 255.0).astype(numpy.float32), numpy.concatenate(labels))
