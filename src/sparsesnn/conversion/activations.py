"""Quantised ANN activations that make an ANN convertible to rate-coded IF neurons.

QCFS (Bu et al. 2022; 003 App. A): h(z) = λ·clip(⌊z·L/λ + ½⌋ / L, 0, 1), the floor with a
straight-through gradient, λ a learned per-layer threshold. An IF neuron with threshold θ = λ,
V(0) = θ/2 and reset by subtraction emits, for a constant input z over T = L steps, exactly
h(z) on average — the identity the converter relies on.

CS-QCFS (Yang et al. 2025; 003 App. A): the same with one threshold per channel (per feature
of a linear layer), λ_c = softplus(p_c) so a threshold can never turn negative (the failure
QCFS's λ shows with a small initial value). Its two-stage schedule (003 App. C.3) first trains
S-QCFS — one softplus threshold per layer (``sqcfs``) — then fine-tunes channel-wise thresholds:
a CS-QCFS layer loading an S-QCFS state starts every channel at the layer's threshold.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def floor_ste(x: torch.Tensor) -> torch.Tensor:
    """⌊x⌋ forward, identity gradient (the straight-through estimator of QCFS)."""
    return x + (torch.floor(x) - x).detach()


def qcfs(z: torch.Tensor, lam: torch.Tensor, levels: int) -> torch.Tensor:
    """λ·clip(⌊z·L/λ + ½⌋/L, 0, 1) with ``lam`` broadcastable against ``z``."""
    return lam * torch.clamp(floor_ste(z * levels / lam + 0.5) / levels, 0.0, 1.0)


def _channel_shape(x: torch.Tensor) -> tuple[int, ...]:
    """Shape of a per-channel parameter for ``x`` = ``[N, C, H, W]`` or ``[N, F]``."""
    return (x.shape[1], 1, 1) if x.dim() == 4 else (x.shape[1],)


class QCFS(nn.Module):
    """QCFS activation with one learned threshold λ (initial value ``lam``)."""

    def __init__(self, levels: int, lam: float = 4.0) -> None:
        super().__init__()
        self.levels = int(levels)
        self.lam = nn.Parameter(torch.tensor(float(lam)))

    def thresholds(self, like: torch.Tensor) -> torch.Tensor:
        """λ broadcast to one sample of ``like`` (``[N, ...]``)."""
        return self.lam.detach().expand(like.shape[1:]).clone()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return qcfs(z, self.lam, self.levels)


class CSQCFS(nn.Module):
    """Channel-wise QCFS: λ_c = softplus(p_c) per channel (``channels`` = 1: S-QCFS, one
    softplus threshold for the layer)."""

    def __init__(self, levels: int, lam: float = 4.0, channels: int = 1, conv: bool = False) -> None:
        super().__init__()
        self.levels = int(levels)
        p0 = lam + math.log(-math.expm1(-lam))  # softplus⁻¹(λ)
        self.p = nn.Parameter(torch.full((channels, 1, 1) if conv else (channels,), p0))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[override]
        p = state_dict.get(prefix + "p")
        if p is not None and p.numel() == 1 and self.p.numel() > 1:  # stage 2 of CS-QCFS: broadcast the layer's threshold
            state_dict = {**state_dict, prefix + "p": p.reshape(1).expand(self.p.numel()).reshape(self.p.shape).clone()}
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def lam(self) -> torch.Tensor:
        return F.softplus(self.p)

    def thresholds(self, like: torch.Tensor) -> torch.Tensor:
        return self.lam().detach().expand(like.shape[1:]).clone()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.p.numel() > 1 and tuple(self.p.shape) != _channel_shape(z):
            raise ValueError(f"CS-QCFS has thresholds of shape {tuple(self.p.shape)} but got input {tuple(z.shape)}")
        return qcfs(z, self.lam(), self.levels)


class ReLU(nn.ReLU):
    """ReLU; converters calibrate their thresholds from data."""

    def thresholds(self, like: torch.Tensor) -> None:
        return None


ACTIVATIONS = ("qcfs", "csqcfs", "sqcfs", "relu")


def make_activation(kind: str, levels: int, lam: float, in_shape: tuple[int, ...]) -> nn.Module:
    """The activation after a layer whose output (one sample) has shape ``in_shape``."""
    if kind == "qcfs":
        return QCFS(levels, lam)
    if kind in ("csqcfs", "sqcfs"):
        return CSQCFS(levels, lam, in_shape[0] if kind == "csqcfs" else 1, conv=len(in_shape) == 3)
    if kind == "relu":
        return ReLU()
    raise ValueError(f"model.activation must be one of {list(ACTIVATIONS)}; got {kind!r}")
