import pytest

import ember.nn as nn


def test_type_string_and_constant_filters():
    p = nn.Param(0.0)
    key = nn.RngKey(0, tag="dropout")
    assert nn.to_predicate(nn.Param)(("k",), p)
    assert not nn.to_predicate(nn.BatchStat)(("k",), p)
    assert nn.to_predicate("dropout")(("key",), key)
    assert not nn.to_predicate("params")(("key",), key)
    assert nn.to_predicate(...)((), p) and nn.to_predicate(True)((), p)
    assert not nn.to_predicate(None)((), p) and not nn.to_predicate(False)((), p)


def test_combinators():
    p, b = nn.Param(0.0), nn.BatchStat(0.0)
    f = nn.Any(nn.Param, nn.BatchStat)
    assert f((), p) and f((), b) and not f((), nn.Cache(0.0))
    assert nn.All(nn.Param, nn.PathContains("w"))(("l", "w"), p)
    assert not nn.All(nn.Param, nn.PathContains("w"))(("l", "b"), p)
    assert nn.Not(nn.Param)((), b) and not nn.Not(nn.Param)((), p)
    assert nn.Everything()((), p) and not nn.Nothing()((), p)
    assert nn.to_predicate([nn.Param, nn.BatchStat])((), b)


def test_path_regex_and_callable():
    f = nn.PathRegex(r"^layers/\d+/kernel$")
    assert f(("layers", 3, "kernel"), None) and not f(("layers", 3, "bias"), None)
    g = nn.to_predicate(lambda path, v: len(path) == 2)
    assert g(("a", "b"), None) and not g(("a",), None)


def test_filters_are_hashable_and_comparable():
    assert nn.All(nn.Param, "x") == nn.All(nn.Param, "x")
    assert hash(nn.PathContains("a")) == hash(nn.PathContains("a"))
    assert nn.Not(nn.Param) != nn.Not(nn.BatchStat)


def test_split_rejects_ellipsis_before_the_end_and_nonexhaustive():
    m = nn.BatchNorm(2, rngs=nn.Rngs(0))
    with pytest.raises(ValueError, match="last filter"):
        nn.split(m, ..., nn.Param)
    with pytest.raises(ValueError, match="non-exhaustive"):
        nn.split(m, nn.Param)
