"""``ember.core.debug``: printing and callbacks from inside compiled code (``jax.debug``)."""

from ember.core._src.debugging import callback, print, visualize_array_sharding  # noqa: A004

__all__ = ["callback", "print", "visualize_array_sharding"]
