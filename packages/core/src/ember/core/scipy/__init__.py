"""``ember.core.scipy``: SciPy functions with the names and semantics of ``jax.scipy``
(``special``, and ``linalg`` where it is built).

    >>> import ember.core.scipy as esp
    >>> import numpy as np
    >>> float(esp.special.expit(np.float32(0.0)))
    0.5
"""

import importlib as _importlib

__all__: list[str] = []
for _name in ("special", "linalg"):
    try:
        globals()[_name] = _importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _e:  # a topic not written yet
        if _e.name != f"{__name__}.{_name}":
            raise
        continue
    __all__.append(_name)
