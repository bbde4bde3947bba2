"""Passing chunk results between processes through shared memory, without pickle.

A worker writes a chunk (its elements and their end indices) into a shared-memory file (a
"slot"): NumPy arrays, NumPy scalars and bytes as raw buffers, the structure as JSON after
them. The consumer maps the slot and rebuilds the elements as zero-copy array views; once
the last array viewing a chunk is garbage, the slot goes back to the worker for reuse.
Slot files live under the pool's name prefix and are removed when the pool closes. Records may contain NumPy arrays and
scalars, bytes, str, int, float, bool, None, and dicts/lists/tuples of those.

    >>> import numpy as np
    >>> writer, reader = SlotWriter(f"ember-data-doctest-{os.getpid()}-"), SlotReader()
    >>> msg = writer.write([{"x": np.arange(3)}], [1])
    >>> elements, ends, _ = reader.read(msg)
    >>> elements[0]["x"].tolist(), ends
    ([0, 1, 2], [1])
    >>> del elements; reader.freed()
    [0]
    >>> writer.cleanup()
"""

from __future__ import annotations

import collections
import glob
import json
import mmap
import os
import tempfile
import weakref
from typing import Any

import numpy as np

SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


class _Writer:
    def __init__(self) -> None:
        self.size = 0
        self.buffers: list[tuple[int, Any]] = []

    def _place(self, buf: Any, nbytes: int, align: int) -> int:
        off = (self.size + align - 1) // align * align
        self.buffers.append((off, buf))
        self.size = off + nbytes
        return off

    def encode(self, x: Any) -> Any:
        if isinstance(x, np.ndarray):
            if x.dtype.hasobject:
                raise TypeError("object arrays cannot be sent between processes")
            a = np.ascontiguousarray(x)
            if a.nbytes == 0:
                return ["A", a.dtype.str, list(a.shape), -1]
            off = self._place(a, a.nbytes, 64 if a.nbytes >= 4096 else 8)
            return ["A", a.dtype.str, list(a.shape), off]
        if isinstance(x, np.generic):
            a = np.asarray(x)
            if a.dtype.hasobject:
                raise TypeError("object scalars cannot be sent between processes")
            return ["S", a.dtype.str, self._place(a, a.nbytes, 8)]
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, (bytes, bytearray)):
            return ["B", self._place(bytes(x), len(x), 1), len(x)]
        if type(x) is dict:
            return ["D", [[self.encode(k), self.encode(v)] for k, v in x.items()]]
        if type(x) is list:
            return ["L", [self.encode(v) for v in x]]
        if type(x) is tuple:
            return ["T", [self.encode(v) for v in x]]
        raise TypeError(
            f"Cannot send a {type(x).__module__}.{type(x).__qualname__} between processes: "
            "records must be made of NumPy arrays/scalars, bytes, str, int, float, bool, None "
            "and dicts/lists/tuples of those (ember.data never pickles records)."
        )


def _decode(x: Any, root: np.ndarray) -> Any:
    if type(x) is not list:
        return x
    tag = x[0]
    if tag == "A":
        dtype, shape, off = np.dtype(x[1]), tuple(x[2]), x[3]
        if off < 0:
            return np.empty(shape, dtype)
        nbytes = dtype.itemsize
        for s in shape:
            nbytes *= s
        return root[off:off + nbytes].view(dtype).reshape(shape)
    if tag == "S":
        dtype = np.dtype(x[1])
        return root[x[2]:x[2] + dtype.itemsize].view(dtype)[0]
    if tag == "B":
        return root[x[1]:x[1] + x[2]].tobytes()
    if tag == "D":
        return {_decode(k, root): _decode(v, root) for k, v in x[1]}
    if tag == "L":
        return [_decode(v, root) for v in x[1]]
    if tag == "T":
        return tuple(_decode(v, root) for v in x[1])
    raise ValueError(f"Corrupt shared-memory record tag {tag!r}.")


class SlotWriter:
    """Worker side: shared-memory files ("slots") reused once the consumer frees them, so a
    steady stream of batches costs one memcpy into already-mapped pages per batch."""

    def __init__(self, prefix: str):
        self._prefix = prefix
        self._slots: dict[int, tuple[int, mmap.mmap]] = {}  # slot id -> (capacity, mapping)
        self._free: list[int] = []
        self._next = 0

    def release(self, slot_ids: list[int]) -> None:
        self._free.extend(slot_ids)

    def name(self, slot: int) -> str:
        return f"{self._prefix}s{slot}"

    def _acquire(self, size: int) -> int:
        fitting = [s for s in self._free if self._slots[s][0] >= size]
        if fitting:
            slot = min(fitting, key=lambda s: self._slots[s][0])
            self._free.remove(slot)
            return slot
        path_flags = os.O_RDWR
        if self._free:
            slot = self._free.pop()
            self._slots.pop(slot)[1].close()
        else:
            slot = self._next
            self._next += 1
            path_flags |= os.O_CREAT | os.O_EXCL
        capacity = max(4096, size + size // 4)
        fd = os.open(os.path.join(SHM_DIR, self.name(slot)), path_flags, 0o600)
        try:
            os.ftruncate(fd, capacity)
            self._slots[slot] = (capacity, mmap.mmap(fd, capacity))
        finally:
            os.close(fd)
        return slot

    def write(self, elements: list, ends: list, extra: Any = None) -> dict[str, Any]:
        """Writes a chunk; returns the (JSON) message that tells the reader where it is."""
        w = _Writer()
        meta = json.dumps({"e": [w.encode(x) for x in elements], "n": ends, "x": extra}).encode()
        meta_off = w._place(meta, len(meta), 8)
        size = max(1, w.size)
        slot = self._acquire(size)
        capacity, mm = self._slots[slot]
        dst = np.frombuffer(mm, np.uint8, size, 0)
        for off, buf in w.buffers:
            src = np.frombuffer(buf, np.uint8) if isinstance(buf, bytes) else buf.reshape(-1).view(np.uint8)
            dst[off:off + len(src)] = src
        del dst
        return {"slot": slot, "name": self.name(slot), "capacity": capacity,
                "used": size, "meta_off": meta_off, "meta_len": len(meta)}

    def cleanup(self) -> None:
        for slot, (_, mm) in self._slots.items():
            try:
                mm.close()
            except BufferError:
                pass
            unlink_quietly(self.name(slot))
        self._slots.clear()
        self._free.clear()


class SlotReader:
    """Consumer side: maps each slot once and hands out zero-copy views; once every array
    viewing a chunk is gone, ``freed()`` returns its slot.

    Noticing that a chunk is garbage runs no Python code: the weakref callback is a C method
    (``deque.append``). Python code run from a deallocation is where a Ctrl-C would be raised
    and then swallowed ("Exception ignored in ..."), leaving the program running."""

    def __init__(self) -> None:
        self._maps: dict[int, tuple[mmap.mmap, int]] = {}
        self._live: dict[int, weakref.KeyedRef] = {}  # slot -> its chunk's root buffer
        self._dead: collections.deque = collections.deque()

    def read(self, msg: dict[str, Any]) -> tuple[list, list, Any]:
        slot, capacity = msg["slot"], msg["capacity"]
        entry = self._maps.get(slot)
        if entry is None or entry[1] != capacity:
            fd = os.open(os.path.join(SHM_DIR, msg["name"]), os.O_RDWR)
            try:
                entry = self._maps[slot] = (mmap.mmap(fd, capacity), capacity)
            finally:
                os.close(fd)
        root = np.frombuffer(entry[0], np.uint8, msg["used"], 0)
        off = msg["meta_off"]
        meta = json.loads(root[off:off + msg["meta_len"]].tobytes())
        elements = [_decode(x, root) for x in meta["e"]]
        self._live[slot] = weakref.KeyedRef(root, self._dead.append, slot)
        return elements, meta["n"], meta["x"]

    def freed(self) -> list[int]:
        """The slots whose chunks have become garbage since the last call."""
        slots = []
        while self._dead:
            slot = self._dead.popleft().key
            self._live.pop(slot, None)
            slots.append(slot)
        return slots

    def close(self) -> None:
        self._maps.clear()  # live arrays keep their mappings; the files are unlinked by the pool
        self._live.clear()
        self._dead.clear()


def unlink_quietly(name: str) -> None:
    try:
        os.unlink(os.path.join(SHM_DIR, name))
    except FileNotFoundError:
        pass


def unlink_prefix(prefix: str) -> int:
    """Removes every shared-memory file whose name starts with ``prefix``."""
    n = 0
    for path in glob.glob(os.path.join(SHM_DIR, glob.escape(prefix) + "*")):
        try:
            os.unlink(path)
            n += 1
        except FileNotFoundError:
            pass
    return n


def list_prefix(prefix: str) -> list[str]:
    return [os.path.basename(p) for p in glob.glob(os.path.join(SHM_DIR, glob.escape(prefix) + "*"))]
