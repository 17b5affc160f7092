"""Topology engine: initialisation, link scores, sampling, chain removal, schedules."""

from .chain import chain_removal
from .config import TopologyConfig
from .engine import LayerUpdate, TopologyEngine
from .sampling import sample_top_k
from .scores import ch2_l3n, ch3_l3, ch3_l3n, link_removal_score

__all__ = [
    "TopologyConfig",
    "TopologyEngine",
    "LayerUpdate",
    "ch3_l3",
    "ch2_l3n",
    "ch3_l3n",
    "link_removal_score",
    "sample_top_k",
    "chain_removal",
]
