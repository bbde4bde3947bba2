"""ember.optim — see packages/optim/README.md."""

__version__ = "0.1.0"
