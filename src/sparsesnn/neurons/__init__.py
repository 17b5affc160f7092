"""Spiking neurons: pure dynamics (:mod:`.functional`), module wrappers, surrogates, encoders."""

from . import encoders, surrogate
from .functional import lif_multistep, lif_multistep_reference
from .lif import LIF

__all__ = ["LIF", "lif_multistep", "lif_multistep_reference", "surrogate", "encoders"]
