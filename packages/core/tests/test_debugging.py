"""debug.print / debug.callback inside jit, vmap and grad; the NaN check mode; disable_jit."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp


def test_debug_print_inside_jit_runs_every_call(capsys):
    f = ec.jit(lambda x: (ec.debug.print("x = {} and {y}", x, y=x * 2), x + 1)[1])
    assert float(f(1.5)) == 2.5
    assert float(f(2.5)) == 3.5
    assert capsys.readouterr().out.splitlines() == ["x = 1.5 and 3.0", "x = 2.5 and 5.0"]


def test_debug_callback_under_vmap_and_grad():
    seen = []
    ec.vmap(lambda v: ec.debug.callback(lambda a: seen.append(float(a)), v))(np.float32([1, 2, 3]))
    assert seen == [1.0, 2.0, 3.0]
    seen.clear()
    g = ec.grad(lambda v: (ec.debug.callback(lambda a: seen.append(float(a)), v), v * v)[1])(3.0)
    assert float(g) == 6.0 and seen == [3.0]


def test_callbacks_are_not_dead_code():
    seen = []
    jaxpr = ec.make_jaxpr(lambda x: (ec.debug.callback(lambda a: seen.append(a), x), x)[1])(1.0)
    assert "debug_callback" in str(jaxpr)


def test_bad_format_string():
    with pytest.raises(IndexError, match="only 1 positional"):
        ec.debug.print("{} {}", 1.0)


def test_debug_nans_names_the_operation_and_line():
    ec.config.update("debug_nans", True)
    try:
        f = ec.jit(lambda x: jnp.log(x) * 2)
        with pytest.raises(FloatingPointError, match=r"(?s)nan\) encountered in log.*test_debugging\.py"):
            f(np.float32([-1.0]))
        with pytest.raises(FloatingPointError, match=r"encountered in log"):
            jnp.log(jnp.asarray(np.float32([-1.0])))
        assert float(f(np.float32([1.0]))[0]) == 0.0  # no NaN: no error
    finally:
        ec.config.update("debug_nans", False)
    assert np.isnan(np.asarray(ec.jit(lambda x: jnp.log(x))(np.float32([-1.0])))[0])


def test_disable_jit_context_manager():
    with ec.disable_jit():
        assert ec.jit(lambda x: type(x).__name__)(1.0) == "float"
    assert not ec.config.disable_jit
