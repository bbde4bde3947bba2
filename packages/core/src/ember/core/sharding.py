"""``ember.core.sharding``: meshes, partition specs and shardings (``jax.sharding``)."""

from ember.core._src.sharding import (  # noqa: F401
    GSPMDSharding,
    Mesh,
    NamedSharding,
    P,
    PartitionSpec,
    Sharding,
    SingleDeviceSharding,
)

__all__ = ["GSPMDSharding", "Mesh", "NamedSharding", "P", "PartitionSpec", "Sharding", "SingleDeviceSharding"]
