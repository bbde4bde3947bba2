"""Global shuffle as a keyed bijection over ``[0, n)``: O(1) memory, any position on demand.

The permutation is a generalised Feistel network over the next power of two above ``n``
(four rounds; each round XORs one half of the bits with the top bits of a keyed
multiply-xorshift-multiply hash of the other half), restricted to ``[0, n)`` by cycle walking. It is *not* Grain's permutation: the same
seed gives a different order than Grain, with the same guarantees (deterministic, a true
permutation, a new permutation per epoch, random access to any position).

    >>> p = FeistelPermutation(10, key=1234)
    >>> sorted(p(i) for i in range(10)) == list(range(10))
    True
    >>> p(3) == int(p.apply_array(np.arange(10))[3])
    True
"""

from __future__ import annotations

import numpy as np

from ember.data._src import seeding

_ROUNDS = 4
_M64 = seeding.M64
_C1 = 0xFF51AFD7ED558CCD
_C2 = 0xC4CEB9FE1A85EC53


class FeistelPermutation:
    """A keyed permutation of ``range(n)``; ``perm(i)`` and ``perm.apply_array(indices)``."""

    __slots__ = ("n", "_keys", "_lo_bits", "_hi_bits", "_lo_mask", "_np_keys")

    def __init__(self, n: int, key: int):
        if n < 0:
            raise ValueError(f"Cannot permute a negative number of elements ({n}).")
        self.n = int(n)
        bits = max(1, (self.n - 1).bit_length())
        self._lo_bits = bits // 2
        self._hi_bits = bits - self._lo_bits
        self._lo_mask = (1 << self._lo_bits) - 1
        self._keys = tuple(seeding.derive_key(key, "feistel", r) for r in range(_ROUNDS))
        self._np_keys = tuple(np.uint64(k) for k in self._keys)

    # -- scalar path (pure Python ints) ------------------------------------------------
    @staticmethod
    def _f(v: int, k: int, out_bits: int) -> int:
        """Keyed hash of ``v``, returning its top ``out_bits`` bits."""
        z = ((v ^ k) * _C1) & _M64
        z ^= z >> 32
        z = (z * _C2) & _M64
        return z >> (64 - out_bits) if out_bits else 0

    def _round_trip(self, x: int) -> int:
        lo_bits, hi_bits = self._lo_bits, self._hi_bits
        hi, lo = x >> lo_bits, x & self._lo_mask
        for r, k in enumerate(self._keys):
            if r % 2 == 0:
                hi ^= self._f(lo, k, hi_bits)
            else:
                lo ^= self._f(hi, k, lo_bits)
        return (hi << lo_bits) | lo

    def __call__(self, index: int) -> int:
        if not 0 <= index < self.n:
            raise IndexError(f"Index {index} out of range for a permutation of {self.n}.")
        x = self._round_trip(index)
        while x >= self.n:  # cycle walking: terminates because x's cycle contains index
            x = self._round_trip(x)
        return x

    # -- vectorised path (numpy uint64, identical results) -----------------------------
    def _round_trip_array(self, x: np.ndarray) -> np.ndarray:
        lo_bits, hi_bits = self._lo_bits, self._hi_bits
        s32, c1, c2 = np.uint64(32), np.uint64(_C1), np.uint64(_C2)
        hi, lo = x >> np.uint64(lo_bits), x & np.uint64(self._lo_mask)
        for r, k in enumerate(self._np_keys):
            out_bits = hi_bits if r % 2 == 0 else lo_bits
            if out_bits == 0:
                continue
            z = (lo if r % 2 == 0 else hi) ^ k
            z *= c1
            z ^= z >> s32
            z *= c2
            z >>= np.uint64(64 - out_bits)
            if r % 2 == 0:
                hi ^= z
            else:
                lo ^= z
        return (hi << np.uint64(lo_bits)) | lo

    def apply_array(self, indices: np.ndarray) -> np.ndarray:
        """Permutes an array of indices in ``[0, n)``; returns int64."""
        x = np.asarray(indices, dtype=np.uint64)
        with np.errstate(over="ignore"):
            y = self._round_trip_array(x)
            bad = np.flatnonzero(y >= self.n)
            while bad.size > 16:
                y[bad] = self._round_trip_array(y[bad])
                bad = bad[y[bad] >= self.n]
            for i in bad.tolist():  # few stragglers: the scalar path is cheaper
                v = int(y[i])
                while v >= self.n:
                    v = self._round_trip(v)
                y[i] = v
        return y.astype(np.int64)


class EpochPermutations:
    """One :class:`FeistelPermutation` per epoch, keyed by (seed, epoch), built lazily."""

    def __init__(self, n: int, seed: int):
        self.n = n
        self.seed = seed
        self._cache: dict[int, FeistelPermutation] = {}

    def get(self, epoch: int) -> FeistelPermutation:
        perm = self._cache.get(epoch)
        if perm is None:
            if len(self._cache) > 16:
                self._cache.clear()
            perm = self._cache[epoch] = FeistelPermutation(
                self.n, seeding.derive_key(self.seed, "shuffle-epoch", epoch)
            )
        return perm

    def __call__(self, index: int) -> int:
        epoch, i = divmod(index, self.n)
        return self.get(epoch)(i) + epoch * self.n

    def apply_array(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        epochs, within = np.divmod(indices, self.n)
        if epochs.size and epochs.min() == epochs.max():
            e = int(epochs[0]) if epochs.size else 0
            return self.get(e).apply_array(within) + e * self.n
        out = np.empty_like(indices)
        for e in np.unique(epochs):
            sel = epochs == e
            out[sel] = self.get(int(e)).apply_array(within[sel]) + int(e) * self.n
        return out
