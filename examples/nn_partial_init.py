"""Partial initialisation: create a model abstractly, materialise only the new layers, and load
the rest from a checkpoint (a plain ``np.savez`` file here).

    python examples/nn_partial_init.py

``nn.eval_shape`` builds the model with ``ShapeDtypeStruct``s in place of arrays: nothing is
allocated or initialised. The new classification head is then created for real by assignment,
and every other Variable gets its value from the checkpoint.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn


class Net(nn.Module):
    def __init__(self, classes: int, *, rngs: nn.Rngs):
        self.backbone = nn.Sequential(nn.Conv(3, 16, (3, 3), rngs=rngs), nn.relu,
                                      nn.Conv(16, 32, (3, 3), strides=2, rngs=rngs), nn.relu)
        self.norm = nn.LayerNorm(32, rngs=rngs)
        self.head = nn.Linear(32, classes, rngs=rngs)

    def __call__(self, x):
        h = self.norm(self.backbone(x).mean(axis=(1, 2)))
        return self.head(h)


def save(model: nn.Module, path: Path) -> None:
    np.savez(path, **{"/".join(map(str, p)): np.asarray(v.value) for p, v in nn.state(model).flat_state()})


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint_path = Path(tmp) / "pretrained.npz"
        pretrained = Net(1000, rngs=nn.Rngs(0))
        save(pretrained, checkpoint_path)

        model = nn.eval_shape(lambda: Net(10, rngs=nn.Rngs(1)))          # abstract: nothing allocated
        abstract = sum(isinstance(v.value, ec.ShapeDtypeStruct) for _, v in nn.state(model).flat_state())
        print(f"abstract model: {abstract} Variables, all ShapeDtypeStructs")

        model.head = nn.Linear(32, 10, rngs=nn.Rngs(2))                   # materialise only the new head
        checkpoint = np.load(checkpoint_path)
        loaded = 0
        for path, var in nn.state(model).flat_state():
            if isinstance(var.value, ec.ShapeDtypeStruct):
                array = checkpoint["/".join(map(str, path))]
                if array.shape != var.value.shape or array.dtype != var.value.dtype:
                    raise ValueError(f"{path}: checkpoint has {array.shape} {array.dtype}, model wants {var.value}")
                var.value = jnp.asarray(array)
                loaded += 1
        print(f"loaded {loaded} Variables from the checkpoint; the head ({model.head.kernel.shape}) is new")

        x = jnp.ones((2, 8, 8, 3))
        same = np.allclose(np.asarray(model.backbone(x)), np.asarray(pretrained.backbone(x)))
        print("backbone matches the pretrained one:", same, "| logits:", model(x).shape)


if __name__ == "__main__":
    main()
