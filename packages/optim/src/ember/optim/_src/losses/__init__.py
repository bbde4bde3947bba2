"""Loss functions (Optax's ``losses``)."""
