"""Primitives by family. Each module defines its primitives with all their rules (abstract
evaluation, lowering, JVP, transpose, batching) and the ``lax``-level functions that bind them.
Importing this package registers every primitive."""

from . import elementwise, shape  # noqa: F401
