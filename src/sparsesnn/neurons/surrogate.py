"""Surrogate derivatives of the Heaviside spike function (001 §2, surrogate-gradient training).

Each function maps ``x = v - θ`` to a pseudo-derivative ``dz/dv``; all integrate to 1 over ℝ,
so their scale is comparable.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

SurrogateFn = Callable[[torch.Tensor], torch.Tensor]


def sigmoid(x: torch.Tensor, alpha: float = 4.0) -> torch.Tensor:
    """d/dx σ(αx) = α σ(αx)(1 − σ(αx))."""
    s = torch.sigmoid(alpha * x)
    return alpha * s * (1.0 - s)


def arctan(x: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """d/dx [arctan(π/2·αx)/π + ½] = (α/2) / (1 + (π/2·αx)²)."""
    return (alpha / 2.0) / (1.0 + (math.pi / 2.0 * alpha * x) ** 2)


def triangle(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Triangle of half-width ``alpha``: max(0, α − |x|) / α²."""
    return torch.clamp(alpha - x.abs(), min=0.0) / (alpha * alpha)


SURROGATES: dict[str, SurrogateFn] = {"sigmoid": sigmoid, "arctan": arctan, "triangle": triangle}


def get(name: str, alpha: float | None = None) -> SurrogateFn:
    """Return the surrogate ``name`` with its sharpness ``alpha`` bound (default: the function's)."""
    try:
        fn = SURROGATES[name]
    except KeyError:
        raise ValueError(f"unknown surrogate {name!r}; choose one of {sorted(SURROGATES)}") from None
    if alpha is None:
        return fn
    return lambda x: fn(x, alpha)
