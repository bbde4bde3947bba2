"""``Array``: an immutable n-d array held in device memory (a jaxlib buffer).

Arithmetic, indexing and the other array methods are attached by the numpy layer
(``numpy/array_methods.py``), the same ones a Tracer gets, so code behaves alike inside and
outside transformations. Dispatch is asynchronous: an operation returns as soon as it is
enqueued; reading values (``np.asarray``, ``item``, ``print``) waits for them.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from . import runtime
from .core import ShapedArray, Tracer, dtype_short_name, plain_operand_types
from .runtime import transfer

__all__ = ["Array", "from_buffer"]


class DeletedBufferError(RuntimeError):
    """An Array whose buffer was donated to a computation or deleted was used."""


_NOT_GIVEN: Any = object()


class _ArrayType(type):
    """``isinstance(x, Array)`` also holds for the tracers that stand for arrays inside
    transformations, as ``isinstance(x, jax.Array)`` does in JAX, so user code that checks for
    arrays behaves alike inside and outside ``jit``/``grad``/``vmap``. ember's own code tests
    ``type(x) is Array`` where it needs a value on a device."""

    def __instancecheck__(cls, obj: Any) -> bool:  # not called for an exact Array (Python's fast path)
        return type.__instancecheck__(cls, obj) or isinstance(obj, Tracer)


class Array(metaclass=_ArrayType):
    """An n-d array on a device. Create one with ``ec.numpy.asarray`` or ``ec.device_put``.

    Inside a transformation the values are tracers, and ``isinstance(x, Array)`` holds for them
    too (as for ``jax.Array``).

    >>> import ember.core as ec
    >>> x = ec.numpy.arange(3.0)
    >>> (x * 2).tolist()
    [0.0, 2.0, 4.0]
    """

    __slots__ = ("_buf", "aval", "_committed", "__weakref__")
    __array_priority__ = 100

    _buf: Any
    aval: ShapedArray
    _committed: bool

    def __init__(self, _buf: Any = _NOT_GIVEN, aval: Any = _NOT_GIVEN) -> None:
        # Only jit's C++ dispatcher calls this, as Array(_buf=...), once per output leaf:
        # it is on the dispatch fast path, so it stays minimal.
        try:
            self.aval = _buf.aval if aval is _NOT_GIVEN else aval  # jaxlib keeps the aval it was given
        except AttributeError:
            raise TypeError(
                "ember Arrays are not created directly; use ec.numpy.asarray(x) or ec.device_put(x)"
            ) from None
        self._buf = _buf
        self._committed = False

    # -- basic properties --
    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return len(self.aval.shape)

    @property
    def size(self) -> int:
        return self.aval.size

    @property
    def weak_type(self) -> bool:
        return self.aval.weak_type

    @property
    def nbytes(self) -> int:
        return self.aval.size * self.aval.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.aval.dtype.itemsize

    @property
    def committed(self) -> bool:
        """True when the array was explicitly placed (``device_put`` with a device)."""
        return self._committed

    # -- devices and shards --
    @property
    def sharding(self) -> Any:
        """Where the array lives: a SingleDeviceSharding, NamedSharding or GSPMDSharding."""
        from .sharding import sharding_of
        return sharding_of(self._checked_buf())

    def devices(self) -> set[Any]:
        return self.sharding.device_set

    @property
    def device(self) -> Any:
        """The device of a single-device array (the sharding, for an array on several devices)."""
        buf = self._checked_buf()
        if type(buf._sharding) is runtime.SingleDeviceSharding:
            return buf._sharding._device
        return self.sharding

    @property
    def is_fully_replicated(self) -> bool:
        return self.sharding.is_fully_replicated

    @property
    def is_fully_addressable(self) -> bool:
        return self.sharding.is_fully_addressable

    @property
    def addressable_shards(self) -> list["Shard"]:
        """This process's pieces: each with its ``device``, ``index`` (slices of the global
        array) and ``data`` (a single-device Array)."""
        buf = self._checked_buf()
        sharding = self.sharding
        if type(buf._sharding) is runtime.SingleDeviceSharding:
            return [Shard(buf._sharding._device, tuple(slice(None) for _ in self.shape), 0, self)]
        index_map = sharding.devices_indices_map(self.shape)
        # replica ids count over all devices holding a block (in the sharding's device order),
        # so they are the same in every process of a multi-process job
        replica_of: dict[Any, int] = {}
        seen: dict[Any, int] = {}
        for device in sharding._device_assignment:
            key = tuple((s.start, s.stop) for s in index_map[device])
            replica_of[device] = seen.get(key, 0)
            seen[key] = replica_of[device] + 1
        shards = []
        for piece in buf._arrays:
            device = transfer.device_of(piece)
            index = index_map[device]
            replica = replica_of[device]
            aval = ShapedArray(_shape_of(index, self.shape), self.dtype, self.weak_type)
            shards.append(Shard(device, index, replica, from_buffer(piece, aval)))
        return shards

    def addressable_data(self, index: int) -> "Array":
        return self.addressable_shards[index].data

    def block_until_ready(self) -> "Array":
        self._checked_buf().block_until_ready()
        return self

    def is_ready(self) -> bool:
        return self._checked_buf().is_ready()

    def is_deleted(self) -> bool:
        return self._buf.is_deleted()

    def delete(self) -> None:
        """Free the device memory now; any later use raises an error."""
        self._buf.delete()

    def _checked_buf(self) -> Any:
        buf = self._buf
        if buf.is_deleted():
            raise DeletedBufferError(
                f"Array {self.aval.str_short()} has been deleted or donated to a computation "
                "(jit(..., donate_argnums=...)); it can no longer be used"
            )
        return buf

    # -- host transfer --
    def _value(self) -> np.ndarray:
        buf = self._checked_buf()
        if type(buf._sharding) is runtime.SingleDeviceSharding or len(buf._sharding._devices) == 1:
            return transfer.fetch(buf)
        if not self.is_fully_addressable:
            raise RuntimeError(
                f"Array {self.aval.str_short()} spans devices of other processes; only its addressable shards "
                "can be read here (x.addressable_shards), or gather it first (e.g. jit with a replicated "
                "out_sharding)")
        out = np.empty(self.shape, dtype=self.dtype)
        for shard in self.addressable_shards:
            if shard.replica_id == 0:
                out[shard.index] = transfer.fetch(shard.data._buf)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        value = self._value()
        if dtype is not None and np.dtype(dtype) != value.dtype:
            return value.astype(dtype)
        if copy:
            return value.copy()
        return value

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                   copy: Any = None) -> Any:
        value = self._value()
        kwargs = {} if max_version is None else {"max_version": max_version}
        try:
            return value.__dlpack__(**kwargs)
        except BufferError:  # a read-only view of device memory: older DLPack cannot say so
            return np.array(value).__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # kDLCPU: the exported tensor lives in host memory

    def item(self, *args: Any) -> Any:
        return self._value().item(*args)

    def tolist(self) -> Any:
        return self._value().tolist()

    def copy_to_host_async(self) -> None:
        buf = self._checked_buf()
        if type(buf._sharding) is runtime.SingleDeviceSharding:
            buf._copy_single_device_array_to_host_async()

    # -- Python protocol --
    def __bool__(self) -> bool:
        if self.aval.size != 1:
            raise ValueError(
                f"The truth value of an array with more than one element ({self.aval.str_short()}) "
                "is ambiguous. Use a.any() or a.all()"
            )
        return bool(self._value())

    def __int__(self) -> int:
        return int(self._value())

    def __float__(self) -> float:
        return float(self._value())

    def __complex__(self) -> complex:
        return complex(self._value())

    def __index__(self) -> int:
        if self.aval.shape or self.aval.dtype.kind not in "iu":
            raise TypeError(f"only integer scalar arrays can be used as an index, got {self.aval.str_short()}")
        return int(self._value())

    def __len__(self) -> int:
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a 0-d array)")
        return self.aval.shape[0]

    def __iter__(self) -> Iterator[Any]:
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.aval.shape[0]))  # type: ignore[index]

    def __hash__(self) -> int:
        raise TypeError("unhashable type: 'Array' (use a tuple or a Python scalar as a key)")

    def __repr__(self) -> str:
        if self._buf.is_deleted():
            return f"Array(<deleted>, shape={self.shape}, dtype={self.dtype.name})"
        if not self.is_fully_addressable:
            return f"Array(<not fully addressable>, shape={self.shape}, dtype={self.dtype.name})"
        value = self._value()
        body = np.array2string(value, separator=", ", prefix="Array(")
        extra = ", weak_type=True" if self.aval.weak_type else ""
        if value.dtype in (np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.bool_)) and value.size:
            return f"Array({body}, dtype={value.dtype.name}{extra})"
        return f"Array({body}, dtype={self.dtype.name}{extra})"

    def __str__(self) -> str:
        return str(self._value())

    def __format__(self, spec: str) -> str:
        if self.aval.shape:
            return format(str(self), spec)
        return format(self._value().item(), spec)

    def __reduce__(self) -> Any:
        return (_reconstruct, (self._value().copy(), self.aval.weak_type))

    def __copy__(self) -> "Array":
        return self

    def __deepcopy__(self, memo: Any) -> "Array":
        return self

    def short_str(self) -> str:
        return f"{dtype_short_name(self.dtype)}{list(self.shape)}"


class Shard:
    """One device's piece of an Array."""

    __slots__ = ("device", "index", "replica_id", "data")

    def __init__(self, device: Any, index: tuple[slice, ...], replica_id: int, data: Array) -> None:
        self.device = device
        self.index = index
        self.replica_id = replica_id
        self.data = data

    def __repr__(self) -> str:
        return f"Shard(device={self.device!r}, index={self.index}, replica_id={self.replica_id})"


def _shape_of(index: tuple[slice, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(len(range(*s.indices(n))) for s, n in zip(index, shape))


plain_operand_types.add(Array)


def from_buffer(buf: Any, aval: ShapedArray, committed: bool = False) -> Array:
    """Wrap a jaxlib buffer (the hot path: no checks)."""
    out = object.__new__(Array)
    out._buf = buf
    out.aval = aval
    out._committed = committed
    return out


def _reconstruct(value: np.ndarray, weak_type: bool) -> Array:
    from .dispatch import to_array
    return to_array(value, weak_type=weak_type)


runtime_ArrayImpl = runtime.ArrayImpl
