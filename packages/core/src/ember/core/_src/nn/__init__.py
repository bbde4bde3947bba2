"""Neural-network functions (public as ``ember.core.nn``): activations, softmax, attention
(``functions``) and parameter initializers (``initializers``)."""
