"""Honest energy accounting: synaptic operations that really happen on the sparse topology."""

from .recorder import ActivityRecorder
from .sops import E_AC_PJ, E_MAC_PJ, PJ_PER_SOP_ANP1, energy_45nm_mj, energy_anp1_mj, out_degree, synaptic_ops

__all__ = [
    "ActivityRecorder",
    "synaptic_ops",
    "out_degree",
    "energy_anp1_mj",
    "energy_45nm_mj",
    "PJ_PER_SOP_ANP1",
    "E_MAC_PJ",
    "E_AC_PJ",
]
