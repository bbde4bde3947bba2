"""The examples in the docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["ember.checkpoint", *(f"ember.checkpoint._src.{m}" for m in (
    "array_io", "async_checkpointer", "atomic", "capture", "checkpointer", "layout", "manager", "multihost",
    "multitier", "restore", "shardings", "tree_codec", "writer"))]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
