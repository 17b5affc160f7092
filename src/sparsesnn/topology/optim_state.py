"""Keep optimizer state aligned with a sparse layer's link vector when its topology changes."""

from __future__ import annotations

import torch


def remap_param_state(optimizer: torch.optim.Optimizer | None, param: torch.Tensor, src: torch.Tensor, old_numel: int) -> None:
    """Rebuild per-link optimizer state after a topology update.

    ``src[k]`` is the old position of new link k, or −1 for a regrown link, whose state
    (momentum, Adam moments) starts at zero. Scalar state such as Adam's ``step`` is kept.
    """
    if optimizer is None:
        return
    state = optimizer.state.get(param)
    if not state:
        return
    kept = src >= 0
    for key, val in list(state.items()):
        if isinstance(val, torch.Tensor) and val.dim() == 1 and val.numel() == old_numel:
            new = torch.zeros(src.numel(), dtype=val.dtype, device=val.device)
            new[kept] = val[src[kept]]
            state[key] = new
