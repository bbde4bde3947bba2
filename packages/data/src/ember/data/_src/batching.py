"""Stacking records into batches, with errors that name the offending field and shapes.

    >>> b = make_batch([{"x": np.zeros(2), "y": 1}, {"x": np.ones(2), "y": 2}])
    >>> b["x"].shape, b["y"].tolist()
    ((2, 2), [1, 2])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ember.data._src.tree import Path, is_namedtuple, path_str


def make_batch(values: Sequence[Any]) -> Any:
    """Stacks records (NumPy arrays, scalars, or dicts/lists/tuples of them) along a new
    leading axis. Records must share one structure and per-field shapes.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> batch = ed.make_batch([{"x": np.zeros(2), "y": 0}, {"x": np.ones(2), "y": 1}])
    >>> batch["x"].shape, batch["y"].tolist()
    ((2, 2), [0, 1])
    """
    if len(values) == 0:
        raise ValueError("Cannot batch 0 records.")
    return _stack(values, ())


def _stack(values: Sequence[Any], path: Path) -> Any:
    first = values[0]
    if isinstance(first, dict):
        keys = first.keys()
        for pos, v in enumerate(values):
            if not isinstance(v, dict) or v.keys() != keys:
                raise ValueError(_structure_message(path, first, v, pos))
        return {k: _stack([v[k] for v in values], path + (k,)) for k in keys}
    if isinstance(first, (list, tuple)):
        n, kind = len(first), type(first)
        for pos, v in enumerate(values):
            if type(v) is not kind or len(v) != n:
                raise ValueError(_structure_message(path, first, v, pos))
        items = [_stack([v[i] for v in values], path + (i,)) for i in range(n)]
        return kind(*items) if is_namedtuple(first) else kind(items)
    if first is None:
        raise ValueError(
            f"Cannot batch field {path_str(path)}: a record is None. If it came from "
            "`MapDataset.filter`, convert with `to_iter_dataset()` before `batch` so "
            "filtered records are skipped."
        )
    return _stack_leaves(values, path)


def _stack_leaves(values: Sequence[Any], path: Path) -> np.ndarray:
    try:
        return np.stack(values)
    except (ValueError, TypeError) as e:
        shapes: dict[tuple[int, ...], list[int]] = {}
        for pos, v in enumerate(values):
            shapes.setdefault(np.shape(v), []).append(pos)
        if len(shapes) > 1:
            detail = "; ".join(
                f"shape {s} at batch positions {_positions(p)}" for s, p in list(shapes.items())[:4]
            )
            raise ValueError(
                f"Cannot batch field {path_str(path)}: records have different shapes ({detail}). "
                "Pad or crop them to one shape in a map, or pass a custom `batch_fn`."
            ) from None
        raise ValueError(f"Cannot batch field {path_str(path)}: {e}") from e


def _positions(p: list[int]) -> str:
    return str(p) if len(p) <= 6 else f"[{', '.join(map(str, p[:6]))}, ...] ({len(p)} records)"


def _describe(v: Any) -> str:
    if isinstance(v, dict):
        return f"dict with keys {sorted(map(str, v))}"
    if isinstance(v, (list, tuple)):
        return f"{type(v).__name__} of length {len(v)}"
    return type(v).__name__


def _structure_message(path: Path, first: Any, other: Any, pos: int) -> str:
    return (
        f"Cannot batch field {path_str(path)}: records differ in structure (record 0 is a "
        f"{_describe(first)}, record {pos} is a {_describe(other)})."
    )


def make_batch_streaming(values: Any, n: int) -> Any:
    """``make_batch`` over an iterator of ``n`` records, writing each record into the output
    as soon as it arrives, so only one record is alive at a time (less memory churn; the
    result is identical to ``make_batch(list(values))``)."""
    it = iter(values)
    try:
        first = next(it)
    except StopIteration:
        raise ValueError("Cannot batch 0 records.") from None
    if n == 1:
        return make_batch([first])
    leaves: list[tuple[Path, Any]] = []
    _flatten(first, (), leaves)
    outs: list[Any] = []
    for _, leaf in leaves:
        if isinstance(leaf, (np.ndarray, np.generic)) and leaf.dtype.kind not in "OUSV":
            out = np.empty((n,) + leaf.shape, leaf.dtype)
            out[0] = leaf
            outs.append(out)
        else:
            outs.append([leaf])
    for pos in range(1, n):
        try:
            rec = next(it)
        except StopIteration:
            raise ValueError(f"Expected {n} records to batch, got {pos}.") from None
        flat: list[tuple[Path, Any]] = []
        _flatten(rec, (), flat)
        if len(flat) != len(leaves) or any(p != q for (p, _), (q, _) in zip(flat, leaves)):
            return make_batch([first, rec])  # raises the structure error
        for j, (path, leaf) in enumerate(flat):
            out = outs[j]
            if type(out) is list:
                out.append(leaf)
            elif isinstance(leaf, (np.ndarray, np.generic)) and leaf.dtype == out.dtype and leaf.shape == out.shape[1:]:
                out[pos] = leaf
            elif np.shape(leaf) != out.shape[1:]:
                raise ValueError(
                    f"Cannot batch field {path_str(path)}: records have different shapes (shape "
                    f"{out.shape[1:]} at batch position 0; shape {np.shape(leaf)} at batch position {pos}). "
                    "Pad or crop them to one shape in a map, or pass a custom `batch_fn`."
                )
            else:  # another dtype: fall back to np.stack's promotion for this field
                outs[j] = list(out[:pos]) + [leaf]
    stacked = [np.stack(o) if type(o) is list else o for o in outs]
    return _unflatten(first, iter(stacked))


def _flatten(x: Any, path: Path, out: list) -> None:
    if isinstance(x, dict):
        for k, v in x.items():
            _flatten(v, path + (k,), out)
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            _flatten(v, path + (i,), out)
    else:
        out.append((path, x))


def _unflatten(template: Any, leaves: Any) -> Any:
    if isinstance(template, dict):
        return {k: _unflatten(v, leaves) for k, v in template.items()}
    if isinstance(template, (list, tuple)):
        items = [_unflatten(v, leaves) for v in template]
        return type(template)(*items) if is_namedtuple(template) else type(template)(items)
    return next(leaves)


def batch_and_pad(values: Sequence[Any], *, batch_size: int, pad_value: Any = 0) -> Any:
    """A ``batch_fn`` that pads a short final batch to ``batch_size`` with ``pad_value``.

    >>> batch_and_pad([np.int64(1), np.int64(2)], batch_size=3).tolist()
    [1, 2, 0]
    """
    if len(values) > batch_size:
        raise ValueError(f"Cannot batch {len(values)} records into a batch of {batch_size}.")
    batch = make_batch(values)
    missing = batch_size - len(values)
    if missing == 0:
        return batch

    from ember.data._src.tree import map_structure

    def pad(x: np.ndarray) -> np.ndarray:
        filler = np.full((missing,) + x.shape[1:], pad_value, dtype=x.dtype)
        return np.concatenate([x, filler], axis=0)

    return map_structure(pad, batch)
