"""``ember.core.lax.linalg``: the decompositions as in ``jax.lax.linalg``."""

from ember.core._src.primitives.linalg import (  # noqa: F401
    cholesky,
    eig,
    eigh,
    householder_product,
    lu,
    lu_pivots_to_permutation,
    qr,
    svd,
    triangular_solve,
)

__all__ = ["cholesky", "eig", "eigh", "householder_product", "lu", "lu_pivots_to_permutation", "qr", "svd",
           "triangular_solve"]
