"""Transformations as interpreters over primitives: each is a Trace whose ``process_primitive``
applies a primitive's rule (``jvp``, ``batch``) and binds the result on its parent trace.

- ``jvp.py``: forward mode (``jvp``, ``jvp_jaxpr``)
- ``partial_eval.py``: split a computation into known and unknown parts (for linearize)
- ``ad.py``: reverse mode: ``linearize``, transposition (``backward_pass``), ``vjp``, ``grad``
- ``batching.py``: ``vmap``
"""
