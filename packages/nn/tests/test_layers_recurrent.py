import numpy as np

import ember.core.numpy as jnp
import ember.nn as nn

RNG = np.random.default_rng(0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lin(layer, x):
    y = x @ np.asarray(layer.kernel.value)
    return y + np.asarray(layer.bias.value) if layer.bias is not None else y


def test_lstm_cell_formula():
    cell = nn.LSTMCell(3, 4, rngs=nn.Rngs(0))
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    c, h = (RNG.normal(size=(2, 4)).astype(np.float32) for _ in range(2))
    (c2, h2), y = cell((jnp.asarray(c), jnp.asarray(h)), jnp.asarray(x))
    i = sigmoid(lin(cell.ii, x) + lin(cell.hi, h))
    f = sigmoid(lin(cell.if_, x) + lin(cell.hf, h))
    g = np.tanh(lin(cell.ig, x) + lin(cell.hg, h))
    o = sigmoid(lin(cell.io, x) + lin(cell.ho, h))
    c_ref = f * c + i * g
    np.testing.assert_allclose(np.asarray(c2), c_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h2), o * np.tanh(c_ref), rtol=1e-4, atol=1e-5)
    assert cell.ii.bias is None and cell.hi.bias is not None
    c0, h0 = cell.initialize_carry((2, 3))
    assert c0.shape == h0.shape == (2, 4) and not np.asarray(c0).any()


def test_gru_cell_formula():
    cell = nn.GRUCell(3, 2, rngs=nn.Rngs(0))
    x = RNG.normal(size=(5, 3)).astype(np.float32)
    h = RNG.normal(size=(5, 2)).astype(np.float32)
    new, _ = cell(jnp.asarray(h), jnp.asarray(x))
    xr, xz, xn = np.split(lin(cell.dense_i, x), 3, axis=-1)
    hr, hz, hn = np.split(lin(cell.dense_h, h), 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    np.testing.assert_allclose(np.asarray(new), (1 - z) * n + z * h, rtol=1e-4, atol=1e-5)


def test_rnn_equals_python_loop_and_reverse():
    cell = nn.OptimizedLSTMCell(3, 4, rngs=nn.Rngs(0))
    rnn = nn.RNN(cell, return_carry=True)
    x = jnp.asarray(RNG.normal(size=(2, 6, 3)).astype(np.float32))
    carry, ys = rnn(x)
    c = cell.initialize_carry((2, 3))
    outs = []
    for t in range(6):
        c, y = cell(c, x[:, t])
        outs.append(np.asarray(y))
    np.testing.assert_allclose(np.asarray(ys), np.stack(outs, axis=1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(carry[1]), outs[-1], rtol=1e-4, atol=1e-5)
    rev = nn.RNN(cell, reverse=True, keep_order=True)(x)
    c = cell.initialize_carry((2, 3))
    outs = []
    for t in reversed(range(6)):
        c, y = cell(c, x[:, t])
        outs.append(np.asarray(y))
    np.testing.assert_allclose(np.asarray(rev), np.stack(outs[::-1], axis=1), rtol=1e-4, atol=1e-5)


def test_rnn_seq_lengths_and_time_major_and_bidirectional():
    cell = nn.SimpleCell(2, 3, rngs=nn.Rngs(0))
    x = jnp.asarray(RNG.normal(size=(5, 2, 2)).astype(np.float32))     # time major
    ys = nn.RNN(cell, time_major=True)(x)
    assert ys.shape == (5, 2, 3)
    xb = jnp.asarray(RNG.normal(size=(2, 5, 2)).astype(np.float32))
    carry, _ = nn.RNN(cell)(xb, seq_lengths=jnp.array([2, 5]), return_carry=True)
    _, ys_short = nn.RNN(cell)(xb[:1, :2], return_carry=True), None
    np.testing.assert_allclose(np.asarray(carry[0]), np.asarray(nn.RNN(cell)(xb[:1, :2])[0, -1]), rtol=1e-5)
    bi = nn.Bidirectional(nn.RNN(nn.GRUCell(2, 3, rngs=nn.Rngs(0))), nn.RNN(nn.GRUCell(2, 3, rngs=nn.Rngs(1))))
    assert bi(xb).shape == (2, 5, 6)
    del ys_short
