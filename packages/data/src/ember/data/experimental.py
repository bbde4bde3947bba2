"""Grain's ``grain.experimental`` names that ember.data provides."""

from ember.data._src.batching import batch_and_pad
from ember.data._src.device import device_put
from ember.data._src.interleave import InterleaveIterDataset
from ember.data._src.iter_dataset import ThreadPrefetchIterDataset
from ember.data._src.packing import FirstFitPackIterDataset
from ember.data._src.shuffle import FeistelPermutation


def index_shuffle(index: int, max_index: int, seed: int, rounds: int = 4) -> int:
    """Position ``index`` of a keyed permutation of ``[0, max_index]`` (not Grain's numbers).

    >>> sorted(index_shuffle(i, 4, seed=1) for i in range(5))
    [0, 1, 2, 3, 4]
    """
    from ember.data._src import seeding

    return FeistelPermutation(max_index + 1, seeding.derive_key(seeding.validate_seed(seed), "index_shuffle"))(index)


__all__ = ["FirstFitPackIterDataset", "InterleaveIterDataset", "ThreadPrefetchIterDataset",
           "batch_and_pad", "device_put", "index_shuffle"]
