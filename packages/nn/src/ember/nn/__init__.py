"""ember.nn — see packages/nn/README.md."""

__version__ = "0.1.0"
