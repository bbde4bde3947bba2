"""``nn.jit``: ``ec.jit`` for functions of modules, with the module graph walked once.

How a call works:

1. The arguments are flattened (C++ pytree flatten, Modules/Variables as leaves). The cache key is
   ``(argument treedef, static args, structural version, id of each module argument)``.
2. On a hit, the cached *entry* already holds the flat list of the graph's Variables (in walk
   order): the call reads ``[v.value for v in variables]``, passes that list and the other
   arguments to a compiled ``ec.jit`` program, and writes the returned new values into the
   Variables that changed. No graph walk, no State, no merge.
3. On a miss (first call, or any structural change anywhere: the version counter moved), the
   graph is walked once to build the entry: the graph definition and the Variable list. Programs
   are cached by graph definition, so an entry rebuilt after an unrelated mutation reuses the
   compiled program.

Inside the program (at trace time only) the function runs on fresh modules rebuilt from the
definition; afterwards they are walked again. If the structure is unchanged and no modules are
returned, the program returns only the values that changed plus their indices (the indices ride
in the output treedef, so the C++ fast path reproduces them with no Python). Otherwise (``sow``
created a Variable, the function returned a module, a submodule was replaced...) it returns the
whole new state and definition, and the call applies them with ``lift.apply_back``.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> model = nn.Linear(2, 1, rngs=nn.Rngs(0))
    >>> @nn.jit
    ... def step(model, x):
    ...     model.kernel.value = model.kernel.value * 0.5   # mutations propagate back
    ...     return model(x)
    >>> _ = step(model, jnp.ones((1, 2)))
    >>> model.kernel.shape
    (2, 1)
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import ember.core as ec

from . import lift, tracking
from .graph import Walker, is_graph_object

__all__ = ["jit", "JitWrapped"]

_MAX_ENTRIES = 32


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, (int, str)):
        return (x,)
    return tuple(x)


class _Entry:
    __slots__ = ("slots", "objects", "defs", "groups", "dyn_l", "dyn_d", "root_pos", "program", "n_leaves",
                 "template")


class JitWrapped:
    """The callable returned by :func:`jit`."""

    def __init__(self, fun: Callable, *, in_shardings: Any = None, out_shardings: Any = None,
                 static_argnums: Any = None, static_argnames: Any = None, donate_argnums: Any = None,
                 donate_argnames: Any = None, keep_unused: bool = False, device: Any = None):
        if in_shardings is not None:
            raise NotImplementedError(
                "nn.jit does not take in_shardings: place the state with ec.device_put / nn.create_sharded_model "
                "(jit follows the arguments' shardings)")
        self.fun = fun
        self.static_argnums = _as_tuple(static_argnums)
        self.static_argnames = _as_tuple(static_argnames)
        self.donate_argnums = frozenset(_as_tuple(donate_argnums))
        self.donate_argnames = frozenset(_as_tuple(donate_argnames))
        self.in_shardings = in_shardings
        self.out_shardings = out_shardings
        self.keep_unused = keep_unused
        self.device = device
        self._entries: dict = {}
        self._programs: dict = {}
        functools.update_wrapper(self, fun)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    # --- the per-call path -------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        statics: tuple = ()
        if self.static_argnums or self.static_argnames:
            args, kwargs, statics = self._pop_statics(args, kwargs)
        leaves, treedef = ec.tree.flatten((args, kwargs), is_leaf=is_graph_object)
        key = (treedef, tracking.VERSION[0], statics, *[id(x) for x in leaves if is_graph_object(x)])
        entry = self._entries.get(key)
        if entry is None:
            entry = self._make_entry(key, leaves, treedef, statics, args, kwargs)
        if entry.groups is None:
            values = [[s._value for s in entry.slots]]
        else:
            slots = entry.slots
            values = [[slots[i]._value for i in g] for g in entry.groups]
        out, updates, static = entry.program([leaves[i] for i in entry.dyn_l], [leaves[i] for i in entry.dyn_d],
                                             *values)
        info = static.info
        if info[0] is True:
            slots = entry.slots
            for i, v in zip(info[1], updates):
                slots[i]._value = v
            return out
        return self._apply_slow(entry, info, out, updates)

    def _pop_statics(self, args: tuple, kwargs: dict) -> tuple:
        n = len(args)
        nums = sorted({i + n if i < 0 else i for i in self.static_argnums if -n <= i < n})
        pos = tuple((i, args[i]) for i in nums)
        args = tuple(a for i, a in enumerate(args) if i not in nums)
        kw: tuple = ()
        if self.static_argnames:
            kw = tuple((k, kwargs[k]) for k in self.static_argnames if k in kwargs)
            kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        return args, kwargs, (pos, kw)

    def _apply_slow(self, entry: _Entry, info: tuple, out_leaves: list, values: list) -> Any:
        _, defs, mapping, out_treedef, out_root_pos, n_in = info
        out_roots = lift.apply_back(entry.objects, defs, values, mapping, n_in)
        leaves = list(out_leaves)
        for pos, root in zip(out_root_pos, out_roots):
            leaves[pos] = root
        return out_treedef.unflatten(leaves)

    # --- cache miss: walk the graph once -----------------------------------------------------
    def _make_entry(self, key: tuple, leaves: list, treedef: Any, statics: tuple, args: tuple, kwargs: dict) -> _Entry:
        root_pos = [i for i, x in enumerate(leaves) if is_graph_object(x)]
        w = Walker(slots=True)
        defs = []
        root_groups = []
        for i in root_pos:
            start = len(w.slots)
            defs.append(w.root(leaves[i]))
            root_groups.append(list(range(start, len(w.slots))))
        defs = tuple(defs)

        # which top-level argument each leaf belongs to (for donation)
        arg_of_leaf: list = []
        donated_args = set()
        if self.donate_argnums or self.donate_argnames:
            static_nums = {i for i, _ in statics[0]} if statics else set()
            orig_positions = [i for i in range(len(args) + len(static_nums)) if i not in static_nums]
            for pos, a in enumerate(args):
                orig = orig_positions[pos]
                n = len(ec.tree.leaves(a, is_leaf=is_graph_object))
                arg_of_leaf += [("arg", orig)] * n
                if orig in self.donate_argnums:
                    donated_args.add(("arg", orig))
            for k in sorted(kwargs):
                n = len(ec.tree.leaves(kwargs[k], is_leaf=is_graph_object))
                arg_of_leaf += [("kw", k)] * n
                if k in self.donate_argnames:
                    donated_args.add(("kw", k))
        donated_leaf = [arg_of_leaf[i] in donated_args for i in range(len(leaves))] if donated_args else None

        dyn_l = [i for i, x in enumerate(leaves) if not is_graph_object(x) and not (donated_leaf and donated_leaf[i])]
        dyn_d = [i for i, x in enumerate(leaves) if not is_graph_object(x) and donated_leaf and donated_leaf[i]]
        donated_roots = [k for k, i in enumerate(root_pos) if donated_leaf and donated_leaf[i]]

        entry = _Entry()
        entry.slots = w.slots
        entry.objects = w.objects
        entry.defs = defs
        entry.root_pos = root_pos
        entry.dyn_l = dyn_l
        entry.dyn_d = dyn_d
        entry.n_leaves = len(leaves)
        if donated_leaf is not None:
            entry.groups = root_groups
        else:
            entry.groups = None

        # groups of slots whose values are donated: their values are always returned
        donated_slots = frozenset(s for k in donated_roots for s in root_groups[k])
        pkey = (defs, treedef, statics, tuple(dyn_l), tuple(dyn_d), tuple(donated_roots),
                None if entry.groups is None else tuple(len(g) for g in root_groups))
        program = self._programs.get(pkey)
        if program is None:
            program = self._make_program(defs, treedef, statics, root_pos, dyn_l, dyn_d, donated_roots,
                                         donated_slots, entry.groups is not None, len(leaves))
            self._programs[pkey] = program
        entry.program = program
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = entry
        return entry

    def _make_program(self, defs: tuple, treedef: Any, statics: tuple, root_pos: list, dyn_l: list, dyn_d: list,
                      donated_roots: list, donated_slots: frozenset, grouped: bool, n_leaves: int) -> Callable:
        fun = self.fun
        n_roots = len(root_pos)

        def program(lvals: list, dvals: list, *groups: list) -> Any:
            values = [v for g in groups for v in g]
            roots, builder = lift.rebuild(defs, values)
            leaves: list = [None] * n_leaves
            for i, r in zip(root_pos, roots):
                leaves[i] = r
            for i, v in zip(dyn_l, lvals):
                leaves[i] = v
            for i, v in zip(dyn_d, dvals):
                leaves[i] = v
            args, kwargs = treedef.unflatten(leaves)
            if statics:
                args = list(args)
                for i, v in statics[0]:
                    args.insert(i, v)
                kwargs = {**kwargs, **dict(statics[1])}
            out = fun(*args, **kwargs)
            after = lift.split_after(roots[:n_roots], builder, out)
            same = (not after.out_root_pos and after.defs == defs
                    and all(m == j for j, m in enumerate(after.mapping)))
            if same:
                changed = tuple(i for i, (new, old) in enumerate(zip(after.values, values))
                                if new is not old or i in donated_slots)
                return out, [after.values[i] for i in changed], lift.Static((True, changed))
            info = (False, after.defs, after.mapping, after.out_treedef, after.out_root_pos, after.n_in)
            return after.out_leaves, after.values, lift.Static(info)

        program.__name__ = getattr(fun, "__name__", "nn_jit_program")
        donate = ()
        if dyn_d:
            donate += (1,)
        if grouped:
            donate += tuple(2 + k for k in donated_roots)
        kwargs: dict = {}
        if self.out_shardings is not None:
            kwargs["out_shardings"] = (self.out_shardings, None, None)
        if self.device is not None:
            kwargs["device"] = self.device
        return ec.jit(program, donate_argnums=donate or None, keep_unused=self.keep_unused, **kwargs)


def jit(fun: Callable | None = None, *, in_shardings: Any = None, out_shardings: Any = None,
        static_argnums: int | tuple[int, ...] | None = None, static_argnames: str | tuple[str, ...] | None = None,
        donate_argnums: int | tuple[int, ...] | None = None, donate_argnames: str | tuple[str, ...] | None = None,
        keep_unused: bool = False, device: Any = None) -> Any:
    """Compile ``fun`` with ``ec.jit``; Modules and Variables may be passed as arguments.

    Mutations of the arguments' state inside ``fun`` (BatchNorm statistics, RNG counters, caches,
    optimizer steps, new intermediates) are written back to the objects. Modules returned by
    ``fun`` come back as modules (the caller's own objects when ``fun`` returned an argument).
    Donated module arguments have all their state buffers donated.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> bn = nn.BatchNorm(2, rngs=nn.Rngs(0))
    >>> f = nn.jit(lambda m, x: m(x))
    >>> _ = f(bn, jnp.arange(8.0).reshape(4, 2))
    >>> [round(v, 3) for v in bn.mean.value.tolist()]   # running mean updated in place
    [0.03, 0.04]
    """
    if fun is None:
        return functools.partial(jit, in_shardings=in_shardings, out_shardings=out_shardings,
                                 static_argnums=static_argnums, static_argnames=static_argnames,
                                 donate_argnums=donate_argnums, donate_argnames=donate_argnames,
                                 keep_unused=keep_unused, device=device)
    return JitWrapped(fun, in_shardings=in_shardings, out_shardings=out_shardings, static_argnums=static_argnums,
                      static_argnames=static_argnames, donate_argnums=donate_argnums,
                      donate_argnames=donate_argnames, keep_unused=keep_unused, device=device)
