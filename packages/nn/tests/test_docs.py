"""The examples in ember.nn's docstrings run and print what they say."""

import doctest
import importlib
import pkgutil

import pytest

import ember.nn

MODULES = sorted(
    {"ember.nn", "ember.nn.initializers", "ember.nn.metrics"}
    | {m.name for m in pkgutil.walk_packages(ember.nn._src.__path__, "ember.nn._src.")}
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
