"""ember.checkpoint — see packages/checkpoint/README.md."""

__version__ = "0.1.0"
