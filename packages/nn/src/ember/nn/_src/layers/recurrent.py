"""Recurrent cells and ``RNN``: ``LSTMCell``, ``OptimizedLSTMCell``, ``GRUCell``, ``SimpleCell``.

A cell maps ``(carry, x_t) -> (new_carry, y_t)``; ``RNN(cell)`` runs it over the time axis with
``nn.scan``. Parameter layout follows Flax NNX (``LSTMCell`` has ``ii, if_, ig, io`` input
Linears without bias and ``hi, hf, hg, ho`` recurrent Linears with bias; ``GRUCell`` has
``dense_i`` (3*hidden, bias) and ``dense_h`` (3*hidden, no bias)).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> rnn = nn.RNN(nn.GRUCell(3, 5, rngs=nn.Rngs(0)))
    >>> rnn(jnp.ones((2, 7, 3))).shape                       # (batch, time, features)
    (2, 7, 5)
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import random

from ... import initializers
from ..module import Module
from ..rngs import Rngs, RngStream
from .dtypes import promote_dtype
from .linear import _EMPTY, Linear, default_kernel_init

__all__ = ["RNNCellBase", "LSTMCell", "OptimizedLSTMCell", "GRUCell", "SimpleCell", "RNN", "Bidirectional",
           "flip_sequences"]


def modified_orthogonal(key: Any, shape: tuple, dtype: Any = jnp.float32) -> Any:
    """Orthogonal initialisation computed in float32, then cast (half-precision friendly)."""
    return initializers.orthogonal()(key, shape).astype(dtype)


def _carry_key(rngs: Any) -> Any:
    if rngs is None:
        return random.PRNGKey(0)
    if isinstance(rngs, Rngs):
        return rngs.carry()
    if isinstance(rngs, RngStream):
        return rngs()
    return rngs


class RNNCellBase(Module):
    """Base class: ``initialize_carry(input_shape, rngs=None)`` and ``num_feature_axes``."""

    def initialize_carry(self, input_shape: tuple[int, ...], rngs: Any = None) -> Any:
        raise NotImplementedError

    @property
    def num_feature_axes(self) -> int:
        return 1


def _dense(in_features: int, out_features: int, use_bias: bool, kernel_init: Callable, bias_init: Callable,
           dtype: Any, param_dtype: Any, promote: Callable, rngs: Rngs, kernel_metadata: Mapping,
           bias_metadata: Mapping = _EMPTY) -> Linear:
    return Linear(in_features, out_features, use_bias=use_bias, kernel_init=kernel_init, bias_init=bias_init,
                  dtype=dtype, param_dtype=param_dtype, promote_dtype=promote, rngs=rngs,
                  kernel_metadata=kernel_metadata, bias_metadata=bias_metadata)


class LSTMCell(RNNCellBase):
    """LSTM: ``i, f, o = sigmoid(...)``, ``g = tanh(...)``, ``c' = f*c + i*g``, ``h' = o*tanh(c')``.
    The carry is ``(c, h)``."""

    def __init__(self, in_features: int, hidden_features: int, *, gate_fn: Callable = ec.nn.sigmoid,
                 activation_fn: Callable = ec.nn.tanh, kernel_init: Callable = default_kernel_init,
                 recurrent_kernel_init: Callable = modified_orthogonal,
                 bias_init: Callable = initializers.zeros_init(), dtype: Any = None, param_dtype: Any = jnp.float32,
                 carry_init: Callable | None = None, promote_dtype: Callable = promote_dtype,
                 keep_rngs: bool = False, rngs: Rngs, kernel_metadata: Mapping[str, Any] = _EMPTY,
                 recurrent_kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.gate_fn = gate_fn
        self.activation_fn = activation_fn
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.promote_dtype = promote_dtype
        self.rngs = rngs.carry.fork() if keep_rngs else None

        def dense_i() -> Linear:
            return _dense(in_features, hidden_features, False, kernel_init, bias_init, dtype, param_dtype,
                          promote_dtype, rngs, kernel_metadata)

        def dense_h() -> Linear:
            return _dense(hidden_features, hidden_features, True, recurrent_kernel_init, bias_init, dtype,
                          param_dtype, promote_dtype, rngs, recurrent_kernel_metadata, bias_metadata)

        self.ii = dense_i()
        self.if_ = dense_i()
        self.ig = dense_i()
        self.io = dense_i()
        self.hi = dense_h()
        self.hf = dense_h()
        self.hg = dense_h()
        self.ho = dense_h()
        self.carry_init = carry_init

    def __call__(self, carry: tuple[Any, Any], inputs: Any) -> tuple[tuple[Any, Any], Any]:
        c, h = carry
        i = self.gate_fn(self.ii(inputs) + self.hi(h))
        f = self.gate_fn(self.if_(inputs) + self.hf(h))
        g = self.activation_fn(self.ig(inputs) + self.hg(h))
        o = self.gate_fn(self.io(inputs) + self.ho(h))
        new_c = f * c + i * g
        new_h = o * self.activation_fn(new_c)
        return (new_c, new_h), new_h

    def initialize_carry(self, input_shape: tuple[int, ...], rngs: Any = None,
                         carry_init: Callable | None = None) -> tuple[Any, Any]:
        init = carry_init or self.carry_init or initializers.zeros_init()
        shape = tuple(input_shape[:-1]) + (self.hidden_features,)
        rngs = rngs if rngs is not None else self.rngs
        c = init(_carry_key(rngs), shape, self.param_dtype)
        h = init(_carry_key(rngs), shape, self.param_dtype)
        return c, h


class OptimizedLSTMCell(RNNCellBase):
    """The same LSTM with the four gates computed by one ``dense_i`` and one ``dense_h``."""

    def __init__(self, in_features: int, hidden_features: int, *, gate_fn: Callable = ec.nn.sigmoid,
                 activation_fn: Callable = ec.nn.tanh, kernel_init: Callable = default_kernel_init,
                 recurrent_kernel_init: Callable = initializers.orthogonal(),
                 bias_init: Callable = initializers.zeros_init(), dtype: Any = None, param_dtype: Any = jnp.float32,
                 carry_init: Callable | None = None, promote_dtype: Callable = promote_dtype,
                 keep_rngs: bool = False, rngs: Rngs, kernel_metadata: Mapping[str, Any] = _EMPTY,
                 recurrent_kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.gate_fn = gate_fn
        self.activation_fn = activation_fn
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.promote_dtype = promote_dtype
        self.rngs = rngs.carry.fork() if keep_rngs else None
        self.dense_i = _dense(in_features, 4 * hidden_features, False, kernel_init, bias_init, dtype, param_dtype,
                              promote_dtype, rngs, kernel_metadata)
        self.dense_h = _dense(hidden_features, 4 * hidden_features, True, recurrent_kernel_init, bias_init, dtype,
                              param_dtype, promote_dtype, rngs, recurrent_kernel_metadata, bias_metadata)
        self.carry_init = carry_init

    def __call__(self, carry: tuple[Any, Any], inputs: Any) -> tuple[tuple[Any, Any], Any]:
        c, h = carry
        y = self.dense_i(inputs) + self.dense_h(h)
        i, f, g, o = jnp.split(y, 4, axis=-1)
        new_c = self.gate_fn(f) * c + self.gate_fn(i) * self.activation_fn(g)
        new_h = self.gate_fn(o) * self.activation_fn(new_c)
        return (new_c, new_h), new_h

    initialize_carry = LSTMCell.initialize_carry


class GRUCell(RNNCellBase):
    """GRU: ``r, z = sigmoid(...)``, ``n = tanh(x_n + r * h_n)``, ``h' = (1 - z) * n + z * h``."""

    def __init__(self, in_features: int, hidden_features: int, *, gate_fn: Callable = ec.nn.sigmoid,
                 activation_fn: Callable = ec.nn.tanh, kernel_init: Callable = default_kernel_init,
                 recurrent_kernel_init: Callable = initializers.orthogonal(),
                 bias_init: Callable = initializers.zeros_init(), dtype: Any = None, param_dtype: Any = jnp.float32,
                 carry_init: Callable | None = None, promote_dtype: Callable = promote_dtype,
                 keep_rngs: bool = False, rngs: Rngs, kernel_metadata: Mapping[str, Any] = _EMPTY,
                 recurrent_kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.gate_fn = gate_fn
        self.activation_fn = activation_fn
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.promote_dtype = promote_dtype
        self.rngs = rngs.carry.fork() if keep_rngs else None
        self.dense_i = _dense(in_features, 3 * hidden_features, True, kernel_init, bias_init, dtype, param_dtype,
                              promote_dtype, rngs, kernel_metadata, bias_metadata)
        self.dense_h = _dense(hidden_features, 3 * hidden_features, False, recurrent_kernel_init, bias_init, dtype,
                              param_dtype, promote_dtype, rngs, recurrent_kernel_metadata)
        self.carry_init = carry_init

    def __call__(self, carry: Any, inputs: Any) -> tuple[Any, Any]:
        h = carry
        xr, xz, xn = jnp.split(self.dense_i(inputs), 3, axis=-1)
        hr, hz, hn = jnp.split(self.dense_h(h), 3, axis=-1)
        r = self.gate_fn(xr + hr)
        z = self.gate_fn(xz + hz)
        n = self.activation_fn(xn + r * hn)
        new_h = (1.0 - z) * n + z * h
        return new_h, new_h

    def initialize_carry(self, input_shape: tuple[int, ...], rngs: Any = None,
                         carry_init: Callable | None = None) -> Any:
        init = carry_init or self.carry_init or initializers.zeros_init()
        rngs = rngs if rngs is not None else self.rngs
        return init(_carry_key(rngs), tuple(input_shape[:-1]) + (self.hidden_features,), self.param_dtype)


class SimpleCell(RNNCellBase):
    """Elman cell: ``h' = tanh(dense_i(x) + dense_h(h))``."""

    def __init__(self, in_features: int, hidden_features: int, *, dtype: Any = None, param_dtype: Any = jnp.float32,
                 carry_init: Callable | None = None, residual: bool = False, activation_fn: Callable = ec.nn.tanh,
                 kernel_init: Callable = default_kernel_init,
                 recurrent_kernel_init: Callable = initializers.orthogonal(),
                 bias_init: Callable = initializers.zeros_init(), promote_dtype: Callable = promote_dtype,
                 keep_rngs: bool = False, rngs: Rngs, kernel_metadata: Mapping[str, Any] = _EMPTY,
                 recurrent_kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.residual = residual
        self.activation_fn = activation_fn
        self.rngs = rngs.carry.fork() if keep_rngs else None
        self.dense_h = _dense(hidden_features, hidden_features, True, recurrent_kernel_init, bias_init, dtype,
                              param_dtype, promote_dtype, rngs, recurrent_kernel_metadata, bias_metadata)
        self.dense_i = _dense(in_features, hidden_features, False, kernel_init, bias_init, dtype, param_dtype,
                              promote_dtype, rngs, kernel_metadata)
        self.carry_init = carry_init

    def __call__(self, carry: Any, inputs: Any) -> tuple[Any, Any]:
        new = self.activation_fn(self.dense_i(inputs) + self.dense_h(carry))
        if self.residual:
            new = new + carry
        return new, new

    initialize_carry = GRUCell.initialize_carry


def flip_sequences(inputs: Any, seq_lengths: Any, num_batch_dims: int, time_major: bool) -> Any:
    """Reverse each sequence along time, keeping padding at the end when ``seq_lengths`` is given."""
    time_axis = 0 if time_major else num_batch_dims
    max_steps = inputs.shape[time_axis]
    if seq_lengths is None:
        return jnp.flip(inputs, axis=time_axis)
    seq_lengths = jnp.expand_dims(seq_lengths, axis=time_axis)
    idxs = jnp.arange(max_steps - 1, -1, -1)
    if time_major:
        idxs = jnp.reshape(idxs, [max_steps] + [1] * num_batch_dims)
    else:
        idxs = jnp.reshape(idxs, [1] * num_batch_dims + [max_steps])
    idxs = (idxs + seq_lengths) % max_steps
    idxs = idxs.reshape(tuple(idxs.shape) + (1,) * (inputs.ndim - idxs.ndim))
    return jnp.take_along_axis(inputs, idxs, axis=time_axis)


class RNN(Module):
    """Run ``cell`` over the time axis (``(batch..., time, features)``, or time first with
    ``time_major``), returning the outputs (and the final carry with ``return_carry``)."""

    def __init__(self, cell: RNNCellBase, *, time_major: bool = False, return_carry: bool = False,
                 reverse: bool = False, keep_order: bool = False, unroll: int = 1, rngs: Any = True):
        self.cell = cell
        self.time_major = time_major
        self.return_carry = return_carry
        self.reverse = reverse
        self.keep_order = keep_order
        self.unroll = unroll
        if rngs is True:
            self.rngs = RngStream(0, tag="carry")
        elif isinstance(rngs, Rngs):
            self.rngs = rngs.carry.fork()
        elif rngs is False or rngs is None:
            self.rngs = None
        else:
            raise ValueError(f"rngs must be Rngs or a bool, got {type(rngs).__name__}")

    def __call__(self, inputs: Any, *, initial_carry: Any = None, seq_lengths: Any = None,
                 return_carry: bool | None = None, time_major: bool | None = None, reverse: bool | None = None,
                 keep_order: bool | None = None, rngs: Any = None) -> Any:
        from ..transforms import Carry, scan

        return_carry = self.return_carry if return_carry is None else return_carry
        time_major = self.time_major if time_major is None else time_major
        reverse = self.reverse if reverse is None else reverse
        keep_order = self.keep_order if keep_order is None else keep_order
        time_axis = 0 if time_major else inputs.ndim - (self.cell.num_feature_axes + 1)
        batch_dims = inputs.shape[1:-self.cell.num_feature_axes] if time_major else inputs.shape[:time_axis]
        if reverse:
            inputs = flip_sequences(inputs, seq_lengths, len(batch_dims), time_major)
        if initial_carry is None:
            if rngs is None:
                rngs = self.rngs
            carry = self.cell.initialize_carry(inputs.shape[:time_axis] + inputs.shape[time_axis + 1:], rngs)
        else:
            carry = initial_carry
        slice_carry = seq_lengths is not None and return_carry

        def step(cell: Any, carry: Any, x: Any) -> Any:
            carry, y = cell(carry, x)
            return carry, ((carry, y) if slice_carry else y)

        out_axes = (Carry, (0, time_axis)) if slice_carry else (Carry, time_axis)
        carry, outputs = scan(step, in_axes=(None, Carry, time_axis), out_axes=out_axes,
                              unroll=self.unroll)(self.cell, carry, inputs)
        if slice_carry:
            carries, outputs = outputs
            last = seq_lengths - 1
            carry = ec.tree.map(lambda x: x[last, jnp.arange(x.shape[1])], carries)
        if reverse and keep_order:
            outputs = flip_sequences(outputs, seq_lengths, len(batch_dims), time_major)
        return (carry, outputs) if return_carry else outputs


class Bidirectional(Module):
    """Run a forward and a backward RNN and merge their outputs (concatenated by default)."""

    def __init__(self, forward_rnn: RNN, backward_rnn: RNN, *, merge_fn: Callable | None = None,
                 time_major: bool = False, return_carry: bool = False):
        self.forward_rnn = forward_rnn
        self.backward_rnn = backward_rnn
        self.merge_fn = merge_fn
        self.time_major = time_major
        self.return_carry = return_carry

    def __call__(self, inputs: Any, *, initial_carry: Any = None, seq_lengths: Any = None,
                 return_carry: bool | None = None) -> Any:
        return_carry = self.return_carry if return_carry is None else return_carry
        fc, bc = (None, None) if initial_carry is None else initial_carry
        carry_f, out_f = self.forward_rnn(inputs, initial_carry=fc, seq_lengths=seq_lengths, return_carry=True,
                                          time_major=self.time_major, reverse=False)
        carry_b, out_b = self.backward_rnn(inputs, initial_carry=bc, seq_lengths=seq_lengths, return_carry=True,
                                           time_major=self.time_major, reverse=True, keep_order=True)
        merge = self.merge_fn or (lambda a, b: jnp.concatenate([a, b], axis=-1))
        outputs = ec.tree.map(merge, out_f, out_b)
        return ((carry_f, carry_b), outputs) if return_carry else outputs
