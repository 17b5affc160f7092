"""Chain removal of inactive neurons across consecutive sparse layers (001 §3.2.3; CHT percolation).

Layers ``L_0 … L_{n−1}`` form a chain when the outputs of ``L_i`` are the inputs of ``L_{i+1}``.
A backward sweep drops the in-links of hidden neurons that lost every out-link, then a forward
sweep drops the out-links of hidden neurons that lost every in-link. One sweep each reaches the
fixed point: afterwards no hidden neuron of the chain has in-degree 0 and out-degree > 0 or the
reverse.
"""

from __future__ import annotations

import torch


def chain_removal(
    links: list[tuple[torch.Tensor, torch.Tensor]], shapes: list[tuple[int, int]]
) -> list[torch.Tensor]:
    """Keep-masks (one bool per link) for each layer's ``(rows, cols)`` after chain removal."""
    if len(links) != len(shapes):
        raise ValueError("one shape per layer is required")
    for i in range(len(shapes) - 1):
        if shapes[i][0] != shapes[i + 1][1]:
            raise ValueError(f"layers {i} and {i + 1} do not chain: {shapes[i]} then {shapes[i + 1]}")
    keep = [torch.ones_like(r, dtype=torch.bool) for r, _ in links]

    def degree(i: int, side: int) -> torch.Tensor:
        idx = links[i][side][keep[i]]
        return torch.bincount(idx, minlength=shapes[i][side])

    for i in range(len(links) - 2, -1, -1):  # backward: hidden outputs of L_i without out-links in L_{i+1}
        dead = degree(i + 1, 1) == 0
        keep[i] &= ~dead[links[i][0]]
    for i in range(1, len(links)):  # forward: inputs of L_i without in-links in L_{i-1}
        dead = degree(i - 1, 0) == 0
        keep[i] &= ~dead[links[i][1]]
    return keep
