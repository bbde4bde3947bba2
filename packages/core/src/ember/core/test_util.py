"""``ember.core.test_util``: derivative checks against finite differences."""

from ember.core._src.test_util import check_grads, check_jvp, check_vjp, numerical_jvp  # noqa: F401

__all__ = ["check_grads", "check_jvp", "check_vjp", "numerical_jvp"]
