"""AEC: at most two exponentially weighted spikes per neuron and coding window (Chen et al. 2024).

A spike at step t ∈ {0..T} of a window weighs θ·e^{t_d − k·t} (an exponentially decaying
threshold). For activation a ≥ 0 the primary spike fires at t₁ = max(0, ⌈(t_d − ln(a/θ₁))/k⌉)
with weight u₁ = θ₁e^{t_d − k t₁} ≤ a, unless t₁ > T (no spike); the compensating spike encodes
the residual r = a − u₁ the same way with (θ₂, t_d₂, k₂), no earlier than t₁. The next layer
integrates u₁ + u₂ over the window. Computed in closed form (as the reference code does); unlike
the reference, a neuron whose spike time exceeds the window emits nothing instead of relying on
a batch-dependent "equal to the global minimum" rule, so the output of a sample does not depend
on its batch.

Time step: T is one coding window; a layer-pipelined run takes about layers·(T + 1) steps.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def ceil_ste(x: torch.Tensor) -> torch.Tensor:
    """⌈x⌉ forward, identity gradient."""
    return x + (torch.ceil(x) - x).detach()


def _spike(a: torch.Tensor, theta, td, k, T: int, earliest: torch.Tensor | None):
    """(weight, fired) of one exponentially weighted spike coding ``a``."""
    positive = a > 0
    log_ratio = torch.log(torch.where(positive, a, torch.ones_like(a)) / theta)
    t = torch.clamp(ceil_ste((td - log_ratio) / k), min=0.0)
    if earliest is not None:
        t = torch.maximum(t, earliest)
    fired = positive & (t <= T)
    return torch.where(fired, theta * torch.exp(td - k * t), torch.zeros_like(a)), fired, t


def aec_encode(a: torch.Tensor, params: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(decoded value u₁ + u₂, spike count per neuron ∈ {0, 1, 2}) of activations ``a`` for a
    window of ``T`` steps. ``params`` = (log θ₁, t_d, log k, log θ₂, t_d₂, log k₂) — logs keep the
    fine-tuned thresholds and decay rates positive."""
    th1, td1, k1, th2, td2, k2 = params[0].exp(), params[1], params[2].exp(), params[3].exp(), params[4], params[5].exp()
    u1, f1, t1 = _spike(a, th1, td1, k1, T, None)
    u2, f2, _ = _spike(a - u1, th2, td2, k2, T, torch.where(f1, t1, torch.zeros_like(t1)).detach())
    return u1 + u2, f1.to(torch.int8) + f2.to(torch.int8)


def initial_params(a: torch.Tensor) -> torch.Tensor:
    """Start from codes that reach the 99.9th percentile of the layer's activations at t = 0 with
    halving weights (k = ln 2), the compensating spike one level finer."""
    top = float(torch.quantile(a.flatten()[:1_000_000].double(), 0.999).clamp_min(1e-3))
    k = math.log(2.0)
    return torch.tensor([math.log(top), 0.0, math.log(k), math.log(top / 2), 0.0, math.log(k)])


class AECParams(nn.Module):
    """The six learnable scalars of every population (fine-tuned with the ANN weights frozen)."""

    def __init__(self, initial: list[torch.Tensor]) -> None:
        super().__init__()
        self.values = nn.ParameterList(nn.Parameter(p.clone().float()) for p in initial)
