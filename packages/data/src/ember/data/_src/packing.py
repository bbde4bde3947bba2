"""First-fit packing of variable-length sequences into fixed-length rows (for language models).

Elements are dicts of arrays whose first axis is the sequence axis. Each output row holds,
for every packed feature ``k``: ``k`` (padded to its target length), ``k_segment_ids``
(1, 2, ... per packed sequence, 0 for padding) and ``k_positions`` (0.. within each
sequence). Features listed in ``meta_features`` are packed without the two extra fields.

Packing works in rounds: up to ``num_packing_bins`` open rows are filled first-fit; when a
sequence fits none of them, all rows of the round are emitted and a new round starts with
that sequence. Sequences longer than the target length are truncated.

Resume is exact: the state is the parent's state at the start of the round being emitted
and how many of its rows were already handed out; restoring replays that round.

    >>> from ember.data import MapDataset
    >>> seqs = [np.arange(n) + 1 for n in (3, 2, 4, 1)]
    >>> ds = MapDataset.source(seqs).map(lambda s: {"tokens": s}).to_iter_dataset()
    >>> rows = list(ds.pack({"tokens": 5}, num_packing_bins=2))
    >>> rows[0]["tokens"].tolist(), rows[0]["tokens_segment_ids"].tolist()
    ([1, 2, 3, 1, 2], [1, 1, 1, 2, 2])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ember.data._src import seeding
from ember.data._src.iter_dataset import BuildContext, IterDataset
from ember.data._src.iterator import DatasetIterator, check_state


class FirstFitPackIterDataset(IterDataset):
    """Packs variable-length sequences into rows of fixed length (see module docstring).

    >>> import numpy as np
    >>> import ember.data as ed
    >>> seqs = [np.arange(n) + 1 for n in (3, 2, 4, 1)]
    >>> ds = ed.MapDataset.source(seqs).map(lambda s: {"tokens": s}).to_iter_dataset()
    >>> packed = ed.FirstFitPackIterDataset(ds, length_struct={"tokens": 5}, num_packing_bins=2)
    >>> row = next(iter(packed))
    >>> row["tokens"].tolist(), row["tokens_segment_ids"].tolist(), row["tokens_positions"].tolist()
    ([1, 2, 3, 1, 2], [1, 1, 1, 2, 2], [0, 1, 2, 0, 1])
    """

    def __init__(self, parent: IterDataset, *, length_struct: Any, num_packing_bins: int,
                 seed: int = 0, shuffle_bins: bool = False, meta_features: Sequence[str] = (),
                 padding_value: Any = 0, **unsupported: Any):
        if unsupported:
            raise TypeError(f"FirstFitPackIterDataset does not support {sorted(unsupported)}.")
        if not isinstance(parent, IterDataset):
            raise TypeError(f"Packing needs an IterDataset parent, got {type(parent).__name__}.")
        if not isinstance(num_packing_bins, int) or num_packing_bins < 1:
            raise ValueError(f"num_packing_bins must be a positive integer, got {num_packing_bins!r}.")
        super().__init__([parent])
        self._length_struct = length_struct
        self._num_bins = num_packing_bins
        self._seed = seeding.validate_seed(seed)
        self._shuffle = shuffle_bins
        self._meta = tuple(meta_features)
        self._pad = padding_value

    def _build(self, ctx: BuildContext) -> DatasetIterator:
        return _PackIterator(self._parent._build(ctx), self)

    def __str__(self) -> str:
        return f"FirstFitPackIterDataset(length={self._length_struct}, num_packing_bins={self._num_bins})"


class _Row:
    __slots__ = ("parts", "fill", "count")

    def __init__(self, keys: Sequence[str]):
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        self.fill = dict.fromkeys(keys, 0)
        self.count = 0


class _PackIterator(DatasetIterator):
    def __init__(self, parent: DatasetIterator, cfg: FirstFitPackIterDataset):
        super().__init__([parent], str(cfg))
        self._cfg = cfg
        self._lengths: dict[str, int] | None = None
        self._dtypes: dict[str, Any] = {}
        self._rows: list[_Row] = []
        self._round_state = parent.get_state()  # parent state before the current round
        self._round = 0
        self._out: list[dict] = []  # emitted rows of a finished round
        self._out_pos = 0
        self._out_state: Any = None  # parent state at the start of the emitted round
        self._out_round = 0
        self._skip = 0
        self._exhausted = False

    # -- configuration --------------------------------------------------------------------
    def _init_lengths(self, element: Any) -> None:
        if not isinstance(element, dict):
            raise TypeError(f"Packing expects dict elements of sequences, got {type(element).__name__}.")
        ls = self._cfg._length_struct
        if isinstance(ls, dict):
            missing = [k for k in ls if k not in element]
            if missing:
                raise KeyError(f"Packing: elements have no feature(s) {missing} (have {sorted(element)}).")
            self._lengths = {k: int(v) for k, v in ls.items()}
        else:
            self._lengths = {k: int(ls) for k in element}
        for k, n in self._lengths.items():
            if n < 1:
                raise ValueError(f"Packing length for {k!r} must be positive, got {n}.")

    def _seq(self, element: dict, key: str) -> np.ndarray:
        x = np.asarray(element[key])
        if x.ndim == 0:
            raise ValueError(f"Packing: feature {key!r} must have a sequence axis, got a scalar.")
        self._dtypes.setdefault(key, x.dtype)
        return x[: self._lengths[key]]  # type: ignore[index]

    # -- packing --------------------------------------------------------------------------
    def _add(self, seqs: dict[str, np.ndarray]) -> bool:
        for row in self._rows:
            if all(row.fill[k] + len(s) <= self._lengths[k] for k, s in seqs.items()):  # type: ignore[index]
                self._put(row, seqs)
                return True
        if len(self._rows) < self._cfg._num_bins:
            row = _Row(list(self._lengths))  # type: ignore[arg-type]
            self._rows.append(row)
            self._put(row, seqs)
            return True
        return False

    @staticmethod
    def _put(row: _Row, seqs: dict[str, np.ndarray]) -> None:
        for k, s in seqs.items():
            row.parts[k].append(s)
            row.fill[k] += len(s)
        row.count += 1

    def _render(self, row: _Row) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for k, length in self._lengths.items():  # type: ignore[union-attr]
            parts = row.parts[k]
            first = parts[0] if parts else np.zeros((0,), self._dtypes.get(k, np.int32))
            values = np.full((length,) + first.shape[1:], self._cfg._pad, dtype=first.dtype)
            seg = np.zeros(length, np.int32)
            pos = np.zeros(length, np.int32)
            at = 0
            for i, p in enumerate(parts):
                n = len(p)
                values[at:at + n] = p
                seg[at:at + n] = i + 1
                pos[at:at + n] = np.arange(n, dtype=np.int32)
                at += n
            out[k] = values
            if k not in self._cfg._meta:
                out[f"{k}_segment_ids"] = seg
                out[f"{k}_positions"] = pos
        return out

    def _flush(self, next_round_state: Any) -> None:
        rows = [self._render(r) for r in self._rows]
        if self._cfg._shuffle and len(rows) > 1:
            rng = np.random.Generator(np.random.Philox(key=seeding.derive_key(self._cfg._seed, "pack", self._round)))
            rows = [rows[i] for i in rng.permutation(len(rows))]
        self._out, self._out_pos = rows, 0
        self._out_state, self._out_round = self._round_state, self._round
        self._rows = []
        self._round += 1
        self._round_state = next_round_state

    def _next(self):
        parent = self._parents[0]
        while True:
            if self._out_pos < len(self._out):
                row = self._out[self._out_pos]
                self._out_pos += 1
                if self._skip:
                    self._skip -= 1
                    continue
                return row
            if self._exhausted:
                raise StopIteration
            before = parent.get_state()
            try:
                element = next(parent)
            except StopIteration:
                self._exhausted = True
                if self._rows:
                    self._flush(before)
                continue
            if self._lengths is None:
                self._init_lengths(element)
            seqs = {k: self._seq(element, k) for k in self._lengths}  # type: ignore[union-attr]
            if not self._rows:
                self._round_state = before
            if not self._add(seqs):
                self._flush(before)
                self._add(seqs)

    def get_state(self) -> dict[str, Any]:
        if self._out_pos < len(self._out):
            return {"parent": self._out_state, "emitted": self._out_pos, "round": self._out_round}
        return {"parent": self._round_state, "emitted": 0, "round": self._round}

    def set_state(self, state: dict[str, Any]) -> None:
        state = check_state(state, ["parent", "emitted", "round"], self)
        self._parents[0].set_state(state["parent"])
        self._round_state = state["parent"]
        self._round = int(state["round"])
        self._skip = int(state["emitted"])
        self._rows, self._out, self._out_pos = [], [], 0
        self._exhausted = False
