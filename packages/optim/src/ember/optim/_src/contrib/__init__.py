"""Newer and experimental optimizers (Optax's ``contrib``): Muon, schedule-free, SOAP."""
