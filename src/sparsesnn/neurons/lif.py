"""``nn.Module`` wrapper of the multi-step LIF (state is reset between calls)."""

from __future__ import annotations

import torch
from torch import nn

from . import surrogate as sg
from .functional import lif_multistep


class LIF(nn.Module):
    """Leaky integrate-and-fire neurons, 001 eq. 1, mapping currents ``[T, B, N]`` to spikes.

    Args:
        alpha: membrane decay factor α in (0, 1].
        threshold: firing threshold θ > 0.
        surrogate: ``"sigmoid"``, ``"arctan"`` or ``"triangle"``.
        surrogate_alpha: sharpness of the surrogate (``None``: the surrogate's default).
        detach_reset: stop the gradient through the reset term (1 − z).
    """

    def __init__(
        self,
        alpha: float = 0.5,
        threshold: float = 1.0,
        surrogate: str = "arctan",
        surrogate_alpha: float | None = None,
        detach_reset: bool = False,
    ) -> None:
        super().__init__()
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"LIF alpha must be in (0, 1]; got {alpha}")
        if not threshold > 0.0:
            raise ValueError(f"LIF threshold must be > 0; got {threshold}")
        self.alpha = float(alpha)
        self.threshold = float(threshold)
        self.surrogate_name = surrogate
        self.surrogate = sg.get(surrogate, surrogate_alpha)
        self.detach_reset = detach_reset
        self.grad_start = 0  # > 0: truncated BPTT from this step on (set by S-TP training)

    def forward(self, current: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """``current`` ``[T, B, ...]``, or ``[1, B, ...]`` held for ``steps`` steps."""
        return lif_multistep(current, self.alpha, self.threshold, self.surrogate, self.detach_reset, self.grad_start, steps)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, threshold={self.threshold}, surrogate={self.surrogate_name}"
