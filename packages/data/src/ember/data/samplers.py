"""Samplers for the classic DataLoader (Grain: ``grain.samplers``)."""

from ember.data._src.samplers import IndexSampler, RecordMetadata, SequentialSampler

__all__ = ["IndexSampler", "RecordMetadata", "SequentialSampler"]
