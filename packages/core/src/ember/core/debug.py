"""``ember.core.debug``: printing and callbacks from inside compiled code (``jax.debug``)."""

from ember.core._src.debugging import callback, print  # noqa: A004

__all__ = ["callback", "print"]
