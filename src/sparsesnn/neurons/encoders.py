"""Input encoders producing ``[T, B, ...]`` from static data in [0, 1].

Direct encoding is not materialised here: the model feeds the analog input once and reuses the
first layer's current at every step (see :class:`sparsesnn.models.SpikingNet`).
"""

from __future__ import annotations

import torch


def _check_unit_range(x: torch.Tensor) -> None:
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"encoder input must lie in [0, 1]; got range [{x.min():.3g}, {x.max():.3g}]")


def poisson(x: torch.Tensor, T: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rate coding: spike with probability x at each of T steps."""
    _check_unit_range(x)
    rand = torch.rand((T, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
    return (rand < x.unsqueeze(0)).to(x.dtype)


def latency(x: torch.Tensor, T: int, threshold: float = 0.01) -> torch.Tensor:
    """Time-to-first-spike coding: one spike at step round((1 − x)(T − 1)); none below ``threshold``."""
    _check_unit_range(x)
    step = torch.round((1.0 - x) * (T - 1)).long()
    out = torch.zeros((T, *x.shape), dtype=x.dtype, device=x.device)
    out.scatter_(0, step.unsqueeze(0), 1.0)
    return out * (x >= threshold).to(x.dtype).unsqueeze(0)


def direct(x: torch.Tensor, T: int) -> torch.Tensor:
    """Repeat the analog input T times (a view; no copy)."""
    return x.unsqueeze(0).expand(T, *x.shape)


ENCODERS = ("direct", "poisson", "latency")
