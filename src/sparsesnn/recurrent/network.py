"""The recurrent spiking layer (reservoir) of HRSNN (004 §III), stored sparse.

Neurons sit on a 3-D grid; 80 % are excitatory, 20 % inhibitory (E:I = 4:1). A synapse i→j
exists with probability C_{type(i)type(j)}·exp(−(D(i, j)/λ)²) (004 eq. 2; C_EE 0.3, C_EI 0.2,
C_IE 0.4, C_II 0.1 and λ = 2 as in Maass et al. 2002, since 004 gives no values). Dale's law:
a neuron's outgoing weights share its sign. Inputs reach a random 30 % of the neurons.

Heterogeneity (004 §III-B): membrane time constants and thresholds per neuron drawn from gamma
distributions per population (HeN) or constant (HoN); STDP parameters per synapse from gamma
distributions (HeS) or constant (HoS). Gamma(k, mean μ) has CV 1/√k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

C_CONNECT = {("E", "E"): 0.3, ("E", "I"): 0.2, ("I", "E"): 0.4, ("I", "I"): 0.1}


@dataclass
class ReservoirConfig:
    """How a reservoir is built (defaults give a ~1000-neuron HRSNN that runs on 2 cores)."""

    neurons: int = 1000
    neuron_het: str = "hetero"  # "homo" | "hetero"
    stdp_het: str = "hetero"
    lam: float = 2.0  # connection length scale λ of eq. 2 (grid units)
    input_fraction: float = 0.3
    input_scale: float = 1.0
    weight_scale: float = 1.0  # mean |w| relative to threshold / expected in-degree
    tau_e: float = 20.0  # mean membrane time constants (ms), E slower than I
    tau_i: float = 10.0
    shape_k: float = 4.0  # gamma shape k (CV = 1/√k) of the heterogeneous neuron parameters
    stdp_shape_k: float | None = None  # gamma shape of the heterogeneous STDP parameters (None: shape_k)
    threshold: float = 1.0
    refractory: int = 2  # steps
    dt: float = 1.0  # ms per simulation step
    substeps: int = 4  # simulation steps per data sample
    a_plus: float = 0.005
    a_minus: float = 0.00525
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    seed: int = 0

    def validate(self) -> "ReservoirConfig":
        if int(self.neurons) < 10:
            raise ValueError(f"neurons must be >= 10; got {self.neurons}")
        for name in ("neuron_het", "stdp_het"):
            if getattr(self, name) not in ("homo", "hetero"):
                raise ValueError(f"{name.replace('_', '-')} must be homo or hetero; got {getattr(self, name)!r}")
        if not 0.0 < self.input_fraction <= 1.0:
            raise ValueError(f"input_fraction must be in (0, 1]; got {self.input_fraction}")
        for name in ("lam", "tau_e", "tau_i", "shape_k", "threshold", "dt", "tau_plus", "tau_minus", "synapse_shape"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)}")
        return self

    @property
    def synapse_shape(self) -> float:
        return self.shape_k if self.stdp_shape_k is None else self.stdp_shape_k


@dataclass
class Reservoir:
    """A sparse recurrent spiking network: synapse e goes ``pre[e] → post[e]`` with weight
    ``w[e]`` (signed by Dale's law) and STDP parameters ``a_plus[e]`` … ``tau_minus[e]``."""

    excitatory: torch.Tensor  # [N] bool
    positions: torch.Tensor  # [N, 3]
    pre: torch.Tensor
    post: torch.Tensor
    w: torch.Tensor
    tau: torch.Tensor  # [N] ms
    threshold: torch.Tensor  # [N]
    w_in: torch.Tensor  # [N, inputs] dense (70 % rows zero)
    a_plus: torch.Tensor
    a_minus: torch.Tensor
    tau_plus: torch.Tensor
    tau_minus: torch.Tensor
    alive: torch.Tensor = field(default=None)  # [N] bool, False for pruned neurons
    refractory: int = 2
    dt: float = 1.0

    def __post_init__(self) -> None:
        if self.alive is None:
            self.alive = torch.ones(len(self.tau), dtype=torch.bool)

    @property
    def n(self) -> int:
        return int(self.tau.numel())

    @property
    def synapses(self) -> int:
        return int(self.w.numel())

    def out_degree(self) -> torch.Tensor:
        return torch.bincount(self.pre, minlength=self.n)

    def weight_matrix(self) -> torch.Tensor:
        """Sparse CSR ``[N_post, N_pre]`` for the recurrent product."""
        idx = torch.stack([self.post, self.pre])
        return torch.sparse_coo_tensor(idx, self.w, (self.n, self.n)).coalesce().to_sparse_csr()

    def dense(self) -> torch.Tensor:
        W = torch.zeros(self.n, self.n, dtype=self.w.dtype)
        W[self.post, self.pre] = self.w
        return W

    def subset_synapses(self, keep: torch.Tensor, w: torch.Tensor | None = None) -> "Reservoir":
        """A copy holding only the synapses ``keep`` (bool or indices), optionally re-weighted."""
        f = lambda t: t[keep].clone()
        return Reservoir(self.excitatory, self.positions, f(self.pre), f(self.post), f(self.w) if w is None else w,
                         self.tau.clone(), self.threshold, self.w_in, f(self.a_plus), f(self.a_minus), f(self.tau_plus),
                         f(self.tau_minus), self.alive.clone(), self.refractory, self.dt)

    def with_synapses(self, pre, post, w, a_plus, a_minus, tau_plus, tau_minus) -> "Reservoir":
        return Reservoir(self.excitatory, self.positions, pre, post, w, self.tau.clone(), self.threshold, self.w_in,
                         a_plus, a_minus, tau_plus, tau_minus, self.alive.clone(), self.refractory, self.dt)


def _gamma(rng: np.random.Generator, mean: float, k: float, size, hetero: bool) -> np.ndarray:
    if not hetero:
        return np.full(size, mean)
    return rng.gamma(k, mean / k, size)


def build_reservoir(cfg: ReservoirConfig, n_inputs: int) -> Reservoir:
    """Draw a reservoir (deterministic under ``cfg.seed``)."""
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    n = int(cfg.neurons)
    side = math.ceil(n ** (1 / 3))
    grid = np.stack(np.unravel_index(np.arange(side**3), (side, side, side)), 1)[:n].astype(np.float64)
    exc = np.zeros(n, dtype=bool)
    exc[rng.permutation(n)[: int(round(0.8 * n))]] = True
    types = np.where(exc, "E", "I")
    # pairwise connection probabilities, eq. 2 (no autapses)
    d2 = ((grid[:, None, :] - grid[None, :, :]) ** 2).sum(-1)
    c = np.empty((n, n))
    for (a, b), value in C_CONNECT.items():
        c[np.ix_(types == a, types == b)] = value
    p = c * np.exp(-d2 / cfg.lam**2)
    np.fill_diagonal(p, 0.0)
    pre, post = np.nonzero(rng.random((n, n)) < p)
    hetero_n, hetero_s = cfg.neuron_het == "hetero", cfg.stdp_het == "hetero"
    tau = np.where(exc, _gamma(rng, cfg.tau_e, cfg.shape_k, n, hetero_n), _gamma(rng, cfg.tau_i, cfg.shape_k, n, hetero_n))
    threshold = _gamma(rng, cfg.threshold, 2 * cfg.shape_k, n, hetero_n)
    # |w| so that a neuron's expected recurrent drive is of the order of its threshold
    mean_in = max(1.0, len(pre) / n)
    mag = rng.gamma(2.0, cfg.weight_scale * cfg.threshold / (2.0 * math.sqrt(mean_in)), len(pre))
    # inhibition balances excitation: 4× fewer inhibitory synapses, 4× stronger on average
    w = np.where(exc[pre], mag, -4.0 * mag)
    m = len(pre)
    w_in = np.zeros((n, n_inputs))
    targets = rng.permutation(n)[: max(1, int(round(cfg.input_fraction * n)))]
    w_in[targets] = rng.uniform(-1.0, 1.0, (len(targets), n_inputs)) * cfg.input_scale
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)
    k_s = cfg.synapse_shape
    return Reservoir(
        excitatory=torch.as_tensor(exc), positions=t(grid), pre=torch.as_tensor(pre, dtype=torch.long),
        post=torch.as_tensor(post, dtype=torch.long), w=t(w), tau=t(tau), threshold=t(threshold), w_in=t(w_in),
        a_plus=t(_gamma(rng, cfg.a_plus, k_s, m, hetero_s)), a_minus=t(_gamma(rng, cfg.a_minus, k_s, m, hetero_s)),
        tau_plus=t(_gamma(rng, cfg.tau_plus, k_s, m, hetero_s)), tau_minus=t(_gamma(rng, cfg.tau_minus, k_s, m, hetero_s)),
        refractory=int(cfg.refractory), dt=float(cfg.dt),
    )
