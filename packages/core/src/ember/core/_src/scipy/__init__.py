"""SciPy-compatible functions on ember.core's primitives (public as ``ember.core.scipy``)."""
