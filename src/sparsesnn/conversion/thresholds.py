"""Firing thresholds of converted neurons, calibrated on *training* data (the reference code of
SNM and DCGS calibrates on the test set, which leaks it; notes §3, §5)."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import erf

from ..models.ann import SparseANN

_NEVER = 1e30  # threshold of a neuron that never activated: it never fires (0·θ stays 0)


@torch.no_grad()
def collect(model: SparseANN, x: torch.Tensor, batch_size: int = 500) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(pre-activations, activations) of every population over the samples ``x``: ``[N, ...]``."""
    model.eval()
    parts: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    for i in range(0, len(x), batch_size):
        taps: list = []
        model(x[i : i + batch_size], taps=taps)
        parts.append(taps)
    return [(torch.cat([p[j][0] for p in parts]), torch.cat([p[j][1] for p in parts])) for j in range(len(parts[0]))]


def neuron_max(a: torch.Tensor) -> torch.Tensor:
    """Neuron-wise maximum activation over samples (SNM's θ; reduced over the sample dimension,
    not kept per batch slot as in the reference code)."""
    m = a.amax(0)
    return torch.where(m > 0, m, torch.full_like(m, _NEVER))


def channel_percentile(a: torch.Tensor, q: float = 99.9) -> torch.Tensor:
    """Per-channel q-th percentile of the activation (DCGS's "99.9%"), broadcast to one sample
    (channels of a conv map; features of a linear layer)."""
    rows = a.transpose(0, 1).reshape(a.shape[1], -1)  # [channels, observations]
    p = _row_quantile(rows, q / 100.0)
    p = (p.view(-1, 1, 1) if a.dim() == 4 else p).expand(a.shape[1:])
    return torch.where(p > 0, p, torch.full_like(p, _NEVER)).contiguous()


def _row_quantile(rows: torch.Tensor, q: float, limit: int = 1 << 23) -> torch.Tensor:
    """Quantile of every row, a block of rows at a time: torch.quantile refuses inputs above
    2^24 elements, which a conv map over a calibration set exceeds."""
    step = max(1, limit // max(1, rows.shape[1]))
    return torch.cat([torch.quantile(rows[i : i + step].double(), q, dim=1).float() for i in range(0, rows.shape[0], step)])


def gaussian_optimal_threshold(mu: float, sigma: float, levels: int, iterations: int = 100) -> float:
    """DCGS's threshold for a Gaussian pre-activation z ~ N(μ, σ²) quantised on ``levels``
    levels: the fixed point of θ ← θ·k₁(θ) from θ = 1, with c_i = (2i − 1)θ/(2N),
    e_i = erf((c_i − μ)/(√2σ)) and
    k₁ = [(μ/θ)(1 − Σe_i/N) + σ/(√(π/2)·θ)·Σ exp(−(c_i − μ)²/2σ²)/N] / [1 − Σ(2i − 1)e_i/N²]
    (Huang et al. 2025, ``calculate_better``). Non-finite results fall back to θ = 1."""
    if sigma <= 0:
        return max(mu, 0.0) or 1.0
    n = levels
    i = np.arange(1, n + 1, dtype=np.float64)
    theta = 1.0
    for _ in range(iterations):
        c = (2 * i - 1) * theta / (2 * n)
        e = erf((c - mu) / (math.sqrt(2) * sigma))
        num = (mu / theta) * (1 - e.sum() / n) + sigma / (math.sqrt(math.pi / 2) * theta) * np.exp(-((c - mu) ** 2) / (2 * sigma**2)).sum() / n
        den = 1 - ((2 * i - 1) * e).sum() / n**2
        new = theta * num / den
        if not math.isfinite(new) or new <= 0:
            return 1.0
        theta = float(new)
    return theta


def channel_gaussian(z: torch.Tensor, levels: int) -> torch.Tensor:
    """Per-channel DCGS "var" thresholds from the mean and variance of the pre-activation."""
    per_channel = z.transpose(0, 1).reshape(z.shape[1], -1) if z.dim() == 4 else z.t()
    mu, sd = per_channel.double().mean(1), per_channel.double().std(1)
    theta = torch.tensor([gaussian_optimal_threshold(float(m), float(s), levels) for m, s in zip(mu, sd)], dtype=torch.float32)
    return (theta.view(-1, 1, 1) if z.dim() == 4 else theta).expand(z.shape[1:]).contiguous()
