"""Sparse-aware synaptic-operation counting and energy models (pure functions).

A presynaptic event costs its neuron's *current* out-degree — the links that exist — never the
dense fan-out. Events are spikes (accumulate, AC) or, for a first layer fed analog values under
direct encoding, non-zero inputs (multiply-accumulate, MAC); a zero input costs nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PJ_PER_SOP_ANP1 = 1.5  # ANP-I chip, 001 §4.2
E_MAC_PJ = 4.6  # 45 nm, 002 eq. 3 (Yao et al. 2023)
E_AC_PJ = 0.9


def out_degree(layer: nn.Module) -> torch.Tensor:
    """Links leaving each input neuron of ``layer`` (a SparseLinear or a dense nn.Linear)."""
    if hasattr(layer, "out_degree"):
        return layer.out_degree()
    if isinstance(layer, nn.Linear):
        return (layer.weight.detach() != 0).sum(0)
    raise TypeError(f"cannot count the out-degree of {type(layer).__name__}")


@torch.no_grad()
def conv_out_degree(live: torch.Tensor, in_shape: tuple[int, ...], padding) -> torch.Tensor:
    """Out-degree of every input element of a stride-1 convolution with kernel support ``live``
    (``[C_out, C_in, k, k]`` bool): the (output channel, output position) pairs it feeds through
    kernel entries that exist, borders included. Flattened ``[C_in·H·W]``."""
    live = live.to(torch.float32).cpu()
    h = F.conv2d(torch.ones(1, *in_shape), live, padding=padding)
    return F.conv_transpose2d(torch.ones_like(h), live, padding=padding).round().long().flatten()


def synaptic_ops(events: torch.Tensor, degree: torch.Tensor) -> float:
    """Σ_i events_i · out_degree_i (events: per-input counts summed over time and samples)."""
    if events.shape != degree.shape:
        raise ValueError(f"event counts {tuple(events.shape)} and out-degrees {tuple(degree.shape)} differ")
    return float((events.to(torch.float64) * degree.to(torch.float64)).sum())


@torch.no_grad()
def spiking_attention_acs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[float, float]:
    """Accumulates of spiking self-attention ``(Q Kᵀ) V`` on binary ``[..., N, d]`` operands, done
    event-driven (Spikformer has no softmax, so nothing else happens).

    Q Kᵀ: a product q[i, c]·k[j, c] only costs an addition when both spikes exist, so per channel
    c it is (Σ_i q[i, c])·(Σ_j k[j, c]). (Q Kᵀ) V: every non-zero score A[i, j] is added once per
    spike v[j, c]. Returns the two totals (an integer score times a spike is an addition of that
    score: one AC).
    """
    qk = (q.sum(-2) * k.sum(-2)).sum()
    scores = q @ k.transpose(-2, -1)
    av = ((scores != 0).to(v.dtype) @ v.sum(-1, keepdim=True)).sum()
    return float(qk), float(av)


def energy_anp1_mj(sops: float, pj_per_sop: float = PJ_PER_SOP_ANP1) -> float:
    """Energy = SOPs × pJ/SOP (001 §4.2), in millijoules."""
    return sops * pj_per_sop * 1e-9


def energy_45nm_mj(macs: float, acs: float) -> float:
    """E = E_MAC·MACs + E_AC·ACs (002 eq. 3), in millijoules."""
    return (E_MAC_PJ * macs + E_AC_PJ * acs) * 1e-9
