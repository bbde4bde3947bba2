"""Seeds: validation, key derivation and cheap per-record random generators.

Every random decision in ember.data is a pure function of (seed, position), so results
never depend on how many workers or threads computed them.

    >>> rngs = RecordRngs(derive_key(42, "random_map"))
    >>> a = rngs.generator(7).integers(1 << 30)
    >>> b = rngs.generator(7).integers(1 << 30)
    >>> bool(a == b)
    True
"""

from __future__ import annotations

import numbers
import threading

import numpy as np

M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def validate_seed(seed: object, name: str = "seed") -> int:
    """Returns ``seed`` as an int, or raises a clear error if it is not a valid seed."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {seed!r} ({type(seed).__name__}).")
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed}.")
    if seed > M64:
        raise ValueError(f"{name} must be smaller than 2**64, got {seed}.")
    return seed


def fmix64(z: int) -> int:
    """The MurmurHash3 64-bit finaliser: a bijective, well-mixing hash of a 64-bit int."""
    z &= M64
    z ^= z >> 33
    z = (z * 0xFF51AFD7ED558CCD) & M64
    z ^= z >> 33
    z = (z * 0xC4CEB9FE1A85EC53) & M64
    z ^= z >> 33
    return z


def _salt(value: object) -> int:
    if isinstance(value, str):
        h = 0xCBF29CE484222325  # FNV-1a over UTF-8, stable across processes (unlike hash()).
        for byte in value.encode():
            h = ((h ^ byte) * 0x100000001B3) & M64
        return h
    return int(value) & M64  # type: ignore[call-overload]


def derive_key(*parts: object) -> int:
    """Hashes integers and strings into a 64-bit key (stable across runs and machines)."""
    h = 0x243F6A8885A308D3
    for part in parts:
        h = fmix64(h ^ ((_salt(part) + _GOLDEN) & M64))
        h = (h * 0x5851F42D4C957F2D + 0x14057B7EF767814F) & M64
    return fmix64(h)


class RecordRngs:
    """Hands out ``np.random.Generator`` objects keyed by (key, index).

    ``generator(i)`` is equivalent to
    ``np.random.Generator(np.random.Philox(key=[key, i]))`` but reuses one bit generator per
    thread, so it costs a state assignment rather than an object construction. The returned
    generator must not be kept beyond the call it was made for.
    """

    def __init__(self, key: int):
        self.key = int(key) & M64
        self._local = threading.local()

    def generator(self, index: int) -> np.random.Generator:
        local = self._local
        gen = getattr(local, "gen", None)
        if gen is None:
            bitgen = np.random.Philox(key=np.array([self.key, 0], dtype=np.uint64))
            gen = np.random.Generator(bitgen)
            local.gen = gen
            local.bitgen = bitgen
            local.state = bitgen.state
        state = local.state
        state["state"]["counter"] = np.zeros(4, dtype=np.uint64)
        state["state"]["key"] = np.array([self.key, int(index) & M64], dtype=np.uint64)
        state["buffer_pos"] = 4
        state["has_uint32"] = 0
        state["uinteger"] = 0
        local.bitgen.state = state
        return gen

    def __getstate__(self):  # threading.local cannot be copied; rebuild lazily.
        return {"key": self.key}

    def __setstate__(self, state):
        self.__init__(state["key"])
