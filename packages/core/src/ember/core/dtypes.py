"""``ember.core.dtypes``: dtype utilities (``jax.dtypes``)."""

from ember.core._src.dtypes import (  # noqa: F401
    TypePromotionError,
    bfloat16,
    canonicalize_dtype,
    finfo,
    float8_e4m3b11fnuz,
    float8_e4m3fn,
    float8_e4m3fnuz,
    float8_e5m2,
    float8_e5m2fnuz,
    iinfo,
    is_weakly_typed,
    issubdtype,
    promote_types,
    result_type,
)
from ember.core._src.transforms.ad import float0  # noqa: F401

__all__ = ["TypePromotionError", "bfloat16", "canonicalize_dtype", "finfo", "float0", "float8_e4m3b11fnuz",
           "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "iinfo", "is_weakly_typed",
           "issubdtype", "promote_types", "result_type"]
