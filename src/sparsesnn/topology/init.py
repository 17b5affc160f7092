"""Initial sparse topologies, returned as sorted link lists ``(rows, cols)`` of an ``(n_out, n_in)`` layer.

- :func:`uniform_fan_in`: uniform random, every output with the same fan-in (±1) (001 §3.2.1,
  used for intermediate layers).
- :func:`sscti`: Sparse Spike Correlated Topological Initialization (001 §3.2.1 eq. 2, A.4).
- :func:`brf`: bipartite receptive field (CHTs), ring-distance-biased sampling.
"""

from __future__ import annotations

import torch


def _check_nnz(n_out: int, n_in: int, nnz: int) -> None:
    if not 1 <= nnz <= n_out * n_in:
        raise ValueError(f"link count {nnz} impossible for a {n_out}x{n_in} layer")


def _row_major(rows: torch.Tensor, cols: torch.Tensor, n_in: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.argsort(rows * n_in + cols)
    return rows[order].contiguous(), cols[order].contiguous()


def _topk_links(score: torch.Tensor, nnz: int) -> tuple[torch.Tensor, torch.Tensor]:
    flat = torch.topk(score.reshape(-1), nnz, sorted=False).indices
    n_in = score.shape[1]
    return _row_major(flat // n_in, flat % n_in, n_in)


def uniform_fan_in(
    n_out: int, n_in: int, nnz: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random topology in which each output has ``nnz // n_out`` or one more distinct inputs."""
    _check_nnz(n_out, n_in, nnz)
    k, extra = divmod(nnz, n_out)
    fan_in = torch.full((n_out,), k, dtype=torch.int64)
    fan_in[torch.randperm(n_out, generator=generator)[:extra]] += 1
    kmax = int(fan_in.max())
    picks = torch.rand(n_out, n_in, generator=generator).topk(kmax, dim=1).indices  # distinct per row
    keep = torch.arange(kmax).unsqueeze(0) < fan_in.unsqueeze(1)
    rows = torch.arange(n_out).unsqueeze(1).expand(n_out, kmax)[keep]
    return _row_major(rows, picks[keep], n_in)


def correlation(samples: torch.Tensor) -> torch.Tensor:
    """|Pearson| correlation between features of ``samples`` ``[n_obs, M]`` (φ for binary data).

    Constant features have no defined correlation and get 0, as does the diagonal.
    """
    x = samples.to(torch.float64)
    x = x - x.mean(0, keepdim=True)
    cov = x.t() @ x
    std = cov.diagonal().sqrt()
    with torch.no_grad():
        corr = cov / torch.outer(std, std)
    corr = torch.nan_to_num(corr.abs(), nan=0.0, posinf=0.0, neginf=0.0)
    corr.fill_diagonal_(0.0)
    return corr


def sscti(samples: torch.Tensor, n_out: int, nnz: int) -> tuple[torch.Tensor, torch.Tensor]:
    """SSCTI (001 §3.2.1, A.4): keep the links with the strongest input correlations.

    ``samples`` holds observations of the layer's inputs: ``[n_obs, M]`` or spike trains
    ``[T, B, M]``, in which every (sample, time step) is one observation (001 A.4 step 1). The
    M×M |φ| matrix is tiled (and cropped) to ``(n_out, M)``, so hidden unit j takes the
    correlation row of input j mod M (A.4 step 3); the ``nnz`` strongest entries become links.
    """
    if samples.dim() == 3:
        samples = samples.reshape(-1, samples.shape[-1])
    if samples.dim() != 2:
        raise ValueError(f"SSCTI samples must be [n_obs, M] or [T, B, M]; got {tuple(samples.shape)}")
    n_in = samples.shape[1]
    _check_nnz(n_out, n_in, nnz)
    corr = correlation(samples).to(torch.float32)
    reps = -(-n_out // n_in)
    tiled = corr.repeat(reps, 1)[:n_out]
    return _topk_links(tiled, nnz)


def brf(
    n_out: int,
    n_in: int,
    nnz: int,
    randomness: float = 0.25,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bipartite receptive field (CHTs): each node of the smaller side links to nodes of the
    larger side around its centre ``(i·stride) mod size`` with probability ∝ (1 + d)^(−α),
    α = (1 − r)/r for ring distance d (r → 0: nearest neighbours, r = 1: uniform). Degrees of the
    smaller side are equal (±1); sampling without replacement by Gumbel-top-k.
    """
    _check_nnz(n_out, n_in, nnz)
    if not 0.0 < randomness <= 1.0:
        raise ValueError(f"BRF randomness r must be in (0, 1]; got {randomness}")
    small, large = (n_out, n_in) if n_out <= n_in else (n_in, n_out)
    alpha = (1.0 - randomness) / randomness
    stride = max(1, large // small)
    centre = (torch.arange(small) * stride) % large
    pos = torch.arange(large)
    d = (pos.unsqueeze(0) - centre.unsqueeze(1)).abs()
    d = torch.minimum(d, large - d).to(torch.float64)
    logw = -alpha * torch.log1p(d)
    u = torch.rand(small, large, generator=generator, dtype=torch.float64).clamp_min(1e-300)
    keys = logw - torch.log(-torch.log(u))
    k, extra = divmod(nnz, small)
    deg = torch.full((small,), k, dtype=torch.int64)
    deg[torch.randperm(small, generator=generator)[:extra]] += 1
    kmax = int(deg.max())
    picks = keys.topk(kmax, dim=1).indices
    keep = torch.arange(kmax).unsqueeze(0) < deg.unsqueeze(1)
    s_idx = torch.arange(small).unsqueeze(1).expand(small, kmax)[keep]
    l_idx = picks[keep]
    rows, cols = (s_idx, l_idx) if n_out <= n_in else (l_idx, s_idx)
    return _row_major(rows, cols, n_in)


TOPOLOGY_INITS = ("uniform", "sscti", "brf")
