"""``ember.nn.metrics``: ``Average``, ``Accuracy``, ``Welford``, ``MultiMetric`` (see ``ember.nn._src.metrics``)."""

from ember.nn._src.metrics import *  # noqa: F401,F403
from ember.nn._src.metrics import __all__  # noqa: F401
