"""The examples in docstrings are part of the documentation: they must run."""

import doctest
import importlib
import pkgutil

import pytest

import ember.data

MODULES = ["ember.data"] + sorted(
    m.name for m in pkgutil.walk_packages(ember.data.__path__, "ember.data.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
