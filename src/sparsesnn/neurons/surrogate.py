"""Surrogate derivatives of the Heaviside spike function (001 §2, surrogate-gradient training).

Each function maps ``x = v - θ`` to a pseudo-derivative ``dz/dv``; all integrate to 1 over ℝ,
so their scale is comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


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


SURROGATES: dict[str, Callable[..., torch.Tensor]] = {"sigmoid": sigmoid, "arctan": arctan, "triangle": triangle}
DEFAULT_ALPHA = {"sigmoid": 4.0, "arctan": 2.0, "triangle": 1.0}


@dataclass(frozen=True)
class Surrogate:
    """A named surrogate with its sharpness; callable on ``x = v − θ``.

    Being named (not an arbitrary callable) lets compiled LIF kernels evaluate it inline.
    """

    name: str
    alpha: float

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return SURROGATES[self.name](x, self.alpha)

    @property
    def code(self) -> int:
        return list(SURROGATES).index(self.name)


def get(name: str, alpha: float | None = None) -> Surrogate:
    """The surrogate ``name`` with sharpness ``alpha`` (default: the function's own)."""
    if name not in SURROGATES:
        raise ValueError(f"unknown surrogate {name!r}; choose one of {sorted(SURROGATES)}")
    return Surrogate(name, DEFAULT_ALPHA[name] if alpha is None else float(alpha))
