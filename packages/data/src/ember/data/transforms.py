"""Transformation classes (Grain: ``grain.transforms``)."""

from ember.data._src.transforms import Batch, Filter, Map, MapWithIndex, RandomMap, Transformation

__all__ = ["Batch", "Filter", "Map", "MapWithIndex", "RandomMap", "Transformation"]
