"""Data-parallel training with ``torch.distributed`` (launched by ``torchrun``).

Every rank holds the whole model and draws the same global batch order (same seed); rank r
trains on rows r, r + W, … of each global batch. The loss is the batch *sum* divided by the
global batch size, and gradients are summed across ranks with ``all_reduce``, so every rank
applies the same update as a single process on the global batch. Topology: identical RNG
streams — the engine's generator has the same seed on every rank and its inputs (weights,
masks) are identical, so every rank computes the same update; :func:`check_consistent` proves
it after each update by comparing a fingerprint of every rank's links and weights.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def setup(device: torch.device) -> Context:
    """Join the process group when started by torchrun (``WORLD_SIZE`` > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Context(dist.get_rank(), dist.get_world_size())


def teardown(ctx: Context) -> None:
    if ctx.active and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def shard(ctx: Context, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(t[ctx.rank :: ctx.world] for t in tensors)


def sum_gradients(ctx: Context, model: nn.Module) -> None:
    if not ctx.active:
        return
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
    for m in model.modules():  # RigL's dense gradient, when tracked
        if getattr(m, "dense_grad", None) is not None:
            dist.all_reduce(m.dense_grad, op=dist.ReduceOp.SUM)


def sum_values(ctx: Context, *values: float) -> list[float]:
    if not ctx.active:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def fingerprint(model: nn.Module) -> str:
    """SHA-256 of every parameter and buffer (links included), for cross-rank comparison."""
    h = hashlib.sha256()
    for name, t in sorted({**dict(model.named_parameters()), **dict(model.named_buffers())}.items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def check_consistent(ctx: Context, model: nn.Module) -> list[str]:
    """Every rank's fingerprint; raises if the ranks' models or topologies diverged."""
    mine = fingerprint(model)
    if not ctx.active:
        return [mine]
    prints: list[str] = [""] * ctx.world
    dist.all_gather_object(prints, mine)
    if len(set(prints)) != 1:
        raise RuntimeError(f"data-parallel ranks diverged: fingerprints {prints}")
    return prints
