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
    s = scores.detach().to(torch.float32)
    if not bool((s >= 0).all()):  # also catches NaN
        raise ValueError("sampling scores must be non-negative and not NaN")
    if delta == 0.0:
        return _top_k(_gumbel(n, generator, s.device), k, generator)
    pos_idx = (s > 0).nonzero().squeeze(1)
    if pos_idx.numel() < k:
        # too few positive scores: take them all, fill uniformly from the zero-score entries
        zero_idx = (s == 0).nonzero().squeeze(1)
        fill = _top_k(_gumbel(zero_idx.numel(), generator, s.device), k - pos_idx.numel(), generator)
        return torch.cat([pos_idx, zero_idx[fill]])
    log_s = torch.log(s[pos_idx])
    g = _gumbel(pos_idx.numel(), generator, s.device)
    # δ = 1: rank by score; the tiny Gumbel term only breaks ties (relative gaps below ~1e-6)
    keys = log_s + 1e-6 * g if delta == 1.0 else g.add_(log_s, alpha=delta / (1.0 - delta))
    return pos_idx[_top_k(keys, k, generator)]


def _gumbel(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    u = torch.rand(n, generator=generator).clamp_(1e-30, 1.0 - 1e-7)
    return u.log_().neg_().log_().neg_().to(device)


def _top_k(keys: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """Indices of the k largest keys. For large inputs a threshold estimated on a random sample
    first discards the bulk, so the exact top-k runs on about 1.1·k entries instead of all n."""
    n = keys.numel()
    if n > 1_000_000 and k < n // 4:
        sample = keys[torch.randint(n, (200_000,), generator=generator).to(keys.device)]
        q = max(0.0, 1.0 - 1.1 * k / n - 3.0 / 200_000**0.5)  # margin of ~3 binomial std devs
        survivors = (keys >= torch.quantile(sample, q)).nonzero().squeeze(1)
        if survivors.numel() >= k:
            return survivors[torch.topk(keys[survivors], k, sorted=False).indices]
    return torch.topk(keys, k, sorted=False).indices
