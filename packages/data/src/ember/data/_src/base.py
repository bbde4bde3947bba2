"""What every dataset node shares: parents, a stable node id, default seeds, and a text
rendering of the pipeline graph.

    >>> from ember.data import MapDataset
    >>> print(MapDataset.range(4).map(str).graph())
    MapMapDataset(fn=str)
    └─ RangeMapDataset(start=0, stop=4, step=1)
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

from ember.data._src import seeding

_node_ids = itertools.count()


class DatasetNode:
    """Base of MapDataset and IterDataset nodes (immutable once built)."""

    def __init__(self, parents: Sequence["DatasetNode"] = ()):
        self._parents: tuple[DatasetNode, ...] = tuple(parents)
        self._node_id = next(_node_ids)
        self._seed_rng_seed: int | None = None

    @property
    def parents(self) -> Sequence["DatasetNode"]:
        return self._parents

    @property
    def _parent(self) -> Any:
        assert len(self._parents) == 1, self._parents
        return self._parents[0]

    def _default_seed(self) -> int | None:
        """A seed derived from the nearest ``seed()`` calls upstream and this node's depth
        below them, so each random transformation gets its own, reproducible seed."""
        found: list[int] = []
        frontier = [(p, 1) for p in self._parents]
        while frontier:
            node, depth = frontier.pop(0)
            if node._seed_rng_seed is not None:
                found.extend((node._seed_rng_seed, depth))
            else:
                frontier.extend((p, depth + 1) for p in node._parents)
        if not found:
            return None
        return seeding.derive_key("default-seed", *found)

    def _resolve_seed(self, seed: int | None, what: str) -> int:
        if seed is None:
            seed = self._default_seed()
            if seed is None:
                raise ValueError(
                    f"`{what}` needs a seed: pass `seed=` or call `.seed(seed)` upstream."
                )
            return seed
        return seeding.validate_seed(seed)

    def _graph_children(self) -> Sequence["DatasetNode"]:
        return self._parents

    def graph(self) -> str:
        """The pipeline graph as text, this node first and its inputs indented below."""
        lines: list[str] = []

        def visit(node: DatasetNode, prefix: str, child_prefix: str) -> None:
            lines.append(prefix + str(node))
            kids = list(node._graph_children())
            for i, kid in enumerate(kids):
                last = i == len(kids) - 1
                visit(kid, child_prefix + ("└─ " if last else "├─ "),
                      child_prefix + ("   " if last else "│  "))

        visit(self, "", "")
        return "\n".join(lines)

    def pipe(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``ds.pipe(f, *a)`` is ``f(ds, *a)``; keeps long pipelines readable."""
        return func(self, *args, **kwargs)


def annotate_error(e: BaseException, node: object, index: int | None) -> None:
    """Adds (once, innermost first) the stage and element index to an exception."""
    if getattr(e, "_ember_data_index", None) is None and index is not None:
        try:
            e._ember_data_index = int(index)  # type: ignore[attr-defined]
            e._ember_data_stage = str(node)  # type: ignore[attr-defined]
        except AttributeError:
            pass
        e.add_note(f"ember.data: raised in {node} while computing element {index}")
