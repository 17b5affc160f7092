"""Typed configuration of the topology engine."""

from __future__ import annotations

from dataclasses import dataclass

from ..layers.sparse_linear import check_sparsity
from .init import TOPOLOGY_INITS
from .schedules import ZETA_SCHEDULES

REMOVALS = ("lrs", "magnitude")
REGROWTHS = ("ch3_l3", "ch2_l3n", "ch3_l3n", "random", "gradient")


def _choice(field: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"topology.{field} must be one of {list(allowed)}; got {value!r}")


@dataclass
class TopologyConfig:
    """How sparse layers are initialised and evolved (CH-SNN defaults, 001 §3.2 and A.5).

    Attributes:
        sparsity: target link sparsity S of every sparse layer, in [0, 1).
        init: initial topology of the first sparse layer: ``sscti`` (001 §3.2.1), ``uniform``
            or ``brf``; later layers use ``uniform`` unless ``init`` is ``brf``.
        removal: ``lrs`` (001 eq. 4) or ``magnitude``.
        regrowth: ``ch3_l3`` (001 eq. 5), ``ch2_l3n`` / ``ch3_l3n`` (003 eq. A3–A4),
            ``random`` (SET) or ``gradient`` (RigL).
        delta_removal, delta_regrowth: sampling sharpness δ (001 eq. 20–25).
        zeta: initial removal fraction ζ; ``zeta_schedule``: ``cosine`` (001 eq. 26) or ``constant``.
        update_fraction: evolve during this fraction of the epochs (CHT's T_end = 0.75).
        chain_removal: remove inactive neurons across consecutive sparse layers (001 §3.2.3).
        early_stop_overlap: stop a layer's evolution once |regrown ∩ removed|/|regrown| exceeds
            this (001 A.2.1); ``None`` disables.
        initial_sparsity: if set, sparsity decays from it to ``sparsity`` on the sigmoid of
            003 eq. A6 (CHTss) over the evolving epochs.
        evolve: ``False`` keeps the initial topology (static sparse training).
        conv_sparsity, conv_regrowth: for convolutions (CHT-Conv on the unfolded kernel matrix);
            ``conv_sparsity: null`` keeps convolutions dense, ``conv_regrowth: null`` uses
            ``regrowth``.
    """

    sparsity: float = 0.975
    init: str = "sscti"
    brf_randomness: float = 0.25
    removal: str = "lrs"
    regrowth: str = "ch3_l3"
    delta_removal: float = 0.5
    delta_regrowth: float = 0.5
    zeta: float = 0.3
    zeta_schedule: str = "cosine"
    update_fraction: float = 1.0
    chain_removal: bool = True
    early_stop_overlap: float | None = 0.95
    initial_sparsity: float | None = None
    evolve: bool = True
    conv_sparsity: float | None = None
    conv_regrowth: str | None = None

    def validate(self) -> "TopologyConfig":
        for name in ("sparsity", "initial_sparsity", "conv_sparsity"):
            value = getattr(self, name)
            if value is not None:
                try:
                    check_sparsity(value)
                except ValueError as exc:
                    raise ValueError(f"topology.{name}: {exc}") from None
        if self.initial_sparsity is not None and self.initial_sparsity > self.sparsity:
            raise ValueError("topology.initial_sparsity must not exceed topology.sparsity")
        _choice("init", self.init, TOPOLOGY_INITS)
        _choice("removal", self.removal, REMOVALS)
        _choice("regrowth", self.regrowth, REGROWTHS)
        if self.conv_regrowth is not None:
            _choice("conv_regrowth", self.conv_regrowth, REGROWTHS)
        _choice("zeta_schedule", self.zeta_schedule, tuple(ZETA_SCHEDULES))
        for name in ("delta_removal", "delta_regrowth"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"topology.{name} must be in [0, 1]; got {getattr(self, name)}")
        if not 0.0 <= self.zeta < 1.0:
            raise ValueError(f"topology.zeta must be in [0, 1); got {self.zeta}")
        if not 0.0 < self.update_fraction <= 1.0:
            raise ValueError(f"topology.update_fraction must be in (0, 1]; got {self.update_fraction}")
        if self.early_stop_overlap is not None and not 0.0 < self.early_stop_overlap <= 1.0:
            raise ValueError(f"topology.early_stop_overlap must be in (0, 1] or null; got {self.early_stop_overlap}")
        if not 0.0 < self.brf_randomness <= 1.0:
            raise ValueError(f"topology.brf_randomness must be in (0, 1]; got {self.brf_randomness}")
        return self
