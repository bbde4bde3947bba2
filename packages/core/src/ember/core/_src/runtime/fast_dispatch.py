"""jit's hot path in C++: jaxlib's ``PjitFunction`` dispatcher, driven by ember.

On a call, jaxlib's C++ code flattens the arguments (with ember's *dispatch* pytree registry, in
which an ``Array`` is a node whose child is its device buffer), computes the argument signature,
looks it up in its cache and runs the compiled executable — no Python runs on a hit. On a miss
it calls ember's ``cache_miss`` (the Python jit), which returns the outputs and, when the call ran
a compiled program eagerly, the data the C++ cache needs to run it next time.

jaxlib reads three process-wide states (disable-jit, x64, a post-hook) and a trace-context key;
ember supplies its own ``Config`` objects for them and puts "is a transformation active" into
the trace context, so that a call under ember's tracing never hits the C++ cache. All of this is
jaxlib-private surface, so it lives here; if this jaxlib lacks any of it, ``available()`` is
False and jit uses its Python path.

The states are process-wide in jaxlib. If jax is imported first, ember leaves jax's states in
place and dispatches in Python. If jax is imported after ember (jaxlib itself imports it, when it
is installed, on the first device-to-host copy), jax's states replace ember's: the C++ path then
reads jax's x64 and disable-jit flags. ``cpp_may_serve`` tells jit whether those agree with
ember's; where they do not, calls take the Python path, so a flag set in only one of the two
libraries never runs a program with arguments of the other's types.
"""

from __future__ import annotations

import collections
import sys
from typing import Any, Callable, Sequence

__all__ = ["available", "cpp_may_serve", "make_cpp_jit", "fastpath_data", "set_tracing", "sync_config"]

_state: dict[str, Any] = {}

FastpathData = collections.namedtuple(
    "FastpathData",
    "xla_executable out_pytree_def in_shardings out_shardings out_avals out_committed kept_var_bitvec "
    "in_device_local_layouts const_args",
)


def _setup() -> bool:
    if "ok" in _state:
        return _state["ok"]
    if "jax" in sys.modules:
        # jax already installed its own dispatcher states in jaxlib (they are process-wide):
        # leave them alone and use ember's Python dispatch path.
        _state["ok"] = False
        return False
    try:
        from jaxlib import _jax

        config_cls = _jax.config.Config
        disable = config_cls("ember_disable_jit", False, include_in_jit_key=False, include_in_trace_context=False)
        x64 = config_cls("ember_enable_x64", False, include_in_jit_key=True, include_in_trace_context=True)
        post_hook = config_cls("ember_jit_post_hook", None, include_in_jit_key=False, include_in_trace_context=False)
        tracing = config_cls("ember_tracing", False, include_in_jit_key=True, include_in_trace_context=True)
        debug_nans = config_cls("ember_debug_nans", False, include_in_jit_key=True, include_in_trace_context=True)
        jit_module = _jax.jax_jit
        jit_module.set_disable_jit_state(disable)
        jit_module.set_enable_x64_state(x64)
        jit_module.set_post_hook_state(post_hook)
        _state.update(ok=True, jax=_jax, disable=disable, x64=x64, tracing=tracing, debug_nans=debug_nans,
                      cache=_jax.PjitFunctionCache(capacity=8192))
    except Exception:  # pragma: no cover - an older/newer jaxlib without this surface
        _state["ok"] = False
    return _state["ok"]


def available() -> bool:
    return _setup()


def sync_config(*, disable_jit: bool, enable_x64: bool, debug_nans: bool) -> None:
    """Mirror ember's flags into the states jaxlib's dispatcher reads (x64 and debug_nans are
    part of its cache key, so a change never serves a program compiled under the other value)."""
    if _setup():
        _state["disable"].set_global(bool(disable_jit))
        _state["x64"].set_global(bool(enable_x64))
        _state["debug_nans"].set_global(bool(debug_nans))
        if "jax" in sys.modules:  # ember's disable flag is no longer read: drop what C++ would serve
            _state["cache"].clear()


def cpp_may_serve(*, enable_x64: bool, disable_jit: bool) -> bool:
    """Whether jaxlib's C++ cache may run ember's compiled programs with the flags it reads now.

    Always while the states are ember's. Once jax has replaced them, only while jax's x64 and
    disable-jit flags equal ember's: jaxlib converts Python scalars by jax's x64 flag, and a
    program compiled under ember's must receive what it was compiled for.
    """
    jax = sys.modules.get("jax")
    if jax is None:
        return True
    try:
        return (bool(jax.config.jax_enable_x64) == enable_x64 and not disable_jit
                and not bool(jax.config.jax_disable_jit))
    except AttributeError:  # a jax whose flags ember cannot read: stay on the Python path
        return False


def set_tracing(active: bool) -> None:
    """Called when ember enters/leaves a transformation (thread-local)."""
    tracing = _state.get("tracing")
    if tracing is not None:
        tracing.set_local(active)


def make_cpp_jit(name: str, fun: Callable[..., Any], cache_miss: Callable[..., Any], static_argnums: Sequence[int],
                 static_argnames: Sequence[str], cache_key: Any, registry: Any,
                 shard_arg_fallback: Callable[[Any, Any, Any], Any]) -> Any:
    """A C++ PjitFunction calling ``cache_miss(*args, **kwargs) -> (outs, fastpath, False)`` on misses."""
    _setup()
    return _state["jax"].pjit(name, fun, cache_miss, list(static_argnums), list(static_argnames), cache_key,
                              registry, shard_arg_fallback, _state["cache"])


def fastpath_data(loaded_executable: Any, out_tree: Any, in_shardings: Sequence[Any], out_shardings: Sequence[Any],
                  out_avals: Sequence[Any], kept: Sequence[bool], const_bufs: Sequence[Any]) -> FastpathData:
    return FastpathData(loaded_executable, out_tree, list(in_shardings), list(out_shardings), list(out_avals),
                        [False] * len(out_avals), list(kept), [None] * len(in_shardings), list(const_bufs))
