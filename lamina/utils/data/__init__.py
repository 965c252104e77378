"""``lamina.utils.data``: datasets, samplers and the DataLoader, with torch's semantics.

Shuffling and random splits draw from Lamina's generator (``lamina.manual_seed`` makes them repeatable).
"""
from lamina.utils.data.dataset import (
    Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, StackDataset, random_split,
)
from lamina.utils.data.sampler import (
    Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler, BatchSampler,
)
from lamina.utils.data.dataloader import DataLoader, default_collate, default_convert
