"""Deterministic weighted mixing and concatenation of datasets.

Weights become integer proportions ``p_i`` (period ``P = sum(p_i)``). One period is a fixed
pattern in which dataset ``i`` appears exactly ``p_i`` times, spread evenly (smooth
weighted round robin). Position ``k`` of the mix is block ``k // P``, offset ``k % P`` in the
pattern: O(1) per element and random access, so a mix resumes exactly anywhere.

    >>> selection = MixSelection([2.0, 1.0])
    >>> [selection.select(k) for k in range(6)]
    [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1), (0, 3)]
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from ember.data._src.map_dataset import INFINITE, MapDataset, _as_index_array


def integer_proportions(weights: Sequence[float]) -> list[int]:
    """Small integers proportional (within 1e-3 relative) to ``weights``."""
    ws = [float(w) for w in weights]
    if not ws:
        raise ValueError("Need at least one dataset to mix.")
    for w in ws:
        if not math.isfinite(w) or w <= 0:
            raise ValueError(f"Mixing weights must be positive and finite, got {list(weights)}.")
    total = sum(ws)
    fracs = [Fraction(w / total).limit_denominator(1000) for w in ws]
    if any(f == 0 for f in fracs):
        props = [max(1, round(1000 * w / total)) for w in ws]
    else:
        denom = math.lcm(*(f.denominator for f in fracs))
        props = [int(f * denom) for f in fracs]
        if sum(props) > 100_000:
            props = [max(1, round(1000 * w / total)) for w in ws]
    g = math.gcd(*props)
    return [p // g for p in props]


class MixSelection:
    """Maps a mix position to (dataset, index within that dataset)."""

    def __init__(self, weights: Sequence[float]):
        self.props = integer_proportions(weights)
        self.period = sum(self.props)
        credit = [0] * len(self.props)
        pattern, rank = [], []
        seen = [0] * len(self.props)
        for _ in range(self.period):
            for i, p in enumerate(self.props):
                credit[i] += p
            d = max(range(len(credit)), key=lambda i: (credit[i], -i))
            credit[d] -= self.period
            pattern.append(d)
            rank.append(seen[d])
            seen[d] += 1
        self.pattern = np.array(pattern, dtype=np.int64)
        self.rank = np.array(rank, dtype=np.int64)
        self.offsets = [np.flatnonzero(self.pattern == d) for d in range(len(self.props))]
        self._props_np = np.array(self.props, dtype=np.int64)

    def select(self, k: int) -> tuple[int, int]:
        block, o = divmod(k, self.period)
        d = int(self.pattern[o])
        return d, block * self.props[d] + int(self.rank[o])

    def select_array(self, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        block, o = np.divmod(ks, self.period)
        d = self.pattern[o]
        return d, block * self._props_np[d] + self.rank[o]

    def position_of(self, d: int, j: int) -> int:
        """Mix position at which dataset ``d`` would deliver its element ``j``."""
        block, r = divmod(j, self.props[d])
        return block * self.period + int(self.offsets[d][r])


class MixedMapDataset(MapDataset):
    def __init__(self, datasets: Sequence[MapDataset], weights: Sequence[float] | None = None):
        datasets = list(datasets)
        if not datasets:
            raise ValueError("MapDataset.mix needs at least one dataset.")
        for d in datasets:
            if not isinstance(d, MapDataset):
                raise TypeError(f"MapDataset.mix expects MapDatasets, got {type(d).__name__}.")
        super().__init__(datasets)
        if weights is None:
            weights = [1.0] * len(datasets)
        if len(weights) != len(datasets):
            raise ValueError(f"Got {len(weights)} weights for {len(datasets)} datasets.")
        self._weights = [float(w) for w in weights]
        self._sel = MixSelection(self._weights)
        lengths = [len(d) for d in datasets]
        empty = [i for i, n in enumerate(lengths) if n == 0]
        if empty:
            raise ValueError(f"Cannot mix empty datasets (inputs {empty} have length 0).")
        self._len = min(
            INFINITE if n >= INFINITE else self._sel.position_of(i, n) for i, n in enumerate(lengths)
        )

    def __len__(self) -> int:
        return self._len

    def _getitems(self, indices: np.ndarray):
        ks = _as_index_array(indices)
        if self._len < INFINITE:
            ks = ks % self._len  # past the end: wrap into the next epoch of the mix
        which, inner = self._sel.select_array(ks)
        out: list[Any] = [None] * len(ks)
        for d in np.unique(which).tolist():
            pos = np.flatnonzero(which == d)
            items = self._parents[d]._getitems(inner[pos])
            for p, item in zip(pos.tolist(), items):
                out[p] = item
        return out

    def __str__(self) -> str:
        return f"MixedMapDataset(weights={self._weights})"


class ConcatenateMapDataset(MapDataset):
    def __init__(self, datasets: Sequence[MapDataset]):
        datasets = list(datasets)
        if not datasets:
            raise ValueError("MapDataset.concatenate needs at least one dataset.")
        for d in datasets:
            if not isinstance(d, MapDataset):
                raise TypeError(f"MapDataset.concatenate expects MapDatasets, got {type(d).__name__}.")
            if len(d) >= INFINITE:
                raise ValueError(f"Cannot concatenate the infinite dataset {d}.")
        super().__init__(datasets)
        self._sizes = np.array([len(d) for d in datasets], dtype=np.int64)
        self._cum = np.concatenate([[0], np.cumsum(self._sizes)])
        self._len = int(self._cum[-1])

    def __len__(self) -> int:
        return self._len

    def _getitems(self, indices: np.ndarray):
        if self._len == 0 and len(indices):
            raise IndexError(f"{self} is empty.")
        epoch, j = np.divmod(_as_index_array(indices), self._len)
        which = np.searchsorted(self._cum, j, side="right") - 1
        inner = j - self._cum[which] + epoch * self._sizes[which]
        out: list[Any] = [None] * len(j)
        for d in np.unique(which).tolist():
            pos = np.flatnonzero(which == d)
            for p, item in zip(pos.tolist(), self._parents[d]._getitems(inner[pos])):
                out[p] = item
        return out

    def __str__(self) -> str:
        return f"ConcatenateMapDataset({len(self._parents)} datasets)"
