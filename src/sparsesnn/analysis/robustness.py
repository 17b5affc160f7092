"""Robustness to corrupted spike trains (001 A.9): bit-flip, false-spike and spike-dropout noise.

The noise hits the first spike trains the network sees: the encoded input for spiking encodings,
or — under direct encoding, whose input is analog — the spikes of the first hidden layer.
RPDR = (ACC_clean − ACC_noise) / ACC_clean (001 eq. 27).
"""

from __future__ import annotations

from typing import Callable

import torch

from ..data.split import Split

NOISES = ("bit_flip", "false_spike", "spike_dropout")


def corrupt(spikes: torch.Tensor, kind: str, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Apply ``kind`` noise to a binary spike tensor: each slot is hit with probability ``ratio``."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"noise ratio must be in [0, 1]; got {ratio}")
    hit = (torch.rand(spikes.shape, generator=generator) < ratio).to(spikes.device)
    if kind == "bit_flip":
        return torch.where(hit, 1.0 - spikes, spikes)
    if kind == "false_spike":
        return torch.where(hit, torch.ones_like(spikes), spikes)
    if kind == "spike_dropout":
        return torch.where(hit, torch.zeros_like(spikes), spikes)
    raise ValueError(f"unknown noise {kind!r}; choose one of {list(NOISES)}")


def rpdr(clean: float, noisy: float) -> float:
    """Relative performance degradation rate (001 eq. 27)."""
    return (clean - noisy) / clean if clean > 0 else 0.0


@torch.no_grad()
def robustness_table(
    model: torch.nn.Module,
    split: Split,
    ratios: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2),
    batch_size: int = 200,
    seed: int = 0,
) -> list[dict]:
    """Accuracy and RPDR for every noise kind and ratio (same noise seed for every model)."""
    model.eval()

    def accuracy(noise: Callable[[torch.Tensor], torch.Tensor] | None) -> float:
        correct = 0
        for x, y in split.batches(batch_size):
            correct += int((model(model.batch_input(x, split.events), spike_noise=noise).argmax(1) == y).sum())
        return correct / len(split)

    clean = accuracy(None)
    rows = [{"noise": "none", "ratio": 0.0, "accuracy": clean, "rpdr": 0.0}]
    for kind in NOISES:
        for ratio in ratios:
            g = torch.Generator().manual_seed(seed)
            acc = accuracy(lambda s, k=kind, r=ratio: corrupt(s, k, r, g))
            rows.append({"noise": kind, "ratio": ratio, "accuracy": acc, "rpdr": rpdr(clean, acc)})
    return rows
