"""δ-controlled sampling of k items without replacement (001 eq. 20–25).

Weights are score^(δ/(1−δ)): δ = 0 uniform random, δ = 0.5 ∝ score (multinomial without
replacement), δ = 1 deterministic top-k. Implemented as Gumbel-top-k (Efraimidis–Spirakis):
key = p·log(score) + Gumbel noise, take the k largest keys — exact, O(n) plus a partial
selection, no full sort and no category limit (unlike ``torch.multinomial``'s 2²⁴).
"""

from __future__ import annotations

import torch


def check_delta(delta: float) -> float:
    if not 0.0 <= delta <= 1.0:
        raise ValueError(f"sampling delta must be in [0, 1]; got {delta}")
    return float(delta)


def sample_top_k(
    scores: torch.Tensor, k: int, delta: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Indices of k distinct entries of the 1-D ``scores`` (≥ 0), drawn ∝ score^(δ/(1−δ)).

    Entries with positive score are always preferred; if fewer than k are positive the rest is
    filled uniformly at random from the zero-score entries, so exactly k come back.
    """
    check_delta(delta)
    n = scores.numel()
    if not 0 <= k <= n:
        raise ValueError(f"cannot sample {k} of {n} candidates")
    if k == 0:
        return torch.zeros(0, dtype=torch.int64, device=scores.device)
    s = scores.detach().to(torch.float64)
    if bool(torch.isnan(s).any()) or bool((s < 0).any()):
        raise ValueError("sampling scores must be non-negative and not NaN")
    u = torch.rand(n, generator=generator, dtype=torch.float64).to(s.device)
    gumbel = -torch.log(-torch.log(u.clamp(1e-300, 1.0 - 1e-16)))
    if delta == 0.0:
        return torch.topk(gumbel, k, sorted=False).indices
    positive = s > 0
    pos_idx = positive.nonzero().squeeze(1)
    if pos_idx.numel() < k:
        # too few positive scores: take them all, fill uniformly from the zero-score entries
        zero_idx = (~positive).nonzero().squeeze(1)
        fill = torch.topk(gumbel[zero_idx], k - pos_idx.numel(), sorted=False).indices
        return torch.cat([pos_idx, zero_idx[fill]])
    log_s = torch.log(s[pos_idx])
    # δ = 1: rank by score, the Gumbel term only breaks exact ties
    keys = log_s + 1e-9 * gumbel[pos_idx] if delta == 1.0 else delta / (1.0 - delta) * log_s + gumbel[pos_idx]
    return pos_idx[torch.topk(keys, k, sorted=False).indices]
