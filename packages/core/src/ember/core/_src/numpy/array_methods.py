"""Operators and methods shared by ``Array`` and ``Tracer``, attached once at import.

Both classes get the same implementations (the ec.numpy functions), so ``x + 1``, ``x[0]`` and
``x.sum()`` mean the same thing eagerly, under jit and under every transformation.
"""

from __future__ import annotations

from typing import Any, Callable

from ..array import Array
from ..core import Tracer


def _forward(name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        from .. import numpy as enp
        return getattr(enp, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


def _reflected(function: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        return function(other, self)
    return method


def _binary_operator(function: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        if not _accepts(other):
            return NotImplemented
        return function(self, other)
    return method


def _accepts(other: Any) -> bool:
    import numpy as np
    return isinstance(other, (Array, Tracer, np.ndarray, np.generic, bool, int, float, complex))


def _reflected_operator(function: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        if not _accepts(other):
            return NotImplemented
        return function(other, self)
    return method


def _view(self: Any, dtype: Any = None, type: Any = None) -> Any:  # noqa: A002 - NumPy's signature
    """``x.view(dtype)``: the same bits read as another dtype (last axis rescaled as NumPy does)."""
    from .. import dtypes
    from ..primitives import elementwise as ew
    from ..primitives import shape as sh
    if type is not None:
        raise NotImplementedError("Array.view(type=...) is not supported")
    if dtype is None:
        return self
    new = dtypes.to_dtype(dtype)
    old = self.dtype
    if new.itemsize == old.itemsize:
        return ew.bitcast_convert_type(self, new)
    if not self.shape or (self.shape[-1] * old.itemsize) % new.itemsize:
        raise ValueError(f"Array.view: cannot view {old.name} array of shape {self.shape} as {new.name}: the last "
                         "axis size in bytes must be divisible by the new itemsize")
    if new.itemsize < old.itemsize:
        out = ew.bitcast_convert_type(self, new)  # adds a trailing axis of old/new elements
        return sh.reshape(out, self.shape[:-1] + (self.shape[-1] * (old.itemsize // new.itemsize),))
    ratio = new.itemsize // old.itemsize
    grouped = sh.reshape(self, self.shape[:-1] + (self.shape[-1] // ratio, ratio))
    return ew.bitcast_convert_type(grouped, new)


def install() -> None:
    from .. import numpy as enp
    from . import ufuncs as uf

    binary = {
        "add": uf.add, "sub": uf.subtract, "mul": uf.multiply, "truediv": uf.true_divide,
        "floordiv": uf.floor_divide, "mod": uf.remainder, "pow": uf.power, "divmod": uf.divmod,
        "and": uf.bitwise_and, "or": uf.bitwise_or, "xor": uf.bitwise_xor,
        "lshift": uf.left_shift, "rshift": uf.right_shift, "matmul": lambda a, b: enp.matmul(a, b),
    }
    comparisons = {"eq": uf.equal, "ne": uf.not_equal, "lt": uf.less, "le": uf.less_equal,
                   "gt": uf.greater, "ge": uf.greater_equal}
    unary = {"neg": uf.negative, "pos": uf.positive, "abs": uf.absolute, "invert": uf.bitwise_not}
    methods = [
        "all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "choose", "clip",
        "conj", "conjugate", "cumprod", "cumsum", "diagonal", "dot", "max",
        "mean", "min", "nonzero", "prod", "ptp", "ravel", "repeat", "reshape", "round", "searchsorted",
        "sort", "squeeze", "std", "sum", "swapaxes", "take", "trace", "transpose", "var",
    ]
    for cls in (Array, Tracer):
        for name, fn in binary.items():
            setattr(cls, f"__{name}__", _binary_operator(fn))
            setattr(cls, f"__r{name}__", _reflected_operator(fn))
        for name, fn in comparisons.items():
            setattr(cls, f"__{name}__", _binary_operator(fn))
        for name, fn in unary.items():
            setattr(cls, f"__{name}__", fn)
        for name in methods:
            setattr(cls, name, _forward(name))
        cls.__getitem__ = lambda self, index: enp._getitem(self, index)
        cls.T = property(lambda self: enp.transpose(self))
        cls.mT = property(lambda self: enp.swapaxes(self, -1, -2))
        cls.real = property(lambda self: uf.real(self))
        cls.imag = property(lambda self: uf.imag(self))
        cls.at = property(lambda self: enp._IndexUpdateHelper(self))
        cls.copy = lambda self: enp.array(self, copy=True)
        cls.flatten = lambda self, order="C": enp.ravel(self, order)
        cls.view = _view
        cls.compress = lambda self, condition, axis=None, **kw: enp.compress(condition, self, axis, **kw)
        cls.__round__ = lambda self, ndigits=None: uf.round(self, ndigits or 0)
