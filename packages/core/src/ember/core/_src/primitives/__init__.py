"""Primitives by family. Each module defines its primitives with all their rules (abstract
evaluation, lowering, JVP, transpose, batching) and the ``lax``-level functions that bind them,
listed in the module's ``__all__``. Importing ``ember.core.lax`` registers every family."""
