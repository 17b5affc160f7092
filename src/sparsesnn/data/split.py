"""In-memory data splits and a minimal batch iterator (no DataLoader worker overhead)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch


@dataclass
class Split:
    """Inputs ``x`` (static ``[N, ...]`` in [0, 1], or spike frames ``[N, T, ...]``) and labels ``y`` ``[N]``."""

    x: torch.Tensor
    y: torch.Tensor
    events: bool = False  # x holds spike frames [N, T, ...] rather than static samples [N, ...]

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"inputs and labels differ in length: {self.x.shape[0]} vs {self.y.shape[0]}")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, index: torch.Tensor) -> "Split":
        return Split(self.x[index], self.y[index], self.events)

    def batches(
        self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        for start in range(0, len(self), batch_size):
            idx = order[start : start + batch_size]
            yield self.x[idx], self.y[idx]


def train_val_split(split: Split, val_fraction: float, seed: int = 0) -> tuple[Split, Split | None]:
    """Hold out a fixed random ``val_fraction`` of the training data for model selection."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction}")
    n_val = int(round(val_fraction * len(split)))
    if n_val == 0:
        return split, None
    perm = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    return split.subset(perm[n_val:]), split.subset(perm[:n_val])
