"""Model surgery basics with ember.nn: list and count parameters by path, replace a submodule by
assignment, share (tie) a layer, split/merge and clone.

    python examples/nn_surgery_basics.py
"""

from __future__ import annotations

import ember.core.numpy as jnp
import ember.nn as nn


class Classifier(nn.Module):
    def __init__(self, din: int, hidden: int, classes: int, *, rngs: nn.Rngs):
        self.encoder = nn.Sequential(nn.Linear(din, hidden, rngs=rngs), nn.relu,
                                     nn.Linear(hidden, hidden, rngs=rngs), nn.relu)
        self.norm = nn.LayerNorm(hidden, rngs=rngs)
        self.head = nn.Linear(hidden, classes, rngs=rngs)

    def __call__(self, x):
        return self.head(self.norm(self.encoder(x)))


def parameter_table(model: nn.Module) -> int:
    """Print every parameter with its path and shape; return the total count."""
    total = 0
    for path, var in nn.state(model, nn.Param).flat_state():
        print(f"  {'/'.join(map(str, path)):<28} {str(tuple(var.shape)):<12} {var.size:>7}")
        total += var.size
    print(f"  {'total':<41}{total:>7}")
    return total


def main() -> None:
    model = Classifier(16, 32, 10, rngs=nn.Rngs(0))
    print("parameters by path:")
    parameter_table(model)

    print("\nparameters per module:")
    for path, module in nn.iter_modules(model):
        n = sum(v.size for _, v in nn.state(module, nn.Param).flat_state())
        print(f"  {'/'.join(map(str, path)) or '<root>':<20} {type(module).__name__:<12} {n}")

    # Replace submodules by plain assignment: a new head for 3 classes, GELU instead of ReLU.
    model.head = nn.Linear(32, 3, rngs=nn.Rngs(1))
    model.encoder.layers[1] = nn.gelu
    print("\nafter replacing the head:", model(jnp.ones((2, 16))).shape)

    # Tie two layers: the same object in two places is one set of parameters.
    model.extra = model.encoder.layers[2]
    graphdef, state = nn.split(model)
    print("the tied layer is stored once:", "extra" not in state)
    rebuilt = nn.merge(graphdef, state)
    print("and stays shared after merge:", rebuilt.extra is rebuilt.encoder.layers[2])

    copy = nn.clone(model)
    copy.head.kernel.value = copy.head.kernel.value * 0
    print("a clone is independent:", bool((model.head.kernel.value != 0).any()))


if __name__ == "__main__":
    main()
