"""Random-access data sources (Grain: ``grain.sources``)."""

from ember.data._src.array_record import ArrayRecordDataSource
from ember.data._src.parquet import ParquetDataSource, write_parquet
from ember.data._src.sources import InMemoryDataSource, RandomAccessDataSource, RangeDataSource

__all__ = ["ArrayRecordDataSource", "InMemoryDataSource", "ParquetDataSource",
           "RandomAccessDataSource", "RangeDataSource", "write_parquet"]
