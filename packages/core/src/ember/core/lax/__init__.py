"""``ember.core.lax``: primitive-level operations and control flow, as in ``jax.lax``."""

from ember.core._src.lax import *  # noqa: F401,F403
from ember.core._src.lax import __all__  # noqa: F401
