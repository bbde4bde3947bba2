"""Regenerate nnx_reference.json with Flax NNX (run where flax is installed; not part of the suite).

    python packages/nn/tests/data/make_nnx_reference.py > packages/nn/tests/data/nnx_reference.json

Values: parameters Flax NNX initialises from fixed seeds, and a few outputs. test_parity.py checks
that ember.nn builds the same parameters (names, shapes and values) from the same seeds.
"""

import json

import jax.numpy as jnp
import numpy as np
from flax import nnx

out = {}
m = nnx.Linear(3, 4, rngs=nnx.Rngs(0))
out["linear_kernel"] = np.asarray(m.kernel[...]).tolist()
c = nnx.Conv(2, 3, (3, 3), rngs=nnx.Rngs(1))
out["conv_kernel_00"] = np.asarray(c.kernel[...][0, 0]).tolist()
e = nnx.Embed(5, 3, rngs=nnx.Rngs(2))
out["embed"] = np.asarray(e.embedding[...]).tolist()
lstm = nnx.LSTMCell(2, 3, rngs=nnx.Rngs(3))
out["lstm_hi"] = np.asarray(lstm.hi.kernel[...]).tolist()
out["lstm_ii"] = np.asarray(lstm.ii.kernel[...]).tolist()
g = nnx.GRUCell(2, 3, rngs=nnx.Rngs(3))
out["gru_dense_h"] = np.asarray(g.dense_h.kernel[...]).tolist()
mha = nnx.MultiHeadAttention(2, 4, rngs=nnx.Rngs(4), decode=False)
out["mha_query"] = np.asarray(mha.query.kernel[...]).tolist()
out["mha_out"] = np.asarray(mha.out.kernel[...]).tolist()
lora = nnx.LoRALinear(3, 2, lora_rank=2, rngs=nnx.Rngs(5))
out["lora_a"] = np.asarray(lora.lora.lora_a[...]).tolist()
out["lora_kernel"] = np.asarray(lora.kernel[...]).tolist()
d = nnx.Dropout(0.5, rngs=nnx.Rngs(dropout=6))
out["dropout"] = np.asarray(d(jnp.ones(8))).tolist()
x = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
x4 = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
out["linear_x"] = np.asarray(m(x)).tolist()
out["mha_y"] = np.asarray(mha(x4[None])).tolist()
print(json.dumps(out))
