"""``ember.optim.tree_utils``: arithmetic on pytrees and lookups in optimizer states (as
``optax.tree_utils``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> float(eo.tree_utils.tree_l2_norm({"a": jnp.asarray([3.0, 4.0])}))
    5.0
"""

from ember.optim._src.tree_utils import (
    NamedTupleKey,
    tree_add,
    tree_add_scalar_mul,
    tree_add_scale,
    tree_allclose,
    tree_batch_shape,
    tree_bias_correction,
    tree_cast,
    tree_cast_like,
    tree_clip,
    tree_conj,
    tree_div,
    tree_dtype,
    tree_full_like,
    tree_get,
    tree_get_all_with_path,
    tree_l1_norm,
    tree_l2_norm,
    tree_linf_norm,
    tree_map_params,
    tree_max,
    tree_min,
    tree_mul,
    tree_norm,
    tree_ones_like,
    tree_random_like,
    tree_real,
    tree_scalar_mul,
    tree_scale,
    tree_set,
    tree_size,
    tree_split_key_like,
    tree_sub,
    tree_sum,
    tree_update_infinity_moment,
    tree_update_moment,
    tree_update_moment_per_elem_norm,
    tree_vdot,
    tree_where,
    tree_zeros_like,
)

__all__ = [
    "NamedTupleKey", "tree_add", "tree_add_scalar_mul", "tree_add_scale", "tree_allclose", "tree_batch_shape",
    "tree_bias_correction", "tree_cast", "tree_cast_like", "tree_clip", "tree_conj", "tree_div", "tree_dtype",
    "tree_full_like", "tree_get", "tree_get_all_with_path", "tree_l1_norm", "tree_l2_norm", "tree_linf_norm",
    "tree_map_params", "tree_max", "tree_min", "tree_mul", "tree_norm", "tree_ones_like", "tree_random_like",
    "tree_real", "tree_scalar_mul", "tree_scale", "tree_set", "tree_size", "tree_split_key_like", "tree_sub",
    "tree_sum", "tree_update_infinity_moment", "tree_update_moment", "tree_update_moment_per_elem_norm",
    "tree_vdot", "tree_where", "tree_zeros_like",
]
