"""DCGS conversion of a :class:`~sparsesnn.models.vit.SparseViT` (Huang et al. 2025; 003 §4.4,
App. C.4), the topology of every linear layer kept exactly.

Every signal is a sequence of frames ``[T + 1, B, …]``: frame 0 holds the response to no input
(biases, the class token, position embeddings), frame 1 the image, and a signal's value after
step t is its differential decode D_t = F_0 + Σ_{τ≤t} (F_τ − F_0)/τ
(:func:`~sparsesnn.conversion.neurons.differential_decode`). Then

* a linear layer applied frame by frame is exact: D(W F + b) = W D(F) + b;
* residual additions and constants add frame by frame;
* a multi-threshold neuron (signed, n levels θ/2^k, :func:`~.neurons.mth_diff`) stands before
  every linear layer and on both operands of Q·Kᵀ and A·V: the only place spikes occur;
* a product of two spike trains A, B emits P_t = A_t B_t/t + A_t B̄_{t−1} + Ā_{t−1} B_t
  (DCGS's ``AtNeuron``), whose decode is exactly Ā_t B̄_t;
* LayerNorm, softmax and GELU are evaluated on decoded values and emit
  t·(f(D_t) − f(D_{t−1})) (DCGS's ``exp_comp_neuron``): analog, not spike-driven, as in DCGS.

Thresholds: θ = c × the per-channel 99.9th percentile of |input| of every neuron site, from
*training* samples (DCGS calibrates on the test set; notes §5), c = 4 and n = 8 in 003 App. C.4.

Operations, per step t ≥ 1 (frame 0 is computed once, before any input, and costs nothing):
a non-zero spike entering a linear layer costs its out-degree on the sparse topology (ACs); the
analog image entering the patch embedding costs MACs; every product in the attention with a
non-zero spike operand is a MAC (a graded spike times an analog accumulated value); every
element of LayerNorm, softmax or GELU whose output changes is charged one MAC (DCGS charges
none — we report them apart, in ``ops_per_sample``); a residual addition costs one AC per
changed element.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..energy.sops import out_degree
from ..models.vit import SparseViT, TensorOps
from . import neurons
from .thresholds import _NEVER, _row_quantile

AC_KINDS = ("synaptic_acs", "residual_acs")
MAC_KINDS = ("input_macs", "attention_macs", "nonlinear_macs")


def channel_abs_percentile(a: torch.Tensor, q: float = 99.9) -> torch.Tensor:
    """Per-channel q-th percentile of |a| for samples ``a`` ``[B, …]``, pooled over the sample
    and (for ``[B, …, N, C]`` token tensors) the token dimension −2; returns a tensor that
    broadcasts against one sample (never-active channels get a threshold they never reach)."""
    x = a.abs()
    if x.dim() >= 3:
        x = x.movedim(-2, 1).flatten(0, 1)  # [B·N, …, C]
    kept = x.shape[1:]
    p = _row_quantile(x.flatten(1).t(), q / 100.0).view(kept)
    p = torch.where(p > 0, p, torch.full_like(p, _NEVER))
    return p.unsqueeze(-2) if a.dim() >= 3 else p


@torch.no_grad()
def calibrate_vit(model: SparseViT, x: torch.Tensor, scale: float = 4.0, q: float = 99.9,
                  batch_size: int = 250) -> tuple[list[torch.Tensor], list[int]]:
    """Per neuron site (forward order): thresholds ``scale`` × per-channel percentile, and the
    number of neurons there (one sample's elements)."""
    model.eval()
    parts: list[list[torch.Tensor]] = []
    for i in range(0, len(x), batch_size):
        taps: list[torch.Tensor] = []
        model(x[i : i + batch_size], ops=TensorOps(taps))
        parts.append(taps)
    sites = [torch.cat([p[j] for p in parts]) for j in range(len(parts[0]))]
    return [scale * channel_abs_percentile(a) for a in sites], [math.prod(a.shape[1:]) for a in sites]


def _steps(frames: torch.Tensor) -> torch.Tensor:
    """1, 2, …, T shaped to broadcast against ``frames[1:]``."""
    return torch.arange(1, frames.shape[0], dtype=frames.dtype).view(-1, *([1] * (frames.dim() - 1)))


def _changed(frames: torch.Tensor) -> torch.Tensor:
    """Elements per step t ≥ 1 whose frame differs from frame 0 (float64 ``[T]``)."""
    return (frames[1:] != frames[:1]).flatten(1).sum(1).to(torch.float64)


def _products(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Non-zero products of a ``[T, …, N, C]`` × ``[T, …, C, M]`` matmul per step:
    Σ_c (non-zeros of column c of a)·(non-zeros of row c of b)."""
    return ((a != 0).sum(-2).to(torch.float64) * (b != 0).sum(-1).to(torch.float64)).flatten(1).sum(1)


class DifferentialOps(TensorOps):
    """DCGS's spiking arithmetic on frames ``[T + 1, B, …]`` for :meth:`SparseViT.forward`;
    tallies spikes per neuron site and operations per step."""

    def __init__(self, thresholds: list[torch.Tensor], n_thresholds: int, degrees: dict[int, torch.Tensor], T: int) -> None:
        super().__init__()
        self.thresholds, self.n_thresholds, self.degrees = thresholds, n_thresholds, degrees
        self.spikes = torch.zeros(len(thresholds), T, dtype=torch.float64)
        self.ops = {kind: torch.zeros(T, dtype=torch.float64) for kind in AC_KINDS + MAC_KINDS}
        self.site = 0

    def linear(self, layer: nn.Module, x: torch.Tensor, analog_input: bool = False) -> torch.Tensor:
        events = (x[1:] != 0).flatten(1, -2).sum(1).to(torch.float64)  # [T, in_features]
        self.ops["input_macs" if analog_input else "synaptic_acs"] += events @ self.degrees[id(layer)]
        return layer(x)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        s = neurons.mth_diff(x, self.thresholds[self.site], self.n_thresholds, signed=True)
        self.spikes[self.site] += (s[1:] != 0).flatten(1).sum(1).to(torch.float64)
        self.site += 1
        return s

    def analog(self, f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        base = f(x[0])
        values = f(neurons.differential_decode(x))  # f(D_t), t = 1..T
        before = torch.cat([base.unsqueeze(0), values[:-1]])
        out = torch.cat([base.unsqueeze(0), base + _steps(x) * (values - before)])
        self.ops["nonlinear_macs"] += _changed(out)
        return out

    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a1, b1, steps = a[1:], b[1:], _steps(a)
        zero_a, zero_b = torch.zeros_like(a[:1]), torch.zeros_like(b[:1])
        a_prev = torch.cat([zero_a, torch.cumsum(a1 / steps, 0)[:-1]])  # Ā_{t−1}
        b_prev = torch.cat([zero_b, torch.cumsum(b1 / steps, 0)[:-1]])
        self.ops["attention_macs"] += _products(a1, b1) + _products(a1, b_prev) + _products(a_prev, b1)
        p = a1 @ (b1 / steps + b_prev) + a_prev @ b1
        return torch.cat([torch.zeros_like(p[:1]), p])

    def residual(self, x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
        self.ops["residual_acs"] += _changed(branch)
        return x + branch


class ConvertedViT:
    """A :class:`SparseViT` run as a DCGS SNN for T = 1..max_T in one simulation (same interface
    as :class:`~sparsesnn.conversion.simulate.ConvertedSNN` for ``convert_run``)."""

    def __init__(self, model: SparseViT, thresholds: list[torch.Tensor], n_thresholds: int, neuron_counts: list[int]) -> None:
        self.model, self.thresholds, self.n_thresholds = model.eval(), thresholds, n_thresholds
        self.degrees = {id(m): out_degree(m).cpu().to(torch.float64) for m in model.synapses}
        self.populations = len(thresholds)
        self.neuron_counts = neuron_counts

    @torch.no_grad()
    def run(self, x: torch.Tensor, y: torch.Tensor, tally) -> None:
        """Add one batch ``x`` ``[B, C, H, W]`` with labels ``y`` to ``tally``."""
        T = tally.max_T
        frames = torch.zeros(T + 1, *x.shape, dtype=x.dtype)
        frames[1] = x
        ops = DifferentialOps(self.thresholds, self.n_thresholds, self.degrees, T)
        decoded = neurons.differential_decode(self.model(frames, ops=ops))
        tally.correct += (decoded.argmax(-1) == y).sum(1).to(torch.float64)
        tally.spikes += torch.cumsum(ops.spikes, 1)
        for kind, per_step in ops.ops.items():
            total = torch.cumsum(per_step, 0)
            tally.ops[kind] = tally.ops.get(kind, 0) + total
            if kind in AC_KINDS:
                tally.acs += total
            else:
                tally.macs += total
        tally.n += len(y)


def convert_vit(model: SparseViT, calib_x: torch.Tensor, n_thresholds: int, scale: float) -> ConvertedViT:
    """Calibrate thresholds on ``calib_x`` (training samples) and build the converted ViT."""
    thresholds, neuron_counts = calibrate_vit(model, calib_x, scale)
    return ConvertedViT(model, thresholds, n_thresholds, neuron_counts)
