"""ember.core: arrays, a NumPy API and composable transformations, compiled by XLA.

    >>> import ember.core as ec
    >>> import ember.core.numpy as jnp
    >>> f = ec.jit(lambda x: jnp.sin(x) ** 2 + jnp.cos(x) ** 2)
    >>> f(jnp.arange(3.0)).round(5).tolist()
    [1.0, 1.0, 1.0]
"""

__version__ = "0.1.0"

from ember.core import debug, distributed, dtypes, lax, nn, numpy, random, scipy, sharding, tree, tree_util  # noqa: E402
from ember.core._src.api import (
    default_backend,
    device_count,
    devices,
    local_device_count,
    local_devices,
    process_count,
    process_index,
)
from ember.core._src.array import Array
from ember.core._src.config import config
from ember.core._src.core import ConcretizationError, UnexpectedTracerError
from ember.core._src.custom_derivatives import custom_jvp, custom_vjp
from ember.core._src.debugging import disable_jit
from ember.core._src.dispatch import block_until_ready, device_get, device_put
from ember.core._src.distributed import (
    make_array_from_callback,
    make_array_from_process_local_data,
    make_array_from_single_device_arrays,
)
from ember.core._src.jit import ShapeDtypeStruct, eval_shape, jit, make_jaxpr
from ember.core._src.remat import checkpoint, checkpoint_policies, remat
from ember.core._src.runtime import Device
from ember.core._src.shard_map import pmap, shard_map
from ember.core._src.sharding import make_mesh
from ember.core._src.transforms.ad import float0, grad, jvp, linearize, value_and_grad, vjp
from ember.core._src.transforms.batching import vmap
from ember.core._src.transforms.jacobians import hessian, jacfwd, jacobian, jacrev

__all__ = [
    "Array", "ConcretizationError", "checkpoint", "checkpoint_policies", "custom_jvp", "custom_vjp", "remat", "Device", "ShapeDtypeStruct", "UnexpectedTracerError",
    "block_until_ready", "config", "default_backend", "device_count", "device_get", "device_put",
    "debug", "devices", "dtypes", "disable_jit", "eval_shape", "float0", "grad", "hessian", "jacfwd", "jacobian", "jacrev", "jit", "jvp",
    "linearize", "make_array_from_callback", "make_array_from_process_local_data",
    "make_array_from_single_device_arrays", "make_mesh", "distributed", "pmap", "shard_map", "sharding", "value_and_grad", "vjp", "vmap", "lax", "local_device_count", "local_devices", "make_jaxpr",
    "nn", "numpy", "process_count", "random", "scipy", "process_index", "tree", "tree_util",
]
