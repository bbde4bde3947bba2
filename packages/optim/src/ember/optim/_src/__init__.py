"""Private implementation of ember.optim. Import the public names from ``ember.optim``."""
