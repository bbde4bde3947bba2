"""The primitive-level API (public as ``ember.core.lax``): one function per primitive, no
implicit broadcasting or promotion (a Python scalar operand takes the other operand's dtype)."""

from __future__ import annotations

import importlib

_sources = {
    "ember.core._src.primitives.elementwise": [
        "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bitcast_convert_type",
        "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "cbrt", "ceil", "clamp", "clz", "complex",
        "conj", "convert_element_type", "cos", "cosh", "digamma", "div", "eq", "erf", "erf_inv", "erfc", "exp",
        "exp2", "expm1", "floor", "ge", "gt", "imag", "integer_pow", "is_finite", "le", "lgamma", "log",
        "log1p", "logistic", "lt", "max", "min", "mul", "ne", "neg", "nextafter", "polygamma",
        "population_count", "pow", "real", "reduce_precision", "rem", "round", "RoundingMethod", "rsqrt",
        "select", "select_n", "shift_left", "shift_right_arithmetic", "shift_right_logical", "sign", "sin",
        "sinh", "sqrt", "square", "sub", "tan", "tanh", "full_like",
    ],
    "ember.core._src.primitives.shape": [
        "broadcast", "broadcast_in_dim", "broadcasted_iota", "concatenate", "dynamic_index_in_dim",
        "dynamic_slice", "dynamic_slice_in_dim", "dynamic_update_index_in_dim", "dynamic_update_slice",
        "dynamic_update_slice_in_dim", "expand_dims", "full", "index_in_dim", "iota", "pad", "reshape",
        "rev", "slice", "slice_in_dim", "squeeze", "transpose",
    ],
    "ember.core._src.primitives.reductions": [
        "argmax", "argmin", "reduce_and", "reduce_max", "reduce_min", "reduce_or", "reduce_prod",
        "reduce_sum", "reduce_xor",
    ],
}

__all__: list[str] = []


def _gather(sources: dict[str, list[str]]) -> None:
    for module_name, names in sources.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:
                raise
            continue
        for name in names:
            globals()[name] = getattr(module, name)
            __all__.append(name)


_gather(_sources)
