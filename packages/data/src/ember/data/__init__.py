"""ember.data: deterministic, checkpointable, fast input pipelines (the Grain of Ember).

    >>> import numpy as np
    >>> import ember.data as ed
    >>> images = np.zeros((10, 3, 8, 8), np.uint8); labels = np.arange(10)
    >>> ds = (ed.MapDataset.source({"image": images, "label": labels})
    ...       .shuffle(seed=0)
    ...       .map(lambda r: {"image": r["image"].astype(np.float32) / 255, "label": r["label"]})
    ...       .batch(4, drop_remainder=True))
    >>> it = iter(ds.to_iter_dataset())
    >>> batch = next(it); batch["image"].shape
    (4, 3, 8, 8)
    >>> state = it.get_state()   # a small JSON-serialisable dict

Works with NumPy and pyarrow alone; ``device_put`` needs ember.core. See README.md.
"""

__version__ = "0.1.0"

from ember.data import experimental, samplers, sharding, sources, transforms
from ember.data._src.array_record import ArrayRecordDataSource
from ember.data._src.batching import batch_and_pad, make_batch
from ember.data._src.device import device_put
from ember.data._src.interleave import InterleaveIterDataset, MixedIterDataset
from ember.data._src.iter_dataset import IterDataset
from ember.data._src.iterator import DatasetIterator
from ember.data._src.loader import DataLoader, DataLoaderIterator
from ember.data._src.map_dataset import MapDataset
from ember.data._src.multiprocessing import WorkerError
from ember.data._src.options import MultiprocessingOptions, ReadOptions, debug_mode, is_debug, set_debug
from ember.data._src.packing import FirstFitPackIterDataset
from ember.data._src.parquet import ParquetDataSource, write_parquet
from ember.data._src.samplers import IndexSampler, RecordMetadata, SequentialSampler
from ember.data._src.sharding import NoSharding, ShardByProcess, ShardOptions
from ember.data._src.sources import InMemoryDataSource, RandomAccessDataSource, RangeDataSource

__all__ = [
    "ArrayRecordDataSource", "DataLoader", "DataLoaderIterator", "DatasetIterator",
    "FirstFitPackIterDataset", "InMemoryDataSource", "IndexSampler", "InterleaveIterDataset",
    "IterDataset", "MapDataset", "MixedIterDataset", "MultiprocessingOptions", "NoSharding",
    "ParquetDataSource", "RandomAccessDataSource", "RangeDataSource", "ReadOptions",
    "RecordMetadata", "SequentialSampler", "ShardByProcess", "ShardOptions", "WorkerError",
    "batch_and_pad", "debug_mode", "device_put", "experimental", "is_debug", "make_batch",
    "samplers", "set_debug", "sharding", "sources", "transforms", "write_parquet",
]
