"""``ember.core.tree``: the pytree protocol every Ember package uses (see ``jax.tree``).

    >>> import ember.core as ec
    >>> ec.tree.map(lambda x: x + 1, {"a": 1, "b": (2, 3)})
    {'a': 2, 'b': (3, 4)}
"""

from ember.core._src.tree import *  # noqa: F401,F403
from ember.core._src.tree import __all__  # noqa: F401
