"""A text corpus made of the Python standard library's own source, and a character tokenizer."""
import os
import sysconfig

import numpy

from lamina.datasets.images import DatasetNotFoundError
from lamina.errors import ArgumentError
from lamina.tensor import Tensor
from lamina.utils.data import Dataset


def stdlib_corpus(max_chars=1_000_000, modules=None):
    """Concatenated source text of standard-library modules (sorted by path, so the corpus is repeatable).

    Args:
        max_chars: stop once the corpus has this many characters.
        modules: optional list of file names (e.g. ['json/decoder.py']) relative to the stdlib folder.
    """
    if not isinstance(max_chars, int) or max_chars <= 0:
        raise ArgumentError(f"stdlib_corpus(): max_chars must be a positive int, got {max_chars!r}")
    root = sysconfig.get_paths()["stdlib"]
    if modules is None:
        paths = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in ("test", "tests", "idlelib", "site-packages",
                                                            "__pycache__", "lib2to3"))
            paths.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(".py"))
    else:
        paths = [os.path.join(root, m) for m in modules]
        missing = [m for m, p in zip(modules, paths) if not os.path.isfile(p)]
        if missing:
            raise DatasetNotFoundError(f"stdlib_corpus(): {missing} not found in the standard library folder {root!r}")
    parts, total = [], 0
    for p in paths:
        try:
            with open(p, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):  # an unreadable or non-UTF-8 file is skipped, not fatal
            continue
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    if not parts:
        raise DatasetNotFoundError(f"stdlib_corpus(): no readable Python source files in {root!r} (this Python "
                                   "installation ships its standard library without sources)")
    return "".join(parts)[:max_chars]


class CharTokenizer:
    """Characters <-> integer ids over the sorted set of characters of a text.

    Example:
        >>> tok = CharTokenizer("hello")
        >>> tok.decode(tok.encode("hell"))
        'hell'
    """

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        try:
            return [self.stoi[c] for c in text]
        except KeyError as e:
            raise ArgumentError(f"CharTokenizer.encode(): character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids):
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        bad = [i for i in ids if not 0 <= i < len(self.chars)]
        if bad:
            raise ArgumentError(f"CharTokenizer.decode(): ids {bad[:5]} lie outside the vocabulary "
                                f"0..{len(self.chars) - 1}")
        return "".join(self.chars[i] for i in ids)


class TextDataset(Dataset):
    """Next-token windows: sample i is (ids[i : i+block_size], ids[i+1 : i+1+block_size]) as int64 tensors."""

    def __init__(self, ids, block_size):
        self.ids = numpy.asarray(getattr(ids, "_data", ids), dtype=numpy.int64)
        if block_size <= 0 or len(self.ids) <= block_size:
            raise ArgumentError(f"TextDataset(): need more than block_size={block_size} tokens, got {len(self.ids)}")
        self.block_size = block_size

    def __len__(self):
        return len(self.ids) - self.block_size

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"TextDataset: index {i} out of range for {len(self)} windows")
        i %= len(self)
        chunk = self.ids[i:i + self.block_size + 1]
        return Tensor._make(chunk[:-1].copy()), Tensor._make(chunk[1:].copy())
