"""``ember.core.distributed``: join a multi-process job (``jax.distributed``)."""

from ember.core._src.distributed import barrier, initialize, is_initialized, shutdown  # noqa: F401

__all__ = ["barrier", "initialize", "is_initialized", "shutdown"]
