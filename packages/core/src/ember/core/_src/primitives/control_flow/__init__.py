"""Control flow: ``cond``/``switch`` (``cond_p``), ``while_loop``/``fori_loop`` (``while_p``),
``scan``/``map`` (``scan_p``) and ``associative_scan``, with their transformation rules.

Modules: ``common`` (tracing bodies, checks, shared helpers), ``cond``, ``loops`` (while and
fori), ``scan``, ``associative``.
"""

from .associative import associative_scan
from .cond import cond, switch
from .cond import cond_p as cond_p
from .loops import fori_loop, while_loop
from .loops import while_p as while_p
from .scan import map, scan  # noqa: A004 - lax.map
from .scan import scan_p as scan_p

__all__ = ["associative_scan", "cond", "fori_loop", "map", "scan", "switch", "while_loop"]
