"""jaxlib's sharding objects: XLA ``HloSharding`` descriptions and the C++ sharding classes
that device buffers and result handlers carry."""

from __future__ import annotations

from typing import Any, Sequence

from jaxlib import _jax
from jaxlib import xla_client as xc

__all__ = ["tiled_hlo_sharding", "replicated_hlo_sharding", "manual_hlo_sharding", "hlo_sharding_from_string",
           "cpp_sharding", "output_hlo_shardings", "HloSharding"]

HloSharding = xc.HloSharding


def tiled_hlo_sharding(tile_dims: Sequence[int], tile_devices: Sequence[int], replicate_last: bool) -> Any:
    """An XLA sharding tiling an array by ``tile_dims`` (with a trailing replication dim when
    ``replicate_last``); ``tile_devices`` are partition numbers in tile order."""
    if all(d == 1 for d in tile_dims[:-1] if replicate_last) and replicate_last and len(tile_dims) and \
            tile_dims[-1] == len(tile_devices):
        return xc.HloSharding.replicate()
    proto = xc.OpSharding()
    proto.type = xc.OpSharding.Type.OTHER
    proto.tile_assignment_dimensions = list(tile_dims)
    proto.tile_assignment_devices = list(tile_devices)
    proto.replicate_on_last_tile_dim = bool(replicate_last)
    return xc.HloSharding.from_proto(proto)


def replicated_hlo_sharding() -> Any:
    return xc.HloSharding.replicate()


def manual_hlo_sharding() -> Any:
    return xc.HloSharding.manual()


def hlo_sharding_from_string(text: str) -> Any:
    return xc.HloSharding.from_string(text)


def cpp_sharding(devices: Sequence[Any], hlo_sharding: Any) -> Any:
    """The C++ sharding object for arrays laid out by ``hlo_sharding`` over ``devices``."""
    return _jax.GSPMDSharding(list(devices), hlo_sharding)


def output_hlo_shardings(loaded_executable: Any, num_outputs: int) -> list[Any]:
    """The shardings XLA chose for an SPMD executable's outputs (replicated when it reports none,
    as for a one-device program)."""
    chosen = loaded_executable.get_output_shardings()
    if chosen is None:
        return [xc.HloSharding.replicate()] * num_outputs
    return [xc.HloSharding.from_proto(s) if not isinstance(s, xc.HloSharding) else s for s in chosen]


def input_hlo_shardings(loaded_executable: Any) -> list[Any]:
    return [xc.HloSharding.from_proto(s) if not isinstance(s, xc.HloSharding) else s
            for s in loaded_executable.get_parameter_shardings()]
