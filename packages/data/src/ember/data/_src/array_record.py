"""ArrayRecord files as a random-access source (needs the optional ``array_record`` package:
``pip install 'ember-data[array_record]'``). Records are the stored bytes; decode them in a
``map``.

    >>> ArrayRecordDataSource  # doctest: +ELLIPSIS
    <class '...ArrayRecordDataSource'>
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ember.data._src.sources import check_index, check_indices


def _backend() -> Any:
    try:
        from array_record.python import array_record_data_source
    except ImportError as e:
        raise ImportError(
            "ArrayRecordDataSource needs the `array_record` package: "
            "pip install 'ember-data[array_record]' (or pip install array-record)."
        ) from e
    return array_record_data_source


class ArrayRecordDataSource:
    """Random access to the records of one or more ArrayRecord files (concatenated).

    Needs the ``array_record`` package (``pip install 'ember-data[array_record]'``); each record is
    the raw ``bytes`` stored in the file, so parse it in a ``map``::

        source = ed.ArrayRecordDataSource(["train-00000.array_record", "train-00001.array_record"])
        ds = ed.MapDataset.source(source).shuffle(seed=0).map(parse_example)
    """

    def __init__(self, paths: str | os.PathLike | Sequence[str | os.PathLike]):
        backend = _backend()
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        paths = [os.fspath(p) for p in paths]
        for p in paths:
            if not os.path.exists(p):
                raise FileNotFoundError(f"ArrayRecord file {p!r} does not exist.")
        self._paths = paths
        self._source = backend.ArrayRecordDataSource(paths)
        self._len = len(self._source)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: int) -> bytes:
        return self._source[check_index(index, self._len, self)]

    def __getitems__(self, indices: Sequence[int]) -> list[bytes]:
        idx = check_indices(indices, self._len, self).tolist()
        return list(self._source.__getitems__(idx))

    def __repr__(self) -> str:
        return f"ArrayRecordDataSource({self._paths!r}, len={self._len})"
