"""ember.data — see packages/data/README.md."""

__version__ = "0.1.0"
