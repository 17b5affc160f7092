"""Structure and accuracy metrics of a trained spiking MLP."""

from __future__ import annotations

import torch
from torch import nn

from ..data.split import Split
from ..energy.recorder import ActivityRecorder
from .distributed import Context, sum_values


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: Split,
    batch_size: int,
    device: torch.device,
    recorder: ActivityRecorder | None = None,
    ctx: Context | None = None,
) -> dict:
    """Accuracy and mean cross-entropy on ``split`` (sharded over data-parallel ranks if ``ctx``)."""
    model.eval()
    if ctx is not None and ctx.active:
        split = split.subset(torch.arange(ctx.rank, len(split), ctx.world))
    correct, loss, n = 0, 0.0, 0
    for x, y in split.batches(batch_size):
        x, y = model.batch_input(x.to(device), split.events), y.to(device)
        logits = model(x, recorder)
        loss += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
        n += len(y)
    if ctx is not None:
        correct, loss, n = sum_values(ctx, correct, loss, n)
    return {"accuracy": correct / n, "loss": loss / n}
