"""Sharding across processes (Grain: ``grain.sharding``; ``ShardByJaxProcess`` is
``ShardByProcess`` here)."""

from ember.data._src.sharding import NoSharding, ShardByProcess, ShardOptions, even_split

__all__ = ["NoSharding", "ShardByProcess", "ShardOptions", "even_split"]
