"""Lyapunov Noise Pruning (LNP, 004 Algorithm 1, eq. 13–17), task-agnostic: the readout's error
is measured after every iteration but never steers the pruning.

One iteration:
  I.  per-neuron Lyapunov exponents (:mod:`.lyapunov`); Lyapunov weight of edge i←j, eq. 13:
      the harmonic mean of |λ| + ε over the neighbours of i and j (union counted with
      multiplicity; |·| + ε because harmonic means of mixed-sign exponents are undefined);
      linearised rate network A = −D + W·diag(γ) (eq. 14; D_ii = 1/τ_i, γ_j the mean surrogate
      gain of neuron j), shifted to stability if needed; noise covariance Σ from
      AΣ + ΣAᵀ + I = 0; keep probability p_ij = ρ·l_ij·|A_ij|·(Σ_ii + Σ_jj − 2·sign(A_ij)·Σ_ij)
      (eq. 16 with |A| as in noise-prune, clipped to [0, 1]), ρ set by bisection so the expected
      kept count is the target; kept weights rescaled by 1/p (the step the reference code skips).
  II. remove the ``node_fraction`` of live neurons with the lowest betweenness centrality.
  III. add ``add_fraction`` new edges within 2-hop neighbourhoods between the pairs of most
      different degree (greedy increase of the degree variance, eq. 17), Dale-signed with the
      median weight of the presynaptic population.
  IV. rescale all τ by the factor (of ``tau_factors``) whose largest Lyapunov exponent is closest
      to λ* (slightly negative: just below the edge of chaos), among the stable ones if any.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch

from .lyapunov import record, spectrum, surrogate
from .network import Reservoir
from .readout import betweenness_top


@dataclass
class LNPConfig:
    keep_fraction: float = 0.85  # expected synapses kept by noise pruning per iteration
    node_fraction: float = 0.08  # live neurons removed per iteration
    add_fraction: float = 0.02  # edges added per iteration (fraction of current synapses)
    lyapunov_vectors: int = 32
    lambda_target: float = -0.005
    tau_factors: tuple[float, ...] = (0.9, 1.0, 1.1)  # step IV's candidate rescalings of every τ
    drive_samples: int = 150  # input samples driving the Lyapunov and gain estimates
    seed: int = 0
    # eq. 16's diagonal option: τ absorbs each neuron's change in total input. Off: on validation
    # networks it raised LNP's mean closed-loop NRMSE 0.85 -> 1.28 (results/lnp_validation.json)
    homeostasis: bool = False
    # evaluation, not pruning: STDP passes over the training series that every compared network
    # (unpruned, each iteration's LNP network, AP, random, no recurrence) gets before its readout,
    # as 004 §VI.F trains the pruned model before testing it. 0: read out as pruned.
    retrain_epochs: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.keep_fraction <= 1.0:
            raise ValueError(f"LNPConfig.keep_fraction must be in (0, 1]; got {self.keep_fraction}")
        if not 0.0 <= self.node_fraction < 1.0 or self.add_fraction < 0.0:
            raise ValueError(f"LNPConfig.node_fraction must be in [0, 1) and add_fraction >= 0; got {self.node_fraction}, {self.add_fraction}")
        if not self.tau_factors or min(self.tau_factors) <= 0.0:
            raise ValueError(f"LNPConfig.tau_factors must be positive scales, at least one; got {self.tau_factors}")
        if int(self.retrain_epochs) != self.retrain_epochs or self.retrain_epochs < 0:
            raise ValueError(f"LNPConfig.retrain_epochs must be a whole number >= 0; got {self.retrain_epochs}")


def _edge_lyapunov(res: Reservoir, lam: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """l_e of eq. 13 for every synapse (harmonic mean over the union of the end neighbourhoods)."""
    inv = 1.0 / (np.abs(lam) + eps)
    pre, post = res.pre.numpy(), res.post.numpy()
    deg = np.bincount(pre, minlength=res.n) + np.bincount(post, minlength=res.n)
    inv_sum = np.bincount(pre, weights=inv[post], minlength=res.n) + np.bincount(post, weights=inv[pre], minlength=res.n)
    return (deg[pre] + deg[post]) / np.maximum(inv_sum[pre] + inv_sum[post], 1e-12)


def linearised(res: Reservoir, gain: np.ndarray) -> tuple[np.ndarray, float]:
    """(A, shift) with A = −D + W·diag(γ) − shift·I stable (shift ≥ 0 recorded)."""
    live = res.alive.numpy()
    d = np.where(live, 1.0 / res.tau.numpy(), 1.0)
    A = -np.diag(d)
    np.add.at(A, (res.post.numpy(), res.pre.numpy()), res.w.numpy() * gain[res.pre.numpy()])
    top = np.linalg.eigvals(A).real.max()
    shift = max(0.0, top + 0.05 * d.min())
    return A - shift * np.eye(res.n), float(shift)


def noise_prune(res: Reservoir, lam: np.ndarray, gain: np.ndarray, keep: int, gen: torch.Generator,
                homeostasis: bool = False) -> tuple[Reservoir, dict]:
    """Step I: sample ``keep`` synapses in expectation by eq. 16 and rescale them by 1/p (with
    ``homeostasis``, τ absorbs the change in each neuron's total input: :func:`homeostatic_tau`)."""
    A, shift = linearised(res, gain)
    sigma = scipy.linalg.solve_continuous_lyapunov(A, -np.eye(res.n))
    i, j = res.post.numpy(), res.pre.numpy()
    a = A[i, j]
    diff = np.diag(sigma)[i] + np.diag(sigma)[j] - 2.0 * np.sign(a) * sigma[i, j]
    score = np.clip(_edge_lyapunov(res, lam) * np.abs(a) * diff, 0.0, None)
    lo, hi = 0.0, 1.0
    while np.minimum(1.0, hi * score).sum() < keep and hi < 1e30:
        hi *= 2.0
    for _ in range(60):  # bisection on ρ: Σ min(1, ρ·score) = keep
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.minimum(1.0, mid * score).sum() < keep else (lo, mid)
    p = torch.as_tensor(np.minimum(1.0, hi * score), dtype=torch.float32)
    kept = torch.rand(len(p), generator=gen) < p
    w = res.w[kept] / p[kept]
    out = res.subset_synapses(kept, w)
    if homeostasis:
        out.tau = homeostatic_tau(res, np.abs(a), p.numpy().astype(np.float64), kept.numpy())
    return out, {"linear_shift": shift, "rho": hi}


def homeostatic_tau(res: Reservoir, a: np.ndarray, p: np.ndarray, kept: np.ndarray) -> torch.Tensor:
    """τ after the diagonal option of Step I (004 §V, below eq. 16): A_ii − Δ_i with
    Δ_i = Σ_j |A^sparse_ij| − Σ_j |A_ij| (``a`` = |A_ij| per synapse), i.e. 1/τ_i' = 1/τ_i + Δ_i: a
    neuron whose total input grew leaks faster. Kept inside the network's range of τ, which a
    leak rate at or below zero would leave."""
    post = res.post.numpy()
    delta = np.bincount(post[kept], weights=a[kept] / p[kept], minlength=res.n) - np.bincount(post, weights=a, minlength=res.n)
    tau = res.tau.numpy().astype(np.float64)
    live = res.alive.numpy()
    lo, hi = tau[live].min(), tau[live].max()
    rate = 1.0 / tau + delta
    new = 1.0 / np.where(rate > 0, rate, 1.0 / hi)  # no leak left: the slowest τ
    return torch.as_tensor(np.where(live, np.clip(new, lo, hi), tau), dtype=res.tau.dtype)


def prune_nodes(res: Reservoir, fraction: float, seed: int) -> Reservoir:
    """Step II: drop the live neurons of lowest betweenness centrality and their synapses."""
    live = int(res.alive.sum())
    n_remove = int(round(fraction * live))
    if n_remove == 0:
        return res
    keep_order = betweenness_top(res, 1.0, seed=seed)  # all live neurons, highest BC first
    removed = torch.as_tensor(keep_order[live - n_remove :])
    out = res.subset_synapses(~(torch.isin(res.pre, removed) | torch.isin(res.post, removed)))
    out.alive[removed] = False
    return out


def add_edges(res: Reservoir, fraction: float) -> Reservoir:
    """Step III: add non-edges j→i inside 2-hop neighbourhoods with the largest degree gap."""
    m = int(round(fraction * res.synapses))
    if m == 0 or res.synapses == 0:
        return res
    n = res.n
    adj = torch.zeros(n, n, dtype=torch.bool)
    adj[res.post, res.pre] = True
    two_hop = (adj.float() @ adj.float()) > 0
    live = res.alive
    cand = two_hop & ~adj & ~torch.eye(n, dtype=torch.bool) & live.unsqueeze(0) & live.unsqueeze(1)
    post, pre = torch.nonzero(cand, as_tuple=True)
    if len(post) == 0:
        return res
    deg = (torch.bincount(res.pre, minlength=n) + torch.bincount(res.post, minlength=n)).float()
    pick = torch.argsort((deg[post] - deg[pre]).abs(), descending=True, stable=True)[:m]
    post, pre = post[pick], pre[pick]
    exc = res.excitatory[pre]
    med_e = res.w[res.excitatory[res.pre]].abs().median() if bool(res.excitatory[res.pre].any()) else torch.tensor(0.1)
    med_i = res.w[~res.excitatory[res.pre]].abs().median() if bool((~res.excitatory[res.pre]).any()) else med_e
    w_new = torch.where(exc, med_e, -med_i)
    mean = lambda t: t.mean().expand(len(pre))
    return res.with_synapses(torch.cat([res.pre, pre]), torch.cat([res.post, post]), torch.cat([res.w, w_new]),
                             torch.cat([res.a_plus, mean(res.a_plus)]), torch.cat([res.a_minus, mean(res.a_minus)]),
                             torch.cat([res.tau_plus, mean(res.tau_plus)]), torch.cat([res.tau_minus, mean(res.tau_minus)]))


def lyapunov_state(res: Reservoir, drive: torch.Tensor, substeps: int, cfg: LNPConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """(per-neuron exponents, mean surrogate gains, λ_max) along a driven trajectory."""
    traj = record(res, drive, substeps)
    spec, per_neuron = spectrum(res, traj, cfg.lyapunov_vectors, skip=len(traj.v) // 4, seed=cfg.seed)
    gain = surrogate(traj.v, res.threshold).mean(0).numpy()
    return per_neuron, gain, float(spec.max())


def tune_timescales(res: Reservoir, drive: torch.Tensor, substeps: int, cfg: LNPConfig) -> tuple[Reservoir, float, float]:
    """Step IV: the τ scale in ``cfg.tau_factors`` whose λ_max is closest to ``cfg.lambda_target``,
    among the scales that keep λ_max ≤ 0 when any does: a positive exponent is a chaotic
    reservoir, which loses the echo-state property a readout relies on (a 1/p-rescaled network
    can sit where one scale gives λ_max > 0 nearer the target and another a stable λ_max)."""
    trials = []
    for factor in cfg.tau_factors:
        trial = res.subset_synapses(torch.ones(res.synapses, dtype=torch.bool))
        trial.tau = res.tau * factor
        trials.append((trial, factor, lyapunov_state(trial, drive, substeps, cfg)[2]))
    return min(trials, key=lambda t: (t[2] > 0, abs(t[2] - cfg.lambda_target)))


def lnp_iteration(res: Reservoir, drive: torch.Tensor, substeps: int, cfg: LNPConfig, gen: torch.Generator, it: int) -> tuple[Reservoir, dict]:
    lam, gain, _ = lyapunov_state(res, drive, substeps, cfg)
    res, info = noise_prune(res, lam, gain, int(round(cfg.keep_fraction * res.synapses)), gen, cfg.homeostasis)
    res = prune_nodes(res, cfg.node_fraction, cfg.seed + it)
    res = add_edges(res, cfg.add_fraction)
    res, factor, lam_max = tune_timescales(res, drive, substeps, cfg)
    return res, {**info, "tau_factor": factor, "lambda_max": lam_max}
