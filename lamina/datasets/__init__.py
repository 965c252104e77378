"""Datasets: the embedded handwritten digits, local-file MNIST / Fashion-MNIST / CIFAR-10, and a text corpus.

Nothing is downloaded: ``digits()`` ships with Lamina; MNIST-style and CIFAR-10 datasets read the files you put
in a folder (with a clear error naming the files when they are missing); the text corpus is built from the
Python standard library's own source files, present on every machine.
"""
from lamina.datasets.images import (
    DatasetNotFoundError, DatasetFormatError, digits, MNIST, FashionMNIST, CIFAR10, read_idx,
)
from lamina.datasets.text import CharTokenizer, stdlib_corpus, TextDataset
