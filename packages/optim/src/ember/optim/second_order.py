"""``ember.optim.second_order``: Hessian-vector products and Hessian/Fisher diagonals (as
``optax.second_order``)."""

from ember.optim._src.second_order import fisher_diag, hessian_diag, hvp, ravel

__all__ = ["fisher_diag", "hessian_diag", "hvp", "ravel"]
