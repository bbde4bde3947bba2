"""``ember.optim.contrib``: newer optimizers (as ``optax.contrib``): Muon (any rank), schedule-free
SGD/AdamW, and SOAP (a Shampoo-family second-order preconditioner). Also exported from
``ember.optim``.
"""

from ember.optim._src.contrib.muon import (
    MuonDimensionNumbers,
    MuonState,
    default_dimension_numbers,
    muon,
    orthogonalize_via_newton_schulz,
    scale_by_muon,
    scale_by_shape,
)
from ember.optim._src.contrib.schedule_free import (
    ScheduleFreeState,
    schedule_free,
    schedule_free_adamw,
    schedule_free_eval_params,
    schedule_free_sgd,
)
from ember.optim._src.contrib.soap import ScaleBySoapState, scale_by_soap, soap

__all__ = [
    "MuonDimensionNumbers", "MuonState", "ScaleBySoapState", "ScheduleFreeState", "default_dimension_numbers", "muon",
    "orthogonalize_via_newton_schulz", "scale_by_muon", "scale_by_shape", "scale_by_soap", "schedule_free",
    "schedule_free_adamw", "schedule_free_eval_params", "schedule_free_sgd", "soap",
]
